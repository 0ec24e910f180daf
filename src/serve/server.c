/*
 * server.c — TEI's API over a bertc model: parsing and validating requests, the batching queue, responses,
 * and the Prometheus metrics. See server.h.
 */
#include "server.h"

#include "../internal.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    R_PREDICT, R_EMBED, R_TOKENIZE, R_ROOT, R_RERANK, R_SIMILARITY, R_EMBED_ALL, R_DECODE, R_OPENAI, /* POST */
    R_INFO, R_HEALTH, R_METRICS, R_OPENAPI, R_DOCS,                                                 /* GET */
    R_OTHER, N_ROUTES
};
#define LAST_POST R_OPENAI
static const char *const route_names[N_ROUTES] = {"/predict", "/embed", "/tokenize", "/", "/rerank", "/similarity",
                                                  "/embed_all", "/decode", "/v1/embeddings", "/info", "/health",
                                                  "/metrics", "/openapi.json", "/docs", "other"};

enum { K_PREDICT, K_EMBED, K_EMBED_ALL };

typedef struct job {
    int kind;
    int raw, normalize, left;
    const char *prompt_name; /* sentence-transformers prompt (NULL: the folder's default) */
    size_t n;
    bertc_text *in;
    long tokens;
    /* results */
    bertc_classification *cls;
    bertc_embedding *emb;
    bertc_status st;
    char err[512];
    int done;
    struct job *next;
} job;

