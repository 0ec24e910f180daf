/*
 * distill.c — bertc_distill: knowledge distillation of a sequence classifier (DistilBERT's and Hinton's loss) on
 * top of the trainer (trainer.c's train_run), and bertc_student_from_teacher.
 *
 * The rows: the labelled training file, the unlabelled file's texts and the augmented variants of the labelled rows
 * (TinyBERT's data augmentation: nearest-word swaps, deletions, a masked span; counter-based on the seed). The
 * teacher runs once per distinct text (inference path, no dropout); its logits are kept in a cache file keyed by a
 * 64-bit hash of the text as the teacher sees it, written as labelling goes, so that a run killed while labelling
 * loses at most a minute of it and a second run (a resume, another recipe for the student) runs no teacher at all.
 * A row the teacher labels without a label of its own gets the teacher's argmax. Then train_run trains the student
 * on the rows with the teacher's logits beside them (tmodel_step's distillation loss).
 */
#include "base/durable.h"
#include "formats/tensors.h"
#include "tmodel.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bertc_distill_params bertc_distill_default_params(void) {
    bertc_distill_params p;
    memset(&p, 0, sizeof p);
    p.train = bertc_train_default_params();
    p.temperature = 2.0;
    p.alpha = 0.5;
    p.augment_swap = 0.3;
    p.augment_delete = 0.1;
    p.augment_mask = 0.3;
    p.augment_neighbors = 15;
    return p;
}

/* ---- the rows ---- */
typedef struct drow {
    char *text;       /* as the student reads it (owned) */
    size_t len;
    char *ttext;      /* as the teacher reads it (a masked span in its own mask token); NULL: text */
    size_t tlen;
    const char *pair; /* borrowed from a dataset */
    size_t pair_len;
    const char *label; /* borrowed; NULL: the teacher's argmax */
    long line;
    uint64_t key;
} drow;

typedef struct rows {
    drow *r;
    size_t n, cap;
} rows;

static void rows_free(rows *R) {
    for (size_t i = 0; i < R->n; i++) {
        free(R->r[i].text);
        free(R->r[i].ttext);
    }
    free(R->r);
    memset(R, 0, sizeof *R);
}

static drow *rows_add(rows *R) {
    if (R->n == R->cap) {
        size_t c = R->cap ? R->cap * 2 : 1024;
        drow *n = realloc(R->r, c * sizeof *n);
        if (!n) return NULL;
        R->r = n;
        R->cap = c;
    }
    drow *d = &R->r[R->n++];
    memset(d, 0, sizeof *d);
    return d;
}

/* FNV-1a over the bytes, then mixed: the text, a separator, the pair (if any), and the teacher's max length. */
uint64_t distill_text_key(const char *t, size_t n, const char *pair, size_t pn, int max_length) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)t[i]) * 0x100000001b3ull;
    h = (h ^ 0x1ff) * 0x100000001b3ull;
    if (pair)
        for (size_t i = 0; i < pn; i++) h = (h ^ (uint8_t)pair[i]) * 0x100000001b3ull;
    return mix64(h ^ mix64((uint64_t)max_length + (pair ? 0x5041495200000000ull : 0)));
}

/* ---- the teacher's identity: sha256 over config.json and the weight files' bytes ---- */
static bertc_status teacher_digest(const char *dir, char hex[65], bertc_error *err) {
    static const char *const files[] = {"config.json", "model.safetensors", "pytorch_model.bin", "model.safetensors.index.json"};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(c);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    char path[4200];
    int found = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        found++;
        unsigned char buf[1 << 16];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(c, buf, k);
        fclose(f);
    }
    unsigned char md[32];
    unsigned mdl = 0;
    EVP_DigestFinal_ex(c, md, &mdl);
    EVP_MD_CTX_free(c);
    if (!found) return bertc_fail(err, BERTC_ERR_IO, "%s: no config.json or weights to identify the teacher by", dir);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return BERTC_OK;
}

/* ---- the cache: keys (I64 [N]), logits (F32 [N, L]), info (U8: JSON {"teacher_sha256", "labels", "max_length",
 * "teacher", "compute"}; a cache without "compute" was made in fp32) ---- */
typedef struct tcache {
    uint64_t *key;
    float *logit;
    size_t n, cap;
    int L;
    char sha[65];
    char **labels;
    int max_length;
    char teacher[1024];
    char compute[8]; /* "fp32" or "bf16" */
    size_t *sorted; /* indices by key, for lookup */
    size_t n_sorted;
} tcache;

static void tcache_free(tcache *c) {
    free(c->key);
    free(c->logit);
    if (c->labels)
        for (int i = 0; i < c->L; i++) free(c->labels[i]);
    free(c->labels);
    free(c->sorted);
    memset(c, 0, sizeof *c);
}

static bertc_status tcache_grow(tcache *c, size_t want, bertc_error *err) {
    if (want <= c->cap) return BERTC_OK;
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < want) cap *= 2;
    uint64_t *k = realloc(c->key, cap * sizeof *k);
    if (k) c->key = k;
    float *l = k ? realloc(c->logit, cap * (size_t)c->L * sizeof *l) : NULL;
    if (l) c->logit = l;
    if (!k || !l) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for the teacher's logits");
    c->cap = cap;
    return BERTC_OK;
}

