/* fuzz_predictions.c — `bertc metrics` predictions files (JSON lines of gold, pred, scores, text) from arbitrary
 * bytes: the first byte picks labels given or inferred, a threshold, the bootstrap; a parsed file is rendered in
 * every format its report has. */
#include "bertc_eval.h"
#include <math.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int sel = data[0];
    static const char *const labels[] = {"NEGATIVE", "POSITIVE", "NEUTRAL"};
    bertc_predictions_params p = bertc_predictions_default_params();
    if (sel & 1) {
        p.labels = labels;
        p.n_labels = sel & 2 ? 3 : 2;
    }
    if (sel & 4) p.threshold = 0.25;
    if (sel & 8) p.positive_label = "NEGATIVE";
    p.metrics.bootstrap = sel & 16 ? 20 : 0;
    bertc_eval_report *r = NULL;
    bertc_error err;
    if (bertc_eval_predictions_parse((const char *)data + 1, size - 1, "p.jsonl", &p, &r, &err) == BERTC_OK) {
        for (int f = BERTC_REPORT_JSON; f <= BERTC_REPORT_PREDICTIONS; f++) {
            char *out = NULL;
            size_t len = 0;
            if (bertc_eval_report_render(r, (bertc_report_format)f, &out, &len, &err) == BERTC_OK && !out) abort();
            bertc_free(out);
        }
        bertc_eval_report_free(r);
    }
    return 0;
}
