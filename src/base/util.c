/*
 * util.c — error reporting, the string hash map, file mapping and UTF-8 helpers used across the library.
 */
#include "base/internal.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *bertc_status_str(bertc_status s) {
    switch (s) {
    case BERTC_OK: return "ok";
    case BERTC_ERR_INVALID_ARG: return "invalid argument";
    case BERTC_ERR_IO: return "i/o error";
    case BERTC_ERR_FORMAT: return "format error";
    case BERTC_ERR_UNSUPPORTED: return "unsupported";
    case BERTC_ERR_ARCH: return "architecture mismatch";
    case BERTC_ERR_INPUT: return "input error";
    case BERTC_ERR_NOMEM: return "out of memory";
    case BERTC_ERR_INTERRUPTED: return "interrupted";
    case BERTC_ERR_DIVERGED: return "diverged";
    case BERTC_ERR_OUTPUT: return "output error";
    }
    return "unknown status";
}

void bertc_free(void *p) { free(p); }

bertc_status bertc_fail(bertc_error *err, bertc_status s, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = s;
    }
    return s;
}

/* FNV-1a, then a final mix so that low bits are usable as a table index. */
uint32_t bertc_hash(const void *p, size_t len) {
    const unsigned char *s = p;
    uint32_t h = BERTC_FNV_INIT;
    for (size_t i = 0; i < len; i++) h = bertc_fnv_step(h, s[i]);
    return bertc_hash_finish(h);
}

bool strmap_init(strmap *m, uint32_t expected) {
    memset(m, 0, sizeof *m);
    uint32_t cap = 16;
    while (cap < expected * 2u + 2u) cap <<= 1;
    m->cap = cap;
    m->slots = calloc(cap, sizeof *m->slots);
    m->entries = malloc((size_t)(cap / 2 + 1) * sizeof *m->entries);
    m->arena_cap = 4096;
    m->arena = malloc(m->arena_cap);
    if (!m->slots || !m->entries || !m->arena) {
        strmap_free(m);
        return false;
    }
    return true;
}

