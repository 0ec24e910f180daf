/*
 * report.c — the evaluation reports as text: JSON (stable keys, documented in README.md), terminal tables,
 * Markdown, one self-contained HTML file with inline SVG charts (confusion-matrix heatmap, ROC, PR and
 * calibration curves) that opens with no network, and the predictions as JSON lines. Rendered into an
 * open_memstream buffer; the CLI writes the text where it is asked to.
 */
#include "report.h"
#include "base/internal.h"
#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ---- */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *interval(bertc_interval iv) {
    if (isnan(iv.lo)) return json_null();
    return json_pack("[oo]", num(iv.lo), num(iv.hi));
}

static json_t *threshold_point(const bertc_threshold_point *t, const char *target_key, double target) {
    json_t *o = json_pack("{s:o,s:o,s:o,s:o}", "threshold", num(t->threshold), "precision", num(t->precision),
                          "recall", num(t->recall), "f1", num(t->f1));
    if (target_key) json_object_set_new(o, target_key, num(target));
    return o;
}

static json_t *metrics_core(const bertc_metrics *m, char **labels) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)m->n));
    json_object_set_new(o, "accuracy", num(m->accuracy));
    json_object_set_new(o, "precision", num(m->precision));
    json_object_set_new(o, "recall", num(m->recall));
    json_object_set_new(o, "f1", num(m->f1));
    json_object_set_new(o, "macro_precision", num(m->macro_precision));
    json_object_set_new(o, "macro_recall", num(m->macro_recall));
    json_object_set_new(o, "macro_f1", num(m->macro_f1));
    json_object_set_new(o, "micro_precision", num(m->micro_precision));
    json_object_set_new(o, "micro_recall", num(m->micro_recall));
    json_object_set_new(o, "micro_f1", num(m->micro_f1));
    json_object_set_new(o, "weighted_precision", num(m->weighted_precision));
    json_object_set_new(o, "weighted_recall", num(m->weighted_recall));
    json_object_set_new(o, "weighted_f1", num(m->weighted_f1));
    json_object_set_new(o, "mcc", num(m->mcc));
    json_object_set_new(o, "balanced_accuracy", num(m->balanced_accuracy));
    json_object_set_new(o, "cohen_kappa", num(m->cohen_kappa));
    json_object_set_new(o, "roc_auc", num(m->roc_auc));
    json_object_set_new(o, "average_precision", num(m->average_precision));
    json_object_set_new(o, "log_loss", num(m->log_loss));
    json_object_set_new(o, "brier", num(m->brier));
    json_object_set_new(o, "ece", num(m->ece));
    json_t *cm = json_array();
    for (int t = 0; t < m->n_labels; t++) {
        json_t *row = json_array();
        for (int p = 0; p < m->n_labels; p++)
            json_array_append_new(row, json_integer(m->confusion[t * m->n_labels + p]));
        json_array_append_new(cm, row);
    }
    json_object_set_new(o, "confusion_matrix", cm);
    json_object_set_new(o, "majority_baseline_accuracy", num(m->majority_baseline_accuracy));
    json_object_set_new(o, "majority_class", json_string(labels[m->majority_class]));
    return o;
}

