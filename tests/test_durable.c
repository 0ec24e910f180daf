/* test_durable.c — issue 28 (being written) */
#include "test.h"

void tests_durable(void) {}
