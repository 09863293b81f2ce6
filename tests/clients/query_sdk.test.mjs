// A real client's spans are found by every query API.
//
// The OpenTelemetry JS SDK (BasicTracerProvider, BatchSpanProcessor,
// OTLPTraceExporter over http/protobuf) sends two traces of two services
// (two providers with their own service.name resource sharing one batch
// processor, so one export holds both ResourceSpans):
//
//   trace A, 5 minutes ago, 400 ms:
//     query-sdk-web       GET /checkout   SERVER root  http.method=GET http.status_code=502 app.premium=true
//     query-sdk-web       ├ render cart   INTERNAL     20 ms
//     query-sdk-web       └ POST /charge  CLIENT       peer.service=query-sdk-payments, event "retry"
//                                                      (retry.attempt=1), status ERROR
//     query-sdk-payments    └ POST /charge  SERVER     http.status_code=504, exception, status ERROR
//   trace B, 4 minutes ago, 2 ms:
//     query-sdk-web       GET /health     SERVER root  http.method=GET
//
// Then every filter of /api/traces (service, operation, tags, tag, minDuration,
// maxDuration), /api/v2/traces (serviceName, spanName, annotationQuery,
// remoteServiceName, minDuration), /api/v3/traces and /api/slow-traces finds
// exactly the traces it should, the name endpoints list the services and
// operations, and /api/traces/{id} and /api/v2/trace/{id} return them whole.
// Semantics: docs/query.md.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireNodeModules, startServer, waitForTrace } from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const { trace, SpanKind, SpanStatusCode, ROOT_CONTEXT } = await import('@opentelemetry/api');
const { ExportResultCode } = await import('@opentelemetry/core');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

const WEB = 'query-sdk-web';
const PAY = 'query-sdk-payments';
const SCOPE = 'query-sdk-tests';

let server;
const sent = {}; // {a: {traceId, spanIds, t0Ms}, b: {...}}

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.close();
});