static json_t *report_json(const bertc_eval_report *r) {
    const bertc_metrics *m = r->m;
    json_t *o = metrics_core(m, r->labels);
    json_t *labels = json_array();
    for (int k = 0; k < r->n_labels; k++) json_array_append_new(labels, json_string(r->labels[k]));
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "positive_label", m->positive >= 0 ? json_string(r->labels[m->positive]) : json_null());
    json_object_set_new(o, "threshold", num(r->threshold));
    if (r->threshold_from)
        json_object_set_new(o, "threshold_from", json_pack("{s:s,s:I,s:o}", "data", r->threshold_from, "n",
                                                           (json_int_t)r->threshold_from_n, "best_f1",
                                                           num(r->threshold_from_f1)));
    json_t *pc = json_object();
    for (int k = 0; k < r->n_labels; k++) {
        const bertc_class_metrics *c = &m->per_class[k];
        json_object_set_new(pc, r->labels[k],
                            json_pack("{s:o,s:o,s:o,s:I,s:I}", "precision", num(c->precision), "recall", num(c->recall),
                                      "f1", num(c->f1), "support", (json_int_t)c->support, "predicted",
                                      (json_int_t)c->predicted));
    }
    json_object_set_new(o, "per_class", pc);
    if (m->positive >= 0 && !isnan(m->roc_auc)) {
        json_object_set_new(o, "thresholds",
                            json_pack("{s:o,s:o,s:o,s:s}", "best_f1", threshold_point(&m->best_f1, NULL, 0),
                                      "for_precision", threshold_point(&m->for_precision, "min_precision", m->min_precision),
                                      "for_recall", threshold_point(&m->for_recall, "min_recall", m->min_recall),
                                      "chosen_on", "this data: applying them here leaks the test set; choose them on a "
                                      "validation split (--threshold-from)"));
    }
    if (m->n_calibration) {
        json_t *cal = json_array();
        for (int b = 0; b < m->n_calibration; b++) {
            const bertc_calibration_bin *cb = &m->calibration[b];
            json_array_append_new(cal, json_pack("{s:o,s:o,s:I,s:o,s:o}", "lo", num(cb->lo), "hi", num(cb->hi), "count",
                                                 (json_int_t)cb->count, "confidence", num(cb->confidence), "accuracy",
                                                 num(cb->accuracy)));
        }
        json_object_set_new(o, "calibration", cal);
    }
    json_t *ci = json_object();
    json_object_set_new(ci, "level", json_real(0.95));
    json_object_set_new(ci, "method", json_string("percentile bootstrap"));
    json_object_set_new(ci, "resamples", json_integer(m->bootstrap));
    json_object_set_new(ci, "seed", json_integer((json_int_t)m->seed));
    json_object_set_new(ci, "accuracy", interval(m->ci_accuracy));
    json_object_set_new(ci, "f1", interval(m->ci_f1));
    json_object_set_new(ci, "macro_f1", interval(m->ci_macro_f1));
    json_object_set_new(ci, "mcc", interval(m->ci_mcc));
    json_object_set_new(ci, "balanced_accuracy", interval(m->ci_balanced_accuracy));
    json_object_set_new(ci, "roc_auc", interval(m->ci_roc_auc));
    json_object_set_new(o, "confidence_intervals", ci);
    if (r->train) {
        json_t *lk = json_object();
        json_object_set_new(lk, "train", json_string(r->train));
        json_object_set_new(lk, "train_n", json_integer((json_int_t)r->train_n));
        json_object_set_new(lk, "exact", json_integer((json_int_t)r->leak_exact));
        json_object_set_new(lk, "normalized", json_integer((json_int_t)r->leak_normalized));
        json_t *ex = json_array();
        for (int k = 0; k < r->n_leak_idx; k++)
            if (r->texts && r->texts[r->leak_idx[k]]) json_array_append_new(ex, json_string(r->texts[r->leak_idx[k]]));
        json_object_set_new(lk, "examples", ex);
        json_object_set_new(lk, "without_leaked", r->m_clean ? metrics_core(r->m_clean, r->labels) : json_null());
        json_object_set_new(o, "leakage", lk);
        json_t *ov = json_object();
        if (r->m_train) {
            json_object_set_new(ov, "train_sample", json_integer((json_int_t)r->m_train->n));
            json_object_set_new(ov, "train_accuracy", num(r->m_train->accuracy));
            json_object_set_new(ov, "test_accuracy", num(m->accuracy));
            json_object_set_new(ov, "gap", num(r->m_train->accuracy - m->accuracy));
            json_object_set_new(ov, "train_f1", num(r->m_train->f1));
            json_object_set_new(ov, "test_f1", num(m->f1));
        }
        json_object_set_new(o, "overfitting", ov);
        json_t *un = json_array();
        for (int k = 0; k < r->n_unseen; k++) json_array_append_new(un, json_string(r->unseen_labels[k]));
        json_object_set_new(o, "labels_not_in_train", un);
    }
    json_t *w = json_array();
    for (int k = 0; k < m->n_warnings; k++) json_array_append_new(w, json_string(m->warnings[k]));
    json_object_set_new(o, "warnings", w);
    json_object_set_new(o, "model", r->model ? json_string(r->model) : json_null());
    json_object_set_new(o, "data", json_string(r->data));
    if (r->seconds > 0) json_object_set_new(o, "seconds", json_real(r->seconds));
    return o;
}

/* ---- terminal and Markdown ---- */

static void fmt_ci(char *buf, size_t n, bertc_interval iv) {
    if (isnan(iv.lo)) buf[0] = 0;
    else snprintf(buf, n, " [%.4f, %.4f]", iv.lo, iv.hi);
}

static const char *f4(char *buf, double v) {
    if (isnan(v)) return "n/a";
    snprintf(buf, 32, "%.4f", v);
    return buf;
}

static int label_width(const bertc_eval_report *r) {
    int w = 12;
    for (int k = 0; k < r->n_labels; k++)
        if ((int)strlen(r->labels[k]) > w) w = (int)strlen(r->labels[k]);
    return w > 40 ? 40 : w;
}

