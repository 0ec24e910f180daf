/*
 * eval.c — `bertc eval` (a model over a labeled dataset) and `bertc metrics` (any classifier's predictions
 * file): the metrics of bertc_eval.h, the traps named, and the reports.
 */
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void eval_result_free(eval_result *r) {
    for (int k = 0; r->labels && k < r->n_labels; k++) free(r->labels[k]);
    free(r->labels);
    if (r->texts)
        for (size_t i = 0; i < r->n; i++) free(r->texts[i]);
    free(r->texts);
    free(r->gold);
    free(r->pred);
    free(r->scores);
    free(r->leak_idx);
    for (int k = 0; k < r->n_unseen; k++) free(r->unseen_labels[k]);
    free(r->unseen_labels);
    bertc_metrics_free(r->m);
    bertc_metrics_free(r->m_clean);
    bertc_metrics_free(r->m_train);
}

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

bertc_text *dataset_texts(const bertc_dataset *d) {
    bertc_text *in = malloc((d->n ? d->n : 1) * sizeof *in);
    for (size_t i = 0; in && i < d->n; i++) {
        in[i].text = d->ex[i].text;
        in[i].len = d->ex[i].len;
        in[i].pair = d->ex[i].pair;
        in[i].pair_len = d->ex[i].pair_len;
    }
    return in;
}

bool run_model(const bertc_model *m, const bertc_text *in, size_t n, int batch_size, bool progress, int *pred,
               double *scores, long *n_tokens, int *code) {
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    int L = info.n_labels;
    size_t chunk = (size_t)batch_size * 8;
    bertc_classification *out = calloc(chunk, sizeof *out);
    if (!out) {
        die_msg("out of memory");
        *code = EXIT_INTERNAL;
        return false;
    }
    bertc_classify_params p = bertc_classify_default_params();
    p.batch_size = batch_size;
    double t0 = now_ms_cli();
    long tokens = 0;
    for (size_t i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk;
        bertc_error err;
        bertc_status s = bertc_classify(m, in + i, k, &p, out, &err);
        if (s) {
            if (progress) fputc('\n', stderr);
            die_msg("example %zu: %s", i + 1, err.message);
            *code = exit_code_for(s) == EXIT_MODEL ? EXIT_MODEL : exit_code_for(s);
            free(out);
            return false;
        }
        for (size_t j = 0; j < k; j++) {
            pred[i + j] = out[j].label_id;
            for (int c = 0; c < L; c++) scores[(i + j) * L + c] = out[j].scores[c];
            tokens += out[j].n_tokens;
        }
        bertc_classification_free(out, k);
        if (progress) {
            size_t done = i + k;
            int w = 30, fill = (int)(w * done / n);
            double el = (now_ms_cli() - t0) / 1000;
            fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.1f s  %.0f ex/s ", fill, "##############################",
                    w - fill, "", done, n, el, el > 0 ? done / el : 0);
        }
    }
    if (progress) fputc('\n', stderr);
    if (n_tokens) *n_tokens = tokens;
    free(out);
    return true;
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

/* Resolves --positive-label and --threshold, computes the metrics, writes every report asked for. */
static int finish(eval_result *r, out_opts *o) {
    int L = r->n_labels;
    o->mp.positive = L == 2 ? 1 : -1;
    if (o->positive) {
        int id = bertc_label_lookup(o->positive, (const char *const *)r->labels, L);
        if (id < 0) {
            die_msg("--positive-label %s is not one of the labels", o->positive);
            return EXIT_USAGE;
        }
        if (L != 2) {
            die_msg("--positive-label needs a binary task (this one has %d labels)", L);
            return EXIT_USAGE;
        }
        o->mp.positive = id;
    }
    if (!isnan(o->threshold)) {
        if (L != 2 || !r->scores) {
            die_msg("--threshold needs a binary task with scores");
            return EXIT_USAGE;
        }
        int pos = o->mp.positive;
        for (size_t i = 0; i < r->n; i++) r->pred[i] = r->scores[i * 2 + pos] >= o->threshold ? pos : 1 - pos;
        r->threshold = o->threshold;
    }
    bertc_error err;
    bertc_status s = bertc_metrics_compute(r->n, L, r->gold, r->pred, r->scores, (const char *const *)r->labels,
                                           &o->mp, &r->m, &err);
    if (s) {
        die_msg("%s", err.message);
        return s == BERTC_ERR_NOMEM ? EXIT_INTERNAL : EXIT_INPUT;
    }
    return EXIT_OK;
}

