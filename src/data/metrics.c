/*
 * metrics.c — classification metrics with scikit-learn's definitions (1.2): confusion matrix,
 * precision/recall/F1 with zero_division=0 (and a warning), MCC, balanced accuracy, Cohen's kappa, ROC AUC,
 * average precision, log loss, Brier score; plus ECE, curves, a threshold sweep, seeded bootstrap intervals,
 * McNemar's test, and the warnings that name the traps.
 *
 * Averages run over the labels present in gold or predictions, as scikit-learn does when no `labels` argument
 * is given; per_class still lists every label.
 */
#include "bertc_data.h"
#include "base/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bertc_metrics_params bertc_metrics_default_params(void) {
    bertc_metrics_params p = {1, 1000, 0, 0.9, 0.9, 15};
    return p;
}

int bertc_metrics_warn(bertc_metrics *m, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (int i = 0; i < m->n_warnings; i++)
        if (!strcmp(m->warnings[i], buf)) return 1;
    char **nw = realloc(m->warnings, (size_t)(m->n_warnings + 1) * sizeof *nw);
    if (!nw) return 0;
    m->warnings = nw;
    if (!(nw[m->n_warnings] = strdup(buf))) return 0;
    m->n_warnings++;
    return 1;
}

void bertc_metrics_free(bertc_metrics *m) {
    if (!m) return;
    free(m->confusion);
    free(m->per_class);
    free(m->roc);
    free(m->pr);
    free(m->calibration);
    for (int i = 0; i < m->n_warnings; i++) free(m->warnings[i]);
    free(m->warnings);
    free(m);
}

/* ---- counts-based metrics, shared by the point estimate and the bootstrap (weights = multiplicities) ---- */

typedef struct summary {
    double accuracy, f1, macro_f1, mcc, balanced_accuracy;
} summary;

/* From a confusion matrix of doubles (weighted counts). */
static summary summarize(const double *C, int L, int positive) {
    summary s;
    double n = 0, correct = 0, tt = 0, pp = 0, tp_sum = 0;
    double f1_sum = 0, rec_sum = 0;
    int present = 0, with_support = 0;
    for (int k = 0; k < L; k++) {
        double t = 0, p = 0;
        for (int j = 0; j < L; j++) t += C[k * L + j], p += C[j * L + k];
        double tp = C[k * L + k];
        n += t;
        correct += tp;
        tt += t * t;
        pp += p * p;
        tp_sum += t * p;
        if (t == 0 && p == 0) continue;
        present++;
        double prec = p > 0 ? tp / p : 0, rec = t > 0 ? tp / t : 0;
        double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
        f1_sum += f1;
        if (t > 0) rec_sum += rec, with_support++;
    }
    s.accuracy = n > 0 ? correct / n : NAN;
    s.macro_f1 = present ? f1_sum / present : NAN;
    if (positive < 0) s.f1 = s.macro_f1;
    else {
        double t = 0, p = 0, tp = C[positive * L + positive];
        for (int j = 0; j < L; j++) t += C[positive * L + j], p += C[j * L + positive];
        double prec = p > 0 ? tp / p : 0, rec = t > 0 ? tp / t : 0;
        s.f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
    }
    s.balanced_accuracy = with_support ? rec_sum / with_support : NAN;
    double cov_ytyp = correct * n - tp_sum, cov_ypyp = n * n - pp, cov_ytyt = n * n - tt;
    s.mcc = cov_ypyp * cov_ytyt == 0 ? 0.0 : cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
    return s;
}

/* ---- ranking metrics for one binary problem: y[i] in {0,1}, s[i] scores, w[i] weights (NULL = 1) ---- */

typedef struct ranked {
    size_t n;
    size_t *order; /* indices by descending score */
} ranked;

static const double *sort_scores;
static int cmp_desc(const void *a, const void *b) {
    double x = sort_scores[*(const size_t *)a], y = sort_scores[*(const size_t *)b];
    if (x != y) return x < y ? 1 : -1;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    return i < j ? -1 : i > j;
}

