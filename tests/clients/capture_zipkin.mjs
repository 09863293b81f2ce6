// The three-service scenario sent by real Zipkin clients, and what tracemap
// must store for it.
//
// As a module it exports, for zipkin.test.mjs:
//   sendZipkinJs()       zipkin-js (`zipkin` + `zipkin-transport-http`) with the
//                        JSON v2 or its default v1 encoder
//   sendOtelViaZipkin()  the OpenTelemetry JS SDK's trace of capture_payload.mjs
//                        exported by @opentelemetry/exporter-zipkin
//   expectedZipkinJs(), expectedOtelViaZipkin()
//                        the spans tracemap must store, in one normalised shape
//                        (see normalizeOtlpJson() in zipkin.test.mjs)
//
// As a script it sends each, deterministically (fixed ids and times), to a
// capture server on 127.0.0.1 and saves the raw bodies:
//
//   node tests/clients/capture_zipkin.mjs
//
// writes tests/data/zipkin/{otel_exporter,zipkinjs_v2,zipkinjs_v1}.json (the
// inputs of the golden-file unit tests) and the same bodies, prefixed with the
// decoder selector byte, into tests/fuzz/corpus/zipkin/ (fuzz_zipkin.c: '0' v2
// JSON, '1' protobuf, '2' v1 JSON), the v2 bodies also re-encoded as
// protobuf (encodeListOfSpans(); no JS client sends Zipkin's protobuf).

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

import zipkin from 'zipkin';
import zipkinTransportHttp from 'zipkin-transport-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { ExportResultCode } from '@opentelemetry/core';

import { buildTrace, startCaptureServer, hrToNs, FIXED_T0_NS } from './capture_payload.mjs';
import { fVarint, fLen, fString, fFixed64 } from './lib/server.mjs';

const {
  Tracer, BatchRecorder, ExplicitContext, Annotation, InetAddress, TraceId, option, jsonEncoder,
} = zipkin;
const { HttpLogger } = zipkinTransportHttp;

const HERE = dirname(fileURLToPath(import.meta.url));
export const DATA_DIR = resolve(HERE, '..', 'data', 'zipkin');
export const CORPUS_DIR = resolve(HERE, '..', 'fuzz', 'corpus', 'zipkin');

/** 2026-01-15T10:00:00Z in µs (the time of capture_payload.mjs). */
export const FIXED_T0_US = Number(FIXED_T0_NS / 1000n);

// ---------------------------------------------------------------------------
// The scenario as zipkin-js instruments it
// ---------------------------------------------------------------------------

/**
 * frontend  GET /checkout            SERVER root, client address, event
 * frontend  └ POST /api/checkout     CLIENT to checkout (402: error "402")
 * checkout    └ POST /api/checkout   SERVER, B3 join: the client's span id
 * checkout      ├ SELECT shop.orders CLIENT to an uninstrumented postgres
 * checkout      └ POST /charge       CLIENT to payment (error "402")
 * payment         └ POST /charge     SERVER, joined; error with its exception
 * payment           └ validate card  local span, event
 *
 * Times are µs after t0; `join` names the client span whose id a server
 * reuses; tag values of several JS types (zipkin-js turns each into a string).
 */
