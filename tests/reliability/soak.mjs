#!/usr/bin/env node
// Soak (docs/reliability.md): measure the ingest capacity of this machine,
// then hold 70% of it for a long time while a user keeps querying, and
// report every interval: ingest spans/s and request latency (p50, p99),
// query latency (p50, p99), and the server's RSS. Flat curves are the goal;
// this script prints them and the drift (last third over first third) and
// fails only on lost or refused data, a crashed server or a bad store:
// speed is for people to read, not for assertions.
//
//   node tests/reliability/soak.mjs [--minutes 30] [--every 60]
//        [--capacity-seconds 20] [--load 0.7] [--json FILE]
//
// Environment: TRACEMAP_BIN / TRACEMAP_BUILD as for the client tests.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TracemapServer, TRACEMAP_BUILD, runCheck, sleep } from '../clients/lib/server.mjs';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES || '30' },
    every: { type: 'string', default: process.env.SOAK_EVERY || '60' },
    'capacity-seconds': { type: 'string', default: process.env.SOAK_CAPACITY_SECONDS || '20' },
    load: { type: 'string', default: '0.7' },
    // e.g. --server-args=--max-size=4G: a store on a fixed budget, as one
    // runs for months; --prefill-seconds then fills it first, so that the
    // capacity is measured with eviction under way
    'server-args': { type: 'string', default: '' },
    'prefill-seconds': { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});
const SECONDS = Math.round(Number(opt.minutes) * 60);
const EVERY = Number(opt.every);
const LOADGEN = join(TRACEMAP_BUILD, 'bench', 'loadgen');
const log = (...a) => process.stdout.write(`# ${a.join(' ')}\n`);

