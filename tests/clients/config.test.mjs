// Configuration: flag over environment over file over default, with the real
// binary.  --print-config is read back for every combination of sources; a
// running server is shown to obey the same order (--max-body decides whether
// a 3 KB batch is taken); bad values from each source are one line naming
// the option as it was given, and the range.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, tracemapBin, makeBatch, REPO_DIR } from './lib/server.mjs';

const work = mkdtempSync(join(tmpdir(), 'tracemap-config-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** the environment without any TRACEMAP_* option the runner may carry, plus env */
function cleanEnv(env = {}) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TRACEMAP_')) out[k] = v;
  return { ...out, ...env };
}

function run(args, env = {}) {
  return new Promise((resolveRun) => {
    execFile(tracemapBin(), args, { env: cleanEnv(env), timeout: 20000 }, (err, stdout, stderr) => {
      resolveRun({ code: err ? err.code : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** --print-config as Map name -> {source, value} */
async function printConfig(args, env) {
  const r = await run([...args, '--print-config'], env);
  assert.equal(r.code, 0, `--print-config exit ${r.code}: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
  const m = new Map();
  for (const line of lines) {
    const g = /^(\S+)\s+(default|file|env|flag)(?:\s+(.*))?$/.exec(line);
    assert.ok(g, `a --print-config line is "name source value": ${JSON.stringify(line)}`);
    m.set(g[1], { source: g[2], value: (g[3] ?? '').trimEnd() });
  }
  return m;
}

function conf(name, text) {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

test('print-config: every source in every combination, highest wins', async () => {
  const file = conf('all.conf', '# tracemap\nthreads = 3\npair-wait = 20s\nmax-body = 2M\n' +
    'log-level = warn\nlisten = 127.0.0.1:7001, 127.0.0.1:7002\n');
  // option -> value in [file, env, flag]; each combination of sources is tried
  const options = {
    threads: { file: '3', env: '5', flag: '7' },
    'pair-wait': { file: '20s', env: '30s', flag: '40s' },
    'max-body': { file: '2M', env: '3M', flag: '4M' },
    'log-level': { file: 'warn', env: 'error', flag: 'debug' },
    listen: { file: '127.0.0.1:7001,127.0.0.1:7002', env: '127.0.0.1:7003', flag: '127.0.0.1:7004' },
  };
  const defaults = await printConfig([], {});
  for (const useFile of [false, true]) {
    for (const useEnv of [false, true]) {
      for (const useFlag of [false, true]) {
        const args = useFile ? ['--config', file] : [];
        const env = {};
        for (const [name, v] of Object.entries(options)) {
          if (useEnv) env[`TRACEMAP_${name.toUpperCase().replace(/-/g, '_')}`] = v.env;
          if (useFlag) args.push(`--${name}`, v.flag);
        }
        const got = await printConfig(args, env);
        const label = `file=${useFile} env=${useEnv} flag=${useFlag}`;
        for (const [name, v] of Object.entries(options)) {
          const want = useFlag ? { source: 'flag', value: v.flag }
            : useEnv ? { source: 'env', value: v.env }
              : useFile ? { source: 'file', value: v.file }
                : defaults.get(name);
          assert.deepEqual(got.get(name), want, `${label}: ${name}`);
        }
        // options no source named keep their defaults
        assert.deepEqual(got.get('queue-bytes'), { source: 'default', value: '256M' }, label);
        assert.deepEqual(got.get('config'), useFile ? { source: 'flag', value: file }
          : { source: 'default', value: '' }, label);
      }
    }
  }
  assert.deepEqual(defaults.get('pair-wait'), { source: 'default', value: '10s' });
  assert.deepEqual(defaults.get('listen'), { source: 'default', value: '127.0.0.1:4318' });
  // TRACEMAP_CONFIG names the file when no flag does
  const viaEnv = await printConfig([], { TRACEMAP_CONFIG: file });
  assert.deepEqual(viaEnv.get('threads'), { source: 'file', value: '3' });
  assert.deepEqual(viaEnv.get('config'), { source: 'env', value: file });
});

test('print-config and --help list every option of the table; the sample loads as defaults', async () => {
  const all = await printConfig([], {});
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const name of all.keys()) assert.match(help.stdout, new RegExp(`--${name}\\b`), name);
  assert.ok(all.size >= 30, `only ${all.size} options printed`);
  const sample = join(REPO_DIR, 'docs', 'tracemap.conf.sample');
  const viaSample = await printConfig(['--config', sample], {});
  for (const [name, v] of viaSample) {
    if (name === 'config') continue;
    assert.deepEqual(v, all.get(name), `${name}: every line of the sample is commented out`);
  }
  const made = await run(['--sample-config']);
  assert.equal(made.code, 0);
  for (const name of all.keys()) {
    if (name !== 'config') assert.match(made.stdout, new RegExp(`^#${name} = `, 'm'), name);
  }
});

test('a running server obeys the same order: file, then environment, then flag', async () => {
  const body = makeBatch({ n: 12, attributes: { pad: 'x'.repeat(200) } }).body;
  assert.ok(body.length > 2048 && body.length < 8192, `batch of ${body.length} bytes`);
  const file = conf('small.conf', 'max-body = 2K\n');
  const saved = { ...process.env };
  const cases = [
    { label: 'file 2K', env: {}, args: [], want: 413 },
    { label: 'env 8K over file 2K', env: { TRACEMAP_MAX_BODY: '8K' }, args: [], want: 200 },
    { label: 'flag 2K over env 8K', env: { TRACEMAP_MAX_BODY: '8K' }, args: ['--max-body', '2K'], want: 413 },
    { label: 'flag 8K over file 2K', env: {}, args: ['--max-body=8K'], want: 200 },
  ];
  for (const c of cases) {
    delete process.env.TRACEMAP_MAX_BODY;
    Object.assign(process.env, c.env);   // the server process inherits it
    let server;
    try {
      server = await startServer({ args: ['--config', file, ...c.args] });
      const r = await server.postOtlp(body);
      assert.equal(r.status, c.want, `${c.label}: POST of ${body.length} bytes`);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await server?.close();
    }
  }
});

test('bad values: one line naming the option as given and the range, exit 2', async () => {
  const threads = conf('threads.conf', '# ok\n\nthreads = 0\n');
  const unknown = conf('unknown.conf', 'data = d\nthread = 2\n');
  const cases = [
    { args: ['--threads', '0'], want: 'tracemap: --threads 0: must be a whole number from 1 to 256' },
    { args: ['--threads=999'], want: 'tracemap: --threads 999: must be a whole number from 1 to 256' },
    { args: [], env: { TRACEMAP_THREADS: '0' },
      want: 'tracemap: TRACEMAP_THREADS=0: must be a whole number from 1 to 256' },
    { args: ['--config', threads],
      want: `tracemap: ${threads}:3: threads = 0: must be a whole number from 1 to 256` },
    { args: ['--config', unknown], want: `tracemap: ${unknown}:2: unknown option "thread"` },
    { args: [], env: { TRACEMAP_PAIR_WAIT: '5h' },
      want: 'tracemap: TRACEMAP_PAIR_WAIT=5h: must be a duration from 100ms to 1h' },
    { args: ['--queue-bytes', '1K'], want: 'tracemap: --queue-bytes 1K: must be a size from 1M to 1024G' },
    { args: ['--log-level', 'loud'],
      want: 'tracemap: --log-level loud: must be one of debug|info|warn|error' },
    { args: [], env: { TRACEMAP_VERBOSE: 'maybe' },
      want: 'tracemap: TRACEMAP_VERBOSE=maybe: must be true or false' },
    { args: ['--config', join(work, 'missing.conf')],
      want: `tracemap: --config ${join(work, 'missing.conf')}: No such file or directory` },
    { args: ['--tls-cert', 'c.pem'], want: 'tracemap: --tls-cert and --tls-key go together' },
  ];
  for (const c of cases) {
    const r = await run(c.args, c.env);
    assert.equal(r.code, 2, `${c.args.join(' ')}: exit ${r.code}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.ok(lines[0].startsWith(c.want), `got ${JSON.stringify(lines[0])}, wanted ${c.want}`);
  }
  // every source is checked: a bad TRACEMAP_* value is reported even when a flag
  // overrides it, rather than surfacing the day the flag is dropped
  const shadowed = await run(['--threads', '2', '--print-config'], { TRACEMAP_THREADS: '0' });
  assert.equal(shadowed.code, 2, 'a bad environment value is an error even when a flag overrides it');
});