static void report_terminal(FILE *f, const bertc_eval_report *r) {
    const bertc_metrics *m = r->m;
    char a[32], b[32], c[32], ci[64];
    int w = label_width(r);
    fprintf(f, "\n%s%s%s — %zu examples\n\n", r->model ? r->model : "", r->model ? " on " : "", r->data, m->n);
    fprintf(f, "%-*s %9s %9s %9s %9s\n", w, "", "precision", "recall", "f1", "support");
    for (int k = 0; k < r->n_labels; k++) {
        const bertc_class_metrics *pc = &m->per_class[k];
        fprintf(f, "%-*.*s %9.4f %9.4f %9.4f %9ld\n", w, w, r->labels[k], pc->precision, pc->recall, pc->f1,
                pc->support);
    }
    fprintf(f, "%-*s %9.4f %9.4f %9.4f %9zu\n", w, "macro avg", m->macro_precision, m->macro_recall, m->macro_f1, m->n);
    fprintf(f, "%-*s %9.4f %9.4f %9.4f %9zu\n\n", w, "weighted avg", m->weighted_precision, m->weighted_recall,
            m->weighted_f1, m->n);
    fmt_ci(ci, sizeof ci, m->ci_accuracy);
    fprintf(f, "accuracy            %.4f%s   (majority baseline %.4f: always '%s')\n", m->accuracy, ci,
            m->majority_baseline_accuracy, r->labels[m->majority_class]);
    fmt_ci(ci, sizeof ci, m->ci_f1);
    if (m->positive >= 0)
        fprintf(f, "f1 (%s)%*s%.4f%s   precision %.4f  recall %.4f\n", r->labels[m->positive],
                (int)(14 - strlen(r->labels[m->positive]) > 0 ? 14 - (int)strlen(r->labels[m->positive]) : 1), "",
                m->f1, ci, m->precision, m->recall);
    fmt_ci(ci, sizeof ci, m->ci_macro_f1);
    fprintf(f, "macro f1            %.4f%s\n", m->macro_f1, ci);
    fmt_ci(ci, sizeof ci, m->ci_mcc);
    fprintf(f, "mcc                 %.4f%s\n", m->mcc, ci);
    fmt_ci(ci, sizeof ci, m->ci_balanced_accuracy);
    fprintf(f, "balanced accuracy   %.4f%s\n", m->balanced_accuracy, ci);
    fprintf(f, "cohen kappa         %s\n", f4(a, m->cohen_kappa));
    if (!isnan(m->log_loss)) {
        fmt_ci(ci, sizeof ci, m->ci_roc_auc);
        fprintf(f, "roc auc             %s%s\n", f4(a, m->roc_auc), ci);
        fprintf(f, "average precision   %s\n", f4(a, m->average_precision));
        fprintf(f, "log loss %s   brier %s   ece %s\n", f4(a, m->log_loss), f4(b, m->brier), f4(c, m->ece));
    }
    if (m->bootstrap) fprintf(f, "[intervals: 95%% percentile bootstrap, %d resamples, seed %llu]\n", m->bootstrap,
                              (unsigned long long)m->seed);
    fprintf(f, "\nconfusion matrix (rows = true, columns = predicted)\n%-*s", w, "");
    for (int p = 0; p < r->n_labels; p++) fprintf(f, " %10.10s", r->labels[p]);
    fputc('\n', f);
    for (int t = 0; t < r->n_labels; t++) {
        fprintf(f, "%-*.*s", w, w, r->labels[t]);
        for (int p = 0; p < r->n_labels; p++) fprintf(f, " %10ld", m->confusion[t * r->n_labels + p]);
        fputc('\n', f);
    }
    if (!isnan(r->threshold) && m->positive >= 0) {
        fprintf(f, "\npredicted %s where P(%s) >= %.4f", r->labels[m->positive], r->labels[m->positive], r->threshold);
        if (r->threshold_from)
            fprintf(f, ", chosen on %s (best F1 there %.4f, %zu examples)", r->threshold_from, r->threshold_from_f1,
                    r->threshold_from_n);
        fputc('\n', f);
    }
    if (m->positive >= 0 && !isnan(m->best_f1.threshold)) {
        fprintf(f, "\nthresholds on P(%s) chosen on this data (to apply elsewhere; here they would leak the test set: "
                "choose with --threshold-from VALIDATION)\n  best f1 %.4f at %.4f", r->labels[m->positive],
                m->best_f1.f1, m->best_f1.threshold);
        if (!isnan(m->for_precision.threshold))
            fprintf(f, "; precision >= %.2f from %.4f (recall %.4f)", m->min_precision, m->for_precision.threshold,
                    m->for_precision.recall);
        if (!isnan(m->for_recall.threshold))
            fprintf(f, "; recall >= %.2f up to %.4f (precision %.4f)", m->min_recall, m->for_recall.threshold,
                    m->for_recall.precision);
        fputc('\n', f);
    }
    if (r->m_train)
        fprintf(f, "train sample accuracy %.4f vs test %.4f (gap %+.4f)\n", r->m_train->accuracy, m->accuracy,
                r->m_train->accuracy - m->accuracy);
    if (r->train) fprintf(f, "leakage: %zu exact, %zu normalized duplicates of train in test\n", r->leak_exact,
                          r->leak_normalized);
    if (m->n_warnings) {
        fputs("\nwarnings:\n", f);
        for (int k = 0; k < m->n_warnings; k++) fprintf(f, "  ! %s\n", m->warnings[k]);
    }
    fputc('\n', f);
}

