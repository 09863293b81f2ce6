// Bad and unusual input on the OTLP/HTTP endpoint and the query API. Every
// error must come back with the right HTTP status and a google.rpc.Status
// protobuf body with a non-empty message; the server must keep serving and a
// trace stored first must read back identically at the end. Also: partial
// success, chunked uploads (plain and gzip) and keep-alive.
//
// Needs only node built-ins (no npm packages).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  startServer, makeBatch, encodeExportRequest, encodeSpan, decodeStatus, decodeExportResponse,
  waitForTrace, jaegerSpanIds, randomTraceId, randomSpanId, kvs, fLen, fString, varint,
} from './lib/server.mjs';

const PB = { 'Content-Type': 'application/x-protobuf' };
const MAX_BODY_SMALL = 1 << 20; // --max-body for the gzip-bomb server

let server; // default limits
let small; // --max-body 1 MiB
let good; // the trace stored first
let goodJaeger;
let goodV3;
const stored = { spans: 0, traces: new Set() }; // everything that must be in the store

function remember(batch, nSpans = batch.spanIds.length) {
  stored.spans += nSpans;
  stored.traces.add(batch.traceId);
}

before(async () => {
  server = await startServer();
  small = await startServer({ args: ['--max-body', String(MAX_BODY_SMALL)] });
});
after(async () => {
  await Promise.allSettled([server?.close(), small?.close()]);
});

/** Asserts status, protobuf content type and a google.rpc.Status with a message. */
function assertRpcStatus(res, status, what) {
  const text = res.body.toString('utf8').slice(0, 300);
  assert.equal(res.status, status, `${what}: HTTP status (body: ${JSON.stringify(text)})`);
  assert.match(String(res.headers['content-type']), /^application\/x-protobuf\b/,
    `${what}: Content-Type of the error body`);
  let st;
  try {
    st = decodeStatus(res.body);
  } catch (err) {
    assert.fail(`${what}: body is not a google.rpc.Status (${err.message}): ${JSON.stringify(text)}`);
  }
  assert.ok(st.message.length > 0, `${what}: google.rpc.Status.message is empty`);
  return st;
}

