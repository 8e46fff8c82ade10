#!/usr/bin/env bash
# tests/collector/config/secrets.sh - no secret reaches clewd's output, its
# log or its process title (issue 11, secrets in logs).
#
# Every key of every output whose name says pass, secret, token or key is
# read from clewd --help-config (so a new one is covered without editing
# this test) and given a value of its own: in a YAML file, and in the
# output's URI, as a query parameter and, for a password, as
# SCHEME://USER:PASSWORD@. Then --check-config and a short real run (the
# outputs pointed at closed loopback ports, the log at debug) must show
# none of the values: not on stdout, not on stderr, not in
# /proc/PID/cmdline while it runs.
#
# Not secrets, by decision (clewd(8), collector/options.h): "key" (Kafka's
# message-key field, Redis's list name), "key_file" (a path) and the
# archive's "summary_keys" (attribute names). A
# properties.NAME passed to librdkafka is secret when NAME says pass,
# secret, token or key: ssl.key.password and sasl.password are tried.
#
# usage: secrets.sh CLEWD   (meson test runs it)
set -euo pipefail
clewd=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-secrets-XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 n=0 cases=0
bad() {
	printf 'secrets: %s\n' "$*" >&2
	fails=$((fails + 1))
}

# The keys an output needs besides the one tried, so that its check passes.
base() {
	case $1 in
	kafka) printf '    brokers: 127.0.0.1:1\n    topic: t\n' ;;
	logstash+redis) printf '    address: 127.0.0.1:1\n    key: k\n' ;;
	influxdb) printf '    address: 127.0.0.1:1\n    db: d\n' ;;
	influxdb2) printf '    address: 127.0.0.1:1\n    bucket: b\n    org: o\n' ;;
	*) printf '    address: 127.0.0.1:1\n' ;;
	esac
}

# What a URI of output $1 needs in its query besides the key tried.
base_query() {
	case $1 in
	influxdb2) printf 'org=o&' ;;
	*) ;;
	esac
}

# leaks WHAT SECRET FILE...: fail when SECRET is in any FILE
leaks() {
	local what=$1 secret=$2
	shift 2
	for f in "$@"; do
		if grep -qF -- "$secret" "$f"; then
			bad "$what: the secret shows in $(basename "$f"): $(grep -F -- "$secret" "$f" | head -c 300)"
		fi
	done
}

# try WHAT SECRET ARGS...: --check-config, then a short real run, with ARGS; SECRET never shows
try() {
	local what=$1 secret=$2 pid st
	shift 2
	cases=$((cases + 1))
	st=0
	"$clewd" -s "$work/state" "$@" --check-config >"$work/check.out" 2>"$work/check.err" || st=$?
	[ "$st" -eq 0 ] || bad "$what: --check-config exited $st: $(head -c 300 "$work/check.err")"
	leaks "$what: --check-config" "$secret" "$work/check.out" "$work/check.err"

	rm -rf "$work/run"
	mkdir -p "$work/run"
	{
		printf '{"message":"a record"}\n'
		sleep 2
	} | CLEWD_CHUNK_AGE=100ms CLEWD_DRAIN_TIMEOUT=200ms CLEWD_SPOOL_MAX_BYTES=0 \
		"$clewd" -s "$work/run/state" --log-level debug "$@" >"$work/run/out" 2>"$work/run/err" &
	pid=$!
	sleep 1
	if [ -r "/proc/$pid/cmdline" ]; then
		tr '\0' ' ' <"/proc/$pid/cmdline" >"$work/run/cmdline" || true
	else
		bad "$what: clewd was not running after 1 s: $(head -c 300 "$work/run/err")"
		: >"$work/run/cmdline"
	fi
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
	leaks "$what: a real run" "$secret" "$work/run/out" "$work/run/err" "$work/run/cmdline"
}

"$clewd" --help-config >"$work/ref"
# "PLUGIN SCHEME KEY" for every output key naming a secret (prefix keys printed as properties.NAME)
awk '/^(input|output) [^ ]+: / { kind = $1; p = $2; sub(/:$/, "", p); next }
     kind == "output" && /^    [^ ]/ && tolower($1) ~ /pass|secret|token|key/ { print p, $1 }' \
	"$work/ref" >"$work/keys"
# "PLUGIN SCHEME" for every output with a URI
awk '/^output / { p = $2; sub(/:$/, "", p) }
     /^  -o [a-z0-9+]+:\/\// { s = $2; sub(/:\/\/.*/, "", s); print p, s }' "$work/ref" >"$work/schemes"
