/* fuzz_st_config.c — a sentence-transformers folder's files from arbitrary bytes: the input is split at "\n--\n"
 * into modules.json, 1_Pooling/config.json, sentence_bert_config.json and config_sentence_transformers.json, written
 * into a scratch folder beside tiny config, weights and tokenizer links, and loaded; then one embedding through the
 * folder's settings (prompts, pooling modes, lower-casing, truncation). */
#include "bertc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static char dir[256];
static void put(const char *name, const char *data, size_t len) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    fwrite(data, 1, len, f);
    fclose(f);
}
static const char *const names[] = {"modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
                                    "config_sentence_transformers.json"};
static const char *const links[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};
/* the scratch folder goes when the fuzzer exits (it once stayed behind, one per run) */
static void cleanup(void) {
    char p[512];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/%s", dir, links[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/1_Pooling", dir);
    rmdir(p);
    rmdir(dir);
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/bertc-fuzz-st-%d", (int)getpid());
        atexit(cleanup);
        char p[512], cwd[400];
        mkdir(dir, 0755);
        snprintf(p, sizeof p, "%s/1_Pooling", dir);
        mkdir(p, 0755);
        if (!getcwd(cwd, sizeof cwd)) abort();
        for (int i = 0; i < 4; i++) {
            char src[512], dst[512];
            snprintf(src, sizeof src, "%s/tests/data/tiny-bert/%s", cwd, links[i]);
            snprintf(dst, sizeof dst, "%s/%s", dir, links[i]);
            unlink(dst);
            if (symlink(src, dst)) abort();
        }
    }
    const char *p = (const char *)data, *end = p + size;
    for (int i = 0; i < 4; i++) {
        const char *q = p;
        while (q + 4 <= end && memcmp(q, "\n--\n", 4)) q++;
        if (q + 4 > end) q = end;
        put(names[i], p, (size_t)(q - p));
        p = q + 4 <= end ? q + 4 : end;
    }
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    bertc_model *m = NULL;
    if (bertc_model_load(dir, &mp, &m, NULL) == BERTC_OK) {
        const bertc_st_config *st = bertc_model_st_config(m);
        bertc_embed_params ep = bertc_embed_default_params();
        if (st->n_prompts) ep.prompt_name = st->prompt_names[0];
        bertc_text in = {"Hello WORLD, ça va?", 20, NULL, 0};
        bertc_embedding e;
        if (bertc_embed_ex(m, &in, 1, &ep, &e, NULL) == BERTC_OK) {
            if (e.rows != 1 && st->n_modes) abort();
            bertc_embedding_free(&e, 1);
        }
        char buf[128];
        bertc_pooling_name(m, BERTC_POOL_DEFAULT, buf, sizeof buf);
        bertc_model_free(m);
    }
    return 0;
}
