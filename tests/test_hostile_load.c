/*
 * test_hostile_load.c — crafted weight files and configs (issue 28): every size from a file is checked arithmetic
 * (no wrapped product, no read outside the file), tensor lookup is linear in the number of tensors, and config.json
 * is validated as transformers validates it (integers, ranges, agreement with the weights). Each hostile file is
 * generated here, in a temporary folder, from a tiny fixture; each must be refused with its status and a message
 * naming the problem, or load.
 */
#include "test.h"

#include "faultinj.h"

#include "base/json.h"
#include "formats/tensors.h"
#include "model/model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmp[64];

/* ---- files ---- */

static char *slurp(const char *path, size_t *len) {
    char *buf = NULL;
    CHECK(read_file(path, &buf, len, NULL) == 0, "read %s", path);
    return buf;
}

static void spit(const char *name, const void *data, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "create %s", path);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len, "write %s", path);
    fclose(f);
}

/* tmp becomes a copy of fixture's config and tokenizer files (no weights), config.json replaced when config given */
static void fresh(const char *fixture, const char *config) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s/* && cp -L " TD "%s/tokenizer.json " TD "%s/tokenizer_config.json " TD
             "%s/config.json %s/", tmp, fixture, fixture, fixture, tmp);
    CHECK(system(cmd) == 0, "prepare %s", tmp);
    if (config) spit("config.json", config, strlen(config));
}

static void copy_weights(const char *fixture, const char *name) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -L " TD "%s/%s %s/", fixture, name, tmp);
    CHECK(system(cmd) == 0, "copy %s", name);
}

static bertc_status load(bertc_error *err) {
    bertc_model *m = NULL;
    bertc_status s = bertc_model_load(tmp, NULL, &m, err);
    CHECK(!s == !!m, "a model exactly when loaded (status %d)", s);
    bertc_model_free(m);
    return s;
}

static void expect(bertc_status want, const char *needle, const char *what) {
    bertc_error err = {0};
    bertc_status s = load(&err);
    CHECK(s == want, "%s: status %d (%s), want %d", what, s, s ? err.message : "loaded", want);
    CHECK(!needle || (s && strstr(err.message, needle)), "%s: message \"%s\" lacks \"%s\"", what, s ? err.message : "",
          needle);
}

/* ---- safetensors ---- */

/* The header and data of a safetensors file. */
typedef struct st_file {
    json_t *h;
    char *raw;
    const char *data;
    size_t dlen;
} st_file;

static bool st_read(const char *path, st_file *f) {
    size_t len;
    f->raw = slurp(path, &len);
    if (!f->raw) return false;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | (unsigned char)f->raw[i];
    f->h = json_loadb(f->raw + 8, hl, 0, NULL);
    f->data = f->raw + 8 + hl;
    f->dlen = len - 8 - hl;
    CHECK(f->h != NULL, "header of %s", path);
    return f->h != NULL;
}

static void st_free(st_file *f) {
    json_decref(f->h);
    free(f->raw);
}

/* Writes header h (padded to 8 bytes as safetensors pads it) and dlen bytes of data as tmp/name. */
static void st_write(const char *name, const json_t *h, const void *data, size_t dlen) {
    char *txt = json_dumps(h, JSON_COMPACT);
    size_t hl = strlen(txt), pad = (8 - hl % 8) % 8;
    size_t total = 8 + hl + pad + dlen;
    unsigned char *buf = malloc(total);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)(hl + pad) >> (8 * i));
    memcpy(buf + 8, txt, hl);
    memset(buf + 8 + hl, ' ', pad);
    if (dlen) memcpy(buf + 8 + hl + pad, data, dlen);
    spit(name, buf, total);
    free(buf);
    free(txt);
}

static json_t *st_info(const char *dtype, json_t *shape, uint64_t b0, uint64_t b1) {
    return json_pack("{s:s,s:o,s:[I,I]}", "dtype", dtype, "shape", shape, "data_offsets", (json_int_t)b0,
                     (json_int_t)b1);
}

/* tiny-distilbert with one more header entry (and extra bytes of data after the fixture's). */
static void st_with_entry(const char *name, json_t *entry, const void *extra, size_t elen) {
    st_file f;
    fresh("tiny-distilbert", NULL);
    if (!st_read(TD "tiny-distilbert/model.safetensors", &f)) return;
    json_object_set_new(f.h, name, entry);
    char *d = malloc(f.dlen + elen + 1);
    memcpy(d, f.data, f.dlen);
    if (elen) memcpy(d + f.dlen, extra, elen);
    st_write("model.safetensors", f.h, d, f.dlen + elen);
    free(d);
    st_free(&f);
}

