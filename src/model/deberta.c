/*
 * deberta.c — DeBERTa-v2 and -v3 (model_type "deberta-v2"), as transformers' modeling_deberta_v2 computes it:
 * config.json's fields as DebertaV2Config reads them, the Hugging Face names of the weights (base-model prefix
 * "deberta."), the embeddings (word, absolute positions only when position_biased_input, token types when
 * type_vocab_size > 0, embed_proj when embedding_size != hidden_size, LayerNorm), the post-LayerNorm layers with
 * disentangled attention, and the heads (ContextPooler + classifier, token classification, question answering, the
 * legacy cls.predictions and the newer lm_predictions masked-LM heads).
 *
 * Disentangled attention, per (sequence, head), queries i and keys j of one sequence:
 *   score(i, j) = [q_i . k_j + q_i . pk_r + k_j . pq_r] / sqrt(d * (1 + number of pos_att_type entries))
 * with r = clamp(bucket(i - j) + span, 0, 2 span - 1), pk = key projection (c2p) and pq = query projection (p2c)
 * of the relative embeddings (encoder.rel_embeddings, after encoder.LayerNorm when norm_rel_ebd has layer_norm):
 * transformers' c2p gather at [i, r(i - j)] and its transposed p2c gather at [j, r(-(j - i))] meet at the same r
 * because the log buckets are odd (bucket(-d) = -bucket(d)). The projections of the 2 span relative rows depend on
 * the weights alone: they are made once at load per layer ([2 span, H] each), and the scores gather from them row
 * by row: nothing of size T x 2 span or T x T beyond one score row per task is materialized.
 *
 * Sequences of a batch are laid end to end ([sum(T), H], no padding), as in bert.c: linear layers run on all tokens
 * at once, attention per (sequence, head) over the sequence's own tokens; a batch computes what single runs do.
 * The masks transformers multiplies in (embeddings * mask, masked scores) are all ones here: there is no padding.
 *
 * Not supported, refused by name: model_type "deberta" (v1), conv_kernel_size > 0 (v2-xlarge's ConvLayer),
 * pos_att_type entries other than c2p / p2c, norm_rel_ebd other than layer_norm / none, attention_head_size or
 * pooler_hidden_size other than the defaults, a masked LM with embedding_size != hidden_size, and training with
 * embedding_size != hidden_size.
 */
#include "model.h"
#include "layers.h"

#include "base/json.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the architecture's own roles */
enum {
    WR_EMBED_PROJ_W = WR_ARCH, WR_EMBED_PROJ_B, /* embed_proj has no bias: WR_EMBED_PROJ_B names nothing */
    WR_REL, WR_REL_LN_G, WR_REL_LN_B,
    WR_POSK_W, WR_POSK_B, WR_POSQ_W, WR_POSQ_B, /* pos_key_proj / pos_query_proj (share_att_key false) */
};

/* ---- config.json ---- */

static bool deb_takes(const char *mt) { return !strcmp(mt, "deberta-v2") || !strcmp(mt, "deberta"); }

/* The next "|"-separated entry of *s, lower-cased (ASCII) and stripped of whitespace as DebertaV2Config splits
 * pos_att_type and norm_rel_ebd, into buf (cut to cap - 1 bytes: then no name bertc knows); *s moves past it, NULL
 * after the last. Empty entries are skipped. false when none is left. */
static bool next_entry(const char **s, char *buf, size_t cap) {
    while (*s) {
        const char *p = *s, *bar = strchr(p, '|'), *e = bar ? bar : p + strlen(p);
        *s = bar ? bar + 1 : NULL;
        while (p < e && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) p++;
        while (e > p && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r'))) e--;
        if (p == e) continue;
        size_t n = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
        for (size_t i = 0; i < n; i++) buf[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        buf[n] = 0;
        return true;
    }
    return false;
}

static bertc_status deb_pos_att_one(const char *t, const char *what, deberta_config *d, bertc_error *err) {
    if (!strcmp(t, "c2p")) d->c2p = true;
    else if (!strcmp(t, "p2c")) d->p2c = true;
    else return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: pos_att_type entry \"%.40s\" is not supported (c2p, p2c)",
                           what, t);
    return BERTC_OK;
}

/* "c2p|p2c" (split on |, lower-cased, stripped, as DebertaV2Config does) or ["c2p", "p2c"]: every entry */
static bertc_status deb_pos_att(const json_t *v, const char *what, deberta_config *d, bertc_error *err) {
    bertc_status s = BERTC_OK;
    if (!v || json_is_null(v)) return BERTC_OK;
    if (json_is_string(v)) {
        char t[64];
        for (const char *p = json_string_value(v); !s && next_entry(&p, t, sizeof t);) s = deb_pos_att_one(t, what, d, err);
    } else if (json_is_array(v)) {
        for (size_t i = 0; !s && i < json_array_size(v); i++) {
            const char *t = json_string_value(json_array_get(v, i));
            if (!t) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: pos_att_type entry %zu is not a string", what, i);
            s = deb_pos_att_one(t, what, d, err);
        }
    } else {
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: pos_att_type is not a string or a list", what);
    }
    return s;
}

static bertc_status deb_config(model_config *c, const cfg_reader *r) {
    const json_t *j = r->j;
    const char *what = r->what;
    bertc_error *err = r->err;
    deberta_config *d = &c->deberta;
    bertc_status s;
    if (!strcmp(c->model_type, "deberta"))
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: model_type deberta (DeBERTa v1) is not supported "
                          "(deberta-v2 is: DeBERTa-v2 and -v3)", what);
    c->arch = BERTC_ARCH_DEBERTA_V2;
    memset(d, 0, sizeof *d);
    int conv = 0, ahs = 0, phs = 0;
    if ((s = cfg_intv(r, "hidden_size", 1536, 1, 65536, false, &c->hidden)) ||
        (s = cfg_intv(r, "num_hidden_layers", 24, 1, 1000, false, &c->layers)) ||
        (s = cfg_intv(r, "num_attention_heads", 24, 1, 65536, false, &c->heads)) ||
        (s = cfg_intv(r, "intermediate_size", 6144, 1, 1 << 20, false, &c->intermediate)) ||
        (s = cfg_intv(r, "type_vocab_size", 0, 0, 1024, false, &c->type_vocab_size)) ||
        (s = cfg_intv(r, "vocab_size", 128100, 1, 1 << 24, false, &c->vocab_size)) ||
        (s = cfg_intv(r, "max_position_embeddings", 512, 1, 1 << 20, false, &c->max_positions)) ||
        (s = cfg_intv(r, "pad_token_id", 0, -(1 << 24), 1 << 24, true, &c->pad_token_id)) ||
        (s = cfg_intv(r, "embedding_size", c->hidden, 1, 65536, true, &d->embedding_size)) ||
        (s = cfg_intv(r, "max_relative_positions", -1, -(1 << 20), 1 << 20, true, &d->max_relative_positions)) ||
        (s = cfg_intv(r, "position_buckets", -1, -(1 << 20), 1 << 16, true, &d->position_buckets)) ||
        (s = cfg_intv(r, "conv_kernel_size", 0, -(1 << 20), 1 << 20, true, &conv)) ||
        (s = cfg_intv(r, "attention_head_size", 0, 0, 65536, true, &ahs)) ||
        (s = cfg_intv(r, "pooler_hidden_size", c->hidden, 1, 65536, true, &phs)))
        return s;
    if (c->hidden % c->heads != 0)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: num_attention_heads %d out of range: hidden_size %d is not a "
                          "multiple of the number of attention heads", what, c->heads, c->hidden);
    if (conv > 0)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: conv_kernel_size %d (DeBERTa-v2's ConvLayer) is not "
                          "supported", what, conv);
    if (ahs && ahs != c->hidden / c->heads)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: attention_head_size %d is not supported (only "
                          "hidden_size / num_attention_heads = %d)", what, ahs, c->hidden / c->heads);
    if (phs != c->hidden)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: pooler_hidden_size %d is not supported (only hidden_size "
                          "%d)", what, phs, c->hidden);
    if (c->pad_token_id < -c->vocab_size || c->pad_token_id >= c->vocab_size)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d out of range for vocab_size %d", what,
                          c->pad_token_id, c->vocab_size);
    if ((s = cfg_ln_eps(r, 1e-7f, &c->ln_eps)) || (s = cfg_act(r, "hidden_act", false, &c->act)) ||
        (s = cfg_act(r, "pooler_hidden_act", true, &d->pooler_act)))
        return s;
    d->relative_attention = jbool(j, "relative_attention", 0);
    d->position_biased_input = jbool(j, "position_biased_input", 1);
    d->share_att_key = jbool(j, "share_att_key", 0);
    d->legacy = jbool(j, "legacy", 1);
    if ((s = deb_pos_att(json_object_get(j, "pos_att_type"), what, d, err))) return s;
    /* norm_rel_ebd: "layer_norm", "none", or both joined by | (lower-cased, stripped) */
    const json_t *nre = json_object_get(j, "norm_rel_ebd");
    if (nre && !json_is_null(nre)) {
        if (!json_is_string(nre)) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: norm_rel_ebd is not a string", what);
        char t[64];
        for (const char *p = json_string_value(nre); next_entry(&p, t, sizeof t);) {
            if (!strcmp(t, "layer_norm")) d->norm_rel_ln = true;
            else if (strcmp(t, "none") != 0)
                return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: norm_rel_ebd entry \"%.40s\" is not supported "
                                  "(layer_norm, none)", what, t);
        }
    }
    if (d->relative_attention) {
        if (d->max_relative_positions < 1) d->max_relative_positions = c->max_positions;
        d->att_span = d->position_buckets > 0 ? d->position_buckets : d->max_relative_positions;
        /* the log buckets divide by log((max_relative_positions - 1) / (position_buckets / 2)) */
        if (d->position_buckets > 0 && d->max_relative_positions - 1 <= d->position_buckets / 2)
            return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: max_relative_positions %d with position_buckets %d is "
                              "not supported (log buckets need max_relative_positions - 1 > position_buckets / 2)",
                              what, d->max_relative_positions, d->position_buckets);
        if (d->position_buckets > 0 && d->position_buckets < 2)
            return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: position_buckets %d is not supported", what,
                              d->position_buckets);
    }
    c->tie_word_embeddings = jbool(j, "tie_word_embeddings", 1);
    if (!d->legacy) c->tie_word_embeddings = true; /* lm_predictions always decodes with the word embeddings */
    if (model_head_of(c) == BERTC_HEAD_MASKED_LM && d->embedding_size != c->hidden)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: a DeBERTa-v2 masked LM with embedding_size %d != "
                          "hidden_size %d is not supported", what, d->embedding_size, c->hidden);
    c->drop.hidden = (float)jnum(j, "hidden_dropout_prob", 0.1);
    c->drop.attention = (float)jnum(j, "attention_probs_dropout_prob", 0.1);
    const json_t *cd = json_object_get(j, "cls_dropout");
    c->drop.classifier = json_is_number(cd) ? (float)json_number_value(cd) : c->drop.hidden;
    c->initializer_range = (float)jnum(j, "initializer_range", 0.02);
    return BERTC_OK;
}