static bool rank_init(ranked *r, const double *s, size_t n) {
    r->n = n;
    r->order = malloc((n ? n : 1) * sizeof *r->order);
    if (!r->order) return false;
    for (size_t i = 0; i < n; i++) r->order[i] = i;
    sort_scores = s;
    qsort(r->order, n, sizeof *r->order, cmp_desc);
    return true;
}

/* ROC AUC (trapezoids over tied groups) and average precision (sum of (R_k - R_k-1) P_k over distinct
 * thresholds), as sklearn.metrics.roc_auc_score and average_precision_score. NaN when a class is absent. */
static void rank_metrics(const ranked *r, const unsigned char *y, const double *s, const double *w, double *auc,
                         double *ap) {
    double P = 0, N = 0;
    for (size_t i = 0; i < r->n; i++) {
        double wi = w ? w[i] : 1;
        if (y[i]) P += wi;
        else N += wi;
    }
    double tp = 0, fp = 0, area = 0, apsum = 0, prev_tp = 0, prev_fp = 0;
    for (size_t k = 0; k < r->n;) {
        double t = s[r->order[k]];
        while (k < r->n && s[r->order[k]] == t) {
            size_t i = r->order[k++];
            double wi = w ? w[i] : 1;
            if (y[i]) tp += wi;
            else fp += wi;
        }
        area += (fp - prev_fp) * (tp + prev_tp) / 2;
        if (tp + fp > 0 && P > 0) apsum += (tp - prev_tp) / P * (tp / (tp + fp));
        prev_tp = tp;
        prev_fp = fp;
    }
    if (auc) *auc = P > 0 && N > 0 ? area / (P * N) : NAN;
    if (ap) *ap = P > 0 ? apsum : NAN;
}

/* ---- random numbers for the bootstrap: splitmix64-seeded xoshiro256** ---- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in [0, n) without modulo bias (Lemire). */
static size_t rng_below(rng *r, size_t n) {
    unsigned __int128 m = (unsigned __int128)rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thr = (uint64_t)(-(uint64_t)n) % n;
        while (lo < thr) {
            m = (unsigned __int128)rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (size_t)(m >> 64);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy.percentile (linear interpolation) at 2.5 and 97.5 over the non-NaN values. */
static bertc_interval interval_of(double *v, int n) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) v[m++] = v[i];
    bertc_interval iv = {NAN, NAN};
    if (m == 0) return iv;
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    double q[2] = {0.025, 0.975}, *o[2] = {&iv.lo, &iv.hi};
    for (int k = 0; k < 2; k++) {
        double pos = q[k] * (m - 1);
        int i = (int)floor(pos);
        double f = pos - i;
        *o[k] = i + 1 < m ? v[i] + f * (v[i + 1] - v[i]) : v[i];
    }
    return iv;
}

static bool bootstrap(bertc_metrics *m, size_t n, int L, const int *gold, const int *pred, const double *pos_scores,
                      const ranked *rk, const unsigned char *ybin, const bertc_metrics_params *p) {
    int B = p->bootstrap;
    double *w = calloc(n ? n : 1, sizeof *w), *C = malloc((size_t)L * L * sizeof *C);
    double *v = malloc((size_t)B * 6 * sizeof *v);
    if (!w || !C || !v) {
        free(w), free(C), free(v);
        return false;
    }
    rng r;
    uint64_t x = p->seed;
    for (int k = 0; k < 4; k++) r.s[k] = splitmix(&x);
    for (int b = 0; b < B; b++) {
        memset(w, 0, n * sizeof *w);
        for (size_t i = 0; i < n; i++) w[rng_below(&r, n)] += 1;
        memset(C, 0, (size_t)L * L * sizeof *C);
        for (size_t i = 0; i < n; i++) C[gold[i] * L + pred[i]] += w[i];
        summary s = summarize(C, L, m->positive);
        double auc = NAN;
        if (pos_scores) rank_metrics(rk, ybin, pos_scores, w, &auc, NULL);
        double *row = v + (size_t)b * 6;
        row[0] = s.accuracy, row[1] = s.f1, row[2] = s.macro_f1, row[3] = s.mcc, row[4] = s.balanced_accuracy;
        row[5] = auc;
    }
    double *col = malloc((size_t)B * sizeof *col);
    bertc_interval *dst[6] = {&m->ci_accuracy, &m->ci_f1, &m->ci_macro_f1, &m->ci_mcc, &m->ci_balanced_accuracy,
                              &m->ci_roc_auc};
    for (int k = 0; col && k < 6; k++) {
        for (int b = 0; b < B; b++) col[b] = v[(size_t)b * 6 + k];
        *dst[k] = interval_of(col, B);
    }
    bool ok = col != NULL;
    free(col), free(w), free(C), free(v);
    return ok;
}

