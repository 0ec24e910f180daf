/* faultinj.c — see faultinj.h. Linked into test_bertc only (the Makefile's --wrap flags). */
#include "faultinj.h"

#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);

static atomic_long fi_n, fi_at, fi_failed;
static atomic_bool fi_persist, fi_recording;

/* allocation sites (the wrapper's return address) seen while recording, with the index of their first allocation */
enum { SITE_SLOTS = 1 << 14, SITE_MAX = 4096 };
static void *site_key[SITE_SLOTS];
static long site_first[SITE_MAX], n_sites;
static pthread_mutex_t site_lock = PTHREAD_MUTEX_INITIALIZER;

static void fi_record_site(void *site, long c) {
    pthread_mutex_lock(&site_lock);
    size_t h = ((uintptr_t)site >> 2) * 0x9E3779B97F4A7C15ull >> 50;
    while (site_key[h] && site_key[h] != site) h = (h + 1) & (SITE_SLOTS - 1);
    if (!site_key[h] && n_sites < SITE_MAX) {
        site_key[h] = site;
        site_first[n_sites++] = c;
    }
    pthread_mutex_unlock(&site_lock);
}

static bool fi_fail(void *site) {
    long at = atomic_load_explicit(&fi_at, memory_order_relaxed);
    long c = atomic_fetch_add_explicit(&fi_n, 1, memory_order_relaxed) + 1;
    if (!at && atomic_load_explicit(&fi_recording, memory_order_relaxed)) fi_record_site(site, c);
    if (!at) return false;
    if (c == at || (c > at && atomic_load_explicit(&fi_persist, memory_order_relaxed))) {
        if (atomic_fetch_add(&fi_failed, 1) == 0 && getenv("BERTC_FAULT_BACKTRACE")) {
            /* where the first failed allocation was made, for finding what mishandled it */
            void *frames[32];
            fprintf(stderr, "faultinj: allocation %ld fails here:\n", c);
            backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
        }
        return true;
    }
    return false;
}

#define SITE __builtin_return_address(0)
void *__wrap_malloc(size_t n) { return fi_fail(SITE) ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return fi_fail(SITE) ? NULL : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return fi_fail(SITE) ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fi_fail(SITE) ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fi_fail(SITE) ? NULL : __real_strndup(s, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    return fi_fail(SITE) ? ENOMEM : __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
    if (fi_fail(SITE)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_aligned_alloc(align, n);
}

void fi_arm(long nth, bool persistent) {
    atomic_store(&fi_failed, 0);
    atomic_store(&fi_persist, persistent);
    atomic_store(&fi_n, 0);
    atomic_store(&fi_at, nth);
}

void fi_record(void) {
    pthread_mutex_lock(&site_lock);
    memset(site_key, 0, sizeof site_key);
    n_sites = 0;
    pthread_mutex_unlock(&site_lock);
    atomic_store(&fi_recording, true);
    fi_arm(0, false);
}

long fi_sites(long *first, long cap) {
    atomic_store(&fi_recording, false);
    pthread_mutex_lock(&site_lock);
    long n = n_sites < cap ? n_sites : cap;
    memcpy(first, site_first, (size_t)n * sizeof *first);
    pthread_mutex_unlock(&site_lock);
    return n;
}

void fi_suspend(void) { atomic_store(&fi_at, 0); }

long fi_disarm(void) {
    atomic_store(&fi_at, 0);
    return atomic_load(&fi_failed);
}

long fi_count(void) { return atomic_load(&fi_n); }

/* build/bertc-fi (the CLI linked with these wrappers): BERTC_FAIL_ALLOC=N fails the Nth allocation of the process,
 * N+ every one from the Nth on; BERTC_FAIL_ALLOC_COUNT=FILE writes how many allocations the process made at exit. */
static const char *count_file;
static void fi_write_count(void) {
    FILE *f = fopen(count_file, "w");
    if (f) {
        fprintf(f, "%ld %ld\n", fi_count(), atomic_load(&fi_failed));
        fclose(f);
    }
}
__attribute__((constructor)) static void fi_from_env(void) {
    const char *e = getenv("BERTC_FAIL_ALLOC");
    if (e && *e) fi_arm(atol(e), strchr(e, '+') != NULL);
    count_file = getenv("BERTC_FAIL_ALLOC_COUNT");
    if (count_file && *count_file) atexit(fi_write_count);
}
