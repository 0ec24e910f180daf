/*
 * test_train.c — the trainer against PyTorch: every parameter's gradient for each architecture and loss type
 * (tests/data/train/grad-*.safetensors, made by tools/make_train_refs.py with torch + transformers), a
 * finite-difference check, AdamW + schedule + clipping over five steps through bertc_train, determinism,
 * resume = uninterrupted, dropout statistics, the saved folder, the error paths, and the one encoder that inference
 * and training share.
 */
#include "test.h"

#include "formats/tensors.h"
#include "kernels/tiers.h"
#include "train/tmodel.h"
#include "bertc_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct refs {
    mapped_file f;
    tensor_set ts;
} refs;

static bool refs_open(refs *r, const char *path) {
    memset(r, 0, sizeof *r);
    bertc_error err;
    if (map_file(path, &r->f, &err)) {
        CHECK(0, "%s: %s", path, err.message);
        return false;
    }
    if (safetensors_parse(&r->ts, r->f.data, r->f.size, path, &err)) {
        CHECK(0, "%s: %s", path, err.message);
        unmap_file(&r->f);
        return false;
    }
    return true;
}

static void refs_close(refs *r) {
    tensor_set_free(&r->ts);
    unmap_file(&r->f);
}

static const tensor_info *ref(const refs *r, const char *name) {
    const tensor_info *t = tensor_set_find(&r->ts, name);
    CHECK(t != NULL, "reference tensor %s missing", name);
    return t;
}

static size_t numel(const tensor_info *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

/* Encodings over the reference's concatenated ids (borrowed pointers). */
static int ref_encodings(const refs *r, bertc_encoding *enc, int cap) {
    const tensor_info *ids = ref(r, "input_ids"), *len = ref(r, "lengths"), *tt = ref(r, "token_type_ids");
    if (!ids || !len || !tt) return 0;
    const int32_t *pi = (const int32_t *)ids->data, *pl = (const int32_t *)len->data, *pt = (const int32_t *)tt->data;
    int n = (int)len->shape[0];
    size_t off = 0;
    for (int i = 0; i < n && i < cap; i++) {
        memset(&enc[i], 0, sizeof enc[i]);
        enc[i].n = (size_t)pl[i];
        enc[i].ids = (int32_t *)pi + off;
        enc[i].type_ids = (int32_t *)pt + off;
        off += (size_t)pl[i];
    }
    return n;
}

/* ||a - b|| <= tol ||b|| (+ a floor for tensors whose true value is zero, like attention key biases) */
static double rel_err(const float *a, const float *b, size_t n, double *norm) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    *norm = sqrt(s);
    return sqrt(d) / (sqrt(s) > 1e-30 ? sqrt(s) : 1e-30);
}

static void grad_case(const char *arch, const char *problem, bool bf16) {
    char path[256], fx[256];
    snprintf(path, sizeof path, TD "train/grad-%s-%s.safetensors", arch, problem);
    snprintf(fx, sizeof fx, TD "tiny-%s", arch);
    refs r;
    if (!refs_open(&r, path)) return;
    bertc_problem pr = !strcmp(problem, "single") ? BERTC_PROBLEM_SINGLE_LABEL
                       : !strcmp(problem, "multi") ? BERTC_PROBLEM_MULTI_LABEL
                                                   : BERTC_PROBLEM_REGRESSION;
    const tensor_info *lg = ref(&r, "logits");
    int L = lg ? (int)lg->shape[1] : 2;
    tmodel_head hd = {pr, L, NULL, 1, true};
    tmodel *m = NULL;
    bertc_error err;
    bertc_status s = tmodel_load(fx, &hd, 2, &m, NULL, &err);
    CHECK(s == BERTC_OK, "%s: %s", fx, err.message);
    if (s) {
        refs_close(&r);
        return;
    }
    m->drop.hidden = m->drop.attention = m->drop.classifier = 0;
    for (int i = 0; i < r.ts.n; i++) {
        const tensor_info *t = &r.ts.t[i];
        if (strncmp(t->name, "init.", 5)) continue;
        int pi = tmodel_find(m, t->name + 5);
        CHECK(pi >= 0 && m->p[pi].n == numel(t), "%s: init tensor %s does not fit", path, t->name);
        if (pi >= 0 && m->p[pi].n == numel(t)) memcpy(m->w + m->p[pi].off, t->data, t->nbytes);
    }
    m->bf16 = bf16; /* bf16 matmul inputs: compared with torch's fp32 gradients at bf16's precision */
    /* DistilBERT's ReLU head: bf16 rounding flips a few near-zero pre-activations of the tiny model, which moves its
     * gradients by up to 32% (with the forward matmuls in fp32 and the backward ones in bf16 it is within 1%, as
     * BERT's and RoBERTa's smooth heads are with everything in bf16) */
    const double tol_loss = bf16 ? 2e-2 : 1e-5, tol_logit = bf16 ? 5e-2 : 1e-4,
                 tol_grad = !bf16 ? 1e-4 : !strcmp(arch, "distilbert") ? 0.35 : !strncmp(arch, "deberta", 7) ? 5e-2 : 3e-2;
    CHECK(tmodel_pack(m, &err) == BERTC_OK, "pack: %s", err.message);
    bertc_encoding enc[8];
    int n = ref_encodings(&r, enc, 8);
    const tensor_info *lab = ref(&r, "labels");
    tbatch_labels tl = {NULL, NULL, NULL, 1, 1};
    if (lab && pr == BERTC_PROBLEM_SINGLE_LABEL) tl.ids = (const int *)lab->data;
    else if (lab) tl.vals = (const float *)lab->data;
    float logits[64];
    double loss = 0;
    s = tmodel_step(m, enc, (size_t)n, &tl, true, 0, 1.0f, logits, &loss, &err);
    CHECK(s == BERTC_OK, "%s: step: %s", path, err.message);
    const tensor_info *rl = ref(&r, "loss");
    if (rl) CHECK(fabs(loss - *(const float *)rl->data) <= tol_loss * fmax(1, fabs(loss)), "%s: loss %.7f, torch %.7f", path, loss,
                  (double)*(const float *)rl->data);
    if (lg) {
        double worst = 0;
        for (size_t i = 0; i < numel(lg); i++) worst = fmax(worst, fabs(logits[i] - ((const float *)lg->data)[i]));
        CHECK(worst <= tol_logit, "%s: logits differ by %g", path, worst);
    }
    /* every parameter's gradient */
    int checked = 0;
    double worst = 0;
    const char *worst_name = "";
    const tensor_info *rows = ref(&r, "grad_rows");
    for (int i = 0; i < m->np; i++) {
        const tparam *p = &m->p[i];
        char gn[200];
        snprintf(gn, sizeof gn, "grad.%s", p->name);
        const tensor_info *t = tensor_set_find(&r.ts, gn);
        CHECK(t != NULL, "%s: no reference gradient for %s", path, p->name);
        if (!t) continue;
        const float *g = m->g + p->off;
        double e, norm;
        if (p->is_embedding_rows && rows) {
            const int32_t *ri = (const int32_t *)rows->data;
            int nr = (int)rows->shape[0], H = (int)p->shape[1];
            float *gathered = malloc((size_t)nr * H * sizeof(float));
            for (int k = 0; k < nr; k++) memcpy(gathered + (size_t)k * H, g + (size_t)ri[k] * H, (size_t)H * sizeof(float));
            e = rel_err(gathered, (const float *)t->data, (size_t)nr * H, &norm);
            free(gathered);
            double other = 0;
            for (size_t k = 0; k < p->n; k++) other += fabs(g[k]);
            double listed = 0;
            for (int k = 0; k < nr; k++)
                for (int h = 0; h < H; h++) listed += fabs(g[(size_t)ri[k] * H + h]);
            CHECK(fabs(other - listed) <= 1e-6 * other, "%s: word-embedding gradient outside the used rows", path);
        } else {
            CHECK(numel(t) == p->n, "%s: %s has %zu elements, reference %zu", path, p->name, p->n, numel(t));
            if (numel(t) != p->n) continue;
            e = rel_err(g, (const float *)t->data, p->n, &norm);
        }
        /* attention key biases: the true gradient is zero (softmax is shift-invariant), compare absolutely */
        if (strstr(p->name, "key.bias") || strstr(p->name, "k_lin.bias") || strstr(p->name, "attn.k.bias")) {
            double mx = 0;
            for (size_t k = 0; k < p->n; k++) mx = fmax(mx, fabs(g[k]));
            CHECK(mx <= (bf16 ? 1e-4 : 1e-5), "%s: %s should be ~0, max %g", path, p->name, mx);
            checked++;
            continue;
        }
        if (e > worst) {
            worst = e;
            worst_name = p->name;
        }
        CHECK(e <= tol_grad, "%s%s: gradient of %s: relative error %.3g (norm %.3g)", path, bf16 ? " (bf16)" : "", p->name, e,
              norm);
        checked++;
    }
    CHECK(checked == m->np, "%s: %d of %d gradients checked", path, checked, m->np);
    if (getenv("BERTC_TEST_VERBOSE"))
        printf("  %s%s: loss %.6f, worst gradient %s %.2e\n", path, bf16 ? " bf16" : "", loss, worst_name, worst);
    tmodel_free(m);
    refs_close(&r);
}

