/*
 * eval.h — what `bertc eval`, `metrics`, `bias` and `compare` share on the command line: the progress bar, and
 * writing the reports libbertc renders (bertc_eval.h) where the options say.
 */
#ifndef BERTC_CLI_EVAL_H
#define BERTC_CLI_EVAL_H

#include "bertc_eval.h"
#include "cli.h"

/* The progress bar of a model pass on a terminal: "[####    ] done/total  1.2 s  640 ex/s", a newline at the end. */
typedef struct cli_bar {
    double t0;
    bool open; /* drawing, the end not reached yet */
} cli_bar;
void cli_bar_start(cli_bar *b, bool draw);
void cli_bar_draw(cli_bar *b, size_t done, size_t total);
/* Ends an open bar with its newline before an error message. */
void cli_bar_abort(cli_bar *b);

/* Writes len bytes of text to path ("-" is stdout when dash_stdout); prints "cannot write PATH[: why]" and
 * returns false when it cannot. */
bool write_text(const char *path, const char *text, size_t len, bool dash_stdout);

double parse_prob(const char *s, const char *what, bool *ok);

int cmd_eval(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_bias(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
