/*
 * bertc.h — the whole public API of libbertc.
 *
 * bertc runs BERT-family text encoders (DistilBERT, BERT, RoBERTa) from a Hugging Face checkpoint folder
 * (config.json, model.safetensors or pytorch_model.bin, tokenizer.json or the legacy vocab files), with the
 * same token ids as Hugging Face's fast tokenizers and the same numbers as transformers.
 *
 * Conventions
 *  - Every fallible call returns a bertc_status; results come back through out-parameters. The detail
 *    (what, which file, which byte or line) is written to a caller-supplied bertc_error when it is not NULL.
 *  - Whoever creates, frees: every *_load / *_new has a *_free that accepts NULL.
 *  - Models and tokenizers are immutable after load and may be shared by threads.
 *  - The library never exits, aborts on bad input, or prints.
 *
 * Tutorial
 *     bertc_error err;
 *     bertc_model *m;
 *     if (bertc_model_load("path/to/checkpoint", NULL, &m, &err) != BERTC_OK) { puts(err.message); return 1; }
 *     bertc_text in[1] = {{"a charming journey", 18, NULL, 0}};
 *     bertc_classification out[1];
 *     bertc_classify(m, in, 1, NULL, out, &err);
 *     printf("%s %.4f\n", bertc_model_label(m, out[0].label_id), out[0].score);
 *     bertc_classification_free(out, 1);
 *     bertc_model_free(m);
 */
#ifndef BERTC_H
#define BERTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BERTC_VERSION "0.1.0"

typedef enum bertc_status {
    BERTC_OK = 0,
    BERTC_ERR_INVALID_ARG = 1, /* the caller passed something impossible (NULL, negative size) */
    BERTC_ERR_IO = 2,          /* a file could not be opened, read or mapped */
    BERTC_ERR_FORMAT = 3,      /* a model or tokenizer file is malformed, truncated or inconsistent */
    BERTC_ERR_UNSUPPORTED = 4, /* a valid file that uses something bertc does not implement */
    BERTC_ERR_ARCH = 5,        /* the checkpoint is of another architecture than the one asked for */
    BERTC_ERR_INPUT = 6,       /* bad input text: invalid UTF-8, too long with truncation off */
    BERTC_ERR_NOMEM = 7,       /* out of memory */
    BERTC_ERR_INTERRUPTED = 8, /* stopped on request (SIGINT while training: a checkpoint was saved first) */
    BERTC_ERR_DIVERGED = 9,    /* training produced a non-finite loss or gradient (the last good checkpoint is kept) */
    BERTC_ERR_OUTPUT = 10,     /* an output could not be written (disk full, read-only folder, I/O error): nothing
                                  half-written is left in its place */
} bertc_status;

/* Detail of the last failure of a call; message is one line, NUL-terminated. */
typedef struct bertc_error {
    bertc_status status;
    char message[512];
} bertc_error;

/* The size in bytes of a public struct of bertc.h, bertc_data.h, bertc_hub.h or bertc_train.h, by its name
 * ("bertc_model_info"), or 0 for a name that is none: for bindings that mirror the structs (Python's ctypes checks
 * its copies against it at import). libbertc-eval's structs: bertc_eval_struct_size (bertc_eval.h). */
size_t bertc_struct_size(const char *name);

/* A short constant name for a status ("ok", "format error", ...). */
const char *bertc_status_str(bertc_status s);
/* Frees what the library returned as a malloc'ed buffer (rendered reports, decoded text); NULL is a no-op. */
void bertc_free(void *p);

/* Writes len bytes to path so that path is never seen half-written: a temporary beside it, fsync'ed, renamed over
 * path, the folder fsync'ed. A full disk, a read-only or missing folder: BERTC_ERR_OUTPUT, path unchanged. */
bertc_status bertc_write_file(const char *path, const void *data, size_t len, bertc_error *err);
/* Whether a file could be written at path (its folder created if missing, a probe file written and removed), for
 * checking outputs before a long computation. BERTC_ERR_OUTPUT when not. */
bertc_status bertc_check_output(const char *path, bertc_error *err);

/* ------------------------------------------------------------------------------------------------------ */
/* Tokenizer                                                                                              */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct bertc_tokenizer bertc_tokenizer;

