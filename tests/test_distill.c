/* test_distill.c — bertc distill: the loss and its gradient against PyTorch's (tools/make_distill_refs.py), the
 * backward pass under it by central differences, alpha = 1 being `bertc train` to the bit, the teacher cache (its
 * logits the teacher's own, reused without the teacher, refused from another teacher or when rows are missing, a
 * malformed file named), seeded augmentation, and students made from a teacher's layers. */
#include "test.h"
#include "train_checks.h"
#include "formats/tensors.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void t_loss_torch(void) {
    json_error_t je;
    json_t *j = json_load_file(TD "distill/loss.ref.json", 0, &je);
    CHECK(j != NULL, "loss.ref.json: %s", je.text);
    if (!j) return;
    json_t *cases = json_object_get(j, "cases");
    size_t ci;
    json_t *c;
    int n_cases = 0;
    double worst_l = 0, worst_g = 0;
    json_array_foreach(cases, ci, c) {
        int L = (int)json_integer_value(json_object_get(c, "labels"));
        double T = json_real_value(json_object_get(c, "temperature")), a = json_number_value(json_object_get(c, "alpha"));
        float z[64], t[64], dl[64];
        int y[32];
        json_t *js = json_object_get(c, "student"), *jt = json_object_get(c, "teacher"), *jy = json_object_get(c, "y"),
               *jg = json_object_get(c, "grad");
        int n = (int)json_array_size(jy);
        CHECK(n * L <= 64 && (int)json_array_size(js) == n * L, "case %zu shape", ci);
        if (n * L > 64) continue;
        for (int k = 0; k < n * L; k++) {
            z[k] = (float)json_real_value(json_array_get(js, (size_t)k));
            t[k] = (float)json_real_value(json_array_get(jt, (size_t)k));
        }
        for (int i = 0; i < n; i++) y[i] = (int)json_integer_value(json_array_get(jy, (size_t)i));
        double loss = 0;
        for (int i = 0; i < n; i++) loss += distill_row(z + i * L, t + i * L, L, y[i], T, a, dl + i * L, (double)n);
        loss /= n;
        double ref = json_real_value(json_object_get(c, "loss"));
        worst_l = fmax(worst_l, fabs(loss - ref) / fmax(1, fabs(ref)));
        CHECK(fabs(loss - ref) <= 1e-6 * fmax(1, fabs(ref)), "case %zu (L %d T %g alpha %g): loss %.9g, torch %.9g", ci, L, T, a,
              loss, ref);
        for (int k = 0; k < n * L; k++) {
            double g = json_real_value(json_array_get(jg, (size_t)k));
            worst_g = fmax(worst_g, fabs(dl[k] - g));
            CHECK(fabs(dl[k] - g) <= 1e-6, "case %zu grad[%d] %.9g, torch %.9g", ci, k, dl[k], g);
        }
        n_cases++;
    }
    printf("  %d cases (torch %s): loss within %.1e (relative), gradient within %.1e\n", n_cases,
           json_string_value(json_object_get(j, "torch")), worst_l, worst_g);
    CHECK(n_cases == 10, "%d cases", n_cases);
    json_decref(j);
}

/* The encoder's backward under the distillation loss (dropout on), against central differences. */
static void t_backward(void) {
    tmodel *t = NULL;
    bertc_error err;
    tmodel_head hd = {BERTC_PROBLEM_SINGLE_LABEL, 2, NULL, 7, false};
    CHECK(tmodel_load(TD "tiny-bert", &hd, 1, &t, NULL, &err) == BERTC_OK, "load: %s", err.message);
    if (!t) return;
    bertc_encoding e[3];
    fd_encode(t, e);
    const int ids[3] = {1, 0, 1};
    const float soft[6] = {1.5f, -0.5f, 0.3f, 2.1f, -1.0f, 3.0f};
    tbatch_labels lab = {ids, NULL, soft, 2.0, 0.3};
    static const char *const names[] = {"classifier.weight", "bert.pooler.dense.weight", "bert.encoder.layer.1.output.dense.weight",
                                        "bert.encoder.layer.0.attention.self.query.weight", "bert.embeddings.LayerNorm.weight"};
    static const int idx[] = {5, 77, 301, 1000, 3};
    double loss = check_central_differences_lab(t, "distill", e, &lab, names, idx, 5);
    CHECK(isfinite(loss) && loss > 0, "loss %g", loss);
    for (int i = 0; i < 3; i++) bertc_encoding_free(&e[i]);
    tmodel_free(t);
}

