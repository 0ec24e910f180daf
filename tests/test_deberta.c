/*
 * test_deberta.c — DeBERTa-v2 / v3 against transformers (tools/make_tiny_deberta.py; the classification fixtures
 * themselves are checked by test_model.c's check_fixture): the DeBERTa-v3 tokenizer's ids on the fixture texts,
 * pairs and SST-2 dev; the token-classification, QA and masked-LM heads (legacy cls.predictions and the newer
 * lm_predictions) and fill-mask; zero-shot through an NLI checkpoint; int8 / fp16 / bf16; a batch equal to single
 * runs; the config variants refused by name; `bertc train` end to end (the saved folder reloads with the trainer's
 * logits; embed_proj's training refused). The gradients are test_train.c's.
 */
#include "test.h"
#include "model/model.h"
#include "train/tmodel.h"
#include "train_checks.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bertc_model *load_dt(const char *dir, bertc_dtype dt, bertc_compute cm) {
    bertc_model_params p = bertc_model_default_params();
    p.dtype = dt;
    p.compute = cm;
    bertc_model *m = NULL;
    bertc_error err;
    bertc_status s = bertc_model_load(dir, &p, &m, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    return m;
}

static bool same_ids(const bertc_encoding *e, const json_t *ids, const json_t *types) {
    if (e->n != json_array_size(ids)) return false;
    for (size_t k = 0; k < e->n; k++)
        if (e->ids[k] != json_integer_value(json_array_get(ids, k)) ||
            (types && e->type_ids[k] != json_integer_value(json_array_get(types, k))))
            return false;
    return true;
}

/* tok-deberta.ref.jsonl: transformers' DebertaV2Tokenizer (tokenizers 0.23.3) on 196 texts, SST-2 dev, 5 pairs */
static void t_tokenizer(void) {
    bertc_tokenizer *t = NULL;
    bertc_error err;
    CHECK(bertc_tokenizer_load(TD "tok-deberta", &t, &err) == BERTC_OK, "load: %s", err.message);
    FILE *f = fopen(TD "tok-deberta.ref.jsonl", "r");
    CHECK(f && t, "open tok-deberta.ref.jsonl");
    if (!f || !t) {
        if (f) fclose(f);
        bertc_tokenizer_free(t);
        return;
    }
    char *line = NULL;
    size_t cap = 0, n = 0, pairs = 0, bad = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, JSON_ALLOW_NUL, NULL);
        const json_t *tx = json_object_get(r, "text"), *pr = json_object_get(r, "pair");
        bertc_encoding e;
        bertc_encode_params ep = bertc_encode_default_params();
        ep.max_length = 512; /* as the references were made (truncation=True, max_length=512) */
        bertc_status s = bertc_tokenize(t, json_string_value(tx), json_string_length(tx), pr ? json_string_value(pr) : NULL,
                                        pr ? json_string_length(pr) : 0, &ep, &e, &err);
        CHECK(s == BERTC_OK, "row %zu: %s", n, err.message);
        if (!s) {
            bool ok = same_ids(&e, json_object_get(r, "input_ids"), json_object_get(r, "token_type_ids"));
            if (!ok) bad++;
            CHECK(ok, "row %zu (%.40s): ids differ (%zu tokens, want %zu)", n, json_string_value(tx), e.n,
                  json_array_size(json_object_get(r, "input_ids")));
            bertc_encoding_free(&e);
        }
        pairs += pr != NULL;
        n++;
        json_decref(r);
    }
    free(line);
    fclose(f);
    CHECK(n >= 1000 && pairs >= 5, "only %zu rows (%zu pairs)", n, pairs);
    printf("  tok-deberta: %zu texts (%zu pairs), %zu differ\n", n, pairs, bad);
    bertc_tokenizer_free(t);
}

static json_t *heads_ref(void) {
    json_error_t je;
    json_t *j = json_load_file(TD "tiny-deberta-heads.ref.json", 0, &je);
    CHECK(j, "tiny-deberta-heads.ref.json: %s", je.text);
    return j;
}

