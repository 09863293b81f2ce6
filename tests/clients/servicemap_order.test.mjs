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
import { makeRng } from './lib/rng.mjs';

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

import { durUs, httpStatus, virtualPeer, computeMap, focusMap, nearestRank, cmp, PCT_TOL, ABS_TOL_US, near, diffMap, countsOfAnswer, countsOfMap, settle } from './lib/servicemap_truth.mjs';


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
    const root = add({ traceId, service: 'gateway', name: 'GET /shop', kind: 'server', startUs: s, endUs: s + R.logUniformInt(20000, 600000) });
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
    const root = add({ traceId, service: 'gateway', name: 'POST /order', kind: 'server', startUs: s, endUs: s + R.logUniformInt(30000, 900000) });
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
        startUs: cst, endUs: cst + R.logUniformInt(5000, 400000), error: R.chance(0.15),
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
    const root = add({ traceId, service: 'gateway', name: 'GET /shop', kind: 'server', startUs: s, endUs: s + R.logUniformInt(20000, 600000) });
    serverStatus(root);
    const [cs, ce] = inside(root);
    add({ traceId, parent: root, service: 'gateway', name: 'GET catalog', kind: 'client', startUs: cs, endUs: ce, error: R.chance(0.2),
      attrs: { 'http.request.method': 'GET', 'peer.service': 'catalog' } });
  }

  // gateway GET /report → worker INTERNAL (no client/server pair) → redis: 4
  for (let i = 0; i < 4; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, service: 'gateway', name: 'GET /report', kind: 'server', startUs: s, endUs: s + R.logUniformInt(50000, 900000) });
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
    const root = add({ traceId, service: 'worker', name: 'POST /jobs', kind: 'server', startUs: s, endUs: s + R.logUniformInt(1000, 90000) });
    serverStatus(root);
  }

  // catalog spans whose parent never arrives: 2
  for (let i = 0; i < 2; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const orphan = add({ traceId, service: 'catalog', name: 'GET /items', kind: 'server', startUs: s, endUs: s + R.logUniformInt(1000, 90000) });
    orphan.parentSpanId = newSpanId(); // never sent
    serverStatus(orphan);
  }

  // Zipkin v2, B3 shared spans: web → auth → userdb: 6
  for (let i = 0; i < 6; i++) {
    const traceId = R.hex(16);
    const s = traceStart();
    const root = add({ traceId, format: 'zipkin', service: 'web', name: 'get /login', kind: 'server', startUs: s,
      endUs: s + R.logUniformInt(20000, 400000), error: R.chance(0.15) });
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
