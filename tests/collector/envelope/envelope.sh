#!/bin/sh
# Container logs through clewd's tail input (parser: cri, parser: docker): files written one byte
# at a time, each byte read before the next is written (clewd's /metrics byte counter), so every
# partial line is cut at every position; partial lines joined, a stack trace spread over CRI
# lines joined into one record, JSON and pipe lines inside the envelope parsed, stream and the
# runtime's time kept, Kubernetes metadata from the path; and a partial sequence interrupted by a
# restart (SIGTERM, and kill -9) joined whole after it. Then tracegrep on the same files: the
# envelopes detected, or named with -p cri / -p docker. Usage: envelope.sh CLEWD TRACEGREP
set -eu
clewd=$1
tracegrep=$2
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "--- records:" >&2
	cat "$tmp/out.json" >&2 || true
	echo "--- clewd's log:" >&2
	tail -n 20 "$tmp/clewd.log" "$tmp/run.log" >&2 || true
	exit 1
}
id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mkdir -p "$tmp/containers" "$tmp/docker"
cri="$tmp/containers/web-1_shop_app-$id.log"
dk="$tmp/docker/$id-json.log"
: >"$cri"
: >"$dk"
cat >"$tmp/clewd.yaml" <<YAML
state_dir: $tmp/state
# bytes arrive slower than the default 1 s join timeout: a held record waits for the next record start
# (held records are not flushed at a stop either: they are read again after it)
multiline: { timeout: 10m }
http_listen: 127.0.0.1:0
inputs:
  - { type: tail, path: "$tmp/containers/*.log", parser: cri, read_from: head }
  - { type: tail, path: "$tmp/docker/*.log", parser: docker, read_from: head }
outputs:
  - { type: file, path: "$tmp/out.json", format: json }
YAML

# start CONFIG: run clewd on CONFIG, its log in $tmp/clewd.log (this run's in $tmp/run.log), its port in $port
start() {
	: >"$tmp/run.log"
	"$clewd" -c "$1" 2>"$tmp/run.log" &
	pid=$!
	port=
	i=0
	while [ -z "$port" ]; do
		i=$((i + 1))
		[ $i -lt 3000 ] || fail "clewd did not start"
		sleep 0.01
		port=$(grep -o 'serving /health[^"]*(port [0-9]*)' "$tmp/run.log" | sed 's/.*port \([0-9]*\))/\1/')
	done
}

# stop SIGNAL: stop clewd, keep its log
stop() {
	kill -"$1" "$pid"
	wait "$pid" || [ "$1" = KILL ] || fail "clewd exited with an error"
	pid=
	cat "$tmp/run.log" >>"$tmp/clewd.log"
}

# read_all FILE: wait until clewd has read every byte of FILE (its input's one file, read from its start in this run)
read_all() {
	size=$(wc -c <"$1")
	i=0
	while :; do
		got=$(curl -s "http://127.0.0.1:$port/metrics" | grep "^clewd_input_bytes_total{.*path=\"$(dirname "$1")/" |
			sed 's/.* //' | head -1)
		[ "$got" = "$size" ] && return 0
		i=$((i + 1))
		[ $i -lt 3000 ] || fail "clewd read $got of $size bytes of $1"
		sleep 0.01
	done
}

# bytewise SRC DST: append SRC to DST one byte at a time, each read by clewd before the next
bytewise() {
	n=$(wc -c <"$1")
	k=0
	while [ $k -lt "$n" ]; do
		dd if="$1" bs=1 skip=$k count=1 status=none >>"$2"
		k=$((k + 1))
		read_all "$2"
	done
}

# record TRACE: the (last) record with that trace, as JSON; waits for it
record() {
	i=0
	while :; do
		r=$(jq -c "select(.trace == \"$1\")" "$tmp/out.json" 2>/dev/null | tail -1)
		[ -n "$r" ] && break
		i=$((i + 1))
		[ $i -lt 3000 ] || fail "no record with trace $1"
		sleep 0.01
	done
	printf '%s\n' "$r"
}

# field JSON FILTER
field() { printf '%s\n' "$1" | jq -r "$2"; }

start "$tmp/clewd.yaml"
printf '%s\n' \
	'2026-12-06T04:29:59Z stdout F plain text without a time' \
	'2026-12-06T04:30:00.000000001Z stdout F 2026-12-06T04:30:00.5Z INFO t-cri-1:s1|shop|GET|/a|msg=first' \
	'2026-12-06T04:30:01Z stdout P {"msg":"a json line spl' \
	'2026-12-06T04:30:01.1Z stdout P it over three parts","trace":"t-cri-2' \
	'2026-12-06T04:30:01.2Z stdout F "}' \
	'2026-12-06T04:30:02Z stderr F 2026-12-06T04:30:02.5Z ERROR t-cri-3:s3|shop|POST|/b|msg=boom' \
	'2026-12-06T04:30:02Z stderr F java.lang.IllegalStateException: boom' \
	'2026-12-06T04:30:02Z stderr P 	at com.example.Shop.pla' \
	'2026-12-06T04:30:02Z stderr F ce(Shop.java:42)' \
	'2026-12-06T04:30:02Z stderr F 	at com.example.Main.main(Main.java:7)' \
	'2026-12-06T04:30:04Z stdout F 2026-12-06T04:30:04.5Z INFO t-cri-5|end' \
	'2026-12-06T04:30:05Z stdout F 2026-12-06T04:30:05Z INFO t-cri-6|closes the held t-cri-5' >"$tmp/cri.src"
