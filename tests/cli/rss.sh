#!/bin/sh
# tracegrep's memory does not grow with the corpus (issue 16 item 1): over a ~300 MB file generated
# by bench/gen_corpus (pipe and JSON lines, stack traces), tracegrep --lines ID and --json ID
# (with the default threads and with -j 1) must find exactly the lines grep -F finds that are
# records of the ID, and tracegrep --find --error list 20 transactions, with a peak RSS of at
# most 64 MiB. The peak is the child's ru_maxrss from
# wait4() in a Python parent: it counts every mapped page of the file a window held, and starts
# at the parent's own size (a fork), so it can only overstate tracegrep's.
# Usage: rss.sh TRACEGREP GEN_CORPUS
set -eu
tracegrep=$(realpath "$1")
gen=$(realpath "$2")
limit_kb=$((64 * 1024))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$gen" --format mixed --lines 1150000 --seed 16 > "$tmp/big.log"
bytes=$(wc -c < "$tmp/big.log")
[ "$bytes" -gt 300000000 ] || fail "the corpus is $bytes bytes, not > 300 MB"
# an ID from the middle of the file: the transaction of a pipe record
id=$(awk 'NR > 575000 && $3 ~ /^[0-9a-f]+:[0-9a-f]+[:|]/ { split($3, a, /[:|]/); print a[1]; exit }' "$tmp/big.log")
[ -n "$id" ] || fail "no ID in the corpus"

# peak OUT CMD...: run CMD with stdout to OUT, print its peak RSS in KiB (exit status 0 or 1 only)
peak() {
	python3 -c '
import os, sys
out, cmd = sys.argv[1], sys.argv[2:]
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.execv(cmd[0], cmd)
_, st, ru = os.wait4(pid, 0)
if os.waitstatus_to_exitcode(st) not in (0, 1):
    sys.exit("%s exited with %d" % (cmd[0], os.waitstatus_to_exitcode(st)))
print(ru.ru_maxrss)
' "$@"
}

grep -F "$id" "$tmp/big.log" | sort > "$tmp/want"
[ -s "$tmp/want" ] || fail "grep -F $id found nothing"
for j in "" "-j 1"; do
	# shellcheck disable=SC2086 # $j is empty or two words on purpose
	kb=$(peak "$tmp/lines" "$tracegrep" $j --lines "$id" "$tmp/big.log")
	grep -F "$id" "$tmp/lines" | sort > "$tmp/got"
	cmp -s "$tmp/got" "$tmp/want" || fail "tracegrep $j --lines $id: not the lines grep -F finds"
	[ "$kb" -le "$limit_kb" ] || fail "tracegrep $j --lines over $bytes bytes: peak RSS $kb KiB > $limit_kb"
	echo "tracegrep $j --lines $id over $bytes bytes: $(wc -l < "$tmp/lines") lines, peak RSS $kb KiB"
	# shellcheck disable=SC2086
	kb=$(peak "$tmp/json" "$tracegrep" $j --json "$id" "$tmp/big.log")
	[ "$(wc -l < "$tmp/json")" -ge "$(wc -l < "$tmp/want")" ] || fail "tracegrep $j --json $id: too few records"
	[ "$kb" -le "$limit_kb" ] || fail "tracegrep $j --json over $bytes bytes: peak RSS $kb KiB > $limit_kb"
	echo "tracegrep $j --json $id: peak RSS $kb KiB"
	# --find --error: only the failed transactions that may be the latest 20 are summarised (issue 12)
	# shellcheck disable=SC2086
	kb=$(peak "$tmp/find" "$tracegrep" $j --find --error --json "$tmp/big.log")
	[ "$(wc -l < "$tmp/find")" -eq 20 ] || fail "tracegrep $j --find --error: not 20 transactions"
	[ "$kb" -le "$limit_kb" ] || fail "tracegrep $j --find --error over $bytes bytes: peak RSS $kb KiB > $limit_kb"
	echo "tracegrep $j --find --error: peak RSS $kb KiB"
done
echo "PASS"
