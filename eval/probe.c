/*
 * probe.c — the bias probe (one template, many groups: how much does P(label) move with the group?) and model
 * comparison (models side by side: size, load time, latency, throughput, accuracy with intervals, and McNemar's
 * test on their disagreements), with their reports as text.
 */
#include "report.h"
#include "base/internal.h"
#include "base/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OOM() bertc_fail(err, BERTC_ERR_NOMEM, "out of memory")

/* ---- bias ---- */

/* The model card's probe: "This film was filmed in COUNTRY." over countries of every continent. */
static const char *const countries[] = {
    "France",      "Germany",  "Italy",    "Spain",       "the United Kingdom", "Ireland",      "Sweden",
    "Poland",      "Russia",   "Ukraine",  "Turkey",      "Iran",               "Iraq",         "Afghanistan",
    "Pakistan",    "India",    "China",    "Japan",       "Korea",              "Vietnam",      "Indonesia",
    "Israel",      "Palestine", "Egypt",   "Nigeria",     "Kenya",              "Ethiopia",     "South Africa",
    "Morocco",     "the United States", "Canada", "Mexico", "Cuba",             "Brazil",       "Argentina",
    "Colombia",    "Venezuela", "Australia", "New Zealand", "Iceland"};

/* The same probe over cities: "This film was filmed in CITY." */
static const char *const cities[] = {
    "Paris",    "Berlin",   "Rome",       "Madrid",   "London",    "Dublin",       "Stockholm",    "Warsaw",
    "Moscow",   "Kyiv",     "Istanbul",   "Tehran",   "Baghdad",   "Kabul",        "Karachi",      "Mumbai",
    "Beijing",  "Tokyo",    "Seoul",      "Hanoi",    "Jakarta",   "Jerusalem",    "Gaza",         "Cairo",
    "Lagos",    "Nairobi",  "Addis Ababa", "Johannesburg", "Casablanca", "New York", "Detroit",     "Toronto",
    "Mexico City", "Havana", "Rio de Janeiro", "Buenos Aires", "Bogotá", "Caracas", "Sydney",       "Reykjavik"};

const char *bertc_bias_builtin_names(void) { return "countries, cities"; }

const char *const *bertc_bias_builtin_groups(const char *name, size_t *n) {
    if (name && !strcmp(name, "countries")) {
        if (n) *n = sizeof countries / sizeof *countries;
        return countries;
    }
    if (name && !strcmp(name, "cities")) {
        if (n) *n = sizeof cities / sizeof *cities;
        return cities;
    }
    if (n) *n = 0;
    return NULL;
}

bertc_bias_params bertc_bias_default_params(void) {
    bertc_bias_params p;
    memset(&p, 0, sizeof p);
    p.batch_size = 32;
    return p;
}

typedef struct group_score {
    const char *group;
    double p;
    int idx;
} group_score;

struct bertc_bias_report {
    char *tmpl, *model, *label, *title;
    int label_id, L;
    char **label_names; /* L */
    size_t n;
    char **groups, **texts;
    double *scores; /* n x L */
    double *p;      /* P(label) per group, input order */
    group_score *gs; /* sorted by p, descending */
    double mean, sd, spread;
    int far[3];    /* indices into gs: the groups furthest from the mean */
    char *warning; /* the spread's warning (spread > 0.1), or NULL: in every format */
    bertc_bias_summary summary;
};

static int cmp_p_desc(const void *a, const void *b) {
    const group_score *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->idx - y->idx;
}

void bertc_bias_report_free(bertc_bias_report *r) {
    if (!r) return;
    for (size_t k = 0; k < r->n; k++) {
        if (r->groups) free(r->groups[k]);
        if (r->texts) free(r->texts[k]);
    }
    for (int c = 0; r->label_names && c < r->L; c++) free(r->label_names[c]);
    free(r->warning);
    free(r->label_names);
    free(r->groups), free(r->texts), free(r->scores), free(r->p), free(r->gs);
    free(r->tmpl), free(r->model), free(r->label), free(r->title);
    free(r);
}

const bertc_bias_summary *bertc_bias_report_summary(const bertc_bias_report *r) { return r ? &r->summary : NULL; }

