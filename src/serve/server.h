/*
 * server.h — the HTTP API of `bertc serve`, independent of any HTTP library: text-embeddings-inference's routes
 * and JSON (/predict, /embed, /tokenize, /info, /health, /metrics), request validation with TEI's error types,
 * and dynamic batching of concurrent requests under a token budget (one batcher thread; batches are packed
 * with no padding, so a request's result does not depend on what it was batched with).
 *
 * The HTTP layer (src/cli/serve.c, libmicrohttpd) calls server_handle from one thread per connection.
 */
#ifndef BERTC_SERVER_H
#define BERTC_SERVER_H

#include "bertc.h"

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
} server_config;

server_config server_default_config(void);
/* Takes ownership of m; starts the batcher thread. */
server *server_new(bertc_model *m, const server_config *c, bertc_error *err);
/* Handles one request. *body_out is malloc'ed (may be empty, never NULL on return), *content_type static. */
void server_handle(server *s, const char *method, const char *path, const char *body, size_t len, int *status,
                   char **body_out, size_t *body_len, const char **content_type);
/* The answer for a body over the payload limit (the HTTP layer sees it first). */
void server_too_large(server *s, const char *path, int *status, char **body_out, size_t *body_len,
                      const char **content_type);
/* Requests being handled right now. */
int server_in_flight(server *s);
/* Refuse new work (503 Unhealthy from then on) while in-flight requests finish. */
void server_drain(server *s);
/* Stops the batcher (after the queue is empty) and frees everything, the model included. */
void server_free(server *s);

#endif