static void test_gradients(void) {
    static const char *const archs[] = {"distilbert", "bert", "roberta"}, *const probs[] = {"single", "multi", "regression"};
    for (int a = 0; a < 3; a++)
        for (int p = 0; p < 3; p++) grad_case(archs[a], probs[p], false);
}

/* MPNet (tiny-mpnet, references by tools/make_tiny_mpnet.py): bert.c's layers under their names plus the relative
 * position bias shared by every layer, whose gradient sums over layers, heads' rows and bucketed offsets; fp32 and
 * bf16 (single-label) */
static void test_gradients_mpnet(void) {
    static const char *const probs[] = {"single", "multi", "regression"};
    for (int p = 0; p < 3; p++) grad_case("mpnet", probs[p], false);
    grad_case("mpnet", "single", true);
}

/* bf16 mixed precision: the same step with every linear's matmuls on bf16 inputs (forward, dx and dW, which
 * exercises the bf16 packings of W, W^T and the activations) lands within bf16's precision of torch's fp32
 * gradients (BERT and RoBERTa: 1.1-2.4% relative, worst parameter); a wrong layout would be off by far more. */
static void test_gradients_bf16(void) {
    static const char *const archs[] = {"distilbert", "bert", "roberta"}, *const probs[] = {"single", "multi", "regression"};
    for (int a = 0; a < 3; a++)
        for (int q = 0; q < 3; q++) grad_case(archs[a], probs[q], true);
}

/* ELECTRA (tiny-electra: embedding_size 8 projected to hidden 32, the GELU classification head): every gradient,
 * embeddings_project's and the LayerNorm over 8 included, against torch's, fp32 and bf16 */
static void test_gradients_electra(void) {
    static const char *const probs[] = {"single", "multi", "regression"};
    for (int p = 0; p < 3; p++) grad_case("electra", probs[p], false);
    grad_case("electra", "single", true);
}

/* DeBERTa-v2 (references by tools/make_deberta_grads.py, torch 2.15 / transformers 5.25): tiny-deberta (q|k|v shared
 * with the relative rows, c2p + p2c over log buckets, encoder.LayerNorm on rel_embeddings) with three losses and bf16,
 * tiny-deberta-nob (its own pos_query_proj per layer, p2c only, no buckets): every gradient, the relative rows' and
 * their LayerNorm's included (bf16: within 5%; the worst is encoder.LayerNorm.weight at 3.3%, a sum over every layer's
 * position terms) */
static void test_gradients_deberta(void) {
    static const char *const probs[] = {"single", "multi", "regression"};
    for (int p = 0; p < 3; p++) grad_case("deberta", probs[p], false);
    grad_case("deberta-nob", "single", false);
    grad_case("deberta", "single", true);
}

/* ModernBERT (references by tools/make_modernbert_grads.py, torch 2.15 / transformers 5.25): tiny-modernbert (every
 * bias, [CLS] pooling, a local layer whose window of 4 tokens each side is shorter than every sequence) with three
 * losses and bf16, tiny-modernbert-mean (no biases, mean pooling): every gradient, rotary q / k, GeGLU's Wi, the
 * norms and the pooling head's included */
static void test_gradients_modernbert(void) {
    static const char *const probs[] = {"single", "multi", "regression"};
    for (int p = 0; p < 3; p++) grad_case("modernbert", probs[p], false);
    grad_case("modernbert-mean", "single", false);
    grad_case("modernbert", "single", true);
}

/* The same gradients with every bf16 matmul of the step (forward, input-gradient, weight-gradient) on the AMX tier,
 * through the tile model where the CPU has no AMX, and natively where it has. */
static void test_gradients_bf16_amx(void) {
    static const char *const archs[] = {"distilbert", "bert", "roberta"};
    int was = kernels_bf16_tier();
    int tiers[2] = {BF16_AMX_EMULATED, cpu_has_amx() ? BF16_AMX : -1};
    for (int t = 0; t < 2; t++) {
        if (tiers[t] < 0) {
            printf("  skipped the native AMX tier: %s\n", getenv("BERTC_NO_AMX") ? "BERTC_NO_AMX is set" : "this CPU has no AMX");
            continue;
        }
        kernels_force_tiers(tiers[t], -1);
        CHECK(kernels_bf16_tier() == tiers[t], "tier %s not taken", bf16_tier_name(tiers[t]));
        for (int a = 0; a < 3; a++) grad_case(archs[a], "single", true);
    }
    kernels_force_tiers(was, -1);
}