/* Loads the tokenizer of a checkpoint folder: tokenizer.json when present, else vocab.txt (+
 * tokenizer_config.json) or vocab.json + merges.txt. */
bertc_status bertc_tokenizer_load(const char *dir, bertc_tokenizer **out, bertc_error *err);
void bertc_tokenizer_free(bertc_tokenizer *tok);

typedef struct bertc_encode_params {
    int add_special_tokens; /* 1: [CLS] A [SEP] / <s> A </s> (default 1) */
    int truncation;         /* 1: truncate to max_length like transformers (default 1); 0: fail when longer */
    int max_length;         /* 0: the tokenizer's model_max_length capped by the model's positions */
    int truncate_left;      /* 1: drop tokens from the start instead of the end (tokenizers' Left direction); 0: from
                               the end; -1 (default): tokenizer.json's truncation direction, else the end */
    int truncation_strategy; /* BERTC_TRUNCATE_*: 0 (default) longest_first, as transformers truncates */
} bertc_encode_params;

enum { BERTC_TRUNCATE_DEFAULT = 0, BERTC_TRUNCATE_LONGEST_FIRST = 1, BERTC_TRUNCATE_ONLY_FIRST = 2,
       BERTC_TRUNCATE_ONLY_SECOND = 3 };

bertc_encode_params bertc_encode_default_params(void);

/* One encoded input. Arrays have n entries; offsets are [start, end) character (code point) indices into
 * the original text (the pair's own text for the second sequence); special[i] is 1 for added special
 * tokens. Owned by the caller: release with bertc_encoding_free. */
typedef struct bertc_encoding {
    size_t n;
    int32_t *ids;
    int32_t *type_ids;
    int32_t *attention_mask;
    int32_t *offsets; /* 2*n: start, end */
    uint8_t *special;
    uint8_t *sequence; /* 0 for the first text, 1 for text_pair, 255 for special tokens */
    int32_t *word_ids; /* n: the word of each token, numbered from 0 in each sequence (the pre-tokenizer's splits, an
                        * added token its own), -1 for the special tokens the post-processor adds: tokenizers'
                        * Encoding::word_ids, transformers' BatchEncoding.word_ids() */
} bertc_encoding;

/* Encodes text (and text_pair when not NULL: an empty one is a pair, "[CLS] A [SEP] [SEP]", as the tokenizers crate
 * and transformers' batched calls encode it; a single transformers call treats text_pair="" as none, so pass NULL
 * to mirror it). Invalid UTF-8 is an error (BERTC_ERR_INPUT), never replaced. */
bertc_status bertc_tokenize(const bertc_tokenizer *tok, const char *text, size_t text_len, const char *pair,
                            size_t pair_len, const bertc_encode_params *p, bertc_encoding *out,
                            bertc_error *err);
void bertc_encoding_free(bertc_encoding *e);

/* Token ids back to text as the tokenizer's decoder does it (WordPiece: "##" pieces joined, spaces before
 * punctuation and contractions cleaned up; byte-level BPE: the bytes the tokens stand for). skip_special drops added
 * special tokens ([CLS], <s>, ...). *out is malloc'ed, NUL-terminated. */
bertc_status bertc_decode(const bertc_tokenizer *tok, const int32_t *ids, size_t n, int skip_special, char **out,
                          size_t *out_len, bertc_error *err);

/* The vocabulary string of an id (byte-level tokens as written in the vocab, e.g. "Ġworld"); NULL if out of
 * range. Borrowed from the tokenizer. */
const char *bertc_tokenizer_id_to_token(const bertc_tokenizer *tok, int32_t id);
int bertc_tokenizer_vocab_size(const bertc_tokenizer *tok);
int bertc_tokenizer_pad_id(const bertc_tokenizer *tok);
/* The id of the mask token (tokenizer_config.json's mask_token, else [MASK] / <mask>), or -1 when it has none. */
int bertc_tokenizer_mask_id(const bertc_tokenizer *tok);
int bertc_tokenizer_max_length(const bertc_tokenizer *tok);