static void t_st_shape_overflow(void) {
    /* [2^32, 2^32, 16] F32: the element count wraps to 0 in 64 bits; it used to load as an empty, unused tensor */
    st_file f;
    if (!st_read(TD "tiny-distilbert/model.safetensors", &f)) return;
    uint64_t end = f.dlen;
    st_free(&f);
    st_with_entry("extra.wrapped", st_info("F32", json_pack("[I,I,i]", (json_int_t)1 << 32, (json_int_t)1 << 32, 16),
                                            end, end), NULL, 0);
    expect(BERTC_ERR_FORMAT, "tensor extra.wrapped: shape overflows", "shape product wrapping to 0");
    /* 2^26 x 2^26 x 2^10 = 2^62 elements of F32: the byte count wraps to 0 */
    st_with_entry("extra.wrapped", st_info("F32", json_pack("[I,I,I]", (json_int_t)1 << 26, (json_int_t)1 << 26,
                                                            (json_int_t)1 << 10), end, end), NULL, 0);
    expect(BERTC_ERR_FORMAT, "tensor extra.wrapped: shape overflows", "byte count wrapping to 0");
    /* negative, fractional and huge dimensions */
    st_with_entry("extra.neg", st_info("F32", json_pack("[i]", -4), end, end + 16), "0123456789abcdef", 16);
    expect(BERTC_ERR_FORMAT, "extra.neg has an invalid shape", "negative dimension");
    st_with_entry("extra.frac", st_info("F32", json_pack("[f]", 4.5), end, end + 16), "0123456789abcdef", 16);
    expect(BERTC_ERR_FORMAT, "extra.frac has an invalid shape", "fractional dimension");
    st_with_entry("extra.huge", st_info("F32", json_pack("[f,i]", 1e30, 0), end, end), NULL, 0);
    expect(BERTC_ERR_FORMAT, "extra.huge has an invalid shape", "dimension beyond 2^53");
    /* numel x dtype size != the bytes of its offsets */
    st_with_entry("extra.short", st_info("F16", json_pack("[i]", 4), end, end + 16), "0123456789abcdef", 16);
    expect(BERTC_ERR_FORMAT, "shape needs 8 bytes but data_offsets span 16", "dtype size x numel vs offsets");
    st_with_entry("extra.dtype", st_info("F31", json_pack("[i]", 4), end, end + 16), "0123456789abcdef", 16);
    expect(BERTC_ERR_FORMAT, "unknown dtype F31", "unknown dtype");
}

static void t_st_offsets(void) {
    st_file f;
    if (!st_read(TD "tiny-distilbert/model.safetensors", &f)) return;
    uint64_t end = f.dlen;
    st_free(&f);
    const char pad[64] = {0};
    /* beyond the data */
    st_with_entry("extra.out", st_info("F32", json_pack("[i]", 4), end, end + 16), pad, 8);
    expect(BERTC_ERR_FORMAT, "outside the", "offsets past the end");
    st_with_entry("extra.out", st_info("F32", json_pack("[i]", 0), (uint64_t)1 << 40, (uint64_t)1 << 40), NULL, 0);
    expect(BERTC_ERR_FORMAT, "outside the", "empty tensor at a huge offset");
    /* overlapping the fixture's tensors: safetensors' InvalidOffset */
    st_with_entry("extra.overlap", st_info("F32", json_pack("[i]", 4), 0, 16), NULL, 0);
    expect(BERTC_ERR_FORMAT, "invalid offset", "overlap");
    /* a gap between the last tensor and this one */
    st_with_entry("extra.gap", st_info("F32", json_pack("[i]", 4), end + 16, end + 32), pad, 32);
    expect(BERTC_ERR_FORMAT, "leave a gap", "gap");
    /* bytes after the last tensor: safetensors' MetadataIncompleteBuffer */
    st_with_entry("extra.tail", st_info("F32", json_pack("[i]", 4), end, end + 16), pad, 24);
    expect(BERTC_ERR_FORMAT, "not fully covered", "trailing bytes");
    /* well formed: one more tensor at the end loads (an unused tensor outside the encoder is ignored) */
    st_with_entry("extra.fine", st_info("F32", json_pack("[i]", 4), end, end + 16), pad, 16);
    expect(BERTC_OK, NULL, "one more tensor, contiguous");
    /* a header that is valid JSON but not an object; __metadata__ not a map of strings */
    fresh("tiny-distilbert", NULL);
    json_t *arr = json_pack("[i]", 1);
    st_write("model.safetensors", arr, NULL, 0);
    json_decref(arr);
    expect(BERTC_ERR_FORMAT, "header is not a JSON object", "header array");
    st_with_entry("__metadata__", json_pack("{s:i}", "format", 1), NULL, 0);
    expect(BERTC_ERR_FORMAT, "__metadata__ entry format is not a string", "metadata values");
    /* deep nesting in the header: a parse error, not a stack overflow */
    fresh("tiny-distilbert", NULL);
    size_t depth = 100000, hl = 2 * depth;
    char *deep = malloc(8 + hl);
    for (int i = 0; i < 8; i++) deep[i] = (char)((uint64_t)hl >> (8 * i));
    memset(deep + 8, '[', depth);
    memset(deep + 8 + depth, ']', depth);
    spit("model.safetensors", deep, 8 + hl);
    free(deep);
    expect(BERTC_ERR_FORMAT, "not valid JSON", "100000-deep header");
}

static void t_st_duplicates(void) {
    /* the same name in two shards */
    st_file f;
    fresh("tiny-distilbert", NULL);
    if (!st_read(TD "tiny-distilbert/model.safetensors", &f)) return;
    st_write("model-00001-of-00002.safetensors", f.h, f.data, f.dlen);
    json_t *h2 = json_object();
    static const float one[4] = {1, 2, 3, 4};
    json_object_set_new(h2, "distilbert.embeddings.LayerNorm.bias", st_info("F32", json_pack("[i]", 4), 0, 16));
    st_write("model-00002-of-00002.safetensors", h2, one, 16);
    json_t *idx = json_pack("{s:{},s:{}}", "metadata", "weight_map");
    json_t *wm = json_object_get(idx, "weight_map");
    const char *k;
    json_t *v;
    json_object_foreach(f.h, k, v) if (strcmp(k, "__metadata__"))
        json_object_set_new(wm, k, json_string("model-00001-of-00002.safetensors"));
    json_object_set_new(wm, "x", json_string("model-00002-of-00002.safetensors"));
    char *txt = json_dumps(idx, 0);
    spit("model.safetensors.index.json", txt, strlen(txt));
    free(txt);
    expect(BERTC_ERR_FORMAT, "tensor distilbert.embeddings.LayerNorm.bias appears twice", "duplicate across shards");
    json_decref(idx);
    json_decref(h2);
    st_free(&f);
}

