#include "eval.h"
int cmd_bias(int argc, char **argv) { return 0; }
int cmd_compare(int argc, char **argv) { return 0; }
