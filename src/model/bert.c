/*
 * bert.c — the BERT family: DistilBERT, BERT and RoBERTa / XLM-RoBERTa share one post-LayerNorm encoder (exact erf
 * GELU unless config.json says otherwise), as transformers' modeling_distilbert / modeling_bert / modeling_roberta
 * compute it. This file holds all that is theirs: config.json's fields as transformers reads them (DistilBertConfig /
 * BertConfig / RobertaConfig), the Hugging Face names of their weights, their position ids, the one forward pass
 * (inference and training) and its backward pass, layer by layer.
 *
 * Sequences of a batch are laid end to end, [sum(T), H], with no padding at all: linear layers run on all tokens at
 * once, attention runs per (sequence, head) over that sequence's own tokens. A batched run is therefore the same
 * arithmetic as single runs, bit for bit, and padded positions cost nothing.
 *
 * Inference runs the kernels' fused forms (GELU and the residual in the GEMM epilogue, the vectorised attention and
 * LayerNorm). Training (m->train set) runs each op in the form whose backward is written here: the activation apart
 * from the GEMM, dropout then the residual, attention keeping its softmax probabilities, LayerNorm keeping x-hat and
 * 1/std (layers.c). Losses are the trainer's (src/train/step.c).
 */
#include "layers.h"
#include "model.h"

#include "base/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config.json ---- */

#define TYPES "distilbert, bert, roberta, xlm-roberta"

static bool bert_takes(const char *mt) {
    return !strcmp(mt, "distilbert") || !strcmp(mt, "bert") || !strcmp(mt, "roberta") || !strcmp(mt, "xlm-roberta");
}

/* The family's fields of config.json (model_type, architectures, labels and problem_type are read by arch.c for
 * every architecture). */
static bertc_status bert_config(model_config *c, const cfg_reader *r) {
    const json_t *j = r->j;
    const char *what = r->what, *mt = c->model_type;
    bertc_error *err = r->err;
    bertc_status s = BERTC_OK;
    const char *khid, *kheads;
    if (!strcmp(mt, "distilbert")) {
        c->arch = BERTC_ARCH_DISTILBERT;
        khid = "dim";
        kheads = "n_heads";
        if ((s = cfg_intv(r, "dim", 768, 1, 65536, false, &c->hidden)) ||
            (s = cfg_intv(r, "n_layers", 6, 1, 1000, false, &c->layers)) ||
            (s = cfg_intv(r, "n_heads", 12, 1, 65536, false, &c->heads)) ||
            (s = cfg_intv(r, "hidden_dim", 3072, 1, 1 << 20, false, &c->intermediate)))
            return s;
        c->type_vocab_size = 0;
        c->ln_eps = 1e-12f;
        if ((s = cfg_act(r, "activation", false, &c->act))) return s;
    } else { /* bert, roberta, xlm-roberta: arch.c calls this only for what bert_takes accepts */
        /* XLM-RoBERTa is RoBERTa's architecture (transformers' XLMRobertaModel, base_model_prefix "roberta")
         * with a SentencePiece Unigram tokenizer */
        c->arch = mt[0] == 'b' ? BERTC_ARCH_BERT : BERTC_ARCH_ROBERTA;
        khid = "hidden_size";
        kheads = "num_attention_heads";
        /* type_vocab_size >= 1: the embeddings add token type 0's row to every token (an empty table fails in
         * transformers' forward) */
        if ((s = cfg_intv(r, "hidden_size", 768, 1, 65536, false, &c->hidden)) ||
            (s = cfg_intv(r, "num_hidden_layers", 12, 1, 1000, false, &c->layers)) ||
            (s = cfg_intv(r, "num_attention_heads", 12, 1, 65536, false, &c->heads)) ||
            (s = cfg_intv(r, "intermediate_size", 3072, 1, 1 << 20, false, &c->intermediate)) ||
            (s = cfg_intv(r, "type_vocab_size", 2, 1, 1024, false, &c->type_vocab_size)))
            return s;
        if ((s = cfg_ln_eps(r, 1e-12f, &c->ln_eps)) || (s = cfg_act(r, "hidden_act", false, &c->act))) return s;
        const char *pet = jstr(j, "position_embedding_type");
        if (pet && strcmp(pet, "absolute") != 0) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: position_embedding_type %.40s is not supported (absolute only)",
                           what, pet);
            return s;
        }
    }
    c->tie_word_embeddings = jbool(j, "tie_word_embeddings", 1);
    /* what training reads (its checks are the trainer's: inference ignores them) */
    if (c->arch == BERTC_ARCH_DISTILBERT) {
        c->drop.hidden = (float)jnum(j, "dropout", 0.1);
        c->drop.attention = (float)jnum(j, "attention_dropout", 0.1);
        c->drop.classifier = (float)jnum(j, "seq_classif_dropout", 0.2);
    } else {
        c->drop.hidden = (float)jnum(j, "hidden_dropout_prob", 0.1);
        c->drop.attention = (float)jnum(j, "attention_probs_dropout_prob", 0.1);
        c->drop.classifier = (float)jnum(j, "classifier_dropout", c->drop.hidden);
    }
    c->initializer_range = (float)jnum(j, "initializer_range", 0.02);
    if ((s = cfg_intv(r, "vocab_size", 30522, 1, 1 << 24, false, &c->vocab_size)) ||
        (s = cfg_intv(r, "max_position_embeddings", 512, 1, 1 << 20, false, &c->max_positions)) ||
        (s = cfg_intv(r, "pad_token_id", c->arch == BERTC_ARCH_ROBERTA ? 1 : 0, -(1 << 24), 1 << 24, true,
                      &c->pad_token_id)))
        return s;
    if (c->hidden % c->heads != 0) { /* transformers raises the same ValueError */
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: %s %d out of range: %s %d is not a multiple of the number of "
                       "attention heads", what, kheads, c->heads, khid, c->hidden);
        return s;
    }
    /* nn.Embedding(vocab_size, H, padding_idx=pad_token_id) asserts -vocab_size <= padding_idx < vocab_size */
    if (c->pad_token_id < -c->vocab_size || c->pad_token_id >= c->vocab_size) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d out of range for vocab_size %d", what, c->pad_token_id,
                       c->vocab_size);
        return s;
    }
    if (c->arch == BERTC_ARCH_ROBERTA && (c->pad_token_id < 0 || c->pad_token_id + 2 > c->max_positions)) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d leaves no positions", what, c->pad_token_id);
        return s;
    }
    return BERTC_OK;
}

