/*
 * evalrun.c — an evaluation run: a classifier over a labeled dataset (bertc_eval_run, `bertc eval`) or any
 * classifier's predictions file (bertc_eval_predictions, `bertc metrics`), with the metrics of metrics.c, the
 * traps named, and with a train set the leakage, the labels never seen in train and the train-vs-test gap.
 */
#include "report.h"
#include "base/internal.h"
#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bertc_eval_params bertc_eval_default_params(void) {
    bertc_eval_params p;
    memset(&p, 0, sizeof p);
    p.dataset = bertc_dataset_default_params();
    p.metrics = bertc_metrics_default_params();
    p.threshold = NAN;
    p.batch_size = 32;
    p.train_sample = 1000;
    return p;
}

bertc_predictions_params bertc_predictions_default_params(void) {
    bertc_predictions_params p;
    memset(&p, 0, sizeof p);
    p.metrics = bertc_metrics_default_params();
    p.threshold = NAN;
    return p;
}

void bertc_eval_report_free(bertc_eval_report *r) {
    if (!r) return;
    for (int k = 0; r->labels && k < r->n_labels; k++) free(r->labels[k]);
    free(r->labels);
    for (size_t i = 0; r->texts && i < r->n; i++) free(r->texts[i]);
    free(r->texts);
    for (size_t i = 0; r->pairs && i < r->n; i++) free(r->pairs[i]);
    free(r->pairs);
    free(r->gold);
    free(r->pred);
    free(r->scores);
    free(r->leak_idx);
    for (int k = 0; k < r->n_unseen; k++) free(r->unseen_labels[k]);
    free(r->unseen_labels);
    bertc_metrics_free(r->m);
    bertc_metrics_free(r->m_clean);
    bertc_metrics_free(r->m_train);
    free(r->command);
    free(r->model);
    free(r->data);
    free(r->train);
    free(r->threshold_from);
    free(r);
}

const bertc_metrics *bertc_eval_report_metrics(const bertc_eval_report *r) { return r ? r->m : NULL; }

const char *const *bertc_eval_report_labels(const bertc_eval_report *r, int *n) {
    if (n) *n = r ? r->n_labels : 0;
    return r ? (const char *const *)r->labels : NULL;
}

size_t bertc_eval_report_examples(const bertc_eval_report *r, const int **gold, const int **pred,
                                  const double **scores) {
    if (gold) *gold = r ? r->gold : NULL;
    if (pred) *pred = r ? r->pred : NULL;
    if (scores) *scores = r ? r->scores : NULL;
    return r ? r->n : 0;
}

bertc_status rpt_classify(const bertc_model *m, const bertc_text *in, size_t n, int batch_size,
                          bertc_eval_progress progress, void *ctx, int *pred, double *scores, long *n_tokens,
                          bertc_error *err) {
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    int L = info.n_labels;
    size_t chunk = (size_t)batch_size * 8;
    bertc_classification *out = calloc(chunk, sizeof *out);
    if (!out) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bertc_classify_params p = bertc_classify_default_params();
    p.batch_size = batch_size;
    long tokens = 0;
    for (size_t i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk;
        bertc_error e;
        bertc_status s = bertc_classify(m, in + i, k, &p, out, &e);
        if (s) {
            free(out);
            return bertc_fail(err, s, "example %zu: %s", i + 1, e.message);
        }
        for (size_t j = 0; j < k; j++) {
            pred[i + j] = out[j].label_id;
            for (int c = 0; c < L; c++) scores[(i + j) * L + c] = out[j].scores[c];
            tokens += out[j].n_tokens;
        }
        bertc_classification_free(out, k);
        if (progress) progress(i + k, n, ctx);
    }
    if (n_tokens) *n_tokens = tokens;
    free(out);
    return BERTC_OK;
}

