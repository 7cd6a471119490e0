#!/usr/bin/env bash
# Sluice benchmarks: sluiced (SQS and EventBridge) side by side with the brokers people run
# instead (RabbitMQ classic and quorum queues, NATS JetStream, the fauxqs SQS emulator) and
# the HTTP limit of the machine (nginx), plus the pattern engine's pure-CPU figures, and its
# DynamoDB tables beside moto's server, its Lambda functions and its Step Functions
# workflows; see docs/benchmarks.md.
#
# Usage: bench/run.sh [quick|full]        (make bench-quick / make bench)
#   quick: one short run per row, a subset of the peer rows, 100k backlog: a few minutes
#   full:  3 runs per row (median and min-max reported), every peer row, 1M backlog, and
#          the DynamoDB RSS with 10M items (ddb-rss-10m): ~25 min + the ddb rows (see below)
# Builds nothing (make did), except the peer clients (bench/peers) when their client
# libraries were installed after the last configure. Environment overrides: BUILD (build
# dir), SLUICED, LOADGEN, NGINX, PATTERN_BENCH (sluice-bench-pattern; skipped if absent),
# PEER_RABBITMQ, PEER_NATS (the peer clients), SMTP_SINK (sluice-smtp-sink), RUNS (runs per
# row), BENCH_PEERS (the systems to run, e.g. "nginx nats"), BENCH_ROWS (sluiced's rows to
# run, e.g. "send sns-publish-batch ses-send"; default all; see SLUICED_ROWS), BENCH_TMPDIR
# (where data dirs go: keep it on the disk you want to measure, not tmpfs), DDB_ITEMS (the
# DynamoDB table the get-item and query rows read: 1M, quick 100k), MOTO_ITEMS (moto's: 20k),
# DDB_BIG_ITEMS (ddb-rss-10m's table: 10M), MOTO_SERVER (moto's server), SFN_STATES (the
# Step Functions Pass chain: 100), SFN_SIZE (execution input bytes: 256), SFN_PARK_N
# (executions sfn-park parks: quick 200k, full 1M).
#
# Every system is one function (bench_nginx, bench_sluiced, bench_rabbitmq, ...): a peer is
# added by writing bench_<peer> (start it on a free loopback port with a data dir under $tmp,
# run the loadgen or its client against it with --system <name>, stop it) and listing it in
# PEERS. Every process started is registered in `pids` and stopped by the exit trap, also on
# Ctrl-C. Results: one JSON line per measurement in bench/results/<ts>.jsonl (with "run":N),
# a table of medians on stdout with Sluice's ratios to each peer, and PNG plots in docs/bench/.
#
# Honesty rules: every row has a warm-up; the runs of all systems are interleaved (run 1 of
# every system, then run 2, ...) so drift of the machine hits all alike; the clients verify
# that every confirmed message was stored or consumed, and a run that lost messages makes the
# whole bench fail (exit 1) after the report.
set -euo pipefail

mode=${1:-full}
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
LOADGEN=${LOADGEN:-$BUILD/sluice-loadgen}
SLUICED=${SLUICED:-$BUILD/sluiced}
NGINX=${NGINX:-/usr/sbin/nginx}
PATTERN_BENCH=${PATTERN_BENCH:-$BUILD/sluice-bench-pattern}
SMTP_SINK=${SMTP_SINK:-$BUILD/sluice-smtp-sink}

# EV_*: the EventBridge runs, shorter in quick mode so that it stays about a minute.
# PEER_WORKLOADS: the rows run against each peer (quick mode keeps it to a smoke test).
case "$mode" in
  quick) DUR=3;  WARM=1; LAT_DUR=4;  LAT_WARM=1; BACKLOG=100000;  FSYNC_N=300
         EV_DUR=2;  EV_WARM=0.5; EV_LAT_DUR=3;  EV_LAT_WARM=0.5; RUNS=${RUNS:-1}
         PEER_WORKLOADS="send cycle latency1000"
         DDB_ITEMS=${DDB_ITEMS:-100000} ;;
  full)  DUR=6;  WARM=2; LAT_DUR=10; LAT_WARM=2; BACKLOG=1000000; FSYNC_N=2000
         EV_DUR=6;  EV_WARM=2;   EV_LAT_DUR=10; EV_LAT_WARM=2;  RUNS=${RUNS:-3}
         PEER_WORKLOADS="send send-batch cycle latency1000 latency10000"
         DDB_ITEMS=${DDB_ITEMS:-1000000} ;;
  *) echo "usage: $0 [quick|full]" >&2; exit 2 ;;
esac
CONNS=${CONNS:-32}
DDB_BIG_ITEMS=${DDB_BIG_ITEMS:-10000000}
MOTO_ITEMS=${MOTO_ITEMS:-20000}
read -r -a PEERS <<<"${BENCH_PEERS:-nginx sluiced rabbitmq nats fauxqs moto}"
# sluiced's rows: the SQS and EventBridge ones (per durability), memory, then SNS and SES,
# then DynamoDB (also run against moto where it is installed), then Lambda. ddb-rss-10m (load
# 10M items, read RSS) takes long: part of the full run, in quick mode only when named in
# BENCH_ROWS.
SLUICED_ROWS="send send-batch cycle put-events latency1000 latency10000 events-latency memory
  sns-publish sns-publish-batch sns-publish-batch-raw sns-latency sns-http-fanout ses-send
  ddb-put-item ddb-get-item ddb-query ddb-rss-10m
  lambda-invoke-python lambda-invoke-node lambda-invoke-c lambda-cold-c lambda-cold-python
  lambda-sqs-latency
  sfn-express sfn-standard sfn-saga sfn-park"
ROWS_SUBSET=${BENCH_ROWS:+1}   # a subset of the rows: the committed plots are left alone
if [ "$mode" = quick ]; then BENCH_ROWS=${BENCH_ROWS:-${SLUICED_ROWS/ ddb-rss-10m/}}; fi
BENCH_ROWS=${BENCH_ROWS:-$SLUICED_ROWS}
for r in $BENCH_ROWS; do
  case " $(echo $SLUICED_ROWS) " in *" $r "*) ;; *) echo "bench: unknown row '$r' in BENCH_ROWS (rows: $(echo $SLUICED_ROWS))" >&2; exit 2 ;; esac
done
want() { case " $(echo $BENCH_ROWS) " in *" $1 "*) return 0 ;; esac; return 1; }   # want ROW
PEER_RABBITMQ=${PEER_RABBITMQ:-$BUILD/sluice-peer-rabbitmq}
PEER_NATS=${PEER_NATS:-$BUILD/sluice-peer-nats}
RUN=1            # the run in progress (1..RUNS), recorded in every result line
LOST=0           # runs whose verification failed (lost or never-consumed messages)

for f in "$LOADGEN" "$SLUICED"; do
  [ -x "$f" ] || { echo "bench: $f not found; run 'make build' first" >&2; exit 1; }
done

mkdir -p "$root/bench/results" "${BENCH_TMPDIR:-$BUILD}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$root/bench/results/$stamp.jsonl"
tmp=$(mktemp -d "${BENCH_TMPDIR:-$BUILD}/bench.XXXXXX")
: > "$results"

