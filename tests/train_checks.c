/* train_checks.c — see train_checks.h */
#include "train_checks.h"
#include "test.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void check_trained_folder(const char *src, const char *saved, int labels) {
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "@ train --model %s --train " TD "sst2-dev.tsv --output %s --max-steps 4 --batch-size 8 "
             "--learning-rate 1e-3 --warmup-steps 0 --no-shuffle --threads 2 --quiet 2>&1", src, saved);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0, "train %s: %d %s", src, rc, out);
    bertc_model_params p = bertc_model_default_params();
    p.dtype = BERTC_DTYPE_FP32;
    p.compute = BERTC_COMPUTE_FP32;
    bertc_model *m = NULL, *m0 = NULL;
    bertc_error err;
    CHECK(bertc_model_load(saved, &p, &m, &err) == BERTC_OK, "load %s: %s", saved, err.message);
    CHECK(bertc_model_load(src, &p, &m0, &err) == BERTC_OK, "load %s: %s", src, err.message);
    tmodel *t = NULL;
    CHECK(tmodel_load(saved, NULL, 2, &t, NULL, &err) == BERTC_OK, "tmodel_load: %s", err.message);
    if (m && m0 && t) {
        static const char *const texts[] = {"a charming and often affecting journey .", "unflinchingly bleak and desperate",
                                            "the acting , costumes , music , cinematography and sound are all astounding .",
                                            "it 's slow -- very , very slow .", "x"};
        enum { N = sizeof texts / sizeof texts[0] };
        bertc_encoding e[N];
        for (int i = 0; i < N; i++)
            bertc_tokenize(bertc_model_tokenizer(m), texts[i], strlen(texts[i]), NULL, 0, NULL, &e[i], NULL);
        const int L = m->cfg.n_labels;
        float li[N * 8], l0[N * 8], lt[N * 8];
        double loss = 0, worst = 0, moved = 0;
        if (labels > 0) CHECK(L == labels && L == t->cfg.n_labels, "labels %d %d", L, t->cfg.n_labels);
        else CHECK(L >= 2 && L <= 8 && L == t->cfg.n_labels, "labels %d %d", L, t->cfg.n_labels);
        const bool same_head = m0->has_head && m0->cfg.n_labels == L;
        if (labels > 0) CHECK(same_head, "%s: not a %d-label classifier", src, labels);
        if (L >= 1 && L <= 8) {
            CHECK(model_forward(m, e, N, NULL, NULL, li, &err) == BERTC_OK, "forward: %s", err.message);
            CHECK(tmodel_step(t, e, N, NULL, false, 0, 1.0f, lt, &loss, &err) == BERTC_OK, "step: %s", err.message);
            if (same_head) CHECK(model_forward(m0, e, N, NULL, NULL, l0, &err) == BERTC_OK, "forward: %s", err.message);
            for (int k = 0; k < N * L; k++) {
                worst = fmax(worst, fabs(li[k] - lt[k]));
                if (same_head) moved = fmax(moved, fabs(li[k] - l0[k]));
            }
        }
        printf("  %s: saved folder: inference vs trainer logits %.2e, moved from the start by %.3f\n", src, worst, moved);
        CHECK(worst <= 1e-4, "saved folder: inference and trainer logits differ by %g", worst);
        if (same_head) CHECK(moved > 1e-2, "training did not move the logits (%g)", moved);
        for (int i = 0; i < N; i++) bertc_encoding_free(&e[i]);
    }
    tmodel_free(t);
    bertc_model_free(m);
    bertc_model_free(m0);
}

void fd_encode(const tmodel *t, bertc_encoding e[3]) {
    static const char *const texts[] = {"a charming and often affecting journey .", "unflinchingly bleak and desperate",
                                        "the acting , costumes , music , cinematography and sound are all astounding ."};
    for (int i = 0; i < 3; i++) bertc_tokenize(t->tok, texts[i], strlen(texts[i]), NULL, 0, NULL, &e[i], NULL);
}

double check_central_differences(tmodel *t, const char *what, const bertc_encoding e[3], const char *const *names,
                                 const int *idx, int np) {
    const int ids[3] = {2, 0, 1};
    tbatch_labels lab = {ids, NULL, NULL, 1, 1};
    return check_central_differences_lab(t, what, e, &lab, names, idx, np);
}

double check_central_differences_lab(tmodel *t, const char *what, const bertc_encoding e[3], const tbatch_labels *labp,
                                     const char *const *names, const int *idx, int np) {
    const tbatch_labels lab = *labp;
    float lg[32];
    double loss = 0, lp, lm;
    const uint64_t key = 0x5eed;
    bertc_error err;
    memset(t->g, 0, t->total * sizeof(float));
    CHECK(tmodel_step(t, e, 3, &lab, true, key, 1.0f, lg, &loss, &err) == BERTC_OK, "%s: step: %s", what, err.message);
    float *g0 = malloc(t->total * sizeof(float));
    CHECK(g0 != NULL, "out of memory");
    if (!g0) return loss;
    memcpy(g0, t->g, t->total * sizeof(float));
    int checked = 0;
    for (int k = 0; k < np; k++) {
        int pi = tmodel_find(t, names[k]);
        CHECK(pi >= 0, "%s: no parameter %s", what, names[k]);
        if (pi < 0) continue;
        size_t o = t->p[pi].off + (size_t)idx[k] % t->p[pi].n;
        const float w0 = t->w[o], eps = 2e-3f;
        t->w[o] = w0 + eps;
        tmodel_pack(t, &err);
        tmodel_step(t, e, 3, &lab, true, key, 1.0f, lg, &lp, &err);
        t->w[o] = w0 - eps;
        tmodel_pack(t, &err);
        tmodel_step(t, e, 3, &lab, true, key, 1.0f, lg, &lm, &err);
        t->w[o] = w0;
        double fd = (lp - lm) / (2.0 * eps), an = g0[o];
        if (getenv("BERTC_TEST_VERBOSE"))
            printf("  %s %s[%d]: backward %.6g, central difference %.6g\n", what, names[k], idx[k], an, fd);
        CHECK(fabs(fd - an) <= 0.03 * fabs(an) + 3e-4 && fabs(an) > 1e-5, "%s: %s[%d]: backward %g, difference %g", what,
              names[k], idx[k], an, fd);
        checked++;
    }
    tmodel_pack(t, &err);
    CHECK(checked == np, "%s: %d of %d", what, checked, np);
    free(g0);
    return loss;
}
