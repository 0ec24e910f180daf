/*
 * test_modernbert.c — ModernBERT against transformers (references made by tools/make_tiny_modernbert.py): the
 * byte-level BPE tokenizer's ids on the fixture texts and SST-2 dev, a 6,041-token input through global and local
 * layers (rows of the last hidden state, logits), the token-classification / question-answering / masked-LM heads,
 * batched = single, config.json's variants (old and new field names; unsupported ones refused by name), the
 * int8 / fp16 / bf16 paths, and training: `bertc train` end to end (the saved folders reload with the trainer's
 * logits), a bare encoder's fresh head, the backward against central differences with dropout on at every site (the
 * gradients against torch's are test_train.c's). The sequence-classification fixtures themselves are check_fixture's
 * (test_model.c).
 */
#include "test.h"
#include "model/model.h"
#include "formats/tensors.h"
#include "train/tmodel.h"
#include "train_checks.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bertc_model *mload(const char *dir, const bertc_model_params *p) {
    bertc_model *m = NULL;
    bertc_error err;
    bertc_status s = bertc_model_load(dir, p, &m, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    return m;
}

static bool ids_equal(const bertc_encoding *e, const json_t *ids) {
    bool same = e->n == json_array_size(ids);
    for (size_t k = 0; same && k < e->n; k++) same = e->ids[k] == json_integer_value(json_array_get(ids, k));
    return same;
}

/* every reference text's ids from tok-modernbert.ref.jsonl (fixture texts, then the 872 SST-2 dev sentences) */
static void t_tokenizer(void) {
    bertc_tokenizer *tok = NULL;
    bertc_error err;
    CHECK(bertc_tokenizer_load(TD "tok-modernbert", &tok, &err) == BERTC_OK, "load: %s", err.message);
    FILE *f = fopen(TD "tok-modernbert.ref.jsonl", "r");
    CHECK(f != NULL, "open ref");
    if (!tok || !f) goto done;
    char *line = NULL;
    size_t cap = 0, n = 0, bad = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, JSON_ALLOW_NUL, NULL);
        json_t *t = json_object_get(r, "text");
        bertc_encoding e;
        if (bertc_tokenize(tok, json_string_value(t), json_string_length(t), NULL, 0, NULL, &e, NULL) == BERTC_OK) {
            if (!ids_equal(&e, json_object_get(r, "input_ids"))) {
                bad++;
                CHECK(0, "ids of %.60s", json_string_value(t));
            }
            bertc_encoding_free(&e);
        } else {
            CHECK(0, "tokenize %.60s", json_string_value(t));
        }
        n++;
        json_decref(r);
    }
    free(line);
    CHECK(n > 1000 && bad == 0, "%zu of %zu texts differ", bad, n);
done:
    if (f) fclose(f);
    bertc_tokenizer_free(tok);
}