/* Resolves the positive label and the threshold, then computes the metrics (what eval and metrics share). */
static bertc_status finish(bertc_eval_report *r, bertc_metrics_params *mp, const char *positive, double threshold,
                           bertc_error *err) {
    int L = r->n_labels;
    mp->positive = L == 2 ? 1 : -1;
    if (positive) {
        int id = bertc_label_lookup(positive, (const char *const *)r->labels, L);
        if (id < 0)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--positive-label %s is not one of the labels", positive);
        if (L != 2)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--positive-label needs a binary task (this one has %d labels)",
                              L);
        mp->positive = id;
    }
    if (!isnan(threshold)) {
        if (L != 2 || !r->scores) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--threshold needs a binary task with scores");
        int pos = mp->positive;
        for (size_t i = 0; i < r->n; i++) r->pred[i] = r->scores[i * 2 + pos] >= threshold ? pos : 1 - pos;
        r->threshold = threshold;
    }
    bertc_error e;
    bertc_status s = bertc_metrics_compute(r->n, L, r->gold, r->pred, r->scores, (const char *const *)r->labels, mp,
                                           &r->m, &e);
    if (s) return bertc_fail(err, s == BERTC_ERR_NOMEM ? s : BERTC_ERR_INPUT, "%s", e.message);
    return BERTC_OK;
}

/* ---- eval ---- */

/* Labels of a dataset as model label ids; BERTC_ERR_INPUT (with FILE:LINE) on an unknown label. */
static bertc_status map_labels(const bertc_dataset *d, char **names, int L, int *ids, bertc_error *err) {
    for (size_t i = 0; i < d->n; i++) {
        ids[i] = bertc_label_lookup(d->ex[i].label, (const char *const *)names, L);
        if (ids[i] < 0) {
            char list[512];
            names_join(list, sizeof list, (const char *const *)names, L);
            return bertc_fail(err, BERTC_ERR_INPUT,
                              "%s:%ld: label \"%s\" is not one of the model's labels (%s) nor an id below %d", d->name,
                              d->ex[i].line, d->ex[i].label, list, L);
        }
    }
    return BERTC_OK;
}

/* The model's predictions for n examples of d: all of them in order (idx NULL), or d->ex[idx[i]]. What eval's test
 * set, its train sample and --threshold-from's validation file each go through. */
static bertc_status dataset_predict(const bertc_model *m, const bertc_dataset *d, const size_t *idx, size_t n,
                                    int batch, const bertc_eval_params *p, int *pred, double *scores, bertc_error *err) {
    bertc_text *in = malloc((n ? n : 1) * sizeof *in);
    if (!in) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const bertc_example *e = &d->ex[idx ? idx[i] : i];
        in[i] = (bertc_text){e->text, e->len, e->pair, e->pair_len};
    }
    bertc_status s = rpt_classify(m, in, n, batch, p ? p->progress : NULL, p ? p->progress_ctx : NULL, pred, scores,
                                  NULL, err);
    free(in);
    return s;
}

