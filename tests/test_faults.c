/*
 * test_faults.c — allocation-failure sweeps (tests/faultinj.c): each path runs once to count its allocations, then
 * again with the Nth allocation failing, for N over that count (every N when BERTC_FAULT_SWEEP=0, `make
 * faultsweep`; else the first BERTC_FAULT_SWEEP (20 by default, at most 40), as many more spread evenly, and the first allocation of
 * every allocation site the run reached, so every place that allocates fails at least once). Each failed run must
 * end in BERTC_ERR_NOMEM with a message naming out of memory (or succeed with the unfailed run's exact output), and
 * leave nothing allocated (LeakSanitizer under the ASan build). A crash fails the suite outright.
 */
#include "faultinj.h"
#include "test.h"
#include "serve/server.h"

#include "bertc_eval.h"
#include "bertc_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct path {
    const char *name;
    /* runs the path; *same: the outputs equal the reference (set by the first, unfailed run) */
    bertc_status (*run)(struct path *p, bertc_error *err, bool *same);
    const char *dir;
    float ref[64];
    int n_ref;
    bool have_ref;
} path;

static void sweep(path *p);

static bool same_floats(path *p, const float *v, int n) {
    if (!p->have_ref) {
        if (n > 64) n = 64;
        memcpy(p->ref, v, (size_t)n * sizeof *v);
        p->n_ref = n;
        p->have_ref = true;
        return true;
    }
    if (n > 64) n = 64;
    return n == p->n_ref && !memcmp(p->ref, v, (size_t)n * sizeof *v);
}

static const char *texts[] = {"a gripping , funny and moving film .", "it 's a dull , lifeless mess ."};

static bertc_model_params one_thread(void) {
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    return mp;
}

static bertc_status run_classify(path *p, bertc_error *err, bool *same) {
    bertc_model_params mp = one_thread();
    bertc_model *m = NULL;
    bertc_status s = bertc_model_load(p->dir, &mp, &m, err);
    if (s) return s;
    bertc_text in[2] = {{texts[0], strlen(texts[0]), NULL, 0}, {texts[1], strlen(texts[1]), NULL, 0}};
    bertc_classify_params cp = bertc_classify_default_params();
    bertc_classification out[2];
    s = bertc_classify(m, in, 2, &cp, out, err);
    if (!s) {
        float v[16];
        int k = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < out[i].n_labels && k < 16; j++) v[k++] = out[i].logits[j];
        *same = same_floats(p, v, k);
        bertc_classification_free(out, 2);
    }
    bertc_model_free(m);
    return s;
}

static bertc_status run_embed(path *p, bertc_error *err, bool *same) {
    bertc_model_params mp = one_thread();
    bertc_model *m = NULL;
    bertc_status s = bertc_model_load(p->dir, &mp, &m, err);
    if (s) return s;
    bertc_text in[2] = {{texts[0], strlen(texts[0]), NULL, 0}, {texts[1], strlen(texts[1]), NULL, 0}};
    bertc_embedding out[2];
    bertc_embed_params ep = bertc_embed_default_params();
    s = bertc_embed_ex(m, in, 2, &ep, out, err);
    if (!s) {
        float v[64];
        int k = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < out[i].rows * out[i].hidden && k < 64; j++) v[k++] = out[i].data[j];
        *same = same_floats(p, v, k);
        bertc_embedding_free(out, 2);
    }
    bertc_model_free(m);
    return s;
}

static bertc_status run_tokenize(path *p, bertc_error *err, bool *same) {
    bertc_tokenizer *t = NULL;
    bertc_status s = bertc_tokenizer_load(p->dir, &t, err);
    if (s) return s;
    const char *text = "Héllo wörld, it's   a \"tokenizer\" test: 12345 ünïcödé 日本語 ok?";
    bertc_encode_params ep = bertc_encode_default_params();
    bertc_encoding e;
    s = bertc_tokenize(t, text, strlen(text), "and a pair", 10, &ep, &e, err);
    if (!s) {
        char *dec = NULL;
        size_t dl = 0;
        s = bertc_decode(t, e.ids, e.n, 1, &dec, &dl, err);
        if (!s) {
            float v[64];
            int k = 0;
            for (size_t i = 0; i < e.n && k < 63; i++) v[k++] = (float)e.ids[i];
            v[k++] = (float)dl;
            *same = same_floats(p, v, k);
            free(dec);
        }
        bertc_encoding_free(&e);
    }
    bertc_tokenizer_free(t);
    return s;
}