/* 6,041 tokens: local layers (windows 4 and 8) and global ones at positions up to 6,040 */
static void t_long_input(void) {
    json_error_t je;
    json_t *r = json_load_file(TD "tiny-modernbert.long.ref.json", 0, &je);
    CHECK(r != NULL, "long ref: %s", je.text);
    if (!r) return;
    const json_t *text = json_object_get(r, "text");
    static const char *const names[] = {"tiny-modernbert", "tiny-modernbert-mean"};
    for (int mi = 0; mi < 2; mi++) {
        char dir[128];
        snprintf(dir, sizeof dir, TD "%s", names[mi]);
        bertc_model *m = mload(dir, NULL);
        if (!m) continue;
        const json_t *ref = json_object_get(r, names[mi]);
        bertc_encoding e;
        bertc_error err;
        CHECK(bertc_tokenize(bertc_model_tokenizer(m), json_string_value(text), json_string_length(text), NULL, 0, NULL,
                             &e, NULL) == BERTC_OK, "tokenize");
        CHECK(ids_equal(&e, json_object_get(r, "input_ids")), "%s: ids of the long text (%zu)", names[mi], e.n);
        CHECK(e.n == (size_t)json_integer_value(json_object_get(ref, "n_tokens")), "n_tokens");
        const int H = m->cfg.hidden;
        float *hid = malloc(e.n * H * sizeof(float)), logits[3];
        CHECK(model_forward(m, &e, 1, hid, NULL, logits, &err) == BERTC_OK, "forward: %s", err.message);
        double worst = 0;
        const json_t *rows = json_object_get(ref, "rows"), *hr = json_object_get(ref, "hidden");
        for (size_t i = 0; i < json_array_size(rows); i++) {
            size_t row = (size_t)json_integer_value(json_array_get(rows, i));
            for (int k = 0; k < H && row < e.n; k++)
                worst = fmax(worst, fabs(hid[row * H + k] - json_number_value(json_array_get(json_array_get(hr, i), k))));
        }
        for (int k = 0; k < 3; k++)
            worst = fmax(worst, fabs(logits[k] - json_number_value(json_array_get(json_object_get(ref, "logits"), k))));
        CHECK(worst <= 1e-4, "%s: long input differs by %.2e", names[mi], worst);
        if (getenv("BERTC_TEST_VERBOSE")) printf("  %s long (%zu tokens): worst %.1e\n", names[mi], e.n, worst);
        free(hid);
        bertc_encoding_free(&e);
        bertc_model_free(m);
    }
    json_decref(r);
}

static double row_diff(const float *a, const json_t *b, size_t n) {
    double w = 0;
    for (size_t k = 0; k < n; k++) w = fmax(w, fabs(a[k] - json_number_value(json_array_get(b, k))));
    return w;
}

/* token classification, question answering (pairs), masked LM against the models' raw logits */
static void t_heads(void) {
    json_error_t je;
    json_t *r = json_load_file(TD "tiny-modernbert.heads.ref.json", 0, &je);
    CHECK(r != NULL, "heads ref: %s", je.text);
    if (!r) return;
    bertc_error err;
    double worst = 0;
    bertc_model *m = mload(TD "tiny-ner-modernbert", NULL);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "ner"), i, c) {
        if (!m) break;
        const json_t *t = json_object_get(c, "text");
        bertc_encoding e;
        bertc_tokenize(bertc_model_tokenizer(m), json_string_value(t), json_string_length(t), NULL, 0, NULL, &e, NULL);
        CHECK(ids_equal(&e, json_object_get(c, "input_ids")), "ner ids %zu", i);
        int L = m->cfg.n_labels;
        float *out = malloc(e.n * L * sizeof(float));
        CHECK(bertc_token_logits(m, &e, 1, out, &err) == BERTC_OK, "token logits: %s", err.message);
        for (size_t k = 0; k < e.n && k < json_array_size(json_object_get(c, "logits")); k++)
            worst = fmax(worst, row_diff(out + k * L, json_array_get(json_object_get(c, "logits"), k), (size_t)L));
        free(out);
        bertc_encoding_free(&e);
    }
    bertc_model_free(m);
    m = mload(TD "tiny-qa-modernbert", NULL);
    json_array_foreach(json_object_get(r, "qa"), i, c) {
        if (!m) break;
        const json_t *q = json_object_get(c, "question"), *ctx = json_object_get(c, "context");
        bertc_encoding e;
        bertc_tokenize(bertc_model_tokenizer(m), json_string_value(q), json_string_length(q), json_string_value(ctx),
                       json_string_length(ctx), NULL, &e, NULL);
        CHECK(ids_equal(&e, json_object_get(c, "input_ids")), "qa ids %zu", i);
        float *out = malloc(e.n * 2 * sizeof(float));
        CHECK(bertc_token_logits(m, &e, 1, out, &err) == BERTC_OK, "qa logits: %s", err.message);
        for (size_t k = 0; k < e.n; k++) {
            worst = fmax(worst, fabs(out[2 * k] - json_number_value(json_array_get(json_object_get(c, "start_logits"), k))));
            worst = fmax(worst, fabs(out[2 * k + 1] - json_number_value(json_array_get(json_object_get(c, "end_logits"), k))));
        }
        free(out);
        bertc_encoding_free(&e);
    }
    bertc_model_free(m);
    m = mload(TD "tiny-mlm-modernbert", NULL);
    json_array_foreach(json_object_get(r, "mlm"), i, c) {
        if (!m) break;
        const json_t *t = json_object_get(c, "text"), *rows = json_object_get(c, "rows");
        bertc_encoding e;
        bertc_tokenize(bertc_model_tokenizer(m), json_string_value(t), json_string_length(t), NULL, 0, NULL, &e, NULL);
        CHECK(ids_equal(&e, json_object_get(c, "input_ids")), "mlm ids %zu", i);
        size_t nr = json_array_size(rows);
        int V = m->cfg.vocab_size;
        int32_t *rr = malloc(2 * nr * sizeof *rr);
        for (size_t k = 0; k < nr; k++) rr[2 * k] = 0, rr[2 * k + 1] = (int32_t)json_integer_value(json_array_get(rows, k));
        float *out = malloc(nr * V * sizeof(float));
        CHECK(bertc_mlm_logits(m, &e, 1, rr, nr, out, &err) == BERTC_OK, "mlm logits: %s", err.message);
        for (size_t k = 0; k < nr; k++)
            worst = fmax(worst, row_diff(out + k * V, json_array_get(json_object_get(c, "logits"), k), (size_t)V));
        free(rr);
        free(out);
        bertc_encoding_free(&e);
    }
    bertc_model_free(m);
    CHECK(worst <= 1e-4, "heads differ from transformers' by %.2e", worst);
    if (getenv("BERTC_TEST_VERBOSE")) printf("  heads worst %.1e\n", worst);
    json_decref(r);
}

