/*
 * classify.c — bertc_classify: texts to labels and scores through the model's sequence-classification head, batch
 * by batch, with the pipeline's scoring function (softmax, sigmoid or none) as transformers'
 * TextClassificationPipeline applies it.
 */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
bertc_classify_params bertc_classify_default_params(void) {
    bertc_classify_params p;
    p.encode = bertc_encode_default_params();
    p.function = BERTC_FUNCTION_DEFAULT;
    p.batch_size = 32;
    return p;
}

void bertc_classification_free(bertc_classification *out, size_t n) {
    if (!out) return;
    for (size_t i = 0; i < n; i++) {
        free(out[i].logits);
        free(out[i].scores);
        free(out[i].order);
        out[i].logits = out[i].scores = NULL;
        out[i].order = NULL;
    }
}

bertc_function bertc_classify_function(const bertc_model *m, bertc_function fn) {
    if (fn == BERTC_FUNCTION_SOFTMAX || fn == BERTC_FUNCTION_SIGMOID || fn == BERTC_FUNCTION_NONE) return fn;
    if (!m) return BERTC_FUNCTION_SOFTMAX;
    /* the text-classification pipeline's rule (multi-label or one label: sigmoid), except that an explicit
     * problem_type "regression" returns the raw value */
    if (m->cfg.problem == BERTC_PROBLEM_REGRESSION && m->cfg.problem_explicit) return BERTC_FUNCTION_NONE;
    if (m->cfg.problem == BERTC_PROBLEM_MULTI_LABEL || m->cfg.n_labels == 1) return BERTC_FUNCTION_SIGMOID;
    return BERTC_FUNCTION_SOFTMAX;
}

/* Stable: equal scores keep index order (insertion sort: label counts are small). */
void bertc_scores_order(const float *scores, int n, int *order) {
    if (!scores || !order) return;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && scores[order[j]] != scores[v] && scores[order[j]] < scores[v]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

/* r's scores, label_id, score and order from its logits (n_labels of them) with fn resolved. */
static void score(bertc_classification *r, bertc_function fn) {
    int L = r->n_labels;
    const float *lg = r->logits;
    if (fn == BERTC_FUNCTION_SOFTMAX) {
        float mx = lg[0];
        for (int k = 1; k < L; k++) mx = lg[k] > mx ? lg[k] : mx;
        /* float32 step by step, as the transformers pipeline's numpy softmax: the same scores to the
         * last bit more often, so ties (and so ROC AUC) come out as the pipeline's */
        float sum = 0;
        for (int k = 0; k < L; k++) sum += expf(lg[k] - mx);
        for (int k = 0; k < L; k++) r->scores[k] = expf(lg[k] - mx) / sum;
    } else if (fn == BERTC_FUNCTION_SIGMOID) {
        for (int k = 0; k < L; k++) r->scores[k] = 1.0f / (1.0f + expf(-lg[k]));
    } else {
        memcpy(r->scores, lg, (size_t)L * sizeof(float));
    }
    int best = 0;
    for (int k = 1; k < L; k++)
        if (r->scores[k] > r->scores[best]) best = k;
    r->label_id = best;
    r->score = r->scores[best];
    r->function = fn;
    bertc_scores_order(r->scores, L, r->order);
}

bertc_status bertc_classification_rescore(const bertc_model *m, bertc_function fn, bertc_classification *r,
                                          bertc_error *err) {
    if (!m || !r || !r->logits || !r->scores || !r->order || r->n_labels != m->cfg.n_labels || r->n_labels < 1)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_classification_rescore: no result of this model's "
                                                      "bertc_classify");
    if (fn < BERTC_FUNCTION_DEFAULT || fn > BERTC_FUNCTION_NONE)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_classification_rescore: no function %d", (int)fn);
    score(r, bertc_classify_function(m, fn));
    return BERTC_OK;
}

/* Encodes texts[i0..i1) into encs (classify.c, embed.c). */
bertc_status encode_range(const bertc_model *m, const bertc_text *in, size_t i0, size_t i1,
                                 const bertc_encode_params *ep, bertc_encoding *encs, bertc_error *err) {
    for (size_t i = i0; i < i1; i++) {
        bertc_status s = bertc_tokenize(m->tok, in[i].text, in[i].len, in[i].pair, in[i].pair_len, ep, &encs[i - i0], err);
        if (s) {
            for (size_t k = i0; k < i; k++) bertc_encoding_free(&encs[k - i0]);
            if (err) {
                char msg[sizeof err->message];
                memcpy(msg, err->message, sizeof msg);
                bertc_fail(err, s, "input %zu: %s", i, msg);
            }
            return s;
        }
    }
    return BERTC_OK;
}

bertc_status bertc_classify(const bertc_model *m, const bertc_text *in, size_t n, const bertc_classify_params *p,
                            bertc_classification *out, bertc_error *err) {
    if (!m || (!in && n) || (!out && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_classify: NULL argument");
    if (!m->has_head)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no classification head (%s): use embed", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    bertc_classify_params dp = bertc_classify_default_params();
    if (!p) p = &dp;
    size_t bs = p->batch_size > 0 ? (size_t)p->batch_size : 32;
    int L = m->cfg.n_labels;
    bertc_function fn = bertc_classify_function(m, p->function);
    memset(out, 0, n * sizeof *out);
    bertc_encoding *encs = calloc(bs, sizeof *encs);
    float *logits = malloc(bs * (size_t)L * sizeof(float));
    if (!encs || !logits) {
        free(encs);
        free(logits);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    bertc_status s = BERTC_OK;
    for (size_t b0 = 0; b0 < n && !s; b0 += bs) {
        size_t b1 = b0 + bs < n ? b0 + bs : n;
        if ((s = encode_range(m, in, b0, b1, &p->encode, encs, err))) break;
        s = model_forward(m, encs, b1 - b0, NULL, NULL, logits, err);
        for (size_t i = b0; i < b1 && !s; i++) {
            bertc_classification *r = &out[i];
            const float *lg = logits + (i - b0) * L;
            r->n_labels = L;
            r->n_tokens = (int)encs[i - b0].n;
            r->logits = malloc((size_t)L * sizeof(float));
            r->scores = malloc((size_t)L * sizeof(float));
            r->order = malloc((size_t)L * sizeof(int));
            if (!r->logits || !r->scores || !r->order) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(r->logits, lg, (size_t)L * sizeof(float));
            score(r, fn);
        }
        for (size_t i = b0; i < b1; i++) bertc_encoding_free(&encs[i - b0]);
    }
    free(encs);
    free(logits);
    if (s) bertc_classification_free(out, n);
    return s;
}
