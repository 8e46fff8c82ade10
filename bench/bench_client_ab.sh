#!/bin/sh
# bench/bench_client_ab.sh - libclew's async log call, two builds alternated in one run (issue 16
# item 5): each run is bench_client --only ONLY (async and spdlog's async cases, 1 and 2 threads)
# of build A then of build B; printed per case and build: the median across runs of each
# figure (median, p99, p99.9 per call, in ns), and every run's median.
#
#   bench/bench_client_ab.sh [-n RUNS] [-r RECORDS] [-o ONLY] BUILD_A BUILD_B
#
# BUILD_A and BUILD_B are build directories (e.g. build/base, a release build of the starting
# commit, and build/rel); RUNS defaults to 7, RECORDS per case to 1000000, ONLY to "async".
# The machine's load moves single runs by +-20 %: alternating and taking medians across runs
# keeps the two builds' figures comparable. Run with nothing else of yours running.
set -eu

runs=7
records=1000000
only=async
while getopts n:r:o: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	r) records=$OPTARG ;;
	o) only=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 2 ]; then
	echo "usage: bench/bench_client_ab.sh [-n RUNS] [-r RECORDS] [-o ONLY] BUILD_A BUILD_B" >&2
	exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=1
while [ "$i" -le "$runs" ]; do
	for b in "$1" "$2"; do
		echo "run $i/$runs: $b" >&2
		# Rows "| case | threads | median | p99 | p99.9 | ..." (a build without the p99 column: p99 empty).
		"$b/bench/bench_client" --only "$only" --records "$records" 2>/dev/null |
			awk -F' *[|] *' -v b="$b" '
				/^\| (clew|spdlog)/ {
					if (NF >= 11) { p99 = $5; p999 = $6 } else { p99 = ""; p999 = $5 }
					print b "\t" $2 "\t" $3 "\t" $4 "\t" p99 "\t" p999
				}' >> "$out"
	done
	i=$((i + 1))
done

# Medians across runs, per build and case.
sort -t "$(printf '\t')" -k2,2 -k3,3n -k1,1 "$out" | awk -F'\t' '
	function med(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : ""
	}
	{ k = $2 "\t" $3 "\t" $1; if (!(k in m)) order[++nk] = k; m[k] = m[k] " " $4; if ($5 != "") p[k] = p[k] " " $5; q[k] = q[k] " " $6 }
	END {
		print "| case | threads | build | median ns | p99 ns | p99.9 ns | runs (median ns) |"
		print "|---|---:|---|---:|---:|---:|---|"
		for (i = 1; i <= nk; i++) {
			k = order[i]; split(k, f, "\t")
			printf "| %s | %s | %s | %.1f | %s | %.1f |%s |\n", f[1], f[2], f[3], med(m[k]), p[k] == "" ? "" : sprintf("%.1f", med(p[k])), med(q[k]), m[k]
		}
	}'
