// GET /metrics, /healthz and /readyz against a real server.
//
// - the exposition passes `promtool check metrics` (Debian package
//   prometheus), has # HELP and # TYPE for every family, _total counters,
//   and histograms with cumulative buckets ending in le="+Inf";
// - the ingest counters agree exactly with what the test sent: requests and
//   spans received, accepted and refused, by protocol and reason (OTLP
//   protobuf and JSON with a partial success, Zipkin v2, and 400, 405, 413,
//   415 refusals);
// - Tempo's service-graph families agree with GET /api/servicemap for a
//   topology planted through the OpenTelemetry JS SDK (calls and errors per
//   edge, the histogram counts), have the connection_type Tempo gives each
//   kind of call, and their client and server seconds are the sums of the
//   caller and callee span durations;
// - /healthz and /readyz answer 200 while serving (the reasons /readyz
//   gives 503 for are unit-tested in tests/unit/test_metrics.c).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { requireNodeModules, startServer, makeBatch } from './lib/server.mjs';
import { scrape, sampleValue, samplesOf, promtoolCheck } from './lib/prom.mjs';
import { computeMap, countsOfMap, settle } from './lib/servicemap_truth.mjs';

requireNodeModules();
const { trace, context, SpanKind, SpanStatusCode, ROOT_CONTEXT } = await import('@opentelemetry/api');
const { ExportResultCode } = await import('@opentelemetry/core');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter } =
  await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

let server;
before(async () => {
  server = await startServer({ args: ['--pair-wait', '1s', '--max-body', '64K'] });
});
after(async () => {
  await server?.close();
});

const hex = (n) => randomBytes(n).toString('hex');

test('a fresh server: /metrics passes promtool, every family has HELP and TYPE', async () => {
  const m = await scrape(server);
  assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const check = promtoolCheck(m.text);
  assert.ok(check.ok, check.output);
  for (const s of m.samples) {
    const family = [...m.families.keys()].find((f) => s.name === f ||
      (m.families.get(f).type === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(s.name)?.[1] === f));
    assert.ok(family, `${s.name}: no # HELP/# TYPE`);
    const f = m.families.get(family);
    assert.ok(f.help && f.type, `${family}: HELP and TYPE`);
    if (f.type === 'counter') assert.match(family, /_total$/, `counter ${family} ends in _total`);
  }
  for (const name of ['tracemap_http_request_duration_seconds', 'tracemap_commit_duration_seconds',
    'tracemap_commit_group_batches']) {
    assert.equal(m.families.get(name)?.type, 'histogram', name);
  }
  // buckets are cumulative and end in +Inf, which equals _count
  const byLabels = new Map();
  for (const s of samplesOf(m, 'tracemap_http_request_duration_seconds_bucket')) {
    const k = s.labels.route;
    byLabels.set(k, [...(byLabels.get(k) ?? []), s]);
  }
  assert.ok(byLabels.size >= 10, 'one histogram per route');
  for (const [route, buckets] of byLabels) {
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, route);
    assert.equal(buckets.at(-1).labels.le, '+Inf');
    assert.equal(buckets.at(-1).value,
      sampleValue(m, 'tracemap_http_request_duration_seconds_count', { route }), route);
  }
  assert.equal(sampleValue(m, 'tracemap_ready'), 1);
  assert.equal(sampleValue(m, 'tracemap_store_spans'), 0);
  assert.ok(sampleValue(m, 'tracemap_store_used_bytes') > 0);
  assert.ok(sampleValue(m, 'tracemap_store_map_size_bytes') >= sampleValue(m, 'tracemap_store_used_bytes'));
});

test('/healthz and /readyz answer 200 while serving', async () => {
  const h = await server.getJson('/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.text, 'ok\n');
  const r = await server.getJson('/readyz');
  assert.equal(r.status, 200, r.text);
  const p = await server.post('/readyz', 'x');
  assert.equal(p.status, 405);
});

// an OTLP/JSON request of three spans, the last with an all-zero span ID
function otlpJsonWithOneInvalid() {
  const traceId = hex(16);
  const now = BigInt(Date.now()) * 1000000n;
  const span = (id, i) => ({
    traceId, spanId: id, name: `json-${i}`, kind: 2,
    startTimeUnixNano: String(now + BigInt(i) * 1000n), endTimeUnixNano: String(now + 5000000n),
  });
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-svc' } }] },
      scopeSpans: [{ spans: [span(hex(8), 0), span(hex(8), 1), span('0000000000000000', 2)] }],
    }],
  });
}

