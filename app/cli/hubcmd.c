/*
 * hubcmd.c — model ids on the command line: --model org/name through the Hugging Face cache, `bertc pull`, and
 * `bertc cache list|rm`.
 */
#include "cli.h"

#include "bertc_hub.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct bar {
    double last;
    char file[256];
} bar;

static void progress(void *ctx, const char *file, uint64_t done, uint64_t total) {
    bar *b = ctx;
    double now = now_ms_cli();
    if (strcmp(b->file, file)) snprintf(b->file, sizeof b->file, "%s", file), b->last = 0;
    if (now - b->last < 100 && done != total) return;
    b->last = now;
    if (total) {
        int w = 30, fill = (int)(w * (double)done / (double)total);
        fprintf(stderr, "\r%-28.28s [%.*s%*s] %6.1f / %.1f MB", file, fill, "##############################", w - fill,
                "", done / 1e6, total / 1e6);
    } else {
        fprintf(stderr, "\r%-28.28s %6.1f MB", file, done / 1e6);
    }
    if (done == total) fputc('\n', stderr);
}

bool resolve_model_dir(const char *model, const char *revision, char *dir, size_t cap, int *code) {
    struct stat st;
    if (stat(model, &st) == 0 && !S_ISDIR(st.st_mode)) {
        die_msg("cannot load model %s: it is a file; --model takes a checkpoint folder or a model id", model);
        *code = EXIT_MODEL;
        return false;
    }
    if (stat(model, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (revision) {
            die_msg("--revision applies to model ids, and %s is a folder", model);
            *code = EXIT_USAGE;
            return false;
        }
        snprintf(dir, cap, "%s", model);
        return true;
    }
    /* a path that does not exist is reported as such, not looked up on the hub */
    if (!bertc_hub_is_model_id(model) || model[0] == '.' || strchr(model, '\\')) {
        die_msg("cannot load model %s: no such folder (and not a model id like org/name)", model);
        *code = EXIT_MODEL;
        return false;
    }
    bertc_hub_params p = bertc_hub_default_params();
    p.revision = revision;
    bar b = {0, ""};
    if (isatty(2)) {
        p.progress = progress;
        p.progress_ctx = &b;
    }
    bertc_error err;
    bertc_status s = bertc_hub_snapshot(model, &p, dir, cap, &err);
    if (s) {
        die_msg("cannot load model %s: %s", model, err.message);
        *code = s == BERTC_ERR_OUTPUT ? EXIT_OUTPUT : EXIT_MODEL; /* the cache could not be written: disk full, read-only */
        return false;
    }
    return true;
}

static const char pull_usage[] =
    "usage: bertc pull MODEL_ID [--revision R]\n"
    "Downloads the model (org/name) from $HF_ENDPOINT into the Hugging Face cache and prints its snapshot folder.\n";

static const char cache_usage[] =
    "usage: bertc cache list | bertc cache rm MODEL_ID\n"
    "list: the cached model ids with their sizes and refs; rm: removes a model from the cache.\n";

int cmd_pull(int argc, char **argv) {
    const char *id = NULL, *rev = NULL;
    for (int i = 2; i < argc; i++)
        if (is_help(argv[i])) return fputs(pull_usage, stdout), EXIT_OK;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--revision") && i + 1 < argc) rev = argv[++i];
        else if (argv[i][0] != '-' && !id) id = argv[i];
        else {
            die_msg("usage: bertc pull MODEL_ID [--revision R]");
            return EXIT_USAGE;
        }
    }
    if (!id) {
        die_msg("usage: bertc pull MODEL_ID [--revision R]");
        return EXIT_USAGE;
    }
    char dir[4096];
    int code = EXIT_OK;
    if (!bertc_hub_is_model_id(id)) {
        die_msg("\"%s\" is not a model id (org/name)", id);
        return EXIT_USAGE;
    }
    if (!resolve_model_dir(id, rev, dir, sizeof dir, &code)) return code;
    printf("%s\n", dir);
    return EXIT_OK;
}

static uint64_t du_total;
static int du_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    if (type == FTW_F) du_total += (uint64_t)sb->st_size;
    return 0;
}
static int rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    return remove(path);
}

int cmd_cache(int argc, char **argv) {
    for (int i = 2; i < argc; i++)
        if (is_help(argv[i])) return fputs(cache_usage, stdout), EXIT_OK;
    bertc_hub_params p = bertc_hub_default_params();
    char root[4096];
    bertc_error err;
    if (bertc_hub_cache_root(&p, root, sizeof root, &err)) {
        die_msg("%s", err.message);
        return EXIT_INTERNAL;
    }
    const char *sub = argc > 2 ? argv[2] : "list";
    if (!strcmp(sub, "list")) {
        DIR *d = opendir(root);
        printf("cache %s\n", root);
        if (!d) return EXIT_OK;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "models--", 8)) continue;
            char id[512], path[4600];
            snprintf(id, sizeof id, "%s", e->d_name + 8);
            char *dd = strstr(id, "--");
            if (dd) memmove(dd + 1, dd + 2, strlen(dd + 2) + 1), *dd = '/';
            snprintf(path, sizeof path, "%s/%s/blobs", root, e->d_name);
            du_total = 0;
            nftw(path, du_cb, 16, FTW_PHYS);
            char refs[1024] = "", rp[4700];
            snprintf(rp, sizeof rp, "%s/%s/refs", root, e->d_name);
            DIR *rd = opendir(rp);
            struct dirent *r;
            while (rd && (r = readdir(rd)))
                if (r->d_name[0] != '.' && strlen(refs) + strlen(r->d_name) + 2 < sizeof refs)
                    strcat(refs, refs[0] ? "," : ""), strcat(refs, r->d_name);
            if (rd) closedir(rd);
            printf("%-50s %10.1f MB  refs: %s\n", id, du_total / 1e6, refs[0] ? refs : "-");
        }
        closedir(d);
        return EXIT_OK;
    }
    if (!strcmp(sub, "rm") && argc == 4 && bertc_hub_is_model_id(argv[3])) {
        char folder[600], path[4800];
        snprintf(folder, sizeof folder, "models--%s", argv[3]);
        char *sl = strchr(folder, '/');
        if (sl) memmove(sl + 2, sl + 1, strlen(sl + 1) + 1), sl[0] = sl[1] = '-';
        snprintf(path, sizeof path, "%s/%s", root, folder);
        if (access(path, F_OK) != 0) {
            die_msg("%s is not in the cache %s", argv[3], root);
            return EXIT_INPUT;
        }
        if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS)) {
            die_msg("cannot remove %s: %s", path, strerror(errno));
            return EXIT_OUTPUT;
        }
        printf("removed %s\n", path);
        return EXIT_OK;
    }
    die_msg("usage: bertc cache list | bertc cache rm MODEL_ID");
    return EXIT_USAGE;
}
