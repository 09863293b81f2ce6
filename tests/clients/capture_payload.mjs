// The reference multi-service trace, sent with the real OpenTelemetry JS SDK.
//
// As a module it exports buildTrace() (used by otlp_sdk.test.mjs) and
// expectedOtlp() (what the SDK's spans look like in OTLP terms).
//
// As a script it sends the trace, deterministically (fixed ids, times and
// stack trace), to a tiny capture server on 127.0.0.1 and saves the raw
// protobuf body the exporter POSTs:
//
//   node tests/clients/capture_payload.mjs [OUT]   (default: tests/data/otlp_sdk_trace.pb)
//
// It checks the captured bytes against the SDK's spans with the decoder in
// lib/server.mjs before writing, and prints a summary of the content.

import { writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import assert from 'node:assert/strict';

import {
  trace, SpanKind, SpanStatusCode, SamplingDecision, ROOT_CONTEXT,
  defaultTextMapGetter, defaultTextMapSetter, TraceFlags,
} from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator, ExportResultCode } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_ROUTE,
  ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_FULL, ATTR_URL_PATH, ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';

import { decodeExportRequest } from './lib/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT = resolve(HERE, '..', 'data', 'otlp_sdk_trace.pb');

/** 2026-01-15T10:00:00Z in ns; every span start/end is T0 + k µs + 321 ns. */
export const FIXED_T0_NS = 1768471200n * 1000000000n;
export const SUB_US_NS = 321n;

// ---------------------------------------------------------------------------
// Ids: deterministic from a seed (splitmix64), never zero.
// ---------------------------------------------------------------------------
function seededIdGenerator(seed) {
  let state = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 0x632be59bd9b4e019n);
  const next = () => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z = z ^ (z >> 31n);
    return z === 0n ? 1n : z;
  };
  const h16 = () => next().toString(16).padStart(16, '0');
  return {
    generateTraceId: () => h16() + h16(),
    generateSpanId: () => h16(),
  };
}

const hr = (ns) => [Number(ns / 1000000000n), Number(ns % 1000000000n)];
export const hrToNs = (t) => BigInt(t[0]) * 1000000000n + BigInt(t[1]);