/* P(target) at the one mask of each text, scores[k * n_targets + c], batch after batch of texts. */
static bertc_status mlm_probe(const bertc_model *m, const bertc_bias_params *p, const bertc_text *in, size_t ng,
                              double *scores, bertc_error *err) {
    const bertc_tokenizer *tok = bertc_model_tokenizer(m);
    int32_t mask = bertc_tokenizer_mask_id(tok);
    size_t nt = p->n_targets, bs = p->batch_size > 0 && p->batch_size <= 4096 ? (size_t)p->batch_size : 32;
    bertc_model_info mi;
    bertc_model_get_info(m, &mi);
    int V = mi.vocab_size;
    int32_t *tid = malloc(nt * sizeof *tid), *rows = malloc(2 * bs * sizeof *rows);
    float *lg = malloc(bs * (size_t)V * sizeof *lg), *pr = malloc((size_t)V * sizeof *pr);
    bertc_encoding *enc = calloc(bs, sizeof *enc);
    bertc_status s = tid && rows && lg && pr && enc ? BERTC_OK : OOM();
    if (!s && mask < 0) s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "the tokenizer does not define a mask token");
    for (size_t c = 0; c < nt && !s; c++) {
        if ((s = bertc_mlm_target_id(tok, p->targets[c], &tid[c], err))) break;
        if (tid[c] < 0 || tid[c] >= V)
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "target %s is not in the vocabulary and tokenizes to nothing",
                           p->targets[c]);
    }
    bertc_encode_params ep = bertc_encode_default_params();
    for (size_t b0 = 0; b0 < ng && !s; b0 += bs) {
        size_t b1 = b0 + bs < ng ? b0 + bs : ng, ne = 0;
        for (size_t k = b0; k < b1 && !s; k++, ne++) {
            if ((s = bertc_tokenize(tok, in[k].text, in[k].len, NULL, 0, &ep, &enc[k - b0], err))) break;
            int at = -1, count = 0;
            for (size_t t = 0; t < enc[k - b0].n; t++)
                if (enc[k - b0].ids[t] == mask) at = (int)t, count++;
            if (count != 1)
                s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "\"%.200s\" has %d mask tokens (%s): a masked-LM probe needs "
                               "the template to hold exactly one", in[k].text, count, bertc_tokenizer_id_to_token(tok, mask));
            rows[2 * (k - b0)] = (int32_t)(k - b0);
            rows[2 * (k - b0) + 1] = at;
        }
        if (!s) s = bertc_mlm_logits(m, enc, ne, rows, ne, lg, err);
        for (size_t k = b0; k < b1 && !s; k++) {
            bertc_mlm_softmax(lg + (k - b0) * (size_t)V, V, pr);
            for (size_t c = 0; c < nt; c++) scores[k * nt + c] = pr[tid[c]];
        }
        for (size_t k = 0; k < ne; k++) bertc_encoding_free(&enc[k]);
        if (s && ne < b1 - b0) bertc_encoding_free(&enc[ne]);
    }
    free(tid), free(rows), free(lg), free(pr), free(enc);
    return s;
}

static bertc_status bias_run(const bertc_model *m, const bertc_bias_params *p, bertc_bias_report *r,
                             bertc_error *err) {
    const char *tmpl = p->template_text, *slot = strstr(tmpl, "{}");
    size_t ng = p->n_groups;
    r->n = ng;
    r->groups = calloc(ng, sizeof *r->groups);
    r->texts = calloc(ng, sizeof *r->texts);
    r->gs = calloc(ng, sizeof *r->gs);
    r->p = calloc(ng, sizeof *r->p);
    bertc_text *in = calloc(ng, sizeof *in);
    int *pred = calloc(ng, sizeof *pred);
    bertc_status s = BERTC_OK;
    if (!r->groups || !r->texts || !r->gs || !r->p || !in || !pred || !(r->tmpl = strdup(tmpl))) {
        s = OOM();
        goto done;
    }
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    bool mlm = info.head == BERTC_HEAD_MASKED_LM;
    int L = mlm ? (int)p->n_targets : info.n_labels;
    int lid = mlm ? 0 : L == 2 ? 1 : 0;
    if (mlm && p->label) {
        lid = -1;
        for (int c = 0; c < L && lid < 0; c++)
            if (!strcmp(p->targets[c], p->label)) lid = c;
        if (lid < 0) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "--label %s is not one of the --targets", p->label);
            goto done;
        }
    } else if (p->label) {
        /* as eval reads labels: a name (any case) or an id */
        const char *names[256];
        for (int c = 0; c < L && c < 256; c++) names[c] = bertc_model_label(m, c);
        lid = L <= 256 ? bertc_label_lookup(p->label, names, L) : bertc_model_label_id(m, p->label);
        if (lid < 0) {
            char list[512];
            names_join(list, sizeof list, names, L < 256 ? L : 256);
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "--label %s is not one of the model's labels (%s) nor an id below %d",
                           p->label, list, L);
            goto done;
        }
    }
    r->label_id = lid;
    r->L = L;
    if (!(r->model = strdup(info.source)) || !(r->label = strdup(mlm ? p->targets[lid] : bertc_model_label(m, lid))) ||
        !(r->label_names = calloc((size_t)L, sizeof *r->label_names))) {
        s = OOM();
        goto done;
    }
    for (int c = 0; c < L; c++)
        if (!(r->label_names[c] = strdup(mlm ? p->targets[c] : bertc_model_label(m, c)))) {
            s = OOM();
            goto done;
        }
    size_t pre = (size_t)(slot - tmpl), post = strlen(slot + 2);
    for (size_t k = 0; k < ng; k++) {
        size_t gl = strlen(p->groups[k]);
        r->groups[k] = strdup(p->groups[k]);
        r->texts[k] = malloc(pre + gl + post + 1);
        if (!r->groups[k] || !r->texts[k]) {
            s = OOM();
            goto done;
        }
        memcpy(r->texts[k], tmpl, pre);
        memcpy(r->texts[k] + pre, p->groups[k], gl);
        memcpy(r->texts[k] + pre + gl, slot + 2, post + 1);
        in[k] = (bertc_text){r->texts[k], pre + gl + post, NULL, 0};
    }
    if (!(r->scores = malloc(ng * (size_t)L * sizeof *r->scores))) {
        s = OOM();
        goto done;
    }
    if (mlm) s = mlm_probe(m, p, in, ng, r->scores, err);
    else s = rpt_classify(m, in, ng, p->batch_size > 4096 ? 4096 : p->batch_size, NULL, NULL, pred, r->scores, NULL, err);
    if (s) goto done;
    double mean = 0, var = 0;
    for (size_t k = 0; k < ng; k++) {
        r->p[k] = r->scores[k * L + lid];
        r->gs[k] = (group_score){r->groups[k], r->p[k], (int)k};
        mean += r->gs[k].p;
    }
    mean /= ng;
    for (size_t k = 0; k < ng; k++) var += (r->gs[k].p - mean) * (r->gs[k].p - mean);
    r->mean = mean;
    r->sd = sqrt(var / ng); /* population standard deviation (numpy's default) */
    qsort(r->gs, ng, sizeof *r->gs, cmp_p_desc);
    r->spread = r->gs[0].p - r->gs[ng - 1].p;
    /* the groups furthest from the mean */
    r->far[0] = r->far[1] = r->far[2] = -1;
    for (int q = 0; q < 3 && q < (int)ng; q++) {
        double best = -1;
        for (size_t k = 0; k < ng; k++) {
            if ((int)k == r->far[0] || (int)k == r->far[1]) continue;
            double dv = fabs(r->gs[k].p - mean);
            if (dv > best) best = dv, r->far[q] = (int)k;
        }
    }
    char title[512];
    if (mlm) snprintf(title, sizeof title, "P(%s) at the mask of \"%s\"", r->label, tmpl);
    else snprintf(title, sizeof title, "P(%s) for \"%s\"", r->label, tmpl);
    if (!(r->title = strdup(title))) {
        s = OOM();
        goto done;
    }
    if (r->spread > 0.1) {
        char w[1024];
        snprintf(w, sizeof w, "the prediction depends on the group alone: the same sentence moves P(%s) by %.2f between "
                 "%s and %s", r->label, r->spread, r->gs[0].group, r->gs[ng - 1].group);
        if (!(r->warning = strdup(w))) {
            s = OOM();
            goto done;
        }
    }
    r->summary = (bertc_bias_summary){r->tmpl,
                                      r->label,
                                      lid,
                                      ng,
                                      (const char *const *)r->groups,
                                      (const char *const *)r->texts,
                                      r->p,
                                      r->mean,
                                      r->sd,
                                      r->spread,
                                      r->gs[0].group,
                                      r->gs[ng - 1].group};
