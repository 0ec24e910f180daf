/*
 * torchbin.c — pytorch_model.bin in both formats torch.save has written:
 *   - the zip archive (torch >= 1.6): <dir>/data.pkl holds the state dict, <dir>/data/<key> each storage;
 *   - the legacy stream (older hub checkpoints): magic, protocol and sys-info pickles, the state-dict pickle,
 *     the list of storage keys, then each storage as an 8-byte element count and its raw bytes.
 * The pickles go through a restricted unpickler: it understands only the opcodes a state dict uses, and the
 * only callables it accepts are collections.OrderedDict and torch._utils._rebuild_tensor(_v2) with torch's
 * typed storage classes. Nothing is ever executed; anything else is refused by name. Tensor data stays in
 * the mapped file; only contiguous tensors are accepted. Mirrors torch/serialization.py.
 */
#include "tensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ---- */
enum pk { PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_TUPLE, PK_LIST, PK_DICT, PK_GLOBAL, PK_STORAGE, PK_TENSOR, PK_MARK };

typedef struct pval {
    enum pk kind;
    int64_t i;       /* INT, BOOL; STORAGE: element count; TENSOR: storage offset */
    double f;
    char *s;         /* STR, GLOBAL ("module.name"); STORAGE: key */
    int *items;      /* TUPLE/LIST: n items; DICT: 2n (key, value); TENSOR: [storage, shape, stride] */
    int n, cap;
    int dtype;       /* STORAGE: enum st_dtype or DT_OTHER */
    size_t esize;    /* STORAGE element size */
    const char *dtname;
} pval;

typedef struct unpickler {
    const uint8_t *p, *end;
    pval *v;
    int nv, capv;
    int *stack, sp, capst;
    int *marks, nm, capm;
    int *memo, capmemo;
    const char *what;
    bertc_error *err;
    bertc_status s;
} unpickler;

static int fail(unpickler *u, bertc_status s, const char *msg, const char *detail) {
    if (!u->s) u->s = bertc_fail(u->err, s, "%s: %s%s", u->what, msg, detail ? detail : "");
    return -1;
}

static int newval(unpickler *u, enum pk kind) {
    if (u->nv == u->capv) {
        int nc = u->capv ? u->capv * 2 : 256;
        pval *nv = realloc(u->v, (size_t)nc * sizeof *nv);
        if (!nv) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
        u->v = nv;
        u->capv = nc;
    }
    memset(&u->v[u->nv], 0, sizeof(pval));
    u->v[u->nv].kind = kind;
    return u->nv++;
}

static int push(unpickler *u, int idx) {
    if (idx < 0) return -1;
    if (u->sp == u->capst) {
        int nc = u->capst ? u->capst * 2 : 64;
        int *ns = realloc(u->stack, (size_t)nc * sizeof *ns);
        if (!ns) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
        u->stack = ns;
        u->capst = nc;
    }
    u->stack[u->sp++] = idx;
    return 0;
}

static int pop(unpickler *u) {
    if (u->sp <= 0 || (u->nm && u->sp <= u->marks[u->nm - 1])) return fail(u, BERTC_ERR_FORMAT, "pickle stack underflow", NULL);
    return u->stack[--u->sp];
}

static int add_item(unpickler *u, int container, int item) {
    pval *c = &u->v[container];
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 8;
        int *ni = realloc(c->items, (size_t)nc * sizeof *ni);
        if (!ni) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->n++] = item;
    return 0;
}

static bool need(unpickler *u, size_t n) {
    if ((size_t)(u->end - u->p) < n) {
        fail(u, BERTC_ERR_FORMAT, "pickle is truncated", NULL);
        return false;
    }
    return true;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int mkstr(unpickler *u, enum pk kind, const uint8_t *s, size_t n) {
    int i = newval(u, kind);
    if (i < 0) return -1;
    u->v[i].s = malloc(n + 1);
    if (!u->v[i].s) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
    memcpy(u->v[i].s, s, n);
    u->v[i].s[n] = 0;
    return i;
}

/* Pops items down to the last mark into a new TUPLE/LIST value. */
static int collect_mark(unpickler *u, enum pk kind) {
    if (!u->nm) return fail(u, BERTC_ERR_FORMAT, "pickle: no mark", NULL);
    int m = u->marks[--u->nm];
    int t = newval(u, kind);
    if (t < 0) return -1;
    for (int k = m; k < u->sp; k++)
        if (add_item(u, t, u->stack[k])) return -1;
    u->sp = m;
    return t;
}

static int storage_dtype(const char *name, size_t *esize, const char **dtname) {
    static const struct { const char *n; int dt; size_t es; const char *dn; } tab[] = {
        {"torch.FloatStorage", DT_F32, 4, "F32"}, {"torch.HalfStorage", DT_F16, 2, "F16"},
        {"torch.BFloat16Storage", DT_BF16, 2, "BF16"}, {"torch.DoubleStorage", DT_OTHER, 8, "F64"},
        {"torch.LongStorage", DT_OTHER, 8, "I64"}, {"torch.IntStorage", DT_OTHER, 4, "I32"},
        {"torch.ShortStorage", DT_OTHER, 2, "I16"}, {"torch.CharStorage", DT_OTHER, 1, "I8"},
        {"torch.ByteStorage", DT_OTHER, 1, "U8"}, {"torch.BoolStorage", DT_OTHER, 1, "BOOL"}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, name)) {
            *esize = tab[i].es;
            *dtname = tab[i].dn;
            return tab[i].dt;
        }
    return -1;
}

