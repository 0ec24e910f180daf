/*
 * train.c — `bertc train`: parses TrainingArguments-style flags into bertc_train_params, shows progress (a bar on
 * a terminal, log and evaluation entries as JSON lines on stdout), and writes the --report HTML page that
 * bertc_train_report_render makes of the log_history. SIGINT asks the trainer to save a checkpoint and stop; a
 * second SIGINT exits at once.
 */
#include "eval.h"

#include "bertc_train.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile int stop_flag;

static void on_sigint(int sig) {
    (void)sig;
    if (stop_flag) _exit(EXIT_INTERRUPTED);
    stop_flag = 1;
}

static const char train_usage[] =
    "usage: bertc train --model DIR|ID --train FILE --output DIR [--validation FILE]\n"
    "                   [--text-column C] [--label-column C] [--pair-column C] [--labels L0,L1,...]\n"
    "                   [--problem-type single_label_classification|multi_label_classification|regression]\n"
    "                   [--epochs 3] [--learning-rate 1e-5] [--batch-size 32] [--warmup-steps 600 | --warmup-ratio R]\n"
    "                   [--max-length 128] [--weight-decay 0] [--adam-beta1 0.9] [--adam-beta2 0.999] [--adam-epsilon 1e-8]\n"
    "                   [--max-grad-norm 1.0] [--gradient-accumulation-steps 1] [--lr-scheduler linear|constant|cosine|constant_with_warmup]\n"
    "                   [--seed 42] [--no-shuffle] [--logging-steps 50] [--eval-steps N] [--save-steps N] [--save-total-limit 2]\n"
    "                   [--metric-for-best-model accuracy|f1|macro_f1|mcc|loss] [--early-stopping-patience N]\n"
    "                   [--resume-from-checkpoint DIR|latest] [--overwrite-output-dir] [--freeze-embeddings] [--threads N]\n"
    "                   [--max-steps N] [--train-sample N] [--bf16] [--report OUT.html] [--quiet]\n"
    "--bf16: bf16 mixed precision, as TrainingArguments(bf16=True): the matmuls of the linear layers take bf16 inputs\n"
    "with fp32 sums; weights, gradients and optimizer state stay fp32 (AVX512-BF16 where the CPU has it).\n"
    "Defaults are the SST-2 model card's recipe (lr 1e-5, batch 32, warmup 600, max length 128, 3 epochs).\n"
    "stdout: one JSON object per log_history entry; stderr: progress and warnings.\n"
    "exit codes: 0 ok, 2 usage, 3 model error, 4 input error, 5 output error (disk full, read-only --output or\n"
    "--report: checked before training starts), 6 diverged (non-finite loss),\n"
    "130 interrupted (a checkpoint was saved: continue with --resume-from-checkpoint latest)\n";

