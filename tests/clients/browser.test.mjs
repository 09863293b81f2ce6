// The web UI in a real browser: Debian's chromium (/usr/bin/chromium, apt
// package "chromium"; CI installs it) driven by playwright-core from npm.
//
//   - A server (--pair-wait 1s) fed by `tracemap demo --rate 40 --duration 6s
//     --seed 7`; every page opened in Chromium (headless, 1280x800) with the
//     context watched: a console error, an uncaught page error, a failed
//     request, a response >= 400 (other than the 404 page asked for on
//     purpose) or a request to any host but 127.0.0.1 fails the test.
//   - Map: the Graphviz SVG holds the shop's 13 services, "user" and the
//     uninstrumented shop/cache (database), orders (messaging) and
//     api.stripe.com (external) nodes, and the edges between them; service
//     nodes link to their page, virtual ones to nothing.
//   - A click on the map's "checkout" node opens its service page (heading,
//     operations, callers and callees, histogram, slowest traces); a click on
//     its slowest trace opens the trace page (one waterfall row per span,
//     payments "charge card" marked on the critical path, the time-by-service
//     table led by payments); its critical-path link answers the JSON of that
//     path; back goes back.
//   - Search through the form: checkout, slowest first (rows in descending
//     duration, one scatter-plot point per row, each linking to its trace);
//     then frontend, newest first, with the attribute filter
//     http.route=/checkout (every row a frontend "POST /checkout" trace).
//   - Bottlenecks of frontend "POST /checkout" rank payments "charge card"
//     first.
//   - /traces/0123 is a readable 404 page with the lookup form; the lookup
//     form of the map page opens a demo trace.
//   - With JavaScript off, the map, service and trace pages show their content.
//   - The server stopped, `tracemap export --since 1h` writes a site that is
//     opened from file://: its map, a click to a service page and on to a
//     trace page, and every page that index.html and that service page link
//     to loads without a failed request.
//   - A fresh server gets one 10,000-span trace over OTLP/JSON (fan-out and
//     depth, six services); its trace page paints first (first-contentful-
//     paint) within 2 s in headless Chromium: the budget the issue states
//     (the one timing asserted); a span's ?span= link opens its details; and
//     at 1280 px every row, down to the 300-deep recursion, shows at least
//     40 px of its span name (the link to its details).
//
// Screenshots of every page go to $TRACEMAP_BUILD/browser-screenshots/.
// Only a missing node_modules skips (exit 77); a missing /usr/bin/chromium
// fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  requireNodeModules, startServer, sleep, tracemapBin, waitForTrace, randomTraceId, randomSpanId,
  TRACEMAP_BUILD,
} from './lib/server.mjs';

