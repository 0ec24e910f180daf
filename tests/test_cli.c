/*
 * test_cli.c — the command-line contract users script against: output JSON per input line, flags, and the
 * documented exit codes with one clear line on stderr.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define sh run_cli

static void t_classify_contract(void) {
    char out[1 << 16];
    int rc = sh("@ classify --all-scores --logits 'a charming and often affecting journey' 2>&1", out, sizeof out);
    CHECK(rc == 0, "rc %d: %s", rc, out);
    CHECK(!strncmp(out, "{\"label\": \"POSITIVE\", \"score\": 0.99", 35), "output: %s", out);
    CHECK(strstr(out, "\"logits\": [") && strstr(out, "\"scores\": [{\"label\": \"POSITIVE\""), "all scores sorted: %s", out);
    /* JSONL input, in order, with NUL and pairs accepted */
    rc = sh("printf '%s\\n' '{\"text\": \"bad\"}' '' 'plain line' '{\"text\": \"a\\u0000b\", \"text_pair\": \"x\"}' | "
            "@ classify --input - | wc -l", out, sizeof out);
    CHECK(rc == 0 && atoi(out) == 3, "3 outputs for 3 inputs: %s", out);
    rc = sh("@ classify --model " TD "tiny-roberta --all-scores x", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"scores\": [{\"label\": "), "multi-label: %s", out);
    rc = sh("@ info --model " TD "tiny-bert", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"model_type\": \"bert\"") && strstr(out, "\"labels\": [\"LABEL_0\", \"LABEL_1\"]"),
          "info: %s", out);
    /* --dtype: the storage / compute type, reported by info; the same label on the embedded model */
    rc = sh("@ info --dtype bf16", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"compute\": \"bf16\"") && strstr(out, "\"isa\": \""), "info bf16: %s", out);
    rc = sh("@ classify --dtype fp16 'a charming and often affecting journey'", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "{\"label\": \"POSITIVE\", \"score\": 0.99", 35), "fp16: %s", out);
    rc = sh("@ classify --dtype fp8 x 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "fp32, fp16, bf16 or int8"), "bad dtype: %d %s", rc, out);
}

static void t_tokenize_embed(void) {
    char out[1 << 16];
    int rc = sh("@ tokenize --model " TD "tiny-roberta Hello", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"input_ids\": [0, 31414, 2]") && strstr(out, "\"tokens\": [\"<s>\", \"Hello\", \"</s>\"]") &&
              strstr(out, "\"word_ids\": [null, 0, null]"),
          "tokenize: %s", out);
    rc = sh("@ tokenize --pair 'A cat was sitting.' 'The cat sat.'", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"input_ids\": [101, 1996, 4937, 2938, 1012, 102, 1037, 4937, 2001, 3564, 1012, 102]") &&
          strstr(out, "\"token_type_ids\": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]"), "pair: %s", out);
    rc = sh("@ embed --model " TD "tiny-roberta Hello | head -c 40", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "{\"shape\": [3, 32], \"last_hidden_state\"", 38), "embed: %s", out);
    rc = sh("@ embed --pooling mean --model " TD "tiny-roberta Hello | head -c 30", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "{\"shape\": [32], \"pooling\"", 25), "embed mean: %s", out);
}