/* Central differences in double over a handful of parameters of the tiny BERT (dropout off). */
static void test_finite_differences(void) {
    tmodel_head hd = {BERTC_PROBLEM_SINGLE_LABEL, 2, NULL, 1, false};
    tmodel *m = NULL;
    bertc_error err;
    if (tmodel_load(TD "tiny-bert", &hd, 1, &m, NULL, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    m->drop.hidden = m->drop.attention = m->drop.classifier = 0;
    bertc_encoding enc[2];
    bertc_encode_params ep = bertc_encode_default_params();
    CHECK(bertc_tokenize(m->tok, "a gorgeous , witty movie", 24, NULL, 0, &ep, &enc[0], &err) == BERTC_OK, "tok");
    CHECK(bertc_tokenize(m->tok, "bleak", 5, "and desperate", 13, &ep, &enc[1], &err) == BERTC_OK, "tok");
    int ids[2] = {1, 0};
    tbatch_labels tl = {ids, NULL, NULL, 1, 1};
    float lg[4];
    double loss;
    memset(m->g, 0, m->total * sizeof(float));
    tmodel_step(m, enc, 2, &tl, true, 0, 1.0f, lg, &loss, &err);
    float *g0 = malloc(m->total * sizeof(float));
    memcpy(g0, m->g, m->total * sizeof(float));
    static const char *const names[] = {"bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.1.output.dense.weight",
                                        "bert.embeddings.LayerNorm.weight", "bert.pooler.dense.bias", "classifier.weight",
                                        "bert.encoder.layer.0.intermediate.dense.bias", "bert.embeddings.position_embeddings.weight",
                                        "bert.embeddings.token_type_embeddings.weight"};
    int bad = 0, tried = 0;
    for (size_t q = 0; q < sizeof names / sizeof names[0]; q++) {
        int pi = tmodel_find(m, names[q]);
        CHECK(pi >= 0, "no %s", names[q]);
        if (pi < 0) continue;
        for (int k = 0; k < 3; k++) {
            size_t idx = m->p[pi].off + (size_t)((k * 7919 + 13) % (int)(m->p[pi].n < 64 ? m->p[pi].n : 64));
            float w0 = m->w[idx];
            double h = fmax(1e-3, 1e-2 * fabs(w0)), lp, lm;
            m->w[idx] = (float)(w0 + h);
            tmodel_pack(m, &err);
            tmodel_step(m, enc, 2, &tl, false, 0, 1.0f, lg, &lp, &err);
            m->w[idx] = (float)(w0 - h);
            tmodel_pack(m, &err);
            tmodel_step(m, enc, 2, &tl, false, 0, 1.0f, lg, &lm, &err);
            m->w[idx] = w0;
            double hh = ((double)(float)(w0 + h) - (double)(float)(w0 - h)) / 2;
            double fd = (lp - lm) / (2 * hh), an = g0[idx];
            tried++;
            if (fabs(fd - an) > 2e-2 * fmax(fabs(an), 1e-2)) {
                bad++;
                printf("  fd %s[%zu]: analytic %.6g, finite difference %.6g\n", names[q], idx - m->p[pi].off, an, fd);
            }
        }
    }
    CHECK(bad == 0, "%d of %d finite-difference checks off", bad, tried);
    tmodel_pack(m, &err);
    free(g0);
    bertc_encoding_free(&enc[0]);
    bertc_encoding_free(&enc[1]);
    tmodel_free(m);
}

/* One encoder: the trainer's tmodel holds the inference encoder (model_forward, bert.c) over its flat parameters.
 * Without its training state it gives what bertc_model_load's encoder gives, bit for bit; with it (dropout off) the
 * training variants of the ops give the same function to float rounding. */
static void test_one_encoder(void) {
    static const char *const dirs[] = {TD "tiny-distilbert", TD "tiny-bert", TD "tiny-roberta"};
    for (int a = 0; a < 3; a++) {
        bertc_error err;
        bertc_model *inf = NULL;
        tmodel *m = NULL;
        if (bertc_model_load(dirs[a], NULL, &inf, &err) || tmodel_load(dirs[a], NULL, 1, &m, NULL, &err)) {
            CHECK(0, "%s: %s", dirs[a], err.message);
            bertc_model_free(inf);
            return;
        }
        CHECK(m->n_fresh == 0 && inf->has_head, "%s: the checkpoint's head", dirs[a]);
        bertc_encoding enc[2];
        bertc_encode_params ep = bertc_encode_default_params();
        CHECK(bertc_tokenize(m->tok, "a gorgeous , witty movie", 24, NULL, 0, &ep, &enc[0], &err) == BERTC_OK, "tok");
        CHECK(bertc_tokenize(m->tok, "bleak", 5, "and desperate", 13, &ep, &enc[1], &err) == BERTC_OK, "tok");
        size_t M = enc[0].n + enc[1].n, HM = M * (size_t)m->cfg.hidden;
        float *h0 = malloc(HM * sizeof(float)), *h1 = malloc(HM * sizeof(float)), *h2 = malloc(HM * sizeof(float));
        size_t NL = 2 * (size_t)m->cfg.n_labels;
        float *l0 = malloc(NL * sizeof(float)), *l1 = malloc(NL * sizeof(float)), *l2 = malloc(NL * sizeof(float));
        CHECK(model_forward(inf, enc, 2, h0, NULL, NULL, &err) == BERTC_OK, "%s", err.message);
        CHECK(model_forward(inf, enc, 2, NULL, NULL, l0, &err) == BERTC_OK, "%s", err.message);
        m->enc.train = NULL; /* inference on the trainer's weights */
        CHECK(model_forward(&m->enc, enc, 2, h1, NULL, NULL, &err) == BERTC_OK, "%s", err.message);
        CHECK(model_forward(&m->enc, enc, 2, NULL, NULL, l1, &err) == BERTC_OK, "%s", err.message);
        CHECK(!memcmp(h0, h1, HM * sizeof(float)) && !memcmp(l0, l1, NL * sizeof(float)),
              "%s: the trainer's encoder without training state differs from the loaded model", dirs[a]);
        m->enc.train = &m->tr; /* the training variants, dropout off */
        m->tr.dropout = false;
        m->tr.drop = m->drop;
        CHECK(model_forward(&m->enc, enc, 2, h2, NULL, l2, &err) == BERTC_OK, "%s", err.message);
        double dmax = 0;
        for (size_t i = 0; i < HM; i++) dmax = fmax(dmax, fabs((double)h2[i] - h0[i]));
        for (size_t i = 0; i < NL; i++) dmax = fmax(dmax, fabs((double)l2[i] - l0[i]));
        CHECK(dmax < 1e-4, "%s: training variants off by %g", dirs[a], dmax);
        free(h0);
        free(h1);
        free(h2);
        free(l0);
        free(l1);
        free(l2);
        bertc_encoding_free(&enc[0]);
        bertc_encoding_free(&enc[1]);
        tmodel_free(m);
        bertc_model_free(inf);
    }
}

/* ---- through bertc_train ---- */

static char tmpdir[256];

/* A shell command's exit code and stdout. */
static int run(const char *cmd, char *out, size_t cap) { return run_cli(cmd, out, cap); }

static void write_text(const char *path, const char *txt) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(txt, f);
    fclose(f);
}

/* A copy of a fixture with its dropout set to p (config.json rewritten). */
static void fixture_copy(const char *src, const char *dst, double p) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rL %s %s", dst, src, dst);
    CHECK(system(cmd) == 0, "%s", cmd);
    char path[512], *txt = NULL;
    snprintf(path, sizeof path, "%s/config.json", dst);
    bertc_error err;
    if (read_file(path, &txt, NULL, &err)) return;
    static const char *const keys[] = {"\"dropout\"", "\"attention_dropout\"", "\"seq_classif_dropout\"",
                                       "\"hidden_dropout_prob\"", "\"attention_probs_dropout_prob\""};
    FILE *f = fopen(path, "w");
    for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        bool hit = false;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (strstr(line, keys[k])) {
                fprintf(f, "  %s: %g,\n", keys[k], p);
                hit = true;
            }
        if (!hit) fprintf(f, "%s\n", line);
    }
    fclose(f);
    free(txt);
}

