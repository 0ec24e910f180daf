/*
 * json.h — reading the JSON files of a checkpoint (config.json, tokenizer.json, tokenizer_config.json, vocab.json,
 * safetensors headers and index, the sentence-transformers files) with jansson: one parse entry point whose error
 * says where the text went wrong, and the member getters the loaders share. Numbers are doubles whatever their
 * spelling (2, 2.0, 1e-12), as Python's json and serde_json give them to transformers and tokenizers.
 */
#ifndef BERTC_JSON_H
#define BERTC_JSON_H

#include "../internal.h"

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
 * On failure *out is NULL and err says "<what> is not valid JSON: <why> (line L, column C)". */
bertc_status jparse(const char *text, size_t len, const char *what, json_t **out, bertc_error *err);

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
