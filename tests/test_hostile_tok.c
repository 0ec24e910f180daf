/* test_hostile_tok.c — issue 28 (being written) */
#include "test.h"

void tests_hostile_tok(void) {}