/* ------------------------------------------------------------------------------------------------------ */
/* Model                                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct bertc_model bertc_model;

typedef enum bertc_arch {
    BERTC_ARCH_AUTO = 0, /* pick from config.json */
    BERTC_ARCH_DISTILBERT = 1,
    BERTC_ARCH_BERT = 2,
    BERTC_ARCH_ROBERTA = 3,    /* RoBERTa and XLM-RoBERTa */
    BERTC_ARCH_MPNET = 4,
    BERTC_ARCH_ELECTRA = 5,
    BERTC_ARCH_DEBERTA_V2 = 6, /* DeBERTa-v2 and -v3 (model_type deberta-v2) */
    BERTC_ARCH_MODERNBERT = 7,
} bertc_arch;
/* The architecture's name ("auto", "distilbert", "bert", "roberta", "mpnet", "electra", "deberta-v2",
 * "modernbert"), and back (-1: not one of them). */
const char *bertc_arch_name(bertc_arch a);
int bertc_arch_from_name(const char *name);

typedef enum bertc_problem {
    BERTC_PROBLEM_NONE = 0, /* base model: features only */
    BERTC_PROBLEM_SINGLE_LABEL = 1,
    BERTC_PROBLEM_MULTI_LABEL = 2,
    BERTC_PROBLEM_REGRESSION = 3,
} bertc_problem;

typedef enum bertc_dtype {
    BERTC_DTYPE_FP32 = 0, /* weights widened to fp32 at load (fp16/bf16 checkpoints included); exact parity */
    BERTC_DTYPE_INT8 = 1, /* encoder matmuls in int8: weights per output channel, activations per token (dynamic) */
    BERTC_DTYPE_FP16 = 2, /* encoder matmul weights stored as fp16 (half the memory), widened to fp32 in the kernel:
                             fp32 arithmetic; exactly fp32's results for an fp16 checkpoint */
    BERTC_DTYPE_BF16 = 3, /* the same with bf16 storage (exact for a bf16 checkpoint) */
} bertc_dtype;

/* The arithmetic of the encoder's matmuls (bertc_model_params.compute). */
typedef enum bertc_compute {
    BERTC_COMPUTE_FP32 = 0, /* fp32 inputs, fp32 sums (default) */
    BERTC_COMPUTE_BF16 = 1, /* inputs (activations and weights) rounded to bf16, nearest even; fp32 sums; everything
                               else (embeddings, attention, softmax, LayerNorm, GELU, the classifier head) in fp32,
                               as oneDNN and torch autocast do. The weights are held in bf16 (half of fp32's
                               memory). Needs dtype fp32 or bf16 (the same bf16 weights either way); fp16 and int8
                               are refused (BERTC_ERR_INVALID_ARG). AVX512-BF16 kernels where the CPU has them
                               (BERTC_NO_AVX512BF16=1 forces the portable path, same rounding) */
} bertc_compute;

/* The task head of a checkpoint, from architectures[0] of config.json (*ForSequenceClassification, ...). */
typedef enum bertc_head {
    BERTC_HEAD_NONE = 0,                    /* a bare encoder: features only */
    BERTC_HEAD_SEQUENCE_CLASSIFICATION = 1, /* bertc_classify, bertc_zero_shot */
    BERTC_HEAD_TOKEN_CLASSIFICATION = 2,    /* bertc_token_classify */
    BERTC_HEAD_QUESTION_ANSWERING = 3,      /* bertc_question_answer */
    BERTC_HEAD_MASKED_LM = 4,               /* bertc_fill_mask (*ForMaskedLM, BertForPreTraining) */
} bertc_head;

/* "sequence-classification", "token-classification", "question-answering", "masked-lm" or "none". */
const char *bertc_head_name(bertc_head h);

typedef struct bertc_model_params {
    bertc_arch arch;   /* explicit class; a mismatch with config.json is BERTC_ERR_ARCH naming both */
    int n_threads;     /* 0: all online CPUs */
    bertc_dtype dtype; /* compute type of the encoder's matmuls (default fp32) */
    bertc_compute compute; /* the matmuls' arithmetic (default fp32); see bertc_compute */
} bertc_model_params;

bertc_model_params bertc_model_default_params(void);

/* Loads a checkpoint folder (config.json, weights, tokenizer). dir NULL or "" loads the default sentiment model
 * (minilm-sst2): the one bertc_set_default_model registered, else the one in libbertc-default.so (found beside
 * libbertc.so or on the library path), else BERTC_ERR_IO saying neither is there. params may be NULL. */