requireNodeModules(); // exit 77 (meson skip) only when node_modules is missing
const { chromium } = await import('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1280, height: 800 };
const SHOTS = join(TRACEMAP_BUILD, 'browser-screenshots');
const KEEP = !!process.env.TRACEMAP_KEEP_DATA;

const SERVICES = ['api-gateway', 'auth', 'cart', 'catalog', 'checkout', 'frontend', 'inventory',
  'notifications', 'payments', 'pricing', 'recommendations', 'search', 'shipping'];
const VIRTUAL = { shop: 'database', cache: 'database', orders: 'messaging',
  'api.stripe.com': 'external', user: 'user' };
const EDGES = ['user → frontend', 'frontend → api-gateway', 'api-gateway → catalog',
  'api-gateway → checkout', 'checkout → payments', 'checkout → shipping',
  'checkout → notifications', 'payments → api.stripe.com', 'inventory → shop', 'cart → cache',
  'shipping → orders'];

const work = mkdtempSync(join(tmpdir(), 'tracemap-browser-'));
let browser = null;
let server = null;
let big = null; // the 10,000-span trace's server
const shots = [];

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: these tests need Debian's chromium ` +
      '(apt-get install chromium; scripts/packages.sh lists it in TEST_PACKAGES)');
  }
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ args: ['--pair-wait', '1s'] });
  const [r, b] = await Promise.all([
    run(['demo', '--target', server.url, '--rate', '40', '--duration', '6s', '--seed', '7']),
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS }),
  ]);
  browser = b;
  assert.equal(r.code, 0, `demo exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  await sleep(2500); // --pair-wait 1s: the last traces get paired
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    try {
      if (server) await server.close();
    } finally {
      try {
        if (big) await big.close();
      } finally {
        if (!KEEP) rmSync(work, { recursive: true, force: true });
        if (shots.length) console.log(`screenshots in ${SHOTS}: ${shots.join(' ')}`);
      }
    }
  }
});

/** runs tracemap with args; resolves {code, stdout, stderr} */
function run(args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolveRun) => {
    execFile(tracemapBin(), args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * A new browser context whose every page is watched. Returns {context, page,
 * problems, expectStatus(url)}; problems collects console errors, page
 * errors, failed requests, responses >= 400 not announced with
 * expectStatus, and requests to any host but 127.0.0.1.
 */
async function watchedContext(options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(30000);
  const problems = [];
  const expected = new Set(); // absolute URLs whose >= 400 answer is asked for
  const local = (u) => {
    const url = new URL(u);
    if (['file:', 'data:', 'about:', 'blob:'].includes(url.protocol)) return true;
    return url.hostname === '127.0.0.1';
  };
  context.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const at = msg.location()?.url || '';
    if (expected.has(at) && /status of 4\d\d/.test(msg.text())) return;
    problems.push(`console error on ${msg.page()?.url()}: ${msg.text()} (${at})`);
  });
  context.on('weberror', (e) => problems.push(`page error on ${e.page()?.url()}: ${e.error()}`));
  context.on('request', (req) => {
    if (!local(req.url())) problems.push(`request to another host: ${req.method()} ${req.url()}`);
  });
  context.on('requestfailed', (req) => {
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  context.on('response', (res) => {
    if (res.status() >= 400 && !expected.has(res.url())) {
      problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
    }
  });
  const page = await context.newPage();
  return { context, page, problems, expectStatus: (u) => expected.add(u) };
}

function assertClean(w, what) {
  assert.deepEqual(w.problems, [], `${what}: ${w.problems.length} browser problems`);
}

async function shot(page, name, { fullPage = true } = {}) {
  const file = `${name}.png`;
  await page.screenshot({ path: join(SHOTS, file), fullPage });
  shots.push(file);
}

/** the SVG map of the page: {nodes: [{name, kind, href}], edges: [{title, href}]} or null */
function readMap(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('svg.tm-map');
    if (!svg) return null;
    const href = (a) => (a ? a.getAttribute('href') ||
      a.getAttributeNS('http://www.w3.org/1999/xlink', 'href') : null);
    const first = (g) => (g.querySelector('title')?.textContent || '').split('\n')[0].trim();
    const nodes = [...svg.querySelectorAll('g.node')].map((g) => {
      const m = /^(.*) \(([^()]*)\)$/.exec(first(g));
      return { name: m ? m[1] : first(g), kind: m ? m[2] : '', href: href(g.querySelector('a')) };
    });
    const edges = [...svg.querySelectorAll('g.edge')].map((g) => ({
      title: first(g), href: href(g.querySelector('a')),
    }));
    return { nodes, edges };
  });
}

/** asserts the demo shop's nodes and edges; hrefOf(service) = a service node's link */
function checkMap(map, hrefOf) {
  assert.ok(map, 'no svg.tm-map on the map page');
  const byName = new Map(map.nodes.map((n) => [n.name, n]));
  for (const s of SERVICES) {
    const n = byName.get(s);
    assert.ok(n, `no node "${s}" in the map: ${[...byName.keys()].join(', ')}`);
    assert.equal(n.kind, 'service', s);
    assert.equal(n.href, hrefOf(s), `link of node ${s}`);
  }
  for (const [v, kind] of Object.entries(VIRTUAL)) {
    const n = byName.get(v);
    assert.ok(n, `no node "${v}" in the map: ${[...byName.keys()].join(', ')}`);
    assert.equal(n.kind, kind, v);
    assert.equal(n.href, null, `virtual node ${v} links nowhere`);
  }
  assert.equal(map.nodes.length, SERVICES.length + Object.keys(VIRTUAL).length,
    map.nodes.map((n) => n.name).join(', '));
  const titles = new Set(map.edges.map((e) => e.title));
  for (const e of EDGES) assert.ok(titles.has(e), `no edge "${e}" in ${[...titles].join('; ')}`);
  for (const e of map.edges) {
    assert.match(e.title, /^[\w.-]+ → [\w.-]+$/, 'edge title');
    assert.ok(e.href, `edge ${e.title} has a link`);
  }
}

/** the node group's link of `name` in the map SVG */
async function mapNodeLink(page, name) {
  const i = await page.evaluate((want) => [...document.querySelectorAll('svg.tm-map g.node')]
    .findIndex((g) => (g.querySelector('title')?.textContent || '').split('\n')[0]
      .startsWith(`${want} (`)), name);
  assert.ok(i >= 0, `no map node ${name}`);
  return page.locator('svg.tm-map g.node').nth(i).locator('a').first();
}

/** "1.49 s", "920 ms", "864 µs", "12 ns" -> microseconds */
function parseDuration(text) {
  const m = /^([\d.]+)\s*(ns|µs|us|ms|s)$/.exec(text.trim());
  assert.ok(m, `not a duration: "${text}"`);
  return Number(m[1]) * { ns: 1e-3, 'µs': 1, us: 1, ms: 1e3, s: 1e6 }[m[2]];
}

/** the rows of a table of traces (search results, a service's slowest traces) */
function traceRows(page, tableSel) {
  return page.$$eval(`${tableSel} tbody tr`, (trs) => trs.map((tr) => {
    const td = [...tr.querySelectorAll('td')].map((c) => c.textContent.trim());
    const a = tr.querySelector('td a');
    return { id: a?.getAttribute('title')?.replace(/^trace /, ''), href: a?.getAttribute('href'),
      root: td[1], start: td[2], duration: td[3], spans: Number(td[4]), errors: Number(td[5]) };
  }));
}

async function clickAndWait(page, locator, urlPattern) {
  await Promise.all([page.waitForURL(urlPattern), locator.click()]);
  await page.waitForLoadState('load');
}

let slowTraceId = null; // the slowest checkout trace, found through the UI

test('map: the SVG holds the shop\'s services, virtual nodes and edges', async () => {
  const w = await watchedContext();
  try {
    const res = await w.page.goto(server.url + '/');
    assert.equal(res.status(), 200);
    assert.equal(await w.page.title(), 'Service map - tracemap');
    await w.page.locator('svg.tm-map').waitFor();
    checkMap(await readMap(w.page), (s) => `/services/${s}?window=15m`);
    // the edges' links lead to the slowest traces of the callee
    const m = await readMap(w.page);
    assert.equal(m.edges.find((e) => e.title === 'checkout → payments').href,
      '/search?service=payments&sort=slowest&window=15m');
    // the node and edge tables say the same in text
    assert.equal(await w.page.locator('#nodes + table tr:has(td)').count(), 18);
    await shot(w.page, '01-map');
    assertClean(w, 'map');
  } finally {
    await w.context.close();
  }
});

test('map → service → slow trace → critical path', async () => {
  const w = await watchedContext();
  const { page } = w;
  try {
    await page.goto(server.url + '/');
    await clickAndWait(page, await mapNodeLink(page, 'checkout'), /\/services\/checkout\?window=15m$/);
    assert.equal(await page.locator('main h1').textContent(), 'Service: checkout');
    const ops = await page.$$eval('#operations + p + table tbody tr td:first-child',
      (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(ops, ['POST /checkout']);
    assert.ok(await page.locator('#latency + svg.chart rect').count() > 3, 'latency histogram bars');
    const callers = await page.$$eval('h3:text-is("Callers") + table tbody td:first-child',
      (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(callers, ['api-gateway']);
    const callees = await page.$$eval('h3:text-is("Callees") + table tbody td:first-child',
      (tds) => tds.map((t) => t.textContent));
    for (const c of ['cart', 'inventory', 'notifications', 'payments', 'pricing', 'shipping', 'shop']) {
      assert.ok(callees.includes(c), `callee ${c} in ${callees}`);
    }
    const slow = await traceRows(page, '#slowest + p + table');
    assert.equal(slow.length, 10);
    assert.ok(parseDuration(slow[0].duration) >= 700000,
      `the slowest checkout (a slow card charge) lasts ${slow[0].duration}`);
    for (let i = 1; i < slow.length; i++) {
      assert.ok(parseDuration(slow[i - 1].duration) >= parseDuration(slow[i].duration), 'slowest first');
    }
    await shot(page, '02-service-checkout');

    slowTraceId = slow[0].id;
    assert.match(slowTraceId, /^[0-9a-f]{32}$/);
    await clickAndWait(page, page.locator(`#slowest + p + table tbody tr:first-child td a`),
      new RegExp(`/traces/${slowTraceId}$`));
    assert.equal((await page.locator('main h1').textContent()).trim(), `Trace ${slowTraceId}`);
    const rows = page.locator('#wf .r');
    assert.equal(await rows.count(), slow[0].spans, 'one waterfall row per span');
    assert.ok(await rows.first().isVisible());
    const charge = await page.$$eval('#wf .r', (rs) => rs
      .filter((r) => r.querySelector('.sn')?.textContent === 'payments: charge card')
      .map((r) => ({ cp: r.classList.contains('cp'), mark: r.querySelector('.nm .cpm')?.textContent || '' })));
    assert.equal(charge.length, 1, 'one "charge card" row');
    assert.ok(charge[0].cp, '"charge card" is on the critical path');
    assert.match(charge[0].mark, /^◆ on critical path [\d.]+ (s|ms)$/);
    assert.ok(await page.locator('#wf .r.cp').count() >= 5, 'critical-path rows');
    const svc = await page.$$eval('table.svc tr:has(td)', (trs) => trs.map((tr) =>
      [...tr.querySelectorAll('td')].map((c) => c.textContent)));
    assert.equal(svc[0][0], 'payments', 'payments spends the most self time');
    assert.equal(svc.length, 10, 'ten services in the trace');
    await shot(page, '03-trace-slow-checkout');

    const cpLink = page.locator(`a[href="/api/traces/${slowTraceId}/critical-path"]`);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/critical-path')),
      cpLink.click(),
    ]);
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-type'], /^application\/json/);
    const cp = await resp.json();
    assert.equal(cp.traceID, slowTraceId);
    assert.equal(cp.spans.length, slow[0].spans);
    const longest = cp.criticalPath.reduce((a, b) => (b.duration > a.duration ? b : a));
    assert.equal(`${longest.service}: ${longest.operation}`, 'payments: charge card');
    await page.waitForLoadState('load');
    await shot(page, '04-critical-path-json');
    await page.goBack();
    await page.locator('#wf').waitFor();
    assert.ok(page.url().endsWith(`/traces/${slowTraceId}`), page.url());
    assertClean(w, 'map → service → trace');
  } finally {
    await w.context.close();
  }
});

