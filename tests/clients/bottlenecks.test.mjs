// The bottleneck finder and the critical path, against answers computed here.
//
// A generated workload (seeded; SERVICEMAP_SEED=N reproduces a run), sent as
// OTLP/JSON, all times whole microseconds:
//   300 traces  frontend SERVER "GET /checkout"
//                 ├ frontend CLIENT "GET cart" → cart SERVER "GET /cart" → cart CLIENT "redis GET"
//                 ├ (in parallel) frontend CLIENT "POST pay" → payments SERVER "POST /pay"
//                 │     → payments INTERNAL "charge card", then payments CLIENT "POST /v1/charges"
//                 ├ (in parallel) frontend CLIENT "GET stock" → inventory SERVER "GET /stock"
//                 └ frontend INTERNAL "render"
//   In 30 of them (the planted ~10%) "charge card" takes 300-500 ms more; in
//   others, at random, "GET /cart"'s own work, "POST /v1/charges", "GET /stock"
//   or "render" is slow (50-200 ms more).
//   40 traces  frontend SERVER "GET /home" → cart (not the entry point
//              "GET /checkout", but a trace of the service frontend)
//
// The critical path of every trace is computed here with the algorithm of
// analysis/critical_path.h (criticalPath below), and from it the answer of
// GET /api/bottlenecks by the rules of docs/servicemap.md ("Bottlenecks"):
// slowThreshold (p90 of trace durations, nearest rank), slowTraces and
// typicalTraces exactly; "charge card" ranked first; every row's slowMean,
// typicalMean (and excess, share) within 1% (+1 µs); the examples of the
// planted row are slow traces that really hold "charge card" (read back with
// GET /api/traces/{id}) and the ones where it spent the most critical-path
// time. threshold= changes the split as documented; service= alone widens the
// traces to every trace of the service.
//
// GET /api/traces/{id}/critical-path is checked on a hand-built trace
// (sequential children, parallel ones, a child still running when the path
// reaches it, a child overrunning its parent), against values computed by hand.
//
// Readings taken where docs/servicemap.md is silent:
//   - share is a fraction (0..1), not a percentage;
//   - the critical-path answer's "duration" is the trace's duration, from the
//     earliest start to the latest end (as for bottlenecks), here longer than
//     the root because a child overruns it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sleep } from './lib/server.mjs';
import { makeRng } from './lib/rng.mjs';

const PAIR_WAIT_ARGS = ['--pair-wait', '1s'];
const US_PER_MIN = 60e6;
const N_CHECKOUT = 300;
const N_PLANTED = 30;
const N_HOME = 40;
const PLANTED = { service: 'payments', operation: 'charge card' };
const SEED = process.env.SERVICEMAP_SEED ? Number(process.env.SERVICEMAP_SEED) >>> 0
  : (Date.now() ^ (process.pid << 12)) >>> 0;
process.stdout.write(`# bottlenecks: SERVICEMAP_SEED=${SEED}\n`);


const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------
// Self time and critical path: analysis/critical_path.h, literally
// ---------------------------------------------------------------------------

/**
 * spans: [{spanId, parent (span or null), startUs, endUs, ...}] of one trace,
 * in trace order. Returns {root, segments: [{span, start, end}] in time order,
 * self: Map span → µs, path: Map span → µs}.
 */
