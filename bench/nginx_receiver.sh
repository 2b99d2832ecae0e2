# shellcheck shell=bash
# A webhook receiver that costs little, for the bench scripts (sourced by bench/run.sh and
# bench/outgoing.sh): nginx on a free loopback port answering 200 to everything (`return 200`, no
# access log), one worker, run in the foreground as the current user with every file in DIR.
#
#   nginx_receiver_start DIR   # sets RECEIVER_PID, RECEIVER_PORT and RECEIVER_URL (…/hook)
#   nginx_receiver_stop
#
# The caller sources bench/lib.sh first (log, die, free_port). nginx itself: apt-get install -y
# nginx-light.

RECEIVER_PID=""
RECEIVER_PORT=""
RECEIVER_URL=""

nginx_receiver_start() {
  [[ -n $RECEIVER_PID ]] && return 0
  command -v nginx >/dev/null || die "nginx is required (apt-get install -y nginx-light)"
  local dir=$1
  mkdir -p "$dir/tmp"
  RECEIVER_PORT=$(free_port)
  RECEIVER_URL=http://127.0.0.1:$RECEIVER_PORT/hook
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$RECEIVER_PORT;
    location / { return 200 "ok\n"; }
  }
}
CONF
  nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" &
  RECEIVER_PID=$!
  for _ in $(seq 1 50); do
    if curl -fsS -o /dev/null -X POST --data x "$RECEIVER_URL" 2>/dev/null; then
      log "receiver (nginx) pid $RECEIVER_PID on 127.0.0.1:$RECEIVER_PORT answers 200"
      return 0
    fi
    sleep 0.1
  done
  cat "$dir/error.log" >&2 || true
  die "the receiver (nginx) did not start"
}

nginx_receiver_stop() {
  if [[ -n $RECEIVER_PID ]]; then
    kill -TERM "$RECEIVER_PID" 2>/dev/null
    wait "$RECEIVER_PID" 2>/dev/null
    RECEIVER_PID=""
  fi
}
