/*
 * test_durable.c — issue 28's durable outputs: a training run killed (kill -9, by strace's fault injection) at
 * any unlink, rename, write, fsync, mkdir or rmdir, or failed (the test-only I/O fault hook of util/durable.h)
 * at any write, rename or fsync, leaves folders that are whole or absent, and a run that resumes to the same
 * weights as an uninterrupted one; an incomplete checkpoint is skipped by --resume-from-checkpoint latest;
 * stale temporaries are removed at start; a full disk or a read-only output folder is exit code 5, the latter
 * before any training. The sweeps run a strided subset here; BERTC_KILLNINE=full (make killnine) runs them all.
 */
#include "test.h"

#include "bertc_train.h"
#include "formats/tensors.h"
#include "base/durable.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256], data[320], ref[320];
#define PCAP 1024
static bool full_sweep;

#define TRAIN_ARGS "--max-steps 4 --save-steps 2 --save-total-limit 1 --batch-size 8 --learning-rate 1e-3 " \
                   "--warmup-steps 1 --threads 1"

/* snprintf that is allowed to cut (paths here are short; a cut one fails to open rather than naming another) */
static void pf(char *b, size_t cap, const char *fmt, ...) BERTC_PRINTF(3, 4);
static void pf(char *b, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, cap, fmt, ap);
    va_end(ap);
}

static void sh(const char *cmd) {
    char o[4096];
    run_cli(cmd, o, sizeof o);
}

static bool same_file(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t lx = 0, ly = 0;
    bool ok = !read_file(a, &x, &lx, NULL) && !read_file(b, &y, &ly, NULL) && lx == ly && !memcmp(x, y, lx);
    free(x);
    free(y);
    return ok;
}

static int count_tensors(const char *path) {
    mapped_file f;
    if (map_file(path, &f, NULL)) return -1;
    tensor_set ts = {0};
    int n = safetensors_parse(&ts, f.data, f.size, path, NULL) ? -1 : ts.n;
    tensor_set_free(&ts);
    unmap_file(&f);
    return n;
}

/* A checkpoint as a resume needs it, checked independently of the trainer's own test: the model loads, the
 * optimizer holds two moments per weight, the JSON files parse and trainer_state.json names the step. */
static bool ckpt_whole(const char *dir, long step, char *why, size_t cap) {
    char p[PCAP];
    bertc_model *m = NULL;
    bertc_error err;
    if (bertc_model_load(dir, NULL, &m, &err)) {
        pf(why, cap, "%s does not load: %s", dir, err.message);
        return false;
    }
    bertc_model_free(m);
    pf(p, sizeof p, "%s/model.safetensors", dir);
    int nm = count_tensors(p);
    pf(p, sizeof p, "%s/optimizer.safetensors", dir);
    int no = count_tensors(p);
    if (nm <= 0 || no != 2 * nm) {
        pf(why, cap, "%s: %d weights, %d optimizer tensors", dir, nm, no);
        return false;
    }
    static const char *const js[] = {"trainer_state.json", "rng_state.json", "scheduler.json"};
    for (int i = 0; i < 3; i++) {
        pf(p, sizeof p, "%s/%s", dir, js[i]);
        json_t *j = json_load_file(p, 0, NULL);
        long gs = (long)json_integer_value(json_object_get(j, "global_step"));
        json_decref(j);
        if (!j || (i == 0 && gs != step)) {
            pf(why, cap, "%s: %s", p, j ? "wrong global_step" : "missing or not JSON");
            return false;
        }
    }
    return true;
}

/* Every checkpoint-N in out is whole; out itself, when it has a config.json, loads and holds the reference
 * weights; temporaries (NAME.tmp-PID, NAME.old-PID) only when allowed. */
