/*
 * tmodel.h — the encoder as the trainer holds it: the model's own encoder (src/model: one forward, its backward)
 * over every parameter as a plain fp32 array named as transformers names it (the architecture's name table), a
 * gradient beside each, the activations a backward pass needs, and packed copies of the weights (W and W^T) for
 * the GEMM kernels, re-packed after each optimizer step.
 *
 * Parameters live in one flat buffer in transformers' named_parameters() order, except that a layer's
 * query/key/value weights (and biases) are adjacent so that they form the [3H, H] matrix the fused QKV GEMM
 * reads, as the inference path fuses them.
 */
#ifndef BERTC_TMODEL_H
#define BERTC_TMODEL_H

#include "model/layers.h"
#include "model/model.h"
#include "bertc_train.h"

typedef struct tparam {
    char name[160];   /* the checkpoint's tensor name, e.g. "distilbert.transformer.layer.0.ffn.lin1.weight" */
    int ndim;
    int64_t shape[2];
    size_t off, n;    /* into tmodel.w / .g */
    bool decay;       /* AdamW weight decay applies (not biases, not LayerNorm weights: Trainer's groups) */
    bool frozen;      /* no update (--freeze-embeddings) */
    bool fresh;       /* newly initialised (not in the checkpoint) */
    bool is_embedding_rows; /* word embeddings: gradient rows are sparse */
} tparam;

typedef struct tmodel {
    model_config cfg;
    bertc_tokenizer *tok;
    threadpool *pool;
    tparam *p;
    int np;
    float *w, *g;     /* parameters and gradients, `total` floats each */
    size_t total;
    tlayer *L;        /* each layer's tensors in w / g */
    int ffn1_rows;    /* the first FFN linear's outputs: intermediate_size, 2x for a gated one (ModernBERT's Wi) */
    dropout_cfg drop;
    float initializer_range;
    bool packed;
    bool bf16;    /* bf16 mixed precision: every linear's matmuls (forward, dx, dW) take bf16 inputs with fp32 sums, as
                     torch autocast does; master weights, gradients and optimizer state stay fp32 */
    bertc_model enc;   /* the encoder the forward and backward run: its weights point into w, its linears packed from w */
    encoder_train tr;  /* its training state: w, g, the W^T packs, the kept activations */
    char *config_json; /* the source config.json text, kept to write the saved config */
    /* the checkpoint's tokenizer files, read at load and written with every save: a source folder may be gone by then
     * (a resumed run's checkpoint removed by --save-total-limit) */
    struct tfile {
        const char *name;
        char *data;
        size_t len;
    } tokfiles[6];
    int n_tokfiles;
    int n_fresh;
    /* The dtype the trained model is saved in (its output folder's weights; checkpoints stay fp32 for resuming):
     * the source's, as transformers' from_pretrained(dtype="auto") keeps it and save_pretrained writes it: config.json's
     * dtype (torch_dtype) when it names float32, float16 or bfloat16, else the word embeddings' stored type. Saved
     * checkpoints' config.json name it, so a resumed run keeps it. */
    int save_dtype; /* DT_F32, DT_F16 or DT_BF16 */
} tmodel;

/* How the head is set up when loading. */
typedef struct tmodel_head {
    bertc_problem problem;  /* 0: the checkpoint's */
    int n_labels;           /* 0: the checkpoint's */
    char **labels;          /* n_labels names (NULL: the checkpoint's, or LABEL_i) */
    uint64_t seed;          /* for fresh weights */
    bool ignore_mismatched; /* a head tensor of another shape is re-initialised (ignore_mismatched_sizes=True) */
} tmodel_head;

/* Loads a checkpoint folder for training. A head whose shape does not fit n_labels is an error unless the
 * checkpoint has no head (base model): then a fresh one is made. `fresh_names` receives a malloc'ed
 * comma-separated list of the newly initialised tensors (or NULL). */
bertc_status tmodel_load(const char *dir, const tmodel_head *head, int n_threads, tmodel **out, char **fresh_names,
                         bertc_error *err);
void tmodel_free(tmodel *m);
void tmodel_acts_free(tmodel *m);
/* Reads a folder's config and looks for its classification head without loading weights: *head_outputs is the
 * head's number of outputs (0: a base model); cfg is filled (free with model_config_free). */
