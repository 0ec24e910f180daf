/*
 * test_tokenizer.c — ids against Hugging Face's fast tokenizers: all 68,221 SST-2 sentences for
 * bert-base-uncased and roberta-base, sentence pairs, the legacy-file loaders, and edge cases whose
 * expected ids follow from the tokenizers' definitions.
 */
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static bool ids_equal(const bertc_encoding *e, json_t *arr) {
    if (!json_is_array(arr) || json_array_size(arr) != e->n) return false;
    for (size_t i = 0; i < e->n; i++)
        if (json_integer_value(json_array_get(arr, i)) != e->ids[i]) return false;
    return true;
}

static bertc_tokenizer *load_tok(const char *dir) {
    bertc_tokenizer *t = NULL;
    bertc_error err;
    bertc_status s = bertc_tokenizer_load(dir, &t, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    return t;
}

/* Compares up to `limit` sentences of tokref-sst2 (0: all). */
static void tokref(const char *bert_dir, const char *roberta_dir, size_t limit) {
    bertc_tokenizer *bt = load_tok(bert_dir), *rt = load_tok(roberta_dir);
    if (!bt || !rt) goto done;
    gzFile f = gzopen(TD "tokref-sst2.jsonl.gz", "rb");
    CHECK(f != NULL, "cannot open tokref-sst2.jsonl.gz");
    if (!f) goto done;
    static char line[1 << 16];
    size_t n = 0, bad_b = 0, bad_r = 0;
    while (gzgets(f, line, sizeof line) && (!limit || n < limit)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        CHECK(j != NULL, "bad tokref line %zu", n + 1);
        if (!j) break;
        const char *text = json_string_value(json_object_get(j, "text"));
        size_t len = json_string_length(json_object_get(j, "text"));
        bertc_encoding e;
        bertc_error err;
        if (bertc_tokenize(bt, text, len, NULL, 0, NULL, &e, &err) || !ids_equal(&e, json_object_get(j, "bert_uncased"))) {
            if (bad_b++ < 3) printf("  bert mismatch: %.80s\n", text);
        }
        bertc_encoding_free(&e);
        if (bertc_tokenize(rt, text, len, NULL, 0, NULL, &e, &err) || !ids_equal(&e, json_object_get(j, "roberta"))) {
            if (bad_r++ < 3) printf("  roberta mismatch: %.80s\n", text);
        }
        bertc_encoding_free(&e);
        json_decref(j);
        n++;
    }
    gzclose(f);
    CHECK(limit ? n == limit : n == 68221, "read %zu sentences", n);
    CHECK(bad_b == 0, "%zu of %zu BERT encodings differ", bad_b, n);
    CHECK(bad_r == 0, "%zu of %zu RoBERTa encodings differ", bad_r, n);
done:
    bertc_tokenizer_free(bt);
    bertc_tokenizer_free(rt);
}

static void t_tokref_sst2(void) { tokref(TD "tok-bert", TD "tok-roberta", 0); }
/* vocab.txt + tokenizer_config.json, vocab.json + merges.txt: no tokenizer.json in these folders */
static void t_tokref_legacy(void) { tokref(TD "tok-bert-legacy", TD "tok-roberta-legacy", 5000); }

static void t_tokref_pairs(void) {
    bertc_tokenizer *bt = load_tok(TD "tok-bert"), *rt = load_tok(TD "tok-roberta");
    FILE *f = fopen(TD "tokref-pairs.jsonl", "r");
    CHECK(f && bt && rt, "cannot open pairs");
    char line[8192];
    int n = 0;
    while (f && bt && rt && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        json_t *a = json_object_get(j, "text"), *b = json_object_get(j, "text_pair");
        /* the references are transformers' single calls, tokenizer(text, text_pair): "" is falsy there, no pair */
        if (json_string_length(b) == 0) b = NULL;
        bertc_encoding e;
        CHECK(bertc_tokenize(bt, json_string_value(a), json_string_length(a), json_string_value(b), json_string_length(b),
                             NULL, &e, NULL) == 0, "pair %d", n);
        CHECK(ids_equal(&e, json_object_get(j, "bert_uncased")), "bert pair %d ids", n);
        json_t *tt = json_object_get(j, "bert_token_type_ids");
        for (size_t i = 0; i < e.n && i < json_array_size(tt); i++)
            CHECK(e.type_ids[i] == json_integer_value(json_array_get(tt, i)), "pair %d type id %zu", n, i);
        bertc_encoding_free(&e);
        CHECK(bertc_tokenize(rt, json_string_value(a), json_string_length(a), json_string_value(b), json_string_length(b),
                             NULL, &e, NULL) == 0, "pair %d", n);
        CHECK(ids_equal(&e, json_object_get(j, "roberta")), "roberta pair %d ids", n);
        bertc_encoding_free(&e);
        json_decref(j);
        n++;
    }
    CHECK(n >= 3, "only %d pairs", n);
    if (f) fclose(f);
    bertc_tokenizer_free(bt);
    bertc_tokenizer_free(rt);
}

/* ids of text under tokenizer t as a short array; returns count or -1 on error */
static int enc(const bertc_tokenizer *t, const char *s, size_t len, const bertc_encode_params *p, int32_t *ids, int cap,
               bertc_status *st) {
    bertc_encoding e;
    bertc_status r = bertc_tokenize(t, s, len, NULL, 0, p, &e, NULL);
    if (st) *st = r;
    if (r) return -1;
    int n = (int)e.n;
    for (int i = 0; i < n && i < cap; i++) ids[i] = e.ids[i];
    bertc_encoding_free(&e);
    return n;
}

static bool same_ids(const bertc_tokenizer *t, const char *a, const char *b) {
    int32_t x[64], y[64];
    int n = enc(t, a, strlen(a), NULL, x, 64, NULL), m = enc(t, b, strlen(b), NULL, y, 64, NULL);
    return n == m && n >= 0 && !memcmp(x, y, (size_t)n * sizeof *x);
}

static void t_edge_bert(void) {
    bertc_tokenizer *t = load_tok(TD "tok-bert");
    if (!t) return;
    int32_t ids[600];
    bertc_status st;
    /* empty and whitespace-only texts are [CLS] [SEP], as in transformers */
    CHECK(enc(t, "", 0, NULL, ids, 600, NULL) == 2 && ids[0] == 101 && ids[1] == 102, "empty");
    CHECK(enc(t, " \t\n ", 4, NULL, ids, 600, NULL) == 2, "whitespace only");
    /* special tokens are matched in raw text before normalization (lowercasing would break [MASK]) */
    CHECK(enc(t, "hello [MASK]!", 13, NULL, ids, 600, NULL) == 5 && ids[1] == 7592 && ids[2] == 103 && ids[3] == 999,
          "[MASK] in text");
    /* invalid UTF-8 is refused with its offset, never replaced */
    CHECK(enc(t, "ab\xff", 3, NULL, ids, 600, &st) < 0 && st == BERTC_ERR_INPUT, "invalid UTF-8");
    CHECK(enc(t, "\xc3", 1, NULL, ids, 600, &st) < 0 && st == BERTC_ERR_INPUT, "truncated UTF-8");
    CHECK(enc(t, "\xed\xa0\x80", 3, NULL, ids, 600, &st) < 0 && st == BERTC_ERR_INPUT, "UTF-8 surrogate");
    CHECK(enc(t, "\xc0\xaf", 2, NULL, ids, 600, &st) < 0 && st == BERTC_ERR_INPUT, "overlong UTF-8");
    /* clean_text drops format characters (zero-width, bidi marks, BOM) and controls */
    CHECK(same_ids(t, "wo\xe2\x80\x8brd", "word"), "zero-width space removed");
    CHECK(same_ids(t, "\xe2\x80\x8ehello\xe2\x80\x8f", "hello"), "bidi marks removed");
    CHECK(same_ids(t, "\xef\xbb\xbfhello", "hello"), "BOM removed");
    CHECK(same_ids(t, "a\x01" "b", "ab"), "control removed");
    /* strip_accents: NFD then drop combining marks; precomposed and decomposed agree */
    CHECK(same_ids(t, "cafe\xcc\x81", "caf\xc3\xa9"), "combining acute = precomposed");
    CHECK(same_ids(t, "caf\xc3\xa9", "cafe"), "accent stripped");
    CHECK(same_ids(t, "\xc4\xb0stanbul", "istanbul"), "dotted capital I");
    /* every Unicode punctuation class splits: Pd, Ps/Pe, Pi/Pf, Po, Pc; ASCII symbols too */
    CHECK(same_ids(t, "a\xe2\x80\x94" "b", "a \xe2\x80\x94 b"), "dash Pd");
    CHECK(same_ids(t, "a\xc2\xab" "b\xc2\xbb", "a \xc2\xab b \xc2\xbb"), "guillemets Pi/Pf");
    CHECK(same_ids(t, "a_b", "a _ b"), "connector Pc");
    CHECK(same_ids(t, "a$b", "a $ b"), "ASCII symbol $");
    CHECK(same_ids(t, "a\xe3\x80\x82" "b", "a \xe3\x80\x82 b"), "ideographic full stop");
    /* CJK ideographs are words of their own */
    CHECK(same_ids(t, "\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad \xe6\x96\x87"), "CJK split");
    /* a word longer than max_input_chars_per_word (100) is one [UNK] */
    char longw[202];
    memset(longw, 'a', 201);
    longw[201] = 0;
    CHECK(enc(t, longw, 201, NULL, ids, 600, NULL) == 3 && ids[1] == 100, "long word -> [UNK]");
    /* truncation to 512 by default; refused with truncation off */
    size_t biglen = 700 * 5;
    char *big = malloc(biglen + 1);
    for (size_t i = 0; i < 700; i++) memcpy(big + i * 5, "word ", 5);
    big[biglen] = 0;
    CHECK(enc(t, big, biglen, NULL, ids, 600, NULL) == 512 && ids[511] == 102, "truncated to 512");
    bertc_encode_params p = bertc_encode_default_params();
    p.truncation = 0;
    CHECK(enc(t, big, biglen, &p, ids, 600, &st) < 0 && st == BERTC_ERR_INPUT, "no truncation -> error");
    p.truncation = 1;
    p.max_length = 8;
    CHECK(enc(t, big, biglen, &p, ids, 600, NULL) == 8, "max_length 8");
    /* longest_first on pairs: the longer sequence gives way first */
    bertc_encoding e;
    CHECK(bertc_tokenize(t, big, biglen, "short one", 9, &p, &e, NULL) == 0 && e.n == 8, "pair truncation");
    if (e.n == 8) CHECK(e.ids[4] == 102 && e.ids[5] == 2460 && e.ids[6] == 2028 && e.type_ids[7] == 1,
                        "pair truncation keeps the short side whole");
    bertc_encoding_free(&e);
    /* offsets are code point spans into the original text */
    CHECK(bertc_tokenize(t, "H\xc3\xa9llo world", 12, NULL, 0, NULL, &e, NULL) == 0 && e.n == 4, "offsets encode");
    if (e.n == 4)
        CHECK(e.offsets[2] == 0 && e.offsets[3] == 5 && e.offsets[4] == 6 && e.offsets[5] == 11 && e.special[0] && e.special[3],
              "offsets [%d,%d] [%d,%d]", e.offsets[2], e.offsets[3], e.offsets[4], e.offsets[5]);
    bertc_encoding_free(&e);
    free(big);
    bertc_tokenizer_free(t);
}

static void t_edge_roberta(void) {
    bertc_tokenizer *t = load_tok(TD "tok-roberta");
    if (!t) return;
    int32_t ids[64];
    /* <mask> has lstrip: it swallows the space before it */
    int n = enc(t, "Hello <mask>!", 13, NULL, ids, 64, NULL);
    CHECK(n == 5 && ids[1] == 31414 && ids[2] == 50264 && ids[3] == 328, "<mask> lstrip (n=%d)", n);
    /* byte-level: no normalization, every byte representable, control characters kept */
    CHECK(enc(t, "\x01", 1, NULL, ids, 64, NULL) == 3, "control byte kept");
    CHECK(enc(t, "", 0, NULL, ids, 64, NULL) == 2 && ids[0] == 0 && ids[1] == 2, "empty");
    /* "Hello" → <s> Hello </s>, as roberta-base */
    n = enc(t, "Hello", 5, NULL, ids, 64, NULL);
    CHECK(n == 3 && ids[1] == 31414, "Hello");
    bertc_encoding e;
    CHECK(bertc_tokenize(t, "Hello world", 11, NULL, 0, NULL, &e, NULL) == 0 && e.n == 4, "offsets");
    if (e.n == 4) CHECK(e.offsets[4] == 6 && e.offsets[5] == 11, "trim_offsets drops the leading space: [%d,%d]",
                        e.offsets[4], e.offsets[5]);
    bertc_encoding_free(&e);
    bertc_tokenizer_free(t);
}

/* The differential fuzzer's committed cases (tests/tokfuzz/tokfuzz.py --write-refs): each file names a base
 * tokenizer.json and the edits that make its configuration; ids, type ids and offsets must be Hugging Face's. */
static bool ints_equal(const int32_t *v, size_t n, json_t *arr) {
    if (!json_is_array(arr) || json_array_size(arr) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(arr, i)) != v[i]) return false;
    return true;
}