/* qsort_r comparators: indices ordered by the keys (or rows) ctx points to */
static int cmp_by_key(const void *a, const void *b, void *ctx) {
    const uint64_t *keys = ctx;
    uint64_t x = keys[*(const size_t *)a], y = keys[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

static int cmp_by_key_then_index(const void *a, const void *b, void *ctx) {
    int k = cmp_by_key(a, b, ctx);
    return k ? k : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static bertc_status tcache_index(tcache *c, bertc_error *err) {
    free(c->sorted);
    c->sorted = malloc((c->n ? c->n : 1) * sizeof *c->sorted);
    if (!c->sorted) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) c->sorted[i] = i;
    qsort_r(c->sorted, c->n, sizeof *c->sorted, cmp_by_key, c->key);
    c->n_sorted = c->n;
    return BERTC_OK;
}

/* The row of key k among the first n_sorted entries (indexed), else the later ones by a scan; SIZE_MAX: absent. */
static size_t tcache_find(const tcache *c, uint64_t k) {
    size_t lo = 0, hi = c->n_sorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t x = c->key[c->sorted[mid]];
        if (x == k) return c->sorted[mid];
        if (x < k) lo = mid + 1;
        else hi = mid;
    }
    return SIZE_MAX;
}

/* Reads a cache file; absent: an empty cache (returns OK, c->n = 0). Malformed: BERTC_ERR_FORMAT naming it. */
static bertc_status distill_cache_parse(tcache *c, const uint8_t *data, size_t size, const char *path, bertc_error *err) {
    tensor_set ts;
    memset(&ts, 0, sizeof ts);
    bertc_status s = safetensors_parse(&ts, data, size, path, err);
    if (!s) s = tensor_set_index(&ts, path, err);
    if (s) {
        tensor_set_free(&ts);
        return s;
    }
    const tensor_info *tk = tensor_set_find(&ts, "keys"), *tl = tensor_set_find(&ts, "logits"), *ti = tensor_set_find(&ts, "info");
    json_t *j = NULL;
    if (!tk || !tl || !ti || strcmp(tk->dtype_name, "I64") || tk->ndim != 1 || tl->dtype != DT_F32 || tl->ndim != 2 ||
        strcmp(ti->dtype_name, "U8") || ti->ndim != 1 || tl->shape[0] != tk->shape[0] || tl->shape[1] < 1 || tl->shape[1] > 4096) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: not a teacher-logits cache (it needs keys I64 [N], logits F32 [N, L] and "
                       "info U8)", path);
        goto out;
    }
    json_error_t je;
    j = json_loadb((const char *)ti->data, ti->nbytes, 0, &je);
    json_t *jl = j ? json_object_get(j, "labels") : NULL, *jm = j ? json_object_get(j, "max_length") : NULL;
    json_t *jsha = j ? json_object_get(j, "teacher_sha256") : NULL, *jt = j ? json_object_get(j, "teacher") : NULL;
    if (!json_is_array(jl) || (long)json_array_size(jl) != (long)tl->shape[1] || !json_is_integer(jm) ||
        !json_is_string(jsha) || strlen(json_string_value(jsha)) != 64) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: its info is not {\"teacher_sha256\": 64 hex digits, \"labels\": [one name per "
                       "logit], \"max_length\": N}", path);
        goto out;
    }
    c->L = (int)tl->shape[1];
    c->labels = calloc((size_t)c->L, sizeof *c->labels);
    if (!c->labels) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < c->L; i++) {
        json_t *x = json_array_get(jl, (size_t)i);
        if (!json_is_string(x) || !(c->labels[i] = strdup(json_string_value(x)))) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: label %d of its info is not a string", path, i);
            goto out;
        }
    }
    c->max_length = (int)json_integer_value(jm);
    snprintf(c->sha, sizeof c->sha, "%s", json_string_value(jsha));
    snprintf(c->teacher, sizeof c->teacher, "%s", json_is_string(jt) ? json_string_value(jt) : "");
    json_t *jc = json_object_get(j, "compute");
    if (jc && (!json_is_string(jc) || (strcmp(json_string_value(jc), "fp32") && strcmp(json_string_value(jc), "bf16")))) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: its info's compute is not \"fp32\" or \"bf16\"", path);
        goto out;
    }
    snprintf(c->compute, sizeof c->compute, "%s", jc ? json_string_value(jc) : "fp32");
    size_t n = (size_t)tk->shape[0];
    if ((s = tcache_grow(c, n ? n : 1, err))) goto out;
    memcpy(c->key, tk->data, n * sizeof(uint64_t));
    memcpy(c->logit, tl->data, n * (size_t)c->L * sizeof(float));
    c->n = n;
    for (size_t i = 0; i < n * (size_t)c->L; i++)
        if (!isfinite(c->logit[i])) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: logit %zu is not finite", path, i);
            goto out;
        }
    s = tcache_index(c, err);
out:
    json_decref(j);
    tensor_set_free(&ts);
    return s;
}

bertc_status distill_cache_probe(const uint8_t *data, size_t size, size_t *n_rows, int *labels, bertc_error *err) {
    tcache c;
    memset(&c, 0, sizeof c);
    bertc_status s = distill_cache_parse(&c, data, size, "teacher cache", err);
    if (!s) {
        for (size_t i = 0; i < c.n; i++) /* every key is found where the index says */
            if (c.key[tcache_find(&c, c.key[i])] != c.key[i]) s = bertc_fail(err, BERTC_ERR_FORMAT, "index");
        *n_rows = c.n;
        *labels = c.L;
    }
    tcache_free(&c);
    return s;
}

static bertc_status tcache_read(tcache *c, const char *path, bertc_error *err) {
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) return BERTC_OK;
    mapped_file f;
    bertc_status s = map_file(path, &f, err);
    if (s) return s;
    s = distill_cache_parse(c, f.data, f.size, path, err);
    unmap_file(&f);
    return s;
}

static bertc_status tcache_write(const tcache *c, const char *path, bertc_error *err) {
    json_t *j = json_object(), *jl = json_array();
    for (int i = 0; i < c->L; i++) json_array_append_new(jl, json_string(c->labels[i]));
    json_object_set_new(j, "teacher_sha256", json_string(c->sha));
    json_object_set_new(j, "labels", jl);
    json_object_set_new(j, "max_length", json_integer(c->max_length));
    json_object_set_new(j, "teacher", json_string(c->teacher));
    json_object_set_new(j, "compute", json_string(c->compute[0] ? c->compute : "fp32"));
    char *info = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!info) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    st_entry e[3] = {
        {"info", "U8", 1, {(int64_t)strlen(info)}, info, strlen(info)},
        {"keys", "I64", 1, {(int64_t)c->n}, c->key, c->n * sizeof(uint64_t)},
        {"logits", "F32", 2, {(int64_t)c->n, c->L}, c->logit, c->n * (size_t)c->L * sizeof(float)},
    };
    bertc_status s = safetensors_write(path, e, 3, err);
    free(info);
    return s;
}