test('search: the form, slowest first, then newest with an attribute filter', async () => {
  const w = await watchedContext();
  const { page } = w;
  try {
    await page.goto(server.url + '/');
    await clickAndWait(page, page.locator('header nav a:text-is("Search")'), /\/search$/);
    const form = page.locator('main form[action="/search"]');
    await form.locator('select[name=service]').selectOption('checkout');
    await form.locator('input[name=sort][value=slowest]').check();
    await shot(page, '05-search-form');
    await clickAndWait(page, form.locator('button:text-is("Search")'), /\/search\?.*sort=slowest/);
    const u1 = new URL(page.url());
    assert.equal(u1.searchParams.get('service'), 'checkout');
    let rows = await traceRows(page, '#results ~ table');
    assert.equal(rows.length, 20, 'the default limit');
    for (let i = 1; i < rows.length; i++) {
      assert.ok(parseDuration(rows[i - 1].duration) >= parseDuration(rows[i].duration), 'slowest first');
    }
    assert.equal(rows[0].id, slowTraceId, 'the slowest checkout again');
    let points = await page.$$eval('#results ~ svg.chart a', (as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(points.sort(), rows.map((r) => r.href).sort(), 'one scatter point per trace');
    await shot(page, '06-search-checkout-slowest');

    await form.locator('select[name=service]').selectOption('frontend');
    await form.locator('input[name=tags]').fill('http.route=/checkout');
    await form.locator('input[name=sort][value=newest]').check();
    await clickAndWait(page, form.locator('button:text-is("Search")'), /\/search\?.*sort=newest/);
    const u2 = new URL(page.url());
    assert.equal(u2.searchParams.get('tags'), 'http.route=/checkout');
    assert.equal(await form.locator('input[name=tags]').inputValue(), 'http.route=/checkout');
    rows = await traceRows(page, '#results ~ table');
    assert.ok(rows.length >= 10, `${rows.length} checkouts`);
    for (const r of rows) assert.equal(r.root, 'frontend: POST /checkout', r.id);
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].start >= rows[i].start, 'newest first');
    points = await page.$$eval('#results ~ svg.chart a', (as) => as.length);
    assert.equal(points, rows.length);
    await shot(page, '07-search-frontend-newest-tags');
    // a point of the scatter plot opens its trace
    await clickAndWait(page, page.locator('#results ~ svg.chart a').first(), /\/traces\/[0-9a-f]{32}$/);
    assert.match(await page.locator('main h1').textContent(), /^Trace [0-9a-f]{32}$/);
    assertClean(w, 'search');
  } finally {
    await w.context.close();
  }
});