static bertc_tokenizer *fuzz_config(json_t *hdr) {
    char path[512];
    snprintf(path, sizeof path, TD "%s/tokenizer.json", json_string_value(json_object_get(hdr, "base")));
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    CHECK(j != NULL, "cannot read %s", path);
    if (!j) return NULL;
    size_t i;
    json_t *edit;
    json_array_foreach(json_object_get(hdr, "set"), i, edit) {
        json_t *keys = json_array_get(edit, 0), *o = j;
        size_t nk = json_array_size(keys);
        for (size_t k = 0; k + 1 < nk; k++) o = json_object_get(o, json_string_value(json_array_get(keys, k)));
        json_object_set(o, json_string_value(json_array_get(keys, nk - 1)), json_array_get(edit, 1));
    }
    json_int_t next = 0;
    const char *key;
    json_t *v, *vocab = json_object_get(json_object_get(j, "model"), "vocab");
    if (json_is_array(vocab)) next = (json_int_t)json_array_size(vocab); /* Unigram: [piece, score] pairs */
    json_object_foreach(vocab, key, v)
        if (json_integer_value(v) >= next) next = json_integer_value(v) + 1;
    json_array_foreach(json_object_get(hdr, "add"), i, edit) {
        json_t *tok = json_deep_copy(edit);
        const char *content = json_string_value(json_object_get(tok, "content"));
        json_int_t have = -1;
        if (json_is_array(vocab)) {
            size_t q;
            json_t *e;
            json_array_foreach(vocab, q, e)
                if (!strcmp(json_string_value(json_array_get(e, 0)), content)) have = (json_int_t)q;
        } else if (json_object_get(vocab, content)) {
            have = json_integer_value(json_object_get(vocab, content));
        }
        json_object_set_new(tok, "id", json_integer(have >= 0 ? have : next++));
        if (!json_object_get(tok, "normalized")) json_object_set_new(tok, "normalized", json_false());
        json_array_append_new(json_object_get(j, "added_tokens"), tok);
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    bertc_tokenizer *t = NULL;
    bertc_error err;
    bertc_status s = tokenizer_load_mem(text, NULL, NULL, NULL, NULL, &t, &err);
    CHECK(s == BERTC_OK, "load %s with edits: %s", path, s ? err.message : "");
    free(text);
    return t;
}

static void t_fuzz_references(void) {
    static const char *const configs[] = {
        "bert-uncased", "bert-cased", "bert-lower-accents", "bert-strip-cased", "bert-no-chinese", "bert-no-clean",
        "bert-added", "roberta", "roberta-prefix", "roberta-notrim", "roberta-added", "bert-pipeline",
        "bert-nfkc-whitespace", "bert-split", "bert-prepend-metaspace", "roberta-pipeline", "xlmr",
        "xlmr-first-nosplit", "xlmr-nfkc-never", "bert-normalized-added", "xlmr-normalized-added", "bpe-chars",
        "bpe-chars-fuse-fallback", "bpe-chars-fuse-ignore", "bpe-chars-decoders", "xlmr-decoders"};
    static char line[1 << 16];
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        char path[256];
        snprintf(path, sizeof path, TD "tokfuzz/%s.jsonl.gz", configs[c]);
        gzFile f = gzopen(path, "rb");
        CHECK(f != NULL, "cannot open %s", path);
        if (!f) continue;
        json_error_t je;
        json_t *hdr = gzgets(f, line, sizeof line) ? json_loads(line, 0, &je) : NULL;
        bertc_tokenizer *t = hdr ? fuzz_config(hdr) : NULL;
        size_t n = 0, bad = 0;
        while (t && gzgets(f, line, sizeof line)) {
            json_t *j = json_loads(line, 0, &je);
            CHECK(j != NULL, "%s: bad line %zu", path, n + 2);
            if (!j) break;
            json_t *a = json_object_get(j, "a"), *b = json_object_get(j, "b");
            bertc_encode_params p = bertc_encode_default_params();
            int ml = (int)json_integer_value(json_object_get(j, "max_length"));
            p.max_length = ml ? ml : 1 << 30;
            p.truncate_left = json_is_true(json_object_get(j, "left"));
            bertc_encoding e;
            bertc_error err;
            bool ok = bertc_tokenize(t, json_string_value(a), json_string_length(a), b ? json_string_value(b) : NULL,
                                     b ? json_string_length(b) : 0, &p, &e, &err) == BERTC_OK;
            if (ok) {
                ok = ints_equal(e.ids, e.n, json_object_get(j, "ids")) &&
                     ints_equal(e.type_ids, e.n, json_object_get(j, "type_ids")) &&
                     ints_equal(e.offsets, 2 * e.n, json_object_get(j, "offsets"));
                json_t *dec = json_object_get(j, "decoded");
                char *d = NULL;
                size_t dl = 0;
                if (ok && dec)
                    ok = bertc_decode(t, e.ids, e.n, 1, &d, &dl, &err) == BERTC_OK && dl == json_string_length(dec) &&
                         !memcmp(d, json_string_value(dec), dl);
                free(d);
                bertc_encoding_free(&e);
            }
            if (!ok && bad++ < 3) printf("  %s mismatch: %.120s\n", configs[c], line);
            json_decref(j);
            n++;
        }
        CHECK(n >= 1000, "%s: %zu cases read", configs[c], n);
        CHECK(bad == 0, "%s: %zu of %zu cases differ from tokenizers", configs[c], bad, n);
        bertc_tokenizer_free(t);
        json_decref(hdr);
        gzclose(f);
    }
}