/* a batch is the same arithmetic as single runs (mean pooling too) */
static void t_batch_equals_single(void) {
    static const char *const names[] = {TD "tiny-modernbert", TD "tiny-modernbert-mean"};
    static const char *const texts[] = {"a", "a much longer sentence with many more words in it than the first one",
                                        "", "mid length text here", "[MASK] and [PAD] inside"};
    for (int mi = 0; mi < 2; mi++) {
        bertc_model *m = mload(names[mi], NULL);
        if (!m) continue;
        bertc_text in[5];
        for (int i = 0; i < 5; i++) in[i] = (bertc_text){texts[i], strlen(texts[i]), NULL, 0};
        bertc_classification all[5], one;
        bertc_classify_params p = bertc_classify_default_params();
        CHECK(bertc_classify(m, in, 5, &p, all, NULL) == 0, "batch");
        p.batch_size = 1;
        for (int i = 0; i < 5; i++) {
            CHECK(bertc_classify(m, &in[i], 1, &p, &one, NULL) == 0, "single");
            CHECK(!memcmp(one.logits, all[i].logits, 3 * sizeof(float)), "%s text %d: batched != single", names[mi], i);
            bertc_classification_free(&one, 1);
        }
        bertc_classification_free(all, 5);
        bertc_model_free(m);
    }
}

/* A copy of a fixture folder with config.json's text edited: old[] replaced by new[]. */
static bool folder_with_config(char *dir, const char *src, const char *const *edits, int n_edits) {
    char cmd[1024], path[512];
    if (!mkdtemp(dir)) return false;
    snprintf(cmd, sizeof cmd, "cp %s/model.safetensors %s/tokenizer.json %s/tokenizer_config.json %s/", src, src, src, dir);
    if (system(cmd) != 0) return false;
    snprintf(path, sizeof path, "%s/config.json", src);
    char *txt = NULL;
    if (read_file(path, &txt, NULL, NULL)) return false;
    for (int i = 0; i < n_edits; i++) {
        char *at = strstr(txt, edits[2 * i]);
        if (!at) {
            free(txt);
            return false;
        }
        size_t ol = strlen(edits[2 * i]), nl = strlen(edits[2 * i + 1]), tl = strlen(txt);
        char *nt = malloc(tl - ol + nl + 1);
        size_t pre = (size_t)(at - txt);
        memcpy(nt, txt, pre);
        memcpy(nt + pre, edits[2 * i + 1], nl);
        memcpy(nt + pre + nl, at + ol, tl - pre - ol + 1);
        free(txt);
        txt = nt;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(txt, f);
        fclose(f);
    }
    free(txt);
    return f != NULL;
}

