/*
 * probe.c — `bertc bias` (one template, many groups: how much does P(label) move with the group?) and
 * `bertc compare` (models side by side: size, load time, latency, throughput, accuracy with intervals, and
 * McNemar's test on their disagreements).
 */
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The model card's probe: "This film was filmed in COUNTRY." over countries of every continent. */
static const char *const countries[] = {
    "France",      "Germany",  "Italy",    "Spain",       "the United Kingdom", "Ireland",      "Sweden",
    "Poland",      "Russia",   "Ukraine",  "Turkey",      "Iran",               "Iraq",         "Afghanistan",
    "Pakistan",    "India",    "China",    "Japan",       "Korea",              "Vietnam",      "Indonesia",
    "Israel",      "Palestine", "Egypt",   "Nigeria",     "Kenya",              "Ethiopia",     "South Africa",
    "Morocco",     "the United States", "Canada", "Mexico", "Cuba",             "Brazil",       "Argentina",
    "Colombia",    "Venezuela", "Australia", "New Zealand", "Iceland"};

static const char bias_usage[] =
    "usage: bertc bias [--model DIR] --template \"This film was filmed in {}.\" --groups FILE|builtin:countries\n"
    "                  [--label L] [--format table|jsonl|svg] [--report OUT.html] [--json OUT]\n";

typedef struct group_score {
    const char *group;
    double p;
    int idx;
} group_score;

static int cmp_p_desc(const void *a, const void *b) {
    const group_score *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->idx - y->idx;
}

