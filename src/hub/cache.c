/*
 * cache.c — the Hugging Face cache as a list of models, and removal of one (bertc cache list / rm, Python's
 * bertc.scan_cache_dir / delete_cache): models--org--name folders under the cache root.
 */
#include "bertc_hub.h"

#include "base/durable.h"
#include "base/internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The folder name of a model id: org/name -> models--org--name. */
static bool folder_of(const char *repo_id, char *out, size_t cap) {
    int n = snprintf(out, cap, "models--%s", repo_id);
    if (n < 0 || (size_t)n + 1 >= cap) return false;
    char *sl = strchr(out, '/');
    if (sl) memmove(sl + 2, sl + 1, strlen(sl + 1) + 1), sl[0] = sl[1] = '-';
    return true;
}

/* A leftover NAME.tmp-PID / NAME.old-PID (durable.h), not a model. */
static bool is_temporary(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || (strncmp(dot, ".tmp-", 5) && strncmp(dot, ".old-", 5)) || !dot[5]) return false;
    for (const char *q = dot + 5; *q; q++)
        if (*q < '0' || *q > '9') return false;
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_model(const void *a, const void *b) {
    return strcmp(((const bertc_hub_cached_model *)a)->repo_id, ((const bertc_hub_cached_model *)b)->repo_id);
}

void bertc_hub_cache_list_free(bertc_hub_cached_model *models, size_t n) {
    if (!models) return;
    for (size_t i = 0; i < n; i++) {
        free(models[i].repo_id);
        free(models[i].path);
        for (size_t k = 0; k < models[i].n_refs; k++) free(models[i].refs[k]);
        free(models[i].refs);
    }
    free(models);
}

/* The names under dir/refs, sorted. */
static bool read_refs(const char *dir, bertc_hub_cached_model *m) {
    char rp[4400];
    if (snprintf(rp, sizeof rp, "%s/refs", dir) >= (int)sizeof rp) return true;
    DIR *rd = opendir(rp);
    if (!rd) return true;
    struct dirent *r;
    size_t cap = 0;
    bool ok = true;
    while (ok && (r = readdir(rd))) {
        if (r->d_name[0] == '.') continue;
        if (m->n_refs == cap) {
            size_t nc = cap ? cap * 2 : 4;
            char **nr = realloc(m->refs, nc * sizeof *nr);
            if (!nr) {
                ok = false;
                break;
            }
            m->refs = nr;
            cap = nc;
        }
        if (!(m->refs[m->n_refs] = strdup(r->d_name))) ok = false;
        else m->n_refs++;
    }
    closedir(rd);
    if (ok && m->n_refs > 1) qsort(m->refs, m->n_refs, sizeof *m->refs, cmp_str);
    return ok;
}

bertc_status bertc_hub_cache_list(const bertc_hub_params *p, bertc_hub_cached_model **out, size_t *n,
                                  bertc_error *err) {
    if (!out || !n) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_hub_cache_list: NULL argument");
    *out = NULL;
    *n = 0;
    char root[4096];
    bertc_status s = bertc_hub_cache_root(p, root, sizeof root, err);
    if (s) return s;
    DIR *d = opendir(root);
    if (!d) return BERTC_OK; /* no cache yet: no models */
    bertc_hub_cached_model *list = NULL;
    size_t cap = 0, count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "models--", 8) || is_temporary(e->d_name) || strlen(e->d_name) > 500) continue;
        if (count == cap) {
            size_t nc = cap ? cap * 2 : 8;
            bertc_hub_cached_model *nl = realloc(list, nc * sizeof *nl);
            if (!nl) goto oom;
            list = nl;
            cap = nc;
        }
        bertc_hub_cached_model *m = &list[count];
        memset(m, 0, sizeof *m);
        count++;
        char id[512], path[4700], blobs[4800];
        snprintf(id, sizeof id, "%s", e->d_name + 8);
        char *dd = strstr(id, "--");
        if (dd) memmove(dd + 1, dd + 2, strlen(dd + 2) + 1), *dd = '/';
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        snprintf(blobs, sizeof blobs, "%s/blobs", path);
        if (!(m->repo_id = strdup(id)) || !(m->path = strdup(path))) goto oom;
        m->size_on_disk = path_bytes(blobs);
        if (!read_refs(path, m)) goto oom;
    }
    closedir(d);
    if (count > 1) qsort(list, count, sizeof *list, cmp_model);
    *out = list;
    *n = count;
    return BERTC_OK;
oom:
    closedir(d);
    bertc_hub_cache_list_free(list, count);
    return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory listing the cache %s", root);
}

bertc_status bertc_hub_cache_remove(const char *repo_id, const bertc_hub_params *p, char *removed, size_t cap,
                                    bertc_error *err) {
    if (removed && cap) removed[0] = 0;
    if (!repo_id || !bertc_hub_is_model_id(repo_id))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "\"%s\" is not a model id (org/name)", repo_id ? repo_id : "");
    char root[4096], folder[600], path[4800];
    bertc_status s = bertc_hub_cache_root(p, root, sizeof root, err);
    if (s) return s;
    if (!folder_of(repo_id, folder, sizeof folder) ||
        snprintf(path, sizeof path, "%s/%s", root, folder) >= (int)sizeof path)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "model id too long: %.200s", repo_id);
    struct stat st;
    if (lstat(path, &st) != 0) return bertc_fail(err, BERTC_ERR_INPUT, "%s is not in the cache %s", repo_id, root);
    if ((s = durable_remove(path, err))) return s;
    durable_sweep(root); /* and the renamed-aside copies of removals that were killed midway */
    if (removed && cap) snprintf(removed, cap, "%s", path);
    return BERTC_OK;
}
