// Connection and request limits, and the per-client rate: idle and slow
// clients must not keep a well-behaved client from being served.
//
// - --max-connections-per-ip: one address holding its share of connections
//   is refused more, while another address is served and the held
//   connections still work;
// - --max-connections with --idle-timeout: a new client waits in the listen
//   backlog while idle connections fill the listener, and is served once
//   the idle timeout closes one;
// - --idle-timeout: a connection that never sends a request is closed;
// - --request-timeout: a body that trickles in forever, and one that stops
//   half-way, are cut off (counted in tracemap_http_requests_cut_total)
//   while other clients are served;
// - --client-rate: 429 + Retry-After for the address over its rate while
//   another address is served, and the OpenTelemetry JS exporter, which
//   honours Retry-After, gets every span in.
//
// Client addresses other than 127.0.0.1 are other loopback addresses
// (127.0.0.2, ...), which Linux routes to lo.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { requireNodeModules, startServer, makeBatch, sleep } from './lib/server.mjs';
import { scrape, sampleValue } from './lib/prom.mjs';

requireNodeModules();
const { ExportResultCode } = await import('@opentelemetry/core');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

/** A connection that sends nothing; .closedAt resolves when the server closes it. */
async function idleConnection(port, localAddress = '127.0.0.1') {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress });
  sock.received = 0;
  sock.on('data', (d) => { sock.received += d.length; });
  sock.on('error', () => {});
  sock.closedAt = new Promise((r) => sock.once('close', () => r(Date.now())));
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  return sock;
}

/** One request on a fresh connection from localAddress: {status, headers, text} or {error}. */
function requestFrom(port, localAddress, method, path, body = null, headers = {}) {
  return new Promise((resolve) => {
    const h = { ...headers };
    if (body) h['Content-Length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port, localAddress, method, path, headers: h, agent: false },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
          text: Buffer.concat(parts).toString() }));
        res.on('error', (error) => resolve({ error }));
      });
    req.setTimeout(20000, () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ error }));
    req.end(body ?? undefined);
  });
}

/** One GET on an open socket; resolves with the status line's code. */
function getOn(sock, path) {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d) => {
      text += d.toString();
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      if (m && text.includes('\r\n\r\n')) {
        sock.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    sock.on('data', onData);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

test('--max-connections-per-ip: a greedy address is refused, others are served', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-connections-per-ip', '4'] });
  try {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await idleConnection(server.port, '127.0.0.2'));
    await sleep(200); // let the server accept them
    const fifth = await requestFrom(server.port, '127.0.0.2', 'GET', '/healthz');
    assert.ok(fifth.error, `a 5th connection from 127.0.0.2 must be refused, got ${fifth.status}`);
    const other = await requestFrom(server.port, '127.0.0.3', 'GET', '/healthz');
    assert.equal(other.status, 200, String(other.error));
    for (const s of held) assert.equal(await getOn(s, '/healthz'), 200, 'held connections still work');
    for (const s of held) s.destroy();
  } finally {
    await server.close();
  }
});

test('--max-connections: a new client waits for a slot; idle connections are closed to free one', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-connections', '4', '--threads', '1', '--idle-timeout', '2s'] });
  try {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await idleConnection(server.port, '127.0.0.2'));
    await sleep(100);
    // the listener is full: the new connection waits in the listen backlog
    // (it is not refused) until an idle one is closed
    const r = await requestFrom(server.port, '127.0.0.1', 'GET', '/healthz');
    const answeredAt = Date.now();
    assert.equal(r.status, 200, String(r.error));
    const closedAt = await Promise.all(held.map((s) => s.closedAt));
    assert.ok(held.every((s) => s.received === 0), 'idle connections got no answer, only a close');
    // with 2 s of idle timeout against a request sent at once, "after the
    // first close" cannot be a matter of scheduling
    assert.ok(answeredAt >= Math.min(...closedAt) - 500,
      `answered ${answeredAt - Math.min(...closedAt)} ms after the first idle connection closed`);
  } finally {
    await server.close();
  }
});

test('--idle-timeout closes a connection that sends nothing', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--idle-timeout', '1s'] });
  try {
    const idle = await idleConnection(server.port);
    const served = await idleConnection(server.port);
    assert.equal(await getOn(served, '/healthz'), 200);
    await Promise.all([idle.closedAt, served.closedAt]); // the test's timeout bounds this
    assert.equal(idle.received, 0);
    const r = await server.getJson('/healthz');
    assert.equal(r.status, 200);
  } finally {
    await server.close();
  }
});