static bool folder_ok(const char *out, bool temps_allowed, char *why, size_t cap) {
    DIR *d = opendir(out);
    if (!d) return true;
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        char p[PCAP];
        pf(p, sizeof p, "%s/%s", out, e->d_name);
        char *end;
        if (!strncmp(e->d_name, "checkpoint-", 11)) {
            long step = strtol(e->d_name + 11, &end, 10);
            if (!*end) ok = ckpt_whole(p, step, why, cap);
            else if (!temps_allowed) ok = false, pf(why, cap, "temporary left: %s", p);
        } else if (strstr(e->d_name, ".tmp-") || strstr(e->d_name, ".old-")) {
            if (!temps_allowed) ok = false, pf(why, cap, "temporary left: %s", p);
        }
    }
    closedir(d);
    char cfg[PCAP], w[PCAP], rw[PCAP];
    pf(cfg, sizeof cfg, "%s/config.json", out);
    if (ok && file_exists(cfg)) {
        bertc_model *m = NULL;
        bertc_error err;
        pf(w, sizeof w, "%s/model.safetensors", out);
        pf(rw, sizeof rw, "%s/model.safetensors", ref);
        if (bertc_model_load(out, NULL, &m, &err)) ok = false, pf(why, cap, "%s looks whole but: %s", out, err.message);
        else if (!same_file(w, rw)) ok = false, pf(why, cap, "%s has a config.json and other weights", out);
        bertc_model_free(m);
    }
    return ok;
}

static bool has_checkpoint(const char *out) {
    DIR *d = opendir(out);
    if (!d) return false;
    struct dirent *e;
    bool any = false;
    while ((e = readdir(d))) {
        char *end;
        if (!strncmp(e->d_name, "checkpoint-", 11) && (strtol(e->d_name + 11, &end, 10), !*end)) any = true;
    }
    closedir(d);
    return any;
}

/* After a kill or a failure: resume from the latest checkpoint (a fresh start when there is none); it must
 * succeed, leave no temporary, and end with the reference weights. */
static void recover_and_check(const char *out, const char *what) {
    char cmd[8192], o[8192], why[1024] = "";
    if (has_checkpoint(out))
        pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s " TRAIN_ARGS
                 " --resume-from-checkpoint latest 2>&1 >/dev/null", data, out);
    else
        pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s " TRAIN_ARGS " 2>&1 >/dev/null",
                 data, out);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0, "%s: the run after it failed (rc %d): %.600s", what, rc, o);
    CHECK(folder_ok(out, false, why, sizeof why), "%s, after the resume: %s", what, why);
    char w[PCAP], rw[PCAP];
    pf(w, sizeof w, "%s/model.safetensors", out);
    pf(rw, sizeof rw, "%s/model.safetensors", ref);
    CHECK(same_file(w, rw), "%s: the resumed run ends with other weights than an uninterrupted one", what);
}

static bool setup(void) {
    if (tmpdir[0]) return true;
    pf(tmpdir, sizeof tmpdir, "/tmp/bertc-durable-test-%d", (int)getpid());
    mkdir(tmpdir, 0755);
    pf(data, sizeof data, "%s/train40.tsv", tmpdir);
    char cmd[1024], o[8192];
    pf(cmd, sizeof cmd, "head -41 " TD "sst2-dev.tsv > %s", data);
    sh(cmd);
    pf(ref, sizeof ref, "%s/ref", tmpdir);
    pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s " TRAIN_ARGS " 2>&1 >/dev/null", data, ref);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 0, "reference run: rc %d %s", rc, o);
    const char *f = getenv("BERTC_KILLNINE");
    full_sweep = f && !strcmp(f, "full");
    return rc == 0;
}

