#!/usr/bin/env bash
# The fault suite behind a real load balancer: three instances behind HAProxy (deploy/haproxy/haproxy.cfg), the
# load sent to HAProxy as a visitor's would be. A rolling restart (SIGTERM, drain, start, one instance at a time)
# must fail no request; a kill -9 of one instance may fail only the requests it had in flight. Nothing answered
# 302 or created is lost or doubled in either. See tests/fault/README.md.
#
#   tests/fault/balancer.sh           full variant (about 3.5 minutes)
#   tests/fault/balancer.sh --short   short variant for CI (about 2 minutes)
#
# Its own Redis on 127.0.0.1:16679, PostgreSQL on 16632 (database affiliatetracker_balancer), instances on
# 5121 / 5122 / 5123, HAProxy on 5120 with its runtime API and stats page on unix sockets in the run directory.
# Everything it starts it stops, by process id, on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/fault"
SHORT=0
case "${1:-}" in --short) SHORT=1 ;; "") ;; *) echo "usage: $0 [--short]" >&2; exit 2 ;; esac
# BETWEEN: load between two restarts of the rolling restart; DOWN_FOR: how long the killed instance stays down.
if [ "$SHORT" = 1 ]; then BEFORE=4; AFTER=4; BETWEEN=2; DOWN_FOR=4; PREMADE=40; else BEFORE=15; AFTER=15; BETWEEN=10; DOWN_FOR=15; PREMADE=100; fi
CLICK_RATE="${CLICK_RATE:-150}"; POSTBACK_RATE="${POSTBACK_RATE:-40}"

SUITE=balancer; REDIS_PORT=16679; PG_PORT=16632; DB=affiliatetracker_balancer; PORT_A=5121; PORT_B=5122; PORT_C=5123; PORT_LB=5120
declare -A PORT=([A]=$PORT_A [B]=$PORT_B [C]=$PORT_C)
# Every instance: on SIGTERM /health/ready answers 503 for 3 s before the listener closes, longer than HAProxy
# needs to take it out (inter 500 ms x fall 2); the balancer's X-Forwarded-For is believed, as in a deployment.
export Health__DrainDelay=00:00:03 Proxies__Trusted=127.0.0.1
. "$HERE/lib.sh"

LB="http://127.0.0.1:$PORT_LB"
HAP_PID=""; HAP_CFG="$RUN/haproxy.cfg"; HAP_SOCK="$RUN/haproxy.sock"
# Stopped first by lib.sh's cleanup; the instances all get SIGTERM at once so their drain delays overlap.
suite_cleanup() {
  if [ -n "$HAP_PID" ]; then kill "$HAP_PID" 2>/dev/null || true; wait "$HAP_PID" 2>/dev/null || true; HAP_PID=""; fi
  local name; for name in "${!SERVER_PID[@]}"; do kill "${SERVER_PID[$name]}" 2>/dev/null || true; done
}

# ---------- HAProxy ----------
hap() { # command: HAProxy's runtime API (no socat needed; python starts slowly, so only for the rare commands)
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while (d := s.recv(65536)): out += d
sys.stdout.write(out.decode())' "$HAP_SOCK" "$1"
}
# "show stat" from the stats page's CSV: curl is fast enough to poll every 100 ms.
hap_stat() { curl -sf --unix-socket "$RUN/haproxy-stats.sock" 'http://stats/;csv'; }
hap_field() { # server field: one column of "show stat" for a server of the trackers backend
  hap_stat | awk -F, -v sv="$1" -v f="$2" 'NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "trackers" && $2 == sv { print $col[f] }'
}
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
wait_hap() { # server UP|DOWN seconds: until HAProxy shows that state ("UP 1/2" is still going down, not up)
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 1 $(($3 * 10))); do
    case "$2:$(hap_field "$1" status)" in UP:UP | DOWN:DOWN*) return 0 ;; esac
    kill -0 "$HAP_PID" 2>/dev/null || { log "HAProxy exited; see $RUN/haproxy.log"; tail -n 5 "$RUN/haproxy.log" >&2; exit 1; }
    sleep 0.1
  done
  log "HAProxy did not show $1 $2 within $3 s (status $(hap_field "$1" status))"; exit 1
}
haproxy_start() {
  # The operator's template with this suite's addresses; user, group and chroot dropped (paths under .data), and
  # maxconn lowered: a few dozen connections here, and 20000 needs more file descriptors than a CI shell may have.
  sed -e '/^ *\(user\|group\|chroot\) /d' -e 's/^\( *maxconn\) .*/\1 1000/' -e "s|\${AT_LB_LOG-[^}]*}|stdout|" -e "s|\${AT_LB_SOCKET-[^}]*}|$HAP_SOCK|" \
      -e "s|\${AT_LB_BIND-[^}]*}|127.0.0.1:$PORT_LB|" -e "s|\${AT_LB_STATS-[^}]*}|unix@$RUN/haproxy-stats.sock|" \
      -e "s|\${AT_LB_SERVER_A-[^}]*}|127.0.0.1:$PORT_A|" -e "s|\${AT_LB_SERVER_B-[^}]*}|127.0.0.1:$PORT_B|" \
      -e "s|\${AT_LB_SERVER_C-[^}]*}|127.0.0.1:$PORT_C|" "$ROOT/deploy/haproxy/haproxy.cfg" > "$HAP_CFG"
  haproxy -c -q -f "$HAP_CFG"
  haproxy -db -f "$HAP_CFG" > "$RUN/haproxy.log" 2>&1 &
  HAP_PID=$!
  for _ in $(seq 1 50); do [ -S "$RUN/haproxy-stats.sock" ] && break; sleep 0.1; done
  local s; for s in a b c; do wait_hap "$s" UP 20; done
  log "HAProxy on :$PORT_LB (pid $HAP_PID) in front of :$PORT_A :$PORT_B :$PORT_C, all UP"
}
hap_snapshot() { # label: HAProxy's view (per server and in total) for the report, the raw CSV for the summary
  hap_stat > "$RUN/$PREFIX.haproxy.csv"
  { echo "# $PREFIX HAProxy $1 $(date +%T)"
    awk -F, 'NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i
                       print "  row       status  requests  3xx    5xx  conn-errors  resp-errors  retries  redispatches  marked-down  last-check"; next }
      $1 == "tracker" && $2 == "FRONTEND" || $1 == "trackers" {
        printf "  %-9s %-7s %-9s %-6s %-4s %-12s %-12s %-8s %-13s %-12s %s\n", $2, $col["status"], ($2 == "FRONTEND" || $2 == "BACKEND") ? $col["req_tot"] : $col["lbtot"],
          $col["hrsp_3xx"], $col["hrsp_5xx"], $col["econ"], $col["eresp"], $col["wretr"], $col["wredis"], $col["chkdown"], $col["check_status"] }' "$RUN/$PREFIX.haproxy.csv"
  } >> "$RUN/$PREFIX.snapshots"
}
lb_note() { echo "$*" >> "$RUN/$PREFIX.lb"; echo "$*" >> "$RUN/$PREFIX.snapshots"; }
lb_begin() { # name: a fresh link and HAProxy counters that cover this scenario only
  begin "$1"; : > "$RUN/$PREFIX.lb"
  sleep 1   # B and C load the new link on the configuration message A published; a moment is plenty
  hap "clear counters all" >/dev/null
}