bertc_status bertc_model_load(const char *dir, const bertc_model_params *params, bertc_model **out,
                              bertc_error *err);

/* A checkpoint held in memory: what bertc_model_load(NULL) loads. libbertc itself carries no model; the bertc
 * command, the Python wheel and libbertc-default.so (bertc_default_model_files()) carry minilm-sst2. The weights
 * are used in place (never copied): the memory must outlive every model loaded from it. */
typedef struct bertc_model_files {
    const char *name;                  /* shown as the source: "embedded:NAME" */
    const char *config_json;           /* NUL-terminated */
    const void *weights;               /* model.safetensors */
    size_t weights_len;
    const char *tokenizer_json;        /* NUL-terminated */
    const char *tokenizer_config_json; /* NUL-terminated, or NULL */
} bertc_model_files;

/* Registers the default model for this process (NULL: none, so that libbertc-default.so is looked for again).
 * files is kept, not copied. Thread-safe; models already loaded keep theirs. */
void bertc_set_default_model(const bertc_model_files *files);

/* libbertc-default's one call (not in libbertc): minilm-sst2, for bertc_set_default_model. */
const bertc_model_files *bertc_default_model_files(void);
/* Writes the default model (the registered one, else libbertc-default's) as a checkpoint folder: config.json,
 * model.safetensors, tokenizer.json (+ tokenizer_config.json), each file atomic, the folder created; what training
 * starts from (`bertc train --model embedded`). A folder already holding the same files is left as it is.
 * BERTC_ERR_IO without a default model, BERTC_ERR_OUTPUT when the folder cannot be written. */
bertc_status bertc_default_model_save(const char *dir, bertc_error *err);
/* Copies a checkpoint folder's files (what bertc and transformers read: config.json, the weights as stored, the
 * tokenizer and sentence-transformers files present in src) into dst (created): each file whole through a temporary
 * name and a rename, fsync'ed, config.json last (until it is there dst is no model). tokenizer_only: the tokenizer
 * files alone. A file that is already dst's own (src = dst) is left. What Python's save_pretrained calls. */
bertc_status bertc_checkpoint_copy(const char *src, const char *dst, int tokenizer_only, bertc_error *err);
/* The default model's folder under the user's cache, written there by bertc_default_model_save when missing or
 * different: ${XDG_CACHE_HOME:-$HOME/.cache}/bertc/embedded/NAME, into dir (cap bytes). What the CLI's and
 * Python's `--model embedded` / model="embedded" train from. */
bertc_status bertc_default_model_folder(char *dir, size_t cap, bertc_error *err);
void bertc_model_free(bertc_model *m);

typedef struct bertc_model_info {
    bertc_arch arch;
    const char *model_type;   /* "distilbert", "bert", "roberta" */
    const char *architecture; /* architectures[0] of config.json, or "" */
    bertc_problem problem;
    int n_labels, hidden, layers, heads, intermediate, vocab_size, max_positions, max_length;
    uint64_t n_params;     /* parameters in the checkpoint tensors that bertc uses */
    uint64_t weight_bytes; /* bytes of the weight files on disk */
    const char *dtype;     /* storage dtype of the checkpoint's weights: "float32", "float16", "bfloat16" */
    bertc_dtype compute;   /* what the encoder's matmuls run in */
    double load_ms;
    const char *source; /* folder, or "embedded:minilm-sst2" */
    const char *isa;    /* the SIMD tier the kernels picked on this CPU: "avx512", "avx2" or "portable" */
    bertc_compute compute_mode; /* the params' compute: fp32 or bf16 arithmetic in the encoder's matmuls */
    const char *compute_isa;    /* the tier of the encoder's matmuls, chosen once per process by measuring this
                                   CPU's candidates: isa for fp32 compute; for bf16 compute "amx", "avx512bf16",
                                   "avx2" or "portable"; for int8 "amx", "avx512", "avx2" or "portable";
                                   "amx-emulated" under BERTC_AMX=emulate */
    bertc_head head;            /* the task head that was loaded */
    int max_tokens;             /* the most tokens one input can hold: the position embeddings usable (512 for BERT
                                   and for RoBERTa's 514 positions past its padding offset) */
} bertc_model_info;