#define N_LAT 14
static const double lat_bounds[N_LAT - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BS 10
static const double bs_bounds[N_BS - 1] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

typedef struct status_count {
    int route, status;
    unsigned long count;
} status_count;

struct server {
    bertc_model *m;
    const bertc_tokenizer *tok;
    bertc_model_info info;
    server_config cfg;
    char *model_id;
    int max_input;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t batcher;
    job *head, *tail;
    int queued, running, in_flight, stopping, draining, failed;
    /* metrics */
    status_count counts[64];
    int n_counts;
    unsigned long lat[N_ROUTES][N_LAT];
    double lat_sum[N_ROUTES];
    unsigned long bs_hist[N_BS], batches;
    double bs_sum;
    unsigned long tokens_total, inputs_total;
};

server_config server_default_config(void) {
    server_config c = {NULL, 16384, 512, 32, 0, 2000000, BERTC_POOL_DEFAULT};
    return c;
}

/* ---- the batcher ---- */

static void job_free_results(job *j) {
    if (j->cls) bertc_classification_free(j->cls, j->n);
    if (j->emb) bertc_embedding_free(j->emb, j->n);
    free(j->cls);
    free(j->emb);
    j->cls = NULL;
    j->emb = NULL;
}

static bool compatible(const job *a, const job *b) {
    return a->kind == b->kind && a->raw == b->raw && a->left == b->left &&
           (a->prompt_name == b->prompt_name || (a->prompt_name && b->prompt_name && !strcmp(a->prompt_name, b->prompt_name)));
}

/* Runs one batch of compatible jobs as one library call; results are split back per job. */
static void run_batch(server *s, job **jobs, int nj) {
    size_t n = 0;
    for (int k = 0; k < nj; k++) n += jobs[k]->n;
    bertc_text *in = malloc(n * sizeof *in);
    bertc_classification *cls = NULL;
    bertc_embedding *emb = NULL;
    bertc_error err;
    bertc_status st = BERTC_OK;
    if (!in) st = bertc_fail(&err, BERTC_ERR_NOMEM, "out of memory");
    size_t o = 0;
    for (int k = 0; in && k < nj; k++) {
        memcpy(in + o, jobs[k]->in, jobs[k]->n * sizeof *in);
        o += jobs[k]->n;
    }
    bertc_encode_params ep = bertc_encode_default_params();
    ep.truncation = 1; /* lengths were checked when the request came in */
    ep.truncate_left = jobs[0]->left;
    if (!st && jobs[0]->kind == K_PREDICT) {
        cls = calloc(n, sizeof *cls);
        bertc_classify_params cp = bertc_classify_default_params();
        cp.encode = ep;
        cp.function = jobs[0]->raw ? BERTC_FUNCTION_NONE : BERTC_FUNCTION_DEFAULT;
        cp.batch_size = 64;
        st = cls ? bertc_classify(s->m, in, n, &cp, cls, &err) : bertc_fail(&err, BERTC_ERR_NOMEM, "out of memory");
        if (st) free(cls), cls = NULL;
    } else if (!st) {
        emb = calloc(n, sizeof *emb);
        bertc_embed_params xp = bertc_embed_default_params();
        xp.encode = ep;
        xp.pooling = jobs[0]->kind == K_EMBED_ALL ? BERTC_POOL_NONE : s->cfg.pooling;
        xp.normalize = 0; /* per request, below */
        xp.prompt_name = jobs[0]->prompt_name;
        st = emb ? bertc_embed_ex(s->m, in, n, &xp, emb, &err) : bertc_fail(&err, BERTC_ERR_NOMEM, "out of memory");
        if (st) free(emb), emb = NULL;
    }
    free(in);
    o = 0;
    for (int k = 0; k < nj; k++) {
        job *j = jobs[k];
        j->st = st;
        if (st) {
            snprintf(j->err, sizeof j->err, "%s", err.message);
            continue;
        }
        if (cls) {
            j->cls = malloc(j->n * sizeof *j->cls);
            if (j->cls) memcpy(j->cls, cls + o, j->n * sizeof *cls);
        } else {
            j->emb = malloc(j->n * sizeof *j->emb);
            if (j->emb) memcpy(j->emb, emb + o, j->n * sizeof *emb);
        }
        if ((cls && !j->cls) || (emb && !j->emb)) { /* OOM: free this job's share here */
            if (cls) bertc_classification_free(cls + o, j->n);
            if (emb) bertc_embedding_free(emb + o, j->n);
            j->st = BERTC_ERR_NOMEM;
            snprintf(j->err, sizeof j->err, "out of memory");
        }
        o += j->n;
    }
    free(cls);
    free(emb);
}

static void *batcher_main(void *arg) {
    server *s = arg;
    job *batch[1024];
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping) pthread_cond_wait(&s->cv_work, &s->mu);
        if (!s->head) break;
        int nj = 0;
        long tokens = 0;
        job *first = s->head;
        while (s->head && nj < 1024 && compatible(first, s->head) &&
               (nj == 0 || tokens + s->head->tokens <= s->cfg.max_batch_tokens)) {
            job *j = s->head;
            s->head = j->next;
            if (!s->head) s->tail = NULL;
            tokens += j->tokens;
            batch[nj++] = j;
        }
        s->queued -= nj;
        s->running += nj;
        pthread_mutex_unlock(&s->mu);
        run_batch(s, batch, nj);
        pthread_mutex_lock(&s->mu);
        size_t inputs = 0;
        for (int k = 0; k < nj; k++) {
            batch[k]->done = 1;
            inputs += batch[k]->n;
            if (batch[k]->st == BERTC_ERR_NOMEM) s->failed = 1;
        }
        s->running -= nj;
        s->batches++;
        s->bs_sum += (double)inputs;
        int b = 0;
        while (b < N_BS - 1 && (double)inputs > bs_bounds[b]) b++;
        s->bs_hist[b]++;
        s->tokens_total += (unsigned long)tokens;
        s->inputs_total += inputs;
        pthread_cond_broadcast(&s->cv_done);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

server *server_new(bertc_model *m, const server_config *c, bertc_error *err) {
    server *s = calloc(1, sizeof *s);
    if (!s) {
        bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->m = m;
    s->tok = bertc_model_tokenizer(m);
    bertc_model_get_info(m, &s->info);
    s->cfg = c ? *c : server_default_config();
    /* /embed pools as the folder says (sentence-transformers' 1_Pooling), else by the mean, as TEI does */
    if (s->cfg.pooling == BERTC_POOL_DEFAULT && !bertc_model_st_config(m)->present) s->cfg.pooling = BERTC_POOL_MEAN;
    if (s->cfg.pooling == BERTC_POOL_NONE) s->cfg.pooling = BERTC_POOL_MEAN;
    s->model_id = strdup(s->cfg.model_id ? s->cfg.model_id : s->info.source);
    s->cfg.model_id = s->model_id;
    s->max_input = s->info.max_length;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_cond_init(&s->cv_done, NULL);
    if (!s->model_id || pthread_create(&s->batcher, NULL, batcher_main, s)) {
        bertc_fail(err, BERTC_ERR_NOMEM, "cannot start the batcher thread");
        free(s->model_id);
        free(s);
        return NULL;
    }
    return s;
}

int server_in_flight(server *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void server_drain(server *s) {
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
}

void server_free(server *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->batcher, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_done);
    bertc_model_free(s->m);
    free(s->model_id);
    free(s);
}

/* ---- responses ---- */

typedef struct reply {
    int status;
    char *body;
    const char *type;
    int openai; /* errors in OpenAI's shape as well */
    int nest;   /* POST /: a single input's predictions as [[...]], the Inference API's shape the clients read */
} reply;

static void reply_json(reply *r, int status, json_t *j) {
    r->status = status;
    r->type = "application/json";
    r->body = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    if (!r->body && status >= 400) /* a message that was not valid UTF-8 (from the URL): a generic one */
        r->body = strdup("{\"error\":\"invalid request\",\"error_type\":\"Validation\"}");
}

static void reply_error(reply *r, int status, const char *type, const char *fmt, ...) BERTC_PRINTF(4, 5);
static void reply_error(reply *r, int status, const char *type, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s,s:s}", "error", msg, "error_type", type);
    if (r->openai) { /* what the openai client reads (and TEI's OpenAI route answers): message, code, type */
        json_object_set_new(j, "message", json_string(msg));
        json_object_set_new(j, "code", json_integer(status));
        json_object_set_new(j, "type", json_string(type));
    }
    reply_json(r, status, j);
}

/* ---- request parsing ---- */

typedef struct input_list {
    bertc_text *in;
    size_t n;
    int single; /* the request gave one input (not a batch): the response is not wrapped in a list */
} input_list;

static bool add_input(input_list *l, size_t cap, json_t *a, json_t *b) {
    if (l->n == cap) return false;
    l->in[l->n].text = json_string_value(a);
    l->in[l->n].len = json_string_length(a);
    l->in[l->n].pair = b ? json_string_value(b) : NULL;
    l->in[l->n].pair_len = b ? json_string_length(b) : 0;
    l->n++;
    return true;
}

/* /predict inputs: "a" | ["a"] | ["a", "b"] | [["a"], ["a", "b"], ...]; NULL reason on success. */
static const char *parse_predict_inputs(json_t *v, input_list *l, size_t cap) {
    if (json_is_string(v)) {
        l->single = 1;
        add_input(l, cap, v, NULL);
        return NULL;
    }
    if (!json_is_array(v)) return "`inputs` must be a string, a pair of strings or a batch [[string], [string, string], ...]";
    size_t n = json_array_size(v);
    if (n == 0) return "";
    json_t *first = json_array_get(v, 0);
    if (json_is_string(first)) {
        if (n > 2) return "a sequence is one string or a pair of two strings";
        json_t *second = json_array_get(v, 1);
        if (second && !json_is_string(second)) return "a pair must be two strings";
        l->single = 1;
        add_input(l, cap, first, second);
        return NULL;
    }
    if (n > cap) return "batch";
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        size_t k = json_array_size(s);
        if (!json_is_array(s) || k < 1 || k > 2 || !json_is_string(json_array_get(s, 0)) ||
            (k == 2 && !json_is_string(json_array_get(s, 1))))
            return "each batch item must be [string] or [string, string]";
        add_input(l, cap, json_array_get(s, 0), k == 2 ? json_array_get(s, 1) : NULL);
    }
    return NULL;
}

/* /embed and /tokenize inputs: "a" | ["a", "b", ...]. */
static const char *parse_list_inputs(json_t *v, input_list *l, size_t cap) {
    if (json_is_string(v)) {
        l->single = 1;
        add_input(l, cap, v, NULL);
        return NULL;
    }
    if (!json_is_array(v)) return "`inputs` must be a string or a list of strings";
    if (json_array_size(v) == 0) return "";
    if (json_array_size(v) > cap) return "batch";
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s)) return "`inputs` must be a string or a list of strings";
        add_input(l, cap, s, NULL);
    }
    return NULL;
}

static bool get_bool(json_t *o, const char *key, int def, int *out, const char **bad) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) *out = def;
    else if (json_is_boolean(v)) *out = json_is_true(v);
    else {
        *bad = key;
        return false;
    }
    return true;
}

