/*
 * test_serve.c — `bertc serve` started from the test on 127.0.0.1 (a free port), spoken to over plain sockets:
 * every route, every error status, pairs and batches, the pipeline's scores, concurrency (batched results equal
 * single ones), the body limit, a stalled half request, and a graceful SIGTERM.
 */
#include "test.h"
#include "base/json.h"
#include "serve_http.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void t_routes(void) {
    srv s;
    if (!srv_start(&s, "--model models/sst2-small")) {
        CHECK(0, "server did not start");
        return;
    }
    char *b;
    /* /predict on the embedded sst2-small: the transformers pipeline's scores for the first SST-2 dev sentences */
    char *ref;
    size_t rl;
    CHECK(!read_file(TD "sst2-small.dev.pred.jsonl", &ref, &rl, NULL), "refs");
    char req[8192] = "{\"inputs\": [";
    json_t *refs[8];
    char *line = ref;
    for (int i = 0; i < 8; i++) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        refs[i] = json_loads(line, 0, NULL);
        line = nl + 1;
        char *t = json_dumps(json_object_get(refs[i], "text"), JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(req + strlen(req), sizeof req - strlen(req), "%s[%s]", i ? ", " : "", t);
        free(t);
    }
    strcat(req, "]}");
    int st = http(s.port, "POST", "/predict", req, &b);
    json_t *res = json_loads(b, 0, NULL);
    CHECK(st == 200 && json_array_size(res) == 8, "batch predict: %d %.200s", st, b);
    for (int i = 0; i < 8 && json_array_size(res) == 8; i++) {
        json_t *preds = json_array_get(res, (size_t)i);
        const char *want = jstr(refs[i], "pred"), *top = jstr(json_array_get(preds, 0), "label");
        CHECK(json_array_size(preds) == 2 && want && top && !strcmp(top, want), "item %d label", i);
        size_t q;
        json_t *p;
        json_array_foreach(preds, q, p) {
            const char *lab = jstr(p, "label");
            double want_s = jnum(json_object_get(refs[i], "scores"), lab ? lab : "", NAN);
            CHECK(fabs(jnum(p, "score", NAN) - want_s) < 1e-4, "item %d %s score", i, lab);
        }
    }
    json_decref(res);
    for (int i = 0; i < 8; i++) json_decref(refs[i]);
    free(ref);
    free(b);
    /* single, pair, ["a"] (single), raw scores */
    st = http(s.port, "POST", "/predict", "{\"inputs\": \"a charming journey\"}", &b);
    CHECK(st == 200 && !strncmp(b, "[{\"score\":0.9", 13) && strstr(b, "\"label\":\"POSITIVE\"}"), "single: %s", b);
    free(b);
    st = http(s.port, "POST", "/predict", "{\"inputs\": [\"good\", \"bad\"]}", &b);
    CHECK(st == 200 && b[0] == '[' && b[1] == '{', "pair is one input: %s", b);
    free(b);
    st = http(s.port, "POST", "/predict", "{\"inputs\": [\"good\"], \"raw_scores\": true}", &b);
    CHECK(st == 200 && b[1] == '{' && strstr(b, "\"score\":-"), "raw scores (logits): %s", b);
    free(b);
    /* /embed: [[hidden]] normalized by default */
    st = http(s.port, "POST", "/embed", "{\"inputs\": [\"Hello\", \"world\"]}", &b);
    res = json_loads(b, 0, NULL);
    double norm = 0;
    size_t d;
    json_t *v;
    json_array_foreach(json_array_get(res, 0), d, v) norm += json_number_value(v) * json_number_value(v);
    CHECK(st == 200 && json_array_size(res) == 2 && json_array_size(json_array_get(res, 0)) == 64 &&
              fabs(norm - 1) < 1e-5,
          "embed: %d, norm %g", st, norm);
    json_decref(res);
    free(b);
    st = http(s.port, "POST", "/embed", "{\"inputs\": \"Hello\", \"normalize\": false}", &b);
    res = json_loads(b, 0, NULL);
    norm = 0;
    json_array_foreach(json_array_get(res, 0), d, v) norm += json_number_value(v) * json_number_value(v);
    CHECK(st == 200 && fabs(norm - 1) > 1e-3, "unnormalized: norm %g", norm);
    json_decref(res);
    free(b);
    /* /tokenize: byte offsets, special tokens without offsets */
    st = http(s.port, "POST", "/tokenize", "{\"inputs\": \"H\xc3\xa9llo world!\"}", &b);
    CHECK(st == 200 && strstr(b, "{\"id\":101,\"text\":\"[CLS]\",\"special\":true,\"start\":null,\"stop\":null}") &&
              strstr(b, "\"text\":\"H\xc3\xa9llo\",\"special\":false,\"start\":0,\"stop\":6}"),
          "tokenize: %s", b);
    free(b);
    st = http(s.port, "POST", "/tokenize", "{\"inputs\": [\"a\"], \"add_special_tokens\": false}", &b);
    CHECK(st == 200 && !strcmp(b, "[[{\"id\":1037,\"text\":\"a\",\"special\":false,\"start\":0,\"stop\":1}]]"), "no specials: %s", b);
    free(b);
    /* GET routes */
    st = http(s.port, "GET", "/info", NULL, &b);
    CHECK(st == 200 && strstr(b, "\"model_type\":{\"classifier\":{\"id2label\":{\"0\":\"NEGATIVE\",\"1\":\"POSITIVE\"}") &&
              strstr(b, "\"max_input_length\":512") && strstr(b, "\"max_client_batch_size\":32") &&
              strstr(b, "\"model_dtype\":\"float32\""),
          "info: %s", b);
    free(b);
    st = http(s.port, "GET", "/health", NULL, &b);
    CHECK(st == 200, "health %d", st);
    free(b);
    /* OpenAI's models.list: the one model */
    st = http(s.port, "GET", "/v1/models", NULL, &b);
    CHECK(st == 200 && !strncmp(b, "{\"object\":\"list\",\"data\":[{\"id\":\"", 31) &&
              strstr(b, "\"object\":\"model\",\"created\":0,\"owned_by\":\"bertc\"}]}"),
          "/v1/models: %d %s", st, b);
    free(b);
    /* errors: TEI's statuses and error types */
    char big[40000] = "{\"inputs\": \"";
    for (int i = 0; i < 600; i++) strcat(big, "word ");
    strcat(big, "end\"}");
    static const struct {
        const char *method, *path, *body;
        int status;
        const char *want;
    } errs[] = {
        {"POST", "/predict", "{\"inputs\": ", 400, "\"error_type\":\"Validation\""},
        {"POST", "/predict", "{\"inputs\": []}", 400, "\"error_type\":\"Empty\""},
        {"POST", "/predict", "{\"inputs\": 5}", 422, "\"error_type\":\"Validation\""},
        {"POST", "/predict", "{\"inputs\": [\"a\", \"b\", \"c\"]}", 422, "pair of two strings"},
        {"POST", "/predict", "{\"text\": \"a\"}", 422, "missing field `inputs`"},
        {"POST", "/predict", "{\"inputs\": \"a\", \"truncate\": 1}", 422, "`truncate` must be a boolean"},
        {"POST", "/predict", "{\"inputs\": \"a\", \"truncation_direction\": \"up\"}", 422, "truncation_direction"},
        {"POST", "/embed", "{\"inputs\": [1]}", 422, "list of strings"},
        {"GET", "/predict", NULL, 405, "takes POST"},
        {"POST", "/info", "{}", 405, "takes GET"},
        {"GET", "/nope", NULL, 404, "no route"},
        /* bertc's pipeline routes on a sequence classifier */
        {"POST", "/ner", "{\"inputs\": \"a\"}", 424, "has a sequence-classification head (use /predict)"},
        {"POST", "/token-classification", "{\"inputs\": \"a\"}", 424, "token-classification head"},
        {"POST", "/qa", "{\"question\": \"q\", \"context\": \"c\"}", 424, "question-answering head"},
        {"POST", "/question-answering", "{}", 424, "\"error_type\":\"Backend\""},
        {"POST", "/fill-mask", "{\"inputs\": \"[MASK]\"}", 424, "masked-lm head"},
        {"GET", "/fill-mask", NULL, 405, "takes POST"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        st = http(s.port, errs[i].method, errs[i].path, errs[i].body, &b);
        CHECK(st == errs[i].status && b && strstr(b, errs[i].want) && strstr(b, "{\"error\":"), "case %zu: %d %s", i, st, b);
        free(b);
    }
    char batch[4096] = "{\"inputs\": [";
    for (int i = 0; i < 33; i++) strcat(batch, i ? ", [\"x\"]" : "[\"x\"]");
    strcat(batch, "]}");
    st = http(s.port, "POST", "/predict", batch, &b);
    CHECK(st == 413 && strstr(b, "batch size 33 > maximum allowed batch size 32"), "batch limit: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/predict", big, &b);
    CHECK(st == 413 && strstr(b, "must have less than 512 tokens. Given: 603"), "too long: %d %s", st, b);
    free(b);
    /* truncate: right keeps the start, left the end; the answers differ */
    char *left, *right;
    big[strlen(big) - 1] = 0;
    char req2[41000];
    snprintf(req2, sizeof req2, "%s, \"truncate\": true}", big);
    st = http(s.port, "POST", "/predict", req2, &right);
    snprintf(req2, sizeof req2, "%s, \"truncate\": true, \"truncation_direction\": \"left\"}", big);
    int st2 = http(s.port, "POST", "/predict", req2, &left);
    CHECK(st == 200 && st2 == 200 && strcmp(left, right), "truncate right/left: %d %d", st, st2);
    free(left), free(right);
    st = http(s.port, "GET", "/metrics", NULL, &b);
    CHECK(st == 200 && strstr(b, "bertc_requests_total{route=\"/predict\",status=\"200\"}") &&
              strstr(b, "bertc_requests_total{route=\"/predict\",status=\"413\"} 2") &&
              strstr(b, "bertc_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"}") &&
              strstr(b, "bertc_batch_size_count") && strstr(b, "bertc_queue_depth 0"),
          "metrics: %.400s", b);
    free(b);
    CHECK(srv_stop(&s) == 0, "exit 0 on SIGTERM");
}