/* The header and rows skip+1 .. skip+n of src. */
static void rows_from(const char *src, const char *dst, int skip, int n) {
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    char line[4096];
    for (int i = 0; i <= skip + n && fgets(line, sizeof line, in); i++)
        if (i == 0 || i > skip) fputs(line, out);
    fclose(in);
    fclose(out);
}

static void first_rows(const char *src, const char *dst, int n) { rows_from(src, dst, 0, n); }

typedef struct collected {
    int logs, evals, saves, warnings;
    double loss[64], lr[64], gn[64];
    char last_warning[1024];
} collected;

static void collect(const bertc_train_event *e, void *ctx) {
    collected *c = ctx;
    if (e->kind == BERTC_TRAIN_LOG && c->logs < 64) {
        c->loss[c->logs] = e->loss;
        c->lr[c->logs] = e->learning_rate;
        c->gn[c->logs] = e->grad_norm;
        c->logs++;
    }
    if (e->kind == BERTC_TRAIN_EVAL) c->evals++;
    if (e->kind == BERTC_TRAIN_SAVE) c->saves++;
    if (e->kind == BERTC_TRAIN_WARNING) {
        c->warnings++;
        snprintf(c->last_warning, sizeof c->last_warning, "%s", e->message);
    }
}

/* out_name: the run's folder under tmpdir (test_saved_folder reads tiny-distilbert's, "adamw") */
static void adamw_case(const char *fixture, const char *refpath, int min_tensors, const char *out_name) {
    char fx[300], data[300], out[300];
    snprintf(fx, sizeof fx, "%s/fx", tmpdir);
    snprintf(data, sizeof data, "%s/train8.tsv", tmpdir);
    snprintf(out, sizeof out, "%s/%s", tmpdir, out_name);
    fixture_copy(fixture, fx, 0);
    first_rows(TD "sst2-dev.tsv", data, 8);
    bertc_train_params p = bertc_train_default_params();
    collected c;
    memset(&c, 0, sizeof c);
    p.model = fx;
    p.train = data;
    p.output_dir = out;
    p.learning_rate = 5e-4;
    p.batch_size = 3;
    p.warmup_steps = 2;
    p.max_steps = 5;
    p.weight_decay = 0.01;
    p.max_grad_norm = 0.05;
    p.shuffle = 0;
    p.logging_steps = 1;
    p.train_sample = 0;
    p.n_threads = 2;
    p.overwrite_output_dir = 1;
    p.callback = collect;
    p.callback_ctx = &c;
    bertc_error err;
    bertc_status s = bertc_train(&p, &err);
    CHECK(s == BERTC_OK, "train: %s", err.message);
    if (s) return;
    refs r;
    if (!refs_open(&r, refpath)) return;
    const float *sl = (const float *)ref(&r, "step_loss")->data, *sg = (const float *)ref(&r, "step_grad_norm")->data,
                *slr = (const float *)ref(&r, "step_lr")->data;
    CHECK(c.logs == 5, "%d log entries, want 5", c.logs);
    for (int k = 0; k < 5 && k < c.logs; k++) {
        CHECK(fabs(c.loss[k] - sl[k]) <= 1e-4, "step %d: loss %.5f, torch %.5f", k + 1, c.loss[k], (double)sl[k]);
        CHECK(fabs(c.gn[k] - sg[k]) <= 1e-4 * sg[k], "step %d: grad norm %.6f, torch %.6f", k + 1, c.gn[k], (double)sg[k]);
        double want_lr = k + 1 < 5 ? slr[k + 1] : 0.0; /* logged after the scheduler's step */
        CHECK(fabs(c.lr[k] - want_lr) <= 1e-9, "step %d: logged lr %g, want %g", k + 1, c.lr[k], want_lr);
    }
    /* the saved weights */
    char mp[400];
    snprintf(mp, sizeof mp, "%s/model.safetensors", out);
    refs w;
    if (refs_open(&w, mp)) {
        int n_checked = 0;
        double worst = 0;
        const tensor_info *rows = ref(&r, "final_rows");
        for (int i = 0; i < r.ts.n; i++) {
            const tensor_info *t = &r.ts.t[i];
            if (strncmp(t->name, "final.", 6) || !strcmp(t->name, "final.untouched")) continue;
            const tensor_info *got = tensor_set_find(&w.ts, t->name + 6);
            CHECK(got != NULL, "saved model lacks %s", t->name + 6);
            if (!got) continue;
            const float *gv = (const float *)got->data, *rv = (const float *)t->data;
            size_t n = numel(t);
            if ((strstr(t->name, "word_embeddings") || strstr(t->name, "tok_embeddings")) && rows) {
                int H = (int)got->shape[1];
                const int32_t *ri = (const int32_t *)rows->data;
                for (int k = 0; k < (int)rows->shape[0]; k++)
                    for (int h = 0; h < H; h++)
                        worst = fmax(worst, fabs(gv[(size_t)ri[k] * H + h] - rv[(size_t)k * H + h]));
                int ur = *(const int32_t *)ref(&r, "final_untouched_row")->data;
                const float *fu = (const float *)ref(&r, "final.untouched")->data;
                for (int h = 0; h < H; h++) worst = fmax(worst, fabs(gv[(size_t)ur * H + h] - fu[h]));
            } else {
                CHECK(numel(got) == n, "%s: shape", t->name);
                if (numel(got) != n) continue;
                /* attention key biases aside: their true gradient is zero and Adam turns rounding noise into steps */
                if (strstr(t->name, "k_lin.bias")) continue;
                for (size_t k = 0; k < n; k++) worst = fmax(worst, fabs(gv[k] - rv[k]));
            }
            n_checked++;
        }
        CHECK(worst <= 1e-4, "weights after 5 AdamW steps differ from torch's by %g", worst);
        CHECK(n_checked >= min_tensors, "only %d tensors compared", n_checked);
        refs_close(&w);
    }
    refs_close(&r);
}

static void test_adamw_steps(void) { adamw_case(TD "tiny-distilbert", TD "train/adamw-distilbert.safetensors", 30, "adamw"); }

/* the same five steps on tiny-modernbert-mean (tools/make_modernbert_grads.py, torch 2.15 / transformers 5.25):
 * Trainer's decay group leaves its norms out by their LayerNorm class, bertc by their shape */