static int deb_position_cap(const model_config *c) { return c->max_positions; }

static const char *deb_class_name(const model_config *c) {
    (void)c;
    return "DebertaV2ForSequenceClassification";
}

static const char *deb_weight_prefix(const model_config *c) {
    (void)c;
    return "deberta.";
}

/* ---- names ---- */

static const char *const body_names[WR_LAYER_LAST + 1] = {
    [WR_WORD] = "embeddings.word_embeddings.weight",
    [WR_POS] = "embeddings.position_embeddings.weight",
    [WR_TYPE] = "embeddings.token_type_embeddings.weight",
    [WR_EMB_LN_G] = "embeddings.LayerNorm.weight",
    [WR_EMB_LN_B] = "embeddings.LayerNorm.bias",
    [WR_Q_W] = "encoder.layer.%d.attention.self.query_proj.weight",
    [WR_K_W] = "encoder.layer.%d.attention.self.key_proj.weight",
    [WR_V_W] = "encoder.layer.%d.attention.self.value_proj.weight",
    [WR_Q_B] = "encoder.layer.%d.attention.self.query_proj.bias",
    [WR_K_B] = "encoder.layer.%d.attention.self.key_proj.bias",
    [WR_V_B] = "encoder.layer.%d.attention.self.value_proj.bias",
    [WR_OUT_W] = "encoder.layer.%d.attention.output.dense.weight",
    [WR_OUT_B] = "encoder.layer.%d.attention.output.dense.bias",
    [WR_LN1_G] = "encoder.layer.%d.attention.output.LayerNorm.weight",
    [WR_LN1_B] = "encoder.layer.%d.attention.output.LayerNorm.bias",
    [WR_FFN1_W] = "encoder.layer.%d.intermediate.dense.weight",
    [WR_FFN1_B] = "encoder.layer.%d.intermediate.dense.bias",
    [WR_FFN2_W] = "encoder.layer.%d.output.dense.weight",
    [WR_FFN2_B] = "encoder.layer.%d.output.dense.bias",
    [WR_LN2_G] = "encoder.layer.%d.output.LayerNorm.weight",
    [WR_LN2_B] = "encoder.layer.%d.output.LayerNorm.bias",
};

/* the heads: DebertaV2ForSequenceClassification (ContextPooler "pooler.dense", "classifier"), ForTokenClassification,
 * ForQuestionAnswering, ForMaskedLM legacy (cls.predictions.*) then not (lm_predictions.lm_head.*) */
static const char *const head_names[WR_COUNT - WR_CLS_DENSE_W][2] = {
    [WR_CLS_DENSE_W - WR_CLS_DENSE_W] = {"pooler.dense.weight", NULL},
    [WR_CLS_DENSE_B - WR_CLS_DENSE_W] = {"pooler.dense.bias", NULL},
    [WR_CLS_OUT_W - WR_CLS_DENSE_W] = {"classifier.weight", NULL},
    [WR_CLS_OUT_B - WR_CLS_DENSE_W] = {"classifier.bias", NULL},
    [WR_TOK_OUT_W - WR_CLS_DENSE_W] = {"classifier.weight", NULL},
    [WR_TOK_OUT_B - WR_CLS_DENSE_W] = {"classifier.bias", NULL},
    [WR_QA_OUT_W - WR_CLS_DENSE_W] = {"qa_outputs.weight", NULL},
    [WR_QA_OUT_B - WR_CLS_DENSE_W] = {"qa_outputs.bias", NULL},
    [WR_MLM_DENSE_W - WR_CLS_DENSE_W] = {"cls.predictions.transform.dense.weight", "lm_predictions.lm_head.dense.weight"},
    [WR_MLM_DENSE_B - WR_CLS_DENSE_W] = {"cls.predictions.transform.dense.bias", "lm_predictions.lm_head.dense.bias"},
    [WR_MLM_LN_G - WR_CLS_DENSE_W] = {"cls.predictions.transform.LayerNorm.weight", "lm_predictions.lm_head.LayerNorm.weight"},
    [WR_MLM_LN_B - WR_CLS_DENSE_W] = {"cls.predictions.transform.LayerNorm.bias", "lm_predictions.lm_head.LayerNorm.bias"},
    [WR_MLM_DEC_W - WR_CLS_DENSE_W] = {"cls.predictions.decoder.weight", NULL},
    [WR_MLM_DEC_B - WR_CLS_DENSE_W] = {"cls.predictions.decoder.bias", "lm_predictions.lm_head.bias"},
    [WR_MLM_BIAS - WR_CLS_DENSE_W] = {"cls.predictions.bias", "lm_predictions.lm_head.bias"},
};

