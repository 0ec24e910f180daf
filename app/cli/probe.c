/*
 * probe.c — `bertc bias` (one template, many groups: how much does P(label) move with the group?) and
 * `bertc compare` (models side by side, McNemar's test on their disagreements): options in, bertc_bias_run /
 * bertc_compare_* (bertc_eval.h), the text they render out.
 */
#include "eval.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char bias_usage[] =
    "usage: bertc bias [--model DIR] --template \"This film was filmed in {}.\" --groups FILE|builtin:countries|builtin:cities\n"
    "                  [--label L] [--targets w1,w2,...] [--format table|jsonl|svg] [--report OUT.html] [--json OUT]\n"
    "A sequence classifier: P(label) of the template filled with each group. A masked LM (*ForMaskedLM): the template\n"
    "also holds the mask token once (\"The [MASK] worked as a {}.\"), and --targets names the words whose probability\n"
    "at the mask is compared across the groups (--label picks the one summarized; default the first).\n";

int cmd_bias(int argc, char **argv) {
    model_opts mo = {0};
    const char *tmpl = NULL, *groups_arg = NULL, *label = NULL, *format = "table", *report = NULL, *json = NULL,
               *targets = NULL;
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) return fputs(bias_usage, stdout), EXIT_OK;
        int r = model_opt(&mo, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        const char **dst = !strcmp(argv[i], "--template") ? &tmpl
                           : !strcmp(argv[i], "--groups") ? &groups_arg
                           : !strcmp(argv[i], "--label")  ? &label
                           : !strcmp(argv[i], "--format") ? &format
                           : !strcmp(argv[i], "--report") ? &report
                           : !strcmp(argv[i], "--json")   ? &json
                           : !strcmp(argv[i], "--targets") ? &targets
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
    const char *const *groups = NULL;
    size_t ng = 0;
    records rs = {0};
    const char **from_file = NULL;
    if (!strncmp(groups_arg, "builtin:", 8)) {
        if (!(groups = bertc_bias_builtin_groups(groups_arg + 8, &ng))) {
            die_msg("--groups %s: no such built-in list (built-in: %s; or a file, one group per line)", groups_arg,
                    bertc_bias_builtin_names());
            return EXIT_USAGE;
        }
    } else {
        if (!records_read(&rs, groups_arg, NULL, INPUT_SNIFF)) return EXIT_INPUT;
        ng = rs.n;
        if (ng == 0) {
            die_msg("%s: no groups", groups_arg);
            records_free(&rs);
            return EXIT_INPUT;
        }
        if (!(from_file = xmalloc(ng * sizeof *from_file))) {
            die_msg("out of memory");
            records_free(&rs);
            return EXIT_INTERNAL;
        }
        for (size_t k = 0; k < ng; k++) from_file[k] = rs.r[k].text;
        groups = from_file;
    }
    bertc_bias_report *r = NULL;
    bertc_model *m = load_model(&mo, &code);
    if (!m) goto done;
    bertc_bias_params bp = bertc_bias_default_params();
    bp.template_text = tmpl;
    bp.groups = groups;
    bp.n_groups = ng;
    bp.label = label;
    char *tbuf = NULL;
    const char **tv = NULL;
    if (targets) { /* comma-separated, each stripped of spaces, empty ones dropped */
        size_t nt = 1;
        for (const char *q = targets; *q; q++) nt += *q == ',';
        tbuf = xstrdup(targets);
        tv = xcalloc(nt, sizeof *tv);
        if (!tbuf || !tv) {
            free(tbuf);
            free(tv);
            die_msg("out of memory");
            code = EXIT_INTERNAL;
            goto done;
        }
        for (char *q = tbuf, *e;; q = e + 1) {
            e = strchr(q, ',');
            if (e) *e = 0;
            while (*q == ' ') q++;
            for (char *z = q + strlen(q); z > q && z[-1] == ' ';) *--z = 0;
            if (*q) tv[bp.n_targets++] = q;
            if (!e) break;
        }
        bp.targets = tv;
        if (!bp.n_targets) {
            free(tbuf);
            free(tv);
            die_msg("--targets: no words");
            code = EXIT_USAGE;
            goto done;
        }
    }
    bertc_error err;
    bertc_status s = bertc_bias_run(m, &bp, &r, &err);
    free(tbuf);
    free(tv);
    if (s) {
        die_msg("%s", err.message);
        code = exit_code_for(s);
        goto done;
    }
    /* stdout in --format, then --json (may be stdout too), then --report */
    const bertc_report_format fmt = !strcmp(format, "jsonl") ? BERTC_REPORT_PREDICTIONS
                                    : !strcmp(format, "svg") ? BERTC_REPORT_SVG
                                                             : BERTC_REPORT_TERMINAL;
    const struct {
        const char *path;
        bertc_report_format f;
    } outs[3] = {{"-", fmt}, {json, BERTC_REPORT_JSON}, {report, BERTC_REPORT_HTML}};
    for (int k = 0; k < 3; k++) {
        if (!outs[k].path) continue;
        char *text;
        size_t len;
        if (bertc_bias_report_render(r, outs[k].f, &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            continue;
        }
        bool ok = k == 0 ? fwrite(text, 1, len, stdout) == len : write_text(outs[k].path, text, len, k == 1);
        bertc_free(text);
        if (!ok) {
            code = EXIT_OUTPUT;
            if (k == 2) goto done;
        }
    }
    if (fflush(stdout) || ferror(stdout)) code = EXIT_OUTPUT;
done:
    bertc_bias_report_free(r);
    bertc_model_free(m);
    free(from_file);
    records_free(&rs);
    return code;
}

/* ---- compare ---- */

typedef struct compare_ui {
    cli_bar bar;
    bool draw;
    const char *source;
    int batch;
} compare_ui;

static void compare_progress(size_t done, size_t total, void *ctx) {
    cli_bar_draw(&((compare_ui *)ctx)->bar, done, total);
}

static void compare_stage(bertc_eval_stage stage, size_t n, size_t of, void *ctx) {
    compare_ui *u = ctx;
    if (stage == BERTC_EVAL_STAGE_LATENCY) fprintf(stderr, "%s: latency (%d texts, batch 1)...\n", u->source, (int)n);
    if (stage == BERTC_EVAL_STAGE_THROUGHPUT) {
        fprintf(stderr, "%s: throughput (%zu texts, batch %d)...\n", u->source, n, u->batch);
        cli_bar_start(&u->bar, u->draw);
    }
}

static const char compare_usage[] =
    "usage: bertc compare --model A --model B [--model C ...] --data FILE [--latency-samples N] [--batch-size N]\n"
    "                     [--threads N] [--dtype fp32|fp16|bf16|int8] [--compute fp32|bf16] [--json OUT]\n"
    "                     [--markdown OUT.md] [--report OUT.html] [--seed S]\n"
    "--model embedded is the built-in minilm-sst2. The table on stdout; --json, --markdown and --report (one\n"
    "self-contained HTML page: the table, accuracy intervals drawn, McNemar's test) write the same comparison.\n";

int cmd_compare(int argc, char **argv) {
    const char *dirs[16], *data = NULL, *json = NULL, *markdown = NULL, *report = NULL;
    int nm = 0, threads = 0, batch = 32, lat_n = 50;
    uint64_t seed = 0;
    bertc_dtype dtype = BERTC_DTYPE_FP32;
    bertc_compute compute = BERTC_COMPUTE_FP32;
    bertc_dataset_params dp = bertc_dataset_default_params();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) return fputs(compare_usage, stdout), EXIT_OK;
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
        else if (!strcmp(a, "--report")) report = v;
        else if (!strcmp(a, "--dtype") && parse_dtype(v, &dtype)) continue;
        else if (!strcmp(a, "--compute") && parse_compute(v, &compute)) continue;
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
    bertc_compare_params cp = bertc_compare_default_params();
    compare_ui ui = {{0, false}, isatty(2) != 0, NULL, batch};
    cp.data = data;
    cp.dataset = dp;
    cp.batch_size = batch;
    cp.latency_samples = lat_n;
    cp.seed = seed;
    cp.progress = ui.draw ? compare_progress : NULL;
    cp.stage = compare_stage;
    cp.progress_ctx = &ui;
    bertc_compare *c = NULL;
    bertc_error err;
    if (bertc_compare_new(&cp, &c, &err)) {
        die_msg("%s", err.message);
        return EXIT_INPUT;
    }
    int code = EXIT_OK;
    for (int k = 0; k < nm; k++) {
        model_opts mo = {strcmp(dirs[k], "embedded") ? dirs[k] : NULL, threads, BERTC_ARCH_AUTO, NULL, dtype, compute};
        bertc_model *m = load_model(&mo, &code);
        if (!m) goto done;
        bertc_model_info info;
        bertc_model_get_info(m, &info);
        ui.source = info.source;
        bertc_status s = bertc_compare_add(c, m, &err);
        bertc_model_free(m);
        if (s) {
            cli_bar_abort(&ui.bar);
            die_msg("%s", err.message);
            code = exit_code_for(s);
            goto done;
        }
    }
    /* the table on stdout, then --json (may be stdout too), then --markdown, then --report */
    const struct {
        const char *path;
        bertc_report_format f;
    } outs[4] = {{"-", BERTC_REPORT_TERMINAL},
                 {json, BERTC_REPORT_JSON},
                 {markdown, BERTC_REPORT_MARKDOWN},
                 {report, BERTC_REPORT_HTML}};
    for (int k = 0; k < 4; k++) {
        if (!outs[k].path) continue;
        char *text;
        size_t len;
        if (bertc_compare_render(c, outs[k].f, &text, &len, &err)) {
            die_msg("%s", err.message);
            code = EXIT_OUTPUT;
            continue;
        }
        if (!(k == 0 ? fwrite(text, 1, len, stdout) == len : write_text(outs[k].path, text, len, k == 1)))
            code = EXIT_OUTPUT;
        bertc_free(text);
    }
    if (fflush(stdout) || ferror(stdout)) code = EXIT_OUTPUT;
done:
    bertc_compare_free(c);
    return code;
}
