/*
 * mpnet.c — MPNet (model_type "mpnet"), as transformers' modeling_mpnet computes it: RoBERTa's embeddings without
 * token types (word + position, positions counted from the padding index 1 by create_position_ids_from_input_ids,
 * then LayerNorm), BERT's post-LayerNorm layers under their own names (attention.attn.{q,k,v,o},
 * attention.LayerNorm, intermediate.dense, output.dense, output.LayerNorm), and one relative position bias shared by
 * every layer: encoder.relative_attention_bias [buckets, heads] looked up by T5's bidirectional log buckets of the
 * key's offset from the query (32 buckets, max_distance 128: MPNetEncoder.compute_position_bias always passes 32)
 * and added to the scaled attention scores.
 *
 * The forward and backward passes are bert.c's: this file gives the names, config.json's fields and the bias
 * through model_arch.attn_rel_bias (bert.c builds heads x (2T - 1) values once per batch and hands them to the
 * attention of every layer) and its gradient through attn_rel_bias_backward. Heads are RoBERTa's shapes:
 * classifier.dense + tanh + classifier.out_proj on <s>, classifier, qa_outputs, lm_head.{dense, layer_norm, decoder,
 * bias} with exact GELU. The pooler (mpnet.pooler.dense) of a bare MPNetModel save is left unused, as every head
 * transformers has ignores it.
 */
#include "model.h"

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WR_REL_BIAS = WR_ARCH }; /* encoder.relative_attention_bias.weight [buckets, heads] */

/* compute_position_bias's bucket count, whatever config.json's relative_attention_num_buckets (which sizes the
 * table: fewer rows than 32 fail in transformers' lookup, more are never read) */
#define MPNET_BUCKETS 32

static bool mpnet_takes(const char *mt) { return !strcmp(mt, "mpnet"); }

/* relative_position_bucket(j - i, 32, 128): 16 buckets per direction (keys after the query from 16), exact below 8,
 * then log-spaced to 128. The thresholds are those its float32 arithmetic gives (checked against torch for offsets
 * up to 3000: 8 + int(log(n / 8) / log(16) * 8) is 8 for n in 8..11, 9 for 12..15, ..., capped at 15 from 91). */
static int mpnet_bucket(int rel) {
    static const int upto[7] = {12, 16, 23, 32, 46, 64, 91}; /* the first n of buckets 9 .. 15 */
    int ret = rel > 0 ? MPNET_BUCKETS / 2 : 0, n = rel < 0 ? -rel : rel;
    if (n < 8) return ret + n;
    int b = 8;
    while (b < 15 && n >= upto[b - 8]) b++;
    return ret + b;
}

static bertc_status mpnet_config(model_config *c, const cfg_reader *r) {
    const json_t *j = r->j;
    const char *what = r->what;
    bertc_error *err = r->err;
    bertc_status s;
    c->arch = BERTC_ARCH_MPNET;
    if ((s = cfg_intv(r, "hidden_size", 768, 1, 65536, false, &c->hidden)) ||
        (s = cfg_intv(r, "num_hidden_layers", 12, 1, 1000, false, &c->layers)) ||
        (s = cfg_intv(r, "num_attention_heads", 12, 1, 65536, false, &c->heads)) ||
        (s = cfg_intv(r, "intermediate_size", 3072, 1, 1 << 20, false, &c->intermediate)) ||
        (s = cfg_intv(r, "vocab_size", 30527, 1, 1 << 24, false, &c->vocab_size)) ||
        (s = cfg_intv(r, "max_position_embeddings", 512, 1, 1 << 20, false, &c->max_positions)) ||
        (s = cfg_intv(r, "pad_token_id", 1, -(1 << 24), 1 << 24, true, &c->pad_token_id)) ||
        (s = cfg_intv(r, "relative_attention_num_buckets", 32, 1, 1 << 20, false, &c->rel_buckets)))
        return s;
    c->type_vocab_size = 0; /* MPNet has no token types */
    if (c->hidden % c->heads != 0)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: num_attention_heads %d out of range: hidden_size %d is not a "
                          "multiple of the number of attention heads", what, c->heads, c->hidden);
    if (c->rel_buckets < MPNET_BUCKETS)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: relative_attention_num_buckets %d is not supported (MPNet's "
                          "encoder looks up %d buckets)", what, c->rel_buckets, MPNET_BUCKETS);
    /* the embeddings' padding_idx is 1: positions start at 2 */
    if (c->max_positions < 3 || c->vocab_size < 2)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: max_position_embeddings %d / vocab_size %d leave no positions "
                          "after the padding index 1", what, c->max_positions, c->vocab_size);
    if ((s = cfg_ln_eps(r, 1e-12f, &c->ln_eps)) || /* MPNetConfig's default */
        (s = cfg_act(r, "hidden_act", false, &c->act)))
        return s;
    c->tie_word_embeddings = jbool(j, "tie_word_embeddings", 1);
    c->drop.hidden = (float)jnum(j, "hidden_dropout_prob", 0.1);
    c->drop.attention = (float)jnum(j, "attention_probs_dropout_prob", 0.1);
    c->drop.classifier = c->drop.hidden; /* MPNetClassificationHead's dropout is hidden_dropout_prob */
    c->initializer_range = (float)jnum(j, "initializer_range", 0.02);
    return BERTC_OK;
}

