/*
 * json.c — where the loaders' JSON text becomes a jansson tree (see json.h for what is accepted).
 */
#include "json.h"

#include <string.h>

bertc_status jparse(const char *text, size_t len, const char *what, json_t **out, bertc_error *err) {
    /* RFC 8259 lets a parser ignore a byte order mark; files saved by some Windows editors start with one */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        text += 3;
        len -= 3;
    }
    json_error_t je;
    *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
    if (!*out)
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s is not valid JSON: %s (line %d, column %d)", what, je.text,
                          je.line, je.column);
    return BERTC_OK;
}