test('bottlenecks: frontend "POST /checkout" ranks payments "charge card" first', async () => {
  const ops = await server.getJson('/api/services/frontend/operations');
  assert.ok(ops.json.data.includes('POST /checkout'), JSON.stringify(ops.json));
  const w = await watchedContext();
  try {
    await w.page.goto(`${server.url}/bottlenecks?service=frontend&operation=POST%20/checkout`);
    assert.equal(await w.page.locator('main h1').textContent(), 'Bottlenecks');
    const first = await w.page.$$eval('main table tbody tr:first-child td',
      (tds) => tds.map((t) => t.textContent.trim()));
    assert.deepEqual(first.slice(0, 3), ['1', 'payments', 'charge card']);
    assert.ok(await w.page.locator('main table tbody tr:first-child td:last-child a').count() >= 1,
      'example slow traces');
    await shot(w.page, '08-bottlenecks-frontend-checkout');
    assertClean(w, 'bottlenecks');
  } finally {
    await w.context.close();
  }
});

test('a 404 page with the lookup form; the lookup form opens a trace', async () => {
  const w = await watchedContext();
  const { page } = w;
  try {
    w.expectStatus(`${server.url}/traces/0123`);
    const res = await page.goto(`${server.url}/traces/0123`);
    assert.equal(res.status(), 404);
    assert.equal(await page.locator('main h1').textContent(), '404 Not found');
    assert.match(await page.locator('main').textContent(), /No trace with this ID/);
    assert.ok(await page.locator('header form[action="/lookup"] input[name=id]').isVisible());
    await shot(page, '09-404-trace');

    await page.goto(server.url + '/');
    await page.locator('header form[action="/lookup"] input[name=id]').fill(slowTraceId);
    await clickAndWait(page, page.locator('header form[action="/lookup"] button'),
      new RegExp(`/traces/${slowTraceId}$`));
    assert.equal((await page.locator('main h1').textContent()).trim(), `Trace ${slowTraceId}`);
    await shot(page, '10-lookup-trace');
    assertClean(w, '404 and lookup');
  } finally {
    await w.context.close();
  }
});

