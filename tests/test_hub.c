/*
 * test_hub.c — model ids through the Hugging Face cache, against a mimic of the hub's resolve endpoint started
 * in this process on 127.0.0.1 (libmicrohttpd): HEAD/GET /{repo}/resolve/{rev}/{file} with X-Repo-Commit and
 * ETag, LFS files redirected to /cdn/<sha256> with X-Linked-Etag and X-Linked-Size, Range requests, 404s with
 * X-Error-Code, a private repo, and a transfer that breaks half way.
 */
#include "bertc_hub.h"
#include "test.h"

#include "base/durable.h"

#include <errno.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

typedef struct hub_file {
    const char *name, *path;
    char *data;
    size_t len;
    char sha[65];
    int lfs;
} hub_file;

static hub_file files[] = {
    {"config.json", TD "tiny-distilbert/config.json", NULL, 0, "", 0},
    {"model.safetensors", TD "tiny-distilbert/model.safetensors", NULL, 0, "", 1},
    {"tokenizer.json", TD "tok-bert/tokenizer.json", NULL, 0, "", 0},
    {"tokenizer_config.json", TD "tok-bert/tokenizer_config.json", NULL, 0, "", 0},
};
#define N_FILES (sizeof files / sizeof *files)

static int break_next_cdn; /* the next /cdn transfer stops half way */
static int range_requests, requests, slow_gets;

