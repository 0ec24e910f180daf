/*
 * test_mpnet.c — MPNet beyond the sequence-classification fixture (tests/test_model.c): the tokenizer against
 * all-mpnet-base-v2's fast tokenizer on SST-2 dev, the token-classification / QA / masked-LM heads' raw logits
 * against transformers, int8 and bf16 compute, embeddings and the CLI (references: tools/make_tiny_mpnet.py).
 */
#include "test.h"
#include "formats/tensors.h"
#include "kernels/tiers.h"
#include "model/model.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static bertc_model *load_m(const char *dir, bertc_dtype dt, bertc_compute cm) {
    bertc_model_params p = bertc_model_default_params();
    p.dtype = dt;
    p.compute = cm;
    p.n_threads = 2;
    bertc_model *m = NULL;
    bertc_error err;
    bertc_status s = bertc_model_load(dir, &p, &m, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    return m;
}

static bool ids_match(const bertc_encoding *e, const json_t *ids) {
    if (e->n != json_array_size(ids)) return false;
    for (size_t k = 0; k < e->n; k++)
        if (e->ids[k] != json_integer_value(json_array_get(ids, k))) return false;
    return true;
}

/* SST-2 dev's 872 sentences: the ids all-mpnet-base-v2's fast tokenizer gives (renumbered into tiny-mpnet's
 * sub-vocabulary, which holds every piece it chose) */
static void t_tokref(void) {
    bertc_tokenizer *t = NULL;
    bertc_error err;
    CHECK(bertc_tokenizer_load(TD "tiny-mpnet", &t, &err) == BERTC_OK, "load: %s", err.message);
    gzFile f = gzopen(TD "tiny-mpnet.tokref.jsonl.gz", "rb");
    CHECK(f != NULL, "cannot open tiny-mpnet.tokref.jsonl.gz");
    if (!f || !t) goto done;
    static char line[1 << 16];
    size_t n = 0, bad = 0;
    while (gzgets(f, line, sizeof line)) {
        json_t *j = json_loads(line, 0, NULL);
        CHECK(j != NULL, "bad line %zu", n + 1);
        if (!j) break;
        json_t *tx = json_object_get(j, "text");
        bertc_encoding e;
        if (bertc_tokenize(t, json_string_value(tx), json_string_length(tx), NULL, 0, NULL, &e, &err) ||
            !ids_match(&e, json_object_get(j, "ids"))) {
            if (bad++ < 3) printf("  mismatch: %.80s\n", json_string_value(tx));
        }
        bertc_encoding_free(&e);
        json_decref(j);
        n++;
    }
    gzclose(f);
    CHECK(n == 872 && bad == 0, "%zu of %zu sentences differ", bad, n);
done:
    bertc_tokenizer_free(t);
}