static bool deb_weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0,
                            int64_t *d1) {
    const deberta_config *d = &c->deberta;
    const int64_t H = c->hidden, I = c->intermediate, V = c->vocab_size, E = d->embedding_size;
    const bool rel = d->relative_attention;
    int64_t s0 = H, s1 = 0;
    if (role < 0) return false;
    if (role <= WR_LAYER_LAST) {
        if ((role == WR_TYPE && c->type_vocab_size <= 0) || (role == WR_POS && !d->position_biased_input)) return false;
        char fmt[128];
        snprintf(fmt, sizeof fmt, "deberta.%s", body_names[role]);
        snprintf(name, cap, fmt, l);
    } else if (role < WR_COUNT) {
        const char *f = head_names[role - WR_CLS_DENSE_W][d->legacy ? 0 : 1];
        if (!d->legacy && !f && role < WR_MLM_DENSE_W) f = head_names[role - WR_CLS_DENSE_W][0];
        if (!f) return false;
        snprintf(name, cap, "%s", f);
    } else {
        switch (role) {
        case WR_EMBED_PROJ_W:
            if (E == H) return false;
            snprintf(name, cap, "deberta.embeddings.embed_proj.weight");
            break;
        case WR_REL:
            if (!rel) return false;
            snprintf(name, cap, "deberta.encoder.rel_embeddings.weight");
            break;
        case WR_REL_LN_G: case WR_REL_LN_B:
            if (!d->norm_rel_ln) return false;
            snprintf(name, cap, "deberta.encoder.LayerNorm.%s", role == WR_REL_LN_G ? "weight" : "bias");
            break;
        case WR_POSK_W: case WR_POSK_B:
            if (!rel || d->share_att_key || !d->c2p) return false;
            snprintf(name, cap, "deberta.encoder.layer.%d.attention.self.pos_key_proj.%s", l,
                     role == WR_POSK_W ? "weight" : "bias");
            break;
        case WR_POSQ_W: case WR_POSQ_B:
            if (!rel || d->share_att_key || !d->p2c) return false;
            snprintf(name, cap, "deberta.encoder.layer.%d.attention.self.pos_query_proj.%s", l,
                     role == WR_POSQ_W ? "weight" : "bias");
            break;
        default: return false;
        }
    }
    switch (role) {
    case WR_WORD: s0 = V, s1 = E; break;
    case WR_MLM_DEC_W: s0 = V, s1 = H; break;
    case WR_POS: s0 = c->max_positions, s1 = E; break;
    case WR_TYPE: s0 = c->type_vocab_size, s1 = E; break;
    case WR_EMBED_PROJ_W: s0 = H, s1 = E; break;
    case WR_REL: s0 = 2 * (int64_t)d->att_span, s1 = H; break;
    case WR_FFN1_W: s0 = I, s1 = H; break;
    case WR_FFN2_W: s0 = H, s1 = I; break;
    case WR_CLS_OUT_W: case WR_TOK_OUT_W: s0 = n_labels, s1 = H; break;
    case WR_QA_OUT_W: s0 = 2, s1 = H; break;
    case WR_Q_W: case WR_K_W: case WR_V_W: case WR_OUT_W: case WR_CLS_DENSE_W: case WR_MLM_DENSE_W:
    case WR_POSK_W: case WR_POSQ_W: s1 = H; break;
    case WR_FFN1_B: s0 = I; break;
    case WR_CLS_OUT_B: case WR_TOK_OUT_B: s0 = n_labels; break;
    case WR_QA_OUT_B: s0 = 2; break;
    case WR_MLM_DEC_B: case WR_MLM_BIAS: s0 = V; break;
    default: break; /* biases of H outputs, LayerNorms */
    }
    if (d0) *d0 = s0;
    if (d1) *d1 = s1;
    return true;
}

static enum epilogue deb_head_act(const model_config *c, bertc_head head) {
    return head == BERTC_HEAD_MASKED_LM ? c->act : c->deberta.pooler_act;
}

static bool deb_weight_in_layers(const model_config *c, const char *name) {
    (void)c;
    if (!strncmp(name, "deberta.", 8)) name += 8;
    return !strncmp(name, "encoder.layer.", 14);
}

static void deb_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos) {
    (void)c;
    (void)ids;
    for (size_t t = 0; t < n; t++) pos[t] = (int)t;
}

/* ---- the relative positions ---- */

/* transformers' make_log_bucket_position for one relative position, in its float32 arithmetic (the ceil of a
 * float32 quotient decides the bucket) */
static int log_bucket(int rel, int buckets, int max_position) {
    int mid = buckets / 2;
    int abs_pos = rel < mid && rel > -mid ? mid - 1 : (rel < 0 ? -rel : rel);
    if (abs_pos <= mid) return rel;
    float lg = logf((float)abs_pos / (float)mid);
    float den = logf((float)((double)(max_position - 1) / (double)mid));
    float lp = ceilf(lg / den * (float)(mid - 1)) + (float)mid;
    return (int)(rel < 0 ? -lp : lp);
}

/* the relative embedding row of query i and key j: r = clamp(bucket(i - j) + span, 0, 2 span - 1) */
static int rel_row(const deberta_config *d, int rel) {
    int b = d->position_buckets > 0 ? log_bucket(rel, d->position_buckets, d->max_relative_positions) : rel;
    int r = b + d->att_span;
    return r < 0 ? 0 : r > 2 * d->att_span - 1 ? 2 * d->att_span - 1 : r;
}

/* ---- the weights: bert.c's layout, then embed_proj and the relative projections ---- */

typedef struct deb_ext {
    packed_linear embed_proj; /* [H, E], no bias (E != H) */
    bool has_proj;
    float **pk, **pq; /* per layer [heads][2 span][dh]: key (c2p) and query (p2c) projections of the relative rows */
} deb_ext;

static void deb_free_ext(bertc_model *m) {
    deb_ext *x = m->ext;
    if (!x) return;
    if (x->has_proj) linear_free(&x->embed_proj);
    for (int l = 0; l < m->cfg.layers; l++) {
        if (x->pk) free(x->pk[l]);
        if (x->pq) free(x->pq[l]);
    }
    free(x->pk);
    free(x->pq);
    free(x);
    m->ext = NULL;
}

/* dst [heads][R][dh] = rel W^T + bias, by head, for the linear of roles rw, rb, layer l: in fp32 whatever the model's compute (as
 * transformers computes them; made once at load, so their precision costs nothing per call) */
static void rel_project(bertc_model *m, binder *b, int rw, int rb, int l, const float *rel, int R, float *dst) {
    const int H = m->cfg.hidden;
    b->transient = true;
    const float *W = bind_get(b, rw, l);
    b->transient = false;
    const float *bias = bind_get(b, rb, l);
    if (b->s) return;
    packed_linear pl = {0};
    float *tmp = malloc((size_t)R * H * sizeof(float));
    if (!tmp || !linear_pack(&pl, W, bias, H, H)) {
        free(tmp);
        b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
        return;
    }
    linear_forward(NULL, tmp, rel, &pl, R, EPI_NONE, NULL);
    linear_free(&pl);
    const int nh = m->cfg.heads, dh = H / nh; /* per head: dst[h][r][0..dh) */
    for (int h = 0; h < nh; h++)
        for (int r = 0; r < R; r++)
            memcpy(dst + ((size_t)h * R + r) * dh, tmp + (size_t)r * H + h * dh, (size_t)dh * sizeof(float));
    free(tmp);
}