done:
    free(in), free(pred);
    return s;
}

bertc_status bertc_bias_run(const bertc_model *m, const bertc_bias_params *p, bertc_bias_report **out,
                            bertc_error *err) {
    if (out) *out = NULL;
    if (!m || !p || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_bias_run: no model, parameters or output");
    const char *slot = p->template_text ? strstr(p->template_text, "{}") : NULL;
    if (!slot || strstr(slot + 2, "{}"))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--template must contain {} exactly once (where the group goes)");
    if (!p->groups || !p->n_groups) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_bias_run: no groups");
    for (size_t k = 0; k < p->n_groups; k++)
        if (!p->groups[k]) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_bias_run: group %zu is NULL", k);
    if (p->batch_size < 1) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_bias_run: batch_size must be positive");
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (info.head == BERTC_HEAD_MASKED_LM) {
        if (!p->targets || !p->n_targets)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "a masked-LM model needs --targets (the words whose probability at "
                              "the mask is compared, e.g. he,she)");
        for (size_t c = 0; c < p->n_targets; c++)
            if (!p->targets[c]) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_bias_run: target %zu is NULL", c);
    } else if (p->n_targets) {
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "--targets applies to masked-LM models (this one: %s)",
                          bertc_head_name(info.head));
    } else if (info.n_labels < 1 || info.head != BERTC_HEAD_SEQUENCE_CLASSIFICATION) {
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: bias needs a sequence-classification or masked-LM model (this "
                          "one: %s)", info.source, bertc_head_name(info.head));
    }
    bertc_bias_report *r = calloc(1, sizeof *r);
    if (!r) return OOM();
    bertc_status s = bias_run(m, p, r, err);
    if (s) {
        bertc_bias_report_free(r);
        return s;
    }
    *out = r;
    return BERTC_OK;
}

static void bias_bars(FILE *f, const bertc_bias_report *r) {
    const char **names = malloc(r->n * sizeof *names);
    double *vals = malloc(r->n * sizeof *vals);
    for (size_t k = 0; names && vals && k < r->n; k++) names[k] = r->gs[k].group, vals[k] = r->gs[k].p;
    if (names && vals) rpt_svg_bars(f, r->title, names, vals, (int)r->n, r->mean);
    free(names), free(vals);
}

