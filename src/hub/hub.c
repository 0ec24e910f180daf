/*
 * hub.c — model ids resolved as huggingface_hub resolves them (see bertc_hub.h): metadata from a HEAD request on
 * {endpoint}/{repo}/resolve/{revision}/{file} (relative redirects followed, the CDN's absolute one kept as the
 * download address; X-Repo-Commit, X-Linked-Etag or ETag, X-Linked-Size or Content-Length), then the blob.
 * Only http and https are spoken, redirects included (libcurl's protocol lists); the commit must be 40 hex digits
 * and the ETag, normalized as huggingface_hub does (W/ and quotes stripped), a plausible hash, before either
 * names a path. A blob is fetched under huggingface_hub's lock (flock on <cache>/.locks/<repo folder>/<etag>.lock),
 * so two processes, Python's included, never write it at once: the second waits and finds it. Every file
 * written to the cache is fsync'ed and renamed into place, its folder fsync'ed (util/durable.h); a write that
 * fails is BERTC_ERR_OUTPUT.
 */
#include "bertc_hub.h"

#include "base/internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/durable.h"

#define PATH_CAP 4096

/* snprintf for paths and headers: false when the result did not fit (callers check where it matters; a cut
 * path then fails to open rather than naming another file). */
static bool pathf(char *out, size_t cap, const char *fmt, ...) BERTC_PRINTF(3, 4);
static bool pathf(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

bertc_hub_params bertc_hub_default_params(void) {
    bertc_hub_params p = {NULL, NULL, NULL, NULL, -1, NULL, NULL};
    return p;
}

static bool id_part_ok(const char *s, size_t n) {
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
    return !strstr(s, "..") || (size_t)(strstr(s, "..") - s) >= n;
}

int bertc_hub_is_model_id(const char *s) {
    if (!s || !*s) return 0;
    const char *slash = strchr(s, '/');
    if (!slash) return id_part_ok(s, strlen(s));
    if (strchr(slash + 1, '/')) return 0;
    return id_part_ok(s, (size_t)(slash - s)) && id_part_ok(slash + 1, strlen(slash + 1));
}

static bool env_true(const char *name) {
    const char *v = getenv(name);
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

bertc_status bertc_hub_cache_root(const bertc_hub_params *p, char *out, size_t cap, bertc_error *err) {
    const char *v;
    int n;
    if (p && p->cache_dir) n = snprintf(out, cap, "%s", p->cache_dir);
    else if ((v = getenv("HF_HUB_CACHE")) && *v) n = snprintf(out, cap, "%s", v);
    else if ((v = getenv("HUGGINGFACE_HUB_CACHE")) && *v) n = snprintf(out, cap, "%s", v);
    else if ((v = getenv("HF_HOME")) && *v) n = snprintf(out, cap, "%s/hub", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v) n = snprintf(out, cap, "%s/huggingface/hub", v);
    else if ((v = getenv("HOME")) && *v) n = snprintf(out, cap, "%s/.cache/huggingface/hub", v);
    else return bertc_fail(err, BERTC_ERR_IO, "no cache folder: set HF_HUB_CACHE or HOME");
    if (n < 0 || (size_t)n >= cap) return bertc_fail(err, BERTC_ERR_IO, "cache path too long");
    return BERTC_OK;
}

static bool is_hex(const char *s, size_t n) {
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

/* A commit id as huggingface_hub's REGEX_COMMIT_HASH: 40 lowercase hex digits. */
static bool is_commit(const char *s) {
    if (strlen(s) != 40) return false;
    for (size_t i = 0; i < 40; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'f')) return false;
    return true;
}

/* A normalized ETag that may name a blob: a plausible hash (the hub's are a 40-hex git blob id or a 64-hex
 * sha256; proxies' md5 or sha-like ids pass too): 16 to 128 of [0-9A-Za-z_-], so never "", ".", ".." or a path. */
static bool is_etag(const char *s) {
    size_t n = strlen(s);
    if (n < 16 || n > 128) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') return false;
    return true;
}

/* libcurl speaks http and https only, redirects included (a hub answering Location: file:///etc/... must not
 * make a cache blob of a local file). */
static void http_only(CURL *c) {
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0: the _STR options; the bitmask ones are deprecated there */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static bool http_url(const char *u) { return !strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8); }

/* ---- HTTP ---- */

typedef struct meta {
    long status;
    char commit[128], etag[160], location[2048], error_code[64];
    uint64_t size;
} meta;

typedef struct hub {
    const bertc_hub_params *p;
    const char *repo, *rev;
    char endpoint[1024], token[1024], repo_dir[PATH_CAP], locks_dir[PATH_CAP];
    char pinned[128]; /* the commit the first file came from: the others are asked for at it, as snapshot_download does */
    CURL *curl;
    struct curl_slist *auth;
} hub;

static size_t header_cb(char *buf, size_t sz, size_t n, void *ud) {
    meta *m = ud;
    size_t len = sz * n;
    char line[2400];
    size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, l);
    line[l] = 0;
    while (l && (line[l - 1] == '\r' || line[l - 1] == '\n')) line[--l] = 0;
    if (!strncmp(line, "HTTP/", 5)) { /* a new response (after a redirect): forget the previous headers' size */
        m->size = 0;
        return len;
    }
    char *colon = strchr(line, ':');
    if (!colon) return len;
    *colon = 0;
    char *v = colon + 1;
    while (*v == ' ') v++;
    if (!strcasecmp(line, "X-Repo-Commit")) pathf(m->commit, sizeof m->commit, "%s", v);
    else if (!strcasecmp(line, "X-Linked-Etag") || (!strcasecmp(line, "ETag") && !m->etag[0])) {
        if (!strncmp(v, "W/", 2)) v += 2;
        if (*v == '"') v++;
        pathf(m->etag, sizeof m->etag, "%s", v);
        char *q = strchr(m->etag, '"');
        if (q) *q = 0;
    } else if (!strcasecmp(line, "X-Linked-Size")) m->size = strtoull(v, NULL, 10);
    else if (!strcasecmp(line, "Content-Length") && !m->size) m->size = strtoull(v, NULL, 10);
    else if (!strcasecmp(line, "Location")) pathf(m->location, sizeof m->location, "%s", v);
    else if (!strcasecmp(line, "X-Error-Code")) pathf(m->error_code, sizeof m->error_code, "%s", v);
    return len;
}

static size_t discard_cb(char *buf, size_t sz, size_t n, void *ud) { return sz * n; }

static void hub_url(const hub *h, const char *file, char *out, size_t cap) {
    pathf(out, cap, "%s/%s/resolve/%s/%s", h->endpoint, h->repo, h->pinned[0] ? h->pinned : h->rev, file);
}

/* HEAD with relative redirects followed (a renamed repo); an absolute one is the download address. */
static bertc_status head(hub *h, const char *file, meta *m, bertc_error *err) {
    char url[4096];
    hub_url(h, file, url, sizeof url);
    for (int hop = 0; hop < 5; hop++) {
        memset(m, 0, sizeof *m);
        curl_easy_reset(h->curl);
        http_only(h->curl);
        curl_easy_setopt(h->curl, CURLOPT_URL, url);
        curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, m);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, discard_cb);
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->auth);
        curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "bertc/" BERTC_VERSION);
        curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(h->curl, CURLOPT_ACCEPT_ENCODING, "identity");
        CURLcode rc = curl_easy_perform(h->curl);
        if (rc != CURLE_OK)
            return bertc_fail(err, BERTC_ERR_IO, "cannot reach %s for %s: %s (set HF_HUB_OFFLINE=1 to use the cache only)",
                              h->endpoint, h->repo, curl_easy_strerror(rc));
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &m->status);
        if (m->status >= 300 && m->status < 400 && m->location[0] == '/') {
            /* relative: the hub moved the repo; follow */
            char base[1024];
            pathf(base, sizeof base, "%s", h->endpoint);
            char *p3 = strstr(base, "://");
            char *slash = p3 ? strchr(p3 + 3, '/') : NULL;
            if (slash) *slash = 0;
            pathf(url, sizeof url, "%s%s", base, m->location);
            continue;
        }
        if (m->status >= 300 && m->status < 400 && m->location[0] && !http_url(m->location))
            return bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: the hub redirected to \"%.200s\": only http and https are "
                              "followed", h->repo, file, m->location);
        return BERTC_OK;
    }
    return bertc_fail(err, BERTC_ERR_IO, "too many redirects for %s/%s", h->repo, file);
}