static void md_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void report_markdown(FILE *f, const bertc_eval_report *r) {
    const bertc_metrics *m = r->m;
    char a[32], ci[64];
    fprintf(f, "# bertc %s: ", r->command);
    if (r->model) md_escape(f, r->model), fputs(" on ", f);
    md_escape(f, r->data);
    fprintf(f, "\n\n%zu examples, %d labels.\n\n| metric | value | 95%% interval |\n|---|---:|---|\n", m->n,
            r->n_labels);
    struct {
        const char *name;
        double v;
        bertc_interval iv;
    } rows[] = {{"accuracy", m->accuracy, m->ci_accuracy},
                {"majority baseline accuracy", m->majority_baseline_accuracy, {NAN, NAN}},
                {m->positive >= 0 ? "f1 (positive class)" : "f1 (macro)", m->f1, m->ci_f1},
                {"precision", m->precision, {NAN, NAN}},
                {"recall", m->recall, {NAN, NAN}},
                {"macro f1", m->macro_f1, m->ci_macro_f1},
                {"weighted f1", m->weighted_f1, {NAN, NAN}},
                {"mcc", m->mcc, m->ci_mcc},
                {"balanced accuracy", m->balanced_accuracy, m->ci_balanced_accuracy},
                {"cohen kappa", m->cohen_kappa, {NAN, NAN}},
                {"roc auc", m->roc_auc, m->ci_roc_auc},
                {"average precision", m->average_precision, {NAN, NAN}},
                {"log loss", m->log_loss, {NAN, NAN}},
                {"brier", m->brier, {NAN, NAN}},
                {"ece", m->ece, {NAN, NAN}}};
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) {
        fmt_ci(ci, sizeof ci, rows[k].iv);
        fprintf(f, "| %s | %s | %s |\n", rows[k].name, f4(a, rows[k].v), ci);
    }
    fputs("\n## Per class\n\n| label | precision | recall | f1 | support |\n|---|---:|---:|---:|---:|\n", f);
    for (int k = 0; k < r->n_labels; k++) {
        const bertc_class_metrics *pc = &m->per_class[k];
        fputs("| ", f);
        md_escape(f, r->labels[k]);
        fprintf(f, " | %.4f | %.4f | %.4f | %ld |\n", pc->precision, pc->recall, pc->f1, pc->support);
    }
    fputs("\n## Confusion matrix (rows = true, columns = predicted)\n\n| |", f);
    for (int p = 0; p < r->n_labels; p++) fputc(' ', f), md_escape(f, r->labels[p]), fputs(" |", f);
    fputs("\n|---|", f);
    for (int p = 0; p < r->n_labels; p++) fputs("---:|", f);
    fputc('\n', f);
    for (int t = 0; t < r->n_labels; t++) {
        fputs("| ", f);
        md_escape(f, r->labels[t]);
        fputs(" |", f);
        for (int p = 0; p < r->n_labels; p++) fprintf(f, " %ld |", m->confusion[t * r->n_labels + p]);
        fputc('\n', f);
    }
    if (m->n_warnings) {
        fputs("\n## Warnings\n\n", f);
        for (int k = 0; k < m->n_warnings; k++) fputs("- ", f), md_escape(f, m->warnings[k]), fputc('\n', f);
    }
}

/* ---- HTML + SVG ---- */

void rpt_html_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void rpt_html_head(FILE *f, const char *title) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    rpt_html_escape(f, title);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;"
          "color:#1a202c;padding:0 16px}\n"
          "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}\n"
          ".sub{color:#4a5568;margin-bottom:16px}\n"
          ".cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #e2e8f0;border-radius:8px;"
          "padding:8px 14px;min-width:120px}\n"
          ".card b{display:block;font-size:20px}.card span{color:#4a5568;font-size:12px}\n"
          ".warn{background:#fffaf0;border:1px solid #ed8936;border-radius:8px;padding:8px 16px}\n"
          ".warn li{margin:4px 0}\n"
          "table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #edf2f7;"
          "text-align:right}td:first-child,th:first-child{text-align:left}\n"
          ".charts{display:flex;flex-wrap:wrap;gap:16px}svg{background:#fff;border:1px solid #e2e8f0;"
          "border-radius:6px}\n"
          "svg text{font:11px system-ui,sans-serif;fill:#2d3748}svg .t{font-size:13px;font-weight:600}\n"
          ".txt{text-align:left;max-width:600px}\n"
          "</style></head><body>\n",
          f);
}

void rpt_html_tail(FILE *f) { fputs("<p class=\"sub\">made by bertc " BERTC_VERSION "</p>\n</body></html>\n", f); }

/* Axes frame for a unit-square chart at (x0, y0) size s; returns nothing, draws grid and labels. */
static void svg_frame(FILE *f, const char *title, const char *xl, const char *yl, double W, double H) {
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    fprintf(f, "<text class=\"t\" x=\"%.0f\" y=\"18\" text-anchor=\"middle\">", W / 2);
    rpt_html_escape(f, title);
    fputs("</text>\n", f);
    double x0 = 50, y0 = 30, w = W - 70, h = H - 75;
    for (int k = 0; k <= 5; k++) {
        double gx = x0 + w * k / 5, gy = y0 + h - h * k / 5;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#edf2f7\"/>", gx, y0, gx, y0 + h);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#edf2f7\"/>\n", x0, gy, x0 + w, gy);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>", gx, y0 + h + 15, k / 5.0);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", x0 - 5, gy + 4, k / 5.0);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#a0aec0\"/>\n", x0,
            y0, w, h);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x0 + w / 2, H - 12, xl);
    fprintf(f, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n", y0 + h / 2, yl);
}

#define CW 360.0
#define CH 320.0
#define PX(x) (50 + (CW - 70) * (x))
#define PY(y) (30 + (CH - 75) * (1 - (y)))

