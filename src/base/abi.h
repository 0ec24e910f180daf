/*
 * abi.h — a table of public struct sizes by name, for bertc_struct_size (libbertc) and bertc_eval_struct_size
 * (libbertc-eval): bindings check their mirrors of the structs against it.
 */
#ifndef BERTC_ABI_H
#define BERTC_ABI_H

#include <stddef.h>

typedef struct abi_size {
    const char *name;
    size_t size;
} abi_size;

#define ABI_SIZE(t) {#t, sizeof(t)}

/* The size of the struct named name in t[0 .. n), 0 when none is (or name is NULL). */
size_t abi_size_find(const abi_size *t, size_t n, const char *name);

#endif