void bertc_model_get_info(const bertc_model *m, bertc_model_info *info);
const bertc_tokenizer *bertc_model_tokenizer(const bertc_model *m);
/* Label name for an id ("LABEL_<i>" when config.json has none). Borrowed. */
const char *bertc_model_label(const bertc_model *m, int id);
/* Label id for a name, or -1. */
int bertc_model_label_id(const bertc_model *m, const char *name);

typedef enum bertc_function {
    BERTC_FUNCTION_DEFAULT = 0, /* from problem_type: softmax, sigmoid (multi-label), none (regression) */
    BERTC_FUNCTION_SOFTMAX = 1,
    BERTC_FUNCTION_SIGMOID = 2,
    BERTC_FUNCTION_NONE = 3,
} bertc_function;

typedef struct bertc_classify_params {
    bertc_encode_params encode;
    bertc_function function;
    int batch_size; /* texts run together (default 32); results do not depend on it */
} bertc_classify_params;

bertc_classify_params bertc_classify_default_params(void);

/* Result for one text: logits and scores have n_labels entries in label-id order; order has the n_labels label ids
 * by descending score (bertc_scores_order: equal scores keep label-id order), so order[0] is the best label and
 * order[0 .. k) the top k. */
typedef struct bertc_classification {
    int n_labels;
    int label_id;
    float score;
    float *logits;
    float *scores;
    int n_tokens;
    int *order;              /* n_labels label ids, best score first */
    bertc_function function; /* the function the scores come from: SOFTMAX, SIGMOID or NONE (DEFAULT resolved) */
} bertc_classification;

/* One input: UTF-8 text with its length (NUL bytes allowed inside), and an optional second text. */
typedef struct bertc_text {
    const char *text;
    size_t len;
    const char *pair; /* NULL: no pair */
    size_t pair_len;
} bertc_text;

/* Classifies n inputs. out[i] filled per input; free with bertc_classification_free. On error nothing in
 * out needs freeing. */
bertc_status bertc_classify(const bertc_model *m, const bertc_text *in, size_t n, const bertc_classify_params *p,
                            bertc_classification *out, bertc_error *err);
void bertc_classification_free(bertc_classification *out, size_t n);

/* The function bertc_classify applies for fn on m: fn itself, or for BERTC_FUNCTION_DEFAULT the text-classification
 * pipeline's rule: sigmoid for a multi-label problem or a single label, none for a problem_type "regression" written
 * in config.json, else softmax. */
bertc_function bertc_classify_function(const bertc_model *m, bertc_function fn);

/* order[0 .. n) = the indices 0 .. n-1 by descending scores[i]; equal scores keep index order (a stable sort, as
 * Python's sorted(..., reverse=True) orders them). The order of bertc_classification, for scores computed
 * elsewhere (Python's numpy scores). */
void bertc_scores_order(const float *scores, int n, int *order);

/* Recomputes r's scores, label_id, score, order and function from its logits with fn (DEFAULT: m's rule), as
 * bertc_classify computes them: for a caller that runs one bertc_classify over inputs wanting different functions
 * (the server's batches). r must be a result of bertc_classify on m. */
bertc_status bertc_classification_rescore(const bertc_model *m, bertc_function fn, bertc_classification *r,
                                          bertc_error *err);

/* Pooling as sentence-transformers' Pooling module computes it (over the sequence's own tokens: nothing is padded). */
typedef enum bertc_pooling {
    BERTC_POOL_NONE = 0,          /* token embeddings: last_hidden_state */
    BERTC_POOL_CLS = 1,           /* the first token */
    BERTC_POOL_MEAN = 2,
    BERTC_POOL_MAX = 3,           /* per dimension */
    BERTC_POOL_MEAN_SQRT_LEN = 4, /* sum / sqrt(tokens) */
    BERTC_POOL_WEIGHTED_MEAN = 5, /* weights 1, 2, ..., T by position */
    BERTC_POOL_LAST_TOKEN = 6,
    BERTC_POOL_DEFAULT = 7,       /* the folder's own: sentence-transformers' 1_Pooling (several modes are concatenated
                                     in its order: cls, max, mean, mean_sqrt_len, weightedmean, lasttoken); a folder
                                     without one: token embeddings */
} bertc_pooling;

