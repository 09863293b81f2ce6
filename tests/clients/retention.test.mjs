// Retention (issue 7): by age, with a clock the test controls
// (--clock-offset-file), and by size: a small --max-size store filled far
// past its size by the load generator stays within bounds, keeps the newest
// traces and never refuses what it could make room for. Then
// `tracemap compact` (refused while the server runs) and `tracemap check`.
//
// The age test sends real OpenTelemetry JS SDK exports (OTLP/protobuf).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  requireNodeModules, startServer, runCheck, sleep, tracemapBin, TRACEMAP_BUILD,
} from './lib/server.mjs';

requireNodeModules();
const { trace, ROOT_CONTEXT, TraceFlags } = await import('@opentelemetry/api');
const { ExportResultCode } = await import('@opentelemetry/core');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } =
  await import('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

const LOADGEN = join(TRACEMAP_BUILD, 'bench', 'loadgen');

/** Spans made with the SDK, held in memory until exported with `exportTo`. */
function sdk(service) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  return { memory, tracer: provider.getTracer('retention-test', '1.0.0') };
}

/** A trace of n spans (a root and its children); with parent, a piece of
 * that trace arriving later (its spans children of the remote parent). */
function makeTrace(tracer, n, parent = null) {
  const ctx = parent
    ? trace.setSpanContext(ROOT_CONTEXT, { ...parent, traceFlags: TraceFlags.SAMPLED, isRemote: true })
    : ROOT_CONTEXT;
  const root = tracer.startSpan(parent ? 'late-work' : 'GET /cart', { kind: 1 }, ctx);
  const inner = trace.setSpan(ctx, root);
  for (let i = 1; i < n; i++) tracer.startSpan(`step-${i}`, {}, inner).end();
  root.end();
  return root.spanContext();
}

