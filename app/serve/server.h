/*
 * server.h — the HTTP API of `bertc serve`, independent of any HTTP library: text-embeddings-inference's routes
 * and JSON (/predict, /embed, /tokenize, /info, /health, /metrics), request validation with TEI's error types,
 * and dynamic batching of concurrent requests under a token budget (one batcher thread; batches are packed
 * with no padding, so a request's result does not depend on what it was batched with).
 *
 * The HTTP layer (app/cli/serve.c, libmicrohttpd on one event-loop thread) reads a request's body, then calls
 * server_begin: what needs no heavy work is answered there at once (GET /info /metrics /health while healthy, 404,
 * 405, 413, and admission: 429 when --max-concurrent-requests are in, 503 while shutting down); an admitted request
 * goes to server_enqueue and is parsed, tokenized, batched and answered on the server's own threads. All of that
 * work (a worker's parsing, tokenization and JSON, a batch's compute) runs under one budget of `threads` CPU slots:
 * a worker holds one, a batch all of them. A request whose client left is dropped before it starts and abandoned
 * at the next sequence or chunk boundary; server_abort does the same for every request, answering 503.
 */
#ifndef BERTC_SERVER_H
#define BERTC_SERVER_H

#include "bertc.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct server server;

typedef struct server_config {
    const char *model_id;     /* shown by /info */
    int max_batch_tokens;     /* tokens per batch, and the most one request may bring (default 16384) */
    int max_concurrent;       /* requests queued or running before 429 (default 512) */
    int max_client_batch;     /* inputs per request before 413 (default 32) */
    int auto_truncate;        /* truncate over-long inputs even when a request says truncate: false */
    size_t payload_limit;     /* request body bytes before 413 (default 2,000,000, TEI's) */
    bertc_pooling pooling;    /* /embed pooling (default: the folder's sentence-transformers pooling, else mean) */
    int threads;              /* CPU slots for request work and batches (0: the online CPUs), as the model's --threads */
    int log_format;           /* the access log on stderr, a line per request: 0 none, 1 text (default), 2 JSON */
} server_config;

typedef struct server_req server_req;
/* A queued request's answer, called once from a server thread; body is malloc'ed and owned by the callee. Status 499
 * (nginx's "client closed request") when the client left: there is nothing to send. */
typedef void (*server_done_fn)(void *arg, int status, char *body, size_t len, const char *content_type);
/* Whether the request's client has left (polled between sequences and chunks; never after done was called). */
typedef bool (*server_gone_fn)(void *arg);

server_config server_default_config(void);
/* Takes ownership of m; starts the batcher thread. On failure (NULL) m stays the caller's to free. */
server *server_new(bertc_model *m, const server_config *c, bertc_error *err);
/* A request whose body has been read: 1 when answered at once (the outputs set, *rq NULL), 0 when admitted (*rq set:
 * hand it to server_enqueue). Cheap: no parsing, no tokenization, no waiting on the batcher. */
int server_begin(server *s, const char *method, const char *path, size_t len, server_req **rq, int *status,
                 char **body_out, size_t *body_len, const char **content_type);
/* Queues an admitted request for the workers, taking body (malloc'ed or NULL); done is called exactly once. */
void server_enqueue(server *s, server_req *rq, char *body, size_t len, server_done_fn done, server_gone_fn gone,
                    void *arg);
/* Handles one request on the calling thread (server_begin, then the work inline). *body_out is malloc'ed (may be
 * empty, never NULL on return), *content_type static. */
void server_handle(server *s, const char *method, const char *path, const char *body, size_t len, int *status,
                   char **body_out, size_t *body_len, const char **content_type);
/* The answer for a body over the payload limit (the HTTP layer sees it first). */
void server_too_large(server *s, const char *path, int *status, char **body_out, size_t *body_len,
                      const char **content_type);
/* Requests admitted and not yet answered. */
int server_in_flight(server *s);
/* Refuse new work (503 Unhealthy from then on) while in-flight requests finish. */
void server_drain(server *s);
/* Drains, and cancels in-flight work: queued requests, and running ones at their next sequence or chunk boundary,
 * are answered 503 Unhealthy. */
void server_abort(server *s);
/* Stops the batcher (after the queue is empty) and frees everything, the model included. */
void server_free(server *s);

#endif