/* ---- names ---- */

static const char *const names[] = {
    [WR_WORD] = "mpnet.embeddings.word_embeddings.weight",
    [WR_POS] = "mpnet.embeddings.position_embeddings.weight",
    [WR_EMB_LN_G] = "mpnet.embeddings.LayerNorm.weight",
    [WR_EMB_LN_B] = "mpnet.embeddings.LayerNorm.bias",
    [WR_Q_W] = "mpnet.encoder.layer.%d.attention.attn.q.weight",
    [WR_K_W] = "mpnet.encoder.layer.%d.attention.attn.k.weight",
    [WR_V_W] = "mpnet.encoder.layer.%d.attention.attn.v.weight",
    [WR_Q_B] = "mpnet.encoder.layer.%d.attention.attn.q.bias",
    [WR_K_B] = "mpnet.encoder.layer.%d.attention.attn.k.bias",
    [WR_V_B] = "mpnet.encoder.layer.%d.attention.attn.v.bias",
    [WR_OUT_W] = "mpnet.encoder.layer.%d.attention.attn.o.weight",
    [WR_OUT_B] = "mpnet.encoder.layer.%d.attention.attn.o.bias",
    [WR_LN1_G] = "mpnet.encoder.layer.%d.attention.LayerNorm.weight",
    [WR_LN1_B] = "mpnet.encoder.layer.%d.attention.LayerNorm.bias",
    [WR_FFN1_W] = "mpnet.encoder.layer.%d.intermediate.dense.weight",
    [WR_FFN1_B] = "mpnet.encoder.layer.%d.intermediate.dense.bias",
    [WR_FFN2_W] = "mpnet.encoder.layer.%d.output.dense.weight",
    [WR_FFN2_B] = "mpnet.encoder.layer.%d.output.dense.bias",
    [WR_LN2_G] = "mpnet.encoder.layer.%d.output.LayerNorm.weight",
    [WR_LN2_B] = "mpnet.encoder.layer.%d.output.LayerNorm.bias",
    [WR_CLS_DENSE_W] = "classifier.dense.weight",
    [WR_CLS_DENSE_B] = "classifier.dense.bias",
    [WR_CLS_OUT_W] = "classifier.out_proj.weight",
    [WR_CLS_OUT_B] = "classifier.out_proj.bias",
    [WR_TOK_OUT_W] = "classifier.weight",
    [WR_TOK_OUT_B] = "classifier.bias",
    [WR_QA_OUT_W] = "qa_outputs.weight",
    [WR_QA_OUT_B] = "qa_outputs.bias",
    [WR_MLM_DENSE_W] = "lm_head.dense.weight",
    [WR_MLM_DENSE_B] = "lm_head.dense.bias",
    [WR_MLM_LN_G] = "lm_head.layer_norm.weight",
    [WR_MLM_LN_B] = "lm_head.layer_norm.bias",
    [WR_MLM_DEC_W] = "lm_head.decoder.weight",
    [WR_MLM_DEC_B] = "lm_head.decoder.bias",
    [WR_MLM_BIAS] = "lm_head.bias",
    [WR_REL_BIAS] = "mpnet.encoder.relative_attention_bias.weight",
};

static const char *mpnet_weight_prefix(const model_config *c) {
    (void)c;
    return "mpnet.";
}