static int write_reports(eval_result *r, out_opts *o) {
    int code = EXIT_OK;
    bool json_stdout = o->json && !strcmp(o->json, "-");
    if (!o->quiet) report_terminal(json_stdout ? stderr : stdout, r);
    if (o->json) {
        json_t *j = report_json(r);
        if (!j || !write_json_file(o->json, j)) code = EXIT_OUTPUT;
        json_decref(j);
    }
    const char *paths[2] = {o->markdown, o->report};
    for (int k = 0; k < 2; k++) {
        if (!paths[k]) continue;
        FILE *f = fopen(paths[k], "w");
        if (!f) {
            die_msg("cannot write %s: %s", paths[k], strerror(errno));
            code = EXIT_OUTPUT;
            continue;
        }
        if (k == 0) report_markdown(f, r);
        else report_html(f, r);
        if (fclose(f) != 0) {
            die_msg("cannot write %s", paths[k]);
            code = EXIT_OUTPUT;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) code = EXIT_OUTPUT;
    return code;
}

static bool write_predictions(const char *path, const eval_result *r, const bertc_dataset *d) {
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) {
        die_msg("cannot write %s: %s", path, strerror(errno));
        return false;
    }
    for (size_t i = 0; i < r->n; i++) {
        fputs("{\"text\": ", f);
        json_str(f, d->ex[i].text);
        if (d->ex[i].pair) {
            fputs(", \"text_pair\": ", f);
            json_str(f, d->ex[i].pair);
        }
        fputs(", \"gold\": ", f);
        json_str(f, r->labels[r->gold[i]]);
        fputs(", \"pred\": ", f);
        json_str(f, r->labels[r->pred[i]]);
        fputs(", \"scores\": {", f);
        for (int k = 0; k < r->n_labels; k++) {
            if (k) fputs(", ", f);
            json_str(f, r->labels[k]);
            fputs(": ", f);
            json_float(f, r->scores[i * r->n_labels + k]);
        }
        fputs("}}\n", f);
    }
    bool ok = fflush(f) == 0 && !ferror(f);
    if (f != stdout) ok = fclose(f) == 0 && ok;
    if (!ok) die_msg("cannot write %s", path);
    return ok;
}

/* ---- eval ---- */

/* Labels of a dataset as model label ids; false (with FILE:LINE) on an unknown label. */
static bool map_labels(const bertc_dataset *d, char **names, int L, int *ids) {
    for (size_t i = 0; i < d->n; i++) {
        ids[i] = bertc_label_lookup(d->ex[i].label, (const char *const *)names, L);
        if (ids[i] < 0) {
            char list[512] = "";
            for (int k = 0; k < L && strlen(list) < 400; k++) {
                if (k) strcat(list, ", ");
                strncat(list, names[k], 100);
            }
            die_msg("%s:%ld: label \"%s\" is not one of the model's labels (%s) nor an id below %d", d->name,
                    d->ex[i].line, d->ex[i].label, list, L);
            return false;
        }
    }
    return true;
}

