// Extra listeners: --listen given several times (e.g. 4318, 9411, 14268, the
// usual ports of each ecosystem) serves every path on every listener, over
// one store.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeBatch, httpRequest, decodeStatus } from './lib/server.mjs';

let server;
let urls;

before(async () => {
  server = await startServer({ args: ['--listen', '127.0.0.1:0', '--listen', '127.0.0.1:0'] });
  const line = server.logTail().split('\n').find((l) => l.includes('listening on'));
  urls = [...line.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => `http://127.0.0.1:${m[1]}`);
});
after(async () => {
  await server?.close();
});

test('three listeners on three ports, one store', async () => {
  assert.equal(new Set(urls).size, 3, `three distinct ports: ${urls.join(' ')}`);
  const batches = urls.map((_, i) => makeBatch({ service: `via-listener-${i}`, n: 2 }));
  for (let i = 0; i < urls.length; i++) {
    const r = await httpRequest('POST', `${urls[i]}/v1/traces`,
      { body: batches[i].body, headers: { 'Content-Type': 'application/x-protobuf' } });
    assert.equal(r.status, 200, `POST on ${urls[i]}: ${r.status}`);
  }
  // every trace is readable on every listener
  for (const url of urls) {
    for (const b of batches) {
      const r = await httpRequest('GET', `${url}/api/traces/${b.traceId}`);
      assert.equal(r.status, 200, `GET ${b.traceId} on ${url}`);
      const j = JSON.parse(r.body.toString());
      assert.deepEqual(j.data[0].spans.map((s) => s.spanID).sort(), [...b.spanIds].sort());
    }
  }
  // and every path, errors included, behaves the same on each
  for (const url of urls) {
    const r = await httpRequest('POST', `${url}/v1/tracez`,
      { body: Buffer.alloc(0), headers: { 'Content-Type': 'application/x-protobuf' } });
    assert.equal(r.status, 404);
    assert.match(decodeStatus(r.body).message, /no such path/);
  }
});
