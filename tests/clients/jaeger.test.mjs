// A real client: jaeger-client (Node, HTTP sender, TBinaryProtocol thrift)
// sends the three-service scenario of capture_jaeger.mjs to tracemap, one
// tracer (and one Batch) per service.  The trace is read back through
// GET /api/traces/{id} (Jaeger JSON) and GET /api/v3/traces/{id} (OTLP/JSON)
// and compared with the spans jaeger-client holds: services and process
// tags, parentage and references, names, kinds, times (jaeger-client works
// in milliseconds), tags with their types, logs, errors.  Then bad input over
// HTTP: impossible lengths (400 with a message), wrong content type (415),
// spans all rejected (400), and the earlier trace is unharmed.  Last, the
// same scenario through jaeger-client's UDP sender (its default: binary
// thrift Agent.emitBatch datagrams) to a tracemap with --jaeger-udp, read
// back the same way, and a bad datagram dropped and logged.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  requireNodeModules, startServer, waitForTrace, sleep, CLIENTS_DIR,
} from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const { buildJaegerTrace } = await import('./capture_jaeger.mjs');

const SPAN_COUNT = 8;
const DATA_DIR = join(CLIENTS_DIR, '..', 'data', 'jaeger');
let server;
let sent; // the scenario, as sent by the first test
let firstReadBack; // what tracemap answered for it then

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------
// What jaeger-client holds, in the terms of each read-back format
// ---------------------------------------------------------------------------

const OTLP_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const hex = (buf) => (buf ? Buffer.from(buf).toString('hex') : '');
const isZero = (h) => !h || /^0*$/.test(h);

/** A 64- or 128-bit jaeger-client trace ID as 32 hex digits (OTLP). */
function traceId32(buf) {
  return hex(buf).padStart(32, '0');
}
/** Jaeger prints a trace ID whose high half is zero with 16 digits. */
function jaegerTraceId(buf) {
  const full = traceId32(buf);
  return full.startsWith('0'.repeat(16)) ? full.slice(16) : full;
}

/** A jaeger-client tag value as Jaeger JSON {type, value} and as OTLP AnyValue. */
function tagValue(v) {
  if (typeof v === 'number') return { jaeger: { type: 'float64', value: v }, otlp: { doubleValue: v } };
  if (typeof v === 'boolean') return { jaeger: { type: 'bool', value: v }, otlp: { boolValue: v } };
  if (Buffer.isBuffer(v)) {
    const b64 = v.toString('base64');
    return { jaeger: { type: 'binary', value: b64 }, otlp: { bytesValue: b64 } };
  }
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return { jaeger: { type: 'string', value: s }, otlp: { stringValue: s } };
}

/** The span jaeger-client finished, mapped the way the OTel translator maps it. */
function expectedSpan(service, span, tracer) {
  const ctx = span.context();
  const attrs = [];
  let kind = 0;
  let isError = false;
  for (const { key, value } of span._tags) {
    if (key === 'span.kind' && OTLP_KIND[value]) kind = OTLP_KIND[value];
    else if (key === 'error' && value === true) isError = true;
    else attrs.push({ key, ...tagValue(value) });
  }
  const parent = isZero(hex(ctx.parentId)) ? '' : hex(ctx.parentId);
  const traceHex = traceId32(ctx.traceId);
  const links = [];
  let parentRefType = 'CHILD_OF';
  for (const ref of span._references) {
    const rc = ref.referencedContext();
    const type = ref.type() === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM';
    const same = traceId32(rc.traceId) === traceHex && hex(rc.spanId) === parent;
    if (same && type === 'CHILD_OF') continue; // that is the parent
    if (same) parentRefType = type;
    links.push({ type, traceId: traceId32(rc.traceId), spanId: hex(rc.spanId) });
  }
  const logs = span._logs.map((l) => {
    const fields = l.fields.map(({ key, value }) => ({ key, ...tagValue(value) }));
    const ev = l.fields.find((f) => f.key === 'event' && typeof f.value === 'string' && f.value);
    return { timestampMs: l.timestamp, fields, name: ev ? ev.value : '' };
  });
  return {
    service, process: tracer._process, traceId: traceHex, jaegerTraceId: jaegerTraceId(ctx.traceId),
    spanId: hex(ctx.spanId), parent, parentRefType, name: span._operationName, kind, isError,
    flags: ctx.flags & 1, startMs: span._startTime, durationMs: span._duration, attrs, links, logs,
  };
}

