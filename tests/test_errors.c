/*
 * test_errors.c — one test per way a checkpoint can be broken: each must fail with a clear status and a
 * message naming the problem, never crash and never load. Broken copies are made in a temporary folder.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static char *slurp(const char *path, size_t *len) {
    char *buf = NULL;
    CHECK(read_file(path, &buf, len, NULL) == 0, "read %s", path);
    return buf;
}

static void spit(const char *name, const void *data, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

/* A fresh checkpoint folder: tiny-distilbert's config and tokenizer with the given weights file. */
static void make_ckpt(const char *weights_name, const void *w, size_t wlen, const char *config) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s/* && cp -L " TD "tiny-distilbert/tokenizer.json " TD
             "tiny-distilbert/tokenizer_config.json %s/", tmpdir, tmpdir);
    CHECK(system(cmd) == 0, "prepare %s", tmpdir);
    size_t cl;
    char *cfg = config ? NULL : slurp(TD "tiny-distilbert/config.json", &cl);
    spit("config.json", config ? config : cfg, config ? strlen(config) : cl);
    free(cfg);
    if (w) spit(weights_name, w, wlen);
}

static void expect_fail(bertc_status want, const char *needle, const char *what) {
    bertc_model *m = NULL;
    bertc_error err = {0};
    bertc_status s = bertc_model_load(tmpdir, NULL, &m, &err);
    CHECK(s == want, "%s: status %d (%s), want %d", what, s, s ? err.message : "loaded", want);
    CHECK(!m, "%s: model returned on failure", what);
    CHECK(!s || strstr(err.message, needle), "%s: message \"%s\" lacks \"%s\"", what, err.message, needle);
    bertc_model_free(m);
}

static void t_safetensors_broken(void) {
    size_t len;
    char *w = slurp(TD "tiny-distilbert/model.safetensors", &len);
    if (!w) return;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)w[i];
    /* truncated: in the data, in the header, before the header */
    make_ckpt("model.safetensors", w, len - 1000, NULL);
    expect_fail(BERTC_ERR_FORMAT, "outside", "truncated data");
    make_ckpt("model.safetensors", w, 8 + hlen / 2, NULL);
    expect_fail(BERTC_ERR_FORMAT, "header size", "truncated header");
    make_ckpt("model.safetensors", w, 5, NULL);
    expect_fail(BERTC_ERR_FORMAT, "truncated", "5 bytes");
    make_ckpt("model.safetensors", "", 0, NULL);
    expect_fail(BERTC_ERR_FORMAT, "truncated", "empty file");
    /* header not JSON */
    char *c = malloc(len);
    memcpy(c, w, len);
    c[8] = '[';
    make_ckpt("model.safetensors", c, len, NULL);
    expect_fail(BERTC_ERR_FORMAT, "JSON", "bad header");
    /* unknown dtype, shape/offset disagreement, overlap: edit the header text in place (same length) */
    memcpy(c, w, len);
    char *dt = strstr(c + 8, "\"F32\"");
    if (dt) memcpy(dt, "\"Q32\"", 5);
    make_ckpt("model.safetensors", c, len, NULL);
    expect_fail(BERTC_ERR_FORMAT, "unknown dtype", "unknown dtype");
    memcpy(c, w, len);
    char *sh = strstr(c + 8, "\"shape\":[32]");
    if (sh) memcpy(sh, "\"shape\":[31]", 12);
    CHECK(sh != NULL, "no [32] shape in header");
    make_ckpt("model.safetensors", c, len, NULL);
    expect_fail(BERTC_ERR_FORMAT, "data_offsets span", "shape vs offsets");
    /* header size field larger than the file */
    memcpy(c, w, len);
    c[7] = 0x7f;
    make_ckpt("model.safetensors", c, len, NULL);
    expect_fail(BERTC_ERR_FORMAT, "exceeds", "huge header size");
    free(c);
    free(w);
}

