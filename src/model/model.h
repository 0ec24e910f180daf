/*
 * model.h — the encoder's internal state: config, weights bound to kernel-ready form, the shared thread
 * pool. DistilBERT, BERT and RoBERTa share one post-LayerNorm encoder layout; their differences (embedding
 * inputs, position ids, LayerNorm eps, head shape) are flags here.
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

typedef struct model_config {
    bertc_arch arch;
    char model_type[32];
    char architecture[96];
    int hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size, pad_token_id;
    float ln_eps;
    enum epilogue act;
    bertc_problem problem;
    bool problem_explicit; /* problem_type was in config.json (else inferred from num_labels) */
    int n_labels;
    char **labels; /* n_labels names */
    bool tie_word_embeddings; /* the masked-LM decoder is the word embedding matrix (config default true) */
} model_config;

struct bertc_model {
    model_config cfg;
    tensor_set ts;
    bertc_tokenizer *tok;
    threadpool *pool;
    /* embeddings */
    const float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
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
};

/* Reads modules.json and the sentence-transformers files of a folder into m->st (nothing when absent). */
bertc_status st_config_load(bertc_model *m, const char *dir, bertc_error *err);
void st_config_free(bertc_model *m);

/* Parses config.json text (`what` names it in errors); free with model_config_free, also after failure. */
bertc_status model_config_parse(model_config *c, const char *text, const char *what, bertc_error *err);
void model_config_free(model_config *c);

/* Runs the encoder on n encodings; any output pointer may be NULL. hidden: sum(T) x H; emb: the embedding
 * LayerNorm output, same shape; logits: n x n_labels. */
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
