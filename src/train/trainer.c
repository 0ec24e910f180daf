/*
 * trainer.c — bertc_train: the loop of transformers' Trainer for sequence classification.
 *
 * Steps: len(dataloader) = ceil(N / batch) micro-batches per epoch (the last short batch kept), an optimizer
 * step every gradient_accumulation_steps micro-batches (and at the end of an epoch), each micro-batch's loss
 * divided by the accumulation steps; max_steps = ceil(epochs * updates per epoch). Before each step the
 * gradient's global L2 norm is taken and clipped to max_grad_norm (torch's clip_grad_norm_: scale
 * max / (norm + 1e-6) when below 1); AdamW as torch.optim.AdamW (decay first: w *= 1 - lr wd; then
 * m, v, bias corrections, w -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)); the schedule's factor is taken at
 * the step count before the step, and the logged learning_rate after it, as Trainer logs get_last_lr().
 * Logged "loss" is the mean over optimizer steps since the last log, rounded to 4 digits as Trainer does.
 *
 * Randomness is counter-based on the seed: the order of epoch e is a Fisher-Yates shuffle keyed by (seed, e),
 * the dropout masks of micro-batch k are keyed by (seed, k). A checkpoint therefore holds everything needed to
 * go on exactly (weights, Adam moments, step, position in the epoch, the loss being accumulated).
 */
#include "base/json.h"
#include "formats/tensors.h"
#include "base/durable.h"
#include "bertc_train.h"
#include "tmodel.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bertc_train_params bertc_train_default_params(void) {
    bertc_train_params p;
    memset(&p, 0, sizeof p);
    p.data = bertc_dataset_default_params();
    p.epochs = 3;
    p.learning_rate = 1e-5;
    p.batch_size = 32;
    p.warmup_steps = 600;
    p.max_length = 128;
    p.adam_beta1 = 0.9;
    p.adam_beta2 = 0.999;
    p.adam_epsilon = 1e-8;
    p.max_grad_norm = 1.0;
    p.gradient_accumulation_steps = 1;
    p.seed = 42;
    p.shuffle = 1;
    p.logging_steps = 50;
    p.save_total_limit = 2; /* the best and the last (a checkpoint is ~6x the fp16 model: weights + Adam moments) */
    p.train_sample = 1000;
    p.overfit_gap = 0.05;
    return p;
}

/* ---- the data ---- */
typedef struct tdata {
    size_t n;
    bertc_encoding *enc;
    int *ids;    /* single label */
    float *vals; /* multi-label (n x L) or regression (n x L) */
    float *soft; /* distillation: the teacher's logits (n x L) */
    long *line;
    size_t tokens;
} tdata;

static void tdata_free(tdata *d) {
    if (d->enc)
        for (size_t i = 0; i < d->n; i++) bertc_encoding_free(&d->enc[i]);
    free(d->enc);
    free(d->ids);
    free(d->vals);
    free(d->soft);
    free(d->line);
    memset(d, 0, sizeof *d);
}

typedef struct names {
    char **v;
    int n;
} names;

static void names_free(names *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int names_add(names *s, const char *x, size_t len) {
    char **nv = realloc(s->v, (size_t)(s->n + 1) * sizeof *nv);
    if (!nv) return -1;
    s->v = nv;
    s->v[s->n] = strndup(x, len);
    return s->v[s->n] ? s->n++ : -1;
}

static int names_find(const names *s, const char *x, size_t len) {
    for (int i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == len && !memcmp(s->v[i], x, len)) return i;
    return -1;
}

/* The items of a multi-label field: a JSON-ish list "[a, b]" / "['a','b']" or a comma-separated list. */
typedef struct span {
    const char *s;
    size_t len;
} span;

static int split_items(const char *lab, span *out, int cap) {
    const char *p = lab, *end = lab + strlen(lab);
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p < end && *p == '[') {
        p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r')) end--;
        if (end > p && end[-1] == ']') end--;
    }
    int n = 0;
    while (p < end) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        const char *e = q ? q : end, *a = p;
        while (a < e && (*a == ' ' || *a == '"' || *a == '\'')) a++;
        const char *b = e;
        while (b > a && (b[-1] == ' ' || b[-1] == '"' || b[-1] == '\'')) b--;
        if (b > a) {
            if (n == cap) return -1;
            out[n].s = a;
            out[n].len = (size_t)(b - a);
            n++;
        }
        p = q ? q + 1 : end;
    }
    return n;
}

static bool all_ints(const span *it, int n, long *maxv) {
    for (int i = 0; i < n; i++) {
        if (it[i].len == 0 || it[i].len > 9) return false;
        long v = 0;
        for (size_t k = 0; k < it[i].len; k++) {
            if (it[i].s[k] < '0' || it[i].s[k] > '9') return false;
            v = v * 10 + (it[i].s[k] - '0');
        }
        if (v > *maxv) *maxv = v;
    }
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Maps an item to an id: a name of `ns` (exactly, then ignoring ASCII case), else an integer id in range. */
static int map_item(const names *ns, const char *s, size_t len) {
    char buf[512];
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return bertc_label_lookup(buf, (const char *const *)ns->v, ns->n);
}

#define MAX_ITEMS 1024

/* Decides the label names when neither --labels nor a kept head fix them: integer labels 0..max become LABEL_i
 * (as transformers names them), anything else the sorted distinct names. */
static bertc_status names_from_data(const bertc_dataset *d, bool multi, names *ns, bertc_error *err) {
    long maxv = -1;
    bool ints = true;
    names seen = {0};
    span it[MAX_ITEMS];
    for (size_t i = 0; i < d->n; i++) {
        const char *lab = d->ex[i].label ? d->ex[i].label : "";
        int k = multi ? split_items(lab, it, MAX_ITEMS) : 1;
        if (!multi) {
            it[0].s = lab;
            it[0].len = strlen(lab);
        }
        if (k < 0) {
            names_free(&seen);
            return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: more than %d labels", d->name, d->ex[i].line, MAX_ITEMS);
        }
        if (ints && !all_ints(it, k, &maxv)) ints = false;
        for (int j = 0; j < k; j++)
            if (names_find(&seen, it[j].s, it[j].len) < 0 && names_add(&seen, it[j].s, it[j].len) < 0) {
                names_free(&seen);
                return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
    }
    if (ints) {
        names_free(&seen);
        int n = (int)(maxv + 1 < 2 ? 2 : maxv + 1);
        if (maxv > 100000) return bertc_fail(err, BERTC_ERR_INPUT, "%s: label id %ld is too large", d->name, maxv);
        for (int i = 0; i < n; i++) {
            char b[32];
            int l = snprintf(b, sizeof b, "LABEL_%d", i);
            if (names_add(ns, b, (size_t)l) < 0) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
        return BERTC_OK;
    }
    qsort(seen.v, (size_t)seen.n, sizeof *seen.v, cmp_str);
    *ns = seen;
    return BERTC_OK;
}

/* Labels of a dataset as ids / multi-hot / values; rows whose label is unknown fail (strict) or are dropped with
 * a count (validation). */
static bertc_status labels_of(const bertc_dataset *d, bertc_problem prob, const names *ns, bool strict, const char *why,
                              tdata *out, unsigned char *keep, size_t *dropped, char *first_bad, size_t bad_cap,
                              bertc_error *err) {
    const int L = prob == BERTC_PROBLEM_REGRESSION ? 1 : ns->n;
    if (prob == BERTC_PROBLEM_SINGLE_LABEL) out->ids = malloc((d->n ? d->n : 1) * sizeof(int));
    else out->vals = calloc((d->n ? d->n : 1) * (size_t)L, sizeof(float));
    if (!out->ids && !out->vals) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    span it[MAX_ITEMS];
    size_t k = 0;
    *dropped = 0;
    for (size_t i = 0; i < d->n; i++) {
        const char *lab = d->ex[i].label;
        if (!lab) return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: no label", d->name, d->ex[i].line);
        bool ok = true;
        if (prob == BERTC_PROBLEM_REGRESSION) {
            char *e;
            double v = strtod(lab, &e);
            while (*e == ' ') e++;
            if (e == lab || *e || !isfinite(v))
                return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: regression label \"%.40s\" is not a number", d->name,
                                  d->ex[i].line, lab);
            out->vals[k] = (float)v;
        } else if (prob == BERTC_PROBLEM_SINGLE_LABEL) {
            int id = map_item(ns, lab, strlen(lab));
            if (id < 0) ok = false;
            else out->ids[k] = id;
        } else {
            int c = split_items(lab, it, MAX_ITEMS);
            if (c < 0) return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: more than %d labels", d->name, d->ex[i].line, MAX_ITEMS);
            for (int j = 0; j < c && ok; j++) {
                int id = map_item(ns, it[j].s, it[j].len);
                if (id < 0) ok = false;
                else out->vals[k * L + id] = 1.0f;
            }
        }
        if (!ok) {
            if (strict) {
                char list[300] = "";
                for (int j = 0; j < ns->n && strlen(list) < 200; j++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", ns->v[j]);
                return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: label \"%.60s\" is not one of %s (%s)", d->name,
                                  d->ex[i].line, lab, why, list);
            }
            if (!*dropped) snprintf(first_bad, bad_cap, "%s", lab);
            (*dropped)++;
            if (prob != BERTC_PROBLEM_SINGLE_LABEL) memset(out->vals + k * L, 0, (size_t)L * sizeof(float));
            keep[i] = 0;
            continue;
        }
        keep[i] = 1;
        k++;
    }
    return BERTC_OK;
}

static bertc_status load_split(const bertc_tokenizer *tok, const bertc_dataset *d, bertc_problem prob, const names *ns,
                               bool strict, const char *why, int max_length, const float *soft, tdata *out, size_t *dropped,
                               char *first_bad, size_t bad_cap, bertc_error *err) {
    memset(out, 0, sizeof *out);
    unsigned char *keep = malloc(d->n ? d->n : 1);
    if (!keep) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bertc_status s = labels_of(d, prob, ns, strict, why, out, keep, dropped, first_bad, bad_cap, err);
    if (!s) {
        out->enc = calloc(d->n ? d->n : 1, sizeof *out->enc);
        out->line = calloc(d->n ? d->n : 1, sizeof *out->line);
        if (soft) out->soft = malloc((d->n ? d->n : 1) * (size_t)ns->n * sizeof(float));
        if (!out->enc || !out->line || (soft && !out->soft)) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    bertc_encode_params ep = bertc_encode_default_params();
    ep.max_length = max_length;
    for (size_t i = 0; i < d->n && !s; i++) {
        if (!keep[i]) continue;
        const bertc_example *e = &d->ex[i];
        s = bertc_tokenize(tok, e->text, e->len, e->pair, e->pair_len, &ep, &out->enc[out->n], err);
        if (s) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            bertc_fail(err, s, "%s:%ld: %s", d->name, e->line, msg);
            break;
        }
        out->line[out->n] = e->line;
        if (soft) memcpy(out->soft + out->n * (size_t)ns->n, soft + i * (size_t)ns->n, (size_t)ns->n * sizeof(float));
        out->tokens += out->enc[out->n].n;
        out->n++;
    }
    free(keep);
    if (s) tdata_free(out);
    return s;
}

/* For the fuzzer: every label decision of bertc_train on a dataset (names from the data, single-label ids,
 * multi-hot lists, regression values; strict and lenient), without a model. Returns the number of rows kept. */
size_t train_labels_probe(const bertc_dataset *d) {
    size_t kept = 0;
    for (int pr = BERTC_PROBLEM_SINGLE_LABEL; pr <= BERTC_PROBLEM_REGRESSION; pr++) {
        names ns = {0};
        bertc_error err;
        if (pr != BERTC_PROBLEM_REGRESSION && names_from_data(d, pr == BERTC_PROBLEM_MULTI_LABEL, &ns, &err)) continue;
        if (pr == BERTC_PROBLEM_REGRESSION) names_add(&ns, "LABEL_0", 7);
        for (int strict = 0; strict < 2; strict++) {
            tdata out;
            memset(&out, 0, sizeof out);
            unsigned char *keep = malloc(d->n ? d->n : 1);
            size_t dropped = 0;
            char bad[64];
            if (keep && !labels_of(d, (bertc_problem)pr, &ns, strict, "the labels", &out, keep, &dropped, bad, sizeof bad, &err))
                for (size_t i = 0; i < d->n; i++) kept += keep[i];
            free(keep);
            tdata_free(&out);
        }
        names_free(&ns);
    }
    return kept;
}

/* ---- schedule ---- */
static double lr_lambda(const bertc_train_params *p, long step, long warmup, long total) {
    switch (p->lr_scheduler) {
    case BERTC_LR_CONSTANT: return 1.0;
    case BERTC_LR_CONSTANT_WITH_WARMUP: return step < warmup ? (double)step / (double)(warmup > 1 ? warmup : 1) : 1.0;
    case BERTC_LR_COSINE: {
        if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
        double prog = (double)(step - warmup) / (double)(total - warmup > 1 ? total - warmup : 1);
        double v = 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * prog));
        return v > 0 ? v : 0;
    }
    default: {
        if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
        double v = (double)(total - step) / (double)(total - warmup > 1 ? total - warmup : 1);
        return v > 0 ? v : 0;
    }
    }
}

