// `tracemap demo` against a real server, then `tracemap export` of what it
// stored.
//
//   1. demo: a server with --pair-wait 1s; `tracemap demo --rate 30
//      --duration 5s --seed 42` exits 0 and says what it sent; the server
//      lists the shop's 13 services, its map holds the uninstrumented
//      database "shop", cache "cache", queue "orders" and external
//      "api.stripe.com" with the edges that reach them, and the bottlenecks
//      of frontend "POST /checkout" rank payments' "charge card" first (one
//      card charge in 12 is 800-1500 ms slow instead of about 80: a 5 s run
//      at 30 traces/s makes about 30 checkouts, so at least two slow ones).
//   2. export: with the server stopped, `tracemap export --since 1h` writes
//      index.html, a page per service, the slowest traces (HTML and Jaeger
//      JSON) and frontend's bottleneck page; every relative href/src of
//      every page names a file of the site (decoded as a browser does for
//      file://), none is an absolute path or names another host; a second
//      export into the same directory works and removes what it no longer
//      writes; a non-empty directory that is no export is refused (exit 2).
//   3. demo: a bad --target is one line and exit 2; a refused connection is
//      retried until the server is up (it may be starting), and the spans
//      arrive.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, sleep, tracemapBin } from './lib/server.mjs';

const SERVICES = ['api-gateway', 'auth', 'cart', 'catalog', 'checkout', 'frontend', 'inventory',
  'notifications', 'payments', 'pricing', 'recommendations', 'search', 'shipping'];
const VIRTUAL = [
  { id: 'shop', kind: 'database', from: 'inventory' },
  { id: 'cache', kind: 'database', from: 'cart' },
  { id: 'orders', kind: 'messaging', from: 'shipping' },
  { id: 'api.stripe.com', kind: 'external', from: 'payments' },
];
const KEEP = !!process.env.TRACEMAP_KEEP_DATA;

const work = mkdtempSync(join(tmpdir(), 'tracemap-demo-'));
let server = null;
after(async () => {
  if (server) await server.close();
  if (!KEEP) rmSync(work, { recursive: true, force: true });
});