/* token classification and QA: every token's logits */
static void t_token_heads(void) {
    json_t *j = heads_ref();
    const json_t *tok = json_object_get(j, "token");
    const char *name;
    const json_t *rows;
    int models = 0;
    json_object_foreach((json_t *)tok, name, rows) {
        char dir[256];
        snprintf(dir, sizeof dir, TD "%s", name);
        bertc_model *m = load_dt(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
        if (!m) continue;
        models++;
        double worst = 0;
        for (size_t i = 0; i < json_array_size(rows); i++) {
            const json_t *r = json_array_get(rows, i), *tx = json_object_get(r, "text"), *pr = json_object_get(r, "pair");
            const json_t *lg = json_object_get(r, "logits");
            bertc_encoding e;
            bertc_error err;
            CHECK(!bertc_tokenize(bertc_model_tokenizer(m), json_string_value(tx), json_string_length(tx),
                                  pr ? json_string_value(pr) : NULL, pr ? json_string_length(pr) : 0, NULL, &e, &err),
                  "tokenize");
            CHECK(same_ids(&e, json_object_get(r, "input_ids"), NULL), "%s row %zu: ids", name, i);
            size_t L = json_array_size(json_array_get(lg, 0));
            float *out = malloc(e.n * L * sizeof(float));
            CHECK(bertc_token_logits(m, &e, 1, out, &err) == BERTC_OK, "%s: %s", name, err.message);
            for (size_t t = 0; t < e.n && t < json_array_size(lg); t++)
                for (size_t k = 0; k < L; k++) {
                    double d = fabs(out[t * L + k] - json_real_value(json_array_get(json_array_get(lg, t), k)));
                    if (d > worst) worst = d;
                }
            free(out);
            bertc_encoding_free(&e);
        }
        CHECK(worst <= 1e-4, "%s: worst logit diff %.2e", name, worst);
        printf("  %-22s worst token logit diff %.1e\n", name, worst);
        bertc_model_free(m);
    }
    CHECK(models == 2, "%d token-head models", models);
    json_decref(j);
}

/* masked LM (lm_predictions and legacy cls.predictions): the 64 best ids' logits at every [MASK], fill-mask's top 5 */
static void t_mlm(void) {
    json_t *j = heads_ref();
    const json_t *mlm = json_object_get(j, "mlm");
    const char *name;
    const json_t *v;
    int models = 0;
    json_object_foreach((json_t *)mlm, name, v) {
        char dir[256];
        snprintf(dir, sizeof dir, TD "%s", name);
        bertc_model *m = load_dt(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
        if (!m) continue;
        bertc_model_info info;
        bertc_model_get_info(m, &info);
        CHECK(info.head == BERTC_HEAD_MASKED_LM, "%s: head %d", name, info.head);
        models++;
        double worst = 0;
        const json_t *rows = json_object_get(v, "rows");
        const int V = m->cfg.vocab_size;
        for (size_t i = 0; i < json_array_size(rows); i++) {
            const json_t *r = json_array_get(rows, i), *tx = json_object_get(r, "text");
            const json_t *pos = json_object_get(r, "positions"), *ti = json_object_get(r, "top_ids"),
                         *tl = json_object_get(r, "top_logits");
            bertc_encoding e;
            bertc_error err;
            CHECK(!bertc_tokenize(bertc_model_tokenizer(m), json_string_value(tx), json_string_length(tx), NULL, 0, NULL,
                                  &e, &err), "tokenize");
            CHECK(same_ids(&e, json_object_get(r, "input_ids"), NULL), "%s row %zu: ids", name, i);
            size_t nr = json_array_size(pos);
            int32_t *rr = malloc(2 * nr * sizeof *rr);
            float *out = malloc(nr * (size_t)V * sizeof(float));
            for (size_t k = 0; k < nr; k++) rr[2 * k] = 0, rr[2 * k + 1] = (int32_t)json_integer_value(json_array_get(pos, k));
            CHECK(bertc_mlm_logits(m, &e, 1, rr, nr, out, &err) == BERTC_OK, "%s: %s", name, err.message);
            for (size_t k = 0; k < nr; k++)
                for (size_t q = 0; q < json_array_size(json_array_get(ti, k)); q++) {
                    int id = (int)json_integer_value(json_array_get(json_array_get(ti, k), q));
                    double d = fabs(out[k * V + id] - json_real_value(json_array_get(json_array_get(tl, k), q)));
                    if (d > worst) worst = d;
                }
            free(rr);
            free(out);
            bertc_encoding_free(&e);
        }
        CHECK(worst <= 1e-4, "%s: worst MLM logit diff %.2e", name, worst);
        /* fill-mask */
        const json_t *fm = json_object_get(v, "fill_mask"), *t0 = json_object_get(json_array_get(rows, 0), "text");
        bertc_fill_mask_result fr;
        bertc_error err;
        bertc_fill_mask_params fp = bertc_fill_mask_default_params();
        CHECK(bertc_fill_mask(m, json_string_value(t0), json_string_length(t0), &fp, &fr, &err) == BERTC_OK, "%s: %s",
              name, err.message);
        for (size_t k = 0; k < fr.k && k < json_array_size(fm); k++) {
            const json_t *w = json_array_get(fm, k);
            const bertc_mask_candidate *c = &fr.candidates[k];
            CHECK(c->token == json_integer_value(json_object_get(w, "token")) &&
                  fabs(c->score - json_real_value(json_object_get(w, "score"))) <= 1e-5 &&
                  !strcmp(c->token_str, json_string_value(json_object_get(w, "token_str"))) &&
                  !strcmp(c->sequence, json_string_value(json_object_get(w, "sequence"))),
                  "%s fill-mask %zu: %d %s \"%s\" %.6f", name, k, c->token, c->token_str, c->sequence, c->score);
        }
        bertc_fill_mask_result_free(&fr);
        printf("  %-24s worst MLM logit diff %.1e\n", name, worst);
        bertc_model_free(m);
    }
    CHECK(models == 2, "%d masked-LM models", models);
    json_decref(j);
}

/* zero-shot through tiny-nli-deberta (entailment label 2): transformers' pipeline outputs */
static void t_zero_shot(void) {
    json_t *j = heads_ref();
    bertc_model *m = load_dt(TD "tiny-nli-deberta", BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
    const json_t *cases = json_object_get(j, "zero_shot");
    size_t checked = 0;
    for (size_t i = 0; m && i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i), *cl = json_object_get(c, "candidate_labels");
        const char *labels[16];
        size_t nl = 0;
        for (size_t k = 0; k < json_array_size(cl) && nl < 16; k++) labels[nl++] = json_string_value(json_array_get(cl, k));
        bertc_zero_shot_params p = bertc_zero_shot_default_params();
        const json_t *t = json_object_get(c, "hypothesis_template"), *sq = json_object_get(c, "sequences");
        if (t) p.hypothesis_template = json_string_value(t);
        p.multi_label = json_is_true(json_object_get(c, "multi_label"));
        bertc_zero_shot_result r;
        bertc_error err;
        bertc_status s = bertc_zero_shot(m, json_string_value(sq), json_string_length(sq), labels, nl, &p, &r, &err);
        CHECK(s == BERTC_OK, "case %zu: %s", i, err.message);
        if (s) continue;
        CHECK(r.entailment_id == 2, "case %zu: entailment id %d", i, r.entailment_id);
        const json_t *out = json_object_get(c, "output"), *wl = json_object_get(out, "labels"),
                     *ws = json_object_get(out, "scores");
        CHECK(r.n_labels == json_array_size(wl), "case %zu: %zu labels", i, r.n_labels);
        for (size_t k = 0; k < r.n_labels && k < json_array_size(wl); k++) {
            CHECK(!strcmp(labels[r.order[k]], json_string_value(json_array_get(wl, k))), "case %zu: label %zu %s", i, k,
                  labels[r.order[k]]);
            CHECK(fabs(r.scores[k] - json_real_value(json_array_get(ws, k))) <= 1e-5, "case %zu: score %zu %.7f", i, k,
                  r.scores[k]);
        }
        bertc_zero_shot_result_free(&r);
        checked++;
    }
    CHECK(checked == 4, "%zu zero-shot cases", checked);
    bertc_model_free(m);
    json_decref(j);
    /* the CLI */
    char out[8192];
    int rc = run_cli("@ zero-shot --model " TD "tiny-nli-deberta --labels 'sports,politics' "
                     "--template 'The topic of this text is {}!' 'The match ended in a draw after extra time.'",
                     out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"labels\""), "bertc zero-shot: %d %s", rc, out);
}

/* int8 / fp16 storage / bf16 compute: close to fp32, same labels nearly everywhere; a batch = single runs */
static void t_dtypes_batch(void) {
    FILE *f = fopen(TD "tiny-deberta.ref.jsonl", "r");
    CHECK(f, "open");
    if (!f) return;
    json_t *rows[200];
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (n < 200 && getline(&line, &cap, f) > 0) rows[n++] = json_loads(line, JSON_ALLOW_NUL, NULL);
    free(line);
    fclose(f);
    bertc_text *in = calloc(n, sizeof *in);
    for (size_t i = 0; i < n; i++) {
        in[i].text = json_string_value(json_object_get(rows[i], "text"));
        in[i].len = json_string_length(json_object_get(rows[i], "text"));
    }
    static const struct { bertc_dtype dt; bertc_compute cm; double tol; const char *what; } v[] = {
        {BERTC_DTYPE_FP16, BERTC_COMPUTE_FP32, 0.02, "fp16"},
        {BERTC_DTYPE_BF16, BERTC_COMPUTE_FP32, 0.1, "bf16 storage"},
        {BERTC_DTYPE_FP32, BERTC_COMPUTE_BF16, 0.1, "bf16 compute"},
        {BERTC_DTYPE_INT8, BERTC_COMPUTE_FP32, 0.5, "int8"}, /* measured 0.36 (logits up to 6.7) */
    };
    for (size_t q = 0; q < sizeof v / sizeof v[0]; q++) {
        bertc_model *m = load_dt(TD "tiny-deberta", v[q].dt, v[q].cm);
        if (!m) continue;
        bertc_classification *out = calloc(n, sizeof *out);
        bertc_error err;
        CHECK(bertc_classify(m, in, n, NULL, out, &err) == BERTC_OK, "%s: %s", v[q].what, err.message);
        double worst = 0;
        size_t agree = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *lg = json_object_get(rows[i], "logits");
            for (int k = 0; k < out[i].n_labels; k++) {
                double d = fabs(out[i].logits[k] - json_real_value(json_array_get(lg, k)));
                if (d > worst) worst = d;
            }
            agree += !strcmp(bertc_model_label(m, out[i].label_id), json_string_value(json_object_get(rows[i], "label")));
        }
        printf("  tiny-deberta %-12s worst logit diff %.2e, labels agree %zu/%zu\n", v[q].what, worst, agree, n);
        CHECK(worst <= v[q].tol && agree >= n * 9 / 10, "%s: worst %.2e, agree %zu/%zu", v[q].what, worst, agree, n);
        bertc_classification_free(out, n);
        free(out);
        bertc_model_free(m);
    }
    /* a batch of every text equals each text alone, bit for bit */
    bertc_model *m = load_dt(TD "tiny-deberta-var", BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
    if (m) {
        bertc_encoding *e = calloc(n, sizeof *e);
        size_t M = 0;
        for (size_t i = 0; i < n; i++) {
            bertc_tokenize(bertc_model_tokenizer(m), in[i].text, in[i].len, NULL, 0, NULL, &e[i], NULL);
            M += e[i].n;
        }
        const int H = m->cfg.hidden, L = m->cfg.n_labels;
        float *hb = malloc(M * H * sizeof(float)), *lb = malloc(n * L * sizeof(float));
        float *h1 = malloc(512 * H * sizeof(float)), l1[8];
        bertc_error err;
        CHECK(model_forward(m, e, n, hb, NULL, lb, &err) == BERTC_OK, "batch: %s", err.message);
        size_t off = 0, diff = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(model_forward(m, &e[i], 1, h1, NULL, l1, &err) == BERTC_OK, "single: %s", err.message);
            diff += memcmp(h1, hb + off * H, e[i].n * H * sizeof(float)) != 0 || memcmp(l1, lb + i * L, L * sizeof(float)) != 0;
            off += e[i].n;
        }
        CHECK(diff == 0, "%zu of %zu texts differ between the batch and single runs", diff, n);
        for (size_t i = 0; i < n; i++) bertc_encoding_free(&e[i]);
        free(e);
        free(hb);
        free(lb);
        free(h1);
        bertc_model_free(m);
    }
    for (size_t i = 0; i < n; i++) json_decref(rows[i]);
    free(in);
}