static bertc_status deb_bind(bertc_model *m, binder *b) {
    const model_config *c = &m->cfg;
    const deberta_config *d = &c->deberta;
    const int H = c->hidden, R = 2 * d->att_span;
    deb_ext *x = calloc(1, sizeof *x);
    if (!x) return b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
    m->ext = x;
    /* the relative projections first: they read the query / key weights as the checkpoint has them */
    if (d->relative_attention && (d->c2p || d->p2c)) {
        const float *rel0 = bind_get(b, WR_REL, 0);
        const float *g = d->norm_rel_ln ? bind_get(b, WR_REL_LN_G, 0) : NULL;
        const float *bb = d->norm_rel_ln ? bind_get(b, WR_REL_LN_B, 0) : NULL;
        if (b->s) return b->s;
        const uint64_t n_params = m->n_params;
        float *rel = malloc((size_t)R * H * sizeof(float));
        x->pk = calloc((size_t)c->layers, sizeof *x->pk);
        x->pq = calloc((size_t)c->layers, sizeof *x->pq);
        if (!rel || !x->pk || !x->pq) b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
        if (!b->s) {
            memcpy(rel, rel0, (size_t)R * H * sizeof(float));
            if (d->norm_rel_ln) layernorm(rel, g, bb, R, H, c->ln_eps);
        }
        for (int l = 0; l < c->layers && !b->s; l++) {
            if ((d->c2p && !(x->pk[l] = malloc((size_t)R * H * sizeof(float)))) ||
                (d->p2c && !(x->pq[l] = malloc((size_t)R * H * sizeof(float))))) {
                b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            /* share_att_key: query_proj / key_proj (read here before model_bind_bert packs them and hands their
             * pages back; counted there), else pos_query_proj / pos_key_proj */
            if (d->c2p)
                rel_project(m, b, d->share_att_key ? WR_K_W : WR_POSK_W, d->share_att_key ? WR_K_B : WR_POSK_B, l, rel,
                            R, x->pk[l]);
            if (d->p2c)
                rel_project(m, b, d->share_att_key ? WR_Q_W : WR_POSQ_W, d->share_att_key ? WR_Q_B : WR_POSQ_B, l, rel,
                            R, x->pq[l]);
        }
        m->n_params = n_params;
        if (!d->share_att_key) /* pos_key_proj / pos_query_proj are the model's own parameters */
            for (int l = 0; l < c->layers; l++)
                m->n_params += (uint64_t)((d->c2p ? 1 : 0) + (d->p2c ? 1 : 0)) * ((uint64_t)H * H + (uint64_t)H);
        free(rel);
        if (b->s) return b->s;
    }
    bertc_status st = model_bind_bert(m, b); /* (its out-of-memory for the layer table is not in b->s) */
    if (st) return b->s = st;
    if (d->embedding_size != H) {
        bind_linear(b, &x->embed_proj, WR_EMBED_PROJ_W, 0);
        x->has_proj = !b->s;
    }
    if (b->s) return b->s;
    return model_bind_heads(m, b);
}

/* ---- the forward pass ---- */

static bertc_status deb_train_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                                      float *emb_out, float *logits_out, bertc_error *err);

typedef struct deb_att_job {
    float *ctx;
    const float *qkv;
    const int *seq_off, *seq_len;
    int heads, H, dh, max_T, R;
    float inv_scale;
    const float *pk, *pq; /* this layer's projections per head, [heads][2 span][dh], or NULL */
    const int *rrow;      /* rrow[i - j + max_T - 1]: the relative row of query i, key j */
    _Atomic int failed;   /* out of memory in a task */
} deb_att_job;

/* One (sequence, head): S = q k^T, C2P = q pk_w^T and P2C = k pq_w^T over the window w of relative rows this
 * sequence reaches (at most 2 T - 1 of them, fewer with buckets), all three through the GEMM; then row by row
 * score(i, j) = (S[i, j] + C2P[i, r] + P2C[j, r]) / scale with r = rrow(i - j), softmax, and P v through the GEMM. */
static void deb_att_task(void *p, int task, int n_tasks) {
    (void)n_tasks;
    deb_att_job *j = p;
    const int s = task / j->heads, h = task % j->heads, T = j->seq_len[s], H = j->H, dh = j->dh, H3 = 3 * H;
    const size_t off = (size_t)j->seq_off[s];
    const float *qkv = j->qkv + off * H3;
    const int *rr = j->rrow + j->max_T - 1;
    const bool rel = j->pk || j->pq;
    const int rmin = rel ? rr[-(T - 1)] : 0, Wn = rel ? rr[T - 1] - rmin + 1 : 0;
    size_t sizes[7] = {(size_t)T * dh * 4, (size_t)T * dh * 4, (size_t)T * dh * 4, (size_t)T * T * 4,
                       j->pk ? (size_t)T * Wn * 4 : 4, j->pq ? (size_t)T * Wn * 4 : 4, (size_t)T * dh * 4};
    void *part[7];
    if (!scratch_take(SCRATCH_ATTN, sizes, part, 7)) {
        j->failed = 1;
        return;
    }
    float *q = part[0], *k = part[1], *vt = part[2], *S = part[3], *c2p = part[4], *p2c = part[5], *o = part[6];
    for (int t = 0; t < T; t++) {
        memcpy(q + (size_t)t * dh, qkv + (size_t)t * H3 + h * dh, (size_t)dh * sizeof(float));
        memcpy(k + (size_t)t * dh, qkv + (size_t)t * H3 + H + h * dh, (size_t)dh * sizeof(float));
        for (int e = 0; e < dh; e++) vt[(size_t)e * T + t] = qkv[(size_t)t * H3 + 2 * H + h * dh + e];
    }
    packed_linear pl = {0};
    if (!linear_pack(&pl, k, NULL, T, dh)) goto oom;
    linear_forward(NULL, S, q, &pl, T, EPI_NONE, NULL);
    linear_free(&pl);
    if (j->pk) {
        if (!linear_pack(&pl, j->pk + ((size_t)h * j->R + rmin) * dh, NULL, Wn, dh)) goto oom;
        linear_forward(NULL, c2p, q, &pl, T, EPI_NONE, NULL);
        linear_free(&pl);
    }
    if (j->pq) {
        if (!linear_pack(&pl, j->pq + ((size_t)h * j->R + rmin) * dh, NULL, Wn, dh)) goto oom;
        linear_forward(NULL, p2c, k, &pl, T, EPI_NONE, NULL);
        linear_free(&pl);
    }
    for (int i = 0; i < T; i++) {
        float *row = S + (size_t)i * T, mx = -INFINITY;
        const float *ci = c2p + (size_t)i * Wn;
        for (int t = 0; t < T; t++) {
            int r = rr[i - t] - rmin;
            float sc = row[t];
            if (j->pk) sc += ci[r];
            if (j->pq) sc += p2c[(size_t)t * Wn + r];
            sc *= j->inv_scale;
            row[t] = sc;
            if (sc > mx) mx = sc;
        }
        float sum = 0;
        for (int t = 0; t < T; t++) sum += row[t] = expf(row[t] - mx);
        float inv = 1.0f / sum;
        for (int t = 0; t < T; t++) row[t] *= inv;
    }
    if (!linear_pack(&pl, vt, NULL, dh, T)) goto oom;
    linear_forward(NULL, o, S, &pl, T, EPI_NONE, NULL);
    linear_free(&pl);
    for (int i = 0; i < T; i++)
        memcpy(j->ctx + (off + (size_t)i) * H + h * dh, o + (size_t)i * dh, (size_t)dh * sizeof(float));
    return;
oom:
    j->failed = 1;
}

