/* fuzz_request.c — HTTP request bodies through the serve API (the real batcher): the first byte picks the route
 * (and the model: sst2-small for TEI's routes, tiny token-classification, question-answering and masked-LM models for
 * /ner, /qa and /fill-mask, each also on a model without its head), the rest is the body. Every answer must be
 * JSON-or-text with a known status. */
#include "serve/server.h"
#include <stdlib.h>
#include <string.h>
enum { SST2, NER, QA, MLM, N_SRV };
static server *srv[N_SRV];
static server *start(const char *dir) {
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    bertc_model *m = NULL;
    if (bertc_model_load(dir, &mp, &m, NULL)) abort(); /* small: many executions per second */
    server_config c = server_default_config();
    c.log_format = 0; /* no access log in the test's output */
    c.max_client_batch = 8;
    c.max_batch_tokens = 2048;
    server *s = server_new(m, &c, NULL);
    if (!s) abort();
    return s;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!srv[SST2]) {
        srv[SST2] = start("models/sst2-small");
        srv[NER] = start("tests/data/tiny-ner-bert");
        srv[QA] = start("tests/data/tiny-qa-roberta");
        srv[MLM] = start("tests/data/tiny-mlm-bert");
    }
    if (size < 1) return 0;
    static const struct {
        int srv;
        const char *path;
    } routes[32] = {
        {SST2, "/predict"}, {SST2, "/embed"}, {SST2, "/tokenize"}, {SST2, "/"}, {SST2, "/rerank"}, {SST2, "/similarity"},
        {SST2, "/embed_all"}, {SST2, "/decode"}, {SST2, "/v1/embeddings"}, {SST2, "/predict"}, {SST2, "/invocations"},
        {SST2, "/embed"}, {SST2, "/tokenize"}, {SST2, "/decode"}, {SST2, "/"}, {SST2, "/v1/embeddings"},
        /* 16-31: bertc's pipeline routes */
        {NER, "/ner"}, {NER, "/token-classification"}, {NER, "/"}, {QA, "/qa"}, {QA, "/question-answering"}, {QA, "/"},
        {MLM, "/fill-mask"}, {MLM, "/"}, {SST2, "/ner"}, {NER, "/qa"}, {QA, "/fill-mask"}, {MLM, "/ner"}, {NER, "/ner"},
        {QA, "/qa"}, {MLM, "/fill-mask"}, {QA, "/predict"},
    };
    int status;
    char *out;
    size_t len;
    const char *type;
    server_handle(srv[routes[data[0] & 31].srv], "POST", routes[data[0] & 31].path, (const char *)data + 1, size - 1,
                  &status, &out, &len, &type);
    if (status != 200 && status != 400 && status != 413 && status != 422 && status != 424 && status != 429) abort();
    if (len != strlen(out)) abort();
    free(out);
    return 0;
}
