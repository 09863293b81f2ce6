// A real client: aws-xray-sdk-core, its daemon address pointed at tracemap's
// --xray-udp listener, sends the two-service trace of capture_xray.mjs
// (frontend calls backend, DynamoDB and renders; backend queries PostgreSQL
// and fails with an exception) as the X-Ray daemon would receive it.  The
// trace is read back through GET /api/traces/{id} (Jaeger JSON) and
// GET /api/v3/traces/{id} (OTLP/JSON), both under the hex form of the X-Ray
// trace id, and compared with the Segment objects the SDK sent.  Then bad
// datagrams: dropped, counted and logged, while the server keeps serving and
// what it stored before stays as it was.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import {
  requireNodeModules, startServer, waitForTrace, sleep,
} from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const { loadXRay, buildTrace } = await import('./capture_xray.mjs');
const SDK_VERSION = createRequire(import.meta.url)('aws-xray-sdk-core/package.json').version;

const HEADER = '{"format":"json","version":1}\n';
const UDP_RE = /xray udp listening on 127\.0\.0\.1:(\d+)/;

let server;
let udpPort;
let AWSXRay;
let sent = 0;      // datagrams sent to the listener, by the SDK or by us
let invalid = 0;   // of which the listener must drop as invalid

async function xrayPort(srv) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const m = UDP_RE.exec(srv.log);
    if (m) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`no "xray udp listening on" line:\n${srv.logTail()}`);
    await sleep(20);
  }
}

before(async () => {
  server = await startServer({ args: ['--xray-udp', '127.0.0.1:0'] });
  udpPort = await xrayPort(server);
  AWSXRay = loadXRay(udpPort);
});
after(async () => {
  await server?.close();
});

/** Sends one raw datagram; resolves with the send error (or null). */
function sendRaw(buf) {
  const sock = dgram.createSocket('udp4');
  return new Promise((resolveSend) => {
    sock.send(buf, udpPort, '127.0.0.1', (err) => {
      sock.close();
      resolveSend(err ?? null);
    });
  });
}