bertc_status tmodel_probe(const char *dir, model_config *cfg, int *head_outputs, bertc_error *err);
int tmodel_find(const tmodel *m, const char *name);
/* Packs the weights for the kernels (after load and after every optimizer step). */
bertc_status tmodel_pack(tmodel *m, bertc_error *err);

/* Writes config.json (architectures, id2label, label2id, problem_type), model.safetensors and the tokenizer files
 * into dir (each file written whole, then renamed). */
bertc_status tmodel_save(const tmodel *m, const char *dir, bertc_error *err);
/* Writes j as JSON (2-space indent and flags) plus a newline, whole then renamed; since: jalloc_failures() when the
 * tree's building began (a member dropped for lack of memory, anywhere in its history, makes this out of memory
 * rather than a file with an entry missing). */
struct json_t;
bertc_status train_write_json(const char *path, struct json_t *j, size_t flags, unsigned since, bertc_error *err);
/* Only the tokenizer files (as read at load). */
bertc_status tmodel_save_tokenizer(const tmodel *m, const char *dir, bertc_error *err);
/* dst = the fp32 safetensors file src with its F32 tensors rounded to dtype (DT_F16 or DT_BF16: round to nearest
 * even, as torch's .to(dtype)), written whole then renamed; DT_F32 copies it. */
bertc_status tmodel_export_weights(const char *src, const char *dst, int dtype, bertc_error *err);

/* ---- a step: the encoder's forward and backward passes (src/model/bert.c) around the loss (step.c) ---- */
typedef struct tbatch_labels {
    const int *ids;     /* single label: n ids */
    const float *vals;  /* multi-label: n x L multi-hot; regression: n x L values */
    /* distillation (single label): the teacher's logits, n x L; NULL: none. The loss of each row is then
     * alpha * CE(z, y) + (1 - alpha) * T^2 * KL(softmax(t / T) || softmax(z / T)), the batch's mean (DistilBERT's /
     * Hinton's: KLDivLoss(reduction="batchmean") on log_softmax(z / T) and softmax(t / T), times T^2) */
    const float *soft;
    double temperature, alpha;
} tbatch_labels;

/* One forward (dropout on when train, its masks drawn from key) and, when train, backward; the gradient of
 * loss * grad_scale is ADDED to m->g. logits (n x L) and the mean loss come back. */
bertc_status tmodel_step(tmodel *m, const bertc_encoding *encs, size_t n, const tbatch_labels *lab, bool train,
                         uint64_t key, float grad_scale, float *logits, double *loss, bertc_error *err);
/* One row's distillation loss (see tbatch_labels: student logits z, teacher logits t, label y, nl labels) and its
 * gradient over z divided by n into dl: alpha (softmax(z) - onehot(y)) + (1 - alpha) T (softmax(z / T) -
 * softmax(t / T)). In double throughout. */
double distill_row(const float *z, const float *t, int nl, int y, double T, double alpha, float *dl, double n);

/* The teacher cache's key of a text (and pair: NULL for none) as the teacher reads it at max_length. */
uint64_t distill_text_key(const char *t, size_t n, const char *pair, size_t pn, int max_length);

/* Parses a teacher cache image (the fuzzer's way in): its rows and labels. */
bertc_status distill_cache_probe(const uint8_t *data, size_t size, size_t *rows, int *labels, bertc_error *err);

/* ---- distillation's way into the trainer (src/train/distill.c) ---- */
typedef struct train_source {
    const bertc_dataset *train; /* the training rows, read in place of p->train (labels as names or ids) */
    const float *soft;          /* train->n x n_labels: the teacher's logits in p->labels' order (single label) */
    double temperature, alpha;
} train_source;
/* bertc_train's loop over src's rows with the distillation loss (bertc_train is train_run(p, NULL)). */
bertc_status train_run(const bertc_train_params *p, const train_source *src, bertc_error *err);

/* The gradient's global L2 norm (double accumulation, in parameter order). */
double tmodel_grad_norm(const tmodel *m);

/* trainer.c, for fuzz/fuzz_train_labels.c: runs every label decision of bertc_train on a dataset. */
#include "bertc_train.h"
size_t train_labels_probe(const bertc_dataset *d);

#endif
