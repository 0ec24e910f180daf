/*
 * faultinj.h — allocation-failure injection for the suite, SQLite's way: the test binary is linked with
 * -Wl,--wrap for malloc, calloc, realloc, strdup, strndup, posix_memalign and aligned_alloc, so every allocation made
 * by libbertc's code passes a counter (jansson's too: src/base/json.c routes them through libbertc's malloc). Armed with N, the Nth
 * allocation fails (once, or every one from N on when persistent); disarmed, the wrappers only forward.
 * BERTC_FAULT_BACKTRACE=1 prints the stack of the first failed allocation of each run (for finding what mishandled it).
 */
#ifndef BERTC_FAULTINJ_H
#define BERTC_FAULTINJ_H

#include <stdbool.h>

/* Counts allocations from now; the nth (1-based) fails, and with persistent every later one too. */
void fi_arm(long nth, bool persistent);
/* Counts without failing and records each allocation site (the code that called malloc & co) with the index of its
 * first allocation; fi_sites stops recording and gives those indices in order (at most cap). */
void fi_record(void);
long fi_sites(long *first, long cap);
/* Stops failing (for checking a result inside a run); fi_disarm still reports the failures made before. */
void fi_suspend(void);
/* Stops failing; returns how many allocations were failed since fi_arm (0: the run never reached the nth). */
long fi_disarm(void);
/* Allocations counted since the last fi_arm (armed or not). */
long fi_count(void);

#endif