/* ---- the trainer's state ---- */
typedef struct trainer {
    const bertc_train_params *p;
    tmodel *m;
    float *am, *av; /* Adam moments */
    long step, max_steps, warmup, adam_t;
    long n_batches;  /* micro-batches per epoch */
    long updates_per_epoch;
    int epoch;       /* current epoch index */
    long batch_in_epoch;
    long micro;      /* micro-batches run in all */
    double tr_loss;  /* sum of (micro loss / GA) since the last log */
    long logged_at;  /* global step of the last log */
    double total_loss; /* over all steps, for train_loss */
    long tokens;
    json_t *history;
    double best_metric;
    bool have_best;
    int best_ties;   /* later evaluations that equalled the best (the earliest is kept, as transformers keeps it) */
    char best_ckpt[4200];
    int bad_evals;
    names labels;
    tdata train, val, sample;
    size_t *order;
    double t0;
    double last_grad_norm;
    char out[4096];
    bool greater_is_better;
    const char *metric;
    long tokens_at_start, step_at_start;
    double time_at_start;
    struct adam_piece *pieces;
    int n_pieces;
    unsigned json_failures; /* jansson's allocation failures when the run began: any since, and no JSON is written */
} trainer;

static void emit(trainer *t, bertc_train_event_kind k, const char *msg, const char *json, const bertc_metrics *vm,
                 const bertc_metrics *tm) {
    if (!t->p->callback) return;
    bertc_train_event e;
    memset(&e, 0, sizeof e);
    e.kind = k;
    e.step = t->step;
    e.max_steps = t->max_steps;
    e.epoch = t->n_batches ? t->epoch + (double)t->batch_in_epoch / (double)t->n_batches : 0;
    e.num_epochs = t->max_steps && t->updates_per_epoch ? (double)t->max_steps / (double)t->updates_per_epoch : 0;
    long since = t->step - t->logged_at;
    e.loss = since > 0 ? t->tr_loss / (double)since : NAN;
    e.learning_rate = t->p->learning_rate * lr_lambda(t->p, t->step, t->warmup, t->max_steps);
    e.grad_norm = t->last_grad_norm;
    e.elapsed_seconds = (now_ms() - t->t0) / 1000.0;
    double run = (now_ms() - t->time_at_start) / 1000.0;
    e.tokens_per_second = run > 0 ? (double)(t->tokens - t->tokens_at_start) / run : 0;
    long done = t->step - t->step_at_start; /* this process's steps: after a resume the earlier ones took no time here */
    e.eta_seconds = done > 0 && run > 0 ? run / (double)done * (double)(t->max_steps - t->step) : NAN;
    e.message = msg;
    e.json = json;
    e.metrics = vm;
    e.train_metrics = tm;
    t->p->callback(&e, t->p->callback_ctx);
}

static void warnf(trainer *t, const char *fmt, ...) BERTC_PRINTF(2, 3);
static void warnf(trainer *t, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    emit(t, BERTC_TRAIN_WARNING, buf, NULL, NULL, NULL);
}

static double epoch_now(const trainer *t) {
    return t->n_batches ? t->epoch + (double)t->batch_in_epoch / (double)t->n_batches : 0;
}

static double round4(double x) { return round(x * 1e4) / 1e4; }

/* ---- AdamW ---- */
/* torch.optim.AdamW's single-tensor arithmetic per element, with clip_grad_norm_'s scale applied to the gradient
 * first (as torch multiplies the gradients in place before the step) and the gradient zeroed after. Split across the
 * pool in pieces of tensors: elementwise, so the same bits whatever the thread count. */
typedef struct adam_piece {
    int param;
    size_t k0, k1;
} adam_piece;

typedef struct adam_job {
    trainer *t;
    const adam_piece *pc;
    float b1, b2, ob1, ob2, eps, step_size, bc2s, decay, clip;
    bool clipping;
} adam_job;

static void adam_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    adam_job *j = ctx;
    tmodel *m = j->t->m;
    const adam_piece *pc = &j->pc[task];
    const tparam *pa = &m->p[pc->param];
    float *w = m->w + pa->off, *g = m->g + pa->off, *mm = j->t->am + pa->off, *vv = j->t->av + pa->off;
    if (pa->frozen) {
        memset(g + pc->k0, 0, (pc->k1 - pc->k0) * sizeof(float));
        return;
    }
    bool dec = pa->decay && j->t->p->weight_decay != 0;
    if (pa->is_embedding_rows && !dec) {
        /* word-embedding rows with no gradient and no moments (never seen, or long decayed to zero) do not move:
         * skipping them gives the same bits and saves most of the table's memory traffic */
        const size_t H = (size_t)pa->shape[1];
        for (size_t r0 = pc->k0; r0 < pc->k1; r0 += H) {
            bool zero = true;
            for (size_t k = r0; k < r0 + H && zero; k++) zero = g[k] == 0.0f && mm[k] == 0.0f && vv[k] == 0.0f;
            if (zero) continue;
            for (size_t k = r0; k < r0 + H; k++) {
                float gk = j->clipping ? g[k] * j->clip : g[k];
                mm[k] = mm[k] * j->b1 + j->ob1 * gk;
                vv[k] = vv[k] * j->b2 + j->ob2 * gk * gk;
                float denom = sqrtf(vv[k]) / j->bc2s + j->eps;
                w[k] -= j->step_size * (mm[k] / denom);
                g[k] = 0.0f;
            }
        }
        return;
    }
    for (size_t k = pc->k0; k < pc->k1; k++) {
        float gk = j->clipping ? g[k] * j->clip : g[k];
        if (dec) w[k] *= j->decay;
        mm[k] = mm[k] * j->b1 + j->ob1 * gk;
        vv[k] = vv[k] * j->b2 + j->ob2 * gk * gk;
        float denom = sqrtf(vv[k]) / j->bc2s + j->eps;
        w[k] -= j->step_size * (mm[k] / denom);
        g[k] = 0.0f;
    }
}

