/*
 * modernbert.c — ModernBERT, as transformers' modeling_modernbert computes it on CPU (attn_implementation "eager" /
 * "sdpa"): token embeddings, LayerNorm (bias only with norm_bias); pre-norm layers (layer 0's attn_norm is the
 * identity): Wqkv, rotary positions (rope theta of the global layers, another for the local ones; head size
 * hidden / heads), attention — global (every token) in the layers whose layer_types entry is full_attention (from
 * global_attn_every_n_layers: layer l % n == 0), sliding-window in the others (token i sees j with
 * |i - j| <= local_attention / 2) —, Wo, residual; mlp_norm, Wi (input | gate), GeGLU act(input) * gate, Wo,
 * residual; final_norm. Heads: ModernBertPredictionHead (dense, classifier_activation, LayerNorm) before the
 * classifier (sequence classification on [CLS] or the mean of the tokens, token classification, question
 * answering) or the decoder tied to the embeddings (masked LM, bertc_mlm_logits's path with the head bound as its
 * transform).
 *
 * Sequences are laid end to end ([sum(T), H]) as in bert.c; attention runs per (sequence, head), applying the
 * rotation to that head's queries and keys first. Local layers score each query's window only: time and memory
 * linear in the window. Training (ModernBertForSequenceClassification) keeps what the backward needs: see the
 * training section below.
 */
#include "model.h"
#include "layers.h"

#include "base/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 1000

/* the fields of config.json that are ModernBERT's own (in model_config.arch_cfg) */
typedef struct mb_config {
    bool norm_bias, attention_bias, mlp_bias, decoder_bias, classifier_bias, pool_mean;
    enum epilogue cls_act;
    int window;                        /* local_attention / 2: a local layer's token sees |i - j| <= window */
    float theta_global, theta_local;   /* rotary bases */
    float emb_drop;                    /* training: embedding_dropout (the others are model_config.drop's) */
    float init_cutoff;                 /* training: initializer_cutoff_factor (fresh weights truncated at +-it std) */
    unsigned char global[(MAX_LAYERS + 7) / 8]; /* bit l: layer l attends globally */
} mb_config;
_Static_assert(sizeof(mb_config) <= sizeof(((model_config *)0)->arch_cfg), "mb_config fits model_config.arch_cfg");

static const mb_config *mbc(const model_config *c) { return (const mb_config *)(const void *)c->arch_cfg; }
static bool is_global(const mb_config *x, int l) { return (x->global[l >> 3] >> (l & 7)) & 1; }

static bool mb_takes(const char *mt) { return !strcmp(mt, "modernbert"); }

static bertc_status mb_bool(const cfg_reader *r, const char *k, bool dflt, bool *out) {
    const json_t *v = json_object_get(r->j, k);
    if (!v) {
        *out = dflt;
        return BERTC_OK;
    }
    if (!json_is_boolean(v)) {
        char shown[64];
        cfg_show(v, shown, sizeof shown);
        return bertc_fail(r->err, BERTC_ERR_FORMAT, "%s: %s %s is not a boolean", r->what, k, shown);
    }
    *out = json_is_true(v);
    return BERTC_OK;
}

/* A positive finite number (eps in (0, 1) when below1). */
static bertc_status mb_real(const cfg_reader *r, const json_t *v, const char *k, bool below1, double *out) {
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d > 0) || !(d < (below1 ? 1 : 1e30)) || !((float)d > 0)) {
        char shown[64];
        cfg_show(v, shown, sizeof shown);
        return bertc_fail(r->err, BERTC_ERR_FORMAT, "%s: %s %s out of range (a positive number%s)", r->what, k, shown,
                          below1 ? " below 1" : "");
    }
    *out = d;
    return BERTC_OK;
}

/* The rotary base of one layer type: rope_parameters[type] (rope_type "default" only), else the old field
 * (global_rope_theta / local_rope_theta), else the default. */
static bertc_status mb_theta(const cfg_reader *r, const char *type, const char *old, double dflt, float *out) {
    const json_t *rp = json_object_get(r->j, "rope_parameters"), *p = json_is_object(rp) ? json_object_get(rp, type) : NULL;
    if (rp && !json_is_null(rp) && !json_is_object(rp))
        return bertc_fail(r->err, BERTC_ERR_FORMAT, "%s: rope_parameters is not an object", r->what);
    const json_t *v = NULL;
    char key[64];
    if (json_is_object(p)) {
        const char *rt = jstr(p, "rope_type");
        if (rt && strcmp(rt, "default") != 0)
            return bertc_fail(r->err, BERTC_ERR_UNSUPPORTED, "%s: rope_parameters.%s.rope_type %.40s is not supported "
                              "(default only)", r->what, type, rt);
        v = json_object_get(p, "rope_theta");
        snprintf(key, sizeof key, "rope_parameters.%s.rope_theta", type);
    }
    if (!v) {
        v = json_object_get(r->j, old);
        snprintf(key, sizeof key, "%s", old);
        /* transformers 4.x: local_rope_theta null means the global base for local layers too */
        if (v && json_is_null(v)) return BERTC_OK; /* *out keeps what the caller set */
    }
    double d = dflt;
    bertc_status s;
    if (v && (s = mb_real(r, v, key, false, &d))) return s;
    *out = (float)d;
    return BERTC_OK;
}

