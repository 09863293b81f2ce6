#!/usr/bin/env node
// Crash campaign (docs/reliability.md): the load generator sends spans while
// the server is killed with SIGKILL at random moments, again and again, and
// restarted on the same store each time; then:
//   - the store opens and `tracemap check` finds no inconsistency (also
//     every CHECK_EVERY kills, while the server is down);
//   - every span that got a 2xx is present exactly once (Jaeger API);
//   - every trace's summary (Zipkin's and the slow-trace list's span count,
//     start and duration) agrees with its spans.
// Kills also land during retention (a preload of traces is stored, then
// the store's clock moves 8 days on, so --retention 7d deletes all of it in
// the background while the kills begin; at the end none of it may be left)
// and during bursts of queries.
//
//   node tests/reliability/crash_campaign.mjs [--kills 50] [--min-ms 100]
//        [--max-ms 1500] [--rate SPANS_PER_S] [--seed N] [--json FILE]
//
// Environment: TRACEMAP_BIN / TRACEMAP_BUILD as for the client tests
// (loadgen is $TRACEMAP_BUILD/bench/loadgen). Exits 0 when everything held.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TracemapServer, TRACEMAP_BUILD, runCheck, sleep, tracemapBin } from '../clients/lib/server.mjs';
import { makeRng } from '../clients/lib/rng.mjs';

const { values: opt } = parseArgs({
  options: {
    kills: { type: 'string', default: process.env.CRASH_KILLS || '50' },
    'min-ms': { type: 'string', default: '100' },
    'max-ms': { type: 'string', default: '1500' },
    rate: { type: 'string', default: process.env.CRASH_RATE || '0' },
    preload: { type: 'string', default: process.env.CRASH_PRELOAD || '200000' },
    seed: { type: 'string', default: String((Date.now() ^ (process.pid << 10)) >>> 0) },
    json: { type: 'string' },
    'check-every': { type: 'string', default: '10' },
  },
});
const KILLS = Number(opt.kills);
const MIN_MS = Number(opt['min-ms']);
const MAX_MS = Number(opt['max-ms']);
const SEED = Number(opt.seed) >>> 0;
const R = makeRng(SEED);
const LOADGEN = join(TRACEMAP_BUILD, 'bench', 'loadgen');
const log = (...a) => process.stdout.write(`# ${a.join(' ')}\n`);

if (!existsSync(LOADGEN)) {
  process.stderr.write(`crash_campaign: no loadgen at ${LOADGEN} (build the project first)\n`);
  process.exit(2);
}