/* ---- curves and thresholds (binary with scores) ---- */

static bool curves(bertc_metrics *m, const ranked *rk, const unsigned char *y, const double *s, size_t n,
                   const bertc_metrics_params *p) {
    double P = 0, N = 0;
    for (size_t i = 0; i < n; i++) y[i] ? P++ : N++;
    m->roc = malloc((n + 1) * sizeof *m->roc);
    m->pr = malloc((n + 1) * sizeof *m->pr);
    if (!m->roc || !m->pr) return false;
    m->roc[m->n_roc++] = (bertc_curve_point){0, 0, INFINITY};
    double tp = 0, fp = 0;
    bertc_threshold_point none = {NAN, NAN, NAN, NAN};
    m->best_f1 = m->for_precision = m->for_recall = none;
    m->best_f1.f1 = -1;
    for (size_t k = 0; k < n;) {
        double t = s[rk->order[k]];
        while (k < n && s[rk->order[k]] == t) y[rk->order[k++]] ? tp++ : fp++;
        m->roc[m->n_roc++] = (bertc_curve_point){N > 0 ? fp / N : NAN, P > 0 ? tp / P : NAN, t};
        double prec = tp / (tp + fp), rec = P > 0 ? tp / P : NAN;
        m->pr[m->n_pr++] = (bertc_curve_point){rec, prec, t};
        double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
        bertc_threshold_point tpnt = {t, prec, rec, f1};
        if (f1 > m->best_f1.f1) m->best_f1 = tpnt;
        if (prec >= p->min_precision) m->for_precision = tpnt; /* lowest such threshold: most recall */
        if (rec >= p->min_recall && isnan(m->for_recall.threshold)) m->for_recall = tpnt; /* highest: most precision */
    }
    if (m->best_f1.f1 < 0) m->best_f1 = none;
    return true;
}

static bool calibration(bertc_metrics *m, size_t n, int L, const int *gold, const int *pred, const double *scores,
                        int bins) {
    if (bins < 1) bins = 15;
    m->calibration = calloc((size_t)bins, sizeof *m->calibration);
    if (!m->calibration) return false;
    m->n_calibration = bins;
    double *conf = calloc((size_t)bins, sizeof *conf), *acc = calloc((size_t)bins, sizeof *acc);
    if (!conf || !acc) {
        free(conf), free(acc);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        double c = scores[i * L + pred[i]];
        int b = (int)ceil(c * bins) - 1; /* bins (lo, hi]; 0 goes to the first */
        if (b < 0) b = 0;
        if (b >= bins) b = bins - 1;
        m->calibration[b].count++;
        conf[b] += c;
        acc[b] += gold[i] == pred[i];
    }
    double ece = 0;
    for (int b = 0; b < bins; b++) {
        bertc_calibration_bin *cb = &m->calibration[b];
        cb->lo = (double)b / bins;
        cb->hi = (double)(b + 1) / bins;
        cb->confidence = cb->count ? conf[b] / cb->count : NAN;
        cb->accuracy = cb->count ? acc[b] / cb->count : NAN;
        if (cb->count) ece += (double)cb->count / n * fabs(cb->accuracy - cb->confidence);
    }
    m->ece = ece;
    free(conf), free(acc);
    return true;
}

/* ---- the warnings that name the traps ---- */

static const char *nm(const char *const *names, int k, char *buf) {
    if (names && names[k]) return names[k];
    snprintf(buf, 16, "%d", k);
    return buf;
}