/* 100,000 tensors: lookups by name were a linear scan per tensor (20 s); now a sort once, then O(log n) each. */
/* The bound for work that takes about a second (the quadratic lookup took 20 s to minutes); ASan doubles it. */
#ifdef __SANITIZE_ADDRESS__
#define SLOW_MS 20000
#else
#define SLOW_MS 10000
#endif

static void t_st_many_tensors(void) {
    enum { N = 100000 };
    st_file f;
    fresh("tiny-distilbert", NULL);
    if (!st_read(TD "tiny-distilbert/model.safetensors", &f)) return;
    size_t extra = (size_t)N * 4;
    char *d = calloc(1, f.dlen + extra);
    memcpy(d, f.data, f.dlen);
    for (int i = 0; i < N; i++) {
        char name[64];
        snprintf(name, sizeof name, "extra.%06d.weight", (i * 7919) % N); /* not in offset order */
        uint64_t at = f.dlen + (uint64_t)((i * 7919) % N) * 4;
        json_object_set_new(f.h, name, st_info("F32", json_pack("[i]", 1), at, at + 4));
    }
    st_write("model.safetensors", f.h, d, f.dlen + extra);
    double t0 = now_ms();
    expect(BERTC_OK, NULL, "100000 extra tensors");
    double ms = now_ms() - t0;
    printf("  load with %d extra tensors in one header: %.0f ms\n", N, ms);
    CHECK(ms < SLOW_MS, "100000 tensors took %.0f ms (quadratic lookup?)", ms);
    /* the same through a sharded index whose weight_map lists them all (its shard set was a scan per entry) */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mv %s/model.safetensors %s/model-00001-of-00001.safetensors", tmp, tmp);
    CHECK(system(cmd) == 0, "mv");
    json_t *idx = json_pack("{s:{}}", "weight_map");
    json_t *wm = json_object_get(idx, "weight_map");
    const char *k;
    json_t *v;
    json_object_foreach(f.h, k, v) if (strcmp(k, "__metadata__"))
        json_object_set_new(wm, k, json_string("model-00001-of-00001.safetensors"));
    char *txt = json_dumps(idx, 0);
    spit("model.safetensors.index.json", txt, strlen(txt));
    free(txt);
    json_decref(idx);
    t0 = now_ms();
    expect(BERTC_OK, NULL, "100000 extra tensors, sharded index");
    ms = now_ms() - t0;
    printf("  load with %d extra tensors through model.safetensors.index.json: %.0f ms\n", N, ms);
    CHECK(ms < SLOW_MS, "100000 indexed tensors took %.0f ms (quadratic?)", ms);
    /* and the set itself: every name found */
    tensor_set ts = {0};
    bertc_error err;
    snprintf(cmd, sizeof cmd, "%s/model-00001-of-00001.safetensors", tmp);
    mapped_file mf;
    if (map_file(cmd, &mf, &err) == BERTC_OK) {
        CHECK(safetensors_parse(&ts, mf.data, mf.size, "x", &err) == BERTC_OK, "parse: %s", err.message);
        int found = 0;
        for (int i = 0; i < N; i++) {
            char name[64];
            snprintf(name, sizeof name, "extra.%06d.weight", i);
            const tensor_info *t = tensor_set_find(&ts, name);
            found += t && t->nbytes == 4 && t->data == mf.data + (mf.size - extra) + (size_t)i * 4;
        }
        CHECK(found == N, "%d of %d found at their offsets", found, N);
        CHECK(!tensor_set_find(&ts, "extra.100000.weight") && !tensor_set_find(&ts, ""), "absent names");
        tensor_set_free(&ts);
        unmap_file(&mf);
    }
    free(d);
    st_free(&f);
}

/* ---- torch zip ---- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_le(buf *b, uint64_t v, int w) {
    for (int i = 0; i < w; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        put(b, &c, 1);
    }
}
static void put_s(buf *b, const char *s) { put(b, s, strlen(s)); }

/* pickle pieces (protocol 2) */
static void pk_str(buf *b, const char *s) {
    put_s(b, "X");
    put_le(b, strlen(s), 4);
    put_s(b, s);
}
static void pk_int(buf *b, int64_t v) { /* LONG1, 8 bytes */
    put_s(b, "\x8a\x08");
    put_le(b, (uint64_t)v, 8);
}

typedef struct pk_tensor {
    const char *name, *key, *storage; /* storage: "FloatStorage", ... */
    int64_t numel, offset;
    int nd;
    int64_t shape[4], stride[4];
} pk_tensor;

/* A state dict pickle as torch.save writes it: {name: _rebuild_tensor_v2(persistent storage, offset, size, stride,
 * False, OrderedDict())} */
