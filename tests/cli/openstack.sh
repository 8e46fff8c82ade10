#!/bin/sh
# tracegrep -p openstack on logs written by Debian's oslo.log (python3-oslo.log), the logging
# library of every OpenStack service: two "services" (two processes) log one call under the same
# global request ID, each with its own request ID, one with a traceback. tracegrep -p openstack
# GLOBAL finds the records of both, the traceback joined to its record; a service's own request
# ID finds that service's part. Fails (not skips) without python3-oslo.log: scripts/lib.sh
# installs it. Usage: openstack.sh TRACEGREP
set -eu
tracegrep=$(realpath "$1")
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$tmp"/*.log >&2 || true
	exit 1
}
/usr/bin/python3 -c 'import oslo_log' 2>/dev/null || fail "python3-oslo.log is not installed"
cat >"$tmp/svc.py" <<'PY'
# svc.py NAME LOGFILE GLOBAL_ID REQUEST_ID: log a request's lines as an OpenStack service does
import sys
from oslo_config import cfg
from oslo_context import context
from oslo_log import log as logging

name, path, global_id, request_id = sys.argv[1:5]
CONF = cfg.CONF
logging.register_options(CONF)
CONF([], project=name)
CONF.set_override("log_file", path)
logging.setup(CONF, name)
LOG = logging.getLogger(name + ".api")
LOG.info("service starting")
ctx = context.RequestContext(request_id=request_id, global_request_id=global_id or None,
                             user_id="u1", project_id="p1")
LOG.info("GET /v2.1/servers", context=ctx)
if name == "neutron":
    try:
        raise ValueError("port quota exceeded")
    except ValueError:
        LOG.exception("creating the port failed", context=ctx)
LOG.info("request done status: 200", context=ctx)
other = context.RequestContext(request_id="req-00000000-0000-4000-8000-000000000000")
LOG.info("another request", context=other)
PY
nova=req-0e8a7a77-3c0f-4c0b-9b6f-5b8e3b1e2a41
neutron=req-11111111-2222-4333-8444-555555555555
/usr/bin/python3 "$tmp/svc.py" nova "$tmp/nova.log" "" "$nova" || fail "nova"
/usr/bin/python3 "$tmp/svc.py" neutron "$tmp/neutron.log" "$nova" "$neutron" || fail "neutron"
cd "$tmp"
# nova started the call: its request ID is the global one neutron got
"$tracegrep" -p openstack --json "$nova" nova.log neutron.log >all.json || fail "tracegrep -p openstack $nova"
[ "$(jq '[.records[] | select(.source == "nova.log")] | length' all.json)" = 2 ] || fail "nova's records"
[ "$(jq '[.records[] | select(.source == "neutron.log")] | length' all.json)" = 3 ] || fail "neutron's records"
jq -e '.records[] | select(.level == "ERROR") | .text | contains("ValueError: port quota exceeded")' all.json >/dev/null ||
	fail "the traceback is not joined to its record"
jq -e '[.records[] | select(.source == "neutron.log")][0].span == "'"$neutron"'"' all.json >/dev/null ||
	fail "neutron's request ID is not the span"
# neutron's own request ID: its part of the call
"$tracegrep" -p openstack --lines "$neutron" neutron.log >n.out || fail "tracegrep -p openstack $neutron"
grep -q "creating the port failed" n.out || fail "by neutron's request ID: $(cat n.out)"
if grep -q "another request" n.out; then fail "another request's record"; fi
echo "ok: tracegrep -p openstack on oslo.log's lines"
