/*
 * fillmask.c — bertc_fill_mask: transformers' FillMaskPipeline (pipelines/fill_mask.py) over the masked-LM head.
 * Every mask token of the text is predicted: the softmax over the vocabulary at its position (float32, the max
 * subtracted, as torch's softmax), restricted to the targets when given, the top_k best, each with the token decoded
 * and the text decoded with it in the mask's place.
 */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bertc_fill_mask_params bertc_fill_mask_default_params(void) {
    bertc_fill_mask_params p;
    memset(&p, 0, sizeof p);
    p.top_k = 5;
    p.targets = NULL;
    p.n_targets = 0;
    p.encode = bertc_encode_default_params();
    return p;
}

void bertc_fill_mask_result_free(bertc_fill_mask_result *r) {
    if (!r) return;
    for (size_t i = 0; r->candidates && i < r->n_masks * r->k; i++) {
        free(r->candidates[i].token_str);
        free(r->candidates[i].sequence);
    }
    free(r->candidates);
    memset(r, 0, sizeof *r);
}

/* The id of a target word as get_target_ids finds it: the vocabulary's token spelled exactly so (added tokens
 * included), else the first token of its tokenization without special tokens, else -1 (ignored, as transformers
 * ignores it after its warning). */
bertc_status mlm_target_id(const bertc_tokenizer *tok, const char *w, int32_t *id, bertc_error *err) {
    if ((*id = tokenizer_added_token_id(tok, w)) >= 0 || (*id = tokenizer_vocab_id(tok, w)) >= 0) return BERTC_OK;
    bertc_encode_params ep = bertc_encode_default_params();
    ep.add_special_tokens = 0;
    bertc_encoding e;
    bertc_status s = bertc_tokenize(tok, w, strlen(w), NULL, 0, &ep, &e, err);
    if (s) return s;
    if (e.n > 0) *id = e.ids[0];
    bertc_encoding_free(&e);
    return BERTC_OK;
}