static bertc_status run_dataset(path *p, bertc_error *err, bool *same) {
    static const char jsonl[] = "{\"text\": \"a gripping film\", \"label\": \"POSITIVE\"}\n"
                                "{\"text\": \"a dull mess\", \"label\": 0}\n"
                                "{\"text\": \"caf\\u00e9 \\\"quoted\\\"\", \"label\": \"NEGATIVE\"}\n";
    static const char tsv[] = "sentence\tlabel\nit 's warm\t1\n\"quoted\" text\t0\n";
    bertc_dataset_params dp = bertc_dataset_default_params();
    bertc_dataset *a = NULL, *b = NULL;
    bertc_status s = bertc_dataset_parse(jsonl, sizeof jsonl - 1, "d.jsonl", &dp, &a, err);
    if (!s) s = bertc_dataset_parse(tsv, sizeof tsv - 1, "d.tsv", &dp, &b, err);
    if (!s) {
        float v[64];
        int k = 0;
        for (size_t i = 0; i < a->n && k < 60; i++) {
            v[k++] = (float)a->ex[i].len;
            v[k++] = (float)strlen(a->ex[i].label);
        }
        for (size_t i = 0; i < b->n && k < 60; i++) v[k++] = (float)b->ex[i].len;
        v[k++] = (float)(a->n * 10 + b->n);
        *same = same_floats(p, v, k);
    }
    bertc_dataset_free(a);
    bertc_dataset_free(b);
    return s;
}

static void t_dataset(void) {
    path p = {.name = "dataset", .run = run_dataset};
    sweep(&p);
}

/* the three pipelines: entities (simple aggregation), answers, mask candidates */
static bertc_status run_pipelines(path *p, bertc_error *err, bool *same) {
    bertc_model_params mp = one_thread();
    bertc_model *ner = NULL, *qa = NULL, *mlm = NULL;
    bertc_status s = bertc_model_load(TD "tiny-ner-bert", &mp, &ner, err);
    if (!s) s = bertc_model_load(TD "tiny-qa-bert", &mp, &qa, err);
    if (!s) s = bertc_model_load(TD "tiny-mlm-bert", &mp, &mlm, err);
    float v[64];
    int k = 0;
    if (!s) {
        const char *t = "Hugging Face Inc. is a company based in New York City.";
        bertc_token_class_params tp = bertc_token_class_default_params();
        tp.aggregation = BERTC_AGGREGATE_SIMPLE;
        bertc_token_class_result r;
        s = bertc_token_classify(ner, t, strlen(t), &tp, &r, err);
        if (!s) {
            for (size_t i = 0; i < r.n && k < 20; i++) {
                v[k++] = r.entities[i].score;
                v[k++] = (float)strlen(r.entities[i].word);
            }
            bertc_token_class_result_free(&r);
        }
    }
    if (!s) {
        const char *q = "Where is the company based?", *c = "Hugging Face Inc. is a company based in New York City.";
        bertc_qa_params qp = bertc_qa_default_params();
        qp.top_k = 3;
        bertc_qa_result r;
        s = bertc_question_answer(qa, q, strlen(q), c, strlen(c), &qp, &r, err);
        if (!s) {
            for (size_t i = 0; i < r.n && k < 40; i++) {
                v[k++] = (float)r.answers[i].score;
                v[k++] = (float)strlen(r.answers[i].answer);
            }
            bertc_qa_result_free(&r);
        }
    }
    if (!s) {
        const char *t = "The capital of France is [MASK].";
        bertc_fill_mask_params fp = bertc_fill_mask_default_params();
        bertc_fill_mask_result r;
        s = bertc_fill_mask(mlm, t, strlen(t), &fp, &r, err);
        if (!s) {
            for (size_t i = 0; i < r.n_masks * r.k && k < 64; i++) {
                v[k++] = r.candidates[i].score;
                if (k < 64) v[k++] = (float)strlen(r.candidates[i].sequence);
            }
            bertc_fill_mask_result_free(&r);
        }
    }
    if (!s) *same = same_floats(p, v, k);
    bertc_model_free(ner);
    bertc_model_free(qa);
    bertc_model_free(mlm);
    return s;
}