static bool trap_warnings(bertc_metrics *m, const char *const *names) {
    int L = m->n_labels;
    char b1[16], b2[16];
    int minority = -1;
    for (int k = 0; k < L; k++)
        if (m->per_class[k].support > 0 && (minority < 0 || m->per_class[k].support < m->per_class[minority].support))
            minority = k;
    bool ok = true;
    double base = m->majority_baseline_accuracy;
    if (m->accuracy <= base + 1e-12)
        ok &= bertc_metrics_warn(
            m,
            "accuracy paradox: accuracy %.4f is no better than always predicting the majority class '%s' (%.4f); "
            "judge the model by recall, precision, MCC and balanced accuracy instead",
            m->accuracy, nm(names, m->majority_class, b1), base);
    if (minority >= 0 && minority != m->majority_class) {
        double share = (double)m->per_class[minority].support / m->n;
        if (share < 0.2)
            ok &= bertc_metrics_warn(m,
                                     "unbalanced classes: '%s' is only %.1f%% of the examples and the majority "
                                     "baseline is already %.4f; accuracy says little here, look at per-class recall, "
                                     "balanced accuracy (%.4f), MCC (%.4f) and average precision",
                                     nm(names, minority, b1), 100 * share, base, m->balanced_accuracy, m->mcc);
        if (m->accuracy >= 0.85 && m->per_class[minority].recall < 0.5)
            ok &= bertc_metrics_warn(m,
                                     "high accuracy (%.4f) but recall on the minority class '%s' is only %.4f: the "
                                     "model misses most of the rare cases, which are often the ones that matter "
                                     "(think fraud)",
                                     m->accuracy, nm(names, minority, b1), m->per_class[minority].recall);
    }
    for (int k = 0; k < L; k++) {
        if (m->per_class[k].support > 0 && m->per_class[k].predicted == 0)
            ok &= bertc_metrics_warn(m, "the model never predicts '%s' (%ld examples): its recall is 0",
                                     nm(names, k, b2), m->per_class[k].support);
    }
    if (m->n < 100)
        ok &= bertc_metrics_warn(m, "only %zu examples: every figure here is uncertain, see the confidence intervals",
                                 m->n);
    return ok;
}