void mlm_softmax(const float *lg, int V, float *probs) {
    float mx = lg[0];
    for (int v = 1; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
    double sum = 0;
    for (int v = 0; v < V; v++) sum += (probs[v] = expf(lg[v] - mx));
    float inv = (float)(1.0 / sum);
    for (int v = 0; v < V; v++) probs[v] *= inv;
}

/* CPython's set of small non-negative ints (hash = value): the order list(set(ids)) iterates them in, which is the
 * order transformers puts the targets in and so the order torch.topk leaves equal scores in. Objects/setobject.c:
 * a table of 8 slots to start, probing i = (5 i + 1 + perturb) & mask with perturb >>= 5 (no linear probes in tables
 * under 10 slots, 9 otherwise), resized to the smallest power of 2 above 4 x used once fill x 5 >= mask x 3. */
static void set_insert(int64_t *tab, size_t mask, int32_t key) {
    size_t perturb = (size_t)key, i = (size_t)key & mask;
    for (;;) {
        size_t probes = i + 9 <= mask ? 9 : 0;
        for (size_t j = i;; j++) {
            if (tab[j] < 0) {
                tab[j] = key;
                return;
            }
            if (tab[j] == key) return;
            if (!probes--) break;
        }
        perturb >>= 5;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

static bool py_set_order(int32_t *ids, size_t *n) {
    size_t cap = 8, used = 0;
    int64_t *tab = malloc(cap * sizeof *tab);
    if (!tab) return false;
    for (size_t k = 0; k < cap; k++) tab[k] = -1;
    for (size_t i = 0; i < *n; i++) {
        bool dup = false;
        for (size_t k = 0; k < cap && !dup; k++) dup = tab[k] == ids[i];
        if (dup) continue;
        set_insert(tab, cap - 1, ids[i]);
        used++;
        if (used * 5 >= (cap - 1) * 3) {
            size_t nc = 8;
            while (nc <= used * 4) nc <<= 1;
            int64_t *nt = malloc(nc * sizeof *nt);
            if (!nt) {
                free(tab);
                return false;
            }
            for (size_t k = 0; k < nc; k++) nt[k] = -1;
            for (size_t k = 0; k < cap; k++)
                if (tab[k] >= 0) set_insert(nt, nc - 1, (int32_t)tab[k]);
            free(tab);
            tab = nt;
            cap = nc;
        }
    }
    size_t o = 0;
    for (size_t k = 0; k < cap; k++)
        if (tab[k] >= 0) ids[o++] = (int32_t)tab[k];
    *n = o;
    free(tab);
    return true;
}

bertc_status bertc_fill_mask(const bertc_model *m, const char *text, size_t len, const bertc_fill_mask_params *p,
                             bertc_fill_mask_result *out, bertc_error *err) {
    if (!m || !text || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_fill_mask: NULL argument");
    memset(out, 0, sizeof *out);
    bertc_fill_mask_params dp = bertc_fill_mask_default_params();
    if (!p) p = &dp;
    if (!m->has_mlm)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no masked-LM head (%s): fill-mask needs a *ForMaskedLM checkpoint",
                          m->source, m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    if (p->top_k < 1) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "top_k must be at least 1 (got %d)", p->top_k);
    if (p->n_targets && !p->targets) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_fill_mask: NULL targets");
    const bertc_tokenizer *tok = m->tok;
    const int32_t pad = bertc_tokenizer_pad_id(tok);
    int32_t mask = bertc_tokenizer_mask_id(tok);
    if (mask < 0) return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "the tokenizer does not define a mask token");
    const int V = m->cfg.vocab_size;
    /* targets: their ids, duplicates merged, in the order transformers' list(set(...)) gives them */
    int32_t *tid = NULL;
    size_t nt = 0;
    if (p->targets) {
        tid = malloc((p->n_targets ? p->n_targets : 1) * sizeof *tid);
        if (!tid) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < p->n_targets; i++) {
            int32_t id;
            if (!p->targets[i]) {
                free(tid);
                return bertc_fail(err, BERTC_ERR_INVALID_ARG, "target %zu is NULL", i);
            }
            bertc_status s = mlm_target_id(tok, p->targets[i], &id, err);
            if (s) {
                free(tid);
                return s;
            }
            if (id >= 0 && id < V) tid[nt++] = id;
        }
        if (!py_set_order(tid, &nt)) {
            free(tid);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
        if (!nt) {
            free(tid);
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "at least one target must be provided when passed (no target is in "
                              "the vocabulary or tokenizes to anything)");
        }
    }
    size_t ncand = tid ? nt : (size_t)V;
    if (!tid && (size_t)p->top_k > ncand) { /* torch.topk's "selected index k out of range"; with targets it is capped */
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "top_k %d is more than the %zu tokens of the vocabulary", p->top_k,
                          ncand);
    }
    size_t k = (size_t)p->top_k < ncand ? (size_t)p->top_k : ncand;
    bertc_encoding e;
    bertc_status s = bertc_tokenize(tok, text, len, NULL, 0, &p->encode, &e, err);
    if (s) {
        free(tid);
        return s;
    }
    size_t nm = 0;
    for (size_t i = 0; i < e.n; i++) nm += e.ids[i] == mask;
    int32_t *rows = NULL, *ids = NULL;
    float *logits = NULL, *probs = NULL;
    size_t *order = NULL;
    if (!nm) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "no mask token (%s) found in the input", bertc_tokenizer_id_to_token(tok, mask));
        goto done;
    }
    rows = malloc(2 * nm * sizeof *rows);
    logits = malloc(nm * (size_t)V * sizeof *logits);
    probs = malloc((size_t)V * sizeof *probs);
    order = malloc(ncand * sizeof *order);
    ids = malloc(e.n * sizeof *ids);
    out->candidates = calloc(nm * k, sizeof *out->candidates);
    if (!rows || !logits || !probs || !order || !ids || !out->candidates) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    out->n_masks = nm;
    out->k = k;
    for (size_t i = 0, r = 0; i < e.n; i++)
        if (e.ids[i] == mask) rows[2 * r] = 0, rows[2 * r + 1] = (int32_t)i, r++;
    if ((s = bertc_mlm_logits(m, &e, 1, rows, nm, logits, err))) goto done;
    for (size_t r = 0; r < nm && !s; r++) {
        mlm_softmax(logits + r * (size_t)V, V, probs);
        /* top k by partial selection: highest probability first; among equals the earlier candidate (the targets'
         * order, else the lower id) */
        for (size_t c = 0; c < ncand; c++) order[c] = tid ? (size_t)tid[c] : c;
        for (size_t a = 0; a < k; a++) {
            size_t best = a;
            for (size_t c = a + 1; c < ncand; c++) {
                float pc = probs[order[c]], pb = probs[order[best]];
                if (pc > pb || (pc == pb && !tid && order[c] < order[best])) best = c;
            }
            size_t t = order[best]; /* moved to the front, the rest keeping their order */
            memmove(order + a + 1, order + a, (best - a) * sizeof *order);
            order[a] = t;
        }
        for (size_t a = 0; a < k && !s; a++) {
            bertc_mask_candidate *mc = &out->candidates[r * k + a];
            int32_t id = (int32_t)order[a];
            mc->score = probs[id];
            mc->token = id;
            size_t ol, n_ids = 0;
            if ((s = bertc_decode(tok, &id, 1, 0, &mc->token_str, &ol, err))) break;
            /* the input with this token in the mask's place, pad tokens filtered out; special tokens are dropped for
             * one mask, kept with several (the other masks would vanish otherwise), as the pipeline does */
            for (size_t i = 0; i < e.n; i++) {
                int32_t t2 = i == (size_t)rows[2 * r + 1] ? id : e.ids[i];
                if (t2 != pad) ids[n_ids++] = t2;
            }
            s = bertc_decode(tok, ids, n_ids, nm == 1, &mc->sequence, &ol, err);
        }
    }
done:
    if (s) bertc_fill_mask_result_free(out);
    bertc_encoding_free(&e);
    free(tid);
    free(rows);
    free(ids);
    free(logits);
    free(probs);
    free(order);
    return s;
}

bertc_status bertc_mlm_target_id(const bertc_tokenizer *tok, const char *word, int32_t *id, bertc_error *err) {
    if (!tok || !word || !id) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_mlm_target_id: NULL argument");
    return mlm_target_id(tok, word, id, err);
}

void bertc_mlm_softmax(const float *logits, int vocab_size, float *probs) {
    if (logits && probs && vocab_size > 0) mlm_softmax(logits, vocab_size, probs);
}