static bool mpnet_weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0,
                              int64_t *d1) {
    const int64_t H = c->hidden, I = c->intermediate, V = c->vocab_size;
    if (role < 0 || role >= (int)(sizeof names / sizeof names[0]) || !names[role]) return false;
    snprintf(name, cap, names[role], l);
    int64_t s0, s1 = H;
    switch (role) {
    case WR_WORD: case WR_MLM_DEC_W: s0 = V; break;
    case WR_POS: s0 = c->max_positions; break;
    case WR_FFN1_W: s0 = I; break;
    case WR_FFN2_W: s0 = H, s1 = I; break;
    case WR_CLS_OUT_W: case WR_TOK_OUT_W: s0 = n_labels; break;
    case WR_QA_OUT_W: s0 = 2; break;
    case WR_Q_W: case WR_K_W: case WR_V_W: case WR_OUT_W: case WR_CLS_DENSE_W: case WR_MLM_DENSE_W: s0 = H; break;
    case WR_REL_BIAS: s0 = c->rel_buckets, s1 = c->heads; break;
    /* 1-D */
    case WR_FFN1_B: s0 = I, s1 = 0; break;
    case WR_CLS_OUT_B: case WR_TOK_OUT_B: s0 = n_labels, s1 = 0; break;
    case WR_QA_OUT_B: s0 = 2, s1 = 0; break;
    case WR_MLM_DEC_B: case WR_MLM_BIAS: s0 = V, s1 = 0; break;
    default: s0 = H, s1 = 0; break; /* biases of H outputs, LayerNorms */
    }
    if (d0) *d0 = s0;
    if (d1) *d1 = s1;
    return true;
}

static bool mpnet_weight_in_layers(const model_config *c, const char *name) {
    (void)c;
    if (!strncmp(name, "mpnet.", 6)) name += 6;
    return !strncmp(name, "encoder.layer.", 14);
}

static enum epilogue mpnet_head_act(const model_config *c, bertc_head head) {
    (void)c;
    return head == BERTC_HEAD_MASKED_LM ? EPI_GELU : EPI_TANH; /* MPNetLMHead: gelu; the classifier: tanh */
}

static int mpnet_position_cap(const model_config *c) { return c->max_positions - 2; }

static const char *mpnet_class_name(const model_config *c) {
    (void)c;
    return "MPNetForSequenceClassification";
}

/* bert.c's: padding_idx 1 plus the running count of non-pad tokens */
static void mpnet_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos) {
    model_arch_bert.position_ids(c, ids, n, pos);
}

static bertc_status mpnet_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden, float *emb,
                                  float *logits, bertc_error *err) {
    return model_arch_bert.forward(m, encs, n, hidden, emb, logits, err);
}

static void mpnet_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dlogits) {
    model_arch_bert.backward(m, encs, n, dlogits);
}

/* ---- the relative position bias ---- */

typedef struct mpnet_ext {
    const float *rel; /* [buckets, heads] */
} mpnet_ext;

/* The table: the loaded weights, or the trainer's parameter */
static const float *rel_table(const bertc_model *m) {
    if (m->train) return m->train->w + m->train->arch[0];
    return ((const mpnet_ext *)m->ext)->rel;
}

static void mpnet_rel_bias(const bertc_model *m, int R, float *rel) {
    const int nh = m->cfg.heads, W = 2 * R - 1;
    const float *tab = rel_table(m);
    for (int d = -(R - 1); d < R; d++) {
        const float *row = tab + (size_t)mpnet_bucket(d) * nh;
        for (int h = 0; h < nh; h++) rel[(size_t)h * W + (R - 1) + d] = row[h];
    }
}

static void mpnet_rel_bias_backward(const bertc_model *m, int R, const float *drel) {
    const int nh = m->cfg.heads, W = 2 * R - 1;
    float *g = m->train->g + m->train->arch[0];
    for (int d = -(R - 1); d < R; d++) {
        float *row = g + (size_t)mpnet_bucket(d) * nh;
        for (int h = 0; h < nh; h++) row[h] += drel[(size_t)h * W + (R - 1) + d];
    }
}

static bertc_status mpnet_bind(bertc_model *m, binder *b) {
    bertc_status s = model_bind_bert(m, b);
    if (s) return s;
    mpnet_ext *x = calloc(1, sizeof *x);
    if (!x) return b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
    m->ext = x;
    x->rel = bind_get(b, WR_REL_BIAS, 0);
    if (b->s) return b->s;
    return model_bind_heads(m, b);
}

static void mpnet_free_ext(bertc_model *m) {
    free(m->ext);
    m->ext = NULL;
}

const model_arch model_arch_mpnet = {
    .family = "mpnet",
    .model_types = "mpnet",
    .takes = mpnet_takes,
    .config = mpnet_config,
    .weight_name = mpnet_weight_name,
    .weight_prefix = mpnet_weight_prefix,
    .weight_in_layers = mpnet_weight_in_layers,
    .head_act = mpnet_head_act,
    .position_cap = mpnet_position_cap,
    .class_name = mpnet_class_name,
    .position_ids = mpnet_position_ids,
    .forward = mpnet_forward,
    .backward = mpnet_backward,
    .bind = mpnet_bind,
    .free_ext = mpnet_free_ext,
    .attn_rel_bias = mpnet_rel_bias,
    .attn_rel_bias_backward = mpnet_rel_bias_backward,
};