# ------------------------------------------------------------------ process hygiene
pids=()
stop_pid() {   # stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL
  local pid=$1 _
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
forget_pid() { local p keep=(); for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; pids=("${keep[@]}"); }
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  # Last started first: clients before servers, a broker before the epmd it registered with.
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do stop_pid "${pids[i]}"; done
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {   # a loopback port nobody listens on
  local p
  while :; do
    p=$(( 20000 + RANDOM % 30000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

wait_http() {   # wait_http PID URL: until URL answers (10 s), or PID dies
  local pid=$1 url=$2 _
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || true; }

note() { echo "$*" | tee -a "$results" >/dev/null; }   # a JSON line of run.sh's own
tag_run() { sed "s/}\$/,\"run\":$RUN}/"; }             # adds "run":N to JSON lines

wait_port() {   # wait_port PID PORT SECONDS: until PORT accepts connections, or PID dies
  local i
  for (( i = 0; i < $3 * 10; i++ )); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# loadgen ARGS...: runs the load generator (in the background, so Ctrl-C and SIGTERM reach
# us and cleanup stops it) and appends its JSON line to the results.
loadgen() {
  local out="$tmp/loadgen.out" lg rc=0
  "$LOADGEN" "$@" > "$out" &
  lg=$!; pids+=("$lg")
  wait "$lg" || rc=$?
  forget_pid "$lg"
  if { [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; } || [ ! -s "$out" ]; then
    echo "bench: sluice-loadgen $* failed (exit $rc)" >&2
    return 0
  fi
  if grep -q '"missing":[1-9]' "$out"; then latency_verdict "$out" "$@"; fi
  if [ "$rc" -eq 3 ]; then   # its own verification failed (the SNS and SES rows)
    echo "bench: LOST MESSAGES: sluice-loadgen $1: $(grep -o '"verify":"[^"]*"' "$out")" >&2
    LOST=$((LOST + 1))
  fi
  tag_run < "$out" >> "$results"
}

# sqs_depth ENDPOINT QUEUE: messages in the queue, visible or in flight (empty if unknown).
sqs_depth() {
  local url
  url=$(curl -s --max-time 5 -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: AmazonSQS.GetQueueUrl' -d "{\"QueueName\":\"$2\"}" "$1/" |
    sed -n 's/.*"QueueUrl": *"\([^"]*\)".*/\1/p')
  [ -n "$url" ] || return 0
  curl -s --max-time 5 -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: AmazonSQS.GetQueueAttributes' \
    -d "{\"QueueUrl\":\"$url\",\"AttributeNames\":[\"ApproximateNumberOfMessages\",\"ApproximateNumberOfMessagesNotVisible\"]}" "$1/" |
    awk '{ n = 0; while (match($0, /"ApproximateNumberOfMessages(NotVisible)?": *"[0-9]+"/)) {
             s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); n += s; $0 = substr($0, RSTART + RLENGTH) }
           print n }'
}

# latency_verdict OUT LOADGEN_ARGS...: a loadgen latency line with messages never received
# gets a "verify": "saturated" when every one of them is accounted for — never acknowledged
# by the server within the run ("sent" counts the acknowledged ones) or still in the queue —
# (the server did not keep up with the rate: the percentiles are lower bounds), else
# "unverified" (some are neither: possibly lost; the peer clients tell the two apart by
# draining their queues).
latency_verdict() {
  local out=$1 ep="" q="bench-latency" missing queued expected sent unsent v
  shift
  while [ $# -gt 0 ]; do
    case "$1" in --endpoint) ep=$2; shift ;; --queue) q=$2; shift ;; esac
    shift
  done
  missing=$(grep -o '"missing":[0-9]*' "$out" | cut -d: -f2)
  expected=$(grep -o '"expected":[0-9]*' "$out" | cut -d: -f2)
  sent=$(grep -o '"sent":[0-9]*' "$out" | cut -d: -f2)
  unsent=$(( ${expected:-0} - ${sent:-${expected:-0}} ))
  queued=$([ -n "$ep" ] && sqs_depth "$ep" "$q" || true)
  if [ "$unsent" -ge "$missing" ] || { [ -n "$queued" ] && [ $((queued + unsent)) -ge "$missing" ]; }; then
    v="saturated: $missing measured messages not received within the tail, $unsent never acknowledged, ${queued:-?} still queued"
  else
    v="unverified: $missing measured messages not received, $unsent never acknowledged, ${queued:-?} queued"
  fi
  echo "bench: ${v%%:*}: $(grep -o '"system":"[^"]*"' "$out") latency: $v" >&2
  sed -i "s/}\$/,\"verify\":\"$v\"}/" "$out"
}

# peer BIN WORKLOAD ARGS...: one run of a peer client (bench/peers), like loadgen. Exit status
# 3 is the client's verification failing (messages lost or never consumed): kept in the
# results with its "verify" text, and counted in LOST.
peer() {
  local bin=$1 out="$tmp/peer.out" pp rc=0
  shift
  "$bin" "$@" > "$out" &
  pp=$!; pids+=("$pp")
  wait "$pp" || rc=$?
  forget_pid "$pp"
  if [ ! -s "$out" ]; then
    echo "bench: ${bin##*/} $* failed (exit $rc)" >&2
    return 0
  fi
  tag_run < "$out" >> "$results"
  if [ "$rc" -ne 0 ]; then
    echo "bench: LOST MESSAGES: ${bin##*/} $*: $(grep -o '"verify":"[^"]*"' "$out")" >&2
    LOST=$((LOST + 1))
  elif grep -q '"verify":"saturated' "$out"; then
    echo "bench: saturated: ${bin##*/} $*: $(grep -o '"verify":"[^"]*"' "$out")" >&2
  fi
}

# peer_workloads BIN SYSTEM SERVER_PID ARGS...: the PEER_WORKLOADS rows against a running peer.
peer_workloads() {
  local bin=$1 sys=$2 spid=$3 w
  shift 3
  for w in $PEER_WORKLOADS; do
    case "$w" in
      send|send-batch|cycle)
        peer "$bin" "$w" --system "$sys" --server-pid "$spid" --conns "$CONNS" \
          --duration "$DUR" --warmup "$WARM" --size 1024 "$@" ;;
      latency*)
        peer "$bin" latency --system "$sys" --server-pid "$spid" --conns "$CONNS" \
          --consumers 4 --rate "${w#latency}" --duration "$LAT_DUR" --warmup "$LAT_WARM" \
          --size 1024 "$@" ;;
    esac
  done
}

# ------------------------------------------------------------------ machine
machine() {
  local cpu kernel fs commit load
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  kernel=$(uname -r)
  fs=$(df -T "$tmp" | awk 'NR == 2 {print $2}')
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
  load=$(cut -d' ' -f1 /proc/loadavg)
  note "{\"system\":\"machine\",\"workload\":\"info\",\"mode\":\"$mode\",\"date\":\"$stamp\",\"commit\":\"$commit\",\"nproc\":$(nproc),\"cpu\":\"${cpu//\"/}\",\"kernel\":\"$kernel\",\"fs\":\"$fs\",\"mem_kib\":$(awk '/^MemTotal:/ {print $2}' /proc/meminfo),\"loadavg_at_start\":$load}"
  echo "== machine: $(nproc) CPUs ($cpu), kernel $kernel, data dirs on $fs ($tmp), commit $commit" >&2
  if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bench: warning: load average is $load before starting; the numbers will be noisy" >&2
  fi
  loadgen fsync --dir "$tmp" --count "$FSYNC_N"
}

# ------------------------------------------------------------------ nginx
bench_nginx() {
  [ -x "$NGINX" ] || { echo "bench: $NGINX not found, skipping the nginx baseline" >&2; return 0; }
  local port dir=$tmp/nginx pid
  port=$(free_port)
  mkdir -p "$dir"
  sed -e "s#@PORT@#$port#g" -e "s#@DIR@#$dir#g" "$root/bench/nginx.conf.in" > "$dir/nginx.conf"
  echo "== nginx on 127.0.0.1:$port" >&2
  "$NGINX" -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log" &
  pid=$!; pids+=("$pid")
  wait_http "$pid" "http://127.0.0.1:$port/" || { echo "bench: nginx did not start" >&2; cat "$dir/nginx-error.log" >&2; return 1; }
  # The worker does the work (the master's CPU time does not include it).
  local worker
  worker=$(ps -o pid= --ppid "$pid" | head -1 | tr -d ' ')
  loadgen post --system nginx --url "http://127.0.0.1:$port/" --conns "$CONNS" \
    --duration "$DUR" --warmup "$WARM" --size 1024 --server-pid "${worker:-$pid}"
  loadgen post --system nginx --url "http://127.0.0.1:$port/" --conns "$CONNS" \
    --duration "$DUR" --warmup "$WARM" --size 10240 --server-pid "${worker:-$pid}"
  if command -v wrk >/dev/null; then   # cross-check of the load generator itself
    printf 'wrk.method = "POST"\nwrk.body = string.rep("a", 1024)\nwrk.headers["Content-Type"] = "application/octet-stream"\n' > "$dir/post.lua"
    local rps w
    wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$dir/post.lua" "http://127.0.0.1:$port/" > "$dir/wrk.out" &
    w=$!; pids+=("$w"); wait "$w" || true; forget_pid "$w"
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk.out")
    [ -n "$rps" ] && note "{\"system\":\"nginx\",\"workload\":\"post-wrk\",\"conns\":$CONNS,\"seconds\":$DUR,\"requests_per_s\":$rps,\"messages_per_s\":$rps,\"errors\":0,\"size\":1024,\"run\":$RUN}"
  fi
  stop_pid "$pid"; forget_pid "$pid"
}

# ------------------------------------------------------------------ sluiced
SLUICED_PID=
SLUICED_PORT=
start_sluiced() {   # start_sluiced DURABILITY NAME [MORE SLUICED ARGS...]
  local dir=$tmp/sluiced-$2 d=$1
  shift 2
  SLUICED_PORT=$(free_port)
  mkdir -p "$dir/data"
  echo "== sluiced --durability $d${*:+ $*} on 127.0.0.1:$SLUICED_PORT ($(basename "$dir"))" >&2
  "$SLUICED" --bind 127.0.0.1 --port "$SLUICED_PORT" --data-dir "$dir/data" --durability "$d" \
    "$@" 2> "$dir/sluiced.log" &
  SLUICED_PID=$!; pids+=("$SLUICED_PID")
  if ! wait_http "$SLUICED_PID" "http://127.0.0.1:$SLUICED_PORT/_sluice/health"; then
    echo "bench: sluiced did not start; its log:" >&2; tail -20 "$dir/sluiced.log" >&2
    return 1
  fi
}
# Stops the server, removes its data and waits for the disk to settle, so that the next
# measurement does not pay for this one's writeback (a 1M-message backlog is GBs of it).
stop_sluiced() {
  stop_pid "$SLUICED_PID"; forget_pid "$SLUICED_PID"; SLUICED_PID=
  rm -rf "$tmp"/sluiced-*/data
  sync
}

sqs() {   # sqs WORKLOAD SYSTEM [ARGS...]: the loadgen against the running sluiced
  local w=$1 sys=$2; shift 2
  loadgen "$w" --system "$sys" --endpoint "http://127.0.0.1:$SLUICED_PORT" \
    --server-pid "$SLUICED_PID" "$@"
}

# Memory: idle RSS of a fresh server, then RSS with BACKLOG messages waiting in a queue.
bench_sluiced_memory() {
  start_sluiced full memory || return 0
  sleep 1
  local idle rss hwm
  idle=$(status_kib "$SLUICED_PID" VmRSS)
  note "{\"system\":\"sluiced-full\",\"workload\":\"idle-rss\",\"rss_kib\":${idle:-null}}"
  sqs fill sluiced-full --conns "$CONNS" --count "$BACKLOG" --queue bench-backlog
  sleep 1
  rss=$(status_kib "$SLUICED_PID" VmRSS); hwm=$(status_kib "$SLUICED_PID" VmHWM)
  note "{\"system\":\"sluiced-full\",\"workload\":\"backlog-rss\",\"backlog\":$BACKLOG,\"rss_kib\":${rss:-null},\"hwm_kib\":${hwm:-null}}"
  stop_sluiced
}

# Throughput (and, with full durability, latency) of one durability mode. Every workload gets
# a fresh server and data dir: a workload is measured alone, not on top of the gigabytes the
# previous one left for the disk to write back.
bench_sluiced_mode() {
  local d=$1 sys=sluiced-$1
  fresh() { start_sluiced "$d" "$d"; }
  want send && fresh && { sqs send "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  want send-batch && fresh && { sqs send-batch "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  want cycle && fresh && { sqs cycle "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  # EventBridge: PutEvents of 10 ~1 KiB entries, one rule routing each to 3 queues, beside
  # 100 rules that never match (see bench/loadgen.c).
  want put-events && fresh && { sqs put-events "$sys" --conns "$CONNS" --duration "$EV_DUR" --warmup "$EV_WARM"; stop_sluiced; }
  if [ "$d" = full ]; then
    want latency1000 && fresh && {
      sqs latency "$sys" --rate 1000 --conns "$CONNS" --consumers 4 --queue bench-latency-1000 \
        --duration "$LAT_DUR" --warmup "$LAT_WARM"
      stop_sluiced
    }
    want latency10000 && fresh && {
      sqs latency "$sys" --rate 10000 --conns "$CONNS" --consumers 4 --queue bench-latency-10000 \
        --duration "$LAT_DUR" --warmup "$LAT_WARM"
      stop_sluiced
    }
    want events-latency && fresh && {
      sqs events-latency "$sys" --rate 1000 --conns "$CONNS" --consumers 4 \
        --duration "$EV_LAT_DUR" --warmup "$EV_LAT_WARM"
      stop_sluiced
    }
  fi
  return 0
}

# SNS and SES (issue 5), on the default durability (full), a fresh server per row:
#   sns-publish, sns-publish-batch: a topic with 10 SQS subscriptions, 5 of them with a
#     filter policy each message matches 2 of (bench/loadgen_sns.c); the queues are counted
#     afterwards. -raw: the same with RawMessageDelivery (no signed envelope per message).
#   sns-latency: open-loop Publish at 1000/s -> raw SQS subscription -> long-polling consumers.
#   sns-http-fanout: 100 HTTP subscriptions served by the load generator (confirmed through
#     their SubscribeURL) + one SQS subscription whose consumer's latency is reported.
#   ses-send: SendEmail to sluice-smtp-sink through --smtp-url, counted by the sink; skipped
#     while the server has no SES.
bench_sluiced_sns() {
  local sys=sluiced-full
  fresh() { start_sluiced full sns "$@"; }
  want sns-publish && fresh && {
    sqs sns-publish "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  want sns-publish-batch && fresh && {
    sqs sns-publish-batch "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  want sns-publish-batch-raw && fresh && {
    sqs sns-publish-batch "$sys" --raw --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  want sns-latency && fresh && {
    sqs sns-latency "$sys" --rate 1000 --conns "$CONNS" --consumers 4 --queue bench-sns-latency \
      --duration "$LAT_DUR" --warmup "$LAT_WARM"
    stop_sluiced
  }
  want sns-http-fanout && fresh && {
    sqs sns-http-fanout "$sys" --subs 100 --conns "$CONNS" --consumers 4 --duration "$DUR" \
      --warmup "$WARM"
    stop_sluiced
  }
  want ses-send && bench_ses "$sys"
  return 0
}

# ses-send: a fresh sluice-smtp-sink and a fresh sluiced sending to it.
bench_ses() {
  local sys=$1 port sink
  if [ ! -x "$SMTP_SINK" ]; then
    note "{\"system\":\"$sys\",\"workload\":\"skipped\",\"reason\":\"ses-send: $SMTP_SINK not built\"}"
    return 0
  fi
  if ! "$SLUICED" --help 2>&1 | grep -q -- '--ses-verify'; then
    note "{\"system\":\"$sys\",\"workload\":\"skipped\",\"reason\":\"ses-send: SES not available (sluiced has no --smtp-url/--ses-verify)\"}"
    return 0
  fi
  port=$(free_port)
  "$SMTP_SINK" --port "$port" > "$tmp/smtp-sink.out" 2> "$tmp/smtp-sink.log" &
  sink=$!; pids+=("$sink")
  if ! wait_port "$sink" "$port" 10; then
    echo "bench: sluice-smtp-sink did not start" >&2; cat "$tmp/smtp-sink.log" >&2
    stop_pid "$sink"; forget_pid "$sink"
    return 0
  fi
  start_sluiced full ses --smtp-url "smtp://127.0.0.1:$port" --ses-verify off && {
    sqs ses-send "$sys" --smtp-sink "127.0.0.1:$port" --conns "$CONNS" --duration "$DUR" \
      --warmup "$WARM"
    stop_sluiced
  }
  stop_pid "$sink"; forget_pid "$sink"
  echo "   sink: $(cat "$tmp/smtp-sink.out")" >&2
}

bench_sluiced() {
  bench_sluiced_mode full
  bench_sluiced_mode normal
  if [ "$RUN" = 1 ] && want memory; then bench_sluiced_memory; fi
  bench_sluiced_sns
  bench_sluiced_ddb
  bench_sluiced_lambda
  bench_sluiced_sfn
}

# ------------------------------------------------------------------ DynamoDB (issue 9)
# bench/loadgen_ddb.c's rows on --durability full, one table (pk S, sk N; 100 items of ~1 KiB
# per partition):
#   ddb-put-item: PutItem of new keys on a fresh server.
#   ddb-get-item, ddb-query: a fresh server loaded with DDB_ITEMS items by ddb-load
#     (BatchWriteItem x25, reported as the "ddb-load N" row), then GetItem of random keys and
#     Query of random partitions (100 items each) on it; RSS read after the load ("ddb-rss").
#   ddb-rss-10m: a fresh server loaded with DDB_BIG_ITEMS items, RSS read, short GetItem and
#     Query runs on that table, RSS (and its peak) read again. Run 1 only.
DDB_PORT=   # the server the ddb rows run against (sluiced or moto)
DDB_PID=
ddb() {   # ddb WORKLOAD SYSTEM [ARGS...]: the loadgen against that server
  local w=$1 sys=$2; shift 2
  loadgen "$w" --system "$sys" --endpoint "http://127.0.0.1:$DDB_PORT" --server-pid "$DDB_PID" "$@"
}
# ddb_reads SYSTEM ITEMS [SECONDS WARMUP]: the get-item and query rows against a table of
# ITEMS items.
ddb_reads() {
  local sys=$1 items=$2 dur=${3:-$DUR} warm=${4:-$WARM}
  want ddb-get-item && ddb ddb-get-item "$sys" --count "$items" --conns "$CONNS" --duration "$dur" --warmup "$warm"
  want ddb-query && ddb ddb-query "$sys" --count "$items" --conns "$CONNS" --duration "$dur" --warmup "$warm"
  return 0
}
# ddb_rss SYSTEM ITEMS WHEN: a "ddb-rss" line with the server's VmRSS and VmHWM now.
ddb_rss() {
  local rss hwm
  rss=$(status_kib "$DDB_PID" VmRSS); hwm=$(status_kib "$DDB_PID" VmHWM)
  note "{\"system\":\"$1\",\"workload\":\"ddb-rss\",\"items\":$2,\"when\":\"$3\",\"rss_kib\":${rss:-null},\"hwm_kib\":${hwm:-null},\"run\":$RUN}"
  echo "   sluiced RSS with $2 items ($3): $((${rss:-0} / 1024)) MiB, peak $((${hwm:-0} / 1024)) MiB" >&2
}
start_sluiced_ddb() { start_sluiced full "$1" && DDB_PORT=$SLUICED_PORT && DDB_PID=$SLUICED_PID; }
bench_sluiced_ddb() {
  local sys=sluiced-full t0
  want ddb-put-item && start_sluiced_ddb ddb && {
    ddb ddb-put-item "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  if want ddb-get-item || want ddb-query; then
    start_sluiced_ddb ddb && {
      ddb ddb-load "$sys" --conns "$CONNS" --count "$DDB_ITEMS" --timeout 3600
      sleep 1; ddb_rss "$sys" "$DDB_ITEMS" loaded
      ddb_reads "$sys" "$DDB_ITEMS"
      stop_sluiced
    }
  fi
  if [ "$RUN" = 1 ] && want ddb-rss-10m && start_sluiced_ddb ddb-big; then
    t0=$(date +%s)
    ddb ddb-load "$sys" --conns "$CONNS" --count "$DDB_BIG_ITEMS" --timeout 14400
    sleep 1; ddb_rss "$sys" "$DDB_BIG_ITEMS" loaded
    ddb_reads "$sys" "$DDB_BIG_ITEMS" 3 1
    ddb_rss "$sys" "$DDB_BIG_ITEMS" "after reads"
    stop_sluiced
    echo "   ddb-rss-10m took $(( $(date +%s) - t0 )) s" >&2
  fi
  return 0
}

# ------------------------------------------------------------------ Lambda (issue 7)
# bench/loadgen_lambda.c's rows, each on a fresh sluiced (--durability full) whose
# --lambda-concurrency (LAMBDA_CONCURRENCY, 64) is above the connections, so nothing is
# throttled and there are workers enough to keep both cores busy:
#   lambda-invoke-python, -node, -c: warm Invoke (RequestResponse, 1 KiB event) of a no-op
#     (bench/lambda/noop.py, bench/lambda/noop.mjs, examples/lambda-c/noop.c) on LAMBDA_CONNS
#     connections, so as many warm workers; a longer warm-up lets them all start first.
#   lambda-cold-c, lambda-cold-python: LAMBDA_COLD_N times, CreateFunction then the first
#     Invoke's response (a cold worker), then DeleteFunction.
#   lambda-sqs-latency: SendMessage at 100/s to a queue mapped to the C probe
#     (bench/lambda/sqs_probe.c): scheduled send -> the handler's start.
# The C functions are BUILD/lambda-c/*/bootstrap (CMake builds them with sluiced).
LAMBDA_CONNS=${LAMBDA_CONNS:-16}
LAMBDA_CONCURRENCY=${LAMBDA_CONCURRENCY:-64}
LAMBDA_COLD_N=${LAMBDA_COLD_N:-20}
# lambda_zip OUT NAME=FILE[:MODE]...: a function zip (Python's zipfile keeps the mode).
lambda_zip() {
  local out=$1; shift
  /usr/bin/python3 - "$out" "$@" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for spec in sys.argv[2:]:
        name, _, rest = spec.partition("=")
        path, _, mode = rest.partition(":")
        info = zipfile.ZipInfo(name)
        info.external_attr = (int(mode or "644", 8) | 0o100000) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read())
PY
}
bench_sluiced_lambda() {
  local sys=sluiced-full dir=$tmp/lambda warm=$(( WARM < 3 ? 3 : WARM )) zip rt h w
  want lambda-invoke-python || want lambda-invoke-node || want lambda-invoke-c ||
    want lambda-cold-c || want lambda-cold-python || want lambda-sqs-latency || return 0
  mkdir -p "$dir"
  lambda_zip "$dir/python.zip" "noop.py=$root/bench/lambda/noop.py"
  lambda_zip "$dir/node.zip" "noop.mjs=$root/bench/lambda/noop.mjs"
  for w in noop sqs-probe; do
    if [ -x "$BUILD/lambda-c/$w/bootstrap" ]; then
      lambda_zip "$dir/$w.zip" "bootstrap=$BUILD/lambda-c/$w/bootstrap:755"
    else
      note "{\"system\":\"$sys\",\"workload\":\"skipped\",\"reason\":\"lambda: $BUILD/lambda-c/$w/bootstrap not built\"}"
    fi
  done
  fresh() { start_sluiced full lambda --lambda-concurrency "$LAMBDA_CONCURRENCY"; }
  for w in python node c; do
    case $w in
      python) zip=$dir/python.zip; rt=python3.11; h=noop.handler ;;
      node) zip=$dir/node.zip; rt=nodejs20.x; h=noop.handler ;;
      c) zip=$dir/noop.zip; rt=provided.al2023; h=bootstrap ;;
    esac
    [ -f "$zip" ] || continue
    want "lambda-invoke-$w" && fresh && {
      sqs lambda-invoke "$sys" --zip "$zip" --runtime "$rt" --handler "$h" --conns "$LAMBDA_CONNS" \
        --duration "$DUR" --warmup "$warm"
      stop_sluiced
    }
    if [ "$w" != node ] && want "lambda-cold-$w" && fresh; then
      sqs lambda-cold "$sys" --zip "$zip" --runtime "$rt" --handler "$h" --count "$LAMBDA_COLD_N"
      stop_sluiced
    fi
  done
  [ -f "$dir/sqs-probe.zip" ] && want lambda-sqs-latency && fresh && {
    sqs lambda-sqs-latency "$sys" --zip "$dir/sqs-probe.zip" --runtime provided.al2023 \
      --handler bootstrap --rate 100 --conns 4 --queue bench-lambda-sqs --duration "$LAT_DUR" \
      --warmup "$LAT_WARM"
    stop_sluiced
  }
  return 0
}

# Lambda's targets (issue 7): warm invocations/s of the no-ops, the median cold start, and
# the p99 of SQS SendMessage -> handler start at 100 messages/s.
lambda_targets() {
  local w rt min
  for w in "python3.11 5000" "nodejs20.x 5000" "provided.al2023 15000"; do
    rt=${w% *}; min=${w#* }
    target "Lambda warm Invoke of a $rt no-op" "$(agg sluiced-full "invoke $rt" mps)" ">=" "$min" " /s"
  done
  target "Lambda cold start, C (create -> first response, p50)" "$(agg sluiced-full "cold provided.al2023" p50)" "<=" 50 " ms"
  target "Lambda cold start, Python (create -> first response, p50)" "$(agg sluiced-full "cold python3.11" p50)" "<=" 150 " ms"
  target "p99 SQS SendMessage -> C handler start @100/s" "$(agg sluiced-full "lambda-sqs-lat @100/s" p99)" "<=" 10 " ms"
}

# ------------------------------------------------------------------ Step Functions (issue 8)
# bench/loadgen_sfn.c's rows, each on a fresh sluiced (--durability full), inputs of
# SFN_SIZE (256) bytes:
#   sfn-express: StartSyncExecution of an EXPRESS chain of SFN_STATES (100) Pass states on
#     CONNS connections; msgs/s = state transitions/s.
#   sfn-standard: the same chain as a STANDARD machine: every connection keeps 2 executions
#     running (StartExecution, then DescribeExecution of the oldest until it ended); msgs/s
#     = transitions/s of the executions seen SUCCEEDED in the window (a longer warm-up: an
#     execution takes seconds).
#   sfn-saga: open-loop StartSyncExecution at 100/s of an EXPRESS saga of four Task states,
#     each a C no-op function (BUILD/lambda-c/noop/bootstrap); p99 = scheduled start -> answer.
#   sfn-park: SFN_PARK_N executions started and parked in a Wait of a day; the server's RSS
#     before and after ("sfn-rss" line). Run 1 only. Full mode parks the target's 1M (about
#     8 minutes at ~2,200 starts/s); quick mode 200k (the RSS it adds is mostly SQLite's
#     page cache, which stops growing: a smaller run extrapolates it linearly, too high).
SFN_STATES=${SFN_STATES:-100}
SFN_SIZE=${SFN_SIZE:-256}
if [ "$mode" = quick ]; then SFN_PARK_N=${SFN_PARK_N:-200000}; else SFN_PARK_N=${SFN_PARK_N:-1000000}; fi
bench_sluiced_sfn() {
  local sys=sluiced-full dir=$tmp/sfn before after hwm
  fresh() { start_sluiced full sfn; }
  want sfn-express && fresh && {
    sqs sfn-express "$sys" --count "$SFN_STATES" --size "$SFN_SIZE" --conns "$CONNS" \
      --duration "$DUR" --warmup "$WARM"
    stop_sluiced
  }
  want sfn-standard && fresh && {
    sqs sfn-standard "$sys" --count "$SFN_STATES" --size "$SFN_SIZE" --conns "$CONNS" --batch 2 \
      --duration $(( DUR * 2 )) --warmup $(( WARM + 3 ))
    stop_sluiced
  }
  if want sfn-saga; then
    if [ -x "$BUILD/lambda-c/noop/bootstrap" ]; then
      mkdir -p "$dir"
      lambda_zip "$dir/noop.zip" "bootstrap=$BUILD/lambda-c/noop/bootstrap:755"
      fresh && {
        sqs sfn-saga "$sys" --zip "$dir/noop.zip" --runtime provided.al2023 --handler bootstrap \
          --rate 100 --conns 16 --size "$SFN_SIZE" --duration "$LAT_DUR" --warmup "$LAT_WARM"
        stop_sluiced
      }
    else
      note "{\"system\":\"$sys\",\"workload\":\"skipped\",\"reason\":\"sfn-saga: $BUILD/lambda-c/noop/bootstrap not built\"}"
    fi
  fi
  if [ "$RUN" = 1 ] && want sfn-park && fresh; then
    sleep 1; before=$(status_kib "$SLUICED_PID" VmRSS)
    sqs sfn-park "$sys" --count "$SFN_PARK_N" --size "$SFN_SIZE" --conns "$CONNS" --timeout 7200
    sleep 1; after=$(status_kib "$SLUICED_PID" VmRSS); hwm=$(status_kib "$SLUICED_PID" VmHWM)
    note "{\"system\":\"$sys\",\"workload\":\"sfn-rss\",\"executions\":$SFN_PARK_N,\"rss_before_kib\":${before:-null},\"rss_kib\":${after:-null},\"hwm_kib\":${hwm:-null},\"run\":$RUN}"
    echo "   sluiced RSS with $SFN_PARK_N parked executions: $((${after:-0} / 1024)) MiB (idle $((${before:-0} / 1024)) MiB)" >&2
    stop_sluiced
  fi
  return 0
}

# Step Functions' targets (issue 8). EXPRESS: transitions per second of sluiced's CPU (one
# core's worth: msgs / server CPU s) >= 1M; STANDARD transitions/s >= nginx's POST 1 KiB;
# the saga's p99 at 100/s <= 20 ms; RSS with 1M parked executions <= 300 MiB, extrapolated
# linearly from the sfn-park run (idle RSS + 1M x the bytes each parked execution added).
sfn_targets() {
  local cpu l n before after per
  cpu=$(agg sluiced-full "sfn-express ${SFN_STATES} Pass" cpu)
  target "SFN EXPRESS Pass transitions per CPU-second" \
    "$([ -n "$cpu" ] && awk -v c="$cpu" 'BEGIN { if (c > 0) printf "%.0f", 100000 / c }')" ">=" 1000000 " /s"
  target "SFN STANDARD durable transitions/s vs nginx" \
    "$(ratio "$(agg sluiced-full "sfn-standard ${SFN_STATES} Pass" mps)" || true)" ">=" 1 x
  target "p99 SFN saga of 4 C Lambda tasks @100/s" "$(agg sluiced-full "sfn-saga-lat @100/s" p99)" "<=" 20 " ms"
  l=$(find_line sluiced-full sfn-rss)
  n=$(jget "$l" executions); before=$(jget "$l" rss_before_kib); after=$(jget "$l" rss_kib)
  if [ -n "$n" ] && [ -n "$before" ] && [ -n "$after" ]; then
    per=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
    target "SFN RSS, 1M parked (from $n: $per B each)" \
      "$(awk -v b="$before" -v p="$per" 'BEGIN { printf "%.0f", (b * 1024 + 1000000 * p) / 1048576 }')" "<=" 300 " MiB"
  else
    target "SFN RSS with 1M parked executions" "" "<=" 300 " MiB"
  fi
}

# ------------------------------------------------------------------ moto
# moto's server (`moto_server`, Python; pip install 'moto[server]'), in memory, as it starts
# by default (its werkzeug request log goes to a file), driven by the same load generator as
# sluiced: ddb-put-item on a fresh process, ddb-get-item and ddb-query on a fresh process
# loaded with MOTO_ITEMS items, a smaller table than sluiced's: moto loads ~4,500 items/s,
# holds them as Python objects (~300 MB for 100k), and its Query reads every item of the
# table (moto 5.x, models/table.py), so with 100k items no Query of 32 in flight completed
# within a 6 s window. A Query still returns 100 items.
MOTO_SERVER=${MOTO_SERVER:-$(command -v moto_server || true)}
MOTO_PID=
start_moto() {
  local port
  port=$(free_port)
  "$MOTO_SERVER" -H 127.0.0.1 -p "$port" > "$tmp/moto.log" 2>&1 &
  MOTO_PID=$!; pids+=("$MOTO_PID")
  if ! wait_port "$MOTO_PID" "$port" 30; then
    echo "bench: moto_server did not start; its log:" >&2; tail -20 "$tmp/moto.log" >&2
    stop_moto
    return 1
  fi
  DDB_PORT=$port; DDB_PID=$MOTO_PID
}
stop_moto() { stop_pid "$MOTO_PID"; forget_pid "$MOTO_PID"; MOTO_PID=; }

bench_moto() {
  want ddb-put-item || want ddb-get-item || want ddb-query || return 0
  if [ -z "$MOTO_SERVER" ] || [ ! -x "$MOTO_SERVER" ]; then
    echo "bench: moto_server not found (pip install 'moto[server]'), no DynamoDB side-by-side" >&2
    note "{\"system\":\"moto\",\"workload\":\"skipped\",\"reason\":\"moto_server not installed: no DynamoDB side-by-side row\"}"
    return 0
  fi
  echo "== moto ($MOTO_SERVER)" >&2
  want ddb-put-item && start_moto && {
    ddb ddb-put-item moto --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_moto; }
  if want ddb-get-item || want ddb-query; then
    start_moto && {
      ddb ddb-load moto --conns "$CONNS" --count "$MOTO_ITEMS" --timeout 3600
      ddb_reads moto "$MOTO_ITEMS"
      stop_moto
    }
  fi
  return 0
}

# ------------------------------------------------------------------ peer clients
# bench/peers is built only where librabbitmq / libnats were found at configure time; `make
# bench` installs them after building, so the first run on a fresh machine builds them here.
build_peers() {
  [ -x "$PEER_RABBITMQ" ] && [ -x "$PEER_NATS" ] && return 0
  pkg-config --exists librabbitmq libnats 2>/dev/null || return 0
  [ -f "$BUILD/CMakeCache.txt" ] || return 0
  echo "== building the peer clients in $BUILD" >&2
  cmake -S "$root" -B "$BUILD" >/dev/null &&
    cmake --build "$BUILD" --target sluice-peer-rabbitmq sluice-peer-nats >/dev/null ||
    echo "bench: building the peer clients failed" >&2
}

# ------------------------------------------------------------------ RabbitMQ
# One node per queue type, started from the packaged scripts but entirely in $tmp: its own
# epmd on a free port (ERL_EPMD_PORT), a unique node name, Mnesia and logs under its dir, no
# plugins (so no management listener), AMQP and distribution bound to 127.0.0.1. The broker
# runs with its defaults otherwise. /usr/lib/rabbitmq/bin/rabbitmq-server is the script that
# /usr/sbin/rabbitmq-server runs after switching to the rabbitmq user: run directly, the node
# belongs to us and writes only where we say.
RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_ENV=()
RMQ_PORT=
RMQ_PIDS=()
RMQ_BEAM=
RMQ_NODE=
start_rabbitmq() {   # start_rabbitmq NAME
  local dir=$tmp/rabbitmq-$1 epmd_port dist_port script beam epmd_pid
  mkdir -p "$dir"
  echo '[].' > "$dir/enabled_plugins"
  RMQ_PORT=$(free_port); dist_port=$(free_port); epmd_port=$(free_port)
  RMQ_NODE="sluicebench$$$1@localhost"
  RMQ_ENV=(HOME="$dir" RABBITMQ_NODENAME="$RMQ_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$RMQ_PORT" RABBITMQ_DIST_PORT="$dist_port" ERL_EPMD_PORT="$epmd_port"
    ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/none"
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/none.config" RABBITMQ_CONF_ENV_FILE="$dir/none.env"
    RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
  echo "== rabbitmq ($1) on 127.0.0.1:$RMQ_PORT (node $RMQ_NODE, epmd :$epmd_port)" >&2
  env "${RMQ_ENV[@]}" epmd -port "$epmd_port" -address 127.0.0.1 > "$dir/epmd.log" 2>&1 &
  epmd_pid=$!; pids+=("$epmd_pid")
  env "${RMQ_ENV[@]}" "$RMQ_BIN/rabbitmq-server" > "$dir/rabbitmq.log" 2>&1 &
  script=$!; pids+=("$script")
  RMQ_PIDS=("$epmd_pid" "$script")
  if ! wait_port "$script" "$RMQ_PORT" 90; then
    echo "bench: rabbitmq did not start; its log:" >&2; tail -20 "$dir/rabbitmq.log" >&2
    stop_rabbitmq
    return 1
  fi
  beam=$(ps -o pid= --ppid "$script" | tr -d ' ' | head -1)
  [ -n "$beam" ] && { pids+=("$beam"); RMQ_PIDS+=("$beam"); }
  RMQ_BEAM=${beam:-$script}
}
stop_rabbitmq() {
  local i
  # The orderly way first (it flushes queues to disk); the pids after it in any case.
  if [ ${#RMQ_ENV[@]} -gt 0 ]; then
    env "${RMQ_ENV[@]}" timeout 60 "$RMQ_BIN/rabbitmqctl" -q -n "$RMQ_NODE" stop >/dev/null 2>&1 &
    i=$!; pids+=("$i"); wait "$i" || true; forget_pid "$i"
  fi
  for (( i = ${#RMQ_PIDS[@]} - 1; i >= 0; i-- )); do stop_pid "${RMQ_PIDS[i]}"; forget_pid "${RMQ_PIDS[i]}"; done
  RMQ_PIDS=(); RMQ_ENV=()
  rm -rf "$tmp"/rabbitmq-*
  sync
}

bench_rabbitmq() {
  [ -x "$RMQ_BIN/rabbitmq-server" ] || { echo "bench: rabbitmq-server not installed, skipping" >&2; return 0; }
  [ -x "$PEER_RABBITMQ" ] || { echo "bench: $PEER_RABBITMQ not built (librabbitmq-dev missing?), skipping" >&2; return 0; }
  local kind
  for kind in classic quorum; do
    start_rabbitmq "$kind" || continue
    peer_workloads "$PEER_RABBITMQ" "rabbitmq-$kind" "$RMQ_BEAM" --url "127.0.0.1:$RMQ_PORT" --kind "$kind"
    stop_rabbitmq
  done
}

# ------------------------------------------------------------------ NATS JetStream
# nats-server with JetStream on file storage in $tmp, loopback only, otherwise defaults
# (nats-js: fsync every 2 minutes, so a PubAck does not mean "on disk"). nats-js-sync sets
# sync_interval: always (fsync on every write, like-for-like with RabbitMQ and sluiced
# --durability full); that option needs nats-server >= 2.10, older servers skip the row.
NATS_PID=
NATS_PORT=
start_nats() {   # start_nats NAME SYNC_ALWAYS(0|1)
  local dir=$tmp/nats-$1
  mkdir -p "$dir/js"
  NATS_PORT=$(free_port)
  {
    echo "listen: 127.0.0.1:$NATS_PORT"
    echo "jetstream {"
    echo "  store_dir: \"$dir/js\""
    [ "$2" = 1 ] && echo "  sync_interval: always"
    echo "}"
  } > "$dir/nats.conf"
  if ! nats-server -c "$dir/nats.conf" -t > "$dir/test.log" 2>&1; then
    echo "bench: nats-server $(nats-server --version 2>&1 | awk '{print $NF}') does not take $1's settings ($(grep -m1 -i -E 'error|unknown' "$dir/test.log")); skipping $1" >&2
    note "{\"system\":\"$1\",\"workload\":\"skipped\",\"reason\":\"nats-server $(nats-server --version 2>&1 | awk '{print $NF}') lacks sync_interval (needs 2.10+)\"}"
    return 1
  fi
  echo "== $1 (nats-server $(nats-server --version 2>&1 | awk '{print $NF}')) on 127.0.0.1:$NATS_PORT" >&2
  nats-server -c "$dir/nats.conf" > "$dir/nats.log" 2>&1 &
  NATS_PID=$!; pids+=("$NATS_PID")
  if ! wait_port "$NATS_PID" "$NATS_PORT" 30; then
    echo "bench: nats-server did not start; its log:" >&2; tail -20 "$dir/nats.log" >&2
    stop_nats
    return 1
  fi
  sleep 0.5   # JetStream comes up just after the client port
}
stop_nats() {
  stop_pid "$NATS_PID"; forget_pid "$NATS_PID"; NATS_PID=
  rm -rf "$tmp"/nats-*
  sync
}

bench_nats() {
  command -v nats-server >/dev/null || { echo "bench: nats-server not installed, skipping" >&2; return 0; }
  [ -x "$PEER_NATS" ] || { echo "bench: $PEER_NATS not built (libnats-dev missing?), skipping" >&2; return 0; }
  start_nats nats-js 0 && {
    peer_workloads "$PEER_NATS" nats-js "$NATS_PID" --url "nats://127.0.0.1:$NATS_PORT"
    stop_nats
  }
  start_nats nats-js-sync 1 && {
    peer_workloads "$PEER_NATS" nats-js-sync "$NATS_PID" --url "nats://127.0.0.1:$NATS_PORT"
    stop_nats
  }
  return 0
}

# ------------------------------------------------------------------ fauxqs
# The in-memory SQS emulator from npm (bench/fauxqs, pinned by its package-lock.json), driven
# by our own SQS load generator exactly like sluiced. bench/fauxqs/serve.mjs starts it with
# request logging off (its documented FAUXQS_LOGGER=false) and on 127.0.0.1. A fresh process
# per workload, as for sluiced: its state is all in memory.
FAUXQS_DIR=$root/bench/fauxqs
FAUXQS_PID=
FAUXQS_PORT=
start_fauxqs() {
  FAUXQS_PORT=$(free_port)
  node "$FAUXQS_DIR/serve.mjs" "$FAUXQS_PORT" > "$tmp/fauxqs.log" 2>&1 &
  FAUXQS_PID=$!; pids+=("$FAUXQS_PID")
  if ! wait_port "$FAUXQS_PID" "$FAUXQS_PORT" 30; then
    echo "bench: fauxqs did not start; its log:" >&2; tail -20 "$tmp/fauxqs.log" >&2
    stop_fauxqs
    return 1
  fi
}
stop_fauxqs() { stop_pid "$FAUXQS_PID"; forget_pid "$FAUXQS_PID"; FAUXQS_PID=; }

bench_fauxqs() {
  command -v node >/dev/null || { echo "bench: node not installed, skipping fauxqs" >&2; return 0; }
  if [ ! -d "$FAUXQS_DIR/node_modules/fauxqs" ]; then
    (cd "$FAUXQS_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
      { echo "bench: npm ci in bench/fauxqs failed, skipping fauxqs" >&2; return 0; }
  fi
  echo "== fauxqs $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$FAUXQS_DIR/node_modules/fauxqs/package.json") (node $(node --version))" >&2
  local w ep
  for w in $PEER_WORKLOADS; do
    start_fauxqs || return 0
    ep="http://127.0.0.1:$FAUXQS_PORT"
    case "$w" in
      send|send-batch|cycle)
        loadgen "$w" --system fauxqs --endpoint "$ep" --server-pid "$FAUXQS_PID" \
          --conns "$CONNS" --duration "$DUR" --warmup "$WARM" ;;
      latency*)
        loadgen latency --system fauxqs --endpoint "$ep" --server-pid "$FAUXQS_PID" \
          --rate "${w#latency}" --conns "$CONNS" --consumers 4 --queue "bench-latency-${w#latency}" \
          --duration "$LAT_DUR" --warmup "$LAT_WARM" ;;
    esac
    stop_fauxqs
  done
}

# ------------------------------------------------------------------ pattern engine
# The pure-CPU micro-benchmark prints `name: value unit` lines; each becomes a JSON line
# {"system":"sluice-pattern","workload":NAME,"value":V,"unit":U}. Run once, alone: it is
# CPU-bound and the servers are stopped.
bench_pattern() {
  [ -x "$PATTERN_BENCH" ] || { echo "bench: $PATTERN_BENCH not found, skipping the pattern figures" >&2; return 0; }
  echo "== pattern engine: $PATTERN_BENCH" >&2
  local out="$tmp/pattern.out" pb rc=0
  "$PATTERN_BENCH" > "$out" &
  pb=$!; pids+=("$pb")
  wait "$pb" || rc=$?
  forget_pid "$pb"
  [ "$rc" -eq 0 ] || echo "bench: $PATTERN_BENCH failed (exit $rc)" >&2
  awk 'BEGIN { CONVFMT = "%.10g" } {
      i = index($0, ": "); if (i == 0) next
      name = substr($0, 1, i - 1); n = split(substr($0, i + 2), a, " ")
      if (n < 1 || a[1] !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) next
      gsub(/["\\]/, "", name); unit = n > 1 ? a[2] : ""; gsub(/["\\]/, "", unit)
      printf "{\"system\":\"sluice-pattern\",\"workload\":\"%s\",\"value\":%s,\"unit\":\"%s\"}\n", name, a[1] + 0, unit
    }' "$out" >> "$results"
}

# ------------------------------------------------------------------ report
# jget LINE KEY: a scalar of a flat JSON line (our own lines only: no nesting, no escapes).
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$1" | grep -v '^null$' || true; }
# find SYSTEM WORKLOAD [SIZE|RATE]: the first matching result line.
find_line() {
  local l
  while IFS= read -r l; do
    if [ "$(jget "$l" system)" != "$1" ] || [ "$(jget "$l" workload)" != "$2" ]; then continue; fi
    if [ -n "${3:-}" ]; then
      [ "$(jget "$l" size)" = "$3" ] || [ "$(jget "$l" rate)" = "$3" ] || continue
    fi
    echo "$l"; return
  done < "$results"
}

# aggregate: the runs of each (system, row) in the results reduced to one line of $tmp/agg.tsv:
# system, row label, runs, then the medians of req/s, msgs/s, p50, p99, p99.9, max, CPU per
# 100k messages, then msgs/s min and max, errors (sum), peak RSS (max of VmHWM, KiB) and the
# number of runs whose verification failed, and a flag (SATURATED, UNVERIFIED: see
# latency_verdict). Rows keep the order in which they first appear.
aggregate() {
  awk -F'\t' 'BEGIN { OFS = "\t" }
    function jv(line, k,   s) {
      if (!match(line, "\"" k "\":(\"[^\"]*\"|[^,}]*)")) return ""
      s = substr(line, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
      gsub(/"/, "", s); return s == "null" ? "" : s
    }
    function med(list,   a, n, i, j, t) {   # median of a space-separated list
      n = split(list, a, " "); if (n == 0) return ""
      for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function add(k, f, v) { if (v != "") vals[k, f] = vals[k, f] " " v }
    {
      sys = jv($0, "system"); w = jv($0, "workload")
      if (w ~ /^(info|idle-rss|backlog-rss|ddb-rss|sfn-rss|skipped|end)$/ || sys ~ /^(sluice-pattern|target|machine)$/) next
      label = w
      if (w == "post" || w == "post-wrk") label = w " " int(jv($0, "size") / 1024) "KiB"
      else if (w == "send-batch" || w == "put-events") label = w " x" jv($0, "batch")
      else if (w == "latency") label = "latency @" jv($0, "rate") "/s"
      else if (w == "events-latency") label = "events-lat @" jv($0, "rate") "/s"
      else if (w == "fill") label = "fill " jv($0, "count")
      else if (w == "ddb-load") label = "ddb-load " jv($0, "count")
      else if (w == "sns-publish-batch") label = w " x" jv($0, "batch") (jv($0, "raw") == "true" ? " raw" : "")
      else if (w == "sns-publish") label = w (jv($0, "raw") == "true" ? " raw" : "")
      else if (w == "sns-latency") label = "sns-lat @" jv($0, "rate") "/s"
      else if (w == "sns-http-fanout") label = "sns-http x" jv($0, "subs")
      else if (w == "lambda-sqs-latency") label = "lambda-sqs-lat @" jv($0, "rate") "/s"
      else if (w == "lambda-invoke") label = "invoke " jv($0, "runtime")
      else if (w == "lambda-cold") label = "cold " jv($0, "runtime")
      else if (w == "sfn-express" || w == "sfn-standard") label = w " " jv($0, "states") " Pass"
      else if (w == "sfn-saga") label = "sfn-saga-lat @" jv($0, "rate") "/s"
      else if (w == "sfn-park") label = "sfn-park " jv($0, "count")
      k = sys SUBSEP label
      if (!(k in runs)) { order[++nk] = k; lmin[k] = ""; lmax[k] = "" }
      runs[k]++
      split("requests_per_s messages_per_s p50_ms p99_ms p999_ms max_ms server_cpu_s_per_100k", fs, " ")
      for (i = 1; i <= 7; i++) add(k, fs[i], jv($0, fs[i]))
      m = jv($0, "messages_per_s") + 0
      if (lmin[k] == "" || m < lmin[k]) lmin[k] = m
      if (lmax[k] == "" || m > lmax[k]) lmax[k] = m
      err[k] += jv($0, "errors") + 0
      h = jv($0, "server_hwm_kib") + 0; if (h > hwm[k]) hwm[k] = h
      v = jv($0, "verify")
      if (v ~ /^FAILED/) bad[k]++
      else if (v ~ /^(saturated|unverified)/) { split(v, vw, ":"); flag[k] = toupper(vw[1]) }
    }
    END {
      for (o = 1; o <= nk; o++) {
        k = order[o]; split(k, p, SUBSEP)
        line = p[1] OFS p[2] OFS runs[k]
        for (i = 1; i <= 7; i++) line = line OFS med(vals[k, fs[i]])
        print line, lmin[k], lmax[k], err[k] + 0, hwm[k] + 0, bad[k] + 0, flag[k]
      }
    }' "$results" > "$tmp/agg.tsv"
}

# agg SYSTEM LABEL COLUMN: one aggregated figure (COLUMN: runs rps mps p50 p99 p999 max cpu
# min maxm errors hwm bad flag); empty when the row was not run. flag: SATURATED (a latency
# run where the system did not keep up with the rate) or UNVERIFIED, in any of the runs.
agg() {
  awk -F'\t' -v s="$1" -v l="$2" -v c="$3" 'BEGIN {
      n = split("sys label runs rps mps p50 p99 p999 max cpu min maxm errors hwm bad flag", names, " ")
      for (i = 1; i <= n; i++) col[names[i]] = i
    }
    $1 == s && $2 == l { print $col[c]; exit }' "$tmp/agg.tsv"
}

# The systems Sluice is compared with, in the order of the ratio table.
COMPARED=(rabbitmq-classic rabbitmq-quorum nats-js nats-js-sync fauxqs)

report() {
  local base l
  aggregate
  base=$(agg nginx "post 1KiB" mps)
  echo
  echo "Sluice benchmarks ($mode, $(date -u +%Y-%m-%d), $(nproc) CPUs, $RUNS run(s) per row: median [min-max], results: ${results#"$root"/})"
  printf '%-16s %-25s %4s %10s %-19s %9s %9s %9s %8s %8s %7s %7s\n' system workload runs msgs/s \
    "[min-max]" p50_ms p99_ms p99.9_ms cpu/100k rss_MiB x_nginx errors
  awk -F'\t' -v base="$base" '{
      x = (base > 0 && $2 !~ /^(fsync|fill|ddb-load|cold |sfn-park)/ && $2 !~ /lat(ency)? @/) ? sprintf("%.2f", $5 / base) : "-"
      spread = $3 > 1 ? sprintf("[%.0f-%.0f]", $11, $12) : ""
      p50 = $6 == "" ? "-" : $6; p99 = $7 == "" ? "-" : $7; p999 = $8 == "" ? "-" : $8
      cpu = $10 == "" ? "-" : $10; rss = $14 > 0 ? sprintf("%.0f", $14 / 1024) : "-"
      printf "%-16s %-25s %4d %10.0f %-19s %9s %9s %9s %8s %8s %7s %7s%s\n", $1, $2, $3, $5, spread,
        p50, p99, p999, cpu, rss, x, $13, ($15 > 0 ? "  LOST MESSAGES" : $16 != "" ? "  " $16 : "")
    }' "$tmp/agg.tsv"
  if grep -q '"workload":"sns-http-fanout"' "$results"; then
    echo "(sns-http x100: msgs/s = HTTP deliveries/s in the window, every delivery then awaited and"
    echo " checked; p50-p99.9 = the SQS subscription's publish -> receive during the fan-out;"
    echo " ses-send: mails/s received by the SMTP sink in the window)"
  fi
  l=$(find_line sluiced-full idle-rss); [ -n "$l" ] && echo "sluiced idle RSS: $(jget "$l" rss_kib) KiB"
  l=$(find_line sluiced-full backlog-rss); [ -n "$l" ] && echo "sluiced RSS with $(jget "$l" backlog) messages backlogged: $(jget "$l" rss_kib) KiB (peak $(jget "$l" hwm_kib) KiB)"
  { grep '"workload":"skipped"' "$results" || true; } | sort -u | while IFS= read -r l; do
    echo "skipped: $(jget "$l" system): $(jget "$l" reason)"
  done
  if grep -q '"system":"sluice-pattern"' "$results"; then
    echo "pattern engine, pure CPU on one core (${PATTERN_BENCH#"$root"/}):"
    while IFS= read -r l; do
      [ "$(jget "$l" system)" = sluice-pattern ] || continue
      printf '  %-46s %14s %s\n' "$(jget "$l" workload)" "$(jget "$l" value)" "$(jget "$l" unit)"
    done < "$results"
  fi
  ratio_table
  ddb_table
  echo
  echo "Targets (sluiced, --durability full; ratios to nginx POST 1 KiB = ${base:-?} req/s):"
  target() {   # target NAME VALUE OP LIMIT UNIT
    local verdict
    if [ -z "$2" ] || [ -z "$4" ]; then verdict="n/a"
    elif awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !((op == ">=") ? v >= l : v <= l) }'; then verdict=PASS
    else verdict=FAIL; fi
    printf '  %-52s %14s %s %-12s %s\n' "$1" "${2:--}$5" "$3" "$4$5" "$verdict"
    note "{\"system\":\"target\",\"workload\":\"$1\",\"value\":${2:-null},\"limit\":\"$3 $4\",\"verdict\":\"$verdict\"}"
  }
  ratio() { [ -n "$1" ] && [ -n "$base" ] && awk -v m="$1" -v b="$base" 'BEGIN { printf "%.2f", m / b }'; }
  # vs PEER LABEL: Sluice's msgs/s over the peer's (medians); empty if either is missing.
  vs() {
    local a b
    a=$(agg sluiced-full "$2" mps); b=$(agg "$1" "$2" mps)
    [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
    return 0
  }
  local send batch cycle p99 idle rss backlog events ep99 peer_ p snsb snsp99 snsh snshp99 ses
  send=$(ratio "$(agg sluiced-full send mps)" || true)
  batch=$(ratio "$(agg sluiced-full "send-batch x10" mps)" || true)
  cycle=$(ratio "$(agg sluiced-full cycle mps)" || true)
  p99=$(agg sluiced-full "latency @1000/s" p99)
  events=$(ratio "$(agg sluiced-full "put-events x10" mps)" || true)
  ep99=$(agg sluiced-full "events-lat @1000/s" p99)
  idle=$(jget "$(find_line sluiced-full idle-rss)" rss_kib)
  l=$(find_line sluiced-full backlog-rss); rss=$(jget "$l" rss_kib); backlog=$(jget "$l" backlog)
  target "SendMessage msgs/s vs nginx" "$send" ">=" 0.7 x
  target "SendMessageBatch(10) msgs/s vs nginx" "$batch" ">=" 3.5 x
  target "send+receive+delete cycle msgs/s vs nginx" "$cycle" ">=" 1 x
  target "p99 send -> waiting receiver @1000/s" "$p99" "<=" 5 " ms"
  target "PutEvents(10) -> 3 queues events/s vs nginx" "$events" ">=" 2 x
  target "p99 PutEvents -> waiting queue receiver @1000/s" "$ep99" "<=" 5 " ms"
  # SNS and SES (issue 5).
  snsb=$(ratio "$(agg sluiced-full "sns-publish-batch x10" mps)" || true)
  snsp99=$(agg sluiced-full "sns-lat @1000/s" p99)
  snsh=$(ratio "$(agg sluiced-full "sns-http x100" mps)" || true)
  snshp99=$(agg sluiced-full "sns-http x100" p99)
  ses=$(agg sluiced-full ses-send mps)
  target "SNS PublishBatch(10) -> 10 queues msgs/s vs nginx" "$snsb" ">=" 1 x
  target "p99 SNS Publish -> SQS receiver @1000/s" "$snsp99" "<=" 5 " ms"
  target "SNS -> 100 HTTP endpoints deliveries/s vs nginx" "$snsh" ">=" 0.7 x
  target "p99 Publish -> SQS during it (sns-lat: ${snsp99:-?} ms)" "$snshp99" "<=" 5 " ms"
  target "SES SendEmail mails/s received by the SMTP sink" "${ses:+$(printf '%.0f' "$ses")}" ">=" 2000 " /s"
  ddb_targets
  lambda_targets
  sfn_targets
  # Issue 6's goals against the peers (medians of the runs).
  for l in send "send-batch x10" cycle; do
    target "$l msgs/s vs RabbitMQ quorum" "$(vs rabbitmq-quorum "$l")" ">=" 2 x
    target "$l msgs/s vs RabbitMQ classic" "$(vs rabbitmq-classic "$l")" ">=" 1.5 x
  done
  for l in send "send-batch x10"; do
    target "$l msgs/s vs NATS JetStream (default sync)" "$(vs nats-js "$l")" ">=" 0.5 x
    target "$l msgs/s vs NATS JetStream (sync always)" "$(vs nats-js-sync "$l")" ">=" 1 x
  done
  target "SendMessage msgs/s vs fauxqs" "$(vs fauxqs send)" ">=" 3 x
  for peer_ in "${COMPARED[@]}"; do
    p=$(agg "$peer_" "latency @1000/s" p99)
    [ -n "$p" ] && target "p99 @1000/s below $peer_'s" "$p99" "<=" "$p" " ms"
  done
  target "idle RSS" "${idle:+$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')}" "<=" 20 " MiB"
  if [ "${backlog:-0}" = 1000000 ]; then
    target "RSS with 1M messages backlogged" "${rss:+$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')}" "<=" 300 " MiB"
  else
    printf '  %-48s %s\n' "RSS with 1M messages backlogged" "n/a in $mode mode (backlog ${backlog:-?}: $((${rss:-0} / 1024)) MiB)"
  fi
  pattern_targets
}

# Sluice (--durability full) beside each peer: the peer's median and Sluice's ratio to it
# (msgs/s: Sluice / peer, higher is better for Sluice; latency: peer p99 / Sluice p99, so
# above 1 also means Sluice is better).
ratio_table() {
  local row label col sv pv cell
  echo
  echo "Sluice (sluiced --durability full) vs each system: peer's median (Sluice's ratio to it; >1 = Sluice better)"
  printf '%-22s %12s' row sluiced-full
  for col in "${COMPARED[@]}" nginx; do printf ' %20s' "$col"; done
  echo
  for row in "send|msgs/s" "send-batch x10|msgs/s" "cycle|msgs/s" "latency @1000/s|p99" "latency @10000/s|p99"; do
    label=${row%|*}
    if [ "${row#*|}" = p99 ]; then
      sv=$(agg sluiced-full "$label" p99)
      printf '%-22s %12s' "$label p99 ms" "${sv:--}$([ -z "$(agg sluiced-full "$label" flag)" ] || echo '*')"
    else
      sv=$(agg sluiced-full "$label" mps)
      printf '%-22s %12s' "$label msgs/s" "$([ -n "$sv" ] && printf '%.0f' "$sv" || echo -)"
    fi
    for col in "${COMPARED[@]}" nginx; do
      if [ "${row#*|}" = p99 ]; then
        pv=$([ "$col" = nginx ] || agg "$col" "$label" p99 || true)
        cell=$([ -n "$pv" ] && awk -v p="$pv" -v s="$sv" 'BEGIN { printf "%s", p; if (s > 0) printf " (%.2fx)", p / s }' || true)
        [ -z "$pv" ] || [ -z "$(agg "$col" "$label" flag)" ] || cell="$cell*"
      else
        pv=$(if [ "$col" = nginx ]; then agg nginx "post 1KiB" mps; else agg "$col" "$label" mps; fi)
        cell=$([ -n "$pv" ] && awk -v p="$pv" -v s="$sv" 'BEGIN { printf "%.0f", p; if (p > 0 && s != "") printf " (%.2fx)", s / p }' || true)
      fi
      printf ' %20s' "${cell:--}"
    done
    echo
  done
  echo "(* the system did not keep up with that rate: messages were still unsent or queued after the"
  echo "   10 s tail, so its percentiles are lower bounds; see \"verify\" in the results)"
}

# DynamoDB (issue 9): sluiced beside moto, medians of the runs.
ddb_table() {
  local w sv mv si mi
  grep -q '"workload":"ddb-' "$results" || return 0
  si=$(jget "$(find_line sluiced-full ddb-query)" table_items); mi=$(jget "$(find_line moto ddb-query)" table_items)
  echo
  echo "DynamoDB: sluiced (--durability full) vs moto (in memory): median ops/s (sluiced's ratio)"
  printf '  %-14s %12s %12s %8s\n' row sluiced-full moto ratio
  for w in ddb-put-item ddb-get-item ddb-query; do
    sv=$(agg sluiced-full "$w" mps); mv=$(agg moto "$w" mps)
    [ -n "$sv$mv" ] || continue
    printf '  %-14s %12s %12s %8s\n' "$w" "${sv:+$(printf '%.0f' "$sv")}" "${mv:+$(printf '%.1f' "$mv")}" \
      "$([ -n "$sv" ] && [ -n "$mv" ] && awk -v a="$sv" -v b="$mv" 'BEGIN { if (b > 0) printf "%.1fx", a / b }' || echo -)"
  done
  echo "  (put: items/s; get: items/s; query: queries/s of 100 items; tables: sluiced ${si:-?} items, moto ${mi:-?})"
}

# DynamoDB's targets (issue 9), ratios to nginx's POST 1 KiB; RSS with DDB_BIG_ITEMS stored
# (the larger of the two readings: after the load, after the reads).
ddb_targets() {
  local q items rss hwm
  target "DynamoDB PutItem 1 KiB items/s vs nginx" "$(ratio "$(agg sluiced-full ddb-put-item mps)" || true)" ">=" 0.6 x
  target "DynamoDB GetItem items/s vs nginx" "$(ratio "$(agg sluiced-full ddb-get-item mps)" || true)" ">=" 0.8 x
  q=$(ratio "$(agg sluiced-full ddb-query mps)" || true)
  items=$(jget "$(find_line sluiced-full ddb-query)" table_items)
  if [ -z "$q" ] || [ "${items:-0}" -ge 1000000 ]; then
    target "DynamoDB Query(100 items, 1M-item table) q/s vs nginx" "$q" ">=" 0.3 x
  else
    printf '  %-52s %s\n' "DynamoDB Query(100 items, 1M-item table) q/s vs nginx" "n/a in $mode mode (a $items-item table: ${q}x)"
  fi
  read -r rss hwm < <(grep '"workload":"ddb-rss"' "$results" | grep "\"items\":$DDB_BIG_ITEMS," |
    awk '{ match($0, /"rss_kib":[0-9]+/); r = substr($0, RSTART + 10, RLENGTH - 10) + 0
           match($0, /"hwm_kib":[0-9]+/); h = substr($0, RSTART + 10, RLENGTH - 10) + 0
           if (r > mr) mr = r; if (h > mh) mh = h }
         END { if (NR) printf "%.1f %.1f\n", mr / 1024, mh / 1024 }') || true
  target "DynamoDB RSS with $DDB_BIG_ITEMS items stored (peak ${hwm:-?} MiB)" "$rss" "<=" 300 " MiB"
}

# The pattern engine's targets (issue 4): matching alone >= 1M events/s, 10,000 rules at
# >= 80 % of the 10-rule speed, parse + flatten + match of a 1 KiB event >= 200k events/s,
# rule additions >= 10k/s. Figures are recognised by their names; one that is not
# recognised is listed above without a target.
pattern_targets() {
  local l name lname v unit m10="" m10k=""
  while IFS= read -r l; do
    [ "$(jget "$l" system)" = sluice-pattern ] || continue
    name=$(jget "$l" workload); v=$(jget "$l" value); unit=$(jget "$l" unit)
    lname=$(tr 'A-Z' 'a-z' <<<"$name")
    case "$lname" in
      *ratio*|*retain*|*relative*|*scaling*)
        if [ "$unit" = % ]; then target "pattern: $name" "$v" ">=" 80 " %"
        else target "pattern: $name" "$v" ">=" 0.8 ""; fi ;;
      *parse*|*flatten*|*json*) target "pattern: $name" "$v" ">=" 200000 " /s" ;;
      *add*|*insert*|*compile*) target "pattern: $name" "$v" ">=" 10000 " /s" ;;
      *match*10000*|*match*10k*|*10000*match*|*10k*match*) m10k=$v ;;
      *match*) target "pattern: $name" "$v" ">=" 1000000 " /s"; m10=${m10:-$v} ;;
    esac
  done < "$results"
  if [ -n "$m10" ] && [ -n "$m10k" ]; then
    target "pattern: matching, 10,000 rules vs 10 rules" \
      "$(awk -v a="$m10k" -v b="$m10" 'BEGIN { printf "%.1f", 100 * a / b }')" ">=" 80 " %"
  fi
}

# ------------------------------------------------------------------ plots
# PNGs for docs/bench/ (small, commit-able) from the aggregated medians: throughput bars per
# workload and system, and latency by percentile at each rate (bench/plot-*.gp).
PLOTTED=(sluiced-full sluiced-normal "${COMPARED[@]}")
plots() {
  command -v gnuplot >/dev/null || { echo "bench: gnuplot not installed, no plots" >&2; return 0; }
  if [ -n "$ROWS_SUBSET" ]; then
    echo "bench: BENCH_ROWS picked a subset of the rows: docs/bench/*.png left as they are" >&2
    return 0
  fi
  local out=$root/docs/bench sub w s rate v
  mkdir -p "$out"
  sub="$mode, $RUNS run(s) per row, $(nproc) CPUs, $(date -u +%Y-%m-%d), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)"
  {
    printf '# row'; for s in "${PLOTTED[@]}"; do printf ' %s' "$s"; done; echo
    for w in send "send-batch x10" cycle "sns-publish-batch x10" "sns-http x100" ses-send; do
      local line="\"$w\"" any=
      for s in "${PLOTTED[@]}"; do
        v=$(agg "$s" "$w" mps)
        if [ -n "$v" ]; then line+=" $v $(agg "$s" "$w" min) $(agg "$s" "$w" maxm)"; any=1
        else line+=" ? ? ?"; fi
      done
      [ -z "$any" ] || echo "$line"   # a workload not run (quick mode) gets no empty group
    done
  } > "$tmp/throughput.dat"
  gnuplot -e "data='$tmp/throughput.dat'; out='$out/throughput.png'; subtitle='$sub'" \
    "$root/bench/plot-throughput.gp" 2>"$tmp/gnuplot.err" || { echo "bench: gnuplot failed:" >&2; cat "$tmp/gnuplot.err" >&2; }
  for rate in 1000 10000; do
    [ -n "$(agg sluiced-full "latency @$rate/s" p99)$(agg nats-js "latency @$rate/s" p99)$(agg rabbitmq-classic "latency @$rate/s" p99)" ] || continue
    {
      printf '# x'
      for s in "${PLOTTED[@]}"; do printf ' %s' "$s$([ -z "$(agg "$s" "latency @$rate/s" flag)" ] || echo '*')"; done
      echo
      for w in "2 p50" "100 p99" "1000 p999" "10000 max"; do
        printf '%s' "${w% *}"
        for s in "${PLOTTED[@]}"; do v=$(agg "$s" "latency @$rate/s" "${w#* }"); printf ' %s' "${v:-?}"; done
        echo
      done
    } > "$tmp/latency-$rate.dat"
    gnuplot -e "data='$tmp/latency-$rate.dat'; out='$out/latency-$rate.png'; rate=$rate; subtitle='$sub; *: did not keep up, a lower bound'" \
      "$root/bench/plot-latency.gp" 2>"$tmp/gnuplot.err" || { echo "bench: gnuplot failed:" >&2; cat "$tmp/gnuplot.err" >&2; }
  done
  echo "plots: $(cd "$root" && ls docs/bench/*.png 2>/dev/null | tr '\n' ' ')"
}

# ------------------------------------------------------------------ main
started=$(date +%s)
machine
build_peers
bench_pattern
for (( RUN = 1; RUN <= RUNS; RUN++ )); do
  echo "== run $RUN of $RUNS: ${PEERS[*]}" >&2
  for peer in "${PEERS[@]}"; do "bench_$peer"; done
done
RUN=$RUNS
report
plots
note "{\"system\":\"machine\",\"workload\":\"end\",\"seconds\":$(( $(date +%s) - started )),\"loadavg_at_end\":$(cut -d' ' -f1 /proc/loadavg),\"lost_runs\":$LOST}"
echo "(took $(( $(date +%s) - started )) s; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$LOST" -gt 0 ]; then
  echo "bench: FAILED: $LOST runs lost messages or left them unconsumed (see \"verify\" and \"missing\" in $results)" >&2
  exit 1
fi
