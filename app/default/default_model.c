/*
 * default_model.c — minilm-sst2 (models/minilm-sst2, all-MiniLM-L6-v2 distilled for SST-2) as a
 * bertc_model_files: linked into the bertc command and the suite, and built alone as libbertc-default.so for
 * the Python wheel and installed programs (libbertc finds it when bertc_model_load(NULL) is called). The files
 * themselves are in embedded.S.
 */
#include "bertc.h"

#include <pthread.h>
#include <stdint.h>

extern const char bertc_emb_config[], bertc_emb_tokenizer[], bertc_emb_tokenizer_config[];
extern const uint8_t bertc_emb_weights[], bertc_emb_weights_end[];

const bertc_model_files *bertc_default_model_files(void);

static bertc_model_files f;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fill(void) {
    f.name = "minilm-sst2";
    f.config_json = bertc_emb_config;
    f.weights = bertc_emb_weights;
    f.weights_len = (size_t)(bertc_emb_weights_end - bertc_emb_weights);
    f.tokenizer_json = bertc_emb_tokenizer;
    f.tokenizer_config_json = bertc_emb_tokenizer_config;
}

const bertc_model_files *bertc_default_model_files(void) {
    pthread_once(&once, fill);
    return &f;
}
