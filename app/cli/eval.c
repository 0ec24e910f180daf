/*
 * eval.c — `bertc eval` (a model over a labeled dataset) and `bertc metrics` (any classifier's predictions
 * file): options in, bertc_eval_run / bertc_eval_predictions, the reports it renders out.
 */
#include "eval.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double parse_prob(const char *s, const char *what, bool *ok) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !(v >= 0 && v <= 1)) {
        die_msg("%s must be a number between 0 and 1", what);
        *ok = false;
    }
    return v;
}

void cli_bar_start(cli_bar *b, bool draw) {
    b->t0 = now_ms_cli();
    b->open = draw;
}

void cli_bar_draw(cli_bar *b, size_t done, size_t n) {
    int w = 30, fill = (int)(w * done / n);
    double el = (now_ms_cli() - b->t0) / 1000;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.1f s  %.0f ex/s ", fill, "##############################", w - fill, "",
            done, n, el, el > 0 ? done / el : 0);
    if (done == n) {
        fputc('\n', stderr);
        b->open = false;
    }
}

void cli_bar_abort(cli_bar *b) {
    if (b->open) fputc('\n', stderr);
    b->open = false;
}

bool write_text(const char *path, const char *text, size_t len, bool dash_stdout) {
    if (dash_stdout && !strcmp(path, "-")) {
        bool ok = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 && !ferror(stdout);
        if (!ok) die_msg("cannot write to standard output");
        return ok;
    }
    bertc_error err;
    if (bertc_write_file(path, text, len, &err)) { /* atomic: an earlier report stays whole on a full disk */
        die_msg("%s", err.message);
        return false;
    }
    return true;
}

/* ---- shared by eval and metrics ---- */

/* Every output file named on the command line can be written: checked before the model runs, so an unwritable
 * folder costs nothing (exit 5) rather than the whole evaluation. */
static bool outputs_writable(const char *const *paths, int n) {
    for (int i = 0; i < n; i++) {
        if (!paths[i] || !strcmp(paths[i], "-")) continue;
        bertc_error err;
        if (bertc_check_output(paths[i], &err)) {
            die_msg("%s", err.message);
            return false;
        }
    }
    return true;
}

typedef struct out_opts {
    const char *json, *report, *markdown, *predictions;
    bertc_metrics_params mp;
    double threshold;
    const char *positive;
    int quiet;
} out_opts;