function criticalPath(spans) {
  const endOf = (s) => Math.max(s.startUs, s.endUs);
  const index = new Map(spans.map((s, i) => [s, i]));
  const kids = new Map(spans.map((s) => [s, []]));
  for (const s of spans) if (s.parent) kids.get(s.parent).push(s);
  for (const list of kids.values()) {
    list.sort((a, b) => endOf(b) - endOf(a) || a.startUs - b.startUs || index.get(a) - index.get(b));
  }
  // self time: duration minus the union of the children clipped to the span
  const self = new Map();
  for (const s of spans) {
    const iv = kids.get(s).map((c) => [Math.max(c.startUs, s.startUs), Math.min(endOf(c), endOf(s))])
      .filter(([a, b]) => a < b).sort((x, y) => x[0] - y[0]);
    let covered = 0;
    let lo = null;
    let hi = null;
    for (const [a, b] of iv) {
      if (hi === null || a > hi) {
        if (hi !== null) covered += hi - lo;
        lo = a;
        hi = b;
      } else if (b > hi) {
        hi = b;
      }
    }
    if (hi !== null) covered += hi - lo;
    self.set(s, endOf(s) - s.startUs - covered);
  }
  // the root that ends last; ties: earliest start, then first in the trace
  let root = null;
  for (const s of spans) {
    if (s.parent) continue;
    if (!root || endOf(s) > endOf(root) || (endOf(s) === endOf(root) && s.startUs < root.startUs)) root = s;
  }
  const segments = []; // emitted backwards in time
  const emit = (span, start, end) => {
    if (start < end) segments.push({ span, start, end });
  };
  const walk = (s, lo, hi) => {
    let t = hi;
    for (const c of kids.get(s)) {
      if (endOf(c) <= lo) break; // every later child ends even earlier
      if (c.followsFrom) continue;
      const cs = Math.max(c.startUs, lo);
      const ce = Math.min(endOf(c), t);
      if (cs >= ce) continue;
      emit(s, ce, t);
      walk(c, cs, ce);
      t = cs;
    }
    emit(s, lo, t);
  };
  if (root) walk(root, root.startUs, endOf(root));
  segments.reverse();
  const path = new Map(spans.map((s) => [s, 0]));
  for (const g of segments) path.set(g.span, path.get(g.span) + g.end - g.start);
  return { root, segments, self, path };
}

// ---------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------

const nowUs = Date.now() * 1000;