/** Records each export's result so the test can assert the SDK was acknowledged. */
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.results = [];
  }
  export(spans, cb) {
    this.inner.export(spans, (r) => {
      this.results.push({ code: r.code, error: r.error?.message, spans: spans.length });
      cb(r);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

const enc = encodeURIComponent;
const ids = (list) => list.map((x) => String(x).toLowerCase());

async function jaegerSearch(query) {
  const r = await server.getJson(`/api/traces?${query}`);
  assert.equal(r.status, 200, `/api/traces?${query}: ${r.text}`);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.ok(Array.isArray(r.json?.data), `/api/traces?${query}: data must be an array: ${r.text.slice(0, 300)}`);
  return r.json.data;
}

async function zipkinSearch(query) {
  const r = await server.getJson(`/api/v2/traces?${query}`);
  assert.equal(r.status, 200, `/api/v2/traces?${query}: ${r.text}`);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.ok(Array.isArray(r.json), `/api/v2/traces?${query}: an array of traces: ${r.text.slice(0, 300)}`);
  return r.json;
}

test('the OpenTelemetry SDK sends two traces of two services', { timeout: 60000 }, async () => {
  const exporter = new RecordingExporter(new OTLPTraceExporter({ url: `${server.url}/v1/traces`, timeoutMillis: 15000 }));
  const batch = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 600000, maxExportBatchSize: 512 });
  const webP = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': WEB, 'service.version': '3.1.4', 'deployment.environment': 'test' }),
    spanProcessors: [batch],
  });
  const payP = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': PAY, 'service.version': '0.9.0' }),
    spanProcessors: [batch],
  });
  const web = webP.getTracer(SCOPE, '1.0.0');
  const pay = payP.getTracer(SCOPE, '1.0.0');

  // trace A
  const a0 = Date.now() - 5 * 60000; // whole ms: µs values below are exact
  const root = web.startSpan('GET /checkout', {
    kind: SpanKind.SERVER, startTime: a0,
    attributes: { 'http.method': 'GET', 'http.status_code': 502, 'app.premium': true, 'app.cart.items': 3 },
  }, ROOT_CONTEXT);
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const render = web.startSpan('render cart', {
    kind: SpanKind.INTERNAL, startTime: a0 + 5, attributes: { 'app.template': 'cart' },
  }, rootCtx);
  render.end(a0 + 25);
  const charge = web.startSpan('POST /charge', {
    kind: SpanKind.CLIENT, startTime: a0 + 30,
    attributes: { 'http.method': 'POST', 'peer.service': PAY },
  }, rootCtx);
  const server2 = pay.startSpan('POST /charge', {
    kind: SpanKind.SERVER, startTime: a0 + 35,
    attributes: { 'http.method': 'POST', 'http.status_code': 504 },
  }, trace.setSpan(ROOT_CONTEXT, charge));
  server2.recordException({ name: 'TimeoutError', message: 'card network timeout' }, a0 + 360);
  server2.setStatus({ code: SpanStatusCode.ERROR, message: 'card network timeout' });
  server2.end(a0 + 370);
  charge.addEvent('retry', { 'retry.attempt': 1 }, a0 + 200);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timeout' });
  charge.end(a0 + 380);
  root.end(a0 + 400);

  // trace B
  const b0 = Date.now() - 4 * 60000;
  const health = web.startSpan('GET /health', {
    kind: SpanKind.SERVER, startTime: b0, attributes: { 'http.method': 'GET', 'http.status_code': 200 },
  }, ROOT_CONTEXT);
  health.end(b0 + 2);

  await webP.forceFlush();
  await payP.forceFlush();
  await webP.shutdown();
  await payP.shutdown();
  assert.deepEqual(exporter.results, [{ code: ExportResultCode.SUCCESS, error: undefined, spans: 5 }],
    'one export of the five spans, acknowledged');

  sent.a = {
    traceId: root.spanContext().traceId, t0Ms: a0,
    spanIds: [root, render, charge, server2].map((s) => s.spanContext().spanId).sort(),
    charge: charge.spanContext().spanId, server: server2.spanContext().spanId,
  };
  sent.b = { traceId: health.spanContext().traceId, t0Ms: b0, spanIds: [health.spanContext().spanId] };
  for (const t of [sent.a, sent.b]) {
    const r = await waitForTrace(server, t.traceId, t.spanIds.length);
    assert.equal(r.status, 200, r.text);
  }
});

test('GET /api/traces/{id} and /api/v2/trace/{id} return the traces whole', async () => {
  for (const t of [sent.a, sent.b]) {
    const j = await server.getJson(`/api/traces/${t.traceId}`);
    assert.equal(j.status, 200, j.text);
    assert.deepEqual(j.json.data[0].spans.map((s) => s.spanID).sort(), t.spanIds);

    const z = await server.getJson(`/api/v2/trace/${t.traceId}`);
    assert.equal(z.status, 200, z.text);
    assert.match(String(z.headers['content-type']), /^application\/json/);
    assert.ok(Array.isArray(z.json), `Zipkin trace is an array of spans: ${z.text.slice(0, 300)}`);
    assert.deepEqual(z.json.map((s) => s.id).sort(), t.spanIds);
    for (const s of z.json) assert.equal(s.traceId, t.traceId);
  }
  const z = (await server.getJson(`/api/v2/trace/${sent.a.traceId}`)).json;
  const byId = new Map(z.map((s) => [s.id, s]));
  const charge = byId.get(sent.a.charge);
  assert.equal(charge.localEndpoint?.serviceName, WEB);
  assert.equal(charge.kind, 'CLIENT');
  assert.equal(charge.tags?.error, 'upstream timeout', 'error tag = status message');
  // the event as an annotation: "retry", or with its attributes: "retry":{"retry.attempt":1}
  assert.ok((charge.annotations ?? []).some((an) => an.value === 'retry' || String(an.value).startsWith('"retry":')),
    `retry annotation: ${JSON.stringify(charge.annotations)}`);
  assert.equal(charge.remoteEndpoint?.serviceName, PAY);
  const srv = byId.get(sent.a.server);
  assert.equal(srv.localEndpoint?.serviceName, PAY);
  assert.equal(srv.parentId, sent.a.charge);

  const missing = await server.getJson('/api/v2/trace/0123456789abcdef0123456789abcdef');
  assert.equal(missing.status, 404, missing.text);
});