static char tmp[64];

static int sh(const char *fmt, const char *a, char *out, size_t cap) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a);
    return run_cli(cmd, out, cap);
}

#define RUN "@ distill --teacher models/sst2-small --student " TD "tiny-bert --train %s/train.tsv --epochs 1 --batch-size 8 " \
            "--learning-rate 1e-3 --warmup-steps 0 --threads 2 --train-sample 0 --quiet "

static void setup(void) {
    snprintf(tmp, sizeof tmp, "/tmp/bertc-distill-XXXXXX");
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    char out[1024];
    sh("head -41 " TD "sst2-dev.tsv > %s/train.tsv && printf 'sentence\\nan unlabelled line\\nanother one , bleak\\nan unlabelled line\\nan unlabelled line\\n' > "
       "%s/unl.tsv", tmp, out, sizeof out);
}

static void cleanup(void) {
    char out[256];
    sh("rm -rf %s", tmp, out, sizeof out);
}

/* alpha 1 is plain cross-entropy: the same bits as bertc train */
static void t_alpha1(void) {
    setup();
    char out[8192];
    int rc = sh("@ train --model " TD "tiny-bert --train %s/train.tsv --epochs 1 --batch-size 8 --learning-rate 1e-3 "
                "--warmup-steps 0 --threads 2 --train-sample 0 --quiet --labels NEGATIVE,POSITIVE --output %s/a > /dev/null 2>&1 && "
                RUN "--alpha 1 --output %s/b > /dev/null && cmp %s/a/model.safetensors %s/b/model.safetensors && "
                RUN "--alpha 0.5 --output %s/c > /dev/null && ! cmp -s %s/a/model.safetensors %s/c/model.safetensors && echo same",
                tmp, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "same"), "alpha 1 vs train: %d %s", rc, out);
    cleanup();
}

static void read_cache(const char *path, tensor_set *ts) {
    memset(ts, 0, sizeof *ts);
    mapped_file f;
    bertc_error err;
    if (map_file(path, &f, &err)) {
        CHECK(0, "%s: %s", path, err.message);
        return;
    }
    ts->files = malloc(sizeof f);
    ts->files[0] = f;
    ts->n_files = 1;
    CHECK(safetensors_parse(ts, f.data, f.size, path, &err) == BERTC_OK && tensor_set_index(ts, path, &err) == BERTC_OK,
          "%s: %s", path, err.message);
}

/* The cache's logits for text (2 labels, max length 128): the number of rows keyed by it (one when all is well), the
 * last one's logits in c. */
static int cached_logits(const tensor_info *tk, const tensor_info *tl, const char *text, float c[2]) {
    uint64_t k = distill_text_key(text, strlen(text), NULL, 0, 128);
    int found = 0;
    for (int r = 0; tk && tl && r < tk->shape[0]; r++) {
        uint64_t kr;
        memcpy(&kr, tk->data + 8 * (size_t)r, 8);
        if (kr != k) continue;
        found++;
        memcpy(c, tl->data + 8 * (size_t)r, 8);
    }
    return found;
}