/* persistent_load: ('storage', <storage class>, key, location, numel[, view_metadata]) */
static int persistent(unpickler *u, int pid) {
    pval *t = &u->v[pid];
    if (t->kind != PK_TUPLE || t->n < 5 || u->v[t->items[0]].kind != PK_STR || strcmp(u->v[t->items[0]].s, "storage") ||
        u->v[t->items[1]].kind != PK_GLOBAL || u->v[t->items[2]].kind != PK_STR || u->v[t->items[4]].kind != PK_INT)
        return fail(u, BERTC_ERR_FORMAT, "unexpected persistent id (not a torch storage)", NULL);
    size_t es;
    const char *dn;
    int dt = storage_dtype(u->v[t->items[1]].s, &es, &dn);
    if (dt < 0) return fail(u, BERTC_ERR_UNSUPPORTED, "unsupported storage class ", u->v[t->items[1]].s);
    int key = t->items[2];
    int64_t numel = u->v[t->items[4]].i;
    if (numel < 0) return fail(u, BERTC_ERR_FORMAT, "storage with a negative element count", NULL);
    int st = newval(u, PK_STORAGE);
    if (st < 0) return -1;
    u->v[st].s = strdup(u->v[key].s);
    if (!u->v[st].s) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
    u->v[st].i = numel;
    u->v[st].dtype = dt;
    u->v[st].esize = es;
    u->v[st].dtname = dn;
    return st;
}

static int reduce(unpickler *u, int callable, int args) {
    pval *c = &u->v[callable], *a = &u->v[args];
    if (c->kind != PK_GLOBAL || a->kind != PK_TUPLE) return fail(u, BERTC_ERR_FORMAT, "pickle: bad REDUCE", NULL);
    if (!strcmp(c->s, "collections.OrderedDict")) return newval(u, PK_DICT);
    if (!strcmp(c->s, "torch._utils._rebuild_tensor_v2") || !strcmp(c->s, "torch._utils._rebuild_tensor")) {
        if (a->n < 4 || u->v[a->items[0]].kind != PK_STORAGE || u->v[a->items[1]].kind != PK_INT ||
            u->v[a->items[2]].kind != PK_TUPLE || u->v[a->items[3]].kind != PK_TUPLE)
            return fail(u, BERTC_ERR_FORMAT, "pickle: malformed tensor", NULL);
        int t = newval(u, PK_TENSOR);
        if (t < 0) return -1;
        a = &u->v[args];
        u->v[t].i = u->v[a->items[1]].i;
        int st = a->items[0], shape = a->items[2], stride = a->items[3];
        if (add_item(u, t, st) || add_item(u, t, shape) || add_item(u, t, stride)) return -1;
        return t;
    }
    return fail(u, BERTC_ERR_UNSUPPORTED, "refusing to unpickle a call to ", c->s);
}

static int memo_put(unpickler *u, uint64_t idx) {
    if (idx > 10000000) return fail(u, BERTC_ERR_FORMAT, "pickle memo index too large", NULL);
    if (u->sp <= 0) return fail(u, BERTC_ERR_FORMAT, "pickle: PUT on empty stack", NULL);
    if ((int)idx >= u->capmemo) {
        int nc = u->capmemo ? u->capmemo : 64;
        while (nc <= (int)idx) nc *= 2;
        int *nm = realloc(u->memo, (size_t)nc * sizeof *nm);
        if (!nm) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
        for (int k = u->capmemo; k < nc; k++) nm[k] = -1;
        u->memo = nm;
        u->capmemo = nc;
    }
    u->memo[idx] = u->stack[u->sp - 1];
    return 0;
}

