/*
 * test_electra.c — ELECTRA beyond the sequence-classification fixture (test_model.c's tiny-electra) and the
 * gradients (test_train.c): the heads' raw outputs against transformers (tests/data/tiny-electra-heads.ref.safetensors,
 * tools/make_tiny_electra.py: token classification, question answering, the discriminator's one logit per token, the
 * generator's masked-LM logits over the whole vocabulary), the discriminator's token-classification view, config.json
 * as ElectraConfig reads it, the int8 / fp16 / bf16 paths, and the CLI end to end (classify, ner, fill-mask, qa,
 * train and the saved folder).
 */
#include "serve_http.h"
#include "test.h"
#include "formats/tensors.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bertc_model *load_dt(const char *dir, bertc_dtype dt, bertc_compute cm) {
    bertc_model *m = NULL;
    bertc_error err;
    bertc_model_params p = bertc_model_default_params();
    p.dtype = dt;
    p.compute = cm;
    p.n_threads = 2;
    bertc_status s = bertc_model_load(dir, &p, &m, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    return m;
}

static bertc_model *load(const char *dir) { return load_dt(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32); }

/* the texts make_tiny_electra.py ran, to check the ids stored beside the logits */
static const char *const head_texts[] = {"John Smith works at Acme Corp in Paris.", "the quick brown fox jumps over the lazy dog",
                                         "naïve café — unaffable ☃ x", "a"};
static const char *const qa_pairs[][2] = {{"who works at acme?", "John Smith works at Acme Corp in Paris."},
                                          {"where is the fox?", "the quick brown fox jumps over the lazy dog"}};
static const char *const mlm_texts[] = {"the quick brown [MASK] jumps over the lazy dog .", "paris is the [MASK] of [MASK] ."};

static void t_heads(void) {
    mapped_file mf;
    tensor_set ts = {0};
    bertc_error err;
    const char *path = TD "tiny-electra-heads.ref.safetensors";
    if (map_file(path, &mf, &err) || safetensors_parse(&ts, mf.data, mf.size, path, &err)) {
        CHECK(0, "%s: %s", path, err.message);
        return;
    }
    static const char *const kinds[] = {"ner", "qa", "pretrain", "mlm"};
    int checked = 0;
    for (int k = 0; k < 4; k++) {
        char dir[128];
        snprintf(dir, sizeof dir, TD "tiny-%s-electra", kinds[k]);
        bertc_model *m = load(dir);
        if (!m) continue;
        bertc_model_info info;
        bertc_model_get_info(m, &info);
        double worst = 0;
        for (int i = 0;; i++) {
            char n1[64], n2[64], n3[64];
            snprintf(n1, sizeof n1, "%s.%d.input_ids", kinds[k], i);
            snprintf(n2, sizeof n2, "%s.%d.token_type_ids", kinds[k], i);
            snprintf(n3, sizeof n3, "%s.%d.logits", kinds[k], i);
            const tensor_info *ti = tensor_set_find(&ts, n1), *tt = tensor_set_find(&ts, n2), *tl = tensor_set_find(&ts, n3);
            if (!ti) break;
            CHECK(tt && tl, "%s: %s incomplete", path, n1);
            if (!tt || !tl) break;
            /* bertc's tokenizer gives the ids transformers ran */
            const char *a = k == 1 ? qa_pairs[i][0] : k == 3 ? mlm_texts[i] : head_texts[i], *b = k == 1 ? qa_pairs[i][1] : NULL;
            bertc_encoding e;
            CHECK(bertc_tokenize(bertc_model_tokenizer(m), a, strlen(a), b, b ? strlen(b) : 0, NULL, &e, &err) == BERTC_OK,
                  "tokenize: %s", err.message);
            size_t T = (size_t)ti->shape[0];
            bool same = e.n == T;
            for (size_t t = 0; same && t < T; t++)
                same = e.ids[t] == ((const int32_t *)ti->data)[t] && e.type_ids[t] == ((const int32_t *)tt->data)[t];
            CHECK(same, "%s: ids of %s differ", dir, a);
            const float *want = (const float *)tl->data;
            if (same && k < 3) {
                int W = k == 1 ? 2 : info.n_labels;
                float *lg = malloc(T * (size_t)W * sizeof *lg);
                CHECK(bertc_token_logits(m, &e, 1, lg, &err) == BERTC_OK, "%s: token logits: %s", dir, err.message);
                for (size_t t = 0; t < T; t++) {
                    if (k == 2) { /* [0, logit]: transformers' one logit per token in column 1 */
                        CHECK(lg[2 * t] == 0.0f, "%s: column 0 of token %zu is %g", dir, t, lg[2 * t]);
                        worst = fmax(worst, fabs(lg[2 * t + 1] - want[t]));
                    } else {
                        for (int l = 0; l < W; l++) worst = fmax(worst, fabs(lg[t * W + l] - want[t * W + l]));
                    }
                }
                free(lg);
            } else if (same) {
                const int V = info.vocab_size;
                int32_t rows[8];
                size_t nr = 0;
                for (size_t t = 0; t < T && nr < 4; t++)
                    if (e.ids[t] == 103) rows[2 * nr] = 0, rows[2 * nr + 1] = (int32_t)t, nr++; /* [MASK] */
                CHECK(tl->ndim == 2 && (size_t)tl->shape[0] == nr && tl->shape[1] == V, "%s: %zu masks", dir, nr);
                float *lg = malloc(nr * (size_t)V * sizeof *lg);
                CHECK(bertc_mlm_logits(m, &e, 1, rows, nr, lg, &err) == BERTC_OK, "%s: mlm logits: %s", dir, err.message);
                for (size_t r = 0; r < nr * (size_t)V && (size_t)tl->shape[0] == nr; r++) worst = fmax(worst, fabs(lg[r] - want[r]));
                free(lg);
            }
            bertc_encoding_free(&e);
            checked++;
        }
        printf("  %-24s worst logit diff %.1e\n", dir + strlen(TD), worst);
        CHECK(worst <= 1e-4, "%s: logits differ from transformers' by %.2e", dir, worst);
        bertc_model_free(m);
    }
    CHECK(checked == 4 + 2 + 4 + 2, "%d inputs checked", checked);
    tensor_set_free(&ts);
    unmap_file(&mf);
}