function expectedSpans(res) {
  return res.spans.map(({ service, span }) => expectedSpan(service, span, res.tracers[service]));
}

// ---------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------

/** Jaeger KeyValue list → Map key → {type, value}; asserts the shape and unique keys. */
function kvMap(list, where) {
  assert.ok(Array.isArray(list), `${where}: expected an array, got ${JSON.stringify(list)}`);
  const m = new Map();
  for (const kv of list) {
    assert.equal(typeof kv.key, 'string', `${where}: key must be a string: ${JSON.stringify(kv)}`);
    assert.ok(!m.has(kv.key), `${where}: duplicate key ${kv.key}`);
    m.set(kv.key, { type: kv.type, value: kv.value });
  }
  return m;
}
const jaegerMap = (attrs) => new Map(attrs.map((a) => [a.key, a.jaeger]));

function compareJaegerSpan(js, w, tr) {
  const where = `Jaeger span ${w.spanId} (${w.service}: ${w.name})`;
  assert.equal(js.traceID, w.jaegerTraceId, `${where}: traceID`);
  assert.equal(js.operationName, w.name, `${where}: operationName`);
  const refs = [];
  if (w.parent) refs.push({ refType: w.parentRefType, traceID: w.jaegerTraceId, spanID: w.parent });
  for (const l of w.links) {
    if (l.spanId === w.parent && l.traceId === w.traceId) continue; // shown as the parent
    refs.push({ refType: l.type, traceID: jaegerTraceId(Buffer.from(l.traceId, 'hex')), spanID: l.spanId });
  }
  assert.deepEqual(js.references, refs, `${where}: references`);
  assert.equal(js.startTime, w.startMs * 1000, `${where}: startTime (µs)`);
  assert.equal(js.duration, w.durationMs * 1000, `${where}: duration (µs)`);
  assert.equal(js.flags, w.flags || undefined, `${where}: flags`);
  const tags = jaegerMap(w.attrs);
  const kindName = Object.keys(OTLP_KIND).find((k) => OTLP_KIND[k] === w.kind);
  if (kindName) tags.set('span.kind', { type: 'string', value: kindName });
  if (w.isError) {
    tags.set('otel.status_code', { type: 'string', value: 'ERROR' });
    tags.set('error', { type: 'bool', value: true });
  }
  assert.deepEqual(kvMap(js.tags, `${where}: tags`), tags, `${where}: tags`);
  assert.equal(js.logs.length, w.logs.length, `${where}: number of logs`);
  w.logs.forEach((l, i) => {
    assert.equal(js.logs[i].timestamp, l.timestampMs * 1000, `${where}: log ${i} timestamp`);
    assert.deepEqual(kvMap(js.logs[i].fields, `${where}: log ${i}`), jaegerMap(l.fields),
      `${where}: log ${i} fields`);
  });
  const proc = tr.processes[js.processID];
  assert.ok(proc, `${where}: process ${js.processID} not in trace.processes`);
  assert.equal(proc.serviceName, w.service, `${where}: process serviceName`);
  const ptags = new Map(w.process.tags.map(({ key, value }) => [key, tagValue(value).jaeger]));
  assert.deepEqual(kvMap(proc.tags, `${where}: process tags`), ptags, `${where}: process tags`);
}

function compareJaeger(json, want) {
  assert.equal(json?.errors ?? null, null, `errors: ${JSON.stringify(json?.errors)}`);
  assert.ok(Array.isArray(json.data) && json.data.length === 1, 'data holds exactly one trace');
  const tr = json.data[0];
  assert.equal(tr.traceID, want[0].jaegerTraceId, 'trace.traceID');
  assert.equal(tr.spans.length, want.length, 'span count');
  const byId = new Map(tr.spans.map((s) => [s.spanID, s]));
  assert.equal(byId.size, want.length, 'span IDs are unique');
  for (const w of want) {
    const js = byId.get(w.spanId);
    assert.ok(js, `span ${w.spanId} (${w.name}) missing`);
    compareJaegerSpan(js, w, tr);
  }
  const services = new Set(Object.values(tr.processes).map((p) => p.serviceName));
  assert.deepEqual([...services].sort(), ['checkout', 'frontend', 'payment'], 'three services');
}