/** Runs loadgen; resolves {code, stdout}. `stop()` sends SIGTERM (it then writes its ids and exits). */
function loadgen(args) {
  const p = spawn(LOADGEN, ['--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (c) => { out += c; });
  p.stderr.on('data', (c) => { err += c; });
  const done = new Promise((res) => p.on('exit', (code, signal) => res({ code, signal, stdout: out, stderr: err })));
  return { done, stop: () => p.kill('SIGTERM') };
}

function stat(stdout, name) {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(stdout);
  return m ? Number(m[1]) : 0;
}

/** Queries of every kind, as fast as answered, until stopped. */
function queryBurst(server, traceIds) {
  let stopped = false;
  let n = 0;
  let errors = 0;
  const paths = () => {
    const id = traceIds.length ? traceIds[R.int(0, traceIds.length - 1)] : '0'.repeat(32);
    return [`/api/traces/${id}`, '/api/services', '/api/traces?service=frontend&limit=20&lookback=1h',
      '/api/slow-traces?limit=10', '/api/servicemap', '/api/v2/traces?serviceName=frontend&limit=10',
      `/api/traces/${id}/critical-path`, '/api/dependencies', '/'];
  };
  const worker = async () => {
    while (!stopped) {
      const ps = paths();
      try {
        await server.request('GET', ps[R.int(0, ps.length - 1)], { timeoutMs: 5000 });
        n++;
      } catch {
        errors++; // the server was killed under it: expected
        await sleep(20);
      }
    }
  };
  const workers = [worker(), worker(), worker()];
  return { stop: async () => { stopped = true; await Promise.all(workers); return { n, errors }; } };
}

async function verifyAcked(server, acked) {
  let traces = 0;
  let spans = 0;
  const problems = [];
  const ids = [...acked.keys()];
  const one = async (traceId) => {
    const r = await server.getJson(`/api/traces/${traceId}`, { timeoutMs: 60000 });
    if (r.status !== 200) {
      problems.push(`trace ${traceId}: GET answered ${r.status}`);
      return;
    }
    const count = new Map();
    for (const s of r.json.data[0].spans) count.set(s.spanID, (count.get(s.spanID) || 0) + 1);
    for (const spanId of acked.get(traceId)) {
      const c = count.get(spanId) || 0;
      if (c !== 1) problems.push(`trace ${traceId} span ${spanId}: present ${c} times`);
      spans++;
    }
    traces++;
  };
  for (let i = 0; i < ids.length; i += 16) await Promise.all(ids.slice(i, i + 16).map(one));
  return { traces, spans, problems };
}

/** Zipkin's trace list and the slow-trace summaries of a sample of traces agree with their spans. */
async function verifySummaries(server, acked) {
  const problems = [];
  const ids = [...acked.keys()];
  const sample = ids.length <= 200 ? ids : Array.from({ length: 200 }, () => ids[R.int(0, ids.length - 1)]);
  for (const id of sample) {
    const r = await server.getJson(`/api/v2/trace/${id}`, { timeoutMs: 60000 });
    if (r.status !== 200) {
      problems.push(`trace ${id}: zipkin GET answered ${r.status}`);
      continue;
    }
    const spans = r.json;
    const start = Math.min(...spans.map((s) => s.timestamp));
    const end = Math.max(...spans.map((s) => s.timestamp + (s.duration || 0)));
    const slow = await server.getJson(
      `/api/slow-traces?start=${start}&end=${start}&limit=1000`, { timeoutMs: 60000 });
    const row = slow.json?.data?.find((x) => x.traceID === id);
    if (!row) {
      problems.push(`trace ${id}: not among the slow traces starting at its own start`);
      continue;
    }
    const jaeger = await server.getJson(`/api/traces/${id}`, { timeoutMs: 60000 });
    const n = jaeger.json.data[0].spans.length;
    if (row.spanCount !== n || row.startTime !== start || Math.abs(row.duration - (end - start)) > 1)
      problems.push(`trace ${id}: summary ${JSON.stringify(row)} vs spans n=${n} start=${start} dur=${end - start}`);
  }
  return { checked: sample.length, problems };
}

function readIds(file, into) {
  if (!existsSync(file)) return 0;
  let n = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [t, s] = line.trim().split(/\s+/);
    if (!s) continue;
    if (!into.has(t)) into.set(t, []);
    into.get(t).push(s);
    n++;
  }
  return n;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'tracemap-crash-'));
  const dataDir = join(work, 'data');
  // retention by age where the binary has it (docs/reliability.md)
  const help = execFileSync(tracemapBin(), ['--help'], { encoding: 'utf8' });
  const clockFile = join(work, 'clock');
  const retention = /--clock-offset-file/.test(help)
    ? ['--retention', '7d', '--clock-offset-file', clockFile] : [];
  const server = new TracemapServer({ dataDir, args: ['--sync', 'full', ...retention] });
  const report = { seed: SEED, kills: 0, checks: 0, ackedSpans: 0, preloadSpans: 0, queries: 0, cycles: [] };
  const acked = new Map();
  let failed = false;
  log(`crash campaign: seed ${SEED}, ${KILLS} kills, ${MIN_MS}-${MAX_MS} ms apart, work ${work}`);
  try {
    // traces over the last 10 days: retention (7d) deletes the older 30%
    // in the background while the kills below begin
    await server.start();
    const preloaded = new Map();
    if (Number(opt.preload) > 0) {
      const preIds = join(work, 'ids-preload.txt');
      const pre = loadgen(['--url', server.url, '--spans', opt.preload, '--seed', String(SEED),
        '--connections', '4', '--spans-per-batch', '256', '--ids-out', preIds]);
      const r = await pre.done;
      report.preloadSpans = stat(r.stdout, 'spans_acked');
      readIds(preIds, preloaded);
      if (retention.length) {
        // all of it is now past 7d.  A running server reads the file each
        // second, and a start reads it before its first commit: restart, so
        // that no span of the campaign is stamped with the old clock (it
        // would be 8 days old, and rightly deleted)
        writeFileSync(clockFile, '8d\n');
        await server.stop();
      }
      log(`preload: ${report.preloadSpans} spans in ${preloaded.size} traces` +
        (retention.length ? ', then the clock moved 8 days on: retention deletes them during the kills' : ''));
    }
    for (let k = 1; k <= KILLS; k++) {
      if (!server.running) await server.start();
      const idsFile = join(work, `ids-${k}.txt`);
      const args = ['--url', server.url, '--duration', '60', '--seed', String(SEED + k),
        '--ids-out', idsFile, '--connections', '4', '--spans-per-batch', String(R.int(16, 256))];
      if (Number(opt.rate) > 0) args.push('--rate', opt.rate);
      const lg = loadgen(args);
      const withQueries = k % 3 === 0;
      const burst = withQueries ? queryBurst(server, [...acked.keys()]) : null;
      const ms = R.int(MIN_MS, MAX_MS);
      await sleep(ms);
      await server.kill('SIGKILL');
      report.kills++;
      lg.stop();
      await lg.done;
      const q = burst ? await burst.stop() : { n: 0 };
      report.queries += q.n;
      const n = readIds(idsFile, acked);
      report.ackedSpans += n;
      report.cycles.push({ k, ms, acked: n, queries: q.n });
      if (k % Number(opt['check-every']) === 0 || k === KILLS) {
        const c = await runCheck(dataDir, { timeoutMs: 600000 });
        report.checks++;
        if (c.code !== 0) {
          failed = true;
          log(`tracemap check after kill ${k} failed (${c.code}):\n${c.stdout}\n${c.stderr}`);
          break;
        }
        log(`kill ${k}: check ok (${c.counts.traces} traces, ${c.counts.spans} spans); acked so far ${report.ackedSpans}`);
      }
    }
    await server.start();
    if (retention.length && preloaded.size) {
      // retention finishes by itself; then no preloaded trace is left
      const ids = [...preloaded.keys()];
      const sample = ids.length <= 300 ? ids : Array.from({ length: 300 }, () => ids[R.int(0, ids.length - 1)]);
      let left = sample.length;
      for (let tries = 0; tries < 120 && left; tries++) {
        left = 0;
        for (const id of sample) if ((await server.getJson(`/api/traces/${id}`)).status !== 404) left++;
        if (left) await sleep(1000);
      }
      report.preloadLeftOfSample = left;
      report.preloadSampled = sample.length;
      log(`retention: ${left} of ${sample.length} sampled preloaded traces left`);
      if (left) failed = true;
    }
    const v = await verifyAcked(server, acked);
    const s = await verifySummaries(server, acked);
    report.verifiedTraces = v.traces;
    report.verifiedSpans = v.spans;
    report.summariesChecked = s.checked;
    report.problems = [...v.problems, ...s.problems].slice(0, 50);
    report.problemCount = v.problems.length + s.problems.length;
    if (report.problemCount) failed = true;
    await server.stop();
    const c = await runCheck(dataDir, { timeoutMs: 600000 });
    report.finalCheck = c.counts;
    if (c.code !== 0) {
      failed = true;
      log(`final tracemap check failed:\n${c.stdout}\n${c.stderr}`);
    }
  } catch (err) {
    failed = true;
    log(`error: ${err.stack || err}`);
    log(server.logTail(3000));
  } finally {
    if (server.running) await server.kill('SIGKILL');
    if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
  }
  log(`kills ${report.kills}, checks ${report.checks}, acked spans ${report.ackedSpans} ` +
    `(+${report.preloadSpans} preloaded), verified ${report.verifiedSpans ?? 0} spans in ` +
    `${report.verifiedTraces ?? 0} traces, summaries ${report.summariesChecked ?? 0}, ` +
    `queries during kills ${report.queries}, problems ${report.problemCount ?? 'n/a'}`);
  for (const p of report.problems || []) log(`problem: ${p}`);
  if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2));
  process.stdout.write(failed ? 'not ok - crash campaign\n' : 'ok - crash campaign\n');
  process.exit(failed ? 1 : 0);
}

main();
