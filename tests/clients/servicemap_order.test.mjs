// Order independence of the service map.
//
// One fixed set of traces (seeded; SERVICEMAP_SEED=N reproduces a run) is
// built by the test as OTLP/JSON and Zipkin v2 JSON and sent to three fresh
// servers (each --pair-wait 1s), in three orders:
//   (i)   children first: one level of the span trees at a time, deepest
//         first, so every child's request goes before its parent's;
//   (ii)  parents first: the same, shallowest first;
//   (iii) shuffled over many small requests (some of one span, others random
//         batches), with pauses of a few hundred ms between some of them (a
//         trace's spans may then arrive after it was first paired).
// After the maps settle, the three GET /api/servicemap answers (nodes,
// edges, calls, errors, percentiles) must be identical, and equal to the
// answer computed here with the rules of docs/servicemap.md (computeMap).
//
// The traces (service names lower-case, as Zipkin wants them):
//   gateway GET /shop  → catalog (client/server) → pg-main (postgresql,
//                        named by server.address before db.namespace) and
//                        sometimes → legacy (mysql, named by db.name)
//   gateway POST /order→ orders → order-events PRODUCER → fulfil CONSUMER →
//                        api.shipper.example (external); some producers have
//                        no consumer (→ virtual node order-events, messaging);
//                        orders → legacy-billing (uninstrumented peer,
//                        peer.service)
//   gateway GET /shop  → a client span with peer.service=catalog and no
//                        server span: the edge goes to the service node catalog
//   gateway GET /report→ worker INTERNAL span (a plain parent/child across
//                        services) → redis (named by db.system only)
//   worker POST /jobs  (roots)
//   catalog GET /items whose parent never arrives: no edge, but a request
//   Zipkin: web → auth with B3 shared spans (the server record reuses the
//           client's span ID, "shared": true); auth's own client span (its
//           parentId is the shared ID) → userdb (peer.service from
//           remoteEndpoint). The pair counts as web → auth; the child of the
//           shared ID belongs to auth's server record, so it makes no
//           web → auth edge of its own.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sleep } from './lib/server.mjs';

const PAIR_WAIT_ARGS = ['--pair-wait', '1s'];
const US_PER_MIN = 60e6;
const SEED = process.env.SERVICEMAP_SEED ? Number(process.env.SERVICEMAP_SEED) >>> 0
  : (Date.now() ^ (process.pid << 12)) >>> 0;
process.stdout.write(`# servicemap_order: SERVICEMAP_SEED=${SEED}\n`);

// ---------------------------------------------------------------------------
// The service-map rules of docs/servicemap.md, over plain span records:
// {traceId, spanId, parentSpanId ('' for a root), parent (record or null),
//  service, name, kind ('server'|'client'|'producer'|'consumer'|'internal'),
//  startUs, endUs (whole µs), attrs {key: value}, error (status ERROR)}
// ---------------------------------------------------------------------------

const durUs = (s) => Math.max(0, s.endUs - s.startUs);

function httpStatus(s) {
  const v = s.attrs['http.response.status_code'] ?? s.attrs['http.status_code'];
  const n = typeof v === 'string' ? Number(v) : v;
  return Number.isInteger(n) ? n : null;
}

/** The virtual node a client or producer span names, or null. */
function virtualPeer(c, services) {
  if (c.kind !== 'client' && c.kind !== 'producer') return null;
  const has = (k) => c.attrs[k] !== undefined && c.attrs[k] !== '';
  const isDb = c.kind === 'client' && (has('db.system.name') || has('db.system'));
  const isMsg = !isDb && has('messaging.system');
  const keys = ['peer.service', 'service.peer.name', 'server.address'];
  if (isDb) keys.push('db.namespace', 'db.name', 'db.system.name', 'db.system');
  if (isMsg) keys.push('messaging.destination.name', 'messaging.system');
  const k = keys.find(has);
  if (!k) return null;
  const id = String(c.attrs[k]);
  if (services.has(id)) return { id, kind: 'service' };
  return { id, kind: isDb ? 'database' : isMsg ? 'messaging' : 'external' };
}

/**
 * The map of these spans: {nodes: Map id → node, edges: Map "src\0dst" → edge},
 * node = {id, kind, requests, errors, http4xx, http5xx, throttled, values[]},
 * edge = {source, target, calls, errors, values[]} (values: latencies in µs).
 */