const sortByKey = (list) => [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const otlpAttrs = (attrs) => sortByKey(attrs.map((a) => ({ key: a.key, value: a.otlp })));
/** The server's attributes with int64 strings left as they are, sorted. */
const gotAttrs = (list) => sortByKey((list ?? []).map(({ key, value }) => ({ key, value })));

function compareOtlpSpan(sp, resource, scope, w) {
  const where = `OTLP span ${w.spanId} (${w.service}: ${w.name})`;
  assert.equal(sp.traceId, w.traceId, `${where}: traceId`);
  assert.equal(sp.parentSpanId ?? '', w.parent, `${where}: parentSpanId`);
  assert.equal(sp.name, w.name, `${where}: name`);
  assert.equal(sp.kind ?? 0, w.kind, `${where}: kind`);
  assert.equal(sp.flags ?? 0, w.flags, `${where}: flags`);
  assert.equal(sp.traceState ?? '', '', `${where}: traceState`);
  assert.equal(BigInt(sp.startTimeUnixNano), BigInt(w.startMs) * 1000000n, `${where}: start`);
  assert.equal(BigInt(sp.endTimeUnixNano) - BigInt(sp.startTimeUnixNano),
    BigInt(w.durationMs) * 1000000n, `${where}: duration`);
  assert.deepEqual(gotAttrs(sp.attributes), otlpAttrs(w.attrs), `${where}: attributes`);
  assert.deepEqual({ code: sp.status?.code ?? 0, message: sp.status?.message ?? '' },
    { code: w.isError ? 2 : 0, message: '' }, `${where}: status`);
  const events = (sp.events ?? []).map((e) => ({ time: BigInt(e.timeUnixNano), name: e.name ?? '',
    attributes: gotAttrs(e.attributes) }));
  assert.deepEqual(events, w.logs.map((l) => ({
    time: BigInt(l.timestampMs) * 1000000n, name: l.name,
    attributes: otlpAttrs(l.fields.filter((f) => !(l.name && f.key === 'event'))),
  })), `${where}: events`);
  const links = (sp.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId,
    attributes: gotAttrs(l.attributes) }));
  assert.deepEqual(links, w.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId,
    attributes: [{ key: 'opentracing.ref_type',
      value: { stringValue: l.type === 'CHILD_OF' ? 'child_of' : 'follows_from' } }] })),
  `${where}: links`);
  const wantRes = sortByKey([{ key: 'service.name', value: { stringValue: w.service } },
    ...w.process.tags.map(({ key, value }) => ({ key, value: tagValue(value).otlp }))]);
  assert.deepEqual(gotAttrs(resource), wantRes, `${where}: resource`);
  assert.deepEqual(scope ?? {}, {}, `${where}: no scope (jaeger-client sends none)`);
}

