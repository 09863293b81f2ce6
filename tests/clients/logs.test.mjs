// Logs: the access log gets one line per request (time, client, method,
// path with the query's names but not its values, status, bytes, duration),
// SIGHUP reopens it; no span content reaches the log unless
// --log-span-content asks for it, even where a decoder's message quotes the
// refused bytes; --log-level filters; every line has time, level, module.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, tracemapBin, makeBatch, httpRequest, sleep } from './lib/server.mjs';

const work = mkdtempSync(join(tmpdir(), 'tracemap-logs-'));
after(() => rmSync(work, { recursive: true, force: true }));

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\S+) (\d{3}|-) (\d+) (\d+\.\d{3})ms$/;

async function readLines(path, atLeast) {
  for (let i = 0; i < 100; i++) {
    const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length >= atLeast) return lines;
    await sleep(50);
  }
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

const SECRET = 'S3cr3t-Payload-Value';

/** a Zipkin v2 batch: one good span with SECRET in its name and tags, one
 * refused span (no ID) */
function zipkinBatch() {
  const now = Date.now() * 1000;
  return JSON.stringify([
    { traceId: '5af7183fb1d4cf5f', id: '6b221d5bc9e6496c', name: `op-${SECRET}`, timestamp: now,
      duration: 1000, localEndpoint: { serviceName: `svc-${SECRET}` }, tags: { secret: SECRET } },
    { traceId: '5af7183fb1d4cf5f', id: '0000000000000000', name: `bad-${SECRET}`, timestamp: now,
      duration: 5, localEndpoint: { serviceName: 'svc' } },
  ]);
}

/** a Jaeger agent datagram whose method name is SECRET: the decoder's
 * refusal quotes it ("method "..." is not emitBatch") */
function jaegerDatagram() {
  const name = Buffer.from(SECRET);
  const b = Buffer.alloc(4 + 4 + name.length + 4);
  b.writeUInt32BE(0x80010004, 0);
  b.writeInt32BE(name.length, 4);
  name.copy(b, 8);
  b.writeInt32BE(1, 8 + name.length);
  return b;
}