bertc_status bertc_metrics_compute(size_t n, int L, const int *gold, const int *pred, const double *scores,
                                   const char *const *names, const bertc_metrics_params *pp, bertc_metrics **out,
                                   bertc_error *err) {
    bertc_metrics_params p = pp ? *pp : bertc_metrics_default_params();
    *out = NULL;
    if (n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "no examples to evaluate");
    if (L < 1 || L > 100000) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bad number of labels %d", L);
    for (size_t i = 0; i < n; i++)
        if (gold[i] < 0 || gold[i] >= L || pred[i] < 0 || pred[i] >= L)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "example %zu: label id out of range", i);
    if (p.bootstrap < 0 || p.bootstrap > 1000000) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bad bootstrap count");
    if (L == 2 && (p.positive < 0 || p.positive > 1))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "positive class %d is not a label id", p.positive);
    bertc_metrics *m = calloc(1, sizeof *m);
    if (!m) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    m->n = n;
    m->n_labels = L;
    m->positive = L == 2 ? p.positive : -1;
    m->bootstrap = p.bootstrap;
    m->seed = p.seed;
    m->min_precision = p.min_precision;
    m->min_recall = p.min_recall;
    m->roc_auc = m->average_precision = m->log_loss = m->brier = m->ece = NAN;
    bertc_interval nan_iv = {NAN, NAN};
    m->ci_accuracy = m->ci_f1 = m->ci_macro_f1 = m->ci_mcc = m->ci_balanced_accuracy = m->ci_roc_auc = nan_iv;
    bertc_threshold_point none = {NAN, NAN, NAN, NAN};
    m->best_f1 = m->for_precision = m->for_recall = none;
    m->confusion = calloc((size_t)L * L, sizeof *m->confusion);
    m->per_class = calloc((size_t)L, sizeof *m->per_class);
    double *C = calloc((size_t)L * L, sizeof *C);
    unsigned char *ybin = malloc(n);
    double *col = malloc(n * sizeof *col);
    ranked rk = {0, NULL};
    bool ok = m->confusion && m->per_class && C && ybin && col;
    char b1[16];
    if (!ok) goto done;

    for (size_t i = 0; i < n; i++) m->confusion[gold[i] * L + pred[i]]++;
    for (int k = 0; k < L * L; k++) C[k] = (double)m->confusion[k];
    summary s = summarize(C, L, m->positive);
    m->accuracy = s.accuracy;
    m->mcc = s.mcc;
    m->balanced_accuracy = s.balanced_accuracy;
    m->macro_f1 = s.macro_f1;

    /* per class, averages, zero_division warnings (sklearn: UndefinedMetricWarning, value 0.0) */
    int present = 0;
    double tp_all = 0;
    for (int k = 0; k < L; k++) {
        bertc_class_metrics *c = &m->per_class[k];
        long t = 0, pr = 0, tp = m->confusion[k * L + k];
        for (int j = 0; j < L; j++) t += m->confusion[k * L + j], pr += m->confusion[j * L + k];
        c->support = t;
        c->predicted = pr;
        c->precision = pr ? (double)tp / pr : 0;
        c->recall = t ? (double)tp / t : 0;
        c->f1 = c->precision + c->recall > 0 ? 2 * c->precision * c->recall / (c->precision + c->recall) : 0;
        tp_all += tp;
        if (t == 0 && pr == 0) continue;
        present++;
        if (!pr)
            ok &= bertc_metrics_warn(m,
                                     "precision is ill-defined for label '%s' (no predicted examples) and is set to "
                                     "0.0, as scikit-learn's zero_division=0",
                                     nm(names, k, b1));
        if (!t)
            ok &= bertc_metrics_warn(m,
                                     "recall is ill-defined for label '%s' (no true examples) and is set to 0.0, as "
                                     "scikit-learn's zero_division=0; balanced accuracy leaves it out",
                                     nm(names, k, b1));
        m->macro_precision += c->precision;
        m->macro_recall += c->recall;
        m->weighted_precision += c->precision * t;
        m->weighted_recall += c->recall * t;
        m->weighted_f1 += c->f1 * t;
    }
    m->macro_precision /= present;
    m->macro_recall /= present;
    m->weighted_precision /= n;
    m->weighted_recall /= n;
    m->weighted_f1 /= n;
    m->micro_precision = m->micro_recall = m->micro_f1 = tp_all / n;
    if (m->positive >= 0) {
        m->precision = m->per_class[m->positive].precision;
        m->recall = m->per_class[m->positive].recall;
        m->f1 = m->per_class[m->positive].f1;
    } else {
        m->precision = m->macro_precision;
        m->recall = m->macro_recall;
        m->f1 = m->macro_f1;
    }
    /* Cohen's kappa: (po - pe) / (1 - pe) */
    {
        double pe = 0;
        for (int k = 0; k < L; k++) pe += (double)m->per_class[k].support * m->per_class[k].predicted;
        pe /= (double)n * n;
        m->cohen_kappa = pe < 1 ? (m->accuracy - pe) / (1 - pe) : NAN;
    }
    m->majority_class = 0;
    for (int k = 1; k < L; k++)
        if (m->per_class[k].support > m->per_class[m->majority_class].support) m->majority_class = k;
    m->majority_baseline_accuracy = (double)m->per_class[m->majority_class].support / n;

    if (scores) {
        for (size_t i = 0; i < n * (size_t)L; i++)
            if (!isfinite(scores[i]) || scores[i] < -1e-6 || scores[i] > 1 + 1e-6) {
                ok = false;
                bertc_metrics_free(m);
                m = NULL;
                free(C), free(ybin), free(col);
                return bertc_fail(err, BERTC_ERR_INVALID_ARG, "example %zu: score %g is not a probability",
                                  i / (size_t)L, scores[i]);
            }
        /* log loss: clip to [eps, 1-eps], renormalize rows, mean -log p(true) (binary: from P(positive)) */
        double ll = 0, brier = 0;
        for (size_t i = 0; i < n; i++) {
            const double *r = scores + i * (size_t)L;
            double sum = 0, pt = 0;
            for (int k = 0; k < L; k++) {
                double v = fmin(fmax(r[k], DBL_EPSILON), 1 - DBL_EPSILON);
                sum += v;
                if (k == gold[i]) pt = v;
            }
            if (m->positive >= 0) { /* binary: from P(positive) alone, as log_loss(y, proba[:, pos]) */
                double ppos = fmin(fmax(r[m->positive], DBL_EPSILON), 1 - DBL_EPSILON);
                ll -= log(gold[i] == m->positive ? ppos : 1 - ppos);
            } else {
                ll -= log(pt / sum);
            }
            if (m->positive >= 0) {
                double d = r[m->positive] - (gold[i] == m->positive);
                brier += d * d;
            } else {
                for (int k = 0; k < L; k++) {
                    double d = r[k] - (gold[i] == k);
                    brier += d * d;
                }
            }
        }
        m->log_loss = ll / n;
        m->brier = brier / n;
        ok = ok && calibration(m, n, L, gold, pred, scores, p.ece_bins);
        if (m->positive >= 0) {
            for (size_t i = 0; i < n; i++) col[i] = scores[i * L + m->positive], ybin[i] = gold[i] == m->positive;
            ok = ok && rank_init(&rk, col, n);
            if (ok) {
                rank_metrics(&rk, ybin, col, NULL, &m->roc_auc, &m->average_precision);
                ok = curves(m, &rk, ybin, col, n, &p);
            }
        } else {
            double auc_sum = 0, ap_sum = 0;
            int auc_n = 0, ap_n = 0;
            for (int k = 0; ok && k < L; k++) {
                for (size_t i = 0; i < n; i++) col[i] = scores[i * L + k], ybin[i] = gold[i] == k;
                ranked r1;
                if (!(ok = rank_init(&r1, col, n))) break;
                double auc, ap;
                rank_metrics(&r1, ybin, col, NULL, &auc, &ap);
                free(r1.order);
                if (!isnan(auc)) auc_sum += auc, auc_n++;
                if (!isnan(ap)) ap_sum += ap, ap_n++;
            }
            /* sklearn refuses one-vs-rest AUC when a class has no true examples; so do we (NaN + warning) */
            if (auc_n == L) m->roc_auc = auc_sum / L;
            if (ap_n == L) m->average_precision = ap_sum / L;
        }
        if (ok && isnan(m->roc_auc) && isnan(m->average_precision))
            ok &= bertc_metrics_warn(m, "ROC AUC and average precision are undefined: %s",
                                     "some class has no true examples (or no others), so there is nothing to rank");
        else if (ok && isnan(m->roc_auc))
            ok &= bertc_metrics_warn(m, "ROC AUC is undefined: every true label is the positive class, so there is "
                                     "nothing to rank; average precision is then %.4f whatever the model scores "
                                     "(scikit-learn's figure, meaningless here)", m->average_precision);
    }
    ok = ok && trap_warnings(m, names);
    if (ok && p.bootstrap > 0)
        ok = bootstrap(m, n, L, gold, pred, scores && m->positive >= 0 ? col : NULL, &rk, ybin, &p);