/* ElectraForPreTraining as a token classifier: labels original / replaced, the score of "replaced" sigmoid(logit),
 * the label transformers' round((sign(logit) + 1) / 2) */
static void t_discriminator(void) {
    bertc_model *m = load(TD "tiny-pretrain-electra");
    if (!m) return;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    CHECK(info.head == BERTC_HEAD_TOKEN_CLASSIFICATION && info.n_labels == 2 && info.arch == BERTC_ARCH_ELECTRA,
          "head %d, %d labels", (int)info.head, info.n_labels);
    CHECK(!strcmp(bertc_model_label(m, 0), "original") && !strcmp(bertc_model_label(m, 1), "replaced"), "labels");
    const char *text = "the quick brown fox fake over the lazy dog";
    bertc_error err;
    bertc_encoding e;
    CHECK(bertc_tokenize(bertc_model_tokenizer(m), text, strlen(text), NULL, 0, NULL, &e, &err) == BERTC_OK, "tok");
    float *lg = malloc(e.n * 2 * sizeof *lg);
    CHECK(bertc_token_logits(m, &e, 1, lg, &err) == BERTC_OK, "logits: %s", err.message);
    bertc_token_class_params p = bertc_token_class_default_params();
    p.ignore_labels = (const char *const[]){"x"};
    p.n_ignore = 0; /* none ignored */
    bertc_token_class_result r;
    CHECK(bertc_token_classify(m, text, strlen(text), &p, &r, &err) == BERTC_OK, "classify: %s", err.message);
    CHECK(r.n == e.n - 2, "%zu entities for %zu tokens", r.n, e.n);
    int replaced = 0;
    for (size_t i = 0; i < r.n; i++) {
        float l = lg[2 * (size_t)r.entities[i].index + 1];
        double pr = 1.0 / (1.0 + exp(-(double)l));
        bool rep = l > 0;
        replaced += rep;
        CHECK(!strcmp(r.entities[i].label, rep ? "replaced" : "original"), "token %d: %s for logit %g", r.entities[i].index,
              r.entities[i].label, l);
        CHECK(fabs(r.entities[i].score - (rep ? pr : 1 - pr)) <= 1e-6, "token %d: score %g, sigmoid %g", r.entities[i].index,
              r.entities[i].score, pr);
    }
    bertc_token_class_result_free(&r);
    /* the default ignores "O" only: ignoring "original" leaves the replaced tokens */
    p.ignore_labels = (const char *const[]){"original"};
    p.n_ignore = 1;
    CHECK(bertc_token_classify(m, text, strlen(text), &p, &r, &err) == BERTC_OK, "classify: %s", err.message);
    CHECK((int)r.n == replaced, "%zu replaced tokens listed, %d logits > 0", r.n, replaced);
    bertc_token_class_result_free(&r);
    free(lg);
    bertc_encoding_free(&e);
    bertc_model_free(m);
}