/** A full-success answer: empty body or an ExportTraceServiceResponse without rejections. */
function assertFullSuccess(res, what) {
  assert.equal(res.status, 200, `${what}: status (body ${JSON.stringify(res.body.toString('utf8').slice(0, 300))})`);
  if (res.body.length) {
    assert.match(String(res.headers['content-type']), /^application\/x-protobuf\b/, `${what}: Content-Type`);
    const r = decodeExportResponse(res.body);
    assert.ok(!r.partialSuccess || r.partialSuccess.rejectedSpans === 0n,
      `${what}: unexpected partial_success ${JSON.stringify(r.partialSuccess, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
}

async function assertGoodTraceIntact(what) {
  const j = await server.getJson(`/api/traces/${good.traceId}`);
  assert.equal(j.status, 200, `${what}: good trace (Jaeger) ${j.text}`);
  assert.deepEqual(j.json, goodJaeger, `${what}: good trace changed (Jaeger)`);
  const v = await server.getJson(`/api/v3/traces/${good.traceId}`);
  assert.equal(v.status, 200, `${what}: good trace (v3) ${v.text}`);
  assert.deepEqual(v.json, goodV3, `${what}: good trace changed (OTLP/JSON)`);
}

/** Wrap raw span bytes into a request: ResourceSpans{resource, ScopeSpans{scope, span}}. */
function requestWithRawSpan(spanBytes, service = 'bad-input') {
  const resource = fLen(1, fLen(1, Buffer.concat([fString(1, 'service.name'), fLen(2, fString(1, service))])));
  const scopeSpans = fLen(2, Buffer.concat([fLen(1, fString(1, 'tests')), fLen(2, spanBytes)]));
  return fLen(1, Buffer.concat([resource, scopeSpans]));
}

function validSpan(extra = {}) {
  const t0 = BigInt(Date.now()) * 1000000n;
  return {
    traceId: randomTraceId(), spanId: randomSpanId(), name: 'ok', kind: 2,
    startTimeUnixNano: t0, endTimeUnixNano: t0 + 1000000n, flags: 0x101, ...extra,
  };
}

/**
 * An AnyValue nested `depth` levels deep, built in O(depth): every level is a
 * prefix (kvlist: AnyValue{kvlist_value{values{key:"k", value: <inner>}}};
 * array: AnyValue{array_value{values: <inner>}}), so the headers are computed
 * from the inside out and written outermost first.
 */
function deepAnyValue(depth, kind) {
  const inner = fString(1, 'leaf'); // AnyValue{string_value}
  const heads = [];
  let size = inner.length;
  for (let i = 0; i < depth; i++) {
    let head;
    if (kind === 'kvlist') {
      const kvHead = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12]), varint(size)]); // key "k", value
      const kvSize = kvHead.length + size;
      const listHead = Buffer.concat([Buffer.from([0x0a]), varint(kvSize)]); // KeyValueList.values
      const listSize = listHead.length + kvSize;
      head = Buffer.concat([Buffer.from([0x32]), varint(listSize), listHead, kvHead]); // kvlist_value
    } else {
      const valHead = Buffer.concat([Buffer.from([0x0a]), varint(size)]); // ArrayValue.values
      const arrSize = valHead.length + size;
      head = Buffer.concat([Buffer.from([0x2a]), varint(arrSize), valHead]); // array_value
    }
    size += head.length;
    heads.push(head);
  }
  heads.reverse();
  return Buffer.concat([...heads, inner]);
}

// ---------------------------------------------------------------------------

test('a good trace is stored first and reads back', async () => {
  good = makeBatch({ service: 'bad-input-good', n: 4, attributes: { 'app.s': 'v', 'app.d': 1.5, 'app.b': true } });
  const res = await server.postOtlp(good.body);
  assertFullSuccess(res, 'good trace');
  remember(good);
  const j = await waitForTrace(server, good.traceId, 4);
  assert.equal(j.status, 200, j.text);
  assert.deepEqual(jaegerSpanIds(j.json).sort(), [...good.spanIds].sort());
  goodJaeger = j.json;
  const v = await server.getJson(`/api/v3/traces/${good.traceId}`);
  assert.equal(v.status, 200, v.text);
  goodV3 = v.json;
});

test('empty body → 200, nothing stored', async () => {
  const res = await server.postOtlp(Buffer.alloc(0));
  assertFullSuccess(res, 'empty body');
});

test('an empty ExportTraceServiceRequest with an empty ResourceSpans → 200', async () => {
  const res = await server.postOtlp(Buffer.from([0x0a, 0x00]));
  assertFullSuccess(res, 'empty ResourceSpans');
});

test('truncated messages → 400', async () => {
  const b = makeBatch({ n: 2 }).body;
  for (const [what, body] of [
    ['last 3 bytes cut', b.subarray(0, b.length - 3)],
    ['cut in the middle', b.subarray(0, Math.floor(b.length / 2))],
    ['ends inside a length varint', Buffer.concat([b, Buffer.from([0x0a, 0x80])])],
    ['ends inside a tag varint', Buffer.concat([b, Buffer.from([0x85])])],
  ]) {
    assertRpcStatus(await server.postOtlp(body), 400, what);
  }
});

test('wrong wire types → 400', async () => {
  const span = encodeSpan(validSpan());
  const cases = [
    ['resource_spans as varint', Buffer.from([0x08, 0x01])],
    ['resource_spans as fixed64', Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8])],
    ['resource_spans as fixed32', Buffer.from([0x0d, 1, 2, 3, 4])],
    ['wire type 6', Buffer.from([0x0e, 0x00])],
    ['wire type 7', Buffer.from([0x0f, 0x00])],
    ['resource_spans as a group', Buffer.from([0x0b, 0x0c])],
    ['Span.trace_id as fixed64', requestWithRawSpan(Buffer.concat([Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8]), span.subarray(18)]))],
    ['Span.start_time_unix_nano as varint', requestWithRawSpan(Buffer.concat([span, Buffer.from([0x38, 0x01])]))],
    ['Span.name as varint', requestWithRawSpan(Buffer.concat([span, Buffer.from([0x28, 0x05])]))],
    ['Span.attributes as varint', requestWithRawSpan(Buffer.concat([span, Buffer.from([0x48, 0x01])]))],
  ];
  for (const [what, body] of cases) assertRpcStatus(await server.postOtlp(body), 400, what);
});

test('length prefix past the end → 400', async () => {
  const span = encodeSpan(validSpan());
  const cases = [
    ['top level: 100 declared, 10 present', Buffer.concat([Buffer.from([0x0a, 0x64]), Buffer.alloc(10, 0x0a)])],
    // inner length larger than the enclosing message, outer length exact
    ['attribute longer than its span', requestWithRawSpan(Buffer.concat([span, Buffer.from([0x4a, 0x7f, 0x0a, 0x01, 0x6b])]))],
    ['span id longer than the message', requestWithRawSpan(Buffer.concat([Buffer.from([0x12, 0x40]), Buffer.alloc(8, 1)]))],
  ];
  for (const [what, body] of cases) assertRpcStatus(await server.postOtlp(body), 400, what);
});

test('declared lengths of 2 GB and more → 400, promptly', async () => {
  const tail = Buffer.alloc(16, 0x0a);
  const cases = [
    ['2^31 - 1', Buffer.concat([Buffer.from([0x0a]), varint(2 ** 31 - 1), tail])],
    ['2^31 (2 GiB)', Buffer.concat([Buffer.from([0x0a]), varint(2 ** 31), tail])],
    ['2^32 - 1', Buffer.concat([Buffer.from([0x0a]), varint(2 ** 32 - 1), tail])],
    ['2^63', Buffer.concat([Buffer.from([0x0a]), varint(1n << 63n), tail])],
    ['2 GiB string inside a span', requestWithRawSpan(Buffer.concat([Buffer.from([0x2a]), varint(2 ** 31), tail]))],
  ];
  for (const [what, body] of cases) {
    const t0 = Date.now();
    assertRpcStatus(await server.postOtlp(body, { timeoutMs: 10000 }), 400, what);
    assert.ok(Date.now() - t0 < 10000, `${what}: took ${Date.now() - t0} ms`);
  }
});

test('absurd nesting (100k levels of kvlist / array AnyValue) → 400, server survives', { timeout: 120000 }, async () => {
  for (const kind of ['kvlist', 'array']) {
    const deep = deepAnyValue(100000, kind);
    const attr = fLen(9, Buffer.concat([fString(1, 'deep'), fLen(2, deep)]));
    const body = requestWithRawSpan(Buffer.concat([encodeSpan(validSpan()), attr]));
    const res = await server.postOtlp(body, { timeoutMs: 60000 });
    assertRpcStatus(res, 400, `${kind} nested 100000 levels (${body.length} bytes)`);
    await assertGoodTraceIntact(`after ${kind} nesting`);
  }
});

test('a small body that decodes into far more memory → 413, server survives', { timeout: 120000 }, async () => {
  // 1.5 million empty attributes: two bytes each on the wire, a struct each once decoded
  const empties = Buffer.alloc(2 * 1500000);
  for (let i = 0; i < empties.length; i += 2) empties[i] = 0x4a;   // Span.attributes, length 0
  const body = requestWithRawSpan(Buffer.concat([encodeSpan(validSpan()), empties]));
  const res = await server.postOtlp(body, { timeoutMs: 60000 });
  assertRpcStatus(res, 413, `${body.length} bytes of empty attributes`);
  await assertGoodTraceIntact('after the amplifying body');
});

test('invalid gzip → 400', async () => {
  const valid = makeBatch({ n: 1 }).body;
  const gz = gzipSync(valid);
  const cases = [
    ['not gzip at all', Buffer.from('this is not gzip data, just text')],
    ['truncated gzip stream', gz.subarray(0, gz.length - 12)],
    ['gzip header only', gz.subarray(0, 10)],
    ['corrupted deflate data', Buffer.concat([gz.subarray(0, 10), Buffer.alloc(gz.length - 18, 0xff), gz.subarray(gz.length - 8)])],
    ['gzip of an undecodable message', gzipSync(Buffer.from([0x0a, 0x64, 0x01]))],
  ];
  for (const [what, body] of cases) {
    assertRpcStatus(await server.postOtlp(body, { gzip: true }), 400, what);
  }
});

test('gzip bomb (100 MB of zeros) with --max-body 1 MiB → 413; server keeps serving', { timeout: 120000 }, async () => {
  const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 });
  assert.ok(bomb.length < MAX_BODY_SMALL, 'the compressed bomb itself is under the limit');
  const t0 = Date.now();
  assertRpcStatus(await small.postOtlp(bomb, { gzip: true, timeoutMs: 60000 }), 413, 'gzip bomb');
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 30000, `413 took ${elapsed} ms`);

  // just over the limit after inflation: a valid request padded with an unknown field
  const b = makeBatch({ n: 1 });
  const padded = Buffer.concat([b.body, fLen(15, Buffer.alloc(MAX_BODY_SMALL))]);
  assertRpcStatus(await small.postOtlp(gzipSync(padded), { gzip: true }), 413, 'inflates to just over 1 MiB');
  // and not compressed at all
  assertRpcStatus(await small.postOtlp(padded), 413, 'uncompressed body over 1 MiB');

  const ok = makeBatch({ service: 'bomb-survivor', n: 2 });
  assertFullSuccess(await small.postOtlp(gzipSync(ok.body), { gzip: true }), 'valid gzip after the bomb');
  const j = await waitForTrace(small, ok.traceId, 2);
  assert.equal(j.status, 200, j.text);
  assert.deepEqual(jaegerSpanIds(j.json).sort(), [...ok.spanIds].sort());
  const e = await small.stop();
  assert.equal(e.code, 0, `--max-body server exit ${JSON.stringify(e)}\n${small.logTail()}`);
});

test('wrong content type → 415', async () => {
  const body = makeBatch({ n: 1 }).body;
  for (const [what, headers] of [
    ['text/plain', { 'Content-Type': 'text/plain' }],
    ['application/octet-stream', { 'Content-Type': 'application/octet-stream' }],
    ['no content type', {}],
  ]) {
    assertRpcStatus(await server.post('/v1/traces', body, headers), 415, what);
  }
});

test('wrong method → 405', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await server.request(method, '/v1/traces', { headers: PB });
    assertRpcStatus(res, 405, `${method} /v1/traces`);
  }
});

test('unknown path → 404', async () => {
  assertRpcStatus(await server.post('/v1/tracez', makeBatch({ n: 1 }).body, PB), 404, 'POST /v1/tracez');
  assertRpcStatus(await server.post('/v1/metrics', makeBatch({ n: 1 }).body, PB), 404, 'POST /v1/metrics');
  const r = await server.getJson('/no/such/path');
  assert.equal(r.status, 404, 'GET /no/such/path');
});

test('malformed trace ids in the URL → 400 (Jaeger envelope with an error)', async () => {
  for (const id of ['xyz', 'a'.repeat(33), 'f'.repeat(64), '0123456789abcdef0123456789abcdeg', '-1', 'zz']) {
    const r = await server.getJson(`/api/traces/${id}`);
    assert.equal(r.status, 400, `/api/traces/${id}: ${r.text}`);
    assert.ok(r.json && r.json.data === null && Array.isArray(r.json.errors) && r.json.errors.length >= 1,
      `/api/traces/${id}: envelope ${r.text}`);
    assert.equal(r.json.errors[0].code, 400, `/api/traces/${id}: errors[0].code`);
    assert.ok(typeof r.json.errors[0].msg === 'string' && r.json.errors[0].msg.length > 0,
      `/api/traces/${id}: errors[0].msg`);
    const v = await server.getJson(`/api/v3/traces/${id}`);
    assert.equal(v.status, 400, `/api/v3/traces/${id}: ${v.text}`);
  }
});

test('unknown valid trace id → 404 with the Jaeger envelope', async () => {
  const id = randomTraceId();
  const r = await server.getJson(`/api/traces/${id}`);
  assert.equal(r.status, 404, r.text);
  assert.deepEqual(r.json, {
    data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }],
  });
  const v = await server.getJson(`/api/v3/traces/${id}`);
  assert.equal(v.status, 404, v.text);
});

test('partial success: all-zero trace id rejected, the valid span stored', async () => {
  const okSpan = validSpan({ name: 'valid-one' });
  const zeroTrace = validSpan({ name: 'zero-trace-id', traceId: '00'.repeat(16) });
  const body = encodeExportRequest({
    resourceSpans: [{
      resource: { attributes: kvs({ 'service.name': 'partial' }) },
      scopeSpans: [{ scope: { name: 'tests' }, spans: [zeroTrace, okSpan] }],
    }],
  });
  const res = await server.postOtlp(body);
  assert.equal(res.status, 200, res.body.toString());
  assert.match(String(res.headers['content-type']), /^application\/x-protobuf\b/);
  const r = decodeExportResponse(res.body);
  assert.ok(r.partialSuccess, 'partial_success is set');
  assert.equal(r.partialSuccess.rejectedSpans, 1n, 'rejected_spans');
  assert.ok(r.partialSuccess.errorMessage.length > 0, 'error_message is non-empty');
  stored.spans += 1;
  stored.traces.add(okSpan.traceId);
  const j = await waitForTrace(server, okSpan.traceId, 1);
  assert.equal(j.status, 200, j.text);
  assert.deepEqual(jaegerSpanIds(j.json), [okSpan.spanId]);
  assert.equal(j.json.data[0].spans[0].operationName, 'valid-one');
});

test('partial success: all-zero span id rejected, the valid span stored', async () => {
  const okSpan = validSpan({ name: 'valid-two' });
  const zeroSpan = validSpan({ name: 'zero-span-id', traceId: okSpan.traceId, spanId: '00'.repeat(8) });
  const body = encodeExportRequest({
    resourceSpans: [{
      resource: { attributes: kvs({ 'service.name': 'partial' }) },
      scopeSpans: [{ scope: { name: 'tests' }, spans: [okSpan, zeroSpan] }],
    }],
  });
  const res = await server.postOtlp(body);
  assert.equal(res.status, 200, res.body.toString());
  const r = decodeExportResponse(res.body);
  assert.equal(r.partialSuccess?.rejectedSpans, 1n, 'rejected_spans');
  assert.ok(r.partialSuccess.errorMessage.length > 0, 'error_message is non-empty');
  stored.spans += 1;
  stored.traces.add(okSpan.traceId);
  const j = await waitForTrace(server, okSpan.traceId, 1);
  assert.deepEqual(jaegerSpanIds(j.json), [okSpan.spanId]);
});

test('chunked transfer encoding, plain and gzip (gzip header alone in the first chunk)', async () => {
  const plain = makeBatch({ service: 'chunked', n: 2 });
  const pieces = [];
  for (let i = 0; i < plain.body.length; i += 7) pieces.push(plain.body.subarray(i, i + 7));
  assertFullSuccess(await server.post('/v1/traces', null, PB, { chunks: pieces, chunkDelayMs: 2 }), 'chunked');
  remember(plain);

  const gzBatch = makeBatch({ service: 'chunked-gzip', n: 2 });
  const gz = gzipSync(gzBatch.body);
  const mid = 10 + Math.floor((gz.length - 10) / 2);
  const gzPieces = [gz.subarray(0, 10), gz.subarray(10, mid), gz.subarray(mid)];
  assertFullSuccess(await server.post('/v1/traces', null, { ...PB, 'Content-Encoding': 'gzip' },
    { chunks: gzPieces, chunkDelayMs: 20 }), 'chunked gzip');
  remember(gzBatch);

  for (const b of [plain, gzBatch]) {
    const j = await waitForTrace(server, b.traceId, 2);
    assert.equal(j.status, 200, j.text);
    assert.deepEqual(jaegerSpanIds(j.json).sort(), [...b.spanIds].sort());
  }
});

test('keep-alive: several OTLP requests on one connection (mixed-case headers)', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ports = [];
    const reused = [];
    const batches = [];
    for (let i = 0; i < 6; i++) {
      const b = makeBatch({ service: 'keepalive', n: 1 });
      batches.push(b);
      const headers = i % 2 ? { 'content-TYPE': 'application/x-protobuf' } : { 'CONTENT-TYPE': 'application/x-protobuf' };
      const res = await server.post('/v1/traces', b.body, headers, { agent });
      assertFullSuccess(res, `keep-alive request ${i}`);
      assert.notEqual(String(res.headers.connection).toLowerCase(), 'close', `request ${i}: Connection: close`);
      remember(b);
      ports.push(res.localPort);
      reused.push(res.reusedSocket);
    }
    assert.equal(new Set(ports).size, 1, `all requests on one connection (local ports ${ports.join(',')})`);
    assert.deepEqual(reused, [false, ...Array(reused.length - 1).fill(true)]);
    for (const b of batches) {
      const j = await waitForTrace(server, b.traceId, 1);
      assert.deepEqual(jaegerSpanIds(j.json), b.spanIds);
    }
  } finally {
    agent.destroy();
  }
});

// Not in the contract (yet): reported, but does not fail the suite.
test('keep-alive on the query API too (GET /api/traces/{id} x3 on one connection)',
  { todo: 'not part of the contract; Jaeger/Grafana clients reuse connections' }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports = [];
      for (let i = 0; i < 3; i++) {
        const g = await server.getJson(`/api/traces/${good.traceId}`, { agent });
        assert.equal(g.status, 200, g.text);
        ports.push(g.localPort);
      }
      assert.equal(new Set(ports).size, 1, `GETs on one connection (local ports ${ports.join(',')})`);
    } finally {
      agent.destroy();
    }
  });

test('after all of it: the good trace reads back identically; clean shutdown; store checks out', { timeout: 120000 }, async () => {
  await assertGoodTraceIntact('at the end');
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  assert.deepEqual(server.unexpectedExits, [], 'the server never died on its own');
  const c = await server.check();
  assert.equal(c.code, 0, `tracemap check exit ${c.code}\n${c.stdout}\n${c.stderr}`);
  assert.deepEqual(c.counts, {
    traces: stored.traces.size, spans: stored.spans, duplicates: 0, problems: 0,
  }, `tracemap check output:\n${c.stdout}`);
});
