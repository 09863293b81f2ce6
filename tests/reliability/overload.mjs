#!/usr/bin/env node
// Overload and slow clients (docs/reliability.md): a well-behaved client
// (small OTLP exports and queries, one at a time) is timed alone, then
// again while hostile ones run at once:
//   idle       connections opened and never used
//   slowloris  request heads sent one byte per second
//   stalled    POST bodies that announce more than they ever send
//   tiny       thousands of minimal requests as fast as answered
//   unknown    a flood of GETs of paths that do not exist
// It reports the well-behaved client's latency (p50, p99, max) alone and
// under attack, what the attackers achieved, and the server's memory
// before, at the peak and after. It fails when a well-behaved request
// failed or lost data, the server died, its anonymous memory passed
// --max-anon-mb, or `tracemap check` disagrees; latency is reported, not
// asserted.
//
//   node tests/reliability/overload.mjs [--seconds 30] [--idle 1000]
//        [--slow 50] [--stalled 50] [--json FILE]
//
// Environment: TRACEMAP_BIN / TRACEMAP_BUILD as for the client tests.

import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TracemapServer, makeBatch, jaegerSpanIds, httpRequest, sleep } from '../clients/lib/server.mjs';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.OVERLOAD_SECONDS || '30' },
    idle: { type: 'string', default: '1000' },
    slow: { type: 'string', default: '50' },
    stalled: { type: 'string', default: '50' },
    'tiny-connections': { type: 'string', default: '4' },
    'unknown-connections': { type: 'string', default: '4' },
    'max-anon-mb': { type: 'string', default: '1024' },
    args: { type: 'string', default: '' },
    json: { type: 'string' },
  },
});
const SECONDS = Number(opt.seconds);
const log = (...a) => process.stdout.write(`# ${a.join(' ')}\n`);

function memory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [])[1] || 0);
    return { rssMB: kb('VmRSS') / 1024, anonMB: kb('RssAnon') / 1024, threads: kb('Threads') };
  } catch {
    return null;
  }
}

function pct(values, q) {
  if (!values.length) return 0;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
}

/** The well-behaved client: export 5 spans, read them back, list services; one at a time. */
async function wellBehaved(server, seconds, sent) {
  const lat = [];
  let failures = 0;
  const until = Date.now() + seconds * 1000;
  const timed = async (f) => {
    const t0 = process.hrtime.bigint();
    const ok = await f().catch(() => false);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!ok) failures++;
    return ok;
  };
  while (Date.now() < until) {
    const b = makeBatch({ service: 'well-behaved', n: 5 });
    const ok = await timed(async () => {
      const r = await server.postOtlp(b.body, { timeoutMs: 30000 });
      if (r.status === 200) sent.set(b.traceId, b.spanIds);
      return r.status === 200;
    });
    if (ok) await timed(async () => (await server.getJson(`/api/traces/${b.traceId}`, { timeoutMs: 30000 })).status === 200);
    await timed(async () => (await server.getJson('/api/services', { timeoutMs: 30000 })).status === 200);
    await sleep(20);
  }
  return { n: lat.length, failures, p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: pct(lat, 1) };
}

function connect(port) {
  return new Promise((res) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => res(s));
    s.on('error', () => res(null));
    s.setNoDelay(true);
  });
}

/** Hostile clients; each returns {stop() -> stats}. */
async function idleConnections(port, n) {
  const socks = [];
  let closedByServer = 0;
  for (let i = 0; i < n; i++) {
    const s = await connect(port);
    if (!s) break;
    s.on('close', () => { closedByServer++; });
    s.on('error', () => {});
    socks.push(s);
  }
  return { stop: () => { const open = socks.length - closedByServer; for (const s of socks) s.destroy(); return { opened: socks.length, closedByServer, stillOpen: open }; } };
}

async function slowloris(port, n) {
  const head = 'GET /api/services HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
  const socks = [];
  let closedByServer = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const s = await connect(port);
    if (!s) break;
    s.on('close', () => { closedByServer++; });
    s.on('error', () => {});
    socks.push({ s, at: 0 });
  }
  const timer = setInterval(() => {
    for (const x of socks) {
      if (x.s.destroyed || x.at >= head.length) continue;
      x.s.write(head[x.at++]);
      bytes++;
    }
  }, 1000);
  return { stop: () => { clearInterval(timer); for (const x of socks) x.s.destroy(); return { opened: socks.length, closedByServer, bytesSent: bytes }; } };
}

async function stalledBodies(port, n) {
  const socks = [];
  let closedByServer = 0;
  let answered = 0;
  for (let i = 0; i < n; i++) {
    const s = await connect(port);
    if (!s) break;
    s.on('close', () => { closedByServer++; });
    s.on('data', () => { answered++; });
    s.on('error', () => {});
    s.write('POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n' +
      'Content-Length: 1000000\r\n\r\n' + 'x'.repeat(100));
    socks.push(s);
  }
  return { stop: () => { for (const s of socks) s.destroy(); return { opened: socks.length, closedByServer, answered }; } };
}

