// The reference two-service trace, sent with the real aws-xray-sdk-core over
// the X-Ray daemon's UDP protocol.
//
// As a module it exports loadXRay() (the SDK, pointed at a UDP port) and
// buildTrace() (used by xray.test.mjs): service "frontend" serves GET
// /checkout/42, calls service "backend" (a `remote` subsegment), DynamoDB (an
// `aws` subsegment) and renders locally; "backend" (its own segment, with
// the propagated trace id and parent) queries PostgreSQL (an `sql`
// subsegment), validates, and fails with an exception.  Both segments carry
// annotations of several types and metadata.
//
// As a script it sends the trace, with fixed ids, times and stack traces, to
// a UDP socket of its own and saves each datagram the SDK sends:
//
//   node tests/clients/capture_xray.mjs [DIR]   (default: tests/data/xray)
//
// writing DIR/sdk_frontend.datagram and DIR/sdk_backend.datagram, and the
// same files into tests/fuzz/corpus/xray/ as seeds.

import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT = resolve(HERE, '..', 'data', 'xray');
const CORPUS = resolve(HERE, '..', 'fuzz', 'corpus', 'xray');
const require = createRequire(import.meta.url);

/**
 * The SDK, sending to 127.0.0.1:port.  AWS_XRAY_DAEMON_ADDRESS is read when
 * the SDK is first loaded, so it is set before require().
 */
