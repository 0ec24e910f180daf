/*
 * bertc_hub.h — model ids like transformers: the Hugging Face cache (the same one huggingface_hub writes) and
 * downloads from a hub endpoint with libcurl.
 *
 * Cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub. Layout: models--{org}--{name}/{blobs/<etag>, snapshots/<commit>/<file> -> blob,
 * refs/<revision> = <commit>}. $HF_HUB_OFFLINE=1 never touches the network; $HF_ENDPOINT (default
 * https://huggingface.co) and $HF_TOKEN are honoured.
 */
#ifndef BERTC_HUB_H
#define BERTC_HUB_H

#include "bertc.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called while a file downloads (total 0 when unknown). */
typedef void (*bertc_hub_progress)(void *ctx, const char *file, uint64_t done, uint64_t total);

typedef struct bertc_hub_params {
    const char *revision;  /* branch, tag or commit; NULL: "main" */
    const char *endpoint;  /* NULL: $HF_ENDPOINT or https://huggingface.co */
    const char *token;     /* NULL: $HF_TOKEN (or $HUGGING_FACE_HUB_TOKEN) */
    const char *cache_dir; /* NULL: from the environment, as above */
    int offline;           /* -1: $HF_HUB_OFFLINE; 0: online; 1: cache only */
    bertc_hub_progress progress;
    void *progress_ctx;
} bertc_hub_params;

bertc_hub_params bertc_hub_default_params(void);

/* 1 when s has the shape of a hub model id ("name" or "org/name": letters, digits, '-', '_', '.'). */
int bertc_hub_is_model_id(const char *s);

/* The cache root for these params. */
bertc_status bertc_hub_cache_root(const bertc_hub_params *p, char *out, size_t cap, bertc_error *err);

/* Makes sure the files a bertc model needs (config.json; model.safetensors, its shards, or pytorch_model.bin;
 * tokenizer.json or the vocab files; tokenizer_config.json) are in the cache, downloading what is missing, and
 * writes the snapshot folder to dir. Downloads go to blobs/<etag>.incomplete (resumed with a Range request
 * next time) and are renamed only when whole and, when the ETag is a sha256, verified. Errors name the repo,
 * the file and the reason (not found with the hub's X-Error-Code, authentication, network, offline). */
bertc_status bertc_hub_snapshot(const char *repo_id, const bertc_hub_params *p, char *dir, size_t cap,
                                bertc_error *err);

/* The checkpoint folder of a model given as a folder or a model id, as transformers' from_pretrained resolves it:
 *  - an existing folder is used as it is (a revision with it is BERTC_ERR_INVALID_ARG: revisions are for model ids);
 *  - an existing file is BERTC_ERR_IO "it is a file, not a checkpoint folder or a model id";
 *  - else a model id ("org/name", not starting with '.') is looked up in the cache and downloaded
 *    (bertc_hub_snapshot, with p's revision, endpoint, token, cache and progress), its errors as that call's;
 *  - else BERTC_ERR_IO "no such folder (and not a model id like org/name)".
 * The folder is written to dir. */
bertc_status bertc_hub_resolve(const char *model, const bertc_hub_params *p, char *dir, size_t cap, bertc_error *err);

/* bertc_model_load of a folder or a model id (bertc_hub_resolve, then the folder loaded); model NULL or "" loads the
 * default model (bertc_model_load(NULL)). params and hub may be NULL. folder (may be NULL) receives the checkpoint
 * folder as soon as it is resolved ("" for the default model): after a failure, an empty folder says that the name
 * could not be resolved (a missing folder, a download that failed), a folder that it could not be loaded. */
bertc_status bertc_model_open(const char *model, const bertc_model_params *params, const bertc_hub_params *hub,
                              bertc_model **out, char *folder, size_t cap, bertc_error *err);

/* One model of the cache, as huggingface_hub's scan_cache_dir() lists its repos. */
typedef struct bertc_hub_cached_model {
    char *repo_id;         /* "org/name" (a name without org: "name") */
    char *path;            /* its folder, <root>/models--org--name */
    uint64_t size_on_disk; /* bytes of the files under blobs/ */
    size_t n_refs;
    char **refs;           /* the names under refs/ ("main", tags, branches), sorted */
} bertc_hub_cached_model;

/* The models of the cache root of p (NULL: from the environment), sorted by repo_id; a cache root that does not exist
 * holds none (*n = 0, *out NULL). Leftovers of an interrupted removal or download (NAME.tmp-PID) are not listed.
 * Free with bertc_hub_cache_list_free. */
bertc_status bertc_hub_cache_list(const bertc_hub_params *p, bertc_hub_cached_model **out, size_t *n,
                                  bertc_error *err);
void bertc_hub_cache_list_free(bertc_hub_cached_model *models, size_t n);

/* Removes a model (every revision, its blobs and refs) from the cache, so that it is never seen half-removed: the
 * folder is renamed aside (models--org--name.tmp-PID) first, then deleted; a process killed midway leaves only the
 * renamed copy, which the next removal or download sweeps. The folder removed is written to removed (may be NULL).
 * Errors: BERTC_ERR_INVALID_ARG for a repo_id that is not a model id; BERTC_ERR_INPUT "<id> is not in the cache
 * <root>"; BERTC_ERR_OUTPUT when the cache cannot be written. */
bertc_status bertc_hub_cache_remove(const char *repo_id, const bertc_hub_params *p, char *removed, size_t cap,
                                    bertc_error *err);

#ifdef __cplusplus
}
#endif

#endif