static void t_exit_codes(void) {
    char out[4096];
    CHECK(sh("@ 2>/dev/null", out, sizeof out) == 2, "no command: usage");
    CHECK(sh("@ classify --bogus x 2>/dev/null", out, sizeof out) == 2, "unknown flag: usage");
    CHECK(sh("@ classify 2>/dev/null", out, sizeof out) == 2, "no input: usage");
    int rc = sh("@ classify --model /nonexistent x 2>&1", out, sizeof out);
    CHECK(rc == 3 && strstr(out, "no such folder"), "missing model: %d %s", rc, out);
    rc = sh("@ classify --model " TD "tiny-roberta/config.json x 2>&1", out, sizeof out);
    CHECK(rc == 3 && strstr(out, "it is a file"), "a file as --model: %d %s", rc, out);
    rc = sh("@ classify --arch distilbert --model " TD "tiny-roberta x 2>&1", out, sizeof out);
    CHECK(rc == 3 && strstr(out, "roberta") && strstr(out, "distilbert"), "wrong arch: %d %s", rc, out);
    rc = sh("printf 'ok\\n{\"text\": 5}\\n' | " "@ classify --input - 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "-:2:"), "malformed line with its number: %d %s", rc, out);
    rc = sh("printf 'a\\377b\\n' | " "@ classify --input - 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "invalid UTF-8"), "invalid UTF-8: %d %s", rc, out);
    rc = sh("@ classify --no-truncation --max-length 4 'one two three four five' 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "longer than the maximum"), "too long: %d %s", rc, out);
    rc = sh("@ classify --input /nonexistent 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "/nonexistent"), "missing input file: %d %s", rc, out);
    rc = sh("@ classify --max-length 4 'one two three four five' 2>&1", out, sizeof out);
    CHECK(rc == 0, "truncation by default: %d %s", rc, out);
    /* the edges a newcomer meets: a Latin-1 file named FILE:LINE, a --max-length past the positions, a pipe without
     * --input -, a training run's folder before its end */
    rc = sh("printf 'fine\ncaf\351\n' > /tmp/bertc-l1-$$.txt && @ classify --input /tmp/bertc-l1-$$.txt 2>&1; "
            "r=$?; rm -f /tmp/bertc-l1-$$.txt; exit $r", out, sizeof out);
    CHECK(rc == 4 && strstr(out, ".txt:2: invalid UTF-8 at byte 4 of the line (0xE9)") && strstr(out, "iconv"),
          "Latin-1 file: %d %s", rc, out);
    rc = sh("@ classify --max-length 99999 x 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--max-length 99999 is more than embedded:minilm-sst2 takes: 512 tokens"),
          "--max-length past the positions: %d %s", rc, out);
    rc = sh("@ classify --model " TD "tiny-roberta --max-length 513 x 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "512 tokens"), "RoBERTa's 514 positions hold 512 tokens: %d %s", rc, out);
    CHECK(sh("@ classify --model " TD "tiny-roberta --max-length 512 x 2>&1", out, sizeof out) == 0, "512 fits");
    rc = sh("echo hello | @ classify 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "standard input is not read unless asked: --input -"), "a pipe: %d %s", rc, out);
    rc = sh("d=/tmp/bertc-ck-$$; mkdir -p $d/checkpoint-46 $d/checkpoint-9 && cp " TD "tiny-bert/config.json "
            "$d/checkpoint-46/ && cp " TD "tiny-bert/config.json $d/checkpoint-9/ && @ classify --model $d x 2>&1; r=$?; "
            "rm -rf $d; exit $r", out, sizeof out);
    CHECK(rc == 3 && strstr(out, "no config.json, but it holds checkpoint-46") &&
              strstr(out, "--resume-from-checkpoint latest"),
          "an unfinished run's folder: %d %s", rc, out);
}

/* docs/TUTORIAL.md, every command of it, as a newcomer runs it (tests/tutorial.sh checks what the page says each step
 * shows). Not under the sanitizers: it trains a 22.7 M-parameter model for 20 steps, which the plain pass covers. */
static void t_tutorial(void) {
    if (suite_sanitized()) {
        printf("  skipped under the sanitizers (the plain pass runs it)\n");
        return;
    }
    static char out[1 << 16];
    int rc = sh("bash tests/tutorial.sh 2>&1 | tail -40", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "tutorial: 11 blocks ok"), "tutorial: rc %d %s", rc, out);
}

/* The man page has every command's options (issue 27): each --flag that `bertc CMD --help` names is in the man
 * page's section for CMD (tools/make_man.py writes those sections from --help; this fails when one drifts). */
static void t_man_page_options(void) {
    static const char *cmds[] = {"classify", "zero-shot", "ner",   "qa",      "fill-mask", "embed",
                                 "tokenize", "info",      "eval",  "metrics", "bias",      "compare",
                                 "serve",    "train",     "distill", "pull",  "cache"};
    FILE *f = fopen("docs/bertc.1", "rb");
    CHECK(f, "docs/bertc.1 not readable");
    if (!f) return;
    static char page[1 << 18], help[1 << 16], sect[1 << 16];
    size_t n = fread(page, 1, sizeof page - 1, f);
    fclose(f);
    page[n] = 0;
    for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
        char cmd[96], head[64];
        snprintf(cmd, sizeof cmd, "@ %s --help", cmds[c]);
        int rc = sh(cmd, help, sizeof help);
        CHECK(rc == 0 && strlen(help) > 20, "%s --help: rc %d", cmds[c], rc);
        snprintf(head, sizeof head, "\n.SS %s\n", cmds[c]);
        const char *at = strstr(page, head);
        CHECK(at, "docs/bertc.1 has no section for %s (python3 tools/make_man.py)", cmds[c]);
        if (!at) continue;
        at += strlen(head);
        size_t k = 0; /* the section, unescaped: \- is -, \e is a backslash */
        for (const char *p = at; *p && k + 1 < sizeof sect; p++) {
            if (p[0] == '\n' && p[1] == '.' && (p[2] == 'S' || !strncmp(p + 1, ".\\\" END", 6))) break;
            if (p[0] == '\\' && p[1] == '-') sect[k++] = '-', p++;
            else if (p[0] == '\\' && p[1] == 'e') sect[k++] = '\\', p++;
            else sect[k++] = *p;
        }
        sect[k] = 0;
        int missing = 0;
        for (const char *p = help; (p = strstr(p, "--")); ) {
            const char *e = p + 2;
            while ((*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '-') e++;
            if (e - p > 2 && (p == help || p[-1] != '-')) {
                char flag[64];
                snprintf(flag, sizeof flag, "%.*s", (int)(e - p), p);
                if (!strstr(sect, flag) && missing++ < 5)
                    CHECK(0, "docs/bertc.1's %s section lacks %s (python3 tools/make_man.py)", cmds[c], flag);
            }
            p = e;
        }
    }
}

void tests_cli(void) {
    run_test("cli/classify_contract", t_classify_contract);
    run_test("cli/tokenize_embed", t_tokenize_embed);
    run_test("cli/exit_codes", t_exit_codes);
    run_test("cli/tutorial (docs/TUTORIAL.md, every command)", t_tutorial);
    run_test("cli/man_page_options", t_man_page_options);
}
