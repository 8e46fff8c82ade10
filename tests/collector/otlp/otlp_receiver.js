// tests/collector/otlp/otlp_receiver.js - an OTLP/HTTP receiver for the
// otlp output's tests: a node http server on loopback that decodes every
// POST to /v1/traces and /v1/logs with protobufjs and OpenTelemetry's own
// .proto files (tests/collector/otlp/proto, copied from
// open-telemetry/opentelemetry-proto), or reads OTLP/JSON checked field by
// field against the same schema, and writes each request as one JSON line:
// {"path","contentType","gzip","status","body"} with the body in OTLP/JSON's
// shape (IDs lowercase hex, 64-bit integers as strings, enums as numbers).
// It decodes nothing of clew's: it is the independent side of the test.
//
// Usage: node otlp_receiver.js PROTO_DIR OUT_FILE PORT_FILE [STATUSES]
// STATUSES: the answers to successive requests, comma-separated, the last
// one repeated: "200" (default), "503+1" (503 with Retry-After: 1), "400",
// "200p" (200 with a partial success rejecting 2 records, in the request's encoding).
// NODE_PATH must hold protobufjs (npm_deps.sh's cache). With OTLP_TLS_CERT and
// OTLP_TLS_KEY (PEM files) it serves https.
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const protobuf = require('protobufjs');

const [protoDir, outFile, portFile, statuses = '200'] = process.argv.slice(2);
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(protoDir, target);
root.loadSync([
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
]);
root.resolveAll();
const types = {
  '/v1/traces': root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  '/v1/logs': root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
};
const answersOf = {
  '/v1/traces': [root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    { partialSuccess: { rejectedSpans: 2, errorMessage: 'two spans refused by the test' } }],
  '/v1/logs': [root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    { partialSuccess: { rejectedLogRecords: 2, errorMessage: 'two log records refused by the test' } }],
};
const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

// protobufjs's object -> OTLP/JSON's shape: IDs as hex (protobufjs gives base64)
function toOtlpJson(v, key) {
  if (Array.isArray(v)) return v.map((x) => toOtlpJson(x, key));
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = toOtlpJson(x, k);
    return o;
  }
  if (ID_FIELDS.has(key) && typeof v === 'string') return Buffer.from(v, 'base64').toString('hex');
  return v;
}

// OTLP/JSON: every key must be a field of the message (by its JSON name), every value of its kind.
function checkJson(type, obj, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new Error(`${where}: expected an object`);
  for (const [k, v] of Object.entries(obj)) {
    const f = type.fields[k];
    if (!f) throw new Error(`${where}: ${type.name} has no field ${k}`);
    const vals = f.repeated ? v : [v];
    if (f.repeated && !Array.isArray(v)) throw new Error(`${where}.${k}: expected an array`);
    for (const x of vals) {
      if (f.resolvedType instanceof protobuf.Type) checkJson(f.resolvedType, x, `${where}.${k}`);
      else if (f.resolvedType instanceof protobuf.Enum) {
        if (typeof x !== 'number') throw new Error(`${where}.${k}: enum not a number`);
      } else if (f.type === 'bytes') {
        if (!/^([0-9a-f]{2})*$/.test(x)) throw new Error(`${where}.${k}: not lowercase hex`);
      } else if (['int64', 'uint64', 'fixed64', 'sfixed64', 'sint64'].includes(f.type)) {
        if (typeof x !== 'string' || !/^-?[0-9]+$/.test(x)) throw new Error(`${where}.${k}: 64-bit not a decimal string`);
      } else if (f.type === 'string') {
        if (typeof x !== 'string') throw new Error(`${where}.${k}: not a string`);
      } else if (f.type === 'bool') {
        if (typeof x !== 'boolean') throw new Error(`${where}.${k}: not a bool`);
      } else if (typeof x !== 'number') throw new Error(`${where}.${k}: not a number`);
    }
  }
}

const answers = statuses.split(',');
let nreq = 0;
const out = fs.openSync(outFile, 'a');

const tls = process.env.OTLP_TLS_CERT
  ? { cert: fs.readFileSync(process.env.OTLP_TLS_CERT), key: fs.readFileSync(process.env.OTLP_TLS_KEY) } : null;
const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    // the signal from the path's end (a prefix such as /otlp/v1/traces is the sender's choice)
    const sig = req.url.endsWith('/v1/traces') ? '/v1/traces' : req.url.endsWith('/v1/logs') ? '/v1/logs' : req.url;
    const line = { path: sig, url: req.url, contentType: req.headers['content-type'] || '',
      gzip: req.headers['content-encoding'] === 'gzip', headers: req.headers };
    const ans = answers[Math.min(nreq++, answers.length - 1)];
    const [code, retryAfter] = ans.split('+');
    line.status = parseInt(code, 10);
    const partial = code.endsWith('p');
    try {
      let body = Buffer.concat(chunks);
      if (line.gzip) body = zlib.gunzipSync(body);
      const type = types[sig];
      if (!type) throw new Error(`unknown path ${req.url}`);
      if (line.contentType === 'application/x-protobuf') {
        const msg = type.decode(body);
        const err = type.verify(msg);
        if (err) throw new Error(err);
        line.body = toOtlpJson(type.toObject(msg, { longs: String, enums: Number, bytes: String }));
      } else if (line.contentType === 'application/json') {
        line.body = JSON.parse(body.toString('utf8'));
        checkJson(type, line.body, 'request');
      } else {
        throw new Error(`unexpected content type ${line.contentType}`);
      }
    } catch (e) {
      line.error = String(e.message || e);
      line.status = 500; // the test fails on any line with an error
    }
    const hdr = { 'Content-Type': line.contentType || 'application/json' };
    if (retryAfter) hdr['Retry-After'] = retryAfter;
    let answer = line.status === 400 ? 'bad request: refused by the test receiver' : '';
    if (partial && line.status === 200 && answersOf[sig]) {
      const [type, obj] = answersOf[sig];
      answer = line.contentType === 'application/json' ? JSON.stringify(obj)
        : Buffer.from(type.encode(type.fromObject(obj)).finish());
      line.partial = 2;
    }
    fs.writeSync(out, JSON.stringify(line) + '\n');
    res.writeHead(line.status, hdr);
    res.end(answer);
  });
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
