/*
 * jsonw.h — JSON text written straight to a stream, for the line-per-record outputs that are not built as jansson
 * trees (the command's classify/tokenize/... lines, evaluation predictions, probe rows): one writer, so that every
 * face prints a string and a number the same way. jansson's dump is not that: it writes 1.0 for %.9g's 1, and leaves
 * DEL unescaped.
 */
#ifndef BERTC_JSONW_H
#define BERTC_JSONW_H

#include <stdio.h>

/* A JSON string: ", \ and the control characters escaped (\n \r \t, else \u00XX, DEL included), other bytes as they
 * are (UTF-8 passes through); NULL is JSON's null. */
void jw_str(FILE *f, const char *s);
/* A number as %.9g prints it (the shortest form that reads back to the same float32), NaN and infinities as null. */
void jw_real(FILE *f, double v);

#endif