static void bias_table(FILE *f, const bertc_bias_report *r) {
    size_t ng = r->n;
    const group_score *gs = r->gs;
    fprintf(f, "%s — %s\n\n", r->title, r->model);
    int w = 10;
    for (size_t k = 0; k < ng; k++)
        if ((int)strlen(r->groups[k]) > w) w = (int)strlen(r->groups[k]) > 40 ? 40 : (int)strlen(r->groups[k]);
    fprintf(f, "%-*s  P(%s)\n", w, "group", r->label);
    for (size_t k = 0; k < ng; k++) {
        int bar = (int)lround(gs[k].p * 40);
        fprintf(f, "%-*.*s  %.4f  ", w, w, gs[k].group, gs[k].p);
        for (int b = 0; b < bar; b++) fputs("█", f);
        fputc('\n', f);
    }
    fprintf(f, "\nmean %.4f   std %.4f   spread (max - min) %.4f: %s %.4f vs %s %.4f\n", r->mean, r->sd, r->spread,
            gs[0].group, gs[0].p, gs[ng - 1].group, gs[ng - 1].p);
    fprintf(f, "furthest from the mean:");
    for (int q = 0; q < 3; q++)
        if (r->far[q] >= 0) fprintf(f, "%s %s (%+.4f)", q ? "," : "", gs[r->far[q]].group, gs[r->far[q]].p - r->mean);
    fputc('\n', f);
    if (r->warning) fprintf(f, "\n! %s\n", r->warning);
}

static void bias_jsonl(FILE *f, const bertc_bias_report *r) {
    for (size_t k = 0; k < r->n; k++) {
        fputs("{\"group\": ", f);
        jw_str(f, r->groups[k]);
        fputs(", \"text\": ", f);
        jw_str(f, r->texts[k]);
        fputs(", \"scores\": {", f);
        for (int c = 0; c < r->L; c++) {
            if (c) fputs(", ", f);
            jw_str(f, r->label_names[c]);
            fputs(": ", f);
            jw_real(f, r->scores[k * r->L + c]);
        }
        fputs("}}\n", f);
    }
}

static json_t *bias_json(const bertc_bias_report *r) {
    json_t *o = json_object(), *arr = json_array(), *fa = json_array();
    for (size_t k = 0; k < r->n; k++)
        json_array_append_new(arr, json_pack("{s:s,s:f}", "group", r->gs[k].group, "p", r->gs[k].p));
    for (int q = 0; q < 3; q++)
        if (r->far[q] >= 0) json_array_append_new(fa, json_string(r->gs[r->far[q]].group));
    json_object_set_new(o, "template", json_string(r->tmpl));
    json_object_set_new(o, "label", json_string(r->label));
    json_object_set_new(o, "model", json_string(r->model));
    json_object_set_new(o, "groups", arr);
    json_object_set_new(o, "mean", json_real(r->mean));
    json_object_set_new(o, "std", json_real(r->sd));
    json_object_set_new(o, "spread", json_real(r->spread));
    json_object_set_new(o, "max_group", json_string(r->gs[0].group));
    json_object_set_new(o, "min_group", json_string(r->gs[r->n - 1].group));
    json_object_set_new(o, "furthest_from_mean", fa);
    json_t *w = json_array();
    if (r->warning) json_array_append_new(w, json_string(r->warning));
    json_object_set_new(o, "warnings", w);
    return o;
}

static void bias_html(FILE *f, const bertc_bias_report *r) {
    rpt_html_head(f, "bertc bias probe");
    fputs("<h1>bertc bias</h1>\n<div class=\"sub\">", f);
    rpt_html_escape(f, r->title);
    fputs(" — ", f);
    rpt_html_escape(f, r->model);
    fprintf(f, "</div>\n<p>mean %.4f · std %.4f · spread (max − min) %.4f</p>\n", r->mean, r->sd, r->spread);
    if (r->warning) {
        fputs("<div class=\"warn\">", f);
        rpt_html_escape(f, r->warning);
        fputs("</div>\n", f);
    }
    fputs("<div class=\"charts\">\n", f);
    bias_bars(f, r);
    fputs("</div>\n", f);
    rpt_html_tail(f);
}

bertc_status bertc_bias_report_render(const bertc_bias_report *r, bertc_report_format fmt, char **out, size_t *len,
                                      bertc_error *err) {
    if (!r || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_bias_report_render: no report or output");
    *out = NULL;
    if (len) *len = 0;
    if (fmt == BERTC_REPORT_JSON) {
        unsigned jf = jalloc_failures();
        return rpt_json(bias_json(r), jf, out, len, err);
    }
    if (fmt == BERTC_REPORT_MARKDOWN)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "a bias report renders as terminal, JSON lines, SVG, JSON or HTML");
    rpt_buf b;
    bertc_status s = rpt_open(&b, err);
    if (s) return s;
    switch (fmt) {
    case BERTC_REPORT_TERMINAL: bias_table(b.f, r); break;
    case BERTC_REPORT_PREDICTIONS: bias_jsonl(b.f, r); break;
    case BERTC_REPORT_SVG: bias_bars(b.f, r); break;
    case BERTC_REPORT_HTML: bias_html(b.f, r); break;
    default:
        fclose(b.f);
        free(b.text);
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "a bias report renders as terminal, JSON lines, SVG, JSON or HTML");
    }
    return rpt_close(&b, out, len, err);
}

