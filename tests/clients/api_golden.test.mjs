// Golden tests of the JSON shape of every query endpoint.
//
// A fixed, small data set (6 traces, 4 services, fixed trace and span IDs,
// fixed times relative to a base) is sent to a fresh server (--pair-wait 1s):
//
//   base B = (now rounded down to the hour) - 2 h; trace k starts at B + k min.
//
//   T1 OTLP  frontend  GET /checkout     SERVER root, status OK, attributes of
//                                        every type (string, bool, int, int
//                                        beyond 2^53, negative int, double,
//                                        array, kvlist, bytes), trace state
//            frontend  POST /orders      CLIENT (peer.service=checkout)
//            checkout  POST /orders      SERVER
//            checkout  SELECT orders     CLIENT postgresql (server.address=pg-main)
//            checkout  orders publish    PRODUCER kafka
//            inventory orders-topic process CONSUMER (child of the producer)
//            inventory reserve stock     INTERNAL
//   T2 OTLP  frontend  GET /checkout     SERVER root, status ERROR
//            frontend  POST /charge      CLIENT, status ERROR, event "retry"
//            payments  POST /charge      SERVER, status ERROR, exception event
//            payments  POST /v1/charges  CLIENT to api.bank.example (external)
//   T3 OTLP  frontend  GET /health       SERVER root, 2 ms
//            frontend  health check      kind UNSPECIFIED
//   T4 Zipkin v2 JSON (POST /api/v2/spans), B3 shared span:
//            frontend  get /stock        SERVER root
//            frontend  get /stock        CLIENT  id X → remoteEndpoint inventory
//            inventory get /stock        SERVER  id X, shared
//            inventory get               CLIENT  (parentId X) → redis
//   T5 OTLP  inventory GET /stock        SERVER root, a link to T1's root
//            inventory GET supplier      CLIENT to api.supplier.example
//   T6 OTLP  frontend  GET /checkout     SERVER root, 50 ms
//            frontend  POST /orders      CLIENT → checkout POST /orders SERVER (429)
//
// After the service map settles, every query endpoint is asked with fixed
// parameters (explicit windows: the server's defaults are relative to "now")
// and its answer (status, Content-Type, body) is compared with
// tests/data/api_golden/<name>.json after normalization: every timestamp
// (epoch ms, µs or ns, as a number or a string) becomes an offset from the
// base, "@B+<offset><unit>" (a string timestamp "@B+<offset><unit>:str"), so
// the files do not change from run to run. The files keep the request as a
// template ({START_US}, {T1}, ... : see PLACEHOLDERS). On a mismatch the test
// prints the path of the first differing JSON node, expected vs actual.
//
// TM_UPDATE_GOLDEN=1 writes the golden files instead of comparing (review them
// by eye against ../shared/protocols.md, docs/query.md, docs/servicemap.md).
//
// Independently of the golden files, every answer is checked against the
// documented shape (required keys and their JSON types), so that a carelessly
// regenerated golden cannot hide a broken shape. Where the server is known to
// differ from the documents, the documented expectation is kept as a `todo`
// test (reported, not failing) and the golden file says so in its
// "knownDeviations"; where the documented answer is known exactly, the golden
// file holds it and the comparison runs on the answer with that one
// difference patched: see KNOWN_DEVIATIONS below.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep } from './lib/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const GOLDEN_DIR = resolve(HERE, '..', 'data', 'api_golden');
const UPDATE = !!process.env.TM_UPDATE_GOLDEN;

const MS_PER_MIN = 60000;
const MS_PER_HOUR = 3600000;
/** the base, epoch ms: a whole hour, two hours ago */
const BASE_MS = Math.floor(Date.now() / MS_PER_HOUR) * MS_PER_HOUR - 2 * MS_PER_HOUR;
const BASE_US = BASE_MS * 1000;
const BASE_NS = BigInt(BASE_MS) * 1000000n;
const DAY_MS = 86400000;

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------
// The data set
// ---------------------------------------------------------------------------

/** trace k's ID: 32 hex digits, letters in it (never read as a number) */
const TID = (k) => `feedface0000000000000000c0ffee0${k}`;
/** span j of trace k */
const SID = (k, j) => `a${k}b${j}00000000ee0f`;
const MISSING_TID = 'deadbeefdeadbeefdeadbeefdeadbeef';

/** µs offset of trace k from the base */
const T0_US = (k) => BASE_US + k * MS_PER_MIN * 1000;

const SCOPE = { name: 'api-golden', version: '1.0.0', attributes: [{ key: 'scope.attr', value: { stringValue: 'yes' } }] };
const RESOURCES = {
  frontend: { 'service.version': '1.4.2', 'host.name': 'fe-1', 'deployment.environment': 'test' },
  checkout: { 'service.version': '2.0.0', 'k8s.pod.name': 'checkout-7d9f' },
  payments: { 'service.version': '0.9.1' },
  inventory: { 'service.version': '3.3.0' },
};
const KIND = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function anyValue(v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v; // already an AnyValue
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'bigint') return { intValue: String(v) };
  if (Number.isInteger(v)) return { intValue: String(v) };
  if (typeof v === 'number') return { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  throw new Error(`attribute value ${v}`);
}
const attrs = (o = {}) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));

/**
 * OTLP span records: {k (trace), j (span), parent (j or null), service, name,
 * kind, s, e (ms offsets from the trace start; fractions allowed), attrs,
 * status, events, links, traceState}.
 */
const OTLP_SPANS = [
  // T1: the big one
  { k: 1, j: 1, parent: null, service: 'frontend', name: 'GET /checkout', kind: 'server', s: 0, e: 250,
    traceState: 'vendor=golden',
    attrs: {
      'http.method': 'GET', 'http.route': '/checkout', 'http.status_code': 200,
      'app.premium': true, 'app.ratio': 0.25, 'app.big': 9007199254740993n, 'app.negative': -42,
      'app.tags': ['a', 'b'], 'app.ctx': { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } },
      'app.raw': { bytesValue: 'AQID' },
    },
    status: { code: 1 } },
  { k: 1, j: 2, parent: 1, service: 'frontend', name: 'POST /orders', kind: 'client', s: 10, e: 200,
    attrs: { 'http.method': 'POST', 'peer.service': 'checkout' } },
  { k: 1, j: 3, parent: 2, service: 'checkout', name: 'POST /orders', kind: 'server', s: 15, e: 195,
    attrs: { 'http.method': 'POST', 'http.response.status_code': 201 } },
  { k: 1, j: 4, parent: 3, service: 'checkout', name: 'SELECT orders', kind: 'client', s: 30, e: 80,
    attrs: { 'db.system': 'postgresql', 'db.name': 'orders', 'server.address': 'pg-main',
      'db.statement': 'SELECT * FROM orders WHERE id = $1' } },
  { k: 1, j: 5, parent: 3, service: 'checkout', name: 'orders publish', kind: 'producer', s: 90, e: 95,
    attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders-topic' } },
  { k: 1, j: 6, parent: 5, service: 'inventory', name: 'orders-topic process', kind: 'consumer', s: 120, e: 180,
    attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders-topic' } },
  { k: 1, j: 7, parent: 6, service: 'inventory', name: 'reserve stock', kind: 'internal', s: 130, e: 170,
    attrs: { 'stock.items': 3 } },
  // T2: errors
  { k: 2, j: 1, parent: null, service: 'frontend', name: 'GET /checkout', kind: 'server', s: 0, e: 600,
    attrs: { 'http.method': 'GET', 'http.status_code': 502 }, status: { code: 2, message: 'payment failed' } },
  { k: 2, j: 2, parent: 1, service: 'frontend', name: 'POST /charge', kind: 'client', s: 20, e: 580,
    attrs: { 'http.method': 'POST', 'peer.service': 'payments' }, status: { code: 2, message: 'upstream 500' },
    events: [{ t: 300, name: 'retry', attrs: { 'retry.attempt': 1 } }] },
  { k: 2, j: 3, parent: 2, service: 'payments', name: 'POST /charge', kind: 'server', s: 25, e: 570,
    attrs: { 'http.method': 'POST', 'http.status_code': 500 }, status: { code: 2, message: 'card declined' },
    events: [{ t: 560, name: 'exception', attrs: { 'exception.type': 'CardError', 'exception.message': 'card declined',
      'exception.stacktrace': 'CardError: card declined\n    at charge (pay.js:10)' } }] },
  { k: 2, j: 4, parent: 3, service: 'payments', name: 'POST /v1/charges', kind: 'client', s: 40, e: 550,
    attrs: { 'http.method': 'POST', 'server.address': 'api.bank.example', 'server.port': 443 } },
  // T3: short, a span of kind UNSPECIFIED
  { k: 3, j: 1, parent: null, service: 'frontend', name: 'GET /health', kind: 'server', s: 0, e: 2,
    attrs: { 'http.method': 'GET', 'http.status_code': 200 } },
  { k: 3, j: 2, parent: 1, service: 'frontend', name: 'health check', kind: 'unspecified', s: 0.5, e: 1.5 },
  // T5: a link to T1
  { k: 5, j: 1, parent: null, service: 'inventory', name: 'GET /stock', kind: 'server', s: 0, e: 40,
    attrs: { 'http.method': 'GET', 'http.status_code': 200 },
    links: [{ k: 1, j: 1, attrs: { 'link.reason': 'follow-up' } }] },
  { k: 5, j: 2, parent: 1, service: 'inventory', name: 'GET supplier', kind: 'client', s: 5, e: 35,
    attrs: { 'http.method': 'GET', 'server.address': 'api.supplier.example' } },
  // T6: a fast checkout, throttled
  { k: 6, j: 1, parent: null, service: 'frontend', name: 'GET /checkout', kind: 'server', s: 0, e: 50,
    attrs: { 'http.method': 'GET', 'http.status_code': 200 }, status: { code: 1 } },
  { k: 6, j: 2, parent: 1, service: 'frontend', name: 'POST /orders', kind: 'client', s: 5, e: 45,
    attrs: { 'http.method': 'POST', 'peer.service': 'checkout' } },
  { k: 6, j: 3, parent: 2, service: 'checkout', name: 'POST /orders', kind: 'server', s: 8, e: 42,
    attrs: { 'http.method': 'POST', 'http.response.status_code': 429 } },
];

const nsAt = (k, ms) => String(BigInt(T0_US(k)) * 1000n + BigInt(Math.round(ms * 1e6)));

function otlpBody() {
  const byService = new Map();
  for (const r of OTLP_SPANS) {
    if (!byService.has(r.service)) byService.set(r.service, []);
    byService.get(r.service).push(r);
  }
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: attrs({ 'service.name': service, ...RESOURCES[service] }) },
      scopeSpans: [{
        scope: SCOPE,
        spans: list.map((r) => {
          const o = {
            traceId: TID(r.k), spanId: SID(r.k, r.j), name: r.name, kind: KIND[r.kind],
            startTimeUnixNano: nsAt(r.k, r.s), endTimeUnixNano: nsAt(r.k, r.e),
            attributes: attrs(r.attrs), flags: 0x101,
          };
          if (r.parent) o.parentSpanId = SID(r.k, r.parent);
          if (r.traceState) o.traceState = r.traceState;
          if (r.status) o.status = r.status;
          if (r.events) {
            o.events = r.events.map((ev) => ({ timeUnixNano: nsAt(r.k, ev.t), name: ev.name, attributes: attrs(ev.attrs) }));
          }
          if (r.links) {
            o.links = r.links.map((l) => ({ traceId: TID(l.k), spanId: SID(l.k, l.j), attributes: attrs(l.attrs) }));
          }
          return o;
        }),
      }],
    })),
  });
}