/* config variants that are not supported are refused by name */
static void t_refused(void) {
    static const struct { const char *edit, *want; } v[] = {
        {"\"model_type\": \"deberta\"", "model_type deberta (DeBERTa v1) is not supported"},
        {"\"conv_kernel_size\": 3", "conv_kernel_size 3"},
        {"\"pos_att_type\": \"c2p|p2p\"", "pos_att_type entry \"p2p\""},
        {"\"pos_att_type\": [\"c2p\", \"bogus\"]", "pos_att_type entry \"bogus\""},
        {"\"norm_rel_ebd\": \"batch_norm\"", "norm_rel_ebd entry \"batch_norm\""},
        {"\"attention_head_size\": 4", "attention_head_size 4"},
        {"\"pooler_hidden_size\": 8", "pooler_hidden_size 8"},
        {"\"max_relative_positions\": 100", "max_relative_positions 100 with position_buckets 256"},
        {"\"hidden_act\": \"swish\"", "hidden_act \"swish\" is not supported"},
        {"\"architectures\": [\"DebertaV2ForMaskedLM\"], \"embedding_size\": 16", "embedding_size 16"},
    };
    char *base = NULL;
    bertc_error err;
    /* --arch: deberta-v2 loads it, another architecture is refused */
    bertc_model_params ap = bertc_model_default_params();
    bertc_model *am = NULL;
    ap.arch = BERTC_ARCH_DEBERTA_V2;
    CHECK(bertc_model_load(TD "tiny-deberta", &ap, &am, &err) == BERTC_OK, "arch deberta-v2: %s", err.message);
    bertc_model_info info;
    bertc_model_get_info(am, &info);
    CHECK(am && info.arch == BERTC_ARCH_DEBERTA_V2 && !strcmp(bertc_arch_name(info.arch), "deberta-v2"), "info arch");
    bertc_model_free(am);
    am = NULL;
    ap.arch = BERTC_ARCH_BERT;
    CHECK(bertc_model_load(TD "tiny-deberta", &ap, &am, &err) == BERTC_ERR_ARCH && !am, "arch bert: %s", err.message);
    CHECK(read_file(TD "tiny-deberta/config.json", &base, NULL, &err) == BERTC_OK, "read config");
    if (!base) return;
    char dir[] = "/tmp/bertc-deberta-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[512], src[4096], cwd[2048];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(src, sizeof src, "%s/" TD "tiny-deberta/model.safetensors", cwd);
    CHECK(symlink(src, path) == 0, "symlink");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    snprintf(src, sizeof src, "%s/" TD "tok-deberta/tokenizer.json", cwd);
    CHECK(symlink(src, path) == 0, "symlink");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        json_t *j = json_loads(base, 0, NULL), *e;
        char buf[256];
        snprintf(buf, sizeof buf, "{%s}", v[i].edit);
        e = json_loads(buf, 0, NULL);
        json_object_update(j, e);
        snprintf(path, sizeof path, "%s/config.json", dir);
        json_dump_file(j, path, 0);
        json_decref(j);
        json_decref(e);
        bertc_model *m = NULL;
        bertc_status s = bertc_model_load(dir, NULL, &m, &err);
        CHECK(s != BERTC_OK && strstr(err.message, v[i].want), "%s: %d %s", v[i].edit, s, s ? err.message : "loaded");
        bertc_model_free(m);
    }
    /* the same settings written at any length, as DebertaV2Config reads them (every entry of the split or the list,
     * stripped and lower-cased): the fixture's logits */
    static const char *const same[] = {
        "\"pos_att_type\": \" C2P |c2p|c2p|c2p|c2p|c2p|c2p|c2p|c2p||p2c \"",
        "\"pos_att_type\": [\"c2p\", \"c2p\", \"c2p\", \"c2p\", \"c2p\", \"c2p\", \"c2p\", \"c2p\", \"p2c\"]",
        "\"norm_rel_ebd\": \"none|none|none|none|none|none|none|none|none|none|none|none|none|none|none|none|none|none|"
        "none|none|none|none|none|none|none|none|none|none|LAYER_NORM\""};
    bertc_model *m0 = load_dt(TD "tiny-deberta", BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
    for (size_t i = 0; m0 && i < sizeof same / sizeof same[0]; i++) {
        json_t *j = json_loads(base, 0, NULL), *e;
        char buf[512];
        snprintf(buf, sizeof buf, "{%s}", same[i]);
        e = json_loads(buf, 0, NULL);
        CHECK(e != NULL, "edit %zu", i);
        json_object_update(j, e);
        snprintf(path, sizeof path, "%s/config.json", dir);
        json_dump_file(j, path, 0);
        json_decref(j);
        json_decref(e);
        bertc_model *m = load_dt(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32);
        static const char text[] = "a charming and often affecting journey .";
        bertc_encoding enc;
        float a[3], b[3];
        CHECK(m && bertc_tokenize(bertc_model_tokenizer(m0), text, sizeof text - 1, NULL, 0, NULL, &enc, &err) == BERTC_OK,
              "%s: %s", same[i], m ? err.message : "not loaded");
        if (m) {
            CHECK(model_forward(m, &enc, 1, NULL, NULL, a, &err) == BERTC_OK &&
                      model_forward(m0, &enc, 1, NULL, NULL, b, &err) == BERTC_OK && !memcmp(a, b, sizeof a),
                  "%s: not the fixture's logits", same[i]);
            bertc_encoding_free(&enc);
        }
        bertc_model_free(m);
    }
    bertc_model_free(m0);
    /* training with embed_proj (embedding_size != hidden_size) is refused by name */
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "@ train --model " TD "tiny-deberta-var --train " TD "sst2-dev.tsv --output %s/out "
             "--max-steps 1 2>&1", dir);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "training deberta-v2 with embedding_size 16 != hidden_size 32"), "train: %d %s", rc,
          out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "rm");
    free(base);
}