static void t_config_broken(void) {
    size_t len;
    char *w = slurp(TD "tiny-distilbert/model.safetensors", &len);
    if (!w) return;
    make_ckpt("model.safetensors", w, len, "{not json");
    expect_fail(BERTC_ERR_FORMAT, "JSON", "config not JSON");
    make_ckpt("model.safetensors", w, len, "{\"model_type\": \"gpt2\"}");
    expect_fail(BERTC_ERR_UNSUPPORTED, "gpt2", "unsupported model_type");
    make_ckpt("model.safetensors", w, len, "{\"model_type\": \"distilbert\", \"dim\": 32, \"n_heads\": 3}");
    expect_fail(BERTC_ERR_FORMAT, "out of range", "dim not divisible by heads");
    make_ckpt("model.safetensors", w, len, "{\"model_type\": \"distilbert\", \"dim\": -5}");
    expect_fail(BERTC_ERR_FORMAT, "out of range", "negative dim");
    /* config says 3 layers, weights have 2: a missing tensor, named */
    make_ckpt("model.safetensors", w, len,
              "{\"model_type\": \"distilbert\", \"dim\": 32, \"n_layers\": 3, \"n_heads\": 2, \"hidden_dim\": 64,"
              " \"architectures\": [\"DistilBertForSequenceClassification\"]}");
    expect_fail(BERTC_ERR_FORMAT, "transformer.layer.2", "missing layer");
    /* config says 1 layer, weights have 2: unexpected tensors, named */
    make_ckpt("model.safetensors", w, len,
              "{\"model_type\": \"distilbert\", \"dim\": 32, \"n_layers\": 1, \"n_heads\": 2, \"hidden_dim\": 64,"
              " \"architectures\": [\"DistilBertForSequenceClassification\"]}");
    expect_fail(BERTC_ERR_FORMAT, "unexpected tensor", "extra layer");
    /* wrong sizes: a shape mismatch names the tensor */
    make_ckpt("model.safetensors", w, len,
              "{\"model_type\": \"distilbert\", \"dim\": 32, \"n_layers\": 2, \"n_heads\": 2, \"hidden_dim\": 128}");
    expect_fail(BERTC_ERR_FORMAT, "ffn.lin1.weight has shape", "shape mismatch");
    /* no weights at all; no config at all */
    make_ckpt("model.safetensors", NULL, 0, NULL);
    expect_fail(BERTC_ERR_IO, "no model.safetensors", "no weights");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -f %s/config.json", tmpdir);
    CHECK(system(cmd) == 0, "rm");
    expect_fail(BERTC_ERR_IO, "config.json", "no config");
    free(w);
}

static void t_bin_broken(void) {
    size_t len;
    char *w = slurp(TD "tiny-distilbert-bin/pytorch_model.bin", &len);
    if (!w) return;
    make_ckpt("pytorch_model.bin", w, len / 2, NULL);
    expect_fail(BERTC_ERR_FORMAT, "zip", "truncated zip");
    free(w);
    w = slurp(TD "tiny-distilbert-binlegacy/pytorch_model.bin", &len);
    make_ckpt("pytorch_model.bin", w, len - 100, NULL);
    expect_fail(BERTC_ERR_FORMAT, "past the end", "truncated legacy");
    make_ckpt("pytorch_model.bin", w, 60, NULL);
    expect_fail(BERTC_ERR_FORMAT, "truncated", "legacy cut in the pickle");
    free(w);
    /* a pickle that would call os.system under Python: refused, never executed */
    static const char evil[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.\x80\x02}."
                               "\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00id\x85R.";
    make_ckpt("pytorch_model.bin", evil, sizeof evil - 1, NULL);
    expect_fail(BERTC_ERR_UNSUPPORTED, "refusing to unpickle a call to os.system", "malicious pickle");
    make_ckpt("pytorch_model.bin", "garbage!", 8, NULL);
    expect_fail(BERTC_ERR_FORMAT, "neither", "not a torch file");
}

