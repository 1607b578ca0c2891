# An nginx on 127.0.0.1 serving flag documents for the polling benchmarks (poll_cost.sh,
# fleet_load.sh), sourced by them. Its access log has one line per request:
#   $msec $status $bytes_sent $request_length $connection $uri
# ($msec is when the response was sent; $bytes_sent counts headers and body as sent, after any
# compression). /gz/NAME serves the same file gzip-compressed to clients that accept it.
#
#   origin_start DIR        start it in DIR (config, www/, logs); sets ORIGIN_PORT, ORIGIN_PID
#   origin_publish NAME SRC rename a copy of SRC into www/NAME at once (readers see old or new)
#   origin_worker_pid       the worker's pid (one worker)
#   origin_stop             stop it (SIGTERM, then SIGKILL), only the nginx started here
#   flag_document FLAGS PROBE  a document of FLAGS flags on stdout: "probe", an integer whose only
#                           variant is PROBE, and FLAGS-1 static booleans

free_loopback_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

flag_document() {
  python3 - "$1" "$2" <<'PY'
import json, sys
flags, probe = int(sys.argv[1]), int(sys.argv[2])
doc = {"probe": {"state": "ENABLED", "variants": {"v": probe}, "defaultVariant": "v"}}
for i in range(1, flags):
    doc[f"f{i}"] = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"}
sys.stdout.write(json.dumps({"flags": doc}, separators=(",", ":")))
PY
}

origin_start() {
  ORIGIN_DIR=$1
  ORIGIN_PORT=$(free_loopback_port)
  mkdir -p "$ORIGIN_DIR/www" "$ORIGIN_DIR/tmp"
  local user=""
  [ "$(id -u)" = 0 ] && user="user root;"
  cat >"$ORIGIN_DIR/nginx.conf" <<EOF
$user
daemon off;
worker_processes 1;
pid $ORIGIN_DIR/nginx.pid;
error_log $ORIGIN_DIR/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  log_format fleet '\$msec \$status \$bytes_sent \$request_length \$connection \$uri';
  access_log $ORIGIN_DIR/access.log fleet;
  client_body_temp_path $ORIGIN_DIR/tmp/body;
  proxy_temp_path $ORIGIN_DIR/tmp/proxy;
  fastcgi_temp_path $ORIGIN_DIR/tmp/fastcgi;
  uwsgi_temp_path $ORIGIN_DIR/tmp/uwsgi;
  scgi_temp_path $ORIGIN_DIR/tmp/scgi;
  default_type application/json;
  keepalive_requests 100000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$ORIGIN_PORT;
    root $ORIGIN_DIR/www;
    location /gz/ { alias $ORIGIN_DIR/www/; gzip on; gzip_types application/json; gzip_min_length 0; }
  }
}
EOF
  /usr/sbin/nginx -p "$ORIGIN_DIR/" -c "$ORIGIN_DIR/nginx.conf" -e "$ORIGIN_DIR/error.log" 2>>"$ORIGIN_DIR/error.log" &
  ORIGIN_PID=$!
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$ORIGIN_PORT") 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ] || ! kill -0 "$ORIGIN_PID" 2>/dev/null; then
      echo "nginx did not start: $(cat "$ORIGIN_DIR/error.log")" >&2
      return 1
    fi
    sleep 0.05
  done
}

origin_publish() {
  cp "$2" "$ORIGIN_DIR/www/.$1.staging"
  mv -f "$ORIGIN_DIR/www/.$1.staging" "$ORIGIN_DIR/www/$1"
}

origin_worker_pid() { ps -o pid= --ppid "$ORIGIN_PID" | head -1 | tr -d ' '; }

origin_stop() {
  [ -n "${ORIGIN_PID:-}" ] || return 0
  kill -TERM "$ORIGIN_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$ORIGIN_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$ORIGIN_PID" 2>/dev/null || true
  wait "$ORIGIN_PID" 2>/dev/null || true
  ORIGIN_PID=""
}

# A process's CPU time: "TICKS NS", utime+stime from /proc/PID/stat (clock ticks, 100 a second)
# and the sum of its threads' time on a CPU from /proc/PID/task/*/schedstat (nanoseconds).
cpu_of() {
  local pid=$1 stat ns=0 task run
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || { echo "0 0"; return; }
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  for task in /proc/"$pid"/task/*/schedstat; do
    read -r run _ <"$task" 2>/dev/null && ns=$((ns + run))
  done
  echo "$((${12} + ${13})) $ns"
}
