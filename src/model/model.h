/*
 * model.h — the encoder's internal state: config, weights bound to kernel-ready form, the shared thread
 * pool. DistilBERT, BERT and RoBERTa share one post-LayerNorm encoder layout (src/model/bert.c: its config rules,
 * its Hugging Face names, its position ids, its forward and backward); their differences (embedding inputs,
 * position ids, LayerNorm eps, head shape) are flags here.
 *
 * The same struct serves inference and training: loaded for inference (model.c) its weights are mapped in place or
 * widened and packed; held by the trainer (src/train/tmodel.c) they point into one flat fp32 parameter buffer, and
 * `train` carries the gradients, the kept activations and the dropout of a step.
 */
#ifndef BERTC_MODEL_H
#define BERTC_MODEL_H

#include "base/internal.h"
#include "formats/tensors.h"
#include "kernels/kernels.h"
#include "tokenizer/tokenizer.h"

typedef struct layer_w {
    packed_linear qkv; /* [3H, H]: q | k | v */
    packed_linear out; /* [H, H] */
    const float *ln1_g, *ln1_b;
    packed_linear ffn1; /* [I, H] */
    packed_linear ffn2; /* [H, I] */
    const float *ln2_g, *ln2_b;
} layer_w;

typedef struct dropout_cfg {
    float hidden;     /* embeddings, attention output, FFN output */
    float attention;  /* attention probabilities */
    float classifier; /* head */
} dropout_cfg;

struct model_arch;

/* DeBERTa-v2 / v3's own config.json fields (deberta.c) */
typedef struct deberta_config {
    int embedding_size;     /* the embeddings' width (embed_proj to hidden when it differs) */
    int position_buckets;   /* log buckets of the relative positions (<= 0: none) */
    int max_relative_positions; /* the span they cover (config's, or max_position_embeddings) */
    int att_span;           /* rows of rel_embeddings per side: position_buckets, else max_relative_positions */
    bool relative_attention, position_biased_input, c2p, p2c, share_att_key, norm_rel_ln, legacy;
    enum epilogue pooler_act;
} deberta_config;

typedef struct model_config {
    const struct model_arch *ops; /* the architecture's code (arch.c picks it by model_type) */
    bertc_arch arch;
    char model_type[32];
    char architecture[96];
    int hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size, pad_token_id;
    int embedding_size; /* the embeddings' width when the architecture projects them to hidden (ELECTRA); 0: hidden */
    float ln_eps;
    int rel_buckets; /* relative attention's buckets (MPNet's relative_attention_num_buckets; 0: none) */
    enum epilogue act;
    bertc_problem problem;
    bool problem_explicit; /* problem_type was in config.json (else inferred from num_labels) */
    int n_labels;
    char **labels; /* n_labels names */
    bool tie_word_embeddings; /* the masked-LM decoder is the word embedding matrix (config default true) */
    dropout_cfg drop;         /* training: the dropout probabilities config.json gives */
    float initializer_range;  /* training: the std of fresh weights */
    deberta_config deberta;   /* model_type deberta-v2 */
    /* an architecture's own config.json fields: its file's struct over these bytes (modernbert.c: mb_config) */
    _Alignas(8) unsigned char arch_cfg[256];
} model_config;

/* ---- the weights by their Hugging Face names: one table per architecture (bert.c) ---- */
enum weight_role {
    WR_WORD, WR_POS, WR_TYPE, WR_EMB_LN_G, WR_EMB_LN_B,
    /* per layer, in the trainer's parameter order (query | key | value adjacent: the fused [3H, H] matrix) */
    WR_Q_W, WR_K_W, WR_V_W, WR_Q_B, WR_K_B, WR_V_B, WR_OUT_W, WR_OUT_B, WR_LN1_G, WR_LN1_B,
    WR_FFN1_W, WR_FFN1_B, WR_FFN2_W, WR_FFN2_B, WR_LN2_G, WR_LN2_B,
    /* heads */
    WR_CLS_DENSE_W, WR_CLS_DENSE_B, WR_CLS_OUT_W, WR_CLS_OUT_B, /* sequence classification */
    WR_TOK_OUT_W, WR_TOK_OUT_B, WR_QA_OUT_W, WR_QA_OUT_B,       /* token classification, question answering */
    WR_MLM_DENSE_W, WR_MLM_DENSE_B, WR_MLM_LN_G, WR_MLM_LN_B, WR_MLM_DEC_W, WR_MLM_DEC_B, WR_MLM_BIAS,
    WR_COUNT,
    /* an architecture's own tensors (relative position tables, projections ...) take roles from WR_ARCH up, named by
     * its weight_name like the others */
    WR_ARCH = WR_COUNT,
    WR_MAX = WR_COUNT + 64
};
#define WR_LAYER_FIRST WR_Q_W
#define WR_LAYER_LAST WR_LN2_B

