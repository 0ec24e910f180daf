/*
 * bertc_data.h — labeled datasets (TSV, CSV, JSON lines) and classification metrics with scikit-learn's
 * definitions, curves, bootstrap confidence intervals and McNemar's test. Part of libbertc itself: the trainer
 * reads its data and computes its evaluation metrics with these. The evaluation applications (reports, bias
 * probe, compare, task evaluation) are in bertc_eval.h and libbertc-eval.
 *
 * Like bertc.h: status codes plus a message in a caller-supplied bertc_error, no printing, no exit().
 */
#ifndef BERTC_DATA_H
#define BERTC_DATA_H

#include "bertc.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* ---- datasets ---------------------------------------------------------------------------------------- */

typedef enum bertc_data_format {
    BERTC_DATA_AUTO = 0, /* by extension: .tsv, .csv, .jsonl/.json/.ndjson; else sniffed from the first line */
    BERTC_DATA_TSV = 1,  /* header row; fields split on tabs, no quoting (GLUE's files) */
    BERTC_DATA_CSV = 2,  /* header row; RFC 4180 quoting ("" inside quotes, newlines inside quotes) */
    BERTC_DATA_JSONL = 3 /* one JSON object per line; labels may be strings or integers */
} bertc_data_format;

typedef struct bertc_dataset_params {
    bertc_data_format format;
    const char *text_column;  /* NULL: the first of sentence1, question, premise, sentence, text, content, review */
    const char *pair_column;  /* NULL: sentence2 / sentence / hypothesis / text_pair for sentence1 / question /
                                 premise / text, when present (TSV, CSV and JSON lines alike) */
    const char *label_column; /* NULL: "label"; "" for a dataset without labels */
} bertc_dataset_params;

typedef struct bertc_example {
    const char *text; /* valid UTF-8, NUL-terminated (JSON strings with NUL keep their length in len) */
    size_t len;
    const char *pair; /* NULL when there is no pair column */
    size_t pair_len;
    const char *label; /* as written in the file (an integer id or a name); NULL when unlabeled */
    long line;         /* line of the file where the example starts, 1-based */
} bertc_example;

typedef struct bertc_dataset {
    size_t n;
    bertc_example *ex;
    char *name; /* the path, for messages */
} bertc_dataset;

bertc_dataset_params bertc_dataset_default_params(void);
/* Reads a labeled dataset. Malformed rows (wrong number of fields, missing column, empty label, invalid
 * UTF-8, bad JSON) fail with BERTC_ERR_INPUT and "FILE:LINE: why". */
bertc_status bertc_dataset_read(const char *path, const bertc_dataset_params *p, bertc_dataset **out,
                                bertc_error *err);
/* The same from memory; name is used in messages and to pick the format when p->format is AUTO. */
bertc_status bertc_dataset_parse(const char *data, size_t len, const char *name, const bertc_dataset_params *p,
                                 bertc_dataset **out, bertc_error *err);
void bertc_dataset_free(bertc_dataset *d);

/* Maps a label as written to an id among names[0..n_names): an integer in range, else the exact name, else
 * the name ignoring ASCII case. Returns -1 when nothing matches. */
int bertc_label_lookup(const char *label, const char *const *names, int n_names);

/* ---- metrics ----------------------------------------------------------------------------------------- */

typedef struct bertc_metrics_params {
    int positive;          /* binary tasks: the positive class id (default 1); ignored when n_labels != 2 */
    int bootstrap;         /* resamples for the 95% intervals (default 1000; 0 = none) */
    uint64_t seed;         /* bootstrap seed (default 0): the same seed gives the same intervals */
    double min_precision;  /* threshold sweep targets (default 0.9 each) */
    double min_recall;
    int ece_bins;          /* equal-width confidence bins for ECE and the calibration curve (default 15) */
} bertc_metrics_params;

typedef struct bertc_class_metrics {
    double precision, recall, f1;
    long support;    /* true examples of the class */
    long predicted;  /* predictions of the class */
} bertc_class_metrics;

typedef struct bertc_interval {
    double lo, hi; /* percentile bootstrap 95% interval; NaN when undefined */
} bertc_interval;

