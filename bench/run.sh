#!/usr/bin/env bash
# Sluice benchmarks: nginx baseline vs sluiced (SQS and EventBridge), and the pattern
# engine's pure-CPU figures; see docs/benchmarks.md.
#
# Usage: bench/run.sh [quick|full]        (make bench-quick / make bench)
#   quick: short runs, 100k backlog, about one minute
#   full:  10 s runs, 1M backlog, a few minutes
# Builds nothing (make did). Environment overrides: BUILD (build dir), SLUICED, LOADGEN, NGINX,
# PATTERN_BENCH (sluice-bench-pattern; skipped if absent), BENCH_TMPDIR (where data dirs go:
# keep it on the disk you want to measure, not tmpfs).
#
# Every system is one function (bench_nginx, bench_sluiced, ...): a peer is added by writing
# bench_<peer> (start it, run the loadgen against it with --system <name>, stop it) and
# listing it in PEERS. Results: one JSON line per measurement in bench/results/<ts>.jsonl,
# and a table with the targets on stdout.
set -euo pipefail

mode=${1:-full}
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
LOADGEN=${LOADGEN:-$BUILD/sluice-loadgen}
SLUICED=${SLUICED:-$BUILD/sluiced}
NGINX=${NGINX:-/usr/sbin/nginx}
PATTERN_BENCH=${PATTERN_BENCH:-$BUILD/sluice-bench-pattern}

# EV_*: the EventBridge runs, shorter in quick mode so that it stays about a minute.
case "$mode" in
  quick) DUR=3;  WARM=1; LAT_DUR=4;  LAT_WARM=1; BACKLOG=100000;  FSYNC_N=300
         EV_DUR=2;  EV_WARM=0.5; EV_LAT_DUR=3;  EV_LAT_WARM=0.5 ;;
  full)  DUR=10; WARM=2; LAT_DUR=15; LAT_WARM=2; BACKLOG=1000000; FSYNC_N=2000
         EV_DUR=10; EV_WARM=2;   EV_LAT_DUR=15; EV_LAT_WARM=2 ;;
  *) echo "usage: $0 [quick|full]" >&2; exit 2 ;;
esac
CONNS=${CONNS:-32}
PEERS=(nginx sluiced)   # later: rabbitmq nats fauxqs

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
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do stop_pid "$p"; done
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

# loadgen ARGS...: runs the load generator (in the background, so Ctrl-C and SIGTERM reach
# us and cleanup stops it) and appends its JSON line to the results.
loadgen() {
  local out="$tmp/loadgen.out" lg rc=0
  "$LOADGEN" "$@" > "$out" &
  lg=$!; pids+=("$lg")
  wait "$lg" || rc=$?
  forget_pid "$lg"
  if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
    echo "bench: sluice-loadgen $* failed (exit $rc)" >&2
    return 0
  fi
  cat "$out" >> "$results"
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
    [ -n "$rps" ] && note "{\"system\":\"nginx\",\"workload\":\"post-wrk\",\"conns\":$CONNS,\"seconds\":$DUR,\"requests_per_s\":$rps,\"messages_per_s\":$rps,\"errors\":0,\"size\":1024}"
  fi
  stop_pid "$pid"; forget_pid "$pid"
}

