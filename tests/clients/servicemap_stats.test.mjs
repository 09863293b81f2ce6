// Percentiles of the service map against exact nearest-rank percentiles.
//
// 3,000 traces (seeded; SERVICEMAP_SEED=N reproduces a run), each
//   caller SERVER "GET /work" (root) → caller CLIENT → callee SERVER "GET /thing"
// with log-normal client durations known to the test (whole µs), callee
// durations a random fraction of them, and a few errors. Trace starts are
// spread over the last ~100 minutes, so the map of a window is a sum of many
// per-minute (and per-hour) rollups.
//
// For the whole time range and for several sub-windows (start and end in the
// middle of a minute, one longer than an hour), GET /api/servicemap must give:
//   caller → callee   calls, errors exactly; p50/p90/p99 of the client
//                     durations (the caller's view) within 2% (+1 µs)
//   user → caller     the same, of the root durations
//   callee, caller    requests, errors exactly; p50/p90/p99 of their server
//                     spans' durations within 2%
//   user              requests = calls of user → caller, their percentiles
// where a call belongs to the minute of its callee-side span's start and a
// window [start, end] is the sum of the minutes that overlap it
// (docs/servicemap.md, "Windows"). The default window (the last 15 minutes)
// is checked on its calls when the minute does not change during the request.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sleep } from './lib/server.mjs';
import { makeRng } from './lib/rng.mjs';

const PAIR_WAIT_ARGS = ['--pair-wait', '1s'];
const US_PER_MIN = 60e6;
const N_TRACES = 3000;
const PCT_TOL = 0.02;
const SEED = process.env.SERVICEMAP_SEED ? Number(process.env.SERVICEMAP_SEED) >>> 0
  : (Date.now() ^ (process.pid << 12)) >>> 0;
process.stdout.write(`# servicemap_stats: SERVICEMAP_SEED=${SEED}\n`);


function nearestRank(values, q) {
  const v = [...values].sort((a, b) => a - b);
  const r = Math.min(v.length, Math.max(1, Math.ceil(q * v.length)));
  return v[r - 1];
}

// ---------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------

const nowUs = Date.now() * 1000;
const firstUs = nowUs - 100 * US_PER_MIN;
const lastUs = nowUs - 2 * US_PER_MIN;

function generate(seed) {
  const R = makeRng(seed);
  const traces = [];
  for (let i = 0; i < N_TRACES; i++) {
    const traceId = R.hex(16);
    const s = R.int(firstUs, lastUs);
    const a = R.int(50, 2000); // caller's own work before the call
    const clientUs = Math.min(5e6, Math.max(1000, Math.round(R.logNormal(20000, 0.8))));
    const lag = R.int(10, 300); // network, each way at most
    const calleeUs = Math.max(1, Math.floor((clientUs - 2 * lag) * (0.5 + 0.45 * R.float())));
    const rootUs = a + clientUs + R.int(100, 5000);
    const calleeErr = R.chance(0.03);
    const clientErr = (calleeErr && R.chance(0.8)) || R.chance(0.01);
    const rootErr = R.chance(0.02);
    const ids = [R.hex(8), R.hex(8), R.hex(8)];
    traces.push({
      traceId,
      root: { spanId: ids[0], startUs: s, endUs: s + rootUs, error: rootErr },
      client: { spanId: ids[1], startUs: s + a, endUs: s + a + clientUs, error: clientErr },
      callee: { spanId: ids[2], startUs: s + a + lag, endUs: s + a + lag + calleeUs, error: calleeErr },
    });
  }
  return traces;
}

function otlpBody(traces) {
  const span = (t, sp, parentSpanId, name, kind, attrs = []) => ({
    traceId: t.traceId, spanId: sp.spanId, ...(parentSpanId ? { parentSpanId } : {}), name, kind,
    startTimeUnixNano: `${sp.startUs}000`, endTimeUnixNano: `${sp.endUs}000`,
    attributes: attrs, ...(sp.error ? { status: { code: 2, message: 'failed' } } : {}),
  });
  const res = (service, spans) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'servicemap-stats-test' }, spans }],
  });
  return JSON.stringify({
    resourceSpans: [
      res('caller', traces.flatMap((t) => [
        span(t, t.root, '', 'GET /work', 2, [{ key: 'http.request.method', value: { stringValue: 'GET' } }]),
        span(t, t.client, t.root.spanId, 'GET callee', 3, [{ key: 'server.address', value: { stringValue: 'callee' } }]),
      ])),
      res('callee', traces.map((t) => span(t, t.callee, t.client.spanId, 'GET /thing', 2))),
    ],
  });
}

