/*
 * tensors.h — a checkpoint's tensors by name, whatever file format they came from (safetensors, sharded
 * safetensors, torch zip or legacy pickle .bin). Data stays in the mapped files; nothing is copied here.
 */
#ifndef BERTC_TENSORS_H
#define BERTC_TENSORS_H

#include "base/internal.h"

enum st_dtype { DT_F32 = 0, DT_F16 = 1, DT_BF16 = 2, DT_OTHER = 3 };

typedef struct tensor_info {
    char *name;
    enum st_dtype dtype;
    const char *dtype_name; /* as written in the file ("F32", "I64", ...) */
    int ndim;
    int64_t shape[8];
    const uint8_t *data; /* inside a mapped file */
    size_t nbytes;
    bool used;
} tensor_info;

typedef struct tensor_set {
    tensor_info *t;
    int n, cap;
    mapped_file *files;
    int n_files, cap_files;
    uint64_t file_bytes;
    /* lookup by name in O(log n): the indices of t[0 .. n_sorted) in name order (tensor_set_index); tensors added
     * after the last tensor_set_index are searched one by one */
    int *sorted;
    int n_sorted;
    /* contiguous copies of the strided tensors of a torch checkpoint, freed with the set */
    void **copies;
    int n_copies;
} tensor_set;

void tensor_set_free(tensor_set *ts);
const tensor_info *tensor_set_find(const tensor_set *ts, const char *name);
/* Appends a copy of *ti under a copy of name (duplicates are found by tensor_set_index). */
bertc_status tensor_set_add(tensor_set *ts, const tensor_info *ti, const char *name, const char *what, bertc_error *err);
/* Sorts every name for tensor_set_find; a name present twice is a format error naming it. The parsers call it. */
bertc_status tensor_set_index(tensor_set *ts, const char *what, bertc_error *err);

/* Parses one safetensors image (header + data) and appends its tensors; `what` names it in errors. */
bertc_status safetensors_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err);

/* Loads every weight file of a checkpoint folder: model.safetensors, the shards of
 * model.safetensors.index.json, or pytorch_model.bin. */
bertc_status tensors_load_dir(tensor_set *ts, const char *dir, bertc_error *err);

/* pytorch_model.bin (torch zip or legacy pickle); implemented in torchbin.c. */
bertc_status torchbin_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err);

/* ---- writing (st_write.c) ---- */
typedef struct st_entry {
    const char *name;
    const char *dtype; /* "F32", "I32", ... */
    int ndim;
    int64_t shape[4];
    const void *data;
    size_t nbytes;
} st_entry;

/* Writes a safetensors file (header with __metadata__ {"format": "pt"}, tensors in the order given) as
 * path.tmp-PID, fsynced, then renamed over path: a crash or a full disk never leaves a partial file. */
bertc_status safetensors_write(const char *path, const st_entry *e, int n, bertc_error *err);
/* The same for one buffer. */
bertc_status write_file_atomic(const char *path, const void *data, size_t len, bertc_error *err);
/* Copies a file (read whole, written atomically). */
bertc_status copy_file_atomic(const char *src, const char *dst, bertc_error *err);

/* Element size of a safetensors dtype name, 0 when unknown. */
size_t dtype_size(const char *name);

#endif