# ------------------------------------------------------------------ sluiced
SLUICED_PID=
SLUICED_PORT=
start_sluiced() {   # start_sluiced DURABILITY NAME
  local dir=$tmp/sluiced-$2
  SLUICED_PORT=$(free_port)
  mkdir -p "$dir/data"
  echo "== sluiced --durability $1 on 127.0.0.1:$SLUICED_PORT ($2)" >&2
  "$SLUICED" --bind 127.0.0.1 --port "$SLUICED_PORT" --data-dir "$dir/data" --durability "$1" \
    2> "$dir/sluiced.log" &
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
  fresh && { sqs send "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  fresh && { sqs send-batch "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  fresh && { sqs cycle "$sys" --conns "$CONNS" --duration "$DUR" --warmup "$WARM"; stop_sluiced; }
  # EventBridge: PutEvents of 10 ~1 KiB entries, one rule routing each to 3 queues, beside
  # 100 rules that never match (see bench/loadgen.c).
  fresh && { sqs put-events "$sys" --conns "$CONNS" --duration "$EV_DUR" --warmup "$EV_WARM"; stop_sluiced; }
  if [ "$d" = full ]; then
    fresh && {
      sqs latency "$sys" --rate 1000 --conns "$CONNS" --consumers 4 --queue bench-latency-1000 \
        --duration "$LAT_DUR" --warmup "$LAT_WARM"
      stop_sluiced
    }
    fresh && {
      sqs latency "$sys" --rate 10000 --conns "$CONNS" --consumers 4 --queue bench-latency-10000 \
        --duration "$LAT_DUR" --warmup "$LAT_WARM"
      stop_sluiced
    }
    fresh && {
      sqs events-latency "$sys" --rate 1000 --conns "$CONNS" --consumers 4 \
        --duration "$EV_LAT_DUR" --warmup "$EV_LAT_WARM"
      stop_sluiced
    }
  fi
  return 0
}

bench_sluiced() {
  bench_sluiced_mode full
  bench_sluiced_mode normal
  bench_sluiced_memory
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

report() {
  local base l
  base=$(jget "$(find_line nginx post 1024)" messages_per_s)
  echo
  echo "Sluice benchmarks ($mode, $(date -u +%Y-%m-%d), $(nproc) CPUs, results: ${results#"$root"/})"
  printf '%-14s %-18s %12s %12s %9s %9s %9s %9s %7s %9s\n' system workload req/s msgs/s \
    p50_ms p99_ms p99.9_ms x_nginx errors cpu/100k
  while IFS= read -r l; do
    local sys w label mps
    sys=$(jget "$l" system); w=$(jget "$l" workload)
    case "$w" in info|idle-rss|backlog-rss) continue ;; esac
    case "$sys" in sluice-pattern|target) continue ;; esac
    label=$w
    case "$w" in
      post|post-wrk) label="$w $(( $(jget "$l" size) / 1024 ))KiB" ;;
      send-batch) label="send-batch x$(jget "$l" batch)" ;;
      put-events) label="put-events x$(jget "$l" batch)" ;;
      latency) label="latency @$(jget "$l" rate)/s" ;;
      events-latency) label="events-lat @$(jget "$l" rate)/s" ;;
      fill) label="fill $(jget "$l" count)" ;;
    esac
    mps=$(jget "$l" messages_per_s)
    awk -v s="$sys" -v w="$label" -v r="$(jget "$l" requests_per_s)" -v m="$mps" \
      -v a="$(jget "$l" p50_ms)" -v b="$(jget "$l" p99_ms)" -v c="$(jget "$l" p999_ms)" \
      -v base="$base" -v e="$(jget "$l" errors)" -v cpu="$(jget "$l" server_cpu_s_per_100k)" \
      -v fs="$(case $w in fsync*) echo 1;; esac)" 'BEGIN {
        x = (base > 0 && !fs && w !~ /lat(ency)? @/) ? sprintf("%.2f", m / base) : "-"
        if (cpu == "") cpu = "-"
        if (a == "") { a = "-"; b = "-"; c = "-" }
        printf "%-14s %-18s %12.0f %12.0f %9s %9s %9s %9s %7s %9s\n", s, w, r, m, a, b, c, x, e, cpu
      }'
  done < "$results"
  l=$(find_line sluiced-full idle-rss); [ -n "$l" ] && echo "sluiced idle RSS: $(jget "$l" rss_kib) KiB"
  l=$(find_line sluiced-full backlog-rss); [ -n "$l" ] && echo "sluiced RSS with $(jget "$l" backlog) messages backlogged: $(jget "$l" rss_kib) KiB (peak $(jget "$l" hwm_kib) KiB)"
  if grep -q '"system":"sluice-pattern"' "$results"; then
    echo "pattern engine, pure CPU on one core (${PATTERN_BENCH#"$root"/}):"
    while IFS= read -r l; do
      [ "$(jget "$l" system)" = sluice-pattern ] || continue
      printf '  %-46s %14s %s\n' "$(jget "$l" workload)" "$(jget "$l" value)" "$(jget "$l" unit)"
    done < "$results"
  fi

  echo
  echo "Targets (sluiced, --durability full; ratios to nginx POST 1 KiB = ${base:-?} req/s):"
  target() {   # target NAME VALUE OP LIMIT UNIT
    local verdict
    if [ -z "$2" ] || [ -z "$4" ]; then verdict="n/a"
    elif awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !((op == ">=") ? v >= l : v <= l) }'; then verdict=PASS
    else verdict=FAIL; fi
    printf '  %-48s %14s %s %-12s %s\n' "$1" "${2:--}$5" "$3" "$4$5" "$verdict"
    note "{\"system\":\"target\",\"workload\":\"$1\",\"value\":${2:-null},\"limit\":\"$3 $4\",\"verdict\":\"$verdict\"}"
  }
  ratio() { [ -n "$1" ] && [ -n "$base" ] && awk -v m="$1" -v b="$base" 'BEGIN { printf "%.2f", m / b }'; }
  local send batch cycle p99 idle rss backlog events ep99
  send=$(ratio "$(jget "$(find_line sluiced-full send)" messages_per_s)" || true)
  batch=$(ratio "$(jget "$(find_line sluiced-full send-batch)" messages_per_s)" || true)
  cycle=$(ratio "$(jget "$(find_line sluiced-full cycle)" messages_per_s)" || true)
  p99=$(jget "$(find_line sluiced-full latency 1000)" p99_ms)
  events=$(ratio "$(jget "$(find_line sluiced-full put-events)" messages_per_s)" || true)
  ep99=$(jget "$(find_line sluiced-full events-latency 1000)" p99_ms)
  idle=$(jget "$(find_line sluiced-full idle-rss)" rss_kib)
  l=$(find_line sluiced-full backlog-rss); rss=$(jget "$l" rss_kib); backlog=$(jget "$l" backlog)
  target "SendMessage msgs/s vs nginx" "$send" ">=" 0.7 x
  target "SendMessageBatch(10) msgs/s vs nginx" "$batch" ">=" 3.5 x
  target "send+receive+delete cycle msgs/s vs nginx" "$cycle" ">=" 1 x
  target "p99 send -> waiting receiver @1000/s" "$p99" "<=" 5 " ms"
  target "PutEvents(10) -> 3 queues events/s vs nginx" "$events" ">=" 2 x
  target "p99 PutEvents -> waiting queue receiver @1000/s" "$ep99" "<=" 5 " ms"
  target "idle RSS" "${idle:+$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')}" "<=" 20 " MiB"
  if [ "${backlog:-0}" = 1000000 ]; then
    target "RSS with 1M messages backlogged" "${rss:+$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')}" "<=" 300 " MiB"
  else
    printf '  %-48s %s\n' "RSS with 1M messages backlogged" "n/a in $mode mode (backlog ${backlog:-?}: $((${rss:-0} / 1024)) MiB)"
  fi
  pattern_targets
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

# ------------------------------------------------------------------ main
started=$(date +%s)
machine
bench_pattern
for peer in "${PEERS[@]}"; do "bench_$peer"; done
report
echo "(took $(( $(date +%s) - started )) s)"