/* Concurrency: many clients at once; every answer equals the one a lone request gets. */
typedef struct client_arg {
    int port, n, bad;
    const char *want;
} client_arg;

static void *client(void *p) {
    client_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        char *b;
        int st = http(a->port, "POST", "/predict", "{\"inputs\": [[\"a gorgeous film\"], [\"dull\", \"and long\"]]}", &b);
        if (st != 200 || strcmp(b, a->want)) a->bad++;
        free(b);
    }
    return NULL;
}

/* 8 clients x 10 requests; returns how many answers differ from want and how many were 429. */
static void blast(int port, const char *want, int *bad, int *overloaded) {
    pthread_t th[8];
    client_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (client_arg){port, 10, 0, want};
        pthread_create(&th[i], NULL, client, &args[i]);
    }
    *bad = *overloaded = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        *bad += args[i].bad;
    }
    char *m;
    http(port, "GET", "/metrics", NULL, &m);
    const char *p = m ? strstr(m, "status=\"429\"} ") : NULL;
    if (p) *overloaded = atoi(p + strlen("status=\"429\"} "));
    free(m);
}

static void t_concurrency_limits(void) {
    srv s;
    if (!srv_start(&s, "--payload-limit 2000 --client-timeout 2")) {
        CHECK(0, "server did not start");
        return;
    }
    char *want;
    int st = http(s.port, "POST", "/predict", "{\"inputs\": [[\"a gorgeous film\"], [\"dull\", \"and long\"]]}", &want);
    CHECK(st == 200, "lone request");
    /* a client that sends half a request and stalls must not block the others */
    int stall = connect_to(s.port);
    const char *half = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inp";
    CHECK(stall >= 0 && write(stall, half, strlen(half)) == (ssize_t)strlen(half), "stalled client");
    int bad, overloaded;
    blast(s.port, want, &bad, &overloaded);
    CHECK(bad == 0 && overloaded == 0, "8 clients x 10 requests, batched together: %d answers differ from the lone one", bad);
    /* body over the limit: 413 */
    char body[3000];
    memset(body, 'a', sizeof body - 1);
    body[sizeof body - 1] = 0;
    char *b;
    st = http(s.port, "POST", "/predict", body, &b);
    CHECK(st == 413 && strstr(b, "2000-byte limit"), "payload limit: %d %s", st, b);
    free(b);
    /* a client that disconnects mid-request */
    int gone = connect_to(s.port);
    const char *part = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"inputs\":";
    CHECK(gone >= 0 && write(gone, part, strlen(part)) == (ssize_t)strlen(part), "partial request");
    close(gone);
    close(stall);
    st = http(s.port, "GET", "/health", NULL, &b);
    CHECK(st == 200, "still answering after the faults: %d", st);
    free(b);
    CHECK(srv_stop(&s) == 0, "exit 0");
    /* the queue limit: one request at a time, eight clients -> some are told 429, the others get the answer */
    if (!srv_start(&s, "--max-concurrent-requests 1")) {
        CHECK(0, "server did not start");
        free(want);
        return;
    }
    blast(s.port, want, &bad, &overloaded);
    CHECK(overloaded > 0 && bad == overloaded, "max 1 in flight: %d answers were 429, %d differ", overloaded, bad);
    st = http(s.port, "POST", "/predict", "{\"inputs\": \"x\"}", &b);
    CHECK(st == 200, "answering after overload: %d", st);
    free(b);
    free(want);
    CHECK(srv_stop(&s) == 0, "exit 0");
}

/* A base model (no classification head): /predict is 424, /embed works. */
/* --host takes an IPv6 address too (skipped where the machine has no IPv6 loopback). */
static void t_ipv6(void) {
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool have = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof a) == 0;
    if (probe >= 0) close(probe);
    if (!have) {
        printf("     (no IPv6 loopback here: skipped)\n");
        return;
    }
    srv s;
    CHECK(srv_start(&s, "--host ::1"), "server on [::1] started");
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    a.sin6_port = htons((uint16_t)s.port);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to [::1]:%d", s.port);
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[512] = "";
    if (fd >= 0 && write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        ssize_t k = read(fd, buf, sizeof buf - 1);
        if (k > 0) buf[k] = 0;
    }
    if (fd >= 0) close(fd);
    CHECK(!strncmp(buf, "HTTP/1.1 200", 12), "health over IPv6: %.40s", buf);
    CHECK(srv_stop(&s) == 0, "stopped");
}

static void t_base_model_and_sigterm(void) {
    char out[4096];
    run_cli("rm -rf build/t-base && mkdir -p build/t-base && sed 's/DistilBertForSequenceClassification/DistilBertModel/' "
            TD "tiny-distilbert/config.json > build/t-base/config.json && for f in model.safetensors tokenizer.json "
            "tokenizer_config.json; do ln -s \"$PWD/" TD "tiny-distilbert/$f\" build/t-base/$f; done",
            out, sizeof out);
    srv s;
    if (!srv_start(&s, "--model build/t-base --pooling cls")) {
        CHECK(0, "server did not start on the base model");
        return;
    }
    char *b;
    int st = http(s.port, "POST", "/predict", "{\"inputs\": \"x\"}", &b);
    CHECK(st == 424 && strstr(b, "\"error_type\":\"Backend\""), "predict on a base model: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/embed", "{\"inputs\": \"x\"}", &b);
    CHECK(st == 200 && b[0] == '[' && b[1] == '[', "embed on a base model: %d", st);
    free(b);
    st = http(s.port, "GET", "/info", NULL, &b);
    CHECK(st == 200 && strstr(b, "\"model_type\":{\"embedding\":{\"pooling\":\"cls\"}}"), "info: %s", b);
    free(b);
    /* SIGTERM with a request in flight: it is answered, new connections are refused, exit 0 */
    int fd = connect_to(s.port);
    const char *req = "POST /embed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 19\r\n\r\n{\"inputs\": \"hello\"}";
    CHECK(fd >= 0 && write(fd, req, strlen(req)) == (ssize_t)strlen(req), "in-flight request sent");
    usleep(50000);
    kill(s.pid, SIGTERM);
    char resp[8192];
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd, resp + n, sizeof resp - n - 1)) > 0) n += (size_t)k;
    resp[n] = 0;
    close(fd);
    CHECK(!strncmp(resp, "HTTP/1.1 200", 12), "in-flight request answered: %.60s", resp);
    int status = 0;
    waitpid(s.pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
    CHECK(connect_to(s.port) < 0, "no longer listening");
}