static void pk_state_dict(buf *b, const pk_tensor *t, int n) {
    put_s(b, "\x80\x02}(");
    for (int i = 0; i < n; i++) {
        pk_str(b, t[i].name);
        put_s(b, "ctorch._utils\n_rebuild_tensor_v2\n(");
        put_s(b, "(");
        pk_str(b, "storage");
        put_s(b, "ctorch\n");
        put_s(b, t[i].storage);
        put_s(b, "\n");
        pk_str(b, t[i].key);
        pk_str(b, "cpu");
        pk_int(b, t[i].numel);
        put_s(b, "tQ");
        pk_int(b, t[i].offset);
        put_s(b, "(");
        for (int k = 0; k < t[i].nd; k++) pk_int(b, t[i].shape[k]);
        put_s(b, "t(");
        for (int k = 0; k < t[i].nd; k++) pk_int(b, t[i].stride[k]);
        put_s(b, "t\x89" "ccollections\nOrderedDict\n)RtR");
    }
    put_s(b, "u.");
}

/* A stored (uncompressed) zip of n entries, as torch.save writes pytorch_model.bin. */
static void zip_build(buf *z, const char *const *names, const buf *const *data, int n) {
    uint64_t *off = calloc((size_t)n, sizeof *off);
    for (int i = 0; i < n; i++) {
        off[i] = z->n;
        uint32_t crc = (uint32_t)crc32(0, data[i]->p, (uInt)data[i]->n);
        put_le(z, 0x04034b50, 4);
        put_le(z, 20, 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2);
        put_le(z, crc, 4), put_le(z, data[i]->n, 4), put_le(z, data[i]->n, 4);
        put_le(z, strlen(names[i]), 2), put_le(z, 0, 2);
        put_s(z, names[i]);
        put(z, data[i]->p, data[i]->n);
    }
    uint64_t cd = z->n;
    for (int i = 0; i < n; i++) {
        uint32_t crc = (uint32_t)crc32(0, data[i]->p, (uInt)data[i]->n);
        put_le(z, 0x02014b50, 4);
        put_le(z, 20, 2), put_le(z, 20, 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2);
        put_le(z, crc, 4), put_le(z, data[i]->n, 4), put_le(z, data[i]->n, 4);
        put_le(z, strlen(names[i]), 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2);
        put_le(z, 0, 4), put_le(z, off[i], 4);
        put_s(z, names[i]);
    }
    uint64_t cdn = z->n - cd;
    put_le(z, 0x06054b50, 4);
    put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, (uint64_t)n, 2), put_le(z, (uint64_t)n, 2);
    put_le(z, cdn, 4), put_le(z, cd, 4), put_le(z, 0, 2);
    free(off);
}

/* A torch zip with the given tensors, all in storage "0" of `sbytes` bytes (0, 1, 2, ... as bytes). */
static void torch_zip(buf *z, const pk_tensor *t, int n, size_t sbytes) {
    buf pkl = {0}, st = {0};
    pk_state_dict(&pkl, t, n);
    for (size_t i = 0; i < sbytes; i++) {
        unsigned char c = (unsigned char)i;
        put(&st, &c, 1);
    }
    if (!st.p) put(&st, "", 0);
    const char *names[] = {"archive/data.pkl", "archive/data/0"};
    const buf *data[] = {&pkl, &st};
    zip_build(z, names, data, 2);
    free(pkl.p);
    free(st.p);
}

/* Parses the crafted zip; *file (freed by the caller, after the set) holds it, as the mapped file would. */
static bertc_status torch_parse(const pk_tensor *t, int n, size_t sbytes, tensor_set *ts, unsigned char **file,
                                bertc_error *err) {
    buf z = {0};
    torch_zip(&z, t, n, sbytes);
    unsigned char *exact = malloc(z.n); /* exact size, so that ASan sees any read past it */
    memcpy(exact, z.p, z.n);
    memset(ts, 0, sizeof *ts);
    bertc_status s = torchbin_parse(ts, exact, z.n, "crafted.bin", err);
    /* whatever was accepted lies inside the file */
    for (int i = 0; !s && i < ts->n; i++) {
        const tensor_info *ti = &ts->t[i];
        bool copy = ti->data < exact || ti->data >= exact + z.n;
        CHECK(copy || ti->data + ti->nbytes <= exact + z.n, "tensor %s reaches past the file", ti->name);
        volatile unsigned char sink = 0;
        for (size_t k = 0; k < ti->nbytes; k++) sink ^= ti->data[k];
        (void)sink;
    }
    *file = exact;
    free(z.p);
    return s;
}

static void expect_torch(const pk_tensor *t, int n, size_t sbytes, bertc_status want, const char *needle,
                         const char *what) {
    tensor_set ts;
    bertc_error err = {0};
    unsigned char *file;
    bertc_status s = torch_parse(t, n, sbytes, &ts, &file, &err);
    CHECK(s == want, "%s: status %d (%s), want %d", what, s, s ? err.message : "parsed", want);
    CHECK(!needle || (s && strstr(err.message, needle)), "%s: message \"%s\" lacks \"%s\"", what, s ? err.message : "",
          needle);
    tensor_set_free(&ts);
    free(file);
}

