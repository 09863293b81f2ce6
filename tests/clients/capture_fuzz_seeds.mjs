// Seeds for the fuzz targets from what the real OpenTelemetry JS SDK sends,
// where tests/data has no capture yet: the reference trace of
// capture_payload.mjs (fixed ids, times and stacks) exported
//   - as OTLP/JSON by @opentelemetry/exporter-trace-otlp-http
//       -> tests/fuzz/corpus/otlp_json/sdk_trace.json
//   - as gzip-compressed protobuf by @opentelemetry/exporter-trace-otlp-proto
//       -> tests/fuzz/corpus/gzip/sdk_trace_{whole,chunk64}.bin
//          (fuzz_gzip's first byte picks the chunk size: 0 = one piece)
//
//   node tests/clients/capture_fuzz_seeds.mjs

import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { buildTrace, startCaptureServer, FIXED_T0_NS } from './capture_payload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CORPUS = resolve(HERE, '..', 'fuzz', 'corpus');

async function capture(opts) {
  const cap = await startCaptureServer();
  try {
    await buildTrace({ url: `${cap.url}/v1/traces`, seed: 1, t0Ns: FIXED_T0_NS, fixedStacks: true, ...opts });
  } finally {
    await cap.close();
  }
  assert.equal(cap.requests.length, 1, 'one export request');
  return cap.requests[0];
}

const json = await capture({ encoding: 'json' });
assert.match(json.headers['content-type'], /^application\/json/);
JSON.parse(json.body.toString('utf8'));
writeFileSync(resolve(CORPUS, 'otlp_json', 'sdk_trace.json'), json.body);

const gz = await capture({ compression: 'gzip' });
assert.equal(gz.headers['content-encoding'], 'gzip');
writeFileSync(resolve(CORPUS, 'gzip', 'sdk_trace_whole.bin'), Buffer.concat([Buffer.from([0]), gz.body]));
writeFileSync(resolve(CORPUS, 'gzip', 'sdk_trace_chunk64.bin'), Buffer.concat([Buffer.from([64]), gz.body]));
console.log(`otlp_json/sdk_trace.json ${json.body.length} bytes; gzip/sdk_trace_*.bin ${gz.body.length} bytes`);