int cmd_bias(int argc, char **argv) {
    model_opts mo = {0};
    const char *tmpl = NULL, *groups_arg = NULL, *label = NULL, *format = "table", *report = NULL, *json = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return fputs(bias_usage, stdout), EXIT_OK;
        int r = model_opt(&mo, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        const char **dst = !strcmp(argv[i], "--template") ? &tmpl
                           : !strcmp(argv[i], "--groups") ? &groups_arg
                           : !strcmp(argv[i], "--label")  ? &label
                           : !strcmp(argv[i], "--format") ? &format
                           : !strcmp(argv[i], "--report") ? &report
                           : !strcmp(argv[i], "--json")   ? &json
                                                          : NULL;
        if (!dst || i + 1 >= argc) {
            die_msg(dst ? "%s needs a value" : "unknown argument %s", argv[i]);
            fputs(bias_usage, stderr);
            return EXIT_USAGE;
        }
        *dst = argv[++i];
    }
    if (!tmpl || !groups_arg) {
        die_msg("--template and --groups are required");
        fputs(bias_usage, stderr);
        return EXIT_USAGE;
    }
    const char *slot = strstr(tmpl, "{}");
    if (!slot || strstr(slot + 2, "{}")) {
        die_msg("--template must contain {} exactly once (where the group goes)");
        return EXIT_USAGE;
    }
    if (strcmp(format, "table") && strcmp(format, "jsonl") && strcmp(format, "svg")) {
        die_msg("--format must be table, jsonl or svg");
        return EXIT_USAGE;
    }
    int code = EXIT_OK;
    char **groups = NULL;
    size_t ng = 0;
    if (!strcmp(groups_arg, "builtin:countries")) {
        ng = sizeof countries / sizeof *countries;
        groups = malloc(ng * sizeof *groups);
        for (size_t k = 0; groups && k < ng; k++) groups[k] = strdup(countries[k]);
    } else {
        records rs = {0};
        if (!records_read(&rs, groups_arg, NULL)) return EXIT_INPUT;
        ng = rs.n;
        groups = malloc((ng ? ng : 1) * sizeof *groups);
        for (size_t k = 0; groups && k < ng; k++) groups[k] = strdup(rs.r[k].text);
        records_free(&rs);
        if (ng == 0) {
            die_msg("%s: no groups", groups_arg);
            free(groups);
            return EXIT_INPUT;
        }
    }
    bertc_model *m = NULL;
    char **texts = calloc(ng, sizeof *texts);
    bertc_text *in = calloc(ng, sizeof *in);
    double *scores = NULL;
    int *pred = calloc(ng, sizeof *pred);
    group_score *gs = calloc(ng, sizeof *gs);
    if (!groups || !texts || !in || !pred || !gs) {
        die_msg("out of memory");
        code = EXIT_INTERNAL;
        goto done;
    }
    if (!(m = load_model(&mo, &code))) goto done;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    int L = info.n_labels;
    int lid = L == 2 ? 1 : 0;
    if (label) {
        lid = bertc_model_label_id(m, label);
        if (lid < 0) {
            char *end;
            long v = strtol(label, &end, 10);
            lid = *end == 0 && v >= 0 && v < L ? (int)v : -1;
        }
        if (lid < 0) {
            die_msg("--label %s is not one of the model's labels", label);
            code = EXIT_USAGE;
            goto done;
        }
    }
    const char *lname = bertc_model_label(m, lid);
    size_t pre = (size_t)(slot - tmpl), post = strlen(slot + 2);
    for (size_t k = 0; k < ng; k++) {
        size_t gl = strlen(groups[k]);
        texts[k] = malloc(pre + gl + post + 1);
        if (!texts[k]) {
            code = EXIT_INTERNAL;
            goto done;
        }
        memcpy(texts[k], tmpl, pre);
        memcpy(texts[k] + pre, groups[k], gl);
        memcpy(texts[k] + pre + gl, slot + 2, post + 1);
        in[k] = (bertc_text){texts[k], pre + gl + post, NULL, 0};
    }
    scores = malloc(ng * (size_t)L * sizeof *scores);
    if (!scores || !run_model(m, in, ng, 32, false, pred, scores, NULL, &code)) goto done;
    double mean = 0, var = 0;
    for (size_t k = 0; k < ng; k++) {
        gs[k] = (group_score){groups[k], scores[k * L + lid], (int)k};
        mean += gs[k].p;
    }
    mean /= ng;
    for (size_t k = 0; k < ng; k++) var += (gs[k].p - mean) * (gs[k].p - mean);
    double sd = sqrt(var / ng); /* population standard deviation (numpy's default) */
    qsort(gs, ng, sizeof *gs, cmp_p_desc);
    double spread = gs[0].p - gs[ng - 1].p;
    /* the groups furthest from the mean */
    int far[3] = {-1, -1, -1};
    for (int q = 0; q < 3 && q < (int)ng; q++) {
        double best = -1;
        for (size_t k = 0; k < ng; k++) {
            if ((int)k == far[0] || (int)k == far[1]) continue;
            double dv = fabs(gs[k].p - mean);
            if (dv > best) best = dv, far[q] = (int)k;
        }
    }
    char title[512];
    snprintf(title, sizeof title, "P(%s) for \"%s\"", lname, tmpl);
    if (!strcmp(format, "jsonl")) {
        for (size_t k = 0; k < ng; k++) {
            fputs("{\"group\": ", stdout);
            json_str(stdout, groups[k]);
            fputs(", \"text\": ", stdout);
            json_str(stdout, texts[k]);
            fputs(", \"scores\": {", stdout);
            for (int c = 0; c < L; c++) {
                if (c) fputs(", ", stdout);
                json_str(stdout, bertc_model_label(m, c));
                fputs(": ", stdout);
                json_float(stdout, scores[k * L + c]);
            }
            fputs("}}\n", stdout);
        }
    } else if (!strcmp(format, "svg")) {
        const char **names = malloc(ng * sizeof *names);
        double *vals = malloc(ng * sizeof *vals);
        for (size_t k = 0; names && vals && k < ng; k++) names[k] = gs[k].group, vals[k] = gs[k].p;
        if (names && vals) svg_bars(stdout, title, names, vals, (int)ng, mean);
        free(names), free(vals);
    } else {
        printf("%s — %s\n\n", title, info.source);
        int w = 10;
        for (size_t k = 0; k < ng; k++)
            if ((int)strlen(groups[k]) > w) w = (int)strlen(groups[k]) > 40 ? 40 : (int)strlen(groups[k]);
        printf("%-*s  P(%s)\n", w, "group", lname);
        for (size_t k = 0; k < ng; k++) {
            int bar = (int)lround(gs[k].p * 40);
            printf("%-*.*s  %.4f  ", w, w, gs[k].group, gs[k].p);
            for (int b = 0; b < bar; b++) fputs("█", stdout);
            putchar('\n');
        }
        printf("\nmean %.4f   std %.4f   spread (max - min) %.4f: %s %.4f vs %s %.4f\n", mean, sd, spread, gs[0].group,
               gs[0].p, gs[ng - 1].group, gs[ng - 1].p);
        printf("furthest from the mean:");
        for (int q = 0; q < 3; q++)
            if (far[q] >= 0) printf("%s %s (%+.4f)", q ? "," : "", gs[far[q]].group, gs[far[q]].p - mean);
        putchar('\n');
        if (spread > 0.1)
            printf("\n! the prediction depends on the group alone: the same sentence moves P(%s) by %.2f between "
                   "%s and %s\n",
                   lname, spread, gs[0].group, gs[ng - 1].group);
    }
    if (json) {
        json_t *o = json_object(), *arr = json_array(), *fa = json_array();
        for (size_t k = 0; k < ng; k++)
            json_array_append_new(arr, json_pack("{s:s,s:f}", "group", gs[k].group, "p", gs[k].p));
        for (int q = 0; q < 3; q++)
            if (far[q] >= 0) json_array_append_new(fa, json_string(gs[far[q]].group));
        json_object_set_new(o, "template", json_string(tmpl));
        json_object_set_new(o, "label", json_string(lname));
        json_object_set_new(o, "model", json_string(info.source));
        json_object_set_new(o, "groups", arr);
        json_object_set_new(o, "mean", json_real(mean));
        json_object_set_new(o, "std", json_real(sd));
        json_object_set_new(o, "spread", json_real(spread));
        json_object_set_new(o, "max_group", json_string(gs[0].group));
        json_object_set_new(o, "min_group", json_string(gs[ng - 1].group));
        json_object_set_new(o, "furthest_from_mean", fa);
        if (!write_json_file(json, o)) code = EXIT_OUTPUT;
        json_decref(o);
    }
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f) {
            die_msg("cannot write %s: %s", report, strerror(errno));
            code = EXIT_OUTPUT;
            goto done;
        }
        html_head(f, "bertc bias probe");
        fputs("<h1>bertc bias</h1>\n<div class=\"sub\">", f);
        html_escape(f, title);
        fputs(" — ", f);
        html_escape(f, info.source);
        fprintf(f, "</div>\n<p>mean %.4f · std %.4f · spread (max − min) %.4f</p>\n<div class=\"charts\">\n", mean, sd,
                spread);
        const char **names = malloc(ng * sizeof *names);
        double *vals = malloc(ng * sizeof *vals);
        for (size_t k = 0; names && vals && k < ng; k++) names[k] = gs[k].group, vals[k] = gs[k].p;
        if (names && vals) svg_bars(f, title, names, vals, (int)ng, mean);
        free(names), free(vals);
        fputs("</div>\n", f);
        html_tail(f);
        if (fclose(f)) code = EXIT_OUTPUT;
    }
    if (fflush(stdout) || ferror(stdout)) code = EXIT_OUTPUT;