typedef struct dl {
    int fd; /* opened with O_APPEND */
    hub *h;
    const char *file;
    uint64_t offset, total;
    int checked;
    int werr; /* errno of a failed write: the cache could not be written */
} dl;

static size_t write_cb(char *buf, size_t sz, size_t n, void *ud) {
    dl *d = ud;
    if (!d->checked) {
        d->checked = 1;
        long code = 0;
        curl_easy_getinfo(d->h->curl, CURLINFO_RESPONSE_CODE, &code);
        if (d->offset && code == 200) { /* the server ignored the Range: start over */
            if (ftruncate(d->fd, 0)) {
                d->werr = errno;
                return 0;
            }
            d->offset = 0;
        }
    }
    if (dio_write_all(d->fd, buf, sz * n) != 0) {
        d->werr = errno;
        return 0;
    }
    return sz * n;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    dl *d = ud;
    if (d->h->p->progress) d->h->p->progress(d->h->p->progress_ctx, d->file, d->offset + (uint64_t)dlnow, d->total);
    return 0;
}

static bertc_status sha256_file(const char *path, char hex[65], bertc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return bertc_fail(err, BERTC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    unsigned char buf[1 << 16], md[32];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(c, buf, k);
    unsigned mdl = 0;
    EVP_DigestFinal_ex(c, md, &mdl);
    EVP_MD_CTX_free(c);
    fclose(f);
    for (int i = 0; i < 32; i++) pathf(hex + 2 * i, 3, "%02x", md[i]);
    return BERTC_OK;
}

/* Downloads file (metadata m) into blobs/<etag>, resuming blobs/<etag>.incomplete. */
static bertc_status download(hub *h, const char *file, const meta *m, const char *blob, bertc_error *err) {
    char part[PATH_CAP + 16], url[4096];
    pathf(part, sizeof part, "%s.incomplete", blob);
    if (m->location[0] && m->status >= 300 && m->status < 400) pathf(url, sizeof url, "%s", m->location);
    else hub_url(h, file, url, sizeof url);
    if (!http_url(url))
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: refusing to download from \"%.200s\": only http and https",
                          h->repo, file, url);
    struct stat st;
    uint64_t have = stat(part, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (m->size && have > m->size) have = 0;
    int fd = dio_open_write(part, O_WRONLY | O_CREAT | O_APPEND | (have ? 0 : O_TRUNC), 0644);
    if (fd < 0) return output_fail(err, errno, "cannot write", part);
    dl d = {fd, h, file, have, m->size, 0, 0};
    meta rm;
    memset(&rm, 0, sizeof rm);
    curl_easy_reset(h->curl);
    http_only(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &rm);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->auth);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "bertc/" BERTC_VERSION);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled transfer fails after 60 s */
    curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h->curl, CURLOPT_ACCEPT_ENCODING, "identity");
    curl_easy_setopt(h->curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, &d);
    char range[48];
    pathf(range, sizeof range, "%llu-", (unsigned long long)have);
    /* a Range header, not CURLOPT_RESUME_FROM (which fails on a server that ignores it): a 200 starts over */
    if (have) curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
    CURLcode rc = curl_easy_perform(h->curl);
    int synced = !d.werr ? dio_fsync(fd) : 0, serr = errno; /* what came stays on disk for a resume too */
    bool closed = close(fd) == 0;
    if (d.werr || synced != 0)
        return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot write %s: %s (what was written is kept; the next run resumes it)",
                          part, strerror(d.werr ? d.werr : serr));
    if (rc != CURLE_OK)
        return bertc_fail(err, BERTC_ERR_IO,
                          "download of %s/%s interrupted: %s (%s kept; the next run resumes it)", h->repo, file,
                          curl_easy_strerror(rc), part);
    if (!closed) return output_fail(err, errno, "cannot write", part);
    if (stat(part, &st) != 0 || (m->size && (uint64_t)st.st_size != m->size))
        return bertc_fail(err, BERTC_ERR_IO, "download of %s/%s is incomplete: %lld of %llu bytes", h->repo, file,
                          (long long)st.st_size, (unsigned long long)m->size);
    if (is_hex(m->etag, 64)) {
        char hex[65];
        bertc_status s = sha256_file(part, hex, err);
        if (s) return s;
        if (strcasecmp(hex, m->etag)) {
            unlink(part);
            return bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: sha256 %s does not match the hub's %s (removed)", h->repo,
                              file, hex, m->etag);
        }
    }
    if (dio_rename(part, blob)) return output_fail(err, errno, "cannot rename", part);
    if (dio_fsync_parent(blob)) return output_fail(err, errno, "cannot sync the folder of", blob);
    return BERTC_OK;
}

