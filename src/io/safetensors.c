/*
 * safetensors.c — the safetensors format (8-byte little-endian header size, JSON header, raw data) and the
 * folder-level loading of a checkpoint's weight files. Every number from a file is checked before use:
 * header bounds, offsets inside the data, shape × dtype size = byte length, no overlapping tensors.
 * Mirrors huggingface/safetensors' own validation.
 */
#include "tensors.h"

#include "json.h"

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
    memset(ts, 0, sizeof *ts);
}

const tensor_info *tensor_set_find(const tensor_set *ts, const char *name) {
    for (int i = 0; i < ts->n; i++)
        if (!strcmp(ts->t[i].name, name)) return &ts->t[i];
    return NULL;
}

bertc_status tensor_set_add(tensor_set *ts, const tensor_info *ti, const char *name, const char *what,
                            bertc_error *err) {
    if (tensor_set_find(ts, name))
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s appears twice", what, name);
    if (ts->n == ts->cap) {
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

static int cmp_off(const void *a, const void *b) {
    const tensor_info *x = *(tensor_info *const *)a, *y = *(tensor_info *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

bertc_status safetensors_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err) {
    if (size < 8) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: truncated (%zu bytes, no header)", what, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    if (hlen > size - 8)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s: header size %llu exceeds the file (%zu bytes): truncated or not "
                          "safetensors", what, (unsigned long long)hlen, size);
    if (hlen > 100u << 20) return bertc_fail(err, BERTC_ERR_FORMAT, "%s: header of %llu bytes is too large", what,
                                             (unsigned long long)hlen);
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
    const char *name;
    const json_t *e;
    json_object_foreach(h, name, e) {
        if (!strcmp(name, "__metadata__")) continue;
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
        int nd = (int)json_array_size(sh);
        if (nd > 8) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has %d dimensions", what, name, nd);
            goto done;
        }
        const json_t *o0 = json_array_get(of, 0), *o1 = json_array_get(of, 1);
        double b0 = json_number_value(o0), b1 = json_number_value(o1);
        if (!json_is_number(o0) || !json_is_number(o1) || b0 < 0 || b1 < b0 || b1 > (double)dsize ||
            b0 != (double)(uint64_t)b0 || b1 != (double)(uint64_t)b1) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has data_offsets [%.0f, %.0f] outside the %zu data "
                           "bytes (truncated file?)", what, name, b0, b1, dsize);
            goto done;
        }
        tensor_info ti;
        memset(&ti, 0, sizeof ti);
        ti.ndim = nd;
        uint64_t count = 1;
        for (int k = 0; k < nd; k++) {
            const json_t *d = json_array_get(sh, (size_t)k);
            if (!json_is_number(d) || json_number_value(d) < 0 || json_number_value(d) > 1e12) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s has an invalid shape", what, name);
                goto done;
            }
            ti.shape[k] = (int64_t)json_number_value(d);
            count *= (uint64_t)ti.shape[k];
            if (count > (1ull << 40)) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s is impossibly large", what, name);
                goto done;
            }
        }
        if (count * es != (uint64_t)(b1 - b0)) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensor %.100s: shape needs %llu bytes but data_offsets span %.0f",
                           what, name, (unsigned long long)(count * es), b1 - b0);
            goto done;
        }
        ti.dtype_name = intern_dtype(dt);
        ti.dtype = !strcmp(ti.dtype_name, "F32") ? DT_F32 : !strcmp(ti.dtype_name, "F16") ? DT_F16
                   : !strcmp(ti.dtype_name, "BF16") ? DT_BF16 : DT_OTHER;
        ti.data = base + (size_t)b0;
        ti.nbytes = (size_t)(b1 - b0);
        if ((s = tensor_set_add(ts, &ti, name, what, err))) goto done;
    }
    /* overlaps within this file */
    {
        int cnt = ts->n - first;
        tensor_info **ord = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof *ord);
        if (!ord) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < cnt; i++) ord[i] = &ts->t[first + i];
        qsort(ord, (size_t)cnt, sizeof *ord, cmp_off);
        for (int i = 1; i < cnt; i++)
            if (ord[i]->data < ord[i - 1]->data + ord[i - 1]->nbytes && ord[i - 1]->nbytes && ord[i]->nbytes) {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: tensors %.100s and %.100s overlap", what, ord[i - 1]->name,
                               ord[i]->name);
                break;
            }
        free(ord);
    }
done:
    json_decref(h);
    return s;
}

static bertc_status add_mapped(tensor_set *ts, const char *path, mapped_file **out, bertc_error *err) {
    mapped_file *nf = realloc(ts->files, (size_t)(ts->n_files + 1) * sizeof *nf);
    if (!nf) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    ts->files = nf;
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
        /* each distinct shard once, in order of first mention */
        const char *name, *pname;
        const json_t *e, *p;
        json_object_foreach(wm, name, e) {
            const char *shard = json_string_value(e);
            if (!shard || strchr(shard, '/') || shard[0] == '.') {
                s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: bad shard name for %.100s", path, name);
                break;
            }
            bool seen = false;
            json_object_foreach(wm, pname, p) {
                if (p == e) break;
                if (!strcmp(json_string_value(p), shard)) seen = true;
            }
            if (seen) continue;
            char sp[4096];
            if (!path_join(sp, sizeof sp, dir, shard)) {
                s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
                break;
            }
            if ((s = add_mapped(ts, sp, &f, err))) break;
            if ((s = safetensors_parse(ts, f->data, f->size, sp, err))) break;
        }
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