static bertc_status mb_config_read(model_config *c, const cfg_reader *r) {
    const json_t *j = r->j;
    const char *what = r->what;
    bertc_error *err = r->err;
    bertc_status s;
    mb_config *x = (mb_config *)(void *)c->arch_cfg;
    memset(x, 0, sizeof *x);
    c->arch = BERTC_ARCH_MODERNBERT;
    if ((s = cfg_intv(r, "hidden_size", 768, 1, 65536, false, &c->hidden)) ||
        (s = cfg_intv(r, "num_hidden_layers", 22, 1, MAX_LAYERS, false, &c->layers)) ||
        (s = cfg_intv(r, "num_attention_heads", 12, 1, 65536, false, &c->heads)) ||
        (s = cfg_intv(r, "intermediate_size", 1152, 1, 1 << 20, false, &c->intermediate)) ||
        (s = cfg_intv(r, "vocab_size", 50368, 1, 1 << 24, false, &c->vocab_size)) ||
        (s = cfg_intv(r, "max_position_embeddings", 8192, 1, 1 << 20, false, &c->max_positions)) ||
        (s = cfg_intv(r, "pad_token_id", 50283, -(1 << 24), 1 << 24, true, &c->pad_token_id)))
        return s;
    if (c->hidden % c->heads != 0)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: num_attention_heads %d out of range: hidden_size %d is not a "
                          "multiple of the number of attention heads", what, c->heads, c->hidden);
    if ((c->hidden / c->heads) % 2 != 0)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: head size %d (hidden_size / num_attention_heads) is odd: "
                          "rotary positions need an even one", what, c->hidden / c->heads);
    int hd;
    if ((s = cfg_intv(r, "head_dim", c->hidden / c->heads, 1, 65536, true, &hd))) return s;
    if (hd != c->hidden / c->heads)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: head_dim %d is not supported (hidden_size / "
                          "num_attention_heads = %d)", what, hd, c->hidden / c->heads);
    if (c->pad_token_id < -c->vocab_size || c->pad_token_id >= c->vocab_size)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d out of range for vocab_size %d", what,
                          c->pad_token_id, c->vocab_size);
    c->type_vocab_size = 0;
    const json_t *eps = json_object_get(j, "norm_eps");
    double e = 1e-5;
    if (eps && (s = mb_real(r, eps, "norm_eps", true, &e))) return s;
    c->ln_eps = (float)e;
    if ((s = cfg_act(r, "hidden_activation", true, &c->act)) || (s = cfg_act(r, "classifier_activation", true, &x->cls_act)) ||
        (s = mb_bool(r, "norm_bias", false, &x->norm_bias)) ||
        (s = mb_bool(r, "attention_bias", false, &x->attention_bias)) ||
        (s = mb_bool(r, "mlp_bias", false, &x->mlp_bias)) || (s = mb_bool(r, "decoder_bias", true, &x->decoder_bias)) ||
        (s = mb_bool(r, "classifier_bias", false, &x->classifier_bias)))
        return s;
    const char *pool = jstr(j, "classifier_pooling");
    if (pool && strcmp(pool, "cls") != 0 && strcmp(pool, "mean") != 0)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: classifier_pooling %.40s is not supported (cls, mean)", what,
                          pool);
    x->pool_mean = pool && !strcmp(pool, "mean");
    int local;
    if ((s = cfg_intv(r, "local_attention", 128, 0, 1 << 24, false, &local))) return s;
    x->window = local / 2;
    /* which layers attend globally: layer_types (transformers 5) or global_attn_every_n_layers */
    const json_t *lt = json_object_get(j, "layer_types");
    if (lt && !json_is_null(lt)) {
        if (!json_is_array(lt) || json_array_size(lt) != (size_t)c->layers)
            return bertc_fail(err, BERTC_ERR_FORMAT, "%s: layer_types is not a list of num_hidden_layers (%d) names",
                              what, c->layers);
        for (int l = 0; l < c->layers; l++) {
            const char *t = json_string_value(json_array_get(lt, (size_t)l));
            if (t && !strcmp(t, "full_attention")) x->global[l >> 3] |= (unsigned char)(1u << (l & 7));
            else if (!t || strcmp(t, "sliding_attention") != 0)
                return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: layer_types[%d] %.40s is not supported "
                                  "(full_attention, sliding_attention)", what, l, t ? t : "(not a string)");
        }
    } else {
        int every;
        if ((s = cfg_intv(r, "global_attn_every_n_layers", 3, 1, 1 << 20, false, &every))) return s;
        for (int l = 0; l < c->layers; l++)
            if (l % every == 0) x->global[l >> 3] |= (unsigned char)(1u << (l & 7));
    }
    const json_t *rs = json_object_get(j, "rope_scaling");
    if (rs && !json_is_null(rs)) {
        const char *rt = json_is_object(rs) ? jstr(rs, "rope_type") : NULL;
        if (!rt) rt = json_is_object(rs) ? jstr(rs, "type") : NULL;
        if (!rt || strcmp(rt, "default") != 0)
            return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: rope_scaling %.40s is not supported (default rotary "
                              "positions only)", what, rt ? rt : "(not a rope_type)");
    }
    x->theta_global = 160000.0f;
    if ((s = mb_theta(r, "full_attention", "global_rope_theta", 160000.0, &x->theta_global))) return s;
    x->theta_local = x->theta_global;
    if ((s = mb_theta(r, "sliding_attention", "local_rope_theta", 10000.0, &x->theta_local))) return s;
    c->tie_word_embeddings = jbool(j, "tie_word_embeddings", 1);
    c->drop.hidden = (float)jnum(j, "mlp_dropout", 0.0);
    c->drop.attention = (float)jnum(j, "attention_dropout", 0.0);
    c->drop.classifier = (float)jnum(j, "classifier_dropout", 0.0);
    x->emb_drop = (float)jnum(j, "embedding_dropout", 0.0);
    const json_t *cut = json_object_get(j, "initializer_cutoff_factor"); /* null: 3, as _init_weights takes it */
    x->init_cutoff = json_is_number(cut) && json_number_value(cut) > 0 ? (float)json_number_value(cut) : !cut ? 2.0f : 3.0f;
    if (!(x->emb_drop >= 0 && x->emb_drop < 1))
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: embedding_dropout must be in [0, 1)", what);
    c->initializer_range = (float)jnum(j, "initializer_range", 0.02);
    return BERTC_OK;
}

static int mb_position_cap(const model_config *c) { return c->max_positions; }
static const char *mb_class_name(const model_config *c) {
    (void)c;
    return "ModernBertForSequenceClassification";
}
static void mb_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos) {
    (void)c, (void)ids;
    for (size_t t = 0; t < n; t++) pos[t] = (int)t;
}
static enum epilogue mb_head_act(const model_config *c, bertc_head head) {
    (void)head;
    return mbc(c)->cls_act;
}

/* ---- names ---- */

/* A layer's tensors take the shared per-layer roles (the trainer's table adds them as it adds bert.c's: ln1 is
 * attn_norm, ln2 mlp_norm, q the fused Wqkv with its [3H] bias, ffn1 Wi [2I, H]); final_norm and the head's norm are
 * ModernBERT's own. */
enum {
    R_ATTN_NORM_G = WR_LN1_G, R_ATTN_NORM_B = WR_LN1_B, R_QKV_W = WR_Q_W, R_QKV_B = WR_Q_B, R_O_W = WR_OUT_W,
    R_O_B = WR_OUT_B, R_MLP_NORM_G = WR_LN2_G, R_MLP_NORM_B = WR_LN2_B, R_WI_W = WR_FFN1_W, R_WI_B = WR_FFN1_B,
    R_WO_W = WR_FFN2_W, R_WO_B = WR_FFN2_B
};
enum { R_FINAL_G = WR_ARCH, R_FINAL_B, R_HEAD_NORM_G, R_HEAD_NORM_B };

static const char *mb_weight_prefix(const model_config *c) {
    (void)c;
    return "model.";
}

static bool mb_weight_in_layers(const model_config *c, const char *name) {
    (void)c;
    if (!strncmp(name, "model.", 6)) name += 6;
    return !strncmp(name, "layers.", 7);
}

static bool mb_weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0,
                           int64_t *d1) {
    const mb_config *x = mbc(c);
    const int64_t H = c->hidden, I = c->intermediate, V = c->vocab_size;
    const char *f = NULL;
    int64_t s0 = H, s1 = 0;
    bool layer = false;
    switch (role) {
    case WR_WORD: f = "model.embeddings.tok_embeddings.weight", s0 = V, s1 = H; break;
    case WR_EMB_LN_G: f = "model.embeddings.norm.weight"; break;
    case WR_EMB_LN_B: f = x->norm_bias ? "model.embeddings.norm.bias" : NULL; break;
    case R_ATTN_NORM_G: f = l > 0 ? "model.layers.%d.attn_norm.weight" : NULL, layer = true; break;
    case R_ATTN_NORM_B: f = l > 0 && x->norm_bias ? "model.layers.%d.attn_norm.bias" : NULL, layer = true; break;
    case R_QKV_W: f = "model.layers.%d.attn.Wqkv.weight", s0 = 3 * H, s1 = H, layer = true; break;
    case R_QKV_B: f = x->attention_bias ? "model.layers.%d.attn.Wqkv.bias" : NULL, s0 = 3 * H, layer = true; break;
    case R_O_W: f = "model.layers.%d.attn.Wo.weight", s1 = H, layer = true; break;
    case R_O_B: f = x->attention_bias ? "model.layers.%d.attn.Wo.bias" : NULL, layer = true; break;
    case R_MLP_NORM_G: f = "model.layers.%d.mlp_norm.weight", layer = true; break;
    case R_MLP_NORM_B: f = x->norm_bias ? "model.layers.%d.mlp_norm.bias" : NULL, layer = true; break;
    case R_WI_W: f = "model.layers.%d.mlp.Wi.weight", s0 = 2 * I, s1 = H, layer = true; break;
    case R_WI_B: f = x->mlp_bias ? "model.layers.%d.mlp.Wi.bias" : NULL, s0 = 2 * I, layer = true; break;
    case R_WO_W: f = "model.layers.%d.mlp.Wo.weight", s1 = I, layer = true; break;
    case R_WO_B: f = x->mlp_bias ? "model.layers.%d.mlp.Wo.bias" : NULL, layer = true; break;
    case R_FINAL_G: f = "model.final_norm.weight"; break;
    case R_FINAL_B: f = x->norm_bias ? "model.final_norm.bias" : NULL; break;
    /* ModernBertPredictionHead: the sequence classifier's and the masked LM's transform */
    case WR_CLS_DENSE_W: case WR_MLM_DENSE_W: f = "head.dense.weight", s1 = H; break;
    case WR_CLS_DENSE_B: case WR_MLM_DENSE_B: f = x->classifier_bias ? "head.dense.bias" : NULL; break;
    case WR_MLM_LN_G: case R_HEAD_NORM_G: f = "head.norm.weight"; break;
    case WR_MLM_LN_B: case R_HEAD_NORM_B: f = x->norm_bias ? "head.norm.bias" : NULL; break;
    /* every classifier is "classifier" (question answering's too, with num_labels outputs) */
    case WR_CLS_OUT_W: case WR_TOK_OUT_W: case WR_QA_OUT_W: f = "classifier.weight", s0 = n_labels, s1 = H; break;
    case WR_CLS_OUT_B: case WR_TOK_OUT_B: case WR_QA_OUT_B: f = "classifier.bias", s0 = n_labels; break;
    case WR_MLM_DEC_W: f = "decoder.weight", s0 = V, s1 = H; break;
    case WR_MLM_DEC_B: f = x->decoder_bias ? "decoder.bias" : NULL, s0 = V; break;
    default: break;
    }
    if (!f) return false;
    if (layer) snprintf(name, cap, f, l);
    else snprintf(name, cap, "%s", f);
    if (d0) *d0 = s0;
    if (d1) *d1 = s1;
    return true;
}

