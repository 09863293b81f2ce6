// Bad query parameters get 400 with a message naming the parameter, in the
// dialect of the API (docs/query.md, "Errors"):
//   Jaeger /api/...        application/json {"data":null,...,"errors":[{"code":400,"msg":"..."}]}
//   Zipkin /api/v2/...     text/plain message
//   /api/slow-traces       application/json {"error":"..."}
//   /api/v3/traces         application/json {"error":{"httpCode":400,"message":"..."}}
// and the server keeps answering after each one. Values at the edges of the
// allowed ranges are accepted (200), and huge windows with the largest limits
// answer in reasonable time instead of hanging.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeBatch, randomTraceId } from './lib/server.mjs';

let server;
const SVC = 'bad-params-svc';
const traceIds = [];

before(async () => {
  server = await startServer();
  // a little data, so that the valid and the abusive queries have something to find
  const nowNs = BigInt(Date.now()) * 1000000n;
  for (let i = 0; i < 60; i++) {
    const b = makeBatch({ service: i % 3 ? SVC : `${SVC}-2`, n: 1 + (i % 5),
      baseNs: nowNs - BigInt(i + 1) * 60n * 1000000000n + 123n });
    const r = await server.postOtlp(b.body);
    assert.equal(r.status, 200, r.body.toString());
    traceIds.push(b.traceId);
  }
});
after(async () => {
  await server?.close();
});

const enc = encodeURIComponent;
const T_MIN = '2026-01-15T10:00:00.000000000Z';
const T_MAX = '2026-01-15T11:00:00.000000000Z';
const v3base = `/api/v3/traces?query.service_name=${SVC}`;

/** Does the message name one of the parameters (as a word)? */
function names(msg, params) {
  return params.some((p) => new RegExp(`(^|[^A-Za-z0-9_.])${p.replace(/\./g, '\\.')}([^A-Za-z0-9_]|$)`).test(msg));
}

/** Checks a 400 answer in the dialect of the API; returns the message. */
function check400(r, dialect, path) {
  const where = `GET ${path}`;
  assert.equal(r.status, 400, `${where}: expected 400, got ${r.status}: ${r.text.slice(0, 300)}`);
  const ct = String(r.headers['content-type'] ?? '');
  switch (dialect) {
    case 'jaeger': {
      assert.match(ct, /^application\/json/, `${where}: Content-Type`);
      const j = r.json;
      assert.ok(j && typeof j === 'object', `${where}: a JSON envelope: ${r.text.slice(0, 300)}`);
      assert.equal(j.data, null, `${where}: data is null`);
      assert.ok(Array.isArray(j.errors) && j.errors.length >= 1, `${where}: errors[]: ${r.text}`);
      assert.equal(j.errors[0].code, 400, `${where}: errors[0].code`);
      assert.equal(typeof j.errors[0].msg, 'string', `${where}: errors[0].msg`);
      return j.errors[0].msg;
    }
    case 'zipkin':
      assert.match(ct, /^text\/plain/, `${where}: Content-Type`);
      assert.ok(r.text.length > 0, `${where}: a message`);
      return r.text;
    case 'slow':
      assert.match(ct, /^application\/json/, `${where}: Content-Type`);
      assert.equal(typeof r.json?.error, 'string', `${where}: {"error":"..."}: ${r.text.slice(0, 300)}`);
      return r.json.error;
    case 'v3':
      assert.match(ct, /^application\/json/, `${where}: Content-Type`);
      assert.equal(r.json?.error?.httpCode, 400, `${where}: {"error":{"httpCode":400,...}}: ${r.text.slice(0, 300)}`);
      assert.equal(typeof r.json.error.message, 'string', `${where}: error.message`);
      return r.json.error.message;
    default:
      throw new Error(dialect);
  }
}

async function stillAnswering(after) {
  const r = await server.getJson('/api/v2/services');
  assert.equal(r.status, 200, `the server stopped answering after ${after}: ${r.status} ${r.text.slice(0, 200)}`);
  assert.ok(server.running, `tracemap died after ${after}`);
}

