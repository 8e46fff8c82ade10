#!/bin/sh
# Many files under one tail glob, more than clewd may hold open (RLIMIT_NOFILE 128 by prlimit,
# hard limit too): every line of 3,000 files is delivered once; files appended to after they were
# closed at EOF are read again; a restart reads nothing twice; the "no free descriptor" warning
# is logged once per interval with a count, not per file; a big file does not starve small ones.
# Usage: many_files.sh CLEWD
set -eu
clewd=$1
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$tmp/clewd.log" ] && tail -5 "$tmp/clewd.log" >&2
	exit 1
}
nfiles=3000
mkdir "$tmp/logs"
i=1
while [ "$i" -le "$nfiles" ]; do
	seq -f "f$i-l%g|svc|GET|/x|line" 1 20 >"$tmp/logs/app-$i.log"
	i=$((i + 1))
done
cat >"$tmp/clewd.yaml" <<YAML
state_dir: $tmp/state
tail: { poll_interval: 500ms }
inputs:
  - { type: tail, path: "$tmp/logs/*.log" }
outputs:
  - { type: stdout, format: pipe }
YAML

start() {
	prlimit --nofile=128:128 "$clewd" -c "$tmp/clewd.yaml" >>"$tmp/out.txt" 2>>"$tmp/clewd.log" &
	pid=$!
}
stop() {
	kill -TERM "$pid"
	wait "$pid" || fail "clewd exited with status $?"
	pid=
}
# wait_lines N: until the output holds N lines; a stall (no new line for 60 s) fails as a hang would
wait_lines() {
	n=0
	last=-1
	while :; do
		have=$(wc -l <"$tmp/out.txt")
		[ "$have" -lt "$1" ] || break
		[ "$have" -eq "$last" ] || n=0
		last=$have
		n=$((n + 1))
		[ "$n" -le 600 ] || fail "$have lines delivered, $1 expected (no progress)"
		kill -0 "$pid" 2>/dev/null || fail "clewd died"
		sleep 0.1
	done
}

: >"$tmp/out.txt"
start
wait_lines $((nfiles * 20))
# appended to files that were read to their end (and, past the cap, closed)
i=1
while [ "$i" -le 500 ]; do
	echo "f$i-more|svc|GET|/x|appended" >>"$tmp/logs/app-$i.log"
	i=$((i + 1))
done
wait_lines $((nfiles * 20 + 500))
stop
# written while clewd was down, then a restart: only these are new
i=2991
while [ "$i" -le "$nfiles" ]; do
	echo "f$i-later|svc|GET|/x|while stopped" >>"$tmp/logs/app-$i.log"
	i=$((i + 1))
done
start
wait_lines $((nfiles * 20 + 510))
stop

total=$(wc -l <"$tmp/out.txt")
[ "$total" -eq $((nfiles * 20 + 510)) ] || fail "$total lines delivered, $((nfiles * 20 + 510)) expected"
dups=$(cut -d'|' -f1 "$tmp/out.txt" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups lines delivered twice"
for want in f1-l1 f3000-l20 f1500-l7 f500-more f2991-later f3000-later; do
	grep -q "^$want|" "$tmp/out.txt" || fail "$want was not delivered"
done
busy=$(grep -c '"tail: every descriptor is busy' "$tmp/clewd.log" || true)
[ "$busy" -le 4 ] || fail "the busy-descriptor warning was logged $busy times (once per interval expected)"
if grep -q 'too many open files' "$tmp/clewd.log"; then
	fail "files were left for later"
fi
grep -q '"message":"summary","records_in":"tail#1=' "$tmp/clewd.log" || fail "no summary line"

# fairness: one big file does not hold the others back; each file reads at most 1 MiB a turn, so
# the small files' lines come out long before the big file's end (--oneshot: clewd exits at the end)
mkdir "$tmp/fair"
seq -f "big-%g|svc|GET|/x|a line of the one busy file, long enough to make it big" 1 200000 >"$tmp/fair/big.log"
i=1
while [ "$i" -le 100 ]; do
	seq -f "small$i-%g|svc|GET|/x|line" 1 5 >"$tmp/fair/small-$i.log"
	i=$((i + 1))
done
"$clewd" --oneshot --no-multiline -s "$tmp/state-fair" -i "tail:$tmp/fair/*.log" -o stdout:pipe \
	>"$tmp/fair.txt" 2>"$tmp/clewd.log" || fail "--oneshot over the fairness files failed"
[ "$(wc -l <"$tmp/fair.txt")" -eq 200500 ] || fail "fairness: $(wc -l <"$tmp/fair.txt") lines, 200500 expected"
last_small=$(grep -n '^small' "$tmp/fair.txt" | tail -1 | cut -d: -f1)
[ "$last_small" -lt 100000 ] || fail "the small files waited for the big one (last small line at $last_small)"
echo "ok: $total lines from $nfiles files, none twice; small files' last line at $last_small of 200500"