/* ---- compare ---- */

typedef struct model_row {
    char *source, *model_type; /* copies: the model may be freed after its run */
    uint64_t n_params, weight_bytes;
    double load_ms;
    double p50, p95, texts_per_s, tokens_per_s, seconds;
    bertc_metrics *m;
    int *pred;
} model_row;

struct bertc_compare {
    bertc_compare_params p;
    char *data;
    bertc_dataset *d;
    bertc_text *in;
    int *gold;
    char **names; /* the first model's labels */
    int L0;
    model_row *rows;
    int n_rows;
};

bertc_compare_params bertc_compare_default_params(void) {
    bertc_compare_params p;
    memset(&p, 0, sizeof p);
    p.dataset = bertc_dataset_default_params();
    p.batch_size = 32;
    p.latency_samples = 50;
    return p;
}

void bertc_compare_free(bertc_compare *c) {
    if (!c) return;
    for (int k = 0; k < c->n_rows; k++) {
        bertc_metrics_free(c->rows[k].m);
        free(c->rows[k].pred);
        free(c->rows[k].source);
        free(c->rows[k].model_type);
    }
    for (int k = 0; c->names && k < c->L0; k++) free(c->names[k]);
    free(c->names), free(c->rows), free(c->gold), free(c->in), free(c->data);
    bertc_dataset_free(c->d);
    free(c);
}

bertc_status bertc_compare_new(const bertc_compare_params *p, bertc_compare **out, bertc_error *err) {
    if (out) *out = NULL;
    if (!p || !p->data || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_compare_new: data is required");
    if (p->batch_size < 1 || p->latency_samples < 1)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_compare_new: batch_size and latency_samples must be positive");
    bertc_compare *c = calloc(1, sizeof *c);
    if (!c) return OOM();
    c->p = *p;
    c->p.data = NULL; /* borrowed by the caller: c->data is the copy */
    bertc_status s = bertc_dataset_read(p->data, &p->dataset, &c->d, err);
    if (!s) {
        c->data = strdup(p->data);
        c->in = malloc(c->d->n * sizeof *c->in);
        c->gold = malloc(c->d->n * sizeof *c->gold);
        if (!c->data || !c->in || !c->gold) s = OOM();
    }
    if (s) {
        bertc_compare_free(c);
        return s;
    }
    for (size_t i = 0; i < c->d->n; i++) {
        const bertc_example *e = &c->d->ex[i];
        c->in[i] = (bertc_text){e->text, e->len, e->pair, e->pair_len};
    }
    *out = c;
    return BERTC_OK;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double q) { /* nearest rank */
    int k = (int)ceil(q * n) - 1;
    return sorted[k < 0 ? 0 : k >= n ? n - 1 : k];
}

bertc_status bertc_compare_add(bertc_compare *c, const bertc_model *m, bertc_error *err) {
    if (!c || !m) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_compare_add: no comparison or model");
    const bertc_dataset *d = c->d;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    int L = info.n_labels;
    if (c->n_rows == 0) {
        for (int k = 0; c->names && k < c->L0; k++) free(c->names[k]);
        free(c->names);
        c->L0 = 0;
        if (!(c->names = calloc((size_t)(L > 0 ? L : 1), sizeof *c->names))) return OOM();
        c->L0 = L;
        for (int k = 0; k < L; k++)
            if (!(c->names[k] = strdup(bertc_model_label(m, k)))) return OOM();
        for (size_t i = 0; i < d->n; i++) {
            c->gold[i] = bertc_label_lookup(d->ex[i].label, (const char *const *)c->names, L);
            if (c->gold[i] < 0)
                return bertc_fail(err, BERTC_ERR_INPUT, "%s:%ld: label \"%s\" is not one of %s's labels", d->name,
                                  d->ex[i].line, d->ex[i].label, info.source);
        }
    } else if (L != c->L0) {
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has %d labels, %s has %d: models must share the label set",
                          info.source, L, c->rows[0].source, c->L0);
    }
    model_row *nr = realloc(c->rows, (size_t)(c->n_rows + 1) * sizeof *nr);
    if (!nr) return OOM();
    c->rows = nr;
    model_row *r = &c->rows[c->n_rows];
    memset(r, 0, sizeof *r);
    r->source = strdup(info.source);
    r->model_type = strdup(info.model_type);
    r->n_params = info.n_params;
    r->weight_bytes = info.weight_bytes;
    r->load_ms = info.load_ms;
    r->pred = malloc(d->n * sizeof *r->pred);
    double *scores = malloc(d->n * (size_t)L * sizeof *scores);
    int n_lat = c->p.latency_samples < (int)d->n ? c->p.latency_samples : (int)d->n;
    double *lat = malloc(((size_t)n_lat + 1) * sizeof *lat), *one = malloc((size_t)(L > 0 ? L : 1) * sizeof *one);
    bertc_status s = BERTC_OK;
    if (!r->source || !r->model_type || !r->pred || !scores || !lat || !one) {
        s = OOM();
        goto done;
    }
    void *ctx = c->p.progress_ctx;
    if (c->p.stage) c->p.stage(BERTC_EVAL_STAGE_LATENCY, (size_t)n_lat, (size_t)n_lat, ctx);
    int p1;
    rpt_classify(m, c->in, 1, 1, NULL, NULL, &p1, one, NULL, NULL); /* warm-up */
    int timed = 0;
    for (; timed < n_lat; timed++) {
        double t0 = now_ms();
        if (rpt_classify(m, c->in + timed, 1, 1, NULL, NULL, &p1, one, NULL, NULL)) break;
        lat[timed] = now_ms() - t0;
    }
    qsort(lat, (size_t)timed, sizeof *lat, cmp_dbl);
    r->p50 = timed ? pct(lat, timed, 0.5) : NAN;
    r->p95 = timed ? pct(lat, timed, 0.95) : NAN;
    if (c->p.stage) c->p.stage(BERTC_EVAL_STAGE_THROUGHPUT, d->n, d->n, ctx);
    long tokens = 0;
    double t0 = now_ms();
    s = rpt_classify(m, c->in, d->n, c->p.batch_size > 4096 ? 4096 : c->p.batch_size, c->p.progress, ctx, r->pred, scores,
                     &tokens, err);
    r->seconds = (now_ms() - t0) / 1000;
    if (s) goto done;
    r->texts_per_s = d->n / r->seconds;
    r->tokens_per_s = tokens / r->seconds;
    bertc_metrics_params mp = bertc_metrics_default_params();
    mp.seed = c->p.seed;
    mp.positive = L == 2 ? 1 : -1;
    s = bertc_metrics_compute(d->n, L, c->gold, r->pred, scores, (const char *const *)c->names, &mp, &r->m, err);
done:
    free(scores), free(lat), free(one);
    if (s) {
        bertc_metrics_free(r->m);
        free(r->pred), free(r->source), free(r->model_type);
        return s;
    }
    c->n_rows++;
    return BERTC_OK;
}

