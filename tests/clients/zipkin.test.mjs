// Real Zipkin clients send the three-service trace to tracemap:
//   (a) the OpenTelemetry JS SDK through @opentelemetry/exporter-zipkin
//       (the trace of capture_payload.mjs) to /api/v2/spans;
//   (b) zipkin-js with zipkin-transport-http and jsonEncoder: JSON_V2, 64-bit
//       trace ids, B3 "join" (server spans reuse their client's span id);
//   (c) zipkin-js with its default v1 encoder to /api/v1/spans, 128-bit ids;
//   (d) the spans of (b) as zipkin.proto3.ListOfSpans (application/x-protobuf).
// Each trace is read back through GET /api/traces/{id} (Jaeger JSON) and
// GET /api/v3/traces/{id} (OTLP/JSON) and compared span by span with what the
// client was told to record (capture_zipkin.mjs says what tracemap must
// store): services, parentage (a joined server span is the child of the client
// span of the same id), names, kinds, times at µs resolution, attributes,
// events, errors.
// Then a mixed trace (an OTLP service calling two Zipkin services with
// propagated B3 ids) reads back as one trace, and bad bodies get 400 or 415
// while the server keeps serving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireNodeModules, startServer, waitForTrace } from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const {
  sendZipkinJs, expectedZipkinJs, sendOtelViaZipkin, expectedOtelViaZipkin, encodeListOfSpans,
  flushLogger,
} = await import('./capture_zipkin.mjs');
const { startCaptureServer } = await import('./capture_payload.mjs');
const { ExportResultCode } = await import('@opentelemetry/core');
const { default: zipkin } = await import('zipkin');
const { default: zipkinTransportHttp } = await import('zipkin-transport-http');
const { trace, SpanKind, ROOT_CONTEXT } = await import('@opentelemetry/api');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------

const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const KIND_NAME = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' };
const spanKey = (s) => `${s.spanId}/${s.kind}`; // a joined pair shares the id

function anyValue(v, where) {
  assert.ok(v && typeof v === 'object' && Object.keys(v).length === 1,
    `${where}: one AnyValue member expected: ${JSON.stringify(v)}`);
  if ('stringValue' in v) return { stringValue: v.stringValue };
  if ('intValue' in v) return { intValue: BigInt(v.intValue) };
  if ('arrayValue' in v) {
    return { arrayValue: { values: (v.arrayValue.values ?? []).map((x) => anyValue(x, where)) } };
  }
  assert.fail(`${where}: unexpected value ${JSON.stringify(v)}`);
}
const attrs = (list, where) => (list ?? []).map((kv) => ({ key: kv.key, value: anyValue(kv.value, `${where}.${kv.key}`) }))
  .sort(byKey);

/** GET /api/v3/traces/{id} → [{...span, resource, scope}] in the shape of
 * capture_zipkin.mjs's expected spans. */