/** Wraps the real exporter to record each export's result (code, span count). */
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.results = [];
  }
  export(spans, resultCallback) {
    this.inner.export(spans, (result) => {
      this.results.push({ code: result.code, error: result.error, spans: spans.length });
      resultCallback(result);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

/**
 * Send one trace across three services with the OpenTelemetry JS SDK:
 *
 *   frontend  GET /checkout (SERVER, root, tracestate, events, all attribute types)
 *   frontend  └ POST /api/checkout (CLIENT, status OK)
 *   checkout    └ POST /api/checkout (SERVER, remote parent via W3C traceparent,
 *                  link, exception, status ERROR)
 *   checkout      ├ SELECT shop.orders (CLIENT, scope "pg-instrumentation", db.*)
 *   checkout      ├ orders publish (PRODUCER)
 *   checkout      └ POST /charge (CLIENT, status ERROR)
 *   payment         └ POST /charge (SERVER, remote parent, exception, ERROR)
 *   payment           └ validate card (INTERNAL, scope without version, status OK)
 *
 * Three BasicTracerProviders (one per service resource) share one
 * BatchSpanProcessor with an OTLPTraceExporter (protobuf), so the spans leave
 * in one request with three ResourceSpans; an InMemorySpanExporter keeps the
 * ReadableSpans for comparison.
 *
 * opts: url (…/v1/traces), compression ('none'|'gzip'), encoding ('protobuf': the
 *       -otlp-proto exporter; 'json': the -otlp-http one), seed (ids), t0Ns (BigInt),
 *       fixedStacks (deterministic exception.stacktrace), headers.
 * Returns {traceId, spans (ReadableSpan[]), exports ([{code, error, spans}])}.
 */
export async function buildTrace({ url, compression = 'none', encoding = 'protobuf', seed = null,
  t0Ns = null, fixedStacks = false, headers = undefined } = {}) {
  const seedVal = seed ?? Math.floor(Math.random() * 2 ** 48);
  const t0 = t0Ns ?? (BigInt(Date.now()) - 60000n) * 1000000n;
  const at = (us) => hr(t0 + BigInt(us) * 1000n + SUB_US_NS); // span boundaries
  const atNs = (us, ns) => hr(t0 + BigInt(us) * 1000n + BigInt(ns)); // events

  const memory = new InMemorySpanExporter();
  const Exporter = encoding === 'json' ? OTLPJsonTraceExporter : OTLPTraceExporter;
  const otlp = new Exporter({ url, compression, headers, timeoutMillis: 15000 });
  const recorder = new RecordingExporter(otlp);
  const batch = new BatchSpanProcessor(recorder, {
    maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 600000, exportTimeoutMillis: 20000,
  });
  const processors = [new SimpleSpanProcessor(memory), batch];

  // Root spans get a non-empty trace_state from the sampler; children inherit it.
  const sampler = {
    shouldSample(ctx) {
      const parent = trace.getSpanContext(ctx);
      return {
        decision: SamplingDecision.RECORD_AND_SAMPLED,
        traceState: parent ? undefined : new TraceState('tm=root-1,congo=t61rcWkgMzE'),
      };
    },
    toString: () => 'TracemapTestSampler',
  };
  const idGenerator = seededIdGenerator(seedVal);
  const provider = (attributes) => new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes(attributes)),
    spanProcessors: processors, sampler, idGenerator,
  });

  const frontendP = provider({
    [ATTR_SERVICE_NAME]: 'frontend',
    [ATTR_SERVICE_VERSION]: '2.3.1',
    'service.namespace': 'shop',
    'service.instance.id': 'frontend-7d9f8-abcde',
    'deployment.environment.name': 'test',
    'host.cpu.count': 8,
    'app.canary': true,
    'app.sample_ratio': 0.25,
    'app.regions': ['eu-west-1', 'us-east-1'],
  });
  const checkoutP = provider({
    [ATTR_SERVICE_NAME]: 'checkout',
    [ATTR_SERVICE_VERSION]: '1.0.0-rc.2',
    'service.namespace': 'shop',
    'process.pid': 4242,
    'app.canary': false,
    'app.shard_weights': [0.5, 0.25],
    'app.ports': [8080, 8443],
  });
  const paymentP = provider({
    [ATTR_SERVICE_NAME]: 'payment',
    'service.namespace': 'billing',
    'cloud.region': 'eu-central-1',
    'app.max_retries': 3,
    'app.flags': [true, false],
  });

  const feTracer = frontendP.getTracer('frontend-http', '1.2.3');
  const coTracer = checkoutP.getTracer('checkout-http', '0.9.0');
  const pgTracer = checkoutP.getTracer('pg-instrumentation', '0.41.0');
  const payTracer = paymentP.getTracer('payment-lib'); // no version
  const propagator = new W3CTraceContextPropagator();
  // Hand a span's context to "another service" the way HTTP instrumentation does.
  const overTheWire = (span) => {
    const headersOut = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headersOut, defaultTextMapSetter);
    return propagator.extract(ROOT_CONTEXT, headersOut, defaultTextMapGetter);
  };

  // frontend: SERVER root
  const root = feTracer.startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    startTime: at(0),
    attributes: {
      [ATTR_HTTP_REQUEST_METHOD]: 'GET',
      [ATTR_HTTP_ROUTE]: '/checkout',
      [ATTR_URL_PATH]: '/checkout',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200,
      'app.string': 'héllo wörld ✓ "quoted" \\ back\nslash',
      'app.empty_string': '',
      'app.bool_true': true,
      'app.bool_false': false,
      'app.int': 42,
      'app.int_zero': 0,
      'app.int_negative': -7,
      'app.int_big': 2 ** 60, // beyond 2^53: int64 on the wire, a string in Jaeger JSON
      'app.double': 3.25,
      'app.double_negative': -0.0625,
      'app.double_tiny': 1.5e-7,
      'app.string_array': ['alpha', 'beta', 'gamma, with comma'],
      'app.int_array': [1, 2, 3, -4],
      'app.bool_array': [true, false, true],
      'app.double_array': [1.5, 2.25, -0.125],
    },
  }, ROOT_CONTEXT);
  root.addEvent('cache.miss', {
    'cache.key': 'cart:42',
    'cache.size': 12,
    'cache.hit': false,
    'cache.fill_ratio': 0.75,
    'cache.tiers': ['l1', 'l2'],
  }, atNs(1500, 777));
  root.addEvent('auth.ok', undefined, atNs(2500, 5));
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);

  // frontend: CLIENT call to checkout
  const feClient = feTracer.startSpan('POST /api/checkout', {
    kind: SpanKind.CLIENT,
    startTime: at(10000),
    attributes: {
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_URL_FULL]: 'http://checkout:8080/api/checkout?cart=42',
      [ATTR_SERVER_ADDRESS]: 'checkout',
      [ATTR_SERVER_PORT]: 8080,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 402,
    },
  }, rootCtx);

  // checkout: SERVER span continuing the propagated (remote) context, with a link
  const linkedTraceId = idGenerator.generateTraceId();
  const linkedSpanId = idGenerator.generateSpanId();
  const coServer = coTracer.startSpan('POST /api/checkout', {
    kind: SpanKind.SERVER,
    startTime: at(12000),
    attributes: {
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_HTTP_ROUTE]: '/api/checkout',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 402,
      'app.cart.items': 3,
      'app.cart.total': 129.99,
    },
    links: [{
      context: {
        traceId: linkedTraceId, spanId: linkedSpanId, traceFlags: TraceFlags.SAMPLED,
        isRemote: true, traceState: new TraceState('other=linked'),
      },
      attributes: { 'link.reason': 'cart created earlier', 'link.attempt': 2, 'link.async': true },
    }],
  }, overTheWire(feClient));
  const coCtx = trace.setSpan(ROOT_CONTEXT, coServer);

  // checkout: database CLIENT span from another instrumentation scope
  const db = pgTracer.startSpan('SELECT shop.orders', {
    kind: SpanKind.CLIENT,
    startTime: at(15000),
    attributes: {
      'db.system.name': 'postgresql',
      'db.namespace': 'shop',
      'db.operation.name': 'SELECT',
      'db.query.text': 'SELECT id, total FROM orders WHERE cart_id = $1',
      [ATTR_SERVER_ADDRESS]: 'db.internal',
      [ATTR_SERVER_PORT]: 5432,
      'db.response.returned_rows': 1,
    },
  }, coCtx);
  db.end(at(45000));

  // checkout: PRODUCER
  const producer = coTracer.startSpan('orders publish', {
    kind: SpanKind.PRODUCER,
    startTime: at(46000),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
    },
  }, coCtx);
  producer.end(at(47500));

  // checkout: CLIENT call to payment
  const coClient = coTracer.startSpan('POST /charge', {
    kind: SpanKind.CLIENT,
    startTime: at(50000),
    attributes: {
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_URL_FULL]: 'http://payment:9000/charge',
      [ATTR_SERVER_ADDRESS]: 'payment',
      [ATTR_SERVER_PORT]: 9000,
      'service.peer.name': 'payment',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 402,
    },
  }, coCtx);

  // payment: SERVER (remote parent) with an exception
  const payServer = payTracer.startSpan('POST /charge', {
    kind: SpanKind.SERVER,
    startTime: at(52000),
    attributes: {
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_HTTP_ROUTE]: '/charge',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 402,
      'payment.amount_cents': 12999,
      'payment.currency': 'EUR',
    },
  }, overTheWire(coClient));
  const payCtx = trace.setSpan(ROOT_CONTEXT, payServer);

  // payment: INTERNAL
  const validate = payTracer.startSpan('validate card', {
    kind: SpanKind.INTERNAL,
    startTime: at(60000),
    attributes: { 'card.brand': 'visa', 'card.luhn_ok': true, 'card.risk_score': 0.87 },
  }, payCtx);
  validate.addEvent('risk.evaluated', { 'risk.model': 'v7', 'risk.rules': [3, 17, 21] }, atNs(75000, 1));
  validate.setStatus({ code: SpanStatusCode.OK });
  validate.end(at(90000));

  class CardDeclinedError extends Error {
    constructor(message) {
      super(message);
      this.name = 'CardDeclinedError';
    }
  }
  const declined = new CardDeclinedError('card declined by issuer (code 51)');
  if (fixedStacks) {
    declined.stack = 'CardDeclinedError: card declined by issuer (code 51)\n' +
      '    at charge (/srv/payment/charge.js:88:11)\n    at process (/srv/payment/server.js:12:3)';
  }
  payServer.recordException(declined, atNs(227000, 999));
  payServer.setAttribute('error.type', 'CardDeclinedError');
  payServer.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  payServer.end(at(228000));

  coClient.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 402 from payment' });
  coClient.end(at(230000));

  const plain = new Error('payment declined: card expired');
  if (fixedStacks) {
    plain.stack = 'Error: payment declined: card expired\n    at checkout (/srv/checkout/index.js:42:7)';
  }
  coServer.recordException(plain, atNs(237000, 42));
  coServer.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
  coServer.end(at(238000));

  feClient.setStatus({ code: SpanStatusCode.OK });
  feClient.end(at(240000));

  root.end(at(250000));

  // Flush through the shared processors (one export request), then shut down.
  await frontendP.forceFlush();
  const spans = memory.getFinishedSpans().slice();
  await Promise.all([frontendP.shutdown(), checkoutP.shutdown(), paymentP.shutdown()]);

  return { traceId: root.spanContext().traceId, spans, exports: recorder.results };
}