export const ZIPKIN_JS_SPANS = [
  {
    key: 'root', service: 'frontend', kind: 'SERVER', name: 'GET /checkout', parent: null,
    start: 0, end: 250000, local: { ipv4: '10.0.0.1', port: 8080 },
    remote: { ipv4: '10.0.0.99', port: 51000 },
    tags: { 'http.path': '/checkout', 'http.status_code': 200, 'app.canary': true, 'app.ratio': 0.25,
      'app.text': 'héllo wörld ✓ "quoted" \\ back\nslash', 'app.empty': '' },
    messages: [[1500, 'cache.miss'], [2500, 'auth.ok']],
  },
  {
    key: 'feClient', service: 'frontend', kind: 'CLIENT', name: 'POST /api/checkout', parent: 'root',
    start: 10000, end: 240000, remote: { serviceName: 'checkout', ipv4: '10.0.0.2', port: 8080 },
    tags: { 'http.path': '/api/checkout', 'http.status_code': 402, error: 402 },
  },
  {
    key: 'coServer', service: 'checkout', kind: 'SERVER', name: 'POST /api/checkout', join: 'feClient',
    start: 12000, end: 238000, local: { ipv4: '10.0.0.2', port: 8080 }, remote: { ipv4: '10.0.0.1' },
    tags: { 'http.path': '/api/checkout', 'http.status_code': 402, 'app.cart.items': 3,
      'app.cart.total': 129.99, error: 'payment declined' },
    messages: [[237000, 'Error: payment declined: card expired']],
  },
  {
    key: 'db', service: 'checkout', kind: 'CLIENT', name: 'SELECT shop.orders', parent: 'coServer',
    start: 15000, end: 45000, remote: { serviceName: 'postgres', port: 5432 },
    tags: { 'sql.query': 'SELECT id, total FROM orders WHERE cart_id = $1', 'db.rows': 1 },
  },
  {
    key: 'coClient', service: 'checkout', kind: 'CLIENT', name: 'POST /charge', parent: 'coServer',
    start: 50000, end: 230000, remote: { serviceName: 'payment', ipv4: '10.0.0.3', port: 9000 },
    tags: { 'http.path': '/charge', 'http.status_code': 402, error: 402 },
  },
  {
    key: 'payServer', service: 'payment', kind: 'SERVER', name: 'POST /charge', join: 'coClient',
    start: 52000, end: 228000, local: { ipv4: '10.0.0.3', port: 9000 },
    tags: { 'http.path': '/charge', 'payment.amount_cents': 12999, 'payment.currency': 'EUR',
      error: 'card declined by issuer (code 51)' },
    messages: [[227000, 'CardDeclinedError: card declined by issuer (code 51)']],
  },
  {
    key: 'validate', service: 'payment', kind: 'LOCAL', name: 'validate card', parent: 'payServer',
    start: 60000, end: 90000,
    tags: { 'card.brand': 'visa', 'card.luhn_ok': true, 'card.risk_score': 0.87 },
    messages: [[75000, 'risk.evaluated']],
  },
];

/** splitmix64 ids from a seed (never zero), or random ones without a seed. */
export function idSource(seed) {
  let state = BigInt.asUintN(64, BigInt(seed ?? Math.floor(Math.random() * 2 ** 48)) *
    0x9e3779b97f4a7c15n + 0x632be59bd9b4e019n);
  return () => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z ^= z >> 31n;
    return (z === 0n ? 1n : z).toString(16).padStart(16, '0');
  };
}

/** Resolves when the logger has POSTed its queue (rejects on an error answer). */
export function flushLogger(logger) {
  return new Promise((resolveFlush, rejectFlush) => {
    const onOk = (res) => { logger.off('error', onErr); resolveFlush(res); };
    const onErr = (err) => { logger.off('success', onOk); rejectFlush(err); };
    logger.once('success', onOk);
    logger.once('error', onErr);
    logger.processQueue(logger.fetchImplementation);
  });
}

/** Records one span of the scenario with the zipkin-js Tracer API, as its
 * HTTP instrumentation does, at explicit times. */
function recordSpan(tracer, id, spec, t0) {
  const at = (us) => t0 + us;
  tracer.letId(id, () => {
    tracer.recordServiceName(spec.service);
    if (spec.local) {
      tracer.recordAnnotation(new Annotation.LocalAddr({
        host: new InetAddress(spec.local.ipv4), port: spec.local.port,
      }));
    }
    if (spec.kind === 'LOCAL') {
      tracer.recordAnnotation(new Annotation.LocalOperationStart(spec.name), at(spec.start));
    } else {
      tracer.recordRpc(spec.name);
      tracer.recordAnnotation(spec.kind === 'CLIENT' ? new Annotation.ClientSend()
        : new Annotation.ServerRecv(), at(spec.start));
    }
    const r = spec.remote;
    if (r && spec.kind === 'CLIENT') {
      tracer.recordAnnotation(new Annotation.ServerAddr({
        serviceName: r.serviceName, host: r.ipv4 && new InetAddress(r.ipv4), port: r.port,
      }));
    } else if (r) {
      tracer.recordAnnotation(new Annotation.ClientAddr({
        host: new InetAddress(r.ipv4), port: r.port,
      }));
    }
    for (const [k, v] of Object.entries(spec.tags)) tracer.recordBinary(k, v);
    for (const [us, text] of spec.messages ?? []) {
      tracer.recordAnnotation(new Annotation.Message(text), at(us));
    }
    const end = spec.kind === 'LOCAL' ? new Annotation.LocalOperationStop()
      : spec.kind === 'CLIENT' ? new Annotation.ClientRecv() : new Annotation.ServerSend();
    tracer.recordAnnotation(end, at(spec.end));
  });
}