/* With train: leakage, labels unseen in train, and the train-vs-test gap on a seeded sample of train. */
static bertc_status train_checks(bertc_eval_report *r, const bertc_model *m, const bertc_dataset *train,
                                 const bertc_dataset *test, size_t sample, int batch, const bertc_metrics_params *mp0,
                                 const bertc_eval_params *p, bertc_eval_stage_fn stage, bertc_error *err) {
    int L = r->n_labels;
    bertc_status s = BERTC_OK;
    unsigned char *flags = calloc(test->n, 1);
    int *tr_gold = malloc(train->n * sizeof *tr_gold);
    if (!flags || !tr_gold) {
        free(flags), free(tr_gold);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    if ((s = map_labels(train, r->labels, L, tr_gold, err))) {
        free(flags), free(tr_gold);
        return s;
    }
    r->train_n = train->n;
    if ((s = bertc_find_leakage(train, test, flags, &r->leak_exact, &r->leak_normalized, err))) {
        free(flags), free(tr_gold);
        return s;
    }
    /* labels seen in test but never in train */
    char *seen = calloc((size_t)L, 1);
    for (size_t i = 0; seen && i < train->n; i++) seen[tr_gold[i]] = 1;
    for (size_t i = 0; seen && i < r->n; i++)
        if (!seen[r->gold[i]]) {
            seen[r->gold[i]] = 1;
            char **nu = realloc(r->unseen_labels, (size_t)(r->n_unseen + 1) * sizeof *nu);
            if (nu) {
                r->unseen_labels = nu;
                nu[r->n_unseen++] = strdup(r->labels[r->gold[i]]);
            }
        }
    free(seen);
    size_t leaked = r->leak_exact + r->leak_normalized;
    if (leaked) {
        r->leak_idx = malloc(5 * sizeof *r->leak_idx);
        for (size_t i = 0; r->leak_idx && i < r->n && r->n_leak_idx < 5; i++)
            if (flags[i]) r->leak_idx[r->n_leak_idx++] = i;
        size_t nc = 0;
        int *g = malloc(r->n * sizeof *g), *pr = malloc(r->n * sizeof *pr);
        double *sc = r->scores ? malloc(r->n * (size_t)L * sizeof *sc) : NULL;
        for (size_t i = 0; g && pr && (sc || !r->scores) && i < r->n; i++) {
            if (flags[i]) continue;
            g[nc] = r->gold[i], pr[nc] = r->pred[i];
            if (sc) memcpy(sc + nc * L, r->scores + i * L, (size_t)L * sizeof *sc);
            nc++;
        }
        bertc_metrics_params mp = *mp0;
        if (nc) bertc_metrics_compute(nc, L, g, pr, sc, (const char *const *)r->labels, &mp, &r->m_clean, NULL);
        free(g), free(pr), free(sc);
    }
    /* train sample: the same model on train examples (seeded partial Fisher-Yates) */
    if (sample > train->n) sample = train->n;
    size_t *idx = malloc((train->n ? train->n : 1) * sizeof *idx);
    int *g = malloc((sample ? sample : 1) * sizeof *g), *pr = malloc((sample ? sample : 1) * sizeof *pr);
    double *sc = malloc((sample ? sample : 1) * (size_t)L * sizeof *sc);
    if (!idx || !g || !pr || !sc) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    } else if (sample) {
        for (size_t i = 0; i < train->n; i++) idx[i] = i;
        uint64_t x = mp0->seed * 0x9E3779B97F4A7C15ull + 1;
        for (size_t i = 0; i < sample; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t j = i + (size_t)(x % (train->n - i));
            size_t t = idx[i];
            idx[i] = idx[j], idx[j] = t;
            g[i] = tr_gold[idx[i]];
        }
        if (stage) stage(BERTC_EVAL_STAGE_TRAIN_SAMPLE, sample, train->n, p->progress_ctx);
        s = dataset_predict(m, train, idx, sample, batch, p, pr, sc, err);
        if (!s) {
            bertc_metrics_params mp = *mp0;
            mp.bootstrap = 0;
            if (!isnan(r->threshold) && L == 2)
                for (size_t i = 0; i < sample; i++)
                    pr[i] = sc[i * 2 + mp.positive] >= r->threshold ? mp.positive : 1 - mp.positive;
            bertc_metrics_compute(sample, L, g, pr, sc, (const char *const *)r->labels, &mp, &r->m_train, NULL);
        }
    }
    free(idx), free(g), free(pr), free(sc), free(flags), free(tr_gold);
    return s;
}

/* The positive label id of a binary task (label id 1 unless positive names one), or -1. */
static int positive_id(char **labels, int L, const char *positive) {
    if (L != 2) return -1;
    return positive ? bertc_label_lookup(positive, (const char *const *)labels, L) : 1;
}

/* --threshold-from: the model over the validation file, and the threshold with the best F1 there. */
static bertc_status threshold_from(const bertc_model *m, const bertc_eval_params *p, bertc_eval_report *r, int batch,
                                   double *threshold, bertc_error *err) {
    int L = r->n_labels;
    if (!isnan(p->threshold))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--threshold and --threshold-from exclude each other");
    int pos = positive_id(r->labels, L, p->positive_label);
    if (pos < 0)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--threshold-from needs a binary task (this one has %d labels)", L);
    bertc_dataset *v = NULL;
    bertc_status s = bertc_dataset_read(p->threshold_from, &p->dataset, &v, err);
    if (s) return s;
    int *gold = malloc((v->n ? v->n : 1) * sizeof *gold), *pred = malloc((v->n ? v->n : 1) * sizeof *pred);
    double *sc = malloc((v->n ? v->n : 1) * 2 * sizeof *sc);
    bertc_metrics *vm = NULL;
    if (!gold || !pred || !sc) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((s = map_labels(v, r->labels, L, gold, err)) || (s = dataset_predict(m, v, NULL, v->n, batch, NULL, pred, sc, err)))
        goto done;
    bertc_metrics_params mp = bertc_metrics_default_params();
    mp.positive = pos;
    mp.bootstrap = 0;
    bertc_error e;
    if ((s = bertc_metrics_compute(v->n, L, gold, pred, sc, (const char *const *)r->labels, &mp, &vm, &e))) {
        s = bertc_fail(err, s == BERTC_ERR_NOMEM ? s : BERTC_ERR_INPUT, "%s: %s", p->threshold_from, e.message);
        goto done;
    }
    if (isnan(vm->best_f1.threshold)) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "%s: no threshold to choose (it needs both classes among its labels)",
                       p->threshold_from);
        goto done;
    }
    *threshold = vm->best_f1.threshold;
    r->threshold_from_f1 = vm->best_f1.f1;
    r->threshold_from_n = v->n;
    if (!(r->threshold_from = strdup(p->threshold_from))) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