/* A one-output BertForSequenceClassification (a cross-encoder's shape) made from tiny-bert with a fresh head. */
#include "train/tmodel.h"
static bool make_reranker(const char *dir) {
    tmodel_head hd = {BERTC_PROBLEM_REGRESSION, 1, NULL, 7, true};
    tmodel *m = NULL;
    bertc_error err;
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    run_cli(cmd, out, sizeof out);
    if (tmodel_load(TD "tiny-bert", &hd, 1, &m, NULL, &err)) return false;
    bool ok = tmodel_save(m, dir, &err) == BERTC_OK;
    tmodel_free(m);
    return ok;
}

static double jnum_at(const json_t *a, int i) {
    const json_t *v = json_array_get(a, (size_t)i);
    return v ? json_number_value(v) : NAN;
}

/* GET /docs: Swagger UI over /openapi.json, as TEI serves it, its script and stylesheet from the binary (the vendored
 * files byte for byte); rendered by headless Chromium, it lists every route of openapi.json (BERTC_REQUIRE_CHROMIUM=1,
 * make check: Chromium must be there; elsewhere that part says it skipped). */
static void docs_page(int port, size_t n_routes) {
    char *b = NULL;
    int st = http(port, "GET", "/docs", NULL, &b);
    CHECK(st == 200 && strstr(b, "SwaggerUIBundle({url: \"openapi.json\"") && strstr(b, "src=\"docs/swagger-ui-bundle.js\""),
          "/docs: %d %.300s", st, b);
    free(b);
    static const char *const assets[][2] = {{"/docs/swagger-ui-bundle.js", "build/swagger-ui/swagger-ui-bundle.js"},
                                            {"/docs/swagger-ui.css", "build/swagger-ui/swagger-ui.css"}};
    for (int i = 0; i < 2; i++) {
        st = http(port, "GET", assets[i][0], NULL, &b);
        char *want = NULL;
        size_t wl = 0;
        bertc_error err;
        CHECK(!read_file(assets[i][1], &want, &wl, &err), "%s: %s", assets[i][1], err.message);
        CHECK(st == 200 && want && wl > 100000 && strlen(b) == wl && !memcmp(b, want, wl), "%s: %d, %zu bytes of %zu",
              assets[i][0], st, b ? strlen(b) : 0, wl);
        free(want);
        free(b);
    }
    char out[1 << 14], cmd[512];
    const char *req = getenv("BERTC_REQUIRE_CHROMIUM");
    if (run_cli("command -v chromium", out, sizeof out) != 0) {
        CHECK(!(req && *req == '1'), "chromium not found (apt-get install chromium)");
        printf("  skipped the rendering of /docs: no chromium on PATH\n");
        return;
    }
    snprintf(cmd, sizeof cmd, "timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=10000 "
             "--dump-dom http://127.0.0.1:%d/docs 2>/dev/null | grep -o 'class=\"opblock-summary-path\" data-path=\"[^\"]*\"' "
             "| wc -l", port);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && (size_t)atoi(out) >= n_routes, "Swagger UI rendered %d operations of %zu routes", atoi(out), n_routes);
}

/* TEI's other routes give the native routes' values: /rerank = /predict on the pairs, sorted; /similarity = cosine of
 * /embed; /v1/embeddings = /embed (float and base64); /embed_all = every token; /decode inverts /tokenize; POST /
 * dispatches by model type; /openapi.json lists the routes. */