/* a decode case: ids, and tokenizers' text with skip_special_tokens true and false */
typedef struct decode_case {
    const int32_t *ids;
    size_t n;
    const char *skip, *keep;
} decode_case;

static void check_decodes(const bertc_tokenizer *t, const decode_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (int skip = 1; skip >= 0; skip--) {
            char *out = NULL;
            size_t len;
            bertc_error err;
            CHECK(bertc_decode(t, cases[i].ids, cases[i].n, skip, &out, &len, &err) == BERTC_OK, "decode %zu", i);
            const char *want = skip ? cases[i].skip : cases[i].keep;
            CHECK(out && !strcmp(out, want), "case %zu skip %d: \"%s\", tokenizers \"%s\"", i, skip, out ? out : "", want);
            free(out);
        }
}

/* Metaspace decoding as tokenizers 0.23.3 decodes these ids of tok-xlmr (skip_special_tokens true, then false). */
static void t_decode_metaspace(void) {
    bertc_tokenizer *t = load_tok(TD "tok-xlmr");
    if (!t) return;
    static const int32_t a[] = {0, 401, 30, 74, 38, 418, 150, 487, 460, 158, 232, 190, 266, 2}, b[] = {0, 91, 4001, 4, 29, 2},
                         c[] = {0, 4, 3, 4, 3, 2943, 2};
    const decode_case cases[] = {
        {a, 14, "Hello world, na\u00efve caf\u00e9! AB fi", "<s> Hello world, na\u00efve caf\u00e9! AB fi</s>"},
        {b, 6, "x y", "<s> x<mask> y</s>"},
        {c, 7, " \u30c8", "<s> <unk> <unk>\u30c8</s>"},
    };
    check_decodes(t, cases, sizeof cases / sizeof cases[0]);
    bertc_tokenizer_free(t);
}