/* tiny-{ner,qa,mlm}-mpnet: input ids and raw logits against transformers (1e-4) */
static void check_head(const char *name, int mode /* 0 tokens, 1 pair, 2 masked rows */) {
    char dir[256], path[256];
    snprintf(dir, sizeof dir, TD "%s", name);
    bertc_model *m = load_m(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
    snprintf(path, sizeof path, TD "%s.ref.json", name);
    json_t *ref = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, TD "%s.ref.safetensors", name);
    mapped_file mf;
    tensor_set ts = {0};
    bertc_error err;
    CHECK(ref && map_file(path, &mf, &err) == 0, "open %s references", name);
    if (!ref || !m) goto done;
    CHECK(safetensors_parse(&ts, mf.data, mf.size, path, &err) == 0, "parse %s", path);
    json_t *cases = json_object_get(ref, "cases");
    double worst = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i), *in = json_object_get(c, "input");
        bertc_encoding e;
        bertc_status s = mode == 1 ? bertc_tokenize(bertc_model_tokenizer(m), json_string_value(json_array_get(in, 0)),
                                                    strlen(json_string_value(json_array_get(in, 0))),
                                                    json_string_value(json_array_get(in, 1)),
                                                    strlen(json_string_value(json_array_get(in, 1))), NULL, &e, &err)
                                   : bertc_tokenize(bertc_model_tokenizer(m), json_string_value(in), strlen(json_string_value(in)),
                                                    NULL, 0, NULL, &e, &err);
        CHECK(s == BERTC_OK, "%s case %zu: tokenize: %s", name, i, err.message);
        if (s) continue;
        CHECK(ids_match(&e, json_object_get(c, "input_ids")), "%s case %zu: input ids differ", name, i);
        char tn[32];
        snprintf(tn, sizeof tn, "logits.%zu", i);
        const tensor_info *t = tensor_set_find(&ts, tn);
        CHECK(t && t->ndim == 2, "%s: no %s", name, tn);
        if (!t) {
            bertc_encoding_free(&e);
            continue;
        }
        size_t rows = (size_t)t->shape[0], cols = (size_t)t->shape[1];
        float *out = malloc(rows * cols * sizeof(float));
        if (mode == 2) {
            json_t *rj = json_object_get(c, "rows");
            int32_t *rr = malloc(2 * rows * sizeof *rr);
            for (size_t r = 0; r < rows; r++) rr[2 * r] = 0, rr[2 * r + 1] = (int32_t)json_integer_value(json_array_get(rj, r));
            s = bertc_mlm_logits(m, &e, 1, rr, rows, out, &err);
            free(rr);
        } else {
            CHECK(rows == e.n, "%s case %zu: %zu reference rows for %zu tokens", name, i, rows, e.n);
            s = rows == e.n ? bertc_token_logits(m, &e, 1, out, &err) : BERTC_ERR_INPUT;
        }
        CHECK(s == BERTC_OK, "%s case %zu: %s", name, i, err.message);
        const float *rf = (const float *)t->data;
        for (size_t k = 0; !s && k < rows * cols; k++)
            if (fabs(out[k] - rf[k]) > worst) worst = fabs(out[k] - rf[k]);
        free(out);
        bertc_encoding_free(&e);
    }
    printf("  %-16s worst logit diff %.1e over %zu inputs\n", name, worst, json_array_size(cases));
    CHECK(worst <= 1e-4, "%s: logits differ by %.2e", name, worst);
    tensor_set_free(&ts);
    unmap_file(&mf);
done:
    json_decref(ref);
    bertc_model_free(m);
}

static void t_ner(void) { check_head("tiny-ner-mpnet", 0); }
static void t_qa(void) { check_head("tiny-qa-mpnet", 1); }
static void t_mlm(void) { check_head("tiny-mlm-mpnet", 2); }

/* int8, bf16 compute and fp16 storage on tiny-mpnet's texts: logits near fp32's (loose bounds: random weights, 16
 * wide) */
static void t_int8_bf16(void) {
    FILE *fp = fopen(TD "tiny-mpnet.ref.jsonl", "r");
    CHECK(fp, "open tiny-mpnet.ref.jsonl");
    if (!fp) return;
    json_t *rows[256];
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (n < 256 && getline(&line, &cap, fp) > 0) rows[n++] = json_loads(line, JSON_ALLOW_NUL, NULL);
    free(line);
    fclose(fp);
    bertc_text *in = calloc(n, sizeof *in);
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_object_get(rows[i], "text");
        in[i].text = json_string_value(t);
        in[i].len = json_string_length(t);
    }
    bertc_model *ms[4] = {load_m(TD "tiny-mpnet", BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32),
                          load_m(TD "tiny-mpnet", BERTC_DTYPE_INT8, BERTC_COMPUTE_FP32),
                          load_m(TD "tiny-mpnet", BERTC_DTYPE_FP32, BERTC_COMPUTE_BF16),
                          load_m(TD "tiny-mpnet", BERTC_DTYPE_FP16, BERTC_COMPUTE_FP32)};
    bertc_classification *out[4];
    bertc_error err;
    for (int k = 0; k < 4; k++) {
        out[k] = calloc(n, sizeof *out[k]);
        CHECK(ms[k] && bertc_classify(ms[k], in, n, NULL, out[k], &err) == BERTC_OK, "classify %d: %s", k, err.message);
    }
    static const char *const what[4] = {"fp32", "int8", "bf16", "fp16"};
    for (int k = 1; k < 4; k++) {
        double worst = 0;
        int agree = 0;
        for (size_t i = 0; i < n; i++) {
            for (int l = 0; l < out[0][i].n_labels && l < out[k][i].n_labels; l++) {
                double d = fabs(out[0][i].logits[l] - out[k][i].logits[l]);
                if (d > worst) worst = d;
            }
            agree += out[0][i].label_id == out[k][i].label_id;
        }
        printf("  tiny-mpnet %s vs fp32: worst logit diff %.2e, labels agree %d/%zu\n", what[k], worst, agree, n);
        CHECK(worst <= 0.1 && agree >= (int)(n * 9 / 10), "%s: logits differ by %.3g, %d/%zu labels agree", what[k],
              worst, agree, n);
    }
    for (int k = 0; k < 4; k++) {
        bertc_classification_free(out[k], n);
        free(out[k]);
        bertc_model_free(ms[k]);
    }
    free(in);
    for (size_t i = 0; i < n; i++) json_decref(rows[i]);
}

