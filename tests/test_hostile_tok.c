/*
 * test_hostile_tok.c — issue 28's hostile tokenizer inputs: long words through a Split regex (which overflowed the
 * stack of a server thread at 10 KB and the CLI's at 100 K characters), 10^5-deep patterns in Split and Replace
 * (which overflowed the parser's stack), pathological patterns (a clear error, not a hang), and long words
 * through every model (byte-level BPE was quadratic: 31 s for 200,000 characters). Expected ids are tokenizers
 * 0.23.3's on the same generated words (ids count and FNV-1a of the ids as little-endian int32, computed with
 * tokenizers' Tokenizer.from_file on the same tokenizer.json).
 */
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

static double secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* n lowercase letters from a 64-bit LCG (tests/tokfuzz-style generator, replicated in the reference script) */
static char *gen_word(size_t n, uint64_t seed) {
    char *w = malloc(n + 1);
    if (!w) return NULL;
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = (char)('a' + (x >> 33) % 26);
    }
    w[n] = 0;
    return w;
}

static char *repeat(const char *s, size_t times, const char *mid, const char *close) {
    size_t ls = strlen(s), lm = strlen(mid), lc = strlen(close);
    char *p = malloc(times * (ls + lc) + lm + 1), *o = p;
    if (!p) return NULL;
    for (size_t i = 0; i < times; i++, o += ls) memcpy(o, s, ls);
    memcpy(o, mid, lm);
    o += lm;
    for (size_t i = 0; i < times; i++, o += lc) memcpy(o, close, lc);
    *o = 0;
    return p;
}

static uint64_t fnv_ids(const int32_t *ids, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) h = (h ^ (((uint32_t)ids[i] >> (8 * b)) & 0xFF)) * 0x100000001b3ull;
    return h;
}

/* tmpdir/name/tokenizer.json: TD base/tokenizer.json with the given sections replaced (NULL: kept; stolen) */
static const char *write_tok(const char *name, const char *base, json_t *norm, json_t *pre, json_t *dec) {
    static char dir[512];
    char path[600];
    snprintf(path, sizeof path, TD "%s/tokenizer.json", base);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    CHECK(j != NULL, "cannot read %s", path);
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    if (!j) return dir;
    if (norm) json_object_set_new(j, "normalizer", norm);
    if (pre) json_object_set_new(j, "pre_tokenizer", pre);
    if (dec) json_object_set_new(j, "decoder", dec);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    CHECK(json_dump_file(j, path, JSON_COMPACT) == 0, "cannot write %s", path);
    json_decref(j);
    return dir;
}

static json_t *split(const char *regex, const char *behavior) {
    return json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", regex, "behavior", behavior,
                     "invert", 0);
}

static json_t *replace(const char *regex, const char *content) {
    return json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "Regex", regex, "content", content);
}

/* the Split-regex tokenizers: byte-level BPE behind Split \w+ (tokenizers' references below), and WordPiece
 * behind it (a word past max_input_chars_per_word is [UNK]) */
