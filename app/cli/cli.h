/*
 * cli.h — shared pieces of the bertc command line: exit codes, input records, JSON output. The CLI sees only
 * the public headers (plus jansson for parsing input lines, and src/base's small JSON writer).
 */
#ifndef BERTC_CLI_H
#define BERTC_CLI_H

#include "bertc.h"
#include "bertc_hub.h"
#include "base/jsonw.h" /* jw_str, jw_real: the JSON writer the evaluation reports share */

#include <stddef.h>

#include <stdbool.h>
#include <stdio.h>

/* Exit codes (documented in README.md). */
enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1, /* out of memory, unexpected failure */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_MODEL = 3,    /* the model could not be loaded (missing, corrupt, wrong architecture) */
    EXIT_INPUT = 4,    /* bad input: unreadable file, malformed line, invalid UTF-8, too long */
    EXIT_OUTPUT = 5,   /* output could not be written */
    EXIT_DIVERGED = 6, /* training stopped on a non-finite loss or gradient (the last good checkpoint is kept) */
    EXIT_INTERRUPTED = 130, /* training stopped by SIGINT after saving a checkpoint (128 + SIGINT, as shells report) */
};

int exit_code_for(bertc_status s);

typedef struct record {
    char *text;
    size_t len;
    char *pair; /* NULL when absent */
    size_t pair_len;
} record;

typedef struct records {
    record *r;
    size_t n, cap;
} records;

/* How --input lines are read (--input-format). */
typedef enum input_format {
    INPUT_AUTO = 0,  /* by extension: .jsonl, .ndjson, .json are JSONL, anything else (and -) SNIFF */
    INPUT_JSONL = 1, /* every non-blank line is a JSON object {"text": ..., "text_pair": ...} */
    INPUT_TEXT = 2,  /* every non-blank line is a text, as it is */
    INPUT_SNIFF = 3, /* a line starting with '{' is a JSON object, any other line a text */
} input_format;

/* Collects inputs: positional TEXT arguments, then lines of --input FILE|- (read as fmt says; blank lines are
 * skipped in every format). JSON strings may hold any code point, NUL included. On a malformed line prints
 * "FILE:LINE: why" and returns false. An empty file adds nothing and is fine. */
bool records_read(records *rs, const char *path, const char *pair_default, input_format fmt);
/* Parses an --input-format value (auto, jsonl, text); false for anything else. */
bool parse_input_format(const char *v, input_format *f);
bool records_add(records *rs, const char *text, size_t len, const char *pair, size_t pair_len);
/* The records as library inputs (borrowed pointers); NULL on OOM. */
bertc_text *records_texts(const records *rs);
void records_free(records *rs);


/* Common model options. */
typedef struct model_opts {
    const char *model; /* a folder, or a hub model id (org/name) resolved through the Hugging Face cache */
    int threads;
    bertc_arch arch;
    const char *revision;
    bertc_dtype dtype;
    bertc_compute compute; /* --compute fp32|bf16 */
} model_opts;

/* A folder for --model: itself when it is a directory, else the cached (or downloaded) snapshot of the model
 * id. Prints the error and returns false (exit code in *code) when it cannot. */
bool resolve_model_dir(const char *model, const char *revision, char *dir, size_t cap, int *code);
/* hubcmd.c: the pieces of resolve_model_dir that load_model shares */
typedef struct hub_bar {
    double last;
    char file[256];
} hub_bar;
bertc_hub_params cli_hub_params(const char *revision, hub_bar *b);
bool model_arg_ok(const char *model, const char *revision, int *code);
int resolve_failed(const char *model, const bertc_error *err);
/* model.safetensors, pytorch_model.bin or a sharded index of either is in dir. */
bool dir_has_weights(const char *dir);

/* Parses --model/--threads/--arch at argv[*i]; returns 1 if consumed, 0 if not a model option, -1 on error. */
/* --dtype values: fp32 (float32), fp16 (float16), bf16 (bfloat16), int8; false for anything else. */
bool parse_dtype(const char *v, bertc_dtype *d);
const char *dtype_name(bertc_dtype d);
/* --compute values: fp32, bf16; false for anything else. */
bool parse_compute(const char *v, bertc_compute *c);
int model_opt(model_opts *o, int argc, char **argv, int *i);
/* Loads the model or prints the error; returns NULL on failure and sets *code. */
bertc_model *load_model(const model_opts *o, int *code);

int cmd_classify(int argc, char **argv);
int cmd_zero_shot(int argc, char **argv);
int cmd_ner(int argc, char **argv);
int cmd_qa(int argc, char **argv);
int cmd_fill_mask(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_distill(int argc, char **argv);

/* Monotonic clock in milliseconds. */
double now_ms_cli(void);

/* --help or -h: the command prints its usage on stdout and exits 0. */
bool is_help(const char *arg);

/* Prints "bertc: msg" to stderr. */
void die_msg(const char *fmt, ...);

/* The CLI's own allocations (records, output buffers): on failure they print "bertc: out of memory" and exit 1
 * (EXIT_INTERNAL), as the exit codes promise; the library's allocations fail with BERTC_ERR_NOMEM instead. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