/* ---- augmentation ---- */
typedef struct nn_table {
    int V;          /* teacher vocabulary size */
    int K;
    int32_t *nbr;   /* V x K neighbour token ids (-1: none), computed for the words asked for */
    uint8_t *done;  /* per id: 0 not asked, 1 computed, 2 queued */
    int32_t *cand;  /* candidate ids (whole words) */
    int n_cand;
    packed_linear pl; /* the candidates' unit embeddings, packed once (N = n_cand) */
} nn_table;

static bool whole_word(const char *t) {
    if (!t || !t[0] || !t[1]) return false; /* two characters at least */
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return false;
    return true;
}

/* The one id the teacher's tokenizer gives a word alone (no specials), or -1 when it splits it. */
static int word_id(const bertc_tokenizer *tok, const char *w, size_t n) {
    bertc_encode_params ep = bertc_encode_default_params();
    ep.add_special_tokens = 0;
    ep.max_length = 8;
    bertc_encoding e;
    bertc_error er;
    if (bertc_tokenize(tok, w, n, NULL, 0, &ep, &e, &er)) return -1;
    int id = e.n == 1 ? e.ids[0] : -1;
    bertc_encoding_free(&e);
    if (id >= 0) {
        const char *t = bertc_tokenizer_id_to_token(tok, id);
        /* the vocabulary's own spelling of a whole word (byte-level BPE's "Ġword" is not taken) */
        if (!whole_word(t)) id = -1;
    }
    return id;
}

/* The K nearest whole words (cosine of the teacher's input embeddings) of every id in ids[0..n): one GEMM of the
 * asked words against all candidates. */
/* dst[i] = E[ids[i]] / |E[ids[i]]| (rows of H floats) */
static void unit_rows(float *dst, const float *E, const int32_t *ids, int n, int H) {
    for (int i = 0; i < n; i++) {
        const float *src = E + (size_t)ids[i] * H;
        double ss = 0;
        for (int k = 0; k < H; k++) ss += (double)src[k] * src[k];
        float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0;
        for (int k = 0; k < H; k++) dst[(size_t)i * H + k] = src[k] * inv;
    }
}

static bertc_status nn_compute(nn_table *nt, const bertc_model *tm, const int32_t *ids, int n, bertc_error *err) {
    const int H = tm->cfg.embedding_size > 0 ? tm->cfg.embedding_size : tm->cfg.hidden;
    const float *E = tm->word;
    enum { CHUNK = 256 };
    if (!nt->pl.N) {
        float *cn = malloc((size_t)nt->n_cand * H * sizeof(float));
        if (!cn) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for the nearest words");
        unit_rows(cn, E, nt->cand, nt->n_cand, H);
        bool ok = linear_pack(&nt->pl, cn, NULL, nt->n_cand, H);
        free(cn);
        if (!ok) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for the nearest words");
    }
    float *q = malloc((size_t)CHUNK * H * sizeof(float));
    float *sc = malloc((size_t)CHUNK * nt->n_cand * sizeof(float));
    if (!q || !sc) {
        free(q);
        free(sc);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for the nearest words");
    }
    for (int c0 = 0; c0 < n; c0 += CHUNK) {
        int m = n - c0 < CHUNK ? n - c0 : CHUNK;
        unit_rows(q, E, ids + c0, m, H);
        linear_forward(tm->pool, sc, q, &nt->pl, m, EPI_NONE, NULL);
        for (int i = 0; i < m; i++) {
            int32_t id = ids[c0 + i], *out = nt->nbr + (size_t)id * nt->K;
            float best[64];
            int bi[64], have = 0, K = nt->K;
            const float *row = sc + (size_t)i * nt->n_cand;
            for (int c = 0; c < nt->n_cand; c++) {
                if (nt->cand[c] == id) continue;
                float v = row[c];
                if (have == K && v <= best[K - 1]) continue;
                int at = have < K ? have++ : K - 1;
                while (at > 0 && best[at - 1] < v) {
                    best[at] = best[at - 1];
                    bi[at] = bi[at - 1];
                    at--;
                }
                best[at] = v;
                bi[at] = nt->cand[c];
            }
            for (int k = 0; k < K; k++) out[k] = k < have ? bi[k] : -1;
            nt->done[id] = 1;
        }
    }
    free(q);
    free(sc);
    return BERTC_OK;
}

typedef struct span {
    const char *s;
    size_t n;
} wspan;

static int split_words(const char *t, size_t n, wspan *w, int cap) {
    int k = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) i++;
        size_t j = i;
        while (j < n && !(t[j] == ' ' || t[j] == '\t' || t[j] == '\n' || t[j] == '\r')) j++;
        if (j > i) {
            if (k == cap) return -1;
            w[k].s = t + i;
            w[k].n = j - i;
            k++;
        }
        i = j;
    }
    return k;
}

static double unit(uint64_t key, uint64_t i) { return (double)(mix64(key ^ mix64(i + 0x41554721ull)) >> 11) * 0x1.0p-53; }

/* The variants of one text: per word, a swap for one of its nearest words (p_swap, words the teacher's vocabulary
 * holds whole), else a deletion (p_delete); then, with p_mask, one span of 1-3 words masked (the student's and the
 * teacher's own mask tokens). A variant equal to the text, or empty, is not kept. */
