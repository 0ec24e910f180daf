/*
 * zeroshot.c — bertc_zero_shot: transformers' ZeroShotClassificationPipeline (pipelines/zero_shot_classification.py)
 * over bertc_classify's logits. The text is paired with one hypothesis per candidate label, the pairs truncated
 * only_first, and the entailment logits turned into scores in float32 the way its numpy postprocess does.
 */
#include "base/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bertc_zero_shot_params bertc_zero_shot_default_params(void) {
    bertc_zero_shot_params p;
    memset(&p, 0, sizeof p);
    p.hypothesis_template = NULL;
    p.multi_label = 0;
    p.classify = bertc_classify_default_params();
    p.classify.encode.truncation_strategy = BERTC_TRUNCATE_ONLY_FIRST;
    p.classify.function = BERTC_FUNCTION_NONE;
    p.entailment_id = -1;
    return p;
}

void bertc_zero_shot_result_free(bertc_zero_shot_result *r) {
    if (!r) return;
    free(r->order);
    free(r->scores);
    free(r->logits);
    memset(r, 0, sizeof *r);
}

/* Python's template.format(label) for the subset that a hypothesis template uses: "{}" (once) or "{0}" (any number
 * of times), "{{" and "}}". *out is malloc'ed and NUL-terminated. */
static bertc_status format_template(const char *t, const char *label, char **out, size_t *out_len, bertc_error *err) {
    size_t tl = strlen(t), ll = strlen(label), cap = tl + 1, n = 0;
    int auto_fields = 0, manual_fields = 0;
    for (size_t i = 0; i < tl; i++)
        if (t[i] == '{') cap += ll;
    char *b = malloc(cap);
    if (!b) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < tl;) {
        if (t[i] == '{' && t[i + 1] == '{') { b[n++] = '{'; i += 2; continue; }
        if (t[i] == '}' && t[i + 1] == '}') { b[n++] = '}'; i += 2; continue; }
        if (t[i] == '}') { free(b); return bertc_fail(err, BERTC_ERR_INVALID_ARG, "hypothesis template \"%s\": single '}' encountered", t); }
        if (t[i] == '{') {
            if (t[i + 1] == '}') auto_fields++, i += 2;
            else if (t[i + 1] == '0' && t[i + 2] == '}') manual_fields++, i += 3;
            else {
                free(b);
                return bertc_fail(err, BERTC_ERR_INVALID_ARG,
                                  "hypothesis template \"%s\": only {} or {0} can stand for the label", t);
            }
            if (auto_fields > 1 || (auto_fields && manual_fields)) {
                free(b);
                return bertc_fail(err, BERTC_ERR_INVALID_ARG,
                                  "hypothesis template \"%s\": more than one {} (use {0} to repeat the label)", t);
            }
            memcpy(b + n, label, ll);
            n += ll;
            continue;
        }
        b[n++] = t[i++];
    }
    b[n] = 0;
    *out = b;
    *out_len = n;
    return BERTC_OK;
}

/* exp(x) / sum(exp(x)) in float32 into y (n values); the max is subtracted first only where an exp overflows. */
static void np_softmax(const float *x, float *y, size_t n) {
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        y[i] = expf(x[i]);
        if (!isfinite(y[i])) finite = 0;
    }
    if (!finite) {
        float mx = x[0];
        for (size_t i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
        for (size_t i = 0; i < n; i++) y[i] = expf(x[i] - mx);
    }
    float s = np_sum_f32(y, n);
    for (size_t i = 0; i < n; i++) y[i] = y[i] / s;
}

static int starts_with_entail(const char *s) {
    static const char w[] = "entail";
    for (int i = 0; i < 6; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != w[i]) return 0;
    }
    return 1;
}