/**
 * Sends the zipkin-js scenario to `endpoint` (…/api/v2/spans with
 * encoder 'v2', …/api/v1/spans with 'v1', zipkin-js's default).
 * opts: seed (ids), t0Us (µs), traceId128 (128-bit trace id), specs.
 * Returns {traceId, t0Us, sent: [{spec, traceId, spanId, parentId}], answer}.
 */
export async function sendZipkinJs({ endpoint, encoder = 'v2', seed = null, t0Us = null,
  traceId128 = false, specs = ZIPKIN_JS_SPANS } = {}) {
  const t0 = t0Us ?? (Date.now() - 60000) * 1000;
  const nextId = idSource(seed);
  const traceId = traceId128 ? nextId() + nextId() : nextId();
  const logger = new HttpLogger({
    endpoint, httpInterval: 3600000, log: { error() {} },
    ...(encoder === 'v2' ? { jsonEncoder: jsonEncoder.JSON_V2 } : {}),
  });
  const recorder = new BatchRecorder({ logger });
  const tracers = new Map();
  const tracerOf = (service) => {
    if (!tracers.has(service)) {
      tracers.set(service, new Tracer({
        ctxImpl: new ExplicitContext(), recorder, localServiceName: service, traceId128Bit: traceId128,
      }));
    }
    return tracers.get(service);
  };
  const ids = new Map(); // key → TraceId
  const sent = [];
  for (const spec of specs) {
    const tracer = tracerOf(spec.service);
    let id;
    if (spec.join) {
      // what the B3 headers carry to the server, which joins the client's span
      const client = ids.get(spec.join);
      id = tracer.join(new TraceId({
        traceId: client.traceId, spanId: client.spanId, parentId: client.parentSpanId,
        sampled: new option.Some(true),
      }));
    } else {
      const parent = spec.parent ? ids.get(spec.parent) : null;
      // zipkin-js gives a root span the low half of its trace id
      id = new TraceId({
        traceId, spanId: parent ? nextId() : traceId.slice(-16),
        parentId: parent ? new option.Some(parent.spanId) : option.None,
        sampled: new option.Some(true),
      });
    }
    ids.set(spec.key, id);
    recordSpan(tracer, id, spec, t0);
    sent.push({ spec, traceId, spanId: id.spanId, parentId: id.parentSpanId.getOrElse(null) });
  }
  const answer = await flushLogger(logger);
  return { traceId, t0Us: t0, sent, answer: { status: answer.status } };
}

// ---------------------------------------------------------------------------
// What tracemap stores (the normalised shape of zipkin.test.mjs)
// ---------------------------------------------------------------------------

const KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5, LOCAL: 1 };
const str = (v) => ({ stringValue: String(v) });
const int = (v) => ({ intValue: BigInt(v) });
const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const pad32 = (id) => id.padStart(32, '0');

/** The remote endpoint as span attributes, under the names of its role. */
function remoteAttrs(kind, remote) {
  const out = [];
  if (!remote) return out;
  if (remote.serviceName) out.push({ key: 'peer.service', value: str(remote.serviceName) });
  const role = kind === 'SERVER' ? 'client' : kind === 'LOCAL' ? null : 'server';
  if (remote.ipv4) {
    out.push({ key: 'network.peer.address', value: str(remote.ipv4) });
    if (role) out.push({ key: `${role}.address`, value: str(remote.ipv4) });
  }
  if (remote.port) {
    out.push({ key: 'network.peer.port', value: int(remote.port) });
    if (role) out.push({ key: `${role}.port`, value: int(remote.port) });
  }
  return out;
}

/** The spans tracemap must hold for sendZipkinJs()'s result. */
export function expectedZipkinJs({ sent, t0Us }) {
  return sent.map(({ spec, traceId, spanId, parentId }) => {
    const shared = !!spec.join;
    const attributes = Object.entries(spec.tags).map(([key, v]) => ({ key, value: str(v) }));
    attributes.push(...remoteAttrs(spec.kind, spec.remote));
    if (shared && parentId) attributes.push({ key: 'zipkin.parent_id', value: str(parentId) });
    const error = spec.tags.error;
    const resource = [{ key: 'service.name', value: str(spec.service) }];
    if (spec.local) {
      resource.push({ key: 'host.ip', value: { arrayValue: { values: [str(spec.local.ipv4)] } } });
    }
    return {
      traceId: pad32(traceId),
      spanId,
      // a joined server span is the child of the client span of its own id
      parentSpanId: shared ? spanId : parentId ?? '',
      name: spec.name.toLowerCase(), // zipkin-js lower-cases span names
      kind: KIND[spec.kind],
      flags: 0,
      start: BigInt(t0Us + spec.start) * 1000n,
      end: BigInt(t0Us + spec.end) * 1000n,
      attributes: attributes.sort(byKey),
      events: (spec.messages ?? []).map(([us, name]) => ({ time: BigInt(t0Us + us) * 1000n, name })),
      status: error === undefined ? { code: 0, message: '' }
        : { code: 2, message: String(error) === 'true' ? '' : String(error) },
      resource: resource.sort(byKey),
      scope: { name: '', version: '' },
      service: spec.service,
      key: spec.key,
    };
  });
}