static void rm_folder(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) CHECK(0, "rm %s", dir);
}

static void t_config(void) {
    /* transformers 4.x's names (global_attn_every_n_layers, global_rope_theta / local_rope_theta, no layer_types,
     * no rope_parameters) read the same as 5.x's */
    static const char *const old[] = {
        "\"layer_types\": [\n    \"full_attention\",\n    \"sliding_attention\",\n    \"sliding_attention\"\n  ],", "",
        "\"rope_parameters\": {\n    \"full_attention\": {\n      \"rope_theta\": 50000.0,\n      \"rope_type\": \"default\"\n"
        "    },\n    \"sliding_attention\": {\n      \"rope_theta\": 5000.0,\n      \"rope_type\": \"default\"\n    }\n  },",
        "\"global_rope_theta\": 50000.0, \"local_rope_theta\": 5000.0,"};
    char dir[] = "/tmp/bertc-mb-XXXXXX";
    CHECK(folder_with_config(dir, TD "tiny-modernbert-mean", old, 2), "old-style config");
    bertc_model *a = mload(dir, NULL), *b = mload(TD "tiny-modernbert-mean", NULL);
    if (a && b) {
        bertc_text in = {"old names, same numbers", 23, NULL, 0};
        bertc_classification x, y;
        CHECK(!bertc_classify(a, &in, 1, NULL, &x, NULL) && !bertc_classify(b, &in, 1, NULL, &y, NULL), "classify");
        CHECK(!memcmp(x.logits, y.logits, 3 * sizeof(float)), "old-style config gives other logits");
        bertc_classification_free(&x, 1);
        bertc_classification_free(&y, 1);
    }
    bertc_model_free(a);
    bertc_model_free(b);
    rm_folder(dir);
    /* unsupported variants, refused by name */
    static const struct {
        const char *from, *to, *says;
    } bad[] = {
        {"\"rope_type\": \"default\"\n    },\n    \"sliding", "\"rope_type\": \"linear\", \"factor\": 2.0\n    },\n    \"sliding",
         "rope_type linear"},
        {"\"classifier_pooling\": \"mean\"", "\"classifier_pooling\": \"max\"", "classifier_pooling max"},
        {"\"hidden_activation\": \"gelu_pytorch_tanh\"", "\"hidden_activation\": \"silu\"", "hidden_activation \"silu\""},
        {"\"sliding_attention\",\n    \"sliding_attention\"\n", "\"sliding_attention\",\n    \"chunked_attention\"\n",
         "layer_types[2] chunked_attention"},
        {"\"norm_bias\": false", "\"norm_bias\": \"no\"", "norm_bias \"no\" is not a boolean"},
        {"\"num_attention_heads\": 2", "\"num_attention_heads\": 2, \"head_dim\": 8", "head_dim 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char d2[] = "/tmp/bertc-mb-XXXXXX";
        const char *ed[2] = {bad[i].from, bad[i].to};
        CHECK(folder_with_config(d2, TD "tiny-modernbert-mean", ed, 1), "config %zu", i);
        bertc_model *m = NULL;
        bertc_error err;
        bertc_status s = bertc_model_load(d2, NULL, &m, &err);
        CHECK(s != BERTC_OK && strstr(err.message, bad[i].says), "variant %zu: %s", i, s ? err.message : "loaded");
        bertc_model_free(m);
        rm_folder(d2);
    }
}

/* int8, fp16 and bf16 weights, bf16 compute: the same labels on most fixture texts, logits near fp32's */
static void t_dtypes(void) {
    static const char *const texts[] = {"it 's a charming and often affecting journey .", "unflinchingly bleak and desperate",
                                        "the acting , costumes , music , cinematography and sound are all astounding",
                                        "Hello", "naïve café résumé"};
    bertc_model *ref = mload(TD "tiny-modernbert", NULL);
    if (!ref) return;
    bertc_text in[5];
    for (int i = 0; i < 5; i++) in[i] = (bertc_text){texts[i], strlen(texts[i]), NULL, 0};
    bertc_classification base[5];
    CHECK(!bertc_classify(ref, in, 5, NULL, base, NULL), "fp32");
    static const struct {
        bertc_dtype d;
        bertc_compute c;
        double tol;
    } v[] = {{BERTC_DTYPE_FP16, BERTC_COMPUTE_FP32, 0.01}, {BERTC_DTYPE_BF16, BERTC_COMPUTE_FP32, 0.05},
             {BERTC_DTYPE_INT8, BERTC_COMPUTE_FP32, 0.15}, {BERTC_DTYPE_FP32, BERTC_COMPUTE_BF16, 0.05}};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        bertc_model_params p = bertc_model_default_params();
        p.dtype = v[k].d;
        p.compute = v[k].c;
        bertc_model *m = mload(TD "tiny-modernbert", &p);
        if (!m) continue;
        bertc_classification out[5];
        CHECK(!bertc_classify(m, in, 5, NULL, out, NULL), "classify %zu", k);
        double worst = 0;
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++) worst = fmax(worst, fabs(out[i].logits[j] - base[i].logits[j]));
        CHECK(worst <= v[k].tol && worst > 0, "variant %zu: logits %.3g from fp32's", k, worst);
        bertc_classification_free(out, 5);
        bertc_model_free(m);
    }
    bertc_classification_free(base, 5);
    bertc_model_free(ref);
}