/* Tokenizes each input to check its length (and count tokens for the batch budget). */
static bool validate_lengths(server *s, input_list *l, int truncate, int left, long *tokens, reply *r) {
    *tokens = 0;
    for (size_t i = 0; i < l->n; i++) {
        bertc_encode_params ep = bertc_encode_default_params();
        ep.truncation = truncate;
        ep.truncate_left = left;
        bertc_encoding e;
        bertc_error err;
        bertc_status st = bertc_tokenize(s->tok, l->in[i].text, l->in[i].len, l->in[i].pair, l->in[i].pair_len, &ep, &e,
                                         &err);
        if (st == BERTC_ERR_INPUT && !truncate && strstr(err.message, "longer than the maximum")) {
            /* TEI: "Input validation error: `inputs` must have less than 512 tokens. Given: 600" */
            ep.truncation = 1;
            ep.max_length = 1 << 30;
            size_t given = 0;
            if (!bertc_tokenize(s->tok, l->in[i].text, l->in[i].len, l->in[i].pair, l->in[i].pair_len, &ep, &e, &err)) {
                given = e.n;
                bertc_encoding_free(&e);
            }
            reply_error(r, 413, "Validation", "Input validation error: `inputs` must have less than %d tokens. Given: %zu",
                        s->max_input, given);
            return false;
        }
        if (st) {
            reply_error(r, 422, "Tokenizer", "Tokenization error: %s", err.message);
            return false;
        }
        *tokens += (long)e.n;
        bertc_encoding_free(&e);
    }
    if (*tokens > s->cfg.max_batch_tokens) {
        reply_error(r, 413, "Validation",
                    "Input validation error: the request has %ld tokens, more than --max-batch-tokens %d", *tokens,
                    s->cfg.max_batch_tokens);
        return false;
    }
    return true;
}