done:
    bertc_metrics_free(vm);
    free(gold), free(pred), free(sc);
    bertc_dataset_free(v);
    return s;
}

/* Whether t is (to the 4 decimals reports print) a threshold this data's own sweep suggests. */
static bool own_threshold(const bertc_metrics *m, double t) {
    const bertc_threshold_point *tp[3] = {&m->best_f1, &m->for_precision, &m->for_recall};
    for (int k = 0; k < 3; k++)
        if (!isnan(tp[k]->threshold) && fabs(tp[k]->threshold - t) < 5e-5) return true;
    return false;
}

/* The warnings that need a train set. */
static void train_warnings(bertc_eval_report *r) {
    bertc_metrics *m = r->m;
    size_t leaked = r->leak_exact + r->leak_normalized;
    if (leaked) {
        char extra[256] = "";
        if (r->m_clean)
            snprintf(extra, sizeof extra, "; without them accuracy is %.4f (vs %.4f) and F1 %.4f (vs %.4f)",
                     r->m_clean->accuracy, m->accuracy, r->m_clean->f1, m->f1);
        bertc_metrics_warn(m,
                           "train/test leakage: %zu of %zu test examples also appear in train (%zu exactly, %zu after "
                           "normalizing case, punctuation and spaces)%s",
                           leaked, r->n, r->leak_exact, r->leak_normalized, extra);
    }
    if (r->m_train) {
        double gap = r->m_train->accuracy - m->accuracy;
        if (gap > 0.05)
            bertc_metrics_warn(m,
                               "overfitting: accuracy is %.4f on train but %.4f on test (gap %.4f); the model "
                               "memorized its training data more than it learned the task",
                               r->m_train->accuracy, m->accuracy, gap);
    }
    for (int k = 0; k < r->n_unseen; k++)
        bertc_metrics_warn(m, "label '%s' occurs in test but never in train: the model cannot have learned it",
                           r->unseen_labels[k]);
}

static bertc_status eval_run(const bertc_model *m, const bertc_eval_params *p, const bertc_dataset *d,
                             const bertc_dataset *td, bertc_eval_stage_fn stage, bertc_eval_report *r,
                             bertc_error *err) {
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (info.n_labels < 2 || info.problem == BERTC_PROBLEM_REGRESSION || info.problem == BERTC_PROBLEM_MULTI_LABEL)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "eval needs a single-label classifier; %s has %d label%s (%s)",
                          info.source, info.n_labels, info.n_labels == 1 ? "" : "s",
                          info.problem == BERTC_PROBLEM_REGRESSION    ? "regression"
                          : info.problem == BERTC_PROBLEM_MULTI_LABEL ? "multi-label"
                                                                      : "not a classifier");
    int L = r->n_labels = info.n_labels;
    int batch = p->batch_size > 4096 ? 4096 : p->batch_size;
    if (!(r->model = strdup(info.source))) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    r->n = d->n;
    r->labels = calloc((size_t)L, sizeof *r->labels);
    r->gold = malloc(d->n * sizeof *r->gold);
    r->pred = malloc(d->n * sizeof *r->pred);
    r->scores = malloc(d->n * (size_t)L * sizeof *r->scores);
    r->texts = calloc(d->n, sizeof *r->texts);
    r->pairs = calloc(d->n, sizeof *r->pairs);
    if (!r->labels || !r->gold || !r->pred || !r->scores || !r->texts || !r->pairs)
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bool ok = true;
    for (int k = 0; k < L; k++) ok &= (r->labels[k] = strdup(bertc_model_label(m, k))) != NULL;
    for (size_t i = 0; i < d->n; i++) {
        const bertc_example *e = &d->ex[i];
        ok &= (r->texts[i] = strdup(e->text)) != NULL;
        if (e->pair) ok &= (r->pairs[i] = strdup(e->pair)) != NULL;
    }
    if (!ok) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bertc_status s = map_labels(d, r->labels, L, r->gold, err);
    if (!s) {
        if (stage) stage(BERTC_EVAL_STAGE_DATA, d->n, d->n, p->progress_ctx);
        double t0 = now_ms();
        s = dataset_predict(m, d, NULL, d->n, batch, p, r->pred, r->scores, err);
        r->seconds = (now_ms() - t0) / 1000;
    }
    if (s) return s;
    bertc_metrics_params mp = p->metrics;
    double threshold = p->threshold;
    if (p->threshold_from && (s = threshold_from(m, p, r, batch, &threshold, err))) return s;
    if ((s = finish(r, &mp, p->positive_label, threshold, err))) return s;
    if (!isnan(p->threshold) && own_threshold(r->m, p->threshold)) {
        r->threshold_is_own = true;
        bertc_metrics_warn(r->m, "the threshold %.4f is one this data's own threshold sweep picks: chosen on the test "
                           "set, the figures above are optimistic; choose it on a validation split with "
                           "--threshold-from FILE", p->threshold);
    }
    if (td && (s = train_checks(r, m, td, d, (size_t)p->train_sample, batch, &mp, p, stage, err))) return s;
    train_warnings(r);
    return BERTC_OK;
}

