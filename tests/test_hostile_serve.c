/*
 * test_hostile_serve.c — issue 28's attacks on `bertc serve`, each of which worked before the server became a bounded
 * system: 700 half-open (slowloris) connections plus a flood of long inputs while /health must answer; --threads 1
 * against many 300 KB requests (the process's CPU time from /proc); a client that leaves mid-request (its work
 * stops); SIGTERM with a backlog of 64 requests (every one answered, a quick exit); an out-of-memory inference
 * followed by /health (it recovers); /decode over the batch cap.
 */
#include "test.h"
#include "faultinj.h"
#include "base/json.h"
#include "serve/server.h"
#include "serve_http.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15). */
static double cpu_seconds(pid_t pid) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A /predict body of 32 inputs of about 9 KB of words each (about 300 KB), truncated to the model's 512 tokens. */
static char *long_body(void) {
    static const char *const words[] = {"the", "movie", "was", "great", "terrible", "plot", "actors", "and", "but", "very"};
    size_t cap = 400000, o = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    o += (size_t)snprintf(b + o, cap - o, "{\"inputs\": [");
    unsigned x = 1;
    for (int i = 0; i < 32; i++) {
        o += (size_t)snprintf(b + o, cap - o, "%s[\"", i ? ", " : "");
        for (int w = 0; w < 1700; w++) {
            x = x * 1103515245u + 12345u;
            o += (size_t)snprintf(b + o, cap - o, "%s%s", w ? " " : "", words[(x >> 16) % 10]);
        }
        o += (size_t)snprintf(b + o, cap - o, "\"]");
    }
    snprintf(b + o, cap - o, "], \"truncate\": true}");
    return b;
}

/* GET path; the status, and the seconds it took in *secs. */
static int timed_get(int port, const char *path, double *secs) {
    char *b;
    double t = now_s();
    int st = http(port, "GET", path, NULL, &b);
    *secs = now_s() - t;
    free(b);
    return st;
}

typedef struct flood {
    int port;
    const char *body;
    atomic_int *stop;
    int sent, answered;
} flood;

static void *flood_main(void *p) {
    flood *f = p;
    while (!atomic_load(f->stop)) {
        char *b;
        int st = http(f->port, "POST", "/predict", f->body, &b);
        f->sent++;
        f->answered += st == 200 || st == 429 || st == 503;
        free(b);
    }
    return NULL;
}

/* 700 connections that send half a request and stall, and four clients sending long inputs without pause:
 * /health and /metrics answer, quickly. Before: the 576-connection cap refused /health, and its inference waited
 * behind the long batches. */
static void t_slowloris_and_flood(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    srv s;
    if (!srv_start(&s, "--model models/sst2-small --shutdown-grace 1")) {
        CHECK(0, "server did not start");
        return;
    }
    enum { N_LORIS = 700 };
    static int loris[N_LORIS];
    int opened = 0;
    for (int i = 0; i < N_LORIS; i++) {
        loris[i] = connect_to(s.port);
        const char *part = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Le";
        if (loris[i] >= 0 && write(loris[i], part, strlen(part)) == (ssize_t)strlen(part)) opened++;
    }
    CHECK(opened == N_LORIS, "%d of %d slowloris connections opened", opened, N_LORIS);
    char *body = long_body();
    atomic_int stop = 0;
    flood fl[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        fl[i] = (flood){s.port, body, &stop, 0, 0};
        pthread_create(&th[i], NULL, flood_main, &fl[i]);
    }
    usleep(1500000); /* the flood is in: batches of long inputs are running */
    double worst = 0, secs;
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        int st = timed_get(s.port, "/health", &secs);
        ok += st == 200;
        if (secs > worst) worst = secs;
        usleep(100000);
    }
    int mst = timed_get(s.port, "/metrics", &secs);
    printf("     /health under %d slowloris connections and a long-input flood: 10 tries, worst %.1f ms; /metrics "
           "%.1f ms\n", N_LORIS, worst * 1000, secs * 1000);
    CHECK(ok == 10 && worst < 2.0, "/health: %d of 10 answered 200, worst %.3f s", ok, worst);
    CHECK(mst == 200 && secs < 2.0, "/metrics: %d in %.3f s", mst, secs);
    atomic_store(&stop, 1);
    for (int i = 0; i < N_LORIS; i++)
        if (loris[i] >= 0) close(loris[i]);
    int sent = 0, answered = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        sent += fl[i].sent;
        answered += fl[i].answered;
    }
    CHECK(sent > 0 && answered == sent, "flood: %d of %d requests answered", answered, sent);
    free(body);
    CHECK(srv_stop(&s) == 0, "exit 0");
}

typedef struct big_client {
    int port, status;
    const char *body;
} big_client;