/* tokenizer.json's truncation direction is the default side (transformers' truncation_side); only_second as
 * tokenizers truncates (ids from tokenizers 0.23.3 on the same file). */
static void t_truncation_section(void) {
    json_error_t je;
    json_t *j = json_load_file(TD "tok-bert/tokenizer.json", 0, &je);
    CHECK(j != NULL, "read tok-bert");
    if (!j) return;
    json_object_set_new(j, "truncation", json_pack("{s:s, s:i, s:s, s:i}", "direction", "Left", "max_length", 12,
                                                   "strategy", "OnlySecond", "stride", 0));
    json_object_set_new(j, "padding", json_pack("{s:s, s:s, s:i, s:i, s:s}", "strategy", "BatchLongest", "direction",
                                                "Right", "pad_id", 0, "pad_type_id", 0, "pad_token", "[PAD]"));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    bertc_tokenizer *t = NULL;
    bertc_error err;
    CHECK(tokenizer_load_mem(text, NULL, NULL, NULL, NULL, &t, &err) == BERTC_OK, "load: %s", err.message);
    free(text);
    if (!t) return;
    bertc_encoding e;
    bertc_encode_params p = bertc_encode_default_params();
    p.max_length = 12;
    const char *one = "one two three four five six seven eight nine ten eleven twelve thirteen";
    static const int32_t left[] = {101, 2176, 2274, 2416, 2698, 2809, 3157, 2702, 5408, 4376, 7093, 102};
    CHECK(bertc_tokenize(t, one, strlen(one), NULL, 0, &p, &e, &err) == BERTC_OK, "%s", err.message);
    CHECK(e.n == 12 && !memcmp(e.ids, left, sizeof left), "the section's Left is the default side: %zu ids", e.n);
    bertc_encoding_free(&e);
    p.truncation_strategy = BERTC_TRUNCATE_ONLY_SECOND;
    static const int32_t want[] = {101, 7592, 2088, 102, 2117, 6251, 2008, 2442, 4558, 2049, 2707, 102};
    const char *b = "this is a rather long second sentence that must lose its start";
    CHECK(bertc_tokenize(t, "hello world", 11, b, strlen(b), &p, &e, &err) == BERTC_OK, "%s", err.message);
    CHECK(e.n == 12 && !memcmp(e.ids, want, sizeof want), "only_second from the left: %zu ids", e.n);
    bertc_encoding_free(&e);
    const char *a = "a b c d e f g h i j k l m n o";
    CHECK(bertc_tokenize(t, a, strlen(a), "short pair", 10, &p, &e, &err) == BERTC_ERR_INPUT && strstr(err.message, "too short"),
          "only_second too short: %s", err.message);
    /* without a max_length the section's 12 is not used: transformers truncates at model_max_length */
    CHECK(bertc_tokenize(t, one, strlen(one), NULL, 0, NULL, &e, &err) == BERTC_OK && e.n == 15, "no max_length: %zu", e.n);
    bertc_encoding_free(&e);
    bertc_tokenizer_free(t);
}