/* ---- weights ---- */

typedef struct mb_layer {
    const float *attn_g, *attn_b; /* NULL in layer 0 (identity) */
    packed_linear qkv, o;
    const float *mlp_g, *mlp_b;
    packed_linear wi, wo;
} mb_layer;

typedef struct mb_weights {
    mb_layer *layer;
    const float *final_g, *final_b;
    const float *head_g, *head_b; /* head.norm */
    float *zeros;                 /* H (or V) zeros: the LayerNorm and decoder biases a checkpoint lacks */
} mb_weights;

static void mb_free_ext(bertc_model *m) {
    mb_weights *w = m->ext;
    if (!w) return;
    if (w->layer)
        for (int l = 0; l < m->cfg.layers; l++) {
            linear_free(&w->layer[l].qkv);
            linear_free(&w->layer[l].o);
            linear_free(&w->layer[l].wi);
            linear_free(&w->layer[l].wo);
        }
    free(w->layer);
    free(w->zeros);
    free(w);
    m->ext = NULL;
}

static const float *or_zeros(const mb_weights *w, const float *p) { return p ? p : w->zeros; }

static bertc_status mb_bind(bertc_model *m, binder *b) {
    const model_config *c = &m->cfg;
    const mb_config *x = mbc(c);
    const int H = c->hidden;
    mb_weights *w = calloc(1, sizeof *w);
    if (!w) return b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
    m->ext = w;
    m->word = bind_get(b, WR_WORD, 0);
    m->emb_ln_g = bind_get(b, WR_EMB_LN_G, 0);
    m->emb_ln_b = bind_get(b, WR_EMB_LN_B, 0);
    if (b->s) return b->s;
    size_t nz = (size_t)(H > c->vocab_size ? H : c->vocab_size);
    w->layer = calloc((size_t)c->layers, sizeof *w->layer);
    w->zeros = calloc(nz, sizeof(float));
    if (!w->layer || !w->zeros) return b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
    for (int l = 0; l < c->layers && !b->s; l++) {
        mb_layer *L = &w->layer[l];
        L->attn_g = bind_get(b, R_ATTN_NORM_G, l);
        L->attn_b = bind_get(b, R_ATTN_NORM_B, l);
        b->transient = true; /* Wqkv and its bias (the roles of a fused q | k | v: not adjacent) */
        const float *qw = bind_get(b, R_QKV_W, l);
        b->transient = false;
        const float *qb = bind_get(b, R_QKV_B, l);
        bind_pack(b, &L->qkv, qw, qb, 3 * H, H);
        bind_linear(b, &L->o, R_O_W, l);
        L->mlp_g = bind_get(b, R_MLP_NORM_G, l);
        L->mlp_b = bind_get(b, R_MLP_NORM_B, l);
        bind_linear(b, &L->wi, R_WI_W, l);
        bind_linear(b, &L->wo, R_WO_W, l);
    }
    w->final_g = bind_get(b, R_FINAL_G, 0);
    w->final_b = bind_get(b, R_FINAL_B, 0);
    if (b->s) return b->s;
    /* heads */
    m->head = model_head_of(c);
    binder hb = bind_head_binder(b);
    if (m->head == BERTC_HEAD_SEQUENCE_CLASSIFICATION || m->head == BERTC_HEAD_TOKEN_CLASSIFICATION ||
        m->head == BERTC_HEAD_QUESTION_ANSWERING) {
        if (m->head == BERTC_HEAD_QUESTION_ANSWERING && c->n_labels != 2)
            return b->s = bertc_fail(b->err, BERTC_ERR_UNSUPPORTED, "%s: ModernBertForQuestionAnswering with "
                                     "num_labels %d (start and end logits need 2)", m->source, c->n_labels);
        bind_linear(&hb, &m->head_dense, WR_CLS_DENSE_W, 0);
        w->head_g = bind_get(&hb, WR_MLM_LN_G, 0);
        w->head_b = bind_get(&hb, WR_MLM_LN_B, 0);
        bind_linear(&hb, m->head == BERTC_HEAD_SEQUENCE_CLASSIFICATION ? &m->head_out : &m->tok_out, WR_CLS_OUT_W, 0);
        if (hb.s) return b->s = hb.s;
        m->head_act = x->cls_act;
        if (m->head == BERTC_HEAD_SEQUENCE_CLASSIFICATION) m->has_head = true;
        else m->cfg.problem = BERTC_PROBLEM_NONE;
    } else if (m->head == BERTC_HEAD_MASKED_LM) {
        /* bertc_mlm_logits: mlm_dense + mlm_act + LayerNorm (eps = norm_eps), the decoder and its bias */
        if (bind_find_exact(m, WR_MLM_DENSE_W)) {
            bind_linear(&hb, &m->mlm_dense, WR_MLM_DENSE_W, 0);
            m->mlm_ln_g = bind_get(&hb, WR_MLM_LN_G, 0);
            m->mlm_ln_b = or_zeros(w, bind_get(&hb, WR_MLM_LN_B, 0));
            if (c->tie_word_embeddings) {
                m->mlm_dec = m->word;
                tensor_info *t = (tensor_info *)bind_find_exact(m, WR_MLM_DEC_W);
                if (t) t->used = true;
            } else {
                m->mlm_dec = bind_get(&hb, WR_MLM_DEC_W, 0);
            }
            m->mlm_bias = or_zeros(w, bind_get(&hb, WR_MLM_DEC_B, 0));
            if (hb.s) return b->s = hb.s;
            m->mlm_act = x->cls_act;
            m->has_mlm = true;
        }
        m->cfg.problem = BERTC_PROBLEM_NONE;
    } else {
        m->cfg.problem = BERTC_PROBLEM_NONE;
    }
    return BERTC_OK;
}

/* ---- forward ---- */

/* Global layers score sequences at least this long by blocks of queries with the GEMM (q K^T, then P V, the keys and
 * values packed once per head), shorter ones (and local layers) a query's window at a time. */
#define GEMM_MIN_T 256
#define GEMM_BQ 64

typedef struct mb_attn_job {
    float *ctx;
    const float *qkv;
    float *hq; /* per (sequence, head): q, k, v [T, dh] each, contiguous, from (seq_off * heads + head * T) * 3 dh */
    const int *seq_off, *seq_len;
    int heads, H, dh, max_T;
    int window; /* < 0: global */
    const float *cs; /* [max_T, dh / 2] cos then [max_T, dh / 2] sin of this layer's base */
} mb_attn_job;

/* One head of one sequence: its queries and keys rotated (q * cos + rotate_half(q) * sin, as apply_rotary_pos_emb
 * in fp32) into contiguous rows with its values, then attention. */
