#!/usr/bin/env bash
# Webhook latency on this machine: starts `justtrades serve` (release) on a fresh embedded
# cluster, creates a user, token and recorder, then sends 1,000 sequential and 1,000
# concurrent (16 in flight) alerts. Prints and stores the results under bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jt-target}"
cargo build --release --quiet --bin justtrades --example webhook_load
bin="$CARGO_TARGET_DIR/release/justtrades"
load="$CARGO_TARGET_DIR/release/examples/webhook_load"

data=$(mktemp -d /tmp/jt-bench-XXXXXX)
chmod 711 "$data" # the cluster runs as `postgres` when we are root: it must enter the dir
port=${JT_BENCH_PORT:-18181}
export JT_DATA_DIR="$data" JT_BIND="127.0.0.1:$port" RUST_LOG=warn
"$bin" serve >"$data/serve.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

echo "bench password 123" | "$bin" user create --email bench@example.com >/dev/null 2>&1
token=$("$bin" token create --email bench@example.com --name bench 2>/dev/null)
recorder_url() {
    curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' \
        -d "{\"name\":\"bench $1\"}" "http://127.0.0.1:$port/api/v1/recorders" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["webhook_url"])'
}
url=$(recorder_url 0)
many=$(for i in $(seq 1 16); do recorder_url "$i"; done | paste -sd,)

"$load" "$url" 100 4 >/dev/null # warm-up
sequential=$("$load" "$url" 1000 1)
# One recorder: its signals apply one at a time by design (row lock), so this measures the
# queue; 16 recorders is the realistic spread of many strategies.
concurrent_one=$("$load" "$url" 1000 16)
concurrent_many=$("$load" "$many" 1000 16)
echo "sequential (1 recorder):        $sequential"
echo "concurrent 16 (1 recorder):     $concurrent_one"
echo "concurrent 16 (16 recorders):   $concurrent_many"
mkdir -p bench/results
printf '{"date":"%s","sequential":%s,"concurrent_one_recorder":%s,"concurrent_16_recorders":%s}\n' \
    "$(date -u +%FT%TZ)" "$sequential" "$concurrent_one" "$concurrent_many" \
    >"bench/results/webhook_latency-$(date -u +%Y%m%d-%H%M%S).json"
