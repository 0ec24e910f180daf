/* fuzz_task_data.c — the NER (JSON lines, CoNLL) and QA (JSON lines, SQuAD JSON) dataset parsers of bertc eval
 * from arbitrary bytes: the first byte picks the parser, the format and the options (labels for integer tags,
 * other column names). A parsed set is walked to check its invariants. */
#include "bertc_eval.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int sel = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    bertc_error err;
    static const bertc_task_data_format fmts[] = {BERTC_TASK_DATA_AUTO, BERTC_TASK_DATA_JSONL, BERTC_TASK_DATA_CONLL,
                                                  BERTC_TASK_DATA_SQUAD};
    static const char *const names[] = {"f.jsonl", "f.conll", "f"};
    if (!(sel & 1)) {
        static const char *const labels[] = {"O", "B-PER", "I-PER"};
        bertc_ner_data_params p = bertc_ner_data_default_params();
        p.format = fmts[(sel >> 1) & 3];
        if (sel & 8) p.labels = labels, p.n_labels = 3;
        if (sel & 16) p.tokens_column = "words", p.tags_column = "tags";
        bertc_ner_dataset *d = NULL;
        if (bertc_ner_data_parse(text, len, names[(sel >> 5) % 3], &p, &d, &err) == BERTC_OK) {
            if (!d || d->n == 0) abort();
            for (size_t i = 0; i < d->n; i++)
                for (size_t j = 0; j < d->s[i].n; j++)
                    if (!d->s[i].words[j] || !d->s[i].tags[j] || !*d->s[i].tags[j]) abort();
        } else if (d) abort();
        bertc_ner_data_free(d);
    } else {
        bertc_qa_dataset *d = NULL;
        if (bertc_qa_data_parse(text, len, names[(sel >> 5) % 3], fmts[(sel >> 1) & 3], &d, &err) == BERTC_OK) {
            size_t none = 0;
            for (size_t i = 0; i < d->n; i++) {
                const bertc_qa_example *e = &d->ex[i];
                if (!e->id || !e->question || !e->context || strlen(e->question) != e->question_len) abort();
                for (size_t k = 0; k < e->n_answers; k++)
                    if (!e->answers[k]) abort();
                none += e->n_answers == 0;
            }
            if (d->n == 0 || none != d->n_unanswerable) abort();
        } else if (d) abort();
        bertc_qa_data_free(d);
    }
    return 0;
}
