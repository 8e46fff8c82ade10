#!/usr/bin/env bash
# tests/collector/config/docs.sh - the configuration reference cannot drift
# from the plugins' option tables (collector/registry.h). clewd --help-config
# prints every input and output with its keys, from those tables; this test
# checks that every key is in clewd(8) (for a network output: in its own
# OUTPUTS subsection) and in README.md's configuration reference table, and
# that no OUTPUTS subsection of clewd(8) describes a key its plugin lacks.
#
# usage: docs.sh CLEWD SOURCE_DIR   (meson test runs it with both)
set -euo pipefail
clewd=$1 src=$2
man=$src/collector/clewd.8
readme=$src/README.md
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-docs-XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
bad() {
	printf 'docs: %s\n' "$*" >&2
	fails=$((fails + 1))
}

"$clewd" --help-config >"$work/ref"

# "KIND PLUGIN KEY" for every key; the keys every input/output takes under plugin "*"
awk '/^inputs \(/ { kind = "input"; plugin = "*"; next }
     /^outputs \(/ { kind = "output"; plugin = "*"; next }
     /^(input|output) [^ ]+: / { kind = $1; plugin = $2; sub(/:$/, "", plugin); next }
     /^    [^ ]/ { key = $1; sub(/NAME$/, "", key); print kind, plugin, key }' "$work/ref" >"$work/keys"
[ -s "$work/keys" ] || { echo "docs: clewd --help-config printed no keys" >&2; exit 1; }

# "PLUGIN KEY" for each key described (.TP then .B/.BR/.BI) in an OUTPUTS subsection
# of clewd(8), for each output named in the subsection's heading (NAME:// or NAME alone)
names=$(awk '$1 == "output" && $2 != "*" { print $2 }' "$work/keys" | sort -u)
awk -v names="$names" '
	BEGIN { n = split(names, plugin, "\n") }
	/^\.SH / { sec = $2; head = ""; next }
	sec == "OUTPUTS" && /^\.SS / {
		head = substr($0, 5); cur = ""
		for (i = 1; i <= n; i++) {
			p = plugin[i]
			if (head == p || index(head, p "://") == 1 || index(head, ", " p "://"))
				cur = cur " " p
		}
		next
	}
	sec == "OUTPUTS" && cur != "" && prev == ".TP" && /^\.B[IR]? / {
		line = $0
		sub(/^\.B[IR]? /, "", line)
		gsub(/"[^"]*"/, " ", line)
		gsub(/\\f[BIRP]/, "", line)
		gsub(/,/, " ", line)
		m = split(line, tok, " ")
		k = split(cur, ps, " ")
		for (i = 1; i <= m; i++)
			if (tok[i] ~ /^[a-z][a-z0-9_.]*$/)
				for (j = 1; j <= k; j++)
					print ps[j], tok[i]
	}
	{ prev = $0 }' "$man" >"$work/man_keys"

# README's configuration reference: the table under "| part | keys |"
awk '/^\| part \| keys \|/ { on = 1 } on && /^$/ { exit } on' "$readme" >"$work/readme_ref"
[ -s "$work/readme_ref" ] || bad "README.md: no configuration reference table (| part | keys |)"

has_word() { # has_word FILE KEY: KEY in FILE as a whole word (a prefix "properties." as it is)
	if [ "${2%.}" != "$2" ]; then grep -qF -- "$2" "$1"; else grep -qw -- "$2" "$1"; fi
}

while read -r kind plugin key; do
	has_word "$work/readme_ref" "$key" || bad "README.md: $kind $plugin key '$key' is not in the configuration reference"
	if [ "$kind" = output ] && [ "$plugin" != "*" ] && grep -q "^$plugin " "$work/man_keys"; then
		grep -qxF -- "$plugin $key" "$work/man_keys" ||
			bad "clewd.8: output $plugin key '$key' is not described in its OUTPUTS subsection"
	else
		has_word "$man" "$key" || bad "clewd.8: $kind $plugin key '$key' is not mentioned"
	fi
done <"$work/keys"

while read -r plugin key; do
	grep -qxF -- "output $plugin $key" "$work/keys" || grep -qxF -- "output * $key" "$work/keys" ||
		bad "clewd.8: OUTPUTS describes key '$key' of $plugin, which its option table lacks"
done <"$work/man_keys"

if [ "$fails" -ne 0 ]; then
	echo "docs: $fails problems; the option tables are in collector/input/*.c and collector/output/*.c" >&2
	exit 1
fi
echo "docs: all $(wc -l <"$work/keys") keys of the option tables are documented"