/* Threads sharing one byte-level tokenizer (and so its piece cache) give the ids one thread gives. */
typedef struct share_job {
    const bertc_tokenizer *t;
    char **texts;
    size_t n, off;
    uint64_t sum;
    int bad;
} share_job;

static uint64_t ids_digest(const bertc_encoding *e) {
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < e->n; k++) h = (h ^ (uint64_t)e->ids[k] ^ ((uint64_t)e->offsets[2 * k] << 32)) * 1099511628211ull;
    return h;
}

static void *share_run(void *arg) {
    share_job *j = arg;
    for (size_t r = 0; r < j->n; r++) {
        size_t i = (r + j->off) % j->n; /* each thread in its own order, so that slots are raced for */
        bertc_encoding e;
        if (bertc_tokenize(j->t, j->texts[i], strlen(j->texts[i]), NULL, 0, NULL, &e, NULL)) {
            j->bad++;
            continue;
        }
        j->sum += ids_digest(&e) * (i + 1);
        bertc_encoding_free(&e);
    }
    return NULL;
}

static void t_threads_share_cache(void) {
    bertc_tokenizer *t = load_tok(TD "tok-roberta");
    gzFile f = gzopen(TD "tokref-sst2.jsonl.gz", "rb");
    if (!t || !f) {
        CHECK(0, "fixtures");
        if (f) gzclose(f);
        bertc_tokenizer_free(t);
        return;
    }
    static char line[1 << 16];
    size_t n = 0, cap = 8192;
    char **texts = malloc(cap * sizeof *texts);
    while (n < cap && gzgets(f, line, sizeof line)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (!j) break;
        texts[n++] = strdup(json_string_value(json_object_get(j, "text")));
        json_decref(j);
    }
    gzclose(f);
    /* the reference: a fresh tokenizer, one thread, so no piece comes from the cache of another run */
    bertc_tokenizer *t1 = load_tok(TD "tok-roberta");
    share_job ref = {t1, texts, n, 0, 0, 0};
    share_run(&ref);
    share_job jobs[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        jobs[k] = (share_job){t, texts, n, (size_t)k * n / 4, 0, 0};
        pthread_create(&th[k], NULL, share_run, &jobs[k]);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        CHECK(jobs[k].sum == ref.sum && !jobs[k].bad, "thread %d: ids differ from one thread's", k);
    }
    CHECK(n == cap && !ref.bad, "%zu texts", n);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    bertc_tokenizer_free(t);
    bertc_tokenizer_free(t1);
}