function computeMap(spans, level = 'service') {
  const services = new Set(spans.map((s) => s.service));
  const children = new Map();
  for (const s of spans) {
    if (!s.parent) continue;
    if (!children.has(s.parent)) children.set(s.parent, []);
    children.get(s.parent).push(s);
  }
  const entryOp = (s) => {
    let e = s;
    while (e.parent && e.parent.service === e.service) e = e.parent;
    return e.name;
  };
  const nodeOf = (s) => (level === 'operation' ? `${s.service}:${entryOp(s)}` : s.service);
  const nodes = new Map();
  const edges = new Map();
  const node = (id, kind) => {
    if (!nodes.has(id)) {
      nodes.set(id, { id, kind, requests: 0, errors: 0, http4xx: 0, http5xx: 0, throttled: 0, values: [] });
    }
    return nodes.get(id);
  };
  const virtualKind = new Map();
  const edge = (source, target, lat, failed) => {
    const key = `${source}\0${target}`;
    if (!edges.has(key)) edges.set(key, { source, target, calls: 0, errors: 0, values: [] });
    const e = edges.get(key);
    e.calls++;
    if (failed) e.errors++;
    e.values.push(lat);
  };

  if (level === 'service') for (const sv of services) node(sv, 'service');
  for (const s of spans) {
    if (s.kind !== 'server' && s.kind !== 'consumer') continue;
    const n = node(nodeOf(s), 'service');
    n.requests++;
    if (s.error) n.errors++;
    const code = httpStatus(s);
    if (code !== null && code >= 400 && code < 500 && code !== 429) n.http4xx++;
    if (code !== null && code >= 500 && code < 600) n.http5xx++;
    if (code === 429) n.throttled++;
    n.values.push(durUs(s));
  }
  for (const x of spans) {
    const p = x.parent;
    // rule 1: a span whose parent is in another service
    if (p && p.service !== x.service) {
      const callerView = p.kind === 'client' || p.kind === 'producer';
      edge(nodeOf(p), nodeOf(x), callerView ? durUs(p) : durUs(x), p.error || x.error);
    }
    // rule 3: a root server or consumer span
    if (!x.parentSpanId && (x.kind === 'server' || x.kind === 'consumer')) {
      edge('user', nodeOf(x), durUs(x), x.error);
    }
    // rule 2: a client or producer span without a child in another service
    if (x.kind === 'client' || x.kind === 'producer') {
      if ((children.get(x) ?? []).some((c) => c.service !== x.service)) continue;
      const peer = virtualPeer(x, services);
      if (!peer) continue;
      if (peer.kind !== 'service') virtualKind.set(peer.id, peer.kind);
      edge(nodeOf(x), peer.id, durUs(x), x.error);
    }
  }
  for (const e of edges.values()) {
    if (e.source === 'user') {
      const n = node('user', 'user');
      n.requests += e.calls;
      n.errors += e.errors;
      n.values.push(...e.values);
    }
    if (virtualKind.has(e.target)) {
      const n = node(e.target, virtualKind.get(e.target));
      n.requests += e.calls;
      n.errors += e.errors;
      n.values.push(...e.values);
    }
  }
  return { nodes, edges };
}

/** Only nodes within `hops` edges (either direction) of service S's node(s), and the edges between them. */
function focusMap(map, service, hops, level) {
  const isOwn = (id) => (level === 'operation' ? id.startsWith(`${service}:`) : id === service);
  let frontier = new Set([...map.nodes.keys()].filter(isOwn));
  const keep = new Set(frontier);
  for (let h = 0; h < hops; h++) {
    const next = new Set();
    for (const e of map.edges.values()) {
      if (frontier.has(e.source) && !keep.has(e.target)) next.add(e.target);
      if (frontier.has(e.target) && !keep.has(e.source)) next.add(e.source);
    }
    for (const id of next) keep.add(id);
    frontier = next;
  }
  return {
    nodes: new Map([...map.nodes].filter(([id]) => keep.has(id))),
    edges: new Map([...map.edges].filter(([, e]) => keep.has(e.source) && keep.has(e.target))),
  };
}