// ---------------------------------------------------------------------------
// The OpenTelemetry SDK's trace through @opentelemetry/exporter-zipkin
// ---------------------------------------------------------------------------

/**
 * Builds the trace of capture_payload.mjs (its own OTLP export goes to a
 * capture server and is dropped), then hands the finished spans to the
 * Zipkin exporter, which POSTs them to `url` (…/api/v2/spans).
 * Returns {traceId, spans (ReadableSpan[]), result: {code, error}}.
 */
export async function sendOtelViaZipkin({ url, seed = null, t0Ns = null, fixedStacks = false } = {}) {
  const cap = await startCaptureServer();
  let built;
  try {
    built = await buildTrace({ url: `${cap.url}/v1/traces`, seed, t0Ns, fixedStacks });
  } finally {
    await cap.close();
  }
  const exporter = new ZipkinExporter({ url });
  const result = await new Promise((r) => exporter.export(built.spans, r));
  await exporter.shutdown();
  return { traceId: built.traceId, spans: built.spans, result };
}

/** hrTimeToMicroseconds() of @opentelemetry/core: a fraction of a µs is kept
 * (the exporter rounds durations and event times, not span starts; tracemap
 * rounds the start to the nearest µs). */
const hrUs = (t) => t[0] * 1e6 + t[1] / 1e3;

/** The spans tracemap must hold for spans sent through the Zipkin exporter:
 * every attribute and resource attribute as a string tag, status from
 * otel.status_code and error, no links, no scope, no trace state. */
export function expectedOtelViaZipkin(spans) {
  return spans.map((s) => {
    const ctx = s.spanContext();
    const tags = new Map(Object.entries(s.attributes).map(([k, v]) => [k, String(v)]));
    if (s.status.code === 2 && s.status.message) tags.set('error', s.status.message);
    for (const [k, v] of Object.entries(s.resource.attributes)) tags.set(k, String(v));
    const startUs = Math.round(hrUs(s.startTime));
    const durUs = Math.round(hrUs(s.duration));
    return {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: s.parentSpanContext?.spanId ?? '',
      name: s.name,
      kind: s.kind + 1,
      flags: 0,
      start: BigInt(startUs) * 1000n,
      end: BigInt(startUs + durUs) * 1000n,
      attributes: [...tags].map(([key, v]) => ({ key, value: str(v) })).sort(byKey),
      events: s.events.map((e) => ({ time: BigInt(Math.round(hrUs(e.time))) * 1000n, name: e.name })),
      status: { code: s.status.code, message: s.status.code === 2 ? s.status.message ?? '' : '' },
      resource: [{ key: 'service.name', value: str(s.resource.attributes['service.name']) }],
      scope: { name: '', version: '' },
      service: s.resource.attributes['service.name'],
      key: ctx.spanId,
    };
  });
}

// ---------------------------------------------------------------------------
// The same spans as zipkin.proto3.ListOfSpans (no JS client sends it)
// ---------------------------------------------------------------------------

const PROTO_KIND = { CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 };

function ipBytes(text, family) {
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  const [head, tail = ''] = text.split('::');
  const words = (t) => (t ? t.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head), t = words(tail);
  const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, 2 * i));
  return b;
}

function encodeEndpoint(no, e) {
  if (!e) return null;
  return fLen(no, Buffer.concat([
    e.serviceName ? fString(1, e.serviceName) : Buffer.alloc(0),
    e.ipv4 ? fLen(2, ipBytes(e.ipv4, 4)) : Buffer.alloc(0),
    e.ipv6 ? fLen(3, ipBytes(e.ipv6, 6)) : Buffer.alloc(0),
    e.port ? fVarint(4, e.port) : Buffer.alloc(0),
  ]));
}

/** A v2 JSON span list as the protobuf body of the same spans (times in
 * whole µs, as the proto has them). */