bertc_status bertc_eval_run_ex(const bertc_model *m, const bertc_eval_params *p, const bertc_dataset *data,
                               const bertc_dataset *train, bertc_eval_stage_fn stage, bertc_eval_report **out,
                               bertc_error *err) {
    if (out) *out = NULL;
    if (!m || !p || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_run: no model, parameters or output");
    if (!data && !p->data) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_run: data is required");
    if (p->dataset.label_column && !*p->dataset.label_column)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "eval needs labels: --label-column cannot be empty");
    if (p->batch_size < 1 || p->train_sample < 0)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_run: batch_size must be positive, train_sample not negative");
    bertc_dataset *own_d = NULL, *own_t = NULL;
    bertc_status s = BERTC_OK;
    if (!data && !(s = bertc_dataset_read(p->data, &p->dataset, &own_d, err))) data = own_d;
    if (!s && !train && p->train && !(s = bertc_dataset_read(p->train, &p->dataset, &own_t, err))) train = own_t;
    bertc_eval_report *r = NULL;
    if (!s && !(r = calloc(1, sizeof *r))) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (!s) {
        r->threshold = NAN;
        r->command = strdup("eval");
        r->data = strdup(p->data ? p->data : data->name);
        if (train) r->train = strdup(p->train ? p->train : train->name);
        if (!r->command || !r->data || (train && !r->train)) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    if (!s) s = eval_run(m, p, data, train, stage, r, err);
    bertc_dataset_free(own_d);
    bertc_dataset_free(own_t);
    if (s) {
        bertc_eval_report_free(r);
        return s;
    }
    *out = r;
    return BERTC_OK;
}

bertc_status bertc_eval_run(const bertc_model *m, const bertc_eval_params *p, bertc_eval_report **out,
                            bertc_error *err) {
    return bertc_eval_run_ex(m, p, NULL, NULL, NULL, out, err);
}

/* ---- metrics: from a predictions file ---- */

typedef struct pred_row {
    json_t *gold, *pred, *scores;
    char *text;
    long line;
} pred_row;

static const char *label_text(json_t *v, char *buf) {
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v)) return json_is_true(v) ? "1" : "0";
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds s to names[0..*L) unless it is there; false on OOM. */
static bool add_name(char ***names, int *L, const char *s) {
    for (int z = 0; z < *L; z++)
        if (!strcmp((*names)[z], s)) return true;
    char **nn = realloc(*names, (size_t)(*L + 1) * sizeof *nn);
    if (!nn) return false;
    *names = nn;
    return (nn[*L] = strdup(s)) ? ((*L)++, true) : false;
}

#define OOM() bertc_fail(err, BERTC_ERR_NOMEM, "out of memory")