function generate(seed) {
  const R = makeRng(seed);
  const traces = [];
  const planted = new Set(R.shuffle([...Array(N_CHECKOUT).keys()]).slice(0, N_PLANTED));
  const newTrace = (kind) => {
    const t = { traceId: R.hex(16), kind, spans: [] };
    traces.push(t);
    return t;
  };
  const add = (t, service, name, kind, startUs, endUs, parent, attrs = {}) => {
    const s = { traceId: t.traceId, spanId: R.hex(8), parent, service, name, kind, startUs, endUs, attrs };
    t.spans.push(s);
    return s;
  };
  const cartCall = (t, root, at, slow) => {
    const redis = R.int(300, 3000);
    let work = R.int(2000, 15000);
    if (slow) work += R.int(50000, 150000);
    const srvD = 300 + redis + work;
    const call = add(t, 'frontend', 'GET cart', 'client', at, at + 200 + srvD + 200, root, { 'server.address': 'cart' });
    const srv = add(t, 'cart', 'GET /cart', 'server', at + 200, at + 200 + srvD, call);
    add(t, 'cart', 'redis GET', 'client', at + 500, at + 500 + redis, srv, { 'db.system': 'redis', 'server.address': 'redis-1' });
    return call;
  };

  for (let i = 0; i < N_CHECKOUT; i++) {
    const t = newTrace('checkout');
    t.planted = planted.has(i);
    const base = nowUs - 20 * US_PER_MIN + R.int(0, 18 * US_PER_MIN);
    const root = add(t, 'frontend', 'GET /checkout', 'server', base, 0, null, { 'http.request.method': 'GET' });
    let cur = base + R.int(500, 2500);
    cur = cartCall(t, root, cur, R.chance(0.1)).endUs + R.int(100, 1000);
    // two calls in parallel
    const p0 = cur;
    let charge = R.int(5000, 20000);
    if (t.planted) charge += R.int(300000, 500000);
    let stripe = R.int(10000, 40000);
    if (R.chance(0.08)) stripe += R.int(60000, 160000);
    const gap1 = R.int(100, 800);
    const paySrvD = 500 + charge + gap1 + stripe + R.int(200, 1500);
    const payCall = add(t, 'frontend', 'POST pay', 'client', p0, p0 + 300 + paySrvD + 300, root, { 'server.address': 'payments' });
    const paySrv = add(t, 'payments', 'POST /pay', 'server', p0 + 300, p0 + 300 + paySrvD, payCall);
    const ch = add(t, 'payments', 'charge card', 'internal', paySrv.startUs + 500, paySrv.startUs + 500 + charge, paySrv);
    add(t, 'payments', 'POST /v1/charges', 'client', ch.endUs + gap1, ch.endUs + gap1 + stripe, paySrv,
      { 'server.address': 'api.stripe.com' });
    let stock = R.int(10000, 60000);
    if (R.chance(0.15)) stock += R.int(50000, 200000);
    const stockCall = add(t, 'frontend', 'GET stock', 'client', p0 + 100, p0 + 100 + 200 + stock + 200, root,
      { 'server.address': 'inventory' });
    add(t, 'inventory', 'GET /stock', 'server', p0 + 300, p0 + 300 + stock, stockCall);
    cur = Math.max(payCall.endUs, stockCall.endUs) + R.int(100, 1000);
    let render = R.int(2000, 8000);
    if (R.chance(0.1)) render += R.int(30000, 120000);
    const rd = add(t, 'frontend', 'render', 'internal', cur, cur + render, root);
    root.endUs = rd.endUs + R.int(200, 1500);
  }
  for (let i = 0; i < N_HOME; i++) {
    const t = newTrace('home');
    const base = nowUs - 20 * US_PER_MIN + R.int(0, 18 * US_PER_MIN);
    const root = add(t, 'frontend', 'GET /home', 'server', base, 0, null);
    const call = cartCall(t, root, base + R.int(300, 1000), R.chance(0.2));
    root.endUs = call.endUs + R.int(500, 3000);
  }
  for (const t of traces) {
    t.startUs = Math.min(...t.spans.map((s) => s.startUs));
    t.endUs = Math.max(...t.spans.map((s) => s.endUs));
    t.durUs = t.endUs - t.startUs;
    t.cp = criticalPath(t.spans);
    t.cpByOp = new Map(); // "service\0operation" → µs on the path
    for (const [s, us] of t.cp.path) {
      const k = `${s.service}\0${s.name}`;
      t.cpByOp.set(k, (t.cpByOp.get(k) ?? 0) + us);
    }
  }
  return traces;
}

/** The answer of /api/bottlenecks for these traces (the entry point's), by the rules. */
function bottlenecks(traces, threshold = null) {
  const durs = traces.map((t) => t.durUs).sort((a, b) => a - b);
  const r = Math.min(durs.length, Math.max(1, Math.ceil(0.9 * durs.length)));
  const slowThreshold = threshold ?? durs[r - 1];
  const slow = traces.filter((t) => t.durUs >= slowThreshold);
  const typical = traces.filter((t) => t.durUs < slowThreshold);
  const keys = new Set(traces.flatMap((t) => [...t.cpByOp.keys()]));
  const slowTotal = slow.reduce((n, t) => n + [...t.cpByOp.values()].reduce((a, b) => a + b, 0), 0);
  const rows = [...keys].map((k) => {
    const [service, operation] = k.split('\0');
    const sum = (list) => list.reduce((n, t) => n + (t.cpByOp.get(k) ?? 0), 0);
    const slowSum = sum(slow);
    const slowMean = slow.length ? slowSum / slow.length : 0;
    const typicalMean = typical.length ? sum(typical) / typical.length : 0;
    const ranked = slow.map((t) => [t, t.cpByOp.get(k) ?? 0]).sort((a, b) => b[1] - a[1]);
    return {
      service, operation, slowMean, typicalMean, excess: slowMean - typicalMean,
      share: slowTotal ? slowSum / slowTotal : 0, ranked,
    };
  });
  rows.sort((a, b) => b.excess - a.excess || cmp(a.service, b.service) || cmp(a.operation, b.operation));
  return { slowThreshold, slowTraces: slow.length, typicalTraces: typical.length, rows, slow };
}