/** The expected map of the minutes [loMin, hiMin) (minute numbers since the epoch). */
function expected(traces, loMin, hiMin) {
  const inWin = (us) => {
    const m = Math.floor(us / US_PER_MIN);
    return m >= loMin && m < hiMin;
  };
  const e = {
    callerCallee: { calls: 0, errors: 0, values: [] },
    userCaller: { calls: 0, errors: 0, values: [] },
    callee: { requests: 0, errors: 0, values: [] },
    caller: { requests: 0, errors: 0, values: [] },
  };
  for (const t of traces) {
    if (inWin(t.callee.startUs)) { // the callee-side span of caller → callee, and callee's own request
      e.callerCallee.calls++;
      if (t.client.error || t.callee.error) e.callerCallee.errors++;
      e.callerCallee.values.push(t.client.endUs - t.client.startUs);
      e.callee.requests++;
      if (t.callee.error) e.callee.errors++;
      e.callee.values.push(t.callee.endUs - t.callee.startUs);
    }
    if (inWin(t.root.startUs)) {
      e.userCaller.calls++;
      if (t.root.error) e.userCaller.errors++;
      e.userCaller.values.push(t.root.endUs - t.root.startUs);
      e.caller.requests++;
      if (t.root.error) e.caller.errors++;
      e.caller.values.push(t.root.endUs - t.root.startUs);
    }
  }
  e.user = { requests: e.userCaller.calls, errors: e.userCaller.errors, values: e.userCaller.values };
  return e;
}

const minutesOf = (startUs, endUs) => [Math.floor(startUs / US_PER_MIN), Math.ceil(endUs / US_PER_MIN)];