function compareOtlp(json, want) {
  assert.ok(json?.result && Array.isArray(json.result.resourceSpans),
    `expected {"result":{"resourceSpans":[...]}}, got ${JSON.stringify(json)?.slice(0, 300)}`);
  const found = new Map();
  for (const rs of json.result.resourceSpans) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const sp of ss.spans ?? []) {
        assert.ok(!found.has(sp.spanId), `span ${sp.spanId} appears twice`);
        found.set(sp.spanId, { sp, resource: rs.resource?.attributes, scope: ss.scope });
      }
    }
  }
  assert.equal(found.size, want.length, 'span count');
  for (const w of want) {
    const f = found.get(w.spanId);
    assert.ok(f, `span ${w.spanId} (${w.name}) missing`);
    compareOtlpSpan(f.sp, f.resource, f.scope, w);
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

test('jaeger-client trace across three services (HTTP sender)', { timeout: 60000 }, async (t) => {
  const res = await buildJaegerTrace({ endpoint: `${server.url}/api/traces` });
  sent = res;
  assert.deepEqual(res.logger.lines.filter((l) => l.startsWith('error')), [],
    'jaeger-client reported no error (tracemap answered < 400)');
  assert.equal(res.spans.length, SPAN_COUNT);
  const want = expectedSpans(res);
  // the scenario is what it claims to be, or the comparisons below prove little
  assert.deepEqual([...new Set(want.map((w) => w.service))], ['frontend', 'checkout', 'payment']);
  assert.ok(want.some((w) => w.isError) && want.some((w) => w.logs.length) &&
    want.some((w) => w.links.some((l) => l.type === 'FOLLOWS_FROM')), 'errors, logs, references');
  assert.equal(new Set(want.map((w) => w.traceId)).size, 1, 'one trace');

  const jaeger = await waitForTrace(server, want[0].jaegerTraceId, SPAN_COUNT);
  await t.test('GET /api/traces/{id} (Jaeger JSON) matches what jaeger-client sent', () => {
    assert.equal(jaeger.status, 200, jaeger.text);
    compareJaeger(jaeger.json, want);
  });
  const v3 = await server.getJson(`/api/v3/traces/${want[0].traceId}`);
  await t.test('GET /api/v3/traces/{id} (OTLP/JSON) matches what jaeger-client sent', () => {
    assert.equal(v3.status, 200, v3.text);
    compareOtlp(v3.json, want);
  });
  await t.test('parentage crosses the services as propagated', () => {
    const byName = (svc, name) => want.find((w) => w.service === svc && w.name === name);
    assert.equal(byName('checkout', 'POST /api/checkout').parent,
      byName('frontend', 'POST /api/checkout').spanId);
    assert.equal(byName('payment', 'POST /charge').parent, byName('checkout', 'POST /charge').spanId);
    assert.equal(byName('frontend', 'GET /checkout').parent, '');
  });
  firstReadBack = { jaeger: jaeger.text, v3: v3.text, traceId: want[0].jaegerTraceId };
});

test('128-bit trace IDs (traceId128bit: true) keep their high half', { timeout: 60000 }, async () => {
  const res = await buildJaegerTrace({ endpoint: `${server.url}/api/traces`, traceId128bit: true });
  const want = expectedSpans(res);
  assert.equal(want[0].jaegerTraceId.length, 32);
  const jaeger = await waitForTrace(server, want[0].jaegerTraceId, SPAN_COUNT);
  assert.equal(jaeger.status, 200, jaeger.text);
  compareJaeger(jaeger.json, want);
  const v3 = await server.getJson(`/api/v3/traces/${want[0].traceId}`);
  compareOtlp(v3.json, want);
});

const postThrift = (body, type = 'application/x-thrift') =>
  server.post('/api/traces', body, { 'Content-Type': type });

test('the captured body under application/vnd.apache.thrift.binary', async () => {
  const body = readFileSync(join(DATA_DIR, 'client_payment.thrift'));
  const r = await postThrift(body, 'application/vnd.apache.thrift.binary');
  assert.equal(r.status, 202, r.body.toString());
  const got = await waitForTrace(server, '0af7651916cd43dd1000000000000101', 2);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json.data[0].spans.map((s) => s.operationName).sort(),
    ['POST /charge', 'validate card']);
});