static void t_tei_routes(void) {
    CHECK(make_reranker("build/t-rerank"), "reranker folder");
    srv s;
    if (!srv_start(&s, "--model build/t-rerank")) {
        CHECK(0, "server did not start on the reranker");
        return;
    }
    char *b = NULL, *p = NULL;
    int st = http(s.port, "POST", "/rerank", "{\"query\": \"what is a cat\", \"texts\": [\"a dog\", \"a cat is a small pet\", "
                  "\"trucks\"], \"return_text\": true, \"raw_scores\": true}", &b);
    json_t *rr = st == 200 ? json_loads(b, 0, NULL) : NULL;
    CHECK(json_array_size(rr) == 3, "rerank: %d %s", st, b);
    int st2 = http(s.port, "POST", "/predict", "{\"inputs\": [[\"what is a cat\", \"a dog\"], [\"what is a cat\", "
                   "\"a cat is a small pet\"], [\"what is a cat\", \"trucks\"]], \"raw_scores\": true}", &p);
    json_t *pp = st2 == 200 ? json_loads(p, 0, NULL) : NULL;
    double prev = 1e9;
    for (int i = 0; rr && pp && i < 3; i++) {
        json_t *e = json_array_get(rr, (size_t)i);
        int idx = jint(e, "index", -1);
        double sc = jnum(e, "score", NAN);
        double want = jnum(json_array_get(json_array_get(pp, (size_t)idx), 0), "score", NAN);
        CHECK(fabs(sc - want) < 1e-6, "rerank score %d: %g, /predict %g", idx, sc, want);
        CHECK(sc <= prev, "rerank not sorted by score");
        CHECK(jstr(e, "text"), "return_text");
        prev = sc;
    }
    json_decref(rr);
    json_decref(pp);
    free(b);
    free(p);
    st = http(s.port, "POST", "/", "{\"query\": \"q\", \"texts\": [\"a\", \"b\"]}", &b);
    CHECK(st == 200 && strstr(b, "\"index\""), "POST / with a query on a reranker: %d %s", st, b);
    free(b);
    /* without raw_scores: the logistic of the raw score */
    st = http(s.port, "POST", "/rerank", "{\"query\": \"q\", \"texts\": [\"a\"], \"raw_scores\": true}", &b);
    st2 = http(s.port, "POST", "/rerank", "{\"query\": \"q\", \"texts\": [\"a\"]}", &p);
    json_t *r1 = json_loads(b, 0, NULL), *r2 = json_loads(p, 0, NULL);
    double z = jnum(json_array_get(r1, 0), "score", NAN), sg = jnum(json_array_get(r2, 0), "score", NAN);
    CHECK(st == 200 && st2 == 200 && fabs(sg - 1 / (1 + exp(-z))) < 1e-6, "rerank sigmoid: %g vs raw %g", sg, z);
    json_decref(r1);
    json_decref(r2);
    free(b);
    free(p);
    /* POST / answers the Inference API's shape for one input, [[...]], which huggingface_hub and @huggingface/inference
     * read (TEI's flat /predict answer makes @huggingface/inference's textClassification throw) */
    st = http(s.port, "POST", "/", "{\"inputs\": \"hello\"}", &b);
    st2 = http(s.port, "POST", "/predict", "{\"inputs\": \"hello\"}", &p);
    CHECK(st == 200 && st2 == 200 && b[0] == '[' && !strncmp(b + 1, p, strlen(p)) && !strcmp(b + 1 + strlen(p), "]"),
          "POST / on a classifier = [/predict]: %s vs %s", b, p);
    free(b);
    free(p);
    /* the Inference API's parameters name the task asked for: another task's refused (424), unknown ones named (422) */
    st = http(s.port, "POST", "/", "{\"inputs\": \"hello\", \"parameters\": {\"candidate_labels\": [\"a\", \"b\"]}}", &b);
    CHECK(st == 424 && strstr(b, "zero-shot-classification is not this model's task") &&
              strstr(b, "\"error_type\":\"Backend\""),
          "zero-shot on a sentiment model: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/", "{\"inputs\": \"hello\", \"parameters\": {\"top_k\": 2, \"bogus\": 1, \"zap\": 0}}", &b);
    CHECK(st == 422 && strstr(b, "unknown parameters for text-classification") && strstr(b, "`bogus`, `zap`") &&
              strstr(b, "it takes top_k, function_to_apply"),
          "unknown parameters: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/", "{\"inputs\": \"hello\", \"parameters\": {\"top_k\": 1, \"function_to_apply\": null}}", &b);
    CHECK(st == 200, "known parameters: %d %s", st, b);
    free(b);
    st = http(s.port, "GET", "/openapi.json", NULL, &b);
    json_t *doc = st == 200 ? json_loads(b, 0, NULL) : NULL;
    json_t *paths = json_object_get(doc, "paths");
    static const char *const routes[] = {"/", "/predict", "/embed", "/embed_all", "/rerank", "/similarity", "/tokenize",
                                         "/decode", "/v1/embeddings", "/info", "/health", "/metrics", "/ner",
                                         "/token-classification", "/qa", "/question-answering", "/fill-mask",
                                         "/v1/models"};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        CHECK(json_object_get(paths, routes[i]), "openapi.json lacks %s", routes[i]);
    json_decref(doc);
    free(b);
    docs_page(s.port, sizeof routes / sizeof routes[0]);
    srv_stop(&s);
    /* an embedding model */
    if (!srv_start(&s, "--model build/t-base")) {
        CHECK(0, "server did not start on the base model");
        return;
    }
    st = http(s.port, "POST", "/rerank", "{\"query\": \"q\", \"texts\": [\"a\"]}", &b);
    CHECK(st == 424 && strstr(b, "re-ranker"), "rerank on an embedding model: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/embed", "{\"inputs\": [\"a cat\", \"a kitten\", \"a truck\"]}", &p);
    json_t *em = st == 200 ? json_loads(p, 0, NULL) : NULL;
    CHECK(json_array_size(em) == 3, "embed: %d", st);
    free(p);
    st = http(s.port, "POST", "/similarity", "{\"inputs\": {\"source_sentence\": \"a cat\", \"sentences\": [\"a kitten\", "
              "\"a truck\"]}}", &b);
    json_t *sim = st == 200 ? json_loads(b, 0, NULL) : NULL;
    for (int k = 1; em && sim && k <= 2; k++) {
        json_t *a = json_array_get(em, 0), *c = json_array_get(em, (size_t)k);
        double ab = 0, aa = 0, cc = 0;
        for (int d = 0; d < (int)json_array_size(a); d++) {
            ab += jnum_at(a, d) * jnum_at(c, d);
            aa += jnum_at(a, d) * jnum_at(a, d);
            cc += jnum_at(c, d) * jnum_at(c, d);
        }
        CHECK(fabs(jnum_at(sim, k - 1) - ab / sqrt(aa * cc)) < 1e-5, "similarity %d: %g, cosine of /embed %g", k,
              jnum_at(sim, k - 1), ab / sqrt(aa * cc));
    }
    json_decref(sim);
    free(b);
    st = http(s.port, "POST", "/v1/embeddings", "{\"input\": [\"a cat\", \"a kitten\", \"a truck\"], \"model\": \"m\"}", &b);
    json_t *oa = st == 200 ? json_loads(b, 0, NULL) : NULL;
    json_t *data = json_object_get(oa, "data");
    const char *object = jstr(oa, "object");
    CHECK(json_array_size(data) == 3 && object && !strcmp(object, "list") &&
              jnum(json_object_get(oa, "usage"), "prompt_tokens", 0) > 3,
          "openai: %d %.200s", st, b);
    for (int i = 0; oa && em && i < 3; i++) {
        json_t *v = json_object_get(json_array_get(data, (size_t)i), "embedding"), *w = json_array_get(em, (size_t)i);
        double worst = 0;
        for (int d = 0; d < (int)json_array_size(w); d++) worst = fmax(worst, fabs(jnum_at(v, d) - jnum_at(w, d)));
        CHECK(worst < 1e-6, "openai embedding %d differs from /embed by %g", i, worst);
    }
    json_decref(oa);
    free(b);
    st = http(s.port, "POST", "/v1/embeddings", "{\"input\": \"a cat\", \"encoding_format\": \"base64\"}", &b);
    oa = st == 200 ? json_loads(b, 0, NULL) : NULL;
    const char *t = jstr(json_array_get(json_object_get(oa, "data"), 0), "embedding");
    if (t && em) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned char bytes[4096];
        size_t nb = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (; *t && *t != '=' && nb < sizeof bytes; t++) {
            acc = acc << 6 | (uint32_t)(strchr(tab, *t) - tab);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                bytes[nb++] = (unsigned char)(acc >> bits);
            }
        }
        json_t *w = json_array_get(em, 0);
        CHECK(nb == 4 * json_array_size(w), "base64: %zu bytes", nb);
        double worst = 0;
        for (size_t d = 0; d + 4 <= nb; d += 4) {
            float f;
            uint32_t u = bytes[d] | bytes[d + 1] << 8 | bytes[d + 2] << 16 | (uint32_t)bytes[d + 3] << 24;
            memcpy(&f, &u, 4);
            worst = fmax(worst, fabs(f - jnum_at(w, (int)(d / 4))));
        }
        CHECK(worst < 1e-6, "base64 embedding differs by %g", worst);
    } else {
        CHECK(0, "base64: %d %.200s", st, b);
    }
    json_decref(oa);
    json_decref(em);
    free(b);
    st = http(s.port, "POST", "/embed_all", "{\"inputs\": [\"hello\", \"a b c\"]}", &b);
    json_t *all = st == 200 ? json_loads(b, 0, NULL) : NULL;
    CHECK(json_array_size(json_array_get(all, 0)) == 3 && json_array_size(json_array_get(all, 1)) == 5 &&
              json_array_size(json_array_get(json_array_get(all, 0), 0)) == 32,
          "embed_all: %d %.100s", st, b);
    json_decref(all);
    free(b);
    st = http(s.port, "POST", "/decode", "{\"ids\": [[101, 7592, 1010, 2088, 999, 2009, 1005, 1055, 1037, 4937, 102], [101, 102]], "
              "\"skip_special_tokens\": true}", &b);
    /* tokenizers' WordPiece decoder cleans up each token, so " '" and " s" stay apart (transformers 5.24 gives the
     * same; clean_up_tokenization_spaces is false for this tokenizer) */
    CHECK(st == 200 && !strcmp(b, "[\"hello, world! it ' s a cat\",\"\"]"), "decode: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/decode", "{\"ids\": [101, 7592, 102], \"skip_special_tokens\": false}", &b);
    CHECK(st == 200 && !strcmp(b, "[\"[CLS] hello [SEP]\"]"), "decode with specials: %d %s", st, b);
    free(b);
    st = http(s.port, "POST", "/", "{\"inputs\": \"a cat\"}", &b);
    st2 = http(s.port, "POST", "/embed", "{\"inputs\": \"a cat\"}", &p);
    CHECK(st == 200 && st2 == 200 && !strcmp(b, p), "POST / on an embedding model = /embed");
    free(b);
    free(p);
    srv_stop(&s);
}

/* The official clients against the server (tests/clients/: huggingface_hub and openai from PyPI, @huggingface/inference
 * from npm), each call compared with the native route's answer. A client that is not installed is named as skipped;
 * BERTC_REQUIRE_CLIENTS=1 (CI) makes that a failure. BERTC_CLIENTS_PYTHON picks the interpreter (default python3). */
static int client_lines(const char *cmd, json_t **lines, int cap, char *skipped, size_t sk_cap) {
    FILE *f = popen(cmd, "r");
    if (!f) return 0;
    char buf[1 << 16];
    int n = 0;
    while (fgets(buf, sizeof buf, f)) {
        json_t *j = json_loads(buf, 0, NULL);
        if (!j) continue;
        if (json_object_get(j, "skipped")) {
            const char *client = jstr(j, "client");
            snprintf(skipped + strlen(skipped), sk_cap - strlen(skipped), "%s%s", skipped[0] ? ", " : "",
                     client ? client : "?");
            json_decref(j);
        } else if (n < cap) {
            lines[n++] = j;
        } else {
            json_decref(j);
        }
    }
    pclose(f);
    return n;
}