static void t_pipelines(void) {
    path p = {.name = "pipelines", .run = run_pipelines};
    sweep(&p);
}

/* the request path: a server over the tiny model answering each route; a request that ran out of memory is TEI's
 * 424 "out of memory", and /health answers 200 after it */
static bertc_status run_request(path *p, bertc_error *err, bool *same) {
    bertc_model_params mp = one_thread();
    bertc_model *m = NULL;
    bertc_status st = bertc_model_load(TD "tiny-distilbert", &mp, &m, err);
    if (st) return st;
    server_config c = server_default_config();
    c.log_format = 0; /* no access log in the test's output */
    server *s = server_new(m, &c, err);
    if (!s) { /* the model stays the caller's when the server could not start */
        bertc_model_free(m);
        return err->status ? err->status : BERTC_ERR_NOMEM;
    }
    static const char *const routes[][2] = {
        {"/predict", "{\"inputs\": [\"a gripping film\", \"a dull mess\"], \"raw_scores\": true}"},
        {"/embed", "{\"inputs\": \"a gripping film\", \"normalize\": false}"},
        {"/tokenize", "{\"inputs\": [\"a gripping film\"], \"add_special_tokens\": true}"},
        {"/decode", "{\"ids\": [101, 1037, 102]}"},
        {"/info", NULL},
    };
    float v[64];
    int k = 0;
    st = BERTC_OK;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !st; i++) {
        int status = 0;
        char *out = NULL;
        size_t len = 0;
        const char *type = NULL;
        const char *body = routes[i][1];
        server_handle(s, body ? "POST" : "GET", routes[i][0], body, body ? strlen(body) : 0, &status, &out, &len,
                      &type);
        if (status == 200) {
            if (k < 62) v[k++] = (float)len;
            /* the bytes themselves (up to 60 of them as a checksum) */
            unsigned h = 0;
            for (size_t q = 0; q < len; q++) h = h * 31 + (unsigned char)out[q];
            if (k < 63 && strcmp(routes[i][0], "/info")) v[k++] = (float)(h % 65536);
        } else if (status == 424 && out && strstr(out, "out of memory")) {
            st = bertc_fail(err, BERTC_ERR_NOMEM, "%s: out of memory (424)", routes[i][0]);
        } else {
            st = bertc_fail(err, BERTC_ERR_FORMAT, "%s: HTTP %d %.200s", routes[i][0], status, out ? out : "");
        }
        free(out);
    }
    if (st == BERTC_ERR_NOMEM) { /* the server is healthy again right after */
        fi_suspend();
        int status = 0;
        char *out = NULL;
        size_t len = 0;
        const char *type = NULL;
        server_handle(s, "GET", "/health", NULL, 0, &status, &out, &len, &type);
        if (status != 200) st = bertc_fail(err, BERTC_ERR_FORMAT, "/health %d after an out-of-memory answer", status);
        free(out);
    }
    if (!st) *same = same_floats(p, v, k);
    server_free(s);
    return st;
}

static void t_request(void) {
    path p = {.name = "request", .run = run_request};
    sweep(&p);
}

static char fdir[256];