async function waitForLog(re, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(server.log)) {
    if (Date.now() > deadline) assert.fail(`${what}: no log line ${re}:\n${server.logTail()}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------
// Expected values, from the Segment objects the SDK serialised
// ---------------------------------------------------------------------------

const hexTraceId = (xrayId) => xrayId.split('-').slice(1).join('');
const us = (seconds) => Math.round(seconds * 1e6);
const JAEGER_KIND = { 1: 'internal', 2: 'server', 3: 'client' };

/** One row per (sub)segment: what the stored span must be. */
function expectedSpans(t) {
  const path = (seg) => new URL(seg.http.request.url).pathname;
  const row = (seg, parent, service, name, kind, tags, extra = {}) => ({
    seg, id: seg.id, parent, service, name, kind, tags,
    startUs: us(seg.start_time), endUs: us(seg.end_time), ...extra,
  });
  const xray = t.front.trace_id;
  const common = { 'aws.xray.trace_id': ['string', xray] };
  return [
    row(t.front, null, 'frontend', `GET ${path(t.front)}`, 2, {
      ...common,
      'http.request.method': ['string', 'GET'],
      'url.full': ['string', t.front.http.request.url],
      'client.address': ['string', '192.0.2.10'],
      'user_agent.original': ['string', 'xray-client-test/1.0'],
      'http.response.status_code': ['int64', 200],
      'http.response.body.size': ['int64', 512],
      'aws.xray.annotations.customer': ['string', 'c-1042'],
      'aws.xray.annotations.items': ['int64', 3],
      'aws.xray.annotations.total': ['float64', 129.95],
      'aws.xray.annotations.express': ['bool', true],
      'aws.xray.metadata.default': ['json', { cart: { skus: ['A-1', 'B-7'], coupon: null } }],
      'aws.xray.metadata.deploy': ['json', { build: 'r42' }],
    }),
    row(t.call, t.front.id, 'frontend', 'backend', 3, {
      ...common,
      'peer.service': ['string', 'backend'],
      'http.request.method': ['string', 'POST'],
      'url.full': ['string', 'http://backend.test:8080/stock'],
      'server.address': ['string', 'backend.test'],
      'server.port': ['int64', 8080],
      'http.response.status_code': ['int64', 500],
      'aws.xray.fault': ['bool', true],
      'aws.xray.traced': ['bool', true],
    }, { error: '' }),
    row(t.dynamo, t.front.id, 'frontend', 'DynamoDB', 3, {
      ...common,
      'peer.service': ['string', 'DynamoDB'],
      'rpc.system': ['string', 'aws-api'],
      'rpc.service': ['string', 'DynamoDB'],
      'rpc.method': ['string', 'GetItem'],
      'cloud.region': ['string', 'eu-west-1'],
      'aws.table_name': ['string', 'carts'],
      'aws.request_id': ['string', 'R3QU3ST1D'],
      'aws.retries': ['int64', 0],
    }),
    row(t.render, t.front.id, 'frontend', 'render', 1, common),
    row(t.back, t.call.id, 'backend', 'POST /stock', 2, {
      ...common,
      'http.request.method': ['string', 'POST'],
      'client.address': ['string', '203.0.113.9'],
      'aws.xray.x_forwarded_for': ['bool', true],
      'http.response.status_code': ['int64', 500],
      'aws.xray.fault': ['bool', true],
      'aws.xray.annotations.sku': ['string', 'B-7'],
      'aws.xray.annotations.in_stock': ['bool', false],
      'aws.xray.annotations.attempt': ['int64', 2],
      'aws.xray.metadata.default': ['json', { request: { headers: 2, body_bytes: 61 } }],
    }, { error: 'no stock for B-7', exception: t.err }),
    row(t.db, t.back.id, 'backend', 'orders@db.test', 3, {
      ...common,
      'peer.service': ['string', 'orders@db.test'],
      'db.system': ['string', 'postgresql'],
      'db.query.text': ['string', 'SELECT qty FROM stock WHERE sku = $1'],
      'db.user': ['string', 'app'],
      'db.namespace': ['string', 'orders'],
      'server.address': ['string', 'db.test'],
      'server.port': ['int64', 5432],
    }),
    row(t.validate, t.back.id, 'backend', 'validate', 1, {
      ...common,
      'aws.xray.annotations.rule': ['string', 'qty>0'],
    }),
  ];
}

function checkTag(tags, key, [type, value], where) {
  const tag = tags.find((x) => x.key === key);
  assert.ok(tag, `${where}: tag ${key} missing; tags: ${JSON.stringify(tags.map((x) => x.key))}`);
  if (type === 'json') {
    assert.equal(tag.type, 'string', `${where}: ${key} is JSON text`);
    assert.deepEqual(JSON.parse(tag.value), value, `${where}: ${key}`);
  } else {
    assert.deepEqual({ type: tag.type, value: tag.value }, { type, value }, `${where}: ${key}`);
  }
}

function checkJaegerSpan(js, e, tr) {
  const where = `Jaeger span ${e.id} (${e.name})`;
  const traceId = tr.traceID;
  assert.equal(js.operationName, e.name, `${where}: operationName`);
  assert.deepEqual(js.references,
    e.parent ? [{ refType: 'CHILD_OF', traceID: traceId, spanID: e.parent }] : [],
    `${where}: references`);
  assert.equal(js.startTime, e.startUs, `${where}: startTime (µs)`);
  assert.equal(js.duration, e.endUs - e.startUs, `${where}: duration (µs)`);
  assert.equal(tr.processes[js.processID]?.serviceName, e.service, `${where}: service`);
  checkTag(js.tags, 'span.kind', ['string', JAEGER_KIND[e.kind]], where);
  for (const [key, want] of Object.entries(e.tags)) checkTag(js.tags, key, want, where);
  if (e.error !== undefined) {
    checkTag(js.tags, 'error', ['bool', true], where);
    checkTag(js.tags, 'otel.status_code', ['string', 'ERROR'], where);
    if (e.error) checkTag(js.tags, 'otel.status_description', ['string', e.error], where);
  } else {
    assert.ok(!js.tags.some((x) => x.key === 'error'), `${where}: no error tag`);
  }
  if (!e.exception) {
    assert.deepEqual(js.logs, [], `${where}: logs`);
    return;
  }
  assert.equal(js.logs.length, 1, `${where}: one exception log`);
  const [log] = js.logs;
  assert.equal(log.timestamp, e.endUs, `${where}: the exception is logged at the end`);
  checkTag(log.fields, 'event', ['string', 'exception'], where);
  checkTag(log.fields, 'exception.type', ['string', e.exception.name], where);
  checkTag(log.fields, 'exception.message', ['string', e.exception.message], where);
  const stack = log.fields.find((f) => f.key === 'exception.stacktrace')?.value ?? '';
  assert.match(stack, /^StockUnavailableError: no stock for B-7\n/, `${where}: stack head`);
  assert.match(stack, /\tat reserveStock\(\/srv\/backend\/stock\.js: 41\)\n/, `${where}: frame`);
}

function checkJaeger(json, t, rows) {
  assert.equal(json.errors ?? null, null, `errors: ${JSON.stringify(json.errors)}`);
  assert.equal(json.data?.length, 1, 'one trace');
  const [tr] = json.data;
  assert.equal(tr.traceID, hexTraceId(t.front.trace_id), 'traceID: the X-Ray id in hex');
  assert.equal(tr.spans.length, rows.length, 'span count');
  const byId = new Map(tr.spans.map((s) => [s.spanID, s]));
  for (const e of rows) {
    const js = byId.get(e.id);
    assert.ok(js, `span ${e.id} (${e.name}) missing`);
    checkJaegerSpan(js, e, tr);
  }
  const procs = Object.values(tr.processes);
  assert.deepEqual(procs.map((p) => p.serviceName).sort(), ['backend', 'frontend']);
  for (const p of procs) {
    const version = p.serviceName === 'frontend' ? '2.3.1' : '0.9.7';
    const where = `process ${p.serviceName}`;
    checkTag(p.tags, 'service.version', ['string', version], where);
    checkTag(p.tags, 'telemetry.sdk.name', ['string', 'X-Ray for Node.js'], where);
    checkTag(p.tags, 'telemetry.sdk.version', ['string', SDK_VERSION], where);
  }
}

function checkOtlpJson(json, t, rows) {
  const spans = new Map();
  for (const rs of json.result.resourceSpans) {
    const svc = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
    for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.set(s.spanId, { svc, s });
  }
  assert.equal(spans.size, rows.length, 'span count');
  for (const e of rows) {
    const where = `OTLP/JSON span ${e.id} (${e.name})`;
    const got = spans.get(e.id);
    assert.ok(got, `${where}: missing`);
    const { s } = got;
    assert.equal(got.svc, e.service, `${where}: service.name`);
    assert.equal(s.traceId, hexTraceId(t.front.trace_id), `${where}: traceId`);
    assert.equal(s.parentSpanId ?? '', e.parent ?? '', `${where}: parentSpanId`);
    assert.equal(s.name, e.name, `${where}: name`);
    assert.equal(s.kind, e.kind, `${where}: kind`);
    assert.equal(s.startTimeUnixNano, String(BigInt(e.startUs) * 1000n), `${where}: start`);
    assert.equal(s.endTimeUnixNano, String(BigInt(e.endUs) * 1000n), `${where}: end`);
    assert.equal(s.status?.code ?? 0, e.error !== undefined ? 2 : 0, `${where}: status.code`);
    if (e.error) assert.equal(s.status.message, e.error, `${where}: status.message`);
    const attr = (k) => s.attributes.find((a) => a.key === k)?.value;
    assert.deepEqual(attr('aws.xray.trace_id'), { stringValue: t.front.trace_id }, where);
    for (const [key, [type, value]] of Object.entries(e.tags)) {
      const want = type === 'int64' ? { intValue: String(value) }
        : type === 'float64' ? { doubleValue: value }
          : type === 'bool' ? { boolValue: value }
            : type === 'json' ? { stringValue: JSON.stringify(value) } : { stringValue: value };
      assert.deepEqual(attr(key), want, `${where}: ${key}`);
    }
    assert.equal((s.events ?? []).length, e.exception ? 1 : 0, `${where}: events`);
    if (e.exception) {
      const ev = s.events[0];
      assert.equal(ev.name, 'exception', where);
      assert.equal(ev.timeUnixNano, String(BigInt(e.endUs) * 1000n), `${where}: event time`);
      const ea = (k) => ev.attributes.find((a) => a.key === k)?.value;
      assert.deepEqual(ea('exception.type'), { stringValue: e.exception.name }, where);
      assert.deepEqual(ea('exception.message'), { stringValue: e.exception.message }, where);
    }
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

let stored;   // the trace of the first test, as Jaeger JSON, to compare later
let firstTrace;

test('the SDK\'s trace across two services reads back through both APIs', { timeout: 30000 }, async (t) => {
  const trace = buildTrace(AWSXRay);
  firstTrace = trace;
  sent += 2;   // one datagram per segment, subsegments inside
  assert.equal(trace.back.trace_id, trace.front.trace_id, 'propagated trace id');
  assert.equal(trace.back.parent_id, trace.call.id, 'propagated parent');
  const rows = expectedSpans(trace);
  const id = hexTraceId(trace.front.trace_id);
  assert.match(id, /^[0-9a-f]{32}$/);

  const jaeger = await waitForTrace(server, id, rows.length);
  await t.test('GET /api/traces/{hex of the X-Ray id} (Jaeger JSON)', () => {
    assert.equal(jaeger.status, 200, jaeger.text);
    checkJaeger(jaeger.json, trace, rows);
  });
  stored = jaeger.text;
  const v3 = await server.getJson(`/api/v3/traces/${id}`);
  await t.test('GET /api/v3/traces/{id} (OTLP/JSON)', () => {
    assert.equal(v3.status, 200, v3.text);
    checkOtlpJson(v3.json, trace, rows);
  });
});

/** A raw segment document of our own (times in s), as a datagram. */
function datagram(doc, header = HEADER) {
  return Buffer.from(header + JSON.stringify(doc));
}

test('in_progress is replaced by the completed form; independent subsegments join', async () => {
  const traceId = firstTrace.front.trace_id;
  const base = { trace_id: traceId, id: 'c0ffee0000000001', name: 'worker', parent_id: firstTrace.call.id };
  await sendRaw(datagram({ ...base, start_time: 1767225700.5, in_progress: true }));
  await sendRaw(datagram({ ...base, start_time: 1767225700.5, end_time: 1767225700.75 }));
  await sendRaw(datagram({
    type: 'subsegment', trace_id: traceId, parent_id: base.id, id: 'c0ffee0000000002',
    name: 'cache', namespace: 'remote', start_time: 1767225700.6, end_time: 1767225700.7,
  }));
  sent += 3;
  const r = await waitForTrace(server, hexTraceId(traceId), 9);
  const spans = r.json.data[0].spans;
  const worker = spans.filter((s) => s.spanID === base.id);
  assert.equal(worker.length, 1, 'the in-progress form is not stored beside the completed one');
  assert.equal(worker[0].duration, 250000);
  assert.deepEqual(worker[0].references.map((x) => x.spanID), [firstTrace.call.id]);
  const cache = spans.find((s) => s.spanID === 'c0ffee0000000002');
  assert.ok(cache, 'independent subsegment stored');
  assert.deepEqual(cache.references.map((x) => x.spanID), [base.id]);
  assert.ok(cache.tags.some((x) => x.key === 'span.kind' && x.value === 'client'));
});

test('bad datagrams are dropped, counted and logged; the server keeps serving', { timeout: 30000 }, async () => {
  const good = { trace_id: '1-6955b900-0123456789abcdef01234567', id: 'abcdef0123456789', name: 'late',
    start_time: 1767225800, end_time: 1767225801 };
  const doc = JSON.stringify(good);

  // each reason is logged (at most one line a second): wait out the limit
  assert.equal(await sendRaw(Buffer.from(doc)), null);
  invalid++;
  await waitForLog(/dropped a datagram of \d+ bytes from 127\.0\.0\.1:\d+: missing X-Ray daemon header/,
    'no header');
  await sleep(1100);
  assert.equal(await sendRaw(Buffer.from(HEADER + doc.slice(0, 40))), null);
  invalid++;
  await waitForLog(/dropped a datagram .*segment document is not valid JSON/, 'malformed JSON');
  await sleep(1100);
  assert.equal(await sendRaw(datagram({ ...good, trace_id: hexTraceId(good.trace_id) })), null);
  invalid++;
  await waitForLog(/dropped a datagram .*trace_id must be of the form/, 'trace id');

  // and a burst of others within the second: counted, not each logged
  let nested = { name: 'n', id: '1000000000000001', start_time: 1, end_time: 2 };
  for (let i = 2; i < 100; i++) nested = { ...nested, id: i.toString(16).padStart(16, '0'), subsegments: [nested] };
  for (const bad of [
    datagram(good, '{"format":"json","version":2}\n'),
    datagram({ ...good, subsegments: [nested] }),
    Buffer.from(HEADER),
  ]) {
    assert.equal(await sendRaw(bad), null);
    invalid++;
  }
  // the next line after the limit says how many went unlogged
  await sleep(1100);
  assert.equal(await sendRaw(Buffer.from('{"format":"json","version":1}')), null);
  invalid++;
  sent += invalid;
  await waitForLog(/missing X-Ray daemon header.*\(\d+ more not logged\)/, 'the count of the unlogged');
  const lines = server.log.split('\n').filter((l) => l.includes('dropped a datagram'));
  assert.ok(lines.length < invalid, `${invalid} drops, ${lines.length} lines: one a second at most`);

  // over 64 KiB cannot even be sent over IPv4 (65507 bytes at most): the
  // kernel refuses it, so no daemon ever sees one; the decoder's own check
  // is in the unit test.  The largest datagram that can be sent is taken.
  const tooBig = Buffer.alloc(70 * 1024, 0x20);
  tooBig.write(HEADER + doc);
  const err = await sendRaw(tooBig);
  assert.equal(err?.code, 'EMSGSIZE', `70 KB over UDP: ${err}`);
  const largest = Buffer.alloc(65507, 0x20);
  largest.write(HEADER + JSON.stringify({ ...good, id: 'abcdef0123456780' }).slice(0, -1));
  largest.write('}', largest.length - 1);
  assert.equal(await sendRaw(largest), null);
  assert.equal(await sendRaw(datagram(good)), null);
  sent += 2;

  const late = await waitForTrace(server, hexTraceId(good.trace_id), 2);
  assert.equal(late.status, 200, late.text);
  assert.deepEqual(late.json.data[0].spans.map((s) => s.spanID).sort(),
    ['abcdef0123456780', 'abcdef0123456789'], 'datagrams after the bad ones are stored');

  // nothing stored before is harmed: the first trace reads back as it did
  // (plus the spans the previous test added to it, which renumber processes)
  const again = await server.getJson(`/api/traces/${hexTraceId(firstTrace.front.trace_id)}`);
  const comparable = (tr) => new Map(tr.spans.map((s) => [s.spanID,
    { ...s, processID: undefined, service: tr.processes[s.processID] }]));
  const before = comparable(JSON.parse(stored).data[0]);
  const now = comparable(again.json.data[0]);
  for (const [id, s] of before) assert.deepEqual(now.get(id), s, `span ${id} unchanged`);
});

test('on SIGTERM the listener reports its counts and the store checks clean', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  const m = /received (\d+) datagrams, stored (\d+) spans, rejected (\d+) spans; dropped (\d+) invalid, (\d+) queue full, (\d+) oversize, (\d+) failed commit/
    .exec(server.log);
  assert.ok(m, `no stop line with the counts:\n${server.logTail()}`);
  const [received, spans, rejected, dropped, full, oversize, failed] = m.slice(1).map(Number);
  assert.deepEqual({ received, spans, rejected, dropped, full, oversize, failed },
    { received: sent, spans: 7 + 2 + 2, rejected: 0, dropped: invalid, full: 0, oversize: 0, failed: 0 });
  const check = await server.check();
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.equal(check.counts.problems, 0);
  assert.equal(check.counts.spans, 11);
  assert.deepEqual(server.unexpectedExits, [], 'the server never died on its own');
});