static void sha256_hex(const char *d, size_t n, char out[65]) {
    unsigned char md[32];
    unsigned ml;
    EVP_Digest(d, n, md, &ml, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

typedef struct half {
    const hub_file *f;
    size_t from;
} half;

static ssize_t half_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    half *h = cls;
    size_t stop = h->f->len / 2;
    if (h->from + pos >= stop) return MHD_CONTENT_READER_END_WITH_ERROR; /* the connection drops */
    size_t n = stop - (h->from + pos) < max ? stop - (h->from + pos) : max;
    memcpy(buf, h->f->data + h->from + pos, n);
    return (ssize_t)n;
}

/* the slow CDN: 64 KB every 15 ms (about 1 s for the tiny model's weights) */
static ssize_t slow_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    const hub_file *f = cls;
    if (pos >= f->len) return MHD_CONTENT_READER_END_OF_STREAM;
    usleep(15000);
    size_t n = f->len - pos < max ? f->len - pos : max;
    memcpy(buf, f->data + pos, n);
    return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *body, size_t len,
                             const char *const *headers) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    for (int i = 0; headers && headers[i]; i += 2) MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result hub_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    __sync_fetch_and_add(&requests, 1);
    if (!strncmp(url, "/evil/", 6)) { /* a CDN that redirects to a local file */
        const char *h[] = {"Location", "file:///etc/hostname", NULL};
        return reply(c, 302, "", 0, h);
    }
    if (!strncmp(url, "/slowcdn/", 9)) {
        for (size_t i = 0; i < N_FILES; i++) {
            if (strcmp(files[i].sha, url + 9)) continue;
            if (!strcmp(method, "GET")) __sync_fetch_and_add(&slow_gets, 1);
            struct MHD_Response *r = MHD_create_response_from_callback(files[i].len, 65536, slow_reader, &files[i], NULL);
            enum MHD_Result ret = MHD_queue_response(c, 200, r);
            MHD_destroy_response(r);
            return ret;
        }
        return reply(c, 404, "", 0, NULL);
    }
    if (!strncmp(url, "/cdn/", 5)) {
        for (size_t i = 0; i < N_FILES; i++) {
            if (strcmp(files[i].sha, url + 5)) continue;
            const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
            size_t from = 0;
            if (range && !strncmp(range, "bytes=", 6)) from = strtoull(range + 6, NULL, 10), __sync_fetch_and_add(&range_requests, 1);
            if (from > files[i].len) from = files[i].len;
            struct MHD_Response *r;
            if (break_next_cdn && !strcmp(method, "GET")) {
                break_next_cdn = 0;
                static half h;
                h.f = &files[i];
                h.from = from;
                r = MHD_create_response_from_callback(files[i].len - from, 65536, half_reader, &h, NULL);
            } else {
                r = MHD_create_response_from_buffer(files[i].len - from, files[i].data + from, MHD_RESPMEM_PERSISTENT);
            }
            char cr[128];
            snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", from, files[i].len - 1, files[i].len);
            if (from) MHD_add_response_header(r, "Content-Range", cr);
            enum MHD_Result ret = MHD_queue_response(c, from ? 206 : 200, r);
            MHD_destroy_response(r);
            return ret;
        }
        return reply(c, 404, "", 0, NULL);
    }
    /* /{org}/{name}/resolve/{rev}/{file} */
    char org[64], name[64], rev[64], file[128];
    if (sscanf(url, "/%63[^/]/%63[^/]/resolve/%63[^/]/%127s", org, name, rev, file) != 4)
        return reply(c, 404, "", 0, NULL);
    const char *notfound[] = {"X-Error-Code", "RepositoryNotFound", NULL};
    static const char *const repos[] = {"tiny-model", "private-model", "evil-redirect", "evil-chain", "dot-etag",
                                        "dot-commit", "slow-model"};
    bool known = false;
    for (size_t i = 0; i < sizeof repos / sizeof *repos; i++) known = known || !strcmp(name, repos[i]);
    if (strcmp(org, "test-org") || !known) return reply(c, 404, "Repository not found", 20, notfound);
    const char *commit = strcmp(name, "dot-commit") ? COMMIT : ".";
    if (!strcmp(name, "private-model")) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *gated[] = {"X-Error-Code", "GatedRepo", NULL};
        if (!auth || strcmp(auth, "Bearer secret-token")) return reply(c, 401, "", 0, gated);
    }
    const char *norev[] = {"X-Error-Code", "RevisionNotFound", NULL};
    if (strcmp(rev, "main") && strcmp(rev, COMMIT)) return reply(c, 404, "", 0, norev);
    for (size_t i = 0; i < N_FILES; i++) {
        if (strcmp(files[i].name, file)) continue;
        char etag[80], size[32], loc[128];
        snprintf(size, sizeof size, "%zu", files[i].len);
        if (files[i].lfs) { /* as the hub: a redirect to the CDN, the sha256 in X-Linked-Etag */
            snprintf(etag, sizeof etag, "\"%s\"", files[i].sha);
            if (!strcmp(name, "evil-redirect") || !strcmp(name, "evil-chain")) /* not a sha256: nothing to check it by */
                snprintf(etag, sizeof etag, "\"%.40s\"", files[i].sha);
            if (!strcmp(name, "dot-etag")) snprintf(etag, sizeof etag, "\".\"");
            snprintf(loc, sizeof loc, "/%s/%s", !strcmp(name, "evil-chain") ? "evil" : !strcmp(name, "slow-model") ? "slowcdn" : "cdn",
                     files[i].sha);
            char abs[256];
            const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
            const union MHD_DaemonInfo *di = MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_BIND_PORT);
            snprintf(abs, sizeof abs, "http://127.0.0.1:%u%s", di->port, loc);
            if (!strcmp(name, "evil-redirect")) snprintf(abs, sizeof abs, "file:///etc/hostname");
            const char *h[] = {"X-Repo-Commit", commit, "X-Linked-Etag", etag, "X-Linked-Size", size, "Location", abs,
                               "ETag", "\"not-the-sha\"", NULL};
            if (!strncmp(name, "evil-", 5)) h[4] = "X-No-Size", h[5] = "1"; /* no size to check the local file by */
            return reply(c, 302, "", 0, h);
        }
        snprintf(etag, sizeof etag, "\"%.40s\"", files[i].sha); /* a git blob id, as the hub gives for small files */
        if (!strcmp(name, "dot-etag")) snprintf(etag, sizeof etag, "\".\"");
        const char *h[] = {"X-Repo-Commit", commit, "ETag", etag, NULL};
        if (!strcmp(method, "HEAD")) {
            struct MHD_Response *r = MHD_create_response_from_buffer(files[i].len, files[i].data, MHD_RESPMEM_PERSISTENT);
            for (int k = 0; h[k]; k += 2) MHD_add_response_header(r, h[k], h[k + 1]);
            enum MHD_Result ret = MHD_queue_response(c, 200, r);
            MHD_destroy_response(r);
            return ret;
        }
        return reply(c, 200, files[i].data, files[i].len, h);
    }
    const char *noentry[] = {"X-Error-Code", "EntryNotFound", "X-Repo-Commit", COMMIT, NULL};
    return reply(c, 404, "Entry not found", 15, noentry);
}