// [path, dialect, parameter names the message may use]
const BAD = [
  // Jaeger search
  ['/api/traces', 'jaeger', ['service']],
  // a service never seen is a mistake worth telling (docs/query.md)
  ['/api/traces?service=no-such-service', 'jaeger', ['service']],
  ['/api/v2/traces?serviceName=no-such-service', 'zipkin', ['serviceName']],
  ['/api/slow-traces?service=no-such-service', 'slow', ['service']],
  ['/api/traces?limit=10', 'jaeger', ['service']],
  [`/api/traces?service=${SVC}&minDuration=abc`, 'jaeger', ['minDuration']],
  [`/api/traces?service=${SVC}&maxDuration=abc`, 'jaeger', ['maxDuration']],
  [`/api/traces?service=${SVC}&minDuration=10ms&maxDuration=5ms`, 'jaeger', ['maxDuration', 'minDuration']],
  [`/api/traces?service=${SVC}&minDuration=10`, 'jaeger', ['minDuration']], // a Go duration needs a unit
  [`/api/traces?service=${SVC}&limit=-1`, 'jaeger', ['limit']],
  [`/api/traces?service=${SVC}&limit=0`, 'jaeger', ['limit']],
  [`/api/traces?service=${SVC}&limit=1501`, 'jaeger', ['limit']],
  [`/api/traces?service=${SVC}&limit=100000`, 'jaeger', ['limit']],
  [`/api/traces?service=${SVC}&limit=abc`, 'jaeger', ['limit']],
  [`/api/traces?service=${SVC}&start=2000000&end=1000000`, 'jaeger', ['start', 'end']],
  [`/api/traces?service=${SVC}&start=abc`, 'jaeger', ['start']],
  [`/api/traces?service=${SVC}&end=abc`, 'jaeger', ['end']],
  [`/api/traces?service=${SVC}&tags=${enc('{not json')}`, 'jaeger', ['tags']],
  [`/api/traces?service=${SVC}&tags=${enc('[1,2]')}`, 'jaeger', ['tags']],
  [`/api/traces?service=${SVC}&tags=${enc('"http.method"')}`, 'jaeger', ['tags']],
  [`/api/traces?service=${SVC}&tag=nocolon`, 'jaeger', ['tag', 'tags']],
  ['/api/operations', 'jaeger', ['service']],
  ['/api/operations?spanKind=server', 'jaeger', ['service']],
  // Zipkin search
  ['/api/v2/traces?endTs=0', 'zipkin', ['endTs']],
  ['/api/v2/traces?endTs=abc', 'zipkin', ['endTs']],
  ['/api/v2/traces?lookback=-5', 'zipkin', ['lookback']],
  ['/api/v2/traces?lookback=0', 'zipkin', ['lookback']],
  ['/api/v2/traces?limit=0', 'zipkin', ['limit']],
  ['/api/v2/traces?limit=-3', 'zipkin', ['limit']],
  ['/api/v2/traces?limit=1501', 'zipkin', ['limit']],
  ['/api/v2/traces?minDuration=0', 'zipkin', ['minDuration']],
  ['/api/v2/traces?minDuration=abc', 'zipkin', ['minDuration']],
  ['/api/v2/traces?maxDuration=100', 'zipkin', ['maxDuration', 'minDuration']],
  ['/api/v2/traces?minDuration=200&maxDuration=100', 'zipkin', ['maxDuration', 'minDuration']],
  // Zipkin by ID
  [`/api/v2/traceMany?traceIds=${randomTraceId()}`, 'zipkin', ['traceIds']],
  [`/api/v2/traceMany?traceIds=${'ab'.repeat(16)},${'ab'.repeat(16)}`, 'zipkin', ['traceIds']],
  ['/api/v2/traceMany?traceIds=', 'zipkin', ['traceIds']],
  ['/api/v2/traceMany', 'zipkin', ['traceIds']],
  ['/api/v2/trace/xyz', 'zipkin', ['xyz', 'traceId', 'trace ID', 'trace id']],
  // slow traces
  ['/api/slow-traces?limit=-1', 'slow', ['limit']],
  ['/api/slow-traces?limit=0', 'slow', ['limit']],
  ['/api/slow-traces?limit=10001', 'slow', ['limit']],
  ['/api/slow-traces?limit=abc', 'slow', ['limit']],
  ['/api/slow-traces?start=abc', 'slow', ['start']],
  ['/api/slow-traces?end=abc', 'slow', ['end']],
  ['/api/slow-traces?start=2000000&end=1000000', 'slow', ['start', 'end']],
  // /api/v3
  [`${v3base}&query.start_time_max=${enc(T_MAX)}`, 'v3', ['query.start_time_min', 'query.startTimeMin', 'start_time_min', 'startTimeMin']],
  [`${v3base}&query.start_time_min=${enc(T_MIN)}`, 'v3', ['query.start_time_max', 'query.startTimeMax', 'start_time_max', 'startTimeMax']],
  [`${v3base}&query.start_time_min=yesterday&query.start_time_max=${enc(T_MAX)}`, 'v3',
    ['query.start_time_min', 'query.startTimeMin', 'start_time_min', 'startTimeMin']],
  [`${v3base}&query.start_time_min=${enc('2026-01-15 10:00:00')}&query.start_time_max=${enc(T_MAX)}`, 'v3',
    ['query.start_time_min', 'query.startTimeMin', 'start_time_min', 'startTimeMin']],
  [`${v3base}&query.start_time_min=${enc(T_MIN)}&query.start_time_max=${enc('2026-13-45T10:00:00Z')}`, 'v3',
    ['query.start_time_max', 'query.startTimeMax', 'start_time_max', 'startTimeMax']],
  [`${v3base}&query.startTimeMin=${enc(T_MIN)}&query.startTimeMax=${enc('2026-01-15T11:00:00.000000000')}`, 'v3',
    ['query.start_time_max', 'query.startTimeMax', 'start_time_max', 'startTimeMax']],
];