static void svg_polyline(FILE *f, const bertc_curve_point *p, size_t n, const char *color, bool step) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    size_t stride = n > 3000 ? n / 1500 : 1; /* enough points for the eye, a small file */
    double px = NAN, py = NAN;
    for (size_t i = 0; i < n; i += stride) {
        size_t k = i + stride >= n ? n - 1 : i;
        if (isnan(p[k].x) || isnan(p[k].y)) continue;
        if (step && !isnan(px)) fprintf(f, "%.1f,%.1f ", PX(p[k].x), PY(py));
        fprintf(f, "%.1f,%.1f ", PX(p[k].x), PY(p[k].y));
        px = p[k].x, py = p[k].y;
        if (k == n - 1) break;
    }
    fputs("\"/>\n", f);
}

/* A dashed reference line (chance, perfect calibration) between two points of the unit square. */
static void svg_dashed(FILE *f, double x0, double y0, double x1, double y1) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#a0aec0\" stroke-dasharray=\"4 4\"/>\n",
            PX(x0), PY(y0), PX(x1), PY(y1));
}

static void svg_roc(FILE *f, const bertc_metrics *m) {
    char t[64];
    snprintf(t, sizeof t, "ROC curve (AUC %.4f)", m->roc_auc);
    svg_frame(f, t, "false positive rate", "true positive rate", CW, CH);
    svg_dashed(f, 0, 0, 1, 1);
    svg_polyline(f, m->roc, m->n_roc, "#2b6cb0", false);
    fputs("</svg>\n", f);
}

static void svg_pr(FILE *f, const bertc_metrics *m) {
    char t[64];
    snprintf(t, sizeof t, "Precision-recall (AP %.4f)", m->average_precision);
    svg_frame(f, t, "recall", "precision", CW, CH);
    double prev = (double)m->per_class[m->positive].support / m->n;
    svg_dashed(f, 0, prev, 1, prev);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">chance (%.2f)</text>\n", PX(1) - 4, PY(prev) - 4, prev);
    svg_polyline(f, m->pr, m->n_pr, "#c05621", true);
    fputs("</svg>\n", f);
}

static void svg_calibration(FILE *f, const bertc_metrics *m) {
    char t[64];
    snprintf(t, sizeof t, "Calibration (ECE %.4f)", m->ece);
    svg_frame(f, t, "confidence (max probability)", "accuracy", CW, CH);
    svg_dashed(f, 0, 0, 1, 1);
    long maxc = 1;
    for (int b = 0; b < m->n_calibration; b++)
        if (m->calibration[b].count > maxc) maxc = m->calibration[b].count;
    for (int b = 0; b < m->n_calibration; b++) {
        const bertc_calibration_bin *cb = &m->calibration[b];
        double bw = PX(cb->hi) - PX(cb->lo);
        /* histogram of counts (light) and accuracy per bin (bars) */
        double hh = 0.25 * cb->count / maxc;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#e2e8f0\"/>\n", PX(cb->lo) + 1,
                PY(hh), bw - 2, PY(0) - PY(hh));
        if (!cb->count) continue;
        /* a bin of 4 examples is not drawn as solid as one of 775: opacity follows the count, which is written on top */
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2b6cb0\" fill-opacity=\"%.2f\">"
                   "<title>%.2f–%.2f: %ld examples, accuracy %.3f, confidence %.3f</title></rect>\n",
                PX(cb->lo) + 2, PY(cb->accuracy), bw - 4, PY(0) - PY(cb->accuracy),
                0.15 + 0.7 * (double)cb->count / (double)maxc, cb->lo, cb->hi, cb->count, cb->accuracy, cb->confidence);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\">%ld</text>\n",
                PX(cb->lo) + bw / 2, PY(cb->accuracy) - 3, cb->count);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#c05621\"/>\n", PX(cb->confidence), PY(cb->confidence));
    }
    /* the legend, inside the frame's upper left where confidence is low and no bin usually is */
    double lx = PX(0) + 6, ly = PY(1) + 12;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"8\" fill=\"#2b6cb0\" fill-opacity=\"0.75\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">accuracy per bin (number above: examples)</text>\n"
               "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#c05621\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">mean confidence in the bin</text>\n"
               "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"8\" fill=\"#e2e8f0\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">share of examples (histogram)</text>\n"
               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#a0aec0\" stroke-dasharray=\"4 4\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">perfect calibration</text>\n",
            lx, ly - 8, lx + 14, ly, lx + 5, ly + 10, lx + 14, ly + 14, lx, ly + 20, lx + 14, ly + 28, lx, ly + 38, lx + 10,
            ly + 38, lx + 14, ly + 42);
    fputs("</svg>\n", f);
}