const near = (got, want, scale = Math.abs(want)) => typeof got === 'number' && Math.abs(got - want) <= 0.01 * scale + 1;

/** Differences between an answer and the expected one (rows compared by service and operation). */
function diffBottlenecks(json, want) {
  const out = [];
  if (!json || !Array.isArray(json.data)) return [`not a bottleneck answer: ${JSON.stringify(json)?.slice(0, 300)}`];
  if (json.slowThreshold !== want.slowThreshold) out.push(`slowThreshold ${json.slowThreshold}, expected ${want.slowThreshold}`);
  if (json.slowTraces !== want.slowTraces) out.push(`slowTraces ${json.slowTraces}, expected ${want.slowTraces}`);
  if (json.typicalTraces !== want.typicalTraces) out.push(`typicalTraces ${json.typicalTraces}, expected ${want.typicalTraces}`);
  const byKey = new Map(want.rows.map((r) => [`${r.service}\0${r.operation}`, r]));
  const seen = new Set();
  json.data.forEach((g, i) => {
    const k = `${g.service}\0${g.operation}`;
    const where = `row ${i} (${g.service} / ${g.operation})`;
    if (seen.has(k)) out.push(`${where}: listed twice`);
    seen.add(k);
    const w = byKey.get(k) ?? { slowMean: 0, typicalMean: 0, excess: 0, share: 0 };
    const scale = Math.max(Math.abs(w.slowMean), Math.abs(w.typicalMean));
    if (!near(g.slowMean, w.slowMean)) out.push(`${where}: slowMean ${g.slowMean}, expected ${w.slowMean.toFixed(1)}`);
    if (!near(g.typicalMean, w.typicalMean)) out.push(`${where}: typicalMean ${g.typicalMean}, expected ${w.typicalMean.toFixed(1)}`);
    if (!near(g.excess, w.excess, scale)) out.push(`${where}: excess ${g.excess}, expected ${w.excess.toFixed(1)}`);
    if (typeof g.share !== 'number' || Math.abs(g.share - w.share) > 0.01 * w.share + 1e-4) {
      out.push(`${where}: share ${g.share}, expected ${w.share.toFixed(5)}`);
    }
    if (i && typeof json.data[i - 1].excess === 'number' && json.data[i - 1].excess < g.excess) {
      out.push(`${where}: ranked after a row of smaller excess (${json.data[i - 1].excess} < ${g.excess})`);
    }
    if (!Array.isArray(g.examples) || g.examples.length > 5) out.push(`${where}: examples must be an array of at most 5`);
  });
  for (const w of want.rows) {
    if ((w.slowMean > 0 || w.typicalMean > 0) && !seen.has(`${w.service}\0${w.operation}`)) {
      out.push(`missing row ${w.service} / ${w.operation} (slowMean ${w.slowMean.toFixed(1)}, typicalMean ${w.typicalMean.toFixed(1)})`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// OTLP/JSON
// ---------------------------------------------------------------------------

const KIND_NUM = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function otlpBody(spans) {
  const byService = new Map();
  for (const s of spans) {
    if (!byService.has(s.service)) byService.set(s.service, []);
    byService.get(s.service).push(s);
  }
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: 'bottlenecks-test' },
        spans: list.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, ...(s.parent ? { parentSpanId: s.parent.spanId } : {}),
          name: s.name, kind: KIND_NUM[s.kind],
          startTimeUnixNano: `${s.startUs}000`, endTimeUnixNano: `${s.endUs}000`,
          attributes: Object.entries(s.attrs).map(([key, v]) => ({ key, value: { stringValue: String(v) } })),
        })),
      }],
    })),
  });
}