/* The sentence-transformers configuration of a folder (modules.json and the files it points to); present = 0 for a
 * plain transformers folder. Borrowed from the model. */
typedef struct bertc_st_config {
    int present;
    unsigned modes;      /* bit (1 << bertc_pooling) per pooling mode of 1_Pooling */
    int n_modes;
    bertc_pooling mode_order[6]; /* the order the modes are concatenated in (v6's pooling_mode list order, else ST's
                                    fixed order cls, max, mean, mean_sqrt_len, weightedmean, lasttoken) */
    int normalize;       /* a Normalize module (L2) follows */
    int max_seq_length;  /* sentence_bert_config.json (0: none) */
    int do_lower_case;   /* the text is lower-cased before tokenization */
    int include_prompt;  /* 0: the prompt's tokens (with the first special token) are left out of the pooling */
    int n_prompts;
    const char *const *prompt_names, *const *prompts; /* config_sentence_transformers.json "prompts" */
    const char *default_prompt_name;                  /* NULL: none */
    const char *similarity;                           /* "cosine" (default), "dot", "euclidean", "manhattan" */
} bertc_st_config;

const bertc_st_config *bertc_model_st_config(const bertc_model *m);
/* "mean", "cls+mean", ...: the name of a pooling (or of the folder's modes for BERTC_POOL_DEFAULT). */
const char *bertc_pooling_name(const bertc_model *m, bertc_pooling p, char *buf, size_t cap);

typedef struct bertc_embed_params {
    bertc_encode_params encode; /* max_length 0: the folder's max_seq_length, else the tokenizer's */
    bertc_pooling pooling;      /* default BERTC_POOL_DEFAULT */
    int normalize;              /* -1 (default): as the folder says (2_Normalize); 0: no; 1: L2, x / max(|x|, 1e-12);
                                   pooled embeddings only (token embeddings stay raw, as in sentence-transformers) */
    const char *prompt;         /* prepended to every text (NULL: prompt_name's, else the folder's default prompt) */
    const char *prompt_name;    /* a name among the folder's prompts */
} bertc_embed_params;

bertc_embed_params bertc_embed_default_params(void);
typedef struct bertc_embedding bertc_embedding;

/* Embeddings as SentenceTransformer(folder).encode() gives them with the default parameters: the folder's prompt,
 * lower-casing, truncation, pooling and normalization. Free with bertc_embedding_free. */
bertc_status bertc_embed_ex(const bertc_model *m, const bertc_text *in, size_t n, const bertc_embed_params *p,
                            bertc_embedding *out, bertc_error *err);

/* Hidden states of one text: last_hidden_state [n_tokens, hidden] for BERTC_POOL_NONE, else a [1, dim] pooled
 * vector (dim = hidden times the number of modes). No prompt, no normalization (bertc_embed_ex does those). Free with
 * bertc_embedding_free. */
typedef struct bertc_embedding {
    int n_tokens;
    int rows;
    int hidden;
    float *data; /* rows * hidden */
} bertc_embedding;

bertc_status bertc_embed(const bertc_model *m, const bertc_text *in, size_t n,
                         const bertc_encode_params *ep, bertc_pooling pooling, bertc_embedding *out,
                         bertc_error *err);
void bertc_embedding_free(bertc_embedding *out, size_t n);

/* Lower-level: runs the encoder on already-encoded inputs; hidden_out receives sum(n_tokens) * hidden floats
 * (sequence after sequence, no padding) when not NULL, logits_out n * n_labels when not NULL. */
bertc_status bertc_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                           float *logits_out, bertc_error *err);

/* ------------------------------------------------------------------------------------------------------ */
/* Zero-shot classification                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

/* transformers' ZeroShotClassificationPipeline on an NLI *ForSequenceClassification checkpoint: every candidate label
 * becomes a hypothesis (the template with the label in place of its "{}") paired with the text as premise, the pairs
 * truncated "only_first" (the hypothesis is never cut), and the model's logits turned into one score per label:
 *  - single-label (multi_label 0, two or more labels): the softmax of the entailment logits across the labels;
 *  - multi_label 1, or a single label: per label, the softmax over [contradiction, entailment] (the entailment part).
 * The entailment id is the first label of config.json whose name starts with "entail" (any case); a model without
 * one is refused (BERTC_ERR_UNSUPPORTED, naming its labels: a sentiment model would return confident nonsense), unless
 * entailment_id names it (transformers warns and takes the last label). The contradiction id is 0, or the last label
 * when entailment is 0. Scores are computed in float32 as transformers' numpy does (exp / sum of exp, no max subtracted; the max is
 * subtracted only where an exp overflows, where numpy would give NaN). */