static void mb_attn_task(void *p, int task, int n_tasks) {
    (void)n_tasks;
    const mb_attn_job *j = p;
    const int s = task / j->heads, h = task % j->heads, T = j->seq_len[s], dh = j->dh, half = dh / 2, H = j->H;
    const float *qkv = j->qkv + (size_t)j->seq_off[s] * 3 * H;
    float *q = j->hq + ((size_t)j->seq_off[s] * j->heads + (size_t)h * T) * 3 * dh, *k = q + (size_t)T * dh,
          *v = k + (size_t)T * dh;
    float *out = j->ctx + (size_t)j->seq_off[s] * H + (size_t)h * dh;
    const float *cosv = j->cs, *sinv = j->cs + (size_t)j->max_T * half;
    for (int t = 0; t < T; t++) {
        const float *r = qkv + (size_t)t * 3 * H + (size_t)h * dh;
        const float *cr = cosv + (size_t)t * half, *sr = sinv + (size_t)t * half;
        for (int part = 0; part < 2; part++) { /* q, then k */
            const float *x = r + (size_t)part * H;
            float *y = (part ? k : q) + (size_t)t * dh;
            for (int d = 0; d < half; d++) {
                float a = x[d], b2 = x[d + half];
                y[d] = a * cr[d] + -b2 * sr[d];
                y[d + half] = b2 * cr[d] + a * sr[d];
            }
        }
        memcpy(v + (size_t)t * dh, r + 2 * (size_t)H, (size_t)dh * sizeof(float));
    }
    const bool global = j->window < 0 || j->window >= T - 1;
    if (global && T >= GEMM_MIN_T) {
        /* S = q K^T by blocks of GEMM_BQ queries, softmax, O = P V (V^T packed as the weight) */
        size_t sizes[3] = {(size_t)GEMM_BQ * T * sizeof(float), (size_t)dh * T * sizeof(float),
                           (size_t)GEMM_BQ * dh * sizeof(float)};
        void *part[3];
        packed_linear pk = {0}, pv = {0};
        if (scratch_take(SCRATCH_ATTN, sizes, part, 3)) {
            float *S = part[0], *vt = part[1], *o = part[2];
            for (int t = 0; t < T; t++)
                for (int d = 0; d < dh; d++) vt[(size_t)d * T + t] = v[(size_t)t * dh + d];
            if (linear_pack(&pk, k, NULL, T, dh) && linear_pack(&pv, vt, NULL, dh, T)) {
                const float scale = 1.0f / sqrtf((float)dh);
                for (int q0 = 0; q0 < T; q0 += GEMM_BQ) {
                    int bq = T - q0 < GEMM_BQ ? T - q0 : GEMM_BQ;
                    linear_forward(NULL, S, q + (size_t)q0 * dh, &pk, bq, EPI_NONE, NULL);
                    softmax_rows(S, bq, T, scale);
                    linear_forward(NULL, o, S, &pv, bq, EPI_NONE, NULL);
                    for (int r = 0; r < bq; r++)
                        memcpy(out + (size_t)(q0 + r) * H, o + (size_t)r * dh, (size_t)dh * sizeof(float));
                }
                linear_free(&pk);
                linear_free(&pv);
                return;
            }
            linear_free(&pk);
            linear_free(&pv);
        }
        /* out of memory: a query at a time, below */
    }
    size_t ssz = ((size_t)(global ? T : (2 * j->window + 1 < T ? 2 * j->window + 1 : T)) + 8) * sizeof(float);
    void *sp;
    if (!scratch_take(SCRATCH_ATTN, &ssz, &sp, 1)) {
        for (int t = 0; t < T; t++)
            for (int d = 0; d < dh; d++) out[(size_t)t * H + d] = NAN; /* out of memory: marked unusable */
        return;
    }
    attention_window(out, H, q, k, v, dh, T, dh, global ? T : j->window, 0, T, sp);
}

typedef struct geglu_job {
    float *g;
    const float *wi;
    size_t rows;
    int I;
    enum epilogue act;
} geglu_job;

/* g = act(input) * gate, rows split across the pool */
static void geglu_task(void *p, int task, int n_tasks) {
    const geglu_job *j = p;
    size_t r0 = j->rows * (size_t)task / (size_t)n_tasks, r1 = j->rows * (size_t)(task + 1) / (size_t)n_tasks;
    for (size_t r = r0; r < r1; r++) {
        float *g = j->g + r * j->I;
        const float *in = j->wi + r * 2 * j->I, *gate = in + j->I;
        activation_forward(g, in, (size_t)j->I, j->act);
        for (int i = 0; i < j->I; i++) g[i] *= gate[i];
    }
}

/* cos and sin of position * inv_freq as ModernBertRotaryEmbedding computes them: inv_freq = 1 / base^(2i / dh) in
 * fp32 (the power rounded from double), then fp32 products. */
static void rope_table(float *cs, int max_T, int dh, float base) {
    const int half = dh / 2;
    for (int i = 0; i < half; i++) {
        const float inv = 1.0f / (float)pow((double)base, (double)((float)(2 * i) / (float)dh));
        for (int t = 0; t < max_T; t++) {
            float f = (float)t * inv;
            cs[(size_t)t * half + i] = cosf(f);
            cs[(size_t)max_T * half + (size_t)t * half + i] = sinf(f);
        }
    }
}

/* The LayerNorm of x into y (g, b: b NULL = zeros). */
static void norm_into(const bertc_model *m, float *y, const float *x, const float *g, const float *b, size_t M) {
    const mb_weights *w = m->ext;
    memcpy(y, x, M * (size_t)m->cfg.hidden * sizeof(float));
    layernorm_pool(m->pool, y, g, or_zeros(w, b), (int)M, m->cfg.hidden, m->cfg.ln_eps);
}

/* The head's transform (dense, act, LayerNorm) of rows x into y. */
static void head_transform(const bertc_model *m, float *y, const float *x, size_t rows) {
    const mb_weights *w = m->ext;
    linear_forward(m->pool, y, x, &m->head_dense, (int)rows, m->head_act, NULL);
    layernorm_pool(m->pool, y, w->head_g, or_zeros(w, w->head_b), (int)rows, m->cfg.hidden, m->cfg.ln_eps);
}

static bertc_status mb_train_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                                     float *emb_out, float *logits_out, bertc_error *err);

static bertc_status mb_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                               float *emb_out, float *logits_out, bertc_error *err) {
    const model_config *c = &m->cfg;
    const mb_config *xc = mbc(c);
    const mb_weights *w = m->ext;
    const int H = c->hidden, I = c->intermediate, nh = c->heads, dh = H / nh, half = dh / 2;
    if (m->train) return mb_train_forward(m, encs, n, hidden_out, emb_out, logits_out, err);
    size_t M = 0;
    int max_T = 1;
    bertc_status st = model_check_batch(m, encs, n, tokenizer_default_max_length(m->tok), false, &M, &max_T, err);
    if (st) return st;
    if (n == 0) return BERTC_OK;
    const size_t MH = M * (size_t)H;
    const size_t tab = (size_t)2 * max_T * half;
    size_t sizes[10] = {n * sizeof(int), n * sizeof(int), MH * 4, MH * 4, MH * 3 * 4, MH * 4, M * (size_t)I * 2 * 4,
                        M * (size_t)I * 4, tab * 2 * 4, MH * 3 * 4};
    void *part[10];
    if (!scratch_take(SCRATCH_ACTIVATIONS, sizes, part, 10))
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    int *seq_off = part[0], *seq_len = part[1];
    float *x = part[2], *xn = part[3], *qkv = part[4], *ctx = part[5], *wi = part[6], *g = part[7];
    float *cs_global = part[8], *cs_local = cs_global + tab, *hq = part[9];
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        seq_off[i] = (int)off;
        seq_len[i] = (int)encs[i].n;
        off += encs[i].n;
    }
    rope_table(cs_global, max_T, dh, xc->theta_global);
    rope_table(cs_local, max_T, dh, xc->theta_local);
    /* embeddings: tok_embeddings, LayerNorm (dropout: none at inference) */
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++)
            memcpy(x + ((size_t)seq_off[i] + t) * H, m->word + (size_t)encs[i].ids[t] * H, (size_t)H * sizeof(float));
    layernorm_pool(m->pool, x, m->emb_ln_g, or_zeros(w, m->emb_ln_b), (int)M, H, c->ln_eps);
    if (emb_out) memcpy(emb_out, x, MH * sizeof(float));
    mb_attn_job aj = {ctx, qkv, hq, seq_off, seq_len, nh, H, dh, max_T, -1, NULL};
    geglu_job gj = {g, wi, M, I, c->act};
    int gtasks = threadpool_size(m->pool) * 4;
    for (int l = 0; l < c->layers; l++) {
        const mb_layer *L = &w->layer[l];
        const float *a_in = x;
        if (L->attn_g) {
            norm_into(m, xn, x, L->attn_g, L->attn_b, M);
            a_in = xn;
        }
        linear_forward(m->pool, qkv, a_in, &L->qkv, (int)M, EPI_NONE, NULL);
        bool glob = is_global(xc, l);
        aj.window = glob ? -1 : xc->window;
        aj.cs = glob ? cs_global : cs_local;
        threadpool_run(m->pool, mb_attn_task, &aj, (int)n * nh);
        linear_forward(m->pool, xn, ctx, &L->o, (int)M, EPI_NONE, x); /* x + Wo(attention) */
        float *t = x;
        x = xn, xn = t;
        norm_into(m, xn, x, L->mlp_g, L->mlp_b, M);
        linear_forward(m->pool, wi, xn, &L->wi, (int)M, EPI_NONE, NULL);
        threadpool_run(m->pool, geglu_task, &gj, gtasks < 1 ? 1 : gtasks);
        linear_forward(m->pool, xn, g, &L->wo, (int)M, EPI_NONE, x); /* x + Wo(GeGLU) */
        t = x;
        x = xn, xn = t;
    }
    layernorm_pool(m->pool, x, w->final_g, or_zeros(w, w->final_b), (int)M, H, c->ln_eps);
    if (hidden_out) memcpy(hidden_out, x, MH * sizeof(float));
    if (logits_out && m->has_head) {
        /* pooled: [CLS] (the first token) or the mean over the sequence's tokens (the attention mask: all of them) */
        float *pooled = ctx, *h = xn; /* n x H each, n <= M */
        for (size_t i = 0; i < n; i++) {
            const float *r0 = x + (size_t)seq_off[i] * H;
            float *p = pooled + i * H;
            if (!xc->pool_mean) {
                memcpy(p, r0, (size_t)H * sizeof(float));
                continue;
            }
            for (int k = 0; k < H; k++) p[k] = 0.0f;
            for (int t = 0; t < seq_len[i]; t++)
                for (int k = 0; k < H; k++) p[k] += r0[(size_t)t * H + k];
            for (int k = 0; k < H; k++) p[k] /= (float)seq_len[i];
        }
        head_transform(m, h, pooled, n);
        linear_forward(m->pool, logits_out, h, &m->head_out, (int)n, EPI_NONE, NULL);
    }
    return BERTC_OK;
}