static void t_torch_storage_overflow(void) {
    /* storage numel 2^62 (x 4 bytes wraps to 0) and storage offset 2^32: read 16 GiB past the file before */
    pk_tensor t = {"w", "0", "FloatStorage", (int64_t)1 << 62, (int64_t)1 << 32, 2, {2, 2}, {2, 1}};
    expect_torch(&t, 1, 16, BERTC_ERR_FORMAT, "storage 0 of tensor w declares 4611686018427387904 elements",
                 "2^62-element storage, offset 2^32");
    /* a storage that fits, an offset that puts the tensor past its end */
    pk_tensor o = {"w", "0", "FloatStorage", 4, 1, 2, {2, 2}, {2, 1}};
    expect_torch(&o, 1, 16, BERTC_ERR_FORMAT, "tensor w lies outside its storage", "offset + size past the storage");
    pk_tensor o2 = {"w", "0", "FloatStorage", 4, (int64_t)1 << 62, 1, {0}, {1}};
    expect_torch(&o2, 1, 16, BERTC_ERR_FORMAT, "tensor w lies outside its storage", "empty tensor, offset 2^62");
    pk_tensor o3 = {"w", "0", "FloatStorage", 4, INT64_MAX, 1, {2}, {1}};
    expect_torch(&o3, 1, 16, BERTC_ERR_FORMAT, "tensor w lies outside its storage", "offset near 2^63");
    /* shapes whose product wraps */
    pk_tensor w = {"w", "0", "FloatStorage", 4, 0, 3, {(int64_t)1 << 32, (int64_t)1 << 32, 16}, {0, 0, 0}};
    expect_torch(&w, 1, 16, BERTC_ERR_FORMAT, "tensor w: shape overflows", "shape product wrapping");
    pk_tensor w2 = {"w", "0", "FloatStorage", 4, 0, 1, {(int64_t)1 << 62}, {1}};
    expect_torch(&w2, 1, 16, BERTC_ERR_FORMAT, "tensor w: shape overflows", "byte count wrapping");
    /* strides: negative refused; so large the extent wraps */
    pk_tensor sn = {"w", "0", "FloatStorage", 4, 3, 2, {2, 2}, {-1, 1}};
    expect_torch(&sn, 1, 16, BERTC_ERR_FORMAT, "bad shape or stride", "negative stride");
    pk_tensor sw = {"w", "0", "FloatStorage", 4, 0, 2, {5, 2}, {(int64_t)1 << 62, 1}};
    expect_torch(&sw, 1, 16, BERTC_ERR_FORMAT, "tensor w: shape overflows", "stride x size wrapping");
    /* an expanded tensor (stride 0) bigger than the file: torch keeps a view, bertc would have to copy it */
    pk_tensor ex = {"w", "0", "FloatStorage", 1, 0, 2, {1 << 20, 1 << 20}, {0, 0}};
    expect_torch(&ex, 1, 16, BERTC_ERR_UNSUPPORTED, "strided view larger than the file", "expanded tensor");
    /* a storage that claims more bytes than the zip entry holds */
    pk_tensor big = {"w", "0", "FloatStorage", 5, 0, 1, {5}, {1}};
    expect_torch(&big, 1, 16, BERTC_ERR_FORMAT, "declares 5 elements of 4 bytes but the file holds 16", "storage > entry");
    /* a negative storage size */
    pk_tensor neg = {"w", "0", "FloatStorage", -4, 0, 1, {2}, {1}};
    expect_torch(&neg, 1, 16, BERTC_ERR_FORMAT, "negative element count", "negative storage numel");
}

static void t_torch_strided(void) {
    /* a saved transpose: storage [[0 1 2] [3 4 5]] (bytes as U8 elements), tensor = its transpose [3, 2] with stride
     * (1, 3); transformers' load_state_dict copies it, so bertc copies it contiguous */
    pk_tensor t[2] = {{"tr", "0", "ByteStorage", 6, 0, 2, {3, 2}, {1, 3}},
                      {"plain", "0", "ByteStorage", 6, 1, 1, {4}, {1}}};
    tensor_set ts;
    bertc_error err;
    unsigned char *file;
    bertc_status s = torch_parse(t, 2, 6, &ts, &file, &err);
    CHECK(s == BERTC_OK, "strided tensor: %s", err.message);
    const tensor_info *tr = s ? NULL : tensor_set_find(&ts, "tr"), *pl = s ? NULL : tensor_set_find(&ts, "plain");
    CHECK(tr && tr->ndim == 2 && tr->shape[0] == 3 && tr->shape[1] == 2 && tr->nbytes == 6, "transposed shape");
    if (tr && tr->nbytes == 6) {
        static const unsigned char want[6] = {0, 3, 1, 4, 2, 5};
        CHECK(!memcmp(tr->data, want, 6), "transposed values %d %d %d %d %d %d", tr->data[0], tr->data[1], tr->data[2],
              tr->data[3], tr->data[4], tr->data[5]);
    }
    CHECK(pl && pl->nbytes == 4 && pl->data[0] == 1 && pl->data[3] == 4, "offset view values");
    tensor_set_free(&ts);
    free(file);
}

/* The crash of issue 28 through a whole checkpoint folder: the word embeddings of tiny-distilbert's shape in a
 * storage of 2^62 elements at offset 2^32; and the CLI's exit code 3 for it. */
static void t_torch_folder_and_cli(void) {
    fresh("tiny-distilbert", NULL);
    pk_tensor t = {"distilbert.embeddings.word_embeddings.weight", "0", "FloatStorage", (int64_t)1 << 62,
                   (int64_t)1 << 32, 2, {30522, 32}, {32, 1}};
    buf z = {0};
    torch_zip(&z, &t, 1, 64);
    spit("pytorch_model.bin", z.p, z.n);
    free(z.p);
    expect(BERTC_ERR_FORMAT, "storage 0 of tensor distilbert.embeddings.word_embeddings.weight declares",
           "2^62-element storage in a folder");
    char cmd[300], out[4096];
    snprintf(cmd, sizeof cmd, "@ classify --model %s hello 2>&1", tmp);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 3, "classify on the crafted .bin: exit %d, want 3 (%s)", rc, out);
    CHECK(strstr(out, "declares 4611686018427387904 elements"), "CLI names the storage: %s", out);
}

