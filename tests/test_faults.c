/* test_faults.c — issue 28 (being written) */
#include "test.h"

void tests_faults(void) {}