bertc_status bertc_zero_shot(const bertc_model *m, const char *text, size_t len, const char *const *labels,
                             size_t n_labels, const bertc_zero_shot_params *p, bertc_zero_shot_result *out,
                             bertc_error *err) {
    if (!m || !text || !out || (!labels && n_labels))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_zero_shot: NULL argument");
    memset(out, 0, sizeof *out);
    if (n_labels == 0)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "zero-shot: you must include at least one candidate label");
    for (size_t i = 0; i < n_labels; i++)
        if (!labels[i]) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_zero_shot: label %zu is NULL", i);
    bertc_zero_shot_params dp = bertc_zero_shot_default_params();
    if (!p) p = &dp;
    const char *tmpl = p->hypothesis_template ? p->hypothesis_template : "This example is {}.";
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (info.problem == BERTC_PROBLEM_NONE)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "zero-shot: %s has no classification head (an NLI "
                          "*ForSequenceClassification checkpoint is needed)", info.source ? info.source : "the model");
    int L = info.n_labels;
    if (L < 2)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "zero-shot: %s has %d label%s; an NLI model with entailment and "
                          "contradiction labels is needed", info.source ? info.source : "the model", L, L == 1 ? "" : "s");
    int ent = -1;
    for (int i = 0; i < L && ent < 0; i++)
        if (starts_with_entail(bertc_model_label(m, i))) ent = i;
    if (p->entailment_id >= L || p->entailment_id < -1)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "zero-shot: entailment id %d is not one of the model's %d labels",
                          p->entailment_id, L);
    if (p->entailment_id >= 0) {
        ent = p->entailment_id;
    } else if (ent < 0) {
        const char *label[64];
        char names[512];
        for (int i = 0; i < L && i < 64; i++) label[i] = bertc_model_label(m, i);
        names_join(names, sizeof names, label, L < 64 ? L : 64);
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "zero-shot needs an NLI model: %s has no entailment label (its "
                          "labels: %s); name the entailment label's index if its config does not (entailment id)",
                          info.source ? info.source : "the model", names);
    }
    int con = ent == 0 ? -1 : 0;
    int ent_col = ent < 0 ? L - 1 : ent, con_col = con < 0 ? L - 1 : con;

    bertc_status s = BERTC_OK;
    char **hyp = calloc(n_labels, sizeof *hyp);
    bertc_text *in = calloc(n_labels, sizeof *in);
    bertc_classification *cls = calloc(n_labels, sizeof *cls);
    float *sc = malloc(n_labels * sizeof *sc), *tmp = malloc(n_labels * sizeof *tmp);
    out->order = malloc(n_labels * sizeof *out->order);
    out->scores = malloc(n_labels * sizeof *out->scores);
    out->logits = malloc(n_labels * (size_t)L * sizeof *out->logits);
    int classified = 0;
    if (!hyp || !in || !cls || !sc || !tmp || !out->order || !out->scores || !out->logits) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        /* transformers: template.format(labels[0]) == template means the template has no field */
        char *f0;
        size_t f0n;
        if ((s = format_template(tmpl, labels[0], &f0, &f0n, err))) goto done;
        int same = !strcmp(f0, tmpl);
        free(f0);
        if (same) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the hypothesis template \"%s\" was not able to be formatted "
                           "with the target labels: it must include {} where the label should go", tmpl);
            goto done;
        }
    }
    for (size_t i = 0; i < n_labels; i++) {
        size_t hl;
        if ((s = format_template(tmpl, labels[i], &hyp[i], &hl, err))) goto done;
        in[i].text = text;
        in[i].len = len;
        in[i].pair = hyp[i];
        in[i].pair_len = hl;
    }
    bertc_classify_params cp = p->classify;
    cp.function = BERTC_FUNCTION_NONE;
    if ((s = bertc_classify(m, in, n_labels, &cp, cls, err))) goto done;
    classified = 1;
    for (size_t i = 0; i < n_labels; i++) memcpy(out->logits + i * (size_t)L, cls[i].logits, (size_t)L * sizeof(float));
    if (p->multi_label || n_labels == 1) {
        for (size_t i = 0; i < n_labels; i++) {
            float two[2] = {cls[i].logits[con_col], cls[i].logits[ent_col]}, y[2];
            np_softmax(two, y, 2);
            sc[i] = y[1];
        }
    } else {
        for (size_t i = 0; i < n_labels; i++) tmp[i] = cls[i].logits[ent_col];
        np_softmax(tmp, sc, n_labels);
    }
    /* reversed(argsort(scores)): ascending with ties in index order, then reversed; an insertion sort on (score
     * descending, index descending) */
    for (size_t i = 0; i < n_labels; i++) {
        size_t k = n_labels - 1 - i, j = i;
        while (j > 0 && sc[out->order[j - 1]] < sc[k]) {
            out->order[j] = out->order[j - 1];
            j--;
        }
        out->order[j] = k;
    }
    for (size_t i = 0; i < n_labels; i++) out->scores[i] = sc[out->order[i]];
    out->n_labels = n_labels;
    out->entailment_id = ent;
    out->contradiction_id = con;
done:
    if (classified) bertc_classification_free(cls, n_labels);
    if (hyp)
        for (size_t i = 0; i < n_labels; i++) free(hyp[i]);
    free(hyp);
    free(in);
    free(cls);
    free(sc);
    free(tmp);
    if (s) bertc_zero_shot_result_free(out);
    return s;
}