static json_t *find_call(json_t **l, int n, const char *client, const char *method, const char *cse) {
    for (int i = 0; i < n; i++) {
        const char *c = jstr(l[i], "client"), *m = jstr(l[i], "method"), *k = jstr(l[i], "case");
        if (c && m && k && !strcmp(c, client) && !strcmp(m, method) && !strcmp(k, cse)) return l[i];
    }
    return NULL;
}

static void t_real_clients(void) {
    const char *py = getenv("BERTC_CLIENTS_PYTHON");
    if (!py || !*py) py = "python3";
    const char *req = getenv("BERTC_REQUIRE_CLIENTS");
    char skipped[256] = "", cmd[1024], out[256];
    /* (no '@' in run_cli's command: it stands for the CLI there) */
    bool node_ok = run_cli("command -v node >/dev/null && test -d tests/clients/node_modules/?huggingface/inference", out,
                           sizeof out) == 0;
    if (!node_ok) snprintf(skipped, sizeof skipped, "@huggingface/inference");
    for (int kind = 0; kind < 2; kind++) {
        srv s;
        if (!srv_start(&s, kind == 0 ? "--model models/sst2-small" : "--model build/t-base")) {
            CHECK(0, "server did not start");
            return;
        }
        json_t *l[128];
        int n = 0;
        snprintf(cmd, sizeof cmd, "%s tests/clients/test_clients.py --url http://127.0.0.1:%d --kind %s 2>/dev/null", py, s.port,
                 kind == 0 ? "classifier" : "embedding");
        n += client_lines(cmd, l + n, 128 - n, kind == 0 ? skipped : out, kind == 0 ? sizeof skipped : sizeof out);
        if (node_ok) {
            snprintf(cmd, sizeof cmd, "cd tests/clients && node test_clients.mjs --url http://127.0.0.1:%d --kind %s 2>/dev/null",
                     s.port, kind == 0 ? "classifier" : "embedding");
            n += client_lines(cmd, l + n, 128 - n, kind == 0 ? skipped : out, kind == 0 ? sizeof skipped : sizeof out);
        }
        out[0] = 0;
        /* every call succeeds but the ones that must fail: too long (413), token ids (422), provider=None (a client rule) */
        for (int i = 0; i < n; i++) {
            const char *client = jstr(l[i], "client"), *meth = jstr(l[i], "method"), *cse = jstr(l[i], "case");
            const char *why = jstr(l[i], "error");
            if (!client || !meth || !cse) {
                CHECK(0, "a client's line without client, method or case");
                continue;
            }
            bool must_fail = !strcmp(cse, "too-long") || !strncmp(cse, "token-id", 8) || !strcmp(cse, "provider=None");
            CHECK(json_is_true(json_object_get(l[i], "ok")) != must_fail, "%s %s (%s): %s", client, meth, cse,
                  why ? why : "");
        }
        char *b = NULL;
        if (kind == 0) {
            http(s.port, "POST", "/predict", "{\"inputs\": \"I loved it\"}", &b);
            json_t *nat = json_loads(b, 0, NULL);
            double want = jnum(json_array_get(nat, 0), "score", NAN);
            static const char *const who[2][2] = {{"huggingface_hub", "text_classification"}, {"@huggingface/inference", "textClassification"}};
            for (int c = 0; c < 2; c++) {
                json_t *call = find_call(l, n, who[c][0], who[c][1], "plain");
                if (!call) continue;
                json_t *v = json_array_get(json_object_get(call, "value"), 0);
                const char *label = jstr(v, "label");
                CHECK(fabs(jnum(v, "score", NAN) - want) < 1e-6 && label && !strcmp(label, "POSITIVE"),
                      "%s text_classification = /predict", who[c][0]);
            }
            json_decref(nat);
        } else {
            http(s.port, "POST", "/embed", "{\"inputs\": \"A man is eating food.\"}", &b);
            json_t *nat_root = json_loads(b, 0, NULL), *nat = json_array_get(nat_root, 0);
            static const char *const who[3][3] = {{"huggingface_hub", "feature_extraction", "single"},
                                                  {"@huggingface/inference", "featureExtraction", "single"},
                                                  {"openai", "embeddings.create", "float"}};
            for (int c = 0; c < 3; c++) {
                json_t *call = find_call(l, n, who[c][0], who[c][1], who[c][2]);
                if (!call) continue;
                json_t *head = json_object_get(json_object_get(call, "value"), "head");
                if (json_is_array(json_array_get(head, 0))) head = json_array_get(head, 0);
                double worst = json_array_size(head) == 4 ? 0 : 1;
                for (int k = 0; k < 4 && nat; k++) worst = fmax(worst, fabs(jnum_at(head, k) - jnum_at(nat, k)));
                CHECK(worst < 1e-6, "%s %s = /embed (worst %g)", who[c][0], who[c][1], worst);
            }
            free(b);
            http(s.port, "POST", "/similarity", "{\"inputs\": {\"source_sentence\": \"A man is eating food.\", \"sentences\": "
                 "[\"Someone is eating a meal.\", \"The sky is blue today.\", \"A man eats.\"]}}", &b);
            json_t *sim = json_loads(b, 0, NULL);
            json_t *call = find_call(l, n, "huggingface_hub", "sentence_similarity", "plain");
            json_t *v = json_object_get(call, "value");
            if (v && json_array_size(v) == json_array_size(sim))
                for (int k = 0; k < (int)json_array_size(v); k++)
                    CHECK(fabs(jnum_at(v, k) - jnum_at(sim, k)) < 1e-6, "sentence_similarity %d = /similarity", k);
            json_decref(sim);
            json_decref(nat_root);
        }
        free(b);
        for (int i = 0; i < n; i++) json_decref(l[i]);
        srv_stop(&s);
    }
    if (skipped[0]) {
        printf("  skipped (not installed): %s\n", skipped);
        CHECK(!(req && *req == '1'), "clients not installed: %s (tests/clients: pip install huggingface_hub openai numpy; npm ci)",
              skipped);
    }
}


/* ---- bertc's own routes: /ner, /qa, /fill-mask give what `bertc ner / qa / fill-mask` print ---- */

/* JSON values equal as the CLI and the server write them: the same keys in the same order, numbers equal as float32
 * (the CLI writes %.9g, so 1 may come as an integer there and 1.0 here). */
static bool same_json(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) return (float)json_number_value(a) == (float)json_number_value(b);
    if (json_typeof(a) != json_typeof(b)) return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_json(json_array_get(a, i), json_array_get(b, i))) return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) return false;
        void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
        for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia), ib = json_object_iter_next((json_t *)b, ib))
            if (strcmp(json_object_iter_key(ia), json_object_iter_key(ib)) ||
                !same_json(json_object_iter_value(ia), json_object_iter_value(ib)))
                return false;
        return !ia && !ib;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* The CLI's output (one JSON value a line): the single value when list is false, else the lines as a list. */
static json_t *cli_json(const char *cmd, bool list) {
    static char out[1 << 18];
    if (run_cli(cmd, out, sizeof out) != 0) return NULL;
    json_t *all = json_array();
    for (char *line = out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        json_t *v = json_loads(line, JSON_DECODE_ANY, NULL);
        if (!v) {
            json_decref(all);
            return NULL;
        }
        json_array_append_new(all, v);
    }
    if (list) return all;
    json_t *one = json_array_size(all) == 1 ? json_incref(json_array_get(all, 0)) : NULL;
    json_decref(all);
    return one;
}

/* POST path body must answer 200 with what the CLI prints for cmd. */
static void same_as_cli(int port, const char *path, const char *body, const char *cmd, bool list) {
    char *b;
    int st = http(port, "POST", path, body, &b);
    json_t *got = b ? json_loads(b, JSON_DECODE_ANY, NULL) : NULL, *want = cli_json(cmd, list);
    CHECK(st == 200 && got && want && same_json(got, want), "%s %s: %d %.300s\n    cli (%s): %.300s", path, body, st, b,
          cmd, want ? json_dumps(want, JSON_COMPACT) : "(no output)");
    json_decref(got);
    json_decref(want);
    free(b);
}