test('GET /api/traces finds them by service, operation, tags and durations', async () => {
  const { a, b } = sent;
  const search = async (q) => jaegerSearch(q);
  // newest first: B (4 min ago) before A (5 min ago)
  let d = await search(`service=${WEB}`);
  assert.deepEqual(ids(d.map((t) => t.traceID)), [b.traceId, a.traceId], 'service: both, newest first');
  assert.deepEqual(d[1].spans.map((s) => s.spanID).sort(), a.spanIds, 'trace A whole (both services)');
  d = await search(`service=${PAY}`);
  assert.deepEqual(ids(d.map((t) => t.traceID)), [a.traceId], 'the payments service');
  assert.equal(d[0].spans.length, 4, 'whole trace, not only the payments span');

  const expectIds = async (q, want, msg) => {
    const got = ids((await search(q)).map((t) => t.traceID));
    assert.deepEqual(got, want, `${msg}: /api/traces?${q}`);
  };
  await expectIds(`service=${WEB}&operation=${enc('POST /charge')}`, [a.traceId], 'operation');
  await expectIds(`service=${WEB}&operation=${enc('GET /health')}`, [b.traceId], 'operation');
  await expectIds(`service=${WEB}&operation=nope`, [], 'unknown operation');
  await expectIds(`service=${WEB}&tags=${enc('{"http.status_code":"502"}')}`, [a.traceId], 'int tag');
  await expectIds(`service=${WEB}&tags=${enc('{"http.method":"GET"}')}`, [b.traceId, a.traceId], 'string tag');
  await expectIds(`service=${WEB}&tags=${enc('{"app.premium":"true"}')}`, [a.traceId], 'bool tag');
  await expectIds(`service=${WEB}&tags=${enc('{"error":"true"}')}`, [a.traceId], 'error=true');
  await expectIds(`service=${WEB}&tags=${enc('{"http.method":"GET","error":"true"}')}`, [],
    'two tags must hold on one span (the GET root is not in error)');
  await expectIds(`service=${WEB}&tag=${enc('retry.attempt:1')}`, [a.traceId], 'event attribute via tag=');
  await expectIds(`service=${WEB}&tag=${enc('span.kind:client')}&tag=${enc('http.method:POST')}`, [a.traceId],
    'repeated tag=');
  await expectIds(`service=${WEB}&tags=${enc('{"service.version":"3.1.4"}')}`, [b.traceId, a.traceId],
    'resource attribute');
  await expectIds(`service=${PAY}&tags=${enc('{"resource.service.version":"0.9.0"}')}`, [a.traceId], 'resource.K');
  await expectIds(`service=${WEB}&tags=${enc(`{"scope.name":"${SCOPE}"}`)}`, [b.traceId, a.traceId], 'scope.name');
  await expectIds(`service=${WEB}&minDuration=300ms`, [a.traceId], 'minDuration');
  await expectIds(`service=${WEB}&minDuration=400ms`, [a.traceId], 'minDuration equal to the root duration');
  await expectIds(`service=${WEB}&minDuration=${enc('400.001ms')}`, [], 'minDuration just above');
  await expectIds(`service=${WEB}&minDuration=1s`, [], 'minDuration above all');
  await expectIds(`service=${WEB}&maxDuration=5ms`, [b.traceId], 'maxDuration');
  await expectIds(`service=${WEB}&minDuration=15ms&maxDuration=25ms`, [a.traceId], 'duration range (render cart)');
  await expectIds(`service=${WEB}&limit=1`, [b.traceId], 'limit');
  const start = a.t0Ms * 1000;
  await expectIds(`service=${WEB}&start=${start}&end=${start}&lookback=custom`, [a.traceId],
    'window of one µs holding the root start');
  await expectIds(`service=${WEB}&start=${start + 1}&end=${start + 30e6}`, [a.traceId],
    'window holding the later spans of A only');
  await expectIds(`service=${WEB}&start=${start + 1000 * 1000}&end=${b.t0Ms * 1000 - 1}`, [], 'window between');
});