static void t_wrong_arch(void) {
    bertc_model_params p = bertc_model_default_params();
    p.arch = BERTC_ARCH_DISTILBERT;
    bertc_model *m = NULL;
    bertc_error err;
    bertc_status s = bertc_model_load(TD "tiny-roberta", &p, &m, &err);
    CHECK(s == BERTC_ERR_ARCH && !m, "roberta as distilbert: status %d", s);
    CHECK(strstr(err.message, "roberta") && strstr(err.message, "distilbert"), "message names both: %s", err.message);
    p.arch = BERTC_ARCH_ROBERTA;
    s = bertc_model_load(TD "tiny-roberta", &p, &m, &err);
    CHECK(s == BERTC_OK && m, "roberta as roberta");
    bertc_model_free(m);
}

static void t_tokenizer_broken(void) {
    bertc_tokenizer *t = NULL;
    bertc_error err;
    CHECK(bertc_tokenizer_load("/nonexistent-dir", &t, &err) == BERTC_ERR_IO && !t, "no tokenizer files");
    make_ckpt("x", NULL, 0, NULL);
    spit("tokenizer.json", "{\"model\": {\"type\": \"WordLevel\"}}", 33);
    CHECK(bertc_tokenizer_load(tmpdir, &t, &err) == BERTC_ERR_UNSUPPORTED && strstr(err.message, "WordLevel"),
          "unsupported model named: %s", err.message);
    spit("tokenizer.json", "{\"model\": {\"type\": \"Unigram\"}}", 31);
    CHECK(bertc_tokenizer_load(tmpdir, &t, &err) == BERTC_ERR_FORMAT && strstr(err.message, "Unigram"),
          "Unigram without a vocab: %s", err.message);
    spit("tokenizer.json", "{\"model\": ", 10);
    CHECK(bertc_tokenizer_load(tmpdir, &t, &err) == BERTC_ERR_FORMAT, "truncated tokenizer.json");
    static const char wp[] = "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"a\": 0, "
                             "\"[UNK]\": 1}}, \"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}}";
    spit("tokenizer.json", wp, sizeof wp - 1);
    CHECK(bertc_tokenizer_load(tmpdir, &t, &err) == BERTC_ERR_UNSUPPORTED && strstr(err.message, "UnicodeScripts"),
          "unsupported pre_tokenizer named: %s", err.message);
    static const char rx[] = "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"a\": 0, "
                             "\"[UNK]\": 1}}, \"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Isolated\", "
                             "\"pattern\": {\"Regex\": \"(?<=a)b\"}}}";
    spit("tokenizer.json", rx, sizeof rx - 1);
    CHECK(bertc_tokenizer_load(tmpdir, &t, &err) == BERTC_ERR_UNSUPPORTED && strstr(err.message, "(?<=a)b"),
          "unsupported pattern named: %s", err.message);
    static const char bad[] = "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"a\": 0, "
                              "\"[UNK]\": 1}}, \"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AQID\"},"
                              " \"pre_tokenizer\": {\"type\": \"Whitespace\"}}";
    spit("tokenizer.json", bad, sizeof bad - 1);
    CHECK(bertc_tokenizer_load(tmpdir, &t, &err) == BERTC_ERR_FORMAT && strstr(err.message, "charsmap"),
          "broken charsmap: %s", err.message);
    bertc_tokenizer_free(t);
}

void tests_errors(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bertc-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    run_test("errors/safetensors_broken", t_safetensors_broken);
    run_test("errors/config_broken", t_config_broken);
    run_test("errors/bin_broken", t_bin_broken);
    run_test("errors/wrong_architecture", t_wrong_arch);
    run_test("errors/tokenizer_broken", t_tokenizer_broken);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("  could not remove %s\n", tmpdir);
}