/* Queues a job and waits for the batcher. false (with the reply set) when the queue is full or work failed. */
static bool submit(server *s, job *j, reply *r) {
    pthread_mutex_lock(&s->mu);
    if (s->draining || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        reply_error(r, 503, "Unhealthy", "the server is shutting down");
        return false;
    }
    if (s->queued + s->running >= s->cfg.max_concurrent) {
        pthread_mutex_unlock(&s->mu);
        reply_error(r, 429, "Overloaded", "Model is overloaded: %d requests queued or running (--max-concurrent-requests)",
                    s->cfg.max_concurrent);
        return false;
    }
    j->next = NULL;
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->queued++;
    pthread_cond_signal(&s->cv_work);
    while (!j->done) pthread_cond_wait(&s->cv_done, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (j->st) {
        reply_error(r, 424, "Backend", "Inference failed: %s", j->err);
        return false;
    }
    return true;
}

static int cmp_pred(const void *a, const void *b) {
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double sx = json_real_value(json_object_get(x, "score")), sy = json_real_value(json_object_get(y, "score"));
    return sx < sy ? 1 : sx > sy ? -1 : 0;
}

static json_t *predictions(server *s, const bertc_classification *c) {
    json_t *items[256], *arr = json_array();
    int L = c->n_labels < 256 ? c->n_labels : 256;
    for (int k = 0; k < L; k++)
        items[k] = json_pack("{s:f,s:s}", "score", (double)c->scores[k], "label", bertc_model_label(s->m, k));
    /* sorted by score, ties in label-id order (qsort is not stable: insertion sort) */
    for (int i = 1; i < L; i++) {
        json_t *v = items[i];
        int j = i - 1;
        while (j >= 0 && cmp_pred(&items[j], &v) > 0) {
            items[j + 1] = items[j];
            j--;
        }
        items[j + 1] = v;
    }
    for (int k = 0; k < L; k++) json_array_append_new(arr, items[k]);
    return arr;
}

/* An embedding L2-normalized (as TEI's normalize: x / |x|) into a JSON array, or base64 of its float32 bytes. */
static json_t *vec_json(const float *v, int n, int normalize, int b64) {
    double ss = 0;
    for (int k = 0; k < n; k++) ss += (double)v[k] * v[k];
    double nr = normalize && ss > 0 ? sqrt(ss) : 1.0;
    if (!b64) {
        json_t *a = json_array();
        for (int k = 0; k < n; k++) json_array_append_new(a, json_real((float)(v[k] / nr)));
        return a;
    }
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t nb = (size_t)n * 4;
    unsigned char *b = malloc(nb ? nb : 1);
    char *o = malloc((nb + 2) / 3 * 4 + 1);
    json_t *res = NULL;
    if (b && o) {
        for (int k = 0; k < n; k++) {
            float f = (float)(v[k] / nr);
            uint32_t u;
            memcpy(&u, &f, 4);
            for (int q = 0; q < 4; q++) b[4 * k + q] = (unsigned char)(u >> (8 * q)); /* little-endian */
        }
        size_t w = 0;
        for (size_t i = 0; i < nb; i += 3) {
            uint32_t x = (uint32_t)b[i] << 16 | (i + 1 < nb ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < nb ? b[i + 2] : 0);
            o[w++] = tab[(x >> 18) & 63];
            o[w++] = tab[(x >> 12) & 63];
            o[w++] = i + 1 < nb ? tab[(x >> 6) & 63] : '=';
            o[w++] = i + 2 < nb ? tab[x & 63] : '=';
        }
        o[w] = 0;
        res = json_string(o);
    }
    free(b);
    free(o);
    return res ? res : json_null();
}

static void handle_infer(server *s, int route, json_t *req, reply *r) {
    json_t *inputs = json_object_get(req, "inputs");
    if (!inputs) {
        reply_error(r, 422, "Validation", "missing field `inputs`");
        return;
    }
    size_t cap = (size_t)s->cfg.max_client_batch;
    input_list l = {calloc(cap ? cap : 1, sizeof(bertc_text)), 0, 0};
    job j;
    memset(&j, 0, sizeof j);
    if (!l.in) {
        reply_error(r, 424, "Backend", "out of memory");
        return;
    }
    const char *why = route == R_PREDICT ? parse_predict_inputs(inputs, &l, cap) : parse_list_inputs(inputs, &l, cap);
    int truncate = 0, raw = 0, normalize = 1, add_special = 1;
    const char *bad = NULL;
    if (why && !*why) reply_error(r, 400, "Empty", "Input validation error: `inputs` cannot be empty");
    else if (why && !strcmp(why, "batch"))
        reply_error(r, 413, "Validation", "Input validation error: batch size %zu > maximum allowed batch size %d",
                    json_array_size(inputs), s->cfg.max_client_batch);
    else if (why) reply_error(r, 422, "Validation", "Input validation error: %s", why);
    else if (!get_bool(req, "truncate", s->cfg.auto_truncate, &truncate, &bad) ||
             !get_bool(req, "raw_scores", 0, &raw, &bad) || !get_bool(req, "normalize", 1, &normalize, &bad) ||
             !get_bool(req, "add_special_tokens", 1, &add_special, &bad))
        reply_error(r, 422, "Validation", "`%s` must be a boolean", bad);
    if (why || bad) goto done;
    if (s->cfg.auto_truncate) truncate = 1;
    /* sentence-transformers prompts and Matryoshka-style dimensions (truncated, then normalized), as TEI takes them */
    json_t *pn = json_object_get(req, "prompt_name"), *dims = json_object_get(req, "dimensions");
    if (pn && !json_is_null(pn)) {
        const bertc_st_config *st = bertc_model_st_config(s->m);
        int found = 0;
        for (int k = 0; json_is_string(pn) && k < st->n_prompts; k++) found |= !strcmp(st->prompt_names[k], json_string_value(pn));
        if (!found) {
            reply_error(r, 422, "Validation", "`prompt_name` %s is not a prompt of this model (config_sentence_transformers.json)",
                        json_is_string(pn) ? json_string_value(pn) : "(not a string)");
            goto done;
        }
        j.prompt_name = json_string_value(pn);
    }
    int dim = 0;
    if (dims && !json_is_null(dims)) {
        if (!json_is_integer(dims) || json_integer_value(dims) < 1 || json_integer_value(dims) > 1 << 20) {
            reply_error(r, 422, "Validation", "`dimensions` must be a positive integer");
            goto done;
        }
        dim = (int)json_integer_value(dims);
    }
    int left = 0;
    json_t *dir = json_object_get(req, "truncation_direction");
    if (dir && !json_is_null(dir)) {
        const char *d = json_string_value(dir);
        if (d && (!strcmp(d, "right") || !strcmp(d, "Right"))) left = 0;
        else if (d && (!strcmp(d, "left") || !strcmp(d, "Left"))) left = 1;
        else {
            reply_error(r, 422, "Validation", "`truncation_direction` must be \"right\" or \"left\"");
            goto done;
        }
    }
    if (route == R_TOKENIZE) {
        json_t *out = json_array();
        for (size_t i = 0; i < l.n; i++) {
            bertc_encode_params ep = bertc_encode_default_params();
            ep.add_special_tokens = add_special;
            ep.truncation = 0;
            ep.max_length = 1 << 30; /* /tokenize shows every token, as TEI does */
            bertc_encoding e;
            bertc_error err;
            if (bertc_tokenize(s->tok, l.in[i].text, l.in[i].len, NULL, 0, &ep, &e, &err)) {
                json_decref(out);
                reply_error(r, 422, "Tokenizer", "Tokenization error: %s", err.message);
                goto done;
            }
            /* code-point offsets to byte offsets, as TEI (Rust tokenizers) reports them */
            size_t nb = l.in[i].len, ncp = 0;
            size_t *byte_at = malloc((nb + 2) * sizeof *byte_at);
            const unsigned char *t = (const unsigned char *)l.in[i].text;
            for (size_t b = 0; byte_at && b <= nb; b++)
                if (b == nb || (t[b] & 0xC0) != 0x80) byte_at[ncp++] = b;
            json_t *toks = json_array();
            for (size_t k = 0; byte_at && k < e.n; k++) {
                const char *piece = bertc_tokenizer_id_to_token(s->tok, e.ids[k]);
                if (e.special[k]) {
                    json_array_append_new(toks, json_pack("{s:i,s:s,s:b,s:n,s:n}", "id", e.ids[k], "text", piece ? piece : "",
                                                          "special", 1, "start", "stop"));
                    continue;
                }
                size_t a = byte_at[(size_t)e.offsets[2 * k] < ncp ? (size_t)e.offsets[2 * k] : ncp - 1];
                size_t z = byte_at[(size_t)e.offsets[2 * k + 1] < ncp ? (size_t)e.offsets[2 * k + 1] : ncp - 1];
                json_array_append_new(toks, json_pack("{s:i,s:s%,s:b,s:I,s:I}", "id", e.ids[k], "text",
                                                      l.in[i].text + a, z - a, "special", 0, "start", (json_int_t)a,
                                                      "stop", (json_int_t)z));
            }
            free(byte_at);
            bertc_encoding_free(&e);
            json_array_append_new(out, toks);
        }
        reply_json(r, 200, out);
        goto done;
    }
    if (route == R_PREDICT && (s->info.problem == BERTC_PROBLEM_NONE || s->info.n_labels < 1)) {
        reply_error(r, 424, "Backend", "`/predict` needs a classification head; %s is a base model (use /embed)",
                    s->model_id);
        goto done;
    }
    long tokens;
    if (!validate_lengths(s, &l, truncate, left, &tokens, r)) goto done;
    j.kind = route == R_PREDICT ? K_PREDICT : K_EMBED;
    j.raw = raw;
    j.normalize = normalize;
    j.left = left;
    j.n = l.n;
    j.in = l.in;
    j.tokens = tokens;
    if (!submit(s, &j, r)) goto done;
    if (route == R_PREDICT) {
        /* POST / (the Inference API the clients speak): parameters.top_k and parameters.function_to_apply */
        json_t *par = json_object_get(req, "parameters");
        json_t *tk = json_object_get(par, "top_k"), *fa = json_object_get(par, "function_to_apply");
        int top_k = r->nest && json_is_integer(tk) && json_integer_value(tk) > 0 ? (int)json_integer_value(tk) : 0;
        const char *fn = r->nest && json_is_string(fa) ? json_string_value(fa) : NULL;
        json_t *out = l.single && !r->nest ? NULL : json_array();
        for (size_t i = 0; i < l.n; i++) {
            bertc_classification *c = &j.cls[i];
            if (fn && (!strcmp(fn, "sigmoid") || !strcmp(fn, "softmax") || !strcmp(fn, "none"))) {
                double mx = c->logits[0], sum = 0;
                for (int k = 1; k < c->n_labels; k++) mx = c->logits[k] > mx ? c->logits[k] : mx;
                for (int k = 0; k < c->n_labels; k++) sum += exp(c->logits[k] - mx);
                for (int k = 0; k < c->n_labels; k++)
                    c->scores[k] = !strcmp(fn, "none") ? c->logits[k]
                                   : !strcmp(fn, "sigmoid") ? 1.0f / (1.0f + expf(-c->logits[k]))
                                                            : (float)(exp(c->logits[k] - mx) / sum);
            }
            json_t *p = predictions(s, c);
            while (top_k && (int)json_array_size(p) > top_k) json_array_remove(p, json_array_size(p) - 1);
            if (l.single && !r->nest) out = p;
            else json_array_append_new(out, p);
        }
        reply_json(r, 200, out);
    } else {
        json_t *out = json_array();
        for (size_t i = 0; i < l.n; i++) {
            const bertc_embedding *e = &j.emb[i];
            int d = dim && dim < e->hidden ? dim : e->hidden;
            json_array_append_new(out, vec_json(e->data, d, normalize, 0));
        }
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
}

/* TEI's model_dtype is the type the model runs in: float32 for a widened fp16 checkpoint, float16 when weights
 * are held in fp16, int8 when quantized. */
static const char *compute_dtype(const bertc_model_info *in) {
    switch (in->compute) {
    case BERTC_DTYPE_FP16: return "float16";
    case BERTC_DTYPE_BF16: return "bfloat16";
    case BERTC_DTYPE_INT8: return "int8";
    case BERTC_DTYPE_FP32: break;
    }
    return "float32";
}

static void handle_info(server *s, reply *r) {
    json_t *type;
    if (s->info.problem != BERTC_PROBLEM_NONE && s->info.n_labels > 0) {
        json_t *i2l = json_object(), *l2i = json_object();
        for (int k = 0; k < s->info.n_labels; k++) {
            char id[16];
            snprintf(id, sizeof id, "%d", k);
            json_object_set_new(i2l, id, json_string(bertc_model_label(s->m, k)));
            json_object_set_new(l2i, bertc_model_label(s->m, k), json_integer(k));
        }
        type = json_pack("{s:{s:o,s:o}}", "classifier", "id2label", i2l, "label2id", l2i);
    } else {
        char pn[96];
        type = json_pack("{s:{s:s}}", "embedding", "pooling", bertc_pooling_name(s->m, s->cfg.pooling, pn, sizeof pn));
    }
    reply_json(r, 200,
               json_pack("{s:s,s:n,s:s,s:o,s:i,s:i,s:i,s:n,s:i,s:b,s:i,s:s,s:s,s:s,s:s,s:s}", "model_id", s->model_id, "model_sha",
                         "model_dtype", compute_dtype(&s->info), "model_type", type, "max_concurrent_requests",
                         s->cfg.max_concurrent, "max_input_length", s->max_input, "max_batch_tokens",
                         s->cfg.max_batch_tokens, "max_batch_requests", "max_client_batch_size",
                         s->cfg.max_client_batch, "auto_truncate", s->cfg.auto_truncate, "tokenization_workers", 1,
                         "version", BERTC_VERSION, "server", "bertc", "model_architecture", s->info.model_type, "compute_mode",
                         s->info.compute_mode == BERTC_COMPUTE_BF16 ? "bf16" : "fp32", "compute_isa",
                         s->info.compute_isa ? s->info.compute_isa : ""));
}

static void handle_health(server *s, reply *r) {
    pthread_mutex_lock(&s->mu);
    int bad = s->draining || s->stopping || s->failed;
    pthread_mutex_unlock(&s->mu);
    if (bad) {
        reply_error(r, 503, "Unhealthy", "%s", s->failed ? "inference failed (out of memory)" : "shutting down");
        return;
    }
    /* like TEI, a real (tiny) inference through the queue */
    bertc_text t = {"health", 6, NULL, 0};
    job j;
    memset(&j, 0, sizeof j);
    j.kind = K_EMBED;
    j.n = 1;
    j.in = &t;
    j.tokens = 3;
    if (submit(s, &j, r)) {
        r->status = 200;
        r->type = "text/plain";
        r->body = strdup("");
    } else if (r->status == 424) {
        free(r->body);
        reply_error(r, 503, "Unhealthy", "health inference failed");
    }
    job_free_results(&j);
}

static void handle_metrics(server *s, reply *r) {
    size_t cap = 1 << 16, o = 0;
    char *b = malloc(cap);
#define OUT(...)                                                                                                       \
    do {                                                                                                               \
        if (b && o + 512 > cap) {                                                                                      \
            char *nb = realloc(b, cap *= 2);                                                                           \
            if (!nb) free(b);                                                                                          \
            b = nb;                                                                                                    \
        }                                                                                                              \
        if (b) o += (size_t)snprintf(b + o, cap - o, __VA_ARGS__);                                                     \
    } while (0)
    pthread_mutex_lock(&s->mu);
    OUT("# HELP bertc_requests_total HTTP requests by route and status.\n# TYPE bertc_requests_total counter\n");
    for (int i = 0; i < s->n_counts; i++)
        OUT("bertc_requests_total{route=\"%s\",status=\"%d\"} %lu\n", route_names[s->counts[i].route], s->counts[i].status,
            s->counts[i].count);
    OUT("# HELP bertc_request_duration_seconds Request latency by route.\n"
        "# TYPE bertc_request_duration_seconds histogram\n");
    for (int rt = 0; rt < N_ROUTES; rt++) {
        unsigned long cum = 0;
        for (int k = 0; k < N_LAT; k++) {
            cum += s->lat[rt][k];
            if (k < N_LAT - 1)
                OUT("bertc_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", route_names[rt], lat_bounds[k], cum);
            else OUT("bertc_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", route_names[rt], cum);
        }
        OUT("bertc_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[rt], s->lat_sum[rt]);
        OUT("bertc_request_duration_seconds_count{route=\"%s\"} %lu\n", route_names[rt], cum);
    }
    OUT("# HELP bertc_batch_size Inputs per model batch.\n# TYPE bertc_batch_size histogram\n");
    unsigned long cum = 0;
    for (int k = 0; k < N_BS; k++) {
        cum += s->bs_hist[k];
        if (k < N_BS - 1) OUT("bertc_batch_size_bucket{le=\"%g\"} %lu\n", bs_bounds[k], cum);
        else OUT("bertc_batch_size_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    OUT("bertc_batch_size_sum %.0f\nbertc_batch_size_count %lu\n", s->bs_sum, s->batches);
    OUT("# HELP bertc_queue_depth Requests waiting for the model.\n# TYPE bertc_queue_depth gauge\nbertc_queue_depth %d\n",
        s->queued);
    OUT("# HELP bertc_running Requests in the batch being computed.\n# TYPE bertc_running gauge\nbertc_running %d\n",
        s->running);
    OUT("# HELP bertc_tokens_total Tokens computed.\n# TYPE bertc_tokens_total counter\nbertc_tokens_total %lu\n",
        s->tokens_total);
    OUT("# HELP bertc_inputs_total Inputs computed.\n# TYPE bertc_inputs_total counter\nbertc_inputs_total %lu\n",
        s->inputs_total);
    pthread_mutex_unlock(&s->mu);
#undef OUT
    r->status = 200;
    r->type = "text/plain; version=0.0.4";
    r->body = b ? b : strdup("");
}

static int route_of(const char *path) {
    for (int k = 0; k < R_OTHER; k++)
        if (!strcmp(path, route_names[k])) return k;
    if (!strcmp(path, "/invocations")) return R_ROOT;        /* TEI's SageMaker alias */
    if (!strcmp(path, "/embeddings")) return R_OPENAI;
    if (!strcmp(path, "/api-doc/openapi.json")) return R_OPENAPI; /* where TEI serves it */
    if (!strcmp(path, "/ping")) return R_HEALTH;
    return R_OTHER;
}

static void record(server *s, int route, int status, double seconds) {
    pthread_mutex_lock(&s->mu);
    int i = 0;
    while (i < s->n_counts && (s->counts[i].route != route || s->counts[i].status != status)) i++;
    if (i == s->n_counts && i < 64) s->counts[s->n_counts++] = (status_count){route, status, 0};
    if (i < 64) s->counts[i].count++;
    int b = 0;
    while (b < N_LAT - 1 && seconds > lat_bounds[b]) b++;
    s->lat[route][b]++;
    s->lat_sum[route] += seconds;
    pthread_mutex_unlock(&s->mu);
}

static void finish(server *s, reply *r, int route, double t0, int *status, char **body_out, size_t *body_len,
                   const char **content_type) {
    if (!r->body) reply_error(r, 424, "Backend", "out of memory");
    *status = r->status;
    *body_out = r->body ? r->body : strdup("");
    *body_len = *body_out ? strlen(*body_out) : 0;
    *content_type = r->type;
    record(s, route, r->status, (now_ms() - t0) / 1000);
}

void server_too_large(server *s, const char *path, int *status, char **body_out, size_t *body_len,
                      const char **content_type) {
    reply r = {0, NULL, NULL, 0, 0};
    reply_error(&r, 413, "Validation", "Input validation error: the request body is larger than the %zu-byte limit",
                s->cfg.payload_limit);
    finish(s, &r, route_of(path), now_ms(), status, body_out, body_len, content_type);
}

/* ---- TEI's other routes ---- */

/* truncate / truncation_direction, as handle_infer reads them */
static bool trunc_opts(server *s, json_t *req, int *truncate, int *left, reply *r) {
    const char *bad = NULL;
    if (!get_bool(req, "truncate", s->cfg.auto_truncate, truncate, &bad)) {
        reply_error(r, 422, "Validation", "`%s` must be a boolean", bad);
        return false;
    }
    if (s->cfg.auto_truncate) *truncate = 1;
    *left = 0;
    json_t *dir = json_object_get(req, "truncation_direction");
    if (dir && !json_is_null(dir)) {
        const char *d = json_string_value(dir);
        if (d && (!strcmp(d, "left") || !strcmp(d, "Left"))) *left = 1;
        else if (!d || (strcmp(d, "right") && strcmp(d, "Right"))) {
            reply_error(r, 422, "Validation", "`truncation_direction` must be \"right\" or \"left\"");
            return false;
        }
    }
    return true;
}

/* The texts of l through the batcher as one job. */
static bool run_job(server *s, int kind, input_list *l, int truncate, int left, int raw, job *j, reply *r) {
    long tokens;
    if (!validate_lengths(s, l, truncate, left, &tokens, r)) return false;
    j->kind = kind;
    j->raw = raw;
    j->normalize = 1;
    j->left = left;
    j->n = l->n;
    j->in = l->in;
    j->tokens = tokens;
    return submit(s, j, r);
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < n; k++) {
        ab += (double)a[k] * b[k];
        aa += (double)a[k] * a[k];
        bb += (double)b[k] * b[k];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

static bool is_reranker(const server *s) { return s->info.problem != BERTC_PROBLEM_NONE && s->info.n_labels == 1; }

/* /rerank: {"query", "texts", "raw_scores", "return_text", "truncate"} -> [{"index", "score", "text"?}] by score */
static void handle_rerank(server *s, json_t *req, reply *r) {
    json_t *q = json_object_get(req, "query"), *texts = json_object_get(req, "texts");
    if (!is_reranker(s)) {
        reply_error(r, 424, "Backend", "`/rerank` needs a re-ranker (a sequence classifier with one output); %s is %s",
                    s->model_id, s->info.problem == BERTC_PROBLEM_NONE ? "an embedding model" : "a classifier");
        return;
    }
    if (!json_is_string(q) || !json_is_array(texts) || json_array_size(texts) == 0) {
        reply_error(r, 422, "Validation", "`query` must be a string and `texts` a non-empty list of strings");
        return;
    }
    size_t n = json_array_size(texts);
    if (n > (size_t)s->cfg.max_client_batch) {
        reply_error(r, 413, "Validation", "Input validation error: batch size %zu > maximum allowed batch size %d", n,
                    s->cfg.max_client_batch);
        return;
    }
    int raw = 0, ret = 0, truncate, left;
    const char *bad = NULL;
    if (!get_bool(req, "raw_scores", 0, &raw, &bad) || !get_bool(req, "return_text", 0, &ret, &bad)) {
        reply_error(r, 422, "Validation", "`%s` must be a boolean", bad);
        return;
    }
    if (!trunc_opts(s, req, &truncate, &left, r)) return;
    input_list l = {calloc(n, sizeof(bertc_text)), 0, 0};
    job j;
    memset(&j, 0, sizeof j);
    for (size_t i = 0; l.in && i < n; i++) {
        json_t *t = json_array_get(texts, i);
        if (!json_is_string(t)) {
            reply_error(r, 422, "Validation", "`texts` must be a list of strings");
            goto done;
        }
        add_input(&l, n, q, t);
    }
    if (!l.in) {
        reply_error(r, 424, "Backend", "out of memory");
        goto done;
    }
    if (!run_job(s, K_PREDICT, &l, truncate, left, 1, &j, r)) goto done;
    {
        size_t *ord = malloc(n * sizeof *ord);
        double *sc = malloc(n * sizeof *sc);
        if (!ord || !sc) {
            free(ord);
            free(sc);
            reply_error(r, 424, "Backend", "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            float z = j.cls[i].logits[0];
            sc[i] = raw ? z : 1.0f / (1.0f + expf(-z));
            ord[i] = i;
        }
        for (size_t i = 1; i < n; i++) { /* stable: equal scores keep the input order */
            size_t v = ord[i], k = i;
            while (k > 0 && sc[ord[k - 1]] < sc[v]) {
                ord[k] = ord[k - 1];
                k--;
            }
            ord[k] = v;
        }
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_pack("{s:I,s:f}", "index", (json_int_t)ord[i], "score", sc[ord[i]]);
            if (ret) json_object_set(e, "text", json_array_get(texts, ord[i]));
            json_array_append_new(out, e);
        }
        free(ord);
        free(sc);
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
}

/* The texts of "inputs" (a string or a list of strings) into l. */
static bool texts_of(server *s, json_t *inputs, input_list *l, reply *r) {
    size_t cap = (size_t)s->cfg.max_client_batch;
    l->in = calloc(cap ? cap : 1, sizeof(bertc_text));
    l->n = 0;
    l->single = 0;
    if (!l->in) {
        reply_error(r, 424, "Backend", "out of memory");
        return false;
    }
    const char *why = inputs ? parse_list_inputs(inputs, l, cap) : "missing field `inputs`";
    if (!why) return true;
    if (!*why) reply_error(r, 400, "Empty", "Input validation error: `inputs` cannot be empty");
    else if (!strcmp(why, "batch"))
        reply_error(r, 413, "Validation", "Input validation error: batch size %zu > maximum allowed batch size %d",
                    json_array_size(inputs), s->cfg.max_client_batch);
    else reply_error(r, 422, "Validation", "Input validation error: %s", why);
    return false;
}

/* /similarity: {"inputs": {"source_sentence", "sentences"}} -> cosine of each sentence's embedding to the source's */
static void handle_similarity(server *s, json_t *req, reply *r) {
    json_t *in = json_object_get(req, "inputs");
    json_t *src = json_object_get(in, "source_sentence"), *sents = json_object_get(in, "sentences");
    if (!json_is_object(in) || !json_is_string(src) || !json_is_array(sents) || json_array_size(sents) == 0) {
        reply_error(r, 422, "Validation", "`inputs` must be {\"source_sentence\": string, \"sentences\": [string, ...]}");
        return;
    }
    size_t n = json_array_size(sents) + 1;
    if (n > (size_t)s->cfg.max_client_batch + 1) {
        reply_error(r, 413, "Validation", "Input validation error: batch size %zu > maximum allowed batch size %d", n - 1,
                    s->cfg.max_client_batch);
        return;
    }
    int truncate, left;
    if (!trunc_opts(s, req, &truncate, &left, r)) return;
    input_list l = {calloc(n, sizeof(bertc_text)), 0, 0};
    job j;
    memset(&j, 0, sizeof j);
    if (!l.in) {
        reply_error(r, 424, "Backend", "out of memory");
        return;
    }
    add_input(&l, n, src, NULL);
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *t = json_array_get(sents, i);
        if (!json_is_string(t)) {
            reply_error(r, 422, "Validation", "`sentences` must be a list of strings");
            goto done;
        }
        add_input(&l, n, t, NULL);
    }
    if (!run_job(s, K_EMBED, &l, truncate, left, 0, &j, r)) goto done;
    {
        json_t *out = json_array();
        for (size_t i = 1; i < n; i++)
            json_array_append_new(out, json_real((float)cosine(j.emb[0].data, j.emb[i].data, j.emb[0].hidden)));
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
}

/* /embed_all: every token's embedding, [[[...], ...], ...] one list per input */
static void handle_embed_all(server *s, json_t *req, reply *r) {
    input_list l;
    job j;
    memset(&j, 0, sizeof j);
    int truncate, left;
    if (!trunc_opts(s, req, &truncate, &left, r)) return;
    if (!texts_of(s, json_object_get(req, "inputs"), &l, r)) goto done;
    if (!run_job(s, K_EMBED_ALL, &l, truncate, left, 0, &j, r)) goto done;
    {
        json_t *out = json_array();
        for (size_t i = 0; i < l.n; i++) {
            json_t *toks = json_array();
            for (int t = 0; t < j.emb[i].rows; t++)
                json_array_append_new(toks, vec_json(j.emb[i].data + (size_t)t * j.emb[i].hidden, j.emb[i].hidden, 0, 0));
            json_array_append_new(out, toks);
        }
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
}

/* /decode: {"ids": [..] | [[..], ..], "skip_special_tokens": true} -> ["text", ...] */
static void handle_decode(server *s, json_t *req, reply *r) {
    json_t *ids = json_object_get(req, "ids");
    int skip = 1;
    const char *bad = NULL;
    if (!get_bool(req, "skip_special_tokens", 1, &skip, &bad)) {
        reply_error(r, 422, "Validation", "`%s` must be a boolean", bad);
        return;
    }
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        reply_error(r, 422, "Validation", "`ids` must be a list of token ids or a list of such lists");
        return;
    }
    bool batch = json_is_array(json_array_get(ids, 0));
    size_t nb = batch ? json_array_size(ids) : 1;
    json_t *out = json_array();
    for (size_t b = 0; b < nb; b++) {
        json_t *one = batch ? json_array_get(ids, b) : ids;
        size_t n = json_array_size(one);
        int32_t *v = malloc((n ? n : 1) * sizeof *v);
        bool ok = v && json_is_array(one);
        for (size_t i = 0; ok && i < n; i++) {
            json_t *x = json_array_get(one, i);
            ok = json_is_integer(x) && json_integer_value(x) >= 0 && json_integer_value(x) < INT32_MAX;
            if (ok) v[i] = (int32_t)json_integer_value(x);
        }
        char *txt = NULL;
        bertc_error err;
        if (!ok) {
            free(v);
            json_decref(out);
            reply_error(r, 422, "Validation", "`ids` must be a list of token ids or a list of such lists");
            return;
        }
        if (bertc_decode(s->tok, v, n, skip, &txt, NULL, &err)) {
            free(v);
            json_decref(out);
            reply_error(r, 422, "Tokenizer", "%s", err.message);
            return;
        }
        json_array_append_new(out, json_string(txt));
        free(txt);
        free(v);
    }
    reply_json(r, 200, out);
}

/* /v1/embeddings, OpenAI's: {"input": string | [string], "model", "encoding_format": "float" | "base64"} ->
 * {"object": "list", "data": [{"object": "embedding", "embedding", "index"}], "model", "usage"} (normalized) */
static void handle_openai(server *s, json_t *req, reply *r) {
    r->openai = 1;
    json_t *input = json_object_get(req, "input");
    const char *fmt = json_string_value(json_object_get(req, "encoding_format"));
    json_t *dims = json_object_get(req, "dimensions");
    if (fmt && strcmp(fmt, "float") && strcmp(fmt, "base64")) {
        reply_error(r, 422, "Validation", "`encoding_format` must be \"float\" or \"base64\"");
        return;
    }
    if (json_is_array(input) && json_array_size(input) && !json_is_string(json_array_get(input, 0))) {
        reply_error(r, 422, "Validation", "`input` must be a string or a list of strings (token ids are not accepted)");
        return;
    }
    input_list l;
    job j;
    memset(&j, 0, sizeof j);
    if (!texts_of(s, input, &l, r)) goto done;
    if (!run_job(s, K_EMBED, &l, s->cfg.auto_truncate, 0, 0, &j, r)) goto done;
    int dim = j.emb[0].hidden;
    if (dims && !json_is_null(dims)) {
        if (!json_is_integer(dims) || json_integer_value(dims) < 1) {
            reply_error(r, 422, "Validation", "`dimensions` must be a positive integer");
            goto done;
        }
        if (json_integer_value(dims) < dim) dim = (int)json_integer_value(dims); /* truncated, then normalized (TEI) */
    }
    {
        json_t *data = json_array();
        for (size_t i = 0; i < l.n; i++)
            json_array_append_new(data, json_pack("{s:s,s:o,s:I}", "object", "embedding", "embedding",
                                                  vec_json(j.emb[i].data, dim, 1, fmt && !strcmp(fmt, "base64")),
                                                  "index", (json_int_t)i));
        reply_json(r, 200, json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model", s->model_id, "usage", "prompt_tokens", (json_int_t)j.tokens,
                                     "total_tokens", (json_int_t)j.tokens));
    }
done:
    job_free_results(&j);
    free(l.in);
}

#include "openapi.inc"

static void handle_openapi(server *s, reply *r, bool html) {
    (void)s;
    r->status = 200;
    if (html) {
        r->type = "text/html; charset=utf-8";
        r->body = strdup("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bertc serve API</title></head><body>"
                         "<h1>bertc serve</h1><p>text-embeddings-inference's API: POST / /predict /embed /embed_all "
                         "/rerank /similarity /tokenize /decode /v1/embeddings; GET /info /health /metrics. The OpenAPI "
                         "document: <a href=\"/openapi.json\">/openapi.json</a>.</p></body></html>\n");
    } else {
        r->type = "application/json";
        r->body = strdup(openapi_json);
    }
}

/* POST /: what TEI answers there for the model's type (classifier: /predict; re-ranker: /rerank when the body has a
 * query, else /predict; embedding model: /embed, or /similarity for {"inputs": {"source_sentence", ...}}). */
static void handle_root(server *s, json_t *req, reply *r) {
    json_t *in = json_object_get(req, "inputs");
    if (json_is_object(in) && json_object_get(in, "source_sentence")) handle_similarity(s, req, r);
    else if (json_object_get(req, "query") && json_object_get(req, "texts")) handle_rerank(s, req, r);
    else if (s->info.problem != BERTC_PROBLEM_NONE && s->info.n_labels > 0) {
        r->nest = 1;
        handle_infer(s, R_PREDICT, req, r);
    }
    else handle_infer(s, R_EMBED, req, r);
}

void server_handle(server *s, const char *method, const char *path, const char *body, size_t len, int *status,
                   char **body_out, size_t *body_len, const char **content_type) {
    double t0 = now_ms();
    reply r = {0, NULL, NULL, 0, 0};
    int route = route_of(path);
    bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
    if (route == R_ROOT && get) route = R_HEALTH; /* GET / is TEI's health check */
    pthread_mutex_lock(&s->mu);
    s->in_flight++;
    pthread_mutex_unlock(&s->mu);
    if (route == R_OTHER) {
        reply_error(&r, 404, "Validation", "no route %s (routes: POST / /predict /embed /embed_all /rerank /similarity "
                    "/tokenize /decode /v1/embeddings, GET /info /health /metrics /openapi.json /docs)", path);
    } else if ((route <= LAST_POST && !post) || (route > LAST_POST && !get)) {
        reply_error(&r, 405, "Validation", "%s takes %s, not %s", path, route <= LAST_POST ? "POST" : "GET", method);
    } else if (route == R_OPENAPI || route == R_DOCS) {
        handle_openapi(s, &r, route == R_DOCS);
    } else if (route == R_INFO) {
        handle_info(s, &r);
    } else if (route == R_HEALTH) {
        handle_health(s, &r);
    } else if (route == R_METRICS) {
        handle_metrics(s, &r);
    } else if (len > s->cfg.payload_limit) {
        reply_error(&r, 413, "Validation", "Input validation error: the request body is larger than the %zu-byte limit",
                    s->cfg.payload_limit);
    } else {
        json_error_t je;
        json_t *req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
        if (!req) reply_error(&r, 400, "Validation", "malformed JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        else if (!json_is_object(req)) reply_error(&r, 422, "Validation", "the request body must be a JSON object");
        else if (route == R_ROOT) handle_root(s, req, &r);
        else if (route == R_RERANK) handle_rerank(s, req, &r);
        else if (route == R_SIMILARITY) handle_similarity(s, req, &r);
        else if (route == R_EMBED_ALL) handle_embed_all(s, req, &r);
        else if (route == R_DECODE) handle_decode(s, req, &r);
        else if (route == R_OPENAI) handle_openai(s, req, &r);
        else handle_infer(s, route, req, &r);
        json_decref(req);
    }
    finish(s, &r, route, t0, status, body_out, body_len, content_type);
    pthread_mutex_lock(&s->mu);
    s->in_flight--;
    pthread_mutex_unlock(&s->mu);
}