/* Mean-pooled embeddings of a bare tiny-mpnet against the mean of transformers' last hidden state */
static void t_embed(void) {
    bertc_model *m = load_m(TD "tiny-mpnet", BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
    mapped_file mf;
    tensor_set ts = {0};
    bertc_error err;
    CHECK(map_file(TD "tiny-mpnet.ref.hidden.safetensors", &mf, &err) == 0, "map");
    CHECK(safetensors_parse(&ts, mf.data, mf.size, "hidden", &err) == 0, "parse");
    FILE *fp = fopen(TD "tiny-mpnet.ref.jsonl", "r");
    char *line = NULL;
    size_t cap = 0;
    int i = 0, checked = 0;
    double worst = 0;
    while (m && fp && getline(&line, &cap, fp) > 0) {
        json_t *j = json_loads(line, JSON_ALLOW_NUL, NULL);
        char hn[64];
        snprintf(hn, sizeof hn, "last_hidden_state.%d", i);
        const tensor_info *t = i % 5 == 0 ? tensor_set_find(&ts, hn) : NULL;
        if (t) {
            json_t *tx = json_object_get(j, "text");
            bertc_text in = {0};
            in.text = json_string_value(tx);
            in.len = json_string_length(tx);
            bertc_embedding emb = {0};
            bertc_status s = bertc_embed(m, &in, 1, NULL, BERTC_POOL_MEAN, &emb, &err);
            CHECK(s == BERTC_OK, "embed %d: %s", i, s ? err.message : "");
            int T = (int)t->shape[0], H = (int)t->shape[1];
            const float *h = (const float *)t->data;
            for (int k = 0; !s && k < H; k++) {
                double mean = 0;
                for (int r = 0; r < T; r++) mean += h[(size_t)r * H + k];
                mean /= T;
                if (fabs(mean - emb.data[k]) > worst) worst = fabs(mean - emb.data[k]);
            }
            if (!s) bertc_embedding_free(&emb, 1);
            checked++;
        }
        json_decref(j);
        i++;
    }
    free(line);
    if (fp) fclose(fp);
    printf("  tiny-mpnet mean pooling: worst diff %.1e over %d texts\n", worst, checked);
    CHECK(checked > 20 && worst <= 1e-4, "mean embeddings differ by %.2e (%d texts)", worst, checked);
    tensor_set_free(&ts);
    unmap_file(&mf);
    bertc_model_free(m);
}

/* The CLI end to end: classify, ner, qa, fill-mask on the tiny checkpoints */
static void t_cli(void) {
    char out[16384];
    int rc = run_cli("@ classify --logits --model " TD "tiny-mpnet \"it 's a charming and often affecting journey . \"",
                     out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"label\": \"negative\"") && strstr(out, "0.2258"), "classify: %d %s", rc, out);
    rc = run_cli("@ ner --model " TD "tiny-ner-mpnet 'Angela Merkel met Emmanuel Macron in Paris'", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"entity"), "ner: %d %s", rc, out);
    rc = run_cli("@ qa --model " TD "tiny-qa-mpnet --context 'My name is Wolfgang and I live in Berlin.' 'Where do I live?'",
                 out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"answer\""), "qa: %d %s", rc, out);
    rc = run_cli("@ fill-mask --model " TD "tiny-mlm-mpnet 'Paris is the <mask> of France.'", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"token_str\""), "fill-mask: %d %s", rc, out);
}

/* attention_head_rel on this CPU's tier against the portable head, over head sizes and lengths that take every
 * path (4-key blocks, the tail, dh % 8 != 0) */
