/*
 * bertc_train.h — fine-tuning in libbertc: transformers' Trainer arithmetic for sequence classification
 * (cross-entropy, BCE-with-logits, MSE by problem_type; dropout from config.json; AdamW with decoupled weight
 * decay and Trainer's parameter groups; linear / cosine / constant schedules with warmup; global-norm
 * clipping; gradient accumulation; seeded shuffling), evaluation with bertc_eval's metrics, checkpoints that
 * resume exactly, and output folders that transformers loads.
 *
 * Like bertc.h: status codes plus a message, no printing, no exit(). Progress comes through a callback.
 */
#ifndef BERTC_TRAIN_H
#define BERTC_TRAIN_H

#include "bertc.h"
#include "bertc_eval.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bertc_lr_scheduler {
    BERTC_LR_LINEAR = 0,                /* get_linear_schedule_with_warmup */
    BERTC_LR_CONSTANT = 1,              /* get_constant_schedule (warmup ignored, as transformers' "constant") */
    BERTC_LR_COSINE = 2,                /* get_cosine_schedule_with_warmup (half a cycle) */
    BERTC_LR_CONSTANT_WITH_WARMUP = 3,  /* get_constant_schedule_with_warmup */
} bertc_lr_scheduler;

typedef enum bertc_train_event_kind {
    BERTC_TRAIN_START = 0,    /* message: what is trained, on what; step = 0, max_steps known */
    BERTC_TRAIN_PROGRESS = 1, /* after each optimizer step */
    BERTC_TRAIN_LOG = 2,      /* a log_history entry (json) every logging_steps */
    BERTC_TRAIN_EVAL = 3,     /* an evaluation (json: its log_history entry; metrics: validation) */
    BERTC_TRAIN_SAVE = 4,     /* a checkpoint was written (message: its folder) */
    BERTC_TRAIN_WARNING = 5,  /* message: overfitting gap, unseen labels, fresh weights, ... */
    BERTC_TRAIN_END = 6,      /* json: the final log entry (train_runtime, train_loss, ...) */
    BERTC_TRAIN_TEACHER = 7,  /* bertc_distill: the teacher labelling rows; step = rows done, max_steps = rows to do */
} bertc_train_event_kind;

typedef struct bertc_train_event {
    bertc_train_event_kind kind;
    long step, max_steps;
    double epoch, num_epochs;
    double loss;              /* PROGRESS: mean loss since the last log */
    double learning_rate, grad_norm;
    double tokens_per_second, elapsed_seconds, eta_seconds;
    const char *message;
    const char *json;         /* LOG / EVAL / END: the entry as compact JSON */
    const bertc_metrics *metrics;       /* EVAL: on the validation set (NULL without one) */
    const bertc_metrics *train_metrics; /* EVAL: on the seeded train sample */
} bertc_train_event;

typedef void (*bertc_train_callback)(const bertc_train_event *e, void *ctx);

typedef struct bertc_train_params {
    const char *model;           /* checkpoint folder (with a head or a base model) */
    const char *train;           /* dataset file (TSV / CSV / JSON lines, as bertc eval reads them) */
    const char *validation;      /* may be NULL */
    const char *output_dir;
    bertc_dataset_params data;   /* columns */
    const char *labels;          /* "L0,L1,...": names of label ids (NULL: the checkpoint's or the data's) */
    bertc_problem problem;       /* 0: the checkpoint's problem_type, else inferred (1 label: regression) */
    double epochs;               /* 3 */
    double learning_rate;        /* 1e-5 */
    int batch_size;              /* 32 */
    int warmup_steps;            /* 600; < 0: use warmup_ratio */
    double warmup_ratio;         /* 0 */
    int max_length;              /* 128 */
    double weight_decay;         /* 0 */
    double adam_beta1, adam_beta2, adam_epsilon; /* 0.9, 0.999, 1e-8 */
    double max_grad_norm;        /* 1.0 (<= 0: no clipping) */
    int gradient_accumulation_steps; /* 1 */
    bertc_lr_scheduler lr_scheduler;
    uint64_t seed;               /* 42 */
    int shuffle;                 /* 1 */
    int logging_steps;           /* 50 */
    int eval_steps;              /* 0: evaluate at the end of each epoch */
    int save_steps;              /* 0: save at each evaluation (or each epoch without validation) */
    int save_total_limit;        /* checkpoints kept (default 2: the best, kept whatever its age, and the last);
                                    0: keep all */
    const char *metric_for_best_model; /* accuracy | f1 | macro_f1 | mcc | loss (default loss, as Trainer) */
    int early_stopping_patience; /* 0: off */
    const char *resume_from_checkpoint; /* a checkpoint folder or "latest"; NULL: start fresh */
    int overwrite_output_dir;
    int freeze_embeddings;
    int n_threads;               /* 0: all cores */
    long max_steps;              /* > 0: overrides epochs (TrainingArguments.max_steps) */
    int train_sample;            /* train rows evaluated at each evaluation for the gap (default 1000; 0: none) */
    double overfit_gap;          /* warn when train - validation accuracy exceeds this (0.05) */
    volatile const int *stop;    /* set (e.g. by a SIGINT handler) to save a checkpoint and stop */
    bertc_train_callback callback;
    void *callback_ctx;
    int bf16;                    /* 1: bf16 mixed precision (TrainingArguments.bf16): the linears' matmuls (forward, input
                                    and weight gradients) take bf16-rounded inputs with fp32 sums, as torch autocast
                                    runs them; fp32 master weights, gradients and AdamW state; attention, softmax,
                                    LayerNorm, GELU and the loss in fp32. The checkpoints saved are fp32. Default 0 */
} bertc_train_params;

