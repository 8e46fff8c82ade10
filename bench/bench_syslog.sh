#!/bin/sh
# bench_syslog.sh - clewd's syslog input over TCP, octet-counted (RFC 6587): records per
# CPU-second of clewd, on two corpus shapes, next to a floor measured in the same run:
# clewd's plain tcp input on the same bodies, one per line (no syslog header to decode).
#
# usage: bench/bench_syslog.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with collector/clewd and bench/syslog_load (default build/release)
#   WORK_DIR   scratch: clewd's state and logs (default /tmp/clew-syslog-bench)
# Environment: RECORDS per case (default 1000000), RUNS (3; the best is printed).
#
# Shapes: "5424" is RFC 5424 with structured data and a plain-text body (~190 B a message);
# "3164json" is RFC 3164 with a JSON body holding a time, level, trace and span (~290 B), so the
# body parser makes the whole record. bench/syslog_load builds the messages in memory and
# writes them to one connection as fast as clewd takes them; clewd runs with -o null. The
# figure is clewd's CPU time (user + system, /proc/PID/stat) from before the first byte to
# the moment /metrics counts every record, so startup and shutdown are not in it. The
# issue's target: >= 1 M records per CPU-second, octet-counted.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-syslog-bench}
records=${RECORDS:-1000000}
runs=${RUNS:-3}
clewd=$build/collector/clewd
load=$build/bench/syslog_load
for x in "$clewd" "$load"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build collector/clewd bench/syslog_load" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }
mkdir -p "$dir"
tck=$(getconf CLK_TCK)

# cpu_ticks PID - user + system clock ticks of PID so far
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# port_of LOG WHAT - the port clewd logged for input WHAT ("http": its /metrics endpoint)
port_of() {
	if [ "$2" = http ]; then
		sed -n 's/.*"message":"serving [^"]*(port \([0-9]*\))".*/\1/p' "$1" | head -1
	else
		sed -n 's/.*"message":"listening","input":"'"$2"'".*"port":"\([0-9]*\)".*/\1/p' "$1" | head -1
	fi
}

# one INPUT_SPEC KIND LOAD_ARGS... - one run; prints "cpu_seconds" for $records records
one() {
	spec=$1 kind=$2
	shift 2
	rm -rf "$dir/state"
	"$clewd" -s "$dir/state" --http 127.0.0.1:0 -i "$spec" -o null 2>"$dir/err.log" &
	pid=$!
	i=0
	while [ -z "$(port_of "$dir/err.log" "$kind")" ] || [ -z "$(port_of "$dir/err.log" http)" ]; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || { cat "$dir/err.log" >&2; kill "$pid"; exit 1; }
		sleep 0.1
	done
	port=$(port_of "$dir/err.log" "$kind")
	http=$(port_of "$dir/err.log" http)
	c0=$(cpu_ticks "$pid")
	"$load" --port "$port" --records "$records" "$@" >/dev/null
	i=0
	while :; do
		n=$(curl -s "http://127.0.0.1:$http/metrics" | awk '/^clewd_input_records_total/ { s += $NF } END { print s + 0 }')
		[ "$n" -ge "$records" ] && break
		i=$((i + 1))
		[ "$i" -lt 6000 ] || { echo "only $n of $records records" >&2; kill "$pid"; exit 1; }
		sleep 0.05
	done
	c1=$(cpu_ticks "$pid")
	kill -TERM "$pid"
	wait "$pid" || { cat "$dir/err.log" >&2; exit 1; }
	[ "$n" -eq "$records" ] || { echo "$n records, expected $records" >&2; exit 1; }
	awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN { printf "%.2f\n", (b - a) / t }'
}

# best NAME INPUT_SPEC KIND LOAD_ARGS... - $runs runs, the least CPU kept, printed as a row
best() {
	name=$1
	shift
	b=""
	r=0
	while [ "$r" -lt "$runs" ]; do
		c=$(one "$@")
		if [ -z "$b" ] || awk -v x="$c" -v y="$b" 'BEGIN { exit !(x < y) }'; then b=$c; fi
		r=$((r + 1))
	done
	awk -v name="$name" -v cpu="$b" -v n="$records" 'BEGIN {
		printf "%-44s %7.2f CPU-s %8.0f k records/CPU-s\n", name, cpu, (cpu > 0 ? n / cpu / 1000 : 0) }'
}

echo "clewd $($clewd --version | cut -d' ' -f2), $records records per case, best of $runs, $(nproc) cores, -o null"
for shape in 5424 3164json; do
	echo "== $shape"
	best "floor: tcp:// input, the bodies as lines" tcp://127.0.0.1:0 tcp --shape "$shape" --framing body
	best "syslog+tcp://, octet-counted" syslog+tcp://127.0.0.1:0 syslog+tcp --shape "$shape" --framing octet
	best "syslog+tcp://, one message per line" syslog+tcp://127.0.0.1:0 syslog+tcp --shape "$shape" --framing line
done