static void svg_confusion(FILE *f, const bertc_eval_report *r) {
    const bertc_metrics *m = r->m;
    int L = r->n_labels;
    double cell = L <= 4 ? 90 : L <= 10 ? 48 : 24, left = 130, top = 50;
    double W = left + cell * L + 20, H = top + cell * L + 50;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    fprintf(f, "<text class=\"t\" x=\"%.0f\" y=\"18\" text-anchor=\"middle\">Confusion matrix (row-normalized)</text>\n",
            W / 2);
    fprintf(f, "<text x=\"%.0f\" y=\"38\" text-anchor=\"middle\">predicted</text>\n", left + cell * L / 2);
    fprintf(f, "<text transform=\"translate(12 %.0f) rotate(-90)\" text-anchor=\"middle\">true</text>\n",
            top + cell * L / 2);
    for (int t = 0; t < L; t++) {
        long row = 0;
        for (int p = 0; p < L; p++) row += m->confusion[t * L + p];
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", left - 6, top + cell * t + cell / 2 + 4);
        rpt_html_escape(f, r->labels[t]);
        fputs("</text>\n", f);
        for (int p = 0; p < L; p++) {
            long v = m->confusion[t * L + p];
            double frac = row ? (double)v / row : 0;
            int cr = (int)(255 - frac * (255 - 43)), cg = (int)(255 - frac * (255 - 108)), cb = (int)(255 - frac * (255 - 176));
            fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"rgb(%d,%d,%d)\" "
                       "stroke=\"#fff\"><title>true ",
                    left + cell * p, top + cell * t, cell, cell, cr, cg, cb);
            rpt_html_escape(f, r->labels[t]);
            fputs(", predicted ", f);
            rpt_html_escape(f, r->labels[p]);
            fprintf(f, ": %ld (%.1f%% of the row)</title></rect>\n", v, 100 * frac);
            if (cell >= 40)
                fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" style=\"fill:%s;font-size:%s\">%ld"
                           "<tspan x=\"%.0f\" dy=\"15\" style=\"font-size:10px\">%.1f%%</tspan></text>\n",
                        left + cell * p + cell / 2, top + cell * t + cell / 2, frac > 0.5 ? "#fff" : "#1a202c",
                        cell >= 80 ? "15px" : "11px", v, left + cell * p + cell / 2, 100 * frac);
        }
    }
    for (int p = 0; p < L; p++) {
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", left + cell * p + cell / 2,
                top + cell * L + 16);
        rpt_html_escape(f, r->labels[p]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

void rpt_svg_bars(FILE *f, const char *title, const char *const *names, const double *values, int n, double mean) {
    double left = 170, barw = 360, row = 20, top = 40;
    double W = left + barw + 80, H = top + row * n + 60;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    fprintf(f, "<text class=\"t\" x=\"%.0f\" y=\"20\" text-anchor=\"middle\">", W / 2);
    rpt_html_escape(f, title);
    fputs("</text>\n", f);
    for (int k = 0; k <= 4; k++) {
        double x = left + barw * k / 4;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#edf2f7\"/>"
                   "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.2f</text>\n",
                x, top - 4, x, top + row * n, x, top + row * n + 14, k / 4.0);
    }
    for (int i = 0; i < n; i++) {
        double y = top + row * i, v = values[i];
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", left - 6, y + row * 0.7);
        rpt_html_escape(f, names[i]);
        fprintf(f, "</text><rect x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\">%.3f</text>\n",
                left, y + 3, barw * v, row - 6, v >= mean ? "#2f855a" : "#c53030", left + barw * v + 4, y + row * 0.7, v);
    }
    double mx = left + barw * mean;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#1a202c\" stroke-dasharray=\"4 3\"/>"
               "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">mean %.3f</text>\n",
            mx, top - 4, mx, top + row * n, mx, top + row * n + 28, mean);
    /* the legend: what the two colours mean */
    double ly = top + row * n + 34;
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"#2f855a\"/>"
               "<text x=\"%.0f\" y=\"%.0f\">at or above the mean</text>"
               "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"#c53030\"/>"
               "<text x=\"%.0f\" y=\"%.0f\">below the mean</text>\n",
            left - 160, ly - 9, left - 146, ly, left - 160, ly + 7, left - 146, ly + 16);
    fputs("</svg>\n", f);
}

static void card(FILE *f, const char *name, double v, bertc_interval iv) {
    if (isnan(v)) fputs("<div class=\"card\"><b>n/a</b><span>", f);
    else fprintf(f, "<div class=\"card\"><b>%.4f</b><span>", v);
    fputs(name, f);
    if (!isnan(iv.lo)) fprintf(f, "<br>95%%: %.4f – %.4f", iv.lo, iv.hi);
    fputs("</span></div>\n", f);
}

/* The most confident mistakes: what a practitioner reads first. */
static void mistakes(FILE *f, const bertc_eval_report *r) {
    if (!r->scores || !r->texts) return;
    int L = r->n_labels, shown = 0;
    size_t best[10];
    for (int k = 0; k < 10; k++) {
        size_t arg = (size_t)-1;
        double bv = -1;
        for (size_t i = 0; i < r->n; i++) {
            if (r->gold[i] == r->pred[i] || !r->texts[i]) continue;
            double v = r->scores[i * L + r->pred[i]];
            int used = 0;
            for (int q = 0; q < shown; q++) used |= best[q] == i;
            if (!used && v > bv) bv = v, arg = i;
        }
        if (arg == (size_t)-1) break;
        best[shown++] = arg;
    }
    if (!shown) return;
    fputs("<h2>Most confident mistakes</h2>\n<table><tr><th>text</th><th>true</th><th>predicted</th><th>score</th></tr>\n",
          f);
    for (int k = 0; k < shown; k++) {
        size_t i = best[k];
        fputs("<tr><td class=\"txt\">", f);
        rpt_html_escape(f, r->texts[i]);
        fputs("</td><td>", f);
        rpt_html_escape(f, r->labels[r->gold[i]]);
        fputs("</td><td>", f);
        rpt_html_escape(f, r->labels[r->pred[i]]);
        fprintf(f, "</td><td>%.4f</td></tr>\n", r->scores[i * L + r->pred[i]]);
    }
    fputs("</table>\n", f);
}