function zipkinV2(n) {
  const traceId = hex(16);
  const ts = Date.now() * 1000;
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({
    traceId, id: hex(8), name: `zipkin-${i}`, timestamp: ts + i, duration: 1500,
    localEndpoint: { serviceName: 'zipkin-svc' },
  })));
}

test('ingest counters agree with what was sent, by protocol and reason', { timeout: 60000 }, async () => {
  const before = await scrape(server);
  const v = (m, name, labels) => sampleValue(m, name, labels) ?? NaN;
  const delta = (after, name, labels) => v(after, name, labels) - v(before, name, labels);

  const a = makeBatch({ service: 'm-a', n: 7 });
  const b = makeBatch({ service: 'm-b', n: 11 });
  const answers = [
    await server.postOtlp(a.body),
    await server.postOtlp(b.body),
    await server.post('/v1/traces', otlpJsonWithOneInvalid(), { 'Content-Type': 'application/json' }),
    await server.post('/v1/traces', 'hello', { 'Content-Type': 'text/plain' }),
    await server.request('GET', '/v1/traces'),
    await server.postOtlp(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])),
    await server.postOtlp(Buffer.alloc(100 * 1024, 0x0a)),
    await server.post('/api/v2/spans', zipkinV2(4), { 'Content-Type': 'application/json' }),
    await server.post('/api/v2/spans', '[{"traceId":', { 'Content-Type': 'application/json' }),
  ];
  assert.deepEqual(answers.map((x) => x.status), [200, 200, 200, 415, 405, 400, 413, 202, 400]);
  const after = await scrape(server);
  const otlp = { protocol: 'otlp' };
  const zipkin = { protocol: 'zipkin_v2' };
  const want = [
    ['tracemap_ingest_requests_received_total', otlp, 7],
    ['tracemap_ingest_requests_accepted_total', otlp, 3],
    ['tracemap_ingest_requests_refused_total', { ...otlp, reason: 'unsupported_media_type' }, 1],
    ['tracemap_ingest_requests_refused_total', { ...otlp, reason: 'method_not_allowed' }, 1],
    ['tracemap_ingest_requests_refused_total', { ...otlp, reason: 'invalid' }, 1],
    ['tracemap_ingest_requests_refused_total', { ...otlp, reason: 'too_large' }, 1],
    ['tracemap_ingest_requests_refused_total', { ...otlp, reason: 'queue_full' }, 0],
    ['tracemap_ingest_spans_received_total', otlp, 7 + 11 + 3],
    ['tracemap_ingest_spans_accepted_total', otlp, 7 + 11 + 2],
    ['tracemap_ingest_spans_refused_total', { ...otlp, reason: 'invalid' }, 1],
    ['tracemap_ingest_requests_received_total', zipkin, 2],
    ['tracemap_ingest_requests_accepted_total', zipkin, 1],
    ['tracemap_ingest_requests_refused_total', { ...zipkin, reason: 'invalid' }, 1],
    ['tracemap_ingest_spans_received_total', zipkin, 4],
    ['tracemap_ingest_spans_accepted_total', zipkin, 4],
    ['tracemap_ingest_requests_received_total', { protocol: 'jaeger_thrift' }, 0],
  ];
  for (const [name, labels, n] of want) assert.equal(delta(after, name, labels), n, `${name} ${JSON.stringify(labels)}`);
  // every family of requests and spans adds up: received = accepted + refused
  for (const p of ['otlp', 'zipkin_v2']) {
    const refused = (what) => samplesOf(after, `tracemap_ingest_${what}_refused_total`)
      .filter((s) => s.labels.protocol === p).reduce((n, s) => n + s.value, 0);
    assert.equal(v(after, 'tracemap_ingest_requests_received_total', { protocol: p }),
      v(after, 'tracemap_ingest_requests_accepted_total', { protocol: p }) + refused('requests'), p);
    assert.equal(v(after, 'tracemap_ingest_spans_received_total', { protocol: p }),
      v(after, 'tracemap_ingest_spans_accepted_total', { protocol: p }) + refused('spans'), p);
  }
  assert.equal(v(after, 'tracemap_store_spans'), v(before, 'tracemap_store_spans') + 7 + 11 + 2 + 4);
  assert.ok(delta(after, 'tracemap_commit_duration_seconds_count') >= 1);
  assert.ok(delta(after, 'tracemap_http_request_duration_seconds_count', { route: 'ingest_otlp' }) >= 7);
  const check = promtoolCheck(after.text);
  assert.ok(check.ok, check.output);
});

// ---------------------------------------------------------------------------
// The service graph: a topology through the OpenTelemetry JS SDK
// ---------------------------------------------------------------------------

