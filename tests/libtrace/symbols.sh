#!/bin/sh
# symbols.sh LIB.so LIB.sym - the shared library exports exactly the
# symbols its version script lists (no leak, none missing), all versioned.
set -eu
so=$1 sym=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^[[:space:]]*\(clew_[A-Za-z0-9_]*\);.*/\1/p' "$sym" | sort -u >"$tmp/listed"
nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' >"$tmp/raw"
if grep -v '@@CLEW_' "$tmp/raw"; then
	echo "symbols above are exported without a CLEW_ version" >&2
	exit 1
fi
sed 's/@.*//' "$tmp/raw" | sort -u >"$tmp/exported"
if ! diff -u "$tmp/listed" "$tmp/exported"; then
	echo "exported symbols (+) differ from $sym (-)" >&2
	exit 1
fi
echo "$(wc -l <"$tmp/exported") symbols exported, all listed in $(basename "$sym")"
