/*
 * test_layout.c — the library and its applications apart (issue: one encoder, a library that is only the
 * library): libbertc carries no model and no server; the default model comes from a registration or from
 * libbertc-default.so; libbertc-eval.so exports only the evaluation API.
 */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Without a registered default, a program linked statically (no libbertc-default.so beside it, none on the
 * library path) gets a clear error, not a crash; with one registered, the default loads and names it. */
static void test_default_registration(void) {
    const char *ld = getenv("LD_LIBRARY_PATH");
    bertc_set_default_model(NULL);
    bertc_model *m = NULL;
    bertc_error err;
    bertc_status s = bertc_model_load(NULL, NULL, &m, &err);
    if (!ld || !*ld) {
        CHECK(s == BERTC_ERR_IO && !m, "no default model: status %d", (int)s);
        CHECK(strstr(err.message, "no default model in this program") && strstr(err.message, "libbertc-default.so"),
              "message: %s", err.message);
    }
    bertc_model_free(m);
    m = NULL;
    /* a registration of our own: the same files under another name */
    bertc_model_files f = *bertc_default_model_files();
    f.name = "my-default";
    bertc_set_default_model(&f);
    s = bertc_model_load("", NULL, &m, &err);
    CHECK(s == BERTC_OK, "load: %s", err.message);
    if (m) {
        bertc_model_info info;
        bertc_model_get_info(m, &info);
        CHECK(!strcmp(info.source, "embedded:my-default"), "source %s", info.source);
        CHECK(info.n_labels == 2 && !strcmp(bertc_model_label(m, 1), "POSITIVE"), "labels");
        bertc_text in[1] = {{"a charming journey", 18, NULL, 0}};
        bertc_classification out[1];
        CHECK(bertc_classify(m, in, 1, NULL, out, &err) == BERTC_OK, "classify: %s", err.message);
        /* the default's own score for it (transformers 5.25 on models/minilm-sst2 in fp32: 0.9961900) */
        CHECK(out[0].label_id == 1 && fabsf(out[0].score - 0.9961900f) < 2e-6f, "score %.7f", out[0].score);
        bertc_classification_free(out, 1);
        bertc_model_free(m);
    }
    bertc_set_default_model(bertc_default_model_files());
}

/* The built shared libraries: libbertc.so small, with no microhttpd and no model inside; libbertc-eval.so exports
 * only bertc_* names that libbertc does not (src/base stays hidden in it). Checked on build/ (the plain build). */
static void test_shared_libraries(void) {
    char out[8192];
    if (run_cli("test -f build/libbertc.so && test -f build/libbertc-eval.so && echo yes", out, sizeof out) != 0 ||
        strncmp(out, "yes", 3)) {
        printf("  skipped: build/libbertc.so not built\n");
        return;
    }
    CHECK(run_cli("stat -L -c %s build/libbertc.so", out, sizeof out) == 0 && atol(out) > 100000 &&
              atol(out) <= 8L * 1024 * 1024, "libbertc.so is %s bytes", out);
    CHECK(run_cli("ldd build/libbertc.so | grep -c microhttpd", out, sizeof out) == 1 && atoi(out) == 0,
          "libbertc.so needs microhttpd");
    CHECK(run_cli("nm -D build/libbertc.so | grep -c -i -e ' MHD_' -e bertc_emb_", out, sizeof out) == 1 && atoi(out) == 0,
          "libbertc.so refers to microhttpd or holds the model");
    CHECK(run_cli("nm -D --defined-only --without-symbol-versions build/libbertc.so | grep -c -e ' bertc_eval_run$' -e "
                  "' bertc_fail$' -e ' server_new$' -e ' json_'", out, sizeof out) == 1 && atoi(out) == 0, "libbertc.so exports eval, internals or the server");
    CHECK(run_cli("nm -D --defined-only build/libbertc-eval.so | grep ' T ' | grep -c -v -e ' bertc_'", out, sizeof out) == 1 &&
              atoi(out) == 0, "libbertc-eval.so exports non-API symbols");
    CHECK(run_cli("nm -D --defined-only --without-symbol-versions build/libbertc-eval.so | grep -c -e ' bertc_write_file$' -e "
                  "' bertc_status_str$' -e ' bertc_model_load$' -e ' bertc_fail$'", out, sizeof out) == 1 && atoi(out) == 0,
          "libbertc-eval.so re-exports libbertc's API");
    CHECK(run_cli("nm -D --defined-only --without-symbol-versions build/libbertc-eval.so | grep -c ' bertc_eval_run$'", out, sizeof out) == 0 &&
              atoi(out) == 1, "libbertc-eval.so lacks bertc_eval_run");
}

void tests_layout(void) {
    run_test("layout/default_model_registration", test_default_registration);
    run_test("layout/shared_libraries", test_shared_libraries);
}
