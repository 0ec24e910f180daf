/*
 * json.h — reading the JSON files of a checkpoint (config.json, tokenizer.json, tokenizer_config.json, vocab.json,
 * safetensors headers and index, the sentence-transformers files) with jansson: one parse entry point whose error
 * says where the text went wrong, and the member getters the loaders share. Numbers are doubles whatever their
 * spelling (2, 2.0, 1e-12), as Python's json and serde_json give them to transformers and tokenizers.
 */
#ifndef BERTC_JSON_H
#define BERTC_JSON_H

#include "base/internal.h"

#include <jansson.h>
#include <limits.h>

/* Parses text[0 .. len) into *out: any JSON value (the caller checks its type, and json_decref()s it).
 * - A UTF-8 byte order mark is skipped.
 * - Every string is UTF-8 (jansson refuses other bytes and lone surrogates); one may hold \u0000, and read as a C
 *   string it ends there.
 * - Every number is a real, so an integer beyond int64 (a tokenizer_config.json's model_max_length of
 *   1000000000000000019884624838656) is read as the double it is rather than refused. For reading values, not for
 *   rewriting the file: its integers would be written back as reals.
 * - An object key given twice keeps its last value, as Python's json and serde_json keep it.
 * On failure *out is NULL and err says "<what> is not valid JSON: <why> (line L, column C)", or BERTC_ERR_NOMEM
 * "out of memory reading <what>" when an allocation failed. */
bertc_status jparse(const char *text, size_t len, const char *what, json_t **out, bertc_error *err);

/* As jparse, but integers stay integers (json_is_integer) so that 32 and 32.0 can be told apart, as Python's json
 * tells them apart for transformers' configs. When some integer is beyond int64 the text is read as jparse reads
 * it and *exact is false (every number a real). */
bertc_status jparse_exact(const char *text, size_t len, const char *what, json_t **out, bool *exact, bertc_error *err);

/* Whether a jansson load that returned NULL with error *je failed for lack of memory (jansson reports it so, or
 * leaves its error unset: every other failure sets a message). */
static inline int json_error_is_oom(const json_error_t *je) {
    return !je->text[0] || json_error_code(je) == json_error_out_of_memory;
}

/* json_loadb for the other readers of outside JSON (dataset lines, requests, predictions): NULL with *oom set when an
 * allocation failed (jansson may even return a tree with a byte missing then), NULL with *oom clear and *je set when
 * the text is not JSON. Safe under allocation failure as jparse is (see json.c): the first failed allocation ends
 * the parse and frees what it allocated. */
json_t *jload(const char *text, size_t len, size_t flags, json_error_t *je, int *oom);

/* A JSON file bertc wrote itself (trainer state, an index), integers kept: BERTC_ERR_IO when unreadable, NOMEM,
 * FORMAT "path: why (line L)". */
bertc_status jload_file(const char *path, json_t **out, bertc_error *err);

/* Writing JSON: jansson's setters (json_object_set_new, json_array_append_new) drop a member when an allocation fails
 * and the caller rarely checks each. Take jalloc_failures() before building a tree and give it to jdump, which is
 * json_dumps that returns NULL (out of memory) when any of jansson's allocations on this thread failed since. */
unsigned jalloc_failures(void);
char *jdump(const json_t *j, size_t flags, unsigned since);

/* Member k of object o; each is the default (or NULL) when o is not an object, or k is absent or of another type. */
static inline const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static inline int jbool(const json_t *o, const char *k, int dflt) {
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static inline double jnum(const json_t *o, const char *k, double dflt) {
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* a number truncated to an int, saturated at INT_MIN / INT_MAX */
static inline int jint(const json_t *o, const char *k, int dflt) {
    double d = jnum(o, k, dflt);
    return d >= INT_MAX ? INT_MAX : d <= INT_MIN ? INT_MIN : (int)d;
}

#endif