static void test_adamw_steps_modernbert(void) {
    adamw_case(TD "tiny-modernbert-mean", TD "train/adamw-modernbert.safetensors", 22, "adamw-modernbert");
}

/* Counter-based dropout: the keep rate and scale of torch's nn.Dropout, independent streams per site and key. */
static void test_dropout_statistics(void) {
    const float p = 0.1f, sc = 1.0f / 0.9f;
    const size_t n = 1000000;
    uint64_t k1 = site_key(7, 16), k2 = site_key(7, 17), k3 = site_key(8, 16);
    size_t kept = 0, both = 0, same_other_key = 0;
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        float a = drop_factor(k1, i, p, sc), b = drop_factor(k2, i, p, sc), c = drop_factor(k3, i, p, sc);
        kept += a != 0;
        both += a != 0 && b != 0;
        same_other_key += (a != 0) == (c != 0);
        mean += a;
        CHECK(a == 0 || a == sc, "factor %g", a);
    }
    double rate = (double)kept / n;
    CHECK(fabs(rate - 0.9) < 0.002, "keep rate %.4f, want 0.9", rate);
    CHECK(fabs(mean / n - 1.0) < 0.003, "E[factor] %.4f, want 1 (inverted dropout)", mean / n);
    CHECK(fabs((double)both / n - 0.81) < 0.003, "two sites kept together %.4f, want 0.81 (independent)", (double)both / n);
    CHECK(fabs((double)same_other_key / n - 0.82) < 0.003, "two keys agree %.4f, want 0.82", (double)same_other_key / n);
    /* in the model: same key, same logits; another key, other logits; evaluation ignores the key */
    tmodel_head hd = {BERTC_PROBLEM_SINGLE_LABEL, 2, NULL, 1, false};
    tmodel *m = NULL;
    bertc_error err;
    if (tmodel_load(TD "tiny-distilbert", &hd, 2, &m, NULL, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    bertc_encoding e;
    bertc_encode_params ep = bertc_encode_default_params();
    bertc_tokenize(m->tok, "a charming and often affecting journey", 38, NULL, 0, &ep, &e, &err);
    int id = 1;
    tbatch_labels tl = {&id, NULL, NULL, 1, 1};
    float a[2], b[2], c[2], d[2], z[2];
    double l;
    tmodel_step(m, &e, 1, &tl, true, 11, 0.0f, a, &l, &err);
    tmodel_step(m, &e, 1, &tl, true, 11, 0.0f, b, &l, &err);
    tmodel_step(m, &e, 1, &tl, true, 12, 0.0f, c, &l, &err);
    tmodel_step(m, &e, 1, &tl, false, 11, 0.0f, d, &l, &err);
    tmodel_step(m, &e, 1, &tl, false, 12, 0.0f, z, &l, &err);
    CHECK(!memcmp(a, b, sizeof a), "same key, other logits");
    CHECK(memcmp(a, c, sizeof a) != 0, "another key, the same logits: dropout is not applied");
    CHECK(!memcmp(d, z, sizeof d) && memcmp(a, d, sizeof a) != 0, "evaluation must not depend on the key");
    bertc_encoding_free(&e);
    tmodel_free(m);
}

static bertc_train_params small_run(const char *model, const char *train, const char *out, collected *c) {
    bertc_train_params p = bertc_train_default_params();
    memset(c, 0, sizeof *c);
    p.model = model;
    p.train = train;
    p.output_dir = out;
    p.learning_rate = 1e-3;
    p.batch_size = 8;
    p.warmup_steps = 3;
    p.epochs = 2;
    p.logging_steps = 2;
    p.train_sample = 0;
    p.n_threads = 2;
    p.overwrite_output_dir = 1;
    p.callback = collect;
    p.callback_ctx = c;
    return p;
}

static bool same_file(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t lx = 0, ly = 0;
    bertc_error err;
    bool ok = !read_file(a, &x, &lx, &err) && !read_file(b, &y, &ly, &err) && lx == ly && !memcmp(x, y, lx);
    free(x);
    free(y);
    return ok;
}

static volatile int stop_at_flag;
static long stop_at_step;
static void stop_at(const bertc_train_event *e, void *ctx) {
    collect(e, ctx);
    if (e->kind == BERTC_TRAIN_PROGRESS && e->step == stop_at_step) stop_at_flag = 1;
}

/* Same seed and data: the same bits, whatever the thread count; an interrupted run resumed from its checkpoint ends
 * with the weights and log of the uninterrupted one. Dropout is on (the fixture's config). */
static void test_determinism_and_resume(void) {
    char data[300], a[300], b[300], r[300], pa[400], pb[400], pr[400];
    snprintf(data, sizeof data, "%s/train40.tsv", tmpdir);
    first_rows(TD "sst2-dev.tsv", data, 40);
    snprintf(a, sizeof a, "%s/det-a", tmpdir);
    snprintf(b, sizeof b, "%s/det-b", tmpdir);
    snprintf(r, sizeof r, "%s/det-r", tmpdir);
    collected c;
    bertc_error err;
    bertc_train_params p = small_run(TD "tiny-roberta", data, a, &c);
    p.problem = BERTC_PROBLEM_SINGLE_LABEL;
    p.labels = "NEG,POS,OTHER"; /* the fixture's 3-output head kept, with these names */
    CHECK(bertc_train(&p, &err) == BERTC_OK, "run a: %s", err.message);
    p = small_run(TD "tiny-roberta", data, b, &c);
    p.problem = BERTC_PROBLEM_SINGLE_LABEL;
    p.labels = "NEG,POS,OTHER";
    p.n_threads = 1;
    CHECK(bertc_train(&p, &err) == BERTC_OK, "run b: %s", err.message);
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    CHECK(same_file(pa, pb), "2 threads and 1 thread give other weights");
    /* interrupted at step 4 of 10, then resumed */
    p = small_run(TD "tiny-roberta", data, r, &c);
    p.problem = BERTC_PROBLEM_SINGLE_LABEL;
    p.labels = "NEG,POS,OTHER";
    stop_at_step = 4;
    stop_at_flag = 0;
    p.stop = &stop_at_flag;
    p.callback = stop_at;
    bertc_status s = bertc_train(&p, &err);
    CHECK(s == BERTC_ERR_INTERRUPTED && strstr(err.message, "checkpoint-4"), "interrupt: %d %s", s, err.message);
    char ck[400];
    snprintf(ck, sizeof ck, "%s/checkpoint-4/optimizer.safetensors", r);
    CHECK(file_exists(ck), "no %s", ck);
    snprintf(pr, sizeof pr, "%s/model.safetensors", r);
    CHECK(!file_exists(pr), "an interrupted run must not write the final model");
    p = small_run(TD "tiny-roberta", data, r, &c);
    p.problem = BERTC_PROBLEM_SINGLE_LABEL;
    p.labels = "NEG,POS,OTHER";
    p.resume_from_checkpoint = "latest";
    p.overwrite_output_dir = 0;
    p.save_total_limit = 1; /* the checkpoint resumed from is removed on the way: the tokenizer must survive it */
    s = bertc_train(&p, &err);
    CHECK(s == BERTC_OK, "resume: %s", err.message);
    CHECK(same_file(pa, pr), "resumed run ends with other weights than the uninterrupted one");
    snprintf(ck, sizeof ck, "%s/checkpoint-4", r);
    CHECK(!file_exists(ck), "--save-total-limit 1 kept %s", ck);
    bertc_model *fm = NULL;
    CHECK(bertc_model_load(r, NULL, &fm, &err) == BERTC_OK, "the resumed run's folder does not load: %s", err.message);
    bertc_model_free(fm);
    /* the logged losses agree too */
    char sa[400], sr[400], *ta = NULL, *tr = NULL;
    snprintf(sa, sizeof sa, "%s/trainer_state.json", a);
    snprintf(sr, sizeof sr, "%s/trainer_state.json", r);
    if (!read_file(sa, &ta, NULL, &err) && !read_file(sr, &tr, NULL, &err)) {
        const char *x = strstr(ta, "\"loss\""), *y = strstr(tr, "\"loss\"");
        int nx = 0;
        while (x && y) {
            CHECK(!strncmp(x, y, 24), "log entries differ: %.24s vs %.24s", x, y);
            nx++;
            x = strstr(x + 1, "\"loss\"");
            y = strstr(y + 1, "\"loss\"");
        }
        CHECK(nx == 5 && !x && !y, "%d loss entries compared", nx);
    }
    free(ta);
    free(tr);
}

/* The folder bertc writes is what save_pretrained writes: transformers loads it (tools/check_saved.py made
 * tests/data/train/saved-logits.jsonl from the folder of the AdamW run), and bertc classify agrees with it. */
static void test_saved_folder(void) {
    char out[300], cfg[400], *txt = NULL;
    snprintf(out, sizeof out, "%s/adamw", tmpdir);
    snprintf(cfg, sizeof cfg, "%s/config.json", out);
    bertc_error err;
    if (read_file(cfg, &txt, NULL, &err)) {
        CHECK(0, "%s: %s", cfg, err.message);
        return;
    }
    CHECK(strstr(txt, "\"DistilBertForSequenceClassification\"") && strstr(txt, "\"id2label\"") &&
              strstr(txt, "\"label2id\"") && strstr(txt, "\"problem_type\": \"single_label_classification\""),
          "config.json: %.300s", txt);
    free(txt);
    char *ref_txt = NULL;
    if (read_file(TD "train/saved-logits.jsonl", &ref_txt, NULL, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    int compared = 0;
    for (char *line = strtok(ref_txt, "\n"); line; line = strtok(NULL, "\n")) {
        char *t = strstr(line, "\"text\": \""), *lg = strstr(line, "\"logits\": [");
        if (!t || !lg) continue;
        t += 9;
        char *te = strchr(t, '"');
        double r0, r1;
        if (!te || sscanf(lg + 11, "%lf, %lf", &r0, &r1) != 2) continue;
        *te = 0;
        char cmd[1024], o[4096];
        snprintf(cmd, sizeof cmd, "@ classify --model %s --logits '%s'", out, t);
        int rc = run_cli(cmd, o, sizeof o);
        char *l = strstr(o, "\"logits\": [");
        double g0 = 0, g1 = 0;
        CHECK(rc == 0 && l && sscanf(l + 11, "%lf, %lf", &g0, &g1) == 2, "classify: rc %d %s", rc, o);
        CHECK(fabs(g0 - r0) <= 1e-4 && fabs(g1 - r1) <= 1e-4, "'%s': bertc [%g, %g], transformers [%g, %g]", t, g0, g1, r0, r1);
        compared++;
    }
    CHECK(compared >= 3, "only %d texts compared", compared);
    free(ref_txt);
}

/* The guard rails a newcomer needs: a warm-up longer than the run, validation rows that are training rows (all: refused;
 * some: warned), and the closing line naming the checkpoint that became the output, its metric, the ties, the disk. */
static void test_guard_rails(void) {
    char dir[300], f[500], val[500], out[400], cmd[4096];
    static char o[1 << 16];
    snprintf(dir, sizeof dir, "%s/guard", tmpdir);
    mkdir(dir, 0755);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(f, sizeof f, "%s/t.tsv", dir);
    write_text(f, "sentence\tlabel\na great film\t1\nawful , just awful\t0\nloved it\t1\nboring\t0\nfine work\t1\nbad\t0\n");
    /* the card's recipe on a tiny set: warm-up 600 of 2 steps */
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s --max-steps 2 --batch-size 4 "
             "--learning-rate 1e-4 --warmup-steps 600 2>&1 >/dev/null", f, out);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0 && strstr(o, "the warm-up (600 steps) is not shorter than the training (2 steps): the learning rate "
                               "peaks at 3.33e-07, 0% of the 0.0001 asked for") && strstr(o, "--warmup-ratio"),
          "warm-up warning: rc %d %s", rc, o);
    CHECK(strstr(o, "output = checkpoint-2 (the last step: no validation chose one); ") && strstr(o, " MB\n"),
          "closing line without validation: %s", o);
    /* validation = train: refused */
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --validation %s --output %s --max-steps 1 "
             "--overwrite-output-dir 2>&1", f, f, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 4 && strstr(o, "every validation row is also a training row (6 exactly, 0 after normalizing"),
          "validation = train: rc %d %s", rc, o);
    /* two of three validation rows are training rows, one after normalization: warned; the ties kept the earliest */
    snprintf(val, sizeof val, "%s/v.tsv", dir);
    write_text(val, "sentence\tlabel\na great film\t1\nAwful, just awful!\t0\nnot my kind of film\t0\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --validation %s --output %s --max-steps 3 "
             "--batch-size 2 --eval-steps 1 --save-steps 1 --learning-rate 1e-9 --overwrite-output-dir 2>&1 >/dev/null",
             f, val, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0 && strstr(o, "2 of 3 validation rows are also training rows (1 exactly, 1 after normalizing case, "
                               "punctuation and spaces): validation figures are optimistic"),
          "partial overlap: rc %d %s", rc, o);
    CHECK(strstr(o, "output = checkpoint-1 (best eval_loss "), "closing line names the best checkpoint: %s", o);
    CHECK(strstr(o, "at step 1; 2 later evaluations tied it, the earliest is kept); ") && strstr(o, " MB\n"),
          "ties said: %s", o);
    /* by default the best and the last checkpoints are kept (3 saved) */
    snprintf(cmd, sizeof cmd, "cd %s && ls -d checkpoint-*", out);
    CHECK(run(cmd, o, sizeof o) == 0 && !strcmp(o, "checkpoint-1\ncheckpoint-3\n"), "kept: %s", o);
    /* --model embedded trains from the built-in model, offline: written once under the cache as a folder */
    snprintf(cmd, sizeof cmd, "XDG_CACHE_HOME=%s/xdg @ train --model embedded --train %s --output %s --max-steps 1 "
             "--batch-size 4 --overwrite-output-dir --quiet 2>&1 && ls %s/xdg/bertc/embedded/minilm-sst2 && "
             "@ classify --model %s 'a great film' && @ classify --model embedded 'a great film'", dir, f, out, dir, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0 && strstr(o, "config.json\nmodel.safetensors\ntokenizer.json\ntokenizer_config.json\n") &&
              strstr(o, "{\"label\": \"POSITIVE\""),
          "--model embedded: rc %d %s", rc, o);
}

