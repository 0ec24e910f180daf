/*
 * serve.c — `bertc serve`: libmicrohttpd in front of app/serve/server.c. One event-loop thread (epoll) reads every
 * connection, so idle and half-sent connections cost a socket and a little memory, no thread: the connection budget
 * is the file-descriptor limit (raised to its hard limit), and --client-timeout drops a connection idle or stalled
 * mid-request. A request whose body is in goes to server_begin (answered at once when cheap: /health, /metrics,
 * /info, 413, 429, 503), else its connection is suspended and the request handed to the server's workers, which
 * resume it with the answer. The workers poll the socket to learn when a client has left. SIGTERM/SIGINT: stop
 * accepting (what waits in the listen backlog is still answered, 503), let in-flight requests finish for
 * --shutdown-grace seconds, then cancel the rest (503 at the next sequence boundary), send every answer, exit 0.
 */
#include "cli.h"

#include "serve/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct ctx {
    server *srv;
    size_t limit;
    atomic_int active;       /* requests whose headers are in and whose answer is not yet sent */
    _Atomic double last_start; /* when the latest of them started (ms) */
} ctx;

enum { READING, WAITING, ANSWERED };

typedef struct conn {
    ctx *x;
    struct MHD_Connection *c;
    int fd;
    char *body;
    size_t len, cap;
    int too_large;
    int state; /* ANSWERED: the workers' answer below, to queue when MHD calls on_request again (resumed) */
    int status;
    char *out;
    size_t out_len;
    const char *type;
} conn;

static enum MHD_Result send_reply(struct MHD_Connection *c, int status, char *body, size_t len, const char *type) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A worker's answer: kept, and the connection resumed (MHD then calls on_request, which sends it). */
static void on_done(void *arg, int status, char *body, size_t len, const char *type) {
    conn *k = arg;
    k->status = status;
    k->out = body;
    k->out_len = len;
    k->type = type;
    k->state = ANSWERED;
    MHD_resume_connection(k->c);
}

