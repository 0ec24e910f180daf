/*
 * trainreport.c — the HTML page of a training run (`bertc train --report`): loss and learning-rate curves, train
 * sample vs validation metrics per evaluation (SVG), and the evaluations table, from the run's log_history.
 */
#include "report.h"
#include "base/internal.h"
#include "base/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    double *x, *y;
    int n;
} series;

static void series_of(json_t *entries, const char *key, series *s) {
    size_t n = json_array_size(entries);
    s->x = calloc(n + 1, sizeof(double));
    s->y = calloc(n + 1, sizeof(double));
    s->n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        json_t *v = json_object_get(e, key);
        if (!json_is_number(v)) continue;
        s->x[s->n] = (double)json_integer_value(json_object_get(e, "step"));
        s->y[s->n] = json_number_value(v);
        s->n++;
    }
}

static void series_free(series *s) {
    free(s->x);
    free(s->y);
}

/* A tick step of 1, 2 or 5 times a power of ten giving at most `most` intervals over [0, span] (steps 0, 50, 100,
 * 150 for 189 steps, not 38, 76, 113). */
static double nice_step(double span, int most) {
    if (!(span > 0)) return 1;
    double raw = span / most, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* A line chart of several series over steps, axes scaled to the data; the legend two entries a row, below. */
static void svg_lines(FILE *f, const char *title, const char *ylabel, series *ss, const char *const *labels,
                      const char *const *colors, int n, double xmax, bool zero_based) {
    const int legend_rows = (n + 1) / 2;
    const double W = 520, H = 284 + 16.0 * legend_rows, x0 = 60, y0 = 30, w = W - 80, h = 220;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < ss[k].n; i++) {
            if (!isfinite(ss[k].y[i])) continue;
            lo = fmin(lo, ss[k].y[i]);
            hi = fmax(hi, ss[k].y[i]);
        }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (zero_based) lo = fmin(lo, 0);
    if (hi - lo < 1e-12) hi = lo + 1;
    double pad = (hi - lo) * 0.05;
    lo -= zero_based && lo == 0 ? 0 : pad;
    hi += pad;
    if (xmax <= 0) xmax = 1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"curve\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    fprintf(f, "<text class=\"t\" x=\"%.0f\" y=\"18\" text-anchor=\"middle\">", W / 2);
    rpt_html_escape(f, title);
    fputs("</text>\n", f);
    double xs = nice_step(xmax, 6);
    for (double v = 0; v <= xmax * (1 + 1e-9); v += xs) {
        double gx = x0 + w * v / xmax;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#edf2f7\"/>", gx, y0, gx, y0 + h);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", gx, y0 + h + 15, v);
    }
    double ys = nice_step(hi - lo, 5);
    for (double v = ceil(lo / ys) * ys; v <= hi + ys * 1e-9; v += ys) {
        double gy = y0 + h - h * (v - lo) / (hi - lo);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#edf2f7\"/>", x0, gy, x0 + w, gy);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", x0 - 5, gy + 4, fabs(v) < ys * 1e-9 ? 0 : v);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#a0aec0\"/>\n", x0, y0, w, h);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", x0 + w / 2, y0 + h + 30);
    fprintf(f, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">", y0 + h / 2);
    rpt_html_escape(f, ylabel);
    fputs("</text>\n", f);
    for (int k = 0; k < n; k++) {
        if (!ss[k].n) continue;
        fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[k]);
        for (int i = 0; i < ss[k].n; i++)
            if (isfinite(ss[k].y[i]))
                fprintf(f, "%.1f,%.1f ", x0 + w * ss[k].x[i] / xmax, y0 + h - h * (ss[k].y[i] - lo) / (hi - lo));
        fputs("\"/>\n", f);
        for (int i = 0; i < ss[k].n && ss[k].n <= 60; i++)
            if (isfinite(ss[k].y[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", x0 + w * ss[k].x[i] / xmax,
                        y0 + h - h * (ss[k].y[i] - lo) / (hi - lo), colors[k]);
        double lx = x0 + 10 + 220.0 * (k % 2), ly = y0 + h + 46 + 16.0 * (k / 2);
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"4\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">", lx,
                ly - 4, colors[k], lx + 16, ly);
        rpt_html_escape(f, labels[k]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

static void write_report(FILE *f, json_t *entries, const char *model, const char *out, const char *start,
                         const char *const *warnings, int n_warnings) {
    rpt_html_head(f, "bertc train report");
    fputs("<h1>Training report</h1>\n<p class=\"sub\">", f);
    rpt_html_escape(f, model);
    fputs(" &rarr; ", f);
    rpt_html_escape(f, out);
    fputs("<br>", f);
    rpt_html_escape(f, start ? start : "");
    fputs("</p>\n", f);
    if (n_warnings) {
        fputs("<div class=\"warn\"><ul>\n", f);
        for (int i = 0; i < n_warnings; i++) {
            fputs("<li>", f);
            rpt_html_escape(f, warnings[i]);
            fputs("</li>\n", f);
        }
        fputs("</ul></div>\n", f);
    }
    double xmax = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) xmax = fmax(xmax, (double)json_integer_value(json_object_get(e, "step")));
    series loss, eloss, tloss, lr, acc, tacc, f1, tf1;
    series_of(entries, "loss", &loss);
    series_of(entries, "eval_loss", &eloss);
    series_of(entries, "train_sample_loss", &tloss);
    series_of(entries, "learning_rate", &lr);
    series_of(entries, "eval_accuracy", &acc);
    series_of(entries, "train_sample_accuracy", &tacc);
    series_of(entries, "eval_f1", &f1);
    series_of(entries, "train_sample_f1", &tf1);
    fputs("<h2>Curves</h2>\n<div class=\"charts\">\n", f);
    {
        series ss[3] = {loss, tloss, eloss};
        const char *lab[3] = {"training loss", "train sample (eval)", "validation"};
        const char *col[3] = {"#3182ce", "#dd6b20", "#38a169"};
        svg_lines(f, "Loss", "loss", ss, lab, col, 3, xmax, true);
    }
    {
        series ss[1] = {lr};
        const char *lab[1] = {"learning rate"}, *col[1] = {"#805ad5"};
        svg_lines(f, "Learning rate", "lr", ss, lab, col, 1, xmax, true);
    }
    if (acc.n || tacc.n) {
        series ss[4] = {tacc, acc, tf1, f1};
        const char *lab[4] = {"train accuracy", "validation accuracy", "train F1", "validation F1"};
        const char *col[4] = {"#dd6b20", "#38a169", "#f6ad55", "#9ae6b4"};
        svg_lines(f, "Train sample vs validation", "metric", ss, lab, col, 4, xmax, false);
    }
    fputs("</div>\n<h2>Evaluations</h2>\n<table><tr><th>step</th><th>epoch</th><th>train loss</th><th>train acc</th>"
          "<th>val loss</th><th>val acc</th><th>val F1</th><th>val MCC</th><th>gap</th></tr>\n", f);
    json_array_foreach(entries, i, e) {
        if (!json_object_get(e, "eval_loss") && !json_object_get(e, "train_sample_loss")) continue;
        double ta = json_number_value(json_object_get(e, "train_sample_accuracy")),
               va = json_number_value(json_object_get(e, "eval_accuracy"));
        fprintf(f, "<tr><td>%lld</td><td>%.2f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>"
                   "<td>%+.4f</td></tr>\n",
                (long long)json_integer_value(json_object_get(e, "step")), json_number_value(json_object_get(e, "epoch")),
                json_number_value(json_object_get(e, "train_sample_loss")), ta,
                json_number_value(json_object_get(e, "eval_loss")), va, json_number_value(json_object_get(e, "eval_f1")),
                json_number_value(json_object_get(e, "eval_mcc")), ta - va);
    }
    fputs("</table>\n", f);
    series_free(&loss);
    series_free(&eloss);
    series_free(&tloss);
    series_free(&lr);
    series_free(&acc);
    series_free(&tacc);
    series_free(&f1);
    series_free(&tf1);
    fputs("<p class=\"sub\">made by bertc " BERTC_VERSION "</p>\n</body></html>\n", f);
}

bertc_status bertc_train_report_render(const char *log_history_json, const char *model, const char *output_dir,
                                       const char *start, const char *const *warnings, int n_warnings, char **out,
                                       size_t *len, bertc_error *err) {
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_train_report_render: no output");
    *out = NULL;
    if (len) *len = 0;
    if (!log_history_json || n_warnings < 0 || (n_warnings && !warnings))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_train_report_render: no log_history or bad warnings");
    json_error_t je;
    int oom;
    json_t *entries = jload(log_history_json, strlen(log_history_json), 0, &je, &oom);
    if (oom) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory reading the log history");
    if (!json_is_array(entries)) {
        json_decref(entries);
        return bertc_fail(err, BERTC_ERR_INPUT, "log_history: %s", entries ? "not a JSON array" : je.text);
    }
    rpt_buf b;
    bertc_status s = rpt_open(&b, err);
    if (!s) {
        write_report(b.f, entries, model ? model : "", output_dir ? output_dir : "", start, warnings, n_warnings);
        s = rpt_close(&b, out, len, err);
    }
    json_decref(entries);
    return s;
}
