/* test_hostile_load.c — issue 28 (being written) */
#include "test.h"

void tests_hostile_load(void) {}