test('GET /api/v2/traces finds them by serviceName, spanName, annotationQuery', async () => {
  const { a, b } = sent;
  const expectIds = async (q, want, msg) => {
    const got = await zipkinSearch(q);
    assert.deepEqual(ids(got.map((t) => t[0]?.traceId)), want, `${msg}: /api/v2/traces?${q}`);
    return got;
  };
  const both = await expectIds(`serviceName=${WEB}`, [b.traceId, a.traceId], 'serviceName, newest first');
  assert.equal(both[1].length, 4, 'trace A whole');
  await expectIds(`serviceName=${PAY}`, [a.traceId], 'serviceName payments');
  await expectIds('', [b.traceId, a.traceId], 'no filter');
  await expectIds(`serviceName=${WEB}&spanName=${enc('render cart')}`, [a.traceId], 'spanName');
  await expectIds(`serviceName=${WEB}&spanName=all`, [b.traceId, a.traceId], 'spanName=all');
  await expectIds(`serviceName=${PAY}&spanName=${enc('render cart')}`, [], 'spanName of another service');
  await expectIds(`serviceName=${WEB}&annotationQuery=error`, [a.traceId], 'annotationQuery=error');
  await expectIds(`annotationQuery=${enc('error=card network timeout')}`, [a.traceId], 'error=<message>');
  await expectIds(`serviceName=${WEB}&annotationQuery=retry`, [a.traceId], 'event name');
  await expectIds(`serviceName=${WEB}&annotationQuery=${enc('http.method=GET and retry')}`, [a.traceId],
    'two terms met by two spans');
  await expectIds(`serviceName=${WEB}&annotationQuery=${enc('http.method=PUT')}`, [], 'no such tag value');
  await expectIds(`serviceName=${WEB}&annotationQuery=${enc('http.status_code=200')}`, [b.traceId], 'int tag as text');
  await expectIds(`serviceName=${WEB}&remoteServiceName=${PAY}`, [a.traceId], 'remoteServiceName');
  await expectIds(`serviceName=${WEB}&minDuration=300000`, [a.traceId], 'minDuration µs');
  await expectIds(`serviceName=${WEB}&minDuration=1000&maxDuration=3000`, [b.traceId], 'duration range µs');
  await expectIds(`serviceName=${WEB}&limit=1`, [b.traceId], 'limit');
  const endTs = a.t0Ms;
  await expectIds(`serviceName=${WEB}&endTs=${endTs}&lookback=1`, [a.traceId], 'window ending at A\'s start');
  await expectIds(`serviceName=${WEB}&endTs=${endTs - 1}&lookback=60000`, [], 'window before A');
});