/* ---- the helpers themselves ---- */

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static long dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static void t_helpers(void) {
    if (!setup()) return;
    char d[1024], a[1024], b[1024], tmp[1100], o[4096];
    bertc_error err;
    pf(d, sizeof d, "%s/helpers", tmpdir);
    pf(o, sizeof o, "rm -rf %s", d);
    sh(o);
    mkdir(d, 0755);
    /* a folder put in place whole: new name, then over an existing one (the exchange), nothing left beside */
    pf(a, sizeof a, "%s/ck", d);
    CHECK(!adir_begin(a, tmp, sizeof tmp, &err), "adir_begin: %s", err.message);
    pf(b, sizeof b, "%s/f", tmp);
    CHECK(!atomic_write(b, "one", 3, &err), "write: %s", err.message);
    CHECK(!adir_commit(tmp, a, &err), "commit: %s", err.message);
    pf(b, sizeof b, "%s/f", a);
    char *txt = NULL;
    CHECK(!read_file(b, &txt, NULL, NULL) && txt && !strcmp(txt, "one"), "first folder: %s", txt ? txt : "(none)");
    free(txt);
    CHECK(!adir_begin(a, tmp, sizeof tmp, &err), "adir_begin 2: %s", err.message);
    pf(b, sizeof b, "%s/g", tmp);
    CHECK(!atomic_write(b, "two", 3, &err), "write 2: %s", err.message);
    CHECK(!adir_commit(tmp, a, &err), "commit over: %s", err.message);
    pf(b, sizeof b, "%s/g", a);
    txt = NULL;
    CHECK(!read_file(b, &txt, NULL, NULL) && txt && !strcmp(txt, "two"), "replaced folder: %s", txt ? txt : "(none)");
    free(txt);
    pf(b, sizeof b, "%s/f", a);
    CHECK(!file_exists(b), "the old folder's file is still there: the folder was merged, not replaced");
    struct stat st;
    CHECK(lstat(tmp, &st) != 0, "the swapped-out copy %s is left", tmp);
    /* a file system without RENAME_EXCHANGE (renameat2 answers EINVAL): the old copy aside as NAME.old-PID, the new
     * one renamed in, the old removed (the second call of adir_commit is the exchange) */
    CHECK(!adir_begin(a, tmp, sizeof tmp, &err), "adir_begin 3: %s", err.message);
    pf(b, sizeof b, "%s/h", tmp);
    CHECK(!atomic_write(b, "three", 5, &err), "write 3: %s", err.message);
    io_fault_set(2, EINVAL);
    CHECK(!adir_commit(tmp, a, &err), "commit without exchange: %s", err.message);
    io_fault_set(0, 0);
    pf(b, sizeof b, "%s/h", a);
    CHECK(file_exists(b), "the folder was not replaced without the exchange");
    pf(b, sizeof b, "ls -a %s | grep -c 'tmp-\\|old-'", d);
    run_cli(b, o, sizeof o);
    CHECK(atoi(o) == 0, "left beside it: %s", o);
    /* a removed folder never keeps its name half-removed, nor anything beside */
    CHECK(!durable_remove(a, &err), "remove: %s", err.message);
    CHECK(lstat(a, &st) != 0 && lstat(tmp, &st) != 0, "removed");
    /* the fault hook: the Nth call fails with the errno asked for; the target keeps its old bytes, no temporary */
    pf(b, sizeof b, "%s/file.txt", d);
    CHECK(!atomic_write(b, "old", 3, &err), "write: %s", err.message);
    for (long n = 1; n <= 5; n++) { /* open, write, fsync, rename: nothing replaced; the folder's fsync: replaced */
        io_fault_set(n, ENOSPC);
        bertc_status s = atomic_write(b, "new bytes", 9, &err);
        io_fault_set(0, 0);
        CHECK(s == BERTC_ERR_OUTPUT && strstr(err.message, "No space left on device"), "fault at call %ld: %d %s", n, s,
              err.message);
        txt = NULL;
        CHECK(!read_file(b, &txt, NULL, NULL) && txt && !strcmp(txt, n < 5 ? "old" : "new bytes"),
              "fault at call %ld: the file holds \"%s\"", n, txt ? txt : "(none)");
        free(txt);
        pf(o, sizeof o, "ls -a %s | grep -c tmp-", d);
        run_cli(o, o, sizeof o);
        CHECK(atoi(o) == 0, "fault at call %ld: temporaries left: %s", n, o);
        if (n == 5) CHECK(!atomic_write(b, "old", 3, &err), "rewrite: %s", err.message);
    }
    io_fault_set(6, EIO);
    CHECK(!atomic_write(b, "x", 1, &err), "only the Nth call fails: %s", err.message);
    CHECK(io_fault_calls() == 5, "a write counts open, write, fsync, rename, folder fsync: %ld", io_fault_calls());
    io_fault_set(0, 0);
    /* stale temporaries: a dead writer's removed, a live one's kept, an aside copy put back */
    long dp = dead_pid();
    char p1[1100], p2[1100], p3[1100], p4[1100];
    pf(p1, sizeof p1, "%s/checkpoint-7.tmp-%ld", d, dp);
    pf(p2, sizeof p2, "%s/model.safetensors.tmp-%ld", d, dp);
    pf(p3, sizeof p3, "%s/checkpoint-8.tmp-%ld", d, (long)getppid());
    pf(p4, sizeof p4, "%s/checkpoint-9.old-%ld", d, dp);
    mkdir(p1, 0755);
    pf(b, sizeof b, "%s/x", p1);
    write_text(b, "partial");
    write_text(p2, "partial");
    mkdir(p3, 0755);
    mkdir(p4, 0755);
    int n = durable_sweep(d);
    pf(b, sizeof b, "%s/checkpoint-9", d);
    CHECK(n == 3 && lstat(p1, &st) != 0 && lstat(p2, &st) != 0 && lstat(p3, &st) == 0 && lstat(b, &st) == 0 &&
              lstat(p4, &st) != 0,
          "sweep: %d entries; dead tmp dir %d, dead tmp file %d, live tmp %d, restored %d", n, lstat(p1, &st) == 0,
          lstat(p2, &st) == 0, lstat(p3, &st) == 0, lstat(b, &st) == 0);
    /* writability: a folder under a file is refused as an output error */
    pf(b, sizeof b, "%s/file.txt/sub", d);
    CHECK(check_writable(b, &err) == BERTC_ERR_OUTPUT && strstr(err.message, "Not a directory"), "under a file: %s",
          err.message);
}

