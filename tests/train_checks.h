/* train_checks.h — checks a family's training tests share (test_deberta.c, test_modernbert.c): a short `bertc train`
 * whose saved folder agrees with itself, and the backward against central differences with dropout on. */
#ifndef BERTC_TRAIN_CHECKS_H
#define BERTC_TRAIN_CHECKS_H

#include "train/tmodel.h"

/* `bertc train` 4 steps (batch 8, lr 1e-3, no warm-up, no shuffle, 2 threads) of SST-2 dev from src into saved; the
 * folder loads for inference (fp32) and for training again, and both give the same logits (within 1e-4) on five
 * texts. labels > 0: the folder has that many labels and src the same head, and the logits moved from src's (by more
 * than 1e-2); labels 0: any of 2..8 labels, the move checked only where src has the same head. */
void check_trained_folder(const char *src, const char *saved, int labels);

/* The three texts the central-difference checks run on, tokenized by t's tokenizer into e[0..2]. */
void fd_encode(const tmodel *t, bertc_encoding e[3]);
/* One training step's backward (dropout on as t has it, key 0x5eed, labels 2 0 1 on e[0..2]) against central
 * differences of the same step's loss (eps 2e-3, the same masks) at parameter names[k], element idx[k] (modulo its
 * size), for k < np: each within 3% + 3e-4 and not 0. Returns that step's loss; t's weights are left as they were. */
double check_central_differences(tmodel *t, const char *what, const bertc_encoding e[3], const char *const *names,
                                 const int *idx, int np);

/* The same with the given labels (e.g. a distillation batch: soft, temperature, alpha). */
double check_central_differences_lab(tmodel *t, const char *what, const bertc_encoding e[3], const tbatch_labels *lab,
                                     const char *const *names, const int *idx, int np);

#endif