static bertc_status augment_row(const bertc_distill_params *p, nn_table *nt, const bertc_model *tm, const char *smask,
                                const char *tmask, const drow *src, uint64_t seed, size_t row, rows *R, bertc_error *err) {
    enum { MAXW = 512 };
    wspan w[MAXW];
    int nw = split_words(src->text, src->len, w, MAXW);
    if (nw <= 0 || nw < p->augment_min_words) return BERTC_OK;
    int32_t ids[MAXW];
    for (int i = 0; i < nw; i++) ids[i] = word_id(tm->tok, w[i].s, w[i].n); /* their neighbours: nn_prepare's */
    for (int v = 0; v < p->augment; v++) {
        uint64_t key = mix64(seed ^ mix64(0x41554700ull + row * 1009 + (uint64_t)v));
        const char *out_w[MAXW];
        size_t out_n[MAXW];
        int no = 0;
        bool changed = false;
        for (int i = 0; i < nw; i++) {
            double u = unit(key, (uint64_t)i * 4);
            if (ids[i] >= 0 && u < p->augment_swap) {
                const int32_t *nb = nt->nbr + (size_t)ids[i] * nt->K;
                int have = 0;
                while (have < nt->K && nb[have] >= 0) have++;
                if (have) {
                    int pick = (int)(unit(key, (uint64_t)i * 4 + 1) * have);
                    const char *t = bertc_tokenizer_id_to_token(tm->tok, nb[pick]);
                    out_w[no] = t;
                    out_n[no++] = strlen(t);
                    changed = true;
                    continue;
                }
            }
            if (u >= p->augment_swap && u < p->augment_swap + p->augment_delete && nw > 1) {
                changed = true;
                continue;
            }
            out_w[no] = w[i].s;
            out_n[no++] = w[i].n;
        }
        int m0 = -1, m1 = -1;
        if (smask && tmask && no > 1 && unit(key, 0xffff0) < p->augment_mask) {
            int len = 1 + (int)(unit(key, 0xffff1) * 3);
            if (len > no - 1) len = no - 1;
            m0 = (int)(unit(key, 0xffff2) * (no - len + 1));
            m1 = m0 + len;
            changed = true;
        }
        if (!changed || no == 0) continue;
        for (int side = 0; side < 2; side++) {
            const char *mk = side ? tmask : smask;
            size_t tot = 1;
            for (int i = 0; i < no; i++) tot += (i >= m0 && i < m1 ? strlen(mk) : out_n[i]) + 1;
            char *buf = malloc(tot);
            if (!buf) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            size_t at = 0;
            for (int i = 0; i < no; i++) {
                if (at) buf[at++] = ' ';
                const char *x = i >= m0 && i < m1 ? mk : out_w[i];
                size_t xn = i >= m0 && i < m1 ? strlen(mk) : out_n[i];
                memcpy(buf + at, x, xn);
                at += xn;
            }
            buf[at] = 0;
            if (!side) {
                drow *d = rows_add(R);
                if (!d) {
                    free(buf);
                    return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                }
                d->text = buf;
                d->len = at;
                d->pair = src->pair;
                d->pair_len = src->pair_len;
                d->line = src->line;
            } else if (m0 >= 0) {
                R->r[R->n - 1].ttext = buf;
                R->r[R->n - 1].tlen = at;
            } else free(buf);
        }
    }
    return BERTC_OK;
}

/* The nearest words of every word of the rows to augment, in one pass (the candidates packed once, the queries in
 * chunks), before the variants are drawn. */
static bertc_status nn_prepare(const bertc_distill_params *p, nn_table *nt, const bertc_model *tm, const rows *R, size_t n,
                               bertc_error *err) {
    enum { MAXW = 512 };
    size_t cap = 4096, k = 0;
    int32_t *q = malloc(cap * sizeof *q);
    if (!q) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < n; r++) {
        wspan w[MAXW];
        int nw = split_words(R->r[r].text, R->r[r].len, w, MAXW);
        if (nw <= 0 || nw < p->augment_min_words) continue;
        for (int i = 0; i < nw; i++) {
            int id = word_id(tm->tok, w[i].s, w[i].n);
            if (id < 0 || nt->done[id]) continue;
            if (k == cap) {
                int32_t *nq = realloc(q, 2 * cap * sizeof *q);
                if (!nq) {
                    free(q);
                    return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                }
                q = nq;
                cap *= 2;
            }
            nt->done[id] = 2;
            q[k++] = id;
        }
    }
    bertc_status s = k ? nn_compute(nt, tm, q, (int)k, err) : BERTC_OK;
    free(q);
    return s;
}

/* ---- labelling ---- */
static void teacher_event(const bertc_distill_params *p, long done, long total, const char *msg) {
    if (!p->train.callback) return;
    bertc_train_event e;
    memset(&e, 0, sizeof e);
    e.kind = BERTC_TRAIN_TEACHER;
    e.step = done;
    e.max_steps = total;
    e.message = msg;
    p->train.callback(&e, p->train.callback_ctx);
}

