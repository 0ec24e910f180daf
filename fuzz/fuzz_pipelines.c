/* fuzz_pipelines.c — arbitrary bytes through the three pipelines on the tiny fixtures: token classification (every
 * aggregation, with and without a stride), question answering (question and context split at the first 0xFF; small
 * windows so several are cut) and fill-mask (the input with the mask token appended, and as it is). The first byte
 * picks the parameters. Errors are fine; crashes, leaks and undefined behaviour are not. */
#include "bertc.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
static bertc_model *ner_b, *ner_r, *qa_b, *qa_r, *mlm_b, *mlm_r;

static bertc_model *load(const char *dir) {
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    bertc_model *m;
    if (bertc_model_load(dir, &mp, &m, NULL)) abort();
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ner_b) {
        ner_b = load("tests/data/tiny-ner-bert");
        ner_r = load("tests/data/tiny-ner-roberta");
        qa_b = load("tests/data/tiny-qa-bert");
        qa_r = load("tests/data/tiny-qa-roberta");
        mlm_b = load("tests/data/tiny-mlm-bert");
        mlm_r = load("tests/data/tiny-mlm-roberta");
    }
    if (size == 0) return 0;
    unsigned sel = data[0];
    data++, size--;
    char *text = malloc(size + 16);
    memcpy(text, data, size);
    text[size] = 0;
    bool roberta = sel & 1;
    /* token classification */
    bertc_token_class_params tp = bertc_token_class_default_params();
    tp.aggregation = (bertc_aggregation)((sel >> 1) % 5);
    tp.stride = tp.aggregation && (sel & 0x10) ? 3 : 0;
    tp.encode.max_length = sel & 0x20 ? 12 : 0;
    static const char *const ign[] = {"O", "B-PER"};
    if (sel & 0x40) tp.ignore_labels = ign, tp.n_ignore = 2;
    bertc_token_class_result tr;
    if (bertc_token_classify(roberta ? ner_r : ner_b, text, size, &tp, &tr, NULL) == BERTC_OK) bertc_token_class_result_free(&tr);
    /* question answering */
    const uint8_t *sep = memchr(data, 0xFF, size);
    size_t lq = sep ? (size_t)(sep - data) : size / 2;
    bertc_qa_params qp = bertc_qa_default_params();
    qp.top_k = 1 + (sel >> 5);
    qp.max_seq_len = sel & 0x8 ? 16 : 0;
    qp.doc_stride = sel & 0x8 ? 2 + (sel & 3) : 0;
    qp.max_answer_len = 1 + (sel & 7);
    qp.handle_impossible_answer = (sel >> 2) & 1;
    qp.align_to_words = !((sel >> 4) & 1);
    const char *ctx = sep ? (const char *)sep + 1 : text + lq;
    size_t lc = sep ? size - lq - 1 : size - lq;
    bertc_qa_result qr;
    if (bertc_question_answer(roberta ? qa_r : qa_b, text, lq, ctx, lc, &qp, &qr, NULL) == BERTC_OK) bertc_qa_result_free(&qr);
    /* fill-mask: the text as it is, and with the mask token appended */
    bertc_fill_mask_params fp = bertc_fill_mask_default_params();
    fp.top_k = 1 + (sel & 15);
    static const char *const tg[] = {"the", "cat", "\xC3\xA9t\xC3\xA9", "Ġdog"};
    if (sel & 0x80) fp.targets = tg, fp.n_targets = 4;
    bertc_fill_mask_result fr;
    bertc_model *mm = roberta ? mlm_r : mlm_b;
    if (bertc_fill_mask(mm, text, size, &fp, &fr, NULL) == BERTC_OK) bertc_fill_mask_result_free(&fr);
    const char *mask = roberta ? " <mask>" : " [MASK]";
    memcpy(text + size, mask, 8);
    if (bertc_fill_mask(mm, text, size + 7, &fp, &fr, NULL) == BERTC_OK) bertc_fill_mask_result_free(&fr);
    free(text);
    return 0;
}
