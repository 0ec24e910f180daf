/*
 * server.c — TEI's API over a bertc model: parsing and validating requests, the batching queue, responses,
 * and the Prometheus metrics. See server.h.
 */
#include "server.h"

#include "base/internal.h"
#include "base/json.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

enum {
    R_PREDICT, R_EMBED, R_TOKENIZE, R_ROOT, R_RERANK, R_SIMILARITY, R_EMBED_ALL, R_DECODE, R_OPENAI, /* POST */
    R_NER, R_QA, R_FILL_MASK,                                      /* POST: bertc's own (transformers' pipelines) */
    R_INFO, R_HEALTH, R_METRICS, R_OPENAPI, R_DOCS, R_MODELS,                                       /* GET */
    R_OTHER, N_ROUTES
};
#define LAST_POST R_FILL_MASK
static const char *const route_names[N_ROUTES] = {"/predict", "/embed", "/tokenize", "/", "/rerank", "/similarity",
                                                  "/embed_all", "/decode", "/v1/embeddings", "/ner", "/qa",
                                                  "/fill-mask", "/info", "/health", "/metrics", "/openapi.json",
                                                  "/docs", "/v1/models", "other"};

/* K_NER, K_QA and K_FILL_MASK (the pipelines: their own parameters per request) run one job per batch, one library
 * call per input, in the batcher thread like the others: the same queue, limits and metrics. */
enum { K_PREDICT, K_EMBED, K_EMBED_ALL, K_NER, K_QA, K_FILL_MASK };

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
    /* the pipelines: parameters, and one result per input (bertc_token_class_result, bertc_qa_result or
       bertc_fill_mask_result; QA inputs are question = text, context = pair) */
    bertc_token_class_params ner;
    bertc_qa_params qa;
    bertc_fill_mask_params fm;
    void *task;
    int *ntok;        /* tokens per input (the batcher's chunks), NULL: spread evenly */
    server_req *rq;   /* the request it serves (its client may leave), NULL for server_handle's */
    int cancel;       /* 1: its client left; 2: the server is shutting down (server_abort) */
    bertc_status st;
    char err[512];
    int done;
    struct job *next;
} job;

/* A request admitted by server_begin, waiting for a worker or being handled by one. */
struct server_req {
    int route;
    char method[8];
    char *body;
    size_t len;
    double t0;
    server_done_fn done;
    server_gone_fn gone;
    void *arg;
    struct server_req *next;
};

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
    int queued, running, in_flight, stopping, draining, aborting, failed;
    /* the workers: admitted requests wait in pending (FIFO); threads are started as needed up to max_workers */
    server_req *pending, *pending_tail;
    pthread_cond_t cv_req;
    pthread_t *workers;
    int n_workers, max_workers, idle_workers, quit;
    /* the CPU budget: `slots` slots, one per worker at work, all of them for a batch (which waits first in line) */
    pthread_mutex_t cpu_mu;
    pthread_cond_t cv_cpu;
    int slots, slots_used, batch_waiting;
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
    server_config c = {NULL, 16384, 512, 32, 0, 2000000, BERTC_POOL_DEFAULT, 0, 1};
    return c;
}

/* ---- the CPU budget ---- */

static void cpu_take(server *s, int k) {
    pthread_mutex_lock(&s->cpu_mu);
    if (k >= s->slots) {
        k = s->slots;
        s->batch_waiting++;
        while (s->slots_used + k > s->slots) pthread_cond_wait(&s->cv_cpu, &s->cpu_mu);
        s->batch_waiting--;
    } else {
        while (s->slots_used + k > s->slots || s->batch_waiting) pthread_cond_wait(&s->cv_cpu, &s->cpu_mu);
    }
    s->slots_used += k;
    pthread_mutex_unlock(&s->cpu_mu);
}

static void cpu_give(server *s, int k) {
    pthread_mutex_lock(&s->cpu_mu);
    s->slots_used -= k < s->slots ? k : s->slots;
    pthread_cond_broadcast(&s->cv_cpu);
    pthread_mutex_unlock(&s->cpu_mu);
}

/* The request the calling worker is handling (NULL in server_handle's inline work and the batcher). */
static _Thread_local server_req *cur_rq;

/* 2 when the server is shutting down (server_abort), 1 when rq's client has left, else 0. */
static int cancelled(server *s, server_req *rq) {
    pthread_mutex_lock(&s->mu);
    int a = s->aborting;
    pthread_mutex_unlock(&s->mu);
    if (a) return 2;
    return rq && rq->gone && rq->gone(rq->arg) ? 1 : 0;
}

/* ---- the batcher ---- */

static void job_free_results(job *j) {
    if (j->cls) bertc_classification_free(j->cls, j->n);
    if (j->emb) bertc_embedding_free(j->emb, j->n);
    for (size_t i = 0; j->task && i < j->n; i++) {
        if (j->kind == K_NER) bertc_token_class_result_free((bertc_token_class_result *)j->task + i);
        else if (j->kind == K_QA) bertc_qa_result_free((bertc_qa_result *)j->task + i);
        else bertc_fill_mask_result_free((bertc_fill_mask_result *)j->task + i);
    }
    free(j->cls);
    free(j->emb);
    free(j->task);
    free(j->ntok);
    j->ntok = NULL;
    j->cls = NULL;
    j->emb = NULL;
    j->task = NULL;
}

static bool compatible(const job *a, const job *b) {
    return a == b || (a->kind == b->kind && a->kind < K_NER && a->raw == b->raw && a->left == b->left &&
           (a->prompt_name == b->prompt_name || (a->prompt_name && b->prompt_name && !strcmp(a->prompt_name, b->prompt_name))));
}

/* A pipeline job: the library's call per input, with the request's parameters (the first failure ends it). */
static void run_task(server *s, job *j) {
    size_t sz = j->kind == K_NER  ? sizeof(bertc_token_class_result)
                : j->kind == K_QA ? sizeof(bertc_qa_result)
                                  : sizeof(bertc_fill_mask_result);
    j->task = calloc(j->n ? j->n : 1, sz);
    if (!j->task) {
        j->st = BERTC_ERR_NOMEM;
        snprintf(j->err, sizeof j->err, "out of memory");
        return;
    }
    for (size_t i = 0; i < j->n; i++) {
        const bertc_text *t = &j->in[i];
        bertc_error err;
        bertc_status st;
        if (i && (j->cancel = cancelled(s, j->rq))) { /* between inputs: shutting down, or the client left */
            job_free_results(j);
            return;
        }
        cpu_take(s, s->slots);
        if (j->kind == K_NER)
            st = bertc_token_classify(s->m, t->text, t->len, &j->ner, (bertc_token_class_result *)j->task + i, &err);
        else if (j->kind == K_QA)
            st = bertc_question_answer(s->m, t->text, t->len, t->pair, t->pair_len, &j->qa, (bertc_qa_result *)j->task + i,
                                       &err);
        else st = bertc_fill_mask(s->m, t->text, t->len, &j->fm, (bertc_fill_mask_result *)j->task + i, &err);
        cpu_give(s, s->slots);
        if (st) {
            j->st = st;
            if (j->n > 1) snprintf(j->err, sizeof j->err, "input %zu: %.480s", i, err.message);
            else snprintf(j->err, sizeof j->err, "%s", err.message);
            job_free_results(j);
            return;
        }
    }
}