/** Exact nearest-rank percentile of values (r = ceil(q·n), clamped to [1, n]). */
function nearestRank(values, q) {
  if (!values.length) return null;
  const v = [...values].sort((a, b) => a - b);
  const r = Math.min(v.length, Math.max(1, Math.ceil(q * v.length)));
  return v[r - 1];
}

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------
// Comparison of an answer with the expected map
// ---------------------------------------------------------------------------

const PCT_TOL = 0.01;
const ABS_TOL_US = 1;
const near = (got, want) => typeof got === 'number' && Math.abs(got - want) <= PCT_TOL * Math.abs(want) + ABS_TOL_US;

/**
 * Differences between a /api/servicemap answer and the expected map, as
 * lines of text (empty: equal). opts: nodeStats (compare node statistics:
 * 'all' | 'service' | 'none'), percentiles (bool).
 */
function diffMap(json, want, { nodeStats = 'all', percentiles = true, names = true } = {}) {
  const out = [];
  if (!json || !Array.isArray(json.nodes) || !Array.isArray(json.edges)) {
    return [`not a service map: ${JSON.stringify(json)?.slice(0, 300)}`];
  }
  const gotNodes = new Map();
  for (const n of json.nodes) {
    if (gotNodes.has(n.id)) out.push(`node ${n.id} listed twice`);
    gotNodes.set(n.id, n);
  }
  const ids = json.nodes.map((n) => n.id);
  if (ids.some((id, i) => i && cmp(ids[i - 1], id) > 0)) out.push(`nodes not sorted by id: ${JSON.stringify(ids)}`);
  const ek = json.edges.map((e) => [e.source, e.target]);
  if (ek.some((k, i) => i && (cmp(ek[i - 1][0], k[0]) || cmp(ek[i - 1][1], k[1])) > 0)) {
    out.push(`edges not sorted by source, target: ${JSON.stringify(ek)}`);
  }
  const wantIds = [...want.nodes.keys()].sort(cmp);
  const gotIds = [...gotNodes.keys()].sort(cmp);
  if (wantIds.join('\n') !== gotIds.join('\n')) {
    out.push(`node ids: expected ${JSON.stringify(wantIds)}\n      got ${JSON.stringify(gotIds)}`);
  }
  for (const [id, w] of want.nodes) {
    const g = gotNodes.get(id);
    if (!g) continue;
    const where = `node ${id}`;
    if (g.kind !== w.kind) out.push(`${where}: kind ${JSON.stringify(g.kind)}, expected ${w.kind}`);
    if (names && g.name !== id) out.push(`${where}: name ${JSON.stringify(g.name)}, expected ${JSON.stringify(id)}`);
    const stats = nodeStats === 'all' || (nodeStats === 'service' && w.kind === 'service');
    if (!stats) continue;
    for (const f of ['requests', 'errors']) {
      if (g[f] !== w[f]) out.push(`${where}: ${f} ${g[f]}, expected ${w[f]}`);
    }
    for (const f of ['http4xx', 'http5xx', 'throttled']) {
      if (g[f] !== undefined && w.kind === 'service' && g[f] !== w[f]) out.push(`${where}: ${f} ${g[f]}, expected ${w[f]}`);
    }
    if (percentiles && w.values.length) {
      for (const [f, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]]) {
        const x = nearestRank(w.values, q);
        if (!near(g[f], x)) out.push(`${where}: ${f} ${g[f]}, expected ${x} µs (±1%)`);
      }
    }
  }
  const gotEdges = new Map();
  for (const e of json.edges) {
    const key = `${e.source}\0${e.target}`;
    if (gotEdges.has(key)) out.push(`edge ${e.source} → ${e.target} listed twice`);
    gotEdges.set(key, e);
  }
  for (const [key, w] of want.edges) {
    const g = gotEdges.get(key);
    const where = `edge ${w.source} → ${w.target}`;
    if (!g) {
      out.push(`${where}: missing (expected calls ${w.calls}, errors ${w.errors})`);
      continue;
    }
    if (g.calls !== w.calls) out.push(`${where}: calls ${g.calls}, expected ${w.calls}`);
    if (g.errors !== w.errors) out.push(`${where}: errors ${g.errors}, expected ${w.errors}`);
    if (percentiles) {
      for (const [f, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]]) {
        const x = nearestRank(w.values, q);
        if (!near(g[f], x)) out.push(`${where}: ${f} ${g[f]}, expected ${x} µs (±1%)`);
      }
    }
  }
  for (const [key, g] of gotEdges) {
    if (!want.edges.has(key)) out.push(`edge ${g.source} → ${g.target}: unexpected (calls ${g.calls}, errors ${g.errors})`);
  }
  return out;
}