/** T4 in Zipkin v2 JSON: a B3 shared client/server span (server record "shared": true). */
function zipkinBody() {
  const t = T0_US(4);
  const X = SID(4, 2);
  return JSON.stringify([
    { traceId: TID(4), id: SID(4, 1), kind: 'SERVER', name: 'get /stock', timestamp: t, duration: 100000,
      localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 },
      remoteEndpoint: { ipv4: '10.9.9.9', port: 55000 },
      tags: { 'http.method': 'GET', 'http.path': '/stock' } },
    { traceId: TID(4), parentId: SID(4, 1), id: X, kind: 'CLIENT', name: 'get /stock', timestamp: t + 5000, duration: 90000,
      localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1' },
      remoteEndpoint: { serviceName: 'inventory', ipv4: '10.0.0.2', port: 9000 },
      annotations: [{ timestamp: t + 6000, value: 'ws' }, { timestamp: t + 94000, value: 'wr' }],
      tags: { 'http.method': 'GET', 'http.path': '/stock' } },
    { traceId: TID(4), parentId: SID(4, 1), id: X, kind: 'SERVER', name: 'get /stock', timestamp: t + 10000, duration: 80000,
      shared: true, localEndpoint: { serviceName: 'inventory', ipv4: '10.0.0.2', port: 9000 },
      tags: { 'http.method': 'GET', 'http.status_code': '200' } },
    { traceId: TID(4), parentId: X, id: SID(4, 3), kind: 'CLIENT', name: 'get', timestamp: t + 20000, duration: 20000,
      localEndpoint: { serviceName: 'inventory' }, remoteEndpoint: { serviceName: 'redis', port: 6379 },
      tags: { 'db.system': 'redis' } },
  ]);
}

/** spans per trace, as sent (T4: the shared span is two records) */
const SPAN_COUNT = { 1: 7, 2: 4, 3: 2, 4: 4, 5: 2, 6: 3 };

/** The service-map edges the rules of docs/servicemap.md give (calls). */
const EXPECTED_EDGES = {
  'user>frontend': 5, 'user>inventory': 1,
  'frontend>checkout': 2, 'frontend>payments': 1, 'frontend>inventory': 1,
  'checkout>pg-main': 1, 'checkout>inventory': 1,
  'payments>api.bank.example': 1, 'inventory>redis': 1, 'inventory>api.supplier.example': 1,
};

// ---------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------

const UNITS = [
  // [unit, base, scale of a day]
  ['ms', BigInt(BASE_MS), BigInt(DAY_MS)],
  ['us', BigInt(BASE_US), BigInt(DAY_MS) * 1000n],
  ['ns', BASE_NS, BigInt(DAY_MS) * 1000000n],
];

/** "@B+<offset><unit>" when v (a BigInt) is an epoch time within two days of the base, else null. */
function timeToken(v) {
  for (const [unit, base, day] of UNITS) {
    const d = v - base;
    if (d >= -2n * day && d <= 2n * day) return `@B${d < 0n ? '-' : '+'}${d < 0n ? -d : d}${unit}`;
  }
  return null;
}

/** A copy of a JSON value with every absolute time replaced by its offset from the base. */
function normalize(v) {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = normalize(x);
    return o;
  }
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 1e11) {
    return timeToken(BigInt(v)) ?? v;
  }
  if (typeof v === 'string' && /^-?\d{12,20}$/.test(v)) {
    const t = timeToken(BigInt(v));
    return t ? `${t}:str` : v;
  }
  return v;
}

/** The same for text (plain-text bodies, request paths): every run of 12 to 20 digits. */
function normalizeText(s) {
  return s.replace(/\d{12,20}/g, (m) => timeToken(BigInt(m)) ?? m);
}

// ---------------------------------------------------------------------------
// Golden files and the readable diff
// ---------------------------------------------------------------------------

const typeName = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** The first difference between two JSON values: {path, expected, actual, why}, or null. */
function firstDiff(want, got, path = '$') {
  const tw = typeName(want);
  const tg = typeName(got);
  if (tw !== tg) return { path, expected: want, actual: got, why: `type ${tw} vs ${tg}` };
  if (tw === 'array') {
    const n = Math.min(want.length, got.length);
    for (let i = 0; i < n; i++) {
      const d = firstDiff(want[i], got[i], `${path}[${i}]`);
      if (d) return d;
    }
    if (want.length !== got.length) {
      return {
        path, why: `length ${want.length} vs ${got.length}`,
        expected: want.length > n ? want[n] : '(end of array)', actual: got.length > n ? got[n] : '(end of array)',
      };
    }
    return null;
  }
  if (tw === 'object') {
    const kw = Object.keys(want);
    const kg = Object.keys(got);
    for (const k of kw) {
      const p = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
      if (!(k in got)) return { path: p, expected: want[k], actual: '(missing key)', why: 'missing key' };
      const d = firstDiff(want[k], got[k], p);
      if (d) return d;
    }
    for (const k of kg) {
      if (!(k in want)) return { path: `${path}.${k}`, expected: '(no such key)', actual: got[k], why: 'unexpected key' };
    }
    if (kw.join('\0') !== kg.join('\0')) {
      return { path, expected: kw, actual: kg, why: 'key order' };
    }
    return null;
  }
  return want === got ? null : { path, expected: want, actual: got, why: 'value' };
}

const short = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 400 ? `${s.slice(0, 400)}…` : s;
};