typedef struct cli_state {
    bool tty, quiet;
    json_t *entries; /* log_history entries as they came */
    char **warnings;
    int n_warnings;
    char start[1024];
    double last_draw;
} cli_state;

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fmt_time(char *b, size_t n, double s) {
    if (!isfinite(s) || s < 0) snprintf(b, n, "--:--");
    else if (s >= 3600) snprintf(b, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else snprintf(b, n, "%02d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

static void on_event(const bertc_train_event *e, void *ctx) {
    cli_state *c = ctx;
    switch (e->kind) {
    case BERTC_TRAIN_START:
        snprintf(c->start, sizeof c->start, "%s", e->message);
        if (!c->quiet) fprintf(stderr, "bertc train: %s\n", e->message);
        break;
    case BERTC_TRAIN_WARNING: {
        if (!c->quiet) fprintf(stderr, "%swarning: %s\n", c->tty ? "\r\033[K" : "", e->message);
        char **nw = realloc(c->warnings, (size_t)(c->n_warnings + 1) * sizeof *nw);
        if (nw) {
            c->warnings = nw;
            c->warnings[c->n_warnings++] = strdup(e->message);
        }
        break;
    }
    case BERTC_TRAIN_PROGRESS: {
        if (!c->tty || c->quiet) break;
        double t = wall_ms();
        if (t - c->last_draw < 100 && e->step != e->max_steps) break;
        c->last_draw = t;
        int W = 30, fill = e->max_steps ? (int)(W * (double)e->step / (double)e->max_steps) : 0;
        char bar[64], eta[32], el[32];
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fmt_time(eta, sizeof eta, e->eta_seconds);
        fmt_time(el, sizeof el, e->elapsed_seconds);
        fprintf(stderr, "\r\033[Kepoch %.2f/%.0f [%s] %ld/%ld loss %.4f lr %.3g %.0f tok/s %s<%s", e->epoch, e->num_epochs,
                bar, e->step, e->max_steps, e->loss, e->learning_rate, e->tokens_per_second, el, eta);
        break;
    }
    case BERTC_TRAIN_LOG:
    case BERTC_TRAIN_EVAL:
    case BERTC_TRAIN_END: {
        if (c->tty && !c->quiet) fputs("\r\033[K", stderr);
        puts(e->json);
        fflush(stdout);
        json_t *j = json_loads(e->json, 0, NULL);
        if (j) json_array_append_new(c->entries, j);
        if (e->kind == BERTC_TRAIN_END && e->message && !c->quiet) fprintf(stderr, "%s\n", e->message);
        if (e->kind == BERTC_TRAIN_EVAL && !c->quiet && e->metrics)
            fprintf(stderr, "eval at step %ld (epoch %.2f): loss %.4f accuracy %.4f f1 %.4f mcc %.4f\n", e->step, e->epoch,
                    json_real_value(json_object_get(j, "eval_loss")), e->metrics->accuracy, e->metrics->f1, e->metrics->mcc);
        break;
    }
    case BERTC_TRAIN_SAVE:
        if (!c->quiet) fprintf(stderr, "%ssaved %s\n", c->tty ? "\r\033[K" : "", e->message);
        break;
    case BERTC_TRAIN_TEACHER: {
        if (c->quiet) break;
        if (e->message) {
            fprintf(stderr, "%sbertc distill: %s\n", c->tty ? "\r\033[K" : "", e->message);
            break;
        }
        double t = wall_ms();
        if (!c->tty || (t - c->last_draw < 100 && e->step != e->max_steps)) break;
        c->last_draw = t;
        fprintf(stderr, "\r\033[Kteacher %ld/%ld rows", e->step, e->max_steps);
        break;
    }
    }
}

/* The report as the library writes its outputs: a temporary beside it, fsync'ed, renamed over, the folder
 * fsync'ed. errno is kept on failure. */
static bool write_report(const char *path, const char *data, size_t len) {
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            close(fd);
            unlink(tmp);
            errno = e;
            return false;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return false;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return true;
}

/* --report's folder must take a file before training starts, not after an hour of it; it is made when missing
 * (as the output folder is). */
static bool report_writable(const char *path) {
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *q = dir + 1, *last = strrchr(dir, '/'); last && q <= last; q++) {
        if (*q != '/') continue;
        char c = *q;
        *q = 0;
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) return false;
        *q = c;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    bool ok = write(fd, "x", 1) == 1;
    int e = errno;
    close(fd);
    unlink(tmp);
    errno = ok ? 0 : e;
    return ok;
}

static bool num_arg(const char *v, double *out) {
    char *e;
    *out = strtod(v, &e);
    return e != v && !*e && isfinite(*out);
}

static const char distill_usage[] =
    "usage: bertc distill --teacher DIR|ID --student DIR|ID --train FILE --output DIR [--validation FILE]\n"
    "                     [--temperature 2] [--alpha 0.5] [--unlabeled FILE] [--augment N] [--augment-swap 0.3]\n"
    "                     [--augment-delete 0.1] [--augment-mask 0.3] [--augment-neighbors 15] [--augment-min-words N]\n"
    "                     [--augmented-out FILE]\n"
    "                     [--teacher-cache FILE] [--teacher-max-length N] [--teacher-batch-size 64]\n"
    "                     [--teacher-compute fp32|bf16] [--student-layers N] [--label-only] [every flag of bertc train]\n"
    "Trains the student on alpha * CE(student, label) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T))\n"
    "(DistilBERT's loss). The teacher labels each distinct text once; its logits are kept in --teacher-cache (default\n"
    "OUTPUT.teacher-logits.safetensors), so a second run (a resume, another student recipe) runs no teacher; without\n"
    "--teacher the cache must hold every row. --unlabeled texts and the --augment variants of each training row (nearest-\n"
    "word swaps by the teacher's embeddings, deletions, a masked span; seeded) take the teacher's argmax as their label.\n"
    "--student-layers N without --student: the student is the teacher with N of its layers (every k-th, the first kept),\n"
    "written to OUTPUT.student-init, as DistilBERT was initialised from BERT.\n"
    "--teacher-compute bf16: the teacher labels in bf16 arithmetic (bertc classify --compute bf16: the tile unit of an\n"
    "AMX Xeon, several times faster; logits within about 1e-2 of fp32's); a cache keeps one compute.\n"
    "--label-only (with --teacher-cache, no --output): the teacher labels the rows (and writes --augmented-out), and\n"
    "no student is trained; a variant given back as --unlabeled finds its logits there without the teacher.\n"
    "Output, logs, checkpoints, resume and exit codes are bertc train's (bertc train --help).\n";

static int train_main(int argc, char **argv, bool distill) {
    bertc_distill_params dp = bertc_distill_default_params();
    bertc_train_params p = bertc_train_default_params();
    const char *model = NULL, *revision = NULL, *report = NULL, *teacher = NULL;
    int student_layers = 0;
    bool quiet = false, warmup_given = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d = 0;
#define NEED()                                                                                                        \
    do {                                                                                                              \
        if (!v) {                                                                                                     \
            die_msg("%s needs a value", a);                                                                           \
            return EXIT_USAGE;                                                                                        \
        }                                                                                                             \
        i++;                                                                                                          \
    } while (0)
#define NUM()                                                                                                         \
    do {                                                                                                              \
        NEED();                                                                                                       \
        if (!num_arg(v, &d)) {                                                                                        \
            die_msg("%s: not a number: %s", a, v);                                                                    \
            return EXIT_USAGE;                                                                                        \
        }                                                                                                             \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(distill ? distill_usage : train_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--model") || (distill && !strcmp(a, "--student"))) { NEED(); model = v; }
        else if (distill && !strcmp(a, "--teacher")) { NEED(); teacher = v; }
        else if (distill && !strcmp(a, "--temperature")) { NUM(); dp.temperature = d; }
        else if (distill && !strcmp(a, "--alpha")) { NUM(); dp.alpha = d; }
        else if (distill && !strcmp(a, "--unlabeled")) { NEED(); dp.unlabeled = v; }
        else if (distill && !strcmp(a, "--augment")) { NUM(); dp.augment = (int)d; }
        else if (distill && !strcmp(a, "--augment-swap")) { NUM(); dp.augment_swap = d; }
        else if (distill && !strcmp(a, "--augment-delete")) { NUM(); dp.augment_delete = d; }
        else if (distill && !strcmp(a, "--augment-mask")) { NUM(); dp.augment_mask = d; }
        else if (distill && !strcmp(a, "--augment-neighbors")) { NUM(); dp.augment_neighbors = (int)d; }
        else if (distill && !strcmp(a, "--augment-min-words")) { NUM(); dp.augment_min_words = (int)d; }
        else if (distill && !strcmp(a, "--augmented-out")) { NEED(); dp.augmented_out = v; }
        else if (distill && !strcmp(a, "--teacher-cache")) { NEED(); dp.teacher_cache = v; }
        else if (distill && !strcmp(a, "--teacher-max-length")) { NUM(); dp.teacher_max_length = (int)d; }
        else if (distill && !strcmp(a, "--teacher-batch-size")) { NUM(); dp.teacher_batch_size = (int)d; }
        else if (distill && !strcmp(a, "--teacher-compute")) {
            NEED();
            if (!parse_compute(v, &dp.teacher_compute)) {
                die_msg("--teacher-compute %s: use fp32 or bf16", v);
                return EXIT_USAGE;
            }
        } else if (distill && !strcmp(a, "--student-layers")) { NUM(); student_layers = (int)d; }
        else if (distill && !strcmp(a, "--label-only")) dp.label_only = 1;
        else if (!strcmp(a, "--revision")) { NEED(); revision = v; }
        else if (!strcmp(a, "--train")) { NEED(); p.train = v; }
        else if (!strcmp(a, "--validation")) { NEED(); p.validation = v; }
        else if (!strcmp(a, "--output") || !strcmp(a, "--output-dir")) { NEED(); p.output_dir = v; }
        else if (!strcmp(a, "--text-column")) { NEED(); p.data.text_column = v; }
        else if (!strcmp(a, "--label-column")) { NEED(); p.data.label_column = v; }
        else if (!strcmp(a, "--pair-column")) { NEED(); p.data.pair_column = v; }
        else if (!strcmp(a, "--labels")) { NEED(); p.labels = v; }
        else if (!strcmp(a, "--problem-type")) {
            NEED();
            if (!strcmp(v, "single_label_classification")) p.problem = BERTC_PROBLEM_SINGLE_LABEL;
            else if (!strcmp(v, "multi_label_classification")) p.problem = BERTC_PROBLEM_MULTI_LABEL;
            else if (!strcmp(v, "regression")) p.problem = BERTC_PROBLEM_REGRESSION;
            else {
                die_msg("--problem-type %s: use single_label_classification, multi_label_classification or regression", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--epochs") || !strcmp(a, "--num-train-epochs")) { NUM(); p.epochs = d; }
        else if (!strcmp(a, "--learning-rate")) { NUM(); p.learning_rate = d; }
        else if (!strcmp(a, "--batch-size") || !strcmp(a, "--per-device-train-batch-size")) { NUM(); p.batch_size = (int)d; }
        else if (!strcmp(a, "--warmup-steps")) { NUM(); p.warmup_steps = (int)d, warmup_given = true; }
        else if (!strcmp(a, "--warmup-ratio")) {
            NUM();
            p.warmup_ratio = d;
            if (!warmup_given) p.warmup_steps = -1;
        } else if (!strcmp(a, "--max-length")) { NUM(); p.max_length = (int)d; }
        else if (!strcmp(a, "--weight-decay")) { NUM(); p.weight_decay = d; }
        else if (!strcmp(a, "--adam-beta1")) { NUM(); p.adam_beta1 = d; }
        else if (!strcmp(a, "--adam-beta2")) { NUM(); p.adam_beta2 = d; }
        else if (!strcmp(a, "--adam-epsilon")) { NUM(); p.adam_epsilon = d; }
        else if (!strcmp(a, "--max-grad-norm")) { NUM(); p.max_grad_norm = d; }
        else if (!strcmp(a, "--gradient-accumulation-steps")) { NUM(); p.gradient_accumulation_steps = (int)d; }
        else if (!strcmp(a, "--lr-scheduler") || !strcmp(a, "--lr-scheduler-type")) {
            NEED();
            if (!strcmp(v, "linear")) p.lr_scheduler = BERTC_LR_LINEAR;
            else if (!strcmp(v, "constant")) p.lr_scheduler = BERTC_LR_CONSTANT;
            else if (!strcmp(v, "cosine")) p.lr_scheduler = BERTC_LR_COSINE;
            else if (!strcmp(v, "constant_with_warmup")) p.lr_scheduler = BERTC_LR_CONSTANT_WITH_WARMUP;
            else {
                die_msg("--lr-scheduler %s: use linear, constant, cosine or constant_with_warmup", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--seed")) { NUM(); p.seed = (uint64_t)d; }
        else if (!strcmp(a, "--no-shuffle")) p.shuffle = 0;
        else if (!strcmp(a, "--logging-steps")) { NUM(); p.logging_steps = (int)d; }
        else if (!strcmp(a, "--eval-steps")) { NUM(); p.eval_steps = (int)d; }
        else if (!strcmp(a, "--save-steps")) { NUM(); p.save_steps = (int)d; }
        else if (!strcmp(a, "--save-total-limit")) { NUM(); p.save_total_limit = (int)d; }
        else if (!strcmp(a, "--metric-for-best-model")) { NEED(); p.metric_for_best_model = v; }
        else if (!strcmp(a, "--early-stopping-patience")) { NUM(); p.early_stopping_patience = (int)d; }
        else if (!strcmp(a, "--resume-from-checkpoint")) { NEED(); p.resume_from_checkpoint = v; }
        else if (!strcmp(a, "--overwrite-output-dir")) p.overwrite_output_dir = 1;
        else if (!strcmp(a, "--freeze-embeddings")) p.freeze_embeddings = 1;
        else if (!strcmp(a, "--bf16")) p.bf16 = 1;
        else if (!strcmp(a, "--threads")) { NUM(); p.n_threads = (int)d; }
        else if (!strcmp(a, "--max-steps")) { NUM(); p.max_steps = (long)d; }
        else if (!strcmp(a, "--train-sample")) { NUM(); p.train_sample = (int)d; }
        else if (!strcmp(a, "--report")) { NEED(); report = v; }
        else if (!strcmp(a, "--quiet")) quiet = true;
        else {
            die_msg("%s: unknown option %s (bertc %s --help)", argv[1], a, argv[1]);
            return EXIT_USAGE;
        }
#undef NEED
#undef NUM
    }
    if ((!model && !(distill && student_layers > 0 && teacher)) || !p.train || (!p.output_dir && !dp.label_only) ||
        (dp.label_only && (!dp.teacher_cache || student_layers > 0 || report)) ||
        (distill && !teacher && !dp.teacher_cache)) {
        fputs(distill ? distill_usage : train_usage, stderr);
        return EXIT_USAGE;
    }
    if (distill && model && student_layers > 0) {
        die_msg("distill: --student-layers makes the student from the teacher: give it or --student, not both");
        return EXIT_USAGE;
    }
    if (p.batch_size <= 0 || p.gradient_accumulation_steps <= 0 || p.max_length < 2 || p.epochs < 0 || p.learning_rate < 0) {
        die_msg("train: --batch-size, --gradient-accumulation-steps and --max-length must be positive");
        return EXIT_USAGE;
    }
    if (report && !report_writable(report)) {
        die_msg("train: cannot write --report %s: %s", report, strerror(errno));
        return EXIT_OUTPUT;
    }
    char dir[4096], tdir[4096];
    int code = 0;
    if (teacher) {
        if (!resolve_model_dir(teacher, revision, tdir, sizeof tdir, &code)) return code;
        dp.teacher = tdir;
    }
    if (!model) {
        /* the student made from the teacher, beside the output folder */
        size_t ol = strlen(p.output_dir);
        while (ol > 1 && p.output_dir[ol - 1] == '/') ol--;
        snprintf(dir, sizeof dir, "%.*s.student-init", (int)ol, p.output_dir);
        bertc_error e2;
        bertc_status s2 = bertc_student_from_teacher(tdir, NULL, student_layers, dir, &e2);
        if (s2) {
            die_msg("distill: %s", e2.message);
            return s2 == BERTC_ERR_OUTPUT ? EXIT_OUTPUT : exit_code_for(s2);
        }
        model = dir;
    } else if (p.resume_from_checkpoint) {
        /* the checkpoint holds the model; --model is only for the record */
        snprintf(dir, sizeof dir, "%s", model);
    } else if (!strcmp(model, "embedded")) {
        /* the built-in model, written once as a folder under the cache to train from (offline) */
        bertc_error e3;
        bertc_status s3 = bertc_default_model_folder(dir, sizeof dir, &e3);
        if (s3) {
            die_msg("train: the embedded model: %s", e3.message);
            return s3 == BERTC_ERR_OUTPUT ? EXIT_OUTPUT : exit_code_for(s3);
        }
    } else if (!resolve_model_dir(model, revision, dir, sizeof dir, &code)) {
        return code;
    }
    p.model = dir;
    cli_state c;
    memset(&c, 0, sizeof c);
    c.tty = isatty(2);
    c.quiet = quiet;
    c.entries = json_array();
    p.callback = on_event;
    p.callback_ctx = &c;
    p.stop = &stop_flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bertc_error err;
    bertc_status s;
    if (distill) {
        dp.train = p;
        s = bertc_distill(&dp, &err);
    } else s = bertc_train(&p, &err);
    if (c.tty && !quiet) fputs("\r\033[K", stderr);
    int rc = EXIT_OK;
    if (s) {
        die_msg("%s: %s", argv[1], err.message);
        rc = s == BERTC_ERR_OUTPUT ? EXIT_OUTPUT : exit_code_for(s);
    }
    if (report) {
        /* the whole log_history when the run wrote it (a resumed run's includes the steps before the resume) */
        char st_path[4200];
        snprintf(st_path, sizeof st_path, "%s/trainer_state.json", p.output_dir);
        json_t *st = s == BERTC_OK ? json_load_file(st_path, 0, NULL) : NULL;
        json_t *hist = json_object_get(st, "log_history");
        if (json_is_array(hist) && json_array_size(hist) >= json_array_size(c.entries)) {
            json_decref(c.entries);
            c.entries = json_incref(hist);
        }
        json_decref(st);
        char *hist_text = json_dumps(c.entries, JSON_COMPACT), *html = NULL;
        size_t len = 0;
        bertc_error rerr;
        if (!hist_text || bertc_train_report_render(hist_text, model, p.output_dir, c.start,
                                                    (const char *const *)c.warnings, c.n_warnings, &html, &len, &rerr)) {
            die_msg("cannot write %s: %s", report, hist_text ? rerr.message : "out of memory");
            if (!rc) rc = EXIT_OUTPUT;
        } else if (!write_report(report, html, len)) {
            die_msg("cannot write %s: %s", report, strerror(errno));
            if (!rc) rc = EXIT_OUTPUT;
        }
        free(hist_text);
        bertc_free(html);
    }
    json_decref(c.entries);
    for (int i = 0; i < c.n_warnings; i++) free(c.warnings[i]);
    free(c.warnings);
    return rc;
}

int cmd_train(int argc, char **argv) { return train_main(argc, argv, false); }
int cmd_distill(int argc, char **argv) { return train_main(argc, argv, true); }