/* ---- config.json ---- */

/* tiny-bert's (or tiny-distilbert's) weights with its config.json edited: key set to the JSON text val */
static void config_edit(const char *fixture, const char *key, const char *val) {
    fresh(fixture, NULL);
    copy_weights(fixture, "model.safetensors");
    size_t len;
    char path[256];
    snprintf(path, sizeof path, TD "%s/config.json", fixture);
    char *txt = slurp(path, &len);
    json_t *c = txt ? json_loads(txt, 0, NULL) : NULL;
    json_t *v = json_loads(val, JSON_DECODE_ANY, NULL);
    CHECK(c && v, "config %s edit %s", fixture, val);
    if (c && v) {
        json_object_set_new(c, key, v);
        char *o = json_dumps(c, 0);
        spit("config.json", o, strlen(o));
        free(o);
    } else {
        json_decref(v);
    }
    json_decref(c);
    free(txt);
}

static void t_config_integers(void) {
    config_edit("tiny-bert", "hidden_size", "32");
    expect(BERTC_OK, NULL, "tiny-bert unedited");
    config_edit("tiny-bert", "hidden_size", "32.5");
    expect(BERTC_ERR_FORMAT, "hidden_size 32.5 is not an integer", "hidden_size 32.5");
    config_edit("tiny-bert", "hidden_size", "32.0"); /* a float: nn.Linear refuses it in transformers */
    expect(BERTC_ERR_FORMAT, "hidden_size 32.0 is not an integer", "hidden_size 32.0");
    config_edit("tiny-bert", "hidden_size", "\"32\"");
    expect(BERTC_ERR_FORMAT, "hidden_size \"32\" is not an integer", "hidden_size as a string");
    config_edit("tiny-bert", "num_hidden_layers", "null");
    expect(BERTC_ERR_FORMAT, "num_hidden_layers null is not an integer", "layers null");
    config_edit("tiny-distilbert", "n_heads", "2.5");
    expect(BERTC_ERR_FORMAT, "n_heads 2.5 is not an integer", "n_heads 2.5");
    config_edit("tiny-bert", "num_labels", "2.5"); /* range(2.5) in PretrainedConfig */
    expect(BERTC_ERR_FORMAT, "num_labels 2.5 is not an integer", "num_labels 2.5");
    config_edit("tiny-bert", "vocab_size", "3e4");
    expect(BERTC_ERR_FORMAT, "vocab_size 30000.0 is not an integer", "vocab_size 3e4");
    /* an integer beyond int64 elsewhere in the file does not make the file unreadable */
    config_edit("tiny-bert", "some_huge_id", "0");
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", tmp);
    size_t len;
    char *txt = slurp(path, &len);
    char *at = txt ? strstr(txt, "\"some_huge_id\": 0") : NULL;
    CHECK(at != NULL, "edited config");
    if (at) {
        size_t pre = (size_t)(at - txt) + strlen("\"some_huge_id\": ");
        char *o = malloc(len + 64);
        memcpy(o, txt, pre);
        strcpy(o + pre, "123456789012345678901234567890");
        strcat(o, at + strlen("\"some_huge_id\": 0"));
        spit("config.json", o, strlen(o));
        free(o);
        expect(BERTC_OK, NULL, "huge unrelated integer");
        /* and then whole reals count as integers, as the text cannot tell them apart any more */
        o = malloc(len + 64);
        snprintf(o, len + 64, "{\"x\": 123456789012345678901234567890, \"model_type\": \"bert\", \"hidden_size\": 32.5}");
        model_config c;
        memset(&c, 0, sizeof c);
        bertc_error err;
        CHECK(model_config_parse(&c, o, "config.json", &err) == BERTC_ERR_FORMAT &&
                  strstr(err.message, "hidden_size 32.5 is not an integer"), "32.5 beside a huge integer");
        model_config_free(&c);
        free(o);
    }
    free(txt);
}