// ---------------------------------------------------------------------------
// The hand-built trace for /api/traces/{id}/critical-path (times in µs from T)
//
//   A cp-frontend SERVER "GET /cp"      [0, 100000]
//   ├ B cp-frontend CLIENT "call backend" [5000, 30000]
//   │ └ C cp-backend SERVER "GET /b"     [7000, 28000]
//   ├ D cp-frontend CLIENT "call left"   [35000, 70000]   parallel with E
//   ├ E cp-frontend CLIENT "call right"  [40000, 80000]
//   │ └ G cp-right SERVER "GET /r"       [42000, 78000]
//   └ F cp-frontend INTERNAL "flush"     [85000, 110000]  overruns A
//
// Walking back from A's end: F (cut at 100000), A's gap 80000-85000, E (and
// G inside it), D from 35000 to 40000 (still running when the path reaches
// 40000, so it takes the path up to there), A's gap 30000-35000, B (and C),
// A's 0-5000.
// ---------------------------------------------------------------------------

const HAND = {
  path: [['A', 0, 5000], ['B', 5000, 7000], ['C', 7000, 28000], ['B', 28000, 30000], ['A', 30000, 35000],
    ['D', 35000, 40000], ['E', 40000, 42000], ['G', 42000, 78000], ['E', 78000, 80000], ['A', 80000, 85000],
    ['F', 85000, 100000]],
  self: { A: 15000, B: 4000, C: 21000, D: 35000, E: 4000, G: 36000, F: 25000 },
  onPath: { A: 15000, B: 4000, C: 21000, D: 5000, E: 4000, G: 36000, F: 15000 },
  duration: 110000,
};