/* POST path body must answer status with error_type type (and the message containing msg, when not NULL). */
static void error_is(int port, const char *path, const char *body, int status, const char *type, const char *msg) {
    char *b;
    int st = http(port, "POST", path, body, &b);
    json_t *j = b ? json_loads(b, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(j, "error_type")), *e = json_string_value(json_object_get(j, "error"));
    CHECK(st == status && t && !strcmp(t, type) && e && (!msg || strstr(e, msg)), "%s %.200s: want %d %s, got %d %s", path,
          body, status, type, st, b);
    json_decref(j);
    free(b);
}

static bool metrics_have(int port, const char *what) {
    char *m;
    http(port, "GET", "/metrics", NULL, &m);
    bool ok = m && strstr(m, what);
    free(m);
    return ok;
}

typedef struct task_client {
    int port, bad;
    const char *path, *body, *want;
} task_client;

static void *task_client_main(void *p) {
    task_client *a = p;
    for (int i = 0; i < 6; i++) {
        char *b;
        int st = http(a->port, "POST", a->path, a->body, &b);
        if (st != 200 || !b || strcmp(b, a->want)) a->bad++;
        free(b);
    }
    return NULL;
}

/* 6 clients x 6 requests of path body at once: every answer as the lone one's (the batcher runs them in turn). */
static void task_concurrent(int port, const char *path, const char *body) {
    char *want;
    int st = http(port, "POST", path, body, &want);
    CHECK(st == 200, "%s lone request: %d", path, st);
    pthread_t th[6];
    task_client a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (task_client){port, 0, path, body, want ? want : ""};
        pthread_create(&th[i], NULL, task_client_main, &a[i]);
    }
    int bad = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        bad += a[i].bad;
    }
    CHECK(bad == 0, "%s: %d concurrent answers differ from the lone one", path, bad);
    free(want);
}

#define NER_T1 "John Smith lives in New York and works for Acme Corporation."
#define NER_T2 "Angela Merkel visited Paris."

static void t_ner_route(void) {
    static const char *const models[] = {"tiny-ner-bert", "tiny-ner-roberta", "tiny-ner-distilbert"};
    for (int mi = 0; mi < 3; mi++) {
        char args[256], cmd[1024];
        snprintf(args, sizeof args, "--model " TD "%s", models[mi]);
        srv s;
        if (!srv_start(&s, args)) {
            CHECK(0, "server did not start on %s", models[mi]);
            continue;
        }
        snprintf(cmd, sizeof cmd, "@ ner --model " TD "%s '" NER_T1 "'", models[mi]);
        same_as_cli(s.port, "/ner", "{\"inputs\": \"" NER_T1 "\"}", cmd, false);
        same_as_cli(s.port, "/", "{\"inputs\": \"" NER_T1 "\"}", cmd, false); /* POST / on a token classifier */
        snprintf(cmd, sizeof cmd, "@ ner --aggregation simple --model " TD "%s '" NER_T1 "' '" NER_T2 "'", models[mi]);
        same_as_cli(s.port, "/token-classification",
                    "{\"inputs\": [\"" NER_T1 "\", \"" NER_T2 "\"], \"parameters\": {\"aggregation_strategy\": \"simple\"}}",
                    cmd, true);
        if (mi > 0) {
            CHECK(srv_stop(&s) == 0, "%s stopped (exit 0)", models[mi]);
            continue;
        }
        /* the parameters at the top level too; every strategy; ignore_labels */
        static const char *const aggs[] = {"none", "first", "average", "max"};
        for (int k = 0; k < 4; k++) {
            char body[512];
            snprintf(body, sizeof body, "{\"inputs\": \"" NER_T1 "\", \"aggregation_strategy\": \"%s\", \"ignore_labels\": []}",
                     aggs[k]);
            snprintf(cmd, sizeof cmd, "@ ner --aggregation %s --ignore-labels '' --model " TD "%s '" NER_T1 "'", aggs[k],
                     models[mi]);
            same_as_cli(s.port, "/ner", body, cmd, false);
        }
        snprintf(cmd, sizeof cmd, "@ ner --aggregation first --ignore-labels O,MISC --model " TD "%s '" NER_T2 "'",
                 models[mi]);
        same_as_cli(s.port, "/ner",
                    "{\"inputs\": [\"" NER_T2 "\"], \"parameters\": {\"aggregation_strategy\": \"FIRST\", \"ignore_labels\": "
                    "[\"O\", \"MISC\"]}}",
                    cmd, true);
        /* truncation: over the 512 tokens, 413 unless truncate (then as the CLI, which truncates) */
        size_t cap = 16 * 1024;
        char *big = malloc(cap);
        size_t o = (size_t)snprintf(big, cap, "{\"inputs\": \"");
        for (int k = 0; k < 700; k++) o += (size_t)snprintf(big + o, cap - o, "word ");
        snprintf(big + o, cap - o, "\"}");
        error_is(s.port, "/ner", big, 413, "Validation", "must have less than 512 tokens");
        snprintf(big + o, cap - o, "\", \"parameters\": {\"truncate\": true}}");
        char *b;
        int st = http(s.port, "POST", "/ner", big, &b);
        json_t *j = b ? json_loads(b, 0, NULL) : NULL;
        CHECK(st == 200 && json_is_array(j), "truncated ner: %d", st);
        json_decref(j);
        free(b);
        free(big);
        /* errors */
        error_is(s.port, "/ner", "{\"inputs\": \"x\", \"parameters\": {\"aggregation_strategy\": \"longest\"}}", 422,
                 "Validation", "aggregation_strategy");
        error_is(s.port, "/ner", "{\"inputs\": \"x\", \"aggregation_strategy\": 1}", 422, "Validation", "aggregation_strategy");
        error_is(s.port, "/ner", "{\"inputs\": \"x\", \"ignore_labels\": \"O\"}", 422, "Validation", "ignore_labels");
        error_is(s.port, "/ner", "{\"inputs\": \"x\", \"ignore_labels\": [\"O\", 3]}", 422, "Validation", "ignore_labels");
        error_is(s.port, "/ner", "{\"inputs\": \"x\", \"parameters\": [1]}", 422, "Validation", "`parameters`");
        error_is(s.port, "/ner", "{\"inputs\": \"x\", \"truncate\": \"yes\"}", 422, "Validation", "`truncate`");
        error_is(s.port, "/ner", "{\"inputs\": []}", 400, "Empty", NULL);
        error_is(s.port, "/ner", "{\"inputs\": 3}", 422, "Validation", NULL);
        error_is(s.port, "/ner", "{\"inputs\": [\"a\", 3]}", 422, "Validation", NULL);
        error_is(s.port, "/ner", "{\"text\": \"a\"}", 422, "Validation", "inputs");
        error_is(s.port, "/ner", "{\"inputs\": \"a\\ud800\"}", 400, "Validation", "malformed JSON");
        error_is(s.port, "/ner", "{\"inputs\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\","
                 "\"14\",\"15\",\"16\",\"17\",\"18\",\"19\",\"20\",\"21\",\"22\",\"23\",\"24\",\"25\",\"26\",\"27\",\"28\",\"29\",\"30\","
                 "\"31\",\"32\",\"33\"]}", 413, "Validation", "batch size");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\"}", 424, "Backend", "question-answering head");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\"}", 424, "Backend", "masked-lm head");
        error_is(s.port, "/predict", "{\"inputs\": \"x\"}", 424, "Backend", "use /ner");
        char *b2;
        st = http(s.port, "GET", "/ner", NULL, &b2);
        CHECK(st == 405, "GET /ner: %d", st);
        free(b2);
        task_concurrent(s.port, "/ner", "{\"inputs\": [\"" NER_T1 "\", \"" NER_T2 "\"], \"aggregation_strategy\": \"average\"}");
        CHECK(metrics_have(s.port, "bertc_requests_total{route=\"/ner\",status=\"200\"}") &&
                  metrics_have(s.port, "bertc_requests_total{route=\"/ner\",status=\"422\"}") &&
                  metrics_have(s.port, "bertc_request_duration_seconds_count{route=\"/fill-mask\"}"),
              "/metrics counts the new routes");
        st = http(s.port, "GET", "/health", NULL, &b2);
        CHECK(st == 200, "health on a token classifier: %d", st);
        free(b2);
        CHECK(srv_stop(&s) == 0, "stopped");
    }
}