/* `bertc train` a few steps on SST-2 dev; the saved folder loads for inference and for training again, and both give
 * the same logits (within 1e-4), which moved away from the starting checkpoint's */
static void t_train(void) {
    char dir[] = "/tmp/bertc-deb-train-XXXXXX", cmd[600], saved[600];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(saved, sizeof saved, "%s/out", dir);
    check_trained_folder(TD "tiny-deberta", saved, 3);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "rm");
}

/* The backward with dropout on (every site: embeddings, relative rows, probabilities, outputs, classifier) against
 * central differences of the same step's loss (the same masks: the same key), on parameters of every kind */
static void fd_case(const char *dir, const char *const *names, const int *idx, int np) {
    tmodel *t = NULL;
    bertc_error err;
    CHECK(tmodel_load(dir, NULL, 2, &t, NULL, &err) == BERTC_OK, "%s: %s", dir, err.message);
    if (!t) return;
    t->drop.hidden = t->drop.attention = t->drop.classifier = 0.2f;
    bertc_encoding e[3];
    fd_encode(t, e);
    check_central_differences(t, dir, e, names, idx, np);
    for (int i = 0; i < 3; i++) bertc_encoding_free(&e[i]);
    tmodel_free(t);
}

static void t_finite_diff(void) {
    static const char *const a[] = {"deberta.encoder.rel_embeddings.weight", "deberta.encoder.LayerNorm.weight",
                                    "deberta.encoder.layer.0.attention.self.key_proj.weight",
                                    "deberta.encoder.layer.1.attention.self.query_proj.bias",
                                    "deberta.encoder.layer.0.attention.self.value_proj.weight",
                                    "deberta.embeddings.LayerNorm.weight", "deberta.embeddings.word_embeddings.weight",
                                    "pooler.dense.weight", "deberta.encoder.layer.1.output.dense.weight"};
    /* tiny-deberta: 32 wide, 2 x 256 relative rows (row 256 + d: offset d); word row 6 is "a" */
    static const int ia[] = {257 * 32 + 3, 5, 37, 1, 40, 2, 6 * 32 + 4, 7, 11};
    fd_case(TD "tiny-deberta", a, ia, 9);
    static const char *const b[] = {"deberta.encoder.layer.0.attention.self.pos_query_proj.weight",
                                    "deberta.encoder.layer.1.attention.self.pos_query_proj.bias",
                                    "deberta.encoder.rel_embeddings.weight", "deberta.encoder.LayerNorm.bias"};
    static const int ib[] = {33, 4, 129 * 32 + 5, 6}; /* 2 x 128 relative rows */
    fd_case(TD "tiny-deberta-nob", b, ib, 4);
}

void tests_deberta(void) {
    run_test("deberta/tokenizer (Unigram v3 tokenizer.json, SST-2 dev, pairs)", t_tokenizer);
    run_test("deberta/token_heads (ner, qa)", t_token_heads);
    run_test("deberta/masked_lm (lm_predictions, legacy cls.predictions, fill-mask)", t_mlm);
    run_test("deberta/zero_shot (NLI entailment)", t_zero_shot);
    run_test("deberta/dtypes_and_batch", t_dtypes_batch);
    run_test("deberta/refused_variants", t_refused);
    run_test("deberta/train (bertc train, the saved folder reloads)", t_train);
    run_test("deberta/train_finite_differences (dropout on)", t_finite_diff);
}