function normalizeOtlpJson(json) {
  assert.ok(json?.result?.resourceSpans, `OTLP/JSON answer: ${JSON.stringify(json)?.slice(0, 300)}`);
  const out = [];
  for (const rs of json.result.resourceSpans) {
    const resource = attrs(rs.resource?.attributes, 'resource');
    for (const ss of rs.scopeSpans ?? []) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans ?? []) {
        const where = `span ${s.spanId} ${s.name}`;
        assert.equal(s.traceState ?? '', '', `${where}: no trace state from Zipkin`);
        assert.deepEqual(s.links ?? [], [], `${where}: Zipkin has no links`);
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name ?? '',
          kind: s.kind ?? 0,
          flags: s.flags ?? 0,
          start: BigInt(s.startTimeUnixNano),
          end: BigInt(s.endTimeUnixNano),
          attributes: attrs(s.attributes, where),
          events: (s.events ?? []).map((e) => {
            assert.deepEqual(e.attributes ?? [], [], `${where}: Zipkin annotations have no attributes`);
            return { time: BigInt(e.timeUnixNano), name: e.name };
          }),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

const strip = ({ service, key, ...rest }) => rest;

function compareOtlpJson(json, expected) {
  const got = new Map();
  for (const s of normalizeOtlpJson(json)) {
    assert.ok(!got.has(spanKey(s)), `span ${spanKey(s)} stored twice`);
    got.set(spanKey(s), s);
  }
  assert.equal(got.size, expected.length, 'span count');
  for (const e of expected) {
    const g = got.get(spanKey(e));
    assert.ok(g, `span ${e.key} (${spanKey(e)}) missing; have ${[...got.keys()]}`);
    assert.deepEqual(g, strip(e), `span ${e.key} (${e.name})`);
  }
  return got;
}

/** Jaeger tags {key,type,value} of an expected span: its attributes, then
 * what the OTLP→Jaeger translation adds (never a key twice). */
function jaegerTags(e) {
  const tags = e.attributes.map(({ key, value }) => ('intValue' in value
    ? { key, type: 'int64', value: Number(value.intValue) }
    : { key, type: 'string', value: value.stringValue }));
  tags.push({ key: 'span.kind', type: 'string', value: KIND_NAME[e.kind] });
  if (e.status.code === 1) tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  if (e.status.code === 2) {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
    // a span with an error tag of its own keeps it, and no second 'error'
    if (!e.attributes.some(({ key }) => key === 'error')) {
      tags.push({ key: 'error', type: 'bool', value: true });
    }
  }
  if (e.status.message) {
    tags.push({ key: 'otel.status_description', type: 'string', value: e.status.message });
  }
  return tags;
}
const tagSort = (list) => list.map(({ key, type, value }) => JSON.stringify([key, type, value])).sort();

function compareJaeger(json, traceId, expected) {
  assert.ok(Array.isArray(json?.data) && json.data.length === 1, 'one trace');
  const tr = json.data[0];
  const jaegerTraceId = traceId.replace(/^0{16}/, ''); // a 64-bit id prints as 16 digits
  assert.equal(tr.traceID, jaegerTraceId, 'traceID');
  assert.equal(tr.spans.length, expected.length, 'span count');
  const got = new Map();
  for (const js of tr.spans) {
    const kind = js.tags.find((t) => t.key === 'span.kind')?.value;
    got.set(`${js.spanID}/${kind}`, js);
  }
  const ids = tr.spans.map((js) => js.spanID);
  assert.equal(new Set(ids).size, ids.length, `span IDs unique, as Jaeger's deduper makes them: ${ids}`);
  // a joined (shared) server record gets a new ID, as a child of its client,
  // and the spans under it follow (Jaeger's span-ID deduper)
  const renamed = new Map();
  for (const e of expected.filter((x) => x.kind === 2 && x.parentSpanId === x.spanId)) {
    const js = tr.spans.find((x) => x.operationName === e.name && x.spanID !== e.spanId &&
      x.references.some((r) => r.refType === 'CHILD_OF' && r.spanID === e.spanId) &&
      x.tags.find((t) => t.key === 'span.kind')?.value === 'server');
    assert.ok(js, `joined server span ${e.key}: under a new ID, child of its client`);
    renamed.set(e.spanId, js.spanID);
    got.set(`${e.spanId}/server`, js);
  }
  for (const e of expected) {
    const where = `Jaeger span ${e.key} (${e.name})`;
    const js = got.get(`${e.spanId}/${KIND_NAME[e.kind]}`);
    assert.ok(js, `${where}: missing`);
    assert.equal(js.traceID, jaegerTraceId, `${where}: traceID`);
    assert.equal(js.operationName, e.name, `${where}: operationName`);
    const shared = e.kind === 2 && e.parentSpanId === e.spanId;
    const parent = shared ? e.parentSpanId : renamed.get(e.parentSpanId) ?? e.parentSpanId;
    assert.deepEqual(js.references, e.parentSpanId
      ? [{ refType: 'CHILD_OF', traceID: jaegerTraceId, spanID: parent }] : [],
    `${where}: references`);
    assert.equal(js.startTime, Number(e.start / 1000n), `${where}: startTime (µs)`);
    assert.equal(js.duration, Number((e.end - e.start) / 1000n), `${where}: duration (µs)`);
    assert.equal(js.flags ?? 0, e.flags, `${where}: flags`);
    assert.deepEqual(tagSort(js.tags), tagSort(jaegerTags(e)), `${where}: tags`);
    assert.deepEqual(js.logs.map((l) => ({ t: l.timestamp, f: l.fields })),
      e.events.map((ev) => ({ t: Number(ev.time / 1000n),
        f: [{ key: 'event', type: 'string', value: ev.name }] })), `${where}: logs`);
    const proc = tr.processes[js.processID];
    assert.equal(proc?.serviceName, e.service, `${where}: service`);
    const wantProcTags = e.resource.filter((a) => a.key !== 'service.name').map(({ key, value }) => ({
      key, type: 'string',
      value: 'arrayValue' in value ? JSON.stringify(value.arrayValue.values.map((v) => v.stringValue))
        : value.stringValue,
    }));
    assert.deepEqual(tagSort(proc.tags), tagSort(wantProcTags), `${where}: process tags`);
  }
}

/** A joined (shared) server span must be the child of the client span of its
 * own id, which must be there. */
function checkSharedParentage(got, expected) {
  const shared = expected.filter((e) => e.kind === 2 && e.parentSpanId === e.spanId);
  for (const e of shared) {
    const client = got.get(`${e.spanId}/3`);
    assert.ok(client, `the client side of joined span ${e.key} is stored`);
    assert.equal(got.get(spanKey(e)).parentSpanId, client.spanId, `${e.key}: child of its client`);
    assert.ok(client.start <= got.get(spanKey(e)).start, `${e.key}: starts after its client`);
  }
  return shared.length;
}

async function readBack(traceId, expected, t) {
  const jaeger = await waitForTrace(server, traceId, expected.length);
  await t.test('GET /api/traces/{id} (Jaeger JSON)', () => {
    assert.equal(jaeger.status, 200, jaeger.text);
    compareJaeger(jaeger.json, traceId, expected);
  });
  const v3 = await server.getJson(`/api/v3/traces/${traceId}`);
  let got;
  await t.test('GET /api/v3/traces/{id} (OTLP/JSON)', () => {
    assert.equal(v3.status, 200, v3.text);
    got = compareOtlpJson(v3.json, expected);
  });
  return got;
}

// ---------------------------------------------------------------------------
// The three clients
// ---------------------------------------------------------------------------

test('OpenTelemetry SDK through @opentelemetry/exporter-zipkin', { timeout: 60000 }, async (t) => {
  const sent = await sendOtelViaZipkin({ url: `${server.url}/api/v2/spans` });
  assert.deepEqual({ code: sent.result.code, error: sent.result.error?.message },
    { code: ExportResultCode.SUCCESS, error: undefined }, 'the exporter got a success');
  const expected = expectedOtelViaZipkin(sent.spans);
  assert.equal(expected.length, 8);
  const got = await readBack(sent.traceId, expected, t);
  await t.test('errors: status from otel.status_code and error, the error tag kept', () => {
    const pay = [...got.values()].find((s) => s.name === 'POST /charge' && s.kind === 2);
    assert.deepEqual(pay.status, { code: 2, message: 'card declined' });
    assert.ok(pay.attributes.some((a) => a.key === 'error'));
    assert.ok(!pay.attributes.some((a) => a.key === 'otel.status_code'));
    assert.deepEqual(pay.events.map((e) => e.name), ['exception']);
  });
});

for (const [encoder, traceId128] of [['v2', false], ['v1', true]]) {
  test(`zipkin-js, JSON ${encoder} to /api/${encoder}/spans, ${traceId128 ? 128 : 64}-bit trace ids`,
    { timeout: 60000 }, async (t) => {
      const sent = await sendZipkinJs({
        endpoint: `${server.url}/api/${encoder}/spans`, encoder, traceId128,
      });
      assert.equal(sent.answer.status, 202, 'zipkin-js got 202');
      assert.equal(sent.traceId.length, traceId128 ? 32 : 16);
      const expected = expectedZipkinJs(sent);
      const got = await readBack(sent.traceId.padStart(32, '0'), expected, t);
      await t.test('joined server spans are children of their client spans', () => {
        assert.equal(checkSharedParentage(got, expected), 2);
      });
      await t.test('the 64-bit id reads back under its 16 digits too', async () => {
        const r = await server.getJson(`/api/traces/${sent.traceId}`);
        assert.equal(r.status, 200);
        assert.equal(r.json.data[0].spans.length, expected.length);
      });
    });
}

test('zipkin-js spans as zipkin.proto3.ListOfSpans (application/x-protobuf)', { timeout: 60000 }, async (t) => {
  const cap = await startCaptureServer();
  let sent;
  try {
    sent = await sendZipkinJs({ endpoint: `${cap.url}/api/v2/spans`, encoder: 'v2' });
  } finally {
    await cap.close();
  }
  const body = encodeListOfSpans(JSON.parse(cap.requests[0].body));
  const r = await server.post('/api/v2/spans', body, { 'Content-Type': 'application/x-protobuf' });
  assert.equal(r.status, 202, r.body.toString());
  const expected = expectedZipkinJs(sent);
  const got = await readBack(sent.traceId.padStart(32, '0'), expected, t);
  assert.equal(checkSharedParentage(got, expected), 2);
});

// ---------------------------------------------------------------------------
// One trace, two formats
// ---------------------------------------------------------------------------

/** zipkin-js's HTTP server instrumentation, reduced: joins the propagated
 * B3 ids, records a server span and a local child. */
function zipkinService({ service, logger, supportsJoin, b3, t0Us, times }) {
  const { Tracer, BatchRecorder, ExplicitContext, Annotation, TraceId, option } = zipkin;
  const recorder = new BatchRecorder({ logger });
  const tracer = new Tracer({ ctxImpl: new ExplicitContext(), recorder, localServiceName: service, supportsJoin });
  const id = tracer.join(new TraceId({
    traceId: b3.traceId, spanId: b3.spanId, parentId: new option.Some(b3.parentSpanId),
    sampled: new option.Some(true),
  }));
  const at = (us) => t0Us + us;
  tracer.letId(id, () => {
    tracer.recordServiceName(service);
    tracer.recordRpc('GET');
    tracer.recordAnnotation(new Annotation.ServerRecv(), at(times[0]));
    tracer.recordBinary('http.path', `/${service}`);
    tracer.recordAnnotation(new Annotation.ServerSend(), at(times[1]));
  });
  const child = tracer.createChildId(id);
  tracer.letId(child, () => {
    tracer.recordServiceName(service);
    tracer.recordAnnotation(new Annotation.LocalOperationStart('lookup'), at(times[0] + 100));
    tracer.recordAnnotation(new Annotation.LocalOperationStop(), at(times[1] - 100));
  });
  return { id, child };
}

test('mixed trace: an OTLP service calls two Zipkin services with propagated B3 ids', { timeout: 60000 }, async (t) => {
  const otlp = new OTLPTraceExporter({ url: `${server.url}/v1/traces`, timeoutMillis: 15000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'gateway' }),
    spanProcessors: [new BatchSpanProcessor(otlp, { scheduledDelayMillis: 600000 })],
  });
  const tracer = provider.getTracer('gateway-http', '1.0.0');
  const t0Ms = Date.now() - 60000;
  const t0Us = t0Ms * 1000;
  const root = tracer.startSpan('GET /order', { kind: SpanKind.SERVER, startTime: t0Ms }, ROOT_CONTEXT);
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const callInventory = tracer.startSpan('GET /inventory', { kind: SpanKind.CLIENT, startTime: t0Ms + 10 }, ctx);
  const callPricing = tracer.startSpan('GET /price', { kind: SpanKind.CLIENT, startTime: t0Ms + 50 }, ctx);
  const b3 = (span) => ({
    traceId: span.spanContext().traceId, spanId: span.spanContext().spanId,
    parentSpanId: root.spanContext().spanId,
  });
  const logger = new zipkinTransportHttp.HttpLogger({
    endpoint: `${server.url}/api/v2/spans`, jsonEncoder: zipkin.jsonEncoder.JSON_V2,
    httpInterval: 3600000, log: { error() {} },
  });
  // inventory does not join: its server span is a new span whose parent is the
  // OTLP client span; pricing joins (B3 shared): it reuses that span's id
  const inv = zipkinService({ service: 'inventory', logger, supportsJoin: false, b3: b3(callInventory), t0Us, times: [11000, 40000] });
  const price = zipkinService({ service: 'pricing', logger, supportsJoin: true, b3: b3(callPricing), t0Us, times: [51000, 80000] });
  callInventory.end(t0Ms + 41);
  callPricing.end(t0Ms + 81);
  root.end(t0Ms + 100);
  await provider.forceFlush();
  await provider.shutdown();
  const answer = await flushLogger(logger);
  assert.equal(answer.status, 202);

  const traceId = root.spanContext().traceId;
  const jaeger = await waitForTrace(server, traceId, 7);
  const v3 = await server.getJson(`/api/v3/traces/${traceId}`);
  assert.equal(v3.status, 200, v3.text);
  const spans = normalizeOtlpJson(v3.json);
  const find = (service, name, kind) => {
    const s = spans.find((x) => x.resource.find((a) => a.key === 'service.name')?.value.stringValue === service &&
      x.name === name && x.kind === kind);
    assert.ok(s, `${service} ${name} kind ${kind} is in the trace`);
    return s;
  };
  await t.test('one trace of seven spans from two formats, with the right parentage', () => {
    assert.equal(jaeger.status, 200, jaeger.text);
    assert.equal(jaeger.json.data.length, 1);
    assert.equal(jaeger.json.data[0].spans.length, 7);
    assert.equal(spans.length, 7);
    assert.deepEqual(new Set(spans.map((s) => s.traceId)), new Set([traceId]));
    const gwRoot = find('gateway', 'GET /order', 2);
    const gwInv = find('gateway', 'GET /inventory', 3);
    const gwPrice = find('gateway', 'GET /price', 3);
    assert.equal(gwRoot.parentSpanId, '');
    assert.equal(gwInv.parentSpanId, gwRoot.spanId);
    const invServer = find('inventory', 'get', 2);
    assert.equal(invServer.spanId, inv.id.spanId);
    assert.notEqual(invServer.spanId, gwInv.spanId);
    assert.equal(invServer.parentSpanId, gwInv.spanId, 'inventory server: child of the OTLP client span');
    assert.equal(find('inventory', 'lookup', 1).parentSpanId, invServer.spanId);
    const priceServer = find('pricing', 'get', 2);
    assert.equal(priceServer.spanId, gwPrice.spanId, 'pricing joined the OTLP client span id');
    assert.equal(price.id.spanId, gwPrice.spanId);
    assert.equal(priceServer.parentSpanId, gwPrice.spanId, 'pricing server: child of the OTLP client span');
    assert.deepEqual(priceServer.attributes.find((a) => a.key === 'zipkin.parent_id'),
      { key: 'zipkin.parent_id', value: { stringValue: gwRoot.spanId } });
    assert.equal(find('pricing', 'lookup', 1).parentSpanId, priceServer.spanId);
    assert.equal(invServer.start, BigInt(t0Us + 11000) * 1000n);
    assert.equal(invServer.end, BigInt(t0Us + 40000) * 1000n);
  });
  await t.test('Jaeger JSON shows the same parentage', () => {
    const tr = jaeger.json.data[0];
    const services = new Set(tr.spans.map((s) => tr.processes[s.processID].serviceName));
    assert.deepEqual([...services].sort(), ['gateway', 'inventory', 'pricing']);
    const inv = tr.spans.find((s) => tr.processes[s.processID].serviceName === 'inventory' &&
      s.operationName === 'get');
    assert.deepEqual(inv.references, [{ refType: 'CHILD_OF', traceID: traceId,
      spanID: callInventory.spanContext().spanId }]);
  });
});

