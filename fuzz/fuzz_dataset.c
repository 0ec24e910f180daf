/* fuzz_dataset.c — labeled datasets (TSV, CSV, JSON lines) from arbitrary bytes: the first byte picks the
 * format and the column choice; then leakage of the set against itself and label lookups. */
#include "bertc_eval.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const names[] = {"f.tsv", "f.csv", "f.jsonl", "f"};
    bertc_dataset_params p = bertc_dataset_default_params();
    int sel = data[0];
    if (sel & 4) p.text_column = "review";
    if (sel & 8) p.pair_column = "sentence2";
    if (sel & 16) p.label_column = "";
    bertc_dataset *d = NULL;
    bertc_error err;
    if (bertc_dataset_parse((const char *)data + 1, size - 1, names[sel & 3], &p, &d, &err) == BERTC_OK) {
        unsigned char *flags = malloc(d->n);
        size_t ex, nz;
        if (flags && bertc_find_leakage(d, d, flags, &ex, &nz, &err) == BERTC_OK && ex != d->n) abort();
        const char *labels[] = {"NEGATIVE", "POSITIVE"};
        for (size_t i = 0; i < d->n; i++) bertc_label_lookup(d->ex[i].label, labels, 2);
        free(flags);
        bertc_dataset_free(d);
    }
    return 0;
}