/** Compare a normalized record with tests/data/api_golden/<name>.json (or write it). */
function checkGolden(name, record) {
  const file = join(GOLDEN_DIR, `${name}.json`);
  const text = `${JSON.stringify(record, null, 2)}\n`;
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing (TM_UPDATE_GOLDEN=1 writes it)`);
  const want = JSON.parse(readFileSync(file, 'utf8'));
  const d = firstDiff(want, record);
  if (d) {
    assert.fail(`${name}: the answer differs from ${file}\n` +
      `  first difference at ${d.path} (${d.why})\n` +
      `    expected: ${short(d.expected)}\n` +
      `    actual:   ${short(d.actual)}\n` +
      `  request: ${record.request}\n` +
      '  (if the change is intended, rerun with TM_UPDATE_GOLDEN=1 and review the diff of the golden file)');
  }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

let server;
const answers = new Map(); // name → {path, status, contentType, text, json}

before(async () => {
  server = await startServer({ args: ['--pair-wait', '1s'] });
});
after(async () => {
  await server?.close();
});

async function get(template, path) {
  const r = await server.getJson(path);
  return {
    template, path, status: r.status, headers: r.headers, contentType: String(r.headers['content-type'] ?? ''),
    text: r.text, json: r.json,
  };
}

/** The normalized record of an answer, as stored in the golden file. */
function recordOf(name, a) {
  const notes = KNOWN_DEVIATIONS.filter((d) => d.golden === name).map((d) => d.note);
  return {
    request: `GET ${a.template}`,
    ...(notes.length ? { knownDeviations: notes } : {}),
    status: a.status,
    contentType: a.contentType,
    ...(a.json !== undefined ? { body: normalize(a.json) } : { text: normalizeText(a.text) }),
  };
}

// ---------------------------------------------------------------------------
// The queries
// ---------------------------------------------------------------------------

const HOUR_US = 3600e6;
const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
/** placeholders of the request templates (the golden files keep the templates) */
const PLACEHOLDERS = {
  START_US: String(BASE_US), END_US: String(BASE_US + HOUR_US),
  END_MS: String(BASE_MS + MS_PER_HOUR), LOOKBACK_MS: String(MS_PER_HOUR),
  START_RFC3339: enc(rfc3339(BASE_MS)), END_RFC3339: enc(rfc3339(BASE_MS + MS_PER_HOUR)),
  T1: TID(1), T2: TID(2), T3: TID(3), T4: TID(4), T5: TID(5), T6: TID(6), MISSING: MISSING_TID,
};
const fill = (tpl) => tpl.replace(/\{([A-Z0-9_]+)\}/g, (m, k) => {
  if (!(k in PLACEHOLDERS)) throw new Error(`no placeholder ${k}`);
  return PLACEHOLDERS[k];
});

const JWIN = 'start={START_US}&end={END_US}';
const ZWIN = 'endTs={END_MS}&lookback={LOOKBACK_MS}';
const V3WIN = 'query.start_time_min={START_RFC3339}&query.start_time_max={END_RFC3339}';

/** name → request template */
const QUERIES = {
  // Jaeger
  jaeger_services: '/api/services',
  jaeger_service_operations: '/api/services/frontend/operations',
  jaeger_operations: '/api/operations?service=frontend',
  jaeger_operations_client: '/api/operations?service=frontend&spanKind=client',
  jaeger_traces_search: `/api/traces?service=frontend&tags=${enc('{"http.method":"GET"}')}&minDuration=100ms&${JWIN}&limit=20&lookback=custom`,
  jaeger_trace: '/api/traces/{T1}',
  jaeger_traces_by_id: '/api/traces?traceID={T3}&traceID={MISSING}&traceID={T5}',
  // Jaeger /api/v3
  v3_services: '/api/v3/services',
  v3_operations: '/api/v3/operations?service=frontend',
  v3_traces_search: `/api/v3/traces?query.service_name=payments&${V3WIN}&query.attributes=${enc('{"http.status_code":"500"}')}`,
  v3_trace: '/api/v3/traces/{T1}',
  v3_trace_link: '/api/v3/traces/{T5}',
  v3_trace_shared: '/api/v3/traces/{T4}',
  // Zipkin
  zipkin_services: '/api/v2/services',
  zipkin_spans: '/api/v2/spans?serviceName=frontend',
  zipkin_remote_services: '/api/v2/remoteServices?serviceName=frontend',
  zipkin_traces_search: `/api/v2/traces?serviceName=frontend&annotationQuery=error&${ZWIN}&limit=10`,
  zipkin_trace: '/api/v2/trace/{T4}',
  zipkin_trace_many: '/api/v2/traceMany?traceIds={T5},{MISSING},{T1}',
  zipkin_autocomplete_keys: '/api/v2/autocompleteKeys',
  zipkin_autocomplete_values: '/api/v2/autocompleteValues?key=http.method',
  zipkin_dependencies: `/api/v2/dependencies?${ZWIN}`,
  // service map and friends
  jaeger_dependencies: `/api/dependencies?${ZWIN}`,
  slow_traces: `/api/slow-traces?${JWIN}&limit=10`,
  servicemap: `/api/servicemap?${JWIN}`,
  servicemap_operation: `/api/servicemap?${JWIN}&level=operation`,
  servicemap_focus: `/api/servicemap?${JWIN}&focus=payments&hops=1`,
  critical_path: '/api/traces/{T1}/critical-path',
  bottlenecks: `/api/bottlenecks?service=frontend&operation=${enc('GET /checkout')}&${JWIN}`,
  // errors
  error_jaeger_400: `/api/traces?service=frontend&minDuration=abc&${JWIN}`,
  error_jaeger_404: '/api/traces/{MISSING}',
  error_v3_404: '/api/v3/traces/{MISSING}',
  error_v3_search_404: `/api/v3/traces?query.service_name=payments&${V3WIN}&query.attributes=${enc('{"http.status_code":"404"}')}`,
  error_zipkin_400: '/api/v2/traceMany?traceIds={T1}',
  error_zipkin_404: '/api/v2/trace/{MISSING}',
  error_slow_traces_400: `/api/slow-traces?${JWIN}&limit=-1`,
};

const sortedEntries = (o) => JSON.stringify(Object.entries(o).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
const sameCounts = (a, b) => sortedEntries(a) === sortedEntries(b);

function edgeCounts(json) {
  if (!json || !Array.isArray(json.edges)) return null;
  return Object.fromEntries(json.edges.map((e) => [`${e.source}>${e.target}`, e.calls]));
}

test('send the data set and wait for the service map to settle', { timeout: 40000 }, async () => {
  let r = await server.post('/v1/traces', otlpBody(), { 'Content-Type': 'application/json' });
  assert.equal(r.status, 200, r.body.toString('utf8'));
  r = await server.post('/api/v2/spans', zipkinBody(), { 'Content-Type': 'application/json' });
  assert.equal(r.status, 202, r.body.toString('utf8'));

  // every trace stored whole
  for (const [k, n] of Object.entries(SPAN_COUNT)) {
    const deadline = Date.now() + 10000;
    for (;;) {
      const t = await server.getJson(`/api/traces/${TID(k)}`);
      const got = t.status === 200 ? t.json?.data?.[0]?.spans?.length ?? 0 : 0;
      if (got >= n) break;
      assert.ok(Date.now() < deadline, `trace ${k}: ${got} of ${n} spans stored: ${t.text.slice(0, 300)}`);
      await sleep(50);
    }
  }

  // the map: the expected edges, then no change for 1.5 s (pairing, rollups,
  // critical paths); the bottlenecks: the three "GET /checkout" traces
  const mapPath = fill(QUERIES.servicemap);
  const bnPath = fill(QUERIES.bottlenecks);
  const deadline = Date.now() + 25000;
  let last = '';
  let since = Date.now();
  for (;;) {
    const m = await server.getJson(mapPath);
    const b = await server.getJson(bnPath);
    const cp = await server.getJson(fill(QUERIES.critical_path));
    const edges = edgeCounts(m.json);
    const edgesOk = !!edges && sameCounts(edges, EXPECTED_EDGES);
    const sig = `${m.text}\n${b.text}\n${cp.status}`;
    if (sig !== last) {
      last = sig;
      since = Date.now();
    }
    const bnOk = b.status === 200 && (b.json?.slowTraces ?? 0) + (b.json?.typicalTraces ?? 0) === 3;
    if (Date.now() - since >= 1500 && cp.status === 200 && bnOk && edgesOk) break;
    if (Date.now() > deadline) {
      assert.fail(`the service map did not settle to the expected edges:\n  got ${m.text.slice(0, 1500)}\n` +
        `  expected edges ${JSON.stringify(EXPECTED_EDGES)}\n  bottlenecks ${b.status} ${b.text.slice(0, 300)}\n` +
        `  critical path ${cp.status} ${cp.text.slice(0, 300)}`);
    }
    await sleep(250);
  }

  for (const [name, tpl] of Object.entries(QUERIES)) answers.set(name, await get(tpl, fill(tpl)));
});


// ---------------------------------------------------------------------------
// Where the server is known to differ from the documents
// ---------------------------------------------------------------------------
//
// Each entry: the golden file it concerns (golden), a note written into that
// file (knownDeviations), optionally a patch that turns the server's current
// answer into the documented one (the golden file then holds the documented
// answer, and the strict comparison runs on the patched answer: a patch must
// change nothing in a correct answer), and a `todo` check of the documented
// behaviour on the raw answer (reported by node:test, not failing the run).
// When the server is fixed the todo check passes: remove the entry then.

const SENT_LOCAL_PORTS = { [`${SID(4, 1)}/SERVER`]: 8080, [`${SID(4, 2)}/SERVER`]: 9000 };

const KNOWN_DEVIATIONS = [
  {
    id: 'zipkin: localEndpoint.port is dropped',
    golden: 'zipkin_trace',
    note: 'the localEndpoint.port of spans sent to POST /api/v2/spans is dropped at ingest ' +
      '(server/ingest_zipkin.c: "port: dropped"), so GET /api/v2/trace/{id} does not give back the ' +
      'endpoint that was sent (protocols.md 3.1: Endpoint = serviceName, ipv4, ipv6, port). This file ' +
      'holds the documented answer (the ports sent: frontend 8080, inventory 9000).',
    patch: (rec) => {
      for (const s of Array.isArray(rec.body) ? rec.body : []) {
        const port = SENT_LOCAL_PORTS[`${s.id}/${s.kind}`];
        if (!port || !s.localEndpoint || 'port' in s.localEndpoint) continue;
        const { serviceName, ipv4, ipv6 } = s.localEndpoint;
        s.localEndpoint = Object.fromEntries(Object.entries({ serviceName, ipv4, ipv6, port }).filter(([, v]) => v !== undefined));
      }
    },
    check: () => {
      const got = Object.fromEntries((answers.get('zipkin_trace').json ?? [])
        .filter((s) => SENT_LOCAL_PORTS[`${s.id}/${s.kind}`])
        .map((s) => [`${s.id}/${s.kind}`, s.localEndpoint?.port]));
      assert.deepEqual(got, SENT_LOCAL_PORTS, 'localEndpoint.port as sent');
    },
  },
  {
    id: 'v3: a Zipkin shared span is its own parent',
    golden: 'v3_trace_shared',
    note: `the same in OTLP/JSON: the shared server record of ${TID(4)} has parentSpanId == spanId ` +
      `(${SID(4, 2)}), and the trace holds two spans with that spanId.`,
    check: () => {
      const spans = (answers.get('v3_trace_shared').json?.result?.resourceSpans ?? [])
        .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      assert.deepEqual(spans.filter((s) => s.parentSpanId === s.spanId).map((s) => s.spanId), [],
        'spans that are their own parent');
    },
  },
];

// ---------------------------------------------------------------------------
// The documented shapes (protocols.md 3.1, 3.4, 3.5, 4.1-4.6; docs/query.md;
// docs/servicemap.md), checked on the raw answers
// ---------------------------------------------------------------------------

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DIGITS = /^-?\d+$/;
const cmpStr = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function isType(v, t) {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'integer': return Number.isSafeInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'array': return Array.isArray(v);
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'null': return v === null;
    default: throw new Error(`unknown type ${t}`);
  }
}

/**
 * obj against spec {key: 'type' | 'type|type' | 'type?'}: every key not
 * marked '?' present, every present key of one of its types; with exact,
 * no other keys. Returns obj.
 */
function shape(obj, spec, where, { exact = false } = {}) {
  assert.ok(isType(obj, 'object'), `${where}: expected an object, got ${short(obj)}`);
  for (const [k, t] of Object.entries(spec)) {
    const types = t.replace(/\?$/, '').split('|');
    if (!(k in obj)) {
      assert.ok(t.endsWith('?'), `${where}: missing key "${k}" (${t}) in ${short(obj)}`);
      continue;
    }
    assert.ok(types.some((x) => isType(obj[k], x)), `${where}.${k}: expected ${types.join(' or ')}, got ${short(obj[k])}`);
  }
  if (exact) {
    const extra = Object.keys(obj).filter((k) => !(k in spec));
    assert.deepEqual(extra, [], `${where}: keys outside the documented shape: ${extra.join(', ')}`);
  }
  return obj;
}

function arrayOf(v, type, where) {
  assert.ok(Array.isArray(v), `${where}: expected an array, got ${short(v)}`);
  v.forEach((x, i) => assert.ok(isType(x, type), `${where}[${i}]: expected ${type}, got ${short(x)}`));
  return v;
}

function sortedUnique(list, where, cmp = cmpStr) {
  for (let i = 1; i < list.length; i++) {
    assert.ok(cmp(list[i - 1], list[i]) < 0, `${where}: not sorted (or repeated) at ${i}: ${short(list.slice(i - 1, i + 1))}`);
  }
}

function expectStatus(a, status, contentType) {
  assert.equal(a.status, status, `GET ${a.path}: status ${a.status}: ${a.text.slice(0, 300)}`);
  assert.match(a.contentType, contentType, `GET ${a.path}: Content-Type`);
}
const JSON_CT = /^application\/json(;|$)/;
const TEXT_CT = /^text\/plain(;|$)/;

// --- Jaeger (protocols.md 4.1, 4.4, 4.5) -----------------------------------

/** 4.1: {data, total, limit, offset, errors}; returns the envelope. */
function jaegerEnvelope(a, { data = 'array', total = null } = {}) {
  expectStatus(a, 200, JSON_CT);
  const where = `GET ${a.path}`;
  const env = shape(a.json, { data, total: 'integer', limit: 'integer', offset: 'integer', errors: 'null|array' }, where, { exact: true });
  assert.equal(env.limit, 0, `${where}: limit`);
  assert.equal(env.offset, 0, `${where}: offset`);
  if (total !== null) assert.equal(env.total, total, `${where}: total`);
  return env;
}

/** KeyValue {key, type, value} with value of the JSON type its type names (4.4). */
function jaegerKeyValue(kv, where) {
  shape(kv, { key: 'string', type: 'string', value: 'string|number|boolean' }, where, { exact: true });
  const { type, value } = kv;
  switch (type) {
    case 'string': assert.equal(typeof value, 'string', `${where} (${kv.key}): string value`); break;
    case 'bool': assert.equal(typeof value, 'boolean', `${where} (${kv.key}): bool value`); break;
    case 'float64': assert.equal(typeof value, 'number', `${where} (${kv.key}): float64 value`); break;
    case 'binary': assert.match(String(value), BASE64, `${where} (${kv.key}): binary = base64 string`); break;
    case 'int64':
      if (typeof value === 'string') {
        assert.match(value, DIGITS, `${where} (${kv.key}): int64 as a decimal string`);
        assert.ok(!Number.isSafeInteger(Number(value)), `${where} (${kv.key}): a string only outside ±(2^53-1)`);
      } else {
        assert.ok(Number.isSafeInteger(value), `${where} (${kv.key}): int64 number within ±(2^53-1)`);
      }
      break;
    default: assert.fail(`${where} (${kv.key}): type ${JSON.stringify(type)} is not string/bool/int64/float64/binary`);
  }
}

function jaegerSpan(s, trace, where) {
  shape(s, {
    traceID: 'string', spanID: 'string', operationName: 'string', references: 'array', startTime: 'integer',
    duration: 'integer', tags: 'array', logs: 'array', processID: 'string', warnings: 'null|array', flags: 'integer?',
  }, where, { exact: true });
  assert.equal(s.traceID, trace.traceID, `${where}.traceID`);
  assert.match(s.spanID, HEX16, `${where}.spanID`);
  assert.ok(s.processID in trace.processes, `${where}.processID ${s.processID} is a key of processes`);
  assert.ok(s.duration >= 0, `${where}.duration`);
  if ('flags' in s) assert.notEqual(s.flags, 0, `${where}.flags: omitted when 0`);
  s.references.forEach((r, i) => {
    shape(r, { refType: 'string', traceID: 'string', spanID: 'string' }, `${where}.references[${i}]`, { exact: true });
    assert.ok(['CHILD_OF', 'FOLLOWS_FROM'].includes(r.refType), `${where}.references[${i}].refType ${r.refType}`);
    assert.match(r.spanID, HEX16, `${where}.references[${i}].spanID`);
  });
  s.tags.forEach((kv, i) => jaegerKeyValue(kv, `${where}.tags[${i}]`));
  s.logs.forEach((l, i) => {
    shape(l, { timestamp: 'integer', fields: 'array' }, `${where}.logs[${i}]`, { exact: true });
    l.fields.forEach((kv, j) => jaegerKeyValue(kv, `${where}.logs[${i}].fields[${j}]`));
  });
}

function jaegerTrace(t, where) {
  shape(t, { traceID: 'string', spans: 'array', processes: 'object', warnings: 'null|array' }, where, { exact: true });
  assert.match(t.traceID, /^[0-9a-f]{16}([0-9a-f]{16})?$/, `${where}.traceID`);
  assert.ok(t.spans.length > 0, `${where}: spans`);
  const pids = Object.keys(t.processes);
  assert.deepEqual(pids, pids.map((_, i) => `p${i + 1}`), `${where}.processes: keys p1, p2, ... in order`);
  for (const [pid, p] of Object.entries(t.processes)) {
    shape(p, { serviceName: 'string', tags: 'array' }, `${where}.processes.${pid}`, { exact: true });
    p.tags.forEach((kv, i) => jaegerKeyValue(kv, `${where}.processes.${pid}.tags[${i}]`));
  }
  t.spans.forEach((s, i) => jaegerSpan(s, t, `${where}.spans[${i}]`));
  return t;
}

/** Jaeger error envelope: data null, one error {code, msg} (4.1). */
function jaegerError(a, status) {
  expectStatus(a, status, JSON_CT);
  const where = `GET ${a.path}`;
  const env = shape(a.json, { data: 'null', total: 'integer', limit: 'integer', offset: 'integer', errors: 'array' }, where, { exact: true });
  assert.equal(env.errors.length, 1, `${where}: one error`);
  shape(env.errors[0], { code: 'integer', msg: 'string', traceID: 'string?' }, `${where}.errors[0]`, { exact: true });
  assert.equal(env.errors[0].code, status, `${where}.errors[0].code`);
  assert.ok(env.errors[0].msg.length > 0, `${where}.errors[0].msg`);
  return env.errors[0];
}

// --- OTLP/JSON (protocols.md 1.7, 4.6) --------------------------------------

const OTLP_KEYS = new Set(['resourceSpans', 'resource', 'scopeSpans', 'schemaUrl', 'scope', 'spans', 'traceId', 'spanId',
  'traceState', 'parentSpanId', 'flags', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes',
  'droppedAttributesCount', 'events', 'timeUnixNano', 'droppedEventsCount', 'links', 'droppedLinksCount', 'status',
  'message', 'code', 'key', 'value', 'stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue',
  'kvlistValue', 'bytesValue', 'values', 'version', 'entityRefs', 'type', 'idKeys', 'descriptionKeys']);

function otlpAnyValue(v, where) {
  assert.ok(isType(v, 'object'), `${where}: AnyValue object`);
  const keys = Object.keys(v);
  assert.ok(keys.length <= 1, `${where}: at most one member of AnyValue: ${keys.join(', ')}`);
  const [k] = keys;
  if (k === 'stringValue') assert.equal(typeof v[k], 'string', where);
  else if (k === 'boolValue') assert.equal(typeof v[k], 'boolean', where);
  else if (k === 'intValue') assert.match(v[k], DIGITS, `${where}: intValue as a decimal string`);
  else if (k === 'doubleValue') assert.ok(typeof v[k] === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(v[k]), where);
  else if (k === 'bytesValue') assert.match(v[k], BASE64, `${where}: bytesValue as standard base64`);
  else if (k === 'arrayValue') (shape(v[k], { values: 'array?' }, where, { exact: true }).values ?? []).forEach((x, i) => otlpAnyValue(x, `${where}.values[${i}]`));
  else if (k === 'kvlistValue') (shape(v[k], { values: 'array?' }, where, { exact: true }).values ?? []).forEach((x, i) => otlpKeyValue(x, `${where}.values[${i}]`));
  else if (k !== undefined) assert.fail(`${where}: unknown AnyValue member ${k}`);
}
function otlpKeyValue(kv, where) {
  shape(kv, { key: 'string', value: 'object' }, where, { exact: true });
  otlpAnyValue(kv.value, `${where}.value`);
}
const otlpAttrs = (list, where) => (list ?? []).forEach((kv, i) => otlpKeyValue(kv, `${where}[${i}]`));

/** {"result": TracesData}; returns the spans with their service names. */
function otlpTracesResult(a) {
  expectStatus(a, 200, JSON_CT);
  const where = `GET ${a.path}`;
  shape(a.json, { result: 'object' }, where, { exact: true });
  const td = shape(a.json.result, { resourceSpans: 'array' }, `${where}.result`, { exact: true });
  const out = [];
  td.resourceSpans.forEach((rs, i) => {
    const w = `${where}.result.resourceSpans[${i}]`;
    shape(rs, { resource: 'object', scopeSpans: 'array', schemaUrl: 'string?' }, w, { exact: true });
    shape(rs.resource, { attributes: 'array?', droppedAttributesCount: 'integer?', entityRefs: 'array?' }, `${w}.resource`, { exact: true });
    otlpAttrs(rs.resource.attributes, `${w}.resource.attributes`);
    const svc = (rs.resource.attributes ?? []).find((kv) => kv.key === 'service.name')?.value?.stringValue;
    assert.equal(typeof svc, 'string', `${w}: resource service.name`);
    rs.scopeSpans.forEach((ss, j) => {
      const ws = `${w}.scopeSpans[${j}]`;
      shape(ss, { scope: 'object?', spans: 'array', schemaUrl: 'string?' }, ws, { exact: true });
      if (ss.scope) {
        shape(ss.scope, { name: 'string?', version: 'string?', attributes: 'array?', droppedAttributesCount: 'integer?' }, `${ws}.scope`, { exact: true });
        otlpAttrs(ss.scope.attributes, `${ws}.scope.attributes`);
      }
      ss.spans.forEach((s, k) => {
        const wp = `${ws}.spans[${k}]`;
        shape(s, {
          traceId: 'string', spanId: 'string', traceState: 'string?', parentSpanId: 'string?', flags: 'integer?',
          name: 'string', kind: 'integer?', startTimeUnixNano: 'string', endTimeUnixNano: 'string',
          attributes: 'array?', droppedAttributesCount: 'integer?', events: 'array?', droppedEventsCount: 'integer?',
          links: 'array?', droppedLinksCount: 'integer?', status: 'object?',
        }, wp, { exact: true });
        assert.match(s.traceId, HEX32, `${wp}.traceId`);
        assert.match(s.spanId, HEX16, `${wp}.spanId`);
        if ('parentSpanId' in s) assert.match(s.parentSpanId, HEX16, `${wp}.parentSpanId`);
        if ('kind' in s) assert.ok(s.kind >= 0 && s.kind <= 5, `${wp}.kind is an integer enum`);
        assert.match(s.startTimeUnixNano, /^\d+$/, `${wp}.startTimeUnixNano: uint64 as a decimal string`);
        assert.match(s.endTimeUnixNano, /^\d+$/, `${wp}.endTimeUnixNano: uint64 as a decimal string`);
        otlpAttrs(s.attributes, `${wp}.attributes`);
        (s.events ?? []).forEach((e, x) => {
          shape(e, { timeUnixNano: 'string', name: 'string', attributes: 'array?', droppedAttributesCount: 'integer?' }, `${wp}.events[${x}]`, { exact: true });
          otlpAttrs(e.attributes, `${wp}.events[${x}].attributes`);
        });
        (s.links ?? []).forEach((l, x) => {
          shape(l, { traceId: 'string', spanId: 'string', traceState: 'string?', attributes: 'array?', droppedAttributesCount: 'integer?', flags: 'integer?' },
            `${wp}.links[${x}]`, { exact: true });
          otlpAttrs(l.attributes, `${wp}.links[${x}].attributes`);
        });
        if (s.status) {
          shape(s.status, { message: 'string?', code: 'integer?' }, `${wp}.status`, { exact: true });
          if ('code' in s.status) assert.ok([0, 1, 2].includes(s.status.code), `${wp}.status.code is an integer enum`);
        }
        out.push({ service: svc, span: s });
      });
    });
  });
  // every key is one of the OTLP/JSON trace keys (protocols.md 1.7)
  const walk = (v, w) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${w}[${i}]`));
    else if (isType(v, 'object')) {
      for (const [k, x] of Object.entries(v)) {
        assert.ok(OTLP_KEYS.has(k), `${w}: key ${k} is not an OTLP/JSON key`);
        if (k !== 'value' && k !== 'values') walk(x, `${w}.${k}`);
      }
    }
  };
  walk(td.resourceSpans, `${where}.result.resourceSpans`);
  return out;
}