/* Runs one pickle up to STOP; returns the result value index, or -1. */
static int unpickle(unpickler *u) {
    int memo_next = 0;
    u->sp = 0;
    u->nm = 0;
    while (!u->s) {
        if (!need(u, 1)) return -1;
        uint8_t op = *u->p++;
        int a, b, r;
        uint64_t n;
        switch (op) {
        case 0x80: if (!need(u, 1)) return -1; u->p++; break;                      /* PROTO */
        case 0x95: if (!need(u, 8)) return -1; u->p += 8; break;                   /* FRAME */
        case '}': if (push(u, newval(u, PK_DICT))) return -1; break;              /* EMPTY_DICT */
        case ']': if (push(u, newval(u, PK_LIST))) return -1; break;              /* EMPTY_LIST */
        case ')': if (push(u, newval(u, PK_TUPLE))) return -1; break;             /* EMPTY_TUPLE */
        case 'N': if (push(u, newval(u, PK_NONE))) return -1; break;
        case 0x88: case 0x89:                                                      /* NEWTRUE / NEWFALSE */
            if ((r = newval(u, PK_BOOL)) < 0) return -1;
            u->v[r].i = op == 0x88;
            if (push(u, r)) return -1;
            break;
        case '(':                                                                  /* MARK */
            if (u->nm == u->capm) {
                int nc = u->capm ? u->capm * 2 : 16;
                int *nmk = realloc(u->marks, (size_t)nc * sizeof *nmk);
                if (!nmk) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
                u->marks = nmk;
                u->capm = nc;
            }
            u->marks[u->nm++] = u->sp;
            break;
        case 'X': case 0x8c: case 0x8d: case 'T': case 'U': {                      /* unicode / byte strings */
            int w = op == 'X' || op == 'T' ? 4 : op == 0x8d ? 8 : 1;
            if (!need(u, (size_t)w)) return -1;
            n = rd_le(u->p, w);
            u->p += w;
            if (!need(u, n)) return -1;
            if (push(u, mkstr(u, PK_STR, u->p, n))) return -1;
            u->p += n;
            break;
        }
        case 'J': case 'K': case 'M': {                                            /* BININT, BININT1, BININT2 */
            int w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (!need(u, (size_t)w)) return -1;
            if ((r = newval(u, PK_INT)) < 0) return -1;
            u->v[r].i = op == 'J' ? (int32_t)rd_le(u->p, 4) : (int64_t)rd_le(u->p, w);
            u->p += w;
            if (push(u, r)) return -1;
            break;
        }
        case 0x8a: {                                                               /* LONG1 */
            if (!need(u, 1)) return -1;
            int w = *u->p++;
            if (w > 16 || !need(u, (size_t)w)) return fail(u, BERTC_ERR_FORMAT, "pickle: long integer too large", NULL);
            if ((r = newval(u, PK_INT)) < 0) return -1;
            /* wider than 64 bits (torch's legacy magic number): keep the low 64 bits, mark it in f */
            uint64_t v = w ? rd_le(u->p, w < 8 ? w : 8) : 0;
            u->v[r].f = w > 8 ? (double)rd_le(u->p + 8, w - 8 < 8 ? w - 8 : 8) : 0.0;
            if (w && w < 8 && (u->p[w - 1] & 0x80)) v |= ~0ull << (8 * w); /* sign-extend */
            u->v[r].i = (int64_t)v;
            u->p += w;
            if (push(u, r)) return -1;
            break;
        }
        case 'G': {                                                                /* BINFLOAT, big-endian */
            if (!need(u, 8)) return -1;
            uint64_t bits = 0;
            for (int k = 0; k < 8; k++) bits = (bits << 8) | u->p[k];
            u->p += 8;
            if ((r = newval(u, PK_FLOAT)) < 0) return -1;
            memcpy(&u->v[r].f, &bits, 8);
            if (push(u, r)) return -1;
            break;
        }
        case 't': if (push(u, collect_mark(u, PK_TUPLE))) return -1; break;       /* TUPLE */
        case 0x85: case 0x86: case 0x87: {                                         /* TUPLE1..3 */
            int k = op - 0x84;
            if (u->sp < k) return fail(u, BERTC_ERR_FORMAT, "pickle stack underflow", NULL);
            if ((r = newval(u, PK_TUPLE)) < 0) return -1;
            for (int q = u->sp - k; q < u->sp; q++)
                if (add_item(u, r, u->stack[q])) return -1;
            u->sp -= k;
            if (push(u, r)) return -1;
            break;
        }
        case 'c': {                                                                /* GLOBAL module\nname\n */
            const uint8_t *e1 = memchr(u->p, '\n', (size_t)(u->end - u->p));
            const uint8_t *e2 = e1 ? memchr(e1 + 1, '\n', (size_t)(u->end - e1 - 1)) : NULL;
            if (!e2) return fail(u, BERTC_ERR_FORMAT, "pickle: bad GLOBAL", NULL);
            char buf[256];
            size_t l1 = (size_t)(e1 - u->p), l2 = (size_t)(e2 - e1 - 1);
            if (l1 + l2 + 2 > sizeof buf) return fail(u, BERTC_ERR_FORMAT, "pickle: GLOBAL name too long", NULL);
            memcpy(buf, u->p, l1);
            buf[l1] = '.';
            memcpy(buf + l1 + 1, e1 + 1, l2);
            if (push(u, mkstr(u, PK_GLOBAL, (const uint8_t *)buf, l1 + l2 + 1))) return -1;
            u->p = e2 + 1;
            break;
        }
        case 0x93: {                                                               /* STACK_GLOBAL */
            if ((b = pop(u)) < 0 || (a = pop(u)) < 0) return -1;
            if (u->v[a].kind != PK_STR || u->v[b].kind != PK_STR) return fail(u, BERTC_ERR_FORMAT, "pickle: bad STACK_GLOBAL", NULL);
            size_t l1 = strlen(u->v[a].s), l2 = strlen(u->v[b].s);
            char *buf = malloc(l1 + l2 + 2);
            if (!buf) return fail(u, BERTC_ERR_NOMEM, "out of memory", NULL);
            sprintf(buf, "%s.%s", u->v[a].s, u->v[b].s);
            r = mkstr(u, PK_GLOBAL, (const uint8_t *)buf, l1 + l2 + 1);
            free(buf);
            if (push(u, r)) return -1;
            break;
        }
        case 'R':                                                                  /* REDUCE */
            if ((b = pop(u)) < 0 || (a = pop(u)) < 0) return -1;
            if (push(u, reduce(u, a, b))) return -1;
            break;
        case 'b':                                                                  /* BUILD: state is ignored */
            if (pop(u) < 0) return -1;
            if (u->sp <= 0) return fail(u, BERTC_ERR_FORMAT, "pickle stack underflow", NULL);
            break;
        case 'Q':                                                                  /* BINPERSID */
            if ((a = pop(u)) < 0) return -1;
            if (push(u, persistent(u, a))) return -1;
            break;
        case 'q': if (!need(u, 1) || memo_put(u, *u->p++)) return -1; break;     /* BINPUT */
        case 'r':                                                                  /* LONG_BINPUT */
            if (!need(u, 4)) return -1;
            n = rd_le(u->p, 4);
            u->p += 4;
            if (memo_put(u, n)) return -1;
            break;
        case 0x94: if (memo_put(u, (uint64_t)memo_next++)) return -1; break;      /* MEMOIZE */
        case 'h': case 'j': {                                                      /* BINGET, LONG_BINGET */
            int w = op == 'h' ? 1 : 4;
            if (!need(u, (size_t)w)) return -1;
            n = rd_le(u->p, w);
            u->p += w;
            if ((int64_t)n >= u->capmemo || u->memo[n] < 0) return fail(u, BERTC_ERR_FORMAT, "pickle: GET of an unset memo", NULL);
            if (push(u, u->memo[n])) return -1;
            break;
        }
        case 's':                                                                  /* SETITEM */
            if ((b = pop(u)) < 0 || (a = pop(u)) < 0) return -1;
            if (u->sp <= 0 || u->v[u->stack[u->sp - 1]].kind != PK_DICT) return fail(u, BERTC_ERR_FORMAT, "pickle: SETITEM on a non-dict", NULL);
            if (add_item(u, u->stack[u->sp - 1], a) || add_item(u, u->stack[u->sp - 1], b)) return -1;
            break;
        case 'u': case 'e': {                                                      /* SETITEMS, APPENDS */
            if (!u->nm) return fail(u, BERTC_ERR_FORMAT, "pickle: no mark", NULL);
            int m = u->marks[--u->nm];
            if (m <= 0) return fail(u, BERTC_ERR_FORMAT, "pickle stack underflow", NULL);
            int target = u->stack[m - 1];
            enum pk want = op == 'u' ? PK_DICT : PK_LIST;
            if (u->v[target].kind != want || (op == 'u' && (u->sp - m) % 2))
                return fail(u, BERTC_ERR_FORMAT, "pickle: SETITEMS/APPENDS on the wrong type", NULL);
            for (int k = m; k < u->sp; k++)
                if (add_item(u, target, u->stack[k])) return -1;
            u->sp = m;
            break;
        }
        case 'a':                                                                  /* APPEND */
            if ((a = pop(u)) < 0) return -1;
            if (u->sp <= 0 || u->v[u->stack[u->sp - 1]].kind != PK_LIST) return fail(u, BERTC_ERR_FORMAT, "pickle: APPEND on a non-list", NULL);
            if (add_item(u, u->stack[u->sp - 1], a)) return -1;
            break;
        case '.':                                                                  /* STOP */
            return pop(u);
        default: {
            char d[8];
            snprintf(d, sizeof d, "0x%02x", op);
            return fail(u, BERTC_ERR_UNSUPPORTED, "pickle opcode not allowed in a state dict: ", d);
        }
        }
    }
    return -1;
}