const memory = new InMemorySpanExporter();
const hr = (us) => [Math.floor(us / 1e6), (us % 1e6) * 1000];
const hrToUs = (t) => t[0] * 1e6 + t[1] / 1000;
const KIND = { [SpanKind.INTERNAL]: 'internal', [SpanKind.SERVER]: 'server', [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer', [SpanKind.CONSUMER]: 'consumer' };

function service(name, url) {
  const exports = [];
  const otlp = new OTLPTraceExporter({ url: `${url}/v1/traces`, timeoutMillis: 15000 });
  const recorder = {
    export(spans, done) {
      otlp.export(spans, (res) => { exports.push(res.code); done(res); });
    },
    shutdown: () => otlp.shutdown(),
  };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name }),
    spanProcessors: [new SimpleSpanProcessor(memory),
      new BatchSpanProcessor(recorder, { maxExportBatchSize: 64, scheduledDelayMillis: 100 })],
  });
  return { name, provider, exports, tracer: provider.getTracer('metrics-test') };
}

function begin(svc, name, kind, startUs, parent = null, attributes = {}) {
  let ctx = ROOT_CONTEXT;
  if (parent) {
    const pc = parent.span.spanContext();
    ctx = trace.setSpanContext(context.active(), { ...pc, isRemote: parent.svc !== svc });
  }
  return { svc, span: svc.tracer.startSpan(name, { kind, startTime: hr(startUs), attributes }, ctx) };
}
function end(h, endUs, error = false) {
  if (error) h.span.setStatus({ code: SpanStatusCode.ERROR });
  h.span.end(hr(endUs));
}