function handTrace(R, T) {
  const t = { traceId: R.hex(16), spans: [] };
  const by = {};
  const add = (key, service, name, kind, s, e, parent) => {
    by[key] = { key, traceId: t.traceId, spanId: R.hex(8), parent: parent ? by[parent] : null, service, name, kind,
      startUs: T + s, endUs: T + e, attrs: {} };
    t.spans.push(by[key]);
  };
  add('A', 'cp-frontend', 'GET /cp', 'server', 0, 100000, null);
  add('B', 'cp-frontend', 'call backend', 'client', 5000, 30000, 'A');
  add('C', 'cp-backend', 'GET /b', 'server', 7000, 28000, 'B');
  add('D', 'cp-frontend', 'call left', 'client', 35000, 70000, 'A');
  add('E', 'cp-frontend', 'call right', 'client', 40000, 80000, 'A');
  add('G', 'cp-right', 'GET /r', 'server', 42000, 78000, 'E');
  add('F', 'cp-frontend', 'flush', 'internal', 85000, 110000, 'A');
  t.by = by;
  return t;
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

const traces = generate(SEED);
const checkout = traces.filter((t) => t.kind === 'checkout');
const frontendAll = traces; // every trace holds a frontend span
const hand = handTrace(makeRng(SEED ^ 0xc0ffee), nowUs - 5 * US_PER_MIN + 123);
const window = { start: nowUs - 30 * US_PER_MIN, end: nowUs + US_PER_MIN };
const entryPath = (extra = '') =>
  `/api/bottlenecks?service=frontend&operation=${encodeURIComponent('GET /checkout')}&start=${window.start}&end=${window.end}${extra}`;
let server;
let first; // the settled answer for GET /checkout

before(async () => {
  server = await startServer({ args: PAIR_WAIT_ARGS });
});
after(async () => {
  await server?.close();
});

test('the expected answers are self-consistent', () => {
  // the critical path of the hand-built trace, by the implementation here
  const cp = criticalPath(hand.spans);
  assert.deepEqual(cp.segments.map((g) => [g.span.key, g.start - hand.by.A.startUs, g.end - hand.by.A.startUs]), HAND.path);
  assert.deepEqual(Object.fromEntries([...cp.self].map(([s, v]) => [s.key, v])), HAND.self);
  assert.deepEqual(Object.fromEntries([...cp.path].map(([s, v]) => [s.key, v])), HAND.onPath);
  for (const t of traces) { // every path covers the root exactly once
    const total = [...t.cp.path.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, t.cp.root.endUs - t.cp.root.startUs);
    t.cp.segments.forEach((g, i) => assert.ok(!i || t.cp.segments[i - 1].end === g.start));
  }
  const want = bottlenecks(checkout);
  assert.equal(want.slowTraces + want.typicalTraces, N_CHECKOUT);
  assert.equal(`${want.rows[0].service}/${want.rows[0].operation}`, `${PLANTED.service}/${PLANTED.operation}`,
    'the planted operation ranks first');
  const plantedSlow = want.slow.filter((t) => t.planted).length;
  assert.ok(plantedSlow >= 0.8 * want.slowTraces, `slow traces are mostly the planted ones (${plantedSlow}/${want.slowTraces})`);
  assert.ok(want.rows[0].excess > 2 * want.rows[1].excess, 'the planted operation stands out');
});

test('send the workload (OTLP/JSON)', { timeout: 30000 }, async () => {
  const all = [...traces, hand];
  for (let i = 0; i < all.length; i += 90) {
    const body = otlpBody(all.slice(i, i + 90).flatMap((t) => t.spans));
    const r = await server.post('/v1/traces', body, { 'Content-Type': 'application/json' });
    assert.equal(r.status, 200, r.body.toString('utf8').slice(0, 300));
  }
});

test('GET /api/bottlenecks for frontend "GET /checkout": split, ranking, means', { timeout: 30000 }, async () => {
  const want = bottlenecks(checkout);
  const deadline = Date.now() + 15000;
  let r;
  let last = '';
  let since = Date.now();
  for (;;) { // until every trace is counted, or nothing changes for 3 s
    r = await server.getJson(entryPath());
    const n = r.status === 200 ? (r.json?.slowTraces ?? 0) + (r.json?.typicalTraces ?? 0) : -1;
    if (n === N_CHECKOUT || Date.now() > deadline) break;
    const sig = `${r.status} ${n}`;
    if (sig !== last) {
      last = sig;
      since = Date.now();
    } else if (Date.now() - since > 3000) break;
    await sleep(250);
  }
  assert.equal(r.status, 200, r.text.slice(0, 500));
  first = r.json;
  assert.equal(r.json.slowTraces + r.json.typicalTraces, N_CHECKOUT, 'slowTraces + typicalTraces = the traces of the entry point');
  const top = r.json.data?.[0];
  assert.deepEqual({ service: top?.service, operation: top?.operation }, PLANTED, 'the planted operation ranks first');
  const diff = diffBottlenecks(r.json, want);
  assert.deepEqual(diff, [], diff.join('\n'));
});

test('the examples of the planted operation are its slowest traces, and hold it', { timeout: 30000 }, async () => {
  assert.ok(first, 'no answer from the previous test');
  const want = bottlenecks(checkout);
  const row = first.data.find((x) => x.service === PLANTED.service && x.operation === PLANTED.operation);
  const wantRow = want.rows.find((x) => x.service === PLANTED.service && x.operation === PLANTED.operation);
  assert.ok(row && Array.isArray(row.examples), 'planted row with examples');
  assert.equal(row.examples.length, Math.min(5, wantRow.ranked.filter(([, us]) => us > 0).length));
  const slowIds = new Set(want.slow.map((t) => t.traceId));
  for (const id of row.examples) {
    assert.ok(slowIds.has(String(id).toLowerCase()), `example ${id} is a slow trace`);
  }
  // the five where it spent the most time (when the fifth and the sixth differ)
  const r5 = wantRow.ranked;
  if (r5.length <= 5 || r5[4][1] !== r5[5][1]) {
    assert.deepEqual(row.examples.map((x) => String(x).toLowerCase()).sort(),
      r5.slice(0, 5).map(([t]) => t.traceId).sort(), 'examples = the top five by critical-path time');
  }
  for (const id of row.examples) {
    const tr = await server.getJson(`/api/traces/${id}`);
    assert.equal(tr.status, 200, `GET /api/traces/${id}: ${tr.text.slice(0, 200)}`);
    const t = tr.json.data[0];
    const holds = t.spans.some((s) => s.operationName === PLANTED.operation &&
      t.processes[s.processID]?.serviceName === PLANTED.service);
    assert.ok(holds, `trace ${id} holds ${PLANTED.service} "${PLANTED.operation}"`);
  }
});

test('threshold= sets the split', { timeout: 20000 }, async () => {
  const durs = checkout.map((t) => t.durUs).sort((a, b) => a - b);
  for (const threshold of [durs[Math.floor(durs.length / 2)], durs[Math.floor(durs.length * 0.97)] + 1]) {
    const want = bottlenecks(checkout, threshold);
    const r = await server.getJson(entryPath(`&threshold=${threshold}`));
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(r.json.slowTraces, checkout.filter((t) => t.durUs >= threshold).length);
    const diff = diffBottlenecks(r.json, want);
    assert.deepEqual(diff, [], `threshold=${threshold}:\n${diff.join('\n')}`);
  }
});

test('service= alone: every trace of the service; the default window holds them all', { timeout: 20000 }, async () => {
  const want = bottlenecks(frontendAll);
  const r = await server.getJson(`/api/bottlenecks?service=frontend&start=${window.start}&end=${window.end}`);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal(r.json.slowTraces + r.json.typicalTraces, N_CHECKOUT + N_HOME);
  const diff = diffBottlenecks(r.json, want);
  assert.deepEqual(diff, [], diff.join('\n'));
  const d = await server.getJson(`/api/bottlenecks?service=frontend&operation=${encodeURIComponent('GET /checkout')}`);
  assert.equal(d.status, 200, d.text.slice(0, 300));
  assert.equal(d.json.slowTraces + d.json.typicalTraces, N_CHECKOUT, 'default window: the last hour');
});

test('GET /api/traces/{id}/critical-path of the hand-built trace', { timeout: 20000 }, async () => {
  const r = await server.getJson(`/api/traces/${hand.traceId}/critical-path`);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  const j = r.json;
  const T = hand.by.A.startUs;
  const keyOf = new Map(hand.spans.map((s) => [s.spanId, s.key]));
  assert.equal(String(j.traceID).toLowerCase(), hand.traceId);
  assert.equal(j.duration, HAND.duration, 'duration: earliest start to latest end');
  assert.ok(Array.isArray(j.criticalPath), 'criticalPath');
  assert.deepEqual(j.criticalPath.map((g) => [keyOf.get(String(g.spanID).toLowerCase()) ?? g.spanID, g.start - T, g.start - T + g.duration]),
    HAND.path, 'the path, in time order');
  for (const g of j.criticalPath) {
    const s = hand.by[keyOf.get(String(g.spanID).toLowerCase())];
    assert.deepEqual([g.service, g.operation], [s.service, s.name], `path entry ${g.spanID}`);
  }
  assert.ok(Array.isArray(j.spans) && j.spans.length === hand.spans.length, 'every span listed once');
  const got = {};
  for (const s of j.spans) {
    const k = keyOf.get(String(s.spanID).toLowerCase());
    const h = hand.by[k];
    assert.ok(h, `unknown span ${s.spanID}`);
    assert.deepEqual([s.service, s.operation, s.start, s.duration], [h.service, h.name, h.startUs, h.endUs - h.startUs], `span ${k}`);
    got[k] = [s.selfTime, s.onPath];
  }
  const want = Object.fromEntries(Object.keys(HAND.self).map((k) => [k, [HAND.self[k], HAND.onPath[k]]]));
  assert.deepEqual(got, want, '[selfTime, onPath] of every span');
});

test('tracemap exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
});