static void unpickler_free(unpickler *u) {
    for (int i = 0; i < u->nv; i++) {
        free(u->v[i].s);
        free(u->v[i].items);
    }
    free(u->v);
    free(u->stack);
    free(u->marks);
    free(u->memo);
}

/* Storage bytes for a key: zip entry or legacy offset; returns false when absent. */
typedef bool (*storage_lookup)(void *ctx, const char *key, const uint8_t **data, size_t *size);

/* Copies a strided view (every offset checked by the caller) into contiguous dst, row-major. */
static void gather(uint8_t *dst, const uint8_t *src, int nd, const int64_t *shape, const int64_t *stride,
                   uint64_t numel, size_t es) {
    int64_t idx[8] = {0};
    uint64_t off = 0; /* element offset in src */
    for (uint64_t e = 0; e < numel; e++) {
        memcpy(dst + e * es, src + off * es, es);
        for (int d = nd - 1; d >= 0; d--) {
            off += (uint64_t)stride[d];
            if (++idx[d] < shape[d]) break;
            off -= (uint64_t)stride[d] * (uint64_t)shape[d];
            idx[d] = 0;
        }
    }
}

/* Turns the state dict's tensors into tensor_info entries. As torch.load builds each one (storage, storage offset,
 * size, stride) every product and sum is checked for overflow and the whole extent against the storage, and the
 * storage against the bytes the file holds for it. Strided views (a saved transpose) are copied contiguous, as
 * load_state_dict copies them into the parameters; their copies may not outgrow the file. */
