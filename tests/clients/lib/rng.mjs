// A seeded PRNG for the client tests (sfc32 seeded through splitmix32), so
// that a failing run can be repeated from the seed it prints.

export function makeRng(seed) {
  let s = seed >>> 0;
  const sm = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = sm(), b = sm(), c = sm(), d = sm();
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 20; i++) u32();
  const R = {
    u32,
    float: () => u32() / 4294967296,
    int: (lo, hi) => lo + Math.floor(R.float() * (hi - lo + 1)), // inclusive
    chance: (p) => R.float() < p,
    pick: (arr) => arr[Math.floor(R.float() * arr.length)],
    weighted: (pairs) => { // [[value, weight], ...]
      const total = pairs.reduce((x, [, w]) => x + w, 0);
      let r = R.float() * total;
      for (const [v, w] of pairs) {
        if ((r -= w) < 0) return v;
      }
      return pairs[pairs.length - 1][0];
    },
    shuffle: (arr) => {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(R.float() * (i + 1));
        [arr[i], arr[j]] = [arr[j], arr[i]];
      }
      return arr;
    },
    hex: (bytes) => { // never all zero, first byte non-zero (no 64-bit short form)
      let out = '';
      for (let i = 0; i < bytes; i++) {
        let v = u32() & 0xff;
        if (i === 0 && v === 0) v = 1;
        out += v.toString(16).padStart(2, '0');
      }
      return out;
    },
    logUniform: (lo, hi) => Math.exp(Math.log(lo) + R.float() * (Math.log(hi) - Math.log(lo))),
    logUniformInt: (lo, hi) => Math.round(R.logUniform(lo, hi)),
    /** log-normal: exp(mu + sigma·N(0,1)) (Box–Muller) */
    logNormal: (median, sigma) => {
      const u1 = 1 - R.float();
      const u2 = R.float();
      return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    },
  };
  return R;
}