static int cmp_tlen(const void *a, const void *b, void *ctx) {
    const drow *all_rows = ctx;
    const drow *x = &all_rows[*(const size_t *)a], *y = &all_rows[*(const size_t *)b];
    size_t lx = (x->ttext ? x->tlen : x->len) + x->pair_len, ly = (y->ttext ? y->tlen : y->len) + y->pair_len;
    if (lx != ly) return lx < ly ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Runs the teacher on the rows whose keys the cache lacks (sorted by length, batches of teacher_batch_size), adding
 * them to the cache and writing it every minute and at the end. */
static bertc_status label_missing(const bertc_distill_params *p, const bertc_model *tm, rows *R, tcache *c,
                                  const char *cache_path, int max_length, bertc_error *err) {
    size_t *todo = malloc((R->n ? R->n : 1) * sizeof *todo), nt = 0;
    if (!todo) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < R->n; i++)
        if (tcache_find(c, R->r[i].key) == SIZE_MAX) todo[nt++] = i;
    /* drop duplicates among the missing (the same text twice): keep the first of each key */
    if (nt > 1) {
        uint64_t *ks = malloc(nt * sizeof *ks);
        size_t *ix = malloc(nt * sizeof *ix);
        if (!ks || !ix) {
            free(ks);
            free(ix);
            free(todo);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < nt; i++) {
            ks[i] = R->r[todo[i]].key;
            ix[i] = i;
        }
        qsort_r(ix, nt, sizeof *ix, cmp_by_key_then_index, ks);
        size_t w = 0;
        unsigned char *dup = calloc(nt, 1);
        for (size_t i = 1; dup && i < nt; i++)
            if (ks[ix[i]] == ks[ix[i - 1]]) dup[ix[i]] = 1; /* equal keys in index order: all but the first */
        for (size_t i = 0; dup && i < nt; i++)
            if (!dup[i]) todo[w++] = todo[i];
        if (dup) nt = w;
        free(dup);
        free(ks);
        free(ix);
    }
    if (!nt) {
        free(todo);
        return BERTC_OK;
    }
    if (!tm) {
        free(todo);
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "%zu rows have no logits in the teacher cache %s and no teacher was given "
                          "to label them", nt, cache_path);
    }
    qsort_r(todo, nt, sizeof *todo, cmp_tlen, R->r);
    const int B = p->teacher_batch_size > 0 ? p->teacher_batch_size : 64;
    const int L = c->L;
    bertc_encoding *enc = calloc((size_t)B, sizeof *enc);
    float *lg = malloc((size_t)B * L * sizeof(float));
    bertc_status s = enc && lg ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bertc_encode_params ep = bertc_encode_default_params();
    ep.max_length = max_length;
    double last = now_ms();
    char msg[512];
    snprintf(msg, sizeof msg, "the teacher labels %zu rows (%zu found in %.300s)", nt, c->n, cache_path);
    teacher_event(p, 0, (long)nt, msg);
    for (size_t b = 0; b < nt && !s; b += (size_t)B) {
        size_t e = b + (size_t)B < nt ? b + (size_t)B : nt;
        size_t k = 0;
        for (; k < e - b && !s; k++) {
            const drow *d = &R->r[todo[b + k]];
            s = bertc_tokenize(tm->tok, d->ttext ? d->ttext : d->text, d->ttext ? d->tlen : d->len, d->pair, d->pair_len, &ep,
                               &enc[k], err);
        }
        if (!s) s = bertc_forward(tm, enc, e - b, NULL, lg, err);
        for (size_t i = 0; i < k; i++) bertc_encoding_free(&enc[i]);
        if (!s) s = tcache_grow(c, c->n + (e - b), err);
        for (size_t i = 0; i < e - b && !s; i++) {
            c->key[c->n] = R->r[todo[b + i]].key;
            memcpy(c->logit + c->n * (size_t)L, lg + i * (size_t)L, (size_t)L * sizeof(float));
            c->n++;
        }
        teacher_event(p, (long)e, (long)nt, NULL);
        if (!s && (e == nt || now_ms() - last > 60000)) {
            s = tcache_write(c, cache_path, err);
            last = now_ms();
        }
        if (!s && p->train.stop && *p->train.stop) {
            s = bertc_fail(err, BERTC_ERR_INTERRUPTED, "interrupted while the teacher labelled rows: the %zu labelled so far are in "
                           "%s (run again to go on)", c->n, cache_path);
            tcache_write(c, cache_path, NULL);
        }
    }
    free(enc);
    free(lg);
    free(todo);
    if (!s) s = tcache_index(c, err);
    return s;
}

static bool generic_label(const char *s) {
    if (strncmp(s, "LABEL_", 6) || !s[6]) return false;
    for (const char *p = s + 6; *p; p++)
        if (!isdigit((unsigned char)*p)) return false;
    return true;
}