static void t_config_ranges(void) {
    /* type_vocab_size 0: BERT's embeddings add token type 0's row; the score changed silently before */
    config_edit("tiny-bert", "type_vocab_size", "0");
    expect(BERTC_ERR_FORMAT, "type_vocab_size 0 out of range (1 .. 1024)", "type_vocab_size 0");
    config_edit("tiny-bert", "hidden_size", "2147483648");
    expect(BERTC_ERR_FORMAT, "hidden_size 2147483648 out of range (1 .. 65536)", "hidden_size 2^31");
    config_edit("tiny-bert", "intermediate_size", "1e300");
    expect(BERTC_ERR_FORMAT, "intermediate_size 1e+300 is not an integer", "intermediate 1e300");
    config_edit("tiny-bert", "intermediate_size", "4000000000");
    expect(BERTC_ERR_FORMAT, "intermediate_size 4000000000 out of range", "intermediate 4e9");
    config_edit("tiny-bert", "num_hidden_layers", "0");
    expect(BERTC_ERR_FORMAT, "num_hidden_layers 0 out of range (1 .. 1000)", "no layers");
    config_edit("tiny-bert", "num_attention_heads", "3");
    expect(BERTC_ERR_FORMAT, "num_attention_heads 3 out of range: hidden_size 32 is not a multiple", "heads 3 of 32");
    config_edit("tiny-distilbert", "n_heads", "5");
    expect(BERTC_ERR_FORMAT, "n_heads 5 out of range: dim 32 is not a multiple", "n_heads 5 of 32");
    config_edit("tiny-bert", "layer_norm_eps", "0");
    expect(BERTC_ERR_FORMAT, "layer_norm_eps 0 out of range", "eps 0");
    config_edit("tiny-bert", "layer_norm_eps", "1e-60"); /* 0 as a float32 */
    expect(BERTC_ERR_FORMAT, "layer_norm_eps 1e-60 out of range", "eps underflowing");
    config_edit("tiny-bert", "layer_norm_eps", "\"tiny\"");
    expect(BERTC_ERR_FORMAT, "layer_norm_eps \"tiny\" out of range", "eps a string");
    config_edit("tiny-bert", "hidden_act", "\"swish\"");
    expect(BERTC_ERR_UNSUPPORTED, "hidden_act \"swish\" is not supported", "activation unknown");
    config_edit("tiny-bert", "hidden_act", "1"); /* not a name: refused, not read as the default gelu */
    expect(BERTC_ERR_UNSUPPORTED, "hidden_act 1 is not supported", "activation a number");
    config_edit("tiny-distilbert", "activation", "\"silu\"");
    expect(BERTC_ERR_UNSUPPORTED, "activation \"silu\" is not supported", "DistilBERT activation unknown");
    config_edit("tiny-bert", "pad_token_id", "30522");
    expect(BERTC_ERR_FORMAT, "pad_token_id 30522 out of range for vocab_size 30522", "pad past the vocab");
    config_edit("tiny-bert", "pad_token_id", "null");
    expect(BERTC_OK, NULL, "pad_token_id null");
    config_edit("tiny-bert", "num_labels", "-1");
    expect(BERTC_ERR_FORMAT, "num_labels -1 out of range", "num_labels -1");
}

/* every weight's shape is checked against config.json, so a config cannot make the forward pass read past one */
static void t_config_vs_weights(void) {
    config_edit("tiny-bert", "vocab_size", "40000");
    expect(BERTC_ERR_FORMAT, "word_embeddings.weight has shape [30522, 32], config.json implies [40000, 32]",
           "vocab_size vs embedding rows");
    config_edit("tiny-bert", "max_position_embeddings", "1024");
    expect(BERTC_ERR_FORMAT, "position_embeddings.weight has shape [512, 32], config.json implies [1024, 32]",
           "positions vs embedding rows");
    config_edit("tiny-bert", "type_vocab_size", "3");
    expect(BERTC_ERR_FORMAT, "token_type_embeddings.weight has shape [2, 32], config.json implies [3, 32]",
           "type_vocab_size vs token type rows");
    config_edit("tiny-bert", "id2label", "{\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}");
    expect(BERTC_ERR_FORMAT, "classifier.weight has shape [2, 32], config.json implies [3, 32]", "labels vs classifier");
    config_edit("tiny-bert", "num_labels", "5");
    expect(BERTC_ERR_FORMAT, "classifier.weight has shape [2, 32], config.json implies [5, 32]",
           "num_labels vs classifier");
    config_edit("tiny-bert", "intermediate_size", "128");
    expect(BERTC_ERR_FORMAT, "intermediate.dense.weight has shape [64, 32], config.json implies [128, 32]",
           "intermediate vs ffn");
    /* hidden_size 64 with heads 2: the first weight met already disagrees */
    config_edit("tiny-bert", "hidden_size", "64");
    expect(BERTC_ERR_FORMAT, "has shape [30522, 32], config.json implies [30522, 64]", "hidden vs weights");
    /* the CLI: exit 3 for a config error */
    config_edit("tiny-bert", "type_vocab_size", "0");
    char cmd[300], out[4096];
    snprintf(cmd, sizeof cmd, "@ classify --model %s hello 2>&1", tmp);
    int rc = run_cli(cmd, out, sizeof out);
    CHECK(rc == 3, "classify with type_vocab_size 0: exit %d, want 3 (%s)", rc, out);
    CHECK(strstr(out, "type_vocab_size 0 out of range"), "CLI names the field: %s", out);
}

/* configs parsed alone: deep nesting refused, never a stack overflow */
static void t_config_deep(void) {
    size_t depth = 100000;
    char *txt = malloc(2 * depth + 64);
    size_t n = (size_t)sprintf(txt, "{\"model_type\": \"bert\", \"x\": ");
    memset(txt + n, '[', depth);
    memset(txt + n + depth, ']', depth);
    strcpy(txt + n + 2 * depth, "}");
    model_config c;
    memset(&c, 0, sizeof c);
    bertc_error err;
    bertc_status s = model_config_parse(&c, txt, "config.json", &err);
    CHECK(s == BERTC_ERR_FORMAT && strstr(err.message, "not valid JSON"), "deep config: %d %s", s, s ? err.message : "");
    model_config_free(&c);
    free(txt);
}