/* ---- resume: an incomplete checkpoint is skipped; stale temporaries go ---- */

static void t_resume_skips_incomplete(void) {
    if (!setup()) return;
    char out[400], cmd[8192], o[8192], p[PCAP];
    pf(out, sizeof out, "%s/skip", tmpdir);
    /* the state the old remove-then-rename left after kill -9: checkpoint-4 half-deleted (and the final model not
     * yet written); then the newest looks whole but its weights are cut short; then it names another step */
    static const char *const damage[] = {
        "rm %s/checkpoint-4/model.safetensors %s/checkpoint-4/optimizer.safetensors",
        "truncate -s 3000000 %s/checkpoint-4/model.safetensors; : %s",
        "sed -i 's/\"global_step\": 4/\"global_step\": 3/' %s/checkpoint-4/trainer_state.json; : %s",
        "truncate -s 100 %s/checkpoint-4/optimizer.safetensors; : %s",
    };
    for (int k = 0; k < 4; k++) {
        pf(cmd, sizeof cmd, "rm -rf %s && @ train --model " TD "tiny-distilbert --train %s --output %s --max-steps 4 "
                 "--save-steps 2 --batch-size 8 --learning-rate 1e-3 --warmup-steps 1 --threads 1 --quiet >/dev/null 2>&1 && "
                 "rm %s/config.json %s/model.safetensors %s/trainer_state.json",
                 out, data, out, out, out, out);
        sh(cmd);
        char dmg[2048];
        pf(dmg, sizeof dmg, damage[k], out, out);
        sh(dmg);
        pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s " TRAIN_ARGS
                 " --resume-from-checkpoint latest 2>&1 >/dev/null", data, out);
        int rc = run_cli(cmd, o, sizeof o);
        pf(p, sizeof p, "skipping %s/checkpoint-4: it is incomplete", out);
        CHECK(rc == 0 && strstr(o, p) && strstr(o, "resuming from") && strstr(o, "checkpoint-2 at step 2"),
              "damage %d: rc %d %.800s", k, rc, o);
        char why[1024] = "";
        CHECK(folder_ok(out, false, why, sizeof why), "damage %d: %s", k, why);
        char w[PCAP], rw[PCAP];
        pf(w, sizeof w, "%s/model.safetensors", out);
        pf(rw, sizeof rw, "%s/model.safetensors", ref);
        CHECK(same_file(w, rw), "damage %d: other weights than the uninterrupted run", k);
    }
    /* no whole checkpoint at all: a clear error naming how many were skipped */
    pf(cmd, sizeof cmd, "rm -f %s/checkpoint-4/config.json; mkdir -p %s/checkpoint-9; @ train --model " TD
             "tiny-distilbert --train %s --output %s " TRAIN_ARGS " --resume-from-checkpoint latest 2>&1 >/dev/null", out, out,
             data, out);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 3 && strstr(o, "no whole checkpoint-N folder") && strstr(o, "2 incomplete"), "none whole: rc %d %s", rc, o);
    /* an explicit checkpoint that is not whole: refused, naming what is wrong */
    pf(cmd, sizeof cmd, "@ train --model x --train %s --output %s " TRAIN_ARGS
             " --resume-from-checkpoint %s/checkpoint-9 2>&1 >/dev/null", data, out, out);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 3 && strstr(o, "is not a whole checkpoint"), "explicit: rc %d %s", rc, o);
}