export function encodeListOfSpans(spans) {
  const span = (z) => Buffer.concat([
    fLen(1, Buffer.from(z.traceId, 'hex')),
    z.parentId ? fLen(2, Buffer.from(z.parentId, 'hex')) : null,
    fLen(3, Buffer.from(z.id, 'hex')),
    z.kind ? fVarint(4, PROTO_KIND[z.kind]) : null,
    z.name ? fString(5, z.name) : null,
    z.timestamp ? fFixed64(6, Math.round(z.timestamp)) : null,
    z.duration ? fVarint(7, Math.round(z.duration)) : null,
    encodeEndpoint(8, z.localEndpoint),
    encodeEndpoint(9, z.remoteEndpoint),
    ...(z.annotations ?? []).map((a) => fLen(10, Buffer.concat([
      fFixed64(1, Math.round(a.timestamp)), fString(2, a.value)]))),
    ...Object.entries(z.tags ?? {}).map(([k, v]) => fLen(11, Buffer.concat([
      fString(1, k), fString(2, v)]))),
    z.debug ? fVarint(12, 1) : null,
    z.shared ? fVarint(13, 1) : null,
  ].filter(Boolean));
  return Buffer.concat(spans.map((z) => fLen(1, span(z))));
}

// ---------------------------------------------------------------------------
// Capture
// ---------------------------------------------------------------------------

async function captureOnce(send) {
  const cap = await startCaptureServer();
  let out;
  try {
    out = await send(cap.url);
  } finally {
    await cap.close();
  }
  assert.equal(cap.requests.length, 1, 'exactly one request');
  return { ...out, request: cap.requests[0] };
}

function save(name, selector, req) {
  writeFileSync(join(DATA_DIR, `${name}.json`), req.body);
  writeFileSync(join(CORPUS_DIR, `${name}.bin`), Buffer.concat([Buffer.from(selector), req.body]));
  if (selector === '0') {
    const proto = encodeListOfSpans(JSON.parse(req.body));
    writeFileSync(join(CORPUS_DIR, `${name}_proto.bin`), Buffer.concat([Buffer.from('1'), proto]));
  }
  console.log(`${name}: ${req.method} ${req.url} ${req.headers['content-type']} ` +
    `(${req.body.length} bytes, content-length ${req.headers['content-length'] ?? '-'}, ` +
    `transfer-encoding ${req.headers['transfer-encoding'] ?? '-'})`);
}

async function main() {
  mkdirSync(DATA_DIR, { recursive: true });
  mkdirSync(CORPUS_DIR, { recursive: true });

  const otel = await captureOnce((u) => sendOtelViaZipkin({
    url: `${u}/api/v2/spans`, seed: 1, t0Ns: FIXED_T0_NS, fixedStacks: true,
  }));
  assert.equal(otel.result.code, ExportResultCode.SUCCESS);
  assert.equal(JSON.parse(otel.request.body).length, otel.spans.length);
  save('otel_exporter', '0', otel.request);

  for (const encoder of ['v2', 'v1']) {
    const z = await captureOnce((u) => sendZipkinJs({
      endpoint: `${u}/api/${encoder}/spans`, encoder, seed: 42, t0Us: FIXED_T0_US,
    }));
    assert.equal(JSON.parse(z.request.body).length, ZIPKIN_JS_SPANS.length);
    save(`zipkinjs_${encoder}`, encoder === 'v2' ? '0' : '2', z.request);
  }
  console.log(`OTel trace ${otel.traceId}, first span at ${hrToNs(otel.spans[0].startTime)} ns`);
  writeHandSeeds();
}

/** Seeds that are no capture: the hand-written unit-test inputs (also as
 * protobuf) and bodies each decoder must refuse. */
function writeHandSeeds() {
  const seed = (name, selector, body) => writeFileSync(join(CORPUS_DIR, `${name}.bin`),
    Buffer.concat([Buffer.from(selector), Buffer.from(body)]));
  for (const name of ['v2_shared_64bit', 'v2_zero_values']) {
    const body = readFileSync(join(DATA_DIR, `${name}.json`));
    seed(name, '0', body);
    seed(`${name}_proto`, '1', encodeListOfSpans(JSON.parse(body)));
  }
  seed('v1_merged', '2', readFileSync(join(DATA_DIR, 'v1_merged.json')));
  seed('bad_malformed', '0', '[{"traceId":"5af7183fb1d4cf5f",');
  seed('bad_not_array', '2', '{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c"}');
  seed('bad_deep', '0', `[{"x":${'['.repeat(3000)}${']'.repeat(3000)}}]`);
  seed('bad_tag_type', '0', '[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","tags":{"a":1}}]');
  seed('bad_proto_length', '1', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  seed('empty_v1', '2', '[]');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