/* a sentence-transformers folder (mean pooling, Normalize) as SentenceTransformer.encode() gives it */
static void t_sentence_transformers(void) {
    json_error_t je;
    json_t *r = json_load_file(TD "tiny-modernbert-st.ref.json", 0, &je);
    CHECK(r != NULL, "st ref: %s", je.text);
    bertc_model *m = r ? mload(TD "tiny-modernbert-st", NULL) : NULL;
    if (m) {
        const json_t *texts = json_object_get(r, "texts"), *embs = json_object_get(r, "embeddings");
        size_t n = json_array_size(texts);
        bertc_text *in = calloc(n, sizeof *in);
        bertc_embedding *out = calloc(n, sizeof *out);
        for (size_t i = 0; i < n; i++)
            in[i] = (bertc_text){json_string_value(json_array_get(texts, i)), json_string_length(json_array_get(texts, i)),
                                 NULL, 0};
        bertc_embed_params p = bertc_embed_default_params();
        bertc_error err;
        CHECK(bertc_embed_ex(m, in, n, &p, out, &err) == BERTC_OK, "embed: %s", err.message);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(out[i].rows == 1 && out[i].hidden == 32, "shape %d x %d", out[i].rows, out[i].hidden);
            worst = fmax(worst, row_diff(out[i].data, json_array_get(embs, i), 32));
        }
        CHECK(worst <= 1e-5, "sentence-transformers embeddings differ by %.2e", worst);
        bertc_embedding_free(out, n);
        free(out);
        free(in);
        bertc_model_free(m);
    }
    json_decref(r);
}

/* `bertc train` a few steps on SST-2 dev from a classifier checkpoint (tiny-modernbert-mean: no biases, mean pooling)
 * and from a masked-LM one (tiny-mlm-modernbert: head.dense / head.norm kept, the classifier fresh); each saved folder
 * loads for inference and for training again, both give the same logits (within 1e-4), moved from the start */
static void t_train(void) {
    static const char *const srcs[] = {TD "tiny-modernbert-mean", TD "tiny-mlm-modernbert"};
    for (int i = 0; i < 2; i++) {
        char dir[] = "/tmp/bertc-mb-train-XXXXXX", saved[600];
        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
        snprintf(saved, sizeof saved, "%s/out", dir);
        check_trained_folder(srcs[i], saved, 0);
        rm_folder(dir);
    }
}

/* a bare encoder (ModernBertModel's tensors only): the head is fresh, head.norm's weight at ones as LayerNorm's
 * init sets it, and a training step runs */
