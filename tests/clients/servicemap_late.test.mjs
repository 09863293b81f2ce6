// Spans that arrive after their trace was paired (docs/servicemap.md:
// "a span that arrives later still than that is paired against the stored
// trace"): each scenario sends part of a trace, waits until the pairer has
// counted it (--pair-wait 300ms), then sends the rest. The map must end as
// if the whole trace had come at once: what the early part counted alone
// is taken back when the late part changes it, and nothing is counted
// twice.
//
//   late server side   late-gw's client names late-cat.internal
//                      (server.address) and is paired alone: a virtual
//                      edge; then late-cat's server span arrives: the
//                      virtual edge goes, late-gw → late-cat stays
//   late shared record Zipkin late-web client X and late-auth's client
//                      child of X are paired without the shared server
//                      record X: the child makes late-web → late-auth;
//                      then the shared record arrives: the call is the
//                      pair's, counted once, and the child's goes
//   late root parent   late-b's server span is paired without its parent
//                      (unpaired); then late-a's root and client arrive
//                      in one request with no missing parent of their own
//   retry              a whole trace retry-a → retry-b is sent again after
//                      it was paired (an exporter's retry)
//   copies             one request holding every span of a trace twice

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, sleep } from './lib/server.mjs';

const PAIRED_MS = 1500; // well past --pair-wait and the 1 s flush
const nowUs = Date.now() * 1000;
const t0 = nowUs - 90e6;
const hex = (n) => randomBytes(n).toString('hex');
const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function span(service, name, kind, parent, startUs, durUs, attrs = {}) {
  return { traceId: null, spanId: hex(8), parentSpanId: parent ? parent.spanId : '', service, name,
    kind, startUs, endUs: startUs + durUs, attrs };
}

function trace(...spans) {
  const id = hex(16);
  for (const s of spans) s.traceId = id;
  return spans;
}

function otlp(spans) {
  const by = new Map();
  for (const s of spans) {
    if (!by.has(s.service)) by.set(s.service, []);
    by.get(s.service).push(s);
  }
  return JSON.stringify({
    resourceSpans: [...by].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: 'servicemap-late-test' },
        spans: list.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined,
          name: s.name, kind: KIND[s.kind],
          startTimeUnixNano: `${s.startUs}000`, endTimeUnixNano: `${s.endUs}000`,
          attributes: Object.entries(s.attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
        })),
      }],
    })),
  });
}

// late server side
const [gwRoot, gwClient, catServer] = (() => {
  const r = span('late-gw', 'GET /shop', 'server', null, t0, 50000);
  const c = span('late-gw', 'GET', 'client', r, t0 + 1000, 30000, { 'server.address': 'late-cat.internal' });
  const s = span('late-cat', 'GET /items', 'server', c, t0 + 2000, 25000);
  return trace(r, c, s);
})();

// late shared record (Zipkin v2 JSON)
const zk = (() => {
  const traceId = hex(16), w = hex(8), x = hex(8), y = hex(8);
  const ts = t0 + 5e6;
  return {
    early: [
      { traceId, id: w, name: 'get /login', kind: 'SERVER', timestamp: ts, duration: 40000,
        localEndpoint: { serviceName: 'late-web' } },
      { traceId, id: x, parentId: w, name: 'post /auth', kind: 'CLIENT', timestamp: ts + 1000,
        duration: 30000, localEndpoint: { serviceName: 'late-web' }, remoteEndpoint: { serviceName: 'late-auth' } },
      { traceId, id: y, parentId: x, name: 'select', kind: 'CLIENT', timestamp: ts + 3000,
        duration: 10000, localEndpoint: { serviceName: 'late-auth' }, remoteEndpoint: { serviceName: 'late-db' } },
    ],
    late: [
      { traceId, id: x, parentId: w, name: 'post /auth', kind: 'SERVER', shared: true, timestamp: ts + 2000,
        duration: 25000, localEndpoint: { serviceName: 'late-auth' } },
    ],
  };
})();