// ---------------------------------------------------------------------------
// Bad input over HTTP
// ---------------------------------------------------------------------------

test('bad bodies: 400 with a message, 415 for other media types; the server keeps serving', { timeout: 60000 }, async (t) => {
  const json = { 'Content-Type': 'application/json' };
  const cases = [
    ['/api/v2/spans', json, '[{"traceId":', /malformed JSON at line 1/],
    ['/api/v2/spans', json, '{"traceId":"5af7183fb1d4cf5f"}', /expected a JSON array of spans/],
    ['/api/v2/spans', json, '[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","timestamp":"soon"}]',
      /spans\[0\]\.timestamp: expected a non-negative integer, got a string/],
    ['/api/v2/spans', json, '[{"traceId":"5af7183fb1d4cf5","id":"6b221d5bc9e6496c"}]',
      /spans\[0\]\.traceId: expected 16 or 32 hex digits, got 15/],
    ['/api/v2/spans', json, '[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","tags":{"n":1}}]',
      /spans\[0\]\.tags\["n"\]: expected a string/],
    ['/api/v2/spans', json, `[${'['.repeat(5000)}${']'.repeat(5000)}]`, /malformed JSON/],
    ['/api/v2/spans', json, '[{"traceId":"0000000000000000","id":"6b221d5bc9e6496c"}]',
      /traceId must not be all zeros/],
    ['/api/v1/spans', json, '[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","binaryAnnotations":[{"key":"k","value":[]}]}]',
      /binaryAnnotations\[0\]\.value: expected a string, boolean or number/],
    ['/api/v2/spans', { 'Content-Type': 'application/x-protobuf' }, Buffer.from([0x0a, 0x05, 0x0a, 0x01]),
      /not a valid zipkin\.proto3\.ListOfSpans/],
  ];
  for (const [path, headers, body, want] of cases) {
    const r = await server.post(path, body, headers);
    const text = r.body.toString();
    assert.equal(r.status, 400, `${path} ${String(body).slice(0, 60)}: ${text}`);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(text, want);
  }
  for (const [path, type] of [['/api/v2/spans', 'text/plain'], ['/api/v1/spans', 'application/x-protobuf']]) {
    const r = await server.post(path, '[]', { 'Content-Type': type });
    assert.equal(r.status, 415, `${path} ${type}: ${r.body}`);
    assert.match(r.body.toString(), /unsupported media type/);
  }
  const empty = await server.post('/api/v2/spans', '[]', json);
  assert.equal(empty.status, 202, 'an empty list is accepted, as by Zipkin');

  await t.test('still serving: a good span is stored and read back', async () => {
    const traceId = 'abcdef0123456789';
    const good = [{ traceId, id: 'abcdef0123456789', name: 'after', timestamp: Date.now() * 1000,
      duration: 5, localEndpoint: { serviceName: 'survivor' } }];
    const r = await server.post('/api/v2/spans', JSON.stringify(good), json);
    assert.equal(r.status, 202, r.body.toString());
    const back = await waitForTrace(server, traceId, 1);
    assert.equal(back.status, 200);
    assert.equal(back.json.data[0].spans[0].operationName, 'after');
    assert.deepEqual(server.unexpectedExits, []);
  });
});

test('tracemap drains and exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  assert.deepEqual(server.unexpectedExits, [], 'the server never died on its own');
});