void strmap_free(strmap *m) {
    free(m->slots);
    free(m->entries);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

static void slot_fill(struct strmap_slot *sl, const struct strmap_entry *e, const char *arena, uint32_t idx) {
    sl->hash = e->hash;
    sl->value = e->value;
    sl->idx = idx;
    if (e->len <= sizeof sl->key) {
        sl->len = (uint8_t)e->len;
        memcpy(sl->key, arena + e->off, e->len);
    } else {
        sl->len = 255;
    }
}

static bool strmap_grow(strmap *m) {
    uint32_t ncap = m->cap * 2;
    struct strmap_slot *slots = calloc(ncap, sizeof *slots);
    struct strmap_entry *ents = realloc(m->entries, (size_t)(ncap / 2 + 1) * sizeof *ents);
    if (!slots || !ents) {
        free(slots);
        if (ents) m->entries = ents;
        return false;
    }
    m->entries = ents;
    for (uint32_t i = 0; i < m->count; i++) {
        uint32_t j = m->entries[i].hash & (ncap - 1);
        while (slots[j].idx) j = (j + 1) & (ncap - 1);
        slot_fill(&slots[j], &m->entries[i], m->arena, i + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->cap = ncap;
    return true;
}

bool strmap_put(strmap *m, const char *key, size_t len, int32_t value) {
    uint32_t h = bertc_hash(key, len);
    uint32_t j = h & (m->cap - 1);
    while (m->slots[j].idx) {
        struct strmap_entry *e = &m->entries[m->slots[j].idx - 1];
        if (e->hash == h && e->len == len && memcmp(m->arena + e->off, key, len) == 0) {
            e->value = value;
            m->slots[j].value = value;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    if ((m->count + 1) * 2 > m->cap) {
        if (!strmap_grow(m)) return false;
        return strmap_put(m, key, len, value);
    }
    if (m->arena_len + len + 1 > m->arena_cap) {
        size_t nc = m->arena_cap * 2;
        while (nc < m->arena_len + len + 1) nc *= 2;
        char *a = realloc(m->arena, nc);
        if (!a) return false;
        m->arena = a;
        m->arena_cap = nc;
    }
    memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = 0;
    struct strmap_entry *e = &m->entries[m->count];
    e->off = (uint32_t)m->arena_len;
    e->len = (uint32_t)len;
    e->hash = h;
    e->value = value;
    m->arena_len += len + 1;
    slot_fill(&m->slots[j], e, m->arena, ++m->count);
    if (len > m->max_key_len) m->max_key_len = (uint32_t)len;
    return true;
}

int32_t strmap_get_hashed(const strmap *m, const char *key, size_t len, uint32_t h) {
    if (!m->cap) return -1;
    uint32_t j = h & (m->cap - 1);
    for (const struct strmap_slot *sl; (sl = &m->slots[j])->idx; j = (j + 1) & (m->cap - 1)) {
        if (sl->hash != h) continue;
        if (sl->len != 255) {
            if (sl->len == len && memcmp(sl->key, key, len) == 0) return sl->value;
            continue;
        }
        const struct strmap_entry *e = &m->entries[sl->idx - 1];
        if (e->len == len && memcmp(m->arena + e->off, key, len) == 0) return e->value;
    }
    return -1;
}

int32_t strmap_get(const strmap *m, const char *key, size_t len) {
    return strmap_get_hashed(m, key, len, bertc_hash(key, len));
}

bertc_status map_file(const char *path, mapped_file *out, bertc_error *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bertc_fail(err, BERTC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return bertc_fail(err, BERTC_ERR_IO, "%s is not a regular file", path);
    }
    out->size = (size_t)st.st_size;
    if (out->size == 0) {
        close(fd);
        out->data = (const uint8_t *)"";
        return BERTC_OK;
    }
    void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return bertc_fail(err, BERTC_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    out->data = p;
    out->owned_map = 1;
    return BERTC_OK;
}

void unmap_file(mapped_file *f) {
    if (f->owned_map && f->data) munmap((void *)f->data, f->size);
    memset(f, 0, sizeof *f);
}

bertc_status read_file(const char *path, char **out, size_t *len, bertc_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bertc_fail(err, BERTC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory reading %s", path);
    if (bad) {
        free(buf);
        return bertc_fail(err, BERTC_ERR_IO, "error reading %s", path);
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return BERTC_OK;
}

bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static uint64_t tree_bytes(const char *dir, int depth) {
    DIR *d = depth < 32 ? opendir(dir) : NULL;
    if (!d) return 0;
    uint64_t sum = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char path[4608];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path) continue;
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) sum += tree_bytes(path, depth + 1);
        else if (S_ISREG(st.st_mode)) sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

uint64_t path_bytes(const char *path) { return tree_bytes(path, 0); }

bool make_dirs(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST) return false;
        *q = '/';
    }
    return !mkdir(tmp, 0755) || errno == EEXIST;
}

bool path_join(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap;
}

void names_join(char *buf, size_t cap, const char *const *names, int n) {
    buf[0] = 0;
    for (int k = 0; k < n && strlen(buf) < cap - 112; k++) {
        if (k) strcat(buf, ", ");
        strncat(buf, names[k] ? names[k] : "", 100);
    }
}

char *mem_dup0(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

size_t utf8_validate(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return i;
        if (i + n > len) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

int utf8_encode(int32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* numpy's pairwise sum of float32 (numpy/_core/src/umath/loops_utils.h.src), so the sums round as numpy's do. */
float np_sum_f32(const float *a, size_t n) {
    if (n < 8) {
        float r = 0.f;
        for (size_t i = 0; i < n; i++) r += a[i];
        return r;
    }
    if (n <= 128) {
        float r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_sum_f32(a, n2) + np_sum_f32(a + n2, n - n2);
}


void np_softmax_f32(float *v, size_t n) {
    if (!n) return;
    float mx = v[0];
    for (size_t i = 1; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    for (size_t i = 0; i < n; i++) v[i] = expf(v[i] - mx);
    float sum = np_sum_f32(v, n);
    for (size_t i = 0; i < n; i++) v[i] = v[i] / sum;
}