/* token classification and question answering: head (dense, act, LayerNorm) then classifier on every token */
static bertc_status mb_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out,
                                    bertc_error *err) {
    size_t M = 0;
    for (size_t i = 0; i < n; i++) M += encs[i].n;
    const size_t MH = (M ? M : 1) * (size_t)m->cfg.hidden;
    float *hid = malloc(MH * sizeof(float)), *t = malloc(MH * sizeof(float));
    bertc_status s = hid && t ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    if (!s) s = mb_forward(m, encs, n, hid, NULL, NULL, err);
    if (!s && M) {
        head_transform(m, t, hid, M);
        linear_forward(m->pool, out, t, &m->tok_out, (int)M, EPI_NONE, NULL);
    }
    free(hid);
    free(t);
    return s;
}

/* ---- training: the forward keeping what the backward needs, and the backward ----
 *
 * As transformers trains ModernBertForSequenceClassification: embedding_dropout after the embeddings' LayerNorm;
 * attention_dropout on the softmax probabilities and on Wo's output (out_drop) before the residual add; mlp_dropout
 * on act(input) * gate before the MLP's Wo; classifier_dropout on the head's output (dense, act, norm) before the
 * classifier. The weights are the trainer's (m->layer's packed linears, the norms by the table's offsets), not
 * mb_bind's. Global layers keep every (sequence, head)'s T x T probabilities (layers.c's attention_kept); local
 * layers score each query's window only and keep T x (2 window + 1): their time and memory are linear in the
 * window. */

/* dropout sites: the embeddings, the classifier's input, layer l's 16 + 4 l + {0 probabilities, 1 attention output,
 * 2 GeGLU} */
enum { MSITE_EMB = 1, MSITE_HEAD = 3, MSITE_LAYER = 16 };

typedef struct mb_acts {
    size_t floats;                 /* the block's size after this header */
    float *xs;                     /* (layers + 1) x M x H: layer inputs / outputs (xs[0]: the embeddings) */
    float *an, *xhat1, *rstd1;     /* per layer: attn_norm's output and what it kept (layer 0: none) */
    float *qr, *P, *ctx;           /* per layer: rotated q | k | v [M, 3H], probabilities, attention before Wo */
    float *mn, *xhat2, *rstd2, *wi; /* per layer: mlp_norm's output and what it kept, Wi's output [M, 2I] */
    float *xhat_e, *rstd_e, *xhat_f, *rstd_f, *hf;
    float *pooled, *hpre, *xhat_h, *rstd_h, *hdrop, *dlogits;
    float *qkv, *gd, *dg, *d0, *d1, *d2, *dqkv, *dwi, *cs, *att;
    float *dyt, *xpack, *dw, *zeros, *lnpart, *junk;
    int *seq_off, *seq_len;
    size_t *pofs, *wofs; /* sequence s's probabilities from pofs[s] (global layers: T x T per head) or wofs[s] (local
                            layers: T x W per head, W = min(T, 2 window + 1)) in its layer's block */
    size_t *lofs;        /* layer l's block of P from lofs[l] */
    int M, n, max_T;
} mb_acts;

static float mdp(const encoder_train *tr, float p) { return tr->dropout ? p : 0.0f; }
static float *gat(const encoder_train *tr, size_t off) { return off == SIZE_MAX ? NULL : tr->g + off; }
static const float *wat(const encoder_train *tr, size_t off) { return off == SIZE_MAX ? NULL : tr->w + off; }

