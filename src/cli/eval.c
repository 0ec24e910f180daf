/*
 * eval.c — `bertc eval` (a model over a labeled dataset) and `bertc metrics` (any classifier's predictions
 * file): options in, bertc_eval_run / bertc_eval_predictions, the reports it renders out.
 */
#include "eval.h"

#include <errno.h>
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
    bool ok;
    if (dash_stdout && !strcmp(path, "-")) {
        ok = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 && !ferror(stdout);
    } else {
        FILE *f = fopen(path, "w");
        if (!f) {
            die_msg("cannot write %s: %s", path, strerror(errno));
            return false;
        }
        ok = fwrite(text, 1, len, f) == len;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok) die_msg("cannot write %s", path);
    return ok;
}

/* ---- shared by eval and metrics ---- */

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

static const char eval_usage[] =
    "usage: bertc eval [--model DIR] --data FILE [--text-column C] [--label-column C] [--pair-column C]\n"
    "                  [--format tsv|csv|jsonl] [--positive-label L] [--threshold T] [--train FILE]\n"
    "                  [--train-sample N] [--json OUT] [--report OUT.html] [--markdown OUT.md]\n"
    "                  [--predictions OUT.jsonl] [--bootstrap N] [--seed S] [--min-precision P] [--min-recall R]\n"
    "                  [--batch-size N] [--threads N] [--dtype fp32|fp16|bf16|int8] [--compute fp32|bf16] [--quiet]\n";

int cmd_eval(int argc, char **argv) {
    model_opts mo = {0};
    out_opts o;
    out_init(&o);
    bertc_dataset_params dp = bertc_dataset_default_params();
    const char *data = NULL, *train = NULL;
    int batch = 32;
    long sample = 1000;
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) return fputs(eval_usage, stdout), EXIT_OK;
        int r = model_opt(&mo, argc, argv, &i);
        if (!r) r = out_opt(&o, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        const char *a = argv[i];
        static const char *const own[] = {"--data",        "--text-column", "--label-column", "--pair-column",
                                          "--train",       "--predictions", "--batch-size",   "--train-sample",
                                          "--format"};
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
            else {
                die_msg("--format must be tsv, csv or jsonl");
                return EXIT_USAGE;
            }
            break;
        }
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
    int code = EXIT_OK;
    bertc_dataset *d = NULL, *td = NULL;
    bertc_model *m = NULL;
    bertc_eval_report *r = NULL;
    char *text = NULL;
    bertc_error err;
    if (bertc_dataset_read(data, &dp, &d, &err) || (train && bertc_dataset_read(train, &dp, &td, &err))) {
        die_msg("%s", err.message);
        code = EXIT_INPUT;
        goto done;
    }
    if (!(m = load_model(&mo, &code))) goto done;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    eval_ui ui = {{0, false}, isatty(2) && !o.quiet, o.quiet != 0, info.source, data};
    bertc_eval_params ep = bertc_eval_default_params();
    ep.data = data;
    ep.train = train;
    ep.dataset = dp;
    ep.metrics = o.mp;
    ep.positive_label = o.positive;
    ep.threshold = o.threshold;
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
    /* --labels L0,L1,...: the names in id order (empty names are skipped) */
    char *copy = labels_arg ? strdup(labels_arg) : NULL, *save = NULL;
    const char **names = labels_arg ? calloc(strlen(labels_arg) / 2 + 1, sizeof *names) : NULL;
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