/* The label set: p->labels, else the sorted names (or ids 0..max) seen in gold, pred and scores. */
static bertc_status label_set(const pred_row *rows, size_t n, const char *path, const bertc_predictions_params *p,
                              bertc_eval_report *r, bertc_error *err) {
    if (p->labels) {
        if (!(r->labels = calloc((size_t)(p->n_labels > 0 ? p->n_labels : 1), sizeof *r->labels))) return OOM();
        for (int k = 0; k < p->n_labels; k++)
            if (!(r->labels[r->n_labels++] = strdup(p->labels[k]))) return OOM();
        return BERTC_OK;
    }
    int has_int = 0, has_name = 0;
    long max_id = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *v[2] = {rows[i].gold, rows[i].pred};
        for (int q = 0; q < 2; q++) {
            if (json_is_string(v[q])) has_name = 1;
            else {
                has_int = 1;
                long id = json_is_integer(v[q]) ? (long)json_integer_value(v[q]) : json_is_true(v[q]);
                if (id < 0 || id > 100000)
                    return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: label id %ld out of range", path, rows[i].line, id);
                if (id > max_id) max_id = id;
            }
        }
    }
    if (has_int && has_name)
        return bertc_fail(err, BERTC_ERR_INPUT,
                          "%s: labels are ids in some places and names in others; give the names in id order with "
                          "--labels NAME0,NAME1,...",
                          path);
    if (has_int) {
        int L = (int)max_id + 1;
        if (L < 2) L = 2;
        if (!(r->labels = calloc((size_t)L, sizeof *r->labels))) return OOM();
        for (int k = 0; k < L; k++) {
            char b[32];
            snprintf(b, sizeof b, "%d", k);
            if (!(r->labels[r->n_labels++] = strdup(b))) return OOM();
        }
        return BERTC_OK;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v[2] = {rows[i].gold, rows[i].pred};
        for (int q = 0; q < 3; q++) {
            if (q == 2) {
                const char *key;
                json_t *val;
                json_object_foreach(rows[i].scores, key, val) {
                    if (!add_name(&r->labels, &r->n_labels, key)) return OOM();
                }
                continue;
            }
            if (!add_name(&r->labels, &r->n_labels, json_string_value(v[q]))) return OOM();
        }
    }
    if (r->n_labels) qsort(r->labels, (size_t)r->n_labels, sizeof *r->labels, cmp_str);
    return BERTC_OK;
}

