// Access control and TLS.  Every path the router knows (read from
// server/http.c's route(), ingest_http.c's table and the handlers' own
// sub-paths, so that a new route is covered without touching this file) is
// asked without a token, with a wrong one and with the right one: refused
// with the same 401 and "WWW-Authenticate: Bearer" unless open (/healthz,
// /readyz), and with the token answered exactly as a server without tokens
// answers.  Then the OpenTelemetry JS OTLP exporter sends over https to a
// certificate made here with openssl, and the spans are read back over https.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  requireNodeModules, startServer, tracemapBin, makeBatch, REPO_DIR, httpRequest, sleep,
} from './lib/server.mjs';

requireNodeModules();
const { trace, context } = await import('@opentelemetry/api');
const { ExportResultCode } = await import('@opentelemetry/core');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } =
  await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

const INGEST_TOKEN = 'ingest-7f3a9c1e5b2d4680aa';
const QUERY_TOKEN = 'query-Zx81_kq.-~+/=';
const work = mkdtempSync(join(tmpdir(), 'tracemap-access-'));
const ingestTokenFile = join(work, 'ingest.token');
const queryTokenFile = join(work, 'query.token');
writeFileSync(ingestTokenFile, `${INGEST_TOKEN}\n`);     // the newline is stripped
writeFileSync(queryTokenFile, `${QUERY_TOKEN}\r\n`);