/* BPEDecoder as tokenizers 0.23.3 decodes tok-bpe-chars (skip_special_tokens true, then false). */
/* An empty (or blank) pair is a pair, as the tokenizers crate encodes it (tokenizers 0.23.3: encode("hello world", "")
 * gives [101, 7592, 2088, 102, 102], type ids 0 0 0 0 1); NULL is none. bertc tokenize reads {"text_pair": ""} as that
 * pair; classify, as transformers' pipeline (one call, "" falsy), as no pair. */
static void t_empty_pair(void) {
    bertc_tokenizer *t = load_tok(TD "tiny-bert");
    if (!t) return;
    static const int32_t want[] = {101, 7592, 2088, 102, 102};
    static const char *const blanks[] = {"", "  ", "\t\n"};
    for (int k = 0; k < 3; k++) {
        bertc_encoding e;
        bertc_error err;
        CHECK(!bertc_tokenize(t, "hello world", 11, blanks[k], strlen(blanks[k]), NULL, &e, &err), "tokenize: %s",
              err.message);
        bool same = e.n == 5;
        for (size_t i = 0; same && i < 5; i++) same = e.ids[i] == want[i] && e.type_ids[i] == (i == 4);
        CHECK(same, "pair %d: %zu ids", k, e.n);
        bertc_encoding_free(&e);
    }
    bertc_encoding e;
    CHECK(!bertc_tokenize(t, "hello world", 11, NULL, 0, NULL, &e, NULL) && e.n == 4 && e.ids[3] == 102, "no pair");
    bertc_encoding_free(&e);
    bertc_tokenizer_free(t);
    static char out[4096];
    CHECK(run_cli("echo '{\"text\": \"hello world\", \"text_pair\": \"\"}' | @ tokenize --model " TD "tiny-bert --input - "
                  "--input-format jsonl 2>&1", out, sizeof out) == 0 && strstr(out, "[101, 7592, 2088, 102, 102]"),
          "tokenize: %s", out);
    static char a[4096], b[4096];
    int ra = run_cli("echo '{\"text\": \"hello world\", \"text_pair\": \"\"}' | @ classify --model " TD "tiny-bert --logits "
                     "--input - --input-format jsonl 2>&1", a, sizeof a);
    int rb = run_cli("@ classify --model " TD "tiny-bert --logits 'hello world' 2>&1", b, sizeof b);
    CHECK(ra == 0 && rb == 0 && !strcmp(a, b), "classify: text_pair \"\" is no pair, as the pipeline: %s vs %s", a, b);
}