static void *big_main(void *p) {
    big_client *c = p;
    char *b;
    c->status = http(c->port, "POST", "/predict", c->body, &b);
    free(b);
    return NULL;
}

/* --threads 1: three 300 KB requests at once, twice (their parsing and tokenization, and the model) take one core, not
 * one per connection; /health answers meanwhile. */
static void t_threads_bound(void) {
    srv s;
    if (!srv_start(&s, "--model models/sst2-small --threads 1")) {
        CHECK(0, "server did not start");
        return;
    }
    char *body = long_body();
    double c0 = cpu_seconds(s.pid), t0 = now_s(), worst = 0;
    int all200 = 1, health = 1;
    for (int round = 0; round < 2; round++) {
        big_client cl[3];
        pthread_t th[3];
        for (int i = 0; i < 3; i++) {
            cl[i] = (big_client){s.port, 0, body};
            pthread_create(&th[i], NULL, big_main, &cl[i]);
        }
        usleep(100000);
        double secs;
        health &= timed_get(s.port, "/health", &secs) == 200;
        if (secs > worst) worst = secs;
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            all200 &= cl[i].status == 200;
        }
    }
    double cpu = cpu_seconds(s.pid) - c0, wall = now_s() - t0;
    printf("     --threads 1, 2 x 3 requests of 300 KB: %.2f s CPU in %.2f s (%.2f cores); /health worst %.1f ms\n", cpu,
           wall, cpu / wall, worst * 1000);
    CHECK(all200, "every 300 KB request answered 200");
    CHECK(health && worst < 2.0, "/health during the burst: worst %.3f s", worst);
    CHECK(cpu >= 0 && cpu / wall < 1.35, "--threads 1 used %.2f cores", cpu / wall);
    free(body);
    CHECK(srv_stop(&s) == 0, "exit 0");
}

/* A client that sends long work and leaves: the server stops spending CPU on it at the next chunk (about a second
 * of a 15-second batch here; 8 s allowed), and counts it as 499 in /metrics. */
static void t_client_gone(void) {
    srv s;
    if (!srv_start(&s, "--model models/minilm-sst2 --threads 1")) {
        CHECK(0, "server did not start");
        return;
    }
    char *body = long_body();
    int fd = connect_to(s.port);
    char head[256];
    int hl = snprintf(head, sizeof head, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    CHECK(fd >= 0 && write(fd, head, (size_t)hl) == hl && write(fd, body, strlen(body)) == (ssize_t)strlen(body),
          "long request sent");
    usleep(1500000);
    double busy0 = cpu_seconds(s.pid);
    usleep(500000);
    double busy = cpu_seconds(s.pid) - busy0; /* the work is running */
    close(fd);
    /* the chunk under way ends, then nothing runs: the first quiet second after the close (the whole batch would
       take another 10 s or more) */
    double tc = now_s(), quiet_at = -1, idle = 0;
    while (now_s() - tc < 8) {
        double c0 = cpu_seconds(s.pid);
        usleep(1000000);
        idle = cpu_seconds(s.pid) - c0;
        if (idle < 0.15) {
            quiet_at = now_s() - tc;
            break;
        }
    }
    printf("     CPU while the request runs: %.2f s in 0.5 s; after its client left: idle (%.2f s CPU in 1 s) %.1f s "
           "after the close\n", busy, idle, quiet_at);
    CHECK(busy > 0.2, "the request was being computed (%.2f s CPU in 0.5 s)", busy);
    CHECK(quiet_at > 0, "still computing 8 s after the client left (%.2f s CPU in the last second)", idle);
    char *m;
    int st = http(s.port, "GET", "/metrics", NULL, &m);
    CHECK(st == 200 && m && strstr(m, "bertc_requests_total{route=\"/predict\",status=\"499\"} 1"),
          "the abandoned request in /metrics: %.300s", m ? m : "");
    free(m);
    free(body);
    CHECK(srv_stop(&s) == 0, "exit 0");
}

/* SIGTERM with 64 long requests in (a backlog of minutes): each gets an HTTP answer, 200 or 503 with TEI's JSON
 * error, and the process exits within seconds. Before: the connections were closed unanswered after 30 s. */
typedef struct term_client {
    int port, status;
    const char *body;
    char *resp;
} term_client;

static void *term_main(void *p) {
    term_client *c = p;
    c->status = http(c->port, "POST", "/predict", c->body, &c->resp);
    return NULL;
}

static void t_sigterm_backlog(void) {
    srv s;
    if (!srv_start(&s, "--model models/minilm-sst2 --threads 1 --shutdown-grace 1")) {
        CHECK(0, "server did not start");
        return;
    }
    char *body = long_body();
    enum { N = 64 };
    static term_client cl[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        cl[i] = (term_client){s.port, 0, body, NULL};
        pthread_create(&th[i], NULL, term_main, &cl[i]);
    }
    usleep(2000000); /* all 64 are in */
    double t0 = now_s();
    kill(s.pid, SIGTERM);
    int ok = 0, done = 0, unavailable = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (cl[i].status == 200) ok++, done++;
        else if (cl[i].status == 503 && cl[i].resp && strstr(cl[i].resp, "\"error_type\":\"Unhealthy\"")) ok++, unavailable++;
        else if (t_failures < 3) printf("     request %d: %d %.100s\n", i, cl[i].status, cl[i].resp ? cl[i].resp : "");
        free(cl[i].resp);
    }
    int st = 0;
    waitpid(s.pid, &st, 0);
    double secs = now_s() - t0;
    printf("     SIGTERM with %d requests in: %d answered 200, %d answered 503, exit after %.2f s\n", N, done,
           unavailable, secs);
    CHECK(ok == N, "%d of %d requests got an answer (200, or 503 Unhealthy)", ok, N);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    CHECK(secs < 20, "exit %.1f s after SIGTERM", secs);
    free(body);
}