printf '%s\n' \
	'{"log":"plain stderr line\n","stream":"stderr","time":"2026-12-06T04:31:00Z"}' \
	'{"log":"2026-12-06T04:31:00.5Z INFO t-dk-1|first\n","stream":"stdout","time":"2026-12-06T04:31:00.000000001Z"}' \
	'{"log":"{\"msg\":\"split \\u00e9 ","stream":"stdout","time":"2026-12-06T04:31:01Z"}' \
	'{"log":"json\",\"trace\":\"t-dk-2\"}\n","stream":"stdout","time":"2026-12-06T04:31:01Z"}' \
	'{"log":"2026-12-06T04:31:02Z INFO t-dk-3|last\n","stream":"stdout","time":"2026-12-06T04:31:02Z"}' \
	'{"log":"2026-12-06T04:31:03Z INFO t-dk-4|closes the held t-dk-3\n","stream":"stdout","time":"2026-12-06T04:31:03Z"}' >"$tmp/dk.src"
bytewise "$tmp/cri.src" "$cri"
bytewise "$tmp/dk.src" "$dk"

r=$(record t-cri-2)
[ "$(field "$r" .message)" = "a json line split over three parts" ] || fail "CRI partial lines not joined: $r"
[ "$(field "$r" .timestamp)" = "2026-12-06T04:30:01Z" ] || fail "the runtime's time not used: $r"
[ "$(field "$r" .stream)" = stdout ] || fail "stream not kept: $r"
[ "$(field "$r" '."k8s.pod"')/$(field "$r" '."k8s.namespace"')/$(field "$r" '."k8s.container"')" = web-1/shop/app ] ||
	fail "Kubernetes metadata: $r"
r=$(record t-cri-1)
[ "$(field "$r" .timestamp)" = "2026-12-06T04:30:00.500Z" ] || fail "the line's own time not kept: $r"
[ "$(field "$r" .message)" = first ] || fail "pipe line inside CRI: $r"
r=$(record t-cri-3)
want=$(printf 'boom\njava.lang.IllegalStateException: boom\n\tat com.example.Shop.place(Shop.java:42)\n\tat com.example.Main.main(Main.java:7)')
[ "$(field "$r" .message)" = "$want" ] || fail "stack trace over CRI lines not one record: $r"
[ "$(field "$r" .stream)" = stderr ] || fail "stderr stream: $r"
r=$(jq -c 'select(.message == "plain text without a time")' "$tmp/out.json")
[ "$(field "$r" .timestamp)" = "2026-12-06T04:29:59Z" ] || fail "plain line: $r"
r=$(record t-dk-2)
[ "$(field "$r" .message)" = "split é json" ] || fail "json-file partial lines not joined: $r"
[ "$(field "$r" .timestamp)" = "2026-12-06T04:31:01Z" ] || fail "json-file time: $r"
r=$(jq -c 'select(.message == "plain stderr line")' "$tmp/out.json")
[ "$(field "$r" .stream)" = stderr ] || fail "json-file stream: $r"
[ "$(field "$r" '."k8s.pod"')" = null ] || fail "k8s metadata on a non-Kubernetes path: $r"
record t-cri-5 >/dev/null
record t-dk-3 >/dev/null
# the one plain line of each file is counted as unparsed (and kept as a record of its text)
for d in containers docker; do
	n=$(curl -s "http://127.0.0.1:$port/metrics" | grep "^clewd_input_unparsed_total{.*path=\"$tmp/$d/" | sed 's/.* //')
	[ "$n" = 1 ] || fail "clewd_input_unparsed_total of $d: '$n', want 1"
done
stop TERM

# A partial sequence interrupted by a restart: SIGTERM, then kill -9 (each its own clewd and state).
for how in TERM KILL; do
	mkdir -p "$tmp/$how/containers"
	f="$tmp/$how/containers/api-2_shop_srv-$id.log"
	sed "s|$tmp/state|$tmp/$how/state|; s|$tmp/containers/|$tmp/$how/containers/|; /docker/d" "$tmp/clewd.yaml" >"$tmp/$how.yaml"
	start "$tmp/$how.yaml"
	printf '%s\n' "2026-12-06T04:32:00Z stdout F 2026-12-06T04:32:00Z INFO t-$how-0|before" \
		'2026-12-06T04:32:01Z stdout P {"msg":"restart ' \
		'2026-12-06T04:32:01Z stdout P in the middle ' >>"$f"
	read_all "$f"
	stop $how
	printf '%s\n' "2026-12-06T04:32:02Z stdout F of a partial sequence\",\"trace\":\"t-$how-1\"}" \
		"2026-12-06T04:32:03Z stdout F 2026-12-06T04:32:03Z INFO t-$how-2|closes the held t-$how-1" >>"$f"
	start "$tmp/$how.yaml"
	r=$(record "t-$how-1")
	[ "$(field "$r" .message)" = "restart in the middle of a partial sequence" ] ||
		fail "partial sequence across a restart ($how): $r"
	[ "$(field "$r" .timestamp)" = "2026-12-06T04:32:01Z" ] || fail "time of a joined line ($how): $r"
	stop TERM
