// The three-service scenario sent by the real jaeger-client (HTTP sender), and
// a capture of the bodies it POSTs.
//
//   node capture_jaeger.mjs [OUT_DIR]    (default: ../data/jaeger)
//
// starts a tiny HTTP server on 127.0.0.1 that stores every body POSTed to it
// and answers 202, points three jaeger-client tracers (frontend, checkout,
// payment) at it, and writes one file per request: OUT_DIR/client_<service>.thrift
// (one TBinaryProtocol jaeger.thrift Batch each, as jaeger-client sends it).
// IDs are made deterministic for the capture (a counter replaces the random
// generator) and the hostname/ip process tags are fixed; `client-uuid` stays
// random, so a new capture differs from the last in those bytes only.
//
// jaeger.test.mjs imports buildJaegerTrace() and sends the same scenario to a
// real tracemap.

import { createRequire } from 'node:module';
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = resolve(HERE, '..', 'data', 'jaeger');

/** 2026-11-01T00:00:00Z in ms: the scenario's time zero for the capture */
export const FIXED_T0_MS = 1793491200000;

/** A logger for jaeger-client that keeps what it says instead of printing it. */
export function recordingLogger() {
  const lines = [];
  return {
    lines,
    info: (msg) => lines.push(`info: ${msg}`),
    error: (msg) => lines.push(`error: ${msg}`),
  };
}

/** Replace jaeger-client's random IDs with a counter (for a reproducible capture). */
export function makeIdsDeterministic(first = 0x0101) {
  const Utils = require('jaeger-client/dist/src/util.js').default;
  let next = BigInt(first);
  const id = () => {
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64BE(0x1000000000000000n + next++);
    return buf;
  };
  Utils.getRandom64 = id;
  Utils.getRandom128 = () => Buffer.concat([Buffer.from('0af7651916cd43dd', 'hex'), id()]);
}

class CardDeclinedError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CardDeclinedError';
  }
}

/**
 * Run the scenario with one jaeger-client tracer per service, all reporting
 * to `endpoint` (…/api/traces).  Times are explicit (t0Ms + offsets, whole
 * milliseconds, as jaeger-client works in ms).  Resolves once every tracer
 * is closed, i.e. every batch was POSTed and answered.
 * Returns {traceIdStr, spans: [{service, span}], tracers, logger}.
 */