static int bert_position_cap(const model_config *c) {
    return c->arch == BERTC_ARCH_ROBERTA ? c->max_positions - c->pad_token_id - 1 : c->max_positions;
}

static const char *bert_class_name(const model_config *c) {
    if (!strcmp(c->model_type, "xlm-roberta")) return "XLMRobertaForSequenceClassification";
    return c->arch == BERTC_ARCH_DISTILBERT ? "DistilBertForSequenceClassification"
           : c->arch == BERTC_ARCH_BERT     ? "BertForSequenceClassification"
                                            : "RobertaForSequenceClassification";
}

/* ---- names ---- */

/* The body's names after the base-model prefix (%d: the layer): DistilBERT's, then BERT / RoBERTa's (NULL: the
 * same). */
static const char *const body_names[WR_LAYER_LAST + 1][2] = {
    [WR_WORD] = {"embeddings.word_embeddings.weight", NULL},
    [WR_POS] = {"embeddings.position_embeddings.weight", NULL},
    [WR_TYPE] = {NULL, "embeddings.token_type_embeddings.weight"},
    [WR_EMB_LN_G] = {"embeddings.LayerNorm.weight", NULL},
    [WR_EMB_LN_B] = {"embeddings.LayerNorm.bias", NULL},
    [WR_Q_W] = {"transformer.layer.%d.attention.q_lin.weight", "encoder.layer.%d.attention.self.query.weight"},
    [WR_K_W] = {"transformer.layer.%d.attention.k_lin.weight", "encoder.layer.%d.attention.self.key.weight"},
    [WR_V_W] = {"transformer.layer.%d.attention.v_lin.weight", "encoder.layer.%d.attention.self.value.weight"},
    [WR_Q_B] = {"transformer.layer.%d.attention.q_lin.bias", "encoder.layer.%d.attention.self.query.bias"},
    [WR_K_B] = {"transformer.layer.%d.attention.k_lin.bias", "encoder.layer.%d.attention.self.key.bias"},
    [WR_V_B] = {"transformer.layer.%d.attention.v_lin.bias", "encoder.layer.%d.attention.self.value.bias"},
    [WR_OUT_W] = {"transformer.layer.%d.attention.out_lin.weight", "encoder.layer.%d.attention.output.dense.weight"},
    [WR_OUT_B] = {"transformer.layer.%d.attention.out_lin.bias", "encoder.layer.%d.attention.output.dense.bias"},
    [WR_LN1_G] = {"transformer.layer.%d.sa_layer_norm.weight", "encoder.layer.%d.attention.output.LayerNorm.weight"},
    [WR_LN1_B] = {"transformer.layer.%d.sa_layer_norm.bias", "encoder.layer.%d.attention.output.LayerNorm.bias"},
    [WR_FFN1_W] = {"transformer.layer.%d.ffn.lin1.weight", "encoder.layer.%d.intermediate.dense.weight"},
    [WR_FFN1_B] = {"transformer.layer.%d.ffn.lin1.bias", "encoder.layer.%d.intermediate.dense.bias"},
    [WR_FFN2_W] = {"transformer.layer.%d.ffn.lin2.weight", "encoder.layer.%d.output.dense.weight"},
    [WR_FFN2_B] = {"transformer.layer.%d.ffn.lin2.bias", "encoder.layer.%d.output.dense.bias"},
    [WR_LN2_G] = {"transformer.layer.%d.output_layer_norm.weight", "encoder.layer.%d.output.LayerNorm.weight"},
    [WR_LN2_B] = {"transformer.layer.%d.output_layer_norm.bias", "encoder.layer.%d.output.LayerNorm.bias"},
};

/* The heads' names, whole: DistilBERT's, BERT's, RoBERTa's. DistilBertForMaskedLM: vocab_transform, activation,
 * vocab_layer_norm, vocab_projector; BertForMaskedLM: cls.predictions.transform.{dense, LayerNorm}, decoder, bias;
 * RobertaForMaskedLM: lm_head.{dense, layer_norm, decoder, bias}. BERT's sequence classifier pools through the base
 * model's pooler. */
static const char *const head_names[WR_COUNT - WR_CLS_DENSE_W][3] = {
    [WR_CLS_DENSE_W - WR_CLS_DENSE_W] = {"pre_classifier.weight", "bert.pooler.dense.weight", "classifier.dense.weight"},
    [WR_CLS_DENSE_B - WR_CLS_DENSE_W] = {"pre_classifier.bias", "bert.pooler.dense.bias", "classifier.dense.bias"},
    [WR_CLS_OUT_W - WR_CLS_DENSE_W] = {"classifier.weight", "classifier.weight", "classifier.out_proj.weight"},
    [WR_CLS_OUT_B - WR_CLS_DENSE_W] = {"classifier.bias", "classifier.bias", "classifier.out_proj.bias"},
    [WR_TOK_OUT_W - WR_CLS_DENSE_W] = {"classifier.weight", "classifier.weight", "classifier.weight"},
    [WR_TOK_OUT_B - WR_CLS_DENSE_W] = {"classifier.bias", "classifier.bias", "classifier.bias"},
    [WR_QA_OUT_W - WR_CLS_DENSE_W] = {"qa_outputs.weight", "qa_outputs.weight", "qa_outputs.weight"},
    [WR_QA_OUT_B - WR_CLS_DENSE_W] = {"qa_outputs.bias", "qa_outputs.bias", "qa_outputs.bias"},
    [WR_MLM_DENSE_W - WR_CLS_DENSE_W] = {"vocab_transform.weight", "cls.predictions.transform.dense.weight", "lm_head.dense.weight"},
    [WR_MLM_DENSE_B - WR_CLS_DENSE_W] = {"vocab_transform.bias", "cls.predictions.transform.dense.bias", "lm_head.dense.bias"},
    [WR_MLM_LN_G - WR_CLS_DENSE_W] = {"vocab_layer_norm.weight", "cls.predictions.transform.LayerNorm.weight", "lm_head.layer_norm.weight"},
    [WR_MLM_LN_B - WR_CLS_DENSE_W] = {"vocab_layer_norm.bias", "cls.predictions.transform.LayerNorm.bias", "lm_head.layer_norm.bias"},
    [WR_MLM_DEC_W - WR_CLS_DENSE_W] = {"vocab_projector.weight", "cls.predictions.decoder.weight", "lm_head.decoder.weight"},
    [WR_MLM_DEC_B - WR_CLS_DENSE_W] = {"vocab_projector.bias", "cls.predictions.decoder.bias", "lm_head.decoder.bias"},
    [WR_MLM_BIAS - WR_CLS_DENSE_W] = {"vocab_projector.bias", "cls.predictions.bias", "lm_head.bias"},
};