/* The student's label names in order: train.labels, else its head's id2label, else the teacher's. */
static bertc_status student_labels(const bertc_distill_params *p, char ***names, int *n, bertc_error *err) {
    *names = NULL;
    *n = 0;
    if (p->train.labels) {
        const char *a = p->train.labels;
        int cap = 1;
        for (const char *x = a; *x; x++) cap += *x == ',';
        char **v = calloc((size_t)cap, sizeof *v);
        if (!v) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        int k = 0;
        while (*a) {
            const char *comma = strchr(a, ',');
            size_t l = comma ? (size_t)(comma - a) : strlen(a);
            if (l && !(v[k++] = mem_dup0(a, l))) {
                for (int i = 0; i < k; i++) free(v[i]);
                free(v);
                return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
            a = comma ? comma + 1 : a + l;
        }
        *names = v;
        *n = k;
        return BERTC_OK;
    }
    model_config probe;
    memset(&probe, 0, sizeof probe);
    int head = 0;
    bertc_status s = tmodel_probe(p->train.model, &probe, &head, err);
    bool generic = true;
    for (int i = 0; !s && head > 0 && i < probe.n_labels; i++) generic = generic && generic_label(probe.labels[i]);
    if (!s && head > 0 && !generic) { /* LABEL_i names: the teacher's, by position */
        char **v = calloc((size_t)probe.n_labels, sizeof *v);
        if (!v) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        for (int i = 0; v && i < probe.n_labels; i++)
            if (!(v[i] = strdup(probe.labels[i]))) {
                for (int k = 0; k < i; k++) free(v[k]);
                free(v);
                v = NULL;
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
        *names = v;
        *n = v ? probe.n_labels : 0;
    }
    model_config_free(&probe);
    return s;
}

bertc_status bertc_distill(const bertc_distill_params *p, bertc_error *err) {
    if (!p || !p->train.model || !p->train.train || !(p->train.output_dir || (p->label_only && p->teacher_cache)))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_distill: the student (train.model), the training data (train.train) "
                          "and the output folder (or, with label_only, the teacher cache) are required");
    if (!(p->temperature > 0 && p->temperature <= 1000) || !(p->alpha >= 0 && p->alpha <= 1) || p->augment < 0 ||
        p->augment > 1000 || !(p->augment_swap >= 0 && p->augment_delete >= 0 && p->augment_swap + p->augment_delete <= 1) ||
        !(p->augment_mask >= 0 && p->augment_mask <= 1) || p->augment_neighbors < 1 || p->augment_neighbors > 64 ||
        p->teacher_max_length < 0 || p->teacher_batch_size < 0 || p->augment_min_words < 0 ||
        (p->teacher_compute != BERTC_COMPUTE_FP32 && p->teacher_compute != BERTC_COMPUTE_BF16))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_distill: temperature must be in (0, 1000], alpha in [0, 1], augment "
                          "in 0..1000, the swap and delete probabilities sum to at most 1, the mask probability in [0, 1], "
                          "the neighbours 1..64, the teacher's compute fp32 or bf16");
    if (!p->teacher && !p->teacher_cache)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_distill: a teacher folder, or a teacher cache holding every row's "
                          "logits, is required");
    if (p->teacher && p->train.model && !strcmp(p->teacher, p->train.model))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_distill: the teacher and the student are the same folder %s",
                          p->teacher);
    bertc_status s;
    char cache_path[4200];
    if (p->teacher_cache) snprintf(cache_path, sizeof cache_path, "%s", p->teacher_cache);
    else {
        size_t ol = strlen(p->train.output_dir);
        while (ol > 1 && p->train.output_dir[ol - 1] == '/') ol--;
        snprintf(cache_path, sizeof cache_path, "%.*s.teacher-logits.safetensors", (int)ol, p->train.output_dir);
    }
    const int max_length = p->teacher_max_length > 0 ? p->teacher_max_length : p->train.max_length;
    if (p->teacher && (s = bertc_check_output(cache_path, err))) return s;
    bertc_dataset *dl = NULL, *du = NULL;
    rows R = {0};
    tcache C;
    memset(&C, 0, sizeof C);
    bertc_model *tm = NULL;
    bertc_tokenizer *stok = NULL;
    char **snames = NULL;
    int sn = 0;
    float *soft = NULL;
    char *labels_csv = NULL;
    bertc_dataset all;
    memset(&all, 0, sizeof all);
    nn_table nt;
    memset(&nt, 0, sizeof nt);
    char **id_strings = NULL;
    /* the rows */
    if ((s = bertc_dataset_read(p->train.train, &p->train.data, &dl, err))) goto done;
    if (p->unlabeled) {
        bertc_dataset_params up = p->train.data;
        up.label_column = "";
        if ((s = bertc_dataset_read(p->unlabeled, &up, &du, err))) goto done;
    }
    for (size_t i = 0; i < dl->n; i++) {
        drow *d = rows_add(&R);
        if (!d || !(d->text = mem_dup0(dl->ex[i].text, dl->ex[i].len))) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        d->len = dl->ex[i].len;
        d->pair = dl->ex[i].pair;
        d->pair_len = dl->ex[i].pair_len;
        d->label = dl->ex[i].label;
        d->line = dl->ex[i].line;
    }
    size_t n_labelled = R.n;
    /* the teacher (needed for augmentation, and for rows the cache lacks) */
    char sha[65] = "";
    if (p->teacher) {
        bertc_model_params mp = bertc_model_default_params();
        mp.n_threads = p->train.n_threads;
        mp.compute = p->teacher_compute;
        if ((s = bertc_model_load(p->teacher, &mp, &tm, err))) goto done;
        if (!tm->has_head || tm->head != BERTC_HEAD_SEQUENCE_CLASSIFICATION || tm->cfg.n_labels < 2) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "the teacher %s is not a sequence classifier with 2 or more labels "
                           "(fine-tune it first with bertc train)", p->teacher);
            goto done;
        }
        if ((s = teacher_digest(p->teacher, sha, err))) goto done;
    }
    if (p->augment > 0) {
        if (!tm) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "augmentation needs the teacher (its embeddings choose the swaps)");
            goto done;
        }
        if ((s = bertc_tokenizer_load(p->train.model, &stok, err))) goto done;
        int smid = bertc_tokenizer_mask_id(stok), tmid = bertc_tokenizer_mask_id(tm->tok);
        const char *smask = smid >= 0 ? bertc_tokenizer_id_to_token(stok, smid) : NULL;
        const char *tmask = tmid >= 0 ? bertc_tokenizer_id_to_token(tm->tok, tmid) : NULL;
        nt.V = bertc_tokenizer_vocab_size(tm->tok);
        nt.K = p->augment_neighbors;
        nt.nbr = malloc((size_t)nt.V * nt.K * sizeof(int32_t));
        nt.done = calloc((size_t)nt.V, 1);
        nt.cand = malloc((size_t)nt.V * sizeof(int32_t));
        if (!nt.nbr || !nt.done || !nt.cand) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < nt.V && i < (int)tm->cfg.vocab_size; i++)
            if (whole_word(bertc_tokenizer_id_to_token(tm->tok, i))) nt.cand[nt.n_cand++] = i;
        if (nt.n_cand < 2) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "the teacher's vocabulary has no whole words to swap in");
            goto done;
        }
        if ((s = nn_prepare(p, &nt, tm, &R, n_labelled, err))) goto done;
        for (size_t i = 0; i < n_labelled && !s; i++) {
            drow src = R.r[i]; /* R.r moves as rows are added */
            s = augment_row(p, &nt, tm, smask, tmask, &src, p->train.seed, i, &R, err);
        }
        if (s) goto done;
        if (p->augmented_out) {
            size_t cap = 64, at = 0;
            char *buf = malloc(cap);
            if (!buf) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
            at = (size_t)snprintf(buf, cap, "sentence\n");
            for (size_t i = n_labelled; i < R.n; i++) {
                if (at + R.r[i].len + 2 > cap) {
                    while (at + R.r[i].len + 2 > cap) cap *= 2;
                    char *nb = realloc(buf, cap);
                    if (!nb) {
                        free(buf);
                        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                    buf = nb;
                }
                for (size_t k = 0; k < R.r[i].len; k++) buf[at++] = R.r[i].text[k] == '\t' || R.r[i].text[k] == '\n' ? ' ' : R.r[i].text[k];
                buf[at++] = '\n';
            }
            s = bertc_write_file(p->augmented_out, buf, at, err);
            free(buf);
            if (s) goto done;
        }
    }
    size_t n_aug = R.n - n_labelled;
    if (du)
        for (size_t i = 0; i < du->n; i++) {
            drow *d = rows_add(&R);
            if (!d || !(d->text = mem_dup0(du->ex[i].text, du->ex[i].len))) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
            d->len = du->ex[i].len;
            d->pair = du->ex[i].pair;
            d->pair_len = du->ex[i].pair_len;
            d->line = du->ex[i].line;
        }
    for (size_t i = 0; i < R.n; i++) {
        drow *d = &R.r[i];
        /* keyed by the text the student reads: a variant written out (augmented_out) and given back as an unlabelled
         * row finds its logits, teacher or not */
        d->key = distill_text_key(d->text, d->len, d->pair, d->pair_len, max_length);
    }
    /* the cache */
    const char *tcompute = p->teacher_compute == BERTC_COMPUTE_BF16 ? "bf16" : "fp32";
    if ((s = tcache_read(&C, cache_path, err))) goto done;
    if (C.n) {
        if (tm && strcmp(C.sha, sha)) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the teacher cache %s holds another teacher's logits (%s, sha256 %.12s..., "
                           "this teacher's %.12s...): give another --teacher-cache, or remove it", cache_path, C.teacher, C.sha, sha);
            goto done;
        }
        if (tm && strcmp(C.compute, tcompute)) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the teacher cache %s holds %s logits, this run's teacher computes in %s "
                           "(--teacher-compute): give another --teacher-cache, or the same compute", cache_path, C.compute,
                           tcompute);
            goto done;
        }
        if (C.max_length != max_length) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the teacher cache %s was made at max length %d, this run asks %d",
                           cache_path, C.max_length, max_length);
            goto done;
        }
        if (tm && C.L != tm->cfg.n_labels) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "the teacher cache %s has %d logits a row, the teacher %d", cache_path, C.L,
                           tm->cfg.n_labels);
            goto done;
        }
    } else if (tm) {
        C.L = tm->cfg.n_labels;
        C.labels = calloc((size_t)C.L, sizeof *C.labels);
        if (!C.labels) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < C.L; i++)
            if (!(C.labels[i] = strdup(bertc_model_label(tm, i)))) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
        C.max_length = max_length;
        snprintf(C.sha, sizeof C.sha, "%s", sha);
        snprintf(C.teacher, sizeof C.teacher, "%s", p->teacher);
        snprintf(C.compute, sizeof C.compute, "%s", tcompute);
        if ((s = tcache_index(&C, err))) goto done;
    } else {
        s = bertc_fail(err, BERTC_ERR_IO, "the teacher cache %s is absent or empty, and no teacher was given", cache_path);
        goto done;
    }
    if ((s = label_missing(p, tm, &R, &C, cache_path, max_length, err))) goto done;
    if (p->label_only) {
        char msg[512];
        snprintf(msg, sizeof msg, "%zu rows (%zu labelled, %zu augmented, %zu unlabelled) have their logits in %.300s", R.n,
                 n_labelled, n_aug, du ? du->n : 0, cache_path);
        teacher_event(p, -1, -1, msg);
        goto done;
    }
    bertc_model_free(tm);
    tm = NULL;
    /* the label order: the student's, mapped onto the teacher's logits by name (by position for LABEL_i) */
    if ((s = student_labels(p, &snames, &sn, err))) goto done;
    if (!snames) {
        snames = calloc((size_t)C.L, sizeof *snames);
        if (!snames) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        sn = C.L;
        for (int i = 0; i < C.L; i++)
            if (!(snames[i] = strdup(C.labels[i]))) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
    }
    int map[4096];
    if (sn != C.L) {
        s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the student has %d labels, the teacher %d: they must be the same labels", sn, C.L);
        goto done;
    }
    bool by_pos = true;
    for (int i = 0; i < C.L; i++) by_pos = by_pos && generic_label(C.labels[i]);
    for (int i = 0; i < sn; i++) {
        map[i] = -1;
        for (int j = 0; j < C.L && map[i] < 0; j++)
            if (snames[i] && !strcmp(snames[i], C.labels[j])) map[i] = j;
        if (map[i] < 0 && by_pos) map[i] = i;
        if (map[i] < 0) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the student's label %s is not among the teacher's (%s%s%s): give --labels "
                           "in the teacher's names", snames[i] ? snames[i] : "?", C.labels[0], C.L > 1 ? ", " : "",
                           C.L > 1 ? C.labels[1] : "");
            goto done;
        }
    }
    {
        size_t tl = 1;
        for (int i = 0; i < sn; i++) tl += strlen(snames[i]) + 1;
        labels_csv = malloc(tl);
        if (!labels_csv) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        labels_csv[0] = 0;
        for (int i = 0; i < sn; i++) {
            if (i) strcat(labels_csv, ",");
            strcat(labels_csv, snames[i]);
        }
    }
    /* the rows as a dataset, the teacher's logits beside them in the student's label order */
    bool int_labels = true;
    for (size_t i = 0; i < n_labelled && int_labels; i++) {
        const char *l = R.r[i].label;
        if (!l || !*l) continue;
        for (const char *q = l; *q && int_labels; q++) int_labels = isdigit((unsigned char)*q) || *q == ' ' || *q == '-';
    }
    id_strings = calloc((size_t)sn, sizeof *id_strings);
    all.ex = calloc(R.n ? R.n : 1, sizeof *all.ex);
    soft = malloc((R.n ? R.n : 1) * (size_t)sn * sizeof(float));
    if (!id_strings || !all.ex || !soft) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < sn; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i);
        if (!(id_strings[i] = strdup(b))) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    all.name = (char *)p->train.train;
    for (size_t i = 0; i < R.n; i++) {
        const drow *d = &R.r[i];
        size_t at = tcache_find(&C, d->key);
        if (at == SIZE_MAX) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "row %zu has no teacher logits", i);
            goto done;
        }
        const float *t = C.logit + at * (size_t)C.L;
        float *o = soft + i * (size_t)sn;
        int best = 0;
        for (int k = 0; k < sn; k++) {
            o[k] = t[map[k]];
            if (o[k] > o[best]) best = k;
        }
        bertc_example *e = &all.ex[all.n++];
        e->text = d->text;
        e->len = d->len;
        e->pair = d->pair;
        e->pair_len = d->pair_len;
        e->line = d->line;
        e->label = d->label && *d->label ? d->label : int_labels ? id_strings[best] : snames[best];
    }
    {
        char msg[768];
        snprintf(msg, sizeof msg, "distilling: %zu labelled rows, %zu augmented, %zu unlabelled, the teacher's logits from %.300s; "
                 "T %g, alpha %g", n_labelled, n_aug, du ? du->n : 0, cache_path, p->temperature, p->alpha);
        teacher_event(p, -1, -1, msg);
    }
    bertc_train_params tp = p->train;
    tp.labels = labels_csv;
    train_source src = {&all, soft, p->temperature, p->alpha};
    s = train_run(&tp, &src, err);
