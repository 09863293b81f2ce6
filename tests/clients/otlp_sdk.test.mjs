// A real client: the OpenTelemetry JS SDK with the OTLP/protobuf exporter, and
// with the OTLP/JSON one, sends one trace across three services to tracemap
// (plain and gzip). The trace is
// then read back through GET /api/traces/{id} (Jaeger JSON) and
// GET /api/v3/traces/{id} (OTLP/JSON) and every field is compared with the
// ReadableSpans the SDK holds.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  requireNodeModules, startServer, waitForTrace, decodeExportRequest,
} from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const {
  buildTrace, expectedSpan, captureGzipOnce, hrToNs, anyValue, setWireEncoding, wireInt,
} = await import('./capture_payload.mjs');
const { ExportResultCode } = await import('@opentelemetry/core');

const SPAN_COUNT = 8;
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------
// Expected values
// ---------------------------------------------------------------------------

const JAEGER_KIND = ['internal', 'server', 'client', 'producer', 'consumer']; // by API SpanKind
const usFloor = (ns) => ns / 1000n; // BigInt division truncates; all times are positive

/** An SDK attribute as a Jaeger KeyValue {type, value}. Arrays: JSON text in a string. */
function jaegerValue(v) {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      return { type: 'int64', value: Number.isSafeInteger(v) ? v : wireInt(v).toString() };
    }
    return { type: 'float64', value: v };
  }
  if (Array.isArray(v)) return { type: 'string', json: v };
  throw new Error(`unexpected attribute value ${v}`);
}

/** Jaeger KeyValue list → Map key → {type, value}; asserts the shape and unique keys. */
function kvMap(list, where) {
  assert.ok(Array.isArray(list), `${where}: expected an array of KeyValue, got ${JSON.stringify(list)}`);
  const m = new Map();
  for (const kv of list) {
    assert.equal(typeof kv.key, 'string', `${where}: key must be a string: ${JSON.stringify(kv)}`);
    assert.ok(!m.has(kv.key), `${where}: duplicate key ${kv.key}`);
    assert.ok(['string', 'bool', 'int64', 'float64', 'binary'].includes(kv.type),
      `${where}: bad type in ${JSON.stringify(kv)}`);
    m.set(kv.key, { type: kv.type, value: kv.value });
  }
  return m;
}

