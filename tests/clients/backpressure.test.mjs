// Back-pressure: with a write queue of 1 MiB, a burst of large requests must
// be refused with 503 + Retry-After and a google.rpc.Status body, never
// dropped or half-stored; every request answered 200 is stored; and the
// load generator, at several times what the queue takes and retrying as
// OTLP exporters do, gets every span in, every refusal carrying
// Retry-After.  /metrics counts exactly those refusals (reason queue_full)
// and those spans.
//
// Needs only node built-ins and ${TRACEMAP_BUILD}/bench/loadgen (the second
// test is skipped with a message without it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, makeBatch, decodeStatus, waitForTrace, jaegerSpanIds,
  TRACEMAP_BUILD } from './lib/server.mjs';
import { scrape, sampleValue } from './lib/prom.mjs';

const QUEUE_FULL = { protocol: 'otlp', reason: 'queue_full' };
const OTLP = { protocol: 'otlp' };

const LOADGEN = join(TRACEMAP_BUILD, 'bench', 'loadgen');
let server;
let burstSpansStored = 0;   // spans of the burst that got a 200

before(async () => {
  server = await startServer({ args: ['--queue-bytes', '1M'] });
});
after(async () => {
  await server?.close();
});

test('a burst past --queue-bytes gets 503 + Retry-After; every 200 is stored', { timeout: 120000 }, async () => {
  // 2,000 spans with large attributes: a few hundred KiB per request
  const pad = 'x'.repeat(200);
  const batches = Array.from({ length: 48 }, (_, i) =>
    makeBatch({ service: `burst-${i % 4}`, n: 2000, attributes: { pad } }));
  const answers = await Promise.all(batches.map((b) => server.postOtlp(b.body, { timeoutMs: 60000 })));
  const refused = answers.filter((a) => a.status === 503);
  const stored = answers.filter((a) => a.status === 200);
  assert.equal(refused.length + stored.length, answers.length,
    `only 200 and 503: ${answers.map((a) => a.status).join(',')}`);
  assert.ok(refused.length > 0, 'a 1 MiB queue cannot take 48 such requests at once');
  assert.ok(stored.length > 0, 'some requests must get through');
  for (const a of refused) {
    assert.match(String(a.headers['retry-after']), /^[1-9][0-9]*$/, 'Retry-After in seconds');
    assert.match(decodeStatus(a.body).message, /queue is full/);
  }
  const m = await scrape(server);
  assert.equal(sampleValue(m, 'tracemap_ingest_requests_refused_total', QUEUE_FULL), refused.length);
  assert.equal(sampleValue(m, 'tracemap_ingest_spans_refused_total', QUEUE_FULL), 2000 * refused.length);
  assert.equal(sampleValue(m, 'tracemap_ingest_requests_accepted_total', OTLP), stored.length);
  for (let i = 0; i < batches.length; i++) {
    if (answers[i].status !== 200) continue;
    const j = await waitForTrace(server, batches[i].traceId, batches[i].spanIds.length);
    assert.equal(j.status, 200, j.text.slice(0, 200));
    assert.equal(jaegerSpanIds(j.json).length, batches[i].spanIds.length);
    burstSpansStored += batches[i].spanIds.length;
  }
});

test('retrying on 503 as exporters do, every span gets in exactly once', { timeout: 300000 }, async (t) => {
  if (!existsSync(LOADGEN)) {
    t.skip(`loadgen not built: ${LOADGEN} does not exist`);
    return;
  }
  const before = await scrape(server);
  const run = await new Promise((done) => {
    execFile(LOADGEN, ['--url', server.url, '--connections', '32', '--requests', '400',
      '--spans-per-batch', '512', '--quiet'], { timeout: 240000, maxBuffer: 1 << 20 },
    (err, stdout, stderr) => done({ err, stdout: String(stdout), stderr: String(stderr) }));
  });
  const stats = {};
  for (const m of run.stdout.matchAll(/^([a-z_]+)\s+(\d+)$/gm)) stats[m[1]] = Number(m[2]);
  const out = `${run.stdout}\n${run.stderr.slice(-2000)}`;
  assert.equal(run.err, null, out);
  assert.equal(stats.requests_failed, 0, out);
  assert.equal(stats.requests_ok, 400, out);
  assert.ok(stats.requests_retried > 0, `32 connections must overrun a 1 MiB queue\n${out}`);
  assert.equal(stats.retries_without_retry_after, 0, `every 503 carried Retry-After\n${out}`);
  const after = await scrape(server);
  const delta = (name, labels) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
  assert.equal(delta('tracemap_ingest_requests_refused_total', QUEUE_FULL), stats.requests_retried);
  assert.equal(delta('tracemap_ingest_spans_accepted_total', OTLP), stats.spans_acked);
  assert.equal(delta('tracemap_ingest_requests_accepted_total', OTLP), 400);
  const e = await server.stop();
  assert.equal(e.code, 0, server.logTail());
  const c = await server.check();
  assert.equal(c.code, 0, c.stdout);
  assert.equal(c.counts.problems, 0, c.stdout);
  assert.equal(c.counts.duplicates, 0, c.stdout);
  // exactly what got a 200: the burst of the first test and the loadgen's
  assert.equal(c.counts.spans, burstSpansStored + stats.spans_acked, c.stdout);
});
