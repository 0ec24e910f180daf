/*
 * bertc_eval.h — libbertc-eval, the evaluation applications over libbertc's public API: evaluation runs and
 * their reports, leakage, the bias probe, model comparison, seqeval and SQuAD, token-classification and QA
 * evaluation, with the warnings a careful practitioner would give (accuracy paradox, zero division, leakage,
 * overfitting). Datasets and metrics are libbertc's own (bertc_data.h, included here).
 *
 * Like bertc.h: status codes plus a message in a caller-supplied bertc_error, no printing, no exit().
 */
#ifndef BERTC_EVAL_H
#define BERTC_EVAL_H

#include "bertc.h"
#include "bertc_data.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The size in bytes of a public struct of this header by its name ("bertc_eval_params"), or 0 for a name that is
 * none (bertc_struct_size for libbertc's). */
size_t bertc_eval_struct_size(const char *name);

/* ---- evaluation runs and their reports ------------------------------------------------------------------ */
/*
 * What `bertc eval`, `metrics`, `bias` and `compare` compute and show, as calls: a run returns an opaque report,
 * and a report renders to text, exactly what the CLI writes for that format. Rendered text is malloc'ed and
 * NUL-terminated: free it with bertc_free. Errors found while running (a bad dataset line, a label the model
 * does not have, a --positive-label that is not a label) are a status plus "FILE:LINE: why" in err.
 */

/* Called after each chunk of examples the model ran (done of total), done == total last. */
typedef void (*bertc_eval_progress)(size_t done, size_t total, void *ctx);

/* Called before each pass of a model over examples, with the progress context: what is about to run. */
typedef enum bertc_eval_stage {
    BERTC_EVAL_STAGE_DATA = 0,         /* bertc_eval_run over the dataset: n examples (of = n) */
    BERTC_EVAL_STAGE_TRAIN_SAMPLE = 1, /* with train: a seeded sample of n of train's `of` examples */
    BERTC_EVAL_STAGE_LATENCY = 2,      /* bertc_compare_add: n texts one at a time at batch 1 (of = n) */
    BERTC_EVAL_STAGE_THROUGHPUT = 3    /* bertc_compare_add: the whole dataset, n examples (of = n) */
} bertc_eval_stage;
typedef void (*bertc_eval_stage_fn)(bertc_eval_stage stage, size_t n, size_t of, void *ctx);

typedef struct bertc_eval_params {
    const char *data;              /* labeled dataset file (required) */
    const char *train;             /* NULL: none; else leakage, unseen labels and the train/validation gap, as --train */
    bertc_dataset_params dataset;  /* columns and format (of data and train) */
    bertc_metrics_params metrics;  /* bootstrap, seed, min_precision, min_recall, ece_bins (positive: see below) */
    const char *positive_label;    /* NULL: the default positive class (label id 1 of a binary task); a binary
                                      task only, a name or an id, as --positive-label */
    double threshold;              /* NaN (default): argmax; else P(positive) >= threshold, a binary task only */
    int batch_size;                /* 32 (at most 4096) */
    int train_sample;              /* train examples run for the train-vs-test gap (default 1000, as --train-sample) */
    bertc_eval_progress progress;  /* NULL: none (the CLI passes one that draws its progress bar on a terminal) */
    void *progress_ctx;
    const char *threshold_from;    /* NULL: none; else a labeled validation file (same columns and format as data):
                                      the threshold on P(positive) with the best F1 there is applied to data (a
                                      binary task; not with threshold), as --threshold-from. The thresholds eval
                                      suggests are chosen on data itself: tuning them there leaks the test set */
} bertc_eval_params;

bertc_eval_params bertc_eval_default_params(void);

/* Everything a report shows: the labels, gold and predicted ids, scores, texts, the metrics with their warnings
 * (the trap warnings, and with train: leakage, overfitting, labels never seen in train). */
typedef struct bertc_eval_report bertc_eval_report;

/* Runs a single-label classifier over p->data and computes the metrics: BERTC_ERR_INPUT for a malformed dataset
 * or a label the model does not have ("FILE:LINE: ..."), BERTC_ERR_UNSUPPORTED for a model that is not a
 * single-label classifier, BERTC_ERR_INVALID_ARG for a positive_label / threshold the task cannot take, the
 * classifier's status ("example N: ...") when it fails. *out is freed with bertc_eval_report_free. */
bertc_status bertc_eval_run(const bertc_model *m, const bertc_eval_params *p, bertc_eval_report **out,
                            bertc_error *err);
/* The same with the datasets already read (borrowed for the call; NULL: p->data / p->train are read, and a
 * dataset passed names the report by p->data, else by its own name) and a stage callback (may be NULL; it gets
 * p->progress_ctx). */
bertc_status bertc_eval_run_ex(const bertc_model *m, const bertc_eval_params *p, const bertc_dataset *data,
                               const bertc_dataset *train, bertc_eval_stage_fn stage, bertc_eval_report **out,
                               bertc_error *err);

/* `bertc metrics`: any classifier's predictions as JSON lines {"gold": label, "pred": label, "scores": {label: p},
 * "text": ...} ("label" and "prediction" are accepted too; labels are names or ids; scores are optional, on
 * every line or on none). */
typedef struct bertc_predictions_params {
    const char *const *labels;    /* NULL: the sorted names seen (or ids 0..max); else the names in id order,
                                     as --labels L0,L1,... */
    int n_labels;
    bertc_metrics_params metrics; /* as bertc_eval_params.metrics */
    const char *positive_label;   /* as bertc_eval_params */
    double threshold;             /* NaN (default): the predictions as given */
} bertc_predictions_params;

bertc_predictions_params bertc_predictions_default_params(void);
bertc_status bertc_eval_predictions(const char *path, const bertc_predictions_params *p, bertc_eval_report **out,
                                    bertc_error *err);
/* The same from memory; name is used in the report and in messages ("NAME:LINE: why"). */
bertc_status bertc_eval_predictions_parse(const char *data, size_t len, const char *name,
                                          const bertc_predictions_params *p, bertc_eval_report **out,
                                          bertc_error *err);

typedef enum bertc_report_format {
    BERTC_REPORT_JSON = 0,        /* the --json file's content (stable keys, README.md), ending in a newline */
    BERTC_REPORT_TERMINAL = 1,    /* the tables the CLI prints (plain text, no colour: the same on a terminal) */
    BERTC_REPORT_MARKDOWN = 2,
    BERTC_REPORT_HTML = 3,        /* one self-contained page, inline SVG charts, no script, no network */
    BERTC_REPORT_PREDICTIONS = 4, /* the --predictions JSON lines; a bias report: one line per group (--format jsonl) */
    BERTC_REPORT_SVG = 5          /* a bias report only: the bar chart (--format svg) */
} bertc_report_format;

/* The report as text, exactly what the CLI writes for that format (JSON: the --json file's content). *out is
 * malloc'ed, NUL-terminated; free with bertc_free. len may be NULL. BERTC_ERR_INVALID_ARG for a format the
 * report does not have (SVG of an evaluation, PREDICTIONS of a metrics report without scores). */
bertc_status bertc_eval_report_render(const bertc_eval_report *r, bertc_report_format f, char **out, size_t *len,
                                      bertc_error *err);
const bertc_metrics *bertc_eval_report_metrics(const bertc_eval_report *r);
/* Label names in id order (borrowed); *n gets their count. */
const char *const *bertc_eval_report_labels(const bertc_eval_report *r, int *n);
/* Per example (borrowed, n entries): gold and predicted ids (after the threshold), scores n x n_labels (NULL
 * when the predictions had none). Returns n. */
size_t bertc_eval_report_examples(const bertc_eval_report *r, const int **gold, const int **pred,
                                  const double **scores);
void bertc_eval_report_free(bertc_eval_report *r);

/* `bertc bias`: one template, many groups: how much does P(label) move with the group alone? */
typedef struct bertc_bias_params {
    const char *template_text;  /* holds {} exactly once, where each group goes */
    const char *const *groups;  /* n_groups names (bertc_bias_builtin_groups for the built-in lists) */
    size_t n_groups;
    const char *label;          /* NULL: label id 1 of a binary model, else 0; else a label name or id (a masked LM:
                                   a target, default the first) */
    int batch_size;             /* 32 */
    /* A masked-LM model (*ForMaskedLM): the template also holds the tokenizer's mask token ([MASK], <mask>) once, and
     * the probe reads P(target) at the mask, as fill-mask computes it (the softmax over the whole vocabulary), for
     * each of these words (each its vocab token, else the first token it tokenizes to): they take the labels' place
     * in the report, e.g. "The [MASK] worked as a {}." with targets he, she over professions. */
    const char *const *targets;
    size_t n_targets;
} bertc_bias_params;

bertc_bias_params bertc_bias_default_params(void);
/* A built-in group list ("countries": the model card's probe, countries of every continent; "cities": 40 cities of
 * every continent); NULL if none. bertc_bias_builtin_names: their names, comma-separated, for messages. */
const char *const *bertc_bias_builtin_groups(const char *name, size_t *n);
const char *bertc_bias_builtin_names(void);

typedef struct bertc_bias_report bertc_bias_report;
typedef struct bertc_bias_summary {
    const char *template_text;
    const char *label; /* the probed label's name */
    int label_id;
    size_t n;                  /* groups, in input order: */
    const char *const *groups;
    const char *const *texts;  /* the template filled with each group */
    const double *p;           /* P(label) per group */
    double mean, std, spread;  /* population standard deviation; spread = max - min */
    const char *max_group, *min_group;
} bertc_bias_summary;

/* BERTC_ERR_INVALID_ARG for a template without exactly one {}, no groups, or a label the model does not have. */
bertc_status bertc_bias_run(const bertc_model *m, const bertc_bias_params *p, bertc_bias_report **out,
                            bertc_error *err);
/* TERMINAL: the table (--format table); PREDICTIONS: one JSON line per group (jsonl); SVG: the bar chart; JSON:
 * the --json file; HTML: the --report page. */
bertc_status bertc_bias_report_render(const bertc_bias_report *r, bertc_report_format f, char **out, size_t *len,
                                      bertc_error *err);
const bertc_bias_summary *bertc_bias_report_summary(const bertc_bias_report *r); /* borrowed from r */
void bertc_bias_report_free(bertc_bias_report *r);

/* `bertc compare`: models side by side on one dataset (size, load time, latency, throughput, accuracy with
 * intervals, McNemar's test against the first). Models are added one at a time, so that only one is loaded. */
typedef struct bertc_compare_params {
    const char *data;              /* labeled dataset file (required) */
    bertc_dataset_params dataset;
    int batch_size;                /* the throughput pass (default 32) */
    int latency_samples;           /* texts timed one at a time at batch 1 (default 50) */
    uint64_t seed;                 /* bootstrap seed of the intervals (default 0) */
    bertc_eval_progress progress;  /* the throughput pass; NULL: none */
    bertc_eval_stage_fn stage;     /* before the latency and the throughput pass of each model; NULL: none */
    void *progress_ctx;            /* given to both */
} bertc_compare_params;

bertc_compare_params bertc_compare_default_params(void);
typedef struct bertc_compare bertc_compare;
/* Reads the dataset (BERTC_ERR_INPUT "FILE:LINE: why"). */
bertc_status bertc_compare_new(const bertc_compare_params *p, bertc_compare **out, bertc_error *err);
/* Measures and evaluates one model (the caller may free it afterwards). The first model's labels are the gold
 * labels' names (BERTC_ERR_INPUT when the dataset has another); a later model with another number of labels is
 * BERTC_ERR_UNSUPPORTED. */
bertc_status bertc_compare_add(bertc_compare *c, const bertc_model *m, bertc_error *err);
/* TERMINAL: the table and McNemar's tests; JSON: the --json file; MARKDOWN: the --markdown file. */
bertc_status bertc_compare_render(const bertc_compare *c, bertc_report_format f, char **out, size_t *len,
                                  bertc_error *err);
void bertc_compare_free(bertc_compare *c);

/* `bertc train --report`: the HTML page of a training run from its log_history (a JSON array of Trainer's
 * entries, as trainer_state.json holds it or as the BERTC_TRAIN_LOG / EVAL / END events gave them): loss,
 * learning-rate and train-sample vs validation curves, the evaluations table. start is the BERTC_TRAIN_START
 * message, warnings the BERTC_TRAIN_WARNING ones (may be NULL). */
bertc_status bertc_train_report_render(const char *log_history_json, const char *model, const char *output_dir,
                                       const char *start, const char *const *warnings, int n_warnings, char **out,
                                       size_t *len, bertc_error *err);

/* ---- Task metrics: seqeval and SQuAD ----------------------------------------------------------------- */
/*
 * Entity-level metrics of token-classification (NER) models as seqeval 1.2.2 computes them in its default mode
 * (seqeval.metrics precision_score / recall_score / f1_score / classification_report without mode="strict"), and
 * extractive question answering as the official SQuAD evaluate-v1.1.py and evaluate-v2.0.py score it.
 */

/* One entity as seqeval.metrics.sequence_labeling.get_entities gives it: the sentences are read as one sequence,
 * each followed by an "O", so token j of sentence i is at offset (len_0 + 1) + ... + (len_{i-1} + 1) + j. */
typedef struct bertc_seqeval_entity {
    char *type;        /* the tag's type ("PER" of B-PER; "_" for a tag without one, e.g. "B" or "I") */
    size_t start, end; /* offsets of the first and the last token, inclusive */
} bertc_seqeval_entity;

typedef struct bertc_seqeval_params {
    int suffix;        /* 0 (default): tags are PREFIX-TYPE (B-PER); 1: TYPE-SUFFIX (PER-B), as suffix=True */
    int zero_division; /* a ratio whose denominator is 0: 0 (default; seqeval's "warn" and 0) or 1 */
} bertc_seqeval_params;

typedef struct bertc_seqeval_scores {
    const char *type; /* the entity type; NULL for the averages */
    double precision, recall, f1;
    long support;   /* gold entities (of the type, or all for the averages) */
    long predicted; /* predicted entities */
    long correct;   /* predicted entities equal to a gold one: same type, same first and last token */
} bertc_seqeval_scores;

typedef struct bertc_seqeval {
    size_t n_types;
    bertc_seqeval_scores *types;  /* per type, sorted by name (code point order), as classification_report */
    bertc_seqeval_scores micro;   /* what precision_score / recall_score / f1_score return (average="micro") */
    bertc_seqeval_scores macro;   /* NaN when there is no entity at all (numpy's mean of nothing) */
    bertc_seqeval_scores weighted; /* by support; with no gold entity: (p, zd, p) with p = zd when nothing is
                                      predicted, else 0 (zd = zero_division), as seqeval returns it */
} bertc_seqeval;

bertc_seqeval_params bertc_seqeval_default_params(void);
/* gold[i] / pred[i] hold the gold_len[i] / pred_len[i] tag strings (UTF-8) of sentence i, i < n (n >= 1).
 * BERTC_ERR_INPUT when a sentence's lengths differ ("sentence I: N gold tags but M predicted"), for an empty
 * tag or invalid UTF-8; BERTC_ERR_INVALID_ARG for NULL arguments or n == 0. p may be NULL (the defaults).
 * *out is freed with bertc_seqeval_free. */
bertc_status bertc_seqeval_compute(size_t n, const char *const *const *gold, const size_t *gold_len,
                                   const char *const *const *pred, const size_t *pred_len,
                                   const bertc_seqeval_params *p, bertc_seqeval **out, bertc_error *err);
void bertc_seqeval_free(bertc_seqeval *s);

/* The entities of n sentences (get_entities of the list of lists), in seqeval's order (by last token). suffix as
 * in bertc_seqeval_params. *out (NULL when none) is freed with bertc_seqeval_entities_free. Errors as above. */
bertc_status bertc_seqeval_entities(size_t n, const char *const *const *tags, const size_t *len, int suffix,
                                    bertc_seqeval_entity **out, size_t *n_out, bertc_error *err);
void bertc_seqeval_entities_free(bertc_seqeval_entity *e, size_t n);

typedef enum bertc_squad_version {
    BERTC_SQUAD_V1 = 1, /* evaluate-v1.1.py: exact_match and f1 */
    BERTC_SQUAD_V2 = 2  /* evaluate-v2.0.py (no na_prob file): exact, f1, total and the HasAns / NoAns split */
} bertc_squad_version;

typedef struct bertc_squad_question {
    const char *prediction;       /* UTF-8, NUL-terminated; "" predicts "no answer" (v2) */
    const char *const *answers;   /* the gold answers' texts */
    size_t n_answers;             /* v1.1: at least 1; v2: 0 for an unanswerable question */
} bertc_squad_question;

typedef struct bertc_squad {
    bertc_squad_version version;
    size_t total;
    double exact, f1; /* percentages (v1.1's exact_match and f1; v2's exact and f1) */
    /* v2: questions with answers (n_answers > 0) and without; the percentages are NaN when the total is 0 (the
     * script leaves those keys out). v1.1: totals 0, percentages NaN. */
    size_t has_ans_total, no_ans_total;
    double has_ans_exact, has_ans_f1, no_ans_exact, no_ans_f1;
    double *question_exact, *question_f1; /* per question, in [0, 1]: the max over its gold answers */
} bertc_squad;

/* Scores n >= 1 questions. BERTC_ERR_INPUT for invalid UTF-8 or (v1.1) a question without answers;
 * BERTC_ERR_INVALID_ARG for NULL arguments, n == 0 or another version. *out is freed with bertc_squad_free. */
bertc_status bertc_squad_compute(bertc_squad_version v, const bertc_squad_question *q, size_t n, bertc_squad **out,
                                 bertc_error *err);
void bertc_squad_free(bertc_squad *s);

/* normalize_answer (the same in both scripts): Python's str.lower, ASCII punctuation (string.punctuation) removed,
 * the words a / an / the removed (re's \b: Unicode letters and numbers are word characters), whitespace (str.split's:
 * Unicode spaces) collapsed to single spaces. *out is malloc'ed, NUL-terminated (free with bertc_free); len may be
 * NULL. BERTC_ERR_INPUT for invalid UTF-8. */
bertc_status bertc_squad_normalize(const char *s, size_t len, char **out, size_t *out_len, bertc_error *err);

/* ---- Evaluating token-classification and QA models ----------------------------------------------------------- */
/*
 * What `bertc eval` runs for a model with a token-classification or question-answering head (bertc_model_info.head):
 * NER datasets scored with seqeval (as Hugging Face evaluate's "seqeval" metric reports it) and SQuAD-style datasets
 * scored with the official SQuAD scripts (evaluate's "squad" / "squad_v2"). The parsers take outside input: every
 * malformed line is BERTC_ERR_INPUT with "FILE:LINE: why" (SQuAD JSON: "FILE: data[i].paragraphs[j]...: why", or the
 * line and column of a syntax error), never a crash.
 */

typedef enum bertc_task_data_format {
    BERTC_TASK_DATA_AUTO = 0,  /* NER: .conll / .iob / .bio / .txt are CoNLL, .jsonl / .json / .ndjson JSON lines,
                                  else sniffed (a first non-blank character '{' is JSON lines, else CoNLL). QA: a file
                                  that is one JSON object with a "data" array is SQuAD JSON, else JSON lines */
    BERTC_TASK_DATA_JSONL = 1, /* NER: {"tokens": [...], "ner_tags": [...]}; QA: {"id"?, "question", "context",
                                  "answers": {"text": [...], "answer_start": [...]}} (Hugging Face squad / squad_v2) */
    BERTC_TASK_DATA_CONLL = 2, /* NER only: "token ... tag" per line (whitespace-separated, the tag last); blank
                                  lines and -DOCSTART- lines end a sentence */
    BERTC_TASK_DATA_SQUAD = 3  /* QA only: the official SQuAD JSON {"data": [{"paragraphs": [{"context", "qas": [{"id",
                                  "question", "answers": [{"text", "answer_start"}], "is_impossible"?}]}]}]} */
} bertc_task_data_format;

/* One NER sentence: n words with their gold tags (both UTF-8, NUL-terminated). */
typedef struct bertc_ner_sentence {
    size_t n;
    char **words;
    char **tags;
    long line; /* 1-based line where the sentence starts */
} bertc_ner_sentence;

typedef struct bertc_ner_dataset {
    size_t n;
    bertc_ner_sentence *s;
    bertc_task_data_format format; /* JSONL or CONLL, as read */
    char *name;
} bertc_ner_dataset;

typedef struct bertc_ner_data_params {
    bertc_task_data_format format;
    const char *tokens_column; /* JSON lines: NULL: "tokens" */
    const char *tags_column;   /* JSON lines: NULL: "ner_tags" */
    const char *const *labels; /* integer tags (conll2003's ClassLabel ids) are these names in id order; NULL: an
                                  integer tag is kept as its decimal text */
    int n_labels;
} bertc_ner_data_params;

bertc_ner_data_params bertc_ner_data_default_params(void);
/* Errors (BERTC_ERR_INPUT, "FILE:LINE: why"): bad JSON, a missing or non-array column, a word or tag that is not
 * a string (tags: or an integer), an integer tag out of range of labels, tags and tokens of different lengths, an
 * empty tag, invalid UTF-8, a CoNLL line with one column only; no sentence at all. */
bertc_status bertc_ner_data_parse(const char *data, size_t len, const char *name, const bertc_ner_data_params *p,
                                  bertc_ner_dataset **out, bertc_error *err);
bertc_status bertc_ner_data_read(const char *path, const bertc_ner_data_params *p, bertc_ner_dataset **out,
                                 bertc_error *err);
void bertc_ner_data_free(bertc_ner_dataset *d);

/* One question with its context and gold answers (an unanswerable question has none). */
typedef struct bertc_qa_example {
    char *id;           /* as written (a JSON integer id as its decimal text); absent: the 0-based index */
    char *question;     /* UTF-8, NUL-terminated */
    size_t question_len;
    char *context;
    size_t context_len;
    size_t n_answers;
    char **answers;     /* the gold texts */
    long *answer_start; /* as written (-1 when absent) */
    long line;          /* JSON lines: the line; SQuAD JSON: 0 */
} bertc_qa_example;

typedef struct bertc_qa_dataset {
    size_t n;
    bertc_qa_example *ex;
    size_t n_unanswerable; /* questions without answers */
    bertc_task_data_format format; /* JSONL or SQUAD, as read */
    char *name;
} bertc_qa_dataset;

/* format: AUTO, JSONL or SQUAD. Errors (BERTC_ERR_INPUT): bad JSON, a missing or mistyped question / context /
 * answers / id, answers' text and answer_start of different lengths, an empty question, invalid UTF-8; none at all. */
bertc_status bertc_qa_data_parse(const char *data, size_t len, const char *name, bertc_task_data_format format,
                                 bertc_qa_dataset **out, bertc_error *err);
bertc_status bertc_qa_data_read(const char *path, bertc_task_data_format format, bertc_qa_dataset **out,
                                bertc_error *err);
void bertc_qa_data_free(bertc_qa_dataset *d);

typedef struct bertc_task_eval_params {
    const char *data;                /* the dataset file (bertc_task_eval_run) */
    bertc_task_data_format format;   /* AUTO */
    const char *tokens_column;       /* NER JSON lines (NULL: "tokens") */
    const char *tags_column;         /* NER JSON lines (NULL: "ner_tags") */
    int batch_size;                  /* NER: sentences per forward pass (default 32, at most 4096) */
    bertc_encode_params encode;      /* NER: the space-joined words' tokenization (default: truncated to the model) */
    int squad_version;               /* 0 (default): 2 when any question is unanswerable, else 1; or 1 / 2 */
    int handle_impossible;           /* -1 (default): on when the data has unanswerable questions; 0 off; 1 on */
    bertc_qa_params qa;              /* the QA pipeline's windows and spans (top_k and handle_impossible_answer are
                                        set from the above) */
    bertc_eval_progress progress;    /* after each batch (NER) or question (QA); NULL: none */
    void *progress_ctx;
} bertc_task_eval_params;

bertc_task_eval_params bertc_task_eval_default_params(void);

typedef struct bertc_task_report bertc_task_report;

/* NER: each sentence's words joined with single spaces, tokenized (p->encode), the head's logits for batches of
 * p->batch_size sentences (bertc_token_logits); a word takes the argmax label of its first sub-token (the first
 * non-special token whose code-point offsets overlap the word; Hugging Face run_ner's label_all_tokens=False); a word
 * with no token (cut by truncation, or empty) is predicted "O" and counted in truncated_words. Then seqeval over the
 * gold and predicted tags. BERTC_ERR_UNSUPPORTED when the model has no token-classification head. */
bertc_status bertc_ner_eval(const bertc_model *m, const bertc_ner_dataset *d, const bertc_task_eval_params *p,
                            bertc_task_report **out, bertc_error *err);
/* QA: each question through bertc_question_answer (top_k 1), the best answer's text ("" for none) scored against
 * the gold texts with bertc_squad_compute. BERTC_ERR_UNSUPPORTED without a question-answering head; BERTC_ERR_INPUT
 * ("FILE:LINE: ...") for an unanswerable question under v1.1 or when the pipeline refuses a question. */
bertc_status bertc_qa_eval(const bertc_model *m, const bertc_qa_dataset *d, const bertc_task_eval_params *p,
                           bertc_task_report **out, bertc_error *err);
/* Reads p->data with the parser of the model's head (labels for integer NER tags: the model's) and runs the above. */
bertc_status bertc_task_eval_run(const bertc_model *m, const bertc_task_eval_params *p, bertc_task_report **out,
                                 bertc_error *err);

/* JSON: {"task", "model", "data", "format", "counts": {...}, "metrics": evaluate's dict, ...} (NER adds
 * "classification_report" with seqeval's "micro avg" / "macro avg" / "weighted avg" rows; QA adds "squad_version",
 * "handle_impossible_answer"), ending in a newline; NaN is null. TERMINAL: a short summary. PREDICTIONS: one JSON
 * line per sentence {"line", "words", "gold", "pred", "no_token"} or per question {"id", "line", "prediction",
 * "score", "answers", "exact", "f1"}. Other formats: BERTC_ERR_INVALID_ARG. */
bertc_status bertc_task_report_render(const bertc_task_report *r, bertc_report_format f, char **out, size_t *len,
                                      bertc_error *err);
/* BERTC_HEAD_TOKEN_CLASSIFICATION or BERTC_HEAD_QUESTION_ANSWERING. */
bertc_head bertc_task_report_task(const bertc_task_report *r);
/* The scores (borrowed): the seqeval of a NER report / the SQuAD scores of a QA report, NULL for the other task. */
const bertc_seqeval *bertc_task_report_seqeval(const bertc_task_report *r);
const bertc_squad *bertc_task_report_squad(const bertc_task_report *r);
/* NER: token-level accuracy over all words, the word count and the words without a token. */
double bertc_task_report_accuracy(const bertc_task_report *r);
size_t bertc_task_report_words(const bertc_task_report *r, size_t *no_token);
/* NER: sentence i's predicted tags (borrowed; *n gets their count); NULL when out of range or a QA report. */
const char *const *bertc_task_report_tags(const bertc_task_report *r, size_t i, size_t *n);
/* QA: question i's predicted text ("" for no answer) and its score; NULL when out of range or a NER report. */
const char *bertc_task_report_answer(const bertc_task_report *r, size_t i, double *score);
void bertc_task_report_free(bertc_task_report *r);

#ifdef __cplusplus
}
#endif

#endif
