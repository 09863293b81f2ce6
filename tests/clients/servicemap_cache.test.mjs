// The service map's cache of merged rollups (docs/servicemap.md, "Cost")
// never answers with what the store no longer holds. Calls are placed in
// old hours, ten-minute blocks and minutes of a 24 h window, whose merged
// runs the server keeps after the first query; then more calls arrive
// for those very minutes (late data: their traces start hours ago), and
// every window over them must count them at once, exactly, with
// percentiles within 2% of the exact nearest rank of all the latencies.
// The same windows are asked several times between the rounds (hits) and
// windows that share some runs and not others too, each also focused on
// cache-front, whose user node must keep the figures of all its calls.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sleep } from './lib/server.mjs';
import { makeRng } from './lib/rng.mjs';

const US_PER_MIN = 60e6;
const PCT_TOL = 0.02;
const SEED = process.env.SERVICEMAP_SEED ? Number(process.env.SERVICEMAP_SEED) >>> 0
  : (Date.now() ^ (process.pid << 12)) >>> 0;
process.stdout.write(`# servicemap_cache: SERVICEMAP_SEED=${SEED}\n`);
const R = makeRng(SEED);

const nowUs = Date.now() * 1000;
const nowMin = Math.floor(nowUs / US_PER_MIN);
// minutes well inside a whole hour, a whole ten minutes and a lone minute
// of the windows below (each more than the two newest minutes back)
const PLACES = [nowMin - 5 * 60 + 7, nowMin - 3 * 60 + 31, nowMin - 47, nowMin - 14, nowMin - 4];
const WINDOWS = [
  ['24h', nowUs - 24 * 60 * US_PER_MIN, nowUs],
  ['1h', nowUs - 60 * US_PER_MIN, nowUs],
  ['6h-2h', nowUs - 6 * 60 * US_PER_MIN, nowUs - 2 * 60 * US_PER_MIN],
  ['20m', nowUs - 20 * US_PER_MIN, nowUs],
];

const hex = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += (R.u32() & 255).toString(16).padStart(2, '0');
  return s;
};

function nearestRank(values, q) {
  const v = [...values].sort((a, b) => a - b);
  const r = Math.min(v.length, Math.max(1, Math.ceil(q * v.length)));
  return v[r - 1];
}

// one trace: user -> ROOT (root server) -> cache-back (client/server);
// ROOT cache-front, or cache-other for the traces a focus leaves out
function makeTrace(minute, slow, root = 'cache-front') {
  const startUs = minute * US_PER_MIN + R.int(1e6, 50e6);
  const clientUs = slow ? R.int(200000, 900000) : Math.max(500, Math.round(R.logNormal(8000, 0.7)));
  const traceId = hex(16), rootId = hex(8), client = hex(8);
  // the root's own work before and after the call: user -> root latencies
  const rootUs = clientUs + (root === 'cache-front' ? R.int(1000, 3000) : R.int(400000, 600000));
  return {
    minute, clientUs, rootUs, root,
    spans: [
      [root, { traceId, spanId: rootId, name: 'GET /x', kind: 2, start: startUs, end: startUs + rootUs }],
      [root, { traceId, spanId: client, parentSpanId: rootId, name: 'GET', kind: 3, start: startUs + 500, end: startUs + 500 + clientUs }],
      ['cache-back', { traceId, spanId: hex(8), parentSpanId: client, name: 'GET /y', kind: 2, start: startUs + 700, end: startUs + 300 + clientUs }],
    ],
  };
}

function otlp(traces) {
  const by = new Map();
  for (const t of traces) {
    for (const [service, s] of t.spans) {
      if (!by.has(service)) by.set(service, []);
      by.get(service).push(s);
    }
  }
  return JSON.stringify({
    resourceSpans: [...by].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: 'servicemap-cache-test' },
        spans: list.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId, name: s.name, kind: s.kind,
          startTimeUnixNano: `${s.start}000`, endTimeUnixNano: `${s.end}000`,
        })),
      }],
    })),
  });
}