/** A short fingerprint of the counts of an answer or of an expected map, to see it settle. */
function countsOfAnswer(json) {
  if (!json || !Array.isArray(json.nodes) || !Array.isArray(json.edges)) return `bad: ${JSON.stringify(json)?.slice(0, 100)}`;
  const n = json.nodes.map((x) => [x.id, x.requests, x.errors]).sort((a, b) => cmp(a[0], b[0]));
  const e = json.edges.map((x) => [x.source, x.target, x.calls, x.errors])
    .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return JSON.stringify([n, e]);
}
function countsOfMap(map) {
  const n = [...map.nodes.values()].map((x) => [x.id, x.requests, x.errors]).sort((a, b) => cmp(a[0], b[0]));
  const e = [...map.edges.values()].map((x) => [x.source, x.target, x.calls, x.errors])
    .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return JSON.stringify([n, e]);
}

/**
 * Poll GET path until its counts equal `wantCounts`, or have not changed for
 * quietMs, or timeoutMs passed; returns the last answer.
 */
async function settle(server, path, wantCounts, { timeoutMs = 15000, quietMs = 3000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  let since = Date.now();
  for (;;) {
    const r = await server.getJson(path);
    const c = r.status === 200 ? countsOfAnswer(r.json) : `status ${r.status} ${r.text.slice(0, 200)}`;
    if (c === wantCounts) return r;
    if (c !== last) {
      last = c;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return r;
    }
    if (Date.now() >= deadline) return r;
    await sleep(250);
  }
}


// ---------------------------------------------------------------------------
// Seeded PRNG (sfc32 seeded through splitmix32)
// ---------------------------------------------------------------------------

function makeRng(seed) {
  let s = seed >>> 0;
  const sm = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = sm(), b = sm(), c = sm(), d = sm();
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 20; i++) u32();
  const R = {
    float: () => u32() / 4294967296,
    int: (lo, hi) => lo + Math.floor(R.float() * (hi - lo + 1)),
    chance: (p) => R.float() < p,
    pick: (arr) => arr[Math.floor(R.float() * arr.length)],
    shuffle: (arr) => {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(R.float() * (i + 1));
        [arr[i], arr[j]] = [arr[j], arr[i]];
      }
      return arr;
    },
    hex: (bytes) => {
      let out = '';
      for (let i = 0; i < bytes; i++) {
        let v = u32() & 0xff;
        if (i === 0 && v === 0) v = 1;
        out += v.toString(16).padStart(2, '0');
      }
      return out;
    },
    logUniform: (lo, hi) => Math.round(Math.exp(Math.log(lo) + R.float() * (Math.log(hi) - Math.log(lo)))),
  };
  return R;
}

// ---------------------------------------------------------------------------
// The trace set
// ---------------------------------------------------------------------------

const HTTP_CODES = [200, 200, 200, 200, 200, 200, 201, 204, 400, 404, 429, 500, 503];

/**
 * Span records (see computeMap) with their wire form: format 'otlp' or
 * 'zipkin' (zipkin: the v2 JSON object in .zipkin).
 */