test('GET /api/slow-traces ranks them by duration', async () => {
  const { a, b } = sent;
  const r = await server.getJson(`/api/slow-traces?service=${WEB}`);
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.deepEqual(r.json, {
    data: [
      { traceID: a.traceId, rootService: WEB, rootOperation: 'GET /checkout', startTime: a.t0Ms * 1000,
        duration: 400000, spanCount: 4, errorCount: 2, services: [PAY, WEB] },
      { traceID: b.traceId, rootService: WEB, rootOperation: 'GET /health', startTime: b.t0Ms * 1000,
        duration: 2000, spanCount: 1, errorCount: 0, services: [WEB] },
    ],
    total: 2,
    limit: 20,
  });
  const one = await server.getJson(`/api/slow-traces?service=${PAY}&operation=${enc('POST /charge')}&limit=5`);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.json.data.map((x) => x.traceID), [a.traceId]);
  assert.equal(one.json.total, 1);
  assert.equal(one.json.limit, 5);
  const opOnly = await server.getJson(`/api/slow-traces?operation=${enc('GET /health')}`);
  assert.deepEqual(opOnly.json.data.map((x) => x.traceID), [b.traceId], 'operation alone');
  const limited = await server.getJson('/api/slow-traces?limit=1');
  assert.deepEqual(limited.json.data.map((x) => x.traceID), [a.traceId], 'slowest first');
  assert.equal(limited.json.total, 2);
  const start = a.t0Ms * 1000;
  const win = await server.getJson(`/api/slow-traces?start=${start + 1}&end=${start + 10 * 60e6}`);
  assert.deepEqual(win.json.data.map((x) => x.traceID), [b.traceId], 'window on the trace start');
});

test('GET /api/v3/traces finds them (OTLP/JSON)', async () => {
  const { a, b } = sent;
  const rfc = (ms) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
  const q = `query.service_name=${WEB}&query.start_time_min=${enc(rfc(a.t0Ms - 60000))}` +
    `&query.start_time_max=${enc(rfc(b.t0Ms + 60000))}`;
  const r = await server.getJson(`/api/v3/traces?${q}`);
  assert.equal(r.status, 200, r.text);
  const found = new Map();
  for (const rs of r.json?.result?.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const id = s.traceId.toLowerCase();
        if (!found.has(id)) found.set(id, []);
        found.get(id).push(s.spanId.toLowerCase());
      }
    }
  }
  assert.deepEqual([...found.keys()].sort(), [a.traceId, b.traceId].sort());
  assert.deepEqual(found.get(a.traceId).sort(), a.spanIds);
  const op = await server.getJson(`/api/v3/traces?${q}&query.operation_name=${enc('render cart')}`);
  assert.equal(op.status, 200, op.text);
  const none = await server.getJson(`/api/v3/traces?${q}&query.operation_name=nope`);
  assert.equal(none.status, 404, none.text);
  assert.equal(none.json?.error?.httpCode, 404);
});

test('name endpoints list the services and operations', async () => {
  const j = async (path) => {
    const r = await server.getJson(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return r.json;
  };
  assert.deepEqual((await j('/api/services')).data, [PAY, WEB]);
  assert.deepEqual(await j('/api/v2/services'), [PAY, WEB]);
  assert.deepEqual([...(await j('/api/v3/services')).services].sort(), [PAY, WEB]);
  const webOps = ['GET /checkout', 'GET /health', 'POST /charge', 'render cart'];
  assert.deepEqual((await j(`/api/services/${WEB}/operations`)).data, webOps);
  assert.deepEqual((await j(`/api/services/${PAY}/operations`)).data, ['POST /charge']);
  assert.deepEqual(await j(`/api/v2/spans?serviceName=${WEB}`), webOps);
  assert.deepEqual(await j(`/api/v2/remoteServices?serviceName=${WEB}`), [PAY]);
  assert.deepEqual(await j(`/api/v2/remoteServices?serviceName=${PAY}`), []);
  assert.deepEqual((await j(`/api/operations?service=${WEB}`)).data, [
    { name: 'GET /checkout', spanKind: 'server' },
    { name: 'GET /health', spanKind: 'server' },
    { name: 'POST /charge', spanKind: 'client' },
    { name: 'render cart', spanKind: 'internal' },
  ]);
  assert.deepEqual((await j(`/api/operations?service=${WEB}&spanKind=client`)).data,
    [{ name: 'POST /charge', spanKind: 'client' }]);
  assert.deepEqual((await j(`/api/v3/operations?service=${PAY}`)).operations,
    [{ name: 'POST /charge', spanKind: 'server' }]);
  assert.deepEqual((await j('/api/services/nope/operations')).data, []);
});