done
for t in t-TERM-0 t-KILL-0; do record $t >/dev/null; done
for piece in 'java.lang.IllegalStateException: boom' 'in the middle ' 'it over three parts' 'of a partial'; do
	if jq -e "select(.message != null and (.message | startswith(\"$piece\")))" "$tmp/out.json" >/dev/null; then
		fail "a piece of a joined line became a record of its own: $piece"
	fi
done
# a built-in named parser inside the envelope (parser: cri+nginx), from stdin
printf '%s\n' '2026-12-06T04:33:00.5Z stdout F 10.0.0.7 - - [06/Dec/2026:04:33:00 +0000] "GET /shop?x=1 HTTP/1.1" 404 9 "-" "curl/7.88.1" req-nginx-1' |
	"$clewd" -i stdin -p cri+nginx -o stdout:json --state-dir "$tmp/stdin-state" >"$tmp/nginx.json" 2>>"$tmp/clewd.log" ||
	fail "clewd -p cri+nginx"
r=$(cat "$tmp/nginx.json")
[ "$(field "$r" .trace)/$(field "$r" .status)/$(field "$r" .method)/$(field "$r" .path)" = "req-nginx-1/404/GET//shop?x=1" ] ||
	fail "-p cri+nginx: $r"
[ "$(field "$r" .timestamp)" = "2026-12-06T04:33:00Z" ] || fail "-p cri+nginx: nginx's own time: $r"

# long lines as the kubelet writes them: 16 KiB P parts, then F; one record up to 64 KiB, past
# that the text goes on in 64 KiB lines (the multiline join may put them together again): no byte lost
# cri_long N: a JSON line with a message of N bytes, in 16 KiB parts, through clewd -p cri (stdin)
cri_long() {
	head -c "$1" /dev/zero | tr '\0' A | sed 's/^/{"msg":"/; s/$/","trace":"t-long"}/' | fold -w 16384 |
		awk '{ l[NR] = $0 } END { for (i = 1; i <= NR; i++) printf "2026-12-06T04:34:00Z stdout %s %s\n", (i < NR ? "P" : "F"), l[i] }' |
		"$clewd" -i stdin -p cri -o stdout:json --state-dir "$tmp/stdin-state" 2>>"$tmp/clewd.log" >"$tmp/long.json" ||
		fail "clewd -p cri on long lines"
}
cri_long 50000
[ "$(jq -s 'length' "$tmp/long.json")" = 1 ] || fail "a 50000-byte line in 16 KiB parts is not one record"
[ "$(jq -r '.trace + " " + (.message | length | tostring)' "$tmp/long.json")" = "t-long 50000" ] || fail "the long line's record"
cri_long 150000
[ "$(jq -s 'map(.message | explode | map(select(. == 65)) | length) | add' "$tmp/long.json")" = 150000 ] ||
	fail "a 150000-byte line: bytes lost"

# tracegrep reads the same files: envelopes detected per file, or named
"$tracegrep" --lines t-cri-3 "$tmp/containers" >"$tmp/tg.out" || fail "tracegrep t-cri-3"
[ "$(cat "$tmp/tg.out")" = "$(printf '%s\n%s' '2026-12-06T04:30:02.5Z ERROR t-cri-3:s3|shop|POST|/b|msg=boom' "$(printf '%s' "$want" | tail -n +2)")" ] ||
	fail "tracegrep: the stack trace over CRI lines: $(cat "$tmp/tg.out")"
for p in "" "-p cri" "-p cri+json"; do
	# shellcheck disable=SC2086 # $p is zero or two words
	"$tracegrep" $p --json t-cri-2 "$tmp/containers/web-1_shop_app-$id.log" >"$tmp/tg.json" || fail "tracegrep $p t-cri-2"
	[ "$(jq -r '.records[0].message' "$tmp/tg.json")" = "a json line split over three parts" ] || fail "tracegrep $p: partial CRI lines"
	[ "$(jq -r '.records[0].ts' "$tmp/tg.json")" = "2026-12-06T04:30:01Z" ] || fail "tracegrep $p: the runtime's time"
done
for p in "" "-p docker"; do
	# shellcheck disable=SC2086
	"$tracegrep" $p --json t-dk-2 "$dk" >"$tmp/tg.json" || fail "tracegrep $p t-dk-2"
	[ "$(jq -r '.records[0].message' "$tmp/tg.json")" = "split é json" ] || fail "tracegrep $p: partial json-file lines"
done
if "$tracegrep" -p docker --lines t-cri-2 "$tmp/containers" >/dev/null 2>&1; then
	fail "tracegrep -p docker read CRI lines"
fi
echo "ok: cri and docker envelopes, byte by byte and across restarts; tracegrep on them"
