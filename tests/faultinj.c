/* faultinj.c — see faultinj.h. Linked into test_bertc only (the Makefile's --wrap flags). */
#include "faultinj.h"

#include <errno.h>
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
static atomic_bool fi_persist;

static bool fi_fail(void) {
    long at = atomic_load_explicit(&fi_at, memory_order_relaxed);
    long c = atomic_fetch_add_explicit(&fi_n, 1, memory_order_relaxed) + 1;
    if (!at) return false;
    if (c == at || (c > at && atomic_load_explicit(&fi_persist, memory_order_relaxed))) {
        atomic_fetch_add(&fi_failed, 1);
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n) { return fi_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return fi_fail() ? NULL : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return fi_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fi_fail() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fi_fail() ? NULL : __real_strndup(s, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    return fi_fail() ? ENOMEM : __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
    if (fi_fail()) {
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
