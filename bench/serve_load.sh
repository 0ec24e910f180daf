#!/usr/bin/env bash
# Load and fault run for `bertc serve` (figures, never pass/fail). Needs wrk and curl (Debian packages).
#   bash bench/serve_load.sh [MODEL_DIR]      (default: the embedded sst2-small)
# Prints wrk's requests/s and latency distribution, non-2xx counts, the server's RSS before and after, and what
# each fault did; the server must answer /health after every fault.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BERTC_BIN:-build/bertc}
MODEL=${1:-}
DUR=${DUR:-15s}
CONN=${CONN:-32}
OUT=bench/out/serve
mkdir -p "$OUT"
args=(serve --port 0)
[ -n "$MODEL" ] && args+=(--model "$MODEL")
"$BIN" "${args[@]}" 2> "$OUT/server.err" &
PID=$!
for _ in $(seq 200); do grep -q listening "$OUT/server.err" 2>/dev/null && break; sleep 0.05; done
URL=$(grep -o 'http://[0-9.:]*' "$OUT/server.err")
rss() { awk '/VmRSS/ {print $2 " kB"}' /proc/$PID/status; }
health() { printf '%s' "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")"; }
echo "server: $(head -1 "$OUT/server.err")"
echo "RSS at start: $(rss)"

cat > "$OUT/predict.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs": "it \'s a charming and often affecting journey . "}'
EOF
echo; echo "== warm-up 3 s"; wrk -t2 -c"$CONN" -d3s -s "$OUT/predict.lua" "$URL/predict" > /dev/null
echo "RSS after warm-up: $(rss)"
echo; echo "== load: wrk -t2 -c$CONN -d$DUR /predict (one sentence per request)"
wrk -t2 -c"$CONN" -d"$DUR" --latency -s "$OUT/predict.lua" "$URL/predict" | tee "$OUT/wrk.txt" |
  grep -E "Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors|requests in"
echo "RSS after load: $(rss)"
echo; echo "== load again (RSS must not grow)"
wrk -t2 -c"$CONN" -d"$DUR" -s "$OUT/predict.lua" "$URL/predict" | grep -E "Requests/sec|Non-2xx|Socket errors"
echo "RSS after second load: $(rss)"

echo; echo "== faults (each followed by /health)"
printf '%s' '{"inputs": ' > "$OUT/bad.json"
echo "malformed JSON: $(curl -s -o /dev/null -w '%{http_code}' -d @"$OUT/bad.json" "$URL/predict"); health $(health)"
head -c 3000000 /dev/zero | tr '\0' 'a' > "$OUT/big.txt"
echo "body over the limit (3 MB): $(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$OUT/big.txt" "$URL/predict"); health $(health)"
python3 - "$URL" <<'EOF'
import socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
stalled = []
for _ in range(20):   # half requests that stall
    s = socket.create_connection((u.hostname, u.port)); s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in"); stalled.append(s)
for _ in range(50):   # clients that vanish mid-request
    s = socket.create_connection((u.hostname, u.port)); s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n{\"inputs\":"); s.close()
t = time.time()
s = socket.create_connection((u.hostname, u.port)); s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print("20 stalled + 50 vanished clients: /health answered", s.recv(64).split(b"\r\n")[0].decode(), "in %.1f ms" % ((time.time() - t) * 1e3))
for s in stalled: s.close()
EOF
long=$(python3 -c "print('word ' * 2000)")
for trunc in false true; do
  printf '{"inputs": "%s", "truncate": %s}' "$long" "$trunc" > "$OUT/long-$trunc.json"
  codes=$(seq 100 | xargs -P 100 -I{} curl -s -o /dev/null -w '%{http_code}\n' -d @"$OUT/long-$trunc.json" "$URL/predict" | sort | uniq -c | tr '\n' ' ')
  echo "100 concurrent 10,000-character inputs, truncate=$trunc: $codes; health $(health)"
done
echo "RSS after faults: $(rss)"

echo; echo "== SIGTERM during load"
wrk -t2 -c"$CONN" -d4s -s "$OUT/predict.lua" "$URL/predict" > "$OUT/wrk-term.txt" 2>&1 &
WRK=$!
sleep 1.5
kill -TERM $PID
wait $PID; echo "server exit status: $?"
wait $WRK
grep -E "requests in|Non-2xx|Socket errors" "$OUT/wrk-term.txt"
tail -2 "$OUT/server.err"