static struct MHD_Daemon *hub_start(int *port) {
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                                            NULL, hub_handler, NULL, MHD_OPTION_END);
    if (d) *port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return d;
}

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void t_hub_download_resume_offline(void) {
    for (size_t i = 0; i < N_FILES; i++) {
        if (!files[i].data) {
            CHECK(!read_file(files[i].path, &files[i].data, &files[i].len, NULL), "read %s", files[i].path);
            sha256_hex(files[i].data, files[i].len, files[i].sha);
        }
    }
    int port = 0;
    struct MHD_Daemon *d = hub_start(&port);
    CHECK(d != NULL, "mimic hub started");
    if (!d) return;
    char env[256], out[1 << 14];
    snprintf(env, sizeof env, "HF_HUB_CACHE=build/t-hub HF_ENDPOINT=http://127.0.0.1:%d HF_TOKEN= HF_HUB_OFFLINE=", port);
    const char *repo = "build/t-hub/models--test-org--tiny-model";
    const char *blob_lfs = NULL;
    char blob[512], cmd[1024];
    snprintf(blob, sizeof blob, "%s/blobs/%s", repo, files[1].sha);
    blob_lfs = blob;
    run_cli("rm -rf build/t-hub", out, sizeof out);

    /* 1. the weights transfer breaks half way: an error, the part kept as .incomplete, no blob, no snapshot link */
    break_next_cdn = 1;
    snprintf(cmd, sizeof cmd, "%s @ pull test-org/tiny-model 2>&1", env);
    int rc = run_cli(cmd, out, sizeof out);
    char part[600];
    snprintf(part, sizeof part, "%s.incomplete", blob_lfs);
    CHECK(rc == 3 && strstr(out, "interrupted"), "broken transfer: %d %s", rc, out);
    CHECK(file_size(part) == (long)(files[1].len / 2) && file_size(blob_lfs) < 0, "half kept as .incomplete (%ld)",
          file_size(part));
    CHECK(access("build/t-hub/models--test-org--tiny-model/snapshots/" COMMIT "/model.safetensors", F_OK) != 0,
          "no snapshot entry for an incomplete file");

    /* 2. the next run resumes with a Range request, verifies the sha256, links the snapshot, and classifies */
    int ranges = range_requests;
    snprintf(cmd, sizeof cmd, "%s @ classify --model test-org/tiny-model 'a fine film' 2>&1", env);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "{\"label\": \""), "classify by id: %d %s", rc, out);
    CHECK(range_requests == ranges + 1, "resumed with a Range request");
    CHECK(file_size(blob_lfs) == (long)files[1].len && file_size(part) < 0, "whole blob, no .incomplete left");
    char *ref = NULL;
    size_t rl;
    CHECK(!read_file("build/t-hub/models--test-org--tiny-model/refs/main", &ref, &rl, NULL) && ref && !strcmp(ref, COMMIT),
          "refs/main holds the commit");
    free(ref);
    char target[256] = "";
    ssize_t tl = readlink("build/t-hub/models--test-org--tiny-model/snapshots/" COMMIT "/model.safetensors", target,
                          sizeof target - 1);
    if (tl > 0) target[tl] = 0;
    CHECK(!strncmp(target, "../../blobs/", 12) && !strcmp(target + 12, files[1].sha), "snapshot links the blob: %s",
          target);
    CHECK(access("build/t-hub/models--test-org--tiny-model/.no_exist/" COMMIT "/special_tokens_map.json", F_OK) == 0,
          "a file the hub lacks is recorded in .no_exist, as huggingface_hub does");
    /* the same answer as from the folder itself */
    char out2[1 << 14];
    run_cli("@ classify --model " TD "tiny-distilbert 'a fine film'", out2, sizeof out2);
    snprintf(cmd, sizeof cmd, "%s @ classify --model test-org/tiny-model 'a fine film'", env);
    run_cli(cmd, out, sizeof out);
    CHECK(!strcmp(out, out2), "same output as the folder: %s vs %s", out, out2);

    /* 3. errors: a missing repo (no files or folders left), a missing revision, a private repo without a token */
    snprintf(cmd, sizeof cmd, "%s @ pull test-org/missing 2>&1", env);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 3 && strstr(out, "test-org/missing (revision main)") && strstr(out, "repository not found"),
          "missing repo: %d %s", rc, out);
    CHECK(access("build/t-hub/models--test-org--missing", F_OK) != 0, "nothing left for a missing repo");
    snprintf(cmd, sizeof cmd, "%s @ pull test-org/tiny-model --revision v9 2>&1", env);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 3 && strstr(out, "revision not found"), "missing revision: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s @ pull test-org/private-model 2>&1", env);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 3 && strstr(out, "HF_TOKEN") && strstr(out, "401"), "private repo: %d %s", rc, out);
    CHECK(access("build/t-hub/models--test-org--private-model", F_OK) != 0, "nothing left for a refused repo");
    snprintf(cmd, sizeof cmd, "HF_HUB_CACHE=build/t-hub HF_ENDPOINT=http://127.0.0.1:%d HF_TOKEN=secret-token @ pull "
                              "test-org/private-model 2>&1",
             port);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "models--test-org--private-model/snapshots/" COMMIT), "private with token: %d %s", rc,
          out);
    snprintf(cmd, sizeof cmd, "HF_HUB_CACHE=build/t-hub @ cache list");
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "test-org/tiny-model") && strstr(out, "refs: main"), "cache list: %s", out);

    /* 4. the hub goes away: HF_HUB_OFFLINE=1 runs from the cache without a request; so does a run that finds no
     * network (huggingface_hub's fallback) */
    MHD_stop_daemon(d);
    int before = requests;
    snprintf(cmd, sizeof cmd, "HF_HUB_CACHE=build/t-hub HF_HUB_OFFLINE=1 @ classify --model test-org/tiny-model 'a fine film'");
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, out2), "offline from the cache: %d %s", rc, out);
    CHECK(requests == before, "no request offline");
    snprintf(cmd, sizeof cmd, "%s @ classify --model test-org/tiny-model 'a fine film' 2>&1", env);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, out2), "hub unreachable: the cache: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "HF_HUB_CACHE=build/t-hub HF_HUB_OFFLINE=1 @ classify --model test-org/other x 2>&1");
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 3 && strstr(out, "not in the cache") && strstr(out, "HF_HUB_OFFLINE"), "offline miss: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "HF_HUB_CACHE=build/t-hub @ cache rm test-org/private-model");
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && access("build/t-hub/models--test-org--private-model", F_OK) != 0, "cache rm");
}