function diffWindow(json, e, where) {
  const out = [];
  if (!json || !Array.isArray(json.nodes) || !Array.isArray(json.edges)) return [`${where}: not a map: ${JSON.stringify(json)?.slice(0, 200)}`];
  const pct = (got, values, what) => {
    for (const [f, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]]) {
      const want = nearestRank(values, q);
      const g = got?.[f];
      if (typeof g !== 'number' || Math.abs(g - want) > PCT_TOL * want + 1) {
        out.push(`${where}: ${what} ${f} = ${g}, exact nearest rank ${want} µs (±2%)`);
      }
    }
  };
  const edge = (s, t) => json.edges.find((x) => x.source === s && x.target === t);
  const node = (id) => json.nodes.find((x) => x.id === id);
  const ids = json.nodes.map((n) => n.id).sort();
  if (ids.join() !== 'callee,caller,user') out.push(`${where}: nodes ${JSON.stringify(ids)}, expected callee, caller, user`);
  const ek = json.edges.map((x) => `${x.source}>${x.target}`).sort();
  if (ek.join() !== 'caller>callee,user>caller') out.push(`${where}: edges ${JSON.stringify(ek)}`);
  for (const [s, t, w] of [['caller', 'callee', e.callerCallee], ['user', 'caller', e.userCaller]]) {
    const g = edge(s, t);
    if (!g) continue;
    if (g.calls !== w.calls) out.push(`${where}: ${s} → ${t} calls ${g.calls}, expected ${w.calls}`);
    if (g.errors !== w.errors) out.push(`${where}: ${s} → ${t} errors ${g.errors}, expected ${w.errors}`);
    if (w.values.length) pct(g, w.values, `${s} → ${t}`);
  }
  for (const [id, w] of [['callee', e.callee], ['caller', e.caller], ['user', e.user]]) {
    const g = node(id);
    if (!g) continue;
    if (g.requests !== w.requests) out.push(`${where}: node ${id} requests ${g.requests}, expected ${w.requests}`);
    if (g.errors !== w.errors) out.push(`${where}: node ${id} errors ${g.errors}, expected ${w.errors}`);
    if (w.values.length) pct(g, w.values, `node ${id}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

const traces = generate(SEED);
let server;

before(async () => {
  server = await startServer({ args: PAIR_WAIT_ARGS });
});
after(async () => {
  await server?.close();
});

test('send 3,000 calls on one edge (OTLP/JSON)', { timeout: 30000 }, async () => {
  for (let i = 0; i < traces.length; i += 500) {
    const r = await server.post('/v1/traces', otlpBody(traces.slice(i, i + 500)), { 'Content-Type': 'application/json' });
    assert.equal(r.status, 200, r.body.toString('utf8').slice(0, 300));
  }
});

test('the whole range: calls, errors and percentiles of edges and nodes', { timeout: 30000 }, async () => {
  const start = firstUs - 3 * US_PER_MIN + 4321;
  const end = nowUs + 2 * US_PER_MIN + 1234;
  const want = expected(traces, ...minutesOf(start, end));
  assert.equal(want.callerCallee.calls, N_TRACES);
  const path = `/api/servicemap?start=${start}&end=${end}`;
  const deadline = Date.now() + 15000;
  let r;
  let last = '';
  let since = Date.now();
  for (;;) { // until every call is counted, or nothing changes for 3 s
    r = await server.getJson(path);
    const calls = (src, dst) => r.json?.edges?.find?.((x) => x.source === src && x.target === dst)?.calls;
    const sig = `${r.status} ${calls('caller', 'callee')} ${calls('user', 'caller')}`;
    if (sig === `200 ${N_TRACES} ${N_TRACES}` || Date.now() > deadline) break;
    if (sig !== last) {
      last = sig;
      since = Date.now();
    } else if (Date.now() - since > 3000) break;
    await sleep(250);
  }
  assert.equal(r.status, 200, r.text.slice(0, 300));
  const diff = diffWindow(r.json, want, 'whole range');
  assert.deepEqual(diff, [], diff.join('\n'));
});

test('sub-windows: the sum of the minutes that overlap them', { timeout: 30000 }, async () => {
  const R = makeRng(SEED ^ 0xabc);
  const windows = [];
  // one longer than an hour, then shorter ones; never on a minute boundary
  const pick = (minLen, maxLen) => {
    for (;;) {
      const len = R.int(minLen, maxLen);
      const start = R.int(firstUs - US_PER_MIN, lastUs - len);
      const end = start + len;
      if (start % US_PER_MIN && end % US_PER_MIN) return { start, end };
    }
  };
  windows.push(pick(65 * US_PER_MIN, 90 * US_PER_MIN));
  windows.push(pick(20 * US_PER_MIN, 40 * US_PER_MIN));
  windows.push(pick(3 * US_PER_MIN, 8 * US_PER_MIN));
  windows.push(pick(30e6, 50e6)); // inside one or two minutes
  const problems = [];
  for (const w of windows) {
    const want = expected(traces, ...minutesOf(w.start, w.end));
    const r = await server.getJson(`/api/servicemap?start=${w.start}&end=${w.end}`);
    const where = `[${w.start}, ${w.end}] (${((w.end - w.start) / US_PER_MIN).toFixed(1)} min, ${want.callerCallee.calls} calls)`;
    if (r.status !== 200) {
      problems.push(`${where}: status ${r.status} ${r.text.slice(0, 200)}`);
      continue;
    }
    problems.push(...diffWindow(r.json, want, where));
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('the default window is the last 15 minutes', async () => {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = Date.now() * 1000;
    const r = await server.getJson('/api/servicemap');
    const afterUs = Date.now() * 1000;
    const a = expected(traces, ...minutesOf(before - 15 * US_PER_MIN, before));
    const b = expected(traces, ...minutesOf(afterUs - 15 * US_PER_MIN, afterUs));
    if (a.callerCallee.calls !== b.callerCallee.calls || a.userCaller.calls !== b.userCaller.calls) continue; // a minute turned
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const calls = (s, t) => r.json.edges.find((x) => x.source === s && x.target === t)?.calls ?? 0;
    assert.equal(calls('caller', 'callee'), a.callerCallee.calls, 'caller → callee calls');
    assert.equal(calls('user', 'caller'), a.userCaller.calls, 'user → caller calls');
    return;
  }
  assert.fail('the minute kept changing during the request');
});

test('tracemap exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
});