/** 4.6 error object {"error":{"httpCode","message",...}}. */
function v3Error(a, status) {
  expectStatus(a, status, JSON_CT);
  const where = `GET ${a.path}`;
  shape(a.json, { error: 'object' }, where, { exact: true });
  const e = shape(a.json.error, { httpCode: 'integer', message: 'string', grpcCode: 'integer?', httpStatus: 'string?', details: 'array?' },
    `${where}.error`, { exact: true });
  assert.equal(e.httpCode, status, `${where}.error.httpCode`);
  return e;
}

// --- Zipkin (protocols.md 3.1, 3.4, 3.5) ------------------------------------

const ZIPKIN_KEY_ORDER = ['traceId', 'parentId', 'id', 'kind', 'name', 'timestamp', 'duration', 'localEndpoint',
  'remoteEndpoint', 'annotations', 'tags', 'debug', 'shared'];

function zipkinEndpoint(e, where) {
  shape(e, { serviceName: 'string?', ipv4: 'string?', ipv6: 'string?', port: 'integer?' }, where, { exact: true });
  assert.ok(Object.keys(e).length > 0, `${where}: an empty endpoint is omitted`);
  if ('ipv4' in e) assert.match(e.ipv4, /^\d{1,3}(\.\d{1,3}){3}$/, `${where}.ipv4`);
  if ('port' in e) assert.ok(e.port > 0 && e.port < 65536, `${where}.port (absent when unknown, never 0)`);
}