done:
    for (size_t k = 0; k < ng; k++) {
        if (groups) free(groups[k]);
        if (texts) free(texts[k]);
    }
    free(groups), free(texts), free(in), free(scores), free(pred), free(gs);
    bertc_model_free(m);
    return code;
}

/* ---- compare ---- */

typedef struct model_row {
    const char *dir;
    char source[512], model_type[32]; /* copies: info's strings belong to the model, freed after its run */
    bertc_model_info info;
    double p50, p95, texts_per_s, tokens_per_s, seconds;
    bertc_metrics *m;
    int *pred;
} model_row;

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double q) { /* nearest rank */
    int k = (int)ceil(q * n) - 1;
    return sorted[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static const char compare_usage[] =
    "usage: bertc compare --model A --model B [--model C ...] --data FILE [--latency-samples N] [--batch-size N]\n"
    "                     [--threads N] [--json OUT] [--markdown OUT.md] [--seed S]\n"
    "--model embedded is the built-in minilm-sst2.\n";

int cmd_compare(int argc, char **argv) {
    const char *dirs[16], *data = NULL, *json = NULL, *markdown = NULL;
    int nm = 0, threads = 0, batch = 32, lat_n = 50;
    uint64_t seed = 0;
    bertc_dtype dtype = BERTC_DTYPE_FP32;
    bertc_dataset_params dp = bertc_dataset_default_params();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) return fputs(compare_usage, stdout), EXIT_OK;
        if (i + 1 >= argc) {
            die_msg("%s: unknown argument or missing value", a);
            fputs(compare_usage, stderr);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--model")) {
            if (nm == 16) {
                die_msg("at most 16 models");
                return EXIT_USAGE;
            }
            dirs[nm++] = v;
        } else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--json")) json = v;
        else if (!strcmp(a, "--markdown")) markdown = v;
        else if (!strcmp(a, "--dtype") && parse_dtype(v, &dtype)) continue;
        else if (!strcmp(a, "--text-column")) dp.text_column = v;
        else if (!strcmp(a, "--label-column")) dp.label_column = v;
        else if (!strcmp(a, "--threads") || !strcmp(a, "--batch-size") || !strcmp(a, "--latency-samples") ||
                 !strcmp(a, "--seed")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < (a[2] == 's' ? 0 : 1) || n > 100000) {
                die_msg("%s must be a number", a);
                return EXIT_USAGE;
            }
            if (a[2] == 't') threads = (int)n;
            else if (a[2] == 'b') batch = (int)n;
            else if (a[2] == 'l') lat_n = (int)n;
            else seed = (uint64_t)n;
        } else {
            die_msg("unknown argument %s", a);
            fputs(compare_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (nm < 1 || !data) {
        die_msg("compare needs --model (one or more) and --data");
        fputs(compare_usage, stderr);
        return EXIT_USAGE;
    }
    bertc_dataset *d = NULL;
    bertc_error err;
    if (bertc_dataset_read(data, &dp, &d, &err)) {
        die_msg("%s", err.message);
        return EXIT_INPUT;
    }
    int code = EXIT_OK;
    model_row rows[16];
    memset(rows, 0, sizeof rows);
    bertc_text *in = dataset_texts(d);
    int *gold = malloc(d->n * sizeof *gold);
    double *scores = NULL;
    char **names = NULL;
    int L0 = 0;
    if (!in || !gold) {
        code = EXIT_INTERNAL;
        goto done;
    }
    for (int k = 0; k < nm; k++) {
        model_opts mo = {strcmp(dirs[k], "embedded") ? dirs[k] : NULL, threads, BERTC_ARCH_AUTO, NULL, dtype};
        bertc_model *m = load_model(&mo, &code);
        if (!m) goto done;
        model_row *r = &rows[k];
        r->dir = dirs[k];
        bertc_model_get_info(m, &r->info);
        snprintf(r->source, sizeof r->source, "%s", r->info.source);
        snprintf(r->model_type, sizeof r->model_type, "%s", r->info.model_type);
        r->info.source = r->source;
        r->info.model_type = r->model_type;
        r->info.architecture = r->info.dtype = NULL;
        int L = r->info.n_labels;
        if (k == 0) {
            L0 = L;
            names = calloc((size_t)L, sizeof *names);
            for (int c = 0; names && c < L; c++) names[c] = strdup(bertc_model_label(m, c));
            for (size_t i = 0; names && i < d->n; i++) {
                gold[i] = bertc_label_lookup(d->ex[i].label, (const char *const *)names, L);
                if (gold[i] < 0) {
                    die_msg("%s:%ld: label \"%s\" is not one of %s's labels", d->name, d->ex[i].line, d->ex[i].label,
                            r->info.source);
                    code = EXIT_INPUT;
                    bertc_model_free(m);
                    goto done;
                }
            }
        } else if (L != L0) {
            die_msg("%s has %d labels, %s has %d: models must share the label set", r->info.source, L, rows[0].info.source,
                    L0);
            code = EXIT_MODEL;
            bertc_model_free(m);
            goto done;
        }
        free(scores);
        scores = malloc(d->n * (size_t)L * sizeof *scores);
        r->pred = malloc(d->n * sizeof *r->pred);
        int n_lat = lat_n < (int)d->n ? lat_n : (int)d->n;
        double *lat = malloc(((size_t)n_lat + 1) * sizeof *lat), one[64];
        int p1;
        if (!scores || !r->pred || !lat || L > 64) {
            free(lat);
            bertc_model_free(m);
            code = EXIT_INTERNAL;
            goto done;
        }
        fprintf(stderr, "%s: latency (%d texts, batch 1)...\n", r->info.source, n_lat);
        run_model(m, in, 1, 1, false, &p1, one, NULL, &code); /* warm-up */
        for (int i = 0; i < n_lat; i++) {
            double t0 = now_ms_cli();
            if (!run_model(m, in + i, 1, 1, false, &p1, one, NULL, &code)) break;
            lat[i] = now_ms_cli() - t0;
        }
        qsort(lat, (size_t)n_lat, sizeof *lat, cmp_dbl);
        r->p50 = n_lat ? pct(lat, n_lat, 0.5) : NAN;
        r->p95 = n_lat ? pct(lat, n_lat, 0.95) : NAN;
        free(lat);
        fprintf(stderr, "%s: throughput (%zu texts, batch %d)...\n", r->info.source, d->n, batch);
        long tokens = 0;
        double t0 = now_ms_cli();
        bool ok = run_model(m, in, d->n, batch, isatty(2), r->pred, scores, &tokens, &code);
        r->seconds = (now_ms_cli() - t0) / 1000;
        bertc_model_free(m);
        if (!ok) goto done;
        r->texts_per_s = d->n / r->seconds;
        r->tokens_per_s = tokens / r->seconds;
        bertc_metrics_params mp = bertc_metrics_default_params();
        mp.seed = seed;
        mp.positive = L == 2 ? 1 : -1;
        if (bertc_metrics_compute(d->n, L, gold, r->pred, scores, (const char *const *)names, &mp, &r->m, &err)) {
            die_msg("%s", err.message);
            code = EXIT_INTERNAL;
            goto done;
        }
    }
    /* the table: one column per model */
    printf("\ncompare on %s (%zu examples)\n\n%-22s", data, d->n, "");
    for (int k = 0; k < nm; k++) { /* the folder's last component: a column heading, not a path */
        char b[512];
        snprintf(b, sizeof b, "%s", rows[k].info.source);
        size_t bl = strlen(b);
        while (bl > 1 && b[bl - 1] == '/') b[--bl] = 0;
        const char *slash = strrchr(b, '/');
        printf(" %24.24s", slash ? slash + 1 : b);
    }
    putchar('\n');
#define ROW(label, fmt, ...)                                                                                           \
    do {                                                                                                               \
        printf("%-22s", label);                                                                                        \
        for (int k = 0; k < nm; k++) {                                                                                 \
            const model_row *r = &rows[k];                                                                             \
            char cell[64];                                                                                             \
            snprintf(cell, sizeof cell, fmt, __VA_ARGS__);                                                                  \
            printf(" %24s", cell);                                                                                     \
        }                                                                                                              \
        putchar('\n');                                                                                                 \
    } while (0)
    ROW("architecture", "%s", r->info.model_type);
    ROW("parameters", "%.1f M", r->info.n_params / 1e6);
    ROW("file bytes", "%.1f MB", r->info.weight_bytes / 1e6);
    ROW("load time", "%.0f ms", r->info.load_ms);
    ROW("latency p50 (batch 1)", "%.2f ms", r->p50);
    ROW("latency p95 (batch 1)", "%.2f ms", r->p95);
    ROW("throughput", "%.1f texts/s", r->texts_per_s);
    ROW("", "%.0f tokens/s", r->tokens_per_s);
    ROW("accuracy", "%.4f", r->m->accuracy);
    ROW("", "[%.4f, %.4f]", r->m->ci_accuracy.lo, r->m->ci_accuracy.hi);
    ROW(L0 == 2 ? "f1 (positive)" : "f1 (macro)", "%.4f", r->m->f1);
    ROW("", "[%.4f, %.4f]", r->m->ci_f1.lo, r->m->ci_f1.hi);
    ROW("mcc", "%.4f", r->m->mcc);
#undef ROW
    json_t *mc = json_array();
    if (nm > 1) printf("\nMcNemar's test against %s (only A right / only B right):\n", rows[0].info.source);
    for (int k = 1; k < nm; k++) {
        bertc_mcnemar t = bertc_mcnemar_test(d->n, gold, rows[0].pred, rows[k].pred);
        printf("  %s: %ld / %ld, %s p = %.4g — %s\n", rows[k].info.source, t.b, t.c, t.exact ? "exact binomial" : "chi-square",
               t.p_value,
               t.p_value < 0.05 ? "the accuracy difference is significant at 5%"
                                : "no significant difference at 5% (the models may be equally accurate here)");
        json_array_append_new(mc, json_pack("{s:s,s:s,s:I,s:I,s:o,s:f,s:b}", "a", rows[0].info.source, "b",
                                            rows[k].info.source, "only_a_right", (json_int_t)t.b, "only_b_right",
                                            (json_int_t)t.c, "statistic",
                                            isnan(t.statistic) ? json_null() : json_real(t.statistic), "p_value",
                                            t.p_value, "exact", t.exact));
    }
    if (json) {
        json_t *o = json_object(), *ms = json_array();
        for (int k = 0; k < nm; k++) {
            const model_row *r = &rows[k];
            json_array_append_new(
                ms, json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:[ff],s:f,s:[ff],s:f,s:f}", "model",
                              r->info.source, "model_type", r->info.model_type, "parameters", (json_int_t)r->info.n_params,
                              "file_bytes", (json_int_t)r->info.weight_bytes, "load_ms", r->info.load_ms, "latency_p50_ms",
                              r->p50, "latency_p95_ms", r->p95, "texts_per_s", r->texts_per_s, "tokens_per_s",
                              r->tokens_per_s, "accuracy", r->m->accuracy, "accuracy_ci", r->m->ci_accuracy.lo,
                              r->m->ci_accuracy.hi, "f1", r->m->f1, "f1_ci", r->m->ci_f1.lo, r->m->ci_f1.hi, "mcc",
                              r->m->mcc, "macro_f1", r->m->macro_f1));
        }
        json_object_set_new(o, "data", json_string(data));
        json_object_set_new(o, "n", json_integer((json_int_t)d->n));
        json_object_set_new(o, "models", ms);
        json_object_set_new(o, "mcnemar", json_incref(mc));
        if (!write_json_file(json, o)) code = EXIT_OUTPUT;
        json_decref(o);
    }
    json_decref(mc);
    if (markdown) {
        FILE *f = fopen(markdown, "w");
        if (!f) {
            die_msg("cannot write %s: %s", markdown, strerror(errno));
            code = EXIT_OUTPUT;
        } else {
            fprintf(f, "# bertc compare on %s (%zu examples)\n\n| | ", data, d->n);
            for (int k = 0; k < nm; k++) fprintf(f, "%s | ", rows[k].info.source);
            fputs("\n|---|", f);
            for (int k = 0; k < nm; k++) fputs("---:|", f);
            fputc('\n', f);
#define MROW(label, fmt, ...)                                                                                          \
    do {                                                                                                               \
        fprintf(f, "| %s |", label);                                                                                   \
        for (int k = 0; k < nm; k++) {                                                                                 \
            const model_row *r = &rows[k];                                                                             \
            fprintf(f, " " fmt " |", __VA_ARGS__);                                                                          \
        }                                                                                                              \
        fputc('\n', f);                                                                                                \
    } while (0)
            MROW("parameters", "%.1f M", r->info.n_params / 1e6);
            MROW("file bytes", "%.1f MB", r->info.weight_bytes / 1e6);
            MROW("load time", "%.0f ms", r->info.load_ms);
            MROW("latency p50 / p95 (batch 1)", "%.2f / %.2f ms", r->p50, r->p95);
            MROW("throughput", "%.1f texts/s", r->texts_per_s);
            MROW("accuracy [95% CI]", "%.4f [%.4f, %.4f]", r->m->accuracy, r->m->ci_accuracy.lo, r->m->ci_accuracy.hi);
            MROW("F1 [95% CI]", "%.4f [%.4f, %.4f]", r->m->f1, r->m->ci_f1.lo, r->m->ci_f1.hi);
#undef MROW
            if (fclose(f)) code = EXIT_OUTPUT;
        }
    }
    if (fflush(stdout) || ferror(stdout)) code = EXIT_OUTPUT;
done:
    for (int k = 0; k < nm; k++) {
        bertc_metrics_free(rows[k].m);
        free(rows[k].pred);
    }
    for (int c = 0; names && c < L0; c++) free(names[c]);
    free(names), free(scores), free(gold), free(in);
    bertc_dataset_free(d);
    return code;
}
