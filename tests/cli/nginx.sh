#!/bin/sh
# tracegrep -p nginx on logs written by real programs: Debian's nginx, run here as its own process
# on a free loopback port with its own prefix, pid and temp directories and a log_format ending in
# the request ID ($request_id, or the client's X-Request-ID when it sent one), in front of the
# example billing service (libclew, its records in app.log). Requests from curl carry
# X-Request-ID; tracegrep -p nginx ID access.log app.log must find the access log line and the
# service's records of that request, and a request without the header is found by the ID nginx
# made for it. Also the same through -c FILE (a clewd.yaml's named parser), -p regex: with
# --time-format, and --multiline-start. Fails (not skips) without nginx: scripts/lib.sh installs it.
# Usage: nginx.sh TRACEGREP BILLING
set -eu
tracegrep=$(realpath "$1")
billing=$(realpath "$2")
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || {
	echo "FAIL: nginx is not installed (Debian's nginx; scripts/test installs it)" >&2
	exit 1
}
tmp=$(mktemp -d)
bpid=
npid=
cleanup() {
	[ -n "$npid" ] && kill "$npid" 2>/dev/null
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in access.log app.log error.log; do
		echo "--- $f:" >&2
		tail -n 20 "$tmp/$f" >&2 || true
	done
	exit 1
}
wait_for() { # wait_for FILE: until FILE is not empty
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -lt 2000 ] || fail "$1 never appeared"
		sleep 0.01
	done
}

CLEW_OUTPUT="file:$tmp/app.log" CLEW_SERVICE=billing "$billing" --port 0 --port-file "$tmp/billing.port" \
	>"$tmp/billing.out" 2>&1 &
bpid=$!
wait_for "$tmp/billing.port"
bport=$(cat "$tmp/billing.port")

# nginx on a free port: try ports until one binds (nginx exits at once when it cannot)
mkdir -p "$tmp/temp" "$tmp/logs"
try=0
while :; do
	try=$((try + 1))
	[ $try -le 20 ] || fail "no free port for nginx"
	port=$(shuf -i 20000-60999 -n 1)
	cat >"$tmp/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
	client_body_temp_path $tmp/temp/body;
	proxy_temp_path $tmp/temp/proxy;
	fastcgi_temp_path $tmp/temp/fastcgi;
	uwsgi_temp_path $tmp/temp/uwsgi;
	scgi_temp_path $tmp/temp/scgi;
	# the client's X-Request-ID when it sent one, else the one nginx makes
	map \$http_x_request_id \$reqid {
		default \$http_x_request_id;
		"" \$request_id;
	}
	log_format clew '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent '
			'"\$http_referer" "\$http_user_agent" \$reqid';
	access_log $tmp/access.log clew;
	server {
		listen 127.0.0.1:$port;
		location /charge {
			proxy_pass http://127.0.0.1:$bport;
			proxy_set_header X-Request-ID \$reqid;
		}
		location /static { return 200 "static\\n"; }
	}
}
CONF
	"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" 2>"$tmp/nginx.err" &
	npid=$!
	i=0
	while [ ! -s "$tmp/nginx.pid" ] && kill -0 "$npid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 2000 ] || fail "nginx did not start"
		sleep 0.01
	done
	# listening once curl gets an answer (the pid file is written before the workers accept)
	i=0
	while kill -0 "$npid" 2>/dev/null && ! curl -sf "http://127.0.0.1:$port/static" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 2000 ] || fail "nginx does not answer"
		sleep 0.01
	done
	kill -0 "$npid" 2>/dev/null && break
	npid=
	rm -f "$tmp/nginx.pid"
done

ids="req-5f2b8c0e9a1d4c7b req-a1b2c3d4e5f60718 req-0e8a7a773c0f4c0b"
order=1
for id in $ids; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Request-ID: $id" -H 'Content-Type: application/json' \
		-d "{\"order\":$order,\"user\":\"u1\",\"amount\":1250}" "http://127.0.0.1:$port/charge")
	[ "$code" = 200 ] || fail "POST /charge answered $code"
	order=$((order + 1))
done
curl -s -o /dev/null "http://127.0.0.1:$port/static"
kill "$npid"
wait "$npid" || true
npid=
kill "$bpid"
wait "$bpid" || true
bpid=

cd "$tmp"
for id in $ids; do
	"$tracegrep" -p nginx --json "$id" access.log app.log >"$id.json" 2>"$id.err" || fail "tracegrep -p nginx $id: $(cat "$id.err")"
	n_access=$(jq '[.records[] | select(.source == "access.log")] | length' "$id.json")
	n_app=$(jq '[.records[] | select(.source == "app.log")] | length' "$id.json")
	[ "$n_access" = 1 ] || fail "$id: $n_access access log lines, want 1"
	[ "$n_app" -ge 1 ] || fail "$id: no record of the service"
	[ "$(jq -r '[.records[] | select(.source == "access.log")][0].attrs.status' "$id.json")" = 200 ] ||
		fail "$id: the access log line's status"
	[ "$(jq -r '.spans[0].method' "$id.json")" = POST ] || fail "$id: method"
	# every record found is of this request
	[ "$(jq -r --arg id "$id" '[.records[] | select(.trace != $id)] | length' "$id.json")" = 0 ] ||
		fail "$id: a record of another request"