/* The output's weights in the source's dtype (issue 27: a 45 MB fp16 model trained into a 45 MB one, as
 * transformers 5's from_pretrained keeps an fp16 checkpoint fp16 and save_pretrained writes it so): each tensor of
 * the output is the chosen checkpoint's fp32 value rounded to fp16, nearest even; checkpoints stay fp32 for resuming
 * and name float16 in config.json, so a resumed run saves fp16 too; an fp32 source gives an fp32 output. */
static void test_saved_dtype(void) {
    char dir[300], f[500], out[400], cmd[4096], a[600];
    static char o[1 << 16];
    snprintf(dir, sizeof dir, "%s/dtype", tmpdir);
    mkdir(dir, 0755);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(f, sizeof f, "%s/t.tsv", dir);
    write_text(f, "sentence\tlabel\na great film\t1\nawful , just awful\t0\nloved it\t1\nboring\t0\n");
    for (int resume = 0; resume < 2; resume++) {
        if (resume)
            snprintf(cmd, sizeof cmd, "rm -rf %s/checkpoint-4 %s/model.safetensors && @ train --model " TD
                     "tiny-distilbert-fp16 --train %s --output %s --max-steps 4 --batch-size 2 --save-steps 2 --quiet "
                     "--resume-from-checkpoint latest 2>&1", out, out, f, out);
        else
            snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert-fp16 --train %s --output %s --max-steps 4 "
                     "--batch-size 2 --save-steps 2 --quiet 2>&1", f, out);
        int rc = run_cli(cmd, o, sizeof o);
        CHECK(rc == 0, "train from fp16 (resume %d): rc %d %s", resume, rc, o);
        snprintf(a, sizeof a, "%s/checkpoint-4", out);
        tensor_set ck = {0}, fin = {0};
        bertc_error err;
        CHECK(!tensors_load_dir(&ck, a, &err) && !tensors_load_dir(&fin, out, &err), "load: %s", err.message);
        int n16 = 0, bad = 0;
        for (int i = 0; i < fin.n; i++) {
            const tensor_info *x = &fin.t[i], *y = tensor_set_find(&ck, x->name);
            if (!y || x->dtype != DT_F16 || y->dtype != DT_F32 || x->nbytes * 2 != y->nbytes) {
                bad++;
                continue;
            }
            n16++;
            for (size_t k = 0; k < x->nbytes / 2; k++) {
                float v;
                uint16_t h;
                memcpy(&v, y->data + 4 * k, 4);
                memcpy(&h, x->data + 2 * k, 2);
                if (float_to_half(v, WEIGHT_F16) != h) {
                    bad++;
                    break;
                }
            }
        }
        CHECK(n16 > 10 && bad == 0 && n16 == ck.n, "fp16 output = the checkpoint rounded (resume %d): %d tensors, %d bad",
              resume, n16, bad);
        tensor_set_free(&ck);
        tensor_set_free(&fin);
        snprintf(cmd, sizeof cmd, "grep -h '\"dtype\"' %s/config.json %s/config.json", out, a);
        CHECK(run_cli(cmd, o, sizeof o) == 0 && !strcmp(o, "  \"dtype\": \"float16\",\n  \"dtype\": \"float16\",\n"),
              "config dtype: %s", o);
    }
    /* an fp32 source: fp32 output, the checkpoint's file as is */
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s --max-steps 2 --batch-size 2 "
             "--overwrite-output-dir --quiet 2>&1 && cmp %s/model.safetensors %s/checkpoint-2/model.safetensors && "
             "grep -h 'dtype' %s/config.json", f, out, out, out, out);
    CHECK(run_cli(cmd, o, sizeof o) == 0 && strstr(o, "\"float32\""), "fp32 source: %s", o);
}