static mb_acts *mb_acts_reserve(const bertc_model *m, size_t M, size_t n, size_t P, int max_T) { /* P: every layer's */
    encoder_train *tr = m->train;
    const model_config *c = &m->cfg;
    const size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, Ly = (size_t)c->layers, L = (size_t)c->n_labels;
    const size_t nh = (size_t)c->heads, dh = H / nh, T = (size_t)max_T;
    size_t maxN = 3 * H > 2 * I ? 3 * H : 2 * I, maxK = H > I ? H : I;
    if (L > maxN) maxN = L;
    size_t panels = (maxK + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
    size_t xp = M > (size_t)bf16_pairs((int)M) ? M : (size_t)bf16_pairs((int)M);
    size_t wmax = 3 * H * H > 2 * I * H ? 3 * H * H : 2 * I * H;
    if (L * H > wmax) wmax = L * H;
    const size_t sz[] = {
        (Ly + 1) * M * H, Ly * M * H, Ly * M * H, Ly * M, Ly * M * 3 * H, P, Ly * M * H,
        Ly * M * H, Ly * M * H, Ly * M, Ly * M * 2 * I,
        M * H, M, M * H, M, M * H,
        n * H, n * H, n * H, n, n * H, n * L,
        M * 3 * H, M * I, M * I, M * H, M * H, M * H, M * 3 * H, M * 2 * I, 4 * T * dh,
        n * nh * (2 + dh) * T,
        maxN * M, panels * xp, wmax, panels > H ? panels : H, LN_CHUNKS * 2 * H, H,
        n, n, 2 * n, 2 * n, 2 * (Ly + 1), /* ints and size_t in float-sized slots */
    };
    enum { NS = sizeof sz / sizeof sz[0] };
    mb_acts *a = acts_block(&tr->arch_acts, sizeof *a, sz, NS);
    if (!a) return NULL;
    float **dst[] = {&a->xs, &a->an, &a->xhat1, &a->rstd1, &a->qr, &a->P, &a->ctx,
                     &a->mn, &a->xhat2, &a->rstd2, &a->wi,
                     &a->xhat_e, &a->rstd_e, &a->xhat_f, &a->rstd_f, &a->hf,
                     &a->pooled, &a->hpre, &a->xhat_h, &a->rstd_h, &a->hdrop, &a->dlogits,
                     &a->qkv, &a->gd, &a->dg, &a->d0, &a->d1, &a->d2, &a->dqkv, &a->dwi, &a->cs,
                     &a->att,
                     &a->dyt, &a->xpack, &a->dw, &a->zeros, &a->lnpart, &a->junk};
    enum { ND = sizeof dst / sizeof dst[0] };
    void *rest[NS - ND];
    acts_carve(a, sizeof *a, sz, NS, dst, ND, rest);
    a->seq_off = rest[0], a->seq_len = rest[1], a->pofs = rest[2], a->wofs = rest[3], a->lofs = rest[4];
    memset(a->zeros, 0, (panels > H ? panels : H) * sizeof(float));
    a->M = (int)M, a->n = (int)n, a->max_T = max_T;
    return a;
}

/* q and k of every head rotated by their token's position (rotate_half), v as is: y [M, 3H] from x [M, 3H];
 * backward: the transposed rotation of q's and k's gradients, in place */
static void mb_rotate(const mb_acts *a, float *y, const float *x, const float *cs, int H, int dh, bool backward) {
    const int half = dh / 2, T = a->max_T;
    const float *cosv = cs, *sinv = cs + (size_t)T * half;
    for (int s = 0; s < a->n; s++)
        for (int t = 0; t < a->seq_len[s]; t++) {
            const size_t r = ((size_t)a->seq_off[s] + (size_t)t) * 3 * H;
            const float *cr = cosv + (size_t)t * half, *sr = sinv + (size_t)t * half;
            for (int part = 0; part < 2 * H; part += dh) { /* every head of q, then of k */
                const float *xi = x + r + part;
                float *yi = y + r + part;
                for (int d = 0; d < half; d++) {
                    float u = xi[d], v = xi[d + half];
                    if (backward) {
                        yi[d] = u * cr[d] + v * sr[d];
                        yi[d + half] = v * cr[d] - u * sr[d];
                    } else {
                        yi[d] = u * cr[d] + -v * sr[d];
                        yi[d + half] = v * cr[d] + u * sr[d];
                    }
                }
            }
            if (!backward) memcpy(y + r + 2 * H, x + r + 2 * H, (size_t)H * sizeof(float));
        }
}

typedef struct geglu_bwd_job {
    float *dwi;           /* [rows, 2I]: d input | d gate */
    const float *dg, *wi; /* [rows, I], [rows, 2I] */
    size_t rows;
    int I;
    enum epilogue act;
} geglu_bwd_job;

/* d input = dg gate act'(input), d gate = dg act(input) */
static void geglu_bwd_task(void *p, int task, int n_tasks) {
    const geglu_bwd_job *j = p;
    size_t r0 = j->rows * (size_t)task / (size_t)n_tasks, r1 = j->rows * (size_t)(task + 1) / (size_t)n_tasks;
    for (size_t r = r0; r < r1; r++) {
        const float *in = j->wi + r * 2 * j->I, *gate = in + j->I, *dg = j->dg + r * j->I;
        float *din = j->dwi + r * 2 * j->I, *dgate = din + j->I;
        activation_forward(dgate, in, (size_t)j->I, j->act);
        for (int i = 0; i < j->I; i++) {
            dgate[i] *= dg[i];
            din[i] = dg[i] * gate[i];
        }
        activation_backward(din, in, (size_t)j->I, j->act);
    }
}

typedef struct mb_watt {
    const mb_acts *a;
    int heads, H, window;
    float *P, *ctx, *dqkv;
    const float *qkv, *dctx;
    float p;
    uint64_t sk;
} mb_watt;

/* A local layer's attention for one (sequence, head), each query over its window only (keys j with |i - j| <=
 * window): the probabilities kept as T rows of W = min(T, 2 window + 1), row i's from key max(0, i - window); dropout
 * on them. backward (dctx set): dq, dk, dv of this head from dctx, the same masks. */
static void mb_watt_task(void *pv, int task, int n_tasks) {
    (void)n_tasks;
    const mb_watt *j = pv;
    const mb_acts *a = j->a;
    const int nh = j->heads, H = j->H, dh = H / nh, ld = 3 * H, w = j->window;
    const int s = task / nh, h = task % nh, T = a->seq_len[s], W = T < 2 * w + 1 ? T : 2 * w + 1;
    const size_t off = (size_t)a->seq_off[s], pbase = a->wofs[s] + (size_t)h * T * W;
    const float scale = 1.0f / sqrtf((float)dh), ds = j->p > 0 ? 1.0f / (1.0f - j->p) : 1.0f;
    const float *q = j->qkv + off * ld + (size_t)h * dh, *k = q + H, *v = q + 2 * H;
    float *P = j->P + pbase;
    float *dp = a->att + (size_t)task * (2 + (size_t)dh) * (size_t)a->max_T;
    if (!j->dctx) {
        float *o = j->ctx + off * H + (size_t)h * dh;
        for (int i = 0; i < T; i++) {
            const int j0 = i - w > 0 ? i - w : 0, j1 = i + w < T - 1 ? i + w : T - 1;
            const float *qi = q + (size_t)i * ld;
            float *pr = P + (size_t)i * W, mx = -INFINITY;
            for (int t = j0; t <= j1; t++) {
                const float *kt = k + (size_t)t * ld;
                float sc = 0.0f;
                for (int d = 0; d < dh; d++) sc += qi[d] * kt[d];
                sc *= scale;
                pr[t - j0] = sc;
                if (sc > mx) mx = sc;
            }
            float sum = 0.0f;
            for (int t = j0; t <= j1; t++) sum += pr[t - j0] = expf(pr[t - j0] - mx);
            const float inv = 1.0f / sum;
            float *oi = o + (size_t)i * H;
            for (int d = 0; d < dh; d++) oi[d] = 0.0f;
            for (int t = j0; t <= j1; t++) {
                pr[t - j0] *= inv;
                float wt = j->p > 0 ? pr[t - j0] * drop_factor(j->sk, pbase + (size_t)i * W + (size_t)(t - j0), j->p, ds)
                                    : pr[t - j0];
                const float *vt = v + (size_t)t * ld;
                for (int d = 0; d < dh; d++) oi[d] += wt * vt[d];
            }
        }
        return;
    }
    const float *dc = j->dctx + off * H + (size_t)h * dh;
    float *dq = j->dqkv + off * ld + (size_t)h * dh, *dk = dq + H, *dv = dq + 2 * H;
    for (int t = 0; t < T; t++)
        for (int d = 0; d < dh; d++) dq[(size_t)t * ld + d] = dk[(size_t)t * ld + d] = dv[(size_t)t * ld + d] = 0.0f;
    for (int i = 0; i < T; i++) {
        const int j0 = i - w > 0 ? i - w : 0, j1 = i + w < T - 1 ? i + w : T - 1;
        const float *pr = P + (size_t)i * W, *dci = dc + (size_t)i * H, *qi = q + (size_t)i * ld;
        float rowdot = 0.0f;
        for (int t = j0; t <= j1; t++) {
            const float f = j->p > 0 ? drop_factor(j->sk, pbase + (size_t)i * W + (size_t)(t - j0), j->p, ds) : 1.0f;
            const float *vt = v + (size_t)t * ld;
            float *dvt = dv + (size_t)t * ld, g = 0.0f, wt = pr[t - j0] * f;
            for (int d = 0; d < dh; d++) {
                g += dci[d] * vt[d];
                dvt[d] += wt * dci[d];
            }
            dp[t - j0] = g * f;
            rowdot += pr[t - j0] * dp[t - j0];
        }
        float *dqi = dq + (size_t)i * ld;
        for (int t = j0; t <= j1; t++) {
            const float gs = pr[t - j0] * (dp[t - j0] - rowdot) * scale;
            const float *kt = k + (size_t)t * ld;
            float *dkt = dk + (size_t)t * ld;
            for (int d = 0; d < dh; d++) {
                dqi[d] += gs * kt[d];
                dkt[d] += gs * qi[d];
            }
        }
    }
}

/* Layer l's attention over the rotated q | k | v, forward (ctx) or backward (dqkv from dctx): global layers through
 * layers.c's attention_kept (T x T probabilities), local ones through the window (T x W). */
static void mb_attention(const bertc_model *m, const mb_acts *a, int l, const float *qr, float *ctx, float *dqkv,
                         const float *dctx, float p, uint64_t sk) {
    const model_config *c = &m->cfg;
    float *P = a->P + a->lofs[l];
    if (is_global(mbc(c), l)) {
        att_job aj = {c->heads, c->hidden, a->max_T, a->seq_off, a->seq_len, a->pofs, a->att, ctx, P, qr, dqkv, dctx,
                      dctx != NULL, p, sk, NULL, 0, NULL};
        attention_kept(m->pool, &aj, a->n);
        return;
    }
    mb_watt wj = {a, c->heads, c->hidden, mbc(c)->window, P, ctx, dqkv, qr, dctx, p, sk};
    threadpool_run(m->pool, mb_watt_task, &wj, a->n * c->heads);
}

static int mb_tasks(const bertc_model *m) {
    int t = threadpool_size(m->pool) * 4;
    return t < 1 ? 1 : t;
}

static bertc_status mb_train_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                                     float *emb_out, float *logits_out, bertc_error *err) {
    const model_config *c = &m->cfg;
    const mb_config *xc = mbc(c);
    encoder_train *tr = m->train;
    const int H = c->hidden, I = c->intermediate, nh = c->heads, dh = H / nh, half = dh / 2;
    if (n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "empty batch");
    size_t M = 0, Pg = 0, Pl = 0, P = 0;
    const size_t W2 = 2 * (size_t)xc->window + 1;
    int max_T = 1;
    bertc_status st = model_check_batch(m, encs, n, c->max_positions, false, &M, &max_T, err);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        Pg += (size_t)nh * encs[i].n * encs[i].n;
        Pl += (size_t)nh * encs[i].n * (encs[i].n < W2 ? encs[i].n : W2);
    }
    for (int l = 0; l < c->layers; l++) P += is_global(xc, l) ? Pg : Pl;
    mb_acts *a = mb_acts_reserve(m, M, n, P, max_T);
    if (!a) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for a batch of %zu tokens", M);
    tr->dlogits = a->dlogits;
    const size_t MH = M * (size_t)H;
    size_t off = 0, poff = 0, wofs = 0;
    for (size_t i = 0; i < n; i++) {
        a->seq_off[i] = (int)off;
        a->seq_len[i] = (int)encs[i].n;
        a->pofs[i] = poff;
        a->wofs[i] = wofs;
        off += encs[i].n;
        poff += (size_t)nh * encs[i].n * encs[i].n;
        wofs += (size_t)nh * encs[i].n * (encs[i].n < W2 ? encs[i].n : W2);
    }
    a->lofs[0] = 0;
    for (int l = 0; l < c->layers; l++) a->lofs[l + 1] = a->lofs[l] + (is_global(xc, l) ? Pg : Pl);
    float *cs_global = a->cs, *cs_local = a->cs + (size_t)2 * max_T * half;
    rope_table(cs_global, max_T, dh, xc->theta_global);
    rope_table(cs_local, max_T, dh, xc->theta_local);
    /* embeddings: tok_embeddings, LayerNorm, dropout */
    float *e = a->d0;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++)
            memcpy(e + ((size_t)a->seq_off[i] + t) * H, m->word + (size_t)encs[i].ids[t] * H, (size_t)H * sizeof(float));
    ln_forward(m->pool, a->xs, a->xhat_e, a->rstd_e, e, m->emb_ln_g, m->emb_ln_b ? m->emb_ln_b : a->zeros, (int)M, H,
               c->ln_eps);
    if (emb_out) memcpy(emb_out, a->xs, MH * sizeof(float));
    dropout_apply(a->xs, MH, mdp(tr, xc->emb_drop), site_key(tr->key, MSITE_EMB));
    const float pa = mdp(tr, tr->drop.attention), pm = mdp(tr, tr->drop.hidden);
    for (int l = 0; l < c->layers; l++) {
        const layer_w *L = &m->layer[l];
        const uint64_t site = MSITE_LAYER + 4 * (uint64_t)l;
        float *xin = a->xs + (size_t)l * MH, *xout = a->xs + (size_t)(l + 1) * MH;
        float *qr = a->qr + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH, *wi = a->wi + (size_t)l * M * 2 * I;
        float *mn = a->mn + (size_t)l * MH;
        const float *a_in = xin;
        if (L->ln1_g) {
            float *an = a->an + (size_t)l * MH;
            ln_forward(m->pool, an, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, xin, L->ln1_g,
                       L->ln1_b ? L->ln1_b : a->zeros, (int)M, H, c->ln_eps);
            a_in = an;
        }
        linear_forward(m->pool, a->qkv, a_in, &L->qkv, (int)M, EPI_NONE, NULL);
        const bool glob = is_global(xc, l);
        mb_rotate(a, qr, a->qkv, glob ? cs_global : cs_local, H, dh, false);
        mb_attention(m, a, l, qr, ctx, NULL, NULL, pa, site_key(tr->key, site));
        float *x1 = a->d1;
        linear_forward(m->pool, x1, ctx, &L->out, (int)M, EPI_NONE, NULL);
        dropout_apply(x1, MH, pa, site_key(tr->key, site + 1));
        add_into(m->pool, x1, xin, MH);
        ln_forward(m->pool, mn, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, x1, L->ln2_g,
                   L->ln2_b ? L->ln2_b : a->zeros, (int)M, H, c->ln_eps);
        linear_forward(m->pool, wi, mn, &L->ffn1, (int)M, EPI_NONE, NULL);
        geglu_job gj = {a->gd, wi, M, I, c->act};
        threadpool_run(m->pool, geglu_task, &gj, mb_tasks(m));
        dropout_apply(a->gd, M * (size_t)I, pm, site_key(tr->key, site + 2));
        linear_forward(m->pool, xout, a->gd, &L->ffn2, (int)M, EPI_NONE, x1);
    }
    ln_forward(m->pool, a->hf, a->xhat_f, a->rstd_f, a->xs + (size_t)c->layers * MH, wat(tr, tr->arch[R_FINAL_G - WR_ARCH]),
               tr->arch[R_FINAL_B - WR_ARCH] != SIZE_MAX ? wat(tr, tr->arch[R_FINAL_B - WR_ARCH]) : a->zeros, (int)M, H,
               c->ln_eps);
    if (hidden_out) memcpy(hidden_out, a->hf, MH * sizeof(float));
    if (logits_out && m->has_head) { /* pooled ([CLS] or the mean), dense + act, norm, dropout, classifier */
        for (size_t i = 0; i < n; i++) {
            const float *r0 = a->hf + (size_t)a->seq_off[i] * H;
            float *p = a->pooled + i * H;
            if (!xc->pool_mean) {
                memcpy(p, r0, (size_t)H * sizeof(float));
                continue;
            }
            for (int k = 0; k < H; k++) p[k] = 0.0f;
            for (int t = 0; t < a->seq_len[i]; t++)
                for (int k = 0; k < H; k++) p[k] += r0[(size_t)t * H + k];
            for (int k = 0; k < H; k++) p[k] /= (float)a->seq_len[i];
        }
        linear_forward(m->pool, a->hpre, a->pooled, &m->head_dense, (int)n, EPI_NONE, NULL);
        float *hact = a->d2;
        act_run(m->pool, hact, a->hpre, n * (size_t)H, m->head_act, false);
        size_t hb = tr->arch[R_HEAD_NORM_B - WR_ARCH];
        ln_forward(m->pool, a->hdrop, a->xhat_h, a->rstd_h, hact, wat(tr, tr->arch[R_HEAD_NORM_G - WR_ARCH]),
                   hb != SIZE_MAX ? wat(tr, hb) : a->zeros, (int)n, H, c->ln_eps);
        dropout_apply(a->hdrop, n * (size_t)H, mdp(tr, tr->drop.classifier), site_key(tr->key, MSITE_HEAD));
        linear_forward(m->pool, logits_out, a->hdrop, &m->head_out, (int)n, EPI_NONE, NULL);
    }
    return BERTC_OK;
}