done:
    if (id_strings)
        for (int i = 0; i < sn; i++) free(id_strings[i]);
    free(id_strings);
    free(all.ex);
    free(soft);
    free(labels_csv);
    if (snames)
        for (int i = 0; i < sn; i++) free(snames[i]);
    free(snames);
    linear_free(&nt.pl);
    free(nt.nbr);
    free(nt.done);
    free(nt.cand);
    bertc_tokenizer_free(stok);
    bertc_model_free(tm);
    tcache_free(&C);
    rows_free(&R);
    bertc_dataset_free(dl);
    bertc_dataset_free(du);
    return s;
}

/* ---- a student from the teacher's layers ---- */

/* The layer index in a tensor name ("...layer.7." / "...layers.7."), with where its digits start and end; -1: none. */
static int name_layer(const char *name, size_t *d0, size_t *d1) {
    for (const char *p = strstr(name, "layer"); p; p = strstr(p + 1, "layer")) {
        if (p != name && p[-1] != '.') continue;
        const char *q = p + 5;
        if (*q == 's') q++;
        if (*q != '.' || !isdigit((unsigned char)q[1])) continue;
        const char *r = q + 1;
        long v = 0;
        while (isdigit((unsigned char)*r) && v < 100000) v = v * 10 + (*r++ - '0');
        if (*r != '.') continue;
        *d0 = (size_t)(q + 1 - name);
        *d1 = (size_t)(r - name);
        return (int)v;
    }
    return -1;
}