static void t_attention_rel(void) {
    static const int dhs[] = {4, 8, 12, 16, 64}, Ts[] = {1, 3, 4, 17, 100};
    double worst = 0;
    uint64_t st = 7;
    for (size_t a = 0; a < sizeof dhs / sizeof *dhs; a++)
        for (size_t b = 0; b < sizeof Ts / sizeof *Ts; b++) {
            int dh = dhs[a], T = Ts[b], nh = 2, H = nh * dh;
            float *qkv = malloc((size_t)T * 3 * H * sizeof(float)), *rel = malloc((size_t)(2 * T - 1) * sizeof(float));
            float *o1 = calloc((size_t)T * H, sizeof(float)), *o2 = calloc((size_t)T * H, sizeof(float));
            float *scratch = malloc((size_t)4 * (T + 8 + dh) * sizeof(float));
            for (int i = 0; i < T * 3 * H; i++) qkv[i] = (float)((st = st * 6364136223846793005ull + 1) >> 40) / 16777216.0f - 0.5f;
            for (int i = 0; i < 2 * T - 1; i++) rel[i] = (float)((st = st * 6364136223846793005ull + 1) >> 40) / 4194304.0f - 2.0f;
            for (int h = 0; h < nh; h++) {
                attention_head_rel(o1, qkv, T, T, H, h, dh, scratch, rel + T - 1);
                attention_head_rel_ref(o2, qkv, T, T, H, h, dh, scratch, rel + T - 1);
            }
            for (int i = 0; i < T * H; i++) worst = fmax(worst, fabs(o1[i] - o2[i]));
            free(qkv), free(rel), free(o1), free(o2), free(scratch);
        }
    printf("  attention_head_rel (%s) vs portable: worst diff %.1e\n", kernel_ops()->simd, worst);
    CHECK(worst <= 1e-5, "attention_head_rel differs from the portable head by %.2e", worst);
}

/* config.json variants transformers' MPNet cannot run are refused by name; a checkpoint without the relative bias
 * names the tensor */
static void t_errors(void) {
    model_config c;
    bertc_error err;
    memset(&c, 0, sizeof c);
    bertc_status s = model_config_parse(&c, "{\"model_type\": \"mpnet\", \"relative_attention_num_buckets\": 16}",
                                        "config.json", &err);
    CHECK(s == BERTC_ERR_UNSUPPORTED && strstr(err.message, "relative_attention_num_buckets 16"), "buckets: %d %s", s,
          err.message);
    model_config_free(&c);
    memset(&c, 0, sizeof c);
    s = model_config_parse(&c, "{\"model_type\": \"mpnet\", \"hidden_size\": 30, \"num_attention_heads\": 4}",
                           "config.json", &err);
    CHECK(s == BERTC_ERR_FORMAT && strstr(err.message, "num_attention_heads 4"), "heads: %d %s", s, err.message);
    model_config_free(&c);
    memset(&c, 0, sizeof c);
    s = model_config_parse(&c, "{\"model_type\": \"mpnet\"}", "config.json", &err);
    CHECK(s == BERTC_OK && c.arch == BERTC_ARCH_MPNET && c.rel_buckets == 32 && c.ln_eps == 1e-12f &&
          c.vocab_size == 30527 && model_position_cap(&c) == 510 && !strcmp(model_class_name(&c), "MPNetForSequenceClassification"),
          "defaults: %d %s", s, s ? err.message : "");
    model_config_free(&c);
    /* the weights without encoder.relative_attention_bias */
    char dir[] = "/tmp/bertc-mpnet-XXXXXX", cmd[1024], out[4096];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(cmd, sizeof cmd, "cp " TD "tiny-mpnet/config.json " TD "tiny-mpnet/tokenizer*.json %s/ && "
             "LC_ALL=C sed 's/relative_attention_bias[.]weight/relative_attention_xxxx.weight/' " TD "tiny-mpnet/model.safetensors "
             "> %s/model.safetensors "
             "&& @ classify --model %s good 2>&1", dir, dir, dir);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "mpnet.encoder.relative_attention_bias.weight"), "missing bias: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "rm");
}

void tests_mpnet(void) {
    run_test("mpnet/errors", t_errors);
    run_test("mpnet/attention_rel_kernel", t_attention_rel);
    run_test("mpnet/tokenizer_sst2_dev", t_tokref);
    run_test("mpnet/token_classification", t_ner);
    run_test("mpnet/question_answering", t_qa);
    run_test("mpnet/masked_lm", t_mlm);
    run_test("mpnet/int8_bf16", t_int8_bf16);
    run_test("mpnet/embed_mean", t_embed);
    run_test("mpnet/cli", t_cli);
}