static bertc_status predictions_parse(const char *data, size_t len, const char *path, const bertc_predictions_params *p,
                                      bertc_eval_report *r, bertc_error *err) {
    bertc_status s = BERTC_OK;
    pred_row *rows = NULL;
    size_t n = 0, cap = 0;
    long lineno = 0;
    int any_scores = 0, all_scores = 1;
    for (size_t at = 0; at < len;) {
        const char *line = data + at;
        const char *nl = memchr(line, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - line) + 1 : len - at;
        at += ll;
        lineno++;
        size_t k = 0;
        while (k < ll && strchr(" \t\r\n", line[k])) k++; /* (strchr finds the terminator: a NUL byte is blank too) */
        if (k == ll) continue;
        json_error_t je;
        int oom;
        json_t *j = jload(line, ll, 0, &je, &oom);
        if (oom) {
            s = OOM();
            goto done;
        }
        const char *why = NULL;
        json_t *g = NULL, *pv = NULL, *sv = NULL, *t = NULL;
        if (!json_is_object(j)) why = j ? "not a JSON object" : je.text;
        else {
            if (!(g = json_object_get(j, "gold"))) g = json_object_get(j, "label");
            if (!(pv = json_object_get(j, "pred"))) pv = json_object_get(j, "prediction");
            sv = json_object_get(j, "scores");
            t = json_object_get(j, "text");
            char b[32];
            if (!g || !label_text(g, b)) why = "no \"gold\" label (a string or an integer)";
            else if (!pv || !label_text(pv, b)) why = "no \"pred\" label (a string or an integer)";
            else if (sv && !json_is_object(sv) && !json_is_null(sv)) why = "\"scores\" is not an object {label: p}";
        }
        if (why) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: %s", path, lineno, why);
            json_decref(j);
            goto done;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            pred_row *nr = realloc(rows, cap * sizeof *nr);
            if (!nr) {
                json_decref(j);
                s = OOM();
                goto done;
            }
            rows = nr;
        }
        rows[n].gold = json_incref(g);
        rows[n].pred = json_incref(pv);
        rows[n].scores = json_is_object(sv) ? json_incref(sv) : NULL;
        rows[n].text = json_is_string(t) ? strdup(json_string_value(t)) : NULL;
        rows[n].line = lineno;
        any_scores |= rows[n].scores != NULL;
        all_scores &= rows[n].scores != NULL;
        n++;
        json_decref(j);
    }
    if (n == 0) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "%s: no predictions", path);
        goto done;
    }
    if (any_scores && !all_scores) {
        for (size_t i = 0; i < n; i++)
            if (!rows[i].scores) {
                s = bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: no \"scores\" (other lines have them: give all or none)",
                               path, rows[i].line);
                break;
            }
        goto done;
    }
    if ((s = label_set(rows, n, path, p, r, err))) goto done;
    int L = r->n_labels;
    if (L < 2) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "need at least two labels (got %d)", L);
        goto done;
    }
    const char *const *names = (const char *const *)r->labels;
    r->n = n;
    r->gold = malloc(n * sizeof *r->gold);
    r->pred = malloc(n * sizeof *r->pred);
    r->texts = calloc(n, sizeof *r->texts);
    if (all_scores) r->scores = calloc(n * (size_t)L, sizeof *r->scores);
    if (!r->gold || !r->pred || !r->texts || (all_scores && !r->scores)) {
        s = OOM();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char b1[32], b2[32];
        const char *gs = label_text(rows[i].gold, b1), *ps = label_text(rows[i].pred, b2);
        r->gold[i] = bertc_label_lookup(gs, names, L);
        r->pred[i] = bertc_label_lookup(ps, names, L);
        if (r->gold[i] < 0 || r->pred[i] < 0) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: label \"%s\" is not among the labels", path, rows[i].line,
                           r->gold[i] < 0 ? gs : ps);
            goto done;
        }
        r->texts[i] = rows[i].text;
        rows[i].text = NULL;
        if (!all_scores) continue;
        const char *key;
        json_t *val;
        json_object_foreach(rows[i].scores, key, val) {
            int k = bertc_label_lookup(key, names, L);
            double v = json_is_number(val) ? json_number_value(val) : NAN;
            if (k < 0 || !(v >= 0 && v <= 1)) {
                s = bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: score for \"%s\": %s", path, rows[i].line, key,
                               k < 0 ? "not among the labels" : "not a probability between 0 and 1");
                goto done;
            }
            r->scores[i * L + k] = v;
        }
    }
    bertc_metrics_params mp = p->metrics;
    s = finish(r, &mp, p->positive_label, p->threshold, err);
done:
    for (size_t i = 0; i < n; i++) {
        json_decref(rows[i].gold);
        json_decref(rows[i].pred);
        json_decref(rows[i].scores);
        free(rows[i].text);
    }
    free(rows);
    return s;
}

bertc_status bertc_eval_predictions_parse(const char *data, size_t len, const char *name,
                                          const bertc_predictions_params *p, bertc_eval_report **out,
                                          bertc_error *err) {
    if (out) *out = NULL;
    if ((!data && len) || !p || !out)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_predictions: no data, parameters or output");
    if (p->labels && p->n_labels < 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_predictions: n_labels < 0");
    if (!name) name = "predictions";
    bertc_eval_report *r = calloc(1, sizeof *r);
    if (!r || !(r->command = strdup("metrics")) || !(r->data = strdup(name))) {
        bertc_eval_report_free(r);
        return OOM();
    }
    r->threshold = NAN;
    bertc_status s = predictions_parse(data ? data : "", len, name, p, r, err);
    if (s) {
        bertc_eval_report_free(r);
        return s;
    }
    *out = r;
    return BERTC_OK;
}

bertc_status bertc_eval_predictions(const char *path, const bertc_predictions_params *p, bertc_eval_report **out,
                                    bertc_error *err) {
    if (out) *out = NULL;
    if (!path) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_predictions: no path");
    /* read as a stream (a pipe or a FIFO is fine); a read error ends the input as end of file does */
    FILE *f = fopen(path, "rb");
    if (!f) return bertc_fail(err, BERTC_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0, k;
    char chunk[65536];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + k > cap) {
            size_t nc = (len + k) * 2;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                return OOM();
            }
            buf = nb, cap = nc;
        }
        memcpy(buf + len, chunk, k);
        len += k;
    }
    fclose(f);
    bertc_status s = bertc_eval_predictions_parse(buf, len, path, p, out, err);
    free(buf);
    return s;
}