static bertc_status collect_tensors(tensor_set *ts, unpickler *u, int root, storage_lookup look, void *ctx,
                                    size_t file_size) {
    pval *d = &u->v[root];
    uint64_t copied = 0;
    if (d->kind != PK_DICT) return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: the pickle is not a state dict", u->what);
    for (int k = 0; k + 1 < d->n; k += 2) {
        pval *key = &u->v[d->items[k]], *t = &u->v[d->items[k + 1]];
        if (key->kind != PK_STR) return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: a state dict key is not a string", u->what);
        if (t->kind != PK_TENSOR) continue; /* e.g. nested metadata: not a weight */
        pval *st = &u->v[t->items[0]], *shape = &u->v[t->items[1]], *stride = &u->v[t->items[2]];
        tensor_info ti;
        memset(&ti, 0, sizeof ti);
        if (shape->n > 8 || stride->n != shape->n)
            return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: tensor %.100s has a bad shape (%d dimensions, %d strides)",
                              u->what, key->s, shape->n, stride->n);
        ti.ndim = shape->n;
        int64_t strides[8];
        uint64_t numel = 1, last = 0, expect = 1;
        bool contiguous = true, overflow = false, empty = false;
        for (int q = shape->n - 1; q >= 0; q--) {
            pval *dim = &u->v[shape->items[q]], *sd = &u->v[stride->items[q]];
            if (dim->kind != PK_INT || sd->kind != PK_INT || dim->i < 0 || sd->i < 0)
                return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: tensor %.100s has a bad shape or stride (not "
                                  "non-negative integers)", u->what, key->s);
            ti.shape[q] = dim->i;
            strides[q] = sd->i;
            empty |= dim->i == 0;
            if (dim->i != 1 && (uint64_t)sd->i != expect) contiguous = false;
            overflow |= __builtin_mul_overflow(expect, (uint64_t)dim->i, &expect);
            overflow |= __builtin_mul_overflow(numel, (uint64_t)dim->i, &numel);
            uint64_t reach;
            if (dim->i > 0) {
                overflow |= __builtin_mul_overflow((uint64_t)(dim->i - 1), (uint64_t)sd->i, &reach);
                overflow |= __builtin_add_overflow(last, reach, &last);
            }
        }
        if (empty) {
            numel = 0;
            overflow = false; /* an empty tensor reads nothing, whatever its other sizes */
            contiguous = true;
            last = 0;
        }
        uint64_t nbytes;
        if (overflow || __builtin_mul_overflow(numel, (uint64_t)st->esize, &nbytes))
            return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: tensor %.100s: shape overflows", u->what, key->s);
        const uint8_t *data;
        size_t size;
        if (!look(ctx, st->s, &data, &size))
            return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: storage %.40s of tensor %.100s is missing (truncated file?)",
                              u->what, st->s, key->s);
        uint64_t sbytes, end;
        if (st->i < 0 || __builtin_mul_overflow((uint64_t)st->i, (uint64_t)st->esize, &sbytes) || sbytes > size)
            return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: storage %.40s of tensor %.100s declares %lld elements of %zu "
                              "bytes but the file holds %zu bytes for it (truncated file?)", u->what, st->s, key->s,
                              (long long)st->i, st->esize, size);
        /* the elements read are offset .. offset + last: all inside the storage's st->i elements */
        if (t->i < 0 || __builtin_add_overflow((uint64_t)t->i, last, &end) ||
            (numel ? end >= (uint64_t)st->i : (uint64_t)t->i > (uint64_t)st->i))
            return bertc_fail(u->err, BERTC_ERR_FORMAT, "%s: tensor %.100s lies outside its storage (storage offset %lld, "
                              "storage of %lld elements; truncated file?)", u->what, key->s, (long long)t->i,
                              (long long)st->i);
        ti.dtype = (enum st_dtype)st->dtype;
        ti.dtype_name = st->dtname;
        ti.data = data + (size_t)t->i * st->esize;
        ti.nbytes = (size_t)nbytes;
        if (!contiguous) {
            if (nbytes > file_size || copied + nbytes > file_size)
                return bertc_fail(u->err, BERTC_ERR_UNSUPPORTED, "%s: tensor %.100s is a strided view larger than the "
                                  "file (expanded tensors are not supported)", u->what, key->s);
            if (ts->n_copies % 16 == 0) {
                void **nc = realloc(ts->copies, (size_t)(ts->n_copies + 16) * sizeof *nc);
                if (!nc) return bertc_fail(u->err, BERTC_ERR_NOMEM, "out of memory");
                ts->copies = nc;
            }
            uint8_t *c = malloc(nbytes ? (size_t)nbytes : 1);
            if (!c) return bertc_fail(u->err, BERTC_ERR_NOMEM, "out of memory");
            ts->copies[ts->n_copies++] = c;
            gather(c, ti.data, ti.ndim, ti.shape, strides, numel, st->esize);
            ti.data = c;
            copied += nbytes;
        }
        bertc_status s = tensor_set_add(ts, &ti, key->s, u->what, u->err);
        if (s) return s;
    }
    return BERTC_OK;
}

