/*
 * json.c — where the loaders' JSON text becomes a jansson tree (see json.h for what is accepted).
 *
 * Out of memory. jansson (2.14) does not survive an allocation failure inside its lexer: lex_save ignores a failed
 * append to the token buffer, so a string loses a byte silently ("RobertaForSequenceClassificatin") or loses its
 * closing quote, and the string decoder then writes past its buffer. So every jansson allocation goes through the
 * allocator below (plain malloc and free: objects stay interchangeable with any other allocator's), and while a parse
 * of ours runs, the blocks it allocated are tracked: the first allocation that fails ends the parse at once
 * (longjmp out of json_loadb), every block still live from it is freed, and the caller gets BERTC_ERR_NOMEM. A
 * failed parse thus never returns a tree, nor a corrupt one.
 */
#include "json.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define TOMB ((void *)1)

typedef struct ptrset { /* open addressing on the pointer, linear probing, TOMB where one was removed */
    void **slot;
    size_t cap, used; /* used: live + tombstones */
} ptrset;

static size_t ptr_hash(const void *p, size_t cap) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 32) & (cap - 1);
}

static bool ptrset_grow(ptrset *s) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    void **ns = calloc(nc, sizeof *ns);
    if (!ns) return false;
    size_t used = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i] && s->slot[i] != TOMB) {
            size_t h = ptr_hash(s->slot[i], nc);
            while (ns[h]) h = (h + 1) & (nc - 1);
            ns[h] = s->slot[i];
            used++;
        }
    free(s->slot);
    s->slot = ns;
    s->cap = nc;
    s->used = used;
    return true;
}

static bool ptrset_add(ptrset *s, void *p) {
    if ((s->used + 1) * 2 > s->cap && !ptrset_grow(s)) return false;
    size_t h = ptr_hash(p, s->cap);
    while (s->slot[h] && s->slot[h] != TOMB) h = (h + 1) & (s->cap - 1);
    if (!s->slot[h]) s->used++;
    s->slot[h] = p;
    return true;
}

static void ptrset_del(ptrset *s, void *p) {
    if (!s->cap) return;
    size_t h = ptr_hash(p, s->cap);
    for (size_t k = 0; k < s->cap && s->slot[h]; k++, h = (h + 1) & (s->cap - 1))
        if (s->slot[h] == p) {
            s->slot[h] = TOMB;
            return;
        }
}

/* The parse in progress on this thread, if any. */
static _Thread_local struct {
    jmp_buf *abort;
    ptrset live;
} jt;
static _Thread_local unsigned json_alloc_failures;

static void *json_alloc(size_t n) {
    void *p = malloc(n);
    if (!jt.abort) {
        if (!p) json_alloc_failures++;
        return p;
    }
    if (!p || !ptrset_add(&jt.live, p)) {
        free(p);
        json_alloc_failures++;
        longjmp(*jt.abort, 1);
    }
    return p;
}

static void json_release(void *p) {
    if (jt.abort && p) ptrset_del(&jt.live, p);
    free(p);
}

static pthread_once_t json_alloc_once = PTHREAD_ONCE_INIT;
static void json_alloc_install(void) { json_set_alloc_funcs(json_alloc, json_release); }

/* Installs the allocator once, and again if other code (a test's fault injector) replaced it since: both are plain
 * malloc and free underneath, so blocks allocated under either are freed right under the other. */
static void json_alloc_ensure(void) {
    pthread_once(&json_alloc_once, json_alloc_install);
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    if (m != json_alloc || f != json_release) json_set_alloc_funcs(json_alloc, json_release);
}

/* json_loadb, ended by the first failed allocation: *oom then, and NULL. */
static json_t *load_guarded(const char *text, size_t len, size_t flags, json_error_t *je, bool *oom) {
    json_alloc_ensure();
    jmp_buf jb;
    json_t *out = NULL;
    unsigned failures = json_alloc_failures;
    memset(&jt.live, 0, sizeof jt.live);
    *oom = false;
    if (!setjmp(jb)) {
        jt.abort = &jb;
        out = json_loadb(text, len, flags, je);
        jt.abort = NULL;
    } else {
        jt.abort = NULL;
        for (size_t i = 0; i < jt.live.cap; i++)
            if (jt.live.slot[i] && jt.live.slot[i] != TOMB) free(jt.live.slot[i]);
        *oom = true;
        out = NULL;
    }
    free(jt.live.slot);
    memset(&jt.live, 0, sizeof jt.live);
    /* an allocation failure outside the guard (another allocator installed) or jansson's own report */
    if (!out && (json_alloc_failures != failures || json_error_is_oom(je))) *oom = true;
    if (out && json_alloc_failures != failures) { /* cannot happen with the guard; never trust such a tree */
        json_decref(out);
        out = NULL;
        *oom = true;
    }
    return out;
}

json_t *jload(const char *text, size_t len, size_t flags, json_error_t *je, int *oom) {
    bool o;
    json_t *j = load_guarded(text, len, flags, je, &o);
    *oom = o;
    return j;
}

static bertc_status parse(const char *text, size_t len, size_t flags, const char *what, json_t **out, bool *overflow,
                          bertc_error *err) {
    /* RFC 8259 lets a parser ignore a byte order mark; files saved by some Windows editors start with one */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        text += 3;
        len -= 3;
    }
    json_error_t je;
    bool oom;
    *out = load_guarded(text, len, flags, &je, &oom);
    if (oom) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory reading %s", what);
    if (!*out) {
        if (overflow) *overflow = json_error_code(&je) == json_error_numeric_overflow;
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s is not valid JSON: %s (line %d, column %d)", what, je.text,
                          je.line, je.column);
    }
    return BERTC_OK;
}

bertc_status jparse(const char *text, size_t len, const char *what, json_t **out, bertc_error *err) {
    return parse(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, what, out, NULL, err);
}

bertc_status jparse_exact(const char *text, size_t len, const char *what, json_t **out, bool *exact, bertc_error *err) {
    bool overflow = false;
    *exact = true;
    bertc_status s = parse(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, what, out, &overflow, err);
    if (s == BERTC_ERR_FORMAT && overflow) {
        *exact = false; /* an integer beyond int64 somewhere: every number a real */
        return jparse(text, len, what, out, err);
    }
    return s;
}

unsigned jalloc_failures(void) {
    json_alloc_ensure();
    return json_alloc_failures;
}

char *jdump(const json_t *j, size_t flags, unsigned since) {
    char *txt = j ? json_dumps(j, flags) : NULL;
    if (txt && json_alloc_failures != since) { /* a member was dropped on the way: never write such a file */
        free(txt);
        txt = NULL;
    }
    return txt;
}

bertc_status jload_file(const char *path, json_t **out, bertc_error *err) {
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    bertc_status s = read_file(path, &text, &len, err);
    if (s) return s;
    json_error_t je;
    int oom;
    *out = jload(text, len, 0, &je, &oom);
    free(text);
    if (oom) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory reading %s", path);
    if (!*out) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: %s (line %d)", path, je.text, je.line);
    return BERTC_OK;
}