/* Encoding::word_ids (transformers' BatchEncoding.word_ids()): the values tokenizers 0.23.3 gives for the same
 * tokenizer.json, a pair and a left-truncated single text, for WordPiece, byte-level BPE and Unigram (the
 * differential fuzzer compares them on every configuration). */
static void t_word_ids(void) {
    static const char *dirs[] = {TD "tok-bert", TD "tok-roberta", TD "tok-xlmr"};
    static const int32_t pair_want[3][22] = {
        {-1, 0, 1, 2, 3, 4, 4, 4, 5, 6, -1, 0, 1, -1},
        {-1, 0, 1, 2, 3, 4, 4, 5, 6, 6, 7, 8, -1, -1, 0, 1, 2, -1},
        {-1, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4, -1, -1, 0, 1, -1}};
    static const size_t pair_n[3] = {14, 18, 22};
    static const int32_t left_want[3][7] = {
        {-1, 4, 4, 4, 5, 6, -1}, {-1, 5, 6, 6, 7, 8, -1}, {-1, 3, 3, 3, 3, 4, -1}};
    const char *a = "Hello, world! unaffable [MASK] x", *b = "second  pair";
    for (int d = 0; d < 3; d++) {
        bertc_tokenizer *t = load_tok(dirs[d]);
        if (!t) continue;
        bertc_encoding e;
        bertc_error err;
        CHECK(!bertc_tokenize(t, a, strlen(a), b, strlen(b), NULL, &e, &err), "%s: %s", dirs[d], err.message);
        bool same = e.n == pair_n[d] && e.word_ids;
        for (size_t i = 0; same && i < e.n; i++) same = e.word_ids[i] == pair_want[d][i];
        CHECK(same, "%s: pair word ids (n %zu, first %d)", dirs[d], e.n, e.n && e.word_ids ? e.word_ids[1] : -9);
        bertc_encoding_free(&e);
        bertc_encode_params p = bertc_encode_default_params();
        p.max_length = 7;
        p.truncate_left = 1;
        CHECK(!bertc_tokenize(t, a, strlen(a), NULL, 0, &p, &e, &err), "%s: %s", dirs[d], err.message);
        same = e.n == 7;
        for (size_t i = 0; same && i < e.n; i++) same = e.word_ids[i] == left_want[d][i];
        CHECK(same, "%s: left-truncated word ids (n %zu)", dirs[d], e.n);
        bertc_encoding_free(&e);
        bertc_tokenizer_free(t);
    }
}