/* The trained model's logits are a training path's output (checking them is not part of the sweep). */
static void trained_same(path *p, const char *out, bool *same) {
    bertc_model_params mp = one_thread();
    bertc_model *m = NULL;
    fi_suspend();
    bertc_error e2;
    *same = false;
    if (!bertc_model_load(out, &mp, &m, &e2)) {
        bertc_text in[1] = {{texts[0], strlen(texts[0]), NULL, 0}};
        bertc_classify_params cp = bertc_classify_default_params();
        bertc_classification c[1];
        if (!bertc_classify(m, in, 1, &cp, c, &e2)) {
            *same = same_floats(p, c[0].logits, c[0].n_labels);
            bertc_classification_free(c, 1);
        }
        bertc_model_free(m);
    }
}

static bertc_status run_train(path *p, bertc_error *err, bool *same) {
    char data[320], out[320];
    snprintf(data, sizeof data, "%s/train4.tsv", fdir);
    snprintf(out, sizeof out, "%s/out", fdir);
    bertc_train_params tp = bertc_train_default_params();
    tp.model = p->dir;
    tp.train = data;
    tp.output_dir = out;
    tp.batch_size = 2;
    tp.max_steps = 1;
    tp.warmup_steps = 0;
    tp.learning_rate = 1e-3;
    tp.train_sample = 0;
    tp.n_threads = 1;
    tp.overwrite_output_dir = 1;
    tp.shuffle = 0;
    bertc_status s = bertc_train(&tp, err);
    if (!s) trained_same(p, out, same);
    return s;
}

/* bertc_distill: the teacher labels (augmented rows too) into a fresh cache, then one training step */
static bertc_status run_distill(path *p, bertc_error *err, bool *same) {
    char data[320], out[320], cache[320];
    snprintf(data, sizeof data, "%s/train4.tsv", fdir);
    snprintf(out, sizeof out, "%s/dout", fdir);
    snprintf(cache, sizeof cache, "%s/cache.safetensors", fdir);
    unlink(cache);
    bertc_distill_params dp = bertc_distill_default_params();
    dp.teacher = "models/sst2-small";
    dp.teacher_cache = cache;
    dp.augment = 1;
    bertc_train_params *tp = &dp.train;
    tp->model = p->dir;
    tp->train = data;
    tp->output_dir = out;
    tp->batch_size = 4;
    tp->max_steps = 1;
    tp->warmup_steps = 0;
    tp->learning_rate = 1e-3;
    tp->train_sample = 0;
    tp->n_threads = 1;
    tp->overwrite_output_dir = 1;
    tp->shuffle = 0;
    bertc_status s = bertc_distill(&dp, err);
    if (!s) trained_same(p, out, same);
    return s;
}