static bertc_status write_ref(hub *h, const char *commit, bertc_error *err) {
    if (is_hex(h->rev, 40)) return BERTC_OK;
    char path[PATH_CAP + 256], dir[PATH_CAP + 256];
    pathf(path, sizeof path, "%s/refs/%s", h->repo_dir, h->rev);
    pathf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    if (!dio_mkdirs(dir)) return output_fail(err, errno, "cannot create", dir);
    char *old = NULL;
    size_t ol = 0;
    if (!read_file(path, &old, &ol, NULL) && ol == strlen(commit) && !memcmp(old, commit, ol)) {
        free(old);
        return BERTC_OK; /* already so */
    }
    free(old);
    return atomic_write(path, commit, strlen(commit), err);
}

/* A file the hub says is not in the revision: an empty .no_exist/<commit>/<file>, as huggingface_hub records it
 * (its readers of this cache then know without asking). Best effort: a failure here changes nothing else. */
static void note_absent(const hub *h, const char *commit, const char *file) {
    if (!commit[0] || strchr(file, '/')) return;
    char dir[PATH_CAP + 256], path[PATH_CAP + 512];
    pathf(dir, sizeof dir, "%s/.no_exist/%s", h->repo_dir, commit);
    if (!make_dirs(dir)) return;
    pathf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

/* One file: 1 fetched (or already cached), 0 not on the hub (EntryNotFound; allowed when optional), <0 error. */
static int fetch(hub *h, const char *file, bool optional, char *commit, bertc_error *err) {
    meta m;
    if (head(h, file, &m, err)) return -1;
    if (m.status == 401 || m.status == 403) {
        bertc_fail(err, BERTC_ERR_IO, "%s: access denied (HTTP %ld%s%s): a private or gated repo needs a token in HF_TOKEN",
                   h->repo, m.status, m.error_code[0] ? ", " : "", m.error_code);
        return -1;
    }
    if (m.status == 404) {
        if (optional && (!m.error_code[0] || !strcmp(m.error_code, "EntryNotFound"))) {
            note_absent(h, commit, file);
            return 0;
        }
        const char *what = !strcmp(m.error_code, "RepositoryNotFound") ? "repository not found"
                           : !strcmp(m.error_code, "RevisionNotFound") ? "revision not found"
                           : !strcmp(m.error_code, "EntryNotFound")    ? "file not found"
                                                                       : "not found";
        bertc_fail(err, BERTC_ERR_IO, "%s (revision %s) on %s: %s%s%s%s", h->repo, h->rev, h->endpoint, what,
                   strcmp(what, "file not found") ? "" : " (", strcmp(what, "file not found") ? "" : file,
                   strcmp(what, "file not found") ? "" : ")");
        return -1;
    }
    if (m.status >= 400 || m.status < 200) {
        bertc_fail(err, BERTC_ERR_IO, "%s/%s: HTTP %ld from %s", h->repo, file, m.status, h->endpoint);
        return -1;
    }
    if (!m.commit[0] || !m.etag[0]) {
        bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: the hub's answer lacks X-Repo-Commit or ETag", h->repo, file);
        return -1;
    }
    if (!is_commit(m.commit)) {
        bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: the hub's commit \"%.80s\" is not a commit id (40 hex digits)", h->repo,
                   file, m.commit);
        return -1;
    }
    if (!is_etag(m.etag)) {
        bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: the hub's ETag \"%.80s\" is not a hash (16-128 letters, digits, - or _)",
                   h->repo, file, m.etag);
        return -1;
    }
    if (commit[0] && strcmp(commit, m.commit)) {
        bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s: the hub answered for commit %s, the other files for %s (the revision "
                   "moved during the download: run again)", h->repo, file, m.commit, commit);
        return -1;
    }
    if (!commit[0]) {
        pathf(commit, 128, "%s", m.commit);
        pathf(h->pinned, sizeof h->pinned, "%s", m.commit);
        if (write_ref(h, commit, err)) return -1;
    }
    char blob[PATH_CAP + 256], link[PATH_CAP + 512], dir[PATH_CAP + 256], target[512], lock[PATH_CAP + 256];
    pathf(dir, sizeof dir, "%s/blobs", h->repo_dir);
    pathf(blob, sizeof blob, "%s/%s", dir, m.etag);
    if (!dio_mkdirs(dir)) {
        output_fail(err, errno, "cannot create", dir);
        return -1;
    }
    /* huggingface_hub's lock for this blob; best effort where the cache takes no lock file or flock */
    int lfd = -1;
    pathf(lock, sizeof lock, "%s/%s.lock", h->locks_dir, m.etag);
    if (make_dirs(h->locks_dir) && (lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0664)) >= 0)
        while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {
        }
    int r = 1;
    if (access(blob, F_OK) != 0 && download(h, file, &m, blob, err)) r = -1;
    pathf(dir, sizeof dir, "%s/snapshots/%s", h->repo_dir, commit);
    pathf(link, sizeof link, "%s/%s", dir, file);
    pathf(target, sizeof target, "../../blobs/%s", m.etag);
    char have[512];
    ssize_t hl = r > 0 ? readlink(link, have, sizeof have - 1) : -1;
    if (hl >= 0) have[hl] = 0;
    if (r > 0 && !(hl >= 0 && !strcmp(have, target))) {
        /* the snapshot entry: a link made beside it and renamed over, so that it is never missing or half-made */
        char tmp[PATH_CAP + 600];
        pathf(tmp, sizeof tmp, "%s.tmp-%ld", link, (long)getpid());
        unlink(tmp);
        if (!dio_mkdirs(dir)) r = -1, output_fail(err, errno, "cannot create", dir);
        else if ((durable_sweep(dir), dio_symlink(target, tmp)) || dio_rename(tmp, link)) { /* links of killed runs go */
            r = -1;
            output_fail(err, errno, "cannot link", link);
            unlink(tmp);
        } else if (dio_fsync_dir(dir)) {
            r = -1;
            output_fail(err, errno, "cannot sync", dir);
        }
    }
    if (lfd >= 0) close(lfd); /* releases the lock */
    return r;
}