static void t_stale_temporaries(void) {
    if (!setup()) return;
    char out[400], cmd[8192], o[8192];
    pf(out, sizeof out, "%s/stale", tmpdir);
    long dp = dead_pid();
    /* what a killed run leaves: a checkpoint being built, a swapped-out old one, a model file being written */
    pf(cmd, sizeof cmd, "rm -rf %s && cp -a %s %s && cp -a %s/checkpoint-4 %s/checkpoint-6.tmp-%ld && "
             "cp -a %s/checkpoint-4 %s/checkpoint-4.tmp-%ld && head -c 1000000 %s/model.safetensors > "
             "%s/model.safetensors.tmp-%ld && mkdir %s/checkpoint-5.tmp-%ld",
             out, ref, out, out, out, dp, out, out, dp, out, out, dp, out, (long)getppid());
    sh(cmd);
    pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s " TRAIN_ARGS
             " --resume-from-checkpoint latest 2>&1 >/dev/null; ls %s", data, out, out);
    int rc = run_cli(cmd, o, sizeof o);
    char live[64];
    pf(live, sizeof live, "checkpoint-5.tmp-%ld", (long)getppid());
    CHECK(rc == 0 && strstr(o, live), "a live run's temporary must stay: rc %d; folder: %s", rc, o);
    char dead[64];
    pf(dead, sizeof dead, ".tmp-%ld", dp);
    CHECK(!strstr(o, dead), "stale temporaries of a dead run left: %s", o);
    CHECK(strstr(o, "checkpoint-4\n") != NULL, "the checkpoint resumed from was lost: %s", o);
}

/* ---- exit codes: a full disk, a read-only folder ---- */

/* Runs script in a private mount namespace (as root, or as a mapped root in a user namespace), where it may mount
 * a tmpfs; -1 when neither is allowed here. */
static int in_mount_ns(const char *script, char *o, size_t cap) {
    char path[400], cmd[1200], po[64];
    pf(path, sizeof path, "%s/ns.sh", tmpdir);
    write_text(path, script);
    const char *how = NULL;
    if (run_cli("unshare -m sh -c 'mount -t tmpfs -o size=1m tmpfs /mnt' 2>/dev/null", po, sizeof po) == 0) how = "-m";
    else if (run_cli("unshare -rm sh -c 'mount -t tmpfs -o size=1m tmpfs /mnt' 2>/dev/null", po, sizeof po) == 0) how = "-rm";
    if (!how) return -1;
    pf(cmd, sizeof cmd, "unshare %s sh %s 2>&1", how, path);
    return run_cli(cmd, o, cap);
}