export function loadXRay(port) {
  process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${port}`;
  const AWSXRay = require('aws-xray-sdk-core');
  AWSXRay.enableManualMode();
  AWSXRay.setContextMissingStrategy('IGNORE_ERROR');
  const quiet = () => {};
  AWSXRay.setLogger({ error: quiet, warn: quiet, info: quiet, debug: quiet });
  return AWSXRay;
}

/** A UDP socket on 127.0.0.1 that collects datagrams; {port, datagrams, waitFor(n), close()}. */
export async function udpCollector() {
  const sock = dgram.createSocket('udp4');
  const datagrams = [];
  let waiter = null;
  sock.on('message', (msg) => {
    datagrams.push(msg);
    if (waiter && datagrams.length >= waiter.n) waiter.resolve();
  });
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    datagrams,
    waitFor(n, timeoutMs = 5000) {
      if (datagrams.length >= n) return Promise.resolve();
      return new Promise((resolveWait, rejectWait) => {
        const t = setTimeout(() => rejectWait(new Error(
          `only ${datagrams.length} of ${n} datagrams arrived`)), timeoutMs);
        waiter = { n, resolve: () => { clearTimeout(t); resolveWait(); } };
      });
    },
    close: () => sock.close(),
  };
}

/** An Error whose stack does not depend on where the script lives. */
function fixedError(message) {
  const err = new Error(message);
  err.name = 'StockUnavailableError';
  err.stack = `StockUnavailableError: ${message}\n` +
    '    at reserveStock (/srv/backend/stock.js:41:11)\n' +
    '    at handle (/srv/backend/server.js:88:5)\n' +
    '    at processTicksAndRejections (node:internal/process/task_queues:95:5)';
  return err;
}

// Fixed values for the capture: ids, and times in ms as the SDK has them.
const FIXED = {
  traceId: '1-6955b900-a006649127e371903a2de979',
  t0: 1767225600.25,
  ids: {
    frontend: 'f000000000000001', backendCall: 'f000000000000002', dynamo: 'f000000000000003',
    render: 'f000000000000004', backend: 'b000000000000001', db: 'b000000000000002',
    validate: 'b000000000000003', exception: 'e000000000000001',
  },
};

/**
 * Sends the trace through the SDK (manual mode).  With fixed = true, ids,
 * times, service data and stacks are set to FIXED; otherwise the SDK makes
 * them.  Returns the two Segment objects (as the SDK serialised them) and the
 * subsegments by role.
 */
export function buildTrace(AWSXRay, { fixed = false } = {}) {
  const { Segment, middleware, database } = AWSXRay;
  const at = (ms) => Number((FIXED.t0 + ms / 1000).toFixed(3));
  const setId = (s, role) => { if (fixed) s.id = FIXED.ids[role]; };
  // Subsegment.close() stamps the end time; the fixed times go in after it
  // (the parent segment serialises its subsegments when it is closed)
  const closeAt = (s, startMs, endMs) => {
    s.close();
    if (fixed) {
      s.start_time = at(startMs);
      s.end_time = at(endMs);
    }
  };
  const serviceData = (name, version) => ({ name, version, runtime: 'node',
    runtime_version: fixed ? 'v20.0.0' : process.version });

  // --- frontend: the entry service -------------------------------------
  const front = new Segment('frontend', fixed ? FIXED.traceId : undefined);
  setId(front, 'frontend');
  if (fixed) front.start_time = at(0);
  front.setServiceData(serviceData('frontend', '2.3.1'));
  front.addIncomingRequestData(new middleware.IncomingRequestData({
    method: 'GET', url: '/checkout/42?currency=EUR',
    headers: { host: 'frontend.test', 'user-agent': 'xray-client-test/1.0' },
    connection: { remoteAddress: '192.0.2.10' },
  }));
  front.addAnnotation('customer', 'c-1042');
  front.addAnnotation('items', 3);
  front.addAnnotation('total', 129.95);
  front.addAnnotation('express', true);
  front.addMetadata('cart', { skus: ['A-1', 'B-7'], coupon: null });
  front.addMetadata('build', 'r42', 'deploy');

  const call = front.addNewSubsegment('backend');
  setId(call, 'backendCall');
  call.namespace = 'remote';
  call.addRemoteRequestData({
    agent: { protocol: 'http:' }, getHeader: () => 'backend.test:8080', path: '/stock?sku=42',
    method: 'POST',
  }, { statusCode: 500, headers: { 'content-length': '61' } }, true);
  call.addFaultFlag();

  // --- backend: its own segment, joined by the propagated ids ----------
  const back = new Segment('backend', front.trace_id, call.id);
  setId(back, 'backend');
  if (fixed) back.start_time = at(10);
  back.setServiceData(serviceData('backend', '0.9.7'));
  back.addIncomingRequestData(new middleware.IncomingRequestData({
    method: 'POST', url: '/stock?sku=42',
    headers: { host: 'backend.test:8080', 'user-agent': 'node', 'x-forwarded-for': '203.0.113.9' },
    connection: { remoteAddress: '192.0.2.11' },
  }));
  back.addAnnotation('sku', 'B-7');
  back.addAnnotation('in_stock', false);
  back.addAnnotation('attempt', 2);
  back.addMetadata('request', { headers: 2, body_bytes: 61 });

  const db = back.addNewSubsegment('orders@db.test');
  setId(db, 'db');
  db.namespace = 'remote';
  db.addSqlData(new database.SqlData('15.4', 'node-postgres 8.11.3', 'app',
    'postgresql://db.test:5432/orders', 'statement'));
  db.sql.database_type = 'PostgreSQL';
  db.sql.sanitized_query = 'SELECT qty FROM stock WHERE sku = $1';
  closeAt(db, 12, 19);

  const validate = back.addNewSubsegment('validate');
  setId(validate, 'validate');
  validate.addAnnotation('rule', 'qty>0');
  closeAt(validate, 20, 21);

  const err = fixedError('no stock for B-7');
  if (fixed) back.end_time = at(25);   // close() keeps an end time already set
  back.http.close({ statusCode: 500, headers: {} });
  back.close(err);   // fault, cause.exceptions[0] from err; sends the segment

  closeAt(call, 5, 30);

  const dynamo = front.addNewSubsegment('DynamoDB');
  setId(dynamo, 'dynamo');
  dynamo.namespace = 'aws';
  dynamo.aws = {
    operation: 'GetItem', region: 'eu-west-1', request_id: 'R3QU3ST1D', retries: 0,
    table_name: 'carts',
  };
  dynamo.http = { response: { status: 200 } };
  closeAt(dynamo, 31, 38);

  const render = front.addNewSubsegment('render');
  setId(render, 'render');
  closeAt(render, 39, 45);

  if (fixed) front.end_time = at(50);
  front.http.close({ statusCode: 200, headers: { 'content-length': '512' } });
  front.close();   // sends the segment with its subsegments
  return { front, back, call, dynamo, render, db, validate, err };
}

async function main() {
  const out = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUT;
  const udp = await udpCollector();
  const AWSXRay = loadXRay(udp.port);
  // ids the SDK draws itself (exception ids) come from crypto.randomBytes:
  // fixed for the capture, so the golden files do not change between runs
  const crypto = require('node:crypto');
  const realRandomBytes = crypto.randomBytes;
  crypto.randomBytes = (n) => Buffer.alloc(n, 0xee);
  let trace;
  try {
    trace = buildTrace(AWSXRay, { fixed: true });
  } finally {
    crypto.randomBytes = realRandomBytes;
  }
  await udp.waitFor(2);
  udp.close();
  mkdirSync(out, { recursive: true });
  mkdirSync(CORPUS, { recursive: true });
  for (const msg of udp.datagrams) {
    const doc = JSON.parse(msg.toString('utf8').split('\n').slice(1).join('\n'));
    const name = `sdk_${doc.name}.datagram`;
    writeFileSync(resolve(out, name), msg);
    writeFileSync(resolve(CORPUS, name), msg);
    process.stdout.write(`${name}: ${msg.length} bytes, trace ${doc.trace_id}, ` +
      `${(doc.subsegments || []).length} subsegments\n`);
  }
  if (trace.front.trace_id !== FIXED.traceId) throw new Error('trace id not kept');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