test('JavaScript off: map, service and trace pages show their content', async () => {
  const w = await watchedContext({ javaScriptEnabled: false });
  const { page } = w;
  try {
    await page.goto(server.url + '/');
    checkMap(await readMap(page), (s) => `/services/${s}?window=15m`);
    assert.ok(await page.locator('svg.tm-map g.node').first().isVisible());
    assert.equal(await page.locator('.tm-zoom').isVisible(), false, 'zoom buttons need scripts');
    await shot(page, '11-nojs-map');
    await clickAndWait(page, await mapNodeLink(page, 'checkout'), /\/services\/checkout/);
    assert.equal(await page.locator('main h1').textContent(), 'Service: checkout');
    const slow = await traceRows(page, '#slowest + p + table');
    assert.equal(slow.length, 10);
    assert.ok(await page.locator('#operations + p + table tbody tr').first().isVisible());
    await shot(page, '12-nojs-service-checkout');
    await page.goto(`${server.url}/traces/${slowTraceId}`);
    const rows = page.locator('#wf .r');
    assert.equal(await rows.count(), slow[0].spans);
    assert.equal(await page.locator('#wf .r:visible').count(), slow[0].spans, 'every row shows');
    assert.ok(await page.locator('#wf .r.cp .cpm').first().isVisible(), 'critical-path marks');
    assert.ok(await page.locator('table.svc').isVisible());
    await shot(page, '13-nojs-trace');
    assertClean(w, 'JavaScript off');
  } finally {
    await w.context.close();
  }
});