export async function buildJaegerTrace({ endpoint, t0Ms = Date.now() - 60000,
  traceId128bit = false, fixedHost = false } = {}) {
  const { initTracer, opentracing } = require('jaeger-client');
  const { Tags, FORMAT_HTTP_HEADERS, childOf, followsFrom } = opentracing;
  const logger = recordingLogger();
  const at = (ms) => t0Ms + ms;
  const host = fixedHost ? { hostname: 'test-host', ip: '10.0.0.7' } : {};
  const tracer = (serviceName, tags) => initTracer({
    serviceName,
    sampler: { type: 'const', param: 1 },
    // a long interval: everything goes out in one batch when the tracer closes
    reporter: { collectorEndpoint: endpoint, flushIntervalMs: 60000, logSpans: false },
  }, { tags: { ...tags, ...host }, logger, traceId128bit });

  const frontend = tracer('frontend', {
    'service.version': '2.3.1', 'deployment.environment': 'test',
    'host.cpu.count': 8, 'app.canary': true,
  });
  const checkout = tracer('checkout', { 'service.version': '1.0.0-rc.2', 'app.sample_ratio': 0.25 });
  const payment = tracer('payment', { 'cloud.region': 'eu-central-1' });
  const spans = [];
  const start = (svc, t, name, opts) => {
    const span = t.startSpan(name, opts);
    spans.push({ service: svc, span });
    return span;
  };
  // what HTTP instrumentation does between two services
  const overTheWire = (from, to, span) => {
    const headers = {};
    from.inject(span.context(), FORMAT_HTTP_HEADERS, headers);
    return to.extract(FORMAT_HTTP_HEADERS, headers);
  };

  // frontend: the server root, with attributes of every type jaeger-client has
  const root = start('frontend', frontend, 'GET /checkout', {
    startTime: at(0),
    tags: {
      [Tags.SPAN_KIND]: Tags.SPAN_KIND_RPC_SERVER,
      [Tags.HTTP_METHOD]: 'GET',
      [Tags.HTTP_URL]: 'http://shop.example/checkout?cart=42',
      [Tags.HTTP_STATUS_CODE]: 200,
      'app.string': 'héllo wörld ✓ "quoted"',
      'app.empty_string': '',
      'app.bool_true': true,
      'app.bool_false': false,
      'app.int': 42,
      'app.zero': 0,
      'app.negative': -7,
      'app.double': 3.25,
      'app.object': { cart: 42, items: ['a', 'b'] },
      'app.buffer': Buffer.from([0, 1, 2, 0xfe, 0xff]),
    },
  });
  root.log({ event: 'cache.miss', 'cache.key': 'cart:42', 'cache.size': 12, 'cache.hit': false },
    at(2));
  root.log({ message: 'a log without an event field', level: 'debug' }, at(3));

  // frontend: the client call to checkout
  const feClient = start('frontend', frontend, 'POST /api/checkout', {
    childOf: root,
    startTime: at(10),
    tags: {
      [Tags.SPAN_KIND]: Tags.SPAN_KIND_RPC_CLIENT,
      [Tags.HTTP_METHOD]: 'POST',
      [Tags.HTTP_URL]: 'http://checkout:8080/api/checkout',
      [Tags.PEER_SERVICE]: 'checkout',
      [Tags.PEER_PORT]: 8080,
      [Tags.HTTP_STATUS_CODE]: 402,
    },
  });

  // checkout: the server side of that call
  const coServer = start('checkout', checkout, 'POST /api/checkout', {
    childOf: overTheWire(frontend, checkout, feClient),
    startTime: at(12),
    tags: { [Tags.SPAN_KIND]: Tags.SPAN_KIND_RPC_SERVER, 'app.cart.items': 3, 'app.cart.total': 129.99 },
  });

  // checkout: a database call
  const db = start('checkout', checkout, 'SELECT shop.orders', {
    childOf: coServer,
    startTime: at(15),
    tags: {
      [Tags.SPAN_KIND]: Tags.SPAN_KIND_RPC_CLIENT,
      [Tags.DB_TYPE]: 'sql',
      [Tags.DB_INSTANCE]: 'shop',
      [Tags.DB_STATEMENT]: 'SELECT id, total FROM orders WHERE cart_id = $1',
      [Tags.PEER_SERVICE]: 'postgresql',
      [Tags.PEER_HOSTNAME]: 'db.internal',
      [Tags.PEER_PORT]: 5432,
      [Tags.COMPONENT]: 'pg',
    },
  });
  db.finish(at(45));

  // checkout: both kinds of reference (the CHILD_OF one is the parent)
  const audit = start('checkout', checkout, 'audit write', {
    references: [childOf(coServer.context()), followsFrom(db.context())],
    startTime: at(46),
    tags: { [Tags.SPAN_KIND]: Tags.SPAN_KIND_MESSAGING_PRODUCER, 'message_bus.destination': 'audit' },
  });
  audit.finish(at(47));

  // checkout: the client call to payment
  const coClient = start('checkout', checkout, 'POST /charge', {
    childOf: coServer,
    startTime: at(50),
    tags: {
      [Tags.SPAN_KIND]: Tags.SPAN_KIND_RPC_CLIENT,
      [Tags.HTTP_METHOD]: 'POST',
      [Tags.HTTP_URL]: 'http://payment:9000/charge',
      [Tags.PEER_SERVICE]: 'payment',
    },
  });

  // payment: the server side, which fails with an exception
  const payServer = start('payment', payment, 'POST /charge', {
    childOf: overTheWire(checkout, payment, coClient),
    startTime: at(52),
    tags: { [Tags.SPAN_KIND]: Tags.SPAN_KIND_RPC_SERVER, 'payment.amount_cents': 12999 },
  });
  const validate = start('payment', payment, 'validate card', {
    childOf: payServer, startTime: at(60), tags: { 'card.brand': 'visa', 'card.luhn_ok': true },
  });
  validate.log({ event: 'risk.evaluated', 'risk.score': 0.87 }, at(75));
  validate.finish(at(90));
  const err = new CardDeclinedError('card declined by issuer (code 51)');
  err.stack = 'CardDeclinedError: card declined by issuer (code 51)\n' +
    '    at charge (/srv/payment/charge.js:88:11)';
  payServer.setTag(Tags.ERROR, true);
  payServer.setTag(Tags.HTTP_STATUS_CODE, 402);
  payServer.log({ event: 'error', 'error.kind': err.name, message: err.message, stack: err.stack },
    at(227));
  payServer.finish(at(228));

  coClient.setTag(Tags.ERROR, true);
  coClient.setTag(Tags.HTTP_STATUS_CODE, 402);
  coClient.finish(at(230));
  coServer.setTag(Tags.HTTP_STATUS_CODE, 402);
  coServer.finish(at(238));
  feClient.finish(at(240));
  root.finish(at(250));

  await Promise.all([payment, checkout, frontend].map((t) => new Promise((r) => t.close(r))));
  return { traceIdStr: root.context().traceIdStr, spans, tracers: { frontend, checkout, payment },
    logger };
}