static void test_errors(void) {
    char dir[300], f[500], out[400], o[4096], cmd[2048];
    snprintf(dir, sizeof dir, "%s/err", tmpdir);
    mkdir(dir, 0755);
    snprintf(out, sizeof out, "%s/out", dir);
    /* empty training set */
    snprintf(f, sizeof f, "%s/empty.tsv", dir);
    write_text(f, "sentence\tlabel\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s --quiet 2>&1", f, out);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 4 && strstr(o, "empty"), "empty train: rc %d %s", rc, o);
    /* one class only (a base model: the labels come from the data) */
    snprintf(f, sizeof f, "%s/one.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\tpos\nfine\tpos\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --labels neg,pos --train %s --output %s --quiet 2>&1", f, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 4 && strstr(o, "two"), "one class: rc %d %s", rc, o);
    /* a label the kept head does not know */
    snprintf(f, sizeof f, "%s/unknown.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\tPOSITIVE\nbad\tNEUTRAL\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s --quiet 2>&1", f, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 4 && strstr(o, "NEUTRAL") && strstr(o, "id2label") && strstr(o, ":3:"), "unknown label: rc %d %s", rc, o);
    /* a head of the wrong size */
    snprintf(f, sizeof f, "%s/three.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\ta\nbad\tb\nmeh\tc\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --labels a,b,c --train %s --output %s --quiet 2>&1", f, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 4 && strstr(o, "2 outputs") && strstr(o, "3 labels"), "head size: rc %d %s", rc, o);
    /* regression with --labels on a checkpoint whose head has another size: the same error (it once read past the
     * one label name given and crashed) */
    snprintf(f, sizeof f, "%s/reg.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\t0.9\nbad\t0.1\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-roberta --problem-type regression --labels score --train %s "
             "--output %s --max-steps 1 --quiet 2>&1", f, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 4 && strstr(o, "3 outputs") && strstr(o, "1 labels"), "regression head size: rc %d %s", rc, o);
    /* validation labels train never has: a warning, training goes on */
    char val[400];
    snprintf(f, sizeof f, "%s/t.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\t1\nbad\t1\nok\t1\nfine\t0\n");
    snprintf(val, sizeof val, "%s/v.tsv", dir);
    write_text(val, "sentence\tlabel\ngreat\t1\nawful\t0\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --validation %s --output %s --max-steps 1 2>&1 >/dev/null", f, val, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0, "small run: rc %d %s", rc, o);
    /* the output folder now exists: refused without --overwrite-output-dir */
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s --max-steps 1 --quiet 2>&1", f, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 2 && strstr(o, "--overwrite-output-dir"), "existing output: rc %d %s", rc, o);
    snprintf(f, sizeof f, "%s/t2.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\tA\nbad\tB\n");
    snprintf(val, sizeof val, "%s/v2.tsv", dir);
    write_text(val, "sentence\tlabel\ngreat\tA\nawful\tC\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-roberta --problem-type single_label_classification --labels A,B,C "
             "--train %s --validation %s --output %s --max-steps 1 --overwrite-output-dir 2>&1 >/dev/null", f, val, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0 && strstr(o, "label C appears in validation but never in the training data"), "unseen label: rc %d %s", rc, o);
    /* a non-finite loss: stopped, the step named, no final model written over a good one */
    char d2[400];
    snprintf(d2, sizeof d2, "%s/div", dir);
    snprintf(f, sizeof f, "%s/t3.tsv", dir);
    write_text(f, "sentence\tlabel\ngood\t1\nbad\t0\nok\t1\nfine\t0\n");
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s --learning-rate 1e30 --warmup-steps 0 "
             "--max-grad-norm 0 --batch-size 2 --epochs 5 --quiet 2>&1", f, d2);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 6 && strstr(o, "at step"), "divergence: rc %d %s", rc, o);
    snprintf(f, sizeof f, "%s/model.safetensors", d2);
    CHECK(!file_exists(f), "a diverged run wrote %s", f);
    /* usage */
    rc = run_cli("@ train --model x 2>&1", o, sizeof o);
    CHECK(rc == 2 && strstr(o, "usage"), "usage: rc %d", rc);
    rc = run_cli("@ train --model x --train y --output z --learning-rate abc 2>&1", o, sizeof o);
    CHECK(rc == 2 && strstr(o, "not a number"), "bad number: rc %d %s", rc, o);
}

