/*
 * safetensors.c — the safetensors format (8-byte little-endian header size, JSON header, raw data) and the
 * folder-level loading of a checkpoint's weight files. Every number from a file is checked before use:
 * header bounds, offsets inside the data, shape × dtype size = byte length, no overlapping tensors.
 * Mirrors huggingface/safetensors' own validation.
 */
#include "tensors.h"

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t dtype_size(const char *d) {
    static const struct { const char *n; size_t s; } tab[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, d)) return tab[i].s;
    return 0;
}

static const char *intern_dtype(const char *d) {
    static const char *const names[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32",
                                        "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i], d)) return names[i];
    return "?";
}

void tensor_set_free(tensor_set *ts) {
    for (int i = 0; i < ts->n; i++) free(ts->t[i].name);
    free(ts->t);
    for (int i = 0; i < ts->n_files; i++) unmap_file(&ts->files[i]);
    free(ts->files);
    free(ts->sorted);
    for (int i = 0; i < ts->n_copies; i++) free(ts->copies[i]);
    free(ts->copies);
    memset(ts, 0, sizeof *ts);
}

const tensor_info *tensor_set_find(const tensor_set *ts, const char *name) {
    int lo = 0, hi = ts->n_sorted;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(ts->t[ts->sorted[mid]].name, name);
        if (!c) return &ts->t[ts->sorted[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    for (int i = ts->n_sorted; i < ts->n; i++) /* added since the last tensor_set_index */
        if (!strcmp(ts->t[i].name, name)) return &ts->t[i];
    return NULL;
}

bertc_status tensor_set_add(tensor_set *ts, const tensor_info *ti, const char *name, const char *what,
                            bertc_error *err) {
    (void)what;
    if (ts->n == ts->cap) {
        if (ts->cap > INT_MAX / 2) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: too many tensors", what);
        int nc = ts->cap ? ts->cap * 2 : 64;
        tensor_info *nt = realloc(ts->t, (size_t)nc * sizeof *nt);
        if (!nt) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        ts->t = nt;
        ts->cap = nc;
    }
    tensor_info *dst = &ts->t[ts->n];
    *dst = *ti;
    dst->name = strdup(name);
    if (!dst->name) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    ts->n++;
    return BERTC_OK;
}

typedef struct name_ix {
    const char *name;
    int i;
} name_ix;

static int cmp_name(const void *a, const void *b) {
    const name_ix *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

bertc_status tensor_set_index(tensor_set *ts, const char *what, bertc_error *err) {
    name_ix *v = malloc((size_t)(ts->n ? ts->n : 1) * sizeof *v);
    int *sorted = malloc((size_t)(ts->n ? ts->n : 1) * sizeof *sorted);
    if (!v || !sorted) {
        free(v);
        free(sorted);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < ts->n; i++) v[i] = (name_ix){ts->t[i].name, i};
    qsort(v, (size_t)ts->n, sizeof *v, cmp_name);
    bertc_status s = BERTC_OK;
    for (int i = 0; i < ts->n; i++) {
        if (i && !strcmp(v[i].name, v[i - 1].name)) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s appears twice", what, v[i].name);
            break;
        }
        sorted[i] = v[i].i;
    }
    free(v);
    if (s) {
        free(sorted);
        return s;
    }
    free(ts->sorted);
    ts->sorted = sorted;
    ts->n_sorted = ts->n;
    return BERTC_OK;
}

/* A JSON number that is a whole number in [0, 2^53] (exact in a double), as safetensors' usize fields. */
static bool json_uint(const json_t *v, uint64_t *out) {
    if (!json_is_number(v)) return false;
    double d = json_number_value(v);
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

typedef struct span {
    uint64_t b0, b1;
    int t; /* index in the tensor set */
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->b0 != y->b0) return x->b0 < y->b0 ? -1 : 1;
    return (x->b1 > y->b1) - (x->b1 < y->b1);
}

/* Parses one image and appends its tensors, without indexing the names (tensors_load_dir indexes once). */
static bertc_status st_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err) {
    if (size < 8) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: truncated (%zu bytes, no header)", what, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    if (hlen > size - 8)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: header size %llu exceeds the file (%zu bytes): truncated or not "
                          "safetensors", what, (unsigned long long)hlen, size);
    if (hlen > 100000000) /* safetensors' MAX_HEADER_SIZE */
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: header of %llu bytes is too large (safetensors' limit is "
                          "100000000)", what, (unsigned long long)hlen);
    char hwhat[4200];
    snprintf(hwhat, sizeof hwhat, "%s: header", what);
    json_t *h;
    bertc_status s = jparse((const char *)data + 8, (size_t)hlen, hwhat, &h, err);
    if (s) return s;
    if (!json_is_object(h)) {
        json_decref(h);
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: header is not a JSON object", what);
    }
    const uint8_t *base = data + 8 + hlen;
    size_t dsize = size - 8 - (size_t)hlen;
    int first = ts->n;
    span *sp = NULL;
    const char *name;
    const json_t *e;
    json_object_foreach(h, name, e) {
        if (!strcmp(name, "__metadata__")) {
            /* a map of strings to strings, or safetensors refuses the header */
            const char *mk;
            const json_t *mv;
            if (!json_is_object(e)) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: header __metadata__ is not an object", what);
                goto done;
            }
            json_object_foreach((json_t *)e, mk, mv) if (!json_is_string(mv)) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: header __metadata__ entry %.100s is not a string", what, mk);
                goto done;
            }
            continue;
        }
        const char *dt = jstr(e, "dtype");
        const json_t *sh = json_object_get(e, "shape"), *of = json_object_get(e, "data_offsets");
        if (!dt || !json_is_array(sh) || !json_is_array(of) || json_array_size(of) != 2) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s lacks dtype, shape or data_offsets", what, name);
            goto done;
        }
        size_t es = dtype_size(dt);
        if (!es) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has unknown dtype %.20s", what, name, dt);
            goto done;
        }
        size_t nd = json_array_size(sh);
        if (nd > 8) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has %zu dimensions (at most 8 supported)", what, name,
                           nd);
            goto done;
        }
        uint64_t b0, b1;
        if (!json_uint(json_array_get(of, 0), &b0) || !json_uint(json_array_get(of, 1), &b1)) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has data_offsets that are not two non-negative "
                           "integers", what, name);
            goto done;
        }
        if (b1 < b0 || b1 > dsize) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has data_offsets [%llu, %llu] outside the %zu data "
                           "bytes (truncated file?)", what, name, (unsigned long long)b0, (unsigned long long)b1, dsize);
            goto done;
        }
        tensor_info ti;
        memset(&ti, 0, sizeof ti);
        ti.ndim = (int)nd;
        uint64_t count = 1, nbytes;
        for (size_t k = 0; k < nd; k++) {
            uint64_t d;
            if (!json_uint(json_array_get(sh, k), &d)) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has an invalid shape (dimension %zu is not a "
                               "non-negative integer below 2^53)", what, name, k);
                goto done;
            }
            ti.shape[k] = (int64_t)d;
            if (__builtin_mul_overflow(count, d, &count)) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s: shape overflows (its element count exceeds "
                               "2^64)", what, name);
                goto done;
            }
        }
        if (__builtin_mul_overflow(count, (uint64_t)es, &nbytes)) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s: shape overflows (%llu elements of %zu bytes)", what,
                           name, (unsigned long long)count, es);
            goto done;
        }
        if (nbytes != b1 - b0) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s: shape needs %llu bytes but data_offsets span %llu",
                           what, name, (unsigned long long)nbytes, (unsigned long long)(b1 - b0));
            goto done;
        }
        ti.dtype_name = intern_dtype(dt);
        ti.dtype = !strcmp(ti.dtype_name, "F32") ? DT_F32 : !strcmp(ti.dtype_name, "F16") ? DT_F16
                   : !strcmp(ti.dtype_name, "BF16") ? DT_BF16 : DT_OTHER;
        ti.data = base + b0;
        ti.nbytes = (size_t)nbytes;
        if ((s = tensor_set_add(ts, &ti, name, what, err))) goto done;
    }
    /* As safetensors validates: sorted by offsets, each tensor starts where the previous one ends (no gap, no
     * overlap: InvalidOffset) and the last one ends at the end of the file (MetadataIncompleteBuffer). */
    {
        int cnt = ts->n - first;
        sp = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof *sp);
        if (!sp) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < cnt; i++) {
            const tensor_info *t = &ts->t[first + i];
            sp[i].b0 = (uint64_t)(t->data - base);
            sp[i].b1 = sp[i].b0 + t->nbytes;
            sp[i].t = first + i;
        }
        qsort(sp, (size_t)cnt, sizeof *sp, cmp_span);
        uint64_t at = 0;
        for (int i = 0; i < cnt; i++) {
            if (sp[i].b0 != at) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s: invalid offset (data_offsets [%llu, %llu] %s "
                               "the previous tensor's end %llu%s%.100s)", what, ts->t[sp[i].t].name,
                               (unsigned long long)sp[i].b0, (unsigned long long)sp[i].b1,
                               sp[i].b0 < at ? "overlap" : "leave a gap after", (unsigned long long)at,
                               i ? ", tensor " : "", i ? ts->t[sp[i - 1].t].name : "");
                goto done;
            }
            at = sp[i].b1;
        }
        if (at != dsize) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: the tensors end at data byte %llu but the file holds %zu data "
                           "bytes (incomplete metadata, file not fully covered)", what, (unsigned long long)at, dsize);
            goto done;
        }
    }