static void t_cache(void) {
    setup();
    char out[16384], path[256];
    int rc = sh(RUN "--unlabeled %s/unl.tsv --output %s/o 2>&1", tmp, out, sizeof out);
    CHECK(rc == 0, "distill: %d %s", rc, out);
    snprintf(path, sizeof path, "%s/o.teacher-logits.safetensors", tmp);
    tensor_set ts;
    read_cache(path, &ts);
    const tensor_info *tk = tensor_set_find(&ts, "keys"), *tl = tensor_set_find(&ts, "logits");
    /* 40 training rows and 4 unlabelled ones, one of them three times: 42 texts, each labelled once */
    CHECK(tk && tl && tk->shape[0] == 42 && tl->shape[1] == 2, "cache: %lld rows", tk ? (long long)tk->shape[0] : -1LL);
    /* each row's logits are the teacher's own (the inference path, fp32) */
    bertc_model *m = NULL;
    bertc_error err;
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    CHECK(bertc_model_load("models/sst2-small", &mp, &m, &err) == BERTC_OK, "teacher: %s", err.message);
    static const char *const texts[] = {"an unlabelled line", "another one , bleak"};
    double worst = 0;
    int found = 0;
    for (int i = 0; m && tk && tl && i < 2; i++) {
        bertc_encoding e;
        float lg[2], c[2];
        bertc_tokenize(bertc_model_tokenizer(m), texts[i], strlen(texts[i]), NULL, 0, NULL, &e, NULL);
        bertc_forward(m, &e, 1, NULL, lg, &err);
        bertc_encoding_free(&e);
        int n = cached_logits(tk, tl, texts[i], c);
        found += n;
        if (n) worst = fmax(worst, fmax(fabs(c[0] - lg[0]), fabs(c[1] - lg[1])));
    }
    CHECK(found == 2 && worst <= 1e-5, "cached logits: %d found, off by %g", found, worst);
    bertc_model_free(m);
    tensor_set_free(&ts);
    /* again from the cache alone: no teacher runs, the same student */
    rc = sh("@ distill --teacher-cache %s/o.teacher-logits.safetensors --student " TD "tiny-bert --train %s/train.tsv "
            "--unlabeled %s/unl.tsv --epochs 1 --batch-size 8 --learning-rate 1e-3 --warmup-steps 0 --threads 2 "
            "--train-sample 0 --output %s/p 2>&1 >/dev/null && cmp %s/o/model.safetensors %s/p/model.safetensors && echo same",
            tmp, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "same") && !strstr(out, "teacher labels"), "cache only: %d %s", rc, out);
    /* a row the cache lacks, and no teacher */
    rc = sh("echo 'a new row\t1' >> %s/train.tsv && @ distill --teacher-cache %s/o.teacher-logits.safetensors --student "
            TD "tiny-bert --train %s/train.tsv --output %s/q 2>&1", tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "1 rows have no logits in the teacher cache"), "missing rows: %d %s", rc, out);
    /* another teacher's cache */
    rc = sh("@ distill --teacher " TD "tiny-distilbert --teacher-cache %s/o.teacher-logits.safetensors --student " TD "tiny-bert "
            "--train %s/train.tsv --output %s/r 2>&1", tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "holds another teacher's logits"), "another teacher: %d %s", rc, out);
    /* a malformed cache is named, never trusted */
    rc = sh("head -c 100 %s/o.teacher-logits.safetensors > %s/bad.safetensors && @ distill --teacher-cache %s/bad.safetensors "
            "--student " TD "tiny-bert --train %s/train.tsv --output %s/s 2>&1", tmp, out, sizeof out);
    CHECK(rc == 3 && strstr(out, "bad.safetensors"), "malformed cache: %d %s", rc, out);
    cleanup();
}

static void t_augment(void) {
    setup();
    char out[8192];
    int rc = sh(RUN "--augment 3 --augmented-out %s/a1.tsv --max-steps 1 --output %s/o1 >/dev/null 2>&1 && "
                RUN "--augment 3 --augmented-out %s/a2.tsv --max-steps 1 --output %s/o2 >/dev/null 2>&1 && "
                RUN "--augment 3 --augmented-out %s/a3.tsv --max-steps 1 --seed 7 --output %s/o3 >/dev/null 2>&1 && "
                "cmp %s/a1.tsv %s/a2.tsv && ! cmp -s %s/a1.tsv %s/a3.tsv && wc -l < %s/a1.tsv && grep -c MASK %s/a1.tsv",
                tmp, out, sizeof out);
    int lines = 0, masked = 0;
    CHECK(rc == 0 && sscanf(out, "%d %d", &lines, &masked) == 2, "augment: %d %s", rc, out);
    /* up to 3 variants of 40 rows (a variant equal to its row is not kept), some with a masked span */
    CHECK(lines > 60 && lines <= 121 && masked > 5 && masked < lines, "augment: %d lines, %d masked", lines, masked);
    /* no variant is a training row */
    rc = sh("tail -n +2 %s/train.tsv | cut -f1 | sed 's/ *$//' | sort -u > %s/t.txt && tail -n +2 %s/a1.tsv | sort -u | "
            "comm -12 - %s/t.txt | wc -l",
            tmp, out, sizeof out);
    CHECK(rc == 0 && atoi(out) == 0, "variants equal to rows: %s", out);
    /* only rows of 12 words or more: fewer variants, each of them among the run's over every row */
    rc = sh(RUN "--augment 3 --augment-min-words 12 --augmented-out %s/a4.tsv --max-steps 1 --output %s/o4 >/dev/null 2>&1 && "
            "tail -n +2 %s/a4.tsv | sort > %s/a4s && tail -n +2 %s/a1.tsv | sort > %s/a1s && comm -23 %s/a4s %s/a1s | wc -l && "
            "wc -l < %s/a4s && awk 'NF < 9' %s/a4s | wc -l", tmp, out, sizeof out);
    int extra = -1, n4 = 0, short4 = -1;
    CHECK(rc == 0 && sscanf(out, "%d %d %d", &extra, &n4, &short4) == 3, "min words: %d %s", rc, out);
    CHECK(extra == 0 && n4 > 5 && n4 < lines - 1 && short4 == 0, "min words: %d new, %d variants of %d, %d short", extra, n4,
          lines - 1, short4);
    cleanup();
}