/* The checkpoint name of a role (layer l for the per-layer roles), the base-model prefix included where the model
 * keeps it ("distilbert.embeddings.word_embeddings.weight", "bert.pooler.dense.weight", "classifier.weight"), and its
 * shape (d1 = 0: 1-D; n_labels sizes the label heads). False: the architecture has no such tensor. */
bool weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0, int64_t *d1);
/* The base model's prefix, "distilbert." / "bert." / "roberta.". */
const char *weight_prefix(const model_config *c);
/* Whether a checkpoint name (with or without the prefix) lies in the layers' range of names. */
bool weight_in_layers(const model_config *c, const char *name);
/* A head's activation: the sequence classifier's dense layer (DistilBERT ReLU, else tanh) or, for
 * BERTC_HEAD_MASKED_LM, the masked LM's transform (RoBERTa GELU, else hidden_act). */
enum epilogue model_head_act(const model_config *c, bertc_head head);
/* The checkpoint's tensor for a name: as is, without the base-model prefix (a bare encoder or a sentence-transformers
 * folder), or with the TF era's gamma / beta for a LayerNorm's weight / bias. NULL: none. */
const tensor_info *weight_lookup(const tensor_set *ts, const char *name, const char *prefix);
/* BERTC_OK when t has shape [d0] (d1 = 0) or [d0, d1], else the error naming both. */
bertc_status weight_check_shape(const tensor_info *t, int64_t d0, int64_t d1, bertc_error *err);
/* t's n values as fp32 (F32 copied; F16 / BF16 widened exactly, as the kernels widen them). */
bertc_status weight_widen(float *dst, const tensor_info *t, size_t n, bertc_error *err);

/* The longest input the positions allow (RoBERTa's start after the padding index). */
int model_position_cap(const model_config *c);
/* The sequence-classification class transformers names for the architecture, e.g. "BertForSequenceClassification". */
const char *model_class_name(const model_config *c);
/* The position id of each token of one sequence (RoBERTa's padding offset, else 0, 1, 2 ...). */
void model_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos);

/* ---- config.json as transformers reads it: every size an int within bertc's bounds, named with its value when
 * not (arch.c); an architecture's own fields read through this ---- */
typedef struct cfg_reader {
    const struct json_t *j;
    const char *what;
    bool exact; /* the text's integers are integers (else every number is a real: whole ones are accepted) */
    bertc_error *err;
} cfg_reader;
/* Integer field k in [lo, hi] (dflt when absent; when null too if null_ok). */
bertc_status cfg_intv(const cfg_reader *r, const char *k, int dflt, int lo, int hi, bool null_ok, int *out);
/* A field's value as an error message shows it (32, 32.0, "32", null, an array ...). */
void cfg_show(const struct json_t *v, char *buf, size_t cap);
/* Activation field k as ACT2FN names it, one the kernels compute: gelu (also when absent or null), gelu_new /
 * gelu_pytorch_tanh, relu, and tanh where tanh_ok; anything else refused by name. */
bertc_status cfg_act(const cfg_reader *r, const char *k, bool tanh_ok, enum epilogue *out);
/* layer_norm_eps (dflt when absent): a number between 0 and 1 that float32 holds as more than 0. */
bertc_status cfg_ln_eps(const cfg_reader *r, float dflt, float *out);

struct encoder_train;
struct bertc_model;

