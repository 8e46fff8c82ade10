// shop.js - a small node service instrumented with the OpenTelemetry JS SDK
// (from npm), for tests/otlp/sdk/test_sdk.py: it makes one nested trace
// with log records and a span event, calls the libclew example service
// `billing` with the traceparent header of its client span, exports
// spans and logs over OTLP/HTTP to clewd's otlp input, and prints on
// stdout, as one JSON object, what it sent (read back from the SDK's own
// span and log processors), for the test to compare with what clewd made
// of it.
//
// Environment: OTLP (http://HOST:PORT, clewd's otlp input), BILLING
// (http://HOST:PORT of the billing service), ENCODING (json | proto: the
// trace exporter used; logs always go as JSON, the only logs exporter
// installed).
'use strict';

const http = require('http');
const api = require('@opentelemetry/api');
const { logs, SeverityNumber } = require('@opentelemetry/api-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { LoggerProvider, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');

const otlp = process.env.OTLP;
const proto = process.env.ENCODING === 'proto';
const { OTLPTraceExporter } = proto ? require('@opentelemetry/exporter-trace-otlp-proto')
	: require('@opentelemetry/exporter-trace-otlp-http');

const resource = resourceFromAttributes({ 'service.name': 'node-shop' });
const sent = { spans: [], logs: [] };
const hrNs = (t) => (BigInt(t[0]) * 1000000000n + BigInt(t[1])).toString();

// What the SDK hands its exporters, recorded as it goes by.
const recordSpans = {
	onStart() {},
	onEnd(s) {
		const p = s.parentSpanContext || (s.parentSpanId ? { spanId: s.parentSpanId } : undefined);
		sent.spans.push({
			trace: s.spanContext().traceId, span: s.spanContext().spanId, parent: p ? p.spanId : null,
			name: s.name, start_ns: hrNs(s.startTime), end_ns: hrNs(s.endTime), status: s.status.code,
			attributes: s.attributes, events: s.events.map((e) => ({ name: e.name, time_ns: hrNs(e.time) })),
		});
	},
	forceFlush() { return Promise.resolve(); },
	shutdown() { return Promise.resolve(); },
};
const recordLogs = {
	onEmit(r) {
		sent.logs.push({
			trace: r.spanContext ? r.spanContext.traceId : null, span: r.spanContext ? r.spanContext.spanId : null,
			body: r.body, severity: r.severityNumber, severity_text: r.severityText, time_ns: hrNs(r.hrTime),
			attributes: r.attributes,
		});
	},
	forceFlush() { return Promise.resolve(); },
	shutdown() { return Promise.resolve(); },
};

const tp = new BasicTracerProvider({
	resource,
	spanProcessors: [recordSpans, new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlp + '/v1/traces' }))],
});
const lp = new LoggerProvider({
	resource,
	processors: [recordLogs, new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: otlp + '/v1/logs' }) })],
});
const tracer = tp.getTracer('shop');
const logger = lp.getLogger('shop');

function post(url, body, headers) {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } },
			(res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
		req.on('error', reject);
		req.end(body);
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
	const root = tracer.startSpan('POST /checkout', {
		kind: api.SpanKind.SERVER,
		attributes: { 'http.request.method': 'POST', 'url.path': '/checkout', 'http.route': '/checkout' },
	});
	const rootCtx = api.trace.setSpan(api.ROOT_CONTEXT, root);
	logger.emit({ body: 'checkout started', severityNumber: SeverityNumber.INFO, severityText: 'INFO',
		attributes: { user: 'u1' }, context: rootCtx });

	const cart = tracer.startSpan('load cart', { attributes: { items: 3 } }, rootCtx);
	const cartCtx = api.trace.setSpan(rootCtx, cart);
	await sleep(20);
	logger.emit({ body: 'cart loaded', severityNumber: SeverityNumber.DEBUG, severityText: 'DEBUG',
		attributes: { items: 3 }, context: cartCtx });
	cart.end();

	const charge = tracer.startSpan('POST /charge', { kind: api.SpanKind.CLIENT,
		attributes: { 'http.request.method': 'POST', 'url.path': '/charge' } }, rootCtx);
	const chargeCtx = api.trace.setSpan(rootCtx, charge);
	const sc = charge.spanContext();
	const traceparent = `00-${sc.traceId}-${sc.spanId}-01`;
	const status = await post(process.env.BILLING + '/charge', JSON.stringify({ order: 42, user: 'u1', amount: 1250 }),
		{ traceparent });
	charge.setAttribute('http.response.status_code', status);
	charge.addEvent('charged', { amount: 1250 });
	if (status >= 500)
		charge.setStatus({ code: api.SpanStatusCode.ERROR, message: 'billing failed' });
	charge.end();
	logger.emit({ body: 'checkout done', severityNumber: SeverityNumber.WARN, severityText: 'WARN',
		attributes: { status }, context: chargeCtx });
	root.setStatus({ code: api.SpanStatusCode.OK });
	root.end();

	await tp.forceFlush();
	await lp.forceFlush();
	await tp.shutdown();
	await lp.shutdown();
	process.stdout.write(JSON.stringify(sent) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