static void t_exit_codes(void) {
    if (!setup()) return;
    char cmd[8192], o[16384], out[400];
    const char *bin = getenv("BERTC_BIN");
    if (!bin || !*bin) bin = "build/bertc";
    /* an output folder under a file: exit 5 at once (was 3) */
    pf(out, sizeof out, "%s/afile", tmpdir);
    write_text(out, "x");
    pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s/out " TRAIN_ARGS " 2>&1", data, out);
    int rc = run_cli(cmd, o, sizeof o);
    CHECK(rc == 5 && strstr(o, "Not a directory"), "output under a file: rc %d %s", rc, o);
    /* --report where no file can be made: exit 5 before training (the output folder is not even made); a missing
     * folder for it is made, as the output folder is */
    pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s/r " TRAIN_ARGS
             " --report %s/r.html 2>&1; echo rc=$?; test -d %s/r && echo TRAINED", data, tmpdir, out, tmpdir);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(strstr(o, "rc=5") && strstr(o, "cannot write --report") && strstr(o, "Not a directory") && !strstr(o, "TRAINED"),
          "report: %s", o);
    pf(cmd, sizeof cmd, "@ train --model " TD "tiny-distilbert --train %s --output %s/r2 " TRAIN_ARGS
             " --report %s/new/dir/r.html >/dev/null 2>&1; echo rc=$?; test -s %s/new/dir/r.html && echo REPORT", data, tmpdir,
       tmpdir, tmpdir);
    rc = run_cli(cmd, o, sizeof o);
    CHECK(strstr(o, "rc=0") && strstr(o, "REPORT"), "report in a new folder: %s", o);
    /* the test-only fault hook: ENOSPC at the first checkpoint's weights is exit 5 with the reason */
    pf(cmd, sizeof cmd, "rm -rf %s/hook; BERTC_TEST_IO_FAULT=30:ENOSPC @ train --model " TD "tiny-distilbert --train %s "
             "--output %s/hook " TRAIN_ARGS " 2>&1 >/dev/null; echo rc=$?; echo \"ls: $(ls -a %s/hook | tr '\\n' ' ')\"", tmpdir,
       data, tmpdir, tmpdir);
    run_cli(cmd, o, sizeof o);
    const char *ls = strstr(o, "ls: ");
    CHECK(strstr(o, "rc=5") && strstr(o, "No space left on device") && ls && !strstr(ls, "tmp-"), "ENOSPC by the hook: %s", o);
    /* a real full disk and a real read-only folder: a small tmpfs in a private mount namespace */
    pf(cmd, sizeof cmd,
             "set -u; M=%s/mnt; mkdir -p $M; mount -t tmpfs -o size=20m tmpfs $M || exit 99\n"
             "%s train --model " TD "tiny-distilbert --train %s --output $M/out --max-steps 4 --save-steps 2 --batch-size 8 "
             "--learning-rate 1e-3 --warmup-steps 1 --threads 1 --quiet >/dev/null 2>$M/err; echo full=$?; cat $M/err\n"
             "echo \"ls: $(ls $M/out | tr '\\n' ' ')\"\n"
             "%s info --model $M/out/checkpoint-2 >/dev/null 2>&1; echo ck2=$?\n"
             "mkdir $M/ro; mount -o remount,ro $M; %s train --model " TD "tiny-distilbert --train %s --output $M/ro "
             TRAIN_ARGS " 2>&1; echo ro=$?\n"
             "%s train --model " TD "tiny-distilbert --train %s --output $M/ro2 " TRAIN_ARGS " 2>&1; echo ro2=$?\n",
             tmpdir, bin, data, bin, bin, data, bin, data);
    rc = in_mount_ns(cmd, o, sizeof o);
    if (rc < 0) {
        printf("  skipped the tmpfs checks: no mount namespace here (the fault hook above stands in for ENOSPC)\n");
    } else {
        CHECK(strstr(o, "full=5") && strstr(o, "No space left on device"), "disk full: %s", o);
        CHECK(strstr(o, "ls: checkpoint-2 \n") && strstr(o, "ck2=0"),
              "disk full: checkpoint-2 whole, nothing half-written beside it: %s", o);
        CHECK(strstr(o, "ro=5") && strstr(o, "not writable") && strstr(o, "Read-only file system") &&
                  !strstr(o, "train_runtime"),
              "read-only output folder: exit 5 before training: %s", o);
        CHECK(strstr(o, "ro2=5"), "read-only parent: %s", o);
    }
    /* eval and metrics: an unwritable --json / --report is exit 5 before the model runs; an earlier report is
     * replaced whole (bertc_write_file), never truncated */
    pf(cmd, sizeof cmd, "@ eval --model " TD "tiny-distilbert --data " TD "sst2-dev.tsv --json %s/afile/m.json 2>&1; "
                        "echo rc=$?", tmpdir);
    run_cli(cmd, o, sizeof o);
    CHECK(strstr(o, "rc=5") && strstr(o, "Not a directory") && !strstr(o, "accuracy"), "eval --json under a file: %s", o);
    pf(cmd, sizeof cmd, "@ metrics --predictions " TD "sst2-small.dev.pred.jsonl --report %s/afile/r.html 2>&1; "
                        "echo rc=$?", tmpdir);
    run_cli(cmd, o, sizeof o);
    CHECK(strstr(o, "rc=5") && strstr(o, "Not a directory"), "metrics --report under a file: %s", o);
    pf(cmd, sizeof cmd, "@ metrics --labels NEGATIVE,POSITIVE --predictions " TD "sst2-small.dev.pred.jsonl --json %s/m.json >/dev/null 2>&1 && "
                        "BERTC_TEST_IO_FAULT=4:ENOSPC @ metrics --labels NEGATIVE,POSITIVE --predictions " TD "sst2-small.dev.pred.jsonl --json %s/m.json "
                        ">/dev/null 2>&1; echo rc=$?; ls %s | grep -c 'm.json' ; head -c 1 %s/m.json",
       tmpdir, tmpdir, tmpdir, tmpdir);
    run_cli(cmd, o, sizeof o);
    CHECK(!strncmp(o, "rc=5\n1\n{", 9), "a full disk while rewriting a report: exit 5, the old one whole: %s", o);
    /* chmod 555 stops writes only for a non-root user */
    if (geteuid() != 0) {
        pf(cmd, sizeof cmd, "mkdir -p %s/ro && chmod 555 %s/ro && @ train --model " TD "tiny-distilbert --train %s "
                 "--output %s/ro " TRAIN_ARGS " 2>&1; echo rc=$?; chmod 755 %s/ro", tmpdir, tmpdir, data, tmpdir, tmpdir);
        run_cli(cmd, o, sizeof o);
        CHECK(strstr(o, "rc=5") && strstr(o, "not writable"), "chmod 555: %s", o);
    }
}