/* ---- binding a checkpoint's tensors into the model (model.c): an architecture's bind calls these ---- */
typedef struct binder {
    struct bertc_model *m;
    const char *prefix; /* "distilbert.", "bert.", "roberta." */
    bertc_error *err;
    bertc_status s; /* the first failure; every call after it does nothing */
    int int8;  /* pack linears in int8 */
    int bf16c; /* pack linears for bf16 compute */
    int wtype; /* otherwise: enum weight_type of their storage */
    bool transient; /* the next bind_get is a linear weight about to be packed: widen it into the reused buffer */
} binder;
/* The fp32 data of a role's tensor (layer l) with the shape config.json implies (counted in n_params, marked used),
 * or NULL: with b->s set when it is missing or misshapen, without when the architecture names no such role. F32
 * weights are used in place from the mapped file; F16 / BF16 are widened to fp32. */
const float *bind_get(binder *b, int role, int l);
/* A linear layer: the weight of role rw (its [N, K] shape from the table) and the bias of role rw + 1 when the
 * architecture names one, packed for the compute the model was loaded with. */
void bind_linear(binder *b, packed_linear *pl, int rw, int l);
/* Packs W (N x K) and bias (NULL: zero) as bind_linear does; a widened copy of W is freed once packed. */
void bind_pack(binder *b, packed_linear *pl, const float *W, const float *bias, int N, int K);
/* The same binder with heads' settings: fp32 packs whatever the encoder's compute. */
binder bind_head_binder(const binder *b);
/* The checkpoint's tensor of a role (layer 0) by its name as is, or NULL. */
const tensor_info *bind_find_exact(const struct bertc_model *m, int role);
/* bert.c's layout: embeddings (word, position, type, LayerNorm) and every layer (fused q|k|v, out, LN1, FFN, LN2). */
bertc_status model_bind_bert(struct bertc_model *m, binder *b);
/* The head config.json's architectures[0] names (sequence / token classification, question answering, masked LM),
 * bound by the table's head roles; sets m->head, has_head / has_mlm and the problem. */
bertc_status model_bind_heads(struct bertc_model *m, binder *b);
bertc_head model_head_of(const model_config *c);
/* No tensor the architecture places among its layers left unused (config.json and the weights disagree). */
bertc_status model_check_unused(const struct bertc_model *m, bertc_error *err);
/* The checks every forward makes on a batch before it computes: no input without tokens, at most max_len tokens
 * each (max_len <= 0: no limit), token ids inside the vocab and, when check_types and the model has token types, the
 * type ids given inside type_vocab_size. *M gets the batch's tokens, *max_T its longest input (at least 1). */
bertc_status model_check_batch(const struct bertc_model *m, const bertc_encoding *encs, size_t n, int max_len,
                               bool check_types, size_t *M, int *max_T, bertc_error *err);

/* ---- an architecture: one file of model code ----
 * Its config.json fields, the Hugging Face names of its weights, its position ids, the one forward pass (inference,
 * and training when m->train is set) and its backward. arch.c picks one by config.json's model_type; the loader,
 * the trainer, the tasks and the faces reach it through the calls above and below (weight_name, model_forward ...),
 * which go through model_config.ops. bert.c: DistilBERT, BERT, RoBERTa, XLM-RoBERTa. */