function generate(seed, t0Us) {
  const R = makeRng(seed);
  const spans = [];
  const usedIds = new Set();
  const newSpanId = () => {
    for (;;) {
      const id = R.hex(8);
      if (!usedIds.has(id)) {
        usedIds.add(id);
        return id;
      }
    }
  };
  const traceStart = () => t0Us + R.int(0, 120e6);
  /** a child interval inside [p.startUs, p.endUs] */
  const inside = (p, { from = 0.02, to = 0.95 } = {}) => {
    const len = p.endUs - p.startUs;
    const s = p.startUs + Math.max(1, Math.floor(len * (from + R.float() * 0.1)));
    const room = p.startUs + Math.floor(len * to) - s;
    const e = s + Math.max(1, Math.floor(room * (0.4 + 0.6 * R.float())));
    return [s, e];
  };
  const add = (rec) => {
    const r = {
      parent: null, parentSpanId: rec.parent ? rec.parent.spanId : '', attrs: {}, error: false, format: 'otlp', ...rec,
    };
    if (!r.spanId) r.spanId = newSpanId();
    spans.push(r);
    return r;
  };
  const serverStatus = (r) => {
    const code = R.pick(HTTP_CODES);
    r.attrs['http.response.status_code'] = code;
    r.error = code >= 500 || R.chance(0.04);
  };
  const clientOf = (r, callee) => {
    r.error = (callee?.error && R.chance(0.7)) || R.chance(0.06);
  };
  const counts = { legacy: 0, consumed: 0, produced: 0 };

  // gateway GET /shop → catalog → pg-main (and legacy): 12
  for (let i = 0; i < 12; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, service: 'gateway', name: 'GET /shop', kind: 'server', startUs: s, endUs: s + R.logUniform(20000, 600000) });
    serverStatus(root);
    const [cs, ce] = inside(root);
    const call = add({ traceId, parent: root, service: 'gateway', name: 'GET catalog', kind: 'client', startUs: cs, endUs: ce,
      attrs: { 'http.request.method': 'GET', 'server.address': 'catalog.internal' } });
    const [ss, se] = inside(call, { from: 0.01, to: 0.98 });
    const srv = add({ traceId, parent: call, service: 'catalog', name: 'GET /items', kind: 'server', startUs: ss, endUs: se });
    serverStatus(srv);
    clientOf(call, srv);
    const [ds, de] = inside(srv, { from: 0.05, to: 0.5 });
    add({ traceId, parent: srv, service: 'catalog', name: 'SELECT', kind: 'client', startUs: ds, endUs: de, error: R.chance(0.1),
      attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'server.address': 'pg-main', 'db.operation.name': 'SELECT' } });
    if (i % 2 === 0) {
      counts.legacy++;
      const [ls, le] = inside(srv, { from: 0.55, to: 0.95 });
      add({ traceId, parent: srv, service: 'catalog', name: 'query legacy', kind: 'client', startUs: ls, endUs: le, error: R.chance(0.1),
        attrs: { 'db.system': 'mysql', 'db.name': 'legacy' } });
    }
  }

  // gateway POST /order → orders → (order-events → fulfil → api.shipper.example), legacy-billing: 8
  for (let i = 0; i < 8; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, service: 'gateway', name: 'POST /order', kind: 'server', startUs: s, endUs: s + R.logUniform(30000, 900000) });
    serverStatus(root);
    const [cs, ce] = inside(root);
    const call = add({ traceId, parent: root, service: 'gateway', name: 'POST orders', kind: 'client', startUs: cs, endUs: ce,
      attrs: { 'http.request.method': 'POST', 'server.address': 'orders' } });
    const [ss, se] = inside(call, { from: 0.01, to: 0.98 });
    const srv = add({ traceId, parent: call, service: 'orders', name: 'POST /orders', kind: 'server', startUs: ss, endUs: se });
    serverStatus(srv);
    clientOf(call, srv);
    const [ps, pe] = inside(srv, { from: 0.05, to: 0.3 });
    const prod = add({ traceId, parent: srv, service: 'orders', name: 'order-events publish', kind: 'producer', startUs: ps, endUs: pe,
      error: R.chance(0.1), attrs: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': 'order-events', 'messaging.operation.type': 'send' } });
    counts.produced++;
    if (i % 4 !== 3) {
      counts.consumed++;
      const cst = pe + R.int(100, 50000);
      const cons = add({ traceId, parent: prod, service: 'fulfil', name: 'order-events process', kind: 'consumer',
        startUs: cst, endUs: cst + R.logUniform(5000, 400000), error: R.chance(0.15),
        attrs: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': 'order-events', 'messaging.operation.type': 'process' } });
      const [xs, xe] = inside(cons);
      add({ traceId, parent: cons, service: 'fulfil', name: 'POST /shipments', kind: 'client', startUs: xs, endUs: xe, error: R.chance(0.15),
        attrs: { 'http.request.method': 'POST', 'server.address': 'api.shipper.example', 'server.port': 443 } });
    }
    const [bs, be] = inside(srv, { from: 0.4, to: 0.95 });
    add({ traceId, parent: srv, service: 'orders', name: 'POST /invoice', kind: 'client', startUs: bs, endUs: be, error: R.chance(0.2),
      attrs: { 'http.request.method': 'POST', 'peer.service': 'legacy-billing' } });
  }

  // gateway GET /shop → a client span naming the service catalog, which never answers with a span: 5
  for (let i = 0; i < 5; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, service: 'gateway', name: 'GET /shop', kind: 'server', startUs: s, endUs: s + R.logUniform(20000, 600000) });
    serverStatus(root);
    const [cs, ce] = inside(root);
    add({ traceId, parent: root, service: 'gateway', name: 'GET catalog', kind: 'client', startUs: cs, endUs: ce, error: R.chance(0.2),
      attrs: { 'http.request.method': 'GET', 'peer.service': 'catalog' } });
  }

  // gateway GET /report → worker INTERNAL (no client/server pair) → redis: 4
  for (let i = 0; i < 4; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, service: 'gateway', name: 'GET /report', kind: 'server', startUs: s, endUs: s + R.logUniform(50000, 900000) });
    serverStatus(root);
    const [ws, we] = inside(root);
    const work = add({ traceId, parent: root, service: 'worker', name: 'build report', kind: 'internal', startUs: ws, endUs: we, error: R.chance(0.2) });
    const [rs, re] = inside(work);
    add({ traceId, parent: work, service: 'worker', name: 'GET', kind: 'client', startUs: rs, endUs: re, error: R.chance(0.1),
      attrs: { 'db.system': 'redis', 'db.operation.name': 'GET' } });
  }

  // worker POST /jobs roots: 3
  for (let i = 0; i < 3; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, service: 'worker', name: 'POST /jobs', kind: 'server', startUs: s, endUs: s + R.logUniform(1000, 90000) });
    serverStatus(root);
  }

  // catalog spans whose parent never arrives: 2
  for (let i = 0; i < 2; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const orphan = add({ traceId, service: 'catalog', name: 'GET /items', kind: 'server', startUs: s, endUs: s + R.logUniform(1000, 90000) });
    orphan.parentSpanId = newSpanId(); // never sent
    serverStatus(orphan);
  }

  // Zipkin v2, B3 shared spans: web → auth → userdb: 6
  for (let i = 0; i < 6; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, format: 'zipkin', service: 'web', name: 'get /login', kind: 'server', startUs: s,
      endUs: s + R.logUniform(20000, 400000), error: R.chance(0.15) });
    const [cs, ce] = inside(root);
    const call = add({ traceId, format: 'zipkin', parent: root, service: 'web', name: 'post /auth', kind: 'client', startUs: cs, endUs: ce,
      attrs: { 'peer.service': 'auth' }, remoteService: 'auth' });
    const [ss, se] = inside(call, { from: 0.01, to: 0.98 });
    const srv = add({ traceId, format: 'zipkin', parent: call, spanId: call.spanId, shared: true, service: 'auth', name: 'post /auth',
      kind: 'server', startUs: ss, endUs: se, error: R.chance(0.3) });
    srv.parentSpanId = call.spanId; // how the server record refers to its client record
    srv.zipkinParentId = root.spanId; // what Zipkin sends: the client's parent
    call.error = srv.error ? R.chance(0.5) : R.chance(0.1);
    const [ds, de] = inside(srv, { from: 0.1, to: 0.9 });
    const db = add({ traceId, format: 'zipkin', parent: srv, service: 'auth', name: 'select user', kind: 'client', startUs: ds, endUs: de,
      error: R.chance(0.2), attrs: { 'db.system': 'mysql', 'peer.service': 'userdb' }, remoteService: 'userdb' });
    db.parentSpanId = call.spanId; // the shared ID
  }

  for (const r of spans) {
    if (r.format !== 'zipkin') continue;
    const z = {
      traceId: r.traceId, id: r.spanId, kind: r.kind.toUpperCase(), name: r.name,
      timestamp: r.startUs, duration: r.endUs - r.startUs, localEndpoint: { serviceName: r.service },
    };
    if (r.shared) {
      z.parentId = r.zipkinParentId;
      z.shared = true;
    } else if (r.parentSpanId) {
      z.parentId = r.parentSpanId;
    }
    if (r.remoteService) z.remoteEndpoint = { serviceName: r.remoteService };
    const tags = {};
    for (const [k, v] of Object.entries(r.attrs)) if (k !== 'peer.service') tags[k] = String(v);
    if (r.error) tags.error = 'failed';
    if (Object.keys(tags).length) z.tags = tags;
    r.zipkin = z;
  }
  return { spans, counts };
}

