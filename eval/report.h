/*
 * report.h — what the evaluation runs (evalrun.c, probe.c) and the renderers (report.c) share inside libbertc:
 * the report's fields, the model pass, and the text pieces (JSON strings, HTML, SVG). Not public; none of these
 * names starts with bertc_, so libbertc.so does not export them.
 */
#ifndef BERTC_EVAL_REPORT_H
#define BERTC_EVAL_REPORT_H

#include "bertc_eval.h"
#include "base/jsonw.h" /* jw_str, jw_real: prediction and probe rows */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

struct bertc_eval_report {
    char *command; /* "eval", "metrics" */
    char *model;   /* model source, or NULL (metrics) */
    char *data;    /* dataset or predictions file */
    int n_labels;
    char **labels;
    size_t n;
    int *gold, *pred;
    double *scores;   /* n x n_labels, or NULL */
    char **texts;     /* n (entries may be NULL), or NULL */
    char **pairs;     /* n (entries NULL without a pair), or NULL */
    double threshold; /* NaN: argmax */
    char *threshold_from;     /* the validation file the threshold was chosen on (best F1 there), or NULL */
    double threshold_from_f1; /* that F1, on threshold_from_n examples */
    size_t threshold_from_n;
    bool threshold_is_own;    /* a given threshold equal to one this data's own sweep picks (tuned on the test set?) */
    bertc_metrics *m;
    /* with train */
    char *train;
    size_t train_n, leak_exact, leak_normalized;
    size_t *leak_idx; /* test indices of leaked examples (up to 5) */
    int n_leak_idx;
    bertc_metrics *m_clean; /* without the leaked examples (NULL when none) */
    bertc_metrics *m_train; /* on a sample of train (overfitting) */
    char **unseen_labels;   /* test labels never seen in train */
    int n_unseen;
    double seconds; /* model time */
};

/* Runs the classifier over in[0..n) in chunks of 8 batches, calling progress after each; fills pred (argmax
 * ids) and scores (n x n_labels); n_tokens may be NULL. Fails with the classifier's status, "example N: why". */
bertc_status rpt_classify(const bertc_model *m, const bertc_text *in, size_t n, int batch_size,
                          bertc_eval_progress progress, void *ctx, int *pred, double *scores, long *n_tokens,
                          bertc_error *err);

/* An open_memstream buffer; rpt_close hands the text out (or fails with NOMEM and frees it). */
typedef struct rpt_buf {
    FILE *f;
    char *text;
    size_t len;
} rpt_buf;
bertc_status rpt_open(rpt_buf *b, bertc_error *err);
bertc_status rpt_close(rpt_buf *b, char **out, size_t *len, bertc_error *err);
/* JSON as the CLI's --json files: indent 1, 17 significant digits, a newline at the end. Takes j (decref'ed). */
/* j dumped (and freed); since: jalloc_failures() taken before j was built (a dropped member is out of memory) */
bertc_status rpt_json(json_t *j, unsigned since, char **out, size_t *len, bertc_error *err);

void rpt_html_escape(FILE *f, const char *s);
void rpt_html_head(FILE *f, const char *title);
void rpt_html_tail(FILE *f);
void rpt_svg_bars(FILE *f, const char *title, const char *const *names, const double *values, int n, double mean);

char *rpt_strdup(const char *s); /* NULL stays NULL */

#endif
