// Test harness for the tracemap client tests (node:test, no other framework).
//
// - startServer(): runs a real `tracemap` on 127.0.0.1, port 0, with a fresh
//   mkdtemp data dir, waits for "listening on 127.0.0.1:PORT" and returns a
//   handle {url, port, dataDir, stop(), kill(signal), restart(), close(), ...}.
// - HTTP helpers built on node's `http` module (raw bodies, chunked uploads,
//   keep-alive agents).
// - A minimal protobuf reader (google.rpc.Status, ExportTraceServiceResponse,
//   and a full ExportTraceServiceRequest decoder) and writer (to build OTLP
//   requests, valid or deliberately broken, byte by byte).
//
// Environment:
//   TRACEMAP_BIN    tracemap executable (default: <repo>/build/tracemap)
//   TRACEMAP_BUILD  meson build dir      (default: <repo>/build)
//   TRACEMAP_KEEP_DATA=1  keep the temporary data dirs for inspection
//   TRACEMAP_TEST_VERBOSE=1  echo the server's output

import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** tests/clients */
export const CLIENTS_DIR = resolve(HERE, '..');
/** repository root */
export const REPO_DIR = resolve(CLIENTS_DIR, '..', '..');

export const TRACEMAP_BIN = process.env.TRACEMAP_BIN
  ? resolve(process.env.TRACEMAP_BIN)
  : resolve(CLIENTS_DIR, '../../build/tracemap');
export const TRACEMAP_BUILD = process.env.TRACEMAP_BUILD
  ? resolve(process.env.TRACEMAP_BUILD)
  : resolve(CLIENTS_DIR, '../../build');

const VERBOSE = !!process.env.TRACEMAP_TEST_VERBOSE;
const KEEP_DATA = !!process.env.TRACEMAP_KEEP_DATA;

export const SKIP_EXIT_CODE = 77; // meson's "skipped"

/**
 * Exit with meson's skip code (77) when tests/clients/node_modules lacks one of
 * the packages named in package.json. This is the ONLY reason a client test
 * skips as a whole; call it before importing any npm package (dynamically).
 */
export function requireNodeModules() {
  const pkg = JSON.parse(readFileSync(join(CLIENTS_DIR, 'package.json'), 'utf8'));
  const missing = Object.keys(pkg.dependencies || {}).filter(
    (name) => !existsSync(join(CLIENTS_DIR, 'node_modules', ...name.split('/'), 'package.json')),
  );
  if (missing.length) {
    process.stdout.write(
      `1..0 # SKIP node_modules incomplete (missing ${missing.join(', ')}): ` +
        `run "npm ci" in ${CLIENTS_DIR}\n`,
    );
    process.exit(SKIP_EXIT_CODE);
  }
}

