// The service map, built from planted topologies sent through the real
// OpenTelemetry JS SDK, compared with the answer the test knows.
//
// Every "service" has its own BasicTracerProvider (resource service.name), its
// own BatchSpanProcessor and its own OTLPTraceExporter (http/protobuf), as
// separate processes would; a call from A to B hands the client span's context
// over explicitly (trace.setSpanContext(context.active(), ctx), isRemote), so
// B's server span is the child of A's client span. All span times are explicit
// whole microseconds.
//
//   a. chain      frontend → cart → pricing (client spans in between; an
//                 INTERNAL span between frontend's entry and its client span)
//   b. fan-out    api → users, order-service, inventory (three concurrent calls)
//   c. database   catalog → "orders" (postgresql, db.namespace) and → "cache-1"
//                 (redis, server.address), client spans only
//   d. messaging  checkout PRODUCER → shipping CONSUMER (edge checkout →
//                 shipping), a producer without consumer (→ "orders-topic"),
//                 and root CONSUMER spans of shipping (→ user → shipping)
//   e. external   payments → "api.stripe.com" (server.address only)
//
// The expected map is computed from the ReadableSpans the SDK produced, with
// the rules of docs/servicemap.md (computeMap below), and is first checked
// against a hand count of the planted topology. Then, with the server started
// with --pair-wait 1s, GET /api/servicemap is polled until it settles and is
// compared: nodes (id, kind), edges, calls and errors exactly, requests and
// errors (and http4xx/http5xx/throttled when the answer has them) exactly,
// p50/p90/p99 within 1% + 1 µs of the exact nearest-rank percentiles.
// level=operation, focus/hops, /api/dependencies (Jaeger) and
// /api/v2/dependencies (Zipkin) are checked the same way.
//
// Reading taken where docs/servicemap.md is silent (see also computeMap):
//   - an edge `user` → X (rule 3) failed when X has status ERROR;
//   - a 429 counts in `throttled` only, not in http4xx (the doc lists the
//     three counters side by side; analysis/servicemap.c reads it so too);
//   - with focus, node statistics are those of the whole map (only service
//     nodes' statistics are compared there).
// The fan-out's second callee is "order-service", not "orders": a service named
// "orders" would absorb the database node "orders" of (c) (a virtual node whose
// name is a service that sends spans is that service's node).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireNodeModules, startServer, sleep } from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const { trace, context, SpanKind, SpanStatusCode, ROOT_CONTEXT } = await import('@opentelemetry/api');
const { ExportResultCode } = await import('@opentelemetry/core');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const {
  BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter,
} = await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

const PAIR_WAIT_ARGS = ['--pair-wait', '1s'];
const US_PER_MIN = 60e6;

// ---------------------------------------------------------------------------
// The service-map rules of docs/servicemap.md, over plain span records:
// {traceId, spanId, parentSpanId ('' for a root), parent (record or null),
//  service, name, kind ('server'|'client'|'producer'|'consumer'|'internal'),
//  startUs, endUs (whole µs), attrs {key: value}, error (status ERROR)}
// ---------------------------------------------------------------------------

import { durUs, httpStatus, virtualPeer, computeMap, focusMap, nearestRank, cmp, PCT_TOL, ABS_TOL_US, near, diffMap, countsOfAnswer, countsOfMap, settle } from './lib/servicemap_truth.mjs';

// ---------------------------------------------------------------------------
// The SDK side: one provider and exporter per service
// ---------------------------------------------------------------------------

const memory = new InMemorySpanExporter();
const hr = (us) => [Math.floor(us / 1e6), (us % 1e6) * 1000];
const hrToUs = (t) => t[0] * 1e6 + t[1] / 1000;