function flood(url, conns, pathOf, method = 'GET', body = null) {
  let stopped = false;
  const counts = {};
  let n = 0;
  let errors = 0;
  const worker = async (w) => {
    for (let i = 0; !stopped; i++) {
      try {
        const r = await httpRequest(method, url + pathOf(w, i), { body, timeoutMs: 30000,
          headers: body ? { 'Content-Type': 'application/x-protobuf' } : {} });
        counts[r.status] = (counts[r.status] || 0) + 1;
        n++;
      } catch {
        errors++;
        await sleep(10);
      }
    }
  };
  const all = Array.from({ length: conns }, (_, w) => worker(w));
  return { stop: async () => { stopped = true; await Promise.all(all); return { requests: n, errors, statuses: counts }; } };
}

async function main() {
  const extra = opt.args ? opt.args.split(/\s+/) : [];
  const server = new TracemapServer({ args: extra });
  const report = { seconds: SECONDS };
  const sent = new Map();
  let failed = false;
  try {
    await server.start();
    const pid = server.proc.pid;
    report.memoryStart = memory(pid);
    report.alone = await wellBehaved(server, Math.max(5, SECONDS / 3), sent);
    log(`alone: ${report.alone.n} requests, p50 ${report.alone.p50.toFixed(1)} ms, p99 ${report.alone.p99.toFixed(1)} ms, max ${report.alone.max.toFixed(1)} ms`);

    const tinyBody = makeBatch({ service: 'tiny', n: 1 }).body;
    const attackers = {
      idle: await idleConnections(server.port, Number(opt.idle)),
      slowloris: await slowloris(server.port, Number(opt.slow)),
      stalled: await stalledBodies(server.port, Number(opt.stalled)),
      tiny: flood(server.url, Number(opt['tiny-connections']), () => '/v1/traces', 'POST', tinyBody),
      unknown: flood(server.url, Number(opt['unknown-connections']), (w, i) => `/no/such/path/${w}/${i}?q=${i}`),
    };
    let peak = memory(pid);
    const sampler = setInterval(() => {
      const m = memory(pid);
      if (m && (!peak || m.anonMB > peak.anonMB)) peak = m;
    }, 250);
    report.underAttack = await wellBehaved(server, SECONDS, sent);
    clearInterval(sampler);
    report.memoryPeak = peak;
    report.attackers = {};
    for (const [k, a] of Object.entries(attackers)) report.attackers[k] = await a.stop();
    log(`under attack: ${report.underAttack.n} requests, ${report.underAttack.failures} failed, p50 ${report.underAttack.p50.toFixed(1)} ms, ` +
      `p99 ${report.underAttack.p99.toFixed(1)} ms, max ${report.underAttack.max.toFixed(1)} ms ` +
      `(p99 ${(report.underAttack.p99 / Math.max(report.alone.p99, 0.001)).toFixed(1)}x alone)`);
    for (const [k, v] of Object.entries(report.attackers)) log(`${k}: ${JSON.stringify(v)}`);
    await sleep(2000);
    report.memoryEnd = memory(pid);
    log(`memory (MB): start ${JSON.stringify(report.memoryStart)}, peak ${JSON.stringify(report.memoryPeak)}, end ${JSON.stringify(report.memoryEnd)}`);
    if (report.alone.failures || report.underAttack.failures) {
      failed = true;
      log('a well-behaved request failed');
    }
    if (!server.running) {
      failed = true;
      log('the server died');
    }
    if ((report.memoryPeak?.anonMB ?? 0) > Number(opt['max-anon-mb'])) {
      failed = true;
      log(`anonymous memory peaked at ${report.memoryPeak.anonMB.toFixed(0)} MB, above ${opt['max-anon-mb']}`);
    }
    // every acknowledged well-behaved span is there
    let missing = 0;
    for (const [traceId, spanIds] of sent) {
      const r = await server.getJson(`/api/traces/${traceId}`, { timeoutMs: 30000 });
      const got = r.status === 200 ? new Set(jaegerSpanIds(r.json)) : new Set();
      missing += spanIds.filter((s) => !got.has(s)).length;
    }
    report.verifiedTraces = sent.size;
    report.missingSpans = missing;
    if (missing) failed = true;
    log(`verified ${sent.size} acknowledged traces, ${missing} spans missing`);
    const stopped = await server.stop({ timeoutMs: 60000 });
    if (stopped.code !== 0) {
      failed = true;
      log(`server exit ${JSON.stringify(stopped)}`);
    }
    const c = await server.check();
    report.check = c.counts;
    if (c.code !== 0) {
      failed = true;
      log(`tracemap check failed:\n${c.stdout}`);
    }
  } catch (err) {
    failed = true;
    log(`error: ${err.stack || err}`);
    log(server.logTail(3000));
  } finally {
    await server.close().catch(() => {});
  }
  if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2));
  process.stdout.write(failed ? 'not ok - overload\n' : 'ok - overload\n');
  process.exit(failed ? 1 : 0);
}

main();