for (const [path, dialect, params] of BAD) {
  test(`400 naming ${params[0]}: GET ${path}`, async () => {
    const r = await server.getJson(path);
    const msg = check400(r, dialect, path);
    assert.ok(names(msg, params), `GET ${path}: the message must name ${params.join(' or ')}: ${JSON.stringify(msg)}`);
    await stillAnswering(path);
  });
}

// Edges that are allowed: validation must not be stricter than docs/query.md.
const GOOD = [
  `/api/traces?service=${SVC}&limit=1`,
  `/api/traces?service=${SVC}&limit=1500`,
  `/api/traces?service=${SVC}&lookback=custom`,
  `/api/traces?service=${SVC}&lookback=1h`,
  `/api/traces?service=${SVC}&minDuration=1.5ms&maxDuration=1.5ms`,
  `/api/traces?service=${SVC}&minDuration=${enc('15µs')}&maxDuration=2m`,
  `/api/traces?service=${SVC}&minDuration=100ns&maxDuration=1h`,
  `/api/traces?service=${SVC}&tags=${enc('{}')}`,
  `/api/traces?service=${SVC}&tag=${enc('http.url:http://example.com:8080/x')}`,
  `/api/traces?service=${SVC}&start=1000000&end=1000000`,
  '/api/operations?service=no-such-service',
  `/api/operations?service=${SVC}&spanKind=`,
  '/api/v2/traces?limit=1',
  '/api/v2/traces?limit=1500',
  '/api/v2/traces?minDuration=1',
  '/api/v2/traces?minDuration=5&maxDuration=5',
  '/api/v2/traces?spanName=all',
  `/api/v2/traceMany?traceIds=${'ab'.repeat(16)},${'cd'.repeat(16)}`,
  '/api/slow-traces?limit=1',
  '/api/slow-traces?limit=10000',
  '/api/slow-traces?start=1000000&end=1000000',
];