/* The client has closed its end (or the connection broke); bytes of a next request do not count as leaving. */
static bool on_gone(void *arg) {
    conn *k = arg;
    char b;
    ssize_t n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    ctx *x = cls;
    conn *k = *con_cls;
    int status;
    char *out;
    size_t out_len;
    const char *type;
    if (!k) {
        if (!(k = calloc(1, sizeof *k))) return MHD_NO;
        *con_cls = k;
        k->x = x;
        k->c = c;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        atomic_fetch_add(&x->active, 1);
        x->last_start = now_ms_cli();
        /* a declared body over the limit is refused before it is read */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > x->limit) {
            server_too_large(x->srv, url, &status, &out, &out_len, &type);
            return send_reply(c, status, out, out_len, type);
        }
        return MHD_YES;
    }
    if (k->state == ANSWERED) {
        k->state = READING;
        out = k->out;
        k->out = NULL;
        if (k->status == 499) { /* the client left: nothing to send */
            free(out);
            return MHD_NO;
        }
        return send_reply(c, k->status, out, k->out_len, k->type);
    }
    if (k->state == WAITING) return MHD_YES;
    if (*upload_size) {
        if (!k->too_large) {
            if (k->len + *upload_size > x->limit) {
                k->too_large = 1;
                free(k->body);
                k->body = NULL;
                k->len = k->cap = 0;
            } else {
                if (k->len + *upload_size + 1 > k->cap) {
                    size_t nc = (k->len + *upload_size + 1) * 2;
                    if (nc > x->limit + 1) nc = x->limit + 1;
                    char *nb = realloc(k->body, nc);
                    if (!nb) return MHD_NO;
                    k->body = nb;
                    k->cap = nc;
                }
                memcpy(k->body + k->len, upload, *upload_size);
                k->len += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (k->too_large) {
        server_too_large(x->srv, url, &status, &out, &out_len, &type);
        return send_reply(c, status, out, out_len, type);
    }
    server_req *rq;
    if (server_begin(x->srv, method, url, k->len, &rq, &status, &out, &out_len, &type))
        return send_reply(c, status, out, out_len, type);
    /* the heavy part on the server's workers; this thread goes on with the other connections */
    k->state = WAITING;
    MHD_suspend_connection(c);
    char *body = k->body;
    size_t len = k->len;
    k->body = NULL;
    k->len = k->cap = 0;
    server_enqueue(x->srv, rq, body, len, on_done, on_gone, k);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    conn *k = *con_cls;
    if (k) {
        atomic_fetch_sub(&k->x->active, 1);
        free(k->body);
        free(k->out);
        free(k);
        *con_cls = NULL;
    }
}

static const char serve_usage[] =
    "usage: bertc serve [--model DIR] [--host 127.0.0.1] [--port 3000] [--max-batch-tokens 16384]\n"
    "                   [--max-concurrent-requests 512] [--max-client-batch-size 32] [--auto-truncate]\n"
    "                   [--payload-limit 2000000] [--client-timeout 30] [--pooling mean|cls|max|lasttoken|weightedmean|mean_sqrt_len] [--model-id NAME]\n"
    "                   [--log-format text|json|none]\n"
    "                   [--threads N] [--dtype fp32|fp16|bf16|int8] [--compute fp32|bf16] [--shutdown-grace 5]\n"
    "Routes as text-embeddings-inference: POST / (the Inference API: the model's task), /predict (classify),\n"
    "/embed, /embed_all (per token), /rerank, /similarity, /tokenize, /decode, /v1/embeddings (OpenAI);\n"
    "GET /info, /health, /metrics (Prometheus), /openapi.json, /docs (Swagger UI, from the binary), /v1/models (OpenAI's\n"
    "models.list).\n"
    "The pipelines of the other heads: POST /ner (token classification), /qa (question answering), /fill-mask.\n"
    "Access log on stderr, a line per request: time, method, route, status, inputs, tokens, milliseconds\n"
    "(--log-format text, the default; json: one object per line; none).\n"
    "--host: an IPv4 or IPv6 address (0.0.0.0 or :: for every interface).\n"
    "--port 0 picks a free port; the address is printed on stderr (\"listening on http://HOST:PORT\").\n"
    "--threads N: CPU for everything a request costs (parsing, tokenization, the model). --client-timeout S: a\n"
    "connection idle or stalled mid-request that long is closed. --shutdown-grace S: on SIGTERM, in-flight requests\n"
    "get S seconds to finish, then the rest are answered 503.\n";

int cmd_serve(int argc, char **argv) {
    model_opts mo = {0};
    server_config cfg = server_default_config();
    const char *host = "127.0.0.1";
    long port = 3000, timeout = 30, grace = 5;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) return fputs(serve_usage, stdout), EXIT_OK;
        int r = model_opt(&mo, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        if (!strcmp(a, "--auto-truncate")) {
            cfg.auto_truncate = 1;
            continue;
        }
        if (i + 1 >= argc) {
            die_msg("%s: unknown option or missing value", a);
            fputs(serve_usage, stderr);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--host") || !strcmp(a, "--hostname")) {
            host = v;
            continue;
        }
        if (!strcmp(a, "--model-id")) {
            cfg.model_id = v;
            continue;
        }
        if (!strcmp(a, "--log-format")) {
            if (!strcmp(v, "text")) cfg.log_format = 1;
            else if (!strcmp(v, "json")) cfg.log_format = 2;
            else if (!strcmp(v, "none")) cfg.log_format = 0;
            else {
                die_msg("--log-format must be text, json or none");
                return EXIT_USAGE;
            }
            continue;
        }
        if (!strcmp(a, "--pooling")) {
            if (!strcmp(v, "mean")) cfg.pooling = BERTC_POOL_MEAN;
            else if (!strcmp(v, "cls")) cfg.pooling = BERTC_POOL_CLS;
            else if (!strcmp(v, "max")) cfg.pooling = BERTC_POOL_MAX;
            else if (!strcmp(v, "lasttoken")) cfg.pooling = BERTC_POOL_LAST_TOKEN;
            else if (!strcmp(v, "weightedmean")) cfg.pooling = BERTC_POOL_WEIGHTED_MEAN;
            else if (!strcmp(v, "mean_sqrt_len")) cfg.pooling = BERTC_POOL_MEAN_SQRT_LEN;
            else {
                die_msg("--pooling must be mean, cls, max, lasttoken, weightedmean or mean_sqrt_len");
                return EXIT_USAGE;
            }
            continue;
        }
        char *end;
        long n = strtol(v, &end, 10);
        long lo = !strcmp(a, "--port") || !strcmp(a, "--shutdown-grace") ? 0 : 1;
        if (*end || n < lo || n > 1000000000L) {
            die_msg("%s needs a number (got %s)", a, v);
            return EXIT_USAGE;
        }
        if (!strcmp(a, "--port") && n <= 65535) port = n;
        else if (!strcmp(a, "--max-batch-tokens")) cfg.max_batch_tokens = (int)n;
        else if (!strcmp(a, "--max-concurrent-requests")) cfg.max_concurrent = (int)n;
        else if (!strcmp(a, "--max-client-batch-size")) cfg.max_client_batch = (int)(n > 100000 ? 100000 : n);
        else if (!strcmp(a, "--payload-limit")) cfg.payload_limit = (size_t)n;
        else if (!strcmp(a, "--client-timeout")) timeout = n;
        else if (!strcmp(a, "--shutdown-grace")) grace = n;
        else {
            die_msg("unknown option %s", a);
            fputs(serve_usage, stderr);
            return EXIT_USAGE;
        }
    }
    /* an IPv4 or IPv6 address ("::" listens on both where the system allows) */
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned ipv6 = 0;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, !strcmp(host, "localhost") ? "127.0.0.1" : host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        ipv6 = MHD_USE_IPv6;
    } else {
        die_msg("--host must be an IPv4 or IPv6 address (got %s)", host);
        return EXIT_USAGE;
    }
    int code = EXIT_OK;
    bertc_model *m = load_model(&mo, &code);
    if (!m) return code;
    bertc_error err;
    cfg.threads = mo.threads;
    server *srv = server_new(m, &cfg, &err);
    if (!srv) {
        die_msg("%s", err.message);
        bertc_model_free(m);
        return EXIT_INTERNAL;
    }
    /* SIGTERM/SIGINT are taken by sigwait below: block them before any thread starts */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* one malloc arena per core, not per worker thread: RSS stays flat under many clients */
    mallopt(M_ARENA_MAX, 2);
    /* the connection budget: every descriptor the system allows, less a reserve for the model's files and ours */
    struct rlimit rl;
    unsigned max_conn = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1000000) max_conn = rl.rlim_cur > 192 ? (unsigned)rl.rlim_cur - 128 : 64;
        else max_conn = 1000000;
    }
    ctx x = {srv, cfg.payload_limit, 0, 0};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | ipv6, 0, NULL, NULL,
        on_request, &x, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)timeout, MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        die_msg("cannot listen on %s:%ld: %s", host, port, strerror(errno));
        server_free(srv);
        return EXIT_USAGE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    fprintf(stderr, "bertc serve: %s (%s, %d labels) listening on http://%s%s%s:%u\n", info.source, info.model_type,
            info.n_labels, ipv6 ? "[" : "", host, ipv6 ? "]" : "", di ? di->port : (unsigned)port);
    fflush(stderr);
    int sig = 0;
    sigwait(&sigs, &sig);
    /* graceful stop: no new connections; every request already in gets an answer (done, or 503) */
    fprintf(stderr, "bertc serve: %s, finishing in-flight requests (up to %lds)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            grace);
    server_drain(srv); /* new requests (open keep-alive connections) get 503 from here */
    MHD_socket ls = MHD_quiesce_daemon(d);
    double t0 = now_ms_cli();
    if (ls != MHD_INVALID_SOCKET) {
        /* connections the kernel completed but MHD had not yet accepted: taken in, so that they get a 503 rather
           than a reset */
        fcntl(ls, F_SETFL, fcntl(ls, F_GETFL) | O_NONBLOCK);
        for (int i = 0; i < 4096; i++) {
            struct sockaddr_storage sa;
            socklen_t sl = sizeof sa;
            int fd = accept4(ls, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) break;
            MHD_add_connection(d, fd, (struct sockaddr *)&sa, sl);
            x.last_start = now_ms_cli();
        }
        close(ls);
    }
    while (server_in_flight(srv) > 0 && now_ms_cli() - t0 < grace * 1000.0) usleep(5000);
    int left = server_in_flight(srv);
    if (left > 0) {
        fprintf(stderr, "bertc serve: %d request%s cancelled (503)\n", left, left == 1 ? "" : "s");
        server_abort(srv); /* queued ones at once, running ones at their next sequence boundary */
        while (server_in_flight(srv) > 0 && now_ms_cli() - t0 < grace * 1000.0 + 30000) usleep(5000);
    }
    /* the answers out: wait for every started request to be sent (and for connections just taken from the backlog
       to bring theirs), a few seconds at most for clients that do not read */
    double t1 = now_ms_cli();
    while ((atomic_load(&x.active) > 0 || now_ms_cli() - x.last_start < 100) && now_ms_cli() - t1 < 3000) usleep(5000);
    MHD_stop_daemon(d);
    server_free(srv);
    fprintf(stderr, "bertc serve: stopped\n");
    return EXIT_OK;
}
