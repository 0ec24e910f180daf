/*
 * test_main.c — bertc's test suite: golden values from transformers / tokenizers (copied into tests/data by
 * tools/copy_testdata.sh), kernel-vs-reference checks, one test per error path, and CLI contract checks.
 * Run from the repository root: build/test_bertc [name-filter]. Ends with "N passed, N failed".
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

int t_failures;

void tests_tokenizer(void);
void tests_model(void);
void tests_errors(void);
void tests_kernels(void);
void tests_cli(void);
void tests_eval(void);

static int n_pass, n_fail;
static const char *filter;

void run_test(const char *name, void (*fn)(void)) {
    if (filter && !strstr(name, filter)) return;
    int before = t_failures;
    double t0 = now_ms();
    fn();
    if (t_failures == before) {
        n_pass++;
        printf("ok   %-40s %8.0f ms\n", name, now_ms() - t0);
    } else {
        n_fail++;
        printf("FAIL %-40s\n", name);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    filter = argc > 1 ? argv[1] : NULL;
    tests_kernels();
    tests_tokenizer();
    tests_model();
    tests_errors();
    tests_cli();
    tests_eval();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