static const char *split_bpe_dir(void) {
    json_t *seq = json_pack("{s:s, s:[o, {s:s, s:b, s:b, s:b}]}", "type", "Sequence", "pretokenizers",
                            split("\\w+", "Isolated"), "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                            "use_regex", 0);
    return write_tok("split-bpe", "tok-roberta", NULL, seq, NULL);
}

static const char *split_wp_dir(void) { return write_tok("split-wp", "tok-bert", NULL, split("\\w+", "Isolated"), NULL); }

static bertc_tokenizer *load(const char *dir) {
    bertc_tokenizer *t = NULL;
    bertc_error err;
    bertc_status s = bertc_tokenizer_load(dir, &t, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    return s == BERTC_OK ? t : NULL;
}

static bool encode_all(const bertc_tokenizer *t, const char *text, bertc_encoding *e, bertc_error *err) {
    bertc_encode_params p = bertc_encode_default_params();
    p.max_length = 1 << 30;
    return bertc_tokenize(t, text, strlen(text), NULL, 0, &p, e, err) == BERTC_OK;
}

/* a word's ids: count and hash as given, within a generous time (what must take well under a second) */
static void expect_word(const bertc_tokenizer *t, const char *what, size_t n, size_t want_n, uint64_t want_h,
                        double limit) {
    char *w = gen_word(n, 1);
    if (!w || !t) {
        free(w);
        CHECK(0, "%s: no word or tokenizer", what);
        return;
    }
    bertc_encoding e;
    bertc_error err;
    double t0 = secs();
    bool ok = encode_all(t, w, &e, &err);
    double dt = secs() - t0;
    CHECK(ok, "%s, %zu characters: %s", what, n, ok ? "" : err.message);
    if (ok) {
        CHECK(e.n == want_n && fnv_ids(e.ids, e.n) == want_h, "%s, %zu characters: %zu ids, hash %016llx (want %zu, %016llx)",
              what, n, e.n, (unsigned long long)fnv_ids(e.ids, e.n), want_n, (unsigned long long)want_h);
        bertc_encoding_free(&e);
    }
    CHECK(dt < limit, "%s, %zu characters: %.1f s", what, n, dt);
    free(w);
}

/* tokenizers' ids on gen_word(n, 1) behind Split \w+ + byte-level BPE (tok-roberta's model and post-processor) */
#define SPLIT_10K 5982, 0x83f1fe8ffa3ed3e4ull
#define SPLIT_100K 59634, 0x75c8b38ad422c95dull
#define SPLIT_1M 596215, 0x6b7d4b3c94171e09ull

static void expect_unk_word(const bertc_tokenizer *t, size_t n) {
    char *w = gen_word(n, 1);
    bertc_encoding e;
    bertc_error err;
    bool ok = t && w && encode_all(t, w, &e, &err);
    CHECK(ok, "WordPiece behind Split, %zu characters: %s", n, ok || !t || !w ? "" : err.message);
    if (ok) {
        CHECK(e.n == 3 && e.ids[0] == 101 && e.ids[1] == 100 && e.ids[2] == 102, "%zu characters: %zu ids, [1] = %d", n,
              e.n, e.n > 1 ? e.ids[1] : -1);
        bertc_encoding_free(&e);
    }
    free(w);
}

static void split_regex_long_words(void) {
    bertc_tokenizer *t = load(split_bpe_dir());
    expect_word(t, "Split \\w+ byte-level", 10000, SPLIT_10K, 30);
    expect_word(t, "Split \\w+ byte-level", 100000, SPLIT_100K, 30);
    expect_word(t, "Split \\w+ byte-level", 1000000, SPLIT_1M, 60);
    bertc_tokenizer_free(t);
    t = load(split_wp_dir());
    expect_unk_word(t, 10000);
    expect_unk_word(t, 1000000);
    bertc_tokenizer_free(t);
}

/* ---- on a thread with a 1 MB stack, as the server's connection threads have ---- */

typedef struct th_job {
    void (*fn)(void *);
    void *arg;
} th_job;

static void *th_main(void *p) {
    th_job *j = p;
    j->fn(j->arg);
    return NULL;
}

static void on_small_stack(void (*fn)(void *), void *arg) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    CHECK(pthread_attr_setstacksize(&a, 1 << 20) == 0, "stack size");
    pthread_t th;
    th_job j = {fn, arg};
    int rc = pthread_create(&th, &a, th_main, &j);
    CHECK(rc == 0, "pthread_create: %d", rc);
    if (rc == 0) pthread_join(th, NULL);
    pthread_attr_destroy(&a);
}

static void split_words_job(void *arg) {
    (void)arg;
    bertc_tokenizer *t = load(split_bpe_dir());
    expect_word(t, "Split \\w+ byte-level on a 1 MB stack", 10000, SPLIT_10K, 30);
    expect_word(t, "Split \\w+ byte-level on a 1 MB stack", 100000, SPLIT_100K, 30);
    bertc_tokenizer_free(t);
    t = load(split_wp_dir());
    expect_unk_word(t, 10000);
    expect_unk_word(t, 100000);
    bertc_tokenizer_free(t);
}

static void split_regex_thread_1mb_stack(void) { on_small_stack(split_words_job, NULL); }

/* ---- patterns nested 10^5 deep ---- */

#define DEEP 100000

static char *deep[4];

static const char *deep_pattern(int k) {
    char **p = deep;
    if (!p[k]) {
        static const char *const open[] = {"(", "(?:", "(b|", "(?="}, *const close[] = {")", ")", ")", ")"};
        p[k] = repeat(open[k], DEEP, "a", close[k]);
    }
    return p[k];
}

/* in a Split pre-tokenizer, a Replace normalizer and a Replace decoder: refused when the tokenizer loads */
static void deep_job(void *arg) {
    (void)arg;
    for (int k = 0; k < 4; k++) {
        const char *pat = deep_pattern(k);
        if (!pat) {
            CHECK(0, "out of memory");
            return;
        }
        for (int where = 0; where < 3; where++) {
            const char *dir = write_tok("deep", "tok-bert", where == 1 ? replace(pat, " ") : NULL,
                                        where == 0 ? split(pat, "Isolated") : NULL,
                                        where == 2 ? replace(pat, " ") : NULL);
            bertc_tokenizer *t = NULL;
            bertc_error err;
            bertc_status s = bertc_tokenizer_load(dir, &t, &err);
            CHECK(s == BERTC_ERR_UNSUPPORTED && strstr(err.message, "nested deeper than 256 levels"),
                  "pattern %d in %s: status %d: %.200s", k, where == 0 ? "Split" : where == 1 ? "Replace" : "decoder", s,
                  s ? err.message : "");
            bertc_tokenizer_free(t);
        }
    }
}

static void deep_patterns_refused(void) { deep_job(NULL); }

static void deep_patterns_refused_1mb_stack(void) { on_small_stack(deep_job, NULL); }

/* 10^5 alternatives side by side (no nesting) and 256 levels load and match */
static void wide_and_deepest_patterns_match(void) {
    char *wide = repeat("x|", DEEP, "b", ""), *deepest = repeat("(?:", 256, "b", ")");
    const char *pats[] = {wide, deepest};
    bertc_tokenizer *plain = load(TD "tok-bert");
    for (int k = 0; k < 2 && wide && deepest && plain; k++) {
        bertc_tokenizer *t = load(write_tok("wide", "tok-bert", NULL, split(pats[k], "Isolated"), NULL));
        bertc_encoding e, f;
        bertc_error err;
        /* Split isolates each b: "abba" is [a][b][b][a], as BertPreTokenizer splits "a b b a" */
        bool ok = t && encode_all(t, "abba", &e, &err);
        CHECK(ok, "pattern %d: %s", k, ok || !t ? "" : err.message);
        if (ok && encode_all(plain, "a b b a", &f, &err)) {
            CHECK(e.n == 6 && f.n == 6 && !memcmp(e.ids, f.ids, 6 * sizeof *e.ids), "pattern %d: %zu ids, [2] = %d", k,
                  e.n, e.n > 2 ? e.ids[2] : -1);
            bertc_encoding_free(&f);
        }
        if (ok) bertc_encoding_free(&e);
        bertc_tokenizer_free(t);
    }
    bertc_tokenizer *t = NULL;
    bertc_error err;
    char *over = repeat("(?:", 257, "b", ")");
    bertc_status s = over ? bertc_tokenizer_load(write_tok("over", "tok-bert", NULL, split(over, "Isolated"), NULL), &t, &err)
                          : BERTC_ERR_NOMEM;
    CHECK(s == BERTC_ERR_UNSUPPORTED, "257 levels: status %d", s);
    bertc_tokenizer_free(t);
    bertc_tokenizer_free(plain);
    free(wide);
    free(deepest);
    free(over);
}

/* exponential and quadratic backtracking: a clear error within the step budget, not a hang */
static void pathological_patterns_fail(void) {
    static const struct {
        const char *pat;
        int in_norm;
        char c;
        size_t n;
    } cases[] = {{"(a*)*b", 0, 'a', 10000}, {"(?:a|a)+b", 0, 'a', 100}, {"\\s\\s+(?=\\S)", 1, ' ', 100000},
                 {"(?:a{1000}){1000}{1000}c", 0, 'a', 100000}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *dir = write_tok("patho", "tok-bert", cases[k].in_norm ? replace(cases[k].pat, " ") : NULL,
                                    cases[k].in_norm ? NULL : split(cases[k].pat, "Isolated"), NULL);
        bertc_tokenizer *t = load(dir);
        char *text = malloc(cases[k].n + 1);
        if (!t || !text) {
            bertc_tokenizer_free(t);
            free(text);
            continue;
        }
        memset(text, cases[k].c, cases[k].n);
        text[cases[k].n] = 0;
        bertc_encoding e;
        bertc_error err;
        double t0 = secs();
        bool ok = encode_all(t, text, &e, &err);
        double dt = secs() - t0;
        CHECK(!ok && err.status == BERTC_ERR_INPUT && strstr(err.message, "ran out of steps"), "%s: %s", cases[k].pat,
              ok ? "tokenized" : err.message);
        if (ok) bertc_encoding_free(&e);
        CHECK(dt < 60, "%s: %.1f s", cases[k].pat, dt);
        bertc_tokenizer_free(t);
        free(text);
    }
}

/* ---- long words through every model ---- */

static void long_words_models(void) {
    bertc_tokenizer *t = load(TD "tok-roberta");
    expect_word(t, "byte-level BPE", 200000, 119321, 0xdc704a5e21084ddbull, 30);
    bertc_tokenizer_free(t);
    t = load(TD "tok-bpe-chars");
    expect_word(t, "character BPE", 200000, 169899, 0xd1e296e1a62360a6ull, 30);
    bertc_tokenizer_free(t);
    t = load(TD "tok-xlmr");
    expect_word(t, "Unigram", 200000, 177267, 0x7195b28b036b4131ull, 30);
    bertc_tokenizer_free(t);
    t = load(TD "tok-bert");
    expect_unk_word(t, 1000000);
    /* 1 MB of combining marks after a letter, and a 1 MB run of spaces: BERT's normalizer leaves the letter */
    size_t n = 1000000;
    char *marks = malloc(n + 2), *spaces = malloc(n + 2);
    if (t && marks && spaces) {
        marks[0] = 'a';
        for (size_t i = 1; i + 1 <= n; i += 2) {
            marks[i] = (char)0xCC; /* U+0301 */
            marks[i + 1] = (char)0x81;
        }
        marks[n + 1] = 0;
        memset(spaces, ' ', n);
        spaces[n] = 'a';
        spaces[n + 1] = 0;
        const char *texts[] = {marks, spaces};
        for (int k = 0; k < 2; k++) {
            bertc_encoding e;
            bertc_error err;
            double t0 = secs();
            bool ok = encode_all(t, texts[k], &e, &err);
            CHECK(ok && e.n == 3 && e.ids[1] == 1037, "text %d: %s, %zu ids", k, ok ? "" : err.message, ok ? e.n : 0);
            CHECK(secs() - t0 < 30, "text %d: %.1f s", k, secs() - t0);
            if (ok) bertc_encoding_free(&e);
        }
    }
    free(marks);
    free(spaces);
    bertc_tokenizer_free(t);
}

/* ---- the CLI: a 100 K and a 1 MB word behind Split \w+ (the CLI died at 100 K) ---- */

static void cli_split_regex(void) {
    const char *dir = split_bpe_dir();
    bertc_tokenizer *t = load(dir);
    static const size_t sizes[] = {100000, 1000000};
    for (int k = 0; k < 2 && t; k++) {
        char *w = gen_word(sizes[k], 1), path[600], cmd[1400], want[128];
        static char out[1 << 16];
        bertc_encoding e;
        bertc_error err;
        if (!w || !encode_all(t, w, &e, &err)) {
            CHECK(0, "library encode");
            free(w);
            continue;
        }
        snprintf(want, sizeof want, "\"input_ids\": [%d, %d, %d, %d,", e.ids[0], e.ids[1], e.ids[2], e.ids[3]);
        bertc_encoding_free(&e);
        snprintf(path, sizeof path, "%s/word%d.txt", tmpdir, k);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL, "cannot write %s", path);
        if (f) {
            fputs(w, f);
            fputc('\n', f);
            fclose(f);
            snprintf(cmd, sizeof cmd, "@ tokenize --max-length 512 --model %s --input %s --input-format text 2>&1", dir, path);
            int rc = run_cli(cmd, out, sizeof out);
            CHECK(rc == 0 && strstr(out, want), "%zu characters: exit %d, %.200s (want %s)", sizes[k], rc, out, want);
        }
        free(w);
    }
    bertc_tokenizer_free(t);
}