let guarded;   // tokens required
let open;      // the same server without tokens: the oracle
before(async () => {
  guarded = await startServer({
    args: ['--ingest-token-file', ingestTokenFile, '--query-token-file', queryTokenFile],
  });
  open = await startServer();
});
after(async () => {
  await guarded?.close();
  await open?.close();
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// The paths, from the router's source
// ---------------------------------------------------------------------------

const src = (f) => readFileSync(join(REPO_DIR, 'server', f), 'utf8');

/** the body of C function `name` in text */
function cFunction(text, signature) {
  const at = text.indexOf(signature);
  assert.ok(at >= 0, `${signature} not found`);
  return text.slice(at, text.indexOf('\n}\n', at));
}

/** [{path, contentType, body}] of ingest_http.c's routes table */
function ingestRoutes() {
  const text = src('ingest_http.c');
  const table = text.slice(text.indexOf('static const struct ingest_route routes[]'));
  const rows = [...table.slice(0, table.indexOf('\n};')).matchAll(/\{ "(\/[^"]+)", "([^",]+)/g)];
  assert.ok(rows.length >= 4, 'the ingest table has rows');
  return rows.map((m) => ({ path: m[1], contentType: m[2] }));
}

function queryPaths(traceId, service) {
  const route = cFunction(src('http.c'), 'static route_fn route(');
  const exact = [...route.matchAll(/[^n]strcmp\(path, "([^"]+)"\)/g)].map((m) => m[1]);
  const prefixes = [...route.matchAll(/strncmp\(path, "([^"]+)", \d+\)/g)].map((m) => m[1]);
  assert.ok(exact.length >= 10 && prefixes.length >= 4, 'route() was read');
  const zipkin = cFunction(src('api_zipkin.c'), 'enum MHD_Result api_zipkin(');
  const zipkinExact = [...zipkin.matchAll(/[^n]strcmp\(p, "([^"]+)"\)/g)].map((m) => `/api/v2${m[1]}`);
  const zipkinPrefix = [...zipkin.matchAll(/strncmp\(p, "([^"]+)", \d+\)/g)]
    .map((m) => `/api/v2${m[1]}${traceId}`);
  const cp = src('api_critical_path.c');
  const cpPrefix = /#define CP_PREFIX "([^"]+)"/.exec(cp)[1];
  const cpSuffix = /#define CP_SUFFIX "([^"]+)"/.exec(cp)[1];
  const expand = {
    '/api/traces/': [`/api/traces/${traceId}`, `${cpPrefix}${traceId}${cpSuffix}`],
    '/api/v3/traces/': [`/api/v3/traces/${traceId}`],
    '/api/services/': [`/api/services/${service}/operations`],
    '/api/v2/': [...zipkinExact, ...zipkinPrefix],
    '/traces/': [`/traces/${traceId}`],
    '/services/': [`/services/${service}`],
  };
  const paths = new Set(exact);
  for (const p of prefixes) for (const q of expand[p] ?? [`${p}x`]) paths.add(q);
  paths.add('/no/such/path');
  return [...paths];
}

const OPEN_PATHS = ['/healthz', '/readyz'];

// ---------------------------------------------------------------------------
// Bodies for every ingest route, from captured client payloads
// ---------------------------------------------------------------------------

function ingestBody(path) {
  const data = join(REPO_DIR, 'tests', 'data');
  switch (path) {
    case '/v1/traces': return makeBatch({ service: 'access-otlp', n: 3 }).body;
    case '/api/v2/spans': return readFileSync(join(data, 'zipkin', 'zipkinjs_v2.json'));
    case '/api/v1/spans': return readFileSync(join(data, 'zipkin', 'zipkinjs_v1.json'));
    case '/api/traces': return readFileSync(join(data, 'jaeger', 'client_checkout.thrift'));
    default: assert.fail(`a new ingest route ${path}: give this test a body for it`);
  }
}

const bearer = (t) => ({ Authorization: `Bearer ${t}` });
let refusal = null;   // the first 401: every other must equal it

function assertRefused(r, what) {
  assert.equal(r.status, 401, `${what}: status`);
  assert.equal(r.headers['www-authenticate'], 'Bearer', `${what}: WWW-Authenticate`);
  const seen = { type: r.headers['content-type'], body: r.body.toString('utf8') };
  refusal ??= seen;
  assert.deepEqual(seen, refusal, `${what}: the same refusal everywhere`);
}

test('tokens: every ingest path refuses without the ingest token and works with it', async () => {
  const services = async (s) => (await s.getJson('/api/services', { headers: bearer(QUERY_TOKEN) }));
  assert.deepEqual((await services(guarded)).json.data, []);
  for (const { path, contentType } of ingestRoutes()) {
    const body = ingestBody(path);
    const h = { 'Content-Type': contentType };
    const stored = (await services(guarded)).json.data;
    for (const [label, extra] of [['no token', {}], ['the query token', bearer(QUERY_TOKEN)],
      ['a wrong token', bearer(`${INGEST_TOKEN}x`)], ['a prefix', bearer(INGEST_TOKEN.slice(0, -1))],
      ['Basic', { Authorization: `Basic ${Buffer.from(`u:${INGEST_TOKEN}`).toString('base64')}` }]]) {
      assertRefused(await guarded.post(path, body, { ...h, ...extra }), `POST ${path} with ${label}`);
    }
    assert.deepEqual((await services(guarded)).json.data, stored, `${path}: nothing stored when refused`);
    const want = await open.post(path, body, h);
    assert.ok(want.status === 200 || want.status === 202, `open server: POST ${path} ${want.status}`);
    const got = await guarded.post(path, body, { ...h, authorization: `bearer ${INGEST_TOKEN}` });
    assert.equal(got.status, want.status, `POST ${path} with the token`);
  }
  // everything sent with the token was stored, as on the open server
  const a = (await services(guarded)).json.data.sort();
  const b = (await open.getJson('/api/services')).json.data.sort();
  assert.ok(b.length >= 4, `services: ${b}`);
  assert.deepEqual(a, b);
});

test('tokens: every query path and page refuses without the query token and works with it', async () => {
  const { body, traceId, service } = makeBatch({ service: 'access-query', n: 4 });
  for (const s of [guarded, open]) {
    const r = await s.postOtlp(body, { headers: bearer(INGEST_TOKEN) });
    assert.equal(r.status, 200);
  }
  await sleep(200);
  const paths = queryPaths(traceId, service);
  for (const path of paths) {
    if (OPEN_PATHS.includes(path)) continue;
    for (const [label, h] of [['no token', {}], ['the ingest token', bearer(INGEST_TOKEN)],
      ['a wrong token', bearer('nope')], ['an empty token', { Authorization: 'Bearer ' }]]) {
      assertRefused(await guarded.request('GET', path, { headers: h }), `GET ${path} with ${label}`);
    }
    const want = await open.request('GET', path);
    const got = await guarded.request('GET', path, { headers: bearer(QUERY_TOKEN) });
    assert.notEqual(got.status, 401, `GET ${path} with the token`);
    assert.equal(got.status, want.status, `GET ${path}: as a server without tokens answers`);
    assert.equal(got.headers['content-type'], want.headers['content-type'], `GET ${path}`);
  }
  const ok = [];
  for (const p of paths) if ((await guarded.request('GET', p, { headers: bearer(QUERY_TOKEN) })).status === 200) ok.push(p);
  assert.ok(ok.length >= 15, `most paths answer 200 with the token: ${ok.join(' ')}`);
  for (const path of OPEN_PATHS) {
    const r = await guarded.request('GET', path);
    assert.notEqual(r.status, 401, `${path} stays open`);
  }
});

test('tokens: a missing, empty or malformed token file stops the start with one line', async () => {
  const empty = join(work, 'empty.token');
  const blank = join(work, 'newline.token');
  const spaced = join(work, 'spaced.token');
  writeFileSync(empty, '');
  writeFileSync(blank, '\n');
  writeFileSync(spaced, 'two words\n');
  const cases = [
    [['--ingest-token-file', empty], /--ingest-token-file .*empty\.token is empty/],
    [['--query-token-file', blank], /--query-token-file .*newline\.token is empty/],
    [['--query-token-file', spaced], /holds a space/],
    [['--ingest-token-file', join(work, 'missing')], /--ingest-token-file .*missing: No such file/],
  ];
  for (const [args, want] of cases) {
    const r = await new Promise((res) => execFile(tracemapBin(),
      ['--listen', '127.0.0.1:0', '--data', join(work, 'never'), ...args], { timeout: 20000 },
      (err, stdout, stderr) => res({ code: err ? err.code : 0, stderr: String(stderr) })));
    assert.equal(r.code, 2, `${args}: exit`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, / error main: /, 'a log line: time, level, module');
  }
});

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

function makeCertificate() {
  const key = join(work, 'key.pem');
  const cert = join(work, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  return { key, cert, pem: readFileSync(cert, 'utf8') };
}

function httpsGet(url, ca, headers = {}) {
  return new Promise((resolveGet, reject) => {
    const req = https.get(url, { ca, headers, agent: false }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolveGet({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
  });
}

async function exportSpans(url, httpAgentOptions) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'tls-client' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('access-test');
  const root = tracer.startSpan('GET /secure');
  const ctx = trace.setSpan(context.active(), root);
  tracer.startSpan('SELECT orders', {}, ctx).end();
  root.end();
  const spans = memory.getFinishedSpans();
  const exporter = new OTLPTraceExporter({ url, headers: bearer(INGEST_TOKEN), httpAgentOptions,
    timeoutMillis: 10000 });
  const result = await new Promise((res) => exporter.export(spans, res));
  await exporter.shutdown();
  return { result, traceId: root.spanContext().traceId, n: spans.length };
}

test('TLS: the OpenTelemetry JS exporter sends over https; the spans are queryable', async () => {
  const { key, cert, pem } = makeCertificate();
  const server = await startServer({
    args: ['--tls-cert', cert, '--tls-key', key, '--ingest-token-file', ingestTokenFile],
  });
  try {
    assert.match(server.logTail(), /listening on 127\.0\.0\.1:\d+, .*https/);
    const base = `https://127.0.0.1:${server.port}`;
    // without the test CA the exporter must refuse the certificate
    const untrusted = await exportSpans(`${base}/v1/traces`, { ca: undefined });
    assert.equal(untrusted.result.code, ExportResultCode.FAILED, 'self-signed and not trusted');
    const sent = await exportSpans(`${base}/v1/traces`, { ca: pem, keepAlive: true });
    assert.equal(sent.result.code, ExportResultCode.SUCCESS, String(sent.result.error));
    let r;
    for (let i = 0; i < 50; i++) {
      r = await httpsGet(`${base}/api/traces/${sent.traceId}`, pem);
      if (r.status === 200) break;
      await sleep(100);
    }
    assert.equal(r.status, 200, r.text);
    const spans = JSON.parse(r.text).data[0].spans;
    assert.equal(spans.length, sent.n);
    assert.deepEqual(spans.map((s) => s.operationName).sort(), ['GET /secure', 'SELECT orders']);
    assert.equal(spans.find((s) => s.operationName === 'GET /secure').traceID, sent.traceId);
    // plain HTTP on the TLS port gets no HTTP answer
    await assert.rejects(httpRequest('GET', `http://127.0.0.1:${server.port}/api/services`,
      { timeoutMs: 5000 }));
  } finally {
    await server.close();
  }
});

test('TLS: a key that is not the certificate\'s, or a missing file, stops the start', async () => {
  const a = makeCertificate();
  const other = join(work, 'other-key.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-out', other], { stdio: 'pipe' });
  const notPem = join(work, 'not.pem');
  writeFileSync(notPem, 'hello\n');
  for (const [args, want] of [
    [['--tls-cert', a.cert, '--tls-key', other], /with TLS/],
    [['--tls-cert', notPem, '--tls-key', a.key], /--tls-cert .*not\.pem: not a PEM file/],
    [['--tls-cert', a.cert, '--tls-key', join(work, 'nope.pem')], /--tls-key .*nope\.pem: No such file/],
  ]) {
    const r = await new Promise((res) => execFile(tracemapBin(),
      ['--listen', '127.0.0.1:0', '--data', join(work, 'tls-data'), ...args], { timeout: 20000 },
      (err, stdout, stderr) => res({ code: err ? err.code : 0, stderr: String(stderr) })));
    assert.notEqual(r.code, 0, `${args}: must not start`);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /listening on/);
  }
});