static void t_decode_bpe_suffix(void) {
    bertc_tokenizer *t = load_tok(TD "tok-bpe-chars");
    if (!t) return;
    static const int32_t a[] = {2, 296, 795, 370, 311, 1, 343, 602, 410, 302, 339, 450, 523, 291, 339, 336, 380, 424, 3};
    static const int32_t b[] = {2, 475, 563, 3};
    const decode_case cases[] = {
        {a, 19, "h##ell##o w##r##ld , n##a##\u00ef##ve c##a##f##\u00e9 !",
         "[CLS]h##ell##o w[UNK]##r##ld , n##a##\u00ef##ve c##a##f##\u00e9 ! [SEP]"},
        {b, 4, "the movie", "[CLS]the movie [SEP]"},
    };
    check_decodes(t, cases, sizeof cases / sizeof cases[0]);
    bertc_tokenizer_free(t);
}

void tests_tokenizer(void) {
    run_test("tokenizer/decode_bpe_suffix", t_decode_bpe_suffix);
    run_test("tokenizer/empty_pair", t_empty_pair);
    run_test("tokenizer/word_ids", t_word_ids);
    run_test("tokenizer/threads_share_bpe_cache", t_threads_share_cache);
    run_test("tokenizer/truncation_section", t_truncation_section);
    run_test("tokenizer/decode_metaspace", t_decode_metaspace);
    run_test("tokenizer/fuzz_references (26 configurations: ids, offsets, decode)", t_fuzz_references);
    run_test("tokenizer/tokref_sst2_68221", t_tokref_sst2);
    run_test("tokenizer/tokref_legacy_files", t_tokref_legacy);
    run_test("tokenizer/tokref_pairs", t_tokref_pairs);
    run_test("tokenizer/edge_bert", t_edge_bert);
    run_test("tokenizer/edge_roberta", t_edge_roberta);
}