/* ---- the matcher against tokenizers: tests/tokfuzz's bert-regex configuration (lookahead, lazy, counted and
 * nested loops, empty branches, anchors and classes in Split and Replace), 1000 cases written by
 * `tokfuzz.py --write-refs tests/data/hostile-tok --config bert-regex -n 1000 --seed 1` ---- */

static bool ints_equal(const int32_t *v, size_t n, json_t *arr) {
    if (!json_is_array(arr) || json_array_size(arr) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(arr, i)) != v[i]) return false;
    return true;
}

static void regex_references(void) {
    gzFile f = gzopen(TD "hostile-tok/bert-regex.jsonl.gz", "rb");
    CHECK(f != NULL, "cannot open bert-regex.jsonl.gz");
    if (!f) return;
    static char line[1 << 16];
    json_error_t je;
    json_t *hdr = gzgets(f, line, sizeof line) ? json_loads(line, 0, &je) : NULL, *base = NULL;
    char path[300];
    snprintf(path, sizeof path, TD "%s/tokenizer.json", hdr ? json_string_value(json_object_get(hdr, "base")) : "");
    if (hdr) base = json_load_file(path, 0, &je);
    CHECK(hdr && base && !json_object_get(hdr, "add"), "bad header or base %s", path);
    bertc_tokenizer *t = NULL;
    if (base) {
        size_t i;
        json_t *edit;
        json_array_foreach(json_object_get(hdr, "set"), i, edit) { /* [[key, ...], value] */
            json_t *keys = json_array_get(edit, 0), *o = base;
            size_t nk = json_array_size(keys);
            for (size_t k = 0; k + 1 < nk; k++) o = json_object_get(o, json_string_value(json_array_get(keys, k)));
            json_object_set(o, json_string_value(json_array_get(keys, nk - 1)), json_array_get(edit, 1));
        }
        char *text = json_dumps(base, JSON_COMPACT);
        bertc_error err;
        bertc_status s = text ? tokenizer_load_mem(text, NULL, NULL, NULL, NULL, &t, &err) : BERTC_ERR_NOMEM;
        CHECK(s == BERTC_OK, "load: %s", s ? err.message : "");
        free(text);
    }
    size_t n = 0, bad = 0;
    while (t && gzgets(f, line, sizeof line)) {
        json_t *j = json_loads(line, 0, &je), *a = json_object_get(j, "a"), *b = json_object_get(j, "b");
        CHECK(j != NULL, "bad line %zu", n + 2);
        if (!j) break;
        bertc_encode_params p = bertc_encode_default_params();
        int ml = (int)json_integer_value(json_object_get(j, "max_length"));
        p.max_length = ml ? ml : 1 << 30;
        p.truncate_left = json_is_true(json_object_get(j, "left"));
        bertc_encoding e;
        bertc_error err;
        bool ok = bertc_tokenize(t, json_string_value(a), json_string_length(a), b ? json_string_value(b) : NULL,
                                 b ? json_string_length(b) : 0, &p, &e, &err) == BERTC_OK;
        if (ok) {
            json_t *dec = json_object_get(j, "decoded");
            char *d = NULL;
            size_t dl = 0;
            ok = ints_equal(e.ids, e.n, json_object_get(j, "ids")) &&
                 ints_equal(e.type_ids, e.n, json_object_get(j, "type_ids")) &&
                 ints_equal(e.offsets, 2 * e.n, json_object_get(j, "offsets")) &&
                 bertc_decode(t, e.ids, e.n, 1, &d, &dl, &err) == BERTC_OK && dl == json_string_length(dec) &&
                 !memcmp(d, json_string_value(dec), dl);
            free(d);
            bertc_encoding_free(&e);
        }
        if (!ok && bad++ < 3) printf("  mismatch: %.160s\n", line);
        json_decref(j);
        n++;
    }
    CHECK(n == 1000 && bad == 0, "%zu of %zu cases differ from tokenizers", bad, n);
    bertc_tokenizer_free(t);
    json_decref(base);
    json_decref(hdr);
    gzclose(f);
}

void tests_hostile_tok(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bertc-hostile-tok-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("  cannot make a temporary folder\n");
        return;
    }
    run_test("hostile_tok/split_regex_long_words", split_regex_long_words);
    run_test("hostile_tok/split_regex_thread_1mb_stack", split_regex_thread_1mb_stack);
    run_test("hostile_tok/deep_patterns_refused", deep_patterns_refused);
    run_test("hostile_tok/deep_patterns_refused_1mb_stack", deep_patterns_refused_1mb_stack);
    run_test("hostile_tok/wide_and_deepest_patterns_match", wide_and_deepest_patterns_match);
    run_test("hostile_tok/pathological_patterns_fail", pathological_patterns_fail);
    run_test("hostile_tok/long_words_models", long_words_models);
    run_test("hostile_tok/cli_split_regex", cli_split_regex);
    run_test("hostile_tok/regex_references", regex_references);
    char cmd[400];
    for (int k = 0; k < 4; k++) {
        free(deep[k]);
        deep[k] = NULL;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("  could not remove %s\n", tmpdir);
}