async function sendDatagram(port, buf) {
  const sock = dgram.createSocket('udp4');
  await new Promise((r, j) => sock.send(buf, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  sock.close();
}

test('access log: one line per request, query values left out, SIGHUP reopens', async () => {
  const path = join(work, 'access.log');
  const server = await startServer({ args: ['--access-log', path] });
  try {
    const batch = makeBatch({ service: 'logs-svc', n: 2 });
    const posted = await server.postOtlp(batch.body);
    assert.equal(posted.status, 200);
    const q = await server.request('GET', `/api/traces?service=${SECRET}&limit=5&x%20y=1`);
    const page = await server.request('GET', '/no/such%0Apath');
    const lines = await readLines(path, 3);
    assert.equal(lines.length, 3, lines.join('\n'));
    const parsed = lines.map((l) => {
      const m = LINE.exec(l);
      assert.ok(m, `access log line: ${JSON.stringify(l)}`);
      return { time: m[1], client: m[2], method: m[3], target: m[4], status: m[5], bytes: Number(m[6]), ms: Number(m[7]) };
    });
    assert.deepEqual(parsed.map((p) => [p.client, p.method, p.target, p.status]), [
      ['127.0.0.1', 'POST', '/v1/traces', '200'],
      ['127.0.0.1', 'GET', '/api/traces?service&limit&x%20y', String(q.status)],
      ['127.0.0.1', 'GET', '/no/such%0Apath', '404'],
    ]);
    assert.deepEqual(parsed.map((p) => p.bytes), [posted.body.length, q.body.length, page.body.length]);
    for (const p of parsed) {
      assert.ok(Math.abs(Date.parse(p.time) - Date.now()) < 60000, p.time);
      assert.ok(p.ms >= 0 && p.ms < 30000, `${p.ms} ms`);
    }
    assert.ok(!readFileSync(path, 'utf8').includes(SECRET), 'query values are not logged');
    // logrotate: move the file, SIGHUP, the next line goes to a new file
    renameSync(path, `${path}.1`);
    server.proc.kill('SIGHUP');
    await sleep(300);
    await server.request('GET', '/api/services');
    const fresh = await readLines(path, 1);
    assert.equal(fresh.length, 1);
    assert.match(fresh[0], / GET \/api\/services 200 /);
    assert.equal(readFileSync(`${path}.1`, 'utf8').split('\n').filter(Boolean).length, 3);
    assert.match(server.logTail(), /info main: SIGHUP: access log reopened/);
  } finally {
    await server.close();
  }
});

test('access log: --access-log-query writes the values, escaped; - is stderr', async () => {
  const server = await startServer({ args: ['--access-log', '-', '--access-log-query'] });
  try {
    await server.request('GET', `/api/traces?service=${SECRET}&tags=a%20b%26c`);
    await sleep(200);
    const line = server.log.split('\n').find((l) => l.includes('GET /api/traces?'));
    assert.ok(line, server.logTail());
    assert.match(line, LINE);
    assert.ok(line.includes(`/api/traces?service=${SECRET}&tags=a%20b%26c `), line);
  } finally {
    await server.close();
  }
});

test('no span content in logs by default; --log-span-content lets it in', async () => {
  for (const withContent of [false, true]) {
    const args = ['--jaeger-udp', '127.0.0.1:0', ...(withContent ? ['--log-span-content'] : [])];
    const server = await startServer({ args });
    try {
      const r = await server.post('/api/v2/spans', zipkinBatch(), { 'Content-Type': 'application/json' });
      assert.equal(r.status, 202, r.body.toString());
      const udpRe = /jaeger udp listening on 127\.0\.0\.1:(\d+)/;
      for (let i = 0; i < 100 && !udpRe.test(server.log); i++) await sleep(20);
      const udpPort = Number(udpRe.exec(server.log)[1]);
      await sendDatagram(udpPort, jaegerDatagram());
      for (let i = 0; i < 50 && !/dropped a datagram/.test(server.log); i++) await sleep(50);
      const log = server.log;
      assert.match(log, /warn ingest: \/api\/v2\/spans: 1 spans rejected: /, 'the HTTP event is logged');
      assert.match(log, /warn udp: .*dropped a datagram of \d+ bytes from 127\.0\.0\.1:\d+: /,
        'the UDP event is logged');
      if (withContent) {
        assert.ok(log.includes(`method "${SECRET}" is not emitBatch`), `--log-span-content:\n${log}`);
      } else {
        assert.ok(!log.includes(SECRET), `span content in the log:\n${log}`);
        assert.match(log, /method "\.\.\." is not emitBatch .*\(quoted parts left out; --log-span-content logs them\)/);
      }
      // every line of the server's log: time, level, module
      for (const l of log.split('\n').filter((x) => x && !x.startsWith('$ '))) {
        assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) [a-z/]+: /, l);
      }
    } finally {
      await server.close();
    }
  }
});

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

test('--log-level warn drops info lines; --verbose is debug', async () => {
  for (const [args, present, absent] of [
    [['--log-level', 'warn'], / warn ingest: /, / info /],
    [['--log-level', 'error'], null, / (info|warn) /],
    [['--verbose', '--log-level', 'error'], / info main: .*listening on/, null],
  ]) {
    const port = await freePort();
    const proc = spawn(tracemapBin(), ['--listen', `127.0.0.1:${port}`, '--data',
      join(work, `data-${port}`), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((r) => proc.on('exit', r));
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try {
        await httpRequest('GET', `http://127.0.0.1:${port}/api/services`, { timeoutMs: 1000 });
        up = true;
      } catch {
        await sleep(50);
      }
    }
    assert.ok(up, `server up: ${out}`);
    await httpRequest('POST', `http://127.0.0.1:${port}/api/v2/spans`,
      { body: zipkinBatch(), headers: { 'Content-Type': 'application/json' } });
    await sleep(200);
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    if (present) assert.match(out, present, `${args}: ${out}`);
    if (absent) assert.doesNotMatch(out, absent, `${args}: ${out}`);
  }
});