typedef struct bertc_curve_point {
    double x, y, threshold;
} bertc_curve_point;

typedef struct bertc_calibration_bin {
    double lo, hi;       /* confidence range */
    long count;
    double confidence;   /* mean max-probability in the bin */
    double accuracy;     /* fraction correct in the bin */
} bertc_calibration_bin;

typedef struct bertc_threshold_point {
    double threshold; /* predict positive when P(positive) >= threshold; NaN when no threshold reaches it */
    double precision, recall, f1;
} bertc_threshold_point;

typedef struct bertc_metrics {
    size_t n;
    int n_labels;
    int positive;               /* -1 for multiclass */
    long *confusion;            /* n_labels x n_labels, rows = true, columns = predicted */
    bertc_class_metrics *per_class;
    double accuracy;
    double precision, recall, f1; /* binary: the positive class; multiclass: macro averages */
    double macro_precision, macro_recall, macro_f1;
    double micro_precision, micro_recall, micro_f1;
    double weighted_precision, weighted_recall, weighted_f1;
    double mcc, balanced_accuracy, cohen_kappa;
    double majority_baseline_accuracy;
    int majority_class;
    /* From the scores (NaN when no scores, or when undefined, e.g. one class only): */
    double roc_auc;           /* binary: positive class; multiclass: macro one-vs-rest */
    double average_precision; /* binary: positive class; multiclass: macro one-vs-rest */
    double log_loss, brier, ece;
    bertc_curve_point *roc;   /* binary only: (fpr, tpr) as sklearn.metrics.roc_curve(drop_intermediate=False) */
    size_t n_roc;
    bertc_curve_point *pr;    /* binary only: (recall, precision) as precision_recall_curve */
    size_t n_pr;
    bertc_calibration_bin *calibration;
    int n_calibration;
    bertc_threshold_point best_f1, for_precision, for_recall; /* binary with scores */
    double min_precision, min_recall;
    /* Bootstrap 95% intervals (NaN when bootstrap = 0). */
    bertc_interval ci_accuracy, ci_f1, ci_macro_f1, ci_mcc, ci_balanced_accuracy, ci_roc_auc;
    int bootstrap;
    uint64_t seed;
    /* What the numbers mean: sentences, most important first. */
    char **warnings;
    int n_warnings;
} bertc_metrics;

bertc_metrics_params bertc_metrics_default_params(void);
/* gold and pred hold ids in [0, n_labels); scores (n x n_labels probabilities, rows summing to ~1) may be NULL.
 * names (may be NULL) are used in warnings. */
bertc_status bertc_metrics_compute(size_t n, int n_labels, const int *gold, const int *pred, const double *scores,
                                   const char *const *names, const bertc_metrics_params *p, bertc_metrics **out,
                                   bertc_error *err);
/* Appends a warning sentence (printf-style) to m; false on OOM. */
int bertc_metrics_warn(bertc_metrics *m, const char *fmt, ...);
void bertc_metrics_free(bertc_metrics *m);

/* McNemar's test on two classifiers' correctness over the same examples: b = only A right, c = only B right.
 * p-value: exact two-sided binomial when b + c <= 25, else chi-square with continuity correction (1 dof). */
typedef struct bertc_mcnemar {
    long b, c;
    double statistic; /* chi-square with continuity correction (NaN for the exact test) */
    double p_value;
    int exact;
} bertc_mcnemar;
bertc_mcnemar bertc_mcnemar_test(size_t n, const int *gold, const int *pred_a, const int *pred_b);

#ifdef __cplusplus
}
#endif

/* ---- leakage -------------------------------------------------------------------------------------------- */

/* Test examples whose text (with pair) also appears in train: exactly (byte for byte) or after normalization
 * (Unicode case folding, accents kept, punctuation dropped, whitespace collapsed). flags[i] is 0 (clean),
 * 1 (exact duplicate) or 2 (normalized duplicate only). `bertc eval --train` reports them; `bertc train` warns
 * about validation rows that are training rows. */
bertc_status bertc_find_leakage(const bertc_dataset *train, const bertc_dataset *test, unsigned char *flags,
                                size_t *n_exact, size_t *n_normalized, bertc_error *err);

#endif