function assertJaegerKVs(actualList, expected, where) {
  const got = kvMap(actualList, where);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${where}: tag keys`);
  for (const [key, want] of expected) {
    const g = got.get(key);
    if (want.json !== undefined) {
      assert.equal(g.type, 'string', `${where}: ${key} (array) must be a string tag`);
      let parsed;
      try {
        parsed = JSON.parse(g.value);
      } catch {
        assert.fail(`${where}: ${key}: array value is not JSON text: ${JSON.stringify(g.value)}`);
      }
      assert.deepEqual(parsed, want.json, `${where}: ${key}`);
    } else {
      assert.deepEqual(g, want, `${where}: ${key}`);
    }
  }
}

function expectedJaegerTags(s) {
  const m = new Map();
  const scope = s.instrumentationScope;
  if (scope.name) m.set('otel.scope.name', { type: 'string', value: scope.name });
  if (scope.version) m.set('otel.scope.version', { type: 'string', value: scope.version });
  for (const [k, v] of Object.entries(s.attributes)) m.set(k, jaegerValue(v));
  m.set('span.kind', { type: 'string', value: JAEGER_KIND[s.kind] });
  if (s.status.code === 1) m.set('otel.status_code', { type: 'string', value: 'OK' });
  if (s.status.code === 2) {
    m.set('otel.status_code', { type: 'string', value: 'ERROR' });
    m.set('error', { type: 'bool', value: true });
  }
  if (s.status.message) m.set('otel.status_description', { type: 'string', value: s.status.message });
  const ts = s.spanContext().traceState?.serialize();
  if (ts) m.set('w3c.tracestate', { type: 'string', value: ts });
  return m;
}

function compareJaeger(json, traceId, spans) {
  assert.ok(json && typeof json === 'object', 'Jaeger answer is a JSON object');
  assert.equal(json.errors ?? null, null, `errors: ${JSON.stringify(json.errors)}`);
  assert.ok(Array.isArray(json.data) && json.data.length === 1, 'data holds exactly one trace');
  const tr = json.data[0];
  assert.equal(tr.traceID, traceId, 'trace.traceID');
  assert.ok(tr.warnings === null || tr.warnings === undefined || tr.warnings.length === 0,
    `trace warnings: ${JSON.stringify(tr.warnings)}`);
  assert.ok(Array.isArray(tr.spans), 'trace.spans');
  assert.equal(tr.spans.length, spans.length, 'span count');
  assert.ok(tr.processes && typeof tr.processes === 'object', 'trace.processes');

  const byId = new Map();
  for (const js of tr.spans) {
    assert.ok(!byId.has(js.spanID), `span ${js.spanID} listed twice`);
    byId.set(js.spanID, js);
  }
  const usedProcesses = new Map(); // processID → service name
  for (const s of spans) {
    const ctx = s.spanContext();
    const where = `Jaeger span ${ctx.spanId} (${s.name})`;
    const js = byId.get(ctx.spanId);
    assert.ok(js, `${where}: missing`);
    assert.equal(js.traceID, ctx.traceId, `${where}: traceID`);
    assert.equal(js.spanID, ctx.spanId, `${where}: spanID`);
    assert.equal(js.operationName, s.name, `${where}: operationName`);
    const refs = [];
    if (s.parentSpanContext) {
      refs.push({ refType: 'CHILD_OF', traceID: ctx.traceId, spanID: s.parentSpanContext.spanId });
    }
    for (const l of s.links) {
      refs.push({ refType: 'FOLLOWS_FROM', traceID: l.context.traceId, spanID: l.context.spanId });
    }
    assert.deepEqual(js.references, refs, `${where}: references`);
    const startNs = hrToNs(s.startTime);
    const endNs = hrToNs(s.endTime);
    assert.equal(js.startTime, Number(usFloor(startNs)), `${where}: startTime (µs)`);
    assert.equal(js.duration, Number(usFloor(endNs - startNs)), `${where}: duration (µs)`);
    assert.equal(js.flags, ctx.traceFlags & 0xff, `${where}: flags (W3C sampled bit)`);
    assert.ok(js.warnings === null || js.warnings === undefined || js.warnings.length === 0,
      `${where}: warnings ${JSON.stringify(js.warnings)}`);
    assertJaegerKVs(js.tags, expectedJaegerTags(s), `${where}: tags`);

    assert.ok(Array.isArray(js.logs), `${where}: logs`);
    assert.equal(js.logs.length, s.events.length, `${where}: number of logs`);
    s.events.forEach((e, i) => {
      const log = js.logs[i];
      const w = `${where}: log ${i} (${e.name})`;
      assert.equal(log.timestamp, Number(usFloor(hrToNs(e.time))), `${w}: timestamp (µs)`);
      const want = new Map([['event', { type: 'string', value: e.name }]]);
      for (const [k, v] of Object.entries(e.attributes || {})) want.set(k, jaegerValue(v));
      assertJaegerKVs(log.fields, want, `${w}: fields`);
    });

    assert.equal(typeof js.processID, 'string', `${where}: processID`);
    const proc = tr.processes[js.processID];
    assert.ok(proc, `${where}: process ${js.processID} not in trace.processes`);
    const res = s.resource.attributes;
    assert.equal(proc.serviceName, res['service.name'], `${where}: process serviceName`);
    const wantTags = new Map();
    for (const [k, v] of Object.entries(res)) if (k !== 'service.name') wantTags.set(k, jaegerValue(v));
    assertJaegerKVs(proc.tags, wantTags, `${where}: process tags`);
    usedProcesses.set(js.processID, proc.serviceName);
  }
  assert.equal(new Set(usedProcesses.values()).size, 3, 'three services');
  assert.equal(Object.keys(tr.processes).length, 3,
    `one process per distinct resource: ${JSON.stringify(Object.keys(tr.processes))}`);
}

// ---------------------------------------------------------------------------
// OTLP/JSON normalisation: the server's JSON → the expectedSpan() shape.
// ---------------------------------------------------------------------------

function nsString(v, where) {
  assert.ok(typeof v === 'string' && /^\d+$/.test(v),
    `${where}: expected a decimal string (proto3 JSON int64), got ${JSON.stringify(v)}`);
  return BigInt(v);
}
function jsonInt64(v, where) {
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  assert.fail(`${where}: bad int64 ${JSON.stringify(v)}`);
}
function jsonU32(v, where) {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  assert.ok(typeof v === 'number' && Number.isInteger(v) && v >= 0, `${where}: bad uint32 ${JSON.stringify(v)}`);
  return v;
}
function jsonDouble(v, where) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  assert.fail(`${where}: bad double ${JSON.stringify(v)}`);
}
function jsonId(v, len, where) {
  if (v === undefined || v === null || v === '') return '';
  assert.ok(typeof v === 'string' && new RegExp(`^[0-9a-fA-F]{${len}}$`).test(v),
    `${where}: expected ${len} hex chars, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}
