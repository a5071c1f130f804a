#!/usr/bin/env bash
# A real Prometheus server scrapes a gateway carrying a live session every second; once the
# traffic has stopped, PromQL over Prometheus's HTTP API returns the gateway's own counts.
source "$(dirname "$0")/lib.sh"
need prometheus
need python3

query() {
  python3 - "$1" "$2" <<'PY'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
data = json.load(urllib.request.urlopen(url, timeout=5))
result = data["data"]["result"]
print(result[0]["value"][1] if result else "")
PY
}

make_ts "$WORK/in.ts" 8
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts" \
  --metrics-listen 127.0.0.1:0
wait_for_line "$WORK/gateway.log" 'metrics on http://' 5
TARGET=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$WORK/gateway.log" | head -n1 | sed -E 's#http://([^/]+)/metrics#\1#')

PROM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: braid-gateway
    static_configs:
      - targets: ['$TARGET']
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
PROM="http://127.0.0.1:$PROM_PORT"
deadline=$((SECONDS + 20))
until [[ $(query "$PROM" 'up{job="braid-gateway"}' 2>/dev/null) == 1 ]]; do
  ((SECONDS < deadline)) || { cat "$WORK/prometheus.log"; die "Prometheus never scraped the gateway"; }
  sleep 0.5
done
log "Prometheus on $PROM scrapes $TARGET"

# 1000 ms, as in metrics_test.sh: the subject is the scraped counters. At 200 ms a CI run
# (release system suite, the sanitizer builds compiling beside it) lost one datagram of the
# output, and its byte count fell short of the input's.
start_edge "$WORK/edge.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 1000
wait_for_line "$WORK/gateway.log" 'sessions=1 ' 10
# Scrapes are 1 s apart: wait for one that saw the session live.
live=0
deadline=$((SECONDS + 6))
while ((SECONDS < deadline)); do
  live=$(query "$PROM" 'max_over_time(braid_gateway_sessions[10s])')
  [[ $live == 1 ]] && break
  sleep 0.5
done
wait "$EDGE_PID" || die "edge exited non-zero"
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
sleep 3  # two more scrapes after the traffic stopped
played_stats=$(stat_value "$WORK/gateway.log" played)
bytes_stats=$(stat_value "$WORK/gateway.log" out_bytes)
played_prom=$(query "$PROM" 'sum(braid_gateway_played_packets_total{job="braid-gateway"})')
bytes_prom=$(query "$PROM" 'sum(braid_gateway_output_bytes_total{job="braid-gateway"})')
sessions_prom=$(query "$PROM" 'sum(braid_gateway_sessions_opened_total{job="braid-gateway"})')
log "PromQL: played=$played_prom output_bytes=$bytes_prom sessions_opened=$sessions_prom (live sessions seen: $live)"
[[ $live == 1 ]] || die "Prometheus did not see the live session (max sessions $live)"
[[ $played_prom == "$played_stats" ]] || die "played: Prometheus $played_prom, gateway $played_stats"
[[ $bytes_prom == "$bytes_stats" ]] || die "output bytes: Prometheus $bytes_prom, gateway $bytes_stats"
[[ $bytes_prom == $(stat -c %s "$WORK/in.ts") ]] || die "output bytes $bytes_prom != input size"
[[ $sessions_prom == 1 ]] || die "sessions opened: $sessions_prom"
stop "$GATEWAY_PID" || die "gateway exited non-zero"
