#!/usr/bin/env bash
# tests/collector/config/errors.sh - what clewd --check-config says about a
# key its plugin's option table (collector/registry.h) does not have, or a
# value not of the key's type: the message names the place (file and line,
# or the output and line), the key, and the valid keys or the expected type.
#
# usage: errors.sh CLEWD   (meson test runs it)
set -euo pipefail
clewd=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-config-XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0

# expect NAME EXPECTED YAML: --check-config on YAML exits 2 and says EXPECTED (a fixed string)
expect() {
	local out status=0
	printf '%s' "$3" >"$work/$1.yaml"
	out=$("$clewd" -c "$work/$1.yaml" --check-config 2>&1) || status=$?
	if [ "$status" -ne 2 ] || [[ $out != *"$2"* ]]; then
		printf 'config: %s: exit %s, expected 2 and "%s"; got: %s\n' "$1" "$status" "$2" "$out" >&2
		fails=$((fails + 1))
	fi
}

expect input_key "$work/input_key.yaml:4:5: unknown input key bogus (type, parser, multiline_start, path, read_from, follow_symlinks, max_open_files, oneshot: the keys of input tail)" \
	$'inputs:\n  - type: tail\n    path: /tmp/x\n    bogus: 1\n'
expect envelope_inner "input 1: parser cri+nope: no such parser" \
	$'inputs:\n  - { type: tail, path: /tmp/x, parser: cri+nope }\n'
expect envelope_twice "expected auto, pipe, json, regex:PATTERN, a parser's name, cri[+P] or docker[+P] for parser" $'parser: cri+docker\ninputs:\n  - type: stdin\n'
# (the lists of plugins are the registry's: only their start is checked here, so a new plugin changes no test)
expect input_type "unknown input type (expected stdin, tail, tcp, udp, unix, unixgram, http, " \
	$'inputs:\n  - type: tailx\n    path: /tmp/x\n'
expect kafka_group "group: a consumer group is required (?group=NAME, or group:)" \
	$'inputs:\n  - type: kafka\n    brokers: 127.0.0.1:9092\n    topic: t\n'
expect kafka_commit "properties.enable.auto.commit: fixed by clewd (offsets are committed once every output has the records)" \
	$'inputs:\n  - type: kafka\n    brokers: 127.0.0.1:9092\n    topic: t\n    group: g\n    properties.enable.auto.commit: true\n'
expect kafka_topic "topic: topics are made of A-Z a-z 0-9 . _ - (or ^REGEX), separated by commas" \
	$'inputs:\n  - type: kafka\n    brokers: 127.0.0.1:9092\n    topic: a b\n    group: g\n'
expect output_key "$work/output_key.yaml:5:5: unknown output key zz (type, name, format: the keys of output stdout)" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: stdout\n    zz: 1\n'
expect net_key "output logstash+tcp#1, line 6: zz: unknown key (known: address, connect_timeout, timeout, send_buffer)" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: logstash+tcp\n    address: 127.0.0.1:5044\n    zz: 1\n'
expect duration "output logstash+tcp#1, line 6: timeout: expected a duration (500ms, 5s, 2m)" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: logstash+tcp\n    address: 127.0.0.1:5044\n    timeout: 5x\n'
expect enum "output kafka#1, line 7: compression: expected none, gzip, snappy, lz4 or zstd" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: kafka\n    brokers: 127.0.0.1:9092\n    topic: t\n    compression: brotli\n'
expect uint "output logstash+redis#1, line 7: db: expected a number up to 1048576" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: logstash+redis\n    address: 127.0.0.1\n    key: k\n    db: x\n'
expect bool "output influxdb#1, line 7: gzip: expected true or false" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: influxdb\n    address: 127.0.0.1:8086\n    db: d\n    gzip: maybe\n'
expect prefix "properties.*" \
	$'inputs:\n  - type: stdin\noutputs:\n  - type: kafka\n    brokers: 127.0.0.1:9092\n    topic: t\n    propertie: 1\n'

# the command line's specs: an unknown scheme lists the registry's
out=$("$clewd" -i stdin -o 'foo://x' --check-config 2>&1) && fails=$((fails + 1))
[[ $out == *"unknown scheme 'foo' (expected kafka, logstash+tcp, logstash+udp, logstash+http, logstash+redis, influxdb, influxdb2, "* ]] ||
	{ echo "config: -o foo://x: got: $out" >&2; fails=$((fails + 1)); }
out=$("$clewd" -i foo -o null --check-config 2>&1) && fails=$((fails + 1))
[[ $out == *"input 'foo': expected stdin, tail:PATH_OR_GLOB, tcp://HOST:PORT, udp://HOST:PORT, unix:///PATH, unixgram:///PATH, http://HOST:PORT/PATH, "* ]] ||
	{ echo "config: -i foo: got: $out" >&2; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] || { echo "config: $fails failures" >&2; exit 1; }
echo "config: every message names the key, its place and what it expected"