/* A cache laid out the way huggingface_hub writes it (blobs named by sha256 / git blob id, relative links from
 * snapshots/<commit>, refs/main), built here by shell: used as is, offline. */
static void t_hub_foreign_cache(void) {
    char out[1 << 14];
    int rc = run_cli(
        "set -e; R=build/t-hfcache/models--distilbert--distilbert-base-uncased-finetuned-sst-2-english; rm -rf build/t-hfcache; "
        "C=714eb0fa89d2f80546fda750413ed43d93601a13; mkdir -p $R/blobs $R/snapshots/$C $R/refs; printf $C > $R/refs/main; "
        "for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do "
        "  h=$(sha256sum models/sst2-small/$f | cut -c1-64); cp models/sst2-small/$f $R/blobs/$h; "
        "  ln -s ../../blobs/$h $R/snapshots/$C/$f; done; "
        "HF_HOME=build/t-hfhome HF_HUB_CACHE=build/t-hfcache HF_HUB_OFFLINE=1 @ classify --model "
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english 'a charming and often affecting journey'",
        out, sizeof out);
    char want[1 << 14];
    run_cli("@ classify --model models/sst2-small 'a charming and often affecting journey'", want, sizeof want);
    CHECK(rc == 0 && !strcmp(out, want), "foreign cache: %d %s", rc, out);
    /* cache root resolution order */
    bertc_hub_params p = bertc_hub_default_params();
    char root[512];
    setenv("HF_HUB_CACHE", "/a", 1);
    setenv("HF_HOME", "/b", 1);
    bertc_hub_cache_root(&p, root, sizeof root, NULL);
    CHECK(!strcmp(root, "/a"), "HF_HUB_CACHE first: %s", root);
    unsetenv("HF_HUB_CACHE");
    bertc_hub_cache_root(&p, root, sizeof root, NULL);
    CHECK(!strcmp(root, "/b/hub"), "then HF_HOME/hub: %s", root);
    unsetenv("HF_HOME");
    setenv("XDG_CACHE_HOME", "/c", 1);
    bertc_hub_cache_root(&p, root, sizeof root, NULL);
    CHECK(!strcmp(root, "/c/huggingface/hub"), "then XDG_CACHE_HOME: %s", root);
    unsetenv("XDG_CACHE_HOME");
    bertc_hub_cache_root(&p, root, sizeof root, NULL);
    CHECK(strstr(root, "/.cache/huggingface/hub") != NULL, "then ~/.cache: %s", root);
    CHECK(bertc_hub_is_model_id("roberta-base") && bertc_hub_is_model_id("org/name.v2") &&
              !bertc_hub_is_model_id("a/b/c") && !bertc_hub_is_model_id("../x") && !bertc_hub_is_model_id("a b") &&
              !bertc_hub_is_model_id("/abs"),
          "model id shapes");
}

