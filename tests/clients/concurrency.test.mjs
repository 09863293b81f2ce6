// Concurrency: the C load generator sends 1600 batches of 64 spans over 8
// parallel connections. Then every acknowledged span must be in the store
// exactly once (`tracemap check`), and 50 random traces from the ids file are
// read back through the API.
//
// Needs ${TRACEMAP_BUILD}/bench/loadgen; without it the test is skipped with a
// message (the rest of the suite does not depend on it).
//
// The ids file (--ids-out) is read leniently: per line, the first 32-hex token
// is a trace id and every following 16-hex token one of its span ids, e.g.
// "<trace_id> <span_id>" per acknowledged span.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, TRACEMAP_BUILD, jaegerSpanIds } from './lib/server.mjs';

const LOADGEN = join(TRACEMAP_BUILD, 'bench', 'loadgen');
const CONNECTIONS = 8;
const REQUESTS = 1600; // 8 clients x 200 batches
const SPANS_PER_BATCH = 64;
const SPOT_CHECKS = 50;

let server;
let work;

before(async () => {
  if (!existsSync(LOADGEN)) return;
  work = mkdtempSync(join(tmpdir(), 'tracemap-loadgen-'));
  server = await startServer();
});
after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function runLoadgen(args, timeoutMs) {
  return new Promise((resolveRun) => {
    execFile(LOADGEN, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolveRun({
        code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
        signal: err?.signal ?? null, stdout: String(stdout), stderr: String(stderr),
      });
    });
  });
}

function parseIds(text) {
  const traces = new Map(); // traceId → [spanIds]
  let entries = 0;
  for (const line of text.split('\n')) {
    const tokens = line.match(/\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{16}\b/g);
    if (!tokens) continue;
    const t = tokens.findIndex((x) => x.length === 32);
    if (t < 0) continue;
    const traceId = tokens[t].toLowerCase();
    const spans = tokens.slice(t + 1).filter((x) => x.length === 16).map((x) => x.toLowerCase());
    if (!traces.has(traceId)) traces.set(traceId, []);
    traces.get(traceId).push(...spans);
    entries += spans.length;
  }
  return { traces, entries };
}

test(`${CONNECTIONS} parallel clients x ${REQUESTS / CONNECTIONS} batches of ${SPANS_PER_BATCH} spans`, { timeout: 600000 }, async (t) => {
  if (!existsSync(LOADGEN)) {
    t.skip(`loadgen not built: ${LOADGEN} does not exist (set TRACEMAP_BUILD)`);
    return;
  }
  const idsFile = join(work, 'ids.txt');
  const run = await runLoadgen([
    '--url', server.url, '--connections', String(CONNECTIONS), '--requests', String(REQUESTS),
    '--spans-per-batch', String(SPANS_PER_BATCH), '--ids-out', idsFile,
  ], 480000);
  const out = `loadgen exit ${run.code} signal ${run.signal}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4000)}`;
  assert.equal(run.code, 0, out);
  const stats = {};
  for (const m of run.stdout.matchAll(/^\s*([a-z_]+)\s+(\d+)\s*$/gm)) stats[m[1]] = Number(m[2]);
  assert.ok('spans_acked' in stats && 'requests_failed' in stats,
    `loadgen must print "spans_acked N" and "requests_failed N"\n${out}`);
  const spansAcked = stats.spans_acked;
  t.diagnostic(`spans_acked ${spansAcked}, requests_failed ${stats.requests_failed}` +
    `, requests_retried ${stats.requests_retried ?? '?'}, spans_per_s ${stats.spans_per_s ?? '?'}`);
  assert.equal(stats.requests_failed, 0, `no request failed\n${out}`);
  if ('spans_rejected' in stats) assert.equal(stats.spans_rejected, 0, `no span rejected\n${out}`);
  if ('spans_sent' in stats) assert.equal(spansAcked, stats.spans_sent, `every span sent was acknowledged\n${out}`);
  if ('requests_ok' in stats) assert.equal(stats.requests_ok, REQUESTS, `${REQUESTS} requests acknowledged\n${out}`);
  assert.ok(spansAcked > 0, `nothing acknowledged\n${out}`);
  assert.ok(spansAcked <= REQUESTS * SPANS_PER_BATCH, out);

  assert.ok(existsSync(idsFile), `loadgen did not write ${idsFile}`);
  const ids = parseIds(readFileSync(idsFile, 'utf8'));
  assert.equal(ids.entries, spansAcked, 'the ids file lists one span id per acknowledged span');
  const allSpanIds = new Set();
  for (const [traceId, spanIds] of ids.traces) {
    for (const s of spanIds) allSpanIds.add(`${traceId}/${s}`);
  }
  assert.equal(allSpanIds.size, ids.entries, 'span ids in the ids file are unique');

  // Spot-check 50 random traces through the API while the server runs.
  const traceIds = [...ids.traces.keys()];
  for (let i = traceIds.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [traceIds[i], traceIds[j]] = [traceIds[j], traceIds[i]];
  }
  for (const traceId of traceIds.slice(0, SPOT_CHECKS)) {
    const r = await server.getJson(`/api/traces/${traceId}`);
    assert.equal(r.status, 200, `trace ${traceId}: ${r.text.slice(0, 300)}`);
    const got = jaegerSpanIds(r.json);
    const counts = new Map();
    for (const s of got) counts.set(s, (counts.get(s) || 0) + 1);
    for (const s of ids.traces.get(traceId)) {
      assert.equal(counts.get(s) ?? 0, 1, `trace ${traceId}: span ${s} must be present exactly once`);
    }
    assert.equal(got.length, ids.traces.get(traceId).length, `trace ${traceId}: no extra spans`);
  }

  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
  assert.deepEqual(server.unexpectedExits, []);
  const c = await server.check();
  assert.equal(c.code, 0, `tracemap check exit ${c.code}\n${c.stdout}\n${c.stderr}`);
  assert.deepEqual(c.counts, { traces: ids.traces.size, spans: spansAcked, duplicates: 0, problems: 0 },
    `tracemap check output:\n${c.stdout}`);
});