#define QA_C "John Smith lives in New York. He works at Acme Corporation as an engineer since 2010."
#define QA_Q1 "Where does John live?"
#define QA_Q2 "What is his job?"

static void t_qa_route(void) {
    static const char *const models[] = {"tiny-qa-bert", "tiny-qa-roberta", "tiny-qa-distilbert"};
    for (int mi = 0; mi < 3; mi++) {
        char args[256], cmd[1024];
        snprintf(args, sizeof args, "--model " TD "%s", models[mi]);
        srv s;
        if (!srv_start(&s, args)) {
            CHECK(0, "server did not start on %s", models[mi]);
            continue;
        }
        if (mi == 0) { /* /info names the head and its route */
            char *ib = NULL;
            int ist = http(s.port, "GET", "/info", NULL, &ib);
            CHECK(ist == 200 && ib && strstr(ib, "\"model_head\":\"question-answering\"") && strstr(ib, "\"task_route\":\"/qa\""),
                  "/info: %d %s", ist, ib ? ib : "");
            free(ib);
        }
        snprintf(cmd, sizeof cmd, "@ qa --model " TD "%s --context '" QA_C "' '" QA_Q1 "'", models[mi]);
        same_as_cli(s.port, "/qa", "{\"question\": \"" QA_Q1 "\", \"context\": \"" QA_C "\"}", cmd, false);
        same_as_cli(s.port, "/", "{\"inputs\": {\"question\": \"" QA_Q1 "\", \"context\": \"" QA_C "\"}}", cmd, false);
        snprintf(cmd, sizeof cmd, "@ qa --top-k 3 --model " TD "%s --context '" QA_C "' '" QA_Q1 "' '" QA_Q2 "'", models[mi]);
        same_as_cli(s.port, "/question-answering",
                    "{\"inputs\": [{\"question\": \"" QA_Q1 "\", \"context\": \"" QA_C "\"}, {\"question\": \"" QA_Q2
                    "\", \"context\": \"" QA_C "\"}], \"parameters\": {\"top_k\": 3}}",
                    cmd, true);
        if (mi > 0) {
            CHECK(srv_stop(&s) == 0, "%s stopped (exit 0)", models[mi]);
            continue;
        }
        snprintf(cmd, sizeof cmd, "@ qa --top-k 2 --handle-impossible-answer --no-align-to-words --max-answer-len 4 "
                 "--model " TD "%s --context '" QA_C "' '" QA_Q2 "'", models[mi]);
        same_as_cli(s.port, "/qa",
                    "{\"inputs\": {\"question\": \"" QA_Q2 "\", \"context\": \"" QA_C "\"}, \"parameters\": {\"top_k\": 2, "
                    "\"handle_impossible_answer\": true, \"align_to_words\": false, \"max_answer_len\": 4}}",
                    cmd, false);
        /* windows: a short max_seq_len with a stride (top-level parameters) */
        snprintf(cmd, sizeof cmd, "@ qa --max-seq-len 24 --doc-stride 6 --max-question-len 8 --top-k 4 --model " TD
                 "%s --context '" QA_C " " QA_C "' '" QA_Q1 "'", models[mi]);
        same_as_cli(s.port, "/qa",
                    "{\"question\": \"" QA_Q1 "\", \"context\": \"" QA_C " " QA_C "\", \"max_seq_len\": 24, \"doc_stride\": 6, "
                    "\"max_question_len\": 8, \"top_k\": 4}",
                    cmd, false);
        /* the token budget counts every window: 3000 one-token words are 3000 tokens alone, 1500 windows of 16 at
           max_seq_len 16 and doc_stride 10 (over --max-batch-tokens 16384) */
        size_t cap = 32 * 1024;
        char *big = malloc(cap);
        size_t o = (size_t)snprintf(big, cap, "{\"question\": \"a\", \"context\": \"");
        for (int k = 0; k < 3000; k++) o += (size_t)snprintf(big + o, cap - o, "a ");
        snprintf(big + o, cap - o, "\"}");
        char *b;
        int st = http(s.port, "POST", "/qa", big, &b);
        CHECK(st == 200, "long context: %d %.200s", st, b);
        free(b);
        snprintf(big + o, cap - o, "\", \"max_seq_len\": 16, \"doc_stride\": 10}");
        error_is(s.port, "/qa", big, 413, "Validation", "max-batch-tokens");
        free(big);
        /* errors */
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\", \"top_k\": 0}", 422, "Validation", "`top_k`");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\", \"parameters\": {\"top_k\": \"3\"}}", 422,
                 "Validation", "`top_k`");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\", \"handle_impossible_answer\": 1}", 422,
                 "Validation", "handle_impossible_answer");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\", \"align_to_words\": \"no\"}", 422, "Validation",
                 "align_to_words");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\", \"max_seq_len\": 4096}", 422, "Validation",
                 "max_seq_len");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"" QA_C "\", \"max_seq_len\": 12, \"doc_stride\": 11}",
                 422, "Validation", "doc_stride");
        error_is(s.port, "/qa", "{\"question\": \"q\"}", 422, "Validation", "context");
        error_is(s.port, "/qa", "{\"inputs\": {\"question\": \"q\", \"context\": 3}}", 422, "Validation", "context");
        error_is(s.port, "/qa", "{\"inputs\": \"q\"}", 422, "Validation", "inputs");
        error_is(s.port, "/qa", "{\"inputs\": [{\"question\": \"q\", \"context\": \"c\"}, 3]}", 422, "Validation", NULL);
        error_is(s.port, "/qa", "{\"inputs\": []}", 400, "Empty", NULL);
        error_is(s.port, "/qa", "{\"question\": \"\", \"context\": \"c\"}", 400, "Empty", "`question` cannot be empty");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"\"}", 400, "Empty", "`context` cannot be empty");
        error_is(s.port, "/qa", "{}", 422, "Validation", "inputs");
        error_is(s.port, "/ner", "{\"inputs\": \"x\"}", 424, "Backend", "token-classification head");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"x\"}", 424, "Backend", "use /qa");
        task_concurrent(s.port, "/qa", "{\"question\": \"" QA_Q2 "\", \"context\": \"" QA_C "\", \"top_k\": 2}");
        CHECK(metrics_have(s.port, "bertc_requests_total{route=\"/qa\",status=\"200\"}") &&
                  metrics_have(s.port, "bertc_requests_total{route=\"/qa\",status=\"413\"}"),
              "/metrics counts /qa");
        CHECK(srv_stop(&s) == 0, "stopped");
    }
}