// ---------------------------------------------------------------------------
// What the SDK's ReadableSpans are in OTLP terms (the OTLP/JSON shape with
// BigInt times and ints, every field present with its proto default).
// ---------------------------------------------------------------------------

/** An attribute value as OTLP AnyValue (the JS exporter's rules: integral numbers are ints). */
/**
 * How the exporter puts a JS integer on the wire: the protobuf exporter
 * writes the double's exact value (2**60 → 1152921504606846976); the JSON
 * exporter writes JSON.stringify's shortest form (→ 1152921504606847000),
 * which a receiver reads as that int64.  setWireEncoding('json') makes the
 * expectations follow the JSON exporter.
 */
let wireEncoding = 'protobuf';
export function setWireEncoding(encoding) { wireEncoding = encoding; }
export function wireInt(v) { return BigInt(wireEncoding === 'json' ? JSON.stringify(v) : v); }

export function anyValue(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63
      ? { intValue: wireInt(v) } : { doubleValue: v };
  }
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  throw new Error(`unexpected attribute value ${String(v)}`);
}
const kvList = (attrs) => Object.entries(attrs || {}).map(([key, v]) => ({ key, value: anyValue(v) }));

export function expectedSpan(s) {
  const ctx = s.spanContext();
  const parent = s.parentSpanContext;
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    traceState: ctx.traceState ? ctx.traceState.serialize() : '',
    parentSpanId: parent?.spanId ?? '',
    flags: ((ctx.traceFlags & 0xff) | 0x100 | (parent?.isRemote ? 0x200 : 0)) >>> 0,
    name: s.name,
    kind: s.kind + 1,
    startTimeUnixNano: hrToNs(s.startTime),
    endTimeUnixNano: hrToNs(s.endTime),
    attributes: kvList(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) => ({
      timeUnixNano: hrToNs(e.time), name: e.name, attributes: kvList(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount || 0,
    })),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({
      traceId: l.context.traceId, spanId: l.context.spanId,
      traceState: l.context.traceState ? l.context.traceState.serialize() : '',
      attributes: kvList(l.attributes), droppedAttributesCount: l.droppedAttributesCount || 0,
      flags: ((l.context.traceFlags & 0xff) | 0x100 | (l.context.isRemote ? 0x200 : 0)) >>> 0,
    })),
    droppedLinksCount: s.droppedLinksCount,
    status: { code: s.status.code, message: s.status.message ?? '' },
  };
}