/* Parses the options both commands share; 1 consumed, 0 not ours, -1 error. */
static int out_opt(out_opts *o, int argc, char **argv, int *i) {
    static const char *const valued[] = {"--json",      "--report",        "--markdown",   "--threshold",
                                         "--positive-label", "--bootstrap", "--seed",       "--min-precision",
                                         "--min-recall", "--ece-bins"};
    const char *a = argv[*i];
    if (!strcmp(a, "--quiet")) return (o->quiet = 1);
    size_t k = 0;
    while (k < sizeof valued / sizeof *valued && strcmp(a, valued[k])) k++;
    if (k == sizeof valued / sizeof *valued) return 0;
    if (*i + 1 >= argc) {
        die_msg("%s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    bool ok = true;
    char *end;
    switch (k) {
    case 0: o->json = v; break;
    case 1: o->report = v; break;
    case 2: o->markdown = v; break;
    case 3: o->threshold = parse_prob(v, "--threshold", &ok); break;
    case 4: o->positive = v; break;
    case 5:
    case 9: {
        long n = strtol(v, &end, 10);
        if (*end || n < (k == 5 ? 0 : 1) || n > 100000) {
            die_msg("%s must be a number%s", a, k == 5 ? " from 0 to 100000" : " from 1 to 100000");
            return -1;
        }
        if (k == 5) o->mp.bootstrap = (int)n;
        else o->mp.ece_bins = (int)n;
        break;
    }
    case 6:
        errno = 0;
        o->mp.seed = strtoull(v, &end, 10);
        if (*end || errno || *v == '-') {
            die_msg("--seed must be a non-negative integer");
            return -1;
        }
        break;
    case 7: o->mp.min_precision = parse_prob(v, "--min-precision", &ok); break;
    case 8: o->mp.min_recall = parse_prob(v, "--min-recall", &ok); break;
    }
    return ok ? 1 : -1;
}

static void out_init(out_opts *o) {
    memset(o, 0, sizeof *o);
    o->mp = bertc_metrics_default_params();
    o->threshold = NAN;
}

/* Writes every report asked for: the terminal one (stderr when --json - takes stdout), JSON, Markdown, HTML. */
static int write_reports(const bertc_eval_report *r, const out_opts *o) {
    int code = EXIT_OK;
    bool json_stdout = o->json && !strcmp(o->json, "-");
    static const bertc_report_format fmts[4] = {BERTC_REPORT_TERMINAL, BERTC_REPORT_JSON, BERTC_REPORT_MARKDOWN,
                                                BERTC_REPORT_HTML};
    const char *paths[4] = {o->quiet ? NULL : "", o->json, o->markdown, o->report};
    for (int k = 0; k < 4; k++) {
        if (!paths[k]) continue;
        char *text;
        size_t len;
        bertc_error err;
        if (bertc_eval_report_render(r, fmts[k], &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            continue;
        }
        if (k == 0) fwrite(text, 1, len, json_stdout ? stderr : stdout);
        else if (!write_text(paths[k], text, len, k == 1)) code = EXIT_OUTPUT;
        bertc_free(text);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) code = EXIT_OUTPUT;
    return code;
}

/* ---- eval ---- */

typedef struct eval_ui {
    cli_bar bar;
    bool draw, quiet;
    const char *source, *data;
} eval_ui;

static void eval_progress(size_t done, size_t total, void *ctx) { cli_bar_draw(&((eval_ui *)ctx)->bar, done, total); }

static void eval_stage(bertc_eval_stage stage, size_t n, size_t of, void *ctx) {
    eval_ui *u = ctx;
    if (!u->quiet && stage == BERTC_EVAL_STAGE_DATA)
        fprintf(stderr, "evaluating %s on %s (%zu examples)\n", u->source, u->data, n);
    if (!u->quiet && stage == BERTC_EVAL_STAGE_TRAIN_SAMPLE)
        fprintf(stderr, "train sample (%zu of %zu) for the train-vs-test gap:\n", n, of);
    cli_bar_start(&u->bar, u->draw);
}

/* ---- eval of token-classification and question-answering models ---- */

typedef struct task_opts {
    bertc_task_data_format format;
    const char *format_opt; /* the --format given when it names a task format (or tsv/csv, which none takes) */
    const char *task_opt;   /* the last QA / NER-only option given, for the message when the model has no use for it */
    int squad_version;      /* 0: auto */
    int impossible;         /* -1: auto */
    int max_length;         /* NER: 0, the model's */
    int doc_stride, max_seq_len, max_question_len, max_answer_len; /* QA: 0, the pipeline's defaults */
    bool ner_only, qa_only; /* which task the given options belong to */
    /* from cmd_eval */
    const char *data, *train, *threshold_from;
    bertc_dataset_params dp;
    int batch;
    const out_opts *out;
} task_opts;

static void task_init(task_opts *t) {
    memset(t, 0, sizeof *t);
    t->impossible = -1;
}

/* --squad-version, --max-length, --doc-stride, --max-seq-len, --max-question-len, --max-answer-len. */
static int task_opt(task_opts *t, int argc, char **argv, int *i) {
    static const char *const ints[] = {"--squad-version", "--max-length",       "--doc-stride",
                                       "--max-seq-len",   "--max-question-len", "--max-answer-len"};
    const char *a = argv[*i];
    size_t k = 0;
    while (k < sizeof ints / sizeof *ints && strcmp(a, ints[k])) k++;
    if (k == sizeof ints / sizeof *ints) return 0;
    if (*i + 1 >= argc) {
        die_msg("%s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    char *end;
    long n = strtol(v, &end, 10);
    if (k == 0) {
        if (*end || (n != 1 && n != 2)) {
            die_msg("--squad-version must be 1 or 2");
            return -1;
        }
        t->squad_version = (int)n;
    } else {
        if (*end || n < 1 || n > 1000000) {
            die_msg("%s must be a positive number", a);
            return -1;
        }
        int *dst[] = {NULL, &t->max_length, &t->doc_stride, &t->max_seq_len, &t->max_question_len, &t->max_answer_len};
        *dst[k] = (int)n;
    }
    t->task_opt = a;
    if (k == 1) t->ner_only = true;
    else t->qa_only = true;
    return 1;
}

/* Whether the options given suit a model with head h; prints why not. */
static bool task_opts_fit(const task_opts *t, int h) {
    const char *why = NULL;
    if (h != BERTC_HEAD_TOKEN_CLASSIFICATION && h != BERTC_HEAD_QUESTION_ANSWERING) {
        if (t->task_opt) why = t->task_opt;
        else if (t->format_opt && strcmp(t->format_opt, "--format tsv/csv")) why = t->format_opt;
        if (why) die_msg("%s applies to token-classification and question-answering models; this one has a %s head",
                         why, bertc_head_name((bertc_head)h));
        return !why;
    }
    const out_opts *o = t->out;
    if (t->train) why = "--train";
    else if (t->threshold_from) why = "--threshold-from";
    else if (t->dp.pair_column) why = "--pair-column";
    else if (o->positive) why = "--positive-label";
    else if (!isnan(o->threshold)) why = "--threshold";
    else if (o->report) why = "--report";
    else if (o->markdown) why = "--markdown";
    else if (t->format_opt && !strcmp(t->format_opt, "--format tsv/csv")) why = "--format tsv/csv";
    if (why) {
        die_msg("%s applies to sequence-classification models; this one has a %s head", why,
                bertc_head_name((bertc_head)h));
        return false;
    }
    if (h == BERTC_HEAD_TOKEN_CLASSIFICATION && (t->qa_only || t->format == BERTC_TASK_DATA_SQUAD)) {
        die_msg("%s applies to question-answering models; this one has a token-classification head",
                t->qa_only ? t->task_opt : "--format squad");
        return false;
    }
    if (h == BERTC_HEAD_QUESTION_ANSWERING) {
        if (t->ner_only || t->format == BERTC_TASK_DATA_CONLL) why = t->ner_only ? t->task_opt : "--format conll";
        else if (t->dp.text_column) why = "--text-column";
        else if (t->dp.label_column) why = "--label-column";
        if (why) {
            die_msg("%s applies to token-classification (and sequence-classification) models; this one has a "
                    "question-answering head", why);
            return false;
        }
    }
    return true;
}

/* The head named by architectures[0] of DIR/config.json when --model is a local folder (none: the embedded
 * sentiment model), -1 when that cannot be told without resolving a model id. */
static int peek_head(const char *model) {
    if (!model || !*model) return BERTC_HEAD_SEQUENCE_CLASSIFICATION;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/config.json", model) >= sizeof path) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fclose(f);
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    const char *a = json_string_value(json_array_get(json_object_get(c, "architectures"), 0));
    int h = BERTC_HEAD_SEQUENCE_CLASSIFICATION; /* or whatever the loader makes of it: the classic path says */
    size_t n = a ? strlen(a) : 0;
    if (n >= 22 && !strcmp(a + n - 22, "ForTokenClassification")) h = BERTC_HEAD_TOKEN_CLASSIFICATION;
    else if (n >= 20 && !strcmp(a + n - 20, "ForQuestionAnswering")) h = BERTC_HEAD_QUESTION_ANSWERING;
    json_decref(c);
    return h;
}

/* The data parses as NER or QA data (then a model id's head decides what the file is). */
static bool looks_like_task_data(const char *path, const task_opts *t) {
    bertc_error err;
    bertc_qa_dataset *q = NULL;
    bertc_ner_dataset *n = NULL;
    bertc_ner_data_params np = bertc_ner_data_default_params();
    np.format = t->format == BERTC_TASK_DATA_SQUAD ? BERTC_TASK_DATA_AUTO : t->format;
    np.tokens_column = t->dp.text_column;
    np.tags_column = t->dp.label_column;
    bool ok = (t->format != BERTC_TASK_DATA_CONLL && bertc_qa_data_read(path, t->format, &q, &err) == BERTC_OK) ||
              (t->format != BERTC_TASK_DATA_SQUAD && bertc_ner_data_read(path, &np, &n, &err) == BERTC_OK);
    bertc_qa_data_free(q);
    bertc_ner_data_free(n);
    return ok;
}

/* `bertc eval` of a token-classification or question-answering model (m: loaded already, else loaded here). */
static int eval_task(const model_opts *mo, bertc_model *m, task_opts *t) {
    int code = EXIT_OK;
    const out_opts *o = t->out;
    bertc_task_report *r = NULL;
    bertc_ner_dataset *nd = NULL;
    bertc_qa_dataset *qd = NULL;
    char *text = NULL;
    bertc_error err;
    if (!m && !(m = load_model(mo, &code))) return code;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (!task_opts_fit(t, info.head)) {
        bertc_model_free(m);
        return EXIT_USAGE;
    }
    bool ner = info.head == BERTC_HEAD_TOKEN_CLASSIFICATION;
    bertc_status s;
    size_t n;
    if (ner) {
        const char **labels = xcalloc((size_t)info.n_labels + 1, sizeof *labels);
        if (!labels) {
            bertc_model_free(m);
            die_msg("out of memory");
            return EXIT_INTERNAL;
        }
        for (int k = 0; k < info.n_labels; k++) labels[k] = bertc_model_label(m, k);
        bertc_ner_data_params np = {t->format, t->dp.text_column, t->dp.label_column, labels, info.n_labels};
        s = bertc_ner_data_read(t->data, &np, &nd, &err);
        free(labels);
        n = nd ? nd->n : 0;
    } else {
        s = bertc_qa_data_read(t->data, t->format, &qd, &err);
        n = qd ? qd->n : 0;
    }
    if (s) {
        die_msg("%s", err.message);
        code = exit_code_for(s);
        goto done;
    }
    eval_ui ui = {{0, false}, isatty(2) && !o->quiet, o->quiet != 0, info.source, t->data};
    if (!o->quiet)
        fprintf(stderr, "evaluating %s on %s (%zu %s)\n", info.source, t->data, n, ner ? "sentences" : "questions");
    cli_bar_start(&ui.bar, ui.draw);
    bertc_task_eval_params tp = bertc_task_eval_default_params();
    tp.data = t->data;
    tp.format = t->format;
    tp.batch_size = t->batch;
    if (t->max_length) tp.encode.max_length = t->max_length;
    tp.squad_version = t->squad_version;
    tp.handle_impossible = t->impossible;
    if (t->doc_stride) tp.qa.doc_stride = t->doc_stride;
    if (t->max_seq_len) tp.qa.max_seq_len = t->max_seq_len;
    if (t->max_question_len) tp.qa.max_question_len = t->max_question_len;
    if (t->max_answer_len) tp.qa.max_answer_len = t->max_answer_len;
    tp.progress = ui.draw ? eval_progress : NULL;
    tp.progress_ctx = &ui;
    s = ner ? bertc_ner_eval(m, nd, &tp, &r, &err) : bertc_qa_eval(m, qd, &tp, &r, &err);
    if (s) {
        cli_bar_abort(&ui.bar);
        die_msg("%s", err.message);
        code = exit_code_for(s);
        goto done;
    }
    size_t len;
    if (o->predictions) {
        if (bertc_task_report_render(r, BERTC_REPORT_PREDICTIONS, &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            goto done;
        }
        if (!write_text(o->predictions, text, len, true)) {
            code = EXIT_OUTPUT;
            goto done;
        }
        bertc_free(text);
        text = NULL;
    }
    bool json_stdout = o->json && !strcmp(o->json, "-");
    if (!o->quiet) {
        if (bertc_task_report_render(r, BERTC_REPORT_TERMINAL, &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            goto done;
        }
        fwrite(text, 1, len, json_stdout ? stderr : stdout);
        bertc_free(text);
        text = NULL;
    }
    if (o->json) {
        if (bertc_task_report_render(r, BERTC_REPORT_JSON, &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            goto done;
        }
        if (!write_text(o->json, text, len, true)) code = EXIT_OUTPUT;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) code = EXIT_OUTPUT;
done:
    bertc_free(text);
    bertc_task_report_free(r);
    bertc_ner_data_free(nd);
    bertc_qa_data_free(qd);
    bertc_model_free(m);
    return code;
}

static const char eval_usage[] =
    "usage: bertc eval [--model DIR] --data FILE [--text-column C] [--label-column C] [--pair-column C]\n"
    "                  [--format tsv|csv|jsonl|conll|squad] [--positive-label L] [--threshold T | --threshold-from VALID]\n"
    "                  [--train FILE]"
    " [--train-sample N] [--json OUT] [--report OUT.html] [--markdown OUT.md]\n"
    "                  [--predictions OUT.jsonl] [--bootstrap N] [--seed S] [--min-precision P] [--min-recall R]\n"
    "                  [--batch-size N] [--threads N] [--dtype fp32|fp16|bf16|int8] [--compute fp32|bf16] [--quiet]\n"
    "The task follows the model's head. Sequence classification: FILE is TSV, CSV or JSON lines with a text\n"
    "(+ pair) and a label column. The thresholds eval suggests are chosen on FILE itself: applied to FILE they leak\n"
    "it; --threshold-from VALID picks the best-F1 threshold on another labeled file and applies it to FILE. Token classification (NER): FILE is JSON lines {\"tokens\": [...],\n"
    "\"ner_tags\": [...]} (tags as names or label ids; --text-column / --label-column rename the two) or CoNLL\n"
    "(--format conll: \"TOKEN ... TAG\" per line, blank or -DOCSTART- lines between sentences); each word takes\n"
    "its first sub-token's label, seqeval scores the entities ([--max-length N] tokens per sentence).\n"
    "Question answering: FILE is JSON lines {\"id\", \"question\", \"context\", \"answers\": {\"text\": [...],\n"
    "\"answer_start\": [...]}} or the official SQuAD JSON (--format squad); scored as SQuAD v1.1, or v2.0 when a\n"
    "question has no answer ([--squad-version 1|2]; v2.0 lets the empty answer compete: [--handle-impossible-answer]\n"
    "[--no-handle-impossible-answer] force it) [--doc-stride N] [--max-seq-len N] [--max-question-len N]\n"
    "[--max-answer-len N]. --json, --predictions, --batch-size and --quiet apply to every task.\n";

int cmd_eval(int argc, char **argv) {
    model_opts mo = {0};
    out_opts o;
    out_init(&o);
    bertc_dataset_params dp = bertc_dataset_default_params();
    const char *data = NULL, *train = NULL, *threshold_from = NULL;
    int batch = 32;
    long sample = 1000;
    task_opts to;
    task_init(&to);
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) return fputs(eval_usage, stdout), EXIT_OK;
        int r = model_opt(&mo, argc, argv, &i);
        if (!r) r = out_opt(&o, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        const char *a = argv[i];
        if (!strcmp(a, "--handle-impossible-answer") || !strcmp(a, "--no-handle-impossible-answer")) {
            to.impossible = a[2] == 'h';
            to.task_opt = a;
            continue;
        }
        int tr = task_opt(&to, argc, argv, &i);
        if (tr < 0) return EXIT_USAGE;
        if (tr) continue;
        static const char *const own[] = {"--data",        "--text-column", "--label-column", "--pair-column",
                                          "--train",       "--predictions", "--batch-size",   "--train-sample",
                                          "--format",      "--threshold-from"};
        size_t k = 0;
        while (k < sizeof own / sizeof *own && strcmp(a, own[k])) k++;
        if (k == sizeof own / sizeof *own) {
            die_msg("unknown argument %s", a);
            fputs(eval_usage, stderr);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            die_msg("%s needs a value", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        char *end;
        switch (k) {
        case 0: data = v; break;
        case 1: dp.text_column = v; break;
        case 2: dp.label_column = v; break;
        case 3: dp.pair_column = v; break;
        case 4: train = v; break;
        case 5: o.predictions = v; break;
        case 6:
        case 7: {
            long n = strtol(v, &end, 10);
            if (*end || n < (k == 6 ? 1 : 0) || n > 100000000) {
                die_msg("%s must be a %s number", a, k == 6 ? "positive" : "non-negative");
                return EXIT_USAGE;
            }
            if (k == 6) batch = (int)(n > 4096 ? 4096 : n);
            else sample = n;
            break;
        }
        case 8:
            if (!strcmp(v, "tsv")) dp.format = BERTC_DATA_TSV;
            else if (!strcmp(v, "csv")) dp.format = BERTC_DATA_CSV;
            else if (!strcmp(v, "jsonl")) dp.format = BERTC_DATA_JSONL;
            else if (!strcmp(v, "conll")) to.format = BERTC_TASK_DATA_CONLL, to.format_opt = "--format conll";
            else if (!strcmp(v, "squad")) to.format = BERTC_TASK_DATA_SQUAD, to.format_opt = "--format squad";
            else {
                die_msg("--format must be tsv, csv, jsonl, conll or squad");
                return EXIT_USAGE;
            }
            if (dp.format == BERTC_DATA_JSONL) to.format = BERTC_TASK_DATA_JSONL;
            if (dp.format == BERTC_DATA_TSV || dp.format == BERTC_DATA_CSV) to.format_opt = "--format tsv/csv";
            break;
        case 9: threshold_from = v; break;
        }
    }
    if (threshold_from && !isnan(o.threshold)) {
        die_msg("--threshold and --threshold-from exclude each other");
        return EXIT_USAGE;
    }
    if (!data) {
        die_msg("--data FILE is required");
        fputs(eval_usage, stderr);
        return EXIT_USAGE;
    }
    if (dp.label_column && !*dp.label_column) {
        die_msg("eval needs labels: --label-column cannot be empty");
        return EXIT_USAGE;
    }
    const char *outs[] = {o.json, o.report, o.markdown, o.predictions};
    if (!outputs_writable(outs, 4)) return EXIT_OUTPUT;
    /* The task follows the model's head: a local folder's config.json says it before anything is read, so that a
     * sequence-classification model keeps its order (dataset errors first, then the model's). */
    int hint = peek_head(mo.model);
    to.data = data;
    to.dp = dp;
    to.train = train;
    to.threshold_from = threshold_from;
    to.batch = batch;
    to.out = &o;
    if (hint == BERTC_HEAD_TOKEN_CLASSIFICATION || hint == BERTC_HEAD_QUESTION_ANSWERING)
        return eval_task(&mo, NULL, &to);
    if (hint >= 0 && !task_opts_fit(&to, hint)) return EXIT_USAGE;
    int code = EXIT_OK;
    bertc_dataset *d = NULL, *td = NULL;
    bertc_model *m = NULL;
    bertc_eval_report *r = NULL;
    char *text = NULL;
    bertc_error err;
    if (bertc_dataset_read(data, &dp, &d, &err) || (train && bertc_dataset_read(train, &dp, &td, &err))) {
        /* a model id (not a folder) with NER or QA data: the model's head decides */
        if (hint < 0 && !td && looks_like_task_data(data, &to)) {
            bertc_error saved = err;
            if (!(m = load_model(&mo, &code))) goto done;
            bertc_model_info mi;
            bertc_model_get_info(m, &mi);
            if (mi.head == BERTC_HEAD_TOKEN_CLASSIFICATION || mi.head == BERTC_HEAD_QUESTION_ANSWERING) {
                bertc_dataset_free(d);
                return eval_task(&mo, m, &to);
            }
            err = saved;
        }
        die_msg("%s", err.message);
        code = EXIT_INPUT;
        goto done;
    }
    if (!(m = load_model(&mo, &code))) goto done;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (info.head == BERTC_HEAD_TOKEN_CLASSIFICATION || info.head == BERTC_HEAD_QUESTION_ANSWERING) {
        bertc_dataset_free(d);
        bertc_dataset_free(td);
        return eval_task(&mo, m, &to);
    }
    if (hint < 0 && !task_opts_fit(&to, info.head)) {
        code = EXIT_USAGE;
        goto done;
    }
    eval_ui ui = {{0, false}, isatty(2) && !o.quiet, o.quiet != 0, info.source, data};
    bertc_eval_params ep = bertc_eval_default_params();
    ep.data = data;
    ep.train = train;
    ep.dataset = dp;
    ep.metrics = o.mp;
    ep.positive_label = o.positive;
    ep.threshold = o.threshold;
    ep.threshold_from = threshold_from;
    ep.batch_size = batch;
    ep.train_sample = (int)sample;
    ep.progress = ui.draw ? eval_progress : NULL;
    ep.progress_ctx = &ui;
    bertc_status s = bertc_eval_run_ex(m, &ep, d, td, eval_stage, &r, &err);
    if (s) {
        cli_bar_abort(&ui.bar);
        die_msg("%s", err.message);
        code = exit_code_for(s);
        goto done;
    }
    if (o.predictions) {
        size_t len;
        if (bertc_eval_report_render(r, BERTC_REPORT_PREDICTIONS, &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            goto done;
        }
        if (!write_text(o.predictions, text, len, true)) {
            code = EXIT_OUTPUT;
            goto done;
        }
    }
    code = write_reports(r, &o);
done:
    bertc_free(text);
    bertc_eval_report_free(r);
    bertc_dataset_free(d);
    bertc_dataset_free(td);
    bertc_model_free(m);
    return code;
}

/* ---- metrics: from a predictions file ---- */

static const char metrics_usage[] =
    "usage: bertc metrics --predictions FILE [--labels L0,L1,...] [--positive-label L] [--threshold T]\n"
    "                     [--json OUT] [--report OUT.html] [--markdown OUT.md] [--bootstrap N] [--seed S]\n"
    "FILE: JSON lines {\"gold\": label, \"pred\": label, \"scores\": {label: p, ...}, \"text\": ...}; labels are\n"
    "names or ids (\"label\" and \"prediction\" are accepted too); scores are optional.\n";

int cmd_metrics(int argc, char **argv) {
    out_opts o;
    out_init(&o);
    const char *path = NULL, *labels_arg = NULL;
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) return fputs(metrics_usage, stdout), EXIT_OK;
        int r = out_opt(&o, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        if ((!strcmp(argv[i], "--predictions") || !strcmp(argv[i], "--labels")) && i + 1 < argc) {
            if (argv[i][2] == 'p') path = argv[++i];
            else labels_arg = argv[++i];
            continue;
        }
        die_msg("unknown or incomplete argument %s", argv[i]);
        fputs(metrics_usage, stderr);
        return EXIT_USAGE;
    }
    if (!path) {
        die_msg("--predictions FILE is required");
        fputs(metrics_usage, stderr);
        return EXIT_USAGE;
    }
    const char *outs[] = {o.json, o.report, o.markdown};
    if (!outputs_writable(outs, 3)) return EXIT_OUTPUT;
    /* --labels L0,L1,...: the names in id order (empty names are skipped) */
    char *copy = labels_arg ? xstrdup(labels_arg) : NULL, *save = NULL;
    const char **names = labels_arg ? xcalloc(strlen(labels_arg) / 2 + 1, sizeof *names) : NULL;
    int L = 0;
    if (labels_arg && (!copy || !names)) {
        free(copy), free(names);
        die_msg("out of memory");
        return EXIT_INTERNAL;
    }
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) names[L++] = tok;
    bertc_predictions_params pp = bertc_predictions_default_params();
    pp.labels = names;
    pp.n_labels = L;
    pp.metrics = o.mp;
    pp.positive_label = o.positive;
    pp.threshold = o.threshold;
    bertc_eval_report *r = NULL;
    bertc_error err;
    bertc_status s;
    int code = EXIT_OK;
    if (strcmp(path, "-")) {
        s = bertc_eval_predictions(path, &pp, &r, &err);
    } else { /* stdin, read whole */
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        char chunk[65536];
        size_t k;
        while (mf && (k = fread(chunk, 1, sizeof chunk, stdin)) > 0) fwrite(chunk, 1, k, mf);
        if (!mf || fclose(mf)) {
            free(buf), free(copy), free(names);
            die_msg("out of memory");
            return EXIT_INTERNAL;
        }
        s = bertc_eval_predictions_parse(buf, len, "-", &pp, &r, &err);
        free(buf);
    }
    if (s) {
        die_msg("%s", err.message);
        code = exit_code_for(s);
    } else {
        code = write_reports(r, &o);
    }
    bertc_eval_report_free(r);
    free(copy), free(names);
    return code;
}