done:
    free(sp);
    json_decref(h);
    return s;
}

bertc_status safetensors_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err) {
    bertc_status s = st_parse(ts, data, size, what, err);
    return s ? s : tensor_set_index(ts, what, err);
}

static bertc_status add_mapped(tensor_set *ts, const char *path, mapped_file **out, bertc_error *err) {
    if (ts->n_files == ts->cap_files) {
        int nc = ts->cap_files ? ts->cap_files * 2 : 4;
        mapped_file *nf = nc > 0 ? realloc(ts->files, (size_t)nc * sizeof *nf) : NULL;
        if (!nf) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        ts->files = nf;
        ts->cap_files = nc;
    }
    bertc_status s = map_file(path, &ts->files[ts->n_files], err);
    if (s) return s;
    *out = &ts->files[ts->n_files++];
    ts->file_bytes += (*out)->size;
    return BERTC_OK;
}

bertc_status tensors_load_dir(tensor_set *ts, const char *dir, bertc_error *err) {
    char path[4096];
    mapped_file *f;
    bertc_status s;
    if (!path_join(path, sizeof path, dir, "model.safetensors")) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
    if (file_exists(path)) {
        if ((s = add_mapped(ts, path, &f, err))) return s;
        return safetensors_parse(ts, f->data, f->size, path, err);
    }
    path_join(path, sizeof path, dir, "model.safetensors.index.json");
    if (file_exists(path)) {
        char *txt;
        size_t len;
        if ((s = read_file(path, &txt, &len, err))) return s;
        json_t *idx;
        s = jparse(txt, len, path, &idx, err);
        free(txt);
        if (s) return s;
        json_t *wm = json_object_get(idx, "weight_map");
        if (!json_is_object(wm)) {
            json_decref(idx);
            return bertc_fail(err, BERTC_ERR_FORMAT, "%s: no weight_map object", path);
        }
        /* each distinct shard once, in order of first mention (a set of names seen: linear in the map's size) */
        json_t *seen = json_object();
        if (!seen) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        const char *name;
        const json_t *e;
        if (!s)
            json_object_foreach(wm, name, e) {
                const char *shard = json_string_value(e);
                if (!shard || strchr(shard, '/') || shard[0] == '.' || !shard[0]) {
                    s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: bad shard name for %.100s", path, name);
                    break;
                }
                if (json_object_get(seen, shard)) continue;
                if (json_object_set_new(seen, shard, json_null())) {
                    s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                    break;
                }
                char sp[4096];
                if (!path_join(sp, sizeof sp, dir, shard)) {
                    s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
                    break;
                }
                if ((s = add_mapped(ts, sp, &f, err))) break;
                if ((s = st_parse(ts, f->data, f->size, sp, err))) break;
            }
        json_decref(seen);
        if (!s) s = tensor_set_index(ts, path, err);
        if (!s)
            json_object_foreach(wm, name, e) if (!tensor_set_find(ts, name)) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s lists %.100s but shard %.100s does not hold it", path, name,
                               json_string_value(e));
                break;
            }
        json_decref(idx);
        return s;
    }
    path_join(path, sizeof path, dir, "pytorch_model.bin");
    if (file_exists(path)) {
        if ((s = add_mapped(ts, path, &f, err))) return s;
        return torchbin_parse(ts, f->data, f->size, path, err);
    }
    return bertc_fail(err, BERTC_ERR_IO, "%s: no model.safetensors, model.safetensors.index.json or pytorch_model.bin",
                      dir);
}