/* --label-only fills the cache and writes the variants; given back as --unlabeled, with the cache and no teacher, they
 * train the same student to the bit as the run that made them */
static void t_label_only(void) {
    setup();
    char out[8192];
    int rc = sh("@ distill --teacher models/sst2-small --student " TD "tiny-bert --train %s/train.tsv --augment 2 "
                "--augmented-out %s/aug.tsv --teacher-cache %s/c.safetensors --label-only 2>&1 && test ! -e %s/o && "
                "@ distill --teacher-cache %s/c.safetensors --student " TD "tiny-bert --train %s/train.tsv --unlabeled %s/aug.tsv "
                "--epochs 1 --batch-size 8 --learning-rate 1e-3 --warmup-steps 0 --threads 2 --train-sample 0 --quiet --output %s/a "
                ">/dev/null && " RUN "--augment 2 --output %s/b > /dev/null && cmp %s/a/model.safetensors %s/b/model.safetensors && "
                "echo same", tmp, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "same") && strstr(out, "have their logits in"), "label-only: %d %s", rc, out);
    rc = sh("@ distill --teacher models/sst2-small --student " TD "tiny-bert --train %s/train.tsv --label-only 2>&1", tmp, out,
            sizeof out);
    CHECK(rc == 2 && strstr(out, "usage"), "label-only without a cache: %d %s", rc, out);
    cleanup();
}

/* --teacher-compute bf16: the cache holds the teacher's bf16-compute logits and says so; a teacher at the other
 * compute never adds to it; without a teacher it serves as any cache. */
static void t_teacher_compute(void) {
    setup();
    char out[8192], path[256];
    int rc = sh("@ distill --teacher models/sst2-small --student " TD "tiny-bert --train %s/train.tsv --teacher-compute bf16 "
                "--teacher-cache %s/c.safetensors --label-only 2>&1", tmp, out, sizeof out);
    CHECK(rc == 0, "label-only bf16: %d %s", rc, out);
    snprintf(path, sizeof path, "%s/c.safetensors", tmp);
    tensor_set ts;
    read_cache(path, &ts);
    const tensor_info *tk = tensor_set_find(&ts, "keys"), *tl = tensor_set_find(&ts, "logits"),
                      *ti = tensor_set_find(&ts, "info");
    CHECK(ti && memmem(ti->data, ti->nbytes, "\"compute\":\"bf16\"", 16) != NULL, "info: %.*s", ti ? (int)ti->nbytes : 0,
          ti ? (const char *)ti->data : "");
    bertc_model *mb = NULL, *mf = NULL;
    bertc_error err;
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    CHECK(bertc_model_load("models/sst2-small", &mp, &mf, &err) == BERTC_OK, "teacher: %s", err.message);
    mp.compute = BERTC_COMPUTE_BF16;
    CHECK(bertc_model_load("models/sst2-small", &mp, &mb, &err) == BERTC_OK, "teacher bf16: %s", err.message);
    static const char *const texts[] = {"it 's a charming and often affecting journey . ", "unflinchingly bleak and desperate "};
    double worst_b = 0, least_f = 1e9;
    int found = 0;
    for (int i = 0; mb && mf && tk && tl && i < 2; i++) {
        bertc_encoding e;
        float lb[2], lf[2], c[2];
        bertc_tokenize(bertc_model_tokenizer(mb), texts[i], strlen(texts[i]), NULL, 0, NULL, &e, NULL);
        bertc_forward(mb, &e, 1, NULL, lb, &err);
        bertc_forward(mf, &e, 1, NULL, lf, &err);
        bertc_encoding_free(&e);
        int n = cached_logits(tk, tl, texts[i], c);
        found += n;
        if (n) {
            worst_b = fmax(worst_b, fmax(fabs(c[0] - lb[0]), fabs(c[1] - lb[1])));
            least_f = fmin(least_f, fmax(fabs(c[0] - lf[0]), fabs(c[1] - lf[1])));
        }
    }
    /* the bf16 model's own logits, not the fp32 model's */
    CHECK(found == 2 && worst_b <= 1e-5 && least_f > 1e-5, "bf16 logits: %d found, off the bf16 forward by %g, the fp32 one by %g",
          found, worst_b, least_f);
    bertc_model_free(mb);
    bertc_model_free(mf);
    tensor_set_free(&ts);
    rc = sh("echo 'a new row\t1' >> %s/train.tsv && @ distill --teacher models/sst2-small --student " TD "tiny-bert --train "
            "%s/train.tsv --teacher-cache %s/c.safetensors --label-only 2>&1", tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "holds bf16 logits") && strstr(out, "--teacher-compute"), "mixed compute: %d %s", rc, out);
    rc = sh("sed -i '$d' %s/train.tsv && @ distill --teacher-cache %s/c.safetensors --student " TD "tiny-bert --train %s/train.tsv "
            "--max-steps 1 --batch-size 8 --threads 2 --train-sample 0 --quiet --output %s/o > /dev/null 2>&1 && echo ok",
            tmp, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "ok"), "bf16 cache without a teacher: %d %s", rc, out);
    rc = sh("@ distill --teacher models/sst2-small --student " TD "tiny-bert --train %s/train.tsv --teacher-compute int8 "
            "--teacher-cache %s/d.safetensors --label-only 2>&1", tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "use fp32 or bf16"), "--teacher-compute int8: %d %s", rc, out);
    cleanup();
}

