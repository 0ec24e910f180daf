/* Built by `make install-check` against an installed bertc (pkg-config bertc, libbertc.so): the tutorial of
 * bertc.h, on the embedded default model. Prints "POSITIVE 0.9962" (transformers: 0.99619). */
#include <bertc.h>
#include <stdio.h>

int main(void) {
    bertc_error err;
    bertc_model *m;
    if (bertc_model_load(NULL, NULL, &m, &err) != BERTC_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    bertc_text in[1] = {{"a charming journey", 18, NULL, 0}};
    bertc_classification out[1];
    if (bertc_classify(m, in, 1, NULL, out, &err) != BERTC_OK) {
        fprintf(stderr, "%s\n", err.message);
        bertc_model_free(m);
        return 1;
    }
    printf("%s %.4f\n", bertc_model_label(m, out[0].label_id), out[0].score);
    bertc_classification_free(out, 1);
    bertc_model_free(m);
    return 0;
}
