/* fuzz_train_labels.c — the labels of a training set from arbitrary bytes: names taken from the data (integer
 * ids or sorted names), single-label ids, multi-label lists ("[a, b]" or "a,b"), regression numbers, as
 * bertc_train decides them (strict for train, lenient for validation). The first byte picks the format. */
#include "train/tmodel.h"
#include "bertc_eval.h"
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const names[] = {"f.tsv", "f.csv", "f.jsonl", "f"};
    bertc_dataset_params p = bertc_dataset_default_params();
    bertc_dataset *d = NULL;
    bertc_error err;
    if (bertc_dataset_parse((const char *)data + 1, size - 1, names[data[0] & 3], &p, &d, &err) == BERTC_OK) {
        if (train_labels_probe(d) > 6 * d->n) abort(); /* 3 problem types x 2 modes at most */
        bertc_dataset_free(d);
    }
    return 0;
}