static void load_files(void) {
    for (size_t i = 0; i < N_FILES; i++) {
        if (!files[i].data) {
            CHECK(!read_file(files[i].path, &files[i].data, &files[i].len, NULL), "read %s", files[i].path);
            sha256_hex(files[i].data, files[i].len, files[i].sha);
        }
    }
}

/* Every blob in the cache is whole (its sha256 is its name, or starts with it for the mimic's git blob ids), and
 * every snapshot entry links to a blob that is there. */
static bool cache_whole(const char *repo_dir, char *why, size_t cap) {
    char cmd[1024], o[1 << 14];
    snprintf(cmd, sizeof cmd, "cd %s 2>/dev/null || exit 0; for f in blobs/*; do [ -e \"$f\" ] || continue; case $f in "
             "*.incomplete) continue;; esac; h=$(sha256sum < $f | cut -c1-64); n=${f#blobs/}; "
             "case $h in $n*) ;; *) echo \"bad blob $f\";; esac; done; for l in snapshots/*/*; do [ -L \"$l\" ] || continue; "
             "[ -f \"$l\" ] || echo \"dangling $l\"; done", repo_dir);
    run_cli(cmd, o, sizeof o);
    snprintf(why, cap, "%s", o);
    return !o[0];
}

/* A hub that redirects to file:// (directly, or from its CDN), an ETag or a commit of ".": refused, no blob made
 * of a local file; two pulls of one repo at once: the second waits on huggingface_hub's lock and finds the blob. */