static const char *bert_weight_prefix(const model_config *c) {
    return c->arch == BERTC_ARCH_DISTILBERT ? "distilbert." : c->arch == BERTC_ARCH_BERT ? "bert." : "roberta.";
}

static bool bert_weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0, int64_t *d1) {
    const int64_t H = c->hidden, I = c->intermediate, V = c->vocab_size;
    const bool distil = c->arch == BERTC_ARCH_DISTILBERT;
    if (role < 0 || role >= WR_COUNT) return false;
    if (role <= WR_LAYER_LAST) {
        const char *f = body_names[role][distil ? 0 : 1] ? body_names[role][distil ? 0 : 1] : body_names[role][0];
        if (!f || (role == WR_TYPE && c->type_vocab_size <= 0)) return false;
        char fmt[128];
        snprintf(fmt, sizeof fmt, "%s%s", bert_weight_prefix(c), f);
        snprintf(name, cap, fmt, l);
    } else {
        snprintf(name, cap, "%s", head_names[role - WR_CLS_DENSE_W][distil ? 0 : c->arch == BERTC_ARCH_BERT ? 1 : 2]);
    }
    int64_t s0, s1 = H;
    switch (role) {
    case WR_WORD: case WR_MLM_DEC_W: s0 = V; break;
    case WR_POS: s0 = c->max_positions; break;
    case WR_TYPE: s0 = c->type_vocab_size; break;
    case WR_FFN1_W: s0 = I; break;
    case WR_FFN2_W: s0 = H, s1 = I; break;
    case WR_CLS_OUT_W: case WR_TOK_OUT_W: s0 = n_labels; break;
    case WR_QA_OUT_W: s0 = 2; break;
    case WR_Q_W: case WR_K_W: case WR_V_W: case WR_OUT_W: case WR_CLS_DENSE_W: case WR_MLM_DENSE_W: s0 = H; break;
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

static enum epilogue bert_head_act(const model_config *c, bertc_head head) {
    if (head == BERTC_HEAD_MASKED_LM) return c->arch == BERTC_ARCH_ROBERTA ? EPI_GELU : c->act;
    return c->arch == BERTC_ARCH_DISTILBERT ? EPI_RELU : EPI_TANH;
}

static bool bert_weight_in_layers(const model_config *c, const char *name) {
    size_t pl = strlen(bert_weight_prefix(c));
    if (!strncmp(name, bert_weight_prefix(c), pl)) name += pl;
    return !strncmp(name, "transformer.layer.", 18) || !strncmp(name, "encoder.layer.", 14);
}

static void bert_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos) {
    int count = 0;
    /* MPNetEmbeddings' padding_idx is 1 whatever config.json's pad_token_id */
    const int pad = c->arch == BERTC_ARCH_MPNET ? 1 : c->pad_token_id;
    for (size_t t = 0; t < n; t++) {
        if (c->arch == BERTC_ARCH_ROBERTA || c->arch == BERTC_ARCH_MPNET) /* create_position_ids_from_input_ids: padding_idx + cumulative count of non-pad tokens */
            pos[t] = ids[t] != pad ? pad + ++count : pad;
        else
            pos[t] = (int)t;
    }
}

/* The embeddings' width: hidden, or embedding_size where the architecture projects them to hidden (ELECTRA's
 * embeddings_project, bertc_model.emb_proj). */
static int emb_width(const model_config *c) { return c->embedding_size > 0 ? c->embedding_size : c->hidden; }

/* ---- what the training forward keeps ---- */

typedef struct tacts {
    size_t M_cap, n_cap, P_cap;
    /* kept per layer */
    float *xs;     /* (layers + 1) x M x H: layer inputs / outputs (xs[0] = embeddings after dropout) */
    float *qkv;    /* layers x M x 3H */
    float *P;      /* layers x P_cap: softmax probabilities (before dropout) */
    float *ctx;    /* layers x M x H */
    float *xhat1, *x1, *xhat2; /* layers x M x H */
    float *rstd1, *rstd2;      /* layers x M */
    float *hpre;   /* layers x M x I */
    float *xhat_e, *rstd_e;    /* embeddings LayerNorm */
    float *xe;                 /* projected embeddings: their LayerNorm's output after dropout, M x E (else NULL) */
    /* head */
    float *cls, *hpre_head, *hact, *hdrop; /* n x H */
    /* work */
    float *h, *dh;             /* M x I */
    float *d0, *d1, *d2, *d3;  /* M x H */
    float *dqkv;               /* M x 3H */
    float *dyt;                /* max(3H, I) x M */
    float *dw;                 /* max(3H*H, I*H, L*H) */
    float *xpack;              /* packed x for dW: ceil(max(H, I) / 16) * 16 x M */
    float *zeros;              /* bias of the dW GEMM */
    float *att_scratch;        /* per task: 2 * max_T */
    size_t att_scratch_n;
    int *seq_off, *seq_len;
    int *pos_id, *type_id; /* per token: the position and token type the embeddings used (the backward pass reuses them) */
    size_t *pofs;
    /* an additive attention bias by relative offset (model_arch.attn_rel_bias): heads x (2R - 1) values, and per
     * (sequence, head) task their gradient, then its sum over sequences */
    float *rel, *drel;
    size_t rel_cap, drel_cap;
    int rel_R;
} tacts;

static void acts_free(tacts *a) {
    if (!a) return;
    float **f[] = {&a->xs, &a->qkv, &a->P, &a->ctx, &a->xhat1, &a->x1, &a->xhat2, &a->rstd1, &a->rstd2, &a->hpre,
                   &a->xhat_e, &a->rstd_e, &a->cls, &a->hpre_head, &a->hact, &a->hdrop, &a->h, &a->dh, &a->d0,
                   &a->d1, &a->d2, &a->d3, &a->dqkv, &a->dyt, &a->dw, &a->xpack, &a->zeros, &a->att_scratch, &a->xe};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
    free(a->seq_off);
    free(a->seq_len);
    free(a->pofs);
    free(a->rel);
    free(a->drel);
    a->rel = a->drel = NULL;
    a->rel_cap = a->drel_cap = 0;
    free(a->pos_id);
    free(a->type_id);
    a->seq_off = a->seq_len = a->pos_id = a->type_id = NULL;
    a->pofs = NULL;
    a->M_cap = a->n_cap = a->P_cap = 0;
}

void model_train_acts_free(encoder_train *t) {
    if (t) {
        free(t->arch_acts); /* an architecture's own (deberta.c) */
        t->arch_acts = NULL;
    }
    if (t && t->acts) {
        acts_free(t->acts);
        free(t->acts);
        t->acts = NULL;
    }
}

static float *falloc(size_t n) { return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64); }