static long sweep_size(void) {
    const char *e = getenv("BERTC_FAULT_SWEEP");
    return e ? atol(e) : 20;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The allocations to fail: the first min(want, 40), about `want` more spread evenly, and (sites != NULL) the first allocation
 * of every allocation site, so each place that allocates is failed at least once. Sorted, unique. */
static long *failure_points(long total, long want, const long *sites, long n_sites, long *n) {
    long cap = 40 + (want > 0 ? want : total) + n_sites + 1, k = 0;
    long *v = malloc((size_t)cap * sizeof *v);
    if (!v) return NULL;
    const char *only = getenv("BERTC_FAULT_ONLY"); /* one point, to look at it (with BERTC_FAULT_BACKTRACE=1) */
    if (only) {
        v[0] = atol(only);
        *n = 1;
        return v;
    }
    long first = want <= 0 || want >= 40 ? 40 : want; /* the first allocations: opening files, the config */
    for (long i = 1; i <= total && i <= first; i++) v[k++] = i;
    if (want <= 0) {
        for (long i = first + 1; i <= total; i++) v[k++] = i;
    } else {
        long stride = total > first + want ? (total - first) / want : 1;
        for (long i = first + 1; i <= total && k < first + want; i += stride) v[k++] = i;
    }
    for (long i = 0; i < n_sites; i++) v[k++] = sites[i];
    qsort(v, (size_t)k, sizeof *v, cmp_long);
    long u = 0;
    for (long i = 0; i < k; i++)
        if (!u || v[i] != v[u - 1]) v[u++] = v[i];
    *n = u;
    return v;
}

static void sweep(path *p) {
    bertc_error err;
    bool same = false;
    static long sites[4096];
    fi_record();
    bertc_status s = p->run(p, &err, &same);
    long total = fi_count(), n_sites = fi_sites(sites, 4096);
    fi_disarm();
    CHECK(s == BERTC_OK, "%s: the unfailed run: %s", p->name, err.message);
    if (s) return;
    long tried = 0, nomem = 0, survived = 0;
    /* once: every site and the spread points fail one allocation; then every allocation from a point on fails */
    for (int persistent = 0; persistent < 2; persistent++) {
        long n_points = 0;
        long *points = failure_points(total, sweep_size(), persistent ? NULL : sites, persistent ? 0 : n_sites,
                                      &n_points);
        for (long k = 0; points && k < n_points; k++) {
            long nth = points[k];
            memset(&err, 0, sizeof err);
            same = false;
            fi_arm(nth, persistent);
            s = p->run(p, &err, &same);
            long failed = fi_disarm();
            if (!failed) continue; /* a run that allocates less (a cache warmed by an earlier run) */
            tried++;
            if (s == BERTC_OK) {
                survived++;
                CHECK(same, "%s: allocation %ld failed, the run succeeded with other outputs", p->name, nth);
            } else {
                nomem++;
                CHECK(s == BERTC_ERR_NOMEM && strstr(err.message, "out of memory"),
                      "%s: allocation %ld%s failed: status %s, \"%s\"", p->name, nth, persistent ? "+" : "",
                      bertc_status_str(s), err.message);
            }
        }
        free(points);
    }
    printf("  %s: %ld allocations from %ld sites, %ld failure points tried: %ld out of memory, %ld recovered\n",
           p->name, total, n_sites, tried, nomem, survived);
}

static void t_classify(void) {
    path p = {.name = "classify", .run = run_classify, .dir = TD "tiny-distilbert"};
    sweep(&p);
    if (sweep_size() != 20) { /* RoBERTa's 500,000-allocation tokenizer: in make faultsweep, not in every run */
        path q = {.name = "classify-roberta", .run = run_classify, .dir = TD "tiny-roberta"};
        sweep(&q);
    }
    path d = {.name = "classify-deberta", .run = run_classify, .dir = TD "tiny-deberta"}; /* deberta.c's paths */
    sweep(&d);
}

static void t_embed(void) {
    path p = {.name = "embed", .run = run_embed, .dir = TD "st/mean_norm"};
    sweep(&p);
}

static void t_tokenize(void) {
    const char *dirs[] = {TD "tok-bert", TD "tok-roberta", TD "tok-xlmr"};
    for (int i = 0; i < 3; i++) {
        path p = {.name = dirs[i] + strlen(TD), .run = run_tokenize, .dir = dirs[i]};
        sweep(&p);
    }
}

static void t_train_step(void) {
    snprintf(fdir, sizeof fdir, "/tmp/bertc-faults-%d", (int)getpid());
    char cmd[600], data[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", fdir, fdir);
    if (system(cmd) != 0) return;
    snprintf(data, sizeof data, "%s/train4.tsv", fdir);
    FILE *f = fopen(data, "w");
    if (!f) return;
    fprintf(f, "sentence\tlabel\na gripping , funny film .\t1\na dull , lifeless mess .\t0\n"
               "moving and warm .\t1\ntedious and flat .\t0\n");
    fclose(f);
    path p = {.name = "train-step", .run = run_train, .dir = TD "tiny-distilbert"};
    sweep(&p);
    path d = {.name = "distill", .run = run_distill, .dir = TD "tiny-distilbert"};
    sweep(&d);
    snprintf(cmd, sizeof cmd, "rm -rf %s", fdir);
    if (system(cmd) != 0) printf("  could not remove %s\n", fdir);
}


/* ---- the CLI: build/bertc-fi (BUILD's bertc linked with the wrappers) ---- */

static char *slurp(const char *file) {
    FILE *f = fopen(file, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 16);
    if (b) {
        size_t n = fread(b, 1, (1 << 16) - 1, f);
        b[n] = 0;
    }
    fclose(f);
    return b;
}

/* runs bertc-fi ARGS with BERTC_FAIL_ALLOC=spec; returns its exit status (-1: killed by a signal), stdout and
 * stderr in files under dir */
static int run_fi(const char *bin, const char *dir, const char *spec, const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "BERTC_FAIL_ALLOC=%s BERTC_FAIL_ALLOC_COUNT=%s/count ASAN_OPTIONS=exitcode=86:detect_leaks=1 "
             "UBSAN_OPTIONS=exitcode=87 %s %s >%s/out 2>%s/err",
             spec, dir, bin, args, dir, dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli_sweep(const char *name, const char *args) {
    const char *b = getenv("BERTC_BIN");
    char bin[512], dir[256];
    snprintf(bin, sizeof bin, "%s-fi", b && *b ? b : "build/bertc");
    if (access(bin, X_OK)) {
        CHECK(0, "%s is missing (make builds it beside bertc)", bin);
        return;
    }
    snprintf(dir, sizeof dir, "/tmp/bertc-fi-%d", (int)getpid());
    char mk[300];
    snprintf(mk, sizeof mk, "mkdir -p %s", dir);
    if (system(mk)) return;
    int rc = run_fi(bin, dir, "0", args);
    char fp[300];
    snprintf(fp, sizeof fp, "%s/out", dir);
    char *ref = slurp(fp);
    snprintf(fp, sizeof fp, "%s/count", dir);
    char *cnt = slurp(fp);
    long total = cnt ? atol(cnt) : 0;
    free(cnt);
    CHECK(rc == 0 && ref && total > 0, "%s: the unfailed run exited %d", name, rc);
    /* a process per point: the first 10 and about 10 more (every allocation under make faultsweep) */
    long want = sweep_size() <= 0 ? 0 : 10 + sweep_size() / 2;
    long stride = want > 10 && total > want ? (total - 10) / (want - 10) : 1;
    long tried = 0;
    for (long nth = 1; rc == 0 && ref && nth <= total; nth += nth <= 10 ? 1 : stride) {
        char spec[32];
        snprintf(spec, sizeof spec, "%ld%s", nth, tried % 2 ? "+" : "");
        int r = run_fi(bin, dir, spec, args);
        snprintf(fp, sizeof fp, "%s/out", dir);
        char *out = slurp(fp);
        snprintf(fp, sizeof fp, "%s/err", dir);
        char *er = slurp(fp);
        tried++;
        if (r == 0) CHECK(out && !strcmp(out, ref), "%s: allocation %s failed, exit 0 with other output", name, spec);
        else
            CHECK(r == 1 && er && strstr(er, "out of memory"), "%s: allocation %s failed: exit %d, stderr: %.300s",
                  name, spec, r, er ? er : "");
        free(out);
        free(er);
    }
    printf("  cli %s: %ld allocations, %ld failure points tried\n", name, total, tried);
    free(ref);
    snprintf(mk, sizeof mk, "rm -rf %s", dir);
    if (system(mk)) printf("  could not remove %s\n", dir);
}

static void t_cli(void) {
    cli_sweep("classify", "classify --threads 1 --model " TD "tiny-distilbert 'a gripping film .' 'a dull mess .'");
    cli_sweep("embed", "embed --threads 1 --model " TD "st/mean_norm 'a gripping film .'");
    cli_sweep("tokenize", "tokenize --model " TD "tok-roberta 'Héllo wörld, a test'");
}

void tests_faults(void) {
    if (!suite_sanitized() && suite_whole()) {
        printf("skip faults/*: the allocation-failure sweeps run in make check's ASan pass (build-san/test_bertc); "
               "build/test_bertc faults/ runs them here\n");
        return;
    }
    run_test("faults/classify", t_classify);
    run_test("faults/embed", t_embed);
    run_test("faults/tokenize", t_tokenize);
    run_test("faults/dataset", t_dataset);
    run_test("faults/pipelines", t_pipelines);
    run_test("faults/request", t_request);
    run_test("faults/train_step", t_train_step);
    run_test("faults/cli", t_cli);
}