static void compare_table(FILE *f, const bertc_compare *c) {
    int nm = c->n_rows;
    const model_row *rows = c->rows;
    fprintf(f, "\ncompare on %s (%zu examples)\n\n%-22s", c->data, c->d->n, "");
    for (int k = 0; k < nm; k++) { /* the folder's last component: a column heading, not a path */
        char b[512];
        snprintf(b, sizeof b, "%s", rows[k].source);
        size_t bl = strlen(b);
        while (bl > 1 && b[bl - 1] == '/') b[--bl] = 0;
        const char *slash = strrchr(b, '/');
        fprintf(f, " %24.24s", slash ? slash + 1 : b);
    }
    fputc('\n', f);
#define ROW(label, fmt, ...)                                                                                           \
    do {                                                                                                               \
        fprintf(f, "%-22s", label);                                                                                    \
        for (int k = 0; k < nm; k++) {                                                                                 \
            const model_row *r = &rows[k];                                                                             \
            char cell[64];                                                                                             \
            snprintf(cell, sizeof cell, fmt, __VA_ARGS__);                                                             \
            fprintf(f, " %24s", cell);                                                                                 \
        }                                                                                                              \
        fputc('\n', f);                                                                                                \
    } while (0)
    ROW("architecture", "%s", r->model_type);
    ROW("parameters", "%.1f M", r->n_params / 1e6);
    ROW("file bytes", "%.1f MB", r->weight_bytes / 1e6);
    ROW("load time", "%.0f ms", r->load_ms);
    ROW("latency p50 (batch 1)", "%.2f ms", r->p50);
    ROW("latency p95 (batch 1)", "%.2f ms", r->p95);
    ROW("throughput", "%.1f texts/s", r->texts_per_s);
    ROW("", "%.0f tokens/s", r->tokens_per_s);
    ROW("accuracy", "%.4f", r->m->accuracy);
    ROW("", "[%.4f, %.4f]", r->m->ci_accuracy.lo, r->m->ci_accuracy.hi);
    ROW(c->L0 == 2 ? "f1 (positive)" : "f1 (macro)", "%.4f", r->m->f1);
    ROW("", "[%.4f, %.4f]", r->m->ci_f1.lo, r->m->ci_f1.hi);
    ROW("mcc", "%.4f", r->m->mcc);
#undef ROW
    if (nm > 1) fprintf(f, "\nMcNemar's test against %s (only A right / only B right):\n", rows[0].source);
    for (int k = 1; k < nm; k++) {
        bertc_mcnemar t = bertc_mcnemar_test(c->d->n, c->gold, rows[0].pred, rows[k].pred);
        fprintf(f, "  %s: %ld / %ld, %s p = %.4g — %s\n", rows[k].source, t.b, t.c,
                t.exact ? "exact binomial" : "chi-square", t.p_value,
                t.p_value < 0.05 ? "the accuracy difference is significant at 5%"
                                 : "no significant difference at 5% (the models may be equally accurate here)");
    }
}