static bool acts_reserve(const bertc_model *m, size_t M, size_t n, size_t P, int max_T) {
    encoder_train *tr = m->train;
    if (!tr->acts && !(tr->acts = calloc(1, sizeof(tacts)))) return false;
    tacts *a = tr->acts;
    const size_t H = (size_t)m->cfg.hidden, I = (size_t)m->cfg.intermediate, Ly = (size_t)m->cfg.layers;
    const size_t L = (size_t)m->cfg.n_labels;
    size_t tasks = n * (size_t)m->cfg.heads, per_task = (2 + (size_t)(m->cfg.hidden / m->cfg.heads)) * (size_t)max_T;
    if (M <= a->M_cap && n <= a->n_cap && P <= a->P_cap && tasks * per_task <= a->att_scratch_n) return true;
    M = M > a->M_cap ? M + M / 4 : a->M_cap;
    n = n > a->n_cap ? n + n / 4 : a->n_cap;
    P = P > a->P_cap ? P + P / 4 : a->P_cap;
    size_t att = tasks * per_task;
    att = att > a->att_scratch_n ? att + att / 4 : a->att_scratch_n;
    acts_free(a);
    /* embeddings of another width E (projected to H): the rows before the projection are E wide */
    const size_t E = (size_t)emb_width(&m->cfg), EH = E > H ? E : H;
    size_t maxN = 3 * H > I ? 3 * H : I, panels = ((EH > I ? EH : I) + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
    size_t wmax = 3 * H * H > I * H ? 3 * H * H : I * H;
    if (L * H > wmax) wmax = L * H;
    if (E * H > wmax) wmax = E * H;
    a->xs = falloc((Ly + 1) * M * H);
    a->qkv = falloc(Ly * M * 3 * H);
    a->P = falloc(Ly * P);
    a->ctx = falloc(Ly * M * H);
    a->xhat1 = falloc(Ly * M * H);
    a->x1 = falloc(Ly * M * H);
    a->xhat2 = falloc(Ly * M * H);
    a->rstd1 = falloc(Ly * M);
    a->rstd2 = falloc(Ly * M);
    a->hpre = falloc(Ly * M * I);
    a->xhat_e = falloc(M * EH);
    a->rstd_e = falloc(M);
    a->cls = falloc(n * H);
    a->hpre_head = falloc(n * H);
    a->hact = falloc(n * H);
    a->hdrop = falloc(n * H);
    a->h = falloc(M * I);
    a->dh = falloc(M * I);
    a->d0 = falloc(M * EH);
    a->d1 = falloc(M * EH);
    a->d2 = falloc(M * EH);
    a->d3 = falloc(M * H);
    a->dqkv = falloc(M * 3 * H);
    a->dyt = falloc(maxN * M);
    a->dw = falloc(wmax);
    a->xpack = falloc(panels * (M > (size_t)bf16_pairs((int)M) ? M : (size_t)bf16_pairs((int)M))); /* fp32 or bf16 pairs */
    a->zeros = falloc(panels);
    a->att_scratch = falloc(att);
    a->seq_off = malloc(n * sizeof(int));
    a->seq_len = malloc(n * sizeof(int));
    a->pofs = malloc(n * sizeof(size_t));
    a->pos_id = malloc(M * sizeof(int));
    a->type_id = malloc(M * sizeof(int));
    if (E != (size_t)H && !(a->xe = falloc(M * E))) {
        acts_free(a);
        return false;
    }
    float *all[] = {a->xs, a->qkv, a->P, a->ctx, a->xhat1, a->x1, a->xhat2, a->rstd1, a->rstd2, a->hpre, a->xhat_e,
                    a->rstd_e, a->cls, a->hpre_head, a->hact, a->hdrop, a->h, a->dh, a->d0, a->d1, a->d2, a->d3,
                    a->dqkv, a->dyt, a->dw, a->xpack, a->zeros, a->att_scratch};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!all[i]) {
            acts_free(a);
            return false;
        }
    if (!a->seq_off || !a->seq_len || !a->pofs || !a->pos_id || !a->type_id) {
        acts_free(a);
        return false;
    }
    memset(a->zeros, 0, panels * sizeof(float));
    a->M_cap = M;
    a->n_cap = n;
    a->P_cap = P;
    a->att_scratch_n = att;
    return true;
}

/* The relative-offset bias buffers of a training step: rel (heads x (2R - 1)), drel (n tasks' rows and their sum). */
static bool rel_reserve(tacts *a, size_t nrel, size_t ndrel) {
    if (nrel > a->rel_cap) {
        free(a->rel);
        a->rel_cap = 0;
        if (!(a->rel = falloc(nrel))) return false;
        a->rel_cap = nrel;
    }
    if (ndrel > a->drel_cap) {
        free(a->drel);
        a->drel_cap = 0;
        if (!(a->drel = falloc(ndrel))) return false;
        a->drel_cap = ndrel;
    }
    return true;
}

/* ---- the forward pass ---- */

/* dropout sites: layer l: 16 + 4 l + {0 attn, 1 out, 2 ffn} */
enum { SITE_EMB = 1, SITE_HEAD0 = 2, SITE_HEAD1 = 3, SITE_LAYER = 16 };

static float drop_p(const encoder_train *tr, float p) { return tr->dropout ? p : 0.0f; }

/* inference attention: attention_head (or its bf16 form) per (sequence, head) */
typedef struct attn_job {
    float *ctx;
    const float *qkv;
    const int *seq_off, *seq_len;
    int n_seq, heads, H, dh, max_T;
    float *scratch;
    bool first_only; /* only the first query row of each sequence (the classifier's last layer) */
    int bf16_tier;   /* bf16 compute: the matmuls' tier (the AMX tiers run attention on tiles too); -1: fp32 */
    const float *rel; /* NULL, or the architecture's bias by relative offset: heads x (2 max_T - 1) (attention_head_rel) */
} attn_job;