/** A local HTTP server that answers 202 and keeps every request. */
export async function startCaptureServer() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers,
        body: Buffer.concat(chunks) });
      res.writeHead(202, { 'Content-Length': '0' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

/** The serviceName of a captured Batch (Batch.process.serviceName, read by hand). */
export function batchServiceName(body) {
  // field 1 (struct) then field 1 (string): 0c 0001 0b 0001 <len> <name>
  if (body.readUInt8(0) !== 12 || body.readUInt16BE(1) !== 1 ||
      body.readUInt8(3) !== 11 || body.readUInt16BE(4) !== 1) {
    throw new Error('body does not start with Batch.process.serviceName');
  }
  return body.subarray(10, 10 + body.readInt32BE(6)).toString('utf8');
}

async function main() {
  const outDir = resolve(process.argv[2] || DEFAULT_OUT_DIR);
  const cap = await startCaptureServer();
  makeIdsDeterministic();
  let result;
  try {
    result = await buildJaegerTrace({ endpoint: `${cap.url}/api/traces`, t0Ms: FIXED_T0_MS,
      traceId128bit: true, fixedHost: true });
  } finally {
    await cap.close();
  }
  if (result.logger.lines.some((l) => l.startsWith('error'))) {
    throw new Error(`jaeger-client reported errors:\n${result.logger.lines.join('\n')}`);
  }
  if (cap.requests.length !== 3) throw new Error(`expected 3 requests, got ${cap.requests.length}`);
  mkdirSync(outDir, { recursive: true });
  for (const r of cap.requests) {
    if (r.method !== 'POST' || r.url !== '/api/traces' ||
        r.headers['content-type'] !== 'application/x-thrift') {
      throw new Error(`unexpected request ${r.method} ${r.url} ${r.headers['content-type']}`);
    }
    const file = join(outDir, `client_${batchServiceName(r.body)}.thrift`);
    writeFileSync(file, r.body);
    console.log(`wrote ${file} (${r.body.length} bytes; transfer-encoding: ` +
      `${r.headers['transfer-encoding'] ?? '-'}, content-length: ${r.headers['content-length'] ?? '-'})`);
  }
  console.log(`trace ${result.traceIdStr}; ${result.spans.length} spans`);
  for (const { service, span } of result.spans) {
    const c = span.context();
    console.log(`  ${c.spanIdStr} parent=${c.parentIdStr || '-'} ${service}: ${span._operationName}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