async function exportTo(url, spans) {
  const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces` });
  const result = await new Promise((res) => exporter.export(spans, res));
  await exporter.shutdown();
  return result;
}

/** GET /api/traces/{id}: the span ids stored (empty when 404). */
async function storedSpans(server, traceId) {
  const r = await server.getJson(`/api/traces/${traceId}`);
  if (r.status === 404) return [];
  assert.equal(r.status, 200, `GET /api/traces/${traceId}: ${r.text}`);
  return r.json.data[0].spans.map((s) => s.spanID).sort();
}

const ids = (spans) => spans.map((s) => s.spanContext().spanId).sort();

test('retention by age: whole traces older than --retention go, by the store clock', { timeout: 120000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'tracemap-retention-'));
  const clock = join(work, 'clock');
  writeFileSync(clock, '0s\n');
  const server = await startServer({ args: ['--retention', '1h', '--clock-offset-file', clock] });
  try {
    // at +0: five old traces
    const { memory, tracer } = sdk('cart');
    const old = [];
    for (let i = 0; i < 5; i++) old.push(makeTrace(tracer, 4));
    const oldSpans = memory.getFinishedSpans().slice();
    memory.reset();
    assert.equal((await exportTo(server.url, oldSpans)).code, ExportResultCode.SUCCESS);

    // at +50 min: a late piece of old[0] and three new traces
    writeFileSync(clock, '50m\n');
    await sleep(2500); // the server reads the file every second
    makeTrace(tracer, 3, old[0]);
    const fresh = [];
    for (let i = 0; i < 3; i++) fresh.push(makeTrace(tracer, 5));
    const laterSpans = memory.getFinishedSpans().slice();
    assert.equal((await exportTo(server.url, laterSpans)).code, ExportResultCode.SUCCESS);
    for (const t of old) assert.equal((await storedSpans(server, t.traceId)).length, t === old[0] ? 7 : 4);

    // at +90 min the old commits are 90 minutes old: their traces go whole,
    // old[0] with its late piece; the fresh ones (40 minutes) stay
    writeFileSync(clock, '90m\n');
    const deadline = Date.now() + 20000;
    for (;;) {
      const left = await Promise.all(old.map((t) => storedSpans(server, t.traceId)));
      if (left.every((s) => s.length === 0)) break;
      // a trace is never seen half deleted
      for (let i = 0; i < old.length; i++) {
        assert.ok([0, 4, 7].includes(left[i].length), `trace ${old[i].traceId}: ${left[i].length} spans`);
      }
      assert.ok(Date.now() < deadline, 'old traces still there 20 s after they became old');
      await sleep(200);
    }
    for (const t of fresh) {
      const want = ids(laterSpans.filter((s) => s.spanContext().traceId === t.traceId));
      assert.deepEqual(await storedSpans(server, t.traceId), want);
    }
    const search = await server.getJson('/api/traces?service=cart&lookback=24h&limit=100');
    assert.equal(search.status, 200);
    assert.deepEqual(search.json.data.map((t) => t.traceID).sort(),
      fresh.map((t) => t.traceId).sort(), 'search finds exactly the traces kept');
    await server.stop();
    const check = await runCheck(server.dataDir);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.counts.problems, 0);
    assert.equal(check.counts.traces, 3);
    assert.equal(check.counts.spans, 15);
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

function run(bin, args, timeoutMs = 300000) {
  return new Promise((res) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
        stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const MAX_SIZE = 8 << 20;
// ~410 wire bytes and ~220 stored bytes a span: 400,000 spans are about 20
// times the store; a server under valgrind (tests/valgrind.sh) gets a
// quarter of that, still five times the store
const SPANS = process.env.TRACEMAP_WRAPPER ? 100000 : 400000;
const RUN_TIMEOUT_MS = 300000 * Number(process.env.TRACEMAP_TIMEOUT_SCALE || 1);

test('retention by size: 20x --max-size through the store, newest kept, nothing refused', { timeout: 600000 }, async (t) => {
  if (!existsSync(LOADGEN)) {
    t.skip(`loadgen not built: ${LOADGEN}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'tracemap-size-'));
  const server = await startServer({ args: ['--max-size', String(MAX_SIZE), '--retention', '0'] });
  try {
    const idsFile = join(work, 'ids.txt');
    const lg = await run(LOADGEN, ['--url', server.url, '--connections', '4', '--spans', String(SPANS),
      '--spans-per-batch', '256', '--seed', '7', '--ids-out', idsFile, '--quiet'], RUN_TIMEOUT_MS);
    const stat = (k) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(lg.stdout)?.[1]);
    if (!process.env.TRACEMAP_WRAPPER) {
      assert.equal(lg.code, 0, lg.stderr.slice(-3000));
      assert.equal(stat('requests_failed'), 0, `the store refused what it could make room for:\n${lg.stdout}`);
      assert.ok(stat('spans_acked') >= SPANS, lg.stdout);
    } else {
      // under valgrind the pairer's read transactions last long enough to
      // keep the pages eviction frees from being reused in time, and a
      // commit may then find no room (docs/reliability.md); the bounds and
      // the newest traces are still checked
      t.diagnostic(`under ${process.env.TRACEMAP_WRAPPER.split(' ')[0]}: ${stat('requests_failed')} requests refused`);
    }
    const size = statSync(join(server.dataDir, 'data.mdb')).size;
    assert.ok(size <= MAX_SIZE, `data.mdb is ${size} bytes, over --max-size ${MAX_SIZE}`);

    // the newest traces are all there: those whose every acknowledged span
    // is among the last 3,000 (a trace goes whole, with its first piece)
    const lines = readFileSync(idsFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const first = new Map();
    lines.forEach(([traceId], i) => { if (!first.has(traceId)) first.set(traceId, i); });
    const newest = new Map();
    for (const [traceId, spanId] of lines.slice(-3000)) {
      if (first.get(traceId) < lines.length - 3000) continue;
      if (!newest.has(traceId)) newest.set(traceId, new Set());
      newest.get(traceId).add(spanId);
    }
    assert.ok(newest.size >= 20, `only ${newest.size} traces among the newest spans`);
    for (const [traceId, spans] of newest) {
      const stored = new Set(await storedSpans(server, traceId));
      for (const s of spans) assert.ok(stored.has(s), `newest span ${traceId}/${s} is missing`);
    }
    // and the oldest are gone: the store cannot hold them
    const oldest = [...new Set(lines.slice(0, 2000).map((l) => l[0]))];
    for (const traceId of oldest.slice(0, 20)) {
      assert.equal((await storedSpans(server, traceId)).length, 0, `oldest trace ${traceId} kept`);
    }

    // compact refuses while the server has the store open
    const busy = await run(tracemapBin(), ['compact', '--data', server.dataDir]);
    assert.equal(busy.code, 1, busy.stdout + busy.stderr);
    assert.match(busy.stderr, /in use/);
    await server.stop();
    const before = await runCheck(server.dataDir);
    assert.equal(before.counts.problems, 0, before.stdout);
    const compact = await run(tracemapBin(), ['compact', '--data', server.dataDir]);
    assert.equal(compact.code, 0, compact.stdout + compact.stderr);
    const after = Number(/^after (\d+)/m.exec(compact.stdout)[1]);
    assert.ok(after <= Number(/^before (\d+)/m.exec(compact.stdout)[1]), compact.stdout);
    assert.equal(statSync(join(server.dataDir, 'data.mdb')).size, after);
    const check = await runCheck(server.dataDir);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.counts.spans, before.counts.spans, 'compaction keeps every span');
    assert.equal(check.counts.traces, before.counts.traces);
    await server.start();
    const [traceId, spans] = [...newest][0];
    const stored = new Set(await storedSpans(server, traceId));
    for (const s of spans) assert.ok(stored.has(s), 'a compacted store still answers');
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