static bertc_status deb_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                                float *emb_out, float *logits_out, bertc_error *err) {
    const model_config *c = &m->cfg;
    const deberta_config *d = &c->deberta;
    const deb_ext *x = m->ext;
    const int H = c->hidden, I = c->intermediate, nh = c->heads, E = d->embedding_size;
    if (m->train) return deb_train_forward(m, encs, n, hidden_out, emb_out, logits_out, err);
    size_t M = 0;
    int max_T = 1;
    bertc_status st = model_check_batch(m, encs, n, tokenizer_default_max_length(m->tok), true, &M, &max_T, err);
    if (st) return st;
    if (n == 0) return BERTC_OK;
    if (m->pos && max_T > c->max_positions)
        return bertc_fail(err, BERTC_ERR_INPUT, "an input is longer than the model's %d positions", c->max_positions);
    const size_t MH = M * (size_t)H;
    size_t sizes[9] = {n * sizeof(int), n * sizeof(int), MH * 4, MH * 3 * 4, MH * 4, MH * 4, M * (size_t)I * 4,
                       2 * (size_t)max_T * sizeof(int), E != H ? M * (size_t)E * 4 : 4};
    void *part[9];
    if (!scratch_take(SCRATCH_ACTIVATIONS, sizes, part, 9))
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    int *seq_off = part[0], *seq_len = part[1], *rrow = part[7];
    float *hs = part[2], *qkv = part[3], *ctx = part[4], *x1 = part[5], *h = part[6];
    float *e = E != H ? (float *)part[8] : hs;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        seq_off[i] = (int)off;
        seq_len[i] = (int)encs[i].n;
        off += encs[i].n;
    }
    /* embeddings: word (+ position) (+ token type), embed_proj, LayerNorm */
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++) {
            float *r = e + ((size_t)seq_off[i] + t) * E;
            memcpy(r, m->word + (size_t)encs[i].ids[t] * E, (size_t)E * sizeof(float));
            if (m->pos) {
                const float *pe = m->pos + t * E;
                for (int k = 0; k < E; k++) r[k] += pe[k];
            }
            if (m->type) {
                const float *te = m->type + (size_t)(encs[i].type_ids ? encs[i].type_ids[t] : 0) * E;
                for (int k = 0; k < E; k++) r[k] += te[k];
            }
        }
    if (E != H) linear_forward(m->pool, hs, e, &x->embed_proj, (int)M, EPI_NONE, NULL);
    layernorm_pool(m->pool, hs, m->emb_ln_g, m->emb_ln_b, (int)M, H, c->ln_eps);
    if (emb_out) memcpy(emb_out, hs, MH * sizeof(float));
    /* relative rows */
    bool rel = d->relative_attention && (d->c2p || d->p2c);
    for (int k = -(max_T - 1); k <= max_T - 1 && rel; k++) rrow[k + max_T - 1] = rel_row(d, k);
    int n_att = 1 + (d->c2p ? 1 : 0) + (d->p2c ? 1 : 0);
    deb_att_job aj = {ctx, qkv, seq_off, seq_len, nh, H, H / nh, max_T, 2 * d->att_span,
                      1.0f / sqrtf((float)(H / nh) * (float)n_att), NULL, NULL, rrow, 0};
    for (int l = 0; l < c->layers; l++) {
        const layer_w *L = &m->layer[l];
        linear_forward(m->pool, qkv, hs, &L->qkv, (int)M, EPI_NONE, NULL);
        aj.pk = rel && d->c2p ? x->pk[l] : NULL;
        aj.pq = rel && d->p2c ? x->pq[l] : NULL;
        threadpool_run(m->pool, deb_att_task, &aj, (int)n * nh);
        if (aj.failed) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory in attention over %d tokens", max_T);
        linear_forward(m->pool, x1, ctx, &L->out, (int)M, EPI_NONE, hs);
        layernorm_pool(m->pool, x1, L->ln1_g, L->ln1_b, (int)M, H, c->ln_eps);
        linear_forward(m->pool, h, x1, &L->ffn1, (int)M, c->act, NULL);
        linear_forward(m->pool, hs, h, &L->ffn2, (int)M, EPI_NONE, x1);
        layernorm_pool(m->pool, hs, L->ln2_g, L->ln2_b, (int)M, H, c->ln_eps);
    }
    if (hidden_out) memcpy(hidden_out, hs, MH * sizeof(float));
    if (logits_out && m->has_head) { /* ContextPooler: token 0, dense + pooler_hidden_act, then the classifier */
        for (size_t i = 0; i < n; i++) memcpy(ctx + i * H, hs + (size_t)seq_off[i] * H, (size_t)H * sizeof(float));
        linear_forward(m->pool, x1, ctx, &m->head_dense, (int)n, m->head_act, NULL);
        linear_forward(m->pool, logits_out, x1, &m->head_out, (int)n, EPI_NONE, NULL);
    }
    return BERTC_OK;
}

/* ---- training: the forward keeping what the backward needs, and the backward ----
 *
 * As transformers trains DebertaV2ForSequenceClassification: dropout (hidden_dropout_prob) on the embeddings after
 * their LayerNorm, on each layer's relative embeddings (its pos_dropout, before the projections), on the attention
 * output and the FFN output before their residual adds; attention_probs_dropout_prob on the softmax probabilities;
 * cls_dropout (else hidden_dropout_prob) on the pooled output before the classifier. ContextPooler's own dropout
 * (pooler_dropout, 0 in the released checkpoints) is not applied. The relative projections are made from the current
 * weights at every step (the inference path makes them once at load). Refused: embedding_size != hidden_size. */

/* dropout sites: the embeddings, the classifier's input, layer l's 16 + 4 l + {0 probabilities, 1 attention output,
 * 2 FFN output, 3 relative embeddings} */
enum { DSITE_EMB = 1, DSITE_HEAD = 3, DSITE_LAYER = 16 };

typedef struct deb_acts {
    size_t floats; /* the block's size after this header */
    float *xs;     /* (layers + 1) x M x H: layer inputs / outputs (xs[0]: the embeddings after dropout) */
    float *qkv, *P, *ctx, *xhat1, *x1, *xhat2, *rstd1, *rstd2, *hpre; /* per layer */
    float *xhat_e, *rstd_e;
    float *reln, *xhat_r, *rstd_r; /* the relative rows after their LayerNorm (R x H) and what it kept */
    float *reld, *pk, *pq;         /* per layer, R x H: the rows after dropout, their key and query projections */
    float *cls, *hpre_head, *hact, *hdrop, *dlogits;
    float *h, *dh, *d0, *d1, *d2, *d3, *dqkv, *dpk, *dpq, *dreld, *drel, *wt, *tmp3;
    float *dyt, *xpack, *dwb, *zeros, *att;
    int *seq_off, *seq_len, *rrow;
    size_t *pofs, P_layer;
    int M, n, max_T, R;
} deb_acts;

static float dp(const encoder_train *tr, float p) { return tr->dropout ? p : 0.0f; }