/* config.json as ElectraConfig reads it: its own defaults (a saved config omits fields at their default),
 * embedding_size == hidden_size: no projection; unsupported variants refused by name */
static void t_config(void) {
    model_config c = {0};
    bertc_error err;
    CHECK(model_config_parse(&c, "{\"model_type\": \"electra\"}", "config.json", &err) == BERTC_OK, "%s", err.message);
    CHECK(c.arch == BERTC_ARCH_ELECTRA && c.hidden == 256 && c.embedding_size == 128 && c.heads == 4 && c.layers == 12 &&
              c.intermediate == 1024 && c.vocab_size == 30522 && c.max_positions == 512 && c.type_vocab_size == 2 &&
              c.pad_token_id == 0 && c.act == EPI_GELU && c.ln_eps == 1e-12f,
          "defaults: H %d E %d heads %d layers %d I %d", c.hidden, c.embedding_size, c.heads, c.layers, c.intermediate);
    CHECK(!strcmp(model_class_name(&c), "ElectraForSequenceClassification"), "class name");
    model_config_free(&c);
    memset(&c, 0, sizeof c);
    CHECK(model_config_parse(&c, "{\"model_type\": \"electra\", \"hidden_size\": 768, \"embedding_size\": 768, "
                                 "\"num_attention_heads\": 12}", "config.json", &err) == BERTC_OK, "%s", err.message);
    char name[256];
    CHECK(c.embedding_size == 0 && !weight_name(&c, WR_ARCH, 0, 2, name, sizeof name, NULL, NULL),
          "E == H: no embeddings_project");
    int64_t d0, d1;
    CHECK(weight_name(&c, WR_WORD, 0, 2, name, sizeof name, &d0, &d1) && !strcmp(name, "electra.embeddings.word_embeddings.weight") &&
              d0 == 30522 && d1 == 768, "%s", name);
    model_config_free(&c);
    static const char *const bad[][2] = {
        {"{\"model_type\": \"electra\", \"hidden_act\": \"silu\"}", "silu"},
        {"{\"model_type\": \"electra\", \"position_embedding_type\": \"relative_key\"}", "relative_key"},
        {"{\"model_type\": \"electra\", \"embedding_size\": 12.5}", "embedding_size 12.5"},
        {"{\"model_type\": \"electra\", \"hidden_size\": 30}", "not a multiple"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&c, 0, sizeof c);
        bertc_status s = model_config_parse(&c, bad[i][0], "config.json", &err);
        CHECK(s != BERTC_OK && strstr(err.message, bad[i][1]), "%s: %s", bad[i][0], s ? err.message : "accepted");
        model_config_free(&c);
    }
    /* weights of another embedding width than config.json's: the tensor named with both shapes */
    char dir[] = "/tmp/bertc-electra-XXXXXX";
    if (!mkdtemp(dir)) return;
    char cmd[1024], out[2048];
    snprintf(cmd, sizeof cmd, "sed 's/\"embedding_size\": 8/\"embedding_size\": 4/' " TD "tiny-electra/config.json > %s/config.json && "
             "ln -s $PWD/" TD "tiny-electra/model.safetensors $PWD/" TD "tok-bert/tokenizer.json %s/ && "
             "@ classify --model %s x 2>&1; r=$?; rm -rf %s; exit $r", dir, dir, dir, dir);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "electra.embeddings.word_embeddings.weight has shape [30522, 8], config.json implies [30522, 4]"),
          "rc %d: %s", rc, out);
}

/* embedding_size == hidden_size (electra-base, -large): no embeddings_project, and the encoder is BERT's: tiny-bert's
 * weights renamed bert. -> electra. give tiny-bert's hidden states bit for bit (its pooler left out), and the same
 * folder with embedding_size 16 asks for the projection it lacks. */