// per trace: user -> frontend (root server), frontend -> cart (client/server),
// cart -> "ordersdb" (a database client span), cart -> shipping (producer /
// consumer), cart -> "api.partner.example" (an external peer); durations
// spread over Tempo's buckets
async function sendTopology(url, t0Us) {
  const S = Object.fromEntries(['frontend', 'cart', 'shipping'].map((n) => [n, service(n, url)]));
  // root durations from 20 ms to 14 s, µs; the other spans fractions of them
  const roots = [20e3, 60e3, 150e3, 350e3, 700e3, 1.5e6, 3e6, 7e6, 14e6];
  roots.forEach((d, i) => {
    const b = t0Us + i * 1e6;
    const at = (f) => b + Math.round(d * f);
    const root = begin(S.frontend, 'GET /', SpanKind.SERVER, b);
    const call = begin(S.frontend, 'GET cart', SpanKind.CLIENT, at(0.02), root, { 'server.address': 'cart' });
    const srv = begin(S.cart, 'GET /cart', SpanKind.SERVER, at(0.04), call);
    const db = begin(S.cart, 'SELECT', SpanKind.CLIENT, at(0.05), srv,
      { 'db.system.name': 'postgresql', 'db.namespace': 'ordersdb' });
    end(db, at(0.25), i === 4);
    const ext = begin(S.cart, 'POST', SpanKind.CLIENT, at(0.26), srv, { 'server.address': 'api.partner.example' });
    end(ext, at(0.56));
    const prod = begin(S.cart, 'orders publish', SpanKind.PRODUCER, at(0.57), srv,
      { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' });
    end(prod, at(0.6));
    const cons = begin(S.shipping, 'orders process', SpanKind.CONSUMER, at(0.61), prod);
    end(cons, at(0.97), i === 7);
    end(srv, at(0.9), i % 3 === 0);
    end(call, at(0.95));
    end(root, at(1), i === 8);
  });
  const all = Object.values(S);
  await Promise.all(all.map((s) => s.provider.forceFlush()));
  const recs = records(); // before shutdown, which empties the memory exporter
  await Promise.all(all.map((s) => s.provider.shutdown()));
  return { services: all, recs };
}

function records() {
  const recs = memory.getFinishedSpans().map((s) => ({
    traceId: s.spanContext().traceId, spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? '', service: String(s.resource.attributes['service.name']),
    name: s.name, kind: KIND[s.kind], startUs: hrToUs(s.startTime), endUs: hrToUs(s.endTime),
    attrs: { ...s.attributes }, error: s.status.code === SpanStatusCode.ERROR,
  }));
  const byId = new Map(recs.map((r) => [r.spanId, r]));
  for (const r of recs) r.parent = r.parentSpanId ? byId.get(r.parentSpanId) ?? null : null;
  return recs;
}

// the Tempo series each kind of call makes: [client, server, connection_type,
// caller span, callee span] per call, from the SDK's spans
function expectedCalls(recs) {
  const calls = [];
  const dur = (r) => (r.endUs - r.startUs) / 1e6;
  for (const r of recs) {
    const p = r.parent;
    if (p && p.service !== r.service) {
      const conn = p.kind === 'producer' || r.kind === 'consumer' ? 'messaging_system' : '';
      calls.push([p.service, r.service, conn, dur(p), dur(r), p.error || r.error]);
    } else if (!p && r.kind === 'server') {
      calls.push(['user', r.service, 'virtual_node', dur(r), dur(r), r.error]);
    } else if (r.kind === 'client' && !recs.some((c) => c.parent === r)) {
      const db = r.attrs['db.namespace'];
      calls.push([r.service, db ?? r.attrs['server.address'], db ? 'database' : 'virtual_node',
        dur(r), dur(r), r.error]);
    }
  }
  return calls;
}

test('Tempo service-graph series agree with /api/servicemap and the spans sent', { timeout: 90000 }, async () => {
  const t0Us = (Date.now() - 60000) * 1000;
  const { services, recs } = await sendTopology(server.url, t0Us);
  for (const s of services) {
    assert.ok(s.exports.length > 0, s.name);
    assert.ok(s.exports.every((c) => c === ExportResultCode.SUCCESS), `${s.name}: ${s.exports}`);
  }
  const map = computeMap(recs);
  const path = `/api/servicemap?start=${t0Us - 120e6}&end=${Date.now() * 1000 + 120e6}`;
  const answer = await settle(server, path, countsOfMap(map), { timeoutMs: 30000 });
  assert.equal(answer.status, 200, answer.text);

  const m = await scrape(server);
  const check = promtoolCheck(m.text);
  assert.ok(check.ok, check.output);
  const series = (name) => samplesOf(m, name);
  const edgeKey = (l) => `${l.client} -> ${l.server}`;

  // 1. per edge, summed over connection types: the map's calls and errors
  const fromMetrics = new Map();
  for (const s of series('traces_service_graph_request_total')) {
    const e = fromMetrics.get(edgeKey(s.labels)) ?? { calls: 0, errors: 0 };
    e.calls += s.value;
    fromMetrics.set(edgeKey(s.labels), e);
  }
  for (const s of series('traces_service_graph_request_failed_total')) {
    fromMetrics.get(edgeKey(s.labels)).errors += s.value;
  }
  const fromMap = new Map(answer.json.edges.map((e) => [`${e.source} -> ${e.target}`,
    { calls: e.calls, errors: e.errors }]));
  assert.deepEqual(Object.fromEntries([...fromMetrics].sort()), Object.fromEntries([...fromMap].sort()));

  // 2. the series Tempo would make, with the durations of both sides
  const want = new Map();
  for (const [client, srv, conn, cs, ss, failed] of expectedCalls(recs)) {
    const k = JSON.stringify({ client, server: srv, connection_type: conn });
    const w = want.get(k) ?? { n: 0, failed: 0, client: 0, server: 0, cvals: [], svals: [] };
    w.n++;
    w.failed += failed ? 1 : 0;
    w.client += cs;
    w.server += ss;
    w.cvals.push(cs);
    w.svals.push(ss);
    want.set(k, w);
  }
  assert.equal(want.size, 5, [...want.keys()].join('\n'));
  const planted = new Set(['frontend', 'cart', 'shipping']); // not the counter test's spans
  const got = series('traces_service_graph_request_total')
    .filter((x) => planted.has(x.labels.client) || planted.has(x.labels.server));
  assert.deepEqual(got.map((s) => JSON.stringify(s.labels)).sort(), [...want.keys()].sort());
  for (const [k, w] of want) {
    const labels = JSON.parse(k);
    const name = (f) => `traces_service_graph_request_${f}`;
    assert.equal(sampleValue(m, name('total'), labels), w.n, k);
    assert.equal(sampleValue(m, name('failed_total'), labels), w.failed, k);
    for (const [side, sum, vals] of [['client', w.client, w.cvals], ['server', w.server, w.svals]]) {
      const h = name(`${side}_seconds`);
      assert.equal(sampleValue(m, `${h}_count`, labels), w.n, `${k} ${side}`);
      assert.ok(Math.abs(sampleValue(m, `${h}_sum`, labels) - sum) < 1e-6 * w.n, `${k} ${side} sum`);
      for (const le of [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]) {
        assert.equal(sampleValue(m, `${h}_bucket`, { ...labels, le: String(le) }),
          vals.filter((x) => x <= le + 1e-12).length, `${k} ${side} le=${le}`);
      }
      assert.equal(sampleValue(m, `${h}_bucket`, { ...labels, le: '+Inf' }), w.n);
    }
  }
});