let server;
before(async () => {
  server = await startServer({ args: ['--pair-wait', '300ms'] });
});
after(async () => {
  await server?.close();
});

async function send(traces) {
  const r = await server.post('/v1/traces', otlp(traces), { 'Content-Type': 'application/json' });
  assert.equal(r.status, 200, r.body.toString('utf8').slice(0, 300));
}

async function edge(startUs, endUs) {
  const r = await server.getJson(`/api/servicemap?start=${startUs}&end=${endUs}`);
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text).edges.find((e) => e.source === 'cache-front' && e.target === 'cache-back');
}

// the user node of the map around cache-front: a node keeps all its
// figures, its calls into cache-other too, though the focus drops that
// edge (and renumbers the edges it keeps)
async function focusedUser(startUs, endUs) {
  const r = await server.getJson(`/api/servicemap?start=${startUs}&end=${endUs}&focus=cache-front&hops=1`);
  assert.equal(r.status, 200, r.text);
  const u = JSON.parse(r.text).nodes.find((n) => n.id === 'user');
  return u && { calls: u.requests, p50: u.p50, p90: u.p90, p99: u.p99 };
}

const inWindow = (t, startUs, endUs) => t.minute >= Math.floor(startUs / US_PER_MIN) &&
  t.minute <= Math.floor(endUs / US_PER_MIN);

// what the edge must show over [startUs, endUs], from every trace sent
function truth(sent, startUs, endUs) {
  const values = sent.filter((t) => t.root === 'cache-front' && inWindow(t, startUs, endUs)).map((t) => t.clientUs);
  return { calls: values.length, values };
}

function userTruth(sent, startUs, endUs) {
  const values = sent.filter((t) => inWindow(t, startUs, endUs)).map((t) => t.rootUs);
  return { calls: values.length, values };
}

function diff(got, want, where) {
  if (!want.calls) return got ? [`${where}: an edge without calls: ${JSON.stringify(got)}`] : [];
  if (!got) return [`${where}: no edge, ${want.calls} calls expected`];
  const out = [];
  if (got.calls !== want.calls) out.push(`${where}: calls ${got.calls}, expected ${want.calls}`);
  for (const [f, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]]) {
    const w = nearestRank(want.values, q);
    if (Math.abs(got[f] - w) > PCT_TOL * w + 1) out.push(`${where}: ${f} ${got[f]}, exact ${w} µs (±2%)`);
  }
  return out;
}

// every window, asked `times` times, against the truth; waits (at most ms)
// for the pairing to catch up with what was sent last
async function check(sent, times, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const problems = [];
    for (let k = 0; k < times; k++) {
      for (const [name, s, e] of WINDOWS) {
        problems.push(...diff(await edge(s, e), truth(sent, s, e), `${name} #${k + 1}`));
        problems.push(...diff(await focusedUser(s, e), userTruth(sent, s, e), `${name} focus user #${k + 1}`));
      }
    }
    if (!problems.length) return;
    if (Date.now() > until) assert.fail(problems.slice(0, 12).join('\n'));
    await sleep(250);
  }
}

test('merged runs kept between queries follow late data into old minutes', { timeout: 90000 }, async () => {
  const sent = [];
  const round = async (perPlace, slow) => {
    const traces = [];
    for (const m of PLACES) {
      for (let i = 0; i < perPlace; i++) traces.push(makeTrace(m, slow));
      for (let i = 0; i < 5; i++) traces.push(makeTrace(m, slow, 'cache-other'));
    }
    await send(traces);
    sent.push(...traces);
  };
  await round(40, false);
  await check(sent, 3, 20000);
  // late data into the same old minutes: slower calls, so the percentiles
  // move as well as the counts
  await round(15, true);
  await check(sent, 3, 20000);
  // only some of the minutes this time
  const traces = [makeTrace(PLACES[1], true), makeTrace(PLACES[1], true), makeTrace(PLACES[3], false)];
  await send(traces);
  sent.push(...traces);
  await check(sent, 2, 20000);
});