/* In the library: an inference that fails for want of memory answers 424; /health then runs a real inference,
 * answers 200 and the server is healthy again (before: 503 until a restart). /decode takes at most
 * --max-client-batch-size sequences, as TEI. */
static void t_oom_health_and_decode(void) {
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = 1;
    bertc_model *m = NULL;
    bertc_error err;
    if (bertc_model_load("models/sst2-small", &mp, &m, &err)) {
        CHECK(0, "load: %s", err.message);
        return;
    }
    server_config c = server_default_config();
    c.log_format = 0; /* no access log in the test's output */
    server *s = server_new(m, &c, &err);
    CHECK(s != NULL, "server_new");
    if (!s) return;
    int status, hits = 0, healthy = 0, after = 0;
    char *out;
    size_t len;
    const char *type;
    const char *req = "{\"inputs\": [\"a charming journey\", \"dull\"]}";
    for (long n = 1; n <= 400 && hits < 5; n++) {
        fi_arm(n, false);
        server_handle(s, "POST", "/embed", req, strlen(req), &status, &out, &len, &type);
        fi_disarm();
        bool inference = status == 424 && strstr(out, "Inference failed") && strstr(out, "out of memory");
        free(out);
        if (!inference) continue;
        hits++; /* the allocation that failed was the model's */
        server_handle(s, "GET", "/health", NULL, 0, &status, &out, &len, &type);
        healthy += status == 200;
        if (status != 200 && hits == 1) printf("     /health after the failure: %d %s\n", status, out);
        free(out);
        server_handle(s, "GET", "/health", NULL, 0, &status, &out, &len, &type);
        healthy += status == 200;
        free(out);
        server_handle(s, "POST", "/embed", req, strlen(req), &status, &out, &len, &type);
        after += status == 200;
        free(out);
    }
    CHECK(hits > 0, "no injected failure reached the inference");
    CHECK(healthy == 2 * hits && after == hits, "after %d out-of-memory inferences: /health 200 %d of %d times, /embed "
          "200 %d of %d", hits, healthy, 2 * hits, after, hits);
    /* /decode: 33 sequences > 32 is TEI's 413; 32 are decoded */
    char body[4096] = "{\"ids\": [";
    for (int i = 0; i < 33; i++) strcat(body, i ? ", [101, 7592, 102]" : "[101, 7592, 102]");
    strcat(body, "]}");
    server_handle(s, "POST", "/decode", body, strlen(body), &status, &out, &len, &type);
    CHECK(status == 413 && strstr(out, "batch size 33 > maximum allowed batch size 32") &&
              strstr(out, "\"error_type\":\"Validation\""),
          "/decode over the cap: %d %s", status, out);
    free(out);
    char *cut = strstr(body, ", [101, 7592, 102]]}");
    strcpy(cut, "]}");
    server_handle(s, "POST", "/decode", body, strlen(body), &status, &out, &len, &type);
    json_t *j = json_loads(out, 0, NULL);
    CHECK(status == 200 && json_array_size(j) == 32 && !strcmp(json_string_value(json_array_get(j, 31)), "hello"),
          "/decode of 32: %d %.80s", status, out);
    json_decref(j);
    free(out);
    server_free(s);
}

void tests_hostile_serve(void) {
    signal(SIGPIPE, SIG_IGN); /* a refused or reset connection is a failed check, not the end of the suite */
    run_test("hostile_serve/oom_health_and_decode_cap", t_oom_health_and_decode);
    run_test("hostile_serve/slowloris_and_flood", t_slowloris_and_flood);
    run_test("hostile_serve/threads_1_bounds_cpu", t_threads_bound);
    run_test("hostile_serve/client_gone_stops_work", t_client_gone);
    run_test("hostile_serve/sigterm_answers_backlog", t_sigterm_backlog);
}