test('export: the static site opened from file://', async () => {
  const stop = await server.stop();
  assert.equal(stop.code, 0, `server exit ${JSON.stringify(stop)}`);
  const site = join(work, 'site');
  const r = await run(['export', '--data', server.dataDir, '--out', site, '--since', '1h']);
  assert.equal(r.code, 0, `export exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const index = pathToFileURL(join(site, 'index.html')).href;
  const w = await watchedContext();
  const { page } = w;
  try {
    const responses = [];
    w.context.on('response', (res) => responses.push(res.url()));
    await page.goto(index);
    checkMap(await readMap(page), (s) => `service-${s}.html`);
    await shot(page, '14-export-map');
    await clickAndWait(page, await mapNodeLink(page, 'checkout'), /\/service-checkout\.html$/);
    assert.equal(await page.locator('main h1').textContent(), 'Service: checkout');
    const slow = await traceRows(page, '#slowest + p + table');
    assert.equal(slow[0].id, slowTraceId);
    assert.equal(slow[0].href, `trace-${slowTraceId}.html`);
    await shot(page, '15-export-service-checkout');
    await clickAndWait(page, page.locator('#slowest + p + table tbody tr:first-child td a'),
      new RegExp(`/trace-${slowTraceId}\\.html$`));
    assert.equal(await page.locator('#wf .r').count(), slow[0].spans);
    assert.ok(await page.locator('#wf .r.cp').count() >= 5);
    await shot(page, '16-export-trace');
    await clickAndWait(page, page.locator('header a.brand'), /\/index\.html$/);

    // every page the map and the service page link to opens from file://
    const targets = new Set();
    for (const from of [index, pathToFileURL(join(site, 'service-checkout.html')).href]) {
      await page.goto(from);
      const hrefs = await page.evaluate(() => [...document.querySelectorAll('a')]
        .map((a) => a.href?.baseVal ?? a.href).filter(Boolean).map((h) => new URL(h, location.href).href));
      for (const h of hrefs) {
        const u = new URL(h);
        assert.equal(u.protocol, 'file:', `a link off the site from ${from}: ${h}`);
        u.hash = '';
        targets.add(u.href);
      }
    }
    assert.ok(targets.size >= 20, `${targets.size} pages linked`);
    for (const t of targets) {
      const res = await page.goto(t);
      assert.ok(res === null || res.ok() || res.status() === 0, `${t}: ${res?.status()}`);
      if (t.endsWith('.html')) assert.ok(await page.locator('main h1').count() === 1, `${t}: no heading`);
    }
    assert.ok(responses.every((u) => u.startsWith('file:')), 'only file:// loads');
    assertClean(w, 'export');
  } finally {
    await w.context.close();
  }
});

/** one trace of n spans in OTLP/JSON batches: a tree with fan-out, depth and six services */
function bigTrace(n) {
  let seed = 7;
  const rnd = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const services = ['edge', 'orders', 'inventory', 'pricing', 'ledger', 'search-index'];
  const traceId = randomTraceId();
  const t0 = (Date.now() - 120000) * 1e6; // ns, as a double: fine to the microsecond
  const spans = [];
  const add = (parent, service, name, startNs, durNs, depth) => {
    const s = {
      traceId, spanId: randomSpanId(), parentSpanId: parent ? parent.spanId : '', name,
      kind: !parent ? 2 : parent.service !== service ? 2 : 1,
      startTimeUnixNano: String(Math.round(startNs)), endTimeUnixNano: String(Math.round(startNs + durNs)),
      attributes: [{ key: 'depth', value: { intValue: depth } }],
      status: rnd() < 0.002 ? { code: 2, message: 'boom' } : {},
      service, depth, startNs, durNs,
    };
    spans.push(s);
    return s;
  };
  const queue = [add(null, 'edge', 'GET /report', t0, 30e9, 0)];
  // a deep recursion under the root's first child: 300 nested spans
  let chainParent = null;
  for (let q = 0; q < queue.length && spans.length < n; q++) {
    const p = queue[q];
    const k = p.depth === 0 ? 8 : p.depth === 1 ? 6 : Math.floor(rnd() * 6);
    const sequential = rnd() < 0.5;
    for (let i = 0; i < k && spans.length < n; i++) {
      const service = rnd() < 0.6 ? p.service : services[Math.floor(rnd() * services.length)];
      const slot = p.durNs / k;
      const start = sequential ? p.startNs + i * slot + slot * 0.05 : p.startNs + p.durNs * 0.02;
      const dur = sequential ? slot * 0.9 : p.durNs * (0.5 + 0.45 * rnd());
      queue.push(add(p, service, `${service} step ${p.depth + 1}.${i}`, start, dur, p.depth + 1));
    }
    if (q === 1) {
      chainParent = p;
      for (let d = 0; d < 300 && spans.length < n; d++) {
        chainParent = add(chainParent, 'ledger', `resolve level ${d}`, chainParent.startNs + chainParent.durNs * 0.01,
          chainParent.durNs * 0.98, chainParent.depth + 1);
      }
    }
  }
  assert.equal(spans.length, n);
  const batches = [];
  for (let i = 0; i < n; i += 1000) {
    const byService = new Map();
    for (const s of spans.slice(i, i + 1000)) {
      if (!byService.has(s.service)) byService.set(s.service, []);
      const { service, depth, startNs, durNs, ...otlp } = s;
      byService.get(s.service).push(otlp);
    }
    batches.push(JSON.stringify({
      resourceSpans: [...byService].map(([service, list]) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'browser-test', version: '1.0.0' }, spans: list }],
      })),
    }));
  }
  const maxDepth = Math.max(...spans.map((s) => s.depth));
  return { traceId, batches, maxDepth, deepSpan: chainParent.spanId, midSpan: spans[5000].spanId };
}

let bigInfo = null; // {url, deepSpan, midSpan} of the 10,000-span trace

test('10,000-span trace: first contentful paint under 2 s', async (t) => {
  big = await startServer();
  const { traceId, batches, maxDepth, deepSpan, midSpan } = bigTrace(10000);
  assert.ok(maxDepth >= 300, `depth ${maxDepth}`);
  for (const body of batches) {
    const r = await big.post('/v1/traces', body, { 'Content-Type': 'application/json' });
    assert.equal(r.status, 200, r.body.toString());
  }
  const stored = await waitForTrace(big, traceId, 10000, { timeoutMs: 30000 });
  assert.equal(stored.json?.data?.[0]?.spans?.length, 10000);
  const url = `${big.url}/traces/${traceId}`;
  bigInfo = { url, deepSpan };

  const w = await watchedContext();
  const { page } = w;
  try {
    const res = await page.goto(url, { waitUntil: 'load', timeout: 60000 });
    assert.equal(res.status(), 200);
    const fcp = await page.waitForFunction(() => performance.getEntriesByType('paint')
      .find((e) => e.name === 'first-contentful-paint')?.startTime, null, { timeout: 10000 })
      .then((h) => h.jsonValue());
    const nav = await page.evaluate(() => {
      const e = performance.getEntriesByType('navigation')[0];
      return { responseStart: e.responseStart, domContentLoaded: e.domContentLoadedEventEnd,
        load: e.loadEventEnd, bytes: e.transferSize };
    });
    t.diagnostic(`10,000-span trace page: first contentful paint ${fcp.toFixed(0)} ms; ` +
      `first byte ${nav.responseStart.toFixed(0)} ms, DOMContentLoaded ${nav.domContentLoaded.toFixed(0)} ms, ` +
      `load ${nav.load.toFixed(0)} ms, ${nav.bytes} bytes`);
    // the one timing asserted: the budget the issue states; a server under
    // valgrind (tests/valgrind.sh) is tens of times slower, so there the
    // figure is only reported
    if (!process.env.TRACEMAP_WRAPPER)
      assert.ok(fcp < 2000, `first contentful paint after ${fcp.toFixed(0)} ms (budget 2000 ms)`);

    assert.equal((await page.locator('main h1').textContent()).trim(), `Trace ${traceId}`);
    assert.equal(await page.locator('#wf .r').count(), 10000, 'one row per span');
    assert.ok(await page.locator('#wf .r').first().isVisible());
    await shot(page, '17-trace-10000-spans', { fullPage: false });
    // past 2,000 spans the details are a link away: ?span=ID opens them at the top
    const link = page.locator(`#wf a[href$="?span=${midSpan}"]`);
    assert.equal(await link.count(), 1, 'a span of the middle of the tree links to its details');
    await clickAndWait(page, link, new RegExp(`\\?span=${midSpan}$`));
    assert.match(await page.locator('main').textContent(), new RegExp(midSpan));
    await shot(page, '18-trace-10000-spans-selected', { fullPage: false });
    assertClean(w, '10,000-span trace');
  } finally {
    await w.context.close();
  }
});