bertc_status bertc_student_from_teacher(const char *teacher_dir, const int *keep, int n_keep, const char *out_dir,
                                        bertc_error *err) {
    if (!teacher_dir || !out_dir || n_keep < 1 || n_keep > 4096)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_student_from_teacher: a teacher folder, an output folder and 1 or "
                          "more layers to keep are required");
    char path[8800], tmp[4300];
    char *cfg_text = NULL;
    size_t cfg_len = 0;
    json_t *cfg = NULL;
    tensor_set ts;
    memset(&ts, 0, sizeof ts);
    st_entry *e = NULL;
    char **names = NULL;
    int n_names = 0;
    int *sel = NULL;
    bool tmp_made = false;
    snprintf(path, sizeof path, "%s/config.json", teacher_dir);
    bertc_status s = read_file(path, &cfg_text, &cfg_len, err);
    if (s) return s;
    json_error_t je;
    cfg = json_loadb(cfg_text, cfg_len, 0, &je);
    const char *lkey = json_is_integer(json_object_get(cfg, "num_hidden_layers")) ? "num_hidden_layers"
                       : json_is_integer(json_object_get(cfg, "n_layers"))        ? "n_layers"
                                                                                  : NULL;
    if (!cfg || !lkey) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: no num_hidden_layers (or n_layers) to take layers from", path);
        goto done;
    }
    int L = (int)json_integer_value(json_object_get(cfg, lkey));
    if (n_keep > L || L < 1) {
        s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "the teacher has %d layers: cannot keep %d", L, n_keep);
        goto done;
    }
    sel = malloc((size_t)L * sizeof *sel); /* old layer -> new index, -1 dropped */
    if (!sel) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < L; i++) sel[i] = -1;
    for (int i = 0; i < n_keep; i++) {
        int old = keep ? keep[i] : i * (L / n_keep);
        if (old < 0 || old >= L || sel[old] >= 0 || (i && keep && keep[i] <= keep[i - 1])) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "layers to keep must be increasing and within 0..%d", L - 1);
            goto done;
        }
        sel[old] = i;
    }
    if ((s = tensors_load_dir(&ts, teacher_dir, err))) goto done;
    e = calloc((size_t)ts.n + 1, sizeof *e);
    names = calloc((size_t)ts.n + 1, sizeof *names);
    if (!e || !names) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    int ne = 0;
    for (int i = 0; i < ts.n; i++) {
        const tensor_info *t = &ts.t[i];
        size_t d0, d1;
        int li = name_layer(t->name, &d0, &d1);
        char *nm;
        if (li >= 0 && li < L) {
            if (sel[li] < 0) continue;
            size_t nl = strlen(t->name) + 16;
            nm = malloc(nl);
            if (nm) snprintf(nm, nl, "%.*s%d%s", (int)d0, t->name, sel[li], t->name + d1);
        } else nm = strdup(t->name);
        if (!nm) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        names[n_names++] = nm;
        if (t->ndim > 4) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: a tensor of %d dimensions", t->name, t->ndim);
            goto done;
        }
        e[ne].name = nm;
        e[ne].dtype = t->dtype_name;
        e[ne].ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++) e[ne].shape[k] = t->shape[k];
        e[ne].data = t->data;
        e[ne].nbytes = t->nbytes;
        ne++;
    }
    json_object_set_new(cfg, lkey, json_integer(n_keep));
    json_t *lt = json_object_get(cfg, "layer_types");
    if (json_is_array(lt) && (int)json_array_size(lt) == L) {
        json_t *nlt = json_array();
        for (int i = 0; i < L; i++)
            if (sel[i] >= 0) json_array_append(nlt, json_array_get(lt, (size_t)i));
        json_object_set_new(cfg, "layer_types", nlt);
    }
    {
        struct stat st;
        if (stat(out_dir, &st) == 0 && (s = durable_remove(out_dir, err))) goto done;
    }
    if ((s = adir_begin(out_dir, tmp, sizeof tmp, err))) goto done;
    tmp_made = true;
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    if ((s = safetensors_write(path, e, ne, err))) goto done;
    char *ct = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!ct) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "%s/config.json", tmp);
    s = atomic_write(path, ct, strlen(ct), err);
    free(ct);
    static const char *const tokfiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                           "vocab.json", "merges.txt", "spm.model", "sentencepiece.bpe.model",
                                           "added_tokens.json"};
    for (size_t i = 0; i < sizeof tokfiles / sizeof *tokfiles && !s; i++) {
        char from[4300];
        snprintf(from, sizeof from, "%s/%s", teacher_dir, tokfiles[i]);
        struct stat st;
        if (stat(from, &st) != 0) continue;
        snprintf(path, sizeof path, "%s/%s", tmp, tokfiles[i]);
        s = copy_file_atomic(from, path, err);
    }
    if (!s) s = adir_commit(tmp, out_dir, err);
    if (!s) tmp_made = false;
done:
    if (tmp_made) adir_abort(tmp);
    for (int i = 0; i < n_names; i++) free(names[i]);
    free(names);
    free(e);
    free(sel);
    tensor_set_free(&ts);
    json_decref(cfg);
    free(cfg_text);
    return s;
}