static adam_piece *adam_pieces(const tmodel *m, int *n_out) {
    const size_t piece = 1 << 16;
    int n = 0;
    /* the word embeddings in whole rows */
    size_t H = (size_t)m->p[0].shape[1], rows_piece = (piece / H ? piece / H : 1) * H;
    for (int i = 0; i < m->np; i++) {
        size_t ps = m->p[i].is_embedding_rows ? rows_piece : piece;
        n += (int)((m->p[i].n + ps - 1) / ps);
    }
    adam_piece *pc = malloc((size_t)(n ? n : 1) * sizeof *pc);
    if (!pc) return NULL;
    n = 0;
    for (int i = 0; i < m->np; i++) {
        size_t ps = m->p[i].is_embedding_rows ? rows_piece : piece;
        for (size_t k = 0; k < m->p[i].n; k += ps) pc[n++] = (adam_piece){i, k, k + ps < m->p[i].n ? k + ps : m->p[i].n};
    }
    *n_out = n;
    return pc;
}

/* One optimizer step at learning rate lr, the gradient scaled by clip first when clipping. */
static bertc_status adamw_step(trainer *t, double lr, bool clipping, float clip, bertc_error *err) {
    const bertc_train_params *p = t->p;
    if (!t->pieces && !(t->pieces = adam_pieces(t->m, &t->n_pieces))) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->adam_t++;
    double bc1 = 1.0 - pow(p->adam_beta1, (double)t->adam_t), bc2 = 1.0 - pow(p->adam_beta2, (double)t->adam_t);
    adam_job j = {t, t->pieces, (float)p->adam_beta1, (float)p->adam_beta2, (float)(1.0 - p->adam_beta1),
                  (float)(1.0 - p->adam_beta2), (float)p->adam_epsilon, (float)(lr / bc1), (float)sqrt(bc2),
                  (float)(1.0 - lr * p->weight_decay), clip, clipping};
    threadpool_run(t->m->pool, adam_task, &j, t->n_pieces);
    return BERTC_OK;
}

/* ---- evaluation ---- */
typedef struct eval_out {
    double loss;
    bertc_metrics *metrics; /* single label */
    double accuracy, f1, macro_f1, mcc, precision, recall; /* also for multi-label (subset accuracy, micro F1) */
    double mse;
} eval_out;

static bertc_status evaluate(trainer *t, const tdata *d, eval_out *o, bertc_error *err) {
    memset(o, 0, sizeof *o);
    tmodel *m = t->m;
    const int L = m->cfg.n_labels;
    const size_t bs = (size_t)t->p->batch_size;
    float *lg = malloc((d->n ? d->n : 1) * (size_t)L * sizeof(float));
    if (!lg) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    double tot = 0;
    bertc_status s = BERTC_OK;
    for (size_t b = 0; b < d->n && !s; b += bs) {
        size_t e = b + bs < d->n ? b + bs : d->n;
        tbatch_labels lab = {d->ids ? d->ids + b : NULL, d->vals ? d->vals + b * L : NULL, NULL, 1, 1};
        double l;
        s = tmodel_step(m, d->enc + b, e - b, &lab, false, 0, 1.0f, lg + b * L, &l, err);
        tot += l * (double)(e - b);
    }
    if (s) {
        free(lg);
        return s;
    }
    o->loss = d->n ? tot / (double)d->n : NAN;
    bertc_problem pr = m->cfg.problem;
    if (pr == BERTC_PROBLEM_SINGLE_LABEL) {
        int *pred = malloc((d->n ? d->n : 1) * sizeof(int));
        double *sc = malloc((d->n ? d->n : 1) * (size_t)L * sizeof(double));
        if (!pred || !sc) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < d->n && !s; i++) {
            const float *z = lg + i * L;
            float mx = z[0];
            int best = 0;
            for (int k = 1; k < L; k++)
                if (z[k] > mx) mx = z[k], best = k;
            float sum = 0;
            for (int k = 0; k < L; k++) sum += expf(z[k] - mx);
            for (int k = 0; k < L; k++) sc[i * L + k] = expf(z[k] - mx) / sum;
            pred[i] = best;
        }
        if (!s) {
            bertc_metrics_params mp = bertc_metrics_default_params();
            mp.bootstrap = 0;
            s = bertc_metrics_compute(d->n, L, d->ids, pred, sc, (const char *const *)m->cfg.labels, &mp, &o->metrics, err);
        }
        if (!s) {
            o->accuracy = o->metrics->accuracy;
            o->f1 = o->metrics->f1;
            o->macro_f1 = o->metrics->macro_f1;
            o->mcc = o->metrics->mcc;
            o->precision = o->metrics->precision;
            o->recall = o->metrics->recall;
        }
        free(pred);
        free(sc);
    } else if (pr == BERTC_PROBLEM_MULTI_LABEL) {
        long exact = 0, tp = 0, fp = 0, fn = 0;
        double mf1 = 0;
        for (size_t i = 0; i < d->n; i++) {
            bool all = true;
            for (int k = 0; k < L; k++) {
                bool pp = lg[i * L + k] > 0, gg = d->vals[i * L + k] > 0.5f;
                all = all && pp == gg;
                tp += pp && gg;
                fp += pp && !gg;
                fn += !pp && gg;
            }
            exact += all;
        }
        for (int k = 0; k < L; k++) {
            long a = 0, b = 0, c = 0;
            for (size_t i = 0; i < d->n; i++) {
                bool pp = lg[i * L + k] > 0, gg = d->vals[i * L + k] > 0.5f;
                a += pp && gg;
                b += pp && !gg;
                c += !pp && gg;
            }
            mf1 += 2 * a + b + c ? 2.0 * a / (double)(2 * a + b + c) : 0.0;
        }
        o->accuracy = d->n ? (double)exact / (double)d->n : NAN;
        o->precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
        o->recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
        o->f1 = 2 * tp + fp + fn ? 2.0 * tp / (double)(2 * tp + fp + fn) : 0;
        o->macro_f1 = mf1 / L;
        o->mcc = NAN;
    } else {
        double se = 0;
        for (size_t i = 0; i < d->n * (size_t)L; i++) se += ((double)lg[i] - d->vals[i]) * ((double)lg[i] - d->vals[i]);
        o->mse = d->n ? se / (double)(d->n * (size_t)L) : NAN;
        o->accuracy = o->f1 = o->macro_f1 = o->mcc = o->precision = o->recall = NAN;
    }
    free(lg);
    return s;
}

static void set_num(json_t *o, const char *k, double v) {
    json_object_set_new(o, k, isfinite(v) ? json_real(v) : json_null());
}

static void eval_fill(json_t *o, const char *prefix, const eval_out *e, bertc_problem pr) {
    char k[64];
    snprintf(k, sizeof k, "%s_loss", prefix);
    set_num(o, k, e->loss);
    if (pr == BERTC_PROBLEM_REGRESSION) {
        snprintf(k, sizeof k, "%s_mse", prefix);
        set_num(o, k, e->mse);
        return;
    }
    static const char *const names_[] = {"accuracy", "f1", "macro_f1", "mcc", "precision", "recall"};
    const double v[] = {e->accuracy, e->f1, e->macro_f1, e->mcc, e->precision, e->recall};
    for (int i = 0; i < 6; i++) {
        if (pr == BERTC_PROBLEM_MULTI_LABEL && i == 3) continue;
        snprintf(k, sizeof k, "%s_%s", prefix, names_[i]);
        set_num(o, k, v[i]);
    }
}

static double metric_value(const trainer *t, const eval_out *e) {
    const char *m = t->metric;
    if (!strcmp(m, "loss")) return e->loss;
    if (!strcmp(m, "accuracy")) return e->accuracy;
    if (!strcmp(m, "f1")) return e->f1;
    if (!strcmp(m, "macro_f1")) return e->macro_f1;
    if (!strcmp(m, "mcc")) return e->mcc;
    if (!strcmp(m, "mse")) return e->mse;
    return e->loss;
}

/* ---- checkpoints ---- */

/* Checkpoints and the final model are written as util/durable.h says: a checkpoint is built in
 * checkpoint-N.tmp-PID, each file fsync'ed, and put in place whole (rename, or an atomic exchange with an older
 * checkpoint-N, which a resume of a finished run re-saves); a removed checkpoint is renamed aside first. So a
 * checkpoint-N folder is always whole, and resume checks it anyway (checkpoint_whole). */