/* Runs one batch of compatible jobs: their inputs in chunks of up to CHUNK_TOKENS tokens, one library call each under
 * the whole CPU budget. Between chunks, a job whose client left is dropped, and server_abort stops the batch. Batches
 * are packed without padding, so the chunking does not change any result. */
#define CHUNK_TOKENS 1024
static void run_batch(server *s, job **jobs, int nj) {
    if (jobs[0]->kind >= K_NER) { /* never batched with another (compatible) */
        run_task(s, jobs[0]);
        return;
    }
    bool classify = jobs[0]->kind == K_PREDICT;
    size_t n = 0;
    for (int k = 0; k < nj; k++) {
        job *j = jobs[k];
        n += j->n;
        if (classify) j->cls = calloc(j->n ? j->n : 1, sizeof *j->cls);
        else j->emb = calloc(j->n ? j->n : 1, sizeof *j->emb);
        if (!j->cls && !j->emb) {
            j->st = BERTC_ERR_NOMEM;
            snprintf(j->err, sizeof j->err, "out of memory");
        }
    }
    bertc_text *in = malloc((n ? n : 1) * sizeof *in);
    job **owner = malloc((n ? n : 1) * sizeof *owner);
    size_t *at = malloc((n ? n : 1) * sizeof *at);
    bertc_classification *cls = classify ? calloc(n ? n : 1, sizeof *cls) : NULL;
    bertc_embedding *emb = classify ? NULL : calloc(n ? n : 1, sizeof *emb);
    bertc_encode_params ep = bertc_encode_default_params();
    ep.truncation = 1; /* lengths were checked when the request came in */
    ep.truncate_left = jobs[0]->left;
    int k = 0;
    size_t i = 0; /* the next input: job k's input i */
    while (k < nj) {
        if (!in || !owner || !at || (!cls && !emb)) {
            for (; k < nj; k++)
                if (!jobs[k]->st) {
                    jobs[k]->st = BERTC_ERR_NOMEM;
                    snprintf(jobs[k]->err, sizeof jobs[k]->err, "out of memory");
                }
            break;
        }
        /* the next chunk, from the jobs still wanted */
        size_t m = 0;
        long tokens = 0;
        int ab = cancelled(s, NULL);
        for (int q = k; q < nj; q++)
            if (!jobs[q]->cancel && !jobs[q]->st) jobs[q]->cancel = ab ? ab : cancelled(s, jobs[q]->rq);
        while (k < nj) {
            job *j = jobs[k];
            if (i >= j->n || j->cancel || j->st) {
                k++;
                i = 0;
                continue;
            }
            long t = j->ntok ? j->ntok[i] : j->tokens / (long)(j->n ? j->n : 1);
            if (m && tokens + t > CHUNK_TOKENS) break;
            in[m] = j->in[i];
            owner[m] = j;
            at[m++] = i++;
            tokens += t;
        }
        if (!m) break;
        bertc_error err;
        bertc_status st;
        cpu_take(s, s->slots);
        if (classify) {
            bertc_classify_params cp = bertc_classify_default_params();
            cp.encode = ep;
            cp.function = jobs[0]->raw ? BERTC_FUNCTION_NONE : BERTC_FUNCTION_DEFAULT;
            cp.batch_size = 64;
            st = bertc_classify(s->m, in, m, &cp, cls, &err);
        } else {
            bertc_embed_params xp = bertc_embed_default_params();
            xp.encode = ep;
            xp.pooling = jobs[0]->kind == K_EMBED_ALL ? BERTC_POOL_NONE : s->cfg.pooling;
            xp.normalize = 0; /* per request, when answering */
            xp.prompt_name = jobs[0]->prompt_name;
            st = bertc_embed_ex(s->m, in, m, &xp, emb, &err);
        }
        cpu_give(s, s->slots);
        for (size_t q = 0; q < m; q++) {
            job *j = owner[q];
            if (st && !j->st) {
                j->st = st;
                snprintf(j->err, sizeof j->err, "%s", err.message);
            } else if (!st && classify) {
                j->cls[at[q]] = cls[q]; /* the job owns the result's arrays now */
            } else if (!st) {
                j->emb[at[q]] = emb[q];
            }
        }
    }
    free(in);
    free(owner);
    free(at);
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
        /* a queued job is dropped here, before any work, when its client has left or the server is stopping */
        job *h = s->head;
        if (s->aborting || (h->rq && h->rq->gone && h->rq->gone(h->rq->arg))) {
            s->head = h->next;
            if (!s->head) s->tail = NULL;
            s->queued--;
            h->cancel = s->aborting ? 2 : 1;
            h->done = 1;
            pthread_cond_broadcast(&s->cv_done);
            continue;
        }
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
            if (batch[k]->cancel) continue;
            inputs += batch[k]->n;
            /* /health reports the last inference: a failure for want of memory makes it 503 until one succeeds */
            if (batch[k]->st == BERTC_ERR_NOMEM) s->failed = 1;
            else if (!batch[k]->st) s->failed = 0;
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

/* The locks and conditions server_new made (on its failure and in server_free). */
static void sync_destroy(server *s) {
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->cpu_mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_done);
    pthread_cond_destroy(&s->cv_req);
    pthread_cond_destroy(&s->cv_cpu);
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
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    s->slots = s->cfg.threads > 0 ? s->cfg.threads : cpus > 0 ? (int)cpus : 1;
    /* workers wait on the batcher without a CPU slot: enough of them for wide batches, started as needed */
    s->max_workers = s->cfg.max_concurrent < 64 ? s->cfg.max_concurrent : 64;
    if (s->max_workers < s->slots) s->max_workers = s->slots;
    s->workers = calloc((size_t)s->max_workers, sizeof *s->workers);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->cpu_mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_cond_init(&s->cv_done, NULL);
    pthread_cond_init(&s->cv_req, NULL);
    pthread_cond_init(&s->cv_cpu, NULL);
    if (!s->model_id || !s->workers || pthread_create(&s->batcher, NULL, batcher_main, s)) {
        bertc_fail(err, BERTC_ERR_NOMEM, "out of memory starting the batcher thread");
        sync_destroy(s);
        free(s->model_id);
        free(s->workers);
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

void server_abort(server *s) {
    pthread_mutex_lock(&s->mu);
    s->draining = s->aborting = 1;
    pthread_cond_broadcast(&s->cv_work); /* the batcher answers what is queued */
    pthread_mutex_unlock(&s->mu);
}

void server_free(server *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv_req);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_workers; i++) pthread_join(s->workers[i], NULL); /* they answer what is pending first */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->batcher, NULL);
    free(s->workers);
    sync_destroy(s);
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
    int track;  /* jf below is set: an answer built across a failed jansson allocation is out of memory */
    unsigned jf;
    size_t inputs; /* for the access log: the inputs and tokens the request brought */
    long tokens;
} reply;

static void reply_error(reply *r, int status, const char *type, const char *fmt, ...) BERTC_PRINTF(4, 5);

static void reply_json(reply *r, int status, json_t *j) {
    r->status = status;
    r->type = "application/json";
    if (r->track && status < 400) {
        /* a member jansson dropped for lack of memory: never an answer missing it */
        r->body = jdump(j, JSON_COMPACT | JSON_REAL_PRECISION(9), r->jf);
        json_decref(j);
        if (!r->body) {
            r->track = 0;
            reply_error(r, 424, "Backend", "out of memory");
        }
        return;
    }
    r->body = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    if (!r->body && status >= 400) /* a message that was not valid UTF-8 (from the URL): a generic one */
        r->body = strdup("{\"error\":\"invalid request\",\"error_type\":\"Validation\"}");
}

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