for port in $PORT_C $PORT_LB; do
  if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then log "port $port is in use (a previous run still going?)"; exit 1; fi
done
if ! command -v haproxy >/dev/null; then
  log "installing haproxy from the system packages"   # as deploy/services.sh installs Redis and PostgreSQL
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
setup_suite
start_server B "$PORT_B"; start_server C "$PORT_C"
haproxy_start
# The load goes through HAProxy; /metrics is read from each instance (HAProxy denies it, and would pick one anyway).
DRIVER_EXTRA=(--via-balancer --metrics "http://127.0.0.1:$PORT_A" --metrics "http://127.0.0.1:$PORT_B" --metrics "http://127.0.0.1:$PORT_C")
CHECKS=()

# ---------- 1. rolling restart: each instance in turn SIGTERMed, drained, started again ----------
lb_begin rolling-restart
driver_start "$LB"
sleep "$BEFORE"
mark fault_start
for name in A B C; do
  srv=${name,,}; pid=${SERVER_PID[$name]}; t0=$(date +%s.%N); down=""
  log "SIGTERM $name (pid $pid): HAProxy must take it out before it stops listening"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$down" ] && [[ "$(hap_field "$srv" status)" == DOWN* ]]; then down=$(since "$t0"); fi
    sleep 0.1
  done
  exited=$(since "$t0"); reap_server "$name"
  t1=$(date +%s.%N); start_server "$name" "${PORT[$name]}"; wait_hap "$srv" UP 30; up=$(since "$t1")
  log "$name: DOWN in HAProxy after ${down:-never} s, exited (status $SERVER_RC) after $exited s, UP again $up s after its start began"
  lb_note "restart $name down_after ${down:-never} exited_after $exited exit_status $SERVER_RC up_after $up"
  sleep "$BETWEEN"
done
mark fault_end
sleep "$AFTER"
driver_stop; hap_snapshot "after the load"
retry_postbacks "$PORT_LB"; drain "$PORT_A" "$PORT_B" "$PORT_C"; reconcile 1
CHECKS+=(rolling-restart)

# ---------- 2. one instance killed -9 under load, started again ----------
lb_begin instance-kill9
driver_start "$LB"
sleep "$BEFORE"
pid=${SERVER_PID[B]}; mark fault_start; t0=$(date +%s.%N)
log "kill -9 B (pid $pid)"
kill -9 "$pid"; wait_hap b DOWN 10; down=$(since "$t0"); reap_server B
reason=$(grep -h -o 'Server trackers/b is DOWN, reason: [^,]*' "$RUN/haproxy.log" | tail -n 1 | sed 's/.*reason: //' || true)
log "B: DOWN in HAProxy after $down s ($reason)"
hap_snapshot "B down"; snapshot "$PORT_A" "B killed"
sleep "$DOWN_FOR"
t1=$(date +%s.%N); start_server B "$PORT_B"; wait_hap b UP 30; up=$(since "$t1"); mark fault_end
lb_note "kill9 B down_after $down up_after $up reason ${reason// /_}"
sleep "$AFTER"
driver_stop; hap_snapshot "after the load"
retry_postbacks "$PORT_LB"; drain "$PORT_A" "$PORT_B" "$PORT_C"; reconcile 1
# The killed instance's unacknowledged stream entries, taken over by a flusher of a live (or the restarted) instance.
grep -o 'Took over [0-9]* unacknowledged entries of [^"]*' "${SERVER_LOG[@]}" | sed "s|^$RUN/|after the kill: |" >> "$RUN/$PREFIX.snapshots" || true
CHECKS+=(instance-kill9)

# ---------- what the balancer's visitors saw ----------
python3 "$HERE/balancer.py" --run "$RUN" --connections 12 "${CHECKS[@]}" | tee "$RUN/balancer.txt" || VIOLATIONS=$((VIOLATIONS + 1))
finish_suite "balancer suite"
