/* fuzz_request.c — HTTP request bodies through the serve API (sst2-small, the real batcher): the
 * first byte picks the route, the rest is the body. Every answer must be JSON-or-text with a known status. */
#include "serve/server.h"
#include <stdlib.h>
#include <string.h>
static server *srv;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!srv) {
        bertc_model_params mp = bertc_model_default_params();
        mp.n_threads = 1;
        bertc_model *m = NULL;
        if (bertc_model_load("models/sst2-small", &mp, &m, NULL)) abort(); /* small: many executions per second */
        server_config c = server_default_config();
        c.max_client_batch = 8;
        c.max_batch_tokens = 2048;
        srv = server_new(m, &c, NULL);
        if (!srv) abort();
    }
    if (size < 1) return 0;
    static const char *const paths[] = {"/predict", "/embed", "/tokenize", "/",          "/rerank",         "/similarity",
                                        "/embed_all", "/decode", "/v1/embeddings", "/predict", "/invocations", "/embed",
                                        "/tokenize", "/decode", "/", "/v1/embeddings"};
    int status;
    char *out;
    size_t len;
    const char *type;
    server_handle(srv, "POST", paths[data[0] & 15], (const char *)data + 1, size - 1, &status, &out, &len, &type);
    if (status != 200 && status != 400 && status != 413 && status != 422 && status != 424 && status != 429) abort();
    if (len != strlen(out)) abort();
    free(out);
    return 0;
}