typedef struct bertc_zero_shot_params {
    const char *hypothesis_template; /* NULL: "This example is {}." Python's str.format with one argument: "{}" or
                                        "{0}" (any number of times), "{{" and "}}" for braces; no field is an error */
    int multi_label;                 /* 0 (default) or 1 */
    bertc_classify_params classify;  /* encode (truncation_strategy defaults to only_first here) and batch_size;
                                        function is ignored (the logits are used) */
    int entailment_id;               /* -1 (default): the label named "entail..."; 0..n_labels-1: that label, for an
                                        NLI model whose config names no labels (LABEL_0, ...) */
} bertc_zero_shot_params;

bertc_zero_shot_params bertc_zero_shot_default_params(void);

/* The result for one text: n_labels entries sorted by score, highest first (ties: the later label first, as
 * transformers' reversed argsort puts them). order[i] is the index into the caller's labels of the i-th best. */
typedef struct bertc_zero_shot_result {
    size_t n_labels;
    size_t *order;
    float *scores;       /* scores[i] belongs to labels[order[i]] */
    float *logits;       /* n_labels * the model's labels, in the caller's label order (the raw NLI logits) */
    int entailment_id;   /* as resolved */
    int contradiction_id; /* 0, or -1 (the last label) when entailment is 0 */
} bertc_zero_shot_result;

/* Scores text (len bytes of UTF-8) against n_labels candidate labels. Errors: BERTC_ERR_INVALID_ARG for NULL
 * arguments, no labels, a template without a "{}" field or an entailment_id out of range; BERTC_ERR_UNSUPPORTED for
 * a model without a classification head, with fewer than 2 labels or without an entailment label; the tokenizer's errors (BERTC_ERR_INPUT) for bad UTF-8 or a
 * hypothesis too long to leave room for the text. On error nothing in out needs freeing. */
bertc_status bertc_zero_shot(const bertc_model *m, const char *text, size_t len, const char *const *labels,
                             size_t n_labels, const bertc_zero_shot_params *p, bertc_zero_shot_result *out,
                             bertc_error *err);
void bertc_zero_shot_result_free(bertc_zero_shot_result *r);

/* ------------------------------------------------------------------------------------------------------ */
/* Token classification, question answering, fill-mask                                                   */
/* ------------------------------------------------------------------------------------------------------ */

/* Per-token logits of a token-classification (n_labels per token) or question-answering (start, end per token)
 * head for already-encoded inputs: out receives sum(n_tokens) rows, sequence after sequence. */
bertc_status bertc_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out,
                                bertc_error *err);

/* Masked-LM logits: out receives n_rows * vocab_size floats, one row per (input, position) pair: rows[2*i] is the
 * input index, rows[2*i+1] the token position in it. */
bertc_status bertc_mlm_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, const int32_t *rows,
                              size_t n_rows, float *out, bertc_error *err);
/* fill-mask's pieces, for probes over masked-LM logits: a target word's id as transformers' get_target_ids finds
 * it (-1: ignored), and the softmax of one row of logits over the vocabulary (float32 exps, the max subtracted,
 * one reciprocal of the sum), as the fill-mask pipeline computes its scores. */
bertc_status bertc_mlm_target_id(const bertc_tokenizer *tok, const char *word, int32_t *id, bertc_error *err);
void bertc_mlm_softmax(const float *logits, int vocab_size, float *probs);

/* transformers' TokenClassificationPipeline ("ner"). */
typedef enum bertc_aggregation {
    BERTC_AGGREGATE_NONE = 0,    /* one entity per token */
    BERTC_AGGREGATE_SIMPLE = 1,  /* B-/I- runs of a type grouped, score their mean */
    BERTC_AGGREGATE_FIRST = 2,   /* words take their first sub-token's label */
    BERTC_AGGREGATE_AVERAGE = 3, /* words take the label of their sub-tokens' mean scores */
    BERTC_AGGREGATE_MAX = 4,     /* words take their highest-scoring sub-token's label */
} bertc_aggregation;