test('10,000-span trace: deep rows keep their span names readable', async () => {
  assert.ok(bigInfo, 'the 10,000-span trace was stored');
  const w = await watchedContext();
  const { page } = w;
  try {
    await page.goto(bigInfo.url, { waitUntil: 'load', timeout: 60000 });
    await page.locator(`#s${bigInfo.deepSpan}`).scrollIntoViewIfNeeded();
    await shot(page, '19-trace-10000-spans-deep-rows', { fullPage: false });
    // every row's span name (its ?span= link) at 1280 px: at least 40 px of it shows
    // (measured with every row laid out at once: content-visibility off)
    await page.addStyleTag({ content: '#wf .r{content-visibility:visible!important}' });
    const narrow = await page.$$eval('#wf .r', (rs) => rs.map((r) => {
      const a = r.querySelector('a.sn');
      return { depth: parseInt(r.style.getPropertyValue('--d'), 10) || 0,
        width: a ? a.getBoundingClientRect().width : 0, name: a ? a.textContent : '(no link)' };
    }).filter((x) => x.width < 40));
    const shallowest = narrow.reduce((a, b) => (b.depth < a.depth ? b : a), narrow[0]);
    assert.equal(narrow.length, 0, `${narrow.length} rows show less than 40 px of their span name ` +
      `at ${VIEWPORT.width}x${VIEWPORT.height}, from depth ${shallowest?.depth} on ` +
      `("${shallowest?.name}": ${shallowest?.width.toFixed(0)} px): unreadable, and their ?span= ` +
      'links cannot be clicked');
    assertClean(w, '10,000-span trace, deep rows');
  } finally {
    await w.context.close();
  }
});