for (const path of GOOD) {
  test(`200 at an edge of the allowed range: GET ${path}`, async () => {
    const r = await server.getJson(path);
    assert.equal(r.status, 200, `GET ${path}: ${r.text.slice(0, 300)}`);
    assert.match(String(r.headers['content-type']), /^application\/json/, `GET ${path}: Content-Type`);
    assert.notEqual(r.json, undefined, `GET ${path}: JSON body`);
  });
}

test('no match is 200 with an empty answer, not an error', async () => {
  const j = await server.getJson(`/api/traces?service=${SVC}&operation=no-such-op`);
  assert.deepEqual(j.json.data, []);
  const z = await server.getJson(`/api/v2/traces?serviceName=${SVC}&spanName=no-such-op`);
  assert.deepEqual(z.json, []);
  const s = await server.getJson(`/api/slow-traces?service=${SVC}&operation=no-such-op`);
  assert.deepEqual(s.json.data, []);
  assert.equal(s.json.total, 0);
  const v3 = await server.getJson(`/api/v3/traces?query.service_name=${SVC}&query.operation_name=no-such-op` +
    `&query.start_time_min=${enc(T_MIN)}&query.start_time_max=${enc(T_MAX)}`);
  assert.equal(v3.status, 404, v3.text);
  assert.equal(v3.json?.error?.httpCode, 404, v3.text);
});

// Abuse: the widest windows with the largest limits must answer, quickly.
const HUNDRED_YEARS_MS = 100 * 365 * 24 * 3600 * 1000;
const ABUSE = [
  `/api/v2/traces?lookback=${HUNDRED_YEARS_MS}&limit=1500`,
  `/api/v2/traces?endTs=${Date.now() + HUNDRED_YEARS_MS}&lookback=${2 * HUNDRED_YEARS_MS}&limit=1500&annotationQuery=${enc('test.kind=batch')}`,
  `/api/v2/traces?serviceName=${SVC}&lookback=${HUNDRED_YEARS_MS}&limit=1500&minDuration=1`,
  `/api/traces?service=${SVC}&start=0&end=${Number.MAX_SAFE_INTEGER}&limit=1500`,
  `/api/traces?service=${SVC}&start=0&end=${Number.MAX_SAFE_INTEGER}&limit=1500&tags=${enc('{"test.kind":"batch"}')}`,
  `/api/slow-traces?start=0&end=${Number.MAX_SAFE_INTEGER}&limit=10000`,
  `/api/v3/traces?query.service_name=${SVC}&query.start_time_min=${enc('1970-01-01T00:00:00.000000000Z')}` +
    `&query.start_time_max=${enc('2200-01-01T00:00:00.000000000Z')}&query.num_traces=1500`,
];

for (const path of ABUSE) {
  test(`a huge window answers in reasonable time: GET ${path}`, { timeout: 30000 }, async () => {
    const t0 = Date.now();
    const r = await server.getJson(path, { timeoutMs: 20000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 200, `GET ${path}: ${r.text.slice(0, 300)}`);
    assert.ok(ms < 10000, `GET ${path} took ${ms} ms`);
    const n = Array.isArray(r.json) ? r.json.length
      : Array.isArray(r.json?.data) ? r.json.data.length
        : new Set((r.json?.result?.resourceSpans ?? []).flatMap((rs) => (rs.scopeSpans ?? [])
          .flatMap((ss) => (ss.spans ?? []).map((s) => s.traceId)))).size;
    assert.ok(n > 0, `GET ${path}: finds the stored traces`);
    await stillAnswering(path);
  });
}

test('the server is still up and never exited on its own', async () => {
  await stillAnswering('all of the above');
  const r = await server.getJson(`/api/traces/${traceIds[0]}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(server.unexpectedExits, []);
});