typedef struct model_arch {
    const char *family;      /* "bert" */
    const char *model_types; /* what it takes, for the error that lists them: "distilbert, bert, ..." */
    bool (*takes)(const char *model_type);
    /* its fields of config.json (c->model_type and c->architecture are set; labels and problem_type are arch.c's) */
    bertc_status (*config)(model_config *c, const cfg_reader *r);
    bool (*weight_name)(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0,
                        int64_t *d1);
    const char *(*weight_prefix)(const model_config *c);
    bool (*weight_in_layers)(const model_config *c, const char *name);
    enum epilogue (*head_act)(const model_config *c, bertc_head head);
    int (*position_cap)(const model_config *c);
    const char *(*class_name)(const model_config *c);
    void (*position_ids)(const model_config *c, const int32_t *ids, size_t n, int *pos);
    bertc_status (*forward)(const struct bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden, float *emb,
                            float *logits, bertc_error *err);
    void (*backward)(const struct bertc_model *m, const bertc_encoding *encs, size_t n, const float *dlogits);
    /* optional (NULL: bert.c's way) */
    /* binds every weight, heads included (NULL: model_bind_bert then model_bind_heads) */
    bertc_status (*bind)(struct bertc_model *m, binder *b);
    /* frees what bind kept in m->ext */
    void (*free_ext)(struct bertc_model *m);
    /* per-token head outputs, sum(T) rows (NULL: tok_out on the last hidden states) */
    bertc_status (*token_logits)(const struct bertc_model *m, const bertc_encoding *encs, size_t n, float *out,
                                 bertc_error *err);
    /* an additive bias on every layer's scaled attention scores that depends on the head and on the key's offset
     * from the query (MPNet's relative position buckets), for bert.c's forward: rel[h (2R - 1) + R - 1 + j - i] for
     * |j - i| < R (NULL: none) */
    void (*attn_rel_bias)(const struct bertc_model *m, int R, float *rel);
    /* its backward: drel (the same layout) is the loss's gradient over those values, summed over the batch's
     * sequences, for one layer (called once per layer): added to the architecture's parameters' gradients */
    void (*attn_rel_bias_backward)(const struct bertc_model *m, int R, const float *drel);
    /* the role of the weight of the linear layer that projects the embeddings (embedding_size) to hidden after their
     * LayerNorm and dropout (its bias: the next role), bound into bertc_model.emb_proj; 0: none */
    int emb_proj_role;
    /* training (optional): whether an architecture role (from WR_ARCH up) names one tensor per layer: the trainer then
     * adds every layer's (layer l's at tr->arch[role - WR_ARCH] + l * tr->arch_stride[role - WR_ARCH]); NULL: none */
    bool (*train_per_layer)(int role);
    /* training (optional): whether an architecture role names a tensor of the sequence-classification head that the
     * trainer adds after its dense and classifier (at tr->arch[role - WR_ARCH]; fresh when the checkpoint lacks it:
     * a LayerNorm's weight at ones, else as the head's others); NULL: none */
    bool (*train_head_role)(int role);
    /* training (optional): the std of a fresh 2-D head tensor as the architecture's _init_weights draws it, and
     * *cutoff: its truncation at +-cutoff std (0: none); NULL: normal(0, initializer_range) */
    float (*train_init_std)(const model_config *c, const char *name, float *cutoff);
} model_arch;

extern const model_arch model_arch_bert;
extern const model_arch model_arch_mpnet;
extern const model_arch model_arch_electra;
extern const model_arch model_arch_deberta;
extern const model_arch model_arch_modernbert;

struct bertc_model {
    model_config cfg;
    tensor_set ts;
    bertc_tokenizer *tok;
    threadpool *pool;
    /* embeddings */
    const float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
    packed_linear emb_proj; /* embedding_size -> hidden after the embeddings' LayerNorm (ELECTRA); N = 0: none */
    layer_w *layer;
    /* sequence classification head: dense (H→H) + act, then out (H→L) */
    bool has_head;
    packed_linear head_dense, head_out;
    enum epilogue head_act;
    /* the head config.json's architectures[0] names; token classification and QA use tok_out (H→L, H→2) on every
     * token; the masked-LM head is mlm_dense + mlm_act + LayerNorm, then the decoder (V×H, the word embeddings when
     * tied) plus mlm_bias, run on the masked rows only */
    bertc_head head;
    packed_linear tok_out;
    bool has_mlm;
    packed_linear mlm_dense;
    enum epilogue mlm_act;
    const float *mlm_ln_g, *mlm_ln_b, *mlm_dec, *mlm_bias;
    /* fp32 copies made from F16/BF16/unaligned tensors, freed with the model */
    float **owned;
    int n_owned;
    float *widen_tmp; /* one reused buffer for fp16/bf16 linear weights on their way to packing (load only) */
    size_t widen_cap;
    uint64_t n_params;
    const char *dtype;
    bertc_dtype compute; /* fp32 or int8 matmuls in the encoder */
    bertc_compute compute_mode; /* fp32 or bf16 arithmetic in them (bf16: linears packed by linear_pack_bf16) */
    const char *compute_isa;    /* the matmuls' tier, fixed at load (bf16_tier(), int8_tier() or the SIMD tier) */
    double load_ms;
    char source[512];
    /* sentence-transformers folder */
    bertc_st_config st;
    char **st_strings; /* owned strings behind st (names, prompts, similarity) */
    int n_st_strings;
    /* training (NULL for inference): the forward keeps the activations its backward needs and applies dropout */
    struct encoder_train *train;
    /* the architecture's own weights and state (its bind makes them, its free_ext frees them) */
    void *ext;
};

