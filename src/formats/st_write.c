/*
 * st_write.c — writing safetensors files and other outputs so that nothing is ever half-written: the data go
 * to a temporary file beside the target, which is flushed to disk and renamed over the target only when
 * whole (rename is atomic within a file system), then the folder is flushed too (util/durable.c). A failed
 * write removes the temporary file and is BERTC_ERR_OUTPUT.
 */
#include "tensors.h"

#include "base/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bertc_status write_file_atomic(const char *path, const void *data, size_t len, bertc_error *err) {
    return atomic_write(path, data, len, err);
}

bertc_status copy_file_atomic(const char *src, const char *dst, bertc_error *err) {
    char *buf = NULL;
    size_t len = 0;
    bertc_status s = read_file(src, &buf, &len, err);
    if (s) return s;
    s = write_file_atomic(dst, buf, len, err);
    free(buf);
    return s;
}

bertc_status safetensors_write(const char *path, const st_entry *e, int n, bertc_error *err) {
    json_t *h = json_object();
    if (!h) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format", "pt"));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < e[i].ndim; d++) json_array_append_new(shape, json_integer(e[i].shape[d]));
        json_object_set_new(h, e[i].name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", e[i].dtype, "shape", shape, "data_offsets",
                                      (json_int_t)off, (json_int_t)(off + e[i].nbytes)));
        off += e[i].nbytes;
    }
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    if (!hs) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    size_t hl = strlen(hs), padded = (hl + 7) / 8 * 8;
    char *hb = malloc(8 + padded);
    if (!hb) {
        free(hs);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    uint64_t len = padded;
    for (int b = 0; b < 8; b++) hb[b] = (char)(len >> (8 * b));
    memcpy(hb + 8, hs, hl);
    memset(hb + 8 + hl, ' ', padded - hl);
    free(hs);
    afile f;
    bertc_status s = afile_open(&f, path, err);
    if (!s) s = afile_write(&f, hb, 8 + padded, err);
    free(hb);
    for (int i = 0; i < n && !s; i++) s = afile_write(&f, e[i].data, e[i].nbytes, err);
    if (!s) s = afile_commit(&f, err);
    return s;
}
