/* serve_http.h — the serve suites' helpers: `bertc serve` started on a free port (BERTC_BIN, else build/bertc),
 * plain-socket HTTP/1.1 requests, and a SIGTERM stop. Static: included by tests/test_serve.c and
 * tests/test_hostile_serve.c. */
#ifndef BERTC_SERVE_HTTP_H
#define BERTC_SERVE_HTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVE_UNUSED __attribute__((unused))

typedef struct srv {
    pid_t pid;
    int port;
} srv;

SERVE_UNUSED static bool srv_start(srv *s, const char *args) {
    const char *bin = getenv("BERTC_BIN");
    if (!bin || !*bin) bin = "build/bertc";
    char cmd[1024], err[64];
    snprintf(err, sizeof err, "build/t-serve-%d.err", (int)getpid()); /* the server's stderr */
    snprintf(cmd, sizeof cmd, "exec %s serve --port 0 %s 2> %s", bin, args, err);
    unlink(err);
    s->pid = fork();
    if (s->pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* up to 10 s (sanitizer builds load slowly) */
        usleep(20000);
        FILE *f = fopen(err, "r");
        char line[512];
        if (f && fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "listening on http://");
            const char *colon = p ? strrchr(p, ':') : NULL;
            if (colon) {
                s->port = atoi(colon + 1);
                fclose(f);
                return s->port > 0;
            }
        }
        if (f) fclose(f);
    }
    return false;
}

/* SIGTERM, then the exit code (128 + the signal when killed); a non-zero one prints the server's stderr. */
SERVE_UNUSED static int srv_stop(srv *s) {
    kill(s->pid, SIGTERM);
    int st = 0;
    waitpid(s->pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code != 0) {
        char err[64], line[512];
        snprintf(err, sizeof err, "build/t-serve-%d.err", (int)getpid());
        printf("  server exited %d; its stderr:\n", code);
        FILE *f = fopen(err, "r");
        for (int n = 0; f && n < 60 && fgets(line, sizeof line, f); n++) printf("    %s", line);
        if (f) fclose(f);
    }
    return code;
}

SERVE_UNUSED static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One HTTP/1.1 request with Connection: close; returns the status and the body (malloc'ed). */
SERVE_UNUSED static int http(int port, const char *method, const char *path, const char *body, char **out) {
    *out = NULL;
    int fd = connect_to(port);
    if (fd < 0) return -1;
    size_t bl = body ? strlen(body) : 0;
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, bl);
    if (write(fd, head, (size_t)hl) != hl || (bl && write(fd, body, bl) != (ssize_t)bl)) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t k;
    while (buf && (k = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)k;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    close(fd);
    if (!buf) return -1;
    buf[n] = 0;
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    *out = strdup(b ? b + 4 : "");
    free(buf);
    return status;
}

#endif
