/*
 * test_main.c — bertc's test suite: golden values from transformers / tokenizers (copied into tests/data by
 * tools/copy_testdata.sh), kernel-vs-reference checks, one test per error path, and CLI contract checks.
 * Run from the repository root: build/test_bertc [name-filter]. Ends with "N passed, N failed".
 */
#include "test.h"

#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int t_failures;

void tests_tokenizer(void);
void tests_model(void);
void tests_modernbert(void);
void tests_errors(void);
void tests_kernels(void);
void tests_cli(void);
void tests_eval(void);
void tests_serve(void);
void tests_hub(void);
void tests_train(void);
void tests_hostile_tok(void);
void tests_hostile_load(void);
void tests_hostile_serve(void);
void tests_durable(void);
void tests_faults(void);
void tests_cli_conventions(void);
void tests_evalrun(void);
void tests_json(void);
void tests_bf16(void);
void tests_amx(void);
void tests_zeroshot(void);
void tests_pipelines(void);
void tests_task_metrics(void);
void tests_taskeval(void);
void tests_layout(void);
void tests_mpnet(void);
void tests_distill(void);
void tests_electra(void);
void tests_deberta(void);
void tests_mpnet_real(void);

/* Runs a shell command where "@" stands for the CLI under test ($BERTC_BIN, which the sanitizer build sets, else
 * build/bertc); returns its exit code and the first cap - 1 bytes of its stdout in out. */
int run_cli(const char *cmd, char *out, size_t cap) {
    const char *bin = getenv("BERTC_BIN");
    if (!bin || !*bin) bin = "build/bertc";
    char full[4096];
    size_t o = 0;
    for (const char *c = cmd; *c && o < sizeof full - 600; c++) {
        if (*c == '@') o += (size_t)snprintf(full + o, sizeof full - o, "%s", bin);
        else full[o++] = *c;
    }
    full[o] = 0;
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int n_pass, n_fail;
static const char *filter;

bool suite_sanitized(void) {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#else
    return false;
#endif
}

bool suite_whole(void) { return !filter || !*filter; }

void run_test(const char *name, void (*fn)(void)) {
    if (filter && !strstr(name, filter)) return;
    int before = t_failures;
    double t0 = now_ms();
    fn();
    if (t_failures == before) {
        n_pass++;
        printf("ok   %-40s %8.0f ms\n", name, now_ms() - t0);
    } else {
        n_fail++;
        printf("FAIL %-40s\n", name);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    filter = argc > 1 ? argv[1] : NULL;
    bertc_set_default_model(bertc_default_model_files()); /* linked in, as the bertc command does */
    /* Every process of the suite runs bf16 compute on one tier: the one measured fastest here (never the fp32
     * fallback, which amx/fallback tests on its own), pinned for the CLI subprocesses too, so that results compared
     * across processes come from the same kernels. */
    if (!getenv("BERTC_BF16_TIER") && !getenv("BERTC_AMX")) {
        int t = kernels_bf16_tier();
        kernels_force_tiers(t, -1);
        setenv("BERTC_BF16_TIER", bf16_tier_name(t), 1);
    }
    tests_kernels();
    tests_bf16();
    tests_amx();
    tests_zeroshot();
    tests_pipelines();
    tests_json();
    tests_tokenizer();
    tests_model();
    tests_mpnet();
    tests_electra();
    tests_modernbert();
    tests_mpnet_real();
    tests_distill();
    tests_errors();
    tests_cli();
    tests_cli_conventions();
    tests_eval();
    tests_evalrun();
    tests_task_metrics();
    tests_taskeval();
    tests_serve();
    tests_hub();
    tests_train();
    tests_hostile_tok();
    tests_hostile_load();
    tests_hostile_serve();
    tests_durable();
    tests_faults();
    tests_layout();
    tests_deberta();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
