#!/bin/sh
# defender-detect benchmark: 10,000 simulated things on a loopback Mosquitto.
#   bench/detect/run_bench.sh BUILD_DIR [SECONDS [latency]]
# First a baseline: the 10,000 reports/s phase against detect_echo_responder, which answers
# each report at once without validating or storing it; then the service. With "latency"
# only the baseline, the warm-up and the 10,000 reports/s phase run (on a fresh database).
# BUILD_DIR holds defender-detect (service/), detect_loadgen and detect_echo_responder
# (bench/detect/).
# CPU placement: the service is pinned to CPU 0 (taskset -c 0: all its threads share one
# core); the broker and the load generator run unpinned, so on a 2-CPU machine they share
# both CPUs with it. The CPU time of the service, the broker and the load generator per phase
# is printed, so the service's per-core capacity can be read off even when the other two
# share the machine with it. The service runs with its defaults (group commit with
# --batch-linger-us 500), throttling off, synchronous=FULL.
set -eu
BUILD=${1:?usage: run_bench.sh BUILD_DIR [SECONDS]}
SECS=${2:-10}
ONLY=${3:-}
DETECT=$(find "$BUILD" -type f -name defender-detect -perm -u+x | head -n 1)
LOADGEN=$(find "$BUILD" -type f -name detect_loadgen -perm -u+x | head -n 1)
ECHO=$(find "$BUILD" -type f -name detect_echo_responder -perm -u+x | head -n 1)
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$DETECT" ] && [ -x "$LOADGEN" ] && [ -x "$ECHO" ] ||
    { echo "build defender-detect, detect_loadgen and detect_echo_responder first"; exit 1; }
DIR=$(mktemp -d /tmp/detect-bench-XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(free_port); HTTP=$(free_port)
cat > "$DIR/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
set_tcp_nodelay true
CONF
"$MOSQ" -c "$DIR/mosquitto.conf" > "$DIR/mosquitto.log" 2>&1 &
MPID=$!
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; kill "$MPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
sleep 0.3
start_service() {
    rm -f "$DIR"/detect.db*
    taskset -c 0 "$DETECT" serve --broker "127.0.0.1:$PORT" --db "$DIR/detect.db" \
        --http "127.0.0.1:$HTTP" --throttle-seconds 0 --log-level warn > "$DIR/detect.log" 2>&1 &
    SPID=$!
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$HTTP/service/health" | grep -q '"mqttConnected":true' && break
        sleep 0.1
    done
    sleep 0.2
}
# Baseline, same broker and generator: a responder that answers every report at once
# (no validation, no storage; bench/detect/echo_responder.c), on the same CPU as the
# service. What it measures is the latency of the broker, the generator and the machine.
echo "== baseline: echo responder (no validation, no storage), 10,000 reports/s, $SECS s"
taskset -c 0 "$ECHO" --port "$PORT" > "$DIR/echo.log" 2>&1 &
SPID=$!
sleep 0.3
"$LOADGEN" --port "$PORT" --things 10000 --rate 5000 --duration 2 --base-id 100000 > /dev/null
E0=$(sed 's/.*) //' "/proc/$SPID/stat" | awk '{print $12+$13}')
"$LOADGEN" --port "$PORT" --things 10000 --rate 10000 --duration "$SECS" --base-id 200000 | tee "$DIR/out"
E1=$(sed 's/.*) //' "/proc/$SPID/stat" | awk '{print $12+$13}')
awk -v t="$((E1 - E0))" -v n="$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$DIR/out")" \
    'BEGIN { if (n > 0) printf "echo responder CPU %.2f s = %.1f us/report\n", t/100, t*1e4/n }'
kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=

echo "== warm-up: 10,000 things, one report each"
start_service
RSS0=$(awk '/VmRSS/{print $2}' "/proc/$SPID/status")
"$LOADGEN" --port "$PORT" --things 10000 --rate 5000 --duration 2 --base-id 1000000 > /dev/null
sleep 1
RSS=$(awk '/VmRSS/{print $2}' "/proc/$SPID/status")
C=$(curl -s "http://127.0.0.1:$HTTP/service/counters")
T=$(echo "$C" | sed -n 's/.*"things":\([0-9]*\).*/\1/p')
B=$(echo "$C" | sed -n 's/.*"thing_state_bytes":\([0-9]*\).*/\1/p')
echo "things=$T thing_state_bytes=$B -> $((B / T)) bytes per thing; service RSS ${RSS0} kB -> ${RSS} kB"
cpu() { sed 's/.*) //' "/proc/$1/stat" | awk '{printf "%.2f", ($12+$13)/100}'; }
phase() { # name, loadgen args...
    name=$1; shift
    before=$(cpu "$SPID"); mb=$(cpu "$MPID")
    echo "== $name"
    "$LOADGEN" --port "$PORT" --things 10000 "$@" | tee "$DIR/out"
    after=$(cpu "$SPID"); ma=$(cpu "$MPID")
    n=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$DIR/out")
    lg=$(sed -n 's/^loadgen_cpu_s=//p' "$DIR/out")
    awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { if (n > 0) printf "service CPU %.2f s for %d reports = %.1f us/report -> %.0f reports/s per core\n", a-b, n, (a-b)*1e6/n, n/(a-b) }'
    awk -v a="$ma" -v b="$mb" -v l="$lg" -v n="$n" 'BEGIN { if (n > 0) printf "broker CPU %.2f s = %.1f us/report; load generator CPU %.2f s = %.1f us/report\n", a-b, (a-b)*1e6/n, l, l*1e6/n }'
}
[ -z "$ONLY" ] && phase "maximum rate, $SECS s (JSON, full short-key report, 13 datapoints)" --rate 0 --duration "$SECS" --base-id 2000000
[ -z "$ONLY" ] && phase "2,000 reports/s, $SECS s: latency publish -> ACCEPTED" --rate 2000 --duration "$SECS" --base-id 2500000
[ -z "$ONLY" ] && phase "5,000 reports/s, $SECS s: latency publish -> ACCEPTED" --rate 5000 --duration "$SECS" --base-id 2700000
phase "10,000 reports/s (half of 20,000), $SECS s: latency publish -> ACCEPTED" --rate 10000 --duration "$SECS" --base-id 3000000
[ -z "$ONLY" ] && phase "20,000 reports/s paced, $SECS s" --rate 20000 --duration "$SECS" --base-id 4000000
[ -z "$ONLY" ] && phase "CBOR, maximum rate, $SECS s" --rate 0 --duration "$SECS" --base-id 5000000 --format cbor
echo "== service counters"
curl -s "http://127.0.0.1:$HTTP/service/counters"; echo