static json_t *state_json(const trainer *t) {
    const bertc_train_params *p = t->p;
    json_t *s = json_object();
    json_object_set_new(s, "best_metric", t->have_best ? json_real(t->best_metric) : json_null());
    json_object_set_new(s, "best_model_checkpoint", t->have_best && t->best_ckpt[0] ? json_string(t->best_ckpt) : json_null());
    json_object_set_new(s, "epoch", json_real(epoch_now(t)));
    json_object_set_new(s, "eval_steps", p->eval_steps > 0 ? json_integer(p->eval_steps) : json_null());
    json_object_set_new(s, "global_step", json_integer(t->step));
    json_object_set_new(s, "is_hyper_param_search", json_false());
    json_object_set_new(s, "is_local_process_zero", json_true());
    json_object_set_new(s, "is_world_process_zero", json_true());
    json_object_set_new(s, "log_history", json_deep_copy(t->history));
    json_object_set_new(s, "logging_steps", json_integer(p->logging_steps));
    json_object_set_new(s, "max_steps", json_integer(t->max_steps));
    json_object_set_new(s, "num_input_tokens_seen", json_integer(t->tokens));
    json_object_set_new(s, "num_train_epochs", json_integer((json_int_t)ceil((double)t->max_steps / (double)(t->updates_per_epoch ? t->updates_per_epoch : 1))));
    json_object_set_new(s, "save_steps", json_integer(p->save_steps));
    json_object_set_new(s, "stateful_callbacks",
                        json_pack("{s:{s:{s:b,s:b,s:b,s:b,s:b},s:{}}}", "TrainerControl", "args", "should_epoch_stop", 0,
                                  "should_evaluate", 0, "should_log", 0, "should_save", 1, "should_training_stop",
                                  t->step >= t->max_steps, "attributes"));
    json_object_set_new(s, "total_flos", json_real(0));
    json_object_set_new(s, "train_batch_size", json_integer(p->batch_size));
    json_object_set_new(s, "trial_name", json_null());
    json_object_set_new(s, "trial_params", json_null());
    return s;
}

static bertc_status save_checkpoint(trainer *t, char *saved, size_t cap, bertc_error *err) {
    const tmodel *m = t->m;
    char final[4200], tmp[4300], path[4400];
    snprintf(final, sizeof final, "%s/checkpoint-%ld", t->out, t->step);
    bertc_status s = adir_begin(final, tmp, sizeof tmp, err);
    if (s) return s;
    if ((s = tmodel_save(m, tmp, err))) goto fail;
    {
        st_entry *e = calloc((size_t)(2 * m->np + 1), sizeof *e);
        char (*nm)[176] = calloc((size_t)(2 * m->np), sizeof *nm);
        if (!e || !nm) {
            free(e);
            free(nm);
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < m->np; i++) {
            const tparam *p = &m->p[i];
            snprintf(nm[2 * i], 176, "exp_avg.%s", p->name);
            snprintf(nm[2 * i + 1], 176, "exp_avg_sq.%s", p->name);
            e[2 * i] = (st_entry){nm[2 * i], "F32", p->ndim, {p->shape[0], p->shape[1], 0, 0}, t->am + p->off, p->n * 4};
            e[2 * i + 1] = (st_entry){nm[2 * i + 1], "F32", p->ndim, {p->shape[0], p->shape[1], 0, 0}, t->av + p->off, p->n * 4};
        }
        snprintf(path, sizeof path, "%s/optimizer.safetensors", tmp);
        s = safetensors_write(path, e, 2 * m->np, err);
        free(e);
        free(nm);
        if (s) goto fail;
    }
    {
        json_t *st = state_json(t);
        snprintf(path, sizeof path, "%s/trainer_state.json", tmp);
        s = train_write_json(path, st, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15), t->json_failures, err);
        json_decref(st);
        if (s) goto fail;
        const bertc_train_params *p = t->p;
        json_t *sch = json_pack("{s:I,s:I,s:I,s:[f],s:s}", "last_epoch", (json_int_t)t->step, "num_warmup_steps",
                                (json_int_t)t->warmup, "num_training_steps", (json_int_t)t->max_steps, "base_lrs",
                                p->learning_rate, "lr_scheduler_type",
                                p->lr_scheduler == BERTC_LR_COSINE ? "cosine" : p->lr_scheduler == BERTC_LR_CONSTANT ? "constant"
                                : p->lr_scheduler == BERTC_LR_CONSTANT_WITH_WARMUP ? "constant_with_warmup" : "linear");
        snprintf(path, sizeof path, "%s/scheduler.json", tmp);
        s = train_write_json(path, sch, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15), t->json_failures, err);
        json_decref(sch);
        if (s) goto fail;
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
        json_t *rng = json_pack("{s:s,s:i,s:I,s:I,s:I,s:f,s:I,s:f,s:I,s:i,s:I,s:I}", "seed", seed, "epoch", t->epoch,
                                "batch_in_epoch", (json_int_t)t->batch_in_epoch, "micro_batches", (json_int_t)t->micro,
                                "adam_step", (json_int_t)t->adam_t, "tr_loss", t->tr_loss, "logged_at",
                                (json_int_t)t->logged_at, "total_loss", t->total_loss, "tokens", (json_int_t)t->tokens,
                                "bad_evals", t->bad_evals, "train_rows", (json_int_t)t->train.n, "batch_size",
                                (json_int_t)p->batch_size);
        snprintf(path, sizeof path, "%s/rng_state.json", tmp);
        s = train_write_json(path, rng, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17), t->json_failures, err);
        json_decref(rng);
        if (s) goto fail;
    }
    /* trainer_state.json, scheduler.json and rng_state.json were written last; the folder goes in whole */
    if ((s = adir_commit(tmp, final, err))) return s;
    snprintf(saved, cap, "%s", final);
    return BERTC_OK;
fail:
    adir_abort(tmp);
    return s;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* checkpoint-N step numbers in dir, ascending; returns the count (at most cap). */
static int list_checkpoints(const char *dir, long *steps, int cap) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        char *end;
        if (strncmp(e->d_name, "checkpoint-", 11)) continue;
        long v = strtol(e->d_name + 11, &end, 10);
        if (*end || end == e->d_name + 11) continue;
        steps[n++] = v;
    }
    closedir(d);
    qsort(steps, (size_t)n, sizeof *steps, cmp_long);
    return n;
}

static bertc_status rotate_checkpoints(trainer *t, bertc_error *err) {
    if (t->p->save_total_limit <= 0) return BERTC_OK;
    long steps[4096];
    int n = list_checkpoints(t->out, steps, 4096);
    int excess = n - t->p->save_total_limit;
    for (int i = 0; i < n && excess > 0; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/checkpoint-%ld", t->out, steps[i]);
        if (t->have_best && !strcmp(path, t->best_ckpt)) continue; /* the best is kept, as Trainer keeps it */
        bertc_status s = durable_remove(path, err);
        if (s) return s;
        excess--;
    }
    return BERTC_OK;
}

static bertc_status checkpoint(trainer *t, bertc_error *err) {
    char saved[4300];
    bertc_status s = save_checkpoint(t, saved, sizeof saved, err);
    if (s) return s;
    emit(t, BERTC_TRAIN_SAVE, saved, NULL, NULL, NULL);
    return rotate_checkpoints(t, err);
}

/* ---- resume ---- */

/* Whether dir holds a whole checkpoint (of global step `step` when step >= 0): every file a resume reads is
 * there and parses (the JSON files, both safetensors headers against their sizes, the tokenizer), and
 * trainer_state.json names the step. 1: whole; 0: not, `why` says what is wrong; -1: out of memory while
 * looking (err set), which says nothing about the folder. A folder that looks whole and is not (from an older
 * bertc that removed before renaming, a copy cut short, a full disk) is never resumed from. */
