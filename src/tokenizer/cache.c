/*
 * cache.c — byte-level BPE's piece cache, as tokenizers keeps one (models/bpe: a word → its tokens): shared by all
 * the threads that use a tokenizer, without locks. Each slot is a seqlock over C11 atomics: a writer takes an
 * even sequence number to odd, stores, and releases it even again; a reader copies the slot between two equal
 * even readings, so it sees a whole entry or none. A writer that finds the slot busy just skips it. Only pieces
 * of up to BPE_CACHE_KEY bytes are cached (most words), and only ids under 2^24.
 */
#include "tokenizer.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 1 << 14, WORDS = 16, KEYW = 3, TOKW = 11 };

struct bpe_cache {
    _Atomic uint64_t w[SLOTS][WORDS];
};

bpe_cache *bpe_cache_new(void) {
    bpe_cache *c = aligned_alloc(64, sizeof(bpe_cache));
    if (!c) return NULL;
    for (size_t i = 0; i < SLOTS; i++)
        for (size_t j = 0; j < WORDS; j++) atomic_init(&c->w[i][j], 0);
    return c;
}

void bpe_cache_free(bpe_cache *c) { free(c); }

int bpe_cache_get(bpe_cache *c, uint32_t h, const unsigned char *key, size_t n, int32_t *ids, uint8_t *ends) {
    _Atomic uint64_t *w = c->w[h & (SLOTS - 1)];
    uint64_t s1 = atomic_load_explicit(&w[0], memory_order_acquire);
    if (s1 & 1 || !s1) return 0;
    uint64_t v[WORDS];
    for (int j = 1; j < WORDS; j++) v[j] = atomic_load_explicit(&w[j], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&w[0], memory_order_relaxed) != s1) return 0;
    if ((uint32_t)v[1] != h || ((v[1] >> 32) & 0xFF) != n) return 0;
    unsigned char k[KEYW * 8];
    memcpy(k, &v[2], sizeof k);
    if (memcmp(k, key, n) != 0) return 0;
    int nt = (int)((v[1] >> 40) & 0xFF);
    uint32_t tk[TOKW * 2];
    memcpy(tk, &v[2 + KEYW], sizeof tk);
    for (int q = 0; q < nt; q++) {
        ids[q] = (int32_t)(tk[q] >> 8);
        ends[q] = (uint8_t)(tk[q] & 0xFF);
    }
    return nt;
}

void bpe_cache_put(bpe_cache *c, uint32_t h, const unsigned char *key, size_t n, const int32_t *ids,
                   const uint8_t *ends, int nt) {
    if (nt <= 0 || nt > TOKW * 2 || n > KEYW * 8) return;
    for (int q = 0; q < nt; q++)
        if (ids[q] < 0 || ids[q] >= 1 << 24) return;
    _Atomic uint64_t *w = c->w[h & (SLOTS - 1)];
    uint64_t s = atomic_load_explicit(&w[0], memory_order_relaxed);
    if (s & 1 || !atomic_compare_exchange_strong_explicit(&w[0], &s, s + 1, memory_order_acquire, memory_order_relaxed))
        return;
    atomic_thread_fence(memory_order_release);
    uint64_t v[WORDS] = {0};
    v[1] = (uint64_t)h | (uint64_t)n << 32 | (uint64_t)nt << 40;
    memcpy(&v[2], key, n);
    uint32_t tk[TOKW * 2] = {0};
    for (int q = 0; q < nt; q++) tk[q] = (uint32_t)ids[q] << 8 | ends[q];
    memcpy(&v[2 + KEYW], tk, sizeof tk);
    for (int j = 1; j < WORDS; j++) atomic_store_explicit(&w[j], v[j], memory_order_relaxed);
    atomic_store_explicit(&w[0], s + 2, memory_order_release);
}
