/*
 * test_cli_conventions.c — what a newcomer expects of a Unix command: `bertc COMMAND --help` / `-h` prints that
 * command's usage on stdout and exits 0; an empty input file gives empty output and exit 0; --input-format
 * auto|jsonl|text says how --input lines are read, a bad JSON line naming FILE:LINE (exit 4).
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define sh run_cli

static char dir[64];

/* Writes text to dir/name and returns the path (static buffer, one at a time). */
static const char *file(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    if (f) fputs(text, f), fclose(f);
    return path;
}

static void t_help(void) {
    static const char *const cmds[] = {"classify", "embed", "tokenize", "info",  "eval",  "metrics",
                                       "bias",     "compare", "serve",  "train", "distill", "pull", "cache"};
    char out[1 << 14], out2[1 << 14], cmd[256];
    for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++) {
        snprintf(cmd, sizeof cmd, "@ %s --help 2>&1", cmds[k]);
        int rc = sh(cmd, out, sizeof out);
        char want[64];
        snprintf(want, sizeof want, "usage: bertc %s", cmds[k]);
        CHECK(rc == 0 && !strncmp(out, want, strlen(want)), "%s --help: rc %d, %.200s", cmds[k], rc, out);
        /* on stdout, nothing on stderr; -h is the same */
        snprintf(cmd, sizeof cmd, "@ %s -h 2>/dev/null", cmds[k]);
        rc = sh(cmd, out2, sizeof out2);
        CHECK(rc == 0 && !strcmp(out, out2), "%s -h: rc %d, not the --help text", cmds[k], rc);
        snprintf(cmd, sizeof cmd, "@ %s --help 2>&1 >/dev/null | wc -c", cmds[k]);
        CHECK(sh(cmd, out2, sizeof out2) == 0 && atoi(out2) == 0, "%s --help writes to stderr: %s", cmds[k], out2);
    }
    /* the text commands document --input-format */
    static const char *const text_cmds[] = {"classify", "embed", "tokenize"};
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "@ %s --help", text_cmds[k]);
        CHECK(sh(cmd, out, sizeof out) == 0 && strstr(out, "--input-format auto|jsonl|text") && strstr(out, "empty"),
              "%s usage names --input-format: %s", text_cmds[k], out);
    }
    CHECK(sh("@ --help", out, sizeof out) == 0 && strstr(out, "--input-format") &&
              strstr(out, "exit codes: 0 ok, 1 internal error, 2 usage, 3 model error, 4 input error, 5 output error"),
          "bertc --help: input format and exit codes");
    /* after --, -h is a text; an unknown option is still a usage error */
    int rc = sh("@ tokenize -- -h", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"tokens\": [\"[CLS]\", \"-\", \"h\", \"[SEP]\"]"), "-- -h is a text: %s", out);
    CHECK(sh("@ classify --bogus x 2>/dev/null", out, sizeof out) == 2, "unknown option: usage");
}

static void t_empty_input(void) {
    char out[4096], cmd[512];
    const char *empty = file("empty.txt", "");
    static const char *const cmds[] = {"classify", "embed", "tokenize"};
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "@ %s --input %s 2>&1", cmds[k], empty);
        int rc = sh(cmd, out, sizeof out);
        CHECK(rc == 0 && out[0] == 0, "%s on an empty file: rc %d, %s", cmds[k], rc, out);
        snprintf(cmd, sizeof cmd, "printf '' | @ %s --input - 2>&1", cmds[k]);
        rc = sh(cmd, out, sizeof out);
        CHECK(rc == 0 && out[0] == 0, "%s on empty stdin: rc %d, %s", cmds[k], rc, out);
    }
    const char *blank = file("blank.jsonl", "\n  \n\t\n");
    snprintf(cmd, sizeof cmd, "@ classify --input %s 2>&1", blank);
    int rc = sh(cmd, out, sizeof out);
    CHECK(rc == 0 && out[0] == 0, "blank lines only: rc %d, %s", rc, out);
    /* no input at all stays a usage error; a missing file an input error; a bad model is still an error */
    rc = sh("@ classify 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "no input"), "no input: %d %s", rc, out);
    rc = sh("@ classify --input /nonexistent 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "/nonexistent"), "missing input: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "@ classify --model /nonexistent --input %s 2>&1", empty);
    rc = sh(cmd, out, sizeof out);
    CHECK(rc == 3, "empty input, bad model: %d %s", rc, out);
    /* an empty file and TEXT arguments: the texts */
    snprintf(cmd, sizeof cmd, "@ tokenize --input %s hello | wc -l", empty);
    CHECK(sh(cmd, out, sizeof out) == 0 && atoi(out) == 1, "texts and an empty file: %s", out);
}