/* A student from the teacher's layers: all of them gives the teacher's logits; a subset renumbers them. */
static void t_from_teacher(void) {
    setup();
    char dir[256], dir1[256];
    snprintf(dir, sizeof dir, "%s/all", tmp);
    snprintf(dir1, sizeof dir1, "%s/one", tmp);
    bertc_error err;
    CHECK(bertc_student_from_teacher(TD "tiny-mpnet", NULL, 2, dir, &err) == BERTC_OK, "all: %s", err.message);
    const int keep1[] = {1};
    CHECK(bertc_student_from_teacher(TD "tiny-mpnet", keep1, 1, dir1, &err) == BERTC_OK, "one: %s", err.message);
    const int bad[] = {1, 0};
    CHECK(bertc_student_from_teacher(TD "tiny-mpnet", bad, 2, dir1, &err) == BERTC_ERR_INVALID_ARG, "decreasing layers accepted");
    CHECK(bertc_student_from_teacher(TD "tiny-mpnet", NULL, 3, dir1, &err) == BERTC_ERR_INVALID_ARG, "3 of 2 layers accepted");
    bertc_model *a = NULL, *b = NULL, *c = NULL;
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    CHECK(bertc_model_load(TD "tiny-mpnet", &mp, &a, &err) == BERTC_OK, "%s", err.message);
    CHECK(bertc_model_load(dir, &mp, &b, &err) == BERTC_OK, "%s", err.message);
    CHECK(bertc_model_load(dir1, &mp, &c, &err) == BERTC_OK, "%s", err.message);
    if (a && b && c) {
        bertc_encoding e;
        const char *txt = "the acting , costumes , music are all astounding .";
        bertc_tokenize(bertc_model_tokenizer(a), txt, strlen(txt), NULL, 0, NULL, &e, NULL);
        float la[3], lb[3], lc[3];
        bertc_forward(a, &e, 1, NULL, la, &err);
        bertc_forward(b, &e, 1, NULL, lb, &err);
        bertc_forward(c, &e, 1, NULL, lc, &err);
        bertc_encoding_free(&e);
        for (int k = 0; k < 3; k++) CHECK(la[k] == lb[k], "logit %d: %g vs the teacher's %g", k, lb[k], la[k]);
        CHECK(c->cfg.layers == 1 && fabs(lc[0] - la[0]) > 1e-6, "one layer: %d layers", c->cfg.layers);
        /* its layer 0 is the teacher's layer 1 */
        tensor_set t1, t0;
        memset(&t1, 0, sizeof t1);
        memset(&t0, 0, sizeof t0);
        CHECK(tensors_load_dir(&t1, dir1, &err) == BERTC_OK && tensors_load_dir(&t0, TD "tiny-mpnet", &err) == BERTC_OK, "%s",
              err.message);
        const tensor_info *x = tensor_set_find(&t1, "mpnet.encoder.layer.0.attention.attn.q.weight"),
                          *y = tensor_set_find(&t0, "mpnet.encoder.layer.1.attention.attn.q.weight");
        CHECK(x && y && x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes), "layer 0 is not the teacher's layer 1");
        CHECK(!tensor_set_find(&t1, "mpnet.encoder.layer.1.attention.attn.q.weight"), "layer 1 kept");
        CHECK(tensor_set_find(&t1, "mpnet.encoder.relative_attention_bias.weight") != NULL, "shared tensors dropped");
        tensor_set_free(&t1);
        tensor_set_free(&t0);
    }
    bertc_model_free(a);
    bertc_model_free(b);
    bertc_model_free(c);
    /* from the CLI: --student-layers */
    char out[8192];
    int rc = sh("@ distill --teacher models/sst2-small --student-layers 2 --train %s/train.tsv --max-steps 2 --batch-size 8 "
                "--threads 2 --train-sample 0 --quiet --output %s/st > /dev/null && grep -c '\"n_layers\": 2' %s/st.student-init/config.json",
                tmp, out, sizeof out);
    CHECK(rc == 0 && atoi(out) == 1, "--student-layers: %d %s", rc, out);
    cleanup();
}