function zipkinSpan(s, where) {
  shape(s, {
    traceId: 'string', parentId: 'string?', id: 'string', kind: 'string?', name: 'string?', timestamp: 'integer?',
    duration: 'integer?', localEndpoint: 'object?', remoteEndpoint: 'object?', annotations: 'array?', tags: 'object?',
    debug: 'boolean?', shared: 'boolean?',
  }, where, { exact: true });
  assert.match(s.traceId, /^([0-9a-f]{16}|[0-9a-f]{32})$/, `${where}.traceId: 16 or 32 lower-hex`);
  assert.match(s.id, HEX16, `${where}.id`);
  if ('parentId' in s) assert.match(s.parentId, HEX16, `${where}.parentId`);
  if ('kind' in s) assert.ok(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'].includes(s.kind), `${where}.kind ${s.kind}`);
  if ('duration' in s) assert.ok(s.duration >= 1, `${where}.duration: at least 1 µs`);
  if ('localEndpoint' in s) zipkinEndpoint(s.localEndpoint, `${where}.localEndpoint`);
  if ('remoteEndpoint' in s) zipkinEndpoint(s.remoteEndpoint, `${where}.remoteEndpoint`);
  if ('annotations' in s) {
    assert.ok(s.annotations.length > 0, `${where}.annotations: omitted when empty`);
    s.annotations.forEach((an, i) => shape(an, { timestamp: 'integer', value: 'string' }, `${where}.annotations[${i}]`, { exact: true }));
  }
  if ('tags' in s) {
    assert.ok(Object.keys(s.tags).length > 0, `${where}.tags: omitted when empty`);
    for (const [k, v] of Object.entries(s.tags)) assert.equal(typeof v, 'string', `${where}.tags[${JSON.stringify(k)}]: values are strings`);
  }
  if ('debug' in s) assert.equal(s.debug, true, `${where}.debug: written only when true`);
  if ('shared' in s) {
    assert.equal(s.shared, true, `${where}.shared: written only when true`);
    assert.notEqual(s.kind, 'CLIENT', `${where}.shared: never on CLIENT spans`);
  }
  const order = Object.keys(s).map((k) => ZIPKIN_KEY_ORDER.indexOf(k));
  assert.deepEqual(order, [...order].sort((x, y) => x - y), `${where}: keys in V2SpanWriter order (${Object.keys(s).join(', ')})`);
}

function zipkinTrace(t, where) {
  assert.ok(Array.isArray(t) && t.length > 0, `${where}: a trace is a non-empty array of spans`);
  t.forEach((s, i) => zipkinSpan(s, `${where}[${i}]`));
  assert.equal(new Set(t.map((s) => s.traceId)).size, 1, `${where}: one traceId`);
}

function zipkinNames(a) {
  expectStatus(a, 200, JSON_CT);
  const list = arrayOf(a.json, 'string', `GET ${a.path}`);
  sortedUnique(list, `GET ${a.path}`);
  return list;
}

function zipkinText(a, status) {
  expectStatus(a, status, TEXT_CT);
  assert.ok(a.text.trim().length > 0, `GET ${a.path}: a message`);
  assert.equal(a.json, undefined, `GET ${a.path}: plain text, not JSON`);
  return a.text;
}

function dependencyLinks(list, where, { zipkin }) {
  arrayOf(list, 'object', where);
  list.forEach((l, i) => {
    shape(l, zipkin ? { parent: 'string', child: 'string', callCount: 'integer', errorCount: 'integer?' }
      : { parent: 'string', child: 'string', callCount: 'integer' }, `${where}[${i}]`, { exact: true });
    assert.ok(l.callCount > 0, `${where}[${i}].callCount`);
    if ('errorCount' in l) assert.ok(l.errorCount > 0 && l.errorCount <= l.callCount, `${where}[${i}].errorCount: omitted when 0`);
    assert.notEqual(l.parent, 'user', `${where}[${i}]: no links from the user node`);
  });
  const keys = list.map((l) => `${l.parent}\0${l.child}`);
  assert.equal(new Set(keys).size, keys.length, `${where}: one link per parent/child`);
}

// --- service map and friends (docs/servicemap.md, docs/query.md) -------------

const NODE_KINDS = ['service', 'database', 'messaging', 'external', 'user'];

function serviceMap(a, { level = 'service' } = {}) {
  expectStatus(a, 200, JSON_CT);
  const where = `GET ${a.path}`;
  const m = shape(a.json, { nodes: 'array', edges: 'array', start: 'integer', end: 'integer' }, where, { exact: true });
  assert.ok(m.start <= m.end, `${where}: start <= end`);
  assert.equal(m.start % 60e6, 0, `${where}: start rounded out to a whole minute`);
  assert.ok(m.end % 60e6 === 0 || (m.end + 1) % 60e6 === 0, `${where}: end rounded out to a whole minute`);
  m.nodes.forEach((n, i) => {
    const w = `${where}.nodes[${i}]`;
    shape(n, {
      id: 'string', name: 'string', kind: 'string', requests: 'integer', errors: 'integer', p50: 'number', p90: 'number',
      p99: 'number', http4xx: 'integer?', http5xx: 'integer?', throttled: 'integer?', service: 'string?', operation: 'string?',
    }, w, { exact: true });
    assert.ok(NODE_KINDS.includes(n.kind), `${w}.kind ${n.kind}`);
    assert.ok(n.errors <= n.requests, `${w}: errors <= requests`);
    assert.ok(n.p50 <= n.p90 && n.p90 <= n.p99, `${w}: p50 <= p90 <= p99`);
    if (n.kind === 'service') {
      for (const k of ['http4xx', 'http5xx', 'throttled']) assert.ok(k in n, `${w}: service node ${k}`);
      if (level === 'operation') {
        assert.equal(n.id, `${n.service}:${n.operation}`, `${w}.id = service:operation`);
      } else {
        assert.equal(n.name, n.id, `${w}.name`);
      }
    } else {
      assert.equal(n.name, n.id, `${w}.name`);
    }
    if (n.kind === 'user') assert.equal(n.id, 'user', `${w}: the user node`);
  });
  sortedUnique(m.nodes.map((n) => n.id), `${where}: nodes by id`);
  const ids = new Set(m.nodes.map((n) => n.id));
  m.edges.forEach((e, i) => {
    const w = `${where}.edges[${i}]`;
    shape(e, { source: 'string', target: 'string', calls: 'integer', errors: 'integer', p50: 'number', p90: 'number', p99: 'number' },
      w, { exact: true });
    assert.ok(ids.has(e.source) && ids.has(e.target), `${w}: ${e.source} → ${e.target} between listed nodes`);
    assert.ok(e.calls > 0 && e.errors <= e.calls, `${w}: calls, errors`);
    assert.ok(e.p50 <= e.p90 && e.p90 <= e.p99, `${w}: p50 <= p90 <= p99`);
  });
  sortedUnique(m.edges.map((e) => [e.source, e.target]), `${where}: edges by source, target`,
    (x, y) => cmpStr(x[0], y[0]) || cmpStr(x[1], y[1]));
  return m;
}

// ---------------------------------------------------------------------------
// Per endpoint: the documented shape, and what the fixed data set must give
// ---------------------------------------------------------------------------

const ALL_SERVICES = ['checkout', 'frontend', 'inventory', 'payments'];
const FRONTEND_OPS = ['GET /checkout', 'GET /health', 'POST /charge', 'POST /orders', 'get /stock', 'health check'];
const DEFAULT_AUTOCOMPLETE_KEYS = ['http.method', 'http.request.method', 'http.route', 'http.status_code',
  'http.response.status_code', 'db.system', 'rpc.method', 'error.type'];
const opCmp = (x, y) => cmpStr(x.name, y.name) || cmpStr(x.spanKind, y.spanKind);

const SHAPES = {
  jaeger_services: (a) => {
    const env = jaegerEnvelope(a, { total: 4 });
    arrayOf(env.data, 'string', 'data');
    assert.deepEqual(env.data, ALL_SERVICES);
    assert.equal(env.errors, null);
  },
  jaeger_service_operations: (a) => {
    const env = jaegerEnvelope(a, { total: FRONTEND_OPS.length });
    assert.deepEqual(arrayOf(env.data, 'string', 'data'), FRONTEND_OPS, 'distinct span names, sorted');
  },
  jaeger_operations: (a) => {
    const env = jaegerEnvelope(a);
    env.data.forEach((o, i) => shape(o, { name: 'string', spanKind: 'string' }, `data[${i}]`, { exact: true }));
    assert.equal(env.total, env.data.length, 'total = count');
    sortedUnique(env.data, 'data: by name, then spanKind', opCmp);
    for (const o of env.data) assert.ok(['', 'server', 'client', 'producer', 'consumer', 'internal'].includes(o.spanKind), o.spanKind);
    assert.deepEqual(env.data.find((o) => o.name === 'health check'), { name: 'health check', spanKind: '' }, 'UNSPECIFIED → ""');
  },
  jaeger_operations_client: (a) => {
    const env = jaegerEnvelope(a);
    env.data.forEach((o, i) => shape(o, { name: 'string', spanKind: 'string' }, `data[${i}]`, { exact: true }));
    assert.equal(env.total, env.data.length, 'total = count');
    assert.deepEqual(env.data.map((o) => o.spanKind), env.data.map(() => 'client'));
    assert.deepEqual(env.data.map((o) => o.name), ['POST /charge', 'POST /orders', 'get /stock']);
  },
  jaeger_traces_search: (a) => {
    const env = jaegerEnvelope(a);
    env.data.forEach((t, i) => jaegerTrace(t, `data[${i}]`));
    assert.deepEqual(env.data.map((t) => t.traceID), [TID(4), TID(2), TID(1)], 'matching traces, newest first');
    for (const t of env.data) {
      const k = Number(t.traceID.slice(-1));
      assert.equal(t.spans.length, SPAN_COUNT[k], `trace ${k} whole`);
    }
  },
  jaeger_trace: (a) => {
    const env = jaegerEnvelope(a);
    assert.equal(env.data.length, 1, 'one trace');
    const t = jaegerTrace(env.data[0], 'data[0]');
    assert.equal(t.traceID, TID(1));
    assert.equal(t.spans.length, SPAN_COUNT[1]);
    // the mapping of protocols.md 4.5 on the root span
    const root = t.spans.find((s) => s.spanID === SID(1, 1));
    const tag = (k) => root.tags.find((kv) => kv.key === k);
    assert.deepEqual(root.tags.slice(0, 2).map((kv) => kv.key), ['otel.scope.name', 'otel.scope.version'], 'scope tags first');
    assert.deepEqual(tag('app.premium'), { key: 'app.premium', type: 'bool', value: true });
    assert.deepEqual(tag('app.ratio'), { key: 'app.ratio', type: 'float64', value: 0.25 });
    assert.deepEqual(tag('app.negative'), { key: 'app.negative', type: 'int64', value: -42 });
    assert.deepEqual(tag('app.big'), { key: 'app.big', type: 'int64', value: '9007199254740993' }, 'beyond 2^53: a string');
    assert.deepEqual(tag('app.tags'), { key: 'app.tags', type: 'string', value: '["a","b"]' }, 'array: JSON text');
    assert.deepEqual(tag('app.ctx'), { key: 'app.ctx', type: 'string', value: '{"k":"v"}' }, 'kvlist: JSON text');
    assert.deepEqual(tag('app.raw'), { key: 'app.raw', type: 'binary', value: 'AQID' });
    assert.deepEqual(tag('span.kind'), { key: 'span.kind', type: 'string', value: 'server' });
    assert.deepEqual(tag('otel.status_code'), { key: 'otel.status_code', type: 'string', value: 'OK' });
    assert.equal(tag('error'), undefined, 'no error tag when the status is OK');
    assert.deepEqual(tag('w3c.tracestate'), { key: 'w3c.tracestate', type: 'string', value: 'vendor=golden' });
    assert.deepEqual(root.references, []);
    assert.equal(root.startTime, T0_US(1));
    assert.equal(root.duration, 250000);
    assert.equal(root.flags, 1, 'the sampled bit');
    assert.deepEqual(t.processes[root.processID], {
      serviceName: 'frontend',
      tags: Object.entries(RESOURCES.frontend).map(([key, value]) => ({ key, type: 'string', value })),
    });
  },
  jaeger_traces_by_id: (a) => {
    const env = jaegerEnvelope(a);
    env.data.forEach((t, i) => jaegerTrace(t, `data[${i}]`));
    assert.deepEqual(env.data.map((t) => t.traceID), [TID(3), TID(5)], 'the traces found');
    assert.ok(Array.isArray(env.errors), 'errors name the missing trace');
    assert.deepEqual(env.errors, [{ msg: 'trace not found', traceID: MISSING_TID }]);
    const unspecified = env.data[0].spans.find((s) => s.spanID === SID(3, 2));
    assert.equal(unspecified.tags.find((kv) => kv.key === 'span.kind'), undefined, 'no span.kind for UNSPECIFIED');
    const linked = env.data[1].spans.find((s) => s.spanID === SID(5, 1));
    assert.deepEqual(linked.references, [{ refType: 'FOLLOWS_FROM', traceID: TID(1), spanID: SID(1, 1) }], 'a link: FOLLOWS_FROM');
  },
  v3_services: (a) => {
    expectStatus(a, 200, JSON_CT);
    shape(a.json, { services: 'array' }, 'v3 services', { exact: true });
    assert.deepEqual(arrayOf(a.json.services, 'string', 'services'), ALL_SERVICES);
  },
  v3_operations: (a) => {
    expectStatus(a, 200, JSON_CT);
    shape(a.json, { operations: 'array' }, 'v3 operations', { exact: true });
    a.json.operations.forEach((o, i) => shape(o, { name: 'string', spanKind: 'string' }, `operations[${i}]`, { exact: true }));
    sortedUnique(a.json.operations, 'operations: by name, then spanKind', opCmp);
    for (const o of a.json.operations) assert.ok(['server', 'client', 'producer', 'consumer', 'internal'].includes(o.spanKind), o.spanKind);
    assert.equal(a.json.operations.find((o) => o.name === 'health check')?.spanKind, 'internal', 'an empty kind is internal');
  },
  v3_traces_search: (a) => {
    const spans = otlpTracesResult(a);
    assert.deepEqual([...new Set(spans.map((x) => x.span.traceId))], [TID(2)]);
    assert.equal(spans.length, SPAN_COUNT[2], 'the whole trace');
    const exc = spans.find((x) => x.span.spanId === SID(2, 3)).span;
    assert.deepEqual(exc.status, { message: 'card declined', code: 2 });
    assert.equal(exc.events?.[0]?.name, 'exception');
  },
  v3_trace: (a) => {
    const spans = otlpTracesResult(a);
    assert.equal(spans.length, SPAN_COUNT[1]);
    assert.deepEqual([...new Set(spans.map((x) => x.service))], ['frontend', 'checkout', 'inventory'], 'one ResourceSpans per service');
    const root = spans.find((x) => x.span.spanId === SID(1, 1)).span;
    assert.equal(root.startTimeUnixNano, nsAt(1, 0));
    assert.equal(root.kind, 2);
    assert.equal(root.flags, 0x101);
    assert.equal(root.traceState, 'vendor=golden');
    assert.deepEqual(root.attributes, attrs(OTLP_SPANS[0].attrs), 'the attributes as sent');
  },
  v3_trace_link: (a) => {
    const spans = otlpTracesResult(a);
    const root = spans.find((x) => x.span.spanId === SID(5, 1)).span;
    assert.deepEqual(root.links, [{ traceId: TID(1), spanId: SID(1, 1), attributes: attrs({ 'link.reason': 'follow-up' }) }]);
  },
  v3_trace_shared: (a) => {
    const spans = otlpTracesResult(a);
    assert.equal(spans.length, SPAN_COUNT[4]);
  },
  zipkin_services: (a) => assert.deepEqual(zipkinNames(a), ALL_SERVICES),
  zipkin_spans: (a) => assert.deepEqual(zipkinNames(a), FRONTEND_OPS),
  zipkin_remote_services: (a) => assert.deepEqual(zipkinNames(a), ['checkout', 'inventory', 'payments']),
  zipkin_traces_search: (a) => {
    expectStatus(a, 200, JSON_CT);
    arrayOf(a.json, 'array', 'traces');
    a.json.forEach((t, i) => zipkinTrace(t, `[${i}]`));
    assert.deepEqual(a.json.map((t) => t[0].traceId), [TID(2)]);
    const failed = a.json[0].filter((s) => 'error' in (s.tags ?? {}));
    assert.deepEqual(failed.map((s) => [s.id, s.tags.error, s.tags['otel.status_code']]),
      [[SID(2, 1), 'payment failed', 'ERROR'], [SID(2, 2), 'upstream 500', 'ERROR'], [SID(2, 3), 'card declined', 'ERROR']]);
  },
  zipkin_trace: (a) => {
    expectStatus(a, 200, JSON_CT);
    zipkinTrace(a.json, 'trace');
    assert.equal(a.json.length, SPAN_COUNT[4]);
    const shared = a.json.filter((s) => s.id === SID(4, 2));
    assert.deepEqual(shared.map((s) => [s.kind, s.parentId, s.shared ?? false, s.localEndpoint?.serviceName]),
      [['CLIENT', SID(4, 1), false, 'frontend'], ['SERVER', SID(4, 1), true, 'inventory']], 'the shared span: two records, as sent');
  },
  zipkin_trace_many: (a) => {
    expectStatus(a, 200, JSON_CT);
    arrayOf(a.json, 'array', 'traces');
    a.json.forEach((t, i) => zipkinTrace(t, `[${i}]`));
    assert.deepEqual(a.json.map((t) => t[0].traceId), [TID(5), TID(1)], 'the traces found, in the order asked');
    const root = a.json[1].find((s) => s.id === SID(1, 1));
    assert.equal(root.kind, 'SERVER');
    assert.equal(root.timestamp, T0_US(1));
    assert.equal(root.duration, 250000);
    assert.equal(root.tags['app.premium'], 'true');
    assert.equal(root.tags['app.big'], '9007199254740993');
    assert.equal(root.tags['otel.status_code'], 'OK');
    assert.equal(a.json[1].find((s) => s.id === SID(1, 7)).kind, undefined, 'INTERNAL: no kind');
  },
  zipkin_autocomplete_keys: (a) => {
    expectStatus(a, 200, JSON_CT);
    assert.deepEqual(arrayOf(a.json, 'string', 'keys'), DEFAULT_AUTOCOMPLETE_KEYS);
  },
  zipkin_autocomplete_values: (a) => assert.deepEqual(zipkinNames(a), ['GET', 'POST']),
  zipkin_dependencies: (a) => {
    expectStatus(a, 200, JSON_CT);
    dependencyLinks(a.json, 'links', { zipkin: true });
    const want = Object.entries(EXPECTED_EDGES).filter(([k]) => !k.startsWith('user>'));
    assert.deepEqual(Object.fromEntries(a.json.map((l) => [`${l.parent}>${l.child}`, l.callCount])), Object.fromEntries(want));
    assert.deepEqual(a.json.filter((l) => l.errorCount).map((l) => [l.parent, l.child, l.errorCount]), [['frontend', 'payments', 1]]);
  },
  jaeger_dependencies: (a) => {
    expectStatus(a, 200, JSON_CT);
    const where = `GET ${a.path}`;
    const env = shape(a.json, { data: 'array', total: 'integer', limit: 'integer', offset: 'integer', errors: 'null|array' }, where, { exact: true });
    dependencyLinks(env.data, 'data', { zipkin: false });
    const want = Object.entries(EXPECTED_EDGES).filter(([k]) => !k.startsWith('user>'));
    assert.deepEqual(Object.fromEntries(env.data.map((l) => [`${l.parent}>${l.child}`, l.callCount])), Object.fromEntries(want));
  },
  slow_traces: (a) => {
    expectStatus(a, 200, JSON_CT);
    const j = shape(a.json, { data: 'array', total: 'integer', limit: 'integer' }, 'slow-traces', { exact: true });
    j.data.forEach((t, i) => {
      shape(t, {
        traceID: 'string', rootService: 'string', rootOperation: 'string', startTime: 'integer', duration: 'integer',
        spanCount: 'integer', errorCount: 'integer', services: 'array',
      }, `data[${i}]`, { exact: true });
      sortedUnique(arrayOf(t.services, 'string', `data[${i}].services`), `data[${i}].services`);
    });
    for (let i = 1; i < j.data.length; i++) assert.ok(j.data[i - 1].duration >= j.data[i].duration, 'by duration, descending');
    assert.equal(j.total, 6);
    assert.equal(j.limit, 10);
    assert.deepEqual(j.data.map((t) => t.traceID), [2, 1, 4, 6, 5, 3].map(TID));
    assert.deepEqual(j.data[0], {
      traceID: TID(2), rootService: 'frontend', rootOperation: 'GET /checkout', startTime: T0_US(2), duration: 600000,
      spanCount: 4, errorCount: 3, services: ['frontend', 'payments'],
    });
  },
  servicemap: (a) => {
    const m = serviceMap(a);
    const counts = Object.fromEntries(m.edges.map((e) => [`${e.source}>${e.target}`, e.calls]));
    assert.ok(sameCounts(counts, EXPECTED_EDGES), `edges ${JSON.stringify(counts)}`);
    assert.deepEqual(Object.fromEntries(m.nodes.map((n) => [n.id, n.kind])), {
      'api.bank.example': 'external', 'api.supplier.example': 'external', checkout: 'service', frontend: 'service',
      inventory: 'service', payments: 'service', 'pg-main': 'database', redis: 'database', user: 'user',
    });
    assert.equal(m.start, BASE_US, 'start: a whole minute already');
  },
  servicemap_operation: (a) => {
    const m = serviceMap(a, { level: 'operation' });
    assert.ok(m.nodes.some((n) => n.id === 'frontend:GET /checkout'), 'service:operation nodes');
    assert.ok(m.edges.some((e) => e.source === 'checkout:POST /orders' && e.target === 'inventory:orders-topic process'));
  },
  servicemap_focus: (a) => {
    const m = serviceMap(a);
    assert.deepEqual(m.nodes.map((n) => n.id), ['api.bank.example', 'frontend', 'payments'], 'payments and its neighbours');
    assert.deepEqual(m.edges.map((e) => `${e.source}>${e.target}`), ['frontend>payments', 'payments>api.bank.example']);
  },
  critical_path: (a) => {
    expectStatus(a, 200, JSON_CT);
    const j = shape(a.json, { traceID: 'string', duration: 'integer', criticalPath: 'array', spans: 'array' }, 'critical path', { exact: true });
    assert.equal(j.traceID, TID(1));
    assert.equal(j.duration, 250000);
    j.criticalPath.forEach((g, i) => shape(g, { spanID: 'string', service: 'string', operation: 'string', start: 'integer', duration: 'integer' },
      `criticalPath[${i}]`, { exact: true }));
    j.spans.forEach((s, i) => shape(s, {
      spanID: 'string', service: 'string', operation: 'string', start: 'integer', duration: 'integer', selfTime: 'integer', onPath: 'integer',
    }, `spans[${i}]`, { exact: true }));
    for (let i = 1; i < j.criticalPath.length; i++) {
      const p = j.criticalPath[i - 1];
      assert.equal(p.start + p.duration, j.criticalPath[i].start, `criticalPath[${i}]: in time order, contiguous`);
    }
    assert.equal(j.criticalPath.reduce((n, g) => n + g.duration, 0), 250000, 'the path covers the root');
    assert.equal(j.spans.length, SPAN_COUNT[1], 'every span');
  },
  bottlenecks: (a) => {
    expectStatus(a, 200, JSON_CT);
    const j = shape(a.json, { slowThreshold: 'number', slowTraces: 'integer', typicalTraces: 'integer', data: 'array' }, 'bottlenecks', { exact: true });
    j.data.forEach((r, i) => {
      shape(r, {
        service: 'string', operation: 'string', slowMean: 'number', typicalMean: 'number', excess: 'number', share: 'number',
        examples: 'array',
      }, `data[${i}]`, { exact: true });
      arrayOf(r.examples, 'string', `data[${i}].examples`);
      assert.ok(r.examples.length <= 5, `data[${i}]: up to 5 examples`);
      assert.ok(r.share >= 0 && r.share <= 1, `data[${i}].share is a fraction`);
    });
    sortedUnique(j.data, 'data: by excess descending, then service, operation',
      (x, y) => (y.excess - x.excess) || cmpStr(x.service, y.service) || cmpStr(x.operation, y.operation));
    assert.deepEqual([j.slowThreshold, j.slowTraces, j.typicalTraces], [600000, 1, 2], 'p90 of 50, 250, 600 ms (nearest rank)');
    assert.deepEqual([j.data[0].service, j.data[0].operation, j.data[0].examples], ['payments', 'POST /v1/charges', [TID(2)]]);
  },
  error_jaeger_400: (a) => assert.match(jaegerError(a, 400).msg, /minDuration/, 'the message names the parameter'),
  error_jaeger_404: (a) => assert.equal(jaegerError(a, 404).msg, 'trace not found'),
  error_v3_404: (a) => assert.equal(v3Error(a, 404).message, 'No traces found'),
  error_v3_search_404: (a) => assert.equal(v3Error(a, 404).message, 'No traces found'),
  error_zipkin_400: (a) => assert.match(zipkinText(a, 400), /traceIds/, 'the message names the parameter'),
  error_zipkin_404: (a) => assert.equal(zipkinText(a, 404).trim(), `${MISSING_TID} not found`),
  error_slow_traces_400: (a) => {
    expectStatus(a, 400, JSON_CT);
    shape(a.json, { error: 'string' }, 'slow-traces error', { exact: true });
    assert.match(a.json.error, /limit/, 'the message names the parameter');
  },
};

test('every query has a shape check and the other way round', () => {
  assert.deepEqual(Object.keys(SHAPES).sort(), Object.keys(QUERIES).sort());
  for (const d of KNOWN_DEVIATIONS) assert.ok(d.golden === null || d.golden in QUERIES, d.id);
});

for (const name of Object.keys(QUERIES)) {
  test(`shape: ${name}`, () => {
    const a = answers.get(name);
    assert.ok(a, 'no answer (the data set was not sent)');
    SHAPES[name](a);
  });
  test(`golden: ${name}`, () => {
    const a = answers.get(name);
    assert.ok(a, 'no answer (the data set was not sent)');
    const rec = recordOf(name, a);
    for (const d of KNOWN_DEVIATIONS) if (d.golden === name && d.patch) d.patch(rec);
    checkGolden(name, rec);
  });
}

for (const d of KNOWN_DEVIATIONS) {
  test(`documented, not yet so: ${d.id}`, { todo: d.note }, () => {
    d.check();
  });
}

test('tracemap exits 0 on SIGTERM', async () => {
  const e = await server.stop();
  assert.deepEqual({ code: e.code, signal: e.signal }, { code: 0, signal: null }, server.logTail());
});