typedef struct bertc_token_class_params {
    bertc_aggregation aggregation;
    const char *const *ignore_labels; /* NULL (default): {"O"}; with n_ignore 0 and non-NULL: none ignored */
    size_t n_ignore;
    bertc_encode_params encode;
    int stride; /* 0 (default): one window, truncated; > 0: a long text runs in chunks of max_length tokens overlapping
                   by stride tokens, entities of overlapping chunks resolved as the pipeline's stride does (needs an
                   aggregation other than none) */
} bertc_token_class_params;

bertc_token_class_params bertc_token_class_default_params(void);

typedef struct bertc_token_entity {
    const char *label; /* the label ("entity", with aggregation none) or the group ("entity_group"): borrowed */
    float score;
    int index;        /* token index in the encoding (aggregation none), else -1 */
    char *word;       /* the tokens' text as the tokenizer's decoder gives it */
    int start, end;   /* [start, end) in code points of the text; -1 when the token has no offsets */
} bertc_token_entity;

typedef struct bertc_token_class_result {
    size_t n;
    bertc_token_entity *entities;
} bertc_token_class_result;

bertc_status bertc_token_classify(const bertc_model *m, const char *text, size_t len, const bertc_token_class_params *p,
                                  bertc_token_class_result *out, bertc_error *err);
void bertc_token_class_result_free(bertc_token_class_result *r);

/* transformers' QuestionAnsweringPipeline, as its last release with the pipeline (5.2) computes it. */
typedef struct bertc_qa_params {
    int top_k;                    /* answers (default 1) */
    int doc_stride;               /* tokens shared by consecutive windows of a long context (default 128) */
    int max_seq_len;              /* tokens per window, question included (default 384, capped by the model) */
    int max_question_len;         /* (default 64) */
    int max_answer_len;           /* tokens (default 15) */
    int handle_impossible_answer; /* 1: the empty answer ([CLS]) competes (default 0) */
    int align_to_words;           /* 1 (default): answers widen to whole words */
} bertc_qa_params;

bertc_qa_params bertc_qa_default_params(void);

typedef struct bertc_answer {
    double score;   /* a float32 span score, or the sum of those of the spans giving the same text */
    int start, end; /* [start, end) in code points of the context */
    char *answer;   /* the context's text in that span (UTF-8) */
} bertc_answer;

typedef struct bertc_qa_result {
    size_t n;
    bertc_answer *answers; /* best first */
} bertc_qa_result;

bertc_status bertc_question_answer(const bertc_model *m, const char *question, size_t qlen, const char *context,
                                   size_t clen, const bertc_qa_params *p, bertc_qa_result *out, bertc_error *err);
void bertc_qa_result_free(bertc_qa_result *r);

/* transformers' FillMaskPipeline: every mask token of the text is predicted. */
typedef struct bertc_fill_mask_params {
    int top_k;                  /* candidates per mask (default 5) */
    const char *const *targets; /* NULL: the whole vocabulary; else only these words (each its first token) */
    size_t n_targets;
    bertc_encode_params encode;
} bertc_fill_mask_params;

bertc_fill_mask_params bertc_fill_mask_default_params(void);

typedef struct bertc_mask_candidate {
    float score;
    int32_t token;
    char *token_str; /* the token decoded */
    char *sequence;  /* the text decoded with this token in the mask's place (special tokens dropped) */
} bertc_mask_candidate;

typedef struct bertc_fill_mask_result {
    size_t n_masks;
    size_t k;                         /* candidates per mask */
    bertc_mask_candidate *candidates; /* n_masks * k, mask after mask, best first */
} bertc_fill_mask_result;

bertc_status bertc_fill_mask(const bertc_model *m, const char *text, size_t len, const bertc_fill_mask_params *p,
                             bertc_fill_mask_result *out, bertc_error *err);
void bertc_fill_mask_result_free(bertc_fill_mask_result *r);

#ifdef __cplusplus
}
#endif
#endif