/* ---- the fault hook swept over a run: every failure is an output error; what is on disk loads ---- */

static void t_io_fault_sweep(void) {
    if (!setup()) return;
    char out[400], what[128], why[1024];
    pf(out, sizeof out, "%s/fault", tmpdir);
    bertc_train_params p = bertc_train_default_params();
    p.model = TD "tiny-distilbert";
    p.train = data;
    p.output_dir = out;
    p.max_steps = 4;
    p.save_steps = 2;
    p.save_total_limit = 1;
    p.batch_size = 8;
    p.learning_rate = 1e-3;
    p.warmup_steps = 1;
    p.n_threads = 1;
    p.overwrite_output_dir = 1;
    bertc_error err;
    char cmd[600];
    pf(cmd, sizeof cmd, "rm -rf %s", out);
    sh(cmd);
    io_fault_set(0, 0);
    bertc_status s = bertc_train(&p, &err);
    long calls = io_fault_calls();
    CHECK(s == BERTC_OK && calls > 50, "clean run: %d, %ld I/O calls", s, calls);
    /* every call in the full sweep; else about 14 spread over the run, the first ones and the last ones */
    long stride = full_sweep ? 1 : calls / 10 + 1;
    for (long n = 1; n <= calls; n += (n < 4 || n > calls - 4 || full_sweep) ? 1 : stride) {
        sh(cmd);
        int e = n % 2 ? ENOSPC : EIO;
        io_fault_set(n, e);
        s = bertc_train(&p, &err);
        io_fault_set(0, 0);
        pf(what, sizeof what, "I/O call %ld of %ld failing with %s", n, calls, e == ENOSPC ? "ENOSPC" : "EIO");
        CHECK(s == BERTC_ERR_OUTPUT && strstr(err.message, strerror(e)), "%s: status %d, %s", what, s, err.message);
        why[0] = 0;
        CHECK(folder_ok(out, false, why, sizeof why), "%s: %s", what, why);
        recover_and_check(out, what);
    }
    /* the CLI: exit 5 */
    pf(cmd, sizeof cmd, "rm -rf %s; BERTC_TEST_IO_FAULT=%ld:EIO @ train --model " TD "tiny-distilbert --train %s "
             "--output %s " TRAIN_ARGS " >/dev/null 2>&1", out, calls / 2, data, out);
    char o[256];
    CHECK(run_cli(cmd, o, sizeof o) == 5, "the CLI's exit code for a failed write");
}

/* ---- kill -9 at every unlink, rename, write, fsync, mkdir, rmdir (strace's fault injection) ----
 * (LeakSanitizer cannot run under ptrace: the traced runs of a sanitizer build leave leak checking out) */

static const char *const killed_calls[] = {"unlink", "rename", "renameat2", "write", "fsync", "mkdir", "rmdir"};
#define N_KILLED (sizeof killed_calls / sizeof *killed_calls)