test('bad input: 400 with a message, 415, and nothing stored before is harmed', async () => {
  const good = readFileSync(join(DATA_DIR, 'client_checkout.thrift'));
  // serviceName's length (bytes 6..9) set to 2^31-1
  const huge = Buffer.from(good);
  huge.writeInt32BE(0x7fffffff, 6);
  let r = await postThrift(huge);
  assert.equal(r.status, 400);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.match(r.body.toString(),
    /string length 2147483647 exceeds the \d+ bytes left at byte offset 6 \(in Batch\.process\)/);

  // the span list's count (after the process) made negative
  const spansAt = good.indexOf(Buffer.from([0x0f, 0x00, 0x02, 0x0c]));
  assert.ok(spansAt > 0, 'found Batch.spans in the capture');
  const negative = Buffer.from(good);
  negative.writeInt32BE(-3, spansAt + 4);
  r = await postThrift(negative);
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), new RegExp(`negative list size -3 at byte offset ${spansAt + 4}`));

  // a field type that does not exist, and a body cut short
  const badType = Buffer.from(good);
  badType[0] = 0x09;
  r = await postThrift(badType);
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), /field type 9 is not a thrift type at byte offset 0/);
  r = await postThrift(good.subarray(0, good.length - 7));
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), /byte offset \d+/);

  // every span rejected (trace ID 0): Jaeger has no partial success, so 400
  const zero = Buffer.concat([
    Buffer.from('0c0001' + '0b0001' + '00000001' + '78' + '00', 'hex'),   // process "x"
    Buffer.from('0f0002' + '0c' + '00000001', 'hex'),                     // one span
    Buffer.from('0a0001' + '0000000000000000' + '0a0002' + '0000000000000000' +
      '0a0003' + '0000000000000001' + '0a0004' + '0000000000000000' + '0b0005' + '00000000' +
      '080007' + '00000001' + '0a0008' + '0000000000000001' + '0a0009' + '0000000000000001' +
      '00', 'hex'),
    Buffer.from('00', 'hex'),
  ]);
  r = await postThrift(zero);
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), /Batch\.spans\[0\]: trace ID is 0/);

  // the wrong content type, and no content type
  r = await postThrift(good, 'application/json');
  assert.equal(r.status, 415);
  assert.match(r.body.toString(), /application\/x-thrift/);
  r = await server.post('/api/traces', good, {});
  assert.equal(r.status, 415);

  // still serving, and the first trace reads back byte for byte as before
  assert.ok(firstReadBack, 'the first test stored a trace');
  const jaeger = await server.getJson(`/api/traces/${firstReadBack.traceId}`);
  assert.equal(jaeger.status, 200);
  assert.equal(jaeger.text, firstReadBack.jaeger);
  compareJaeger(jaeger.json, expectedSpans(sent));
  const v3 = await server.getJson(`/api/v3/traces/${expectedSpans(sent)[0].traceId}`);
  assert.equal(v3.text, firstReadBack.v3);
  r = await postThrift(good);
  assert.equal(r.status, 202, r.body.toString());
});

test('tracemap drains and exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  assert.deepEqual(server.unexpectedExits, [], 'the server never died on its own');
});

// ---------------------------------------------------------------------------
// The agent's UDP port (--jaeger-udp): jaeger-client's default sender
// ---------------------------------------------------------------------------

const UDP_RE = /jaeger udp listening on 127\.0\.0\.1:(\d+)/;

/** The port of the "jaeger udp listening on" line, logged after the HTTP one. */
async function jaegerUdpPort(srv, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = UDP_RE.exec(srv.log);
    if (m) return Number(m[1]);
    if (Date.now() > deadline) {
      throw new Error(`no "jaeger udp listening on" line:\n${srv.logTail()}`);
    }
    await sleep(20);
  }
}

/**
 * buildJaegerTrace() with jaeger-client's UDP sender (reporter.agentHost and
 * agentPort, no collectorEndpoint) instead of its HTTP sender: the scenario
 * builder takes initTracer from the jaeger-client module at each call, so
 * the reporter is swapped there for the duration of the call.
 */
async function buildJaegerTraceOverUdp(agentPort) {
  const jaeger = createRequire(import.meta.url)('jaeger-client');
  const initTracer = jaeger.initTracer;
  const senders = []; // the sender each tracer got (closing a tracer drops its reporter)
  jaeger.initTracer = (config, options) => {
    const { collectorEndpoint, ...reporter } = config.reporter;
    const tracer = initTracer({ ...config,
      reporter: { ...reporter, agentHost: '127.0.0.1', agentPort } }, options);
    senders.push(tracer._reporter?._sender?.constructor.name);
    return tracer;
  };
  try {
    return { ...await buildJaegerTrace({ endpoint: 'http://unused.invalid/api/traces' }), senders };
  } finally {
    jaeger.initTracer = initTracer;
  }
}

