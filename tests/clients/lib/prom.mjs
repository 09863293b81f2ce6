// Reading tracemap's GET /metrics in the tests: a small parser of the
// Prometheus text format (version 0.0.4) and `promtool check metrics`.

import { spawnSync } from 'node:child_process';

/**
 * Parse exposition text into {families: Map(name -> {type, help}),
 * samples: [{name, labels: {k: v}, value}]}. Throws on a line it cannot read.
 */
export function parseProm(text) {
  const families = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (m) {
      const f = families.get(m[2]) ?? {};
      f[m[1] === 'HELP' ? 'help' : 'type'] = m[3];
      families.set(m[2], f);
      continue;
    }
    if (line.startsWith('#')) continue;
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unreadable metrics line: ${line}`);
    const labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let lm;
    let at = 0;
    const ls = m[2] ?? '';
    while (at < ls.length && (lm = re.exec(ls))) {
      labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      at = re.lastIndex;
    }
    if (at !== ls.length) throw new Error(`unreadable labels: ${line}`);
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    samples.push({ name: m[1], labels, value });
  }
  return { families, samples };
}

/** The value of the one sample of name whose labels include `labels`; undefined if none. */
export function sampleValue(parsed, name, labels = {}) {
  const hits = parsed.samples.filter((s) => s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0]?.value;
}

/** Every sample of name, as [{labels, value}]. */
export function samplesOf(parsed, name) {
  return parsed.samples.filter((s) => s.name === name);
}

/** GET /metrics of a TracemapServer, parsed; the raw text too. */
export async function scrape(server) {
  const r = await server.getJson('/metrics');
  if (r.status !== 200) throw new Error(`/metrics: ${r.status} ${r.text.slice(0, 300)}`);
  return { text: r.text, headers: r.headers, ...parseProm(r.text) };
}

/**
 * `promtool check metrics` over text: {ok, output}. promtool (Debian package
 * prometheus, in TEST_PACKAGES) exits 0 when the text is valid; lint
 * problems print but do not fail it.
 */
export function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (install the Debian package prometheus): ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