/* how many of each call a phase makes, from a traced run */
static bool count_calls(const char *prep, const char *train, long counts[N_KILLED]) {
    char cmd[8192], o[256], log[400];
    pf(log, sizeof log, "%s/trace.log", tmpdir);
    pf(cmd, sizeof cmd, "%s; ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o %s -e trace=unlink,rename,renameat2,write,fsync,mkdir,rmdir %s "
             ">/dev/null 2>&1", prep, log, train);
    if (run_cli(cmd, o, sizeof o) != 0) return false;
    for (size_t k = 0; k < N_KILLED; k++) {
        pf(cmd, sizeof cmd, "grep -v 'resumed>' %s | grep -c ' %s('", log, killed_calls[k]);
        run_cli(cmd, o, sizeof o);
        counts[k] = atol(o);
    }
    return true;
}

static void t_kill9(void) {
    if (!setup()) return;
    char o[8192], cmd[8192], out[400], train[2048], what[200], why[1024];
    if (run_cli("strace -f -qq -o /dev/null true 2>&1", o, sizeof o) != 0) {
        const char *req = getenv("BERTC_REQUIRE_STRACE");
        CHECK(!(req && *req == '1'), "strace missing or ptrace refused (apt-get install strace)");
        printf("  skipped durable/kill -9 sweep: strace is missing or ptrace is not permitted here\n");
        return;
    }
    pf(out, sizeof out, "%s/k9", tmpdir);
    /* phase 0: a fresh run; phase 1: --resume-from-checkpoint latest of a finished run, which re-saves its last
     * checkpoint over itself and rewrites the final model */
    for (int phase = 0; phase < 2; phase++) {
        char prep[1200];
        if (phase == 0) pf(prep, sizeof prep, "rm -rf %s", out);
        else pf(prep, sizeof prep, "rm -rf %s && cp -a %s %s", out, ref, out);
        pf(train, sizeof train, "@ train --model " TD "tiny-distilbert --train %s --output %s " TRAIN_ARGS "%s", data, out,
                 phase ? " --resume-from-checkpoint latest" : "");
        long counts[N_KILLED];
        if (!count_calls(prep, train, counts)) {
            CHECK(0, "phase %d: the traced run failed", phase);
            continue;
        }
        for (size_t k = 0; k < N_KILLED; k++) {
            long c = counts[k];
            /* strided: at most 3 points per call (first, middle, last) here; every one with BERTC_KILLNINE=full */
            long step = full_sweep ? 1 : (c > 2 ? (c - 1) / 2 : 1);
            for (long n = 1; n <= c; n += step) {
                pf(cmd, sizeof cmd, "%s; ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o /dev/null -e trace=%s -e inject=%s:signal=SIGKILL:when=%ld %s "
                         ">/dev/null 2>&1; echo $?", prep, killed_calls[k], killed_calls[k], n, train);
                run_cli(cmd, o, sizeof o);
                pf(what, sizeof what, "%s: kill -9 at %s #%ld of %ld", phase ? "resume of a finished run" : "fresh run",
                         killed_calls[k], n, c);
                int rc = atoi(o);
                CHECK(rc == 137 || rc == 0, "%s: rc %d", what, rc);
                why[0] = 0;
                CHECK(folder_ok(out, true, why, sizeof why), "%s: a folder looks whole and is not: %s", what, why);
                recover_and_check(out, what);
            }
        }
    }
}

void tests_durable(void) {
    run_test("durable/atomic files and folders, sweep, fault hook", t_helpers);
    run_test("durable/resume latest skips an incomplete checkpoint", t_resume_skips_incomplete);
    run_test("durable/stale temporaries removed at start", t_stale_temporaries);
    run_test("durable/exit 5: disk full, read-only, unwritable", t_exit_codes);
    run_test("durable/I/O faults over a training run", t_io_fault_sweep);
    if (suite_sanitized() && suite_whole())
        printf("skip durable/kill -9: it runs in make check's plain pass (build/test_bertc durable/ runs it here)\n");
    else
        run_test("durable/kill -9 at unlink, rename, write, fsync", t_kill9);
    if (tmpdir[0]) {
        char cmd[400];
        pf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        sh(cmd);
    }
}
