/*
 * hubcmd.c — model ids on the command line: --model org/name through the Hugging Face cache, `bertc pull`, and
 * `bertc cache list|rm`.
 */
#include "cli.h"

#include "bertc_hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void progress(void *ctx, const char *file, uint64_t done, uint64_t total) {
    hub_bar *b = ctx;
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

/* The hub parameters of --revision, with the progress bar on a terminal (b outlives the call that uses them). */
bertc_hub_params cli_hub_params(const char *revision, hub_bar *b) {
    bertc_hub_params p = bertc_hub_default_params();
    p.revision = revision;
    if (isatty(2)) {
        p.progress = progress;
        p.progress_ctx = b;
    }
    return p;
}

/* The flags' own mistakes, said with the flags' names before the library resolves the name. */
bool model_arg_ok(const char *model, const char *revision, int *code) {
    struct stat st;
    if (stat(model, &st) != 0) return true;
    if (!S_ISDIR(st.st_mode)) {
        die_msg("cannot load model %s: it is a file; --model takes a checkpoint folder or a model id", model);
        *code = EXIT_MODEL;
        return false;
    }
    if (revision) {
        die_msg("--revision applies to model ids, and %s is a folder", model);
        *code = EXIT_USAGE;
        return false;
    }
    return true;
}

/* A failure to resolve the name (bertc_hub_resolve): the cache could not be written, else no model. */
int resolve_failed(const char *model, const bertc_error *err) {
    die_msg("cannot load model %s: %s", model, err->message);
    return err->status == BERTC_ERR_OUTPUT ? EXIT_OUTPUT : EXIT_MODEL; /* disk full, read-only */
}

bool resolve_model_dir(const char *model, const char *revision, char *dir, size_t cap, int *code) {
    if (!model_arg_ok(model, revision, code)) return false;
    hub_bar b = {0, ""};
    bertc_hub_params p = cli_hub_params(revision, &b);
    bertc_error err;
    if (bertc_hub_resolve(model, &p, dir, cap, &err)) {
        *code = resolve_failed(model, &err);
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
        bertc_hub_cached_model *ms;
        size_t n;
        bertc_status s = bertc_hub_cache_list(&p, &ms, &n, &err);
        if (s) {
            die_msg("%s", err.message);
            return exit_code_for(s);
        }
        printf("cache %s\n", root);
        for (size_t i = 0; i < n; i++) {
            printf("%-50s %10.1f MB  refs: ", ms[i].repo_id, ms[i].size_on_disk / 1e6);
            for (size_t k = 0; k < ms[i].n_refs; k++) printf("%s%s", k ? "," : "", ms[i].refs[k]);
            puts(ms[i].n_refs ? "" : "-");
        }
        bertc_hub_cache_list_free(ms, n);
        return EXIT_OK;
    }
    if (!strcmp(sub, "rm") && argc == 4 && bertc_hub_is_model_id(argv[3])) {
        char path[4800];
        bertc_status s = bertc_hub_cache_remove(argv[3], &p, path, sizeof path, &err);
        if (s) {
            die_msg("%s", err.message);
            return exit_code_for(s);
        }
        printf("removed %s\n", path);
        return EXIT_OK;
    }
    die_msg("usage: bertc cache list | bertc cache rm MODEL_ID");
    return EXIT_USAGE;
}