function sendDatagram(port, buf) {
  const sock = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    sock.send(buf, port, '127.0.0.1', (err) => {
      sock.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

test('jaeger-client trace across three services (UDP sender)', { timeout: 60000 }, async (t) => {
  const udpServer = await startServer({ args: ['--jaeger-udp', '127.0.0.1:0'] });
  t.after(() => udpServer.close());
  const port = await jaegerUdpPort(udpServer);
  assert.notEqual(port, udpServer.port, 'the UDP port is not the HTTP one');

  const res = await buildJaegerTraceOverUdp(port);
  assert.deepEqual(res.senders, ['UDPSender', 'UDPSender', 'UDPSender'],
    'jaeger-client used its UDP sender');
  assert.deepEqual(res.logger.lines.filter((l) => l.startsWith('error')), [],
    'jaeger-client reported no error');
  const want = expectedSpans(res);
  assert.equal(want.length, SPAN_COUNT);
  assert.deepEqual([...new Set(want.map((w) => w.service))], ['frontend', 'checkout', 'payment']);

  // UDP has no answer: the spans appear once the writer has committed them
  const jaeger = await waitForTrace(udpServer, want[0].jaegerTraceId, SPAN_COUNT);
  await t.test('GET /api/traces/{id}: services, parentage, tags, logs as sent', () => {
    assert.equal(jaeger.status, 200, jaeger.text);
    compareJaeger(jaeger.json, want);
  });
  const v3 = await udpServer.getJson(`/api/v3/traces/${want[0].traceId}`);
  await t.test('GET /api/v3/traces/{id} (OTLP/JSON) as sent', () => {
    assert.equal(v3.status, 200, v3.text);
    compareOtlp(v3.json, want);
  });
  await t.test('parentage crosses the services as propagated', () => {
    const byId = new Map(jaeger.json.data[0].spans.map((s) => [s.spanID, s]));
    const parentOf = (w) =>
      byId.get(w.spanId).references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const byName = (svc, name) => want.find((w) => w.service === svc && w.name === name);
    assert.equal(parentOf(byName('checkout', 'POST /api/checkout')),
      byName('frontend', 'POST /api/checkout').spanId);
    assert.equal(parentOf(byName('payment', 'POST /charge')),
      byName('checkout', 'POST /charge').spanId);
    assert.equal(parentOf(byName('frontend', 'GET /checkout')), undefined);
  });

  await t.test('a bad datagram is dropped and logged; the listener keeps serving', async () => {
    const good = readFileSync(join(DATA_DIR, 'agent_emitbatch.bin'));
    const wrongMethod = Buffer.from(good);
    wrongMethod.write('emitBatcX', 8, 'latin1');
    await sendDatagram(port, wrongMethod);
    const deadline = Date.now() + 5000;
    const dropRe = new RegExp('dropped a datagram of \\d+ bytes from 127\\.0\\.0\\.1:\\d+: ' +
      'not a TBinaryProtocol Agent\\.emitBatch message: ' +
      // the method name is what the datagram said: left out of the log by default
      'method "\\.\\.\\." is not emitBatch at byte offset 4 \\(quoted parts left out');
    while (!dropRe.test(udpServer.log)) {
      if (Date.now() > deadline) assert.fail(`no drop line ${dropRe}:\n${udpServer.logTail()}`);
      await sleep(20);
    }
    await sendDatagram(port, good); // the captured checkout datagram: its own trace
    const got = await waitForTrace(udpServer, '0af7651916cd43dd1000000000000101', 4);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.data[0].spans.length, 4);
  });

  const e = await udpServer.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null },
    udpServer.logTail());
  const stopped = new RegExp(`127\\.0\\.0\\.1:${port}: stopped; received 5 datagrams, ` +
    'stored 12 spans, rejected 0 spans; dropped 1 invalid, 0 queue full, 0 oversize, ' +
    '0 failed commit');
  assert.match(udpServer.log, stopped, 'the stop line counts 3 + 1 + 1 datagrams');
});