static void t_errors(void) {
    setup();
    char out[4096];
    int rc = sh("@ distill --student " TD "tiny-bert --train " TD "sst2-dev.tsv --output %s/x 2>&1", tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "usage: bertc distill"), "no teacher: %d %s", rc, out);
    rc = sh("@ distill --teacher models/sst2-small --student models/sst2-small --train " TD "sst2-dev.tsv --output %s/x 2>&1",
            tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "same folder"), "same folder: %d %s", rc, out);
    rc = sh("@ distill --teacher models/sst2-small --student " TD "tiny-bert --train " TD "sst2-dev.tsv --output %s/x "
            "--temperature 0 2>&1", tmp, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "temperature"), "temperature 0: %d %s", rc, out);
    rc = sh("@ distill --teacher " TD "tiny-roberta --student " TD "tiny-bert --train %s/train.tsv --output %s/x 2>&1", tmp, out,
            sizeof out);
    CHECK(rc != 0 && strstr(out, "3 labels"), "3-label teacher, 2-label student: %d %s", rc, out);
    cleanup();
}

/* the fuzzer's seeds: the valid one parses, each broken one is refused with its reason */
static void t_cache_seeds(void) {
    static const struct {
        const char *file, *why;
        size_t rows;
    } seeds[] = {{"valid", NULL, 3}, {"empty", NULL, 0}, {"nan", "not finite", 0}, {"bad-info", "its info is not", 0},
                 {"shape-mismatch", "not a teacher-logits cache", 0}};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        char path[256];
        snprintf(path, sizeof path, "fuzz/corpus/teacher_cache/%s.safetensors", seeds[i].file);
        char *buf = NULL;
        size_t len = 0, rows = 0;
        int labels = 0;
        bertc_error err;
        CHECK(read_file(path, &buf, &len, &err) == BERTC_OK, "%s: %s", path, err.message);
        if (!buf) continue;
        bertc_status s = distill_cache_probe((const uint8_t *)buf, len, &rows, &labels, &err);
        if (!seeds[i].why) CHECK(s == BERTC_OK && rows == seeds[i].rows && labels == 2, "%s: %d %s", path, s, s ? err.message : "");
        else CHECK(s == BERTC_ERR_FORMAT && strstr(err.message, seeds[i].why), "%s: %d %s", path, s, s ? err.message : "");
        free(buf);
    }
}

/* kill -9 (strace's fault injection) at the first, middle and last write, rename and fsync of a distillation run
 * (the teacher's labelling and its cache, the training, its checkpoints): the cache left behind is whole or absent,
 * and the run started again (resumed from its newest checkpoint, else anew) ends with the uninterrupted run's model */