/** [{resource: [kv], scope: {name, version}, span}] for each ReadableSpan. */
export function expectedOtlp(spans) {
  return spans.map((s) => ({
    resource: kvList(s.resource.attributes),
    scope: { name: s.instrumentationScope.name, version: s.instrumentationScope.version ?? '' },
    span: expectedSpan(s),
  }));
}

// ---------------------------------------------------------------------------
// Capture server
// ---------------------------------------------------------------------------

/** A local HTTP server that answers 200 (empty protobuf) and records requests. */
export async function startCaptureServer() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders,
        chunks: chunks.map((c) => c.length), body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

/** Normalise a decoded request into the expectedOtlp() list form. */
export function flattenDecoded(req) {
  const out = [];
  for (const rs of req.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        out.push({ resource: rs.resource.attributes, scope: { name: ss.scope.name, version: ss.scope.version }, span });
      }
    }
  }
  return out;
}

async function main() {
  const out = resolve(process.argv[2] || DEFAULT_OUT);
  const cap = await startCaptureServer();
  let result;
  try {
    result = await buildTrace({
      url: `${cap.url}/v1/traces`, compression: 'none', seed: 1, t0Ns: FIXED_T0_NS, fixedStacks: true,
    });
  } finally {
    await cap.close();
  }
  assert.equal(cap.requests.length, 1, 'exactly one export request');
  const [r] = cap.requests;
  assert.equal(r.method, 'POST');
  assert.equal(r.url, '/v1/traces');
  assert.equal(r.headers['content-type'], 'application/x-protobuf');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.deepEqual(result.exports.map((e) => [e.code, e.spans]), [[ExportResultCode.SUCCESS, 8]]);

  // Check the bytes against the SDK's spans, then write them.
  const decoded = decodeExportRequest(r.body);
  assert.equal(decoded.resourceSpans.length, 3, 'three ResourceSpans (one per service)');
  const got = flattenDecoded(decoded);
  const want = expectedOtlp(result.spans);
  const byId = new Map(got.map((g) => [g.span.spanId, g]));
  assert.equal(got.length, want.length);
  for (const w of want) assert.deepEqual(byId.get(w.span.spanId), w, `span ${w.span.name}`);

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, r.body);
  const svc = (g) => g.resource.find((kv) => kv.key === 'service.name').value.stringValue;
  console.log(`wrote ${out} (${r.body.length} bytes; headers: ${JSON.stringify({
    'content-type': r.headers['content-type'], 'transfer-encoding': r.headers['transfer-encoding'],
    'content-length': r.headers['content-length'] })})`);
  console.log(`trace_id ${result.traceId}; ${got.length} spans in ${decoded.resourceSpans.length} ResourceSpans`);
  for (const g of got) {
    console.log(`  ${g.span.spanId} parent=${g.span.parentSpanId || '-'} kind=${g.span.kind} ` +
      `flags=0x${g.span.flags.toString(16)} status=${g.span.status.code} ${svc(g)}/${g.scope.name}: ${g.span.name}`);
  }
}

// Self-test helper (used by otlp_sdk.test.mjs): one gzip export to a capture server.
export async function captureGzipOnce() {
  const cap = await startCaptureServer();
  try {
    const res = await buildTrace({ url: `${cap.url}/v1/traces`, compression: 'gzip', seed: 7 });
    return { ...res, requests: cap.requests, inflate: (b) => gunzipSync(b) };
  } finally {
    await cap.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

