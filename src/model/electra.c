/*
 * electra.c — ELECTRA (model_type "electra"), as transformers' modeling_electra computes it: BERT's embeddings of
 * width embedding_size E (word, position, token type, LayerNorm over E, dropout), then embeddings_project, a
 * Linear(E -> H), when E != H (absent when equal), then BERT's post-LayerNorm layers under the prefix "electra.".
 * The forward and backward passes are bert.c's (the projection is its emb_proj hook); this file holds config.json
 * as ElectraConfig reads it (its defaults: embedding_size 128, hidden 256, 4 heads, 12 layers, intermediate 1024),
 * the names, and the heads:
 *  - ElectraForSequenceClassification: ElectraClassificationHead on the first token, classifier.dense + GELU (exact
 *    erf, get_activation("gelu"), not BERT's tanh) + classifier.out_proj, dropout before each (bert.c's head);
 *  - ElectraForTokenClassification (classifier), ElectraForQuestionAnswering (qa_outputs): bert.c's;
 *  - ElectraForMaskedLM (the generator): generator_predictions.dense H -> E, GELU, generator_predictions.LayerNorm
 *    over E, generator_lm_head E -> V tied to the word embeddings, with its bias (forward.c's masked-LM code);
 *  - ElectraForPreTraining (the discriminator): discriminator_predictions.dense + hidden_act +
 *    discriminator_predictions.dense_prediction, one logit per token (transformers' `logits`, [B, T]). It loads as
 *    a token classifier with the two labels "original" and "replaced", its per-token logits [0, logit]: the
 *    token-classification softmax over them is then [1 - sigmoid(logit), sigmoid(logit)], the probability that the
 *    token was replaced, and the argmax is transformers' round((sign(logit) + 1) / 2). `bertc ner
 *    --ignore-labels original` lists the replaced tokens; bertc_token_logits gives the logit in column 1.
 */
#include "model.h"

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ELECTRA's own tensors: the embeddings' projection (encoder) and the discriminator's head */
enum {
    WR_EPROJ_W = WR_ARCH, WR_EPROJ_B,
    WR_DISC_DENSE_W, WR_DISC_DENSE_B, WR_DISC_PRED_W, WR_DISC_PRED_B,
};

typedef struct electra_ext {
    packed_linear disc_dense, disc_pred; /* ElectraForPreTraining's head */
} electra_ext;

static bool electra_takes(const char *mt) { return !strcmp(mt, "electra"); }

static int emb_size(const model_config *c) { return c->embedding_size > 0 ? c->embedding_size : c->hidden; }

static bool is_discriminator(const model_config *c) { return strstr(c->architecture, "ForPreTraining") != NULL; }

/* ElectraConfig's fields (transformers omits those at their default from a saved config.json: the defaults are
 * ElectraConfig's, not BertConfig's) */
static bertc_status electra_config(model_config *c, const cfg_reader *r) {
    const json_t *j = r->j;
    const char *what = r->what;
    bertc_error *err = r->err;
    bertc_status s;
    c->arch = BERTC_ARCH_ELECTRA;
    if ((s = cfg_intv(r, "hidden_size", 256, 1, 65536, false, &c->hidden)) ||
        (s = cfg_intv(r, "embedding_size", 128, 1, 65536, false, &c->embedding_size)) ||
        (s = cfg_intv(r, "num_hidden_layers", 12, 1, 1000, false, &c->layers)) ||
        (s = cfg_intv(r, "num_attention_heads", 4, 1, 65536, false, &c->heads)) ||
        (s = cfg_intv(r, "intermediate_size", 1024, 1, 1 << 20, false, &c->intermediate)) ||
        (s = cfg_intv(r, "type_vocab_size", 2, 1, 1024, false, &c->type_vocab_size)) ||
        (s = cfg_intv(r, "vocab_size", 30522, 1, 1 << 24, false, &c->vocab_size)) ||
        (s = cfg_intv(r, "max_position_embeddings", 512, 1, 1 << 20, false, &c->max_positions)) ||
        (s = cfg_intv(r, "pad_token_id", 0, -(1 << 24), 1 << 24, true, &c->pad_token_id)))
        return s;
    if (c->embedding_size == c->hidden) c->embedding_size = 0; /* no embeddings_project */
    if ((s = cfg_ln_eps(r, 1e-12f, &c->ln_eps)) || (s = cfg_act(r, "hidden_act", false, &c->act))) return s;
    const char *pet = jstr(j, "position_embedding_type");
    if (pet && strcmp(pet, "absolute") != 0)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: position_embedding_type %.40s is not supported (absolute only)",
                          what, pet);
    c->tie_word_embeddings = jbool(j, "tie_word_embeddings", 1);
    c->drop.hidden = (float)jnum(j, "hidden_dropout_prob", 0.1);
    c->drop.attention = (float)jnum(j, "attention_probs_dropout_prob", 0.1);
    c->drop.classifier = (float)jnum(j, "classifier_dropout", c->drop.hidden);
    c->initializer_range = (float)jnum(j, "initializer_range", 0.02);
    if (c->hidden % c->heads != 0)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: num_attention_heads %d out of range: hidden_size %d is not a "
                          "multiple of the number of attention heads", what, c->heads, c->hidden);
    if (c->pad_token_id < -c->vocab_size || c->pad_token_id >= c->vocab_size)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d out of range for vocab_size %d", what,
                          c->pad_token_id, c->vocab_size);
    return BERTC_OK;
}