/* the committed regression inputs (also fuzz seeds): each refused */
static void t_regression_files(void) {
    static const struct { const char *file; int torch; bertc_status want; const char *needle; } cases[] = {
        {"torch-storage-2p62-offset-2p32.bin", 1, BERTC_ERR_FORMAT, "declares 4611686018427387904 elements"},
        {"st-shape-wraps-to-zero.safetensors", 0, BERTC_ERR_FORMAT, "shape overflows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, TD "hostile-load/%s", cases[i].file);
        size_t len;
        char *d = slurp(path, &len);
        if (!d) continue;
        tensor_set ts = {0};
        bertc_error err = {0};
        bertc_status s = cases[i].torch ? torchbin_parse(&ts, (const uint8_t *)d, len, path, &err)
                                        : safetensors_parse(&ts, (const uint8_t *)d, len, path, &err);
        CHECK(s == cases[i].want && strstr(err.message, cases[i].needle), "%s: %d %s", cases[i].file, s,
              s ? err.message : "parsed");
        tensor_set_free(&ts);
        free(d);
    }
}

/* ---- out of memory: every allocation of the loaders failed in turn is "out of memory", never a format error ---- */

typedef bertc_status (*load_fn)(const void *ctx, bertc_error *err);

static bertc_status run_cfg(const void *ctx, bertc_error *err) {
    model_config c;
    memset(&c, 0, sizeof c);
    bertc_status s = model_config_parse(&c, ctx, "config.json", err);
    model_config_free(&c);
    return s;
}

typedef struct blob {
    const uint8_t *p;
    size_t n;
    int torch;
} blob;

static bertc_status run_parse(const void *ctx, bertc_error *err) {
    const blob *b = ctx;
    tensor_set ts = {0};
    bertc_status s = b->torch ? torchbin_parse(&ts, b->p, b->n, "w", err) : safetensors_parse(&ts, b->p, b->n, "w", err);
    tensor_set_free(&ts);
    return s;
}

static bertc_status run_load(const void *ctx, bertc_error *err) {
    bertc_model *m = NULL;
    bertc_status s = bertc_model_load(ctx, NULL, &m, err);
    bertc_model_free(m);
    return s;
}

/* Fails allocation 1, 2, ... (every one up to `upto`, 0: all) once each; returns the number of allocations. */
static long oom_sweep(const char *name, load_fn fn, const void *ctx, long upto) {
    bertc_error err = {0};
    fi_arm(0, false);
    bertc_status s = fn(ctx, &err);
    long total = fi_count();
    fi_disarm();
    CHECK(s == BERTC_OK, "%s: the unfailed run: %s", name, err.message);
    if (s) return 0;
    long bad = 0, end = upto && upto < total ? upto : total;
    for (long nth = 1; nth <= end; nth++) {
        memset(&err, 0, sizeof err);
        fi_arm(nth, false);
        s = fn(ctx, &err);
        if (!fi_disarm()) break;
        if (s != BERTC_OK && (s != BERTC_ERR_NOMEM || !strstr(err.message, "out of memory")) && bad++ < 5)
            CHECK(0, "%s: allocation %ld failed: status %s, \"%s\"", name, nth, bertc_status_str(s), err.message);
    }
    CHECK(!bad, "%s: %ld allocation failures misreported", name, bad);
    printf("  %s: %ld allocations, %ld failed in turn\n", name, total, end);
    return total;
}

static void t_out_of_memory(void) {
    static const char *const fixtures[] = {"tiny-distilbert", "tiny-bert", "tiny-roberta", "tiny-ner-bert",
                                           "tiny-deberta-var"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, TD "%s/config.json", fixtures[i]);
        size_t len;
        char *txt = slurp(path, &len);
        if (txt) oom_sweep(path, run_cfg, txt, 0);
        free(txt);
    }
    static const struct { const char *path; int torch; } w[] = {
        {TD "tiny-distilbert/model.safetensors", 0},
        {TD "tiny-distilbert-bin/pytorch_model.bin", 1},
        {TD "tiny-distilbert-binlegacy/pytorch_model.bin", 1},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        size_t len;
        char *d = slurp(w[i].path, &len);
        blob b = {(const uint8_t *)d, len, w[i].torch};
        if (d) oom_sweep(w[i].path, run_parse, &b, 0);
        free(d);
    }
    /* whole loads: config, weights and their binding come first (the tokenizer's many allocations after) */
    oom_sweep(TD "tiny-distilbert-bin (load)", run_load, TD "tiny-distilbert-bin", 1500);
    oom_sweep(TD "tiny-bert (load)", run_load, TD "tiny-bert", 1500);
    oom_sweep(TD "tiny-deberta (load)", run_load, TD "tiny-deberta", 1500); /* deberta.c's binder */
}

void tests_hostile_load(void) {
    snprintf(tmp, sizeof tmp, "/tmp/bertc-hostile-load-XXXXXX");
    if (!mkdtemp(tmp)) {
        CHECK(0, "mkdtemp");
        return;
    }
    run_test("hostile_load/safetensors_shape_overflow", t_st_shape_overflow);
    run_test("hostile_load/safetensors_offsets", t_st_offsets);
    run_test("hostile_load/safetensors_duplicates", t_st_duplicates);
    run_test("hostile_load/safetensors_100000_tensors", t_st_many_tensors);
    run_test("hostile_load/torchbin_storage_overflow", t_torch_storage_overflow);
    run_test("hostile_load/torchbin_strided", t_torch_strided);
    run_test("hostile_load/torchbin_folder_and_cli", t_torch_folder_and_cli);
    run_test("hostile_load/config_integers", t_config_integers);
    run_test("hostile_load/config_ranges", t_config_ranges);
    run_test("hostile_load/config_vs_weights", t_config_vs_weights);
    run_test("hostile_load/config_deep_nesting", t_config_deep);
    run_test("hostile_load/regression_files", t_regression_files);
    run_test("hostile_load/out_of_memory", t_out_of_memory);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) printf("  could not remove %s\n", tmp);
}
