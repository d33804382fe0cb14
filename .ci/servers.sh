#!/usr/bin/env bash
# Test servers for nd-remote, on loopback only: nginx (static files with byte ranges) and
# moto (an S3-compatible server). Installs them when missing, starts them in the background on
# free ports, and writes their addresses to target/nd-test-servers.env, which the tests read.
#
# The servers stop by themselves: when the process that called this script exits (CI's
# .ci/run; set ND_SERVERS_OWNER_PID to follow another process, 0 for none), and in any case
# after ND_SERVERS_TTL seconds (default 5400).
#
#   bash .ci/servers.sh          # start (restarts the ones this script started before)
#   bash .ci/servers.sh stop     # stop them
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
STATE="$REPO/target/nd-test-servers"
ENVFILE="$REPO/target/nd-test-servers.env"
TTL=${ND_SERVERS_TTL:-5400}
OWNER=${ND_SERVERS_OWNER_PID:-$PPID}

stop_old() {
    for f in "$STATE"/*.pid-started; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        # only a process this script started: a session leader whose working directory is $STATE
        if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$STATE" ]; then
            pkill -TERM -s "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
    rm -f "$ENVFILE"
}

mkdir -p "$STATE"
stop_old
if [ "${1:-}" = "stop" ]; then
    echo "nd test servers stopped"
    exit 0
fi

# --- install -------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
    echo "== installing nginx-light"
    apt_install nginx-light
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
    apt_install python3 python3-venv
    PY=$(command -v python3)
fi
MOTO=""
if "$PY" -c "import moto.server, flask, werkzeug" >/dev/null 2>&1; then
    MOTO="$PY -m moto.server"
elif [ -x "$STATE/venv/bin/python" ] && "$STATE/venv/bin/python" -c "import moto.server" >/dev/null 2>&1; then
    MOTO="$STATE/venv/bin/python -m moto.server"
else
    echo "== installing moto[server] into $STATE/venv"
    "$PY" -m venv "$STATE/venv" >/dev/null 2>&1 || { apt_install python3-venv; "$PY" -m venv "$STATE/venv"; }
    "$STATE/venv/bin/python" -m pip install -q "moto[server]"
    MOTO="$STATE/venv/bin/python -m moto.server"
fi

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # port name
    for _ in $(seq 1 100); do
        if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "$2 did not start on 127.0.0.1:$1" >&2
    return 1
}

# --- nginx ---------------------------------------------------------------------------------
ROOT="$STATE/www"
mkdir -p "$ROOT" "$STATE/tmp"
# The committed test files, served as they are (generated big files are added by the tests).
for d in fits asdf zarr example toolbox; do
    [ -d "testdata/$d" ] && rm -rf "${ROOT:?}/$d" && cp -r "testdata/$d" "$ROOT/$d"
done
HTTP_PORT=$(free_port)
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
sed -e "s|@USER_LINE@|$USER_LINE|" -e "s|@PORT@|$HTTP_PORT|" -e "s|@ROOT@|$ROOT|" \
    -e "s|@STATE@|$STATE|g" testdata/remote/nginx.conf.in >"$STATE/nginx.conf"
: >"$STATE/access.log"
"$NGINX" -t -q -p "$STATE" -c "$STATE/nginx.conf" 2>"$STATE/nginx-check.log" || {
    cat "$STATE/nginx-check.log" >&2
    exit 1
}
# `timeout` bounds the server's life; each server is a session of its own started in $STATE
# (which is how stop_old recognises it).
cd "$STATE"
setsid timeout -k 5 "$TTL" "$NGINX" -p "$STATE" -c "$STATE/nginx.conf" \
    >"$STATE/nginx.out" 2>&1 </dev/null &
echo $! >"$STATE/nginx.pid-started"
wait_port "$HTTP_PORT" nginx

# --- moto (S3) -----------------------------------------------------------------------------
S3_PORT=$(free_port)
# shellcheck disable=SC2086
setsid timeout -k 5 "$TTL" $MOTO -H 127.0.0.1 -p "$S3_PORT" \
    >"$STATE/moto.out" 2>&1 </dev/null &
echo $! >"$STATE/moto.pid-started"
wait_port "$S3_PORT" moto
BUCKET=nd-test
# Create the bucket (moto does not check signatures).
"$PY" - "$S3_PORT" "$BUCKET" <<'EOF'
import sys, urllib.request
port, bucket = sys.argv[1], sys.argv[2]
req = urllib.request.Request(f"http://127.0.0.1:{port}/{bucket}", method="PUT", data=b"")
with urllib.request.urlopen(req, timeout=10) as r:
    assert r.status in (200, 204), r.status
EOF

# --- watchdog: stop the servers (and remove the env file) when the owner exits, when a server
# dies, or after the TTL ---------------------------------------------------------------------
NPID=$(cat "$STATE/nginx.pid-started")
MPID=$(cat "$STATE/moto.pid-started")
[ "$OWNER" != 0 ] && ! kill -0 "$OWNER" 2>/dev/null && OWNER=0
setsid bash -c "end=\$((SECONDS + $TTL)); \
    while [ \$SECONDS -lt \$end ] && kill -0 $NPID 2>/dev/null && kill -0 $MPID 2>/dev/null \
          && { [ $OWNER = 0 ] || kill -0 $OWNER 2>/dev/null; }; do sleep 2; done; \
    pkill -TERM -s $NPID 2>/dev/null; pkill -TERM -s $MPID 2>/dev/null; \
    if [ \"\$(cat '$STATE/nginx.pid-started' 2>/dev/null)\" = $NPID ]; then rm -f '$ENVFILE'; fi; true" \
    >/dev/null 2>&1 </dev/null &

cat >"$ENVFILE" <<EOF
ND_TEST_HTTP_URL=http://127.0.0.1:$HTTP_PORT
ND_TEST_HTTP_ROOT=$ROOT
ND_TEST_HTTP_LOG=$STATE/access.log
ND_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
ND_TEST_S3_BUCKET=$BUCKET
EOF
echo "== nd test servers: nginx on 127.0.0.1:$HTTP_PORT, moto (S3) on 127.0.0.1:$S3_PORT ($ENVFILE)"