/* A tokenizer's failure: out of memory is the backend's 424, as every other allocation failure; bad text is TEI's 422. */
static void reply_tokenizer_error(reply *r, const bertc_error *err, const char *prefix) {
    if (err->status == BERTC_ERR_NOMEM) reply_error(r, 424, "Backend", "out of memory");
    else reply_error(r, 422, "Tokenizer", "%s%s", prefix, err->message);
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

/* The answer for work cancelled (cancelled()'s code): 503 while shutting down, 499 for a client that left (nothing
 * is sent; the status is for /metrics). */
static void reply_cancelled(reply *r, int why) {
    if (why == 2) reply_error(r, 503, "Unhealthy", "the server is shutting down");
    else reply_error(r, 499, "Validation", "the client closed the connection");
}

/* Whether the current request's work stops here (the reply then set). */
static bool stop_here(server *s, reply *r) {
    int why = cancelled(s, cur_rq);
    if (why) reply_cancelled(r, why);
    return why != 0;
}

/* Tokenizes each input to check its length (and count tokens for the batch budget and, in *ntok when not NULL,
 * per input for the batcher's chunks). */
static bool validate_lengths(server *s, input_list *l, int truncate, int left, long *tokens, int **ntok, reply *r) {
    *tokens = 0;
    if (ntok && !(*ntok = calloc(l->n ? l->n : 1, sizeof **ntok))) {
        reply_error(r, 424, "Backend", "out of memory");
        return false;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (stop_here(s, r)) return false;
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
            reply_tokenizer_error(r, &err, "Tokenization error: ");
            return false;
        }
        *tokens += (long)e.n;
        if (ntok) (*ntok)[i] = (int)e.n;
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

/* Queues a job and waits for the batcher (without a CPU slot). false (with the reply set) when the work was
 * cancelled or failed. (Admission, 429, happened in server_begin, before any work.) */
static bool submit(server *s, job *j, reply *r) {
    pthread_mutex_lock(&s->mu);
    if (s->aborting || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        reply_error(r, 503, "Unhealthy", "the server is shutting down");
        return false;
    }
    j->rq = cur_rq;
    j->next = NULL;
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->queued++;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    cpu_give(s, 1);
    pthread_mutex_lock(&s->mu);
    while (!j->done) pthread_cond_wait(&s->cv_done, &s->mu);
    pthread_mutex_unlock(&s->mu);
    cpu_take(s, 1);
    if (j->cancel) {
        job_free_results(j);
        reply_cancelled(r, j->cancel);
        return false;
    }
    if (j->st) {
        if (j->kind >= K_NER && (j->st == BERTC_ERR_INPUT || j->st == BERTC_ERR_INVALID_ARG)) /* the request's fault */
            reply_error(r, 422, "Validation", "Input validation error: %s", j->err);
        else reply_error(r, 424, "Backend", "Inference failed: %s", j->err);
        return false;
    }
    return true;
}

/* The first top_k labels (0: all) by score, in the library's order (ties in label-id order). */
static json_t *predictions(server *s, const bertc_classification *c, int top_k) {
    json_t *arr = json_array();
    int n = top_k > 0 && top_k < c->n_labels ? top_k : c->n_labels;
    for (int k = 0; k < n; k++)
        json_array_append_new(arr, json_pack("{s:f,s:s}", "score", (double)c->scores[c->order[k]], "label",
                                             bertc_model_label(s->m, c->order[k])));
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

/* The route of a task head, and whether the model has no other head than a sequence classifier's (or none). */
static const char *head_route(bertc_head h) {
    return h == BERTC_HEAD_TOKEN_CLASSIFICATION ? "/ner"
           : h == BERTC_HEAD_QUESTION_ANSWERING ? "/qa"
           : h == BERTC_HEAD_MASKED_LM          ? "/fill-mask"
           : h == BERTC_HEAD_NONE               ? "/embed"
                                                : "/predict";
}
static bool seq_head(const server *s) {
    return s->info.head == BERTC_HEAD_SEQUENCE_CLASSIFICATION || s->info.head == BERTC_HEAD_NONE;
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
            if (stop_here(s, r)) {
                json_decref(out);
                goto done;
            }
            bertc_encode_params ep = bertc_encode_default_params();
            ep.add_special_tokens = add_special;
            ep.truncation = 0;
            ep.max_length = 1 << 30; /* /tokenize shows every token, as TEI does */
            bertc_encoding e;
            bertc_error err;
            if (bertc_tokenize(s->tok, l.in[i].text, l.in[i].len, NULL, 0, &ep, &e, &err)) {
                json_decref(out);
                reply_tokenizer_error(r, &err, "Tokenization error: ");
                goto done;
            }
            /* code-point offsets to byte offsets, as TEI (Rust tokenizers) reports them */
            size_t nb = l.in[i].len, ncp = 0;
            size_t *byte_at = malloc((nb + 2) * sizeof *byte_at);
            if (!byte_at) {
                bertc_encoding_free(&e);
                json_decref(out);
                reply_error(r, 424, "Backend", "out of memory");
                goto done;
            }
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
    if (route == R_PREDICT && (s->info.problem == BERTC_PROBLEM_NONE || s->info.n_labels < 1 || !seq_head(s))) {
        if (seq_head(s))
            reply_error(r, 424, "Backend", "`/predict` needs a classification head; %s is a base model (use /embed)",
                        s->model_id);
        else reply_error(r, 424, "Backend", "`/predict` needs a sequence-classification head; %s has a %s head (use %s)",
                         s->model_id, bertc_head_name(s->info.head), head_route(s->info.head));
        goto done;
    }
    long tokens;
    if (!validate_lengths(s, &l, truncate, left, &tokens, &j.ntok, r)) goto done;
    j.kind = route == R_PREDICT ? K_PREDICT : K_EMBED;
    j.raw = raw;
    j.normalize = normalize;
    j.left = left;
    j.n = l.n;
    j.in = l.in;
    j.tokens = tokens;
    r->inputs = l.n;
    r->tokens = (long)tokens;
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
            if (fn && (!strcmp(fn, "sigmoid") || !strcmp(fn, "softmax") || !strcmp(fn, "none")))
                bertc_classification_rescore(s->m, !strcmp(fn, "none")      ? BERTC_FUNCTION_NONE
                                                   : !strcmp(fn, "sigmoid") ? BERTC_FUNCTION_SIGMOID
                                                                            : BERTC_FUNCTION_SOFTMAX,
                                             c, NULL);
            json_t *p = predictions(s, c, top_k);
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
    json_t *info =
               json_pack("{s:s,s:n,s:s,s:o,s:i,s:i,s:i,s:n,s:i,s:b,s:i,s:s,s:s,s:s,s:s,s:s}", "model_id", s->model_id, "model_sha",
                         "model_dtype", compute_dtype(&s->info), "model_type", type, "max_concurrent_requests",
                         s->cfg.max_concurrent, "max_input_length", s->max_input, "max_batch_tokens",
                         s->cfg.max_batch_tokens, "max_batch_requests", "max_client_batch_size",
                         s->cfg.max_client_batch, "auto_truncate", s->cfg.auto_truncate, "tokenization_workers", 1,
                         "version", BERTC_VERSION, "server", "bertc", "model_architecture", s->info.model_type, "compute_mode",
                         s->info.compute_mode == BERTC_COMPUTE_BF16 ? "bf16" : "fp32", "compute_isa",
                         s->info.compute_isa ? s->info.compute_isa : "");
    /* which of bertc's own routes fits the checkpoint: the head and its route */
    static const char *const head_route[] = {"/embed", "/predict", "/ner", "/qa", "/fill-mask"};
    int h = (int)s->info.head;
    if (info && h >= 0 && h <= 4) {
        json_object_set_new(info, "model_head", json_string(bertc_head_name(s->info.head)));
        json_object_set_new(info, "task_route", json_string(head_route[h]));
    }
    reply_json(r, 200, info);
}

/* /health while the last inference failed (server_begin answers 200 at once otherwise): like TEI's check of an
 * unhealthy backend, a real (tiny) inference through the queue; its success makes the server healthy again. */
static void handle_health(server *s, reply *r) {
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
        reply_error(r, 503, "Unhealthy", "health inference failed: %s", j.err);
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
    if (!strcmp(path, "/models")) return R_MODELS; /* OpenAI clients with a base URL without /v1 */
    if (!strcmp(path, "/api-doc/openapi.json")) return R_OPENAPI; /* where TEI serves it */
    if (!strcmp(path, "/docs/") || !strcmp(path, "/docs/swagger-ui-bundle.js") || !strcmp(path, "/docs/swagger-ui.css"))
        return R_DOCS;
    if (!strcmp(path, "/ping")) return R_HEALTH;
    if (!strcmp(path, "/token-classification")) return R_NER; /* the pipelines' task names */
    if (!strcmp(path, "/question-answering")) return R_QA;
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

/* One access-log line on stderr (one write: lines of concurrent requests do not interleave). */
static void access_log(server *s, const char *method, int route, const char *path, int status, const reply *r,
                       double ms) {
    if (!s->cfg.log_format) return;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *rt = route == R_OTHER && path ? path : route_names[route];
    char line[1024];
    if (s->cfg.log_format == 2) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:f}", "time", when, "method", method, "route", rt, "status",
                              status, "inputs", (json_int_t)r->inputs, "tokens", (json_int_t)r->tokens, "ms", ms);
        char *t = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
        json_decref(j);
        if (!t) return;
        snprintf(line, sizeof line, "%s\n", t);
        free(t);
    } else {
        snprintf(line, sizeof line, "%s %s %.200s %d inputs=%zu tokens=%ld %.1f ms\n", when, method, rt, status,
                 r->inputs, r->tokens, ms);
    }
    fputs(line, stderr);
}

static void finish(server *s, reply *r, const char *method, int route, const char *path, double t0, int *status,
                   char **body_out, size_t *body_len, const char **content_type) {
    if (!r->body) reply_error(r, 424, "Backend", "out of memory");
    *status = r->status;
    *body_out = r->body ? r->body : strdup("");
    *body_len = *body_out ? strlen(*body_out) : 0;
    *content_type = r->type;
    double ms = now_ms() - t0;
    record(s, route, r->status, ms / 1000);
    access_log(s, method, route, path, r->status, r, ms);
}

void server_too_large(server *s, const char *path, int *status, char **body_out, size_t *body_len,
                      const char **content_type) {
    reply r = {0, NULL, NULL, 0, 0, 0, 0, 0, 0};
    reply_error(&r, 413, "Validation", "Input validation error: the request body is larger than the %zu-byte limit",
                s->cfg.payload_limit);
    finish(s, &r, "POST", route_of(path), path, now_ms(), status, body_out, body_len, content_type);
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
    if (!validate_lengths(s, l, truncate, left, &tokens, &j->ntok, r)) return false;
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

static bool is_reranker(const server *s) {
    return s->info.problem != BERTC_PROBLEM_NONE && s->info.n_labels == 1 && seq_head(s);
}

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
        int *ord = malloc(n * sizeof *ord);
        float *sc = malloc(n * sizeof *sc);
        if (!ord || !sc) {
            free(ord);
            free(sc);
            reply_error(r, 424, "Backend", "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) { /* a re-ranker's one logit, through the sigmoid unless raw_scores */
            bertc_classification_rescore(s->m, raw ? BERTC_FUNCTION_NONE : BERTC_FUNCTION_SIGMOID, &j.cls[i], NULL);
            sc[i] = j.cls[i].scores[0];
        }
        bertc_scores_order(sc, (int)n, ord); /* equal scores keep the input order */
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_pack("{s:I,s:f}", "index", (json_int_t)ord[i], "score", (double)sc[ord[i]]);
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
    if (nb > (size_t)s->cfg.max_client_batch) { /* as TEI's /decode */
        reply_error(r, 413, "Validation", "Input validation error: batch size %zu > maximum allowed batch size %d", nb,
                    s->cfg.max_client_batch);
        return;
    }
    json_t *out = json_array();
    for (size_t b = 0; b < nb; b++) {
        json_t *one = batch ? json_array_get(ids, b) : ids;
        if (stop_here(s, r)) {
            json_decref(out);
            return;
        }
        size_t n = json_array_size(one);
        int32_t *v = malloc((n ? n : 1) * sizeof *v);
        if (!v) {
            json_decref(out);
            reply_error(r, 424, "Backend", "out of memory");
            return;
        }
        bool ok = json_is_array(one);
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
            reply_tokenizer_error(r, &err, "");
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

/* ---- bertc's own routes: transformers' token-classification, question-answering and fill-mask pipelines ---- */

/* A pipeline parameter: parameters.key (the Inference API's place), else the top-level key (as TEI takes its own);
 * NULL when absent or null. */
static json_t *param(json_t *req, const char *key) {
    json_t *v = json_object_get(json_object_get(req, "parameters"), key);
    if (!v || json_is_null(v)) v = json_object_get(req, key);
    return v && !json_is_null(v) ? v : NULL;
}

/* `parameters`, when given, must be an object. */
static bool params_ok(json_t *req, reply *r) {
    json_t *p = json_object_get(req, "parameters");
    if (p && !json_is_null(p) && !json_is_object(p)) {
        reply_error(r, 422, "Validation", "`parameters` must be an object");
        return false;
    }
    return true;
}

static bool param_bool(json_t *req, const char *key, int *out, reply *r) {
    json_t *v = param(req, key);
    if (!v) return true;
    if (!json_is_boolean(v)) {
        reply_error(r, 422, "Validation", "`%s` must be a boolean", key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* an integer parameter in [1, 1 << 20] (as the CLI's options), else *out untouched */
static bool param_int(json_t *req, const char *key, int *out, reply *r) {
    json_t *v = param(req, key);
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1 << 20) {
        reply_error(r, 422, "Validation", "`%s` must be an integer from 1 to %d", key, 1 << 20);
        return false;
    }
    *out = (int)json_integer_value(v);
    return true;
}

/* A list of strings (or one string, when one_ok) as borrowed pointers into the request; *n 0 and a non-NULL list for
 * []. false after the reply. */
static bool param_strings(json_t *req, const char *key, bool one_ok, const char ***out, size_t *n, reply *r) {
    json_t *v = param(req, key);
    *out = NULL;
    *n = 0;
    if (!v) return true;
    if (!json_is_array(v) && !(one_ok && json_is_string(v))) {
        reply_error(r, 422, "Validation", "`%s` must be a list of strings%s", key, one_ok ? " or a string" : "");
        return false;
    }
    size_t k = json_is_array(v) ? json_array_size(v) : 1;
    *out = calloc(k ? k : 1, sizeof **out);
    if (!*out) {
        reply_error(r, 424, "Backend", "out of memory");
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(e)) {
            free(*out);
            *out = NULL;
            reply_error(r, 422, "Validation", "`%s` must be a list of strings%s", key, one_ok ? " or a string" : "");
            return false;
        }
        (*out)[i] = json_string_value(e);
    }
    *n = k;
    return true;
}

/* truncate / truncation_direction, from parameters or the top level */
static bool task_trunc(server *s, json_t *req, int *truncate, int *left, reply *r) {
    *truncate = s->cfg.auto_truncate;
    *left = 0;
    if (!param_bool(req, "truncate", truncate, r)) return false;
    if (s->cfg.auto_truncate) *truncate = 1;
    json_t *dir = param(req, "truncation_direction");
    if (dir) {
        const char *d = json_string_value(dir);
        if (d && (!strcmp(d, "left") || !strcmp(d, "Left"))) *left = 1;
        else if (!d || (strcmp(d, "right") && strcmp(d, "Right"))) {
            reply_error(r, 422, "Validation", "`truncation_direction` must be \"right\" or \"left\"");
            return false;
        }
    }
    return true;
}

/* 424 unless the model has the head the route needs (as /predict refuses a model without a classifier) */
static bool need_head(server *s, bertc_head h, const char *route, const char *cls, reply *r) {
    if (s->info.head == h) return true;
    if (s->info.head == BERTC_HEAD_NONE)
        reply_error(r, 424, "Backend", "`%s` needs a %s head (a *%s checkpoint); %s is a base model (use /embed)", route,
                    bertc_head_name(h), cls, s->model_id);
    else
        reply_error(r, 424, "Backend", "`%s` needs a %s head (a *%s checkpoint); %s has a %s head (use %s)", route,
                    bertc_head_name(h), cls, s->model_id, bertc_head_name(s->info.head), head_route(s->info.head));
    return false;
}

static json_t *num_json(double v) { return isfinite(v) ? json_real(v) : json_null(); }
/* the library's strings are UTF-8 (decoders are lossy, as tokenizers' are); null if one were not */
static json_t *str_json(const char *v) {
    json_t *j = v ? json_string(v) : NULL;
    return j ? j : json_null();
}

/* as `bertc ner` prints it */
static json_t *entities_json(const bertc_token_class_result *res, bool grouped) {
    json_t *a = json_array();
    for (size_t k = 0; k < res->n; k++) {
        const bertc_token_entity *e = &res->entities[k];
        json_t *o = json_object();
        json_object_set_new(o, grouped ? "entity_group" : "entity", str_json(e->label));
        json_object_set_new(o, "score", num_json(e->score));
        if (!grouped) json_object_set_new(o, "index", json_integer(e->index));
        json_object_set_new(o, "word", str_json(e->word));
        json_object_set_new(o, "start", json_integer(e->start));
        json_object_set_new(o, "end", json_integer(e->end));
        json_array_append_new(a, o);
    }
    return a;
}

/* The "inputs" of /ner or /fill-mask, truncated or refused as TEI does (task_trunc), length-checked and run through
 * the batcher as job kind `kind` with encode's truncation set to match; false (reply set) when it did not run. */
static bool submit_texts(server *s, json_t *req, job *j, int kind, bertc_encode_params *encode, input_list *l, reply *r) {
    int truncate, left;
    long tokens;
    if (!task_trunc(s, req, &truncate, &left, r) || !texts_of(s, json_object_get(req, "inputs"), l, r) ||
        !validate_lengths(s, l, truncate, left, &tokens, NULL, r))
        return false;
    encode->truncation = 1; /* lengths were checked above */
    encode->truncate_left = left;
    j->kind = kind;
    j->n = l->n;
    j->in = l->in;
    j->tokens = tokens;
    return submit(s, j, r);
}

/* /ner (/token-classification): {"inputs": string | [string], "parameters": {"aggregation_strategy",
 * "ignore_labels"}, "truncate", "truncation_direction"} -> entities (a list of lists for a list) */
static void handle_ner(server *s, json_t *req, reply *r) {
    input_list l = {NULL, 0, 0};
    job j;
    memset(&j, 0, sizeof j);
    const char **ign = NULL;
    size_t n_ign = 0;
    if (!need_head(s, BERTC_HEAD_TOKEN_CLASSIFICATION, "/ner", "ForTokenClassification", r) || !params_ok(req, r)) return;
    j.ner = bertc_token_class_default_params();
    json_t *agg = param(req, "aggregation_strategy");
    if (agg) {
        static const char *const aggs[] = {"none", "simple", "first", "average", "max"};
        int k = 0;
        while (json_is_string(agg) && k < 5 && strcasecmp(json_string_value(agg), aggs[k])) k++;
        if (!json_is_string(agg) || k == 5) {
            reply_error(r, 422, "Validation",
                        "`aggregation_strategy` must be \"none\", \"simple\", \"first\", \"average\" or \"max\"");
            return;
        }
        j.ner.aggregation = (bertc_aggregation)k;
    }
    if (!param_strings(req, "ignore_labels", false, &ign, &n_ign, r)) return;
    if (ign) {
        j.ner.ignore_labels = ign;
        j.ner.n_ignore = n_ign;
    }
    if (!submit_texts(s, req, &j, K_NER, &j.ner.encode, &l, r)) goto done;
    {
        bool grouped = j.ner.aggregation != BERTC_AGGREGATE_NONE;
        const bertc_token_class_result *res = j.task;
        json_t *out = l.single ? NULL : json_array();
        for (size_t i = 0; i < l.n; i++) {
            json_t *e = entities_json(&res[i], grouped);
            if (l.single) out = e;
            else json_array_append_new(out, e);
        }
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
    free(ign);
}

/* The QA inputs: {"inputs": {"question", "context"} | [{...}, ...]}, or "question" and "context" at the top level;
 * question as text, context as pair. */
static bool qa_inputs(server *s, json_t *req, input_list *l, reply *r) {
    size_t cap = (size_t)s->cfg.max_client_batch;
    json_t *in = json_object_get(req, "inputs");
    l->n = 0;
    l->single = !json_is_array(in);
    if (!in && !json_object_get(req, "question") && !json_object_get(req, "context")) {
        reply_error(r, 422, "Validation", "missing field `inputs` (or `question` and `context`)");
        return false;
    }
    if (in && !json_is_object(in) && !json_is_array(in)) {
        reply_error(r, 422, "Validation",
                    "Input validation error: `inputs` must be {\"question\": string, \"context\": string} or a list of them");
        return false;
    }
    size_t n = json_is_array(in) ? json_array_size(in) : 1;
    if (n == 0) {
        reply_error(r, 400, "Empty", "Input validation error: `inputs` cannot be empty");
        return false;
    }
    if (n > cap) {
        reply_error(r, 413, "Validation", "Input validation error: batch size %zu > maximum allowed batch size %d", n,
                    s->cfg.max_client_batch);
        return false;
    }
    l->in = calloc(n, sizeof(bertc_text));
    if (!l->in) {
        reply_error(r, 424, "Backend", "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_array(in) ? json_array_get(in, i) : in ? in : req;
        json_t *q = json_object_get(item, "question"), *c = json_object_get(item, "context");
        if (!json_is_string(q) || !json_is_string(c)) {
            reply_error(r, 422, "Validation", "Input validation error: %s must have a string `question` and a string "
                        "`context`", in ? "each input" : "the request");
            return false;
        }
        if (!json_string_length(q) || !json_string_length(c)) { /* as the pipeline's argument handler refuses them */
            reply_error(r, 400, "Empty", "Input validation error: `%s` cannot be empty",
                        json_string_length(q) ? "context" : "question");
            return false;
        }
        add_input(l, n, q, c);
    }
    return true;
}

/* The tokens the pipeline will compute for a question and its context: every window of max_seq_len over the context
 * (the library's windowing, for the batch token budget). */
static bool qa_tokens(server *s, const input_list *l, const bertc_qa_params *p, long *tokens, reply *r) {
    *tokens = 0;
    int cap = bertc_tokenizer_max_length(s->tok);
    long max_seq = p->max_seq_len > 0 ? p->max_seq_len : cap < 384 ? cap : 384;
    long stride = p->doc_stride > 0 ? p->doc_stride : max_seq / 2 < 128 ? max_seq / 2 : 128;
    for (size_t i = 0; i < l->n; i++) {
        if (stop_here(s, r)) return false;
        bertc_encode_params ep = bertc_encode_default_params();
        ep.truncation = 0;
        ep.max_length = 1 << 30;
        bertc_encoding e;
        bertc_error err;
        if (bertc_tokenize(s->tok, l->in[i].text, l->in[i].len, l->in[i].pair, l->in[i].pair_len, &ep, &e, &err)) {
            reply_tokenizer_error(r, &err, "Tokenization error: ");
            return false;
        }
        long cn = 0, total = (long)e.n;
        for (size_t k = 0; k < e.n; k++) cn += e.sequence[k] == 1;
        bertc_encoding_free(&e);
        long t = total;
        if (total > max_seq && cn > total - max_seq) {
            long keep = cn - (total - max_seq), step = keep - stride;
            if (step > 0) t = (1 + (cn - keep + step - 1) / step) * max_seq;
        }
        *tokens += t;
    }
    if (*tokens > s->cfg.max_batch_tokens) {
        reply_error(r, 413, "Validation",
                    "Input validation error: the request has %ld tokens, more than --max-batch-tokens %d", *tokens,
                    s->cfg.max_batch_tokens);
        return false;
    }
    return true;
}

/* /qa (/question-answering): {"question", "context", "top_k", ...} or {"inputs": {"question", "context"} | [...],
 * "parameters": {...}} -> an answer object when one answer comes back, else a list (a list of those for a list) */
static void handle_qa(server *s, json_t *req, reply *r) {
    input_list l = {NULL, 0, 0};
    job j;
    memset(&j, 0, sizeof j);
    long tokens;
    if (!need_head(s, BERTC_HEAD_QUESTION_ANSWERING, "/qa", "ForQuestionAnswering", r) || !params_ok(req, r)) return;
    j.qa = bertc_qa_default_params();
    int impossible = 0, align = 1;
    if (!param_int(req, "top_k", &j.qa.top_k, r) || !param_int(req, "doc_stride", &j.qa.doc_stride, r) ||
        !param_int(req, "max_seq_len", &j.qa.max_seq_len, r) ||
        !param_int(req, "max_question_len", &j.qa.max_question_len, r) ||
        !param_int(req, "max_answer_len", &j.qa.max_answer_len, r) ||
        !param_bool(req, "handle_impossible_answer", &impossible, r) || !param_bool(req, "align_to_words", &align, r))
        return;
    j.qa.handle_impossible_answer = impossible;
    j.qa.align_to_words = align;
    if (!qa_inputs(s, req, &l, r) || !qa_tokens(s, &l, &j.qa, &tokens, r)) goto done;
    j.kind = K_QA;
    j.n = l.n;
    j.in = l.in;
    j.tokens = tokens;
    r->inputs = l.n;
    r->tokens = (long)tokens;
    if (!submit(s, &j, r)) goto done;
    {
        const bertc_qa_result *res = j.task;
        json_t *out = l.single ? NULL : json_array();
        for (size_t i = 0; i < l.n; i++) {
            json_t *v = res[i].n == 1 ? NULL : json_array();
            for (size_t k = 0; k < res[i].n; k++) {
                const bertc_answer *a = &res[i].answers[k];
                json_t *o = json_object();
                json_object_set_new(o, "score", num_json(a->score));
                json_object_set_new(o, "start", json_integer(a->start));
                json_object_set_new(o, "end", json_integer(a->end));
                json_object_set_new(o, "answer", str_json(a->answer));
                if (res[i].n == 1) v = o;
                else json_array_append_new(v, o);
            }
            if (l.single) out = v;
            else json_array_append_new(out, v);
        }
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
}

/* /fill-mask: {"inputs": string | [string], "parameters": {"top_k", "targets"}, "truncate", "truncation_direction"} ->
 * per input the candidates of its mask, or a list of such lists (one per mask) when it has several */
static void handle_fill_mask(server *s, json_t *req, reply *r) {
    input_list l = {NULL, 0, 0};
    job j;
    memset(&j, 0, sizeof j);
    const char **tg = NULL;
    size_t n_tg = 0;
    if (!need_head(s, BERTC_HEAD_MASKED_LM, "/fill-mask", "ForMaskedLM", r) || !params_ok(req, r)) return;
    j.fm = bertc_fill_mask_default_params();
    if (!param_int(req, "top_k", &j.fm.top_k, r) || !param_strings(req, "targets", true, &tg, &n_tg, r)) return;
    if (tg) {
        j.fm.targets = tg;
        j.fm.n_targets = n_tg;
    }
    if (!submit_texts(s, req, &j, K_FILL_MASK, &j.fm.encode, &l, r)) goto done;
    {
        const bertc_fill_mask_result *res = j.task;
        json_t *out = l.single ? NULL : json_array();
        for (size_t i = 0; i < l.n; i++) {
            json_t *v = res[i].n_masks > 1 ? json_array() : NULL;
            for (size_t m = 0; m < res[i].n_masks; m++) {
                json_t *c = json_array();
                for (size_t k = 0; k < res[i].k; k++) {
                    const bertc_mask_candidate *mc = &res[i].candidates[m * res[i].k + k];
                    json_t *o = json_object();
                    json_object_set_new(o, "score", num_json(mc->score));
                    json_object_set_new(o, "token", json_integer(mc->token));
                    json_object_set_new(o, "token_str", str_json(mc->token_str));
                    json_object_set_new(o, "sequence", str_json(mc->sequence));
                    json_array_append_new(c, o);
                }
                if (v) json_array_append_new(v, c);
                else v = c;
            }
            if (!v) v = json_array();
            if (l.single) out = v;
            else json_array_append_new(out, v);
        }
        reply_json(r, 200, out);
    }
done:
    job_free_results(&j);
    free(l.in);
    free(tg);
}

#include "openapi.inc"

/* Swagger UI (app/serve/docs_assets.S) */
extern const char bertc_swagger_js[], bertc_swagger_js_end[], bertc_swagger_css[], bertc_swagger_css_end[];

static char *copy_asset(const char *a, const char *b) {
    size_t n = (size_t)(b - a);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, a, n);
        p[n] = 0;
    }
    return p;
}

/* GET /openapi.json; GET /docs: Swagger UI over it, as TEI serves it, with its script and stylesheet from the binary
 * (/docs/swagger-ui-bundle.js, /docs/swagger-ui.css; relative URLs, so it works behind a path prefix too). */
static void handle_openapi(server *s, reply *r, const char *path) {
    (void)s;
    r->status = 200;
    if (!strcmp(path, "/docs/swagger-ui-bundle.js")) {
        r->type = "application/javascript; charset=utf-8";
        r->body = copy_asset(bertc_swagger_js, bertc_swagger_js_end);
    } else if (!strcmp(path, "/docs/swagger-ui.css")) {
        r->type = "text/css; charset=utf-8";
        r->body = copy_asset(bertc_swagger_css, bertc_swagger_css_end);
    } else if (!strcmp(path, "/docs") || !strcmp(path, "/docs/")) {
        const char *up = path[5] ? "../" : ""; /* /docs/ is one folder deeper than /docs */
        char page[2048];
        snprintf(page, sizeof page,
                 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>bertc serve: API</title><link rel=\"stylesheet\" href=\"%sdocs/swagger-ui.css\"></head>\n"
                 "<body><div id=\"swagger-ui\"></div>\n<script src=\"%sdocs/swagger-ui-bundle.js\"></script>\n"
                 "<script>window.ui = SwaggerUIBundle({url: \"%sopenapi.json\", dom_id: \"#swagger-ui\", "
                 "deepLinking: true});</script>\n</body></html>\n",
                 up, up, up);
        r->type = "text/html; charset=utf-8";
        r->body = strdup(page);
    } else {
        r->type = "application/json";
        r->body = strdup(openapi_json);
    }
    if (!r->body) reply_error(r, 424, "Backend", "out of memory");
}

/* POST /: what TEI answers there for the model's type (classifier: /predict; re-ranker: /rerank when the body has a
 * query, else /predict; embedding model: /embed, or /similarity for {"inputs": {"source_sentence", ...}}); a
 * token-classification, question-answering or masked-LM model: /ner, /qa or /fill-mask. */
/* POST /: the Inference API's `parameters` name the task the client asked for. Parameters of a task this model has
 * no head for are refused (424, as TEI refuses a route its model cannot serve), and parameters no task of the
 * model takes are refused by name (422), rather than answering another task silently. true: go on. */
static bool root_params_ok(server *s, json_t *req, reply *r) {
    json_t *p = json_object_get(req, "parameters");
    if (!p || json_is_null(p)) return true;
    if (!json_is_object(p)) {
        reply_error(r, 422, "Validation", "`parameters` must be an object");
        return false;
    }
    static const char *const zero_shot[] = {"candidate_labels", "hypothesis_template", "multi_label", NULL};
    static const char *const classify[] = {"top_k", "function_to_apply", NULL};
    static const char *const ner[] = {"aggregation_strategy", "ignore_labels", "stride", NULL};
    static const char *const qa[] = {"top_k", "doc_stride", "max_answer_len", "max_seq_len", "max_question_len",
                                     "handle_impossible_answer", "align_to_words", NULL};
    static const char *const fill[] = {"top_k", "targets", NULL};
    static const char *const embed[] = {"normalize", "prompt_name", "truncate", "truncation_direction", NULL};
    const char *const *mine;
    const char *task;
    bertc_head h = s->info.head;
    if (h == BERTC_HEAD_TOKEN_CLASSIFICATION) mine = ner, task = "token-classification";
    else if (h == BERTC_HEAD_QUESTION_ANSWERING) mine = qa, task = "question-answering";
    else if (h == BERTC_HEAD_MASKED_LM && !bertc_model_st_config(s->m)->present) mine = fill, task = "fill-mask";
    else if (s->info.problem != BERTC_PROBLEM_NONE && s->info.n_labels > 0) mine = classify, task = "text-classification";
    else mine = embed, task = "feature-extraction";
    char unknown[512] = "";
    size_t at = 0;
    const char *key;
    json_t *v;
    json_object_foreach(p, key, v) {
        bool ok = false;
        for (int k = 0; mine[k] && !ok; k++) ok = !strcmp(key, mine[k]);
        if (ok || json_is_null(v)) continue;
        for (int k = 0; zero_shot[k]; k++)
            if (!strcmp(key, zero_shot[k])) {
                reply_error(r, 424, "Backend", "zero-shot-classification is not this model's task: %s is served for %s "
                            "(zero-shot needs an NLI model with an entailment label; `bertc zero-shot` runs one)",
                            s->model_id, task);
                return false;
            }
        int n = snprintf(unknown + at, sizeof unknown - at, "%s`%s`", at ? ", " : "", key);
        if (n > 0 && (size_t)n < sizeof unknown - at) at += (size_t)n;
    }
    if (at) {
        reply_error(r, 422, "Validation", "unknown parameters for %s (the task of %s): %s; it takes %s%s%s%s", task,
                    s->model_id, unknown, mine[0], mine[1] ? ", " : "", mine[1] ? mine[1] : "", mine[2] ? ", ..." : "");
        return false;
    }
    return true;
}

static void handle_root(server *s, json_t *req, reply *r) {
    json_t *in = json_object_get(req, "inputs");
    if (!root_params_ok(s, req, r)) return;
    /* a task head: its pipeline, as the Inference API answers for the model's task (a masked LM that is a
       sentence-transformers folder stays an embedding model) */
    if (s->info.head == BERTC_HEAD_TOKEN_CLASSIFICATION) handle_ner(s, req, r);
    else if (s->info.head == BERTC_HEAD_QUESTION_ANSWERING) handle_qa(s, req, r);
    else if (s->info.head == BERTC_HEAD_MASKED_LM && !bertc_model_st_config(s->m)->present) handle_fill_mask(s, req, r);
    else if (json_is_object(in) && json_object_get(in, "source_sentence")) handle_similarity(s, req, r);
    else if (json_object_get(req, "query") && json_object_get(req, "texts")) handle_rerank(s, req, r);
    else if (s->info.problem != BERTC_PROBLEM_NONE && s->info.n_labels > 0) {
        r->nest = 1;
        handle_infer(s, R_PREDICT, req, r);
    }
    else handle_infer(s, R_EMBED, req, r);
}

/* The route of a request, GET / as TEI's health check. */
static int route_for(const char *method, const char *path) {
    int route = route_of(path);
    return route == R_ROOT && !strcmp(method, "GET") ? R_HEALTH : route;
}

int server_begin(server *s, const char *method, const char *path, size_t len, server_req **rq, int *status,
                 char **body_out, size_t *body_len, const char **content_type) {
    double t0 = now_ms();
    reply r = {0, NULL, NULL, 0, 0, 0, 0, 0, 0};
    int route = route_for(method, path);
    bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
    *rq = NULL;
    pthread_mutex_lock(&s->mu);
    int draining = s->draining || s->stopping, failed = s->failed, full = s->in_flight >= s->cfg.max_concurrent;
    pthread_mutex_unlock(&s->mu);
    if (route == R_OTHER) {
        reply_error(&r, 404, "Validation", "no route %s (routes: POST / /predict /embed /embed_all /rerank /similarity "
                    "/tokenize /decode /v1/embeddings /ner /qa /fill-mask, GET /info /health /metrics /openapi.json /docs "
                    "/v1/models)",
                    path);
    } else if ((route <= LAST_POST && !post) || (route > LAST_POST && !get)) {
        reply_error(&r, 405, "Validation", "%s takes %s, not %s", path, route <= LAST_POST ? "POST" : "GET", method);
    } else if (route == R_OPENAPI || route == R_DOCS) {
        handle_openapi(s, &r, route == R_DOCS ? path : "/openapi.json");
    } else if (route == R_INFO) {
        handle_info(s, &r);
    } else if (route == R_MODELS) { /* OpenAI's models.list: the one model served */
        reply_json(&r, 200, json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list", "data", "id", s->model_id, "object",
                                      "model", "created", 0, "owned_by", "bertc"));
    } else if (route == R_METRICS) {
        handle_metrics(s, &r);
    } else if (route == R_HEALTH && (draining || (failed && full))) {
        reply_error(&r, 503, "Unhealthy", "%s", draining ? "shutting down" : "inference failed (out of memory)");
    } else if (route == R_HEALTH && !failed) {
        r.status = 200; /* the batcher runs and the last inference succeeded */
        r.type = "text/plain";
        r.body = strdup("");
    } else if (draining) {
        reply_error(&r, 503, "Unhealthy", "the server is shutting down");
    } else if (len > s->cfg.payload_limit) {
        reply_error(&r, 413, "Validation", "Input validation error: the request body is larger than the %zu-byte limit",
                    s->cfg.payload_limit);
    } else if (full) { /* TEI's permit, taken before any parsing or tokenization */
        reply_error(&r, 429, "Overloaded", "Model is overloaded: %d requests in (--max-concurrent-requests)",
                    s->cfg.max_concurrent);
    } else {
        server_req *q = calloc(1, sizeof *q);
        if (!q) {
            reply_error(&r, 424, "Backend", "out of memory");
        } else {
            q->route = route;
            snprintf(q->method, sizeof q->method, "%s", method);
            q->t0 = t0;
            pthread_mutex_lock(&s->mu);
            s->in_flight++;
            pthread_mutex_unlock(&s->mu);
            *rq = q;
            return 0;
        }
    }
    finish(s, &r, method, route, path, t0, status, body_out, body_len, content_type);
    return 1;
}

/* The work of an admitted request, on the calling thread, under one CPU slot (given back while it waits for the
 * batcher). */
static void process(server *s, server_req *q, const char *body, size_t len, reply *r) {
    int route = q->route;
    cur_rq = q;
    cpu_take(s, 1);
    if (stop_here(s, r)) {
        /* dropped before it started */
    } else if (route == R_HEALTH) {
        handle_health(s, r);
    } else {
        json_error_t je;
        int oom;
        r->track = 1;
        r->jf = jalloc_failures();
        json_t *req = jload(body ? body : "", len, JSON_REJECT_DUPLICATES, &je, &oom);
        if (oom) reply_error(r, 424, "Backend", "out of memory");
        else if (!req)
            reply_error(r, 400, "Validation", "malformed JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        else if (!json_is_object(req)) reply_error(r, 422, "Validation", "the request body must be a JSON object");
        else if (route == R_ROOT) handle_root(s, req, r);
        else if (route == R_RERANK) handle_rerank(s, req, r);
        else if (route == R_SIMILARITY) handle_similarity(s, req, r);
        else if (route == R_EMBED_ALL) handle_embed_all(s, req, r);
        else if (route == R_DECODE) handle_decode(s, req, r);
        else if (route == R_OPENAI) handle_openai(s, req, r);
        else if (route == R_NER) handle_ner(s, req, r);
        else if (route == R_QA) handle_qa(s, req, r);
        else if (route == R_FILL_MASK) handle_fill_mask(s, req, r);
        else handle_infer(s, route, req, r);
        json_decref(req);
    }
    cpu_give(s, 1);
    cur_rq = NULL;
}

/* Answers q (finish) and forgets it. */
static void end_request(server *s, server_req *q, reply *r, int *status, char **body_out, size_t *body_len,
                        const char **content_type) {
    finish(s, r, q->method, q->route, NULL, q->t0, status, body_out, body_len, content_type);
    pthread_mutex_lock(&s->mu);
    s->in_flight--;
    pthread_mutex_unlock(&s->mu);
    free(q->body);
    free(q);
}

static void *worker_main(void *arg) {
    server *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->pending && !s->quit) pthread_cond_wait(&s->cv_req, &s->mu);
        if (!s->pending) break;
        server_req *q = s->pending;
        s->pending = q->next;
        if (!s->pending) s->pending_tail = NULL;
        s->idle_workers--;
        pthread_mutex_unlock(&s->mu);
        reply r = {0, NULL, NULL, 0, 0, 0, 0, 0, 0};
        process(s, q, q->body, q->len, &r);
        server_done_fn done = q->done;
        void *done_arg = q->arg;
        int status;
        char *out;
        size_t out_len;
        const char *type;
        end_request(s, q, &r, &status, &out, &out_len, &type);
        done(done_arg, status, out, out_len, type);
        pthread_mutex_lock(&s->mu);
        s->idle_workers++;
    }
    s->idle_workers--;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void server_enqueue(server *s, server_req *q, char *body, size_t len, server_done_fn done, server_gone_fn gone,
                    void *arg) {
    q->body = body;
    q->len = len;
    q->done = done;
    q->gone = gone;
    q->arg = arg;
    q->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->pending_tail) s->pending_tail->next = q;
    else s->pending = q;
    s->pending_tail = q;
    /* one more worker when none is free (they wait on the batcher without a CPU slot) */
    int queued = 0;
    for (server_req *p = s->pending; p; p = p->next) queued++;
    if (queued > s->idle_workers && s->n_workers < s->max_workers &&
        !pthread_create(&s->workers[s->n_workers], NULL, worker_main, s)) {
        s->n_workers++;
        s->idle_workers++;
    }
    pthread_cond_signal(&s->cv_req);
    bool none = s->n_workers == 0;
    pthread_mutex_unlock(&s->mu);
    if (none) { /* not even one thread could start: answer here */
        reply r = {0, NULL, NULL, 0, 0, 0, 0, 0, 0};
        reply_error(&r, 503, "Unhealthy", "cannot start a worker thread");
        pthread_mutex_lock(&s->mu);
        if (s->pending == q) s->pending = s->pending_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        int status;
        char *out;
        size_t out_len;
        const char *type;
        end_request(s, q, &r, &status, &out, &out_len, &type);
        done(arg, status, out, out_len, type);
    }
}

void server_handle(server *s, const char *method, const char *path, const char *body, size_t len, int *status,
                   char **body_out, size_t *body_len, const char **content_type) {
    server_req *q;
    if (server_begin(s, method, path, len, &q, status, body_out, body_len, content_type)) return;
    reply r = {0, NULL, NULL, 0, 0, 0, 0, 0, 0};
    process(s, q, body, len, &r);
    end_request(s, q, &r, status, body_out, body_len, content_type);
}