static void t_train_bare(void) {
    char dir[] = "/tmp/bertc-mb-bare-XXXXXX", cmd[1024], path[600];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    tmodel *t = NULL, *b = NULL;
    bertc_error err;
    CHECK(tmodel_load(TD "tiny-modernbert-mean", NULL, 2, &t, NULL, &err) == BERTC_OK, "load: %s", err.message);
    if (!t) return;
    st_entry *e = calloc((size_t)t->np, sizeof *e);
    int ne = 0;
    for (int i = 0; i < t->np; i++) {
        const tparam *p = &t->p[i];
        if (strncmp(p->name, "model.", 6)) continue;
        e[ne++] = (st_entry){p->name, "F32", p->ndim, {p->shape[0], p->shape[1], 0, 0}, t->w + p->off, p->n * sizeof(float)};
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(safetensors_write(path, e, ne, &err) == BERTC_OK, "write: %s", err.message);
    free(e);
    snprintf(cmd, sizeof cmd, "cp " TD "tiny-modernbert-mean/config.json " TD "tiny-modernbert-mean/tokenizer.json " TD
             "tiny-modernbert-mean/tokenizer_config.json %s/", dir);
    CHECK(system(cmd) == 0, "cp");
    char *fresh = NULL;
    CHECK(tmodel_load(dir, NULL, 2, &b, &fresh, &err) == BERTC_OK, "load bare: %s", err.message);
    if (b) {
        CHECK(fresh && !strcmp(fresh, "head.dense.weight, classifier.weight, classifier.bias, head.norm.weight"),
              "fresh: %s", fresh ? fresh : "(none)");
        int pi = tmodel_find(b, "head.norm.weight");
        bool ones = pi >= 0;
        for (size_t k = 0; ones && k < b->p[pi].n; k++) ones = b->w[b->p[pi].off + k] == 1.0f;
        CHECK(ones, "fresh head.norm.weight is not ones");
        /* _init_weights' truncated normals: head.dense std 0.2 / sqrt(2 x 3 layers), cut at 2 std (the truncated
         * distribution's own std is 0.88 of that); the classifier's std 32^-0.5 */
        static const char *const fr[] = {"head.dense.weight", "classifier.weight"};
        const double sd[] = {0.2 / sqrt(6.0), 1.0 / sqrt(32.0)};
        for (int f = 0; f < 2; f++) {
            int q = tmodel_find(b, fr[f]);
            if (q < 0) continue;
            double s2 = 0, mx = 0;
            for (size_t k = 0; k < b->p[q].n; k++) {
                double v = b->w[b->p[q].off + k];
                s2 += v * v;
                mx = fmax(mx, fabs(v));
            }
            double emp = sqrt(s2 / (double)b->p[q].n);
            CHECK(mx <= 2 * sd[f] * 1.0001 && emp > 0.7 * sd[f] && emp < 1.05 * sd[f], "%s: std %g, max %g (std %g)",
                  fr[f], emp, mx, sd[f]);
        }
        static const char *const texts[] = {"a charming and often affecting journey .", "unflinchingly bleak"};
        bertc_encoding en[2];
        for (int i = 0; i < 2; i++) bertc_tokenize(b->tok, texts[i], strlen(texts[i]), NULL, 0, NULL, &en[i], NULL);
        const int ids[2] = {1, 0};
        tbatch_labels lab = {ids, NULL, NULL, 1, 1};
        float lg[16];
        double loss = 0;
        CHECK(tmodel_step(b, en, 2, &lab, true, 7, 1.0f, lg, &loss, &err) == BERTC_OK, "step: %s", err.message);
        CHECK(isfinite(loss) && loss > 0 && tmodel_grad_norm(b) > 0, "loss %g", loss);
        for (int i = 0; i < 2; i++) bertc_encoding_free(&en[i]);
    }
    free(fresh);
    tmodel_free(b);
    tmodel_free(t);
    rm_folder(dir);
}

/* The backward with dropout on at every site (config.json's embedding_dropout, attention_dropout on the
 * probabilities and Wo's output, mlp_dropout, classifier_dropout: 0.2 each) against central differences of the same
 * step's loss (the same masks: the same key), on parameters of every kind: global and local layers */
static void t_finite_diff(void) {
    static const char *const edits[] = {"\"embedding_dropout\": 0.0", "\"embedding_dropout\": 0.2",
                                        "\"attention_dropout\": 0.0", "\"attention_dropout\": 0.2",
                                        "\"mlp_dropout\": 0.0", "\"mlp_dropout\": 0.2",
                                        "\"classifier_dropout\": 0.0", "\"classifier_dropout\": 0.2"};
    char dir[] = "/tmp/bertc-mb-fd-XXXXXX";
    CHECK(folder_with_config(dir, TD "tiny-modernbert", edits, 4), "folder");
    tmodel *t = NULL;
    bertc_error err;
    CHECK(tmodel_load(dir, NULL, 2, &t, NULL, &err) == BERTC_OK, "%s: %s", dir, err.message);
    if (!t) {
        rm_folder(dir);
        return;
    }
    CHECK(t->drop.hidden == 0.2f && t->drop.attention == 0.2f && t->drop.classifier == 0.2f, "dropout from config.json");
    bertc_encoding e[3];
    fd_encode(t, e);
    const int H = t->cfg.hidden, I = t->cfg.intermediate;
    static const char *const names[] = {
        "model.embeddings.tok_embeddings.weight", "model.embeddings.norm.weight", "model.embeddings.norm.bias",
        "model.layers.0.attn.Wqkv.weight",        "model.layers.1.attn.Wqkv.weight", "model.layers.1.attn.Wqkv.bias",
        "model.layers.0.attn.Wqkv.weight",        "model.layers.1.attn.Wqkv.weight",
        "model.layers.1.attn.Wo.weight",          "model.layers.2.attn_norm.weight", "model.layers.1.mlp_norm.bias",
        "model.layers.1.mlp.Wi.weight",           "model.layers.0.mlp.Wi.weight",    "model.layers.2.mlp.Wo.weight",
        "model.final_norm.bias",                  "head.dense.weight",               "head.norm.weight",
        "classifier.weight"};
    const int idx[] = {e[0].ids[1] * H + 3, 5, 2, (H + 3) * H + 7, 5 * H + 1, 2 * H + 4, (2 * H + 3) * H + 7,
                       (H + 5) * H + 2, 40, 3, 6,
                       (I + 2) * H + 1, 3 * H + 2, 11, 4, 9, 6, 7};
    enum { NP = sizeof names / sizeof names[0] };
    const double loss = check_central_differences(t, "tiny-modernbert", e, names, idx, NP);
    const int ids[3] = {2, 0, 1};
    tbatch_labels lab = {ids, NULL, NULL, 1, 1};
    float lg[32];
    const uint64_t key = 0x5eed;
    /* dropout on changes the loss (every mask drawn), off gives the eval loss */
    double l_off = 0;
    CHECK(tmodel_step(t, e, 3, &lab, false, key, 1.0f, lg, &l_off, &err) == BERTC_OK, "eval step: %s", err.message);
    CHECK(fabs(l_off - loss) > 1e-4, "dropout did not change the loss (%g, %g)", l_off, loss);
    for (int i = 0; i < 3; i++) bertc_encoding_free(&e[i]);
    tmodel_free(t);
    rm_folder(dir);
}

void tests_modernbert(void) {
    run_test("modernbert/tokenizer_ids (byte-level BPE, SST-2 dev)", t_tokenizer);
    run_test("modernbert/long_input_6041_tokens", t_long_input);
    run_test("modernbert/heads (token, QA, masked LM)", t_heads);
    run_test("modernbert/batch_equals_single", t_batch_equals_single);
    run_test("modernbert/config_variants", t_config);
    run_test("modernbert/sentence_transformers_folder", t_sentence_transformers);
    run_test("modernbert/dtypes", t_dtypes);
    run_test("modernbert/train (bertc train, the saved folders reload)", t_train);
    run_test("modernbert/train_bare_encoder (a fresh head)", t_train_bare);
    run_test("modernbert/train_finite_differences (dropout on at every site)", t_finite_diff);
}
