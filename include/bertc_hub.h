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

#ifdef __cplusplus
}
#endif

#endif