class Service {
  constructor(name, url) {
    this.name = name;
    this.exports = [];
    const otlp = new OTLPTraceExporter({ url: `${url}/v1/traces`, timeoutMillis: 15000 });
    const exports = this.exports;
    const recorder = {
      export(spans, done) {
        otlp.export(spans, (res) => {
          exports.push({ code: res.code, error: res.error?.message, spans: spans.length });
          done(res);
        });
      },
      shutdown: () => otlp.shutdown(),
      forceFlush: () => (otlp.forceFlush ? otlp.forceFlush() : Promise.resolve()),
    };
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': name, 'service.instance.id': `${name}-0` }),
      spanProcessors: [
        new SimpleSpanProcessor(memory),
        new BatchSpanProcessor(recorder, {
          maxQueueSize: 4096, maxExportBatchSize: 64, scheduledDelayMillis: 200, exportTimeoutMillis: 20000,
        }),
      ],
    });
    this.tracer = this.provider.getTracer(`${name}-instrumentation`, '1.0.0');
  }
}

/**
 * Start a span of svc at startUs. parent: a handle from an earlier call; when
 * it belongs to another service its context is handed over explicitly, as a
 * remote parent (what a propagator would extract on the other side).
 */
function begin(svc, name, kind, startUs, { parent = null, attributes = {} } = {}) {
  let ctx = ROOT_CONTEXT;
  if (parent) {
    const pc = parent.span.spanContext();
    ctx = trace.setSpanContext(context.active(), { ...pc, isRemote: parent.svc !== svc });
  }
  const span = svc.tracer.startSpan(name, { kind, startTime: hr(startUs), attributes }, ctx);
  return { span, svc };
}
function end(h, endUs, { error = false, status = null } = {}) {
  if (status !== null) h.span.setAttribute('http.response.status_code', status);
  if (error) h.span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
  h.span.end(hr(endUs));
}

