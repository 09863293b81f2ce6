// Writes the seed corpus of fuzz_http (tests/fuzz/corpus/http/): the requests
// the golden API test makes (the "request" of every tests/data/api_golden
// file), those the real Grafana, Jaeger UI and Zipkin UI send, those of our
// own pages and of tests/clients/bad_input.test.mjs.  regress_* files (inputs
// the fuzzer found) are left alone.
//
//   node tests/fuzz/make_http_corpus.mjs
//
// Format of an input (fuzz_http.c): one byte for the method, the request
// target up to '\n', header lines up to an empty line, then the body.
// Placeholders such as {T1} or {START_US} are filled in by the target when
// it runs (the seeded trace IDs and the seed's window), so the files never
// go stale.

import { readdirSync, readFileSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, 'corpus', 'http');
const GOLDEN = resolve(HERE, '..', 'data', 'api_golden');

const METHOD = { GET: 0, HEAD: 2, POST: 3, PUT: 4, DELETE: 5, OPTIONS: 6, BREW: 7 };
const enc = encodeURIComponent;
const JWIN = 'start={START_US}&end={END_US}';
const ZWIN = 'endTs={END_MS}&lookback={LOOKBACK_MS}';
const V3WIN = 'query.start_time_min={START_RFC3339}&query.start_time_max={END_RFC3339}';

// name -> [method, target, headers (array of "Name: value"), body, server bit]
const seeds = {};

function add(name, method, target, headers = [], body = '', server = 0) {
  seeds[name] = [method, target, headers, body, server];
}

// what the golden test asks (its templates use the same placeholders)
for (const f of readdirSync(GOLDEN).filter((n) => n.endsWith('.json')).sort()) {
  const { request } = JSON.parse(readFileSync(join(GOLDEN, f), 'utf8'));
  const [method, target] = request.split(' ');
  add(`golden_${f.replace(/\.json$/, '')}`, method, target);
}

// Grafana's Jaeger data source
add('grafana_jaeger_services', 'GET', '/api/services');
add('grafana_jaeger_operations', 'GET', '/api/services/frontend/operations');
add('grafana_jaeger_search', 'GET', `/api/traces?service=frontend&operation=${enc('GET /checkout')}&${JWIN}` +
  `&limit=20&lookback=custom&minDuration=100ms&maxDuration=2s&tags=${enc('{"error":"true"}')}`);
add('grafana_jaeger_trace', 'GET', '/api/traces/{T1}');
add('grafana_jaeger_dependencies', 'GET', `/api/dependencies?${ZWIN}`);
// the Jaeger UI
add('jaegerui_operations', 'GET', '/api/operations?service=frontend&spanKind=server');
add('jaegerui_search', 'GET', '/api/traces?end={END_US}&limit=20&lookback=1h&maxDuration&minDuration' +
  `&service=frontend&start={START_US}&tags=${enc('{"http.status_code":"200"}')}`);
add('jaegerui_search_tag_legacy', 'GET', `/api/traces?service=checkout&${JWIN}&tag=${enc('http.method:POST')}&tag=error:true`);
add('jaegerui_compare', 'GET', '/api/traces?traceID={T1}&traceID={T2}&traceID={MISSING}');
add('jaegerui_trace_pretty', 'GET', '/api/traces/{T1}?prettyPrint=true');
add('jaegerui_dependencies', 'GET', '/api/dependencies?endTs={END_MS}&lookback=604800000');
add('jaeger_v3_operations', 'GET', '/api/v3/operations?service=checkout&span_kind=server');
add('jaeger_v3_search', 'GET', `/api/v3/traces?query.service_name=frontend&${V3WIN}` +
  '&query.search_depth=20&query.duration_min=1ms&query.duration_max=10s&query.operation_name=GET%20%2Fcheckout');
add('jaeger_v3_trace', 'GET', '/api/v3/traces/{T2}?start_time={START_RFC3339}&end_time={END_RFC3339}');
// the Zipkin UI (Lens) and Grafana's Zipkin data source
add('zipkinui_services', 'GET', '/api/v2/services');
add('zipkinui_remote', 'GET', '/api/v2/remoteServices?serviceName=inventory');
add('zipkinui_spans', 'GET', '/api/v2/spans?serviceName=frontend');
add('zipkinui_search', 'GET', `/api/v2/traces?serviceName=frontend&spanName=${enc('get /stock')}` +
  `&remoteServiceName=inventory&annotationQuery=${enc('http.method=GET and ws')}&minDuration=1000` +
  `&maxDuration=500000&${ZWIN}&limit=10`);
add('zipkinui_trace', 'GET', '/api/v2/trace/{T4}');
add('zipkinui_trace_many', 'GET', '/api/v2/traceMany?traceIds={T4},{T1}');
add('zipkinui_keys', 'GET', '/api/v2/autocompleteKeys');
add('zipkinui_values', 'GET', '/api/v2/autocompleteValues?key=http.status_code');
add('zipkinui_dependencies', 'GET', `/api/v2/dependencies?${ZWIN}`);
// our own pages and APIs
add('page_map', 'GET', '/');
add('page_map_operation', 'GET', '/?window=1h&level=operation&focus=checkout&hops=2');
add('page_map_custom', 'GET', '/?window=custom&start={START_US}&end={END_US}');
add('page_service', 'GET', '/services/payments?window=24h');
add('page_service_datetime', 'GET', '/services/frontend?window=custom&start=2026-01-15T10:00&end=2026-01-15T11:30:15');
add('page_search', 'GET', `/search?service=payments&operation=${enc('POST /charge')}&tags=${enc('error=true')}` +
  '&minDuration=10ms&maxDuration=1s&window=1h&limit=20&sort=slowest');
