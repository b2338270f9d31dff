#!/bin/sh
# What Rules Detect adds to defender-detect's ingestion, end to end: a loopback Mosquitto,
# the service pinned to CPU 0, bench/detect's load generator (10,000 things) at 20,000
# reports/s; the service's CPU time per report without profiles, then with 10 profiles of 10
# behaviors each on all things, then with one profile of 100 behaviors and 1,000 set elements.
#   bench/rules/run.sh BUILD_DIR [SECONDS]
set -eu
BUILD=${1:?usage: run.sh BUILD_DIR [SECONDS]}
SECS=${2:-10}
DETECT=$(find "$BUILD" -type f -name defender-detect -perm -u+x | head -n 1)
LOADGEN=$(find "$BUILD" -type f -name detect_loadgen -perm -u+x | head -n 1)
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$DETECT" ] && [ -x "$LOADGEN" ] || { echo "build defender-detect and detect_loadgen first"; exit 1; }
DIR=$(mktemp -d /tmp/rules-bench-XXXXXX)
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
taskset -c 0 "$DETECT" serve --broker "127.0.0.1:$PORT" --db "$DIR/detect.db" \
    --http "127.0.0.1:$HTTP" --throttle-seconds 0 --log-level warn \
    --max-profiles-per-target 10 > "$DIR/detect.log" 2>&1 &
SPID=$!
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$HTTP/service/health" | grep -q '"mqttConnected":true' && break
    sleep 0.1
done
API="http://127.0.0.1:$HTTP"
ALL="securityProfileTargetArn=arn:aws:iot:us-east-1:123456789012:all/things"
cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$SPID/stat"; }
BASE=1000000
phase() { # name -> prints us/report, sets US
    name=$1
    BASE=$((BASE + 1000000))
    before=$(cpu)
    "$LOADGEN" --port "$PORT" --things 10000 --rate 20000 --duration "$SECS" --base-id "$BASE" > "$DIR/out"
    sleep 0.5
    after=$(cpu)
    n=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$DIR/out")
    US=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.2f", (a-b)*1e6/n }')
    echo "$name: $n reports accepted, service CPU $US us/report"
}
profile() { # name variant
    curl -sf -X POST "$API/security-profiles/$1" -d @- > /dev/null <<JSON
{"behaviors":[
 {"name":"bi","metric":"aws:all-bytes-in","criteria":{"comparisonOperator":"less-than","value":{"count":1000000000$2},"durationSeconds":300}},
 {"name":"bo","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","value":{"count":1000000000},"durationSeconds":900,"consecutiveDatapointsToAlarm":2}},
 {"name":"pi","metric":"aws:all-packets-in","criteria":{"comparisonOperator":"less-than","value":{"count":1000000000}}},
 {"name":"po","metric":"aws:all-packets-out","criteria":{"comparisonOperator":"less-than","value":{"count":1000000000},"durationSeconds":3600}},
 {"name":"nt","metric":"aws:num-listening-tcp-ports","criteria":{"comparisonOperator":"less-than","value":{"count":100000}}},
 {"name":"nu","metric":"aws:num-listening-udp-ports","criteria":{"comparisonOperator":"less-than","value":{"count":100000}}},
 {"name":"ne","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"less-than","value":{"count":100000}}},
 {"name":"tp","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"not-in-port-set","value":{"ports":[1,2,3,4,5]}}},
 {"name":"up","metric":"aws:listening-udp-ports","criteria":{"comparisonOperator":"not-in-port-set","value":{"ports":[23,69,2323]}}},
 {"name":"ip","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"not-in-cidr-set","value":{"cidrs":["203.0.113.0/24","2001:db8:ffff::/48","192.0.2.1"]}}}],
 "alertTargets":{"SNS":{"alertTargetArn":"arn:aws:sns:us-east-1:123456789012:bench","roleArn":"arn:aws:iam::123456789012:role/bench"}}}
JSON
}

targets() { # PUT|DELETE profiles...
    m=$1; shift
    for p in "$@"; do curl -sf -X "$m" "$API/security-profiles/$p/targets?$ALL" > /dev/null; done
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }

# Phases alternate with and without the profiles attached, twice; the minimum of each is
# kept, so that a burst of other work on the machine does not decide the figure.
echo "== warm-up (10,000 things)"
"$LOADGEN" --port "$PORT" --things 10000 --rate 5000 --duration 2 --base-id 1 > /dev/null
TENP="p0 p1 p2 p3 p4 p5 p6 p7 p8 p9"
for p in $TENP; do profile "$p" "${p#p}"; done
python3 - "$API" <<'PY'
import json, sys, urllib.request
b = []
for i in range(100):
    if i % 2 == 0:
        b.append({"name": "p%d" % i, "metric": "aws:listening-tcp-ports", "criteria": {
            "comparisonOperator": "not-in-port-set", "value": {"ports": [60000 + i * 10 + k for k in range(10)]}}})
    else:
        b.append({"name": "c%d" % i, "metric": "aws:destination-ip-addresses", "criteria": {
            "comparisonOperator": "not-in-cidr-set", "value": {"cidrs": ["198.51.%d.%d/32" % (i, k) for k in range(10)]}}})
req = urllib.request.Request(sys.argv[1] + "/security-profiles/big", data=json.dumps({"behaviors": b}).encode(), method="POST")
urllib.request.urlopen(req).read()
PY
NONE=1e9; TEN=1e9; BIG=1e9
for round in 1 2; do
    phase "round $round, no profile attached"; NONE=$(min "$NONE" "$US")
    targets PUT $TENP
    phase "round $round, 10 profiles x 10 behaviors on all things"; TEN=$(min "$TEN" "$US")
    targets DELETE $TENP
    targets PUT big
    phase "round $round, 1 profile of 100 behaviors and 1,000 set elements"; BIG=$(min "$BIG" "$US")
    targets DELETE big
done
echo "== minimum service CPU per report: none $NONE us, 10x10 $TEN us, 100 behaviors $BIG us"
awk -v a="$NONE" -v b="$TEN" 'BEGIN { printf "10 profiles x 10 behaviors: evaluation adds %.1f%% to the ingestion cost (figure: at most 20%%)\n", (b-a)*100/a }'
awk -v a="$NONE" -v b="$BIG" 'BEGIN { printf "100 behaviors, 1,000 set elements: evaluation adds %.1f%%\n", (b-a)*100/a }'
echo "== rules counters"
curl -s "$API/rules/counters"; echo