static void t_fill_mask_route(void) {
    static const char *const models[] = {"tiny-mlm-bert", "tiny-mlm-roberta", "tiny-mlm-distilbert"};
    static const char *const masks[] = {"[MASK]", "<mask>", "[MASK]"};
    for (int mi = 0; mi < 3; mi++) {
        char args[256], cmd[1024], body[1024], t1[128], t2[128];
        snprintf(args, sizeof args, "--model " TD "%s", models[mi]);
        snprintf(t1, sizeof t1, "Paris is the %s of France.", masks[mi]);
        snprintf(t2, sizeof t2, "The %s sat on the %s.", masks[mi], masks[mi]);
        srv s;
        if (!srv_start(&s, args)) {
            CHECK(0, "server did not start on %s", models[mi]);
            continue;
        }
        snprintf(cmd, sizeof cmd, "@ fill-mask --model " TD "%s '%s'", models[mi], t1);
        snprintf(body, sizeof body, "{\"inputs\": \"%s\"}", t1);
        same_as_cli(s.port, "/fill-mask", body, cmd, false);
        same_as_cli(s.port, "/", body, cmd, false);
        snprintf(cmd, sizeof cmd, "@ fill-mask --top-k 3 --model " TD "%s '%s' '%s'", models[mi], t1, t2);
        snprintf(body, sizeof body, "{\"inputs\": [\"%s\", \"%s\"], \"parameters\": {\"top_k\": 3}}", t1, t2);
        same_as_cli(s.port, "/fill-mask", body, cmd, true);
        snprintf(cmd, sizeof cmd, "@ fill-mask --targets 'capital,city,town' --model " TD "%s '%s'", models[mi], t1);
        snprintf(body, sizeof body, "{\"inputs\": \"%s\", \"targets\": [\"capital\", \"city\", \"town\"]}", t1);
        same_as_cli(s.port, "/fill-mask", body, cmd, false);
        if (mi > 0) {
            CHECK(srv_stop(&s) == 0, "%s stopped (exit 0)", models[mi]);
            continue;
        }
        snprintf(cmd, sizeof cmd, "@ fill-mask --targets capital --top-k 2 --model " TD "%s '%s'", models[mi], t2);
        snprintf(body, sizeof body, "{\"inputs\": \"%s\", \"parameters\": {\"targets\": \"capital\", \"top_k\": 2}}", t2);
        same_as_cli(s.port, "/fill-mask", body, cmd, false);
        /* errors */
        error_is(s.port, "/fill-mask", "{\"inputs\": \"no mask here\"}", 422, "Validation", "no mask token");
        error_is(s.port, "/fill-mask", "{\"inputs\": [\"[MASK] one\", \"none\"]}", 422, "Validation", "input 1: no mask");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\", \"top_k\": 0}", 422, "Validation", "`top_k`");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\", \"top_k\": 2.5}", 422, "Validation", "`top_k`");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\", \"targets\": 5}", 422, "Validation", "targets");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\", \"targets\": []}", 422, "Validation", "target");
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\", \"truncation_direction\": \"up\"}", 422, "Validation",
                 "truncation_direction");
        error_is(s.port, "/fill-mask", "{\"inputs\": []}", 400, "Empty", NULL);
        error_is(s.port, "/fill-mask", "{\"inputs\": \"[MASK]\"", 400, "Validation", "malformed JSON");
        error_is(s.port, "/ner", "{\"inputs\": \"x\"}", 424, "Backend", "masked-lm head (use /fill-mask)");
        error_is(s.port, "/qa", "{\"question\": \"q\", \"context\": \"c\"}", 424, "Backend", NULL);
        snprintf(body, sizeof body, "{\"inputs\": [\"%s\", \"%s\"]}", t1, t2);
        task_concurrent(s.port, "/fill-mask", body);
        CHECK(metrics_have(s.port, "bertc_requests_total{route=\"/fill-mask\",status=\"200\"}") &&
                  metrics_have(s.port, "bertc_requests_total{route=\"/fill-mask\",status=\"422\"}"),
              "/metrics counts /fill-mask");
        CHECK(srv_stop(&s) == 0, "stopped");
    }
}

/* bertc serve on each new family's tiny classifier: /predict gives transformers' label and score for its fixture's
 * texts (ref.jsonl rows 10-19: words, punctuation, odd Unicode), /embed a [T, hidden] or pooled row per input */
static void t_families(void) {
    static const char *models[] = {"tiny-mpnet", "tiny-electra", "tiny-deberta", "tiny-modernbert"};
    for (size_t mi = 0; mi < sizeof models / sizeof *models; mi++) {
        char path[256], args[320];
        snprintf(path, sizeof path, "tests/data/%s.ref.jsonl", models[mi]);
        FILE *f = fopen(path, "r");
        CHECK(f, "open %s", path);
        if (!f) continue;
        json_t *rows = json_array();
        char line[65536];
        while (fgets(line, sizeof line, f)) {
            json_t *r = json_loads(line, JSON_ALLOW_NUL, NULL); /* row 17 holds a NUL */
            json_int_t i = json_integer_value(json_object_get(r, "i"));
            if (r && i >= 10 && i < 20) json_array_append(rows, r);
            json_decref(r);
        }
        fclose(f);
        CHECK(json_array_size(rows) == 10, "%s: %zu rows read", models[mi], json_array_size(rows));
        snprintf(args, sizeof args, "--model tests/data/%s --threads 1", models[mi]);
        srv s;
        if (!srv_start(&s, args)) {
            CHECK(0, "%s: server did not start", models[mi]);
            json_decref(rows);
            continue;
        }
        size_t checked = 0;
        for (size_t k = 0; k < json_array_size(rows); k++) {
            const json_t *r = json_array_get(rows, k);
            json_t *req = json_pack("{sO}", "inputs", json_object_get(r, "text"));
            char *body = json_dumps(req, JSON_COMPACT);
            char *out = NULL;
            int code = http(s.port, "POST", "/predict", body, &out);
            if (strstr(body, "\\u0000")) { /* the server refuses a NUL in a text by name (400), never truncates */
                CHECK(code == 400 && out && strstr(out, "\\u0000"), "%s NUL row: %d %s", models[mi], code, out ? out : "");
                checked++;
                free(out);
                free(body);
                json_decref(req);
                continue;
            }
            json_t *res = out ? json_loads(out, 0, NULL) : NULL;
            const json_t *top = json_array_get(res, 0);
            double want = json_number_value(json_object_get(r, "score"));
            CHECK(code == 200 && top && !strcmp(json_string_value(json_object_get(top, "label")) ? json_string_value(json_object_get(top, "label")) : "",
                                                 json_string_value(json_object_get(r, "label"))) &&
                      fabs(json_number_value(json_object_get(top, "score")) - want) <= 1e-5,
                  "%s /predict row %zu: %d %s (want %s %.7f)", models[mi], k, code, out ? out : "",
                  json_string_value(json_object_get(r, "label")), want);
            checked += code == 200;
            json_decref(res);
            free(out);
            out = NULL;
            code = http(s.port, "POST", "/embed", body, &out);
            CHECK(code == 200 && out && out[0] == '[' && out[1] == '[', "%s /embed: %d %s", models[mi], code, out ? out : "");
            free(out);
            free(body);
            json_decref(req);
        }
        CHECK(checked == 10, "%s: %zu rows checked", models[mi], checked);
        CHECK(srv_stop(&s) == 0, "%s: server exit", models[mi]);
        json_decref(rows);
    }
}

/* The access log: a line per request on stderr (time, method, route, status, inputs, tokens, ms), text or JSON. */
static void t_access_log(void) {
    const char *fmts[2] = {"text", "json"};
    for (int k = 0; k < 2; k++) {
        srv s;
        char args[128];
        snprintf(args, sizeof args, "--model models/sst2-small --threads 1 --log-format %s", fmts[k]);
        if (!srv_start(&s, args)) {
            CHECK(0, "server did not start");
            return;
        }
        char *b = NULL;
        int st = http(s.port, "POST", "/predict", "{\"inputs\": [[\"a fine film\"], [\"bad\"]]}", &b);
        free(b);
        st += http(s.port, "GET", "/nope", NULL, &b);
        free(b);
        srv_stop(&s);
        char path[64], *log = NULL;
        snprintf(path, sizeof path, "build/t-serve-%d.err", (int)getpid());
        bertc_error err;
        CHECK(st == 200 + 404 && !read_file(path, &log, NULL, &err), "requests and the log");
        if (!log) continue;
        if (k == 0)
            CHECK(strstr(log, "Z POST /predict 200 inputs=2 tokens=8 ") && strstr(log, " ms\n") &&
                      strstr(log, "Z GET /nope 404 inputs=0 tokens=0 "),
                  "text log: %s", log);
        else
            CHECK(strstr(log, "\"method\":\"POST\",\"route\":\"/predict\",\"status\":200,\"inputs\":2,\"tokens\":8,") &&
                      strstr(log, "\"method\":\"GET\",\"route\":\"/nope\",\"status\":404"),
                  "json log: %s", log);
        free(log);
    }
}

void tests_serve(void) {
    run_test("serve/routes_and_errors", t_routes);
    run_test("serve/concurrency_and_faults", t_concurrency_limits);
    run_test("serve/base_model_and_sigterm", t_base_model_and_sigterm);
    run_test("serve/ipv6", t_ipv6);
    run_test("serve/families (MPNet, ELECTRA, DeBERTa, ModernBERT)", t_families);
    run_test("serve/tei_routes", t_tei_routes);
    run_test("serve/real_clients", t_real_clients);
    run_test("serve/ner", t_ner_route);
    run_test("serve/qa", t_qa_route);
    run_test("serve/fill_mask", t_fill_mask_route);
    run_test("serve/access_log", t_access_log);
}
