/* test_hostile_serve.c — issue 28 (being written) */
#include "test.h"

void tests_hostile_serve(void) {}