static int checkpoint_whole(const char *dir, long step, char *why, size_t cap, bertc_error *err) {
    static const char *const jsons[] = {"config.json", "trainer_state.json", "scheduler.json", "rng_state.json"};
    static const char *const sts[] = {"model.safetensors", "optimizer.safetensors"};
    char path[4400];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "not a folder");
        return 0;
    }
    for (size_t i = 0; i < sizeof jsons / sizeof *jsons; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, jsons[i]);
        char *txt = NULL;
        size_t len = 0;
        bertc_error e1;
        bertc_status s = read_file(path, &txt, &len, &e1);
        if (s == BERTC_ERR_NOMEM) {
            if (err) *err = e1;
            return -1;
        }
        if (s) {
            snprintf(why, cap, "%s: %s", jsons[i], file_exists(path) ? "unreadable" : "missing");
            return 0;
        }
        json_error_t je;
        int oom = 0;
        json_t *j = jload(txt, len, 0, &je, &oom);
        free(txt);
        if (oom) {
            bertc_fail(err, BERTC_ERR_NOMEM, "out of memory reading %s", path);
            return -1;
        }
        bool obj = json_is_object(j);
        long gs = (long)json_integer_value(json_object_get(j, "global_step"));
        json_decref(j);
        if (!obj) {
            snprintf(why, cap, "%s: %s", jsons[i], j ? "not a JSON object" : je.text);
            return 0;
        }
        if (i == 1 && step >= 0 && gs != step) {
            snprintf(why, cap, "trainer_state.json says step %ld", gs);
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof sts / sizeof *sts; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sts[i]);
        mapped_file f;
        bertc_error e2;
        if (!file_exists(path)) {
            snprintf(why, cap, "%s: missing", sts[i]);
            return 0;
        }
        if (map_file(path, &f, &e2)) {
            snprintf(why, cap, "%.200s", e2.message);
            return 0;
        }
        tensor_set ts = {0};
        bertc_status s = safetensors_parse(&ts, f.data, f.size, path, &e2);
        bool empty = !s && ts.n == 0;
        tensor_set_free(&ts);
        unmap_file(&f);
        if (s == BERTC_ERR_NOMEM) {
            if (err) *err = e2;
            return -1;
        }
        if (s || empty) {
            snprintf(why, cap, "%.200s", s ? e2.message : "no tensors");
            return 0;
        }
    }
    bertc_tokenizer *tok = NULL;
    bertc_error e3;
    bertc_status s = bertc_tokenizer_load(dir, &tok, &e3);
    if (s == BERTC_ERR_NOMEM) {
        if (err) *err = e3;
        return -1;
    }
    if (s) {
        snprintf(why, cap, "tokenizer: %.200s", e3.message);
        return 0;
    }
    bertc_tokenizer_free(tok);
    return 1;
}
static bertc_status load_optimizer(trainer *t, const char *dir, bertc_error *err) {
    char path[8800];
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    mapped_file f;
    bertc_status s = map_file(path, &f, err);
    if (s) return s;
    tensor_set ts = {0};
    s = safetensors_parse(&ts, f.data, f.size, path, err);
    for (int i = 0; i < t->m->np && !s; i++) {
        const tparam *p = &t->m->p[i];
        for (int k = 0; k < 2 && !s; k++) {
            char nm[200];
            snprintf(nm, sizeof nm, "%s.%s", k ? "exp_avg_sq" : "exp_avg", p->name);
            const tensor_info *ti = tensor_set_find(&ts, nm);
            if (!ti || ti->dtype != DT_F32 || ti->nbytes != p->n * 4) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: %s is missing or of the wrong shape", path, nm);
                break;
            }
            memcpy((k ? t->av : t->am) + p->off, ti->data, p->n * 4);
        }
    }
    tensor_set_free(&ts);
    unmap_file(&f);
    return s;
}

static bertc_status load_resume_state(trainer *t, const char *dir, bertc_error *err) {
    char path[8800];
    snprintf(path, sizeof path, "%s/rng_state.json", dir);
    json_t *r = NULL;
    bertc_status ls = jload_file(path, &r, err);
    if (ls) return ls;
    const char *seed = json_string_value(json_object_get(r, "seed"));
    long rows = (long)json_integer_value(json_object_get(r, "train_rows"));
    long bs = (long)json_integer_value(json_object_get(r, "batch_size"));
    bertc_status s = BERTC_OK;
    char want[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)t->p->seed);
    if (!seed || strcmp(seed, want) || rows != (long)t->train.n || bs != t->p->batch_size)
        s = bertc_fail(err, BERTC_ERR_INPUT, "%s was made with another seed, training set or batch size (seed %s, %ld rows, "
                       "batch %ld; now seed %s, %zu rows, batch %d)", dir, seed ? seed : "?", rows, bs, want, t->train.n,
                       t->p->batch_size);
    t->epoch = (int)json_integer_value(json_object_get(r, "epoch"));
    t->batch_in_epoch = (long)json_integer_value(json_object_get(r, "batch_in_epoch"));
    t->micro = (long)json_integer_value(json_object_get(r, "micro_batches"));
    t->adam_t = (long)json_integer_value(json_object_get(r, "adam_step"));
    t->tr_loss = json_real_value(json_object_get(r, "tr_loss"));
    t->logged_at = (long)json_integer_value(json_object_get(r, "logged_at"));
    t->total_loss = json_real_value(json_object_get(r, "total_loss"));
    t->tokens = (long)json_integer_value(json_object_get(r, "tokens"));
    t->bad_evals = (int)json_integer_value(json_object_get(r, "bad_evals"));
    json_decref(r);
    if (s) return s;
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    json_t *st = NULL;
    if ((ls = jload_file(path, &st, err))) return ls;
    t->step = (long)json_integer_value(json_object_get(st, "global_step"));
    json_t *h = json_object_get(st, "log_history");
    if (json_is_array(h)) {
        json_decref(t->history);
        t->history = json_incref(h);
    }
    json_t *bm = json_object_get(st, "best_metric");
    if (json_is_number(bm)) {
        t->have_best = true;
        t->best_metric = json_number_value(bm);
        const char *bc = json_string_value(json_object_get(st, "best_model_checkpoint"));
        snprintf(t->best_ckpt, sizeof t->best_ckpt, "%s", bc ? bc : "");
    }
    json_decref(st);
    return load_optimizer(t, dir, err);
}

/* ---- the loop ---- */

static void shuffle_epoch(trainer *t, int epoch) {
    size_t n = t->train.n;
    for (size_t i = 0; i < n; i++) t->order[i] = i;
    if (!t->p->shuffle) return;
    uint64_t k = mix64(t->p->seed ^ mix64(0x5348554646ull + (uint64_t)epoch));
    for (size_t i = n; i > 1; i--) {
        uint64_t r = mix64(k + i);
        size_t j = (size_t)(((unsigned __int128)r * i) >> 64);
        size_t tmp = t->order[i - 1];
        t->order[i - 1] = t->order[j];
        t->order[j] = tmp;
    }
}

static bertc_status run_eval(trainer *t, bool *stop_early, bertc_error *err) {
    *stop_early = false;
    eval_out ve = {0}, te = {0};
    bertc_status s = BERTC_OK;
    double t0 = now_ms();
    bool have_val = t->val.n > 0;
    if (have_val && (s = evaluate(t, &t->val, &ve, err))) return s;
    double vt = (now_ms() - t0) / 1000.0;
    if (t->sample.n && (s = evaluate(t, &t->sample, &te, err))) {
        bertc_metrics_free(ve.metrics);
        return s;
    }
    json_t *e = json_object();
    bertc_problem pr = t->m->cfg.problem;
    if (have_val) {
        eval_fill(e, "eval", &ve, pr);
        set_num(e, "eval_runtime", round4(vt));
        set_num(e, "eval_samples_per_second", vt > 0 ? round(t->val.n / vt * 1000) / 1000 : NAN);
    }
    if (t->sample.n) eval_fill(e, "train_sample", &te, pr);
    set_num(e, "epoch", epoch_now(t));
    json_object_set_new(e, "step", json_integer(t->step));
    char *txt = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    emit(t, BERTC_TRAIN_EVAL, NULL, txt, ve.metrics, te.metrics);
    free(txt);
    json_array_append_new(t->history, e);
    if (have_val && t->sample.n && pr != BERTC_PROBLEM_REGRESSION && te.accuracy - ve.accuracy > t->p->overfit_gap)
        warnf(t, "overfitting: accuracy on a sample of %zu training rows is %.4f but %.4f on validation (gap %.4f > %.2f) "
              "at epoch %.2f, step %ld", t->sample.n, te.accuracy, ve.accuracy, te.accuracy - ve.accuracy, t->p->overfit_gap,
              epoch_now(t), t->step);
    bool improved = false;
    if (have_val) {
        double v = metric_value(t, &ve);
        if (isfinite(v) && (!t->have_best || (t->greater_is_better ? v > t->best_metric : v < t->best_metric))) {
            improved = true;
            t->best_metric = v;
            t->have_best = true;
            t->best_ties = 0;
            snprintf(t->best_ckpt, sizeof t->best_ckpt, "%s/checkpoint-%ld", t->out, t->step);
            t->bad_evals = 0;
        } else {
            if (isfinite(v) && t->have_best && v == t->best_metric) t->best_ties++;
            t->bad_evals++;
        }
        if (t->p->early_stopping_patience > 0 && t->bad_evals >= t->p->early_stopping_patience) *stop_early = true;
    }
    (void)improved;
    bertc_metrics_free(ve.metrics);
    bertc_metrics_free(te.metrics);
    return BERTC_OK;
}

/* Before any training: stale temporaries of dead runs removed, the folder proved writable (a read-only or full
 * folder is an error now, not at the first checkpoint), and with --overwrite-output-dir the old checkpoints
 * removed (each renamed aside first). */
static bertc_status prepare_output(const bertc_train_params *p, bertc_error *err) {
    durable_sweep(p->output_dir);
    DIR *d = opendir(p->output_dir);
    if (d) {
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
        closedir(d);
        if (!empty && !p->overwrite_output_dir && !p->resume_from_checkpoint)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "output folder %s exists and is not empty: use "
                              "--overwrite-output-dir, or --resume-from-checkpoint to continue", p->output_dir);
    }
    bertc_status s = check_writable(p->output_dir, err);
    if (s) return s;
    if (p->overwrite_output_dir && !p->resume_from_checkpoint) {
        long steps[4096];
        int n = list_checkpoints(p->output_dir, steps, 4096);
        for (int i = 0; i < n && !s; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/checkpoint-%ld", p->output_dir, steps[i]);
            s = durable_remove(path, err);
        }
    }
    return s;
}