/** Send the planted topologies; returns the services (to check their exports). */
async function sendTopologies(url, t0Us) {
  const names = ['frontend', 'cart', 'pricing', 'api', 'users', 'order-service', 'inventory',
    'catalog', 'checkout', 'shipping', 'payments'];
  const S = Object.fromEntries(names.map((n) => [n, new Service(n, url)]));
  let traceNo = 0;
  const nextBase = () => t0Us + 400000 * traceNo++; // a trace every 0.4 s

  // a. chain: 7 traces
  for (let i = 0; i < 7; i++) {
    const b = nextBase();
    const root = begin(S.frontend, i % 2 === 0 ? 'GET /cart' : 'POST /cart/items', SpanKind.SERVER, b,
      { attributes: { 'http.request.method': i % 2 === 0 ? 'GET' : 'POST' } });
    const load = begin(S.frontend, 'load cart', SpanKind.INTERNAL, b + 1000, { parent: root });
    const feCall = begin(S.frontend, 'GET', SpanKind.CLIENT, b + 2000,
      { parent: load, attributes: { 'http.request.method': 'GET', 'server.address': 'cart', 'server.port': 8080 } });
    const cartSrv = begin(S.cart, 'GET /api/cart', SpanKind.SERVER, b + 3000,
      { parent: feCall, attributes: { 'http.request.method': 'GET', 'http.route': '/api/cart' } });
    const cartCall = begin(S.cart, 'POST', SpanKind.CLIENT, b + 5000,
      { parent: cartSrv, attributes: { 'http.request.method': 'POST', 'server.address': 'pricing' } });
    const price = begin(S.pricing, 'POST /quote', SpanKind.SERVER, b + 6000 + 37 * i,
      { parent: cartCall, attributes: { 'http.request.method': 'POST', 'http.route': '/quote' } });
    const priceFails = i % 3 === 0;
    end(price, b + 21000 + 1733 * i, { status: priceFails ? 500 : 200, error: priceFails });
    end(cartCall, b + 22000 + 1733 * i, { status: priceFails ? 500 : 200, error: priceFails });
    end(cartSrv, b + 30000 + 2111 * i, { status: i === 1 ? 404 : 200 });
    end(feCall, b + 31000 + 2111 * i + 13 * i * i, { status: i === 1 ? 404 : 200, error: i === 1 });
    end(load, b + 45000 + 2500 * i);
    end(root, b + 50000 + 2600 * i, { status: i === 5 ? 429 : 200 });
  }

  // b. fan-out with three concurrent calls: 13 traces
  for (let i = 0; i < 13; i++) {
    const b = nextBase();
    const root = begin(S.api, 'GET /dashboard', SpanKind.SERVER, b, { attributes: { 'http.request.method': 'GET' } });
    const callees = [
      ['users', 'GET /users/{id}', 28000 + 997 * i, i % 5 === 2 ? 429 : 200, false, i % 5 === 2],
      ['order-service', 'GET /orders', 41000 + 1511 * ((i * 7) % 13), 200, false, false],
      ['inventory', 'GET /stock', 57000 + 3001 * ((i * 5) % 13), i % 4 === 0 ? 503 : 200, i % 4 === 0, i % 8 === 0],
    ];
    // all three start before any ends: concurrent calls
    const started = callees.map(([svc, route], k) => {
      const call = begin(S.api, `GET ${svc}`, SpanKind.CLIENT, b + 2000 + 100 * k,
        { parent: root, attributes: { 'http.request.method': 'GET', 'server.address': svc } });
      const srv = begin(S[svc], route, SpanKind.SERVER, b + 2500 + 100 * k,
        { parent: call, attributes: { 'http.request.method': 'GET', 'http.route': route } });
      return { call, srv };
    });
    await Promise.all(started.map(async ({ call, srv }, k) => {
      const [, , d, status, srvErr, callErr] = callees[k];
      end(srv, b + 2500 + 100 * k + d, { status, error: srvErr });
      end(call, b + 2500 + 100 * k + d + 400 + 11 * k, { status, error: callErr });
    }));
    const apiFails = i % 6 === 5;
    end(root, b + 70000 + 3001 * ((i * 5) % 13) + 1000 * (i % 3),
      { status: apiFails ? 500 : 200, error: apiFails });
  }

  // c. a database and a cache without their own spans: 11 traces
  for (let i = 0; i < 11; i++) {
    const b = nextBase();
    const root = begin(S.catalog, 'GET /items', SpanKind.SERVER, b, { attributes: { 'http.request.method': 'GET' } });
    const cache = begin(S.catalog, 'GET', SpanKind.CLIENT, b + 500, {
      parent: root,
      attributes: { 'db.system': 'redis', 'server.address': 'cache-1', 'server.port': 6379, 'db.operation.name': 'GET' },
    });
    end(cache, b + 900 + 97 * i, { error: i === 10 });
    let last = b + 1000 + 97 * i;
    if (i % 3 !== 0) { // a cache miss: the database
      const q = begin(S.catalog, 'SELECT orders', SpanKind.CLIENT, b + 1500 + 97 * i, {
        parent: root,
        attributes: {
          'db.system.name': 'postgresql', 'db.namespace': 'orders', 'db.operation.name': 'SELECT',
          'db.query.text': 'SELECT * FROM items WHERE id = $1',
        },
      });
      last = b + 9000 + 1409 * i;
      end(q, last, { error: i === 2 || i === 8 });
    }
    end(root, last + 800 + 31 * i, { status: 200 });
  }

  // d. a message queue: 5 produced and consumed, 3 produced with no consumer,
  // and 2 consumed with no producer in the trace (root CONSUMER spans)
  for (let i = 0; i < 8; i++) {
    const b = nextBase();
    const root = begin(S.checkout, 'POST /checkout', SpanKind.SERVER, b, { attributes: { 'http.request.method': 'POST' } });
    const prod = begin(S.checkout, 'orders-topic publish', SpanKind.PRODUCER, b + 5000, {
      parent: root,
      attributes: {
        'messaging.system': 'kafka', 'messaging.destination.name': 'orders-topic', 'messaging.operation.type': 'send',
      },
    });
    end(prod, b + 6000 + 211 * i);
    if (i < 5) {
      const cons = begin(S.shipping, 'orders-topic process', SpanKind.CONSUMER, b + 9000 + 50 * i, {
        parent: prod,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders-topic', 'messaging.operation.type': 'process' },
      });
      end(cons, b + 25000 + 3331 * i, { error: i === 3 });
    }
    end(root, b + 20000 + 1201 * i, { status: 201 });
  }
  for (let i = 0; i < 2; i++) {
    const b = nextBase();
    const cons = begin(S.shipping, 'orders-topic process', SpanKind.CONSUMER, b, {
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders-topic', 'messaging.operation.type': 'process' },
    });
    end(cons, b + 12000 + 5003 * i);
  }

  // e. an external API named only by server.address: 9 traces
  for (let i = 0; i < 9; i++) {
    const b = nextBase();
    const root = begin(S.payments, 'POST /pay', SpanKind.SERVER, b, { attributes: { 'http.request.method': 'POST' } });
    const stripe = begin(S.payments, 'POST /v1/charges', SpanKind.CLIENT, b + 10000, {
      parent: root,
      attributes: { 'http.request.method': 'POST', 'server.address': 'api.stripe.com', 'server.port': 443 },
    });
    const rootFails = i % 4 === 3;
    end(stripe, b + 250000 + 7919 * i, { status: rootFails ? 502 : 200, error: rootFails || i === 0 });
    end(root, b + 260000 + 7919 * i + 500 * (i % 2), { status: rootFails ? 500 : 200, error: rootFails });
  }

  const all = Object.values(S);
  await Promise.all(all.map((s) => s.provider.forceFlush()));
  const finished = memory.getFinishedSpans().slice();
  await Promise.all(all.map((s) => s.provider.shutdown()));
  return { services: all, finished, traces: traceNo };
}