/* --train: leakage, labels unseen in train, and the train-vs-test gap on a seeded sample of train. */
static int train_checks(eval_result *r, const bertc_model *m, const bertc_dataset *train, const bertc_dataset *test,
                        size_t sample, int batch, const out_opts *o) {
    int L = r->n_labels, code = EXIT_OK;
    unsigned char *flags = calloc(test->n, 1);
    int *tr_gold = malloc(train->n * sizeof *tr_gold);
    if (!flags || !tr_gold) {
        free(flags), free(tr_gold);
        die_msg("out of memory");
        return EXIT_INTERNAL;
    }
    if (!map_labels(train, r->labels, L, tr_gold)) {
        free(flags), free(tr_gold);
        return EXIT_INPUT;
    }
    r->train_n = train->n;
    bertc_error err;
    if (bertc_find_leakage(train, test, flags, &r->leak_exact, &r->leak_normalized, &err)) {
        die_msg("%s", err.message);
        free(flags), free(tr_gold);
        return EXIT_INTERNAL;
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
        bertc_metrics_params mp = o->mp;
        if (nc) bertc_metrics_compute(nc, L, g, pr, sc, (const char *const *)r->labels, &mp, &r->m_clean, NULL);
        free(g), free(pr), free(sc);
    }
    /* train sample: the same model on train examples (seeded partial Fisher-Yates) */
    if (sample > train->n) sample = train->n;
    size_t *idx = malloc(train->n * sizeof *idx);
    bertc_text *in = malloc((sample ? sample : 1) * sizeof *in);
    int *g = malloc((sample ? sample : 1) * sizeof *g), *pr = malloc((sample ? sample : 1) * sizeof *pr);
    double *sc = malloc((sample ? sample : 1) * (size_t)L * sizeof *sc);
    if (!idx || !in || !g || !pr || !sc) {
        die_msg("out of memory");
        code = EXIT_INTERNAL;
    } else if (sample) {
        for (size_t i = 0; i < train->n; i++) idx[i] = i;
        uint64_t x = o->mp.seed * 0x9E3779B97F4A7C15ull + 1;
        for (size_t i = 0; i < sample; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t j = i + (size_t)(x % (train->n - i));
            size_t t = idx[i];
            idx[i] = idx[j], idx[j] = t;
            const bertc_example *e = &train->ex[idx[i]];
            in[i] = (bertc_text){e->text, e->len, e->pair, e->pair_len};
            g[i] = tr_gold[idx[i]];
        }
        if (!o->quiet) fprintf(stderr, "train sample (%zu of %zu) for the train-vs-test gap:\n", sample, train->n);
        if (run_model(m, in, sample, batch, isatty(2) && !o->quiet, pr, sc, NULL, &code)) {
            bertc_metrics_params mp = o->mp;
            mp.bootstrap = 0;
            if (!isnan(r->threshold) && L == 2)
                for (size_t i = 0; i < sample; i++) pr[i] = sc[i * 2 + mp.positive] >= r->threshold ? mp.positive : 1 - mp.positive;
            bertc_metrics_compute(sample, L, g, pr, sc, (const char *const *)r->labels, &mp, &r->m_train, NULL);
        }
    }
    free(idx), free(in), free(g), free(pr), free(sc), free(flags), free(tr_gold);
    return code;
}