static void t_equal_width(void) {
    char dir[] = "/tmp/bertc-electra-eq-XXXXXX";
    if (!mkdtemp(dir)) return;
    tensor_set ts = {0};
    bertc_error err;
    char path[256], cmd[1024], out[2048];
    CHECK(tensors_load_dir(&ts, TD "tiny-bert", &err) == BERTC_OK, "%s", err.message);
    st_entry *e = calloc((size_t)ts.n + 1, sizeof *e);
    char (*names)[160] = calloc((size_t)ts.n + 1, sizeof *names);
    int n = 0;
    for (int i = 0; i < ts.n; i++) {
        const tensor_info *t = &ts.t[i];
        if (strncmp(t->name, "bert.", 5) || strstr(t->name, "pooler")) continue;
        snprintf(names[n], sizeof names[n], "electra.%s", t->name + 5);
        e[n] = (st_entry){names[n], "F32", t->ndim, {t->shape[0], t->ndim > 1 ? t->shape[1] : 0, 0, 0}, t->data, t->nbytes};
        n++;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(safetensors_write(path, e, n, &err) == BERTC_OK, "write: %s", err.message);
    free(e);
    free(names);
    tensor_set_free(&ts);
    snprintf(cmd, sizeof cmd, "sed 's/\"model_type\": \"bert\"/\"model_type\": \"electra\", \"embedding_size\": 32/; "
             "s/BertForSequenceClassification/ElectraModel/' " TD "tiny-bert/config.json > %s/config.json && "
             "ln -s $PWD/" TD "tok-bert/tokenizer.json %s/", dir, dir);
    CHECK(run_cli(cmd, out, sizeof out) == 0, "make %s", dir);
    bertc_model *me = load(dir), *mb = load(TD "tiny-bert");
    if (me && mb) {
        const char *text = "a charming and often affecting journey";
        bertc_encoding enc;
        CHECK(bertc_tokenize(bertc_model_tokenizer(mb), text, strlen(text), "and a pair", 10, NULL, &enc, &err) == BERTC_OK,
              "tok");
        size_t H = 32;
        float *a = malloc(enc.n * H * sizeof *a), *b = malloc(enc.n * H * sizeof *b);
        CHECK(bertc_forward(me, &enc, 1, a, NULL, &err) == BERTC_OK && bertc_forward(mb, &enc, 1, b, NULL, &err) == BERTC_OK,
              "forward: %s", err.message);
        CHECK(!memcmp(a, b, enc.n * H * sizeof *a), "ELECTRA with E == H differs from BERT");
        CHECK(me->emb_proj.N == 0, "a projection where E == H");
        free(a);
        free(b);
        bertc_encoding_free(&enc);
    }
    bertc_model_free(me);
    bertc_model_free(mb);
    snprintf(cmd, sizeof cmd, "sed -i 's/\"embedding_size\": 32/\"embedding_size\": 16/' %s/config.json && "
             "@ embed --model %s x 2>&1; r=$?; rm -rf %s; exit $r", dir, dir, dir);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "shape [30522, 32], config.json implies [30522, 16]"), "E 16: rc %d %s", rc, out);
}

/* int8, fp16 and bf16 weights, bf16 compute: the fixture's logits near fp32's (measured on Zen 3 (AVX2) with logits
 * up to ~1.7: int8 5.5e-2, fp16 1.0e-3, bf16 8.0e-3, bf16 compute 8.3e-3; the bounds leave about 3x) */
static void t_dtypes(void) {
    static const char *const texts[] = {"a charming and often affecting journey .", "the acting is bad .", "Hello",
                                        "unflinchingly bleak and desperate", "naïve café 日本語"};
    bertc_text in[5];
    for (int i = 0; i < 5; i++) in[i] = (bertc_text){texts[i], strlen(texts[i]), i == 1 ? "a pair" : NULL, 6};
    bertc_model *m32 = load(TD "tiny-electra");
    if (!m32) return;
    bertc_classification ref[5], got[5];
    bertc_error err;
    CHECK(bertc_classify(m32, in, 5, NULL, ref, &err) == BERTC_OK, "%s", err.message);
    static const struct { bertc_dtype dt; bertc_compute cm; const char *name; double tol; } v[] = {
        {BERTC_DTYPE_INT8, BERTC_COMPUTE_FP32, "int8", 0.15},
        {BERTC_DTYPE_FP16, BERTC_COMPUTE_FP32, "fp16", 3e-3},
        {BERTC_DTYPE_BF16, BERTC_COMPUTE_FP32, "bf16", 2.5e-2},
        {BERTC_DTYPE_FP32, BERTC_COMPUTE_BF16, "bf16 compute", 2.5e-2},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        bertc_model *m = load_dt(TD "tiny-electra", v[k].dt, v[k].cm);
        if (!m) continue;
        CHECK(bertc_classify(m, in, 5, NULL, got, &err) == BERTC_OK, "%s: %s", v[k].name, err.message);
        double worst = 0;
        for (int i = 0; i < 5; i++)
            for (int l = 0; l < 3; l++) worst = fmax(worst, fabs(got[i].logits[l] - ref[i].logits[l]));
        printf("  tiny-electra %-13s worst logit diff vs fp32 %.2e\n", v[k].name, worst);
        CHECK(worst > 0 && worst <= v[k].tol, "%s: logits differ by %.3g", v[k].name, worst);
        bertc_classification_free(got, 5);
        bertc_model_free(m);
    }
    bertc_classification_free(ref, 5);
    bertc_model_free(m32);
}

