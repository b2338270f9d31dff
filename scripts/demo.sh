#!/usr/bin/env bash
# Runs everything on the local machine: a local Mosquitto broker, the defender-detect service
# and the Linux agent (defender-agent) reporting this host's real metrics every few
# seconds. Shows the reports being accepted, then creates a security profile through
# the AWS API (`aws iot ... --endpoint-url`) and shows the violation it raises.
#
# Usage: scripts/demo.sh [SECONDS]   (default 60; Ctrl-C stops earlier)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DEFENDER_BUILD_DIR:-$root/build}
duration=${1:-60}
work=$(mktemp -d /tmp/defender-demo-XXXXXX)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing what is missing and building"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target defender-agent defender-detect >/dev/null
agent=$(find "$build" -type f -name defender-agent -perm -u+x | head -1)
detect=$(find "$build" -type f -name defender-detect -perm -u+x | head -1)

broker_port=$(free_port)
http_port=$(free_port)
say "Starting Mosquitto on 127.0.0.1:$broker_port"
cat >"$work/mosquitto.conf" <<EOF
listener $broker_port 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
EOF
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$mosquitto_bin" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
wait_port "$broker_port"

say "Starting defender-detect (MQTT 127.0.0.1:$broker_port, API http://127.0.0.1:$http_port)"
"$detect" serve --broker "127.0.0.1:$broker_port" --db "$work/detect.db" \
    --http "127.0.0.1:$http_port" --throttle-seconds 0 >"$work/detect.log" 2>&1 &
pids+=($!)
wait_port "$http_port"

say "Starting defender-agent for thing demo-gateway (a report every 5 s)"
: >"$work/agent.log" # created before tail follows it (the agent opens it only once started)
"$agent" --endpoint "127.0.0.1:$broker_port" --thing demo-gateway --period 5 \
    --state-dir "$work" --log-level info >"$work/agent.log" 2>&1 &
pids+=($!)
tail -n +1 -f --pid="$!" "$work/agent.log" | sed -u 's/^/  agent: /' &
pids+=($!)

export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1
aws_iot() { aws iot --endpoint-url "http://127.0.0.1:$http_port" "$@"; }

sleep 12
say "Datapoints stored by the service (aws iot list-metric-values)"
now=$(date +%s)
aws_iot list-metric-values --thing-name demo-gateway \
    --metric-name aws:num-established-tcp-connections \
    --start-time $((now - 600)) --end-time $((now + 60)) --output table || true

say "Creating a security profile: at most 0 established TCP connections (this host has more)"
aws_iot create-security-profile --security-profile-name demo-no-connections \
    --behaviors '[{"name":"no-connections","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"less-than-equals","value":{"count":0},"consecutiveDatapointsToAlarm":1,"consecutiveDatapointsToClear":1}}]' \
    --output json | sed 's/^/  /'
account_arn=$(aws_iot describe-security-profile --security-profile-name demo-no-connections \
    --query securityProfileArn --output text | sed 's#:securityprofile/.*##')
aws_iot attach-security-profile --security-profile-name demo-no-connections \
    --security-profile-target-arn "$account_arn:all/things"

sleep 12
say "Active violations (aws iot list-active-violations)"
aws_iot list-active-violations --output table || true

say "Running for ${duration}s in all; reports keep coming (Ctrl-C to stop)"
sleep "$((duration > 30 ? duration - 30 : 1))"
say "Counters of the service"
curl -s "http://127.0.0.1:$http_port/service/counters" || true
echo