static void t_input_format(void) {
    char out[1 << 14], cmd[512];
    static const char lines[] = "{\"text\": \"good\"}\nplain text\n";
    /* auto on a .txt file: today's rule (a line starting with { is JSON, any other a text) */
    snprintf(cmd, sizeof cmd, "@ tokenize --input %s", file("mixed.txt", lines));
    int rc = sh(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"tokens\": [\"[CLS]\", \"good\", \"[SEP]\"]") &&
              strstr(out, "\"tokens\": [\"[CLS]\", \"plain\", \"text\", \"[SEP]\"]"),
          "auto .txt: %s", out);
    /* auto on .jsonl / .ndjson / .json: every line must be a JSON object */
    static const char *const exts[] = {"mixed.jsonl", "mixed.ndjson", "mixed.json", "MIXED.JSONL"};
    for (int k = 0; k < 4; k++) {
        const char *path = file(exts[k], lines);
        snprintf(cmd, sizeof cmd, "@ tokenize --input %s 2>&1", path);
        rc = sh(cmd, out, sizeof out);
        char want[160];
        snprintf(want, sizeof want, "bertc: %s:2: not a JSON object", path);
        CHECK(rc == 4 && strstr(out, want), "auto %s: rc %d, %s", exts[k], rc, out);
    }
    /* --input-format jsonl on any file and on stdin */
    snprintf(cmd, sizeof cmd, "@ classify --input-format jsonl --input %s 2>&1", file("mixed2.txt", lines));
    rc = sh(cmd, out, sizeof out);
    CHECK(rc == 4 && strstr(out, "mixed2.txt:2: not a JSON object (") && !strstr(out, "\"label\""),
          "jsonl .txt: rc %d, %s", rc, out);
    rc = sh("printf '{\"text\": \"a\"}\\n\\n[1, 2]\\n' | @ tokenize --input-format jsonl --input - 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "bertc: -:3: not a JSON object (other JSON value)"), "jsonl stdin: %d %s", rc, out);
    rc = sh("printf '{\"text\": \"a\"}\\n{\"text\": \"b\", \"text_pair\": \"c\"}\\n' | @ tokenize --input-format jsonl "
            "--input - | wc -l",
            out, sizeof out);
    CHECK(rc == 0 && atoi(out) == 2, "jsonl: two objects, two outputs: %s", out);
    /* --input-format text: every line is a text, { and all */
    snprintf(cmd, sizeof cmd, "@ tokenize --input-format text --input %s", file("lines.jsonl", lines));
    rc = sh(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"tokens\": [\"[CLS]\", \"{\", \"\\\"\", \"text\"") &&
              strstr(out, "\"tokens\": [\"[CLS]\", \"plain\", \"text\", \"[SEP]\"]"),
          "text mode: %s", out);
    /* explicit auto, and a bad value */
    snprintf(cmd, sizeof cmd, "@ embed --input-format auto --pooling mean --model " TD "tiny-roberta --input %s | wc -l",
             file("auto.txt", lines));
    CHECK(sh(cmd, out, sizeof out) == 0 && atoi(out) == 2, "embed auto: %s", out);
    rc = sh("@ classify --input-format yaml --input - 2>&1 </dev/null", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--input-format must be auto, jsonl or text"), "bad value: %d %s", rc, out);
}

void tests_cli_conventions(void) {
    snprintf(dir, sizeof dir, "/tmp/bertc-conv-XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    run_test("cli/help_per_command", t_help);
    run_test("cli/empty_input", t_empty_input);
    run_test("cli/input_format", t_input_format);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("  could not remove %s\n", dir);
}