add('page_trace', 'GET', '/traces/{T1}');
add('page_trace_span', 'GET', '/traces/{T2}?span=a2b300000000ee0f');
add('page_lookup', 'GET', '/lookup?id=%20{T3}%20');
add('page_bottlenecks', 'GET', `/bottlenecks?service=frontend&operation=${enc('GET /checkout')}&window=custom&${JWIN}`);
add('api_slow', 'GET', `/api/slow-traces?service=frontend&operation=${enc('GET /checkout')}&${JWIN}&limit=5`);
add('api_critical_path', 'GET', '/api/traces/{T2}/critical-path');
add('api_servicemap_focus', 'GET', `/api/servicemap?${JWIN}&level=operation&focus=inventory&hops=3`);
add('api_bottlenecks_threshold', 'GET', `/api/bottlenecks?service=frontend&${JWIN}&threshold=100000`);
add('favicon', 'GET', '/favicon.ico');
add('metrics', 'GET', '/metrics');
add('healthz', 'GET', '/healthz');
add('readyz', 'HEAD', '/readyz');
// methods, ingest paths, headers
add('head_services', 'HEAD', '/api/services');
add('delete_services', 'DELETE', '/api/services');
add('options_traces', 'OPTIONS', '/api/traces');
add('brew_page', 'BREW', '/search');
add('put_page', 'PUT', '/', ['Content-Type: text/plain'], 'x');
add('post_otlp_json_empty', 'POST', '/v1/traces', ['Content-Type: application/json'], '{}');
add('post_otlp_unsupported', 'POST', '/v1/traces', ['Content-Type: text/plain'], 'hello');
add('post_zipkin_empty', 'POST', '/api/v2/spans', ['Content-Type: application/json'], '[]');
add('post_jaeger_not_thrift', 'POST', '/api/traces', ['Content-Type: application/x-thrift'], '\x19\x1c');
add('post_gzip_not_gzip', 'POST', '/v1/traces',
  ['Content-Type: application/json', 'Content-Encoding: gzip'], '{"resourceSpans":[]}');
add('post_unknown_path', 'POST', '/v2/traces', ['Content-Type: application/x-protobuf'], '');
add('get_with_body', 'GET', '/api/v2/services', ['Content-Type: application/json'], '{"a":1}');
add('accept_headers', 'GET', '/api/traces/{T1}',
  ['Accept: application/json, text/plain, */*', 'Accept-Encoding: gzip, deflate, br', 'Authorization: Bearer x']);
// from bad_input.test.mjs and friends: odd paths and parameters
add('edge_newline_path', 'GET', '/no/such%0Apath');
add('edge_bare_params', 'GET', '/api/traces?service&limit&x%20y');
add('edge_empty_trace_id', 'GET', '/api/traces/');
add('edge_v3_empty_id', 'GET', '/api/v3/traces/');
add('edge_services_slash', 'GET', '/api/services/');
add('edge_zipkin_bad_id', 'GET', '/api/v2/trace/xyz');
add('edge_double_slash', 'GET', '//');
add('edge_markup', 'GET', '/services/%3Cfuzz%3E?window=%3Cfuzz%3E');
add('edge_markup_search', 'GET', '/search?service=%3Cfuzz%3E&sort=%3Cfuzz%3E&limit=%3Cfuzz%3E');
add('edge_nul_param', 'GET', '/api/operations?service=front%00end&spanKind=%00');
add('edge_utf8_cut', 'GET', '/api/traces?service=%E2%82&limit=%F0%9F%98');
add('edge_huge_window', 'GET', '/api/servicemap?start=0&end=9223372036854775&level=operation');
add('edge_absolute_form', 'GET', 'http://127.0.0.1/api/services');

// the guarded server (bearer tokens, access log): the method byte's bit 3
const GUARDED = 8;
const QUERY_TOKEN = 'Authorization: Bearer fuzz-query-token';
add('guarded_no_token', 'GET', '/api/services', [], '', GUARDED);
add('guarded_query_token', 'GET', `/api/traces?service=frontend&${JWIN}&tags=${enc('{"a b":"c\nd"}')}`, [QUERY_TOKEN], '', GUARDED);
add('guarded_page_token', 'GET', '/search?service=%0A%1B%5B31m&window=1h', [QUERY_TOKEN], '', GUARDED);
add('guarded_wrong_token', 'GET', '/traces/{T1}', ['Authorization: Bearer fuzz-query-tokeN'], '', GUARDED);
add('guarded_healthz', 'GET', '/healthz', [], '', GUARDED);
add('guarded_ingest_token', 'POST', '/v1/traces',
  ['Authorization: bearer  fuzz-ingest-token', 'Content-Type: application/json'], '{"resourceSpans":[]}', GUARDED);
add('guarded_ingest_query_token', 'POST', '/api/v2/spans', [QUERY_TOKEN, 'Content-Type: application/json'], '[]', GUARDED);

function bytes([method, target, headers, body, server]) {
  const head = [target, ...headers].join('\n');
  const parts = [Buffer.from([METHOD[method] | server]), Buffer.from(head, 'latin1')];
  if (headers.length || body) parts.push(Buffer.from('\n\n', 'latin1'));
  if (body) parts.push(Buffer.from(body, 'latin1'));
  return Buffer.concat(parts);
}

mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (!f.startsWith('regress_')) unlinkSync(join(OUT, f));
for (const [name, s] of Object.entries(seeds)) writeFileSync(join(OUT, name), bytes(s));
console.log(`wrote ${Object.keys(seeds).length} inputs to ${OUT}`);