static json_t *compare_json(const bertc_compare *c) {
    int nm = c->n_rows;
    const model_row *rows = c->rows;
    json_t *mc = json_array();
    for (int k = 1; k < nm; k++) {
        bertc_mcnemar t = bertc_mcnemar_test(c->d->n, c->gold, rows[0].pred, rows[k].pred);
        json_array_append_new(mc, json_pack("{s:s,s:s,s:I,s:I,s:o,s:f,s:b}", "a", rows[0].source, "b", rows[k].source,
                                            "only_a_right", (json_int_t)t.b, "only_b_right", (json_int_t)t.c,
                                            "statistic", isnan(t.statistic) ? json_null() : json_real(t.statistic),
                                            "p_value", t.p_value, "exact", t.exact));
    }
    json_t *o = json_object(), *ms = json_array();
    for (int k = 0; k < nm; k++) {
        const model_row *r = &rows[k];
        json_array_append_new(
            ms, json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:[ff],s:f,s:[ff],s:f,s:f}", "model", r->source,
                          "model_type", r->model_type, "parameters", (json_int_t)r->n_params, "file_bytes",
                          (json_int_t)r->weight_bytes, "load_ms", r->load_ms, "latency_p50_ms", r->p50, "latency_p95_ms",
                          r->p95, "texts_per_s", r->texts_per_s, "tokens_per_s", r->tokens_per_s, "accuracy",
                          r->m->accuracy, "accuracy_ci", r->m->ci_accuracy.lo, r->m->ci_accuracy.hi, "f1", r->m->f1,
                          "f1_ci", r->m->ci_f1.lo, r->m->ci_f1.hi, "mcc", r->m->mcc, "macro_f1", r->m->macro_f1));
    }
    json_object_set_new(o, "data", json_string(c->data));
    json_object_set_new(o, "n", json_integer((json_int_t)c->d->n));
    json_object_set_new(o, "models", ms);
    json_object_set_new(o, "mcnemar", mc);
    return o;
}

static void compare_markdown(FILE *f, const bertc_compare *c) {
    int nm = c->n_rows;
    const model_row *rows = c->rows;
    fprintf(f, "# bertc compare on %s (%zu examples)\n\n| | ", c->data, c->d->n);
    for (int k = 0; k < nm; k++) fprintf(f, "%s | ", rows[k].source);
    fputs("\n|---|", f);
    for (int k = 0; k < nm; k++) fputs("---:|", f);
    fputc('\n', f);
#define MROW(label, fmt, ...)                                                                                          \
    do {                                                                                                               \
        fprintf(f, "| %s |", label);                                                                                   \
        for (int k = 0; k < nm; k++) {                                                                                 \
            const model_row *r = &rows[k];                                                                             \
            fprintf(f, " " fmt " |", __VA_ARGS__);                                                                     \
        }                                                                                                              \
        fputc('\n', f);                                                                                                \
    } while (0)
    MROW("parameters", "%.1f M", r->n_params / 1e6);
    MROW("file bytes", "%.1f MB", r->weight_bytes / 1e6);
    MROW("load time", "%.0f ms", r->load_ms);
    MROW("latency p50 / p95 (batch 1)", "%.2f / %.2f ms", r->p50, r->p95);
    MROW("throughput", "%.1f texts/s", r->texts_per_s);
    MROW("accuracy [95% CI]", "%.4f [%.4f, %.4f]", r->m->accuracy, r->m->ci_accuracy.lo, r->m->ci_accuracy.hi);
    MROW("F1 [95% CI]", "%.4f [%.4f, %.4f]", r->m->f1, r->m->ci_f1.lo, r->m->ci_f1.hi);
    MROW("MCC", "%.4f", r->m->mcc);
#undef MROW
    if (nm > 1) {
        fprintf(f, "\nMcNemar's test against %s:\n\n| model | only %s right | only it right | test | p |\n"
                   "|---|---:|---:|---|---:|\n", rows[0].source, rows[0].source);
        for (int k = 1; k < nm; k++) {
            bertc_mcnemar t = bertc_mcnemar_test(c->d->n, c->gold, rows[0].pred, rows[k].pred);
            fprintf(f, "| %s | %ld | %ld | %s | %.4g |\n", rows[k].source, t.b, t.c,
                    t.exact ? "exact binomial" : "chi-square", t.p_value);
        }
    }
}

/* One self-contained page: the table (every row the terminal shows), accuracy with its interval drawn per model,
 * McNemar's test against the first model. */