static void t_kill9(void) {
    char o[8192];
    if (run_cli("strace -f -qq -o /dev/null true 2>&1", o, sizeof o) != 0) {
        const char *req = getenv("BERTC_REQUIRE_STRACE");
        CHECK(!(req && *req == '1'), "strace missing or ptrace refused (apt-get install strace)");
        printf("  skipped distill/kill -9: strace is missing or ptrace is not permitted here\n");
        return;
    }
    setup();
    char cmd[16384], run[2048], cache[256];
    snprintf(cache, sizeof cache, "%s/k.safetensors", tmp);
    snprintf(run, sizeof run, "@ distill --teacher models/sst2-small --student " TD "tiny-bert --train %s/train.tsv --augment 1 "
             "--teacher-cache %s --max-steps 6 --save-steps 2 --batch-size 8 --learning-rate 1e-3 --warmup-steps 0 --threads 1 "
             "--train-sample 0 --quiet --output %s/k", tmp, cache, tmp);
    snprintf(cmd, sizeof cmd, "%s --output %s/ref >/dev/null 2>&1 && rm -f %s && strace -f -qq -o %s/trace.log -e "
             "trace=write,rename,fsync %s >/dev/null 2>&1; for c in write rename fsync; do grep -v 'resumed>' %s/trace.log | "
             "grep -c \" $c(\"; done", run, tmp, cache, tmp, run, tmp);
    long counts[3] = {0, 0, 0};
    CHECK(run_cli(cmd, o, sizeof o) == 0 && sscanf(o, "%ld %ld %ld", &counts[0], &counts[1], &counts[2]) == 3, "traced run: %s", o);
    static const char *const calls[] = {"write", "rename", "fsync"};
    int tried = 0;
    for (int k = 0; k < 3; k++)
        for (long n = 1; n <= counts[k]; n += counts[k] > 2 ? (counts[k] - 1) / 2 : 1) {
            snprintf(cmd, sizeof cmd, "rm -rf %s %s/k; ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq "
                     "-o /dev/null -e trace=%s -e inject=%s:signal=SIGKILL:when=%ld %s >/dev/null 2>&1; echo $?", cache, tmp,
                     calls[k], calls[k], n, run);
            run_cli(cmd, o, sizeof o);
            int rc = atoi(o);
            CHECK(rc == 137 || rc == 0, "kill -9 at %s #%ld: rc %d", calls[k], n, rc);
            char *buf = NULL;
            size_t len = 0, rows = 0;
            int labels = 0;
            bertc_error err;
            if (read_file(cache, &buf, &len, &err) == BERTC_OK) {
                CHECK(distill_cache_probe((const uint8_t *)buf, len, &rows, &labels, &err) == BERTC_OK,
                      "kill -9 at %s #%ld: the cache left is not whole: %s", calls[k], n, err.message);
                free(buf);
            }
            snprintf(cmd, sizeof cmd, "if ls -d %s/k/checkpoint-* >/dev/null 2>&1; then %s --resume-from-checkpoint latest; "
                     "else %s --overwrite-output-dir; fi >/dev/null 2>&1 && cmp %s/k/model.safetensors %s/ref/model.safetensors && echo same",
                     tmp, run, run, tmp, tmp);
            CHECK(run_cli(cmd, o, sizeof o) == 0 && strstr(o, "same"), "kill -9 at %s #%ld: the run started again ends elsewhere: %s",
                  calls[k], n, o);
            tried++;
        }
    printf("  %d kill points (of %ld writes, %ld renames, %ld fsyncs)\n", tried, counts[0], counts[1], counts[2]);
    CHECK(tried >= 6, "%d kill points", tried);
    cleanup();
}

void tests_distill(void) {
    run_test("distill/cache_seeds", t_cache_seeds);
    run_test("distill/loss_torch", t_loss_torch);
    run_test("distill/backward_central_differences", t_backward);
    run_test("distill/alpha1_is_train", t_alpha1);
    run_test("distill/teacher_cache", t_cache);
    run_test("distill/augment_seeded", t_augment);
    run_test("distill/label_only", t_label_only);
    run_test("distill/teacher_compute", t_teacher_compute);
    run_test("distill/student_from_teacher", t_from_teacher);
    run_test("distill/errors", t_errors);
    if (suite_sanitized() && suite_whole())
        printf("skip distill/kill9_resume: it runs in make check's plain pass (build/test_bertc distill/ runs it here)\n");
    else
        run_test("distill/kill9_resume", t_kill9);
}
