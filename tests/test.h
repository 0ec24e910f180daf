/* test.h — the suite's tiny harness: CHECK prints the first mismatches and counts failures per test. */
#ifndef BERTC_TEST_H
#define BERTC_TEST_H

#include "bertc.h"
#include "internal.h"

#include <stdio.h>

extern int t_failures;

#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            if (t_failures < 200) {                                                                                  \
                printf("  %s:%d: ", __FILE__, __LINE__);                                                             \
                printf(__VA_ARGS__);                                                                                 \
                printf("\n");                                                                                        \
            }                                                                                                        \
            t_failures++;                                                                                            \
        }                                                                                                            \
    } while (0)

void run_test(const char *name, void (*fn)(void));
int run_cli(const char *cmd, char *out, size_t cap);

#define TD "tests/data/"

#endif