/** The tracemap executable; throws (test failure, never a skip) if absent. */
export function tracemapBin() {
  if (!existsSync(TRACEMAP_BIN)) {
    throw new Error(
      `tracemap executable not found at ${TRACEMAP_BIN} (set TRACEMAP_BIN or build with meson)`,
    );
  }
  return TRACEMAP_BIN;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

function tail(text, n = 4000) {
  return text.length > n ? '…' + text.slice(-n) : text;
}

// ---------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------

// the main line ("tracemap 0.1.0 listening on ..."), not the UDP listeners' lines
const LISTEN_RE = /tracemap \S+ listening on 127\.0\.0\.1:(\d+)/;

// TRACEMAP_WRAPPER runs the server under a command, e.g. valgrind
// (tests/valgrind.sh); TRACEMAP_TIMEOUT_SCALE stretches the waits for it
const WRAPPER = (process.env.TRACEMAP_WRAPPER || '').split(/\s+/).filter(Boolean);
const TIMEOUT_SCALE = Number(process.env.TRACEMAP_TIMEOUT_SCALE || 1);
const WRAPPER_ERROR_EXIT = 99; // tests/valgrind.sh: --error-exitcode=99

export class TracemapServer {
  constructor({ args = [], dataDir = null, startTimeoutMs = 20000 } = {}) {
    this.bin = tracemapBin();
    this.extraArgs = args;
    this.ownsDataDir = !dataDir;
    this.dataDir = dataDir || mkdtempSync(join(tmpdir(), 'tracemap-test-'));
    this.startTimeoutMs = startTimeoutMs * TIMEOUT_SCALE;
    this.proc = null;
    this.port = 0;
    this.url = '';
    this.log = ''; // output of every run of the process, capped
    this.runs = 0;
    this.lastExit = null;
    this.unexpectedExits = [];
  }

  get running() {
    return !!this.proc && this.lastExit === null;
  }

  _append(prefix, chunk) {
    const s = chunk.toString('utf8');
    if (VERBOSE) process.stderr.write(s.replace(/^/gm, `[tracemap#${this.runs} ${prefix}] `));
    this.log += s;
    if (this.log.length > 1 << 20) this.log = this.log.slice(-(1 << 19));
  }

  logTail(n = 4000) {
    return tail(this.log, n);
  }

  async start() {
    if (this.running) throw new Error('server already running');
    this.runs += 1;
    this.lastExit = null;
    this.expectExit = false;
    const args = ['--listen', '127.0.0.1:0', '--data', this.dataDir, ...this.extraArgs];
    this._append('cmd', `$ ${this.bin} ${args.join(' ')}\n`);
    const proc = WRAPPER.length
      ? spawn(WRAPPER[0], [...WRAPPER.slice(1), this.bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolveExit) => {
      proc.on('exit', (code, signal) => {
        this.lastExit = { code, signal };
        if (!this.expectExit) {
          this.unexpectedExits.push({ code, signal });
          process.stderr.write(
            `# tracemap exited unexpectedly (code=${code} signal=${signal}); output:\n` +
              this.logTail().replace(/^/gm, '#   ') + '\n',
          );
        }
        resolveExit(this.lastExit);
      });
    });
    let buffered = '';
    const found = new Promise((resolveFound, rejectFound) => {
      const timer = setTimeout(() => {
        rejectFound(new Error(`tracemap did not print "listening on 127.0.0.1:PORT" within ` +
          `${this.startTimeoutMs} ms; output:\n${this.logTail()}`));
      }, this.startTimeoutMs);
      const onData = (prefix) => (chunk) => {
        this._append(prefix, chunk);
        if (this.port) return;
        buffered += chunk.toString('utf8');
        const m = LISTEN_RE.exec(buffered);
        if (m) {
          clearTimeout(timer);
          resolveFound(Number(m[1]));
        }
      };
      proc.stderr.on('data', onData('err'));
      proc.stdout.on('data', onData('out'));
      proc.on('error', (err) => {
        clearTimeout(timer);
        rejectFound(err);
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        rejectFound(new Error(`tracemap exited (code=${code} signal=${signal}) before listening; ` +
          `output:\n${this.logTail()}`));
      });
    });
    this.port = 0;
    try {
      const port = await found;
      this.port = port;
      this.url = `http://127.0.0.1:${port}`;
    } catch (err) {
      if (this.lastExit === null) {
        this.expectExit = true;
        proc.kill('SIGKILL');
        await this.exited;
      }
      throw err;
    }
    return this;
  }

  /** SIGTERM and wait (drain); returns {code, signal}. SIGKILL after timeoutMs. */
  async stop({ timeoutMs = 20000 } = {}) {
    if (!this.running) return this.lastExit;
    timeoutMs *= TIMEOUT_SCALE;
    this.expectExit = true;
    this.proc.kill('SIGTERM');
    let timer;
    const timeout = new Promise((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      const e = await this.exited;
      return { ...e, timedOut: true };
    }
    return r;
  }

  /** Send a signal (default SIGKILL) and wait for the process to exit. */
  async kill(signal = 'SIGKILL') {
    if (!this.running) return this.lastExit;
    this.expectExit = true;
    this.proc.kill(signal);
    return this.exited;
  }

  /** Stop (SIGTERM) if running, then start again on the same data dir (new port). */
  async restart() {
    if (this.running) {
      const e = await this.stop();
      if (e.code !== 0) throw new Error(`tracemap did not exit 0 on SIGTERM: ${JSON.stringify(e)}`);
    }
    return this.start();
  }

  /** Stop the server (if running) and remove the data dir it created. */
  async close() {
    let e = null;
    try {
      e = await this.stop();
    } finally {
      if (this.ownsDataDir && !KEEP_DATA) rmSync(this.dataDir, { recursive: true, force: true });
      else if (KEEP_DATA) process.stderr.write(`# kept tracemap data dir ${this.dataDir}\n`);
    }
    // under valgrind (tests/valgrind.sh) exit code 99 means memory errors or leaks
    if (WRAPPER.length && e?.code === WRAPPER_ERROR_EXIT) {
      throw new Error(`${WRAPPER[0]} reported memory errors or leaks in tracemap (exit ${e.code}); ` +
        `see its log`);
    }
    return e;
  }

  // --- HTTP -----------------------------------------------------------------

  async request(method, path, opts = {}) {
    if (!this.url) throw new Error('server not started');
    try {
      return await httpRequest(method, this.url + path, opts);
    } catch (err) {
      err.message += `\n# tracemap running=${this.running} lastExit=${JSON.stringify(this.lastExit)}` +
        `; output tail:\n${this.logTail(2000)}`;
      throw err;
    }
  }

  post(path, body, headers = {}, opts = {}) {
    return this.request('POST', path, { ...opts, body, headers });
  }

  /** GET path; returns {status, headers, body (Buffer), text, json (undefined if not JSON)}. */
  async getJson(path, opts = {}) {
    const r = await this.request('GET', path, opts);
    r.text = r.body.toString('utf8');
    try {
      r.json = JSON.parse(r.text);
    } catch {
      r.json = undefined;
    }
    return r;
  }

  /** POST an OTLP protobuf body to /v1/traces. */
  postOtlp(body, { gzip = false, headers = {}, ...opts } = {}) {
    const h = { 'Content-Type': 'application/x-protobuf', ...headers };
    if (gzip) h['Content-Encoding'] = 'gzip';
    return this.post('/v1/traces', body, h, opts);
  }

  /** `tracemap check --data DIR` (server should be stopped first). */
  check() {
    return runCheck(this.dataDir);
  }
}

export async function startServer(opts = {}) {
  const s = new TracemapServer(opts);
  await s.start();
  return s;
}

/**
 * Run `tracemap check --data DIR`; returns {code, stdout, stderr, counts} where
 * counts has numeric traces/spans/duplicates/problems (undefined if absent).
 */
export function runCheck(dataDir, { timeoutMs = 120000 } = {}) {
  return new Promise((resolveCheck) => {
    execFile(tracemapBin(), ['check', '--data', dataDir],
      { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        const counts = {};
        for (const line of String(stdout).split('\n')) {
          const m = /^\s*(traces|spans|duplicates|problems)\s+(\d+)\s*$/.exec(line);
          if (m) counts[m[1]] = Number(m[2]);
        }
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolveCheck({ code, signal: err?.signal ?? null, stdout: String(stdout), stderr: String(stderr), counts });
      });
  });
}

// ---------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------

/**
 * One HTTP request with node's http module.
 * opts: body (Buffer|string), headers, agent (default: a fresh non-keep-alive
 * connection), chunks (array of Buffers written one by one with no
 * Content-Length, i.e. Transfer-Encoding: chunked), chunkDelayMs, timeoutMs.
 * Resolves {status, headers, rawHeaders, body: Buffer, localPort, reusedSocket}.
 */
export function httpRequest(method, url, opts = {}) {
  const { body = null, headers = {}, agent = false, chunks = null, chunkDelayMs = 5,
    timeoutMs = 30000 } = opts;
  return new Promise((resolveReq, rejectReq) => {
    const u = new URL(url);
    const h = { ...headers };
    const bodyBuf = body == null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const hasLen = Object.keys(h).some((k) => k.toLowerCase() === 'content-length');
    if (chunks) {
      h['Transfer-Encoding'] = 'chunked';
    } else if (bodyBuf && !hasLen) {
      h['Content-Length'] = String(bodyBuf.length);
    } else if (!bodyBuf && method !== 'GET' && method !== 'HEAD' && !hasLen) {
      h['Content-Length'] = '0';
    }
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent,
    });
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) req.destroy(new Error(`${method} ${url}: no response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        err.message = `${method} ${url}: ${err.message}`;
        rejectReq(err);
      }
    });
    req.on('response', (res) => {
      const parts = [];
      const localPort = res.socket?.localPort;
      res.on('data', (d) => parts.push(d));
      res.on('error', (err) => req.destroy(err));
      res.on('end', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolveReq({
          status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders,
          body: Buffer.concat(parts), localPort, reusedSocket: req.reusedSocket,
        });
      });
    });
    (async () => {
      if (chunks) {
        for (const c of chunks) {
          if (req.destroyed) return;
          req.write(c);
          if (chunkDelayMs) await sleep(chunkDelayMs);
        }
        req.end();
      } else {
        req.end(bodyBuf ?? undefined);
      }
    })().catch((err) => req.destroy(err));
  });
}

// ---------------------------------------------------------------------------
// Protobuf reading
// ---------------------------------------------------------------------------

export class ProtobufError extends Error {}

/** Read a varint at buf[pos]; returns [BigInt value, newPos]. */
export function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtobufError('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result & 0xffffffffffffffffn, pos];
    shift += 7n;
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/**
 * Split a message into fields: [{no, wt, value}] with value a BigInt (varint),
 * Buffer of 8 (fixed64), Buffer of 4 (fixed32) or Buffer (length-delimited).
 * Throws ProtobufError on anything malformed; groups are rejected.
 */
export function readFields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (no === 0) throw new ProtobufError('field number 0');
    if (wt === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      out.push({ no, wt, value: v });
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (pos + n > buf.length) throw new ProtobufError('truncated fixed field');
      out.push({ no, wt, value: buf.subarray(pos, pos + n) });
      pos += n;
    } else if (wt === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      if (len > BigInt(buf.length - pos)) throw new ProtobufError('length past end of buffer');
      const n = Number(len);
      out.push({ no, wt, value: buf.subarray(pos, pos + n) });
      pos += n;
    } else {
      throw new ProtobufError(`unsupported wire type ${wt}`);
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function str(f) {
  if (f.wt !== 2) throw new ProtobufError(`field ${f.no}: expected a string (wire type 2), got ${f.wt}`);
  try {
    return utf8.decode(f.value);
  } catch {
    throw new ProtobufError(`field ${f.no}: invalid UTF-8`);
  }
}
function want(f, wt) {
  if (f.wt !== wt) throw new ProtobufError(`field ${f.no}: expected wire type ${wt}, got ${f.wt}`);
  return f.value;
}
const toSigned64 = (v) => BigInt.asIntN(64, v);

/** google.rpc.Status: {code, message, details: [{typeUrl, value}]}. */
export function decodeStatus(buf) {
  const st = { code: 0, message: '', details: [] };
  for (const f of readFields(buf)) {
    if (f.no === 1) st.code = Number(toSigned64(want(f, 0)));
    else if (f.no === 2) st.message = str(f);
    else if (f.no === 3) {
      const any = { typeUrl: '', value: Buffer.alloc(0) };
      for (const g of readFields(want(f, 2))) {
        if (g.no === 1) any.typeUrl = str(g);
        else if (g.no === 2) any.value = want(g, 2);
      }
      st.details.push(any);
    }
  }
  return st;
}

/** ExportTraceServiceResponse: {partialSuccess: null | {rejectedSpans: BigInt, errorMessage}}. */
export function decodeExportResponse(buf) {
  const r = { partialSuccess: null };
  for (const f of readFields(buf)) {
    if (f.no !== 1) continue;
    const ps = r.partialSuccess || { rejectedSpans: 0n, errorMessage: '' };
    for (const g of readFields(want(f, 2))) {
      if (g.no === 1) ps.rejectedSpans = toSigned64(want(g, 0));
      else if (g.no === 2) ps.errorMessage = str(g);
    }
    r.partialSuccess = ps;
  }
  return r;
}

const hex = (b) => Buffer.from(b).toString('hex');
const u64le = (b) => b.readBigUInt64LE(0);

function decodeAnyValue(buf) {
  const fields = readFields(buf);
  if (!fields.length) return {};
  const f = fields[fields.length - 1]; // oneof: last one wins
  switch (f.no) {
    case 1: return { stringValue: str(f) };
    case 2: return { boolValue: want(f, 0) !== 0n };
    case 3: return { intValue: toSigned64(want(f, 0)) };
    case 4: return { doubleValue: want(f, 1).readDoubleLE(0) };
    case 5: return { arrayValue: { values: readFields(want(f, 2)).filter((g) => g.no === 1).map((g) => decodeAnyValue(want(g, 2))) } };
    case 6: return { kvlistValue: { values: decodeKeyValues(want(f, 2), 1) } };
    case 7: return { bytesValue: Buffer.from(want(f, 2)) };
    default: return {};
  }
}
function decodeKeyValue(buf) {
  const kv = { key: '', value: {} };
  for (const f of readFields(buf)) {
    if (f.no === 1) kv.key = str(f);
    else if (f.no === 2) kv.value = decodeAnyValue(want(f, 2));
  }
  return kv;
}
function decodeKeyValues(buf, no) {
  return readFields(buf).filter((f) => f.no === no).map((f) => decodeKeyValue(want(f, 2)));
}

/**
 * Decode an ExportTraceServiceRequest into the OTLP/JSON shape (camelCase,
 * hex ids, BigInt times/ints, every field present with its default).
 */
export function decodeExportRequest(buf) {
  const req = { resourceSpans: [] };
  for (const f of readFields(buf)) {
    if (f.no !== 1) continue;
    const rs = { resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [], schemaUrl: '' };
    for (const g of readFields(want(f, 2))) {
      if (g.no === 1) {
        for (const h of readFields(want(g, 2))) {
          if (h.no === 1) rs.resource.attributes.push(decodeKeyValue(want(h, 2)));
          else if (h.no === 2) rs.resource.droppedAttributesCount = Number(want(h, 0));
        }
      } else if (g.no === 2) {
        const ss = { scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, spans: [], schemaUrl: '' };
        for (const h of readFields(want(g, 2))) {
          if (h.no === 1) {
            for (const i of readFields(want(h, 2))) {
              if (i.no === 1) ss.scope.name = str(i);
              else if (i.no === 2) ss.scope.version = str(i);
              else if (i.no === 3) ss.scope.attributes.push(decodeKeyValue(want(i, 2)));
              else if (i.no === 4) ss.scope.droppedAttributesCount = Number(want(i, 0));
            }
          } else if (h.no === 2) ss.spans.push(decodeSpan(want(h, 2)));
          else if (h.no === 3) ss.schemaUrl = str(h);
        }
        rs.scopeSpans.push(ss);
      } else if (g.no === 3) rs.schemaUrl = str(g);
    }
    req.resourceSpans.push(rs);
  }
  return req;
}

function decodeSpan(buf) {
  const s = {
    traceId: '', spanId: '', traceState: '', parentSpanId: '', flags: 0, name: '', kind: 0,
    startTimeUnixNano: 0n, endTimeUnixNano: 0n, attributes: [], droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' },
  };
  for (const f of readFields(buf)) {
    switch (f.no) {
      case 1: s.traceId = hex(want(f, 2)); break;
      case 2: s.spanId = hex(want(f, 2)); break;
      case 3: s.traceState = str(f); break;
      case 4: s.parentSpanId = hex(want(f, 2)); break;
      case 5: s.name = str(f); break;
      case 6: s.kind = Number(want(f, 0)); break;
      case 7: s.startTimeUnixNano = u64le(want(f, 1)); break;
      case 8: s.endTimeUnixNano = u64le(want(f, 1)); break;
      case 9: s.attributes.push(decodeKeyValue(want(f, 2))); break;
      case 10: s.droppedAttributesCount = Number(want(f, 0)); break;
      case 11: {
        const e = { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 };
        for (const g of readFields(want(f, 2))) {
          if (g.no === 1) e.timeUnixNano = u64le(want(g, 1));
          else if (g.no === 2) e.name = str(g);
          else if (g.no === 3) e.attributes.push(decodeKeyValue(want(g, 2)));
          else if (g.no === 4) e.droppedAttributesCount = Number(want(g, 0));
        }
        s.events.push(e);
        break;
      }
      case 12: s.droppedEventsCount = Number(want(f, 0)); break;
      case 13: {
        const l = { traceId: '', spanId: '', traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 };
        for (const g of readFields(want(f, 2))) {
          if (g.no === 1) l.traceId = hex(want(g, 2));
          else if (g.no === 2) l.spanId = hex(want(g, 2));
          else if (g.no === 3) l.traceState = str(g);
          else if (g.no === 4) l.attributes.push(decodeKeyValue(want(g, 2)));
          else if (g.no === 5) l.droppedAttributesCount = Number(want(g, 0));
          else if (g.no === 6) l.flags = want(g, 5).readUInt32LE(0);
        }
        s.links.push(l);
        break;
      }
      case 14: s.droppedLinksCount = Number(want(f, 0)); break;
      case 15:
        for (const g of readFields(want(f, 2))) {
          if (g.no === 2) s.status.message = str(g);
          else if (g.no === 3) s.status.code = Number(want(g, 0));
        }
        break;
      case 16: s.flags = want(f, 5).readUInt32LE(0); break;
      default: break;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------
// Protobuf writing
// ---------------------------------------------------------------------------

/** Varint bytes of a non-negative or negative (two's complement 64-bit) integer. */
export function varint(v) {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return Buffer.from(out);
}
export const tag = (no, wt) => varint((BigInt(no) << 3n) | BigInt(wt));
export const fVarint = (no, v) => Buffer.concat([tag(no, 0), varint(v)]);
export const fLen = (no, bytes) => {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return Buffer.concat([tag(no, 2), varint(b.length), b]);
};
export const fString = (no, s) => fLen(no, Buffer.from(s, 'utf8'));
export const fFixed64 = (no, v) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
  return Buffer.concat([tag(no, 1), b]);
};
export const fFixed32 = (no, v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return Buffer.concat([tag(no, 5), b]);
};
export const fDouble = (no, v) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return Buffer.concat([tag(no, 1), b]);
};
const cat = (parts) => Buffer.concat(parts.filter(Boolean));
const idBytes = (h) => Buffer.from(h, 'hex');

/** AnyValue from the OTLP/JSON shape ({stringValue}, {intValue}, ...). */
export function encodeAnyValue(v) {
  if ('stringValue' in v) return fString(1, v.stringValue);
  if ('boolValue' in v) return fVarint(2, v.boolValue ? 1 : 0);
  if ('intValue' in v) return fVarint(3, BigInt(v.intValue));
  if ('doubleValue' in v) return fDouble(4, v.doubleValue);
  if ('arrayValue' in v) return fLen(5, cat((v.arrayValue.values || []).map((x) => fLen(1, encodeAnyValue(x)))));
  if ('kvlistValue' in v) return fLen(6, cat((v.kvlistValue.values || []).map((kv) => fLen(1, encodeKeyValue(kv)))));
  if ('bytesValue' in v) return fLen(7, Buffer.from(v.bytesValue));
  return Buffer.alloc(0);
}
export function encodeKeyValue(kv) {
  return cat([fString(1, kv.key), fLen(2, encodeAnyValue(kv.value))]);
}
const attrs = (no, list) => cat((list || []).map((kv) => fLen(no, encodeKeyValue(kv))));

export function encodeSpan(s) {
  return cat([
    fLen(1, idBytes(s.traceId)),
    fLen(2, idBytes(s.spanId)),
    s.traceState ? fString(3, s.traceState) : null,
    s.parentSpanId ? fLen(4, idBytes(s.parentSpanId)) : null,
    fString(5, s.name ?? ''),
    s.kind ? fVarint(6, s.kind) : null,
    fFixed64(7, s.startTimeUnixNano ?? 0n),
    fFixed64(8, s.endTimeUnixNano ?? 0n),
    attrs(9, s.attributes),
    ...(s.events || []).map((e) => fLen(11, cat([
      fFixed64(1, e.timeUnixNano ?? 0n), fString(2, e.name ?? ''), attrs(3, e.attributes)]))),
    ...(s.links || []).map((l) => fLen(13, cat([
      fLen(1, idBytes(l.traceId)), fLen(2, idBytes(l.spanId)),
      l.traceState ? fString(3, l.traceState) : null, attrs(4, l.attributes),
      l.flags ? fFixed32(6, l.flags) : null]))),
    s.status ? fLen(15, cat([
      s.status.message ? fString(2, s.status.message) : null,
      s.status.code ? fVarint(3, s.status.code) : null])) : null,
    s.flags ? fFixed32(16, s.flags) : null,
  ]);
}

/** ExportTraceServiceRequest from the OTLP/JSON shape ({resourceSpans: [...]}). */
export function encodeExportRequest(req) {
  return cat(req.resourceSpans.map((rs) => fLen(1, cat([
    rs.resource ? fLen(1, attrs(1, rs.resource.attributes)) : null,
    ...(rs.scopeSpans || []).map((ss) => fLen(2, cat([
      ss.scope ? fLen(1, cat([
        ss.scope.name ? fString(1, ss.scope.name) : null,
        ss.scope.version ? fString(2, ss.scope.version) : null])) : null,
      ...(ss.spans || []).map((s) => fLen(2, encodeSpan(s))),
    ]))),
  ]))));
}

export function randomTraceId() {
  for (;;) {
    const b = randomBytes(16);
    if (b.some((x) => x)) return b.toString('hex');
  }
}
export function randomSpanId() {
  for (;;) {
    const b = randomBytes(8);
    if (b.some((x) => x)) return b.toString('hex');
  }
}

/** Attributes list in OTLP/JSON shape from a plain object (numbers: ints vs doubles by Number.isInteger). */
export function kvs(obj) {
  const conv = (v) => {
    if (typeof v === 'string') return { stringValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    if (typeof v === 'bigint') return { intValue: v };
    if (typeof v === 'number') return Number.isInteger(v) ? { intValue: BigInt(v) } : { doubleValue: v };
    if (Array.isArray(v)) return { arrayValue: { values: v.map(conv) } };
    throw new Error(`unsupported attribute value ${v}`);
  };
  return Object.entries(obj).map(([key, v]) => ({ key, value: conv(v) }));
}

/**
 * A small valid request: one resource (service), one scope, `n` spans of one
 * new trace (first is the root, the others its children). Returns
 * {body, traceId, spanIds, service, request} (request = OTLP/JSON shape).
 */
export function makeBatch({ service = 'svc', n = 3, traceId = randomTraceId(), baseNs = null,
  attributes = {}, scope = { name: 'tracemap-tests', version: '1.0.0' } } = {}) {
  const t0 = baseNs ?? BigInt(Date.now()) * 1000000n + 123n;
  const spanIds = [];
  const spans = [];
  for (let i = 0; i < n; i++) {
    const spanId = randomSpanId();
    spanIds.push(spanId);
    spans.push({
      traceId, spanId, parentSpanId: i ? spanIds[0] : '', name: i ? `child-${i}` : 'root',
      kind: i ? 3 : 2, startTimeUnixNano: t0 + BigInt(i) * 1000n,
      endTimeUnixNano: t0 + BigInt(i) * 1000n + 5000000n,
      attributes: kvs({ 'span.index': i, 'test.kind': 'batch', ...attributes }),
      status: {}, flags: 0x101,
    });
  }
  const request = {
    resourceSpans: [{
      resource: { attributes: kvs({ 'service.name': service }) },
      scopeSpans: [{ scope, spans }],
    }],
  };
  return { body: encodeExportRequest(request), traceId, spanIds, service, request };
}

/** Span ids found in a Jaeger `GET /api/traces/{id}` answer (throws on bad shape). */
export function jaegerSpanIds(json) {
  if (!json || !Array.isArray(json.data) || json.data.length !== 1) {
    throw new Error(`unexpected Jaeger envelope: ${JSON.stringify(json)?.slice(0, 500)}`);
  }
  return json.data[0].spans.map((s) => s.spanID);
}

/**
 * Poll `GET /api/traces/{traceId}` until it answers 200 with at least
 * `minSpans` spans (ingestion may be asynchronous after the 200 ack), or
 * until timeoutMs; returns the last getJson() answer either way.
 */
export async function waitForTrace(server, traceId, minSpans = 1, { timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await server.getJson(`/api/traces/${traceId}`);
    const n = r.status === 200 && Array.isArray(r.json?.data) && r.json.data[0]
      ? r.json.data[0].spans?.length ?? 0 : 0;
    if (n >= minSpans || Date.now() >= deadline) return r;
    await sleep(50);
  }
}
