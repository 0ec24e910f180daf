/*
 * io.c — the CLI's input records and JSON output helpers.
 */
#include "cli.h"
#include "base/internal.h" /* utf8_validate */

#include <jansson.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include <time.h>

double now_ms_cli(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void die_msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bertc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static _Noreturn void out_of_memory(void) {
    fflush(stdout);
    fputs("bertc: out of memory\n", stderr);
    exit(EXIT_INTERNAL);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory();
    return p;
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) out_of_memory();
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory();
    return q;
}

char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) out_of_memory();
    return d;
}

int exit_code_for(bertc_status s) {
    switch (s) {
    case BERTC_OK: return EXIT_OK;
    case BERTC_ERR_INPUT: return EXIT_INPUT;
    case BERTC_ERR_IO:
    case BERTC_ERR_FORMAT:
    case BERTC_ERR_UNSUPPORTED:
    case BERTC_ERR_ARCH: return EXIT_MODEL;
    case BERTC_ERR_INVALID_ARG: return EXIT_USAGE;
    case BERTC_ERR_OUTPUT: return EXIT_OUTPUT;
    case BERTC_ERR_DIVERGED: return EXIT_DIVERGED;
    case BERTC_ERR_INTERRUPTED: return EXIT_INTERRUPTED;
    default: return EXIT_INTERNAL;
    }
}

static char *memdup0(const char *s, size_t n) {
    char *d = xmalloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

bool records_add(records *rs, const char *text, size_t len, const char *pair, size_t pair_len) {
    if (rs->n == rs->cap) {
        size_t nc = rs->cap ? rs->cap * 2 : 64;
        record *nr = xrealloc(rs->r, nc * sizeof *nr);
        if (!nr) return false;
        rs->r = nr;
        rs->cap = nc;
    }
    rs->r[rs->n].text = memdup0(text, len);
    rs->r[rs->n].len = len;
    rs->r[rs->n].pair = pair ? memdup0(pair, pair_len) : NULL;
    rs->r[rs->n].pair_len = pair ? pair_len : 0;
    if (!rs->r[rs->n].text || (pair && !rs->r[rs->n].pair)) return false;
    rs->n++;
    return true;
}

void records_free(records *rs) {
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].text);
        free(rs->r[i].pair);
    }
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

bool parse_input_format(const char *v, input_format *f) {
    if (!strcmp(v, "auto")) *f = INPUT_AUTO;
    else if (!strcmp(v, "jsonl")) *f = INPUT_JSONL;
    else if (!strcmp(v, "text")) *f = INPUT_TEXT;
    else return false;
    return true;
}

bool is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

static input_format format_of(const char *path, input_format fmt) {
    if (fmt != INPUT_AUTO) return fmt;
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash) &&
        (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson") || !strcasecmp(dot, ".json")))
        return INPUT_JSONL;
    return INPUT_SNIFF;
}

bool records_read(records *rs, const char *path, const char *pair_default, input_format fmt) {
    fmt = format_of(path, fmt);
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        die_msg("cannot open %s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if ((size_t)len != strlen(line)) {
            die_msg("%s:%ld: line contains a NUL byte", path, lineno);
            ok = false;
            break;
        }
        size_t bad = utf8_validate(line, (size_t)len);
        if (bad != (size_t)len) {
            die_msg("%s:%ld: invalid UTF-8 at byte %zu of the line (0x%02X): bertc reads UTF-8 text; a Latin-1 or "
                    "Windows-1252 file converts with iconv -f latin1 -t utf-8",
                    path, lineno, bad + 1, (unsigned)(unsigned char)line[bad]);
            ok = false;
            break;
        }
        size_t k = 0;
        while (line[k] == ' ' || line[k] == '\t') k++;
        if (line[k] == 0) continue;
        if (fmt == INPUT_TEXT || (fmt == INPUT_SNIFF && line[k] != '{')) {
            ok = records_add(rs, line, (size_t)len, pair_default, pair_default ? strlen(pair_default) : 0);
            if (!ok) die_msg("out of memory");
            continue;
        }
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &jerr);
        /* jansson fails for lack of memory with its error unset, or says so */
        if (!j && (!jerr.text[0] || json_error_code(&jerr) == json_error_out_of_memory)) out_of_memory();
        json_t *t = json_object_get(j, "text"), *p = json_object_get(j, "text_pair");
        if (!t && json_is_string(json_object_get(j, "question"))) { /* question answering: {"question", "context"} */
            t = json_object_get(j, "question");
            p = json_object_get(j, "context");
        }
        if (!j || !json_is_object(j)) {
            die_msg("%s:%ld: not a JSON object (%s)", path, lineno, j ? "other JSON value" : jerr.text);
            ok = false;
        } else if (!json_is_string(t)) {
            die_msg("%s:%ld: JSON object has no string \"text\"", path, lineno);
            ok = false;
        } else if (p && !json_is_string(p) && !json_is_null(p)) {
            die_msg("%s:%ld: \"text_pair\" is not a string", path, lineno);
            ok = false;
        } else {
            const char *pv = json_is_string(p) ? json_string_value(p) : pair_default;
            size_t pl = json_is_string(p) ? json_string_length(p) : pv ? strlen(pv) : 0;
            ok = records_add(rs, json_string_value(t), json_string_length(t), pv, pl);
            if (!ok) die_msg("out of memory");
        }
        json_decref(j);
    }
    if (f != stdin) fclose(f);
    else clearerr(stdin);
    free(line);
    return ok;
}

