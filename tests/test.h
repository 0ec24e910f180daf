/* test.h — the suite's tiny harness: CHECK prints the first mismatches and counts failures per test. */
#ifndef BERTC_TEST_H
#define BERTC_TEST_H

#include "bertc.h"
#include "base/internal.h"

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
/* The long sweeps run once per `make check`: the allocation-failure sweeps in the ASan pass (where a mishandled
 * failure shows as a leak or a bad access), kill -9 in the plain pass (strace over an unsanitized binary). In the
 * other pass they say so and skip, unless a filter names them. */
bool suite_sanitized(void);
bool suite_whole(void); /* no filter: the whole suite is running */
int run_cli(const char *cmd, char *out, size_t cap);

#define TD "tests/data/"

#endif