static void attn_task(void *p, int task, int n_tasks) {
    (void)n_tasks;
    attn_job *j = p;
    int s = task / j->heads, h = task % j->heads;
    size_t off = (size_t)j->seq_off[s];
    float *out = j->ctx + off * j->H, *scratch = j->scratch + (size_t)task * 4 * (j->max_T + 8);
    const float *qkv = j->qkv + off * 3 * j->H;
    int nq = j->first_only ? 1 : j->seq_len[s];
    if (j->rel) {
        scratch = j->scratch + (size_t)task * 4 * (j->max_T + 8 + j->dh);
        attention_head_rel(out, qkv, j->seq_len[s], nq, j->H, h, j->dh, scratch,
                           j->rel + (size_t)h * (2 * j->max_T - 1) + (j->max_T - 1));
    } else if (j->bf16_tier >= 0) attention_head_bf16(out, qkv, j->seq_len[s], nq, j->H, h, j->dh, scratch, j->bf16_tier);
    else attention_head(out, qkv, j->seq_len[s], nq, j->H, h, j->dh, scratch);
}

/* One layer's buffers: inference reuses x (in and out), x1, h; training keeps them per layer. */
typedef struct layer_io {
    float *xin, *xout, *qkv, *ctx, *x1, *h, *y;
    float *P, *hpre, *xhat1, *rstd1, *xhat2, *rstd2; /* kept (training) */
} layer_io;

/* out = LayerNorm(x W^T + b + residual): fused (inference), or through y with dropout before the residual and
 * x-hat, 1/std kept (training). */
static void residual_norm(const bertc_model *m, const layer_io *b, float *out, const float *x, const packed_linear *pl,
                          int rows, const float *residual, const float *g, const float *beta, float *xhat, float *rstd,
                          uint64_t site) {
    const encoder_train *tr = m->train;
    const int H = m->cfg.hidden;
    if (!tr) {
        linear_forward(m->pool, out, x, pl, rows, EPI_NONE, residual);
        layernorm_pool(m->pool, out, g, beta, rows, H, m->cfg.ln_eps);
        return;
    }
    const size_t MH = (size_t)rows * H;
    linear_forward(m->pool, b->y, x, pl, rows, EPI_NONE, NULL);
    dropout_apply(b->y, MH, drop_p(tr, tr->drop.hidden), site_key(tr->key, site));
    add_into(m->pool, b->y, residual, MH);
    ln_forward(m->pool, out, xhat, rstd, b->y, g, beta, rows, H, m->cfg.ln_eps);
}

/* h = act(x1 W1^T + b1): the activation in the GEMM's epilogue (inference) or apart, the pre-activation kept. */
static void ffn_in(const bertc_model *m, const layer_io *b, const packed_linear *pl, int rows) {
    if (!m->train) {
        linear_forward(m->pool, b->h, b->x1, pl, rows, m->cfg.act, NULL);
        return;
    }
    linear_forward(m->pool, b->hpre, b->x1, pl, rows, EPI_NONE, NULL);
    act_run(m->pool, b->h, b->hpre, (size_t)rows * m->cfg.intermediate, m->cfg.act, false);
}

/* word + position (+ token type) rows of every token into x; the positions (and types) used into pos (type). */
static bertc_status embed(const bertc_model *m, const bertc_encoding *encs, size_t n, const int *seq_off, float *x,
                          int *pos, int *type, bertc_error *err) {
    const model_config *c = &m->cfg;
    const int H = emb_width(c); /* the rows' width */
    for (size_t i = 0; i < n; i++) {
        int *ps = pos + seq_off[i];
        bert_position_ids(c, encs[i].ids, encs[i].n, ps);
        for (size_t t = 0; t < encs[i].n; t++) {
            int id = encs[i].ids[t], tt = m->type && encs[i].type_ids ? encs[i].type_ids[t] : 0;
            if (m->train) { /* inference checked the lengths and types before */
                if (ps[t] >= c->max_positions)
                    return bertc_fail(err, BERTC_ERR_INPUT, "input %zu is longer than the model's positions", i);
                if (m->type && (tt < 0 || tt >= c->type_vocab_size))
                    return bertc_fail(err, BERTC_ERR_INPUT, "token type id %d outside type_vocab_size %d", tt,
                                      c->type_vocab_size);
            }
            if (type) type[seq_off[i] + t] = tt;
            float *r = x + ((size_t)seq_off[i] + t) * H;
            const float *we = m->word + (size_t)id * H, *pe = m->pos + (size_t)ps[t] * H;
            if (m->type) {
                const float *te = m->type + (size_t)tt * H;
                for (int k = 0; k < H; k++) r[k] = we[k] + te[k] + pe[k];
            } else {
                for (int k = 0; k < H; k++) r[k] = we[k] + pe[k];
            }
        }
    }
    return BERTC_OK;
}

/* The sequence-classification head on the first token of each sequence ([CLS] / <s>), rows first[i] of x (i: NULL):
 * dense + act (DistilBERT ReLU, else tanh) → out. Training: RoBERTa's dropout before the dense layer, the
 * activation apart, dropout before out; what the backward needs kept. */
static void head_forward(const bertc_model *m, const float *x, const int *first, size_t n, float *cls, float *pooled,
                         float *logits) {
    const int H = m->cfg.hidden;
    encoder_train *tr = m->train;
    for (size_t i = 0; i < n; i++) memcpy(cls + i * H, x + (first ? (size_t)first[i] : i) * H, (size_t)H * sizeof(float));
    if (!tr) {
        linear_forward(m->pool, pooled, cls, &m->head_dense, (int)n, m->head_act, NULL);
        linear_forward(m->pool, logits, pooled, &m->head_out, (int)n, EPI_NONE, NULL);
        return;
    }
    tacts *a = tr->acts;
    const float pc = drop_p(tr, tr->drop.classifier);
    if ((m->cfg.arch == BERTC_ARCH_ROBERTA || m->cfg.arch == BERTC_ARCH_MPNET || m->cfg.arch == BERTC_ARCH_ELECTRA) && pc > 0)
        dropout_apply(cls, n * (size_t)H, pc, site_key(tr->key, SITE_HEAD0));
    linear_forward(m->pool, a->hpre_head, cls, &m->head_dense, (int)n, EPI_NONE, NULL);
    activation_forward(a->hact, a->hpre_head, n * (size_t)H, m->head_act); /* ReLU, tanh, GELU: the portable formulas */
    memcpy(a->hdrop, a->hact, n * (size_t)H * sizeof(float));
    if (pc > 0) dropout_apply(a->hdrop, n * (size_t)H, pc, site_key(tr->key, SITE_HEAD1));
    linear_forward(m->pool, logits, a->hdrop, &m->head_out, (int)n, EPI_NONE, NULL);
}