static const char *electra_weight_prefix(const model_config *c) {
    (void)c;
    return "electra.";
}

/* The body's names are BERT's under "electra." (the embeddings E wide); the classification, token and QA heads are
 * RoBERTa's names (classifier.dense / classifier.out_proj, classifier, qa_outputs); the generator's and the
 * discriminator's are ELECTRA's own. */
static bool electra_weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0,
                                int64_t *d1) {
    const int64_t H = c->hidden, E = emb_size(c), V = c->vocab_size;
    const char *f = NULL;
    int64_t s0 = 0, s1 = 0;
    switch (role) {
    case WR_EPROJ_W: f = "electra.embeddings_project.weight", s0 = H, s1 = E; break;
    case WR_EPROJ_B: f = "electra.embeddings_project.bias", s0 = H; break;
    case WR_DISC_DENSE_W: f = "discriminator_predictions.dense.weight", s0 = H, s1 = H; break;
    case WR_DISC_DENSE_B: f = "discriminator_predictions.dense.bias", s0 = H; break;
    case WR_DISC_PRED_W: f = "discriminator_predictions.dense_prediction.weight", s0 = 1, s1 = H; break;
    case WR_DISC_PRED_B: f = "discriminator_predictions.dense_prediction.bias", s0 = 1; break;
    case WR_MLM_DENSE_W: f = "generator_predictions.dense.weight", s0 = E, s1 = H; break;
    case WR_MLM_DENSE_B: f = "generator_predictions.dense.bias", s0 = E; break;
    case WR_MLM_LN_G: f = "generator_predictions.LayerNorm.weight", s0 = E; break;
    case WR_MLM_LN_B: f = "generator_predictions.LayerNorm.bias", s0 = E; break;
    case WR_MLM_DEC_W: f = "generator_lm_head.weight", s0 = V, s1 = E; break;
    case WR_MLM_DEC_B: f = "generator_lm_head.bias", s0 = V; break;
    case WR_MLM_BIAS: return false; /* the decoder's own bias only */
    default: break;
    }
    if (f) {
        if ((role == WR_EPROJ_W || role == WR_EPROJ_B) && E == H) return false;
        snprintf(name, cap, "%s", f);
        if (d0) *d0 = s0;
        if (d1) *d1 = s1;
        return true;
    }
    if (role < 0 || role >= WR_COUNT) return false;
    model_config cb = *c;
    cb.arch = role <= WR_LAYER_LAST ? BERTC_ARCH_BERT : BERTC_ARCH_ROBERTA;
    char bn[256];
    int64_t b0 = 0, b1 = 0;
    if (!model_arch_bert.weight_name(&cb, role, l, n_labels, bn, sizeof bn, &b0, &b1)) return false;
    if (role <= WR_LAYER_LAST) { /* "bert." -> "electra." */
        snprintf(name, cap, "electra.%s", bn + 5);
        if (role == WR_WORD || role == WR_POS || role == WR_TYPE) b1 = E;
        if (role == WR_EMB_LN_G || role == WR_EMB_LN_B) b0 = E;
    } else {
        snprintf(name, cap, "%s", bn);
    }
    if (d0) *d0 = b0;
    if (d1) *d1 = b1;
    return true;
}

static bool electra_weight_in_layers(const model_config *c, const char *name) {
    (void)c;
    if (!strncmp(name, "electra.", 8)) name += 8;
    return !strncmp(name, "encoder.layer.", 14);
}

/* ElectraClassificationHead and ElectraGeneratorPredictions: get_activation("gelu") (the discriminator's head
 * follows hidden_act, electra_token_logits) */
static enum epilogue electra_head_act(const model_config *c, bertc_head head) {
    (void)c;
    (void)head;
    return EPI_GELU;
}

