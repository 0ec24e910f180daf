/*
 * internal.h — helpers shared by the library's modules: error reporting, a string→int hash map, growable
 * buffers, file mapping. Not part of the public API.
 */
#ifndef BERTC_INTERNAL_H
#define BERTC_INTERNAL_H

#include "bertc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define BERTC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BERTC_PRINTF(a, b)
#endif

/* Sets err (when not NULL) and returns s, so callers can write `return bertc_fail(err, ...)`. */
bertc_status bertc_fail(bertc_error *err, bertc_status s, const char *fmt, ...) BERTC_PRINTF(3, 4);

/* ---- string → int32 open-addressing hash map (keys are byte strings, copied into an arena) ---- */
typedef struct strmap {
    uint32_t cap;   /* power of two */
    uint32_t count;
    /* open addressing; a slot holds the hash, the value and, for keys of up to 11 bytes, the key itself, so a
     * lookup of a short key reads one cache line */
    struct strmap_slot {
        uint32_t hash;
        int32_t value;
        uint32_t idx; /* index+1 into entries, 0 = empty */
        uint8_t len;  /* the key's length when it is inline (<= 11), else 255 */
        char key[11];
    } *slots;
    struct strmap_entry {
        uint32_t off, len, hash;
        int32_t value;
    } *entries;
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t max_key_len;
} strmap;

bool strmap_init(strmap *m, uint32_t expected);
void strmap_free(strmap *m);
/* Inserts or overwrites; returns false on OOM. */
bool strmap_put(strmap *m, const char *key, size_t len, int32_t value);
/* Returns the value or -1. */
int32_t strmap_get(const strmap *m, const char *key, size_t len);
/* the same with the key's bertc_hash already known (computed incrementally by the caller) */
int32_t strmap_get_hashed(const strmap *m, const char *key, size_t len, uint32_t h);
uint32_t bertc_hash(const void *p, size_t len);
/* bertc_hash in steps: FNV-1a over the bytes from BERTC_FNV_INIT, then bertc_hash_finish */
#define BERTC_FNV_INIT 2166136261u
static inline uint32_t bertc_fnv_step(uint32_t h, unsigned char c) { return (h ^ c) * 16777619u; }
static inline uint32_t bertc_hash_finish(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
}

/* ---- mapped file ---- */
typedef struct mapped_file {
    const uint8_t *data;
    size_t size;
    int owned_map; /* 1: munmap on close; 0: borrowed (embedded) */
} mapped_file;

bertc_status map_file(const char *path, mapped_file *out, bertc_error *err);
void unmap_file(mapped_file *f);
/* Reads a whole small file into a NUL-terminated malloc'ed buffer. */
bertc_status read_file(const char *path, char **out, size_t *len, bertc_error *err);
bool file_exists(const char *path);
/* Bytes of the regular files under path, recursively (symlinks not followed; 0 when it cannot be read). */
uint64_t path_bytes(const char *path);
/* mkdir -p: creates path and its missing parents (mode 0755); false with errno set when it cannot. */
bool make_dirs(const char *path);
/* dir + "/" + name into buf; false when it does not fit. */
bool path_join(char *buf, size_t cap, const char *dir, const char *name);

/* UTF-8: validate, returning the byte offset of the first invalid sequence or len when valid. */
size_t utf8_validate(const char *s, size_t len);
/* names[0..n) joined with ", " into buf for messages ("NEGATIVE, POSITIVE"): each name cut at 100 bytes, no name
 * added once the list has passed cap - 112 bytes (cap at least 128). */
void names_join(char *buf, size_t cap, const char *const *names, int n);
/* A malloc'ed copy of n bytes (NUL bytes inside kept) plus a terminating NUL; NULL when out of memory. */
char *mem_dup0(const char *s, size_t n);
/* Decodes one code point at s (valid UTF-8 assumed); returns its length in bytes. */
/* numpy's pairwise sum of float32 (add.reduce over a contiguous array): the same rounding as numpy's sums. */
float np_sum_f32(const float *a, size_t n);
/* numpy's softmax of float32 v in place, as the pipelines compute it: exp(v - max(v)) / its pairwise sum. */
void np_softmax_f32(float *v, size_t n);

static inline int utf8_decode(const unsigned char *s, int32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = (int32_t)c; return 1; }
    if (c < 0xE0) { *cp = (int32_t)(((c & 0x1F) << 6) | (s[1] & 0x3F)); return 2; }
    if (c < 0xF0) { *cp = (int32_t)(((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F)); return 3; }
    *cp = (int32_t)(((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F));
    return 4;
}
int utf8_encode(int32_t cp, char *out);

double now_ms(void);

#endif