static void mb_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dl) {
    encoder_train *tr = m->train;
    mb_acts *a = tr->arch_acts;
    const model_config *c = &m->cfg;
    const mb_config *xc = mbc(c);
    const int H = c->hidden, I = c->intermediate, nh = c->heads, dh = H / nh, half = dh / 2, nl = c->n_labels,
              Ly = c->layers, max_T = a->max_T;
    const size_t M = (size_t)a->M, MH = M * (size_t)H;
    float *w = tr->w, *g = tr->g;
    dw_scratch dw = {a->dyt, a->xpack, a->dw, a->zeros, tr->bf16};
    const float pa = mdp(tr, tr->drop.attention), pm = mdp(tr, tr->drop.hidden);
    float *junk = a->junk; /* the gradient of a LayerNorm bias the checkpoint lacks */
    /* head: classifier, dropout, norm, act, dense */
    lin_dw(m->pool, &dw, g + tr->head_ow, gat(tr, tr->head_ob), dl, a->hdrop, (int)n, nl, H);
    float *dhd = a->d2, *dha = a->d1;
    linear_forward(m->pool, dhd, dl, &tr->bwd[4 * Ly + 1], (int)n, EPI_NONE, NULL);
    dropout_apply(dhd, n * (size_t)H, mdp(tr, tr->drop.classifier), site_key(tr->key, MSITE_HEAD));
    size_t hg = tr->arch[R_HEAD_NORM_G - WR_ARCH], hb = tr->arch[R_HEAD_NORM_B - WR_ARCH];
    ln_backward(m->pool, dha, dhd, a->xhat_h, a->rstd_h, w + hg, g + hg, hb != SIZE_MAX ? g + hb : junk, (int)n, H,
                a->lnpart);
    act_run(m->pool, dha, a->hpre, n * (size_t)H, m->head_act, true);
    lin_dw(m->pool, &dw, g + tr->head_dw, gat(tr, tr->head_db), dha, a->pooled, (int)n, H, H);
    float *dpool = a->d2;
    linear_forward(m->pool, dpool, dha, &tr->bwd[4 * Ly], (int)n, EPI_NONE, NULL);
    float *dhf = a->d0;
    memset(dhf, 0, MH * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        const float *dp = dpool + i * H;
        float *r0 = dhf + (size_t)a->seq_off[i] * H;
        if (!xc->pool_mean) {
            memcpy(r0, dp, (size_t)H * sizeof(float));
            continue;
        }
        for (int t = 0; t < a->seq_len[i]; t++)
            for (int k = 0; k < H; k++) r0[(size_t)t * H + k] = dp[k] / (float)a->seq_len[i];
    }
    /* final_norm */
    float *dx = a->d1;
    size_t fg = tr->arch[R_FINAL_G - WR_ARCH], fb = tr->arch[R_FINAL_B - WR_ARCH];
    ln_backward(m->pool, dx, dhf, a->xhat_f, a->rstd_f, w + fg, g + fg, fb != SIZE_MAX ? g + fb : junk, (int)M, H,
                a->lnpart);
    for (int l = Ly - 1; l >= 0; l--) {
        const tlayer *L = &tr->L[l];
        const uint64_t site = MSITE_LAYER + 4 * (uint64_t)l;
        float *xin = a->xs + (size_t)l * MH, *qr = a->qr + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH;
        float *wi = a->wi + (size_t)l * M * 2 * I, *mn = a->mn + (size_t)l * MH;
        const bool has_norm = L->ln1_g != SIZE_MAX;
        const float *a_in = has_norm ? a->an + (size_t)l * MH : xin;
        /* MLP: Wo, dropout, GeGLU, Wi, mlp_norm; the residual */
        geglu_job gj = {a->gd, wi, M, I, c->act};
        threadpool_run(m->pool, geglu_task, &gj, mb_tasks(m));
        dropout_apply(a->gd, M * (size_t)I, pm, site_key(tr->key, site + 2));
        lin_dw(m->pool, &dw, g + L->ffn2_w, gat(tr, L->ffn2_b), dx, a->gd, (int)M, H, I);
        linear_forward(m->pool, a->dg, dx, &tr->bwd[4 * l + 3], (int)M, EPI_NONE, NULL);
        dropout_apply(a->dg, M * (size_t)I, pm, site_key(tr->key, site + 2));
        geglu_bwd_job bj = {a->dwi, a->dg, wi, M, I, c->act};
        threadpool_run(m->pool, geglu_bwd_task, &bj, mb_tasks(m));
        lin_dw(m->pool, &dw, g + L->ffn1_w, gat(tr, L->ffn1_b), a->dwi, mn, (int)M, 2 * I, H);
        linear_forward(m->pool, a->d2, a->dwi, &tr->bwd[4 * l + 2], (int)M, EPI_NONE, NULL);
        float *dx1 = a->d0;
        ln_backward(m->pool, dx1, a->d2, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, w + L->ln2_g,
                    g + L->ln2_g, L->ln2_b != SIZE_MAX ? g + L->ln2_b : junk, (int)M, H, a->lnpart);
        add_into(m->pool, dx1, dx, MH);
        /* attention: out_drop, Wo, attention, rotation, Wqkv, attn_norm; the residual */
        float *dao = a->d2, *dctx = a->d1;
        memcpy(dao, dx1, MH * sizeof(float));
        dropout_apply(dao, MH, pa, site_key(tr->key, site + 1));
        lin_dw(m->pool, &dw, g + L->out_w, gat(tr, L->out_b), dao, ctx, (int)M, H, H);
        linear_forward(m->pool, dctx, dao, &tr->bwd[4 * l + 1], (int)M, EPI_NONE, NULL);
        const bool glob = is_global(xc, l);
        mb_attention(m, a, l, qr, NULL, a->dqkv, dctx, pa, site_key(tr->key, site));
        float *cs = a->cs + (glob ? 0 : (size_t)2 * max_T * half);
        mb_rotate(a, a->dqkv, a->dqkv, cs, H, dh, true);
        lin_dw(m->pool, &dw, g + L->qkv_w, gat(tr, L->qkv_b), a->dqkv, a_in, (int)M, 3 * H, H);
        dx = a->d1;
        if (has_norm) {
            linear_forward(m->pool, a->d2, a->dqkv, &tr->bwd[4 * l], (int)M, EPI_NONE, NULL);
            ln_backward(m->pool, dx, a->d2, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, w + L->ln1_g,
                        g + L->ln1_g, L->ln1_b != SIZE_MAX ? g + L->ln1_b : junk, (int)M, H, a->lnpart);
            add_into(m->pool, dx, dx1, MH);
        } else {
            linear_forward(m->pool, dx, a->dqkv, &tr->bwd[4 * l], (int)M, EPI_NONE, dx1);
        }
    }
    if (tr->frozen_embeddings) return;
    dropout_apply(dx, MH, mdp(tr, xc->emb_drop), site_key(tr->key, MSITE_EMB));
    float *de = a->d0;
    ln_backward(m->pool, de, dx, a->xhat_e, a->rstd_e, w + tr->emb_g, g + tr->emb_g,
                tr->emb_b != SIZE_MAX ? g + tr->emb_b : junk, (int)M, H, a->lnpart);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++) {
            const float *r = de + ((size_t)a->seq_off[i] + t) * H;
            float *gw = g + tr->word + (size_t)encs[i].ids[t] * H;
            for (int k = 0; k < H; k++) gw[k] += r[k];
        }
}