[ -s "$work/keys" ] || { echo "secrets: clewd --help-config names no secret-looking key" >&2; exit 1; }
# an input's secret keys are tried below; an input this test does not know fails it until added
awk '/^(input|output) [^ ]+: / { kind = $1; p = $2; sub(/:$/, "", p); next }
     kind == "input" && /^    [^ ]/ && tolower($1) ~ /pass|secret|token|key/ { print p, $1 }' \
	"$work/ref" >"$work/input_keys"
# An input's keys besides the one tried, and its -i spec (a query to append to), per plugin.
input_base() {
	case $1 in
	kafka) printf '    brokers: 127.0.0.1:1\n    topic: t\n    group: g\n' ;;
	forward) printf '    listen: 127.0.0.1:0\n' ;;
	forward_unix) printf '    listen: unix:%s/fwd.sock\n' "$work" ;;
	*) return 1 ;;
	esac
}
input_spec() {
	case $1 in
	kafka) printf 'kafka://127.0.0.1:1/t?group=g' ;;
	forward) printf 'forward://127.0.0.1:0?ack=memory' ;;
	forward_unix) printf 'forward+unix://%s/fwd.sock?ack=memory' "$work" ;;
	esac
}
while read -r plugin key; do
	case $key in
	key_file) continue ;; # a path to a key (TLS), not a secret (see the outputs' loop)
	esac
	if ! input_base "$plugin" >/dev/null; then
		bad "input $plugin key $key names a secret: try it in this test"
		continue
	fi
	if [ "$key" = properties.NAME ]; then
		names="properties.ssl.key.password properties.sasl.password"
	else
		names=$key
	fi
	for name in $names; do
		n=$((n + 1))
		secret="zS3cr3t${n}q"
		{
			printf 'inputs:\n  - type: %s\n' "$plugin"
			input_base "$plugin"
			printf '    %s: %s\noutputs:\n  - type: null\n' "$name" "$secret"
		} >"$work/c$n.yaml"
		try "input $plugin, YAML $name" "$secret" -c "$work/c$n.yaml"
		try "input $plugin, -i ...&$name=" "$secret" -i "$(input_spec "$plugin")&$name=$secret" -o null
	done
done <"$work/input_keys"

while read -r plugin key; do
	case $key in
	key | key_file | summary_keys) continue ;; # not secrets (see above)
	esac
	scheme=$(awk -v p="$plugin" '$1 == p { print $2 }' "$work/schemes")
	if [ "$key" = properties.NAME ]; then
		names="properties.ssl.key.password properties.sasl.password"
	else
		names=$key
	fi
	for name in $names; do
		n=$((n + 1))
		secret="zS3cr3t${n}q"
		user=""
		[ "$name" = password ] && user=$'    user: someone\n'
		{
			printf 'inputs:\n  - type: stdin\noutputs:\n  - type: %s\n' "$plugin"
			base "$plugin"
			printf '%s    %s: %s\n' "$user" "$name" "$secret"
		} >"$work/c$n.yaml"
		try "output $plugin, YAML $name" "$secret" -c "$work/c$n.yaml"
		# InfluxDB 1.x puts the credentials in the URL's query with auth: query
		if [ "$plugin" = influxdb ] && [ "$name" = password ]; then
			printf '    auth: query\n' >>"$work/c$n.yaml"
			try "output $plugin, YAML $name, auth: query" "$secret" -c "$work/c$n.yaml"
		fi
		[ -n "$scheme" ] || continue
		q="$(base_query "$plugin")"
		[ "$name" = password ] && q="${q}user=someone&"
		try "output $plugin, -o ...?$name=" "$secret" -i stdin -o "$scheme://127.0.0.1:1/x?$q$name=$secret"
		if [ "$name" = password ]; then
			secret="zUr1Pass${n}q"
			q="$(base_query "$plugin")"
			[ "$plugin" = influxdb ] && q="${q}auth=query"
			try "output $plugin, -o $scheme://USER:PASSWORD@" "$secret" \
				-i stdin -o "$scheme://someone:$secret@127.0.0.1:1/x?$q"
		fi
	done
done <"$work/keys"

# the otlp output's headers.NAME: secret when NAME says auth, pass, secret, token or key
for name in headers.authorization headers.x-api-key; do
	n=$((n + 1))
	secret="zH3ad${n}q"
	printf 'inputs:\n  - type: stdin\noutputs:\n  - type: otlp\n    address: 127.0.0.1:1\n    %s: Bearer %s\n' \
		"$name" "$secret" >"$work/c$n.yaml"
	try "output otlp, YAML $name" "$secret" -c "$work/c$n.yaml"
	try "output otlp, -o ...?$name=" "$secret" -i stdin -o "otlp://127.0.0.1:1/x?$name=Bearer%20$secret"
done

[ "$fails" -eq 0 ] || { echo "secrets: $fails failures in $cases cases" >&2; exit 1; }
echo "secrets: no secret shown in $cases cases (--check-config, a real run's stdout, log and title)"