/* ---- zip ---- */
typedef struct zip_entry {
    char name[256];
    const uint8_t *data;
    size_t size;
} zip_entry;

typedef struct zip_dir {
    zip_entry *e;
    int n;
    zip_entry **by_name; /* the entries sorted by name (first in the directory first among equal names) */
    char prefix[256];    /* "archive/" */
} zip_dir;

static int cmp_entry(const void *a, const void *b) {
    const zip_entry *x = *(zip_entry *const *)a, *y = *(zip_entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x > y) - (x < y);
}

static bool zip_lookup(void *ctx, const char *key, const uint8_t **data, size_t *size) {
    zip_dir *z = ctx;
    char want[600];
    snprintf(want, sizeof want, "%sdata/%s", z->prefix, key);
    int lo = 0, hi = z->n; /* the first entry whose name is >= want */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(z->by_name[mid]->name, want) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == z->n || strcmp(z->by_name[lo]->name, want)) return false;
    *data = z->by_name[lo]->data;
    *size = z->by_name[lo]->size;
    return true;
}

static bertc_status zip_read(zip_dir *z, const uint8_t *d, size_t size, const char *what, bertc_error *err) {
    if (size < 22) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: truncated zip", what);
    size_t eocd = SIZE_MAX;
    size_t lo = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (size_t i = size - 22 + 1; i-- > lo;)
        if (rd_le(d + i, 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == SIZE_MAX) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: no zip end record (truncated file?)", what);
    uint64_t count = rd_le(d + eocd + 10, 2), cd_size = rd_le(d + eocd + 12, 4), cd_off = rd_le(d + eocd + 16, 4);
    if (cd_off == 0xFFFFFFFFu || count == 0xFFFF) {
        /* zip64: locator just before the end record */
        if (eocd < 20 || rd_le(d + eocd - 20, 4) != 0x07064b50) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: bad zip64", what);
        uint64_t z64 = rd_le(d + eocd - 20 + 8, 8);
        if (size < 56 || z64 > size - 56 || rd_le(d + z64, 4) != 0x06064b50) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: bad zip64 record", what);
        count = rd_le(d + z64 + 32, 8);
        cd_size = rd_le(d + z64 + 40, 8);
        cd_off = rd_le(d + z64 + 48, 8);
    }
    if (cd_off > size || cd_size > size - cd_off || count > cd_size / 46)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: zip directory outside the file (truncated?)", what);
    z->e = calloc(count ? count : 1, sizeof *z->e);
    z->by_name = calloc(count ? count : 1, sizeof *z->by_name);
    if (!z->e || !z->by_name) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    size_t p = cd_off, end = cd_off + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (p + 46 > end || rd_le(d + p, 4) != 0x02014b50) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: corrupt zip directory", what);
        uint64_t method = rd_le(d + p + 10, 2), csize = rd_le(d + p + 20, 4), usize = rd_le(d + p + 24, 4);
        size_t nlen = rd_le(d + p + 28, 2), xlen = rd_le(d + p + 30, 2), clen = rd_le(d + p + 32, 2);
        uint64_t loff = rd_le(d + p + 42, 4);
        if (p + 46 + nlen + xlen + clen > end) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: corrupt zip directory", what);
        /* zip64 extra field: the 0xFFFFFFFF fields, in order usize, csize, offset */
        for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
            size_t id = rd_le(d + x, 2), l = rd_le(d + x + 2, 2);
            if (x + 4 + l > p + 46 + nlen + xlen) break;
            if (id == 1) {
                size_t q = x + 4;
                if (usize == 0xFFFFFFFFu && q + 8 <= x + 4 + l) { usize = rd_le(d + q, 8); q += 8; }
                if (csize == 0xFFFFFFFFu && q + 8 <= x + 4 + l) { csize = rd_le(d + q, 8); q += 8; }
                if (loff == 0xFFFFFFFFu && q + 8 <= x + 4 + l) { loff = rd_le(d + q, 8); q += 8; }
            }
            x += 4 + l;
        }
        zip_entry *e = &z->e[z->n++];
        if (nlen >= sizeof e->name) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: zip entry name too long", what);
        memcpy(e->name, d + p + 46, nlen);
        e->name[nlen] = 0;
        if (method != 0) return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: compressed zip entry %s (torch writes them stored)", what, e->name);
        if (size < 30 || loff > size - 30 || rd_le(d + loff, 4) != 0x04034b50)
            return bertc_fail(err, BERTC_ERR_FORMAT, "%s: zip entry %s has no local header (truncated?)", what, e->name);
        size_t doff = loff + 30 + rd_le(d + loff + 26, 2) + rd_le(d + loff + 28, 2);
        if (csize != usize || doff > size || usize > size - doff)
            return bertc_fail(err, BERTC_ERR_FORMAT, "%s: zip entry %s lies outside the file (truncated?)", what, e->name);
        e->data = d + doff;
        e->size = (size_t)usize;
        p += 46 + nlen + xlen + clen;
    }
    for (int i = 0; i < z->n; i++) z->by_name[i] = &z->e[i];
    qsort(z->by_name, (size_t)z->n, sizeof *z->by_name, cmp_entry);
    return BERTC_OK;
}