function loadgen(args, onLine) {
  const p = spawn(LOADGEN, ['--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let partial = '';
  p.stdout.on('data', (c) => {
    out += c;
    partial += c;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      if (onLine) onLine(line);
    }
  });
  p.stderr.on('data', (c) => { err += c; });
  return new Promise((res) => p.on('exit', (code) => res({ code, stdout: out, stderr: err })));
}

const num = (text, name) => Number((new RegExp(`^${name} ([\\d.]+)`, 'm').exec(text) || [])[1] || 0);

function pct(values, q) {
  if (!values.length) return 0;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
}

/** One user querying, one request at a time; latencies collected per interval. */
function user(server) {
  let stopped = false;
  let lat = [];
  let errors = 0;
  const paths = ['/api/services', '/api/traces?service=frontend&limit=20&lookback=15m',
    '/api/slow-traces?limit=20', '/api/servicemap', '/api/v2/traces?serviceName=checkout&limit=10&lookback=900000',
    '/api/dependencies?lookback=3600000'];
  let i = 0;
  const loop = (async () => {
    while (!stopped) {
      const t0 = process.hrtime.bigint();
      const r = await server.request('GET', paths[i++ % paths.length], { timeoutMs: 30000 }).catch(() => null);
      if (!r || r.status !== 200) {
        if (errors++ < 5) log(`query ${paths[(i - 1) % paths.length]}: ${r ? `${r.status} ${r.body.toString('utf8').slice(0, 200)}` : 'no answer'}`);
      }
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(100);
    }
  })();
  return {
    take: () => { const l = lat; lat = []; return l; },
    errors: () => errors,
    stop: async () => { stopped = true; await loop; },
  };
}

async function main() {
  if (!existsSync(LOADGEN)) throw new Error(`no loadgen at ${LOADGEN}`);
  const work = mkdtempSync(join(tmpdir(), 'tracemap-soak-'));
  const serverArgs = opt['server-args'] ? opt['server-args'].split(/\s+/) : [];
  const server = new TracemapServer({ dataDir: join(work, 'data'), args: serverArgs });
  const report = { seconds: SECONDS, every: EVERY, intervals: [] };
  let failed = false;
  try {
    await server.start();
    const pid = server.proc.pid;
    if (Number(opt['prefill-seconds']) > 0) {
      const pre = await loadgen(['--url', server.url, '--duration', opt['prefill-seconds'], '--connections', '8']);
      report.prefilled = num(pre.stdout, 'spans_acked');
      log(`prefill: ${report.prefilled} spans in ${opt['prefill-seconds']} s`);
    }
    const cap = await loadgen(['--url', server.url, '--duration', opt['capacity-seconds'], '--connections', '8']);
    if (cap.code !== 0) throw new Error(`capacity run failed: ${cap.stderr.slice(-1000)}`);
    report.capacity = num(cap.stdout, 'spans_per_s') || num(cap.stdout, 'spans_acked') / Number(opt['capacity-seconds']);
    const rate = Math.round(report.capacity * Number(opt.load));
    report.rate = rate;
    log(`capacity ${Math.round(report.capacity)} spans/s; soaking at ${rate} spans/s for ${SECONDS} s, a line every ${EVERY} s`);
    log('   t_s  ingest/s  ingest_p50  ingest_p99  query_p50  query_p99   rss_MB  anon_MB');
    const u = user(server);
    const run = await loadgen(['--url', server.url, '--duration', String(SECONDS), '--connections', '8',
      '--rate', String(rate), '--report-every', String(EVERY), '--server-pid', String(pid)], (line) => {
      if (!line.startsWith('interval ')) return;
      const f = Object.fromEntries(line.split(' ').slice(1).reduce((acc, x, i, a) =>
        (i % 2 === 0 ? [...acc, [x, Number(a[i + 1])]] : acc), []));
      const q = u.take();
      const row = { t: f.t_s, spansPerS: f.spans_per_s, ingestP50: f.p50_ms, ingestP99: f.p99_ms,
        queryP50: pct(q, 0.5), queryP99: pct(q, 0.99), queries: q.length, rssMB: f.rss_kb / 1024,
        anonMB: f.anon_kb / 1024 };
      report.intervals.push(row);
      log(`${String(row.t).padStart(6)} ${String(Math.round(row.spansPerS)).padStart(9)} ` +
        `${row.ingestP50.toFixed(1).padStart(11)} ${row.ingestP99.toFixed(1).padStart(11)} ` +
        `${row.queryP50.toFixed(1).padStart(10)} ${row.queryP99.toFixed(1).padStart(10)} ${row.rssMB.toFixed(0).padStart(8)} ${row.anonMB.toFixed(0).padStart(8)}`);
    });
    await u.stop();
    report.acked = num(run.stdout, 'spans_acked');
    report.failedRequests = num(run.stdout, 'requests_failed');
    report.queryErrors = u.errors();
    if (run.code !== 0 || report.failedRequests) {
      failed = true;
      log(`loadgen failed (${run.code}): ${run.stderr.slice(-1000)}`);
    }
    if (report.queryErrors) {
      failed = true;
      log(`${report.queryErrors} queries failed`);
    }
    const n = report.intervals.length;
    if (n >= 3) {
      const third = Math.max(1, Math.floor(n / 3));
      const mean = (a, k) => a.reduce((s, x) => s + x[k], 0) / a.length;
      const first = report.intervals.slice(0, third);
      const last = report.intervals.slice(n - third);
      report.drift = Object.fromEntries(['rssMB', 'anonMB', 'ingestP99', 'queryP99'].map((k) =>
        [k, +(mean(last, k) / Math.max(mean(first, k), 1e-9)).toFixed(2)]));
      log(`drift, last third over first third: RSS ${report.drift.rssMB}x (anonymous ${report.drift.anonMB}x), ingest p99 ${report.drift.ingestP99}x, query p99 ${report.drift.queryP99}x`);
    }
    const stopped = await server.stop({ timeoutMs: 120000 });
    if (stopped.code !== 0) {
      failed = true;
      log(`server exit ${JSON.stringify(stopped)}`);
    }
    const c = await runCheck(server.dataDir, { timeoutMs: 600000 });
    report.check = c.counts;
    // with a size bound the oldest traces are deleted: only the check counts
    const bounded = serverArgs.some((x) => x.startsWith('--max-size'));
    if (c.code !== 0 || (!bounded && c.counts.spans < report.acked)) {
      failed = true;
      log(`tracemap check: code ${c.code}, ${c.counts.spans} spans stored, ${report.acked} acknowledged\n${c.stdout}`);
    } else {
      log(`tracemap check ok: ${c.counts.spans} spans stored, ${report.acked} acknowledged in the soak` +
        (bounded ? ' (the store is bounded: the oldest were deleted)' : ''));
    }
  } catch (err) {
    failed = true;
    log(`error: ${err.stack || err}`);
    log(server.logTail(3000));
  } finally {
    if (server.running) await server.kill('SIGKILL');
    if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
  }
  if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2));
  process.stdout.write(failed ? 'not ok - soak\n' : 'ok - soak\n');
  process.exit(failed ? 1 : 0);
}

main();