bool parse_dtype(const char *v, bertc_dtype *d) {
    static const struct {
        const char *name;
        bertc_dtype d;
    } names[] = {{"fp32", BERTC_DTYPE_FP32}, {"float32", BERTC_DTYPE_FP32}, {"int8", BERTC_DTYPE_INT8},
                 {"fp16", BERTC_DTYPE_FP16}, {"float16", BERTC_DTYPE_FP16}, {"bf16", BERTC_DTYPE_BF16},
                 {"bfloat16", BERTC_DTYPE_BF16}};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
        if (!strcmp(v, names[k].name)) {
            *d = names[k].d;
            return true;
        }
    return false;
}

const char *dtype_name(bertc_dtype d) {
    switch (d) {
    case BERTC_DTYPE_INT8: return "int8";
    case BERTC_DTYPE_FP16: return "fp16";
    case BERTC_DTYPE_BF16: return "bf16";
    case BERTC_DTYPE_FP32: break;
    }
    return "fp32";
}

bool parse_compute(const char *v, bertc_compute *c) {
    if (!strcmp(v, "fp32") || !strcmp(v, "float32")) *c = BERTC_COMPUTE_FP32;
    else if (!strcmp(v, "bf16") || !strcmp(v, "bfloat16")) *c = BERTC_COMPUTE_BF16;
    else return false;
    return true;
}

int model_opt(model_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--compute")) {
        const char *v = *i + 1 < argc ? argv[++*i] : "";
        if (!parse_compute(v, &o->compute)) {
            die_msg("--compute must be fp32 or bf16");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--dtype")) {
        const char *v = *i + 1 < argc ? argv[++*i] : "";
        if (!parse_dtype(v, &o->dtype)) {
            die_msg("--dtype must be fp32, fp16, bf16 or int8");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--revision")) {
        if (*i + 1 >= argc) {
            die_msg("--revision needs a value");
            return -1;
        }
        o->revision = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--model") || !strcmp(a, "--threads") || !strcmp(a, "--arch")) {
        if (*i + 1 >= argc) {
            die_msg("%s needs a value", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (a[2] == 'm') o->model = v;
        else if (a[2] == 't') {
            o->threads = atoi(v);
            if (o->threads < 1) {
                die_msg("--threads must be a positive number");
                return -1;
            }
        } else {
            int ai = bertc_arch_from_name(v);
            if (ai < 0) {
                die_msg("--arch must be auto, distilbert, bert, roberta, mpnet, electra, deberta-v2 or modernbert");
                return -1;
            }
            o->arch = (bertc_arch)ai;
        }
        return 1;
    }
    return 0;
}

bool dir_has_weights(const char *dir) {
    static const char *const names[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                        "pytorch_model.bin.index.json"};
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (access(path, R_OK) == 0) return true;
    }
    return false;
}

bertc_model *load_model(const model_opts *o, int *code) {
    bertc_model_params p = bertc_model_default_params();
    p.arch = o->arch;
    p.n_threads = o->threads;
    p.dtype = o->dtype;
    p.compute = o->compute;
    bertc_model *m = NULL;
    bertc_error err;
    char dir[4096];
    bool named = o->model && *o->model && strcmp(o->model, "embedded"); /* "embedded": the built-in model */
    if (named && !model_arg_ok(o->model, o->revision, code)) return NULL;
    hub_bar b = {0, ""};
    bertc_hub_params hp = cli_hub_params(o->revision, &b);
    bertc_status s = bertc_model_open(named ? o->model : NULL, &p, &hp, &m, dir, sizeof dir, &err);
    if (s && named && !dir[0]) { /* the name did not resolve */
        *code = resolve_failed(o->model, &err);
        return NULL;
    }
    if (s) {
        die_msg("cannot load model %s: %s", o->model ? o->model : "(embedded)", err.message);
        *code = exit_code_for(s) == EXIT_INPUT ? EXIT_MODEL : exit_code_for(s);
        return NULL;
    }
    return m;
}

bertc_text *records_texts(const records *rs) {
    bertc_text *in = xmalloc((rs->n ? rs->n : 1) * sizeof *in);
    if (!in) return NULL;
    for (size_t i = 0; i < rs->n; i++) {
        in[i].text = rs->r[i].text;
        in[i].len = rs->r[i].len;
        in[i].pair = rs->r[i].pair;
        in[i].pair_len = rs->r[i].pair_len;
    }
    return in;
}