static deb_acts *deb_acts_reserve(const bertc_model *m, size_t M, size_t n, size_t P, int max_T) {
    encoder_train *tr = m->train;
    const model_config *c = &m->cfg;
    const size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, Ly = (size_t)c->layers, L = (size_t)c->n_labels;
    const size_t R = c->deberta.relative_attention ? 2 * (size_t)c->deberta.att_span : 0, nh = (size_t)c->heads;
    size_t maxM = M > R ? M : R, maxN = 3 * H > I ? 3 * H : I;
    if (L > maxN) maxN = L;
    size_t panels = ((H > I ? H : I) + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
    size_t xp = maxM > (size_t)bf16_pairs((int)maxM) ? maxM : (size_t)bf16_pairs((int)maxM);
    size_t wmax = 3 * H * H > I * H ? 3 * H * H : I * H;
    if (L * H > wmax) wmax = L * H;
    const size_t sz[] = {
        (Ly + 1) * M * H, Ly * M * 3 * H, Ly * P, Ly * M * H, Ly * M * H, Ly * M * H, Ly * M * H, Ly * M, Ly * M,
        Ly * M * I, M * H, M, R * H, R * H, R, Ly * R * H, Ly * R * H, Ly * R * H,
        n * H, n * H, n * H, n * H, n * L,
        M * I, M * I, M * H, M * H, M * H, M * H, M * 3 * H, R * H, R * H, R * H, R * H, H * H, R * 3 * H,
        maxN * maxM, panels * xp, wmax, panels, nh * (size_t)max_T,
        n, n, 2 * (size_t)max_T, 2 * n, /* ints and size_t in float-sized slots */
    };
    enum { NS = sizeof sz / sizeof sz[0] };
    deb_acts *a = acts_block(&tr->arch_acts, sizeof *a, sz, NS);
    if (!a) return NULL;
    float **dst[] = {&a->xs, &a->qkv, &a->P, &a->ctx, &a->xhat1, &a->x1, &a->xhat2, &a->rstd1, &a->rstd2, &a->hpre,
                     &a->xhat_e, &a->rstd_e, &a->reln, &a->xhat_r, &a->rstd_r, &a->reld, &a->pk, &a->pq,
                     &a->cls, &a->hpre_head, &a->hact, &a->hdrop, &a->dlogits,
                     &a->h, &a->dh, &a->d0, &a->d1, &a->d2, &a->d3, &a->dqkv, &a->dpk, &a->dpq, &a->dreld, &a->drel,
                     &a->wt, &a->tmp3, &a->dyt, &a->xpack, &a->dwb, &a->zeros, &a->att};
    enum { ND = sizeof dst / sizeof dst[0] };
    void *rest[NS - ND];
    acts_carve(a, sizeof *a, sz, NS, dst, ND, rest);
    a->seq_off = rest[0], a->seq_len = rest[1], a->rrow = rest[2], a->pofs = rest[3];
    memset(a->zeros, 0, panels * sizeof(float));
    a->P_layer = P;
    a->M = (int)M, a->n = (int)n, a->max_T = max_T, a->R = (int)R;
    return a;
}

static dw_scratch deb_dw(const encoder_train *tr, const deb_acts *a) {
    dw_scratch d = {a->dyt, a->xpack, a->dwb, a->zeros, tr->bf16};
    return d;
}

/* out [rows, H] = x [rows, H] W^T + b, or (transposed) x W, with W [H, H] fp32 in the parameter buffer: packed here
 * (the relative projections: R rows, once per layer per step) */
static bool deb_lin(const bertc_model *m, deb_acts *a, float *out, const float *x, const float *W, const float *b,
                    int rows, bool transposed) {
    const int H = m->cfg.hidden;
    const float *use = W;
    if (transposed) {
        for (int r = 0; r < H; r++)
            for (int k = 0; k < H; k++) a->wt[(size_t)k * H + r] = W[(size_t)r * H + k];
        use = a->wt;
    }
    packed_linear pl = {0};
    if (!linear_pack(&pl, use, transposed ? NULL : b, H, H)) return false;
    linear_forward(m->pool, out, x, &pl, rows, EPI_NONE, NULL);
    linear_free(&pl);
    return true;
}

/* the position projections' weights and their gradients of layer l: share_att_key: the query / key rows of q|k|v */
static void deb_pos_params(const bertc_model *m, int l, bool key, float **W, float **b, float **gW, float **gb) {
    const encoder_train *tr = m->train;
    const int H = m->cfg.hidden;
    size_t wo, bo;
    if (m->cfg.deberta.share_att_key) {
        wo = tr->L[l].qkv_w + (key ? (size_t)H * H : 0);
        bo = tr->L[l].qkv_b + (key ? (size_t)H : 0);
    } else {
        int rw = (key ? WR_POSK_W : WR_POSQ_W) - WR_ARCH;
        wo = tr->arch[rw] + (size_t)l * tr->arch_stride[rw];
        bo = tr->arch[rw + 1] + (size_t)l * tr->arch_stride[rw + 1];
    }
    *W = tr->w + wo, *b = tr->w + bo, *gW = tr->g + wo, *gb = tr->g + bo;
}

typedef struct deb_tatt {
    const bertc_model *m;
    deb_acts *a;
    int l;
    float inv_scale, p;
    uint64_t sk;
    const float *qkv, *pk, *pq, *dctx;
    float *P, *ctx, *dqkv, *dpk, *dpq;
} deb_tatt;

/* forward, one (sequence, head): P = softmax of the scores (kept before dropout), ctx = dropout(P) v */
static void deb_tatt_fwd(void *p, int task, int n_tasks) {
    (void)n_tasks;
    deb_tatt *j = p;
    const deb_acts *a = j->a;
    const int nh = j->m->cfg.heads, H = j->m->cfg.hidden, dh = H / nh, H3 = 3 * H;
    const int s = task / nh, h = task % nh, T = a->seq_len[s];
    const size_t off = (size_t)a->seq_off[s];
    const float *qkv = j->qkv + off * H3;
    const int *rr = a->rrow + a->max_T - 1;
    float *Ph = j->P + a->pofs[s] + (size_t)h * T * T;
    for (int i = 0; i < T; i++) {
        const float *q = qkv + (size_t)i * H3 + h * dh;
        float *row = Ph + (size_t)i * T, mx = -INFINITY;
        for (int t = 0; t < T; t++) {
            const float *k = qkv + (size_t)t * H3 + H + h * dh;
            float sc = 0;
            for (int e = 0; e < dh; e++) sc += q[e] * k[e];
            if (j->pk) {
                const float *pk = j->pk + (size_t)rr[i - t] * H + h * dh;
                for (int e = 0; e < dh; e++) sc += q[e] * pk[e];
            }
            if (j->pq) {
                const float *pq = j->pq + (size_t)rr[i - t] * H + h * dh;
                for (int e = 0; e < dh; e++) sc += k[e] * pq[e];
            }
            sc *= j->inv_scale;
            row[t] = sc;
            if (sc > mx) mx = sc;
        }
        float sum = 0;
        for (int t = 0; t < T; t++) sum += row[t] = expf(row[t] - mx);
        float inv = 1.0f / sum;
        for (int t = 0; t < T; t++) row[t] *= inv;
        float *o = j->ctx + (off + (size_t)i) * H + h * dh;
        for (int e = 0; e < dh; e++) o[e] = 0;
        const float scale = j->p > 0 ? 1.0f / (1.0f - j->p) : 1.0f;
        for (int t = 0; t < T; t++) {
            float w = row[t];
            if (j->p > 0) w *= drop_factor(j->sk, a->pofs[s] + (size_t)h * T * T + (size_t)i * T + t, j->p, scale);
            const float *v = qkv + (size_t)t * H3 + 2 * H + h * dh;
            for (int e = 0; e < dh; e++) o[e] += w * v[e];
        }
    }
}

/* backward, one head over every sequence (the relative rows' gradients are the head's columns of dpk / dpq) */
static void deb_tatt_bwd(void *p, int h, int n_tasks) {
    (void)n_tasks;
    deb_tatt *j = p;
    const deb_acts *a = j->a;
    const int nh = j->m->cfg.heads, H = j->m->cfg.hidden, dh = H / nh, H3 = 3 * H;
    const float scale = j->p > 0 ? 1.0f / (1.0f - j->p) : 1.0f;
    float *dP = a->att + (size_t)h * a->max_T;
    for (int s = 0; s < a->n; s++) {
        const int T = a->seq_len[s];
        const size_t off = (size_t)a->seq_off[s];
        const float *qkv = j->qkv + off * H3;
        float *dqkv = j->dqkv + off * H3;
        const int *rr = a->rrow + a->max_T - 1;
        const float *Ph = j->P + a->pofs[s] + (size_t)h * T * T;
        for (int t = 0; t < T; t++) memset(dqkv + (size_t)t * H3 + h * dh, 0, (size_t)dh * sizeof(float)),
                                    memset(dqkv + (size_t)t * H3 + H + h * dh, 0, (size_t)dh * sizeof(float)),
                                    memset(dqkv + (size_t)t * H3 + 2 * H + h * dh, 0, (size_t)dh * sizeof(float));
        for (int i = 0; i < T; i++) {
            const float *row = Ph + (size_t)i * T, *dc = j->dctx + (off + (size_t)i) * H + h * dh;
            const float *q = qkv + (size_t)i * H3 + h * dh;
            float *dq = dqkv + (size_t)i * H3 + h * dh;
            float dot = 0;
            for (int t = 0; t < T; t++) {
                float f = j->p > 0 ? drop_factor(j->sk, a->pofs[s] + (size_t)h * T * T + (size_t)i * T + t, j->p, scale)
                                   : 1.0f;
                const float *v = qkv + (size_t)t * H3 + 2 * H + h * dh;
                float *dv = dqkv + (size_t)t * H3 + 2 * H + h * dh;
                float d = 0, w = row[t] * f;
                for (int e = 0; e < dh; e++) {
                    d += dc[e] * v[e];
                    dv[e] += w * dc[e];
                }
                dP[t] = d * f;
                dot += row[t] * dP[t];
            }
            for (int t = 0; t < T; t++) {
                float g = row[t] * (dP[t] - dot) * j->inv_scale;
                const float *k = qkv + (size_t)t * H3 + H + h * dh;
                float *dk = dqkv + (size_t)t * H3 + H + h * dh;
                for (int e = 0; e < dh; e++) {
                    dq[e] += g * k[e];
                    dk[e] += g * q[e];
                }
                if (j->pk) {
                    const float *pk = j->pk + (size_t)rr[i - t] * H + h * dh;
                    float *dpk = j->dpk + (size_t)rr[i - t] * H + h * dh;
                    for (int e = 0; e < dh; e++) {
                        dq[e] += g * pk[e];
                        dpk[e] += g * q[e];
                    }
                }
                if (j->pq) {
                    const float *pq = j->pq + (size_t)rr[i - t] * H + h * dh;
                    float *dpq = j->dpq + (size_t)rr[i - t] * H + h * dh;
                    for (int e = 0; e < dh; e++) {
                        dk[e] += g * pq[e];
                        dpq[e] += g * k[e];
                    }
                }
            }
        }
    }
}

/* x1 = LayerNorm(dropout(in W^T + b) + res), keeping x-hat and 1 / std */
static void deb_resnorm(const bertc_model *m, float *out, float *xhat, float *rstd, const float *in,
                        const packed_linear *pl, const float *res, const float *g, const float *b, int M, float p,
                        uint64_t sk, float *tmp) {
    const int H = m->cfg.hidden;
    linear_forward(m->pool, tmp, in, pl, M, EPI_NONE, NULL);
    dropout_apply(tmp, (size_t)M * H, p, sk);
    add_into(m->pool, tmp, res, (size_t)M * H);
    ln_forward(m->pool, out, xhat, rstd, tmp, g, b, M, H, m->cfg.ln_eps);
}

static bertc_status deb_train_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                                      float *emb_out, float *logits_out, bertc_error *err) {
    const model_config *c = &m->cfg;
    const deberta_config *d = &c->deberta;
    encoder_train *tr = m->train;
    const int H = c->hidden, I = c->intermediate, nh = c->heads;
    if (d->embedding_size != H)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "training deberta-v2 with embedding_size %d != hidden_size %d "
                          "(embed_proj) is not supported", d->embedding_size, H);
    if (n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "empty batch");
    size_t M = 0, P = 0;
    int max_T = 1;
    bertc_status st = model_check_batch(m, encs, n, 0, true, &M, &max_T, err);
    if (st) return st;
    for (size_t i = 0; i < n; i++) P += (size_t)nh * encs[i].n * encs[i].n;
    if (m->pos && max_T > c->max_positions)
        return bertc_fail(err, BERTC_ERR_INPUT, "an input is longer than the model's %d positions", c->max_positions);
    deb_acts *a = deb_acts_reserve(m, M, n, P, max_T);
    if (!a) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for a batch of %zu tokens", M);
    tr->dlogits = a->dlogits;
    const size_t MH = M * (size_t)H;
    size_t off = 0, poff = 0;
    for (size_t i = 0; i < n; i++) {
        a->seq_off[i] = (int)off;
        a->seq_len[i] = (int)encs[i].n;
        a->pofs[i] = poff;
        off += encs[i].n;
        poff += (size_t)nh * encs[i].n * encs[i].n;
    }
    /* embeddings */
    float *e = a->d0;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++) {
            float *r = e + ((size_t)a->seq_off[i] + t) * H;
            memcpy(r, m->word + (size_t)encs[i].ids[t] * H, (size_t)H * sizeof(float));
            if (m->pos)
                for (int k = 0; k < H; k++) r[k] += m->pos[t * H + k];
            if (m->type) {
                const float *te = m->type + (size_t)(encs[i].type_ids ? encs[i].type_ids[t] : 0) * H;
                for (int k = 0; k < H; k++) r[k] += te[k];
            }
        }
    ln_forward(m->pool, a->xs, a->xhat_e, a->rstd_e, e, m->emb_ln_g, m->emb_ln_b, (int)M, H, c->ln_eps);
    if (emb_out) memcpy(emb_out, a->xs, MH * sizeof(float));
    dropout_apply(a->xs, MH, dp(tr, tr->drop.hidden), site_key(tr->key, DSITE_EMB));
    /* the relative rows: rel_embeddings (after encoder.LayerNorm) */
    const bool rel = d->relative_attention && (d->c2p || d->p2c);
    const int R = a->R;
    if (rel) {
        const float *w0 = tr->w + tr->arch[WR_REL - WR_ARCH];
        if (d->norm_rel_ln)
            ln_forward(m->pool, a->reln, a->xhat_r, a->rstd_r, w0, tr->w + tr->arch[WR_REL_LN_G - WR_ARCH],
                       tr->w + tr->arch[WR_REL_LN_B - WR_ARCH], R, H, c->ln_eps);
        else
            memcpy(a->reln, w0, (size_t)R * H * sizeof(float));
        for (int k = -(max_T - 1); k <= max_T - 1; k++) a->rrow[k + max_T - 1] = rel_row(d, k);
    }
    const int n_att = 1 + (d->c2p ? 1 : 0) + (d->p2c ? 1 : 0);
    for (int l = 0; l < c->layers; l++) {
        const layer_w *L = &m->layer[l];
        const uint64_t site = DSITE_LAYER + 4 * (uint64_t)l;
        float *xin = a->xs + (size_t)l * MH, *xout = a->xs + (size_t)(l + 1) * MH;
        float *qkv = a->qkv + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH, *x1 = a->x1 + (size_t)l * MH;
        float *hpre = a->hpre + (size_t)l * M * I;
        float *pk = NULL, *pq = NULL;
        if (rel) {
            float *reld = a->reld + (size_t)l * R * H;
            memcpy(reld, a->reln, (size_t)R * H * sizeof(float));
            dropout_apply(reld, (size_t)R * H, dp(tr, tr->drop.hidden), site_key(tr->key, site + 3));
            float *W, *b, *gW, *gb;
            if (d->c2p) {
                pk = a->pk + (size_t)l * R * H;
                deb_pos_params(m, l, true, &W, &b, &gW, &gb);
                if (!deb_lin(m, a, pk, reld, W, b, R, false)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
            if (d->p2c) {
                pq = a->pq + (size_t)l * R * H;
                deb_pos_params(m, l, false, &W, &b, &gW, &gb);
                if (!deb_lin(m, a, pq, reld, W, b, R, false)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
        }
        linear_forward(m->pool, qkv, xin, &L->qkv, (int)M, EPI_NONE, NULL);
        deb_tatt tj = {m, a, l, 1.0f / sqrtf((float)(H / nh) * (float)n_att), dp(tr, tr->drop.attention),
                       site_key(tr->key, site), qkv, pk, pq, NULL, a->P + (size_t)l * P, ctx, NULL, NULL, NULL};
        threadpool_run(m->pool, deb_tatt_fwd, &tj, (int)n * nh);
        deb_resnorm(m, x1, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, ctx, &L->out, xin, L->ln1_g, L->ln1_b,
                    (int)M, dp(tr, tr->drop.hidden), site_key(tr->key, site + 1), a->d1);
        linear_forward(m->pool, hpre, x1, &L->ffn1, (int)M, EPI_NONE, NULL);
        act_run(m->pool, a->h, hpre, M * (size_t)I, c->act, false);
        deb_resnorm(m, xout, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, a->h, &L->ffn2, x1, L->ln2_g,
                    L->ln2_b, (int)M, dp(tr, tr->drop.hidden), site_key(tr->key, site + 2), a->d1);
    }
    const float *last = a->xs + (size_t)c->layers * MH;
    if (hidden_out) memcpy(hidden_out, last, MH * sizeof(float));
    if (logits_out && m->has_head) { /* ContextPooler: token 0, dense + pooler_hidden_act; dropout; classifier */
        for (size_t i = 0; i < n; i++) memcpy(a->cls + i * H, last + (size_t)a->seq_off[i] * H, (size_t)H * sizeof(float));
        linear_forward(m->pool, a->hpre_head, a->cls, &m->head_dense, (int)n, EPI_NONE, NULL);
        act_run(m->pool, a->hact, a->hpre_head, n * (size_t)H, m->head_act, false);
        memcpy(a->hdrop, a->hact, n * (size_t)H * sizeof(float));
        dropout_apply(a->hdrop, n * (size_t)H, dp(tr, tr->drop.classifier), site_key(tr->key, DSITE_HEAD));
        linear_forward(m->pool, logits_out, a->hdrop, &m->head_out, (int)n, EPI_NONE, NULL);
    }
    return BERTC_OK;
}

static void deb_lin_dx(const bertc_model *m, int li, float *out, const float *dy, int M, const float *residual) {
    linear_forward(m->pool, out, dy, &m->train->bwd[li], M, EPI_NONE, residual);
}

static void deb_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dl) {
    encoder_train *tr = m->train;
    deb_acts *a = tr->arch_acts;
    const model_config *c = &m->cfg;
    const deberta_config *d = &c->deberta;
    const int H = c->hidden, I = c->intermediate, nh = c->heads, nl = c->n_labels, Ly = c->layers, R = a->R;
    const size_t M = (size_t)a->M, MH = M * (size_t)H;
    float *w = tr->w, *g = tr->g, *lnpart = a->dwb;
    dw_scratch dw = deb_dw(tr, a);
    const float ph = dp(tr, tr->drop.hidden);
    const bool rel = d->relative_attention && (d->c2p || d->p2c);
    /* head */
    lin_dw(m->pool, &dw, g + tr->head_ow, g + tr->head_ob, dl, a->hdrop, (int)n, nl, H);
    float *dhd = a->d2;
    deb_lin_dx(m, 4 * Ly + 1, dhd, dl, (int)n, NULL);
    dropout_apply(dhd, n * (size_t)H, dp(tr, tr->drop.classifier), site_key(tr->key, DSITE_HEAD));
    act_run(m->pool, dhd, a->hpre_head, n * (size_t)H, m->head_act, true);
    lin_dw(m->pool, &dw, g + tr->head_dw, g + tr->head_db, dhd, a->cls, (int)n, H, H);
    float *dx = a->d0;
    memset(dx, 0, MH * sizeof(float));
    deb_lin_dx(m, 4 * Ly, a->d3, dhd, (int)n, NULL);
    for (size_t i = 0; i < n; i++) memcpy(dx + (size_t)a->seq_off[i] * H, a->d3 + i * H, (size_t)H * sizeof(float));
    if (rel) memset(a->drel, 0, (size_t)R * H * sizeof(float));
    const int n_att = 1 + (d->c2p ? 1 : 0) + (d->p2c ? 1 : 0);
    for (int l = Ly - 1; l >= 0; l--) {
        const tlayer *L = &tr->L[l];
        const uint64_t site = DSITE_LAYER + 4 * (uint64_t)l;
        float *xin = a->xs + (size_t)l * MH, *qkv = a->qkv + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH;
        float *x1 = a->x1 + (size_t)l * MH, *hpre = a->hpre + (size_t)l * M * I;
        float *dy2 = a->d1, *df = a->d2, *dx1 = a->d3;
        ln_backward(m->pool, dy2, dx, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, w + L->ln2_g, g + L->ln2_g,
                    g + L->ln2_b, (int)M, H, lnpart);
        memcpy(df, dy2, MH * sizeof(float));
        dropout_apply(df, MH, ph, site_key(tr->key, site + 2));
        act_run(m->pool, a->h, hpre, M * (size_t)I, c->act, false);
        lin_dw(m->pool, &dw, g + L->ffn2_w, g + L->ffn2_b, df, a->h, (int)M, H, I);
        deb_lin_dx(m, 4 * l + 3, a->dh, df, (int)M, NULL);
        act_run(m->pool, a->dh, hpre, M * (size_t)I, c->act, true);
        lin_dw(m->pool, &dw, g + L->ffn1_w, g + L->ffn1_b, a->dh, x1, (int)M, I, H);
        deb_lin_dx(m, 4 * l + 2, dx1, a->dh, (int)M, dy2);
        float *dy1 = a->d1, *da = a->d2;
        ln_backward(m->pool, dy1, dx1, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, w + L->ln1_g, g + L->ln1_g,
                    g + L->ln1_b, (int)M, H, lnpart);
        memcpy(da, dy1, MH * sizeof(float));
        dropout_apply(da, MH, ph, site_key(tr->key, site + 1));
        lin_dw(m->pool, &dw, g + L->out_w, g + L->out_b, da, ctx, (int)M, H, H);
        float *dctx = a->d3;
        deb_lin_dx(m, 4 * l + 1, dctx, da, (int)M, NULL);
        float *pk = rel && d->c2p ? a->pk + (size_t)l * R * H : NULL, *pq = rel && d->p2c ? a->pq + (size_t)l * R * H : NULL;
        if (pk) memset(a->dpk, 0, (size_t)R * H * sizeof(float));
        if (pq) memset(a->dpq, 0, (size_t)R * H * sizeof(float));
        deb_tatt tj = {m, a, l, 1.0f / sqrtf((float)(H / nh) * (float)n_att), dp(tr, tr->drop.attention),
                       site_key(tr->key, site), qkv, pk, pq, dctx, a->P + (size_t)l * a->P_layer, NULL, a->dqkv,
                       a->dpk, a->dpq};
        threadpool_run(m->pool, deb_tatt_bwd, &tj, nh);
        lin_dw(m->pool, &dw, g + L->qkv_w, g + L->qkv_b, a->dqkv, xin, (int)M, 3 * H, H);
        /* the relative projections (after q|k|v's dW: with share_att_key they add into the same rows) */
        if (rel) { /* in fp32 like their forward (deb_lin), whatever the compute: R rows per layer */
            float *reld = a->reld + (size_t)l * R * H, *W, *b, *gW, *gb;
            dw_scratch dw32 = dw;
            dw32.bf16 = false;
            memset(a->dreld, 0, (size_t)R * H * sizeof(float));
            for (int key = 0; key < 2; key++) {
                if (!(key ? pk : pq)) continue;
                const float *dy = key ? a->dpk : a->dpq;
                deb_pos_params(m, l, key, &W, &b, &gW, &gb);
                lin_dw(m->pool, &dw32, gW, gb, dy, reld, R, H, H);
                if (deb_lin(m, a, a->tmp3, dy, W, NULL, R, true)) add_into(m->pool, a->dreld, a->tmp3, (size_t)R * H);
            }
            dropout_apply(a->dreld, (size_t)R * H, ph, site_key(tr->key, site + 3));
            add_into(m->pool, a->drel, a->dreld, (size_t)R * H);
        }
        deb_lin_dx(m, 4 * l, dx, a->dqkv, (int)M, dy1);
    }
    if (rel) { /* encoder.LayerNorm and rel_embeddings */
        float *gr = g + tr->arch[WR_REL - WR_ARCH];
        if (d->norm_rel_ln) {
            ln_backward(m->pool, a->tmp3, a->drel, a->xhat_r, a->rstd_r, w + tr->arch[WR_REL_LN_G - WR_ARCH],
                        g + tr->arch[WR_REL_LN_G - WR_ARCH], g + tr->arch[WR_REL_LN_B - WR_ARCH], R, H, lnpart);
            add_into(m->pool, gr, a->tmp3, (size_t)R * H);
        } else {
            add_into(m->pool, gr, a->drel, (size_t)R * H);
        }
    }
    if (tr->frozen_embeddings) return;
    dropout_apply(dx, MH, ph, site_key(tr->key, DSITE_EMB));
    float *de = a->d1;
    ln_backward(m->pool, de, dx, a->xhat_e, a->rstd_e, w + tr->emb_g, g + tr->emb_g, g + tr->emb_b, (int)M, H, lnpart);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++) {
            const float *r = de + ((size_t)a->seq_off[i] + t) * H;
            float *gw = g + tr->word + (size_t)encs[i].ids[t] * H;
            for (int k = 0; k < H; k++) gw[k] += r[k];
            if (m->pos) {
                float *gp = g + tr->pos + t * H;
                for (int k = 0; k < H; k++) gp[k] += r[k];
            }
            if (tr->type != SIZE_MAX) {
                float *gt = g + tr->type + (size_t)(encs[i].type_ids ? encs[i].type_ids[t] : 0) * H;
                for (int k = 0; k < H; k++) gt[k] += r[k];
            }
        }
}

static bool deb_train_per_layer(int role) { return role >= WR_POSK_W && role <= WR_POSQ_B; }

const model_arch model_arch_deberta = {
    .family = "deberta",
    .model_types = "deberta-v2",
    .takes = deb_takes,
    .config = deb_config,
    .weight_name = deb_weight_name,
    .weight_prefix = deb_weight_prefix,
    .weight_in_layers = deb_weight_in_layers,
    .head_act = deb_head_act,
    .position_cap = deb_position_cap,
    .class_name = deb_class_name,
    .position_ids = deb_position_ids,
    .forward = deb_forward,
    .backward = deb_backward,
    .bind = deb_bind,
    .free_ext = deb_free_ext,
    .train_per_layer = deb_train_per_layer,
};