static bool mb_train_head_role(int role) { return role == R_HEAD_NORM_G || role == R_HEAD_NORM_B; }

/* ModernBertPreTrainedModel._init_weights: trunc_normal_ at +-initializer_cutoff_factor std, std hidden^-0.5 for the
 * classifier ("final_out"), initializer_range / sqrt(2 layers) for the head's dense ("out") */
static float mb_train_init_std(const model_config *c, const char *name, float *cutoff) {
    *cutoff = mbc(c)->init_cutoff;
    if (!strcmp(name, "classifier.weight")) return 1.0f / sqrtf((float)c->hidden);
    if (!strcmp(name, "head.dense.weight")) return c->initializer_range / sqrtf(2.0f * (float)c->layers);
    return c->initializer_range;
}

const model_arch model_arch_modernbert = {
    .family = "modernbert",
    .model_types = "modernbert",
    .takes = mb_takes,
    .config = mb_config_read,
    .weight_name = mb_weight_name,
    .weight_prefix = mb_weight_prefix,
    .weight_in_layers = mb_weight_in_layers,
    .head_act = mb_head_act,
    .position_cap = mb_position_cap,
    .class_name = mb_class_name,
    .position_ids = mb_position_ids,
    .forward = mb_forward,
    .backward = mb_backward,
    .bind = mb_bind,
    .free_ext = mb_free_ext,
    .token_logits = mb_token_logits,
    .train_head_role = mb_train_head_role,
    .train_init_std = mb_train_init_std,
};
