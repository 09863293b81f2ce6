// The service-map rules of docs/servicemap.md computed from the spans a test
// sent, and the comparison of /api/servicemap answers with them: shared by
// the service-map client tests.
import { sleep } from './server.mjs';

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

export { durUs, httpStatus, virtualPeer, computeMap, focusMap, nearestRank, cmp, PCT_TOL, ABS_TOL_US, near, diffMap, countsOfAnswer, countsOfMap, settle };