static void t_hub_hostile(void) {
    load_files();
    int port = 0;
    struct MHD_Daemon *d = hub_start(&port);
    CHECK(d != NULL, "mimic hub started");
    if (!d) return;
    char env[256], out[1 << 14], cmd[2048], why[1 << 14];
    snprintf(env, sizeof env, "HF_HUB_CACHE=build/t-hub2 HF_ENDPOINT=http://127.0.0.1:%d HF_TOKEN= HF_HUB_OFFLINE=", port);
    run_cli("rm -rf build/t-hub2", out, sizeof out);
    char host[256] = "";
    FILE *hf = fopen("/etc/hostname", "r");
    if (hf) {
        if (!fgets(host, sizeof host, hf)) host[0] = 0;
        fclose(hf);
    }
    static const char *const evil[] = {"evil-redirect", "evil-chain"};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s @ pull test-org/%s 2>&1", env, evil[k]);
        int rc = run_cli(cmd, out, sizeof out);
        CHECK(rc == 3 && (strstr(out, "only http and https") || strstr(out, "Unsupported protocol") ||
                          strstr(out, "not supported")),
              "%s: rc %d %s", evil[k], rc, out);
        snprintf(cmd, sizeof cmd, "cat build/t-hub2/models--test-org--%s/blobs/* 2>/dev/null | head -c 300; ls "
                 "build/t-hub2/models--test-org--%s/snapshots/*/model.safetensors 2>/dev/null", evil[k], evil[k]);
        run_cli(cmd, out, sizeof out);
        CHECK(!(host[0] && strstr(out, host)) && !strstr(out, "model.safetensors"), "%s: a local file became a blob: %s",
              evil[k], out);
    }
    static const char *const dots[] = {"dot-etag", "dot-commit"};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s @ pull test-org/%s 2>&1", env, dots[k]);
        int rc = run_cli(cmd, out, sizeof out);
        CHECK(rc == 3 && strstr(out, k ? "is not a commit id" : "is not a hash"), "%s: rc %d %s", dots[k], rc, out);
        snprintf(cmd, sizeof cmd, "ls -a build/t-hub2/models--test-org--%s/snapshots build/t-hub2/models--test-org--%s/blobs "
                 "2>/dev/null | grep -v '^\\.*$' | grep -v ':$'", dots[k], dots[k]);
        run_cli(cmd, out, sizeof out);
        CHECK(!out[0], "%s: the cache holds %s", dots[k], out);
    }
    /* two pulls at once */
    slow_gets = 0;
    snprintf(cmd, sizeof cmd, "(%s @ pull test-org/slow-model >/dev/null 2>&1; echo a=$?) & (sleep 0.2; %s @ pull "
             "test-org/slow-model >/dev/null 2>&1; echo b=$?) & wait", env, env);
    run_cli(cmd, out, sizeof out);
    CHECK(strstr(out, "a=0") && strstr(out, "b=0"), "concurrent pulls: %s", out);
    CHECK(slow_gets == 1, "the weights were downloaded %d times: the second pull should wait and find the blob", slow_gets);
    char lock[512];
    snprintf(lock, sizeof lock, "build/t-hub2/.locks/models--test-org--slow-model/%s.lock", files[1].sha);
    CHECK(access(lock, F_OK) == 0, "no lock file %s (huggingface_hub's path)", lock);
    CHECK(cache_whole("build/t-hub2/models--test-org--slow-model", why, sizeof why), "after concurrent pulls: %s", why);
    MHD_stop_daemon(d);
}

/* The download path under the test-only I/O fault hook: every failed write, fsync or rename is exit 5, the cache
 * never holds a partial blob or a dangling link, and the next pull completes it. */
static void t_hub_io_faults(void) {
    load_files();
    int port = 0;
    struct MHD_Daemon *d = hub_start(&port);
    CHECK(d != NULL, "mimic hub started");
    if (!d) return;
    char env[256], out[1 << 14], cmd[2048], why[1 << 14];
    snprintf(env, sizeof env, "HF_HUB_CACHE=build/t-hub3 HF_ENDPOINT=http://127.0.0.1:%d HF_TOKEN= HF_HUB_OFFLINE=", port);
    const char *repo = "build/t-hub3/models--test-org--tiny-model";
    int failures = 0, rc = 0;
    long n = 1;
    for (; n < 2000; n += n < 40 ? 1 : 37) {
        snprintf(cmd, sizeof cmd, "rm -rf build/t-hub3; BERTC_TEST_IO_FAULT=%ld:%s %s @ pull test-org/tiny-model 2>&1", n,
                 n % 2 ? "ENOSPC" : "EIO", env);
        rc = run_cli(cmd, out, sizeof out);
        if (rc == 0) break;
        failures++;
        CHECK(rc == 5 && strstr(out, n % 2 ? "No space left on device" : "Input/output error"), "fault at I/O call %ld: rc %d %s",
              n, rc, out);
        CHECK(cache_whole(repo, why, sizeof why), "fault at I/O call %ld: %s", n, why);
        snprintf(cmd, sizeof cmd, "%s @ pull test-org/tiny-model 2>&1", env);
        int rc2 = run_cli(cmd, out, sizeof out);
        CHECK(rc2 == 0 && cache_whole(repo, why, sizeof why), "after a fault at I/O call %ld: rc %d %s %s", n, rc2, out, why);
    }
    CHECK(rc == 0 && failures > 30, "the sweep reached a clean pull after %d failures (at call %ld)", failures, n);
    MHD_stop_daemon(d);
}