static void report_html(FILE *f, const bertc_eval_report *r) {
    const bertc_metrics *m = r->m;
    bertc_interval none = {NAN, NAN};
    rpt_html_head(f, "bertc evaluation report");
    fprintf(f, "<h1>bertc %s</h1>\n<div class=\"sub\">", r->command);
    if (r->model) rpt_html_escape(f, r->model), fputs(" on ", f);
    rpt_html_escape(f, r->data);
    fprintf(f, " — %zu examples, %d labels", m->n, r->n_labels);
    if (m->positive >= 0) fputs(", positive class ", f), rpt_html_escape(f, r->labels[m->positive]);
    if (!isnan(r->threshold)) fprintf(f, ", threshold %.4f", r->threshold);
    if (r->threshold_from) {
        fputs(" (chosen on ", f);
        rpt_html_escape(f, r->threshold_from);
        fprintf(f, ", best F1 there %.4f)", r->threshold_from_f1);
    }
    fputs("</div>\n<div class=\"cards\">\n", f);
    card(f, "accuracy", m->accuracy, m->ci_accuracy);
    card(f, "majority baseline", m->majority_baseline_accuracy, none);
    card(f, m->positive >= 0 ? "F1 (positive class)" : "F1 (macro)", m->f1, m->ci_f1);
    card(f, "MCC", m->mcc, m->ci_mcc);
    card(f, "balanced accuracy", m->balanced_accuracy, m->ci_balanced_accuracy);
    card(f, "ROC AUC", m->roc_auc, m->ci_roc_auc);
    card(f, "average precision", m->average_precision, none);
    card(f, "log loss", m->log_loss, none);
    fputs("</div>\n", f);
    if (m->n_warnings) {
        fputs("<h2>Warnings</h2>\n<div class=\"warn\"><ul>\n", f);
        for (int k = 0; k < m->n_warnings; k++) fputs("<li>", f), rpt_html_escape(f, m->warnings[k]), fputs("</li>\n", f);
        fputs("</ul></div>\n", f);
    }
    fputs("<h2>Charts</h2>\n<div class=\"charts\">\n", f);
    svg_confusion(f, r);
    if (m->positive >= 0 && m->n_roc > 1 && !isnan(m->roc_auc)) {
        svg_roc(f, m);
        svg_pr(f, m);
    }
    if (m->n_calibration) svg_calibration(f, m);
    fputs("</div>\n<h2>Per class</h2>\n<table><tr><th>label</th><th>precision</th><th>recall</th><th>f1</th>"
          "<th>support</th><th>predicted</th></tr>\n",
          f);
    for (int k = 0; k < r->n_labels; k++) {
        const bertc_class_metrics *pc = &m->per_class[k];
        fputs("<tr><td>", f);
        rpt_html_escape(f, r->labels[k]);
        fprintf(f, "</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%ld</td><td>%ld</td></tr>\n", pc->precision,
                pc->recall, pc->f1, pc->support, pc->predicted);
    }
    fprintf(f, "<tr><td>macro avg</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%zu</td><td></td></tr>\n",
            m->macro_precision, m->macro_recall, m->macro_f1, m->n);
    fprintf(f, "<tr><td>weighted avg</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%zu</td><td></td></tr>\n</table>\n",
            m->weighted_precision, m->weighted_recall, m->weighted_f1, m->n);
    char a[32], b[32], c[32];
    fprintf(f, "<p>Cohen's kappa %s · Brier %s · ECE %s (%d bins) · micro F1 %.4f · weighted F1 %.4f</p>\n",
            f4(a, m->cohen_kappa), f4(b, m->brier), f4(c, m->ece), m->n_calibration, m->micro_f1, m->weighted_f1);
    if (m->positive >= 0 && !isnan(m->best_f1.threshold)) {
        fputs("<h2>Thresholds</h2>\n<p>Chosen on this data: use them on other data. Applied here they leak the test "
              "set (the figures would be optimistic); choose a threshold on a validation split with "
              "<code>--threshold-from</code>.</p>\n<table><tr><th>choice</th><th>threshold</th><th>precision</th>"
              "<th>recall</th><th>f1</th></tr>\n",
              f);
        const bertc_threshold_point *tp[3] = {&m->best_f1, &m->for_precision, &m->for_recall};
        char names[3][64];
        snprintf(names[0], 64, "best F1");
        snprintf(names[1], 64, "precision &ge; %.2f, most recall", m->min_precision);
        snprintf(names[2], 64, "recall &ge; %.2f, most precision", m->min_recall);
        for (int k = 0; k < 3; k++) {
            char d[4][32];
            fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", names[k],
                    f4(d[0], tp[k]->threshold), f4(d[1], tp[k]->precision), f4(d[2], tp[k]->recall), f4(d[3], tp[k]->f1));
        }
        fputs("</table>\n", f);
    }
    if (r->train) {
        fputs("<h2>Train vs test</h2>\n<p>", f);
        fprintf(f, "Train file ");
        rpt_html_escape(f, r->train);
        fprintf(f, " (%zu examples): %zu test examples appear in train exactly, %zu more after normalization.",
                r->train_n, r->leak_exact, r->leak_normalized);
        if (r->m_clean) fprintf(f, " Without them: accuracy %.4f, F1 %.4f.", r->m_clean->accuracy, r->m_clean->f1);
        if (r->m_train)
            fprintf(f, " Accuracy on a sample of %zu train examples: %.4f (test %.4f, gap %+.4f).", r->m_train->n,
                    r->m_train->accuracy, m->accuracy, r->m_train->accuracy - m->accuracy);
        fputs("</p>\n", f);
        if (r->n_leak_idx) {
            fputs("<ul>\n", f);
            for (int k = 0; k < r->n_leak_idx; k++)
                if (r->texts && r->texts[r->leak_idx[k]])
                    fputs("<li>", f), rpt_html_escape(f, r->texts[r->leak_idx[k]]), fputs("</li>\n", f);
            fputs("</ul>\n", f);
        }
    }
    mistakes(f, r);
    if (m->bootstrap)
        fprintf(f, "<p class=\"sub\">Intervals: 95%% percentile bootstrap, %d resamples, seed %llu. Metrics follow "
                   "scikit-learn's definitions (zero_division=0).</p>\n",
                m->bootstrap, (unsigned long long)m->seed);
    rpt_html_tail(f);
}