static int electra_position_cap(const model_config *c) { return c->max_positions; }

static const char *electra_class_name(const model_config *c) {
    (void)c;
    return "ElectraForSequenceClassification";
}

static void electra_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos) {
    (void)c;
    (void)ids;
    for (size_t t = 0; t < n; t++) pos[t] = (int)t;
}

static void electra_free_ext(bertc_model *m) {
    linear_free(&m->emb_proj);
    electra_ext *x = m->ext;
    if (x) {
        linear_free(&x->disc_dense);
        linear_free(&x->disc_pred);
        free(x);
    }
    m->ext = NULL;
}

/* BERT's layout, the projection, then the head: the discriminator's here, the others bert.c's by the table. */
static bertc_status electra_bind(bertc_model *m, binder *b) {
    model_config *c = &m->cfg;
    bertc_status s = model_bind_bert(m, b);
    if (s) return s;
    if (c->embedding_size) bind_linear(b, &m->emb_proj, WR_EPROJ_W, 0);
    if (b->s) return b->s;
    if (!is_discriminator(c)) return model_bind_heads(m, b);
    electra_ext *x = calloc(1, sizeof *x);
    if (!x) return b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
    m->ext = x;
    binder hb = bind_head_binder(b);
    bind_linear(&hb, &x->disc_dense, WR_DISC_DENSE_W, 0);
    bind_linear(&hb, &x->disc_pred, WR_DISC_PRED_W, 0);
    if (hb.s) return b->s = hb.s;
    /* a token classifier with labels original / replaced (ElectraForPreTraining ignores num_labels and id2label) */
    static const char *const names[2] = {"original", "replaced"};
    char **labels = calloc(2, sizeof *labels);
    if (!labels || !(labels[0] = strdup(names[0])) || !(labels[1] = strdup(names[1]))) {
        if (labels) free(labels[0]);
        free(labels);
        return b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
    }
    model_config_free(c);
    c->labels = labels;
    c->n_labels = 2;
    m->head = BERTC_HEAD_TOKEN_CLASSIFICATION;
    c->problem = BERTC_PROBLEM_NONE;
    return BERTC_OK;
}

/* Per-token heads: token classification and QA as bert.c's (tok_out on the last hidden states); the discriminator:
 * dense + hidden_act + dense_prediction, written as the pair [0, logit]. */
static bertc_status electra_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out,
                                         bertc_error *err) {
    const electra_ext *x = m->ext;
    const int H = m->cfg.hidden;
    size_t M = 0;
    for (size_t i = 0; i < n; i++) M += encs[i].n;
    float *hid = malloc((M ? M : 1) * (size_t)H * sizeof(float)), *t = x ? malloc((M ? M : 1) * (size_t)H * sizeof(float)) : NULL;
    bertc_status s = hid && (t || !x) ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    if (!s) s = model_forward(m, encs, n, hid, NULL, NULL, err);
    if (!s && M) {
        if (!x) {
            linear_forward(m->pool, out, hid, &m->tok_out, (int)M, EPI_NONE, NULL);
        } else {
            linear_forward(m->pool, t, hid, &x->disc_dense, (int)M, m->cfg.act, NULL);
            linear_forward(m->pool, hid, t, &x->disc_pred, (int)M, EPI_NONE, NULL); /* M logits */
            for (size_t r = 0; r < M; r++) {
                out[2 * r] = 0.0f;
                out[2 * r + 1] = hid[r];
            }
        }
    }
    free(hid);
    free(t);
    return s;
}

/* bert.c's passes (its emb_proj hook runs the projection) */
static bertc_status electra_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden, float *emb,
                                    float *logits, bertc_error *err) {
    return model_arch_bert.forward(m, encs, n, hidden, emb, logits, err);
}

static void electra_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dlogits) {
    model_arch_bert.backward(m, encs, n, dlogits);
}

const model_arch model_arch_electra = {
    .family = "electra",
    .model_types = "electra",
    .takes = electra_takes,
    .config = electra_config,
    .weight_name = electra_weight_name,
    .weight_prefix = electra_weight_prefix,
    .weight_in_layers = electra_weight_in_layers,
    .head_act = electra_head_act,
    .position_cap = electra_position_cap,
    .class_name = electra_class_name,
    .position_ids = electra_position_ids,
    .forward = electra_forward,
    .backward = electra_backward,
    .bind = electra_bind,
    .free_ext = electra_free_ext,
    .token_logits = electra_token_logits,
    .emb_proj_role = WR_EPROJ_W,
};