bertc_status bertc_train(const bertc_train_params *p, bertc_error *err) { return train_run(p, NULL, err); }

bertc_status train_run(const bertc_train_params *p, const train_source *src_rows, bertc_error *err) {
    if (!p || !p->model || !(p->train || src_rows) || !p->output_dir)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_train: model, train and output_dir are required");
    if (p->batch_size <= 0 || p->gradient_accumulation_steps <= 0 || !(p->learning_rate >= 0) || !(p->epochs > 0 || p->max_steps > 0) ||
        p->max_length <= 1 || !(p->adam_beta1 >= 0 && p->adam_beta1 < 1) || !(p->adam_beta2 >= 0 && p->adam_beta2 < 1) ||
        !(p->adam_epsilon >= 0) || !(p->weight_decay >= 0) || p->logging_steps < 0 || !(p->warmup_ratio >= 0 && p->warmup_ratio <= 1))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_train: a hyperparameter is out of range (batch size, accumulation, "
                          "learning rate, epochs, max length, betas, epsilon, weight decay, warmup ratio)");
    const char *metric = p->metric_for_best_model ? p->metric_for_best_model : "loss";
    if (!strncmp(metric, "eval_", 5)) metric += 5;
    static const char *const metrics_ok[] = {"loss", "accuracy", "f1", "macro_f1", "mcc", "mse"};
    bool mok = false;
    for (size_t i = 0; i < 6; i++) mok = mok || !strcmp(metric, metrics_ok[i]);
    if (!mok) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "metric_for_best_model %.40s: use accuracy, f1, macro_f1, mcc or loss", metric);
    trainer T;
    memset(&T, 0, sizeof T);
    trainer *t = &T;
    t->p = p;
    t->t0 = now_ms();
    t->metric = metric;
    t->greater_is_better = strcmp(metric, "loss") && strcmp(metric, "mse");
    t->json_failures = jalloc_failures();
    t->history = json_array();
    snprintf(t->out, sizeof t->out, "%s", p->output_dir);
    bertc_status s;
    bertc_dataset *dtrain = NULL, *dval = NULL;
    model_config probe;
    memset(&probe, 0, sizeof probe);
    char *fresh = NULL;
    char resume_dir[4300] = "";
    /* where from */
    const char *src = p->model;
    if ((s = prepare_output(p, err))) goto done;
    if (p->resume_from_checkpoint) {
        char why[300];
        if (!strcmp(p->resume_from_checkpoint, "latest")) {
            /* the newest whole checkpoint; an incomplete one is skipped with a warning */
            long steps[4096];
            int n = list_checkpoints(p->output_dir, steps, 4096), skipped = 0;
            for (int i = n - 1; i >= 0 && !resume_dir[0]; i--) {
                char dir[4300];
                snprintf(dir, sizeof dir, "%s/checkpoint-%ld", p->output_dir, steps[i]);
                int w = checkpoint_whole(dir, steps[i], why, sizeof why, err);
                if (w < 0) {
                    s = BERTC_ERR_NOMEM;
                    goto done;
                }
                if (w) snprintf(resume_dir, sizeof resume_dir, "%s", dir);
                else {
                    warnf(t, "skipping %s: it is incomplete (%s)", dir, why);
                    skipped++;
                }
            }
            if (!resume_dir[0]) {
                s = skipped ? bertc_fail(err, BERTC_ERR_IO, "no whole checkpoint-N folder in %s to resume from (%d incomplete "
                                         "ones skipped)", p->output_dir, skipped)
                            : bertc_fail(err, BERTC_ERR_IO, "no checkpoint-N folder in %s to resume from", p->output_dir);
                goto done;
            }
        } else {
            snprintf(resume_dir, sizeof resume_dir, "%s", p->resume_from_checkpoint);
            int w = checkpoint_whole(resume_dir, -1, why, sizeof why, err);
            if (w <= 0) {
                s = w < 0 ? BERTC_ERR_NOMEM : bertc_fail(err, BERTC_ERR_FORMAT, "%s is not a whole checkpoint: %s", resume_dir, why);
                goto done;
            }
        }
        src = resume_dir;
    }
    /* data */
    if (src_rows) dtrain = (bertc_dataset *)src_rows->train; /* borrowed: not freed here */
    else if ((s = bertc_dataset_read(p->train, &p->data, &dtrain, err))) goto done;
    if (src_rows && (!dtrain || !src_rows->soft || !(src_rows->temperature > 0) || !(src_rows->alpha >= 0 && src_rows->alpha <= 1))) {
        s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "distillation: rows, teacher logits, a temperature > 0 and an alpha in [0, 1] "
                       "are required");
        goto done;
    }
    if (dtrain->n == 0) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "%s: the training set is empty", dtrain->name ? dtrain->name : "training data");
        goto done;
    }
    if (p->validation && (s = bertc_dataset_read(p->validation, &p->data, &dval, err))) goto done;
    int head_out = 0;
    if ((s = tmodel_probe(src, &probe, &head_out, err))) goto done;
    bertc_problem prob = p->problem;
    if (!prob && head_out && probe.problem_explicit) prob = probe.problem;
    if (!prob) {
        /* a list-shaped label means multi-label, as the data says */
        bool listy = false;
        for (size_t i = 0; i < dtrain->n && !listy; i++) {
            const char *l = dtrain->ex[i].label;
            while (l && *l == ' ') l++;
            listy = l && *l == '[';
        }
        prob = listy ? BERTC_PROBLEM_MULTI_LABEL : head_out == 1 ? BERTC_PROBLEM_REGRESSION : BERTC_PROBLEM_SINGLE_LABEL;
    }
    if (src_rows && prob != BERTC_PROBLEM_SINGLE_LABEL) {
        s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "distillation trains single-label classifiers (the student's problem_type "
                       "here is %s)", prob == BERTC_PROBLEM_MULTI_LABEL ? "multi_label_classification" : "regression");
        goto done;
    }
    bool kept_head = head_out > 0;
    const char *why = "the labels";
    if (p->labels) {
        const char *a = p->labels;
        while (*a) {
            const char *c = strchr(a, ',');
            size_t l = c ? (size_t)(c - a) : strlen(a);
            if (l && names_add(&t->labels, a, l) < 0) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
            a = c ? c + 1 : a + l;
        }
        why = "--labels";
    } else if (kept_head) {
        for (int i = 0; i < probe.n_labels; i++)
            if (names_add(&t->labels, probe.labels[i], strlen(probe.labels[i])) < 0) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
        why = "the checkpoint's id2label";
    } else if (prob == BERTC_PROBLEM_REGRESSION) {
        names_add(&t->labels, "LABEL_0", 7);
    } else {
        if ((s = names_from_data(dtrain, prob == BERTC_PROBLEM_MULTI_LABEL, &t->labels, err))) goto done;
        why = "the training labels";
    }
    if (prob != BERTC_PROBLEM_REGRESSION && t->labels.n < 2 && prob == BERTC_PROBLEM_SINGLE_LABEL) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "%s: a classifier needs at least two labels (%d given)", dtrain->name, t->labels.n);
        goto done;
    }
    /* regression's outputs: one per --labels name, else the kept head's, else one */
    int n_out = prob == BERTC_PROBLEM_REGRESSION && !p->labels ? (head_out ? head_out : 1) : t->labels.n;
    if (kept_head && head_out != n_out) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "the checkpoint's classification head has %d outputs but %d labels are asked "
                       "for: train from its base model, or keep its labels", head_out, t->labels.n);
        goto done;
    }
    tmodel_head hd = {prob, n_out, t->labels.v, p->seed, false};
    if ((s = tmodel_load(src, &hd, p->n_threads, &t->m, &fresh, err))) goto done;
    tmodel *m = t->m;
    m->bf16 = p->bf16 != 0 && !bf16_compute_fallback();
    if (p->bf16 && !m->bf16) {
        const tier_choice *tc = kernels_tier_choice();
        int bt = kernels_bf16_tier();
        char reason[160];
        if (!strcmp(tc->bf16_how, "measured"))
            snprintf(reason, sizeof reason, "measured fp32 %.0f GFLOP/s against bf16 %s %.0f", tc->fp32_rate, bf16_tier_name(bt),
                     tc->bf16_rate[bt]);
        else snprintf(reason, sizeof reason, "BERTC_BF16_TIER=fp32");
        char msg[512];
        snprintf(msg, sizeof msg, "bf16: no bf16 kernel tier is faster than the fp32 kernels on this CPU (%s; %s), so this "
                 "run trains in fp32; BERTC_BF16_TIER=NAME forces a bf16 tier", bf16_tier(), reason);
        emit(t, BERTC_TRAIN_WARNING, msg, NULL, NULL, NULL);
    }
    if (fresh) {
        char msg[8192];
        snprintf(msg, sizeof msg, "Some weights of %s were not initialized from the model checkpoint at %s and are newly "
                 "initialized: [%.700s]. You should probably TRAIN this model on a down-stream task to be able to use it "
                 "for predictions and inference.", m->cfg.architecture, src, fresh);
        emit(t, BERTC_TRAIN_WARNING, msg, NULL, NULL, NULL);
    }
    if (p->freeze_embeddings)
        for (int i = 0; i < m->np; i++)
            if (strstr(m->p[i].name, "embeddings.")) m->p[i].frozen = true;
    size_t dropped = 0;
    char bad[128] = "";
    if ((s = load_split(m->tok, dtrain, prob, &t->labels, true, why, p->max_length, src_rows ? src_rows->soft : NULL, &t->train, &dropped, bad, sizeof bad, err)))
        goto done;
    if (prob == BERTC_PROBLEM_SINGLE_LABEL) {
        int first = t->train.ids[0];
        bool one = true;
        for (size_t i = 1; i < t->train.n && one; i++) one = t->train.ids[i] == first;
        if (one) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "%s: every training row has the label %s: a classifier needs at least two "
                           "classes in its training data", dtrain->name, t->labels.v[first]);
            goto done;
        }
    }
    if (dval) {
        if ((s = load_split(m->tok, dval, prob, &t->labels, false, why, p->max_length, NULL, &t->val, &dropped, bad, sizeof bad, err)))
            goto done;
        if (dropped)
            warnf(t, "%s: %zu rows have labels that are not among %s (first: \"%s\"): they are left out of evaluation",
                  p->validation, dropped, why, bad);
        if (prob == BERTC_PROBLEM_SINGLE_LABEL) {
            int *seen = calloc((size_t)t->labels.n, sizeof(int));
            for (size_t i = 0; seen && i < t->train.n; i++) seen[t->train.ids[i]] = 1;
            for (size_t i = 0; seen && i < t->val.n; i++)
                if (!seen[t->val.ids[i]]) {
                    warnf(t, "%s: label %s appears in validation but never in the training data", p->validation,
                          t->labels.v[t->val.ids[i]]);
                    seen[t->val.ids[i]] = 1;
                }
            free(seen);
        }
        if (t->val.n == 0) warnf(t, "%s: no validation rows left", p->validation);
        /* validation rows that are training rows: the figures that choose the checkpoint would reward memory */
        unsigned char *flags = malloc(dval->n ? dval->n : 1);
        size_t n_exact = 0, n_norm = 0;
        if (!flags) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        if ((s = bertc_find_leakage(dtrain, dval, flags, &n_exact, &n_norm, err))) { /* out of memory: not skipped */
            free(flags);
            goto done;
        }
        if (n_exact + n_norm > 0) {
            if (n_exact + n_norm == dval->n) {
                free(flags);
                s = bertc_fail(err, BERTC_ERR_INPUT, "%s: every validation row is also a training row (%zu exactly, %zu "
                               "after normalizing case, punctuation and spaces): validation would measure memory, not "
                               "the task; hold rows out of the training data (a split of it) to validate on",
                               p->validation, n_exact, n_norm);
                goto done;
            }
            warnf(t, "%s: %zu of %zu validation rows are also training rows (%zu exactly, %zu after normalizing case, "
                  "punctuation and spaces): validation figures are optimistic, and the checkpoint they choose with them",
                  p->validation, n_exact + n_norm, dval->n, n_exact, n_norm);
        }
        free(flags);
    }
    /* the seeded train sample for the train-vs-validation gap */
    t->order = malloc(t->train.n * sizeof *t->order);
    if (!t->order) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (p->train_sample > 0) {
        size_t k = (size_t)p->train_sample < t->train.n ? (size_t)p->train_sample : t->train.n;
        for (size_t i = 0; i < t->train.n; i++) t->order[i] = i;
        uint64_t key = mix64(p->seed ^ 0x53414d504c45ull);
        for (size_t i = 0; i < k; i++) {
            size_t j = i + (size_t)(((unsigned __int128)mix64(key + i) * (t->train.n - i)) >> 64);
            size_t tmp = t->order[i];
            t->order[i] = t->order[j];
            t->order[j] = tmp;
        }
        tdata *sm = &t->sample;
        sm->enc = calloc(k, sizeof *sm->enc);
        int L = m->cfg.n_labels;
        if (prob == BERTC_PROBLEM_SINGLE_LABEL) sm->ids = malloc(k * sizeof(int));
        else sm->vals = malloc(k * (size_t)L * sizeof(float));
        if (!sm->enc || (!sm->ids && !sm->vals)) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < k; i++) {
            size_t r = t->order[i];
            sm->enc[i] = t->train.enc[r]; /* borrowed: the sample's enc are not freed */
            if (sm->ids) sm->ids[i] = t->train.ids[r];
            else memcpy(sm->vals + i * L, t->train.vals + r * L, (size_t)L * sizeof(float));
        }
        sm->n = k;
    }
    /* steps */
    const int GA = p->gradient_accumulation_steps;
    t->n_batches = (long)((t->train.n + (size_t)p->batch_size - 1) / (size_t)p->batch_size);
    t->updates_per_epoch = t->n_batches / GA + (t->n_batches % GA > 0);
    if (t->updates_per_epoch < 1) t->updates_per_epoch = 1;
    t->max_steps = p->max_steps > 0 ? p->max_steps : (long)ceil(p->epochs * (double)t->updates_per_epoch);
    t->warmup = p->warmup_steps > 0 ? p->warmup_steps : (long)ceil(p->warmup_ratio * (double)t->max_steps);
    if (t->warmup >= t->max_steps && p->lr_scheduler != BERTC_LR_CONSTANT && t->max_steps > 0)
        warnf(t, "the warm-up (%ld steps) is not shorter than the training (%ld steps): the learning rate peaks at %.3g, "
              "%.0f%% of the %g asked for, and the model may learn nothing; give --warmup-ratio (0.06 or 0.1, a share "
              "of the steps) instead of --warmup-steps",
              t->warmup, t->max_steps, p->learning_rate * lr_lambda(p, t->max_steps, t->warmup, t->max_steps),
              100.0 * lr_lambda(p, t->max_steps, t->warmup, t->max_steps), p->learning_rate);
    t->am = aligned_alloc(64, m->total * sizeof(float));
    t->av = aligned_alloc(64, m->total * sizeof(float));
    if (!t->am || !t->av) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for the optimizer state");
        goto done;
    }
    memset(t->am, 0, m->total * sizeof(float));
    memset(t->av, 0, m->total * sizeof(float));
    if (resume_dir[0]) {
        if ((s = load_resume_state(t, resume_dir, err))) goto done;
        char msg[8800];
        snprintf(msg, sizeof msg, "resuming from %s at step %ld (epoch %d, batch %ld)", resume_dir, t->step, t->epoch,
                 t->batch_in_epoch);
        emit(t, BERTC_TRAIN_WARNING, msg, NULL, NULL, NULL);
    }
    {
        size_t n_params = 0;
        for (int i = 0; i < m->np; i++) n_params += m->p[i].n;
        char msg[8192];
        snprintf(msg, sizeof msg, "%s (%s), %zu parameters, %d labels (%s): %zu training rows (%zu tokens), %zu validation rows; "
                 "%ld steps (%ld per epoch), batch %d x %d, lr %g, warmup %ld, %d threads",
                 m->cfg.architecture, src, n_params, m->cfg.n_labels,
                 prob == BERTC_PROBLEM_MULTI_LABEL ? "multi-label" : prob == BERTC_PROBLEM_REGRESSION ? "regression" : "single label",
                 t->train.n, t->train.tokens, t->val.n, t->max_steps, t->updates_per_epoch, p->batch_size, GA,
                 p->learning_rate, t->warmup, threadpool_size(m->pool));
        emit(t, BERTC_TRAIN_START, msg, NULL, NULL, NULL);
    }
    const int L = m->cfg.n_labels;
    const size_t bs = (size_t)p->batch_size;
    float *lg = malloc(bs * (size_t)L * sizeof(float));
    bertc_encoding *benc = malloc(bs * sizeof *benc);
    int *bids = malloc(bs * sizeof(int));
    float *bvals = malloc(bs * (size_t)L * sizeof(float));
    float *bsoft = t->train.soft ? malloc(bs * (size_t)L * sizeof(float)) : NULL;
    if (!lg || !benc || !bids || !bvals || (t->train.soft && !bsoft)) {
        free(bsoft);
        free(lg);
        free(benc);
        free(bids);
        free(bvals);
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    t->tokens_at_start = t->tokens;
    t->step_at_start = t->step;
    t->time_at_start = now_ms();
    bool finished = t->step >= t->max_steps, stop_early = false;
    bool saved_now = false;
    int in_accum = 0;
    for (; !finished && !s; t->epoch++, t->batch_in_epoch = 0) {
        shuffle_epoch(t, t->epoch);
        for (; t->batch_in_epoch < t->n_batches && !s;) {
            long b = t->batch_in_epoch;
            size_t i0 = (size_t)b * bs, i1 = i0 + bs < t->train.n ? i0 + bs : t->train.n, nb = i1 - i0;
            for (size_t i = 0; i < nb; i++) {
                size_t r = t->order[i0 + i];
                benc[i] = t->train.enc[r];
                if (t->train.ids) bids[i] = t->train.ids[r];
                else memcpy(bvals + i * L, t->train.vals + r * L, (size_t)L * sizeof(float));
                if (bsoft) memcpy(bsoft + i * L, t->train.soft + r * L, (size_t)L * sizeof(float));
                t->tokens += (long)t->train.enc[r].n;
            }
            tbatch_labels lab = {t->train.ids ? bids : NULL, t->train.vals ? bvals : NULL, bsoft,
                                 src_rows ? src_rows->temperature : 1, src_rows ? src_rows->alpha : 1};
            double loss;
            uint64_t key = mix64(p->seed ^ mix64(0x44524f50ull + (uint64_t)t->micro));
            s = tmodel_step(m, benc, nb, &lab, true, key, 1.0f / (float)GA, lg, &loss, err);
            if (s) break;
            t->micro++;
            t->batch_in_epoch++;
            in_accum++;
            if (!isfinite(loss)) {
                s = bertc_fail(err, BERTC_ERR_DIVERGED, "the loss is %s at step %ld (epoch %.2f): training stopped; the last "
                               "good checkpoint is kept (try a lower learning rate)", isnan(loss) ? "NaN" : "infinite",
                               t->step + 1, epoch_now(t));
                break;
            }
            t->tr_loss += loss / GA;
            t->total_loss += loss / GA;
            if (in_accum < GA && t->batch_in_epoch < t->n_batches) continue;
            in_accum = 0;
            /* the optimizer step */
            double gn = tmodel_grad_norm(m);
            if (!isfinite(gn)) {
                s = bertc_fail(err, BERTC_ERR_DIVERGED, "the gradient norm is not finite at step %ld (epoch %.2f): training "
                               "stopped; the last good checkpoint is kept", t->step + 1, epoch_now(t));
                break;
            }
            t->last_grad_norm = gn;
            double coef = p->max_grad_norm > 0 ? p->max_grad_norm / (gn + 1e-6) : 1.0;
            double lr = p->learning_rate * lr_lambda(p, t->step, t->warmup, t->max_steps);
            if ((s = adamw_step(t, lr, coef < 1.0, (float)coef, err))) break;
            t->step++;
            if ((s = tmodel_pack(m, err))) break;
            saved_now = false;
            emit(t, BERTC_TRAIN_PROGRESS, NULL, NULL, NULL, NULL);
            if (p->logging_steps > 0 && t->step % p->logging_steps == 0) {
                json_t *e = json_object();
                set_num(e, "loss", round4(t->tr_loss / (double)(t->step - t->logged_at)));
                set_num(e, "grad_norm", gn);
                set_num(e, "learning_rate", p->learning_rate * lr_lambda(p, t->step, t->warmup, t->max_steps));
                set_num(e, "epoch", epoch_now(t));
                json_object_set_new(e, "step", json_integer(t->step));
                char *txt = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
                emit(t, BERTC_TRAIN_LOG, NULL, txt, NULL, NULL);
                free(txt);
                json_array_append_new(t->history, e);
                t->tr_loss = 0;
                t->logged_at = t->step;
            }
            bool epoch_end = t->batch_in_epoch == t->n_batches;
            bool last = t->step >= t->max_steps;
            bool do_eval = (t->val.n || t->sample.n) &&
                           (p->eval_steps > 0 ? t->step % p->eval_steps == 0 || last : epoch_end || last);
            if (do_eval && (s = run_eval(t, &stop_early, err))) break;
            bool do_save = (p->save_steps > 0 && t->step % p->save_steps == 0) || (do_eval && t->val.n) ||
                           (p->save_steps <= 0 && !t->val.n && (epoch_end || last));
            if (do_save) {
                if ((s = checkpoint(t, err))) break;
                saved_now = true;
            }
            if (p->stop && *p->stop) {
                if (!saved_now && (s = checkpoint(t, err))) break;
                s = bertc_fail(err, BERTC_ERR_INTERRUPTED, "interrupted at step %ld: checkpoint-%ld saved in %s (continue "
                               "with --resume-from-checkpoint latest)", t->step, t->step, t->out);
                break;
            }
            if (last || stop_early) {
                finished = true;
                if (stop_early)
                    warnf(t, "early stopping at step %ld: %s did not improve for %d evaluations", t->step, t->metric,
                          p->early_stopping_patience);
                break;
            }
        }
        if (s || finished) break;
    }
    free(lg);
    free(benc);
    free(bids);
    free(bvals);
    free(bsoft);
    if (s) goto done;
    if (!saved_now && (s = checkpoint(t, err))) goto done;
    {
        /* the final log entry, then the output folder: the best checkpoint's model, or the last */
        double rt = (now_ms() - t->time_at_start) / 1000.0;
        json_t *e = json_object();
        set_num(e, "train_runtime", round4(rt));
        set_num(e, "train_samples_per_second", rt > 0 ? round((double)t->train.n * ((double)t->max_steps / t->updates_per_epoch) / rt * 1000) / 1000 : NAN);
        set_num(e, "train_steps_per_second", rt > 0 ? round((double)t->step / rt * 1000) / 1000 : NAN);
        set_num(e, "total_flos", 0);
        set_num(e, "train_loss", t->step ? t->total_loss / (double)t->step : NAN);
        set_num(e, "train_tokens_per_second", rt > 0 ? (double)(t->tokens - t->tokens_at_start) / rt : NAN);
        set_num(e, "epoch", epoch_now(t));
        json_object_set_new(e, "step", json_integer(t->step));
        json_array_append_new(t->history, e);
        char *txt = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        char from[8700] = "";
        if (t->have_best && t->best_ckpt[0]) snprintf(from, sizeof from, "%s", t->best_ckpt);
        else snprintf(from, sizeof from, "%s/checkpoint-%ld", t->out, t->step);
        /* The output folder is not replaced whole (it holds the checkpoints): its config.json and
         * trainer_state.json go first, so that until the weights, the tokenizer, then config.json and last
         * trainer_state.json are back, it does not look like a model; each file atomic. */
        static const char *const marks[] = {"trainer_state.json", "config.json"};
        for (size_t i = 0; i < 2 && !s; i++) {
            char b2[4400];
            snprintf(b2, sizeof b2, "%s/%s", t->out, marks[i]);
            if (dio_unlink(b2) != 0 && errno != ENOENT) s = output_fail(err, errno, "cannot remove", b2);
        }
        if (!s && dio_fsync_dir(t->out) != 0) s = output_fail(err, errno, "cannot sync", t->out);
        static const char *const files[] = {"model.safetensors", "config.json"};
        for (size_t i = 0; i < 2 && !s; i++) {
            char a[8800], b2[4400];
            snprintf(a, sizeof a, "%s/%s", from, files[i]);
            snprintf(b2, sizeof b2, "%s/%s", t->out, files[i]);
            /* the weights in the dtype the model is saved in (the source's: tmodel.h), the checkpoints' fp32 rounded */
            s = i == 0 ? tmodel_export_weights(a, b2, t->m->save_dtype, err) : copy_file_atomic(a, b2, err);
            if (!s && i == 0) s = tmodel_save_tokenizer(t->m, t->out, err);
        }
        if (!s) {
            json_t *st = state_json(t);
            char path[8800];
            snprintf(path, sizeof path, "%s/trainer_state.json", t->out);
            s = train_write_json(path, st, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15), t->json_failures, err);
            json_decref(st);
        }
        if (!s) {
            char summary[16384];
            const char *base = strrchr(from, '/');
            base = base ? base + 1 : from;
            uint64_t bytes = path_bytes(t->out);
            if (t->have_best && t->best_ckpt[0]) {
                const char *dash = strrchr(base, '-'); /* base: checkpoint-N, the best's folder */
                long best_step = dash ? strtol(dash + 1, NULL, 10) : 0;
                char ties[96] = "";
                if (t->best_ties)
                    snprintf(ties, sizeof ties, "; %d later evaluation%s tied it, the earliest is kept", t->best_ties,
                             t->best_ties == 1 ? "" : "s");
                snprintf(summary, sizeof summary, "output = %.300s (best %s%.100s %.4f at step %ld%s); %s holds %.1f MB",
                         base, strncmp(t->metric, "eval_", 5) ? "eval_" : "", t->metric, t->best_metric, best_step,
                         ties, t->out, (double)bytes / 1e6);
            } else {
                snprintf(summary, sizeof summary, "output = %.300s (the last step: no validation chose one); %s holds %.1f MB",
                         base, t->out, (double)bytes / 1e6);
            }
            emit(t, BERTC_TRAIN_END, summary, txt, NULL, NULL);
        }
        free(txt);
    }
done:
    free(fresh);
    model_config_free(&probe);
    if (!src_rows) bertc_dataset_free(dtrain);
    bertc_dataset_free(dval);
    if (t->sample.enc) {
        free(t->sample.enc);
        t->sample.enc = NULL;
    }
    tdata_free(&t->sample);
    tdata_free(&t->train);
    tdata_free(&t->val);
    names_free(&t->labels);
    free(t->order);
    free(t->am);
    free(t->av);
    free(t->pieces);
    json_decref(t->history);
    tmodel_free(t->m);
    return s;
}