/* ---- predictions ---- */

static void report_predictions(FILE *f, const bertc_eval_report *r) {
    for (size_t i = 0; i < r->n; i++) {
        const char *sep = "{";
        if (r->texts && r->texts[i]) {
            fputs("{\"text\": ", f);
            jw_str(f, r->texts[i]);
            sep = ", ";
        }
        if (r->pairs && r->pairs[i]) {
            fprintf(f, "%s\"text_pair\": ", sep);
            jw_str(f, r->pairs[i]);
            sep = ", ";
        }
        fprintf(f, "%s\"gold\": ", sep);
        jw_str(f, r->labels[r->gold[i]]);
        fputs(", \"pred\": ", f);
        jw_str(f, r->labels[r->pred[i]]);
        fputs(", \"scores\": {", f);
        for (int k = 0; k < r->n_labels; k++) {
            if (k) fputs(", ", f);
            jw_str(f, r->labels[k]);
            fputs(": ", f);
            jw_real(f, r->scores[i * r->n_labels + k]);
        }
        fputs("}}\n", f);
    }
}

/* ---- text buffers and JSON pieces ---- */

bertc_status rpt_open(rpt_buf *b, bertc_error *err) {
    b->text = NULL;
    b->len = 0;
    b->f = open_memstream(&b->text, &b->len);
    return b->f ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
}

bertc_status rpt_close(rpt_buf *b, char **out, size_t *len, bertc_error *err) {
    bool ok = !ferror(b->f);
    ok = fclose(b->f) == 0 && ok && b->text;
    if (!ok) {
        free(b->text);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    *out = b->text;
    if (len) *len = b->len;
    return BERTC_OK;
}

bertc_status rpt_json(json_t *j, unsigned since, char **out, size_t *len, bertc_error *err) {
    char *s = jdump(j, JSON_INDENT(1) | JSON_REAL_PRECISION(17), since);
    json_decref(j);
    size_t n = s ? strlen(s) : 0;
    char *t = s ? realloc(s, n + 2) : NULL;
    if (!t) {
        free(s);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    t[n] = '\n';
    t[n + 1] = 0;
    *out = t;
    if (len) *len = n + 1;
    return BERTC_OK;
}

char *rpt_strdup(const char *s) { return s ? strdup(s) : NULL; }

/* ---- the public call ---- */

bertc_status bertc_eval_report_render(const bertc_eval_report *r, bertc_report_format fmt, char **out, size_t *len,
                                      bertc_error *err) {
    if (!r || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_eval_report_render: no report or output");
    *out = NULL;
    if (len) *len = 0;
    if (fmt == BERTC_REPORT_JSON) {
        unsigned jf = jalloc_failures();
        return rpt_json(report_json(r), jf, out, len, err);
    }
    if (fmt == BERTC_REPORT_PREDICTIONS && !r->scores)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "%s has no scores: no predictions to write", r->data);
    if (fmt != BERTC_REPORT_TERMINAL && fmt != BERTC_REPORT_MARKDOWN && fmt != BERTC_REPORT_HTML &&
        fmt != BERTC_REPORT_PREDICTIONS)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "an evaluation report renders as JSON, terminal, Markdown, HTML "
                                                      "or predictions (format %d)", (int)fmt);
    rpt_buf b;
    bertc_status s = rpt_open(&b, err);
    if (s) return s;
    switch (fmt) {
    case BERTC_REPORT_TERMINAL: report_terminal(b.f, r); break;
    case BERTC_REPORT_MARKDOWN: report_markdown(b.f, r); break;
    case BERTC_REPORT_HTML: report_html(b.f, r); break;
    default: report_predictions(b.f, r); break;
    }
    return rpt_close(&b, out, len, err);
}