/* the CLI: every head's command, and bertc train with a saved folder that loads back */
static void t_cli(void) {
    char out[8192];
    int rc = run_cli("@ fill-mask --model " TD "tiny-mlm-electra 'the quick brown [MASK] jumps' 2>&1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"token_str\""), "fill-mask: %d %s", rc, out);
    rc = run_cli("@ ner --model " TD "tiny-pretrain-electra --ignore-labels '' 'the quick brown fox' 2>&1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"entity\": \"original\""), "ner on the discriminator: %d %s", rc, out);
    rc = run_cli("@ qa --model " TD "tiny-qa-electra --question 'who works at acme?' --context 'John Smith works at Acme Corp.' 2>&1",
                 out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"answer\""), "qa: %d %s", rc, out);
    char dir[] = "/tmp/bertc-electra-train-XXXXXX";
    if (!mkdtemp(dir)) return;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "printf 'sentence\\tlabel\\ngood movie\\tpositive\\nbad movie\\tnegative\\nok\\tneutral\\n"
             "great\\tpositive\\n' > %s/t.tsv && @ train --model " TD "tiny-electra --train %s/t.tsv --output %s/out --epochs 1 "
             "--batch-size 2 --quiet > /dev/null 2>&1 && @ classify --model %s/out 'good movie' 2>&1; r=$?; rm -rf %s; exit $r",
             dir, dir, dir, dir, dir);
    rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"label\""), "train + classify: %d %s", rc, out);
}

/* bertc serve on the classifier (/predict, /embed) and the discriminator (/ner): the answers the library gives */
static void t_serve(void) {
    srv s;
    char *out = NULL;
    if (!srv_start(&s, "--model " TD "tiny-electra --threads 1")) {
        CHECK(0, "server did not start");
        return;
    }
    int code = http(s.port, "POST", "/predict", "{\"inputs\": \"Hello\"}", &out);
    /* tiny-electra.ref.jsonl: "Hello" -> positive 0.43937951 */
    CHECK(code == 200 && out && strstr(out, "{\"score\":0.439379") && strstr(out, "\"label\":\"positive\""), "/predict: %d %s",
          code, out ? out : "");
    free(out);
    out = NULL;
    code = http(s.port, "POST", "/embed", "{\"inputs\": [\"Hello\", \"a charming journey\"]}", &out);
    CHECK(code == 200 && out && out[0] == '[' && out[1] == '[', "/embed: %d %s", code, out ? out : "");
    free(out);
    out = NULL;
    CHECK(srv_stop(&s) == 0, "server exit");
    if (!srv_start(&s, "--model " TD "tiny-pretrain-electra --threads 1")) {
        CHECK(0, "server did not start");
        return;
    }
    code = http(s.port, "POST", "/ner", "{\"inputs\": \"the quick brown fox\", \"parameters\": {\"ignore_labels\": []}}", &out);
    CHECK(code == 200 && out && strstr(out, "\"entity\":\"original\"") && strstr(out, "\"word\":\"fox\""), "/ner: %d %s",
          code, out ? out : "");
    free(out);
    CHECK(srv_stop(&s) == 0, "server exit");
}

void tests_electra(void) {
    run_test("electra/heads vs transformers", t_heads);
    run_test("electra/discriminator as token classifier", t_discriminator);
    run_test("electra/config", t_config);
    run_test("electra/embedding_size == hidden_size", t_equal_width);
    run_test("electra/int8 fp16 bf16", t_dtypes);
    run_test("electra/cli", t_cli);
    run_test("electra/serve", t_serve);
}