static void write_file(const char *path, size_t n) {
    FILE *f = fopen(path, "wb");
    for (size_t i = 0; f && i < n; i++) fputc('x', f);
    if (f) fclose(f);
}

/* The cache as library calls (what `bertc cache list|rm` and Python's cache_list / cache_remove print), and a
 * removal that cannot be seen half-done. */
static void t_hub_cache_calls(void) {
    const char *root = "build/t-hubapi";
    char sh[256];
    CHECK(run_cli("rm -rf build/t-hubapi build/t-hubapi-none && mkdir -p build/t-hubapi/models--org--b/blobs "
                  "build/t-hubapi/models--org--b/refs build/t-hubapi/models--a/blobs/sub "
                  "build/t-hubapi/models--org--c.tmp-999999/blobs build/t-hubapi/.locks/models--org--b && "
                  "printf main > build/t-hubapi/models--org--b/refs/v1 && printf x > build/t-hubapi/models--org--b/refs/main",
                  sh, sizeof sh) == 0,
          "cache laid out");
    write_file("build/t-hubapi/models--org--b/blobs/one", 100);
    write_file("build/t-hubapi/models--a/blobs/sub/two", 10);
    write_file("build/t-hubapi/version.txt", 1);
    bertc_hub_params p = bertc_hub_default_params();
    p.cache_dir = root;
    bertc_hub_cached_model *ms = NULL;
    size_t n = 0;
    bertc_error err;
    CHECK(!bertc_hub_cache_list(&p, &ms, &n, &err), "list: %s", err.message);
    CHECK(n == 2, "two models (the renamed-aside copy is none): %zu", n);
    if (n == 2) {
        CHECK(!strcmp(ms[0].repo_id, "a") && ms[0].size_on_disk == 10 && ms[0].n_refs == 0, "a: %s %llu %zu",
              ms[0].repo_id, (unsigned long long)ms[0].size_on_disk, ms[0].n_refs);
        CHECK(!strcmp(ms[1].repo_id, "org/b") && ms[1].size_on_disk == 100 && ms[1].n_refs == 2 &&
                  !strcmp(ms[1].refs[0], "main") && !strcmp(ms[1].refs[1], "v1"),
              "org/b: %s %llu %zu", ms[1].repo_id, (unsigned long long)ms[1].size_on_disk, ms[1].n_refs);
        CHECK(!strcmp(ms[1].path, "build/t-hubapi/models--org--b"), "path %s", ms[1].path);
    }
    bertc_hub_cache_list_free(ms, n);

    char removed[4800] = "?";
    CHECK(bertc_hub_cache_remove("org/x", &p, removed, sizeof removed, &err) == BERTC_ERR_INPUT &&
              strstr(err.message, "org/x is not in the cache build/t-hubapi") && !removed[0],
          "not cached: %s", err.message);
    CHECK(bertc_hub_cache_remove("org/../b", &p, removed, sizeof removed, &err) == BERTC_ERR_INVALID_ARG,
          "not a model id: %s", err.message);
    /* the rename aside fails (EROFS): nothing is removed, and the model is whole */
    io_fault_set(1, EROFS);
    CHECK(bertc_hub_cache_remove("org/b", &p, removed, sizeof removed, &err) == BERTC_ERR_OUTPUT &&
              strstr(err.message, "cannot remove build/t-hubapi/models--org--b: Read-only file system"),
          "read-only: %s", err.message);
    io_fault_set(0, 0);
    CHECK(access("build/t-hubapi/models--org--b/blobs/one", F_OK) == 0, "whole after a failed removal");
    CHECK(!bertc_hub_cache_remove("org/b", &p, removed, sizeof removed, &err), "remove: %s", err.message);
    CHECK(!strcmp(removed, "build/t-hubapi/models--org--b"), "removed %s", removed);
    CHECK(access("build/t-hubapi/models--org--b", F_OK) != 0 && access("build/t-hubapi/models--a", F_OK) == 0,
          "org/b gone, a kept");
    char aside[128];
    snprintf(aside, sizeof aside, "build/t-hubapi/models--org--b.tmp-%ld", (long)getpid());
    CHECK(access(aside, F_OK) != 0, "nothing left aside");
    CHECK(access("build/t-hubapi/models--org--c.tmp-999999", F_OK) != 0, "a dead process's leftover swept");
    CHECK(!bertc_hub_cache_list(&p, &ms, &n, &err) && n == 1, "one model left: %zu", n);
    bertc_hub_cache_list_free(ms, n);
    p.cache_dir = "build/t-hubapi-none";
    CHECK(!bertc_hub_cache_list(&p, &ms, &n, &err) && n == 0 && !ms, "no cache: no models");

    /* folder or model id: bertc_hub_resolve and bertc_model_open */
    char dir[4096];
    bertc_hub_params off = bertc_hub_default_params();
    off.cache_dir = root;
    off.offline = 1;
    CHECK(!bertc_hub_resolve(TD "tiny-distilbert", &off, dir, sizeof dir, &err) && !strcmp(dir, TD "tiny-distilbert"),
          "a folder as it is: %s", dir);
    CHECK(bertc_hub_resolve(TD "tiny-distilbert/config.json", &off, dir, sizeof dir, &err) == BERTC_ERR_IO &&
              strstr(err.message, "it is a file") && !dir[0],
          "a file: %s", err.message);
    CHECK(bertc_hub_resolve("./no-such-folder", &off, dir, sizeof dir, &err) == BERTC_ERR_IO &&
              !strcmp(err.message, "no such folder (and not a model id like org/name)"),
          "missing: %s", err.message);
    CHECK(bertc_hub_resolve("org/not-cached", &off, dir, sizeof dir, &err) && strstr(err.message, "not in the cache") &&
              !dir[0], "a model id, offline and not cached: %s", err.message);
    off.revision = "main";
    CHECK(bertc_hub_resolve(TD "tiny-distilbert", &off, dir, sizeof dir, &err) == BERTC_ERR_INVALID_ARG &&
              strstr(err.message, "revision"), "a revision with a folder: %s", err.message);
    off.revision = NULL;
    bertc_model *m = NULL;
    char folder[4096] = "?";
    CHECK(!bertc_model_open(TD "tiny-distilbert", NULL, &off, &m, folder, sizeof folder, &err) && m &&
              !strcmp(folder, TD "tiny-distilbert"), "open a folder: %s", err.message);
    bertc_model_free(m);
    m = NULL;
    CHECK(bertc_model_open("./no-such-folder", NULL, &off, &m, folder, sizeof folder, &err) == BERTC_ERR_IO && !m &&
              !folder[0], "open a missing folder: unresolved");
    CHECK(bertc_model_open(TD "tok-bert", NULL, &off, &m, folder, sizeof folder, &err) && !m &&
              !strcmp(folder, TD "tok-bert"), "a folder that does not load: resolved, not loaded: %s", err.message);
    CHECK(bertc_model_open(NULL, NULL, NULL, NULL, NULL, 0, &err) == BERTC_ERR_INVALID_ARG, "no output");
    run_cli("rm -rf build/t-hubapi", sh, sizeof sh);
}

void tests_hub(void) {
    run_test("hub/cache list and remove, folder or model id (library calls)", t_hub_cache_calls);
    run_test("hub/download_resume_offline", t_hub_download_resume_offline);
    run_test("hub/hostile hub: file:// redirects, bad ETag and commit, concurrent pulls", t_hub_hostile);
    run_test("hub/I/O faults while downloading", t_hub_io_faults);
    run_test("hub/foreign_cache_and_env", t_hub_foreign_cache);
}