static bertc_status bert_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out, float *emb_out,
                           float *logits_out, bertc_error *err) {
    const model_config *c = &m->cfg;
    encoder_train *tr = m->train;
    const int H = c->hidden, I = c->intermediate, nh = c->heads;
    if (tr && n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "empty batch");
    size_t M = 0, P = 0;
    int max_T = 1;
    bertc_status st = model_check_batch(m, encs, n, tr ? 0 : tokenizer_default_max_length(m->tok), !tr, &M, &max_T, err);
    if (st) return st;
    for (size_t i = 0; i < n; i++) P += (size_t)nh * encs[i].n * encs[i].n;
    if (n == 0) return BERTC_OK;
    const size_t MH = M * (size_t)H;
    int *seq_off, *seq_len, *pos, *type = NULL;
    float *x, *scratch = NULL; /* x: the embeddings before their LayerNorm */
    float *rel = NULL;         /* the architecture's attention bias by relative offset (model_arch.attn_rel_bias) */
    layer_io b = {0};
    tacts *a = NULL;
    if (tr) {
        if (!acts_reserve(m, M, n, P, max_T)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for a batch of %zu tokens", M);
        a = tr->acts;
        seq_off = a->seq_off, seq_len = a->seq_len, pos = a->pos_id, type = a->type_id;
        x = a->d0;
        b.h = a->h;
        if (c->ops->attn_rel_bias) {
            size_t nr = (size_t)nh * (size_t)(2 * max_T - 1);
            if (!rel_reserve(a, nr, (n + 1) * nr)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for a batch of %zu tokens", M);
            rel = a->rel;
            a->rel_R = max_T;
        }
        b.y = a->d1;
        tr->dlogits = a->dqkv; /* n x L <= M x 3H */
    } else {
        /* All activations come from one per-thread arena that grows to the largest batch seen and is reused: no
         * allocation (and no fresh pages to fault in) per call once warm. Regions are 64-byte aligned. */
        const bool rb = c->ops->attn_rel_bias != NULL; /* attn_task's wider scratch, and the bias table */
        size_t sizes[10] = {n * sizeof(int), n * sizeof(int), MH * 4, MH * 3 * 4, MH * 4, MH * 4, M * (size_t)I * 4,
                            n * (size_t)nh * 4 * (size_t)(max_T + 8 + (rb ? H / nh : 0)) * 4, M * sizeof(int),
                            rb ? (size_t)nh * (size_t)(2 * max_T - 1) * 4 : 0};
        void *part[10];
        if (!scratch_take(SCRATCH_ACTIVATIONS, sizes, part, 10)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
        seq_off = part[0], seq_len = part[1], x = part[2], b.qkv = part[3], b.ctx = part[4], b.x1 = part[5], b.h = part[6];
        scratch = part[7], pos = part[8];
        rel = rb ? part[9] : NULL;
        b.xin = b.xout = x;
    }
    size_t off = 0, poff = 0;
    for (size_t i = 0; i < n; i++) {
        seq_off[i] = (int)off;
        seq_len[i] = (int)encs[i].n;
        if (a) a->pofs[i] = poff;
        off += encs[i].n;
        poff += (size_t)nh * encs[i].n * encs[i].n;
    }
    /* embeddings: word + position (+ token type), then LayerNorm (then dropout); ELECTRA's are E wide, then
     * projected to H (emb: the projection's output, the first layer's input) */
    const int E = emb_width(c);
    float *xe = NULL; /* inference: the E-wide rows before the projection */
    if (!tr && E != H && !(xe = malloc(M * (size_t)E * sizeof(float))))
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    bertc_status s = embed(m, encs, n, seq_off, xe ? xe : x, pos, type, err);
    if (s) {
        free(xe);
        return s;
    }
    if (E != H) {
        if (tr) {
            ln_forward(m->pool, a->xe, a->xhat_e, a->rstd_e, x, m->emb_ln_g, m->emb_ln_b, (int)M, E, c->ln_eps);
            dropout_apply(a->xe, M * (size_t)E, drop_p(tr, tr->drop.hidden), site_key(tr->key, SITE_EMB));
        } else {
            layernorm_pool(m->pool, xe, m->emb_ln_g, m->emb_ln_b, (int)M, E, c->ln_eps);
        }
        linear_forward(m->pool, tr ? a->xs : x, tr ? a->xe : xe, &m->emb_proj, (int)M, EPI_NONE, NULL);
        free(xe);
        if (emb_out) memcpy(emb_out, tr ? a->xs : x, MH * sizeof(float));
    } else {
        if (tr) ln_forward(m->pool, a->xs, a->xhat_e, a->rstd_e, x, m->emb_ln_g, m->emb_ln_b, (int)M, H, c->ln_eps);
        else layernorm_pool(m->pool, x, m->emb_ln_g, m->emb_ln_b, (int)M, H, c->ln_eps);
        if (emb_out) memcpy(emb_out, tr ? a->xs : x, MH * sizeof(float));
        if (tr) dropout_apply(a->xs, MH, drop_p(tr, tr->drop.hidden), site_key(tr->key, SITE_EMB));
    }
    if (rel) c->ops->attn_rel_bias(m, max_T, rel); /* once per batch: the same for every layer */
    attn_job aj = {b.ctx, b.qkv, seq_off, seq_len, (int)n, nh, H, H / nh, max_T, scratch, false,
                   m->compute_mode == BERTC_COMPUTE_BF16 && m->layer[0].qkv.wb ? kernels_bf16_tier() : -1, rel};
    /* Only the first token of each sequence reaches the classifier: when no hidden states are asked for, the
     * last layer runs attention for every token (keys and values need them) and the rest on n rows. Row-wise
     * operations, so the numbers are the same as the full computation's. */
    bool cls_only = !tr && !hidden_out && logits_out && m->has_head;
    int rows = (int)M;
    for (int l = 0; l < c->layers; l++) {
        const layer_w *L = &m->layer[l];
        uint64_t site = SITE_LAYER + 4 * (uint64_t)l;
        if (tr) {
            b.xin = a->xs + (size_t)l * MH, b.xout = a->xs + (size_t)(l + 1) * MH;
            b.qkv = a->qkv + (size_t)l * MH * 3, b.ctx = a->ctx + (size_t)l * MH, b.P = a->P + (size_t)l * a->P_cap;
            b.x1 = a->x1 + (size_t)l * MH, b.hpre = a->hpre + (size_t)l * M * I;
            b.xhat1 = a->xhat1 + (size_t)l * MH, b.rstd1 = a->rstd1 + (size_t)l * M;
            b.xhat2 = a->xhat2 + (size_t)l * MH, b.rstd2 = a->rstd2 + (size_t)l * M;
        }
        linear_forward(m->pool, b.qkv, b.xin, &L->qkv, rows, EPI_NONE, NULL);
        if (tr) {
            att_job kj = {nh, H, max_T, seq_off, seq_len, a->pofs, a->att_scratch, b.ctx, b.P, b.qkv, NULL, NULL, false,
                          drop_p(tr, tr->drop.attention), site_key(tr->key, site), rel, max_T, NULL};
            attention_kept(m->pool, &kj, (int)n);
        } else {
            aj.first_only = cls_only && l == c->layers - 1;
            threadpool_run(m->pool, attn_task, &aj, (int)n * nh);
            if (aj.first_only) {
                /* compact rows seq_off[i] -> i (seq_off[i] >= i and increasing: sources are never overwritten) */
                for (size_t i = 0; i < n; i++) {
                    memmove(b.ctx + i * H, b.ctx + (size_t)seq_off[i] * H, (size_t)H * sizeof(float));
                    memmove(x + i * H, x + (size_t)seq_off[i] * H, (size_t)H * sizeof(float));
                }
                rows = (int)n;
            }
        }
        residual_norm(m, &b, b.x1, b.ctx, &L->out, rows, b.xin, L->ln1_g, L->ln1_b, b.xhat1, b.rstd1, site + 1);
        ffn_in(m, &b, &L->ffn1, rows);
        residual_norm(m, &b, b.xout, b.h, &L->ffn2, rows, b.x1, L->ln2_g, L->ln2_b, b.xhat2, b.rstd2, site + 2);
    }
    const float *last = tr ? a->xs + (size_t)c->layers * MH : x;
    if (hidden_out) memcpy(hidden_out, last, MH * sizeof(float));
    if (logits_out && m->has_head) /* cls_only: the rows are compacted (sequence i's first token at row i) */
        head_forward(m, last, cls_only ? NULL : seq_off, n, tr ? a->cls : b.ctx, b.x1, logits_out); /* n <= M rows */
    return BERTC_OK;
}

/* ---- the backward pass: each op's gradient, ops in reverse (the same dropout masks drawn again) ---- */

/* dx = dy W (+ residual when not NULL; residual must not alias out), W^T packed as linear li's bwd. */
static void lin_dx(const bertc_model *m, int li, float *out, const float *dy, int M, const float *residual) {
    linear_forward(m->pool, out, dy, &m->train->bwd[li], M, EPI_NONE, residual);
}

static dw_scratch dw_of(const encoder_train *tr) {
    const tacts *a = tr->acts;
    dw_scratch d = {a->dyt, a->xpack, a->dw, a->zeros, tr->bf16};
    return d;
}

/* The head's gradients from dl (n x L) and the gradient of its input rows into dx (M x H, zero elsewhere). */
static void head_backward(const bertc_model *m, const float *dl, size_t n, size_t M, float *dx) {
    encoder_train *tr = m->train;
    tacts *a = tr->acts;
    const int H = m->cfg.hidden, nl = m->cfg.n_labels, Ly = m->cfg.layers;
    const float pc = drop_p(tr, tr->drop.classifier);
    dw_scratch dw = dw_of(tr);
    float *g = tr->g;
    lin_dw(m->pool, &dw, g + tr->head_ow, g + tr->head_ob, dl, a->hdrop, (int)n, nl, H);
    float *dhd = a->d2; /* n x H */
    lin_dx(m, 4 * Ly + 1, dhd, dl, (int)n, NULL);
    dropout_apply(dhd, n * (size_t)H, pc, site_key(tr->key, SITE_HEAD1));
    if (m->head_act == EPI_TANH || m->head_act == EPI_RELU) {
        for (size_t i = 0; i < n * (size_t)H; i++)
            dhd[i] *= m->head_act == EPI_TANH ? 1.0f - a->hact[i] * a->hact[i] : (a->hpre_head[i] > 0 ? 1.0f : 0.0f);
    } else {
        act_run(m->pool, dhd, a->hpre_head, n * (size_t)H, m->head_act, true); /* ELECTRA's GELU */
    }
    lin_dw(m->pool, &dw, g + tr->head_dw, g + tr->head_db, dhd, a->cls, (int)n, H, H);
    float *dcls = a->d3;
    lin_dx(m, 4 * Ly, dcls, dhd, (int)n, NULL);
    if (m->cfg.arch == BERTC_ARCH_ROBERTA || m->cfg.arch == BERTC_ARCH_MPNET || m->cfg.arch == BERTC_ARCH_ELECTRA)
        dropout_apply(dcls, n * (size_t)H, pc, site_key(tr->key, SITE_HEAD0));
    memset(dx, 0, M * (size_t)H * sizeof(float));
    for (size_t i = 0; i < n; i++) memcpy(dx + (size_t)a->seq_off[i] * H, dcls + i * H, (size_t)H * sizeof(float));
}

/* Layer l's gradients; dx: in, the gradient of its output; out, of its input. */
static void layer_backward(const bertc_model *m, int l, size_t n, size_t M, float *dx) {
    encoder_train *tr = m->train;
    tacts *a = tr->acts;
    const model_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate;
    const size_t MH = M * (size_t)H;
    const tlayer *L = &tr->L[l];
    float *w = tr->w, *g = tr->g, *lnpart = a->dw; /* LN partial sums: LN_CHUNKS x 2H <= the dW buffer */
    const float ph = drop_p(tr, tr->drop.hidden);
    const uint64_t site = SITE_LAYER + 4 * (uint64_t)l;
    dw_scratch dw = dw_of(tr);
    float *xin = a->xs + (size_t)l * MH;
    float *qkv = a->qkv + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH, *Pl = a->P + (size_t)l * a->P_cap;
    float *x1 = a->x1 + (size_t)l * MH, *hpre = a->hpre + (size_t)l * M * I;
    float *dy2 = a->d1, *df = a->d2, *dx1 = a->d3;
    /* LN2 */
    ln_backward(m->pool, dy2, dx, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, w + L->ln2_g, g + L->ln2_g,
                g + L->ln2_b, (int)M, H, lnpart);
    memcpy(df, dy2, MH * sizeof(float));
    dropout_apply(df, MH, ph, site_key(tr->key, site + 2)); /* the same mask as the forward */
    /* FFN2: h = act(hpre) again */
    act_run(m->pool, a->h, hpre, M * (size_t)I, c->act, false);
    lin_dw(m->pool, &dw, g + L->ffn2_w, g + L->ffn2_b, df, a->h, (int)M, H, I);
    lin_dx(m, 4 * l + 3, a->dh, df, (int)M, NULL);
    act_run(m->pool, a->dh, hpre, M * (size_t)I, c->act, true);
    /* FFN1 */
    lin_dw(m->pool, &dw, g + L->ffn1_w, g + L->ffn1_b, a->dh, x1, (int)M, I, H);
    lin_dx(m, 4 * l + 2, dx1, a->dh, (int)M, dy2); /* + the residual path */
    /* LN1 */
    float *dy1 = a->d1, *da = a->d2;
    ln_backward(m->pool, dy1, dx1, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, w + L->ln1_g, g + L->ln1_g,
                g + L->ln1_b, (int)M, H, lnpart);
    memcpy(da, dy1, MH * sizeof(float));
    dropout_apply(da, MH, ph, site_key(tr->key, site + 1)); /* the same mask as the forward */
    /* attention output */
    lin_dw(m->pool, &dw, g + L->out_w, g + L->out_b, da, ctx, (int)M, H, H);
    float *dctx = a->d3;
    lin_dx(m, 4 * l + 1, dctx, da, (int)M, NULL);
    /* attention */
    const bool rb = c->ops->attn_rel_bias != NULL;
    att_job kj = {c->heads, H, 0, a->seq_off, a->seq_len, a->pofs, a->att_scratch, NULL, Pl, qkv, a->dqkv, dctx, true,
                  drop_p(tr, tr->drop.attention), site_key(tr->key, site), NULL, rb ? a->rel_R : 0, rb ? a->drel : NULL};
    for (size_t i = 0; i < n; i++)
        if (a->seq_len[i] > kj.max_T) kj.max_T = a->seq_len[i];
    attention_kept(m->pool, &kj, (int)n);
    if (rb) { /* the relative bias's gradient: the tasks' rows summed over sequences, then the architecture's */
        const size_t nr = (size_t)c->heads * (size_t)(2 * a->rel_R - 1);
        float *sum = a->drel + n * nr;
        memcpy(sum, a->drel, nr * sizeof(float));
        for (size_t i = 1; i < n; i++)
            for (size_t k = 0; k < nr; k++) sum[k] += a->drel[i * nr + k];
        c->ops->attn_rel_bias_backward(m, a->rel_R, sum);
    }
    /* QKV */
    lin_dw(m->pool, &dw, g + L->qkv_w, g + L->qkv_b, a->dqkv, xin, (int)M, 3 * H, H);
    lin_dx(m, 4 * l, dx, a->dqkv, (int)M, dy1); /* dx of the layer input = residual + through QKV */
}

/* The embeddings' gradients from dx, the gradient of their dropout's output, scattered into the rows the forward
 * read, with the positions and types it used. */
static void embeddings_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, size_t M, float *dx) {
    encoder_train *tr = m->train;
    tacts *a = tr->acts;
    const int H = emb_width(&m->cfg);
    float *g = tr->g;
    if (H != m->cfg.hidden) { /* the projection (E -> hidden; not one of the embeddings: trained when they are frozen) */
        const int pr = m->cfg.ops->emb_proj_role - WR_ARCH, Hd = m->cfg.hidden;
        dw_scratch dw = dw_of(tr);
        lin_dw(m->pool, &dw, g + tr->arch[pr], g + tr->arch[pr + 1], dx, a->xe, (int)M, Hd, H);
        if (tr->frozen_embeddings) return;
        lin_dx(m, 4 * m->cfg.layers + 2, a->d2, dx, (int)M, NULL);
        dx = a->d2;
    }
    if (tr->frozen_embeddings) return;
    dropout_apply(dx, M * (size_t)H, drop_p(tr, tr->drop.hidden), site_key(tr->key, SITE_EMB));
    float *de = a->d1;
    ln_backward(m->pool, de, dx, a->xhat_e, a->rstd_e, tr->w + tr->emb_g, g + tr->emb_g, g + tr->emb_b, (int)M, H, a->dw);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < encs[i].n; t++) {
            size_t r0 = (size_t)a->seq_off[i] + t;
            const float *r = de + r0 * H;
            float *gw = g + tr->word + (size_t)encs[i].ids[t] * H, *gp = g + tr->pos + (size_t)a->pos_id[r0] * H;
            for (int k = 0; k < H; k++) {
                gw[k] += r[k];
                gp[k] += r[k];
            }
            if (tr->type != SIZE_MAX) {
                float *gt = g + tr->type + (size_t)a->type_id[r0] * H;
                for (int k = 0; k < H; k++) gt[k] += r[k];
            }
        }
}

static void bert_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dlogits) {
    size_t M = 0;
    for (size_t i = 0; i < n; i++) M += encs[i].n;
    float *dx = m->train->acts->d0; /* the gradient of the current layer's output */
    head_backward(m, dlogits, n, M, dx);
    for (int l = m->cfg.layers - 1; l >= 0; l--) layer_backward(m, l, n, M, dx);
    embeddings_backward(m, encs, n, M, dx); /* nothing below the first layer when frozen (ELECTRA's projection apart) */
}

const model_arch model_arch_bert = {
    .family = "bert",
    .model_types = TYPES,
    .takes = bert_takes,
    .config = bert_config,
    .weight_name = bert_weight_name,
    .weight_prefix = bert_weight_prefix,
    .weight_in_layers = bert_weight_in_layers,
    .head_act = bert_head_act,
    .position_cap = bert_position_cap,
    .class_name = bert_class_name,
    .position_ids = bert_position_ids,
    .forward = bert_forward,
    .backward = bert_backward,
};