done
# without -p nginx the access log is not read as records
if "$tracegrep" --lines req-5f2b8c0e9a1d4c7b access.log >/dev/null 2>&1; then
	fail "the access log was matched without -p nginx"
fi
# nginx in a container: its lines inside CRI envelopes (-p cri+nginx)
sed 's/^/2026-12-06T04:30:00.123Z stdout F /' access.log >cri.log
"$tracegrep" -p cri+nginx --lines req-a1b2c3d4e5f60718 cri.log app.log >cri.out || fail "-p cri+nginx"
grep -q '^127.0.0.1 .*POST /charge.* req-a1b2c3d4e5f60718$' cri.out || fail "-p cri+nginx: the access log line: $(cat cri.out)"
grep -q '|billing|' cri.out || fail "-p cri+nginx: the service's record"

# the request without X-Request-ID: found by the ID nginx made ($request_id, 32 hex digits)
made=$(grep 'GET /static' access.log | tail -1 | awk '{print $NF}')
echo "$made" | grep -Eq '^[0-9a-f]{32}$' || fail "nginx's own \$request_id: '$made'"
"$tracegrep" -p nginx --lines "$made" access.log app.log | grep -q "GET /static" || fail "\$request_id $made not found"

# the same layout as a clewd.yaml's named parser (-c FILE), and as -p regex: with --time-format
cat >clewd.yaml <<'YAML'
parsers:
  - name: edge
    regex: '^(?<client>\S+) - \S+ \[(?<time>[^\]]+)\] "(?<method>[A-Z]+) (?<path>\S+)[^"]*" (?<status>\d+) \S+ "[^"]*" "[^"]*" (?<trace>\S+)'
    time_format: '%d/%b/%Y:%H:%M:%S %z'
inputs:
  - { type: tail, path: /var/log/nginx/access.log, parser: edge }
YAML
"$tracegrep" -c clewd.yaml -p edge --lines req-a1b2c3d4e5f60718 access.log app.log >c.out || fail "-c FILE -p edge"
grep -q 'POST /charge' c.out || fail "-c FILE: the access log line"
grep -q '|billing|' c.out || fail "-c FILE: the service's record"
"$tracegrep" -p 'regex:^\S+ - \S+ \[(?<time>[^\]]+)\] "(?<method>\S+) (?<path>\S+)[^"]*" (?<status>\d+) .* (?<trace>\S+)$' \
	--time-format '%d/%b/%Y:%H:%M:%S %z' --json req-0e8a7a773c0f4c0b access.log >r.json || fail "-p regex:"
jq -e '.records[0].ts | test("^20[0-9][0-9]-")' r.json >/dev/null || fail "--time-format: no time read"
jq -e '.records[0].attrs.status == 200' r.json >/dev/null || fail "-p regex: status"

# --multiline-start: a layout whose continuation lines would otherwise start nothing
printf '%s\n' '== 2026-12-06T04:30:00Z req-ml-1 first line' '   second line' '== 2026-12-06T04:30:01Z req-ml-2 other' >ml.log
"$tracegrep" -p 'regex:^== (?<time>\S+) (?<trace>\S+) (?<message>.*)' --multiline-start '^== ' --lines req-ml-1 ml.log >ml.out ||
	fail "--multiline-start"
[ "$(cat ml.out)" = "$(printf '%s\n%s' '== 2026-12-06T04:30:00Z req-ml-1 first line' '   second line')" ] ||
	fail "--multiline-start: $(cat ml.out)"
# usage errors say what is wrong, exit 2
expect_usage() { # expect_usage TEXT ARGS...: tracegrep ARGS exits 2 saying TEXT
	text=$1
	shift
	st=0
	"$tracegrep" "$@" >/dev/null 2>err.txt || st=$?
	if [ $st != 2 ] || ! grep -qF -e "$text" err.txt; then
		fail "tracegrep $*: exit $st, $(cat err.txt)"
	fi
}
expect_usage "-p nope: no such parser" -p nope x access.log
expect_usage "--time-format goes with -p regex:PATTERN" -p nginx --time-format epoch x access.log
expect_usage "-c missing.yaml" -c missing.yaml -p edge x access.log
expect_usage "-p: regex: missing closing parenthesis" -p 'regex:(?<trace>' x access.log
expect_usage "--multiline-start: " --multiline-start '[' x access.log

echo "ok: tracegrep -p nginx, -c FILE, -p regex: --time-format, --multiline-start"