/* The shard files named by an index.json already in the snapshot. */
static int shards_of(const char *snapshot, const char *index, char ***out) {
    char path[PATH_CAP + 256];
    pathf(path, sizeof path, "%s/%s", snapshot, index);
    json_t *j = json_load_file(path, 0, NULL), *wm = json_object_get(j, "weight_map");
    int n = 0;
    char **names = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(wm, k, v) {
        const char *s = json_string_value(v);
        if (!s || !bertc_hub_is_model_id(s) || strchr(s, '/')) continue;
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = !strcmp(names[i], s);
        if (seen) continue;
        char **nn = realloc(names, (size_t)(n + 1) * sizeof *nn);
        if (!nn) break;
        names = nn;
        names[n++] = strdup(s);
    }
    json_decref(j);
    *out = names;
    return n;
}

static bertc_status fetch_status(const bertc_error *err) { return err && err->status ? err->status : BERTC_ERR_IO; }

static bertc_status fetch_all(hub *h, char *commit, bertc_error *err) {
    if (fetch(h, "config.json", false, commit, err) < 0) return fetch_status(err);
    char snapshot[PATH_CAP + 256];
    pathf(snapshot, sizeof snapshot, "%s/snapshots/%s", h->repo_dir, commit);
    static const char *const single[] = {"model.safetensors", "pytorch_model.bin"};
    static const char *const index[] = {"model.safetensors.index.json", "pytorch_model.bin.index.json"};
    int got = 0;
    for (int k = 0; k < 2 && !got; k++) {
        int r = fetch(h, single[k], true, commit, err);
        if (r < 0) return fetch_status(err);
        if (r > 0) {
            got = 1;
            break;
        }
        r = fetch(h, index[k], true, commit, err);
        if (r < 0) return fetch_status(err);
        if (r == 0) continue;
        char **shards;
        int ns = shards_of(snapshot, index[k], &shards);
        bertc_status s = ns ? BERTC_OK : bertc_fail(err, BERTC_ERR_FORMAT, "%s/%s names no shards", h->repo, index[k]);
        for (int i = 0; i < ns; i++) {
            if (!s && fetch(h, shards[i], false, commit, err) < 0) s = fetch_status(err);
            free(shards[i]);
        }
        free(shards);
        if (s) return s;
        got = 1;
    }
    if (!got)
        return bertc_fail(err, BERTC_ERR_IO, "%s (revision %s) has no weights bertc can read (model.safetensors, "
                          "sharded safetensors or pytorch_model.bin)", h->repo, h->rev);
    int tj = fetch(h, "tokenizer.json", true, commit, err);
    if (tj < 0) return fetch_status(err);
    static const char *const extra[] = {"tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json",
                                        "merges.txt"};
    for (size_t k = 0; k < sizeof extra / sizeof *extra; k++) {
        if (tj > 0 && k >= 2) break; /* vocab files only when there is no tokenizer.json */
        if (fetch(h, extra[k], true, commit, err) < 0) return fetch_status(err);
    }
    return BERTC_OK;
}