function jsonAny(v, where) {
  assert.ok(v && typeof v === 'object', `${where}: AnyValue must be an object`);
  const keys = Object.keys(v);
  assert.equal(keys.length, 1, `${where}: AnyValue must have exactly one member: ${JSON.stringify(v)}`);
  const [k] = keys;
  switch (k) {
    case 'stringValue': assert.equal(typeof v[k], 'string', where); return { stringValue: v[k] };
    case 'boolValue': assert.equal(typeof v[k], 'boolean', where); return { boolValue: v[k] };
    case 'intValue': return { intValue: jsonInt64(v[k], where) };
    case 'doubleValue': return { doubleValue: jsonDouble(v[k], where) };
    case 'arrayValue':
      return { arrayValue: { values: (v[k].values ?? []).map((x, i) => jsonAny(x, `${where}[${i}]`)) } };
    default: assert.fail(`${where}: unexpected AnyValue member ${k}`);
  }
}
const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
function jsonAttrs(list, where) {
  if (list === undefined || list === null) list = [];
  assert.ok(Array.isArray(list), `${where}: attributes must be an array`);
  const seen = new Set();
  const out = list.map((kv) => {
    assert.equal(typeof kv.key, 'string', `${where}: key`);
    assert.ok(!seen.has(kv.key), `${where}: duplicate attribute ${kv.key}`);
    seen.add(kv.key);
    return { key: kv.key, value: jsonAny(kv.value, `${where}.${kv.key}`) };
  });
  return out.sort(byKey);
}
const sortAttrs = (list) => [...list].sort(byKey);

function normalizeOtlpSpan(s, where) {
  assert.ok(s.kind === undefined || Number.isInteger(s.kind), `${where}: kind must be an integer`);
  const st = s.status ?? {};
  assert.ok(st.code === undefined || Number.isInteger(st.code), `${where}: status.code must be an integer`);
  return {
    traceId: jsonId(s.traceId, 32, `${where}.traceId`),
    spanId: jsonId(s.spanId, 16, `${where}.spanId`),
    traceState: s.traceState ?? '',
    parentSpanId: jsonId(s.parentSpanId, 16, `${where}.parentSpanId`),
    flags: jsonU32(s.flags, `${where}.flags`),
    name: s.name ?? '',
    kind: s.kind ?? 0,
    startTimeUnixNano: nsString(s.startTimeUnixNano, `${where}.startTimeUnixNano`),
    endTimeUnixNano: nsString(s.endTimeUnixNano, `${where}.endTimeUnixNano`),
    attributes: jsonAttrs(s.attributes, `${where}.attributes`),
    droppedAttributesCount: jsonU32(s.droppedAttributesCount, `${where}.droppedAttributesCount`),
    events: (s.events ?? []).map((e, i) => ({
      timeUnixNano: nsString(e.timeUnixNano, `${where}.events[${i}].timeUnixNano`),
      name: e.name ?? '',
      attributes: jsonAttrs(e.attributes, `${where}.events[${i}].attributes`),
      droppedAttributesCount: jsonU32(e.droppedAttributesCount, `${where}.events[${i}].droppedAttributesCount`),
    })),
    droppedEventsCount: jsonU32(s.droppedEventsCount, `${where}.droppedEventsCount`),
    links: (s.links ?? []).map((l, i) => ({
      traceId: jsonId(l.traceId, 32, `${where}.links[${i}].traceId`),
      spanId: jsonId(l.spanId, 16, `${where}.links[${i}].spanId`),
      traceState: l.traceState ?? '',
      attributes: jsonAttrs(l.attributes, `${where}.links[${i}].attributes`),
      droppedAttributesCount: jsonU32(l.droppedAttributesCount, `${where}.links[${i}].droppedAttributesCount`),
      flags: jsonU32(l.flags, `${where}.links[${i}].flags`),
    })),
    droppedLinksCount: jsonU32(s.droppedLinksCount, `${where}.droppedLinksCount`),
    status: { code: st.code ?? 0, message: st.message ?? '' },
  };
}