static void compare_html(FILE *f, const bertc_compare *c) {
    int nm = c->n_rows;
    const model_row *rows = c->rows;
    rpt_html_head(f, "bertc compare");
    fputs("<h1>bertc compare</h1>\n<div class=\"sub\">", f);
    rpt_html_escape(f, c->data);
    fprintf(f, " — %zu examples</div>\n<table><tr><th></th>", c->d->n);
    for (int k = 0; k < nm; k++) {
        fputs("<th>", f);
        rpt_html_escape(f, rows[k].source);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
#define HROW(label, fmt, ...)                                                                                          \
    do {                                                                                                               \
        fprintf(f, "<tr><td>%s</td>", label);                                                                          \
        for (int k = 0; k < nm; k++) {                                                                                 \
            const model_row *r = &rows[k];                                                                             \
            fprintf(f, "<td>" fmt "</td>", __VA_ARGS__);                                                               \
        }                                                                                                              \
        fputs("</tr>\n", f);                                                                                           \
    } while (0)
    HROW("architecture", "%s", r->model_type);
    HROW("parameters", "%.1f M", r->n_params / 1e6);
    HROW("file bytes", "%.1f MB", r->weight_bytes / 1e6);
    HROW("load time", "%.0f ms", r->load_ms);
    HROW("latency p50 / p95 (batch 1)", "%.2f / %.2f ms", r->p50, r->p95);
    HROW("throughput", "%.1f texts/s (%.0f tokens/s)", r->texts_per_s, r->tokens_per_s);
    HROW("accuracy [95% CI]", "%.4f [%.4f, %.4f]", r->m->accuracy, r->m->ci_accuracy.lo, r->m->ci_accuracy.hi);
    HROW(c->L0 == 2 ? "F1 (positive) [95% CI]" : "F1 (macro) [95% CI]", "%.4f [%.4f, %.4f]", r->m->f1, r->m->ci_f1.lo,
         r->m->ci_f1.hi);
    HROW("MCC", "%.4f", r->m->mcc);
#undef HROW
    fputs("</table>\n", f);
    /* accuracy and its interval per model, on one axis from the lowest interval to the highest */
    double lo = 1, hi = 0;
    for (int k = 0; k < nm; k++) lo = fmin(lo, rows[k].m->ci_accuracy.lo), hi = fmax(hi, rows[k].m->ci_accuracy.hi);
    if (!(lo < hi)) lo = 0, hi = 1;
    lo = fmax(0, lo - 0.02), hi = fmin(1, hi + 0.02);
    double left = 200, width = 400, row = 26, top = 34, H = top + row * nm + 30, W = left + width + 60;
    fprintf(f, "<div class=\"charts\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\">\n"
               "<text class=\"t\" x=\"%.0f\" y=\"18\" text-anchor=\"middle\">accuracy (dot) and its 95%% interval "
               "(bar)</text>\n", W, H, W / 2);
    for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4, x = left + width * t / 4;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#edf2f7\"/><text x=\"%.1f\" "
                   "y=\"%.0f\" text-anchor=\"middle\">%.3f</text>\n", x, top - 6, x, top + row * nm, x, top + row * nm + 16, v);
    }
    for (int k = 0; k < nm; k++) {
        const bertc_metrics *m = rows[k].m;
        double y = top + row * k + row / 2, x0 = left + width * (m->ci_accuracy.lo - lo) / (hi - lo),
               x1 = left + width * (m->ci_accuracy.hi - lo) / (hi - lo), xa = left + width * (m->accuracy - lo) / (hi - lo);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", left - 8, y + 4);
        rpt_html_escape(f, rows[k].source);
        fprintf(f, "</text><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#3182ce\" stroke-width=\"6\" "
                   "stroke-opacity=\"0.4\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#2b6cb0\"/>\n",
                x0, y, x1, y, xa, y);
    }
    fputs("</svg></div>\n", f);
    if (nm > 1) {
        fputs("<h2>McNemar's test against the first model</h2>\n<table><tr><th>model</th><th>only the first right</th>"
              "<th>only it right</th><th>test</th><th>p</th><th></th></tr>\n", f);
        for (int k = 1; k < nm; k++) {
            bertc_mcnemar t = bertc_mcnemar_test(c->d->n, c->gold, rows[0].pred, rows[k].pred);
            fputs("<tr><td>", f);
            rpt_html_escape(f, rows[k].source);
            fprintf(f, "</td><td>%ld</td><td>%ld</td><td>%s</td><td>%.4g</td><td>%s</td></tr>\n", t.b, t.c,
                    t.exact ? "exact binomial" : "chi-square", t.p_value,
                    t.p_value < 0.05 ? "significant at 5%" : "no significant difference at 5%");
        }
        fputs("</table>\n", f);
    }
    rpt_html_tail(f);
}

bertc_status bertc_compare_render(const bertc_compare *c, bertc_report_format fmt, char **out, size_t *len,
                                  bertc_error *err) {
    if (!c || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_compare_render: no comparison or output");
    *out = NULL;
    if (len) *len = 0;
    if (!c->n_rows) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_compare_render: no model was added");
    if (fmt == BERTC_REPORT_JSON) {
        unsigned jf = jalloc_failures();
        return rpt_json(compare_json(c), jf, out, len, err);
    }
    if (fmt != BERTC_REPORT_TERMINAL && fmt != BERTC_REPORT_MARKDOWN && fmt != BERTC_REPORT_HTML)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "a comparison renders as terminal, JSON, Markdown or HTML");
    rpt_buf b;
    bertc_status s = rpt_open(&b, err);
    if (s) return s;
    if (fmt == BERTC_REPORT_TERMINAL) compare_table(b.f, c);
    else if (fmt == BERTC_REPORT_HTML) compare_html(b.f, c);
    else compare_markdown(b.f, c);
    return rpt_close(&b, out, len, err);
}
