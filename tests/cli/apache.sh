#!/bin/sh
# tracegrep -p apache on logs written by Debian's Apache httpd, run here as its own process on a
# free loopback port with its own ServerRoot, pid file and runtime directory, in front of the
# example billing service (mod_proxy): the combined LogFormat with the request ID appended
# (%{X-Request-ID}i, the header curl sends and the proxy passes on), and the same with
# mod_unique_id's %{UNIQUE_ID}e. tracegrep -p apache ID access.log app.log finds both sides.
# Fails (not skips) without apache2: scripts/lib.sh installs it. Usage: apache.sh TRACEGREP BILLING
set -eu
tracegrep=$(realpath "$1")
billing=$(realpath "$2")
httpd=/usr/sbin/apache2
mods=/usr/lib/apache2/modules
[ -x "$httpd" ] || {
	echo "FAIL: apache2 is not installed (Debian's apache2; scripts/test installs it)" >&2
	exit 1
}
tmp=$(mktemp -d)
chmod 755 "$tmp"
bpid=
hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
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

CLEW_OUTPUT="file:$tmp/app.log" CLEW_SERVICE=billing "$billing" --port 0 --port-file "$tmp/billing.port" \
	>"$tmp/billing.out" 2>&1 &
bpid=$!
i=0
while [ ! -s "$tmp/billing.port" ]; do
	i=$((i + 1))
	[ $i -lt 2000 ] || fail "billing did not start"
	sleep 0.01
done
bport=$(cat "$tmp/billing.port")

try=0
while :; do
	try=$((try + 1))
	[ $try -le 20 ] || fail "no free port for apache2"
	port=$(shuf -i 20000-60999 -n 1)
	cat >"$tmp/httpd.conf" <<CONF
ServerRoot $tmp
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $tmp/httpd.pid
DefaultRuntimeDir $tmp
Mutex file:$tmp default
ErrorLog $tmp/error.log
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule unique_id_module $mods/mod_unique_id.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" %{X-Request-ID}i" clew
LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" %{UNIQUE_ID}e" uniq
CustomLog $tmp/access.log clew
CustomLog $tmp/unique.log uniq
ProxyPass /charge http://127.0.0.1:$bport/charge
CONF
	"$httpd" -f "$tmp/httpd.conf" -DFOREGROUND >"$tmp/httpd.out" 2>&1 &
	hpid=$!
	i=0
	while kill -0 "$hpid" 2>/dev/null && ! curl -s -o /dev/null "http://127.0.0.1:$port/"; do
		i=$((i + 1))
		[ $i -lt 2000 ] || fail "apache2 does not answer: $(cat "$tmp/httpd.out")"
		sleep 0.01
	done
	kill -0 "$hpid" 2>/dev/null && break
	grep -q "Address already in use" "$tmp/httpd.out" "$tmp/error.log" 2>/dev/null ||
		fail "apache2 did not start: $(cat "$tmp/httpd.out")"
	hpid=
done

ids="req-7c1d2e3f4a5b6c7d req-0f1e2d3c4b5a6978"
order=1
for id in $ids; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Request-ID: $id" -H 'Content-Type: application/json' \
		-d "{\"order\":$order,\"user\":\"u1\",\"amount\":990}" "http://127.0.0.1:$port/charge")
	[ "$code" = 200 ] || fail "POST /charge answered $code"
	order=$((order + 1))
done
kill "$hpid"
wait "$hpid" || true
hpid=
kill "$bpid"
wait "$bpid" || true
bpid=

cd "$tmp"
for id in $ids; do
	"$tracegrep" -p apache --json "$id" access.log app.log >"$id.json" 2>"$id.err" ||
		fail "tracegrep -p apache $id: $(cat "$id.err")"
	[ "$(jq '[.records[] | select(.source == "access.log")] | length' "$id.json")" = 1 ] ||
		fail "$id: not one access log line"
	[ "$(jq '[.records[] | select(.source == "app.log")] | length' "$id.json")" -ge 1 ] || fail "$id: no record of the service"
	[ "$(jq -r '[.records[] | select(.source == "access.log")][0].attrs.status' "$id.json")" = 200 ] || fail "$id: status"
	[ "$(jq -r '[.records[] | select(.source == "access.log")][0].ts | test("^20[0-9][0-9]-")' "$id.json")" = true ] ||
		fail "$id: the time of %t"
done
# the layout with mod_unique_id's UNIQUE_ID (base64url: A-Z a-z 0-9 - _, all valid in a clew ID)
uid=$(grep 'POST /charge' unique.log | tail -1 | awk '{print $NF}')
echo "$uid" | grep -Eq '^[A-Za-z0-9_-]{19,}$' || fail "UNIQUE_ID: '$uid'"
"$tracegrep" -p apache --lines -- "$uid" unique.log >uid.out || fail "tracegrep -p apache $uid"
if [ "$(wc -l <uid.out)" != 1 ] || ! grep -q 'POST /charge' uid.out; then
	fail "UNIQUE_ID $uid: $(cat uid.out)"
fi
echo "ok: tracegrep -p apache on Apache httpd's access log"
