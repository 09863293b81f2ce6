// A full store (issue 7): a tiny --max-size with --no-size-eviction. Ingest
// gets 507 + Retry-After once no room is left, queries keep answering, every
// span that got a 2xx is there, and ingest takes spans again by itself once
// retention (its clock moved by the test through --clock-offset-file) has
// deleted old traces. The service map keeps working throughout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  requireNodeModules, startServer, runCheck, sleep, makeBatch, decodeStatus,
} from './lib/server.mjs';

requireNodeModules();

async function storedSpans(server, traceId) {
  const r = await server.getJson(`/api/traces/${traceId}`);
  if (r.status === 404) return [];
  assert.equal(r.status, 200, `GET /api/traces/${traceId}: ${r.text}`);
  return r.json.data[0].spans.map((s) => s.spanID).sort();
}

test('map full: 507 + Retry-After, queries answer, no acknowledged span lost, recovery by retention', { timeout: 180000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'tracemap-full-'));
  const clock = join(work, 'clock');
  writeFileSync(clock, '0s\n');
  const server = await startServer({
    args: ['--max-size', '2M', '--no-size-eviction', '--retention', '1h',
      '--clock-offset-file', clock, '--pair-wait', '100ms'],
  });
  try {
    const acked = [];
    let refused = null;
    // 40-span requests from two services until the store says it is full
    for (let i = 0; i < 2000 && !refused; i++) {
      const b = makeBatch({ service: i % 2 ? 'cart' : 'checkout', n: 40 });
      const r = await server.postOtlp(b.body);
      if (r.status === 200) acked.push(b);
      else refused = r;
    }
    assert.ok(refused, 'the store never filled');
    assert.ok(acked.length > 10, `only ${acked.length} requests fitted`);
    assert.ok([507, 503].includes(refused.status), `status ${refused.status}`);
    assert.match(String(refused.headers['retry-after']), /^[1-9][0-9]*$/, 'Retry-After in seconds');
    assert.match(decodeStatus(refused.body).message, /full/);

    // /readyz says so while ingest is being refused (right after a refusal)
    let ready;
    for (let i = 0; i < 5; i++) {
      await server.postOtlp(makeBatch({ service: 'cart', n: 40 }).body);
      ready = await server.getJson('/readyz');
      if (ready.status === 503) break;
    }
    assert.equal(ready.status, 503, ready.text);
    assert.match(ready.text, /refused/);

    // it stays full: later requests are refused too, and none is half stored
    for (let i = 0; i < 5; i++) {
      const b = makeBatch({ service: 'cart', n: 40 });
      const r = await server.postOtlp(b.body);
      if (r.status === 200) {
        acked.push(b);
        continue;
      }
      assert.equal(r.status, refused.status);
      assert.ok(r.headers['retry-after']);
      assert.deepEqual(await storedSpans(server, b.traceId), [], 'a refused batch left spans');
    }

    // queries answer, and every acknowledged span is there
    const services = await server.getJson('/api/services');
    assert.equal(services.status, 200);
    assert.deepEqual(services.json.data.sort(), ['cart', 'checkout']);
    for (const b of acked) assert.deepEqual(await storedSpans(server, b.traceId), [...b.spanIds].sort());
    const search = await server.getJson('/api/traces?service=cart&lookback=1h&limit=5');
    assert.equal(search.status, 200);
    assert.equal(search.json.data.length, 5);
    await sleep(1500); // the pairer flushes into the full store, and keeps its deltas
    const map = await server.getJson('/api/servicemap?lookback=1h');
    assert.equal(map.status, 200, map.text);

    // room returns by itself: retention's clock passes the hour
    writeFileSync(clock, '2h\n');
    const deadline = Date.now() + 30000;
    let fresh;
    for (;;) {
      fresh = makeBatch({ service: 'cart', n: 40 });
      const r = await server.postOtlp(fresh.body);
      if (r.status === 200) break;
      assert.equal(r.status, refused.status, 'refused for room until there is room');
      assert.ok(Date.now() < deadline, 'ingest did not resume within 30 s of room returning');
      await sleep(250);
    }
    assert.deepEqual(await storedSpans(server, fresh.traceId), [...fresh.spanIds].sort());
    assert.deepEqual(await storedSpans(server, acked[0].traceId), [], 'the old traces were deleted');
    const readyAgain = await server.getJson('/readyz');
    assert.equal(readyAgain.status, 200, readyAgain.text);
    await server.stop();
    const check = await runCheck(server.dataDir);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.counts.problems, 0);
    assert.ok(check.counts.spans >= 40);
    assert.equal(server.unexpectedExits.length, 0);
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