/* The cached snapshot for the revision, when there is one with a config.json. */
static bool cached_snapshot(const hub *h, char *dir, size_t cap) {
    char commit[128] = "";
    if (is_hex(h->rev, 40)) pathf(commit, sizeof commit, "%s", h->rev);
    else {
        char ref[PATH_CAP + 256];
        pathf(ref, sizeof ref, "%s/refs/%s", h->repo_dir, h->rev);
        FILE *f = fopen(ref, "r");
        if (!f) return false;
        if (!fgets(commit, sizeof commit, f)) commit[0] = 0;
        fclose(f);
        commit[strcspn(commit, "\r\n ")] = 0;
        if (!is_commit(commit)) return false;
    }
    char cfg[PATH_CAP + 512];
    pathf(cfg, sizeof cfg, "%s/snapshots/%s/config.json", h->repo_dir, commit);
    if (access(cfg, R_OK) != 0) return false;
    pathf(dir, cap, "%s/snapshots/%s", h->repo_dir, commit);
    return true;
}

bertc_status bertc_hub_snapshot(const char *repo_id, const bertc_hub_params *pp, char *dir, size_t cap,
                                bertc_error *err) {
    bertc_hub_params p = pp ? *pp : bertc_hub_default_params();
    bertc_error local;
    if (!err) err = &local; /* the status of a failed fetch is read back from it */
    if (!bertc_hub_is_model_id(repo_id))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "\"%s\" is neither a folder nor a model id (org/name)", repo_id);
    hub h;
    memset(&h, 0, sizeof h);
    h.p = &p;
    h.repo = repo_id;
    h.rev = p.revision && *p.revision ? p.revision : "main";
    if (strstr(h.rev, "..") || h.rev[0] == '/' || strlen(h.rev) > 200)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bad revision \"%s\"", h.rev);
    char root[PATH_CAP];
    bertc_status s = bertc_hub_cache_root(&p, root, sizeof root, err);
    if (s) return s;
    char folder[512];
    pathf(folder, sizeof folder, "models--%s", repo_id);
    for (char *q = folder; *q; q++)
        if (*q == '/') { /* org/name -> org--name */
            memmove(q + 2, q + 1, strlen(q + 1) + 1);
            q[0] = q[1] = '-';
            break;
        }
    if (!pathf(h.repo_dir, sizeof h.repo_dir, "%s/%s", root, folder) ||
        !pathf(h.locks_dir, sizeof h.locks_dir, "%s/.locks/%s", root, folder))
        return bertc_fail(err, BERTC_ERR_IO, "path too long");
    int offline = p.offline >= 0 ? p.offline : env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
    if (offline) {
        if (cached_snapshot(&h, dir, cap)) return BERTC_OK;
        return bertc_fail(err, BERTC_ERR_IO,
                          "%s (revision %s) is not in the cache %s, and HF_HUB_OFFLINE forbids downloading it", repo_id,
                          h.rev, root);
    }
    const char *ep = p.endpoint ? p.endpoint : getenv("HF_ENDPOINT");
    pathf(h.endpoint, sizeof h.endpoint, "%s", ep && *ep ? ep : "https://huggingface.co");
    size_t el = strlen(h.endpoint);
    while (el && h.endpoint[el - 1] == '/') h.endpoint[--el] = 0;
    const char *tok = p.token ? p.token : getenv("HF_TOKEN");
    if (!tok || !*tok) tok = getenv("HUGGING_FACE_HUB_TOKEN");
    if (tok && *tok) {
        pathf(h.token, sizeof h.token, "Authorization: Bearer %s", tok);
        h.auth = curl_slist_append(NULL, h.token);
    }
    bool existed = access(h.repo_dir, F_OK) == 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h.curl = curl_easy_init();
    char commit[128] = "";
    s = h.curl ? fetch_all(&h, commit, err) : bertc_fail(err, BERTC_ERR_NOMEM, "cannot start libcurl");
    bool network = s && err && strstr(err->message, "cannot reach");
    curl_easy_cleanup(h.curl);
    curl_slist_free_all(h.auth);
    if (s && network && cached_snapshot(&h, dir, cap)) return BERTC_OK; /* no network: the cache, as huggingface_hub */
    if (s) {
        if (!existed) { /* nothing was kept: leave no empty folders behind */
            char p2[PATH_CAP + 64];
            static const char *const sub[] = {"refs", "blobs", "snapshots"};
            for (int k = 0; k < 3; k++) {
                pathf(p2, sizeof p2, "%s/%s", h.repo_dir, sub[k]);
                rmdir(p2);
            }
            rmdir(h.repo_dir);
        }
        return s;
    }
    int n = snprintf(dir, cap, "%s/snapshots/%s", h.repo_dir, commit);
    if (n < 0 || (size_t)n >= cap) return bertc_fail(err, BERTC_ERR_IO, "path too long");
    return BERTC_OK;
}

/* For the fuzz target: response header lines as the hub (or anyone on the path) may send them. */
void hub_fuzz_headers(const char *data, size_t len);
void hub_fuzz_headers(const char *data, size_t len) {
    meta m;
    memset(&m, 0, sizeof m);
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        header_cb((char *)data + i, 1, e - i + (e < len), &m);
        i = e + 1;
    }
    if (strlen(m.etag) >= sizeof m.etag || strlen(m.commit) >= sizeof m.commit) abort();
    /* what the validators let through can only name a file in blobs/ or snapshots/ */
    if (is_etag(m.etag) && (strchr(m.etag, '/') || strchr(m.etag, '.') || strlen(m.etag) > 128)) abort();
    if (is_commit(m.commit) && (strchr(m.commit, '/') || strchr(m.commit, '.'))) abort();
    if (m.location[0] && http_url(m.location) && m.location[0] != 'h' && m.location[0] != 'H') abort();
}