const KIND_NAME = {
  [SpanKind.INTERNAL]: 'internal', [SpanKind.SERVER]: 'server', [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer', [SpanKind.CONSUMER]: 'consumer',
};

/** Span records (see computeMap) from the SDK's ReadableSpans. */
function recordsFromSdk(readable) {
  const recs = readable.map((s) => ({
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? '',
    service: String(s.resource.attributes['service.name']),
    name: s.name,
    kind: KIND_NAME[s.kind],
    startUs: hrToUs(s.startTime),
    endUs: hrToUs(s.endTime),
    attrs: { ...s.attributes },
    error: s.status.code === SpanStatusCode.ERROR,
  }));
  const byId = new Map(recs.map((r) => [`${r.traceId}/${r.spanId}`, r]));
  for (const r of recs) r.parent = r.parentSpanId ? byId.get(`${r.traceId}/${r.parentSpanId}`) ?? null : null;
  return recs;
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

let server;
let sent;
let records;
let window; // {start, end} µs
let serviceMap; // computeMap(records)

before(async () => {
  server = await startServer({ args: PAIR_WAIT_ARGS });
  const t0Us = (Date.now() - 60000) * 1000;
  sent = await sendTopologies(server.url, t0Us);
  records = recordsFromSdk(sent.finished);
  serviceMap = computeMap(records);
  window = { start: t0Us - 2 * US_PER_MIN + 1234, end: Date.now() * 1000 + 2 * US_PER_MIN + 5678 };
});
after(async () => {
  await server?.close();
});

const mapPath = (extra = '') => `/api/servicemap?start=${window.start}&end=${window.end}${extra}`;

test('the SDK exported every span, and the expected map matches the hand count', () => {
  for (const s of sent.services) {
    assert.ok(s.exports.length > 0, `${s.name}: nothing exported`);
    for (const e of s.exports) {
      assert.equal(e.code, ExportResultCode.SUCCESS, `${s.name}: export failed: ${e.error}`);
    }
  }
  const exported = sent.services.reduce((n, s) => n + s.exports.reduce((m, e) => m + e.spans, 0), 0);
  assert.equal(exported, records.length, 'every finished span was exported once');
  assert.equal(new Set(records.map((r) => r.traceId)).size, sent.traces, 'one trace per planted call');

  // the planted answer, counted by hand: [source, target, calls, errors]
  const handEdges = [
    ['api', 'inventory', 13, 4], ['api', 'order-service', 13, 0], ['api', 'users', 13, 3],
    ['cart', 'pricing', 7, 3],
    ['catalog', 'cache-1', 11, 1], ['catalog', 'orders', 7, 2],
    ['checkout', 'orders-topic', 3, 0], ['checkout', 'shipping', 5, 1],
    ['frontend', 'cart', 7, 1],
    ['payments', 'api.stripe.com', 9, 3],
    ['user', 'api', 13, 2], ['user', 'catalog', 11, 0], ['user', 'checkout', 8, 0], ['user', 'frontend', 7, 0],
    ['user', 'payments', 9, 2], ['user', 'shipping', 2, 0],
  ];
  // [id, kind, requests, errors, http4xx, http5xx, throttled]
  const handNodes = [
    ['api', 'service', 13, 2, 0, 2, 0], ['api.stripe.com', 'external', 9, 3, 0, 0, 0],
    ['cache-1', 'database', 11, 1, 0, 0, 0], ['cart', 'service', 7, 0, 1, 0, 0],
    ['catalog', 'service', 11, 0, 0, 0, 0], ['checkout', 'service', 8, 0, 0, 0, 0],
    ['frontend', 'service', 7, 0, 0, 0, 1], ['inventory', 'service', 13, 4, 0, 4, 0],
    ['order-service', 'service', 13, 0, 0, 0, 0], ['orders', 'database', 7, 2, 0, 0, 0],
    ['orders-topic', 'messaging', 3, 0, 0, 0, 0], ['payments', 'service', 9, 2, 0, 2, 0],
    ['pricing', 'service', 7, 3, 0, 3, 0], ['shipping', 'service', 7, 1, 0, 0, 0],
    ['user', 'user', 50, 4, 0, 0, 0], ['users', 'service', 13, 0, 0, 0, 3],
  ];
  const gotEdges = [...serviceMap.edges.values()].map((e) => [e.source, e.target, e.calls, e.errors])
    .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  assert.deepEqual(gotEdges, handEdges, 'computeMap(SDK spans) edges = hand count');
  const gotNodes = [...serviceMap.nodes.values()]
    .map((n) => [n.id, n.kind, n.requests, n.errors, n.http4xx, n.http5xx, n.throttled])
    .sort((a, b) => cmp(a[0], b[0]));
  assert.deepEqual(gotNodes, handNodes, 'computeMap(SDK spans) nodes = hand count');
  // latencies: the caller's view on paired edges
  const fc = serviceMap.edges.get('frontend\0cart');
  const feClients = records.filter((r) => r.service === 'frontend' && r.kind === 'client').map(durUs);
  assert.deepEqual([...fc.values].sort((a, b) => a - b), feClients.sort((a, b) => a - b));
});

test('GET /api/servicemap: nodes, kinds, edges, calls, errors and percentiles', { timeout: 30000 }, async () => {
  const r = await settle(server, mapPath(), countsOfMap(serviceMap));
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const diff = diffMap(r.json, serviceMap);
  assert.deepEqual(diff, [], `service map differs:\n  ${diff.join('\n  ')}`);
  assert.equal(typeof r.json.start, 'number', 'start');
  assert.equal(typeof r.json.end, 'number', 'end');
  assert.ok(r.json.start <= window.start && r.json.end >= window.end,
    `[start, end] is rounded out: asked [${window.start}, ${window.end}], got [${r.json.start}, ${r.json.end}]`);
});

test('GET /api/servicemap?level=operation: service:operation nodes', { timeout: 30000 }, async () => {
  const want = computeMap(records, 'operation');
  // a few of the planted operation-level facts, by hand
  const calls = (s, t) => want.edges.get(`${s}\0${t}`)?.calls;
  assert.equal(calls('user', 'frontend:GET /cart'), 4);
  assert.equal(calls('user', 'frontend:POST /cart/items'), 3);
  assert.equal(calls('frontend:GET /cart', 'cart:GET /api/cart'), 4, 'the caller is its entry span (above "load cart")');
  assert.equal(calls('frontend:POST /cart/items', 'cart:GET /api/cart'), 3);
  assert.equal(want.edges.get('frontend:POST /cart/items\0cart:GET /api/cart').errors, 1);
  assert.equal(calls('catalog:GET /items', 'orders'), 7, 'virtual nodes stay as they are');
  assert.equal(calls('checkout:POST /checkout', 'shipping:orders-topic process'), 5);
  assert.equal(calls('user', 'shipping:orders-topic process'), 2);

  const r = await settle(server, mapPath('&level=operation'), countsOfMap(want), { timeoutMs: 8000 });
  assert.equal(r.status, 200, r.text.slice(0, 500));
  const diff = diffMap(r.json, want, { names: false });
  assert.deepEqual(diff, [], `operation-level map differs:\n  ${diff.join('\n  ')}`);
});

test('GET /api/servicemap?focus=cart: only cart\'s neighbourhood', { timeout: 30000 }, async () => {
  for (const [extra, hops, level] of [['&focus=cart&hops=1', 1, 'service'], ['&focus=cart', 1, 'service'],
    ['&focus=cart&hops=2', 2, 'service'], ['&focus=api&hops=1', 1, 'service'],
    ['&focus=cart&hops=1&level=operation', 1, 'operation']]) {
    const want = focusMap(computeMap(records, level), extra.match(/focus=([^&]+)/)[1], hops, level);
    if (extra === '&focus=cart&hops=1') {
      assert.deepEqual([...want.nodes.keys()].sort(), ['cart', 'frontend', 'pricing']);
      assert.deepEqual([...want.edges.values()].map((e) => `${e.source}>${e.target}`).sort(),
        ['cart>pricing', 'frontend>cart']);
    }
    if (extra === '&focus=cart&hops=2') assert.ok(want.nodes.has('user') && want.edges.has('user\0frontend'));
    const r = await server.getJson(mapPath(extra));
    assert.equal(r.status, 200, `${extra}: ${r.text.slice(0, 500)}`);
    const diff = diffMap(r.json, want, { nodeStats: 'service', names: level === 'service' });
    assert.deepEqual(diff, [], `${extra}: differs:\n  ${diff.join('\n  ')}`);
  }
});

test('GET /api/dependencies (Jaeger): every edge but those from user, exact callCount', async () => {
  const endTs = Math.ceil(window.end / 1000);
  const lookback = endTs - Math.floor(window.start / 1000);
  const r = await server.getJson(`/api/dependencies?endTs=${endTs}&lookback=${lookback}`);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.ok(Array.isArray(r.json?.data), `expected {"data":[...]}, got ${r.text.slice(0, 300)}`);
  const want = [...serviceMap.edges.values()].filter((e) => e.source !== 'user')
    .map((e) => ({ parent: e.source, child: e.target, callCount: e.calls }))
    .sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child));
  const got = r.json.data.map((d) => ({ parent: d.parent, child: d.child, callCount: d.callCount }))
    .sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child));
  assert.deepEqual(got, want);
});

test('GET /api/v2/dependencies (Zipkin): exact callCount, errorCount when not zero', async () => {
  const endTs = Math.ceil(window.end / 1000);
  const lookback = endTs - Math.floor(window.start / 1000);
  const r = await server.getJson(`/api/v2/dependencies?endTs=${endTs}&lookback=${lookback}`);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.ok(Array.isArray(r.json), `expected an array, got ${r.text.slice(0, 300)}`);
  const want = [...serviceMap.edges.values()].filter((e) => e.source !== 'user')
    .map((e) => ({ parent: e.source, child: e.target, callCount: e.calls, ...(e.errors ? { errorCount: e.errors } : {}) }))
    .sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child));
  const got = r.json.map((d) => {
    const o = { parent: d.parent, child: d.child, callCount: d.callCount };
    if ('errorCount' in d) o.errorCount = d.errorCount;
    return o;
  }).sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child));
  assert.deepEqual(got, want);
});

test('tracemap exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  assert.deepEqual(server.unexpectedExits, []);
});
