#!/usr/bin/env python3
"""serve_hostile.py — issue 28's attacks on `bertc serve`, measured (the suite's tests/test_hostile_serve.c asserts
generous bounds; this prints the figures):

  1. /health and /metrics latency under N half-open connections (slowloris: half a request, then nothing) plus a
     flood of long inputs (32 inputs of ~9 KB each, truncated), with the server's CPU use;
  2. SIGTERM with a backlog of 64 long requests: how many got an HTTP answer (200 / 503), and how long the exit took.

usage: python3 bench/serve_hostile.py [--bin build/bertc] [--model models/minilm-sst2] [--loris 700] [--flood 4]
                                      [--seconds 10] [--threads N]
Standard library only.
"""
import argparse
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import threading
import time


def start(args, extra):
    cmd = [args.bin, "serve", "--port", "0", "--model", args.model] + extra
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"listening on http://\S+:(\d+)", line)
    if not m:
        raise SystemExit("server did not start: " + line)
    threading.Thread(target=lambda: p.stderr.read(), daemon=True).start()
    return p, int(m.group(1))


def request(port, method, path, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else b""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(data)}\r\n\r\n"
                  .encode() + data)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
        resp = b"".join(chunks)
        m = re.match(rb"HTTP/1\.\d (\d+)", resp)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0
    finally:
        s.close()


def long_body():
    rnd = random.Random(1)
    words = ["the", "movie", "was", "great", "terrible", "plot", "actors", "and", "but", "very"]
    text = " ".join(rnd.choice(words) for _ in range(1700))
    return {"inputs": [[text]] * 32, "truncate": True}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def slowloris(args):
    p, port = start(args, ["--shutdown-grace", "1"])
    loris = []
    for _ in range(args.loris):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Le")
        loris.append(s)
    stop = threading.Event()
    counts = {"sent": 0, "200": 0, "429": 0, "other": 0}
    lock = threading.Lock()
    body = long_body()

    def flood():
        while not stop.is_set():
            st = request(port, "POST", "/predict", body)
            with lock:
                counts["sent"] += 1
                counts[str(st) if st in (200, 429) else "other"] += 1

    th = [threading.Thread(target=flood) for _ in range(args.flood)]
    for t in th:
        t.start()
    time.sleep(1.5)
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    health, metrics, bad = [], [], 0
    while time.monotonic() - t0 < args.seconds:
        a = time.monotonic()
        bad += request(port, "GET", "/health") != 200
        health.append(time.monotonic() - a)
        a = time.monotonic()
        bad += request(port, "GET", "/metrics") != 200
        metrics.append(time.monotonic() - a)
        time.sleep(0.05)
    cores = (cpu_seconds(p.pid) - c0) / (time.monotonic() - t0)
    stop.set()
    for s in loris:
        s.close()
    for t in th:
        t.join()
    p.send_signal(signal.SIGTERM)
    p.wait()
    ms = lambda v: f"p50 {1000 * pct(v, .5):.1f} ms, p99 {1000 * pct(v, .99):.1f} ms, max {1000 * max(v):.1f} ms"
    print(f"{args.loris} slowloris connections + {args.flood} clients of long inputs, {args.seconds:g} s:")
    print(f"  /health  ({len(health)} tries): {ms(health)}")
    print(f"  /metrics ({len(metrics)} tries): {ms(metrics)}")
    print(f"  not 200: {bad}; flood: {counts['sent']} requests, {counts['200']} x 200, {counts['429']} x 429, "
          f"{counts['other']} other; server CPU {cores:.2f} cores")


def sigterm(args):
    p, port = start(args, ["--shutdown-grace", str(args.grace)])
    body = long_body()
    res = [None] * 64

    def one(i):
        res[i] = request(port, "POST", "/predict", body, timeout=300)

    th = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in th:
        t.start()
    time.sleep(2)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    for t in th:
        t.join()
    rc = p.wait()
    secs = time.monotonic() - t0
    n200, n503 = res.count(200), res.count(503)
    print(f"SIGTERM with 64 long requests in (--shutdown-grace {args.grace}): {n200} x 200, {n503} x 503, "
          f"{64 - n200 - n503} without an HTTP answer; exit {rc} after {secs:.2f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bertc")
    ap.add_argument("--model", default="models/minilm-sst2")
    ap.add_argument("--loris", type=int, default=700)
    ap.add_argument("--flood", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--grace", type=int, default=1)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    slowloris(args)
    sigterm(args)


if __name__ == "__main__":
    main()