/* The CLI end to end: JSON log lines, trainer_state.json as Trainer writes it, and the report drawn in Chromium. */
static void test_cli_and_report(void) {
    char data[300], val[300], out[300], rep[300], cmd[2048];
    static char o[1 << 16];
    snprintf(data, sizeof data, "%s/train40.tsv", tmpdir);
    first_rows(TD "sst2-dev.tsv", data, 40);
    snprintf(val, sizeof val, "%s/val.tsv", tmpdir);
    rows_from(TD "sst2-dev.tsv", val, 40, 30); /* held out: validation rows that are training rows are refused */
    snprintf(out, sizeof out, "%s/cli", tmpdir);
    snprintf(rep, sizeof rep, "%s/report.html", tmpdir);
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-bert --train %s --validation %s --output %s --epochs 3 "
             "--learning-rate 1e-3 --warmup-ratio 0.1 --batch-size 8 --logging-steps 5 --save-total-limit 2 "
             "--metric-for-best-model accuracy --report %s --threads 2 2>/dev/null", data, val, out, rep);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0, "train: rc %d", rc);
    CHECK(strstr(o, "{\"loss\":") && strstr(o, "\"grad_norm\":") && strstr(o, "\"learning_rate\":") &&
              strstr(o, "{\"eval_loss\":") && strstr(o, "\"eval_accuracy\":") && strstr(o, "\"train_sample_accuracy\":") &&
              strstr(o, "\"train_runtime\":"),
          "log lines: %.400s", o);
    char st[400], *txt = NULL;
    bertc_error err;
    snprintf(st, sizeof st, "%s/trainer_state.json", out);
    if (!read_file(st, &txt, NULL, &err)) {
        CHECK(strstr(txt, "\"log_history\"") && strstr(txt, "\"best_metric\"") && strstr(txt, "\"best_model_checkpoint\"") &&
                  strstr(txt, "\"global_step\": 15") && strstr(txt, "\"max_steps\": 15"),
              "trainer_state.json: %.300s", txt);
        free(txt);
    } else {
        CHECK(0, "%s", err.message);
    }
    /* three evaluations, two checkpoints kept (the best among them) */
    snprintf(cmd, sizeof cmd, "ls -d %s/checkpoint-* | wc -l", out);
    run(cmd, o, sizeof o);
    CHECK(atoi(o) == 2, "checkpoints kept: %s", o);
    const char *req = getenv("BERTC_REQUIRE_CHROMIUM");
    if (run("command -v chromium", o, sizeof o) != 0) {
        CHECK(!(req && *req == '1'), "chromium not found (apt-get install chromium)");
        printf("  skipped: no chromium on PATH\n");
        return;
    }
    snprintf(cmd, sizeof cmd, "cp %s %s-probe.html && printf '%%s' '<script>window.onload=function(){var s=document.querySelectorAll(\"svg\"),ok=0,len=0;"
             "s.forEach(function(e){var r=e.getBoundingClientRect();if(r.width>100&&r.height>100)ok++;});"
             "document.querySelectorAll(\"polyline\").forEach(function(p){len+=p.getTotalLength();});"
             "var d=document.createElement(\"p\");d.id=\"probe\";d.textContent=\"rendered \"+ok+\" of \"+s.length+"
             "\" svg, curve length \"+Math.round(len)+\" rows \"+document.querySelectorAll(\"tr\").length;"
             "document.body.appendChild(d);};</script>' >> %s-probe.html && timeout 120 chromium --headless --no-sandbox "
             "--disable-gpu --disable-background-networking --disable-component-update --no-first-run --virtual-time-budget=3000 "
             "--dump-dom file://%s-probe.html 2>/dev/null | grep -o 'rendered [0-9]* of [0-9]* svg, curve length [0-9]* rows [0-9]*'",
             rep, rep, rep, rep);
    rc = run(cmd, o, sizeof o);
    int ok = 0, n = 0, len = 0, rows = 0;
    CHECK(rc == 0 && sscanf(o, "rendered %d of %d svg, curve length %d rows %d", &ok, &n, &len, &rows) == 4,
          "chromium probe: rc %d %s", rc, o);
    CHECK(ok == 3 && n == 3 && len > 600 && rows == 4, "report: %d of %d charts laid out, curves %d px, %d table rows", ok, n,
          len, rows);
}

void tests_train(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bertc-train-test-%d", (int)getpid());
    mkdir(tmpdir, 0755);
    run_test("train/gradients vs torch (3 archs x 3 losses)", test_gradients);
    run_test("train/gradients bf16 (3 archs)", test_gradients_bf16);
    run_test("train/gradients mpnet (3 losses, bf16)", test_gradients_mpnet);
    run_test("train/gradients electra (fp32, bf16)", test_gradients_electra);
    run_test("train/gradients deberta-v2 (shared and own position projections, bf16)", test_gradients_deberta);
    run_test("train/gradients modernbert (biases or none, cls or mean pooling, windowed layer, bf16)",
             test_gradients_modernbert);
    run_test("train/gradients bf16 on the AMX tier", test_gradients_bf16_amx);
    run_test("train/finite differences", test_finite_differences);
    run_test("train/one encoder for inference and training", test_one_encoder);
    run_test("train/adamw 5 steps vs torch", test_adamw_steps);
    run_test("train/adamw 5 steps vs torch (modernbert)", test_adamw_steps_modernbert);
    run_test("train/saved folder = transformers", test_saved_folder);
    run_test("train/dropout statistics", test_dropout_statistics);
    run_test("train/determinism and resume", test_determinism_and_resume);
    run_test("train/errors", test_errors);
    run_test("train/guard rails", test_guard_rails);
    run_test("train/output in the source's dtype", test_saved_dtype);
    run_test("train/cli and report", test_cli_and_report);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("  could not remove %s\n", tmpdir);
}