function sortedExpected(s) {
  const e = expectedSpan(s);
  return {
    ...e,
    attributes: sortAttrs(e.attributes),
    events: e.events.map((ev) => ({ ...ev, attributes: sortAttrs(ev.attributes) })),
    links: e.links.map((l) => ({ ...l, attributes: sortAttrs(l.attributes) })),
  };
}

function compareOtlpJson(json, traceId, spans) {
  assert.ok(json?.result && Array.isArray(json.result.resourceSpans),
    `expected {"result":{"resourceSpans":[...]}}, got ${JSON.stringify(json)?.slice(0, 300)}`);
  const found = new Map(); // spanId → {resource, scope, span}
  json.result.resourceSpans.forEach((rs, i) => {
    const resource = jsonAttrs(rs.resource?.attributes, `resourceSpans[${i}].resource.attributes`);
    assert.equal(jsonU32(rs.resource?.droppedAttributesCount, 'resource.droppedAttributesCount'), 0);
    (rs.scopeSpans ?? []).forEach((ss, j) => {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      (ss.spans ?? []).forEach((sp, k) => {
        const where = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        const n = normalizeOtlpSpan(sp, where);
        assert.ok(!found.has(n.spanId), `${where}: span ${n.spanId} appears more than once`);
        found.set(n.spanId, { resource, scope, span: n });
      });
    });
  });
  assert.equal(found.size, spans.length, 'span count');
  for (const s of spans) {
    const id = s.spanContext().spanId;
    const where = `OTLP/JSON span ${id} (${s.name})`;
    const got = found.get(id);
    assert.ok(got, `${where}: missing`);
    assert.equal(got.span.traceId, traceId, `${where}: traceId`);
    assert.deepEqual(got.span, sortedExpected(s), `${where}: span fields`);
    const wantRes = sortAttrs(Object.entries(s.resource.attributes).map(([key, v]) => ({ key, value: anyValue(v) })));
    assert.deepEqual(got.resource, wantRes, `${where}: resource attributes`);
    assert.deepEqual(got.scope,
      { name: s.instrumentationScope.name, version: s.instrumentationScope.version ?? '' },
      `${where}: scope`);
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

test('the SDK exporter gzips with compression: "gzip" (checked on a capture server)', async () => {
  const res = await captureGzipOnce();
  assert.equal(res.requests.length, 1);
  const [r] = res.requests;
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers['content-type'], 'application/x-protobuf');
  const decoded = decodeExportRequest(res.inflate(r.body));
  const n = decoded.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).length;
  assert.equal(n, SPAN_COUNT);
});

for (const [encoding, compression] of [['protobuf', 'none'], ['protobuf', 'gzip'],
  ['json', 'none'], ['json', 'gzip']]) {
  test(`SDK trace across three services, OTLP/${encoding}, compression=${compression}`, { timeout: 60000 }, async (t) => {
    setWireEncoding(encoding);
    const res = await buildTrace({ url: `${server.url}/v1/traces`, compression, encoding });
    assert.equal(res.spans.length, SPAN_COUNT, 'the SDK finished all spans');
    assert.deepEqual(res.exports.map((e) => ({ code: e.code, spans: e.spans, error: e.error?.message })),
      [{ code: ExportResultCode.SUCCESS, spans: SPAN_COUNT, error: undefined }],
      'one export of all spans, acknowledged');
    for (const s of res.spans) assert.equal(s.spanContext().traceId, res.traceId);

    const jaeger = await waitForTrace(server, res.traceId, SPAN_COUNT);
    await t.test('GET /api/traces/{id} (Jaeger JSON) matches the SDK spans', () => {
      assert.equal(jaeger.status, 200, jaeger.text);
      assert.match(String(jaeger.headers['content-type']), /^application\/json/);
      compareJaeger(jaeger.json, res.traceId, res.spans);
    });

    const v3 = await server.getJson(`/api/v3/traces/${res.traceId}`);
    await t.test('GET /api/v3/traces/{id} (OTLP/JSON) matches the SDK spans', () => {
      assert.equal(v3.status, 200, v3.text);
      assert.match(String(v3.headers['content-type']), /^application\/json/);
      compareOtlpJson(v3.json, res.traceId, res.spans);
    });

    await t.test('upper-case trace id in the URL finds the same trace', async () => {
      const up = await server.getJson(`/api/traces/${res.traceId.toUpperCase()}`);
      assert.equal(up.status, 200, up.text);
      compareJaeger(up.json, res.traceId, res.spans);
    });
  });
}

test('tracemap drains and exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  assert.deepEqual(server.unexpectedExits, [], 'the server never died on its own');
});