bertc_train_params bertc_train_default_params(void);

/* Trains and writes output_dir as save_pretrained does (config.json, model.safetensors, tokenizer files) with
 * trainer_state.json and checkpoint-N/ folders. With a validation set the folder holds the best model by
 * metric_for_best_model, else the last. BERTC_ERR_INTERRUPTED: stopped by *stop after saving a checkpoint;
 * BERTC_ERR_DIVERGED: a non-finite loss or gradient, the step named, the last good checkpoint kept. */
bertc_status bertc_train(const bertc_train_params *p, bertc_error *err);

/* ---- knowledge distillation (DistilBERT / Hinton) ---- */
typedef struct bertc_distill_params {
    bertc_train_params train;   /* the student's run, as bertc_train takes it: train.model is the student's folder (a
                                   base model gets a new head), train.train the labelled rows, every recipe field,
                                   validation, checkpoints, resume. Single-label classification only */
    const char *teacher;        /* the teacher: a sequence classifier's folder. NULL: every row's logits must be in
                                   teacher_cache already */
    double temperature;         /* T (default 2): both sides' logits divided by T before the softmax */
    double alpha;               /* weight of the hard-label cross-entropy (default 0.5); 1 - alpha weighs
                                   T^2 * KL(teacher || student), as KLDivLoss(reduction="batchmean") */
    const char *unlabeled;      /* a file of texts (TSV / CSV / JSON lines; its labels, if any, are not read) that the
                                   teacher labels: each row's hard label is the teacher's argmax. NULL: none */
    int augment;                /* variants generated per labelled training row (TinyBERT's augmentation; default 0) */
    double augment_swap;        /* per word: the probability of a swap for one of its nearest words (0.3) */
    double augment_delete;      /* per word: the probability of its deletion (0.1) */
    double augment_mask;        /* per variant: the probability of one masked span of 1-3 words (0.3) */
    int augment_neighbors;      /* a swap draws among this many nearest words (15), by the cosine of the teacher's
                                   input embeddings, among its vocabulary's whole words */
    int augment_min_words;      /* only rows of at least this many words are augmented (0: every row) */
    const char *augmented_out;  /* when set, the generated variants are written there (TSV with one column, sentence) */
    const char *teacher_cache;  /* the teacher's logits by text (safetensors); NULL: OUTPUT_DIR.teacher-logits.safetensors.
                                   Rows found there are not run again; written as labelling goes, so a killed run
                                   loses at most a minute of it */
    int teacher_max_length;     /* 0: train.max_length */
    int teacher_batch_size;     /* 0: 64 */
    int label_only;             /* 1: the teacher labels the rows into teacher_cache (augmented_out written) and no
                                   student is trained: train.output_dir may be NULL, teacher_cache may not */
    bertc_compute teacher_compute; /* the teacher's matmuls when it labels rows (bertc_model_params.compute): FP32
                                   (default) or BF16 (on the tile unit of an AMX Xeon, several times faster; logits
                                   within about 1e-2 of fp32's). Kept in the cache's info ("compute"); a teacher never
                                   adds rows to a cache made at the other compute (BERTC_ERR_INVALID_ARG) */
} bertc_distill_params;

bertc_distill_params bertc_distill_default_params(void);

/* Labels every training row with the teacher (cached), then trains the student on
 * alpha * CE(student, label) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T)), the batch's mean.
 * The label names are train.labels, else the student's head's, else the teacher's; the teacher's logits are taken
 * in that order by name (by position when the teacher's are LABEL_i). Everything else is bertc_train's. */
bertc_status bertc_distill(const bertc_distill_params *p, bertc_error *err);

/* Writes a student made from a teacher folder by keeping `keep` of its layers (n_keep of them, in order; NULL:
 * every k-th with k = layers / n_keep, starting with the first, as DistilBERT was initialised from BERT) into
 * out_dir: config.json with the new layer count, model.safetensors with the kept layers renumbered (every other
 * tensor, head included, as it is), the tokenizer files. */
bertc_status bertc_student_from_teacher(const char *teacher_dir, const int *keep, int n_keep, const char *out_dir,
                                        bertc_error *err);

#ifdef __cplusplus
}
#endif
#endif