/* ---- training: the state a training step adds to the encoder ---- */

/* Offsets (into the flat parameter buffer) of one layer's tensors. */
typedef struct tlayer {
    size_t qkv_w, qkv_b, out_w, out_b, ln1_g, ln1_b, ffn1_w, ffn1_b, ffn2_w, ffn2_b, ln2_g, ln2_b;
} tlayer;

typedef struct encoder_train {
    float *w, *g;       /* parameters and gradients: every weight of the encoder points into w */
    const tlayer *L;    /* each layer's tensors */
    size_t word, pos, type, emb_g, emb_b; /* embeddings (type = SIZE_MAX when none) */
    size_t head_dw, head_db, head_ow, head_ob;
    size_t arch[WR_MAX - WR_ARCH]; /* the architecture's own encoder tensors by role - WR_ARCH (SIZE_MAX: none) */
    size_t arch_stride[WR_MAX - WR_ARCH]; /* between layers' tensors of a role (model_arch.train_per_layer), else 0 */
    void *arch_acts;    /* an architecture's own kept activations (one allocation: freed with acts) */
    packed_linear *bwd; /* W^T [K, N] of every linear for dx = dy W: 4 per layer (qkv, out, ffn1, ffn2), the head's 2,
                           then the embeddings' projection (emb_proj_role) */
    dropout_cfg drop;
    bool bf16;          /* the dW GEMMs take bf16 inputs too */
    bool frozen_embeddings; /* no gradient below the first layer */
    struct tacts *acts; /* what the forward keeps, grown to the largest batch */
    float *dlogits;     /* n x n_labels after a forward: room for the loss gradient model_backward takes */
    /* this step */
    bool dropout;       /* on (training) or off (evaluation) */
    uint64_t key;       /* the dropout masks' key */
} encoder_train;

/* The gradient of the loss over the logits (n x n_labels, dlogits) ADDED to m->train->g, after a model_forward of
 * the same batch on the same model: head, layers last to first, embeddings. */
void model_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dlogits);
/* The kept activations' buffers (freed with the training state). */
void model_train_acts_free(encoder_train *t);

/* Reads modules.json and the sentence-transformers files of a folder into m->st (nothing when absent). */
bertc_status st_config_load(bertc_model *m, const char *dir, bertc_error *err);
void st_config_free(bertc_model *m);

/* Parses config.json text (`what` names it in errors); free with model_config_free, also after failure. */
bertc_status model_config_parse(model_config *c, const char *text, const char *what, bertc_error *err);
void model_config_free(model_config *c);
/* Reads and parses DIR/config.json; *text (when text is not NULL) receives the file's text. */
bertc_status model_config_load(const char *dir, model_config *c, char **text, bertc_error *err);

/* Runs the encoder on n encodings; any output pointer may be NULL. hidden: sum(T) x H; emb: the embedding
 * LayerNorm output, same shape; logits: n x n_labels. With m->train set, it keeps what model_backward needs (and
 * applies dropout when m->train->dropout): each op then runs its training variant (activation apart from the GEMM,
 * residual after dropout, attention keeping its probabilities, LayerNorm keeping x-hat and 1/std). */
bertc_status model_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden, float *emb,
                           float *logits, bertc_error *err);

/* Per-token head outputs: token classification (n_labels per token) or question answering (start, end per token),
 * sum(T) rows. */
bertc_status model_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out, bertc_error *err);

/* Tokenizes in[i0..i1) into encs[0..i1-i0) (the input's index in errors); nothing is left allocated on failure. */
bertc_status encode_range(const bertc_model *m, const bertc_text *in, size_t i0, size_t i1, const bertc_encode_params *ep,
                          bertc_encoding *encs, bertc_error *err);

/* fill-mask's pieces: a target word's id as transformers' get_target_ids finds it (-1: ignored), and the softmax of
 * one row of masked-LM logits over the vocabulary (float32 exps, the max subtracted, one reciprocal of the sum). */
bertc_status mlm_target_id(const bertc_tokenizer *tok, const char *w, int32_t *id, bertc_error *err);
void mlm_softmax(const float *lg, int V, float *probs);

#endif