test('--request-timeout cuts off a trickling body and a stalled one; others are served', { timeout: 90000 }, async () => {
  const server = await startServer({ args: ['--request-timeout', '2s', '--idle-timeout', '1h'] });
  try {
    const head = 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n' +
      'Content-Length: 100000\r\n\r\n';
    const trickle = await idleConnection(server.port, '127.0.0.2');
    trickle.write(`${head}\n`);
    const timer = setInterval(() => { if (!trickle.destroyed) trickle.write('\n'); }, 200);
    const stalled = await idleConnection(server.port, '127.0.0.3');
    stalled.write(`${head}\n\n\n`);
    // meanwhile a well-behaved client is served
    const b = makeBatch({ service: 'patient', n: 5 });
    const ok = await server.postOtlp(b.body);
    assert.equal(ok.status, 200);
    await Promise.all([trickle.closedAt, stalled.closedAt]); // with a 1 h idle timeout: the request timeout
    clearInterval(timer);
    const m = await scrape(server);
    assert.equal(sampleValue(m, 'tracemap_http_requests_cut_total', { reason: 'request_timeout' }), 2);
    assert.equal(sampleValue(m, 'tracemap_ingest_requests_accepted_total', { protocol: 'otlp' }), 1);
    const again = await server.postOtlp(makeBatch({ service: 'patient', n: 5 }).body);
    assert.equal(again.status, 200);
  } finally {
    await server.close();
  }
});

test('--client-rate: 429 + Retry-After for the address over it; another is served', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--client-rate', '300', '--client-burst', '300'] });
  try {
    const post = (from, n) => requestFrom(server.port, from, 'POST', '/v1/traces',
      makeBatch({ service: 'greedy', n }).body, { 'Content-Type': 'application/x-protobuf' });
    const answers = [];
    for (let i = 0; i < 10 && !answers.some((a) => a.status === 429); i++) answers.push(await post('127.0.0.2', 300));
    const refused = answers.filter((a) => a.status === 429);
    assert.ok(refused.length > 0, answers.map((a) => a.status).join(','));
    for (const a of refused) {
      assert.match(String(a.headers['retry-after']), /^[1-9][0-9]*$/);
      assert.match(a.text, /client-rate/);
    }
    assert.equal((await post('127.0.0.3', 300)).status, 200, 'another address has its own budget');
    const m = await scrape(server);
    const accepted = answers.filter((a) => a.status === 200).length + 1;
    assert.equal(sampleValue(m, 'tracemap_ingest_requests_refused_total', { protocol: 'otlp', reason: 'client_rate' }), refused.length);
    assert.equal(sampleValue(m, 'tracemap_ingest_spans_refused_total', { protocol: 'otlp', reason: 'client_rate' }), 300 * refused.length);
    assert.equal(sampleValue(m, 'tracemap_ingest_spans_accepted_total', { protocol: 'otlp' }), 300 * accepted);
  } finally {
    await server.close();
  }
});

test('--client-rate: the OpenTelemetry exporter honours Retry-After and gets every span in', { timeout: 120000 }, async () => {
  const server = await startServer({ args: ['--client-rate', '400', '--client-burst', '400'] });
  try {
    const results = [];
    const otlp = new OTLPTraceExporter({ url: `${server.url}/v1/traces`, timeoutMillis: 60000 });
    const recorder = {
      export(spans, done) {
        otlp.export(spans, (res) => { results.push({ code: res.code, n: spans.length, error: res.error?.message }); done(res); });
      },
      shutdown: () => otlp.shutdown(),
    };
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'rate-limited' }),
      spanProcessors: [new BatchSpanProcessor(recorder, {
        maxQueueSize: 4096, maxExportBatchSize: 300, scheduledDelayMillis: 20, exportTimeoutMillis: 60000,
      })],
    });
    const tracer = provider.getTracer('limits-test');
    for (let i = 0; i < 1500; i++) tracer.startSpan(`op-${i % 7}`).end();
    await provider.forceFlush();
    await provider.shutdown();
    assert.ok(results.length >= 5, JSON.stringify(results));
    for (const r of results) assert.equal(r.code, ExportResultCode.SUCCESS, r.error);
    const m = await scrape(server);
    assert.equal(sampleValue(m, 'tracemap_ingest_spans_accepted_total', { protocol: 'otlp' }), 1500);
    assert.ok(sampleValue(m, 'tracemap_ingest_requests_refused_total', { protocol: 'otlp', reason: 'client_rate' }) > 0,
      '1500 spans at 400/s must meet the limit');
  } finally {
    await server.close();
  }
});