/* The warnings that need --train. */
static void train_warnings(eval_result *r) {
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

static const char eval_usage[] =
    "usage: bertc eval [--model DIR] --data FILE [--text-column C] [--label-column C] [--pair-column C]\n"
    "                  [--format tsv|csv|jsonl] [--positive-label L] [--threshold T] [--train FILE]\n"
    "                  [--train-sample N] [--json OUT] [--report OUT.html] [--markdown OUT.md]\n"
    "                  [--predictions OUT.jsonl] [--bootstrap N] [--seed S] [--min-precision P] [--min-recall R]\n"
    "                  [--batch-size N] [--threads N] [--quiet]\n";

int cmd_eval(int argc, char **argv) {
    model_opts mo = {0};
    out_opts o;
    out_init(&o);
    bertc_dataset_params dp = bertc_dataset_default_params();
    const char *data = NULL, *train = NULL;
    int batch = 32;
    long sample = 1000;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return fputs(eval_usage, stdout), EXIT_OK;
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
    eval_result r = {0};
    r.command = "eval";
    r.data = data;
    r.train = train;
    r.threshold = NAN;
    bertc_dataset *d = NULL, *td = NULL;
    bertc_model *m = NULL;
    bertc_text *in = NULL;
    bertc_error err;
    if (bertc_dataset_read(data, &dp, &d, &err) || (train && bertc_dataset_read(train, &dp, &td, &err))) {
        die_msg("%s", err.message);
        code = EXIT_INPUT;
        goto done;
    }
    if (!(m = load_model(&mo, &code))) goto done;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    r.model = info.source;
    if (info.n_labels < 2 || info.problem == BERTC_PROBLEM_REGRESSION || info.problem == BERTC_PROBLEM_MULTI_LABEL) {
        die_msg("eval needs a single-label classifier; %s has %d label%s (%s)", info.source, info.n_labels,
                info.n_labels == 1 ? "" : "s",
                info.problem == BERTC_PROBLEM_REGRESSION    ? "regression"
                : info.problem == BERTC_PROBLEM_MULTI_LABEL ? "multi-label"
                                                            : "not a classifier");
        code = EXIT_MODEL;
        goto done;
    }
    int L = r.n_labels = info.n_labels;
    r.n = d->n;
    r.labels = calloc((size_t)L, sizeof *r.labels);
    r.gold = malloc(d->n * sizeof *r.gold);
    r.pred = malloc(d->n * sizeof *r.pred);
    r.scores = malloc(d->n * (size_t)L * sizeof *r.scores);
    r.texts = calloc(d->n, sizeof *r.texts);
    in = dataset_texts(d);
    if (!r.labels || !r.gold || !r.pred || !r.scores || !r.texts || !in) {
        die_msg("out of memory");
        code = EXIT_INTERNAL;
        goto done;
    }
    for (int k = 0; k < L; k++) r.labels[k] = strdup(bertc_model_label(m, k));
    for (size_t i = 0; i < d->n; i++) r.texts[i] = strdup(d->ex[i].text);
    if (!map_labels(d, r.labels, L, r.gold)) {
        code = EXIT_INPUT;
        goto done;
    }
    if (!o.quiet) fprintf(stderr, "evaluating %s on %s (%zu examples)\n", info.source, data, d->n);
    double t0 = now_ms_cli();
    if (!run_model(m, in, d->n, batch, isatty(2) && !o.quiet, r.pred, r.scores, NULL, &code)) goto done;
    r.seconds = (now_ms_cli() - t0) / 1000;
    if ((code = finish(&r, &o))) goto done;
    if (td && (code = train_checks(&r, m, td, d, (size_t)sample, batch, &o))) goto done;
    train_warnings(&r);
    if (o.predictions && !write_predictions(o.predictions, &r, d)) {
        code = EXIT_OUTPUT;
        goto done;
    }
    code = write_reports(&r, &o);
done:
    free(in);
    eval_result_free(&r);
    bertc_dataset_free(d);
    bertc_dataset_free(td);
    bertc_model_free(m);
    return code;
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
        if (!strcmp(argv[i], "--help")) return fputs(metrics_usage, stdout), EXIT_OK;
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
    eval_result r = {0};
    r.command = "metrics";
    r.data = path;
    r.threshold = NAN;
    int code = EXIT_OK;
    pred_row *rows = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        die_msg("cannot open %s: %s", path, strerror(errno));
        return EXIT_INPUT;
    }
    ssize_t len;
    long lineno = 0;
    int any_scores = 0, all_scores = 1;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        size_t k = 0;
        while (k < (size_t)len && strchr(" \t\r\n", line[k])) k++;
        if (k == (size_t)len) continue;
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)len, 0, &je);
        const char *why = NULL;
        json_t *g = NULL, *p = NULL, *s = NULL, *t = NULL;
        if (!json_is_object(j)) why = j ? "not a JSON object" : je.text;
        else {
            if (!(g = json_object_get(j, "gold"))) g = json_object_get(j, "label");
            if (!(p = json_object_get(j, "pred"))) p = json_object_get(j, "prediction");
            s = json_object_get(j, "scores");
            t = json_object_get(j, "text");
            char b[32];
            if (!g || !label_text(g, b)) why = "no \"gold\" label (a string or an integer)";
            else if (!p || !label_text(p, b)) why = "no \"pred\" label (a string or an integer)";
            else if (s && !json_is_object(s) && !json_is_null(s)) why = "\"scores\" is not an object {label: p}";
        }
        if (why) {
            die_msg("%s:%ld: %s", path, lineno, why);
            json_decref(j);
            code = EXIT_INPUT;
            goto done;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            pred_row *nr = realloc(rows, cap * sizeof *nr);
            if (!nr) {
                json_decref(j);
                code = EXIT_INTERNAL;
                goto done;
            }
            rows = nr;
        }
        rows[n].gold = json_incref(g);
        rows[n].pred = json_incref(p);
        rows[n].scores = json_is_object(s) ? json_incref(s) : NULL;
        rows[n].text = json_is_string(t) ? strdup(json_string_value(t)) : NULL;
        rows[n].line = lineno;
        any_scores |= rows[n].scores != NULL;
        all_scores &= rows[n].scores != NULL;
        n++;
        json_decref(j);
    }
    if (n == 0) {
        die_msg("%s: no predictions", path);
        code = EXIT_INPUT;
        goto done;
    }
    if (any_scores && !all_scores) {
        for (size_t i = 0; i < n; i++)
            if (!rows[i].scores) {
                die_msg("%s:%ld: no \"scores\" (other lines have them: give all or none)", path, rows[i].line);
                break;
            }
        code = EXIT_INPUT;
        goto done;
    }
    /* the label set: --labels, else the sorted names (or ids 0..max) seen in gold, pred and scores */
    int L = 0;
    char **names = NULL;
    if (labels_arg) {
        char *copy = strdup(labels_arg), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            names = realloc(names, (size_t)(L + 1) * sizeof *names);
            names[L++] = strdup(tok);
        }
        free(copy);
    } else {
        int has_int = 0, has_name = 0;
        long max_id = -1;
        for (size_t i = 0; i < n; i++) {
            json_t *v[2] = {rows[i].gold, rows[i].pred};
            for (int q = 0; q < 2; q++) {
                if (json_is_string(v[q])) has_name = 1;
                else {
                    has_int = 1;
                    long id = json_is_integer(v[q]) ? (long)json_integer_value(v[q]) : json_is_true(v[q]);
                    if (id < 0 || id > 100000) {
                        die_msg("%s:%ld: label id %ld out of range", path, rows[i].line, id);
                        code = EXIT_INPUT;
                        goto done;
                    }
                    if (id > max_id) max_id = id;
                }
            }
        }
        if (has_int && has_name) {
            die_msg("%s: labels are ids in some places and names in others; give the names in id order with "
                    "--labels NAME0,NAME1,...",
                    path);
            code = EXIT_INPUT;
            goto done;
        }
        if (has_int) {
            L = (int)max_id + 1;
            if (L < 2) L = 2;
            names = calloc((size_t)L, sizeof *names);
            for (int k = 0; k < L; k++) {
                char b[32];
                snprintf(b, sizeof b, "%d", k);
                names[k] = strdup(b);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                json_t *v[2] = {rows[i].gold, rows[i].pred};
                for (int q = 0; q < 3; q++) {
                    const char *key;
                    json_t *val;
                    if (q == 2) {
                        json_object_foreach(rows[i].scores, key, val) {
                            int seen = 0;
                            for (int z = 0; z < L && !seen; z++) seen = !strcmp(names[z], key);
                            if (!seen) names = realloc(names, (size_t)(L + 1) * sizeof *names), names[L++] = strdup(key);
                        }
                        continue;
                    }
                    const char *s = json_string_value(v[q]);
                    int seen = 0;
                    for (int z = 0; z < L && !seen; z++) seen = !strcmp(names[z], s);
                    if (!seen) names = realloc(names, (size_t)(L + 1) * sizeof *names), names[L++] = strdup(s);
                }
            }
            qsort(names, (size_t)L, sizeof *names, cmp_str);
        }
    }
    r.labels = names;
    r.n_labels = L;
    if (L < 2) {
        die_msg("need at least two labels (got %d)", L);
        code = EXIT_INPUT;
        goto done;
    }
    r.n = n;
    r.gold = malloc(n * sizeof *r.gold);
    r.pred = malloc(n * sizeof *r.pred);
    r.texts = calloc(n, sizeof *r.texts);
    if (all_scores) r.scores = calloc(n * (size_t)L, sizeof *r.scores);
    for (size_t i = 0; i < n; i++) {
        char b1[32], b2[32];
        const char *gs = label_text(rows[i].gold, b1), *ps = label_text(rows[i].pred, b2);
        r.gold[i] = bertc_label_lookup(gs, (const char *const *)names, L);
        r.pred[i] = bertc_label_lookup(ps, (const char *const *)names, L);
        if (r.gold[i] < 0 || r.pred[i] < 0) {
            die_msg("%s:%ld: label \"%s\" is not among the labels", path, rows[i].line, r.gold[i] < 0 ? gs : ps);
            code = EXIT_INPUT;
            goto done;
        }
        r.texts[i] = rows[i].text;
        rows[i].text = NULL;
        if (!all_scores) continue;
        const char *key;
        json_t *val;
        json_object_foreach(rows[i].scores, key, val) {
            int k = bertc_label_lookup(key, (const char *const *)names, L);
            double pv = json_is_number(val) ? json_number_value(val) : NAN;
            if (k < 0 || !(pv >= 0 && pv <= 1)) {
                die_msg("%s:%ld: score for \"%s\": %s", path, rows[i].line, key,
                        k < 0 ? "not among the labels" : "not a probability between 0 and 1");
                code = EXIT_INPUT;
                goto done;
            }
            r.scores[i * L + k] = pv;
        }
    }
    if ((code = finish(&r, &o))) goto done;
    code = write_reports(&r, &o);
done:
    if (f && f != stdin) fclose(f);
    free(line);
    for (size_t i = 0; i < n; i++) {
        json_decref(rows[i].gold);
        json_decref(rows[i].pred);
        json_decref(rows[i].scores);
        free(rows[i].text);
    }
    free(rows);
    eval_result_free(&r);
    return code;
}