// ---------------------------------------------------------------------------
// Wire forms and the three orders
// ---------------------------------------------------------------------------

const KIND_NUM = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function anyValue(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Number.isInteger(v)) return { intValue: String(v) };
  return { doubleValue: v };
}

function otlpBody(recs) {
  const byService = new Map();
  for (const r of recs) {
    if (!byService.has(r.service)) byService.set(r.service, []);
    byService.get(r.service).push(r);
  }
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: 'servicemap-order-test', version: '1.0.0' },
        spans: list.map((r) => {
          const o = {
            traceId: r.traceId, spanId: r.spanId, name: r.name, kind: KIND_NUM[r.kind],
            startTimeUnixNano: `${r.startUs}000`, endTimeUnixNano: `${r.endUs}000`,
            attributes: Object.entries(r.attrs).map(([key, v]) => ({ key, value: anyValue(v) })),
            flags: 257,
          };
          if (r.parentSpanId) o.parentSpanId = r.parentSpanId;
          if (r.error) o.status = { code: 2, message: 'failed' };
          return o;
        }),
      }],
    })),
  });
}

/** POST one chunk: its OTLP spans as one /v1/traces request, its Zipkin spans as one /api/v2/spans request. */
async function postChunk(server, chunk, R = null) {
  const otlp = chunk.filter((r) => r.format === 'otlp');
  const zipkin = chunk.filter((r) => r.format === 'zipkin');
  const reqs = [];
  if (otlp.length) reqs.push(['/v1/traces', otlpBody(otlp), 200]);
  if (zipkin.length) reqs.push(['/api/v2/spans', JSON.stringify(zipkin.map((r) => r.zipkin)), 202]);
  if (R && reqs.length === 2 && R.chance(0.5)) reqs.reverse();
  for (const [path, body, want] of reqs) {
    const r = await server.post(path, body, { 'Content-Type': 'application/json' });
    assert.equal(r.status, want, `POST ${path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  }
  return reqs.length;
}

function depthOf(r) {
  let d = 0;
  for (let p = r.parent; p; p = p.parent) d++;
  return d;
}

/** (i) and (ii): one level at a time, in chunks of at most 25 spans. */
async function sendByLevel(server, spans, deepestFirst) {
  const levels = new Map();
  for (const r of spans) {
    const d = depthOf(r);
    if (!levels.has(d)) levels.set(d, []);
    levels.get(d).push(r);
  }
  const order = [...levels.keys()].sort((a, b) => (deepestFirst ? b - a : a - b));
  let n = 0;
  for (const d of order) {
    const list = levels.get(d);
    for (let i = 0; i < list.length; i += 25) n += await postChunk(server, list.slice(i, i + 25));
  }
  return n;
}

/** (iii): shuffled, one span per request for some, random batches for others, with pauses. */
async function sendShuffled(server, spans, R) {
  const list = R.shuffle([...spans]);
  let n = 0;
  for (let i = 0; i < list.length;) {
    const size = R.chance(0.4) ? 1 : R.int(2, 12);
    n += await postChunk(server, list.slice(i, i + size), R);
    i += size;
    if (R.chance(0.15)) await sleep(R.int(150, 450));
  }
  return n;
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

const t0Us = (Date.now() - 180000) * 1000; // traces start over [now - 3 min, now - 1 min]
const data = generate(SEED, t0Us);
const truth = computeMap(data.spans);
const window = { start: t0Us - 2 * US_PER_MIN + 777, end: Date.now() * 1000 + 3 * US_PER_MIN + 333 };
const mapPath = `/api/servicemap?start=${window.start}&end=${window.end}`;
const ORDERS = ['children first', 'parents first', 'shuffled'];
const servers = [];
const answers = [];

before(async () => {
  for (let i = 0; i < 3; i++) servers.push(await startServer({ args: PAIR_WAIT_ARGS }));
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

test('the expected map matches the hand count of the trace set', () => {
  const c = data.counts;
  const calls = {
    'user>gateway': 29, 'user>worker': 3, 'user>web': 6,
    'gateway>catalog': 17, 'gateway>orders': 8, 'gateway>worker': 4,
    'catalog>pg-main': 12, 'catalog>legacy': c.legacy,
    'orders>fulfil': c.consumed, 'orders>order-events': c.produced - c.consumed, 'orders>legacy-billing': 8,
    'fulfil>api.shipper.example': c.consumed, 'worker>redis': 4, 'web>auth': 6, 'auth>userdb': 6,
  };
  assert.deepEqual([c.legacy, c.produced, c.consumed], [6, 8, 6]);
  const got = Object.fromEntries([...truth.edges.values()].map((e) => [`${e.source}>${e.target}`, e.calls]));
  assert.deepEqual(got, calls);
  const nodes = Object.fromEntries([...truth.nodes.values()].map((n) => [n.id, [n.kind, n.requests]]));
  assert.deepEqual(nodes, {
    gateway: ['service', 29], catalog: ['service', 14], orders: ['service', 8], fulfil: ['service', 6],
    worker: ['service', 3], web: ['service', 6], auth: ['service', 6],
    'pg-main': ['database', 12], legacy: ['database', 6], redis: ['database', 4], userdb: ['database', 6],
    'order-events': ['messaging', 2], 'legacy-billing': ['external', 8], 'api.shipper.example': ['external', 6],
    user: ['user', 38],
  });
  // every node has values for its percentiles
  for (const n of truth.nodes.values()) assert.ok(n.values.length > 0, `${n.id} has no durations`);
});

test('three orders of arrival, three fresh servers: the same map, equal to the rules', { timeout: 80000 }, async (t) => {
  const R = makeRng(SEED ^ 0x5eed);
  const sentRequests = await Promise.all([
    sendByLevel(servers[0], data.spans, true),
    sendByLevel(servers[1], data.spans, false),
    sendShuffled(servers[2], data.spans, R),
  ]);
  t.diagnostic(`${data.spans.length} spans; requests: ${sentRequests.join(', ')}`);
  const want = countsOfMap(truth);
  const rs = await Promise.all(servers.map((s) => settle(s, mapPath, want, { timeoutMs: 20000 })));
  const problems = [];
  rs.forEach((r, i) => {
    answers[i] = r.json;
    if (r.status !== 200) {
      problems.push(`${ORDERS[i]}: status ${r.status} ${r.text.slice(0, 300)}`);
      return;
    }
    const diff = diffMap(r.json, truth);
    if (diff.length) problems.push(`${ORDERS[i]}: differs from the rules:\n    ${diff.join('\n    ')}`);
  });
  assert.deepEqual(problems, [], problems.join('\n'));
  for (const i of [1, 2]) {
    assert.deepEqual(rs[i].json.nodes, rs[0].json.nodes, `nodes: ${ORDERS[i]} vs ${ORDERS[0]}`);
    assert.deepEqual(rs[i].json.edges, rs[0].json.edges, `edges: ${ORDERS[i]} vs ${ORDERS[0]}`);
  }
});

test('Zipkin shared spans pair as web → auth, their child as auth → userdb', () => {
  const w = truth.edges.get('web\0auth');
  answers.forEach((json, i) => {
    const zipkinSide = new Set(['web', 'auth']);
    const e = (json?.edges ?? []).filter((x) => zipkinSide.has(x.source) || zipkinSide.has(x.target));
    const got = e.map((x) => `${x.source}>${x.target}:${x.calls}/${x.errors}`).sort();
    assert.deepEqual(got, [`auth>userdb:6/${truth.edges.get('auth\0userdb').errors}`,
      `user>web:6/${truth.edges.get('user\0web').errors}`, `web>auth:6/${w.errors}`], ORDERS[i]);
  });
});

test('every server exits 0 on SIGTERM', async () => {
  for (const s of servers) {
    const e = await s.stop();
    assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, s.logTail());
    assert.deepEqual(s.unexpectedExits, []);
  }
});