/** runs tracemap with args; resolves {code, stdout, stderr} */
function run(args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolveRun) => {
    execFile(tracemapBin(), args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolveRun({ code, signal: err?.signal ?? null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** polls fn until it returns a truthy value or timeoutMs passes; returns the last value */
async function until(fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v.ok || Date.now() > deadline) return v;
    await sleep(250);
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

test('demo: the shop fills a server, its map and its planted bottleneck', async () => {
  server = await startServer({ args: ['--pair-wait', '1s'] });
  const r = await run(['demo', '--target', server.url, '--rate', '30', '--duration', '5s',
    '--seed', '42']);
  assert.equal(r.code, 0, `demo exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /sends 30 traces\/s to http:\/\/127\.0\.0\.1:\d+\/v1\/traces for 5\.0 s \(seed 42\)/);
  const last = /traces (\d+) {2}spans (\d+) {2}errors (\d+) {2}slow checkouts (\d+)/.exec(lines.at(-1));
  assert.ok(last, `no status line: ${lines.at(-1)}`);
  assert.ok(lines.length >= 5, `one status line a second:\n${r.stdout}`);
  const [traces, spans, , slow] = last.slice(1).map(Number);
  // never more than the rate allows; fewer when the machine is busy (the
  // demo paces itself and does not catch up), but not far fewer
  assert.ok(traces >= 75 && traces <= 151, `traces ${traces}`);
  assert.ok(spans > traces * 10, `spans ${spans}`);
  assert.ok(slow >= 2, `slow checkouts ${slow}`);

  const services = await server.getJson('/api/services');
  assert.deepEqual([...services.json.data].sort(), SERVICES);

  const map = await until(async () => {
    const m = (await server.getJson('/api/servicemap')).json;
    const ids = new Map(m.nodes.map((n) => [n.id, n]));
    const edge = (a, b) => m.edges.some((e) => e.source === a && e.target === b);
    const ok = VIRTUAL.every((v) => ids.get(v.id)?.kind === v.kind && edge(v.from, v.id)) &&
      edge('checkout', 'shipping') && edge('checkout', 'notifications') &&
      edge('user', 'frontend') && edge('api-gateway', 'catalog');
    return { ok, m };
  });
  assert.ok(map.ok, `map lacks the shop's nodes or edges: ${JSON.stringify(map.m).slice(0, 3000)}`);
  for (const s of SERVICES) {
    assert.equal(map.m.nodes.find((n) => n.id === s)?.kind, 'service', s);
  }

  const b = await until(async () => {
    const j = (await server.getJson('/api/bottlenecks?service=frontend&operation=POST%20%2Fcheckout')).json;
    const top = j?.data?.[0];
    return { ok: top?.service === 'payments' && top?.operation === 'charge card', j };
  });
  assert.ok(b.ok, `payments "charge card" is not first: ${JSON.stringify(b.j).slice(0, 2000)}`);
  assert.ok(b.j.slowTraces >= 2 && b.j.data[0].excess > 300000, JSON.stringify(b.j.data[0]));
  assert.ok(b.j.data[0].examples.length >= 1);

  const stop = await server.stop();
  assert.equal(stop.code, 0, `server exit ${JSON.stringify(stop)}`);
});

/** every href/src of an HTML text, entities decoded */
function links(html) {
  const out = [];
  for (const m of html.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g)) {
    out.push(m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  }
  return out;
}

/** the site's link problems: dangling relative links, absolute paths, other hosts */
function checkSite(site) {
  const problems = [];
  let relative = 0;
  for (const f of readdirSync(site).filter((n) => n.endsWith('.html'))) {
    for (const href of links(readFileSync(join(site, f), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) {
        if (/^https?:|^\/\//i.test(href)) problems.push(`${f}: another host: ${href}`);
        continue;
      }
      if (href === '' || href.startsWith('#')) continue;
      if (href.startsWith('/')) {
        problems.push(`${f}: absolute path (broken from file://): ${href}`);
        continue;
      }
      relative++;
      const file = decodeURIComponent(href.split(/[?#]/)[0]);
      if (!existsSync(join(site, file))) problems.push(`${f}: dangling link: ${href}`);
    }
  }
  return { problems, relative };
}

test('export: the window as a static site, closed under its links', async () => {
  assert.ok(server, 'the demo test ran first');
  const site = join(work, 'site');
  const r = await run(['export', '--data', server.dataDir, '--out', site, '--since', '1h']);
  assert.equal(r.code, 0, `export exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /wrote \d+ files, \d+ bytes/);
  assert.ok(existsSync(join(site, 'index.html')));
  for (const s of SERVICES) assert.ok(existsSync(join(site, `service-${s}.html`)), s);
  assert.ok(existsSync(join(site, 'bottlenecks-frontend.html')));
  const files = readdirSync(site);
  const traces = files.filter((f) => /^trace-[0-9a-f]{32}\.html$/.test(f));
  assert.ok(traces.length >= 20, `${traces.length} trace pages`);
  for (const f of traces) {
    const json = JSON.parse(readFileSync(join(site, f.replace(/\.html$/, '.json')), 'utf8'));
    assert.equal(json.data[0].traceID, f.slice(6, 38));
    assert.ok(json.data[0].spans.length > 3);
  }
  assert.ok(files.includes('.tracemap-export'));
  assert.ok(!files.some((f) => f.endsWith('.tmp')), 'temporary files left');

  const { problems, relative } = checkSite(site);
  assert.ok(relative > 100, `only ${relative} relative links`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} link problems`);
  const html = files.filter((f) => f.endsWith('.html'))
    .map((f) => readFileSync(join(site, f), 'utf8')).join('\n');
  assert.doesNotMatch(html, /<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*"(?:https?:)?\/\//i);

  // again into the same directory, over a narrower window: what it no longer
  // writes goes, the marker lists exactly what is there
  const again = await run(['export', '--data', server.dataDir, '--out', site, '--since', '1s']);
  assert.equal(again.code, 0, again.stderr);
  const now = readdirSync(site).filter((f) => f !== '.tracemap-export').sort();
  const listed = readFileSync(join(site, '.tracemap-export'), 'utf8').trim().split('\n').slice(1).sort();
  assert.deepEqual(now, listed);
  assert.ok(now.filter((f) => f.startsWith('trace-')).length < traces.length * 2);
  assert.deepEqual(checkSite(site).problems, []);

  // a directory that holds something else is not overwritten
  const foreign = join(work, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  const refused = await run(['export', '--data', server.dataDir, '--out', foreign]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /not empty/);
  assert.deepEqual(readdirSync(foreign), ['notes.txt']);
});

test('demo: a bad target is one line and exit 2', async () => {
  for (const target of ['ftp://127.0.0.1:4318', 'https://127.0.0.1:4318', 'http://127.0.0.1:0',
    'http://no-such-host.invalid:4318']) {
    const r = await run(['demo', '--target', target, '--duration', '1s']);
    assert.equal(r.code, 2, `${target}: exit ${r.code}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${target}: ${r.stderr}`);
    assert.match(r.stderr, /--target/);
  }
});

test('demo: a refused connection is retried until the server is up', async () => {
  const port = await freePort();
  const demo = run(['demo', '--target', `127.0.0.1:${port}`, '--rate', '10', '--duration', '3s']);
  await sleep(1500);
  const late = await startServer({ args: ['--listen', `127.0.0.1:${port}`] });
  try {
    const r = await demo;
    assert.equal(r.code, 0, `demo exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /refused; retrying/);
    const services = await late.getJson('/api/services');
    assert.ok(services.json.data.includes('frontend'), JSON.stringify(services.json));
  } finally {
    await late.close();
  }
});
