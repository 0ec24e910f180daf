/*
 * scratch.c — per-thread scratch arenas: each slot is one buffer per thread that grows to the largest request
 * seen and is reused, so the forward pass allocates nothing (and faults in no fresh pages) once warm. A thread's
 * buffers are freed when it exits; the main thread's live as long as the process, like any cache.
 */
#include "kernels.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct arena {
    char *p;
    size_t cap;
} arena;

static pthread_key_t keys[SCRATCH_SLOTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void arena_free(void *a) {
    free(((arena *)a)->p);
    free(a);
}

static void init_keys(void) {
    for (int i = 0; i < SCRATCH_SLOTS; i++) pthread_key_create(&keys[i], arena_free);
}

bool scratch_take(int slot, const size_t *sizes, void **out, int n) {
    pthread_once(&once, init_keys);
    arena *a = pthread_getspecific(keys[slot]);
    if (!a) {
        if (!(a = calloc(1, sizeof *a)) || pthread_setspecific(keys[slot], a)) {
            free(a);
            return false;
        }
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (sizes[i] + 63) / 64 * 64;
    if (total > a->cap) {
        free(a->p);
        a->cap = 0;
        if (!(a->p = aligned_alloc(64, total ? total : 64))) return false;
        a->cap = total;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        out[i] = a->p + off;
        off += (sizes[i] + 63) / 64 * 64;
    }
    return true;
}
