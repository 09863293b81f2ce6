// Durability: an acknowledged span survives SIGKILL. Batches are sent (raw
// protobuf, and through the real OTLP exporter with gzip); right after each
// 200 the server is SIGKILLed, restarted on the same data dir, and every span
// acknowledged so far must be found exactly once. Finally a kill while
// requests are in flight must leave a store that `tracemap check` accepts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  requireNodeModules, startServer, makeBatch, waitForTrace, jaegerSpanIds, sleep,
  randomTraceId,
} from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { ExportResultCode } = await import('@opentelemetry/core');
const { SpanKind, ROOT_CONTEXT, trace } = await import('@opentelemetry/api');

const ROUNDS = Number(process.env.TRACEMAP_DURABILITY_ROUNDS || 6);
const SPANS_PER_BATCH = 25;

let server;
const acked = new Map(); // traceId → [spanIds] acknowledged with 200

before(async () => {
  server = await startServer({ args: ['--sync', 'full'] });
});
after(async () => {
  await server?.close();
});

/** Make spans with the SDK and export them with the real exporter (gzip); resolves the ExportResult. */
async function exportWithSdk(url, n) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'durability-sdk', 'app.round': n }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('durability', '1.0.0');
  const root = tracer.startSpan('sdk root', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  for (let i = 1; i < SPANS_PER_BATCH; i++) {
    tracer.startSpan(`sdk child ${i}`, { kind: SpanKind.INTERNAL, attributes: { i } }, ctx).end();
  }
  root.end();
  const spans = memory.getFinishedSpans().slice();
  await provider.shutdown();
  const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`, compression: 'gzip', timeoutMillis: 10000 });
  const result = await new Promise((resolveExport) => exporter.export(spans, resolveExport));
  // no exporter.shutdown() here: the server is about to be SIGKILLed
  return {
    result,
    traceId: root.spanContext().traceId,
    spanIds: spans.map((s) => s.spanContext().spanId),
  };
}

async function verifyAllAcked(what) {
  for (const [traceId, spanIds] of acked) {
    const j = await waitForTrace(server, traceId, spanIds.length, { timeoutMs: 3000 });
    assert.equal(j.status, 200, `${what}: trace ${traceId} (${spanIds.length} acked spans): ${j.text}`);
    const got = jaegerSpanIds(j.json);
    assert.deepEqual([...got].sort(), [...spanIds].sort(),
      `${what}: trace ${traceId}: every acknowledged span exactly once`);
  }
}

test(`ack → SIGKILL → restart, ${ROUNDS} rounds: every acknowledged span is there`, { timeout: 300000 }, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    let traceId;
    let spanIds;
    if (round % 2 === 0) {
      const b = makeBatch({ service: 'durability-raw', n: SPANS_PER_BATCH, attributes: { 'app.round': round } });
      const res = await server.postOtlp(b.body);
      assert.equal(res.status, 200, `round ${round}: ${res.body.toString('utf8').slice(0, 200)}`);
      ({ traceId, spanIds } = b);
    } else {
      const r = await exportWithSdk(server.url, round);
      assert.equal(r.result.code, ExportResultCode.SUCCESS, `round ${round}: export failed: ${r.result.error}`);
      ({ traceId, spanIds } = r);
    }
    // acknowledged: kill at once, no drain
    const e = await server.kill('SIGKILL');
    assert.equal(e.signal, 'SIGKILL');
    acked.set(traceId, spanIds);
    await server.start(); // same data dir, new port
    await verifyAllAcked(`after round ${round}`);
  }
});

test('several batches acknowledged back to back, then SIGKILL', { timeout: 120000 }, async () => {
  const batches = Array.from({ length: 8 }, (_, i) =>
    makeBatch({ service: 'durability-burst', n: 10, attributes: { 'app.i': i } }));
  const results = await Promise.all(batches.map((b) => server.postOtlp(b.body)));
  results.forEach((r, i) => assert.equal(r.status, 200, `burst request ${i}`));
  await server.kill('SIGKILL');
  for (const b of batches) acked.set(b.traceId, b.spanIds);
  await server.start();
  await verifyAllAcked('after the burst');
});

test('clean stop: tracemap check counts exactly the acknowledged spans', { timeout: 120000 }, async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  const c = await server.check();
  const spans = [...acked.values()].reduce((n, ids) => n + ids.length, 0);
  assert.equal(c.code, 0, `tracemap check exit ${c.code}\n${c.stdout}\n${c.stderr}`);
  assert.deepEqual(c.counts, { traces: acked.size, spans, duplicates: 0, problems: 0 },
    `tracemap check output:\n${c.stdout}`);
  await server.start();
});

test('SIGKILL with requests in flight: acknowledged data intact, store consistent', { timeout: 120000 }, async () => {
  const inflight = [];
  for (let i = 0; i < 6; i++) {
    const b = makeBatch({ service: 'durability-inflight', n: 50, traceId: randomTraceId() });
    inflight.push({ b, p: server.postOtlp(b.body).then((r) => r.status, (err) => err.code || 'error') });
  }
  await sleep(3);
  await server.kill('SIGKILL');
  const statuses = await Promise.all(inflight.map((x) => x.p));
  await server.start();
  // those that did get a 200 before the kill are acknowledged and must be complete
  inflight.forEach((x, i) => {
    if (statuses[i] === 200) acked.set(x.b.traceId, x.b.spanIds);
  });
  await verifyAllAcked('after a kill with requests in flight');
  const e = await server.stop();
  assert.equal(e.code, 0, server.logTail());
  const c = await server.check();
  assert.equal(c.code, 0, `tracemap check exit ${c.code}\n${c.stdout}\n${c.stderr}`);
  assert.equal(c.counts.problems, 0, c.stdout);
  assert.equal(c.counts.duplicates, 0, c.stdout);
  const ackedSpans = [...acked.values()].reduce((n, ids) => n + ids.length, 0);
  assert.ok(c.counts.spans >= ackedSpans, `spans ${c.counts.spans} >= acknowledged ${ackedSpans}`);
  assert.ok(c.counts.spans <= ackedSpans + 6 * 50, `spans ${c.counts.spans}: no more than was sent`);
});
