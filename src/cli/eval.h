/*
 * eval.h — what `bertc eval`, `metrics`, `bias` and `compare` share: running a model over a dataset, and the
 * reports (terminal, JSON, Markdown, self-contained HTML with SVG charts).
 */
#ifndef BERTC_CLI_EVAL_H
#define BERTC_CLI_EVAL_H

#include "bertc_eval.h"
#include "cli.h"

#include <jansson.h>

/* Everything a report shows. Arrays are owned by whoever filled the struct (eval_result_free frees them). */
typedef struct eval_result {
    const char *command; /* "eval", "metrics" */
    const char *model;   /* model source, or NULL (metrics) */
    const char *data;    /* dataset or predictions file */
    int n_labels;
    char **labels;
    size_t n;
    int *gold, *pred;
    double *scores;  /* n x n_labels, or NULL */
    char **texts;    /* n, or NULL */
    double threshold; /* NaN: argmax */
    bertc_metrics *m;
    /* --train */
    const char *train;
    size_t train_n, leak_exact, leak_normalized;
    size_t *leak_idx; /* test indices of leaked examples (up to 5) */
    int n_leak_idx;
    bertc_metrics *m_clean;  /* without the leaked examples (NULL when none) */
    bertc_metrics *m_train;  /* on a sample of train (overfitting) */
    char **unseen_labels;    /* test labels never seen in train */
    int n_unseen;
    double seconds;          /* model time */
} eval_result;

void eval_result_free(eval_result *r);

/* Runs the model over texts (with progress on a terminal); fills pred (argmax ids) and scores (n x L). */
bool run_model(const bertc_model *m, const bertc_text *in, size_t n, int batch_size, bool progress, int *pred,
               double *scores, long *n_tokens, int *code);
/* Dataset examples as library inputs (borrowed). */
bertc_text *dataset_texts(const bertc_dataset *d);

/* Reports. */
json_t *report_json(const eval_result *r);
void report_terminal(FILE *f, const eval_result *r);
void report_markdown(FILE *f, const eval_result *r);
void report_html(FILE *f, const eval_result *r);
bool write_json_file(const char *path, json_t *j); /* "-" = stdout; prints the error */

/* SVG pieces shared with bias. */
void html_escape(FILE *f, const char *s);
void svg_bars(FILE *f, const char *title, const char *const *names, const double *values, int n, double mean);
void html_head(FILE *f, const char *title);
void html_tail(FILE *f);

double parse_prob(const char *s, const char *what, bool *ok);

int cmd_eval(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_bias(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