done:
    free(C), free(ybin), free(col), free(rk.order);
    if (!ok) {
        bertc_metrics_free(m);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    *out = m;
    return BERTC_OK;
}

/* ---- McNemar ---- */

bertc_mcnemar bertc_mcnemar_test(size_t n, const int *gold, const int *pred_a, const int *pred_b) {
    bertc_mcnemar r = {0, 0, NAN, 1.0, 0};
    for (size_t i = 0; i < n; i++) {
        int a = pred_a[i] == gold[i], b = pred_b[i] == gold[i];
        if (a && !b) r.b++;
        if (b && !a) r.c++;
    }
    long d = r.b + r.c;
    if (d == 0) {
        r.exact = 1;
        return r;
    }
    if (d <= 25) {
        /* two-sided exact binomial: 2 * P(X <= min(b, c)), X ~ Bin(d, 1/2), capped at 1 */
        long k = r.b < r.c ? r.b : r.c;
        double sum = 0;
        for (long i = 0; i <= k; i++) sum += exp(lgamma(d + 1.0) - lgamma(i + 1.0) - lgamma(d - i + 1.0) - d * log(2.0));
        r.p_value = fmin(1.0, 2 * sum);
        r.exact = 1;
    } else {
        double x = fabs((double)(r.b - r.c)) - 1;
        r.statistic = x * x / d;
        r.p_value = erfc(sqrt(r.statistic / 2));
    }
    return r;
}