// late root parent
const [aRoot, aClient, bServer] = (() => {
  const r = span('late-a', 'GET /a', 'server', null, t0 + 10e6, 60000);
  const c = span('late-a', 'GET', 'client', r, t0 + 10e6 + 1000, 40000);
  const s = span('late-b', 'GET /b', 'server', c, t0 + 10e6 + 2000, 30000);
  return trace(r, c, s);
})();

const retry = (() => {
  const r = span('retry-a', 'GET /r', 'server', null, t0 + 15e6, 60000);
  const c = span('retry-a', 'GET', 'client', r, t0 + 15e6 + 1000, 40000, { 'peer.service': 'retry-b' });
  const s = span('retry-b', 'GET /rb', 'server', c, t0 + 15e6 + 2000, 30000);
  return trace(r, c, s);
})();

const copies = (() => {
  const r = span('copy-a', 'GET /c', 'server', null, t0 + 20e6, 60000);
  const c = span('copy-a', 'GET', 'client', r, t0 + 20e6 + 1000, 40000, { 'server.address': 'copy-b.internal' });
  const s = span('copy-b', 'GET /cb', 'server', c, t0 + 20e6 + 2000, 30000);
  return trace(r, c, s);
})();

const WANT = {
  'user>late-gw': 1, 'late-gw>late-cat': 1,
  'user>late-web': 1, 'late-web>late-auth': 1, 'late-auth>late-db': 1,
  'user>late-a': 1, 'late-a>late-b': 1,
  'user>retry-a': 1, 'retry-a>retry-b': 1,
  'user>copy-a': 1, 'copy-a>copy-b': 1,
};

let server;
before(async () => {
  server = await startServer({ args: ['--pair-wait', '300ms'] });
});
after(async () => {
  await server?.close();
});

async function post(path, body, want) {
  const r = await server.post(path, body, { 'Content-Type': 'application/json' });
  assert.equal(r.status, want, `POST ${path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
}

async function edges() {
  const r = await server.getJson(`/api/servicemap?start=${t0 - 120e6}&end=${nowUs + 120e6}`);
  assert.equal(r.status, 200, r.text);
  const json = JSON.parse(r.text);
  const got = {};
  for (const e of json.edges) got[`${e.source}>${e.target}`] = e.calls;
  return { got, nodes: json.nodes.map((n) => n.id) };
}

async function waitFor(pred, ms) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    last = await edges();
    if (pred(last)) return last;
    await sleep(200);
  }
  return last;
}

test('late spans change the map as if they had come with their trace', { timeout: 60000 }, async () => {
  await post('/v1/traces', otlp([gwRoot, gwClient, bServer]), 200);
  await post('/api/v2/spans', JSON.stringify(zk.early), 202);
  await post('/v1/traces', otlp(retry), 200);
  await post('/v1/traces', otlp([...copies, ...copies]), 200);
  // the early parts are counted alone first
  const early = await waitFor(({ got }) => got['late-gw>late-cat.internal'] === 1 &&
    got['late-web>late-auth'] === 1 && got['retry-a>retry-b'] === 1, 15000);
  assert.equal(early.got['late-gw>late-cat.internal'], 1, JSON.stringify(early.got));
  assert.equal(early.got['late-a>late-b'], undefined, 'no parent yet: no call');
  await sleep(PAIRED_MS);

  await post('/v1/traces', otlp([catServer]), 200);
  await post('/api/v2/spans', JSON.stringify(zk.late), 202);
  await post('/v1/traces', otlp([aRoot, aClient]), 200);
  await post('/v1/traces', otlp(retry), 200);
  const mine = (got) => Object.fromEntries(Object.entries(got).filter(([k]) =>
    /^(user|late-|retry-|copy-)/.test(k)));
  const done = await waitFor(({ got }) => JSON.stringify(sorted(mine(got))) === JSON.stringify(sorted(WANT)), 15000);
  await sleep(PAIRED_MS); // and it stays so
  const final = await edges();
  assert.deepEqual(sorted(mine(final.got)), sorted(WANT), `first settled: ${JSON.stringify(mine(done.got))}`);
  for (const gone of ['late-cat.internal', 'copy-b.internal'])
    assert.ok(!final.nodes.includes(gone), `${gone} is not a node once its server side came`);
});

function sorted(o) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