/* ---- legacy stream ---- */
typedef struct legacy_storage {
    const char *key;
    const uint8_t *data;
    size_t size, esize;
    int order; /* position in the file (or among the pickle's storages) */
} legacy_storage;

typedef struct legacy_dir {
    legacy_storage *st; /* sorted by key, then order */
    int n;
} legacy_dir;

static int cmp_storage(const void *a, const void *b) {
    const legacy_storage *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The first storage named key in a sorted array, or NULL. */
static const legacy_storage *storage_find(const legacy_storage *v, int n, const char *key) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid].key, key) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && !strcmp(v[lo].key, key) ? &v[lo] : NULL;
}

static bool legacy_lookup(void *ctx, const char *key, const uint8_t **data, size_t *size) {
    legacy_dir *l = ctx;
    const legacy_storage *f = storage_find(l->st, l->n, key);
    if (!f) return false;
    *data = f->data;
    *size = f->size;
    return true;
}

bertc_status torchbin_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err) {
    unpickler u;
    memset(&u, 0, sizeof u);
    u.what = what;
    u.err = err;
    bertc_status s = BERTC_OK;
    if (size >= 4 && rd_le(data, 4) == 0x04034b50) {
        zip_dir z;
        memset(&z, 0, sizeof z);
        if ((s = zip_read(&z, data, size, what, err))) {
            free(z.e);
            free(z.by_name);
            return s;
        }
        const zip_entry *pkl = NULL;
        for (int i = 0; i < z.n; i++) {
            size_t l = strlen(z.e[i].name);
            if (l >= 8 && !strcmp(z.e[i].name + l - 8, "data.pkl") && (l == 8 || z.e[i].name[l - 9] == '/')) {
                pkl = &z.e[i];
                memcpy(z.prefix, z.e[i].name, l - 8);
                z.prefix[l - 8] = 0;
                break;
            }
        }
        if (!pkl) s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: zip without data.pkl: not a torch checkpoint", what);
        else {
            u.p = pkl->data;
            u.end = pkl->data + pkl->size;
            int root = unpickle(&u);
            if (root < 0) s = u.s ? u.s : bertc_fail(err, BERTC_ERR_FORMAT, "%s: bad pickle", what);
            else s = collect_tensors(ts, &u, root, zip_lookup, &z, size);
            if (!s) s = tensor_set_index(ts, what, err);
        }
        free(z.e);
        free(z.by_name);
        unpickler_free(&u);
        return s;
    }
    if (size < 2 || data[0] != 0x80) {
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: neither a torch zip archive nor a pickle stream", what);
    }
    /* legacy: magic number, protocol version, sys info, then the state dict */
    u.p = data;
    u.end = data + size;
    int magic = unpickle(&u);
    /* MAGIC_NUMBER = 0x1950a86a20f9469cfc6c: low 64 bits, and 0x1950 above them */
    if (magic < 0 || u.v[magic].kind != PK_INT || (uint64_t)u.v[magic].i != 0xa86a20f9469cfc6cull ||
        u.v[magic].f != (double)0x1950) {
        s = u.s ? u.s : bertc_fail(err, BERTC_ERR_FORMAT, "%s: not a torch legacy file (bad magic number)", what);
        unpickler_free(&u);
        return s;
    }
    int proto = unpickle(&u);
    int sys = proto >= 0 ? unpickle(&u) : -1;
    int root = sys >= 0 ? unpickle(&u) : -1;
    int keys = root >= 0 ? unpickle(&u) : -1;
    if (keys < 0 || u.v[keys].kind != PK_LIST) {
        s = u.s ? u.s : bertc_fail(err, BERTC_ERR_FORMAT, "%s: legacy file without a storage key list", what);
        unpickler_free(&u);
        return s;
    }
    /* storages follow in key order: u64 element count, then the bytes; element size from the storage type (the
     * pickle's storages, sorted by key, so that each key is found in O(log n)) */
    legacy_dir l = {0};
    int nk = u.v[keys].n, ns = 0;
    for (int v = 0; v < u.nv; v++) ns += u.v[v].kind == PK_STORAGE;
    legacy_storage *types = malloc((size_t)(ns ? ns : 1) * sizeof *types);
    l.st = malloc((size_t)(nk ? nk : 1) * sizeof *l.st);
    if (!types || !l.st) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (!s) {
        ns = 0;
        for (int v = 0; v < u.nv; v++)
            if (u.v[v].kind == PK_STORAGE) types[ns] = (legacy_storage){u.v[v].s, NULL, 0, u.v[v].esize, ns}, ns++;
        qsort(types, (size_t)ns, sizeof *types, cmp_storage);
    }
    const uint8_t *p = u.p;
    for (int i = 0; i < nk && !s; i++) {
        pval *k = &u.v[u.v[keys].items[i]];
        if (k->kind != PK_STR) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: storage key is not a string", what);
            break;
        }
        const legacy_storage *ty = storage_find(types, ns, k->s);
        size_t es = ty ? ty->esize : 0;
        if (!es) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: storage %.40s is listed but never used", what, k->s);
            break;
        }
        if ((size_t)(data + size - p) < 8) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: truncated before storage %.40s", what, k->s);
            break;
        }
        uint64_t cnt = rd_le(p, 8);
        p += 8;
        if (cnt > (uint64_t)(data + size - p) / es) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: storage %.40s runs past the end (truncated file?)", what, k->s);
            break;
        }
        l.st[i] = (legacy_storage){k->s, p, (size_t)cnt * es, es, i};
        l.n = i + 1;
        p += l.st[i].size;
    }
    if (!s) {
        qsort(l.st, (size_t)l.n, sizeof *l.st, cmp_storage);
        s = collect_tensors(ts, &u, root, legacy_lookup, &l, size);
    }
    if (!s) s = tensor_set_index(ts, what, err);
    free(types);
    free(l.st);
    unpickler_free(&u);
    return s;
}
