/* test_histogram.c - percentiles against exact nearest ranks, merge, the
 * stored form and its decoder on bad bytes, and merge speed (printed). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "histogram.h"
#include "testutil.h"

#define N_VALUES 200000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: deterministic, so a failure can be replayed */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;   /* [0, 1) */
}

/* e^x without libm, good enough to shape a distribution */
static double approx_exp(double x)
{
	const double ln2 = 0.6931471805599453;
	int k = (int)(x / ln2);
	double r = x - k * ln2, term = 1, sum = 1;
	for (int i = 1; i < 24; i++) {
		term *= r / i;
		sum += term;
	}
	for (; k > 0; k--)
		sum *= 2;
	for (; k < 0; k++)
		sum /= 2;
	return sum;
}

/* standard normal, from the sum of 12 uniforms (Irwin-Hall) */
static double rng_normal(void)
{
	double s = 0;
	for (int i = 0; i < 12; i++)
		s += rng_unit();
	return s - 6;
}

static struct tm_hist *hist_new(void)
{
	struct tm_hist *h = malloc(sizeof(*h));
	if (!h) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	tm_hist_init(h);
	return h;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*---- distributions ----*/

enum dist { UNIFORM, LOGNORMAL, BIMODAL, ALL_EQUAL, HUGE, SMALL, N_DISTS };
static const char *const dist_names[] = { "uniform", "lognormal", "bimodal", "all-equal",
					  "huge", "small" };

static uint64_t draw(enum dist d)
{
	switch (d) {
	case UNIFORM:
		return rng_next() % 1000000000;   /* up to 1 s */
	case LOGNORMAL:   /* median 5 ms, sigma 1.2 */
		return (uint64_t)(5e6 * approx_exp(1.2 * rng_normal()));
	case BIMODAL:   /* cache hits around 800 us, misses around 250 ms */
		if (rng_next() & 1)
			return (uint64_t)(800e3 * (1 + 0.2 * rng_normal() / 3));
		return (uint64_t)(250e6 * (1 + 0.3 * rng_normal() / 3));
	case ALL_EQUAL:
		return 123456789;
	case HUGE:   /* the top of the range, UINT64_MAX included */
		return rng_next() % 8 == 0 ? UINT64_MAX : rng_next() | (UINT64_C(1) << 50);
	case SMALL:
		return rng_next() % 300;
	case N_DISTS:
		break;
	}
	return 0;
}

/*---- percentiles ----*/

static uint64_t sum_saturating(const uint64_t *v, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = s > UINT64_MAX - v[i] ? UINT64_MAX : s + v[i];
	return s;
}

/* rank ceil(permille * n / 1000), in integers, clamped to [1, n] */
static size_t exact_rank(unsigned permille, size_t n)
{
	size_t r = (permille * n + 999) / 1000;
	return r < 1 ? 1 : r > n ? n : r;
}

static double rel_error(uint64_t got, uint64_t exact)
{
	if (exact == 0)
		return got == 0 ? 0 : 1;
	double d = got > exact ? (double)(got - exact) : (double)(exact - got);
	return d / (double)exact;
}

/* checks every listed percentile of values[0..n) (sorted in place) */
static double check_percentiles(const struct tm_hist *h, uint64_t *values, size_t n,
				const char *what)
{
	static const unsigned permilles[] = { 0, 1, 10, 250, 500, 900, 990, 999, 1000 };
	double worst = 0;
	qsort(values, n, sizeof(values[0]), u64_cmp);
	CHECK_INT_EQ(tm_hist_count(h), n);
	CHECK(tm_hist_min(h) == values[0]);
	CHECK(tm_hist_max(h) == values[n - 1]);
	CHECK(tm_hist_sum(h) == sum_saturating(values, n));
	for (size_t i = 0; i < sizeof(permilles) / sizeof(permilles[0]); i++) {
		unsigned pm = permilles[i];
		uint64_t exact = values[exact_rank(pm, n) - 1];
		uint64_t got = tm_hist_percentile(h, pm / 1000.0);
		double err = rel_error(got, exact);
		if (err > 0.01)
			fprintf(stderr, "%s n=%zu q=%.3f: got %ju, exact %ju (%.3f%%)\n", what, n,
				pm / 1000.0, (uintmax_t)got, (uintmax_t)exact, 100 * err);
		CHECK(err <= 0.01);
		if (err > worst)
			worst = err;
	}
	return worst;
}

static void test_distributions(void)
{
	static const size_t sizes[] = { 1, 2, 7, 100, 1001, N_VALUES };
	uint64_t *values = malloc(N_VALUES * sizeof(uint64_t));
	struct tm_hist *h = hist_new();
	if (!values)
		exit(99);
	for (int d = 0; d < N_DISTS; d++) {
		double worst = 0;
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			tm_hist_reset(h);
			for (size_t i = 0; i < sizes[s]; i++) {
				values[i] = draw((enum dist)d);
				tm_hist_add(h, values[i]);
			}
			double err = check_percentiles(h, values, sizes[s], dist_names[d]);
			worst = err > worst ? err : worst;
		}
		printf("%-10s worst relative error %.4f%%\n", dist_names[d], 100 * worst);
	}
	free(values);
	free(h);
}

static void test_percentile_edges(void)
{
	struct tm_hist *h = hist_new();
	CHECK_INT_EQ(tm_hist_percentile(h, 0.5), 0);
	CHECK_INT_EQ(tm_hist_min(h), 0);
	CHECK_INT_EQ(tm_hist_max(h), 0);
	tm_hist_add(h, 1000);
	CHECK_INT_EQ(tm_hist_percentile(h, 0), 1000);
	CHECK_INT_EQ(tm_hist_percentile(h, 0.5), 1000);
	CHECK_INT_EQ(tm_hist_percentile(h, 1), 1000);
	tm_hist_reset(h);
	for (uint64_t v = 1; v <= 100; v++)
		tm_hist_add(h, v);
	/* 0.07 * 100 is 7.000000000000001 in binary: still rank 7 */
	CHECK_INT_EQ(tm_hist_percentile(h, 0.07), 7);
	CHECK_INT_EQ(tm_hist_percentile(h, 0.5), 50);
	CHECK_INT_EQ(tm_hist_percentile(h, 0.505), 51);
	CHECK_INT_EQ(tm_hist_percentile(h, -1), 1);
	CHECK_INT_EQ(tm_hist_percentile(h, NAN), 1);
	CHECK_INT_EQ(tm_hist_percentile(h, 2), 100);
	/* add_n is n adds */
	struct tm_hist *a = hist_new(), *b = hist_new();
	tm_hist_add_n(a, 5000000, 3);
	tm_hist_add_n(a, 7, 0);
	for (int i = 0; i < 3; i++)
		tm_hist_add(b, 5000000);
	CHECK(!memcmp(a, b, sizeof(*a)));
	/* the sum saturates */
	tm_hist_add_n(a, UINT64_MAX / 2, 3);
	CHECK(tm_hist_sum(a) == UINT64_MAX);
	free(a);
	free(b);
	free(h);
}

static void test_bucket_layout(void)
{
	uint64_t prev_hi = 0;
	for (size_t i = 0; i < TM_HIST_BUCKETS; i++) {
		uint64_t lo, hi;
		tm_hist_bucket_bounds(i, &lo, &hi);
		CHECK(i == 0 || lo == prev_hi + 1);   /* contiguous, no gap or overlap */
		CHECK(lo <= hi);
		/* never wider than 1/64 of the lower bound, beyond the exact ones */
		CHECK(hi == lo || (hi - lo + 1) * 64 <= lo);
		CHECK_INT_EQ(tm_hist_bucket_of(lo), i);
		CHECK_INT_EQ(tm_hist_bucket_of(hi), i);
		prev_hi = hi;
	}
	CHECK(prev_hi == UINT64_MAX);
	CHECK_INT_EQ(tm_hist_bucket_of(0), 0);
	CHECK_INT_EQ(tm_hist_bucket_of(UINT64_MAX), TM_HIST_BUCKETS - 1);
}

static void test_bucket_iter(void)
{
	struct tm_hist *h = hist_new();
	struct tm_hist_bucket b;
	size_t pos = 0;
	CHECK(!tm_hist_bucket_next(h, &pos, &b));
	for (int i = 0; i < 10000; i++)
		tm_hist_add(h, draw(LOGNORMAL));
	uint64_t total = 0, last_hi = 0;
	size_t n = 0;
	pos = 0;
	while (tm_hist_bucket_next(h, &pos, &b)) {
		CHECK(b.count > 0);
		CHECK(n == 0 || b.lo_ns > last_hi);
		CHECK(b.lo_ns <= b.hi_ns);
		total += b.count;
		last_hi = b.hi_ns;
		n++;
	}
	CHECK_INT_EQ(total, tm_hist_count(h));
	CHECK(!tm_hist_bucket_next(h, &pos, &b));   /* stays at the end */
	free(h);
}

/*---- merge and reset ----*/

static void test_merge(void)
{
	struct tm_hist *a = hist_new(), *b = hist_new(), *all = hist_new(), *e = hist_new();
	for (int d = 0; d < N_DISTS; d++) {
		tm_hist_reset(a);
		tm_hist_reset(b);
		tm_hist_reset(all);
		for (int i = 0; i < 20000; i++) {
			uint64_t v = draw((enum dist)d);
			tm_hist_add(rng_next() % 3 ? a : b, v);
			tm_hist_add(all, v);
		}
		tm_hist_merge(a, b);
		CHECK(!memcmp(a, all, sizeof(*a)));
		tm_hist_merge(a, e);   /* merging nothing changes nothing */
		CHECK(!memcmp(a, all, sizeof(*a)));
		tm_hist_merge(e, all);   /* into an empty one: a copy */
		CHECK(!memcmp(e, all, sizeof(*e)));
		tm_hist_init(e);
	}
	/* reset clears exactly what was used */
	tm_hist_reset(a);
	CHECK(!memcmp(a, e, sizeof(*a)));
	free(a);
	free(b);
	free(all);
	free(e);
}

static void encode(const struct tm_hist *h, struct tm_buf *out);

/* taking back what was added leaves the histogram of the rest: the same
 * buckets and count, min and max bounds of the values left */
static void test_remove(void)
{
	struct tm_hist *keep = hist_new(), *h = hist_new();
	uint64_t back[500];
	size_t n_back = 0;
	for (int i = 0; i < 5000; i++) {
		uint64_t v = draw(LOGNORMAL);
		if (i % 10 == 3 && n_back < 500)
			back[n_back++] = v;
		else
			tm_hist_add(keep, v);
		tm_hist_add(h, v);
	}
	for (size_t i = 0; i < n_back; i++)
		tm_hist_remove(h, back[i]);
	CHECK(tm_hist_count(h) == tm_hist_count(keep));
	CHECK(!memcmp(h->buckets, keep->buckets, sizeof(h->buckets)));
	CHECK(tm_hist_min(h) <= tm_hist_min(keep) && tm_hist_max(h) >= tm_hist_max(keep));
	for (double q = 0.05; q < 1; q += 0.05) {
		uint64_t x = tm_hist_percentile(h, q), y = tm_hist_percentile(keep, q);
		CHECK(x == y || (x > y ? x - y : y - x) <= y / 64);
	}
	/* the extremes: removing the only value of min's and max's buckets */
	tm_hist_reset(h);
	tm_hist_add(h, 1000);
	tm_hist_add(h, 50000);
	tm_hist_add(h, 9000000);
	tm_hist_remove(h, 1000);
	tm_hist_remove(h, 9000000);
	CHECK(tm_hist_count(h) == 1 && tm_hist_percentile(h, 0.5) > 49000 &&
	      tm_hist_percentile(h, 0.5) < 51000);
	CHECK(tm_hist_min(h) <= 50000 && tm_hist_max(h) >= 50000);
	/* what is left still has a valid stored form: 1,000 and 50,000 less
	 * the 50,000 left max at the top of 1,000's bucket, above the sum */
	struct tm_hist *back2 = hist_new();
	struct tm_buf buf;
	tm_buf_init(&buf);
	tm_hist_reset(back2);
	tm_hist_add(back2, 1000);
	tm_hist_add(back2, 50000);
	tm_hist_remove(back2, 50000);
	encode(back2, &buf);
	CHECK(tm_hist_decode(buf.data, buf.len, keep) == 0 && tm_hist_count(keep) == 1);
	CHECK(tm_hist_max(back2) <= tm_hist_sum(back2));
	/* the pairer's case: every old value of a row taken back, one new one
	 * left that shares a bucket with neither extreme */
	tm_hist_reset(back2);
	const uint64_t old_values[] = { 1562479, 11620487, 11382035, 1484647 };
	tm_hist_add(back2, 1580974);
	for (int i = 0; i < 4; i++)
		tm_hist_add(back2, old_values[i]);
	for (int i = 0; i < 4; i++)
		tm_hist_remove(back2, old_values[i]);
	encode(back2, &buf);
	CHECK(tm_hist_decode(buf.data, buf.len, keep) == 0 && tm_hist_count(keep) == 1);
	CHECK(tm_hist_percentile(keep, 0.5) >= 1572864 && tm_hist_percentile(keep, 0.5) <= 1589247);
	encode(h, &buf);
	CHECK(tm_hist_decode(buf.data, buf.len, keep) == 0 && tm_hist_count(keep) == 1);
	/* any removal of values that were added keeps a valid stored form */
	for (int round = 0; round < 2000; round++) {
		uint64_t vals[16];
		int n = 1 + (int)(rng_next() % 16);
		tm_hist_reset(back2);
		for (int i = 0; i < n; i++)
			tm_hist_add(back2, vals[i] = draw((enum dist)(rng_next() % N_DISTS)));
		int left = n;
		for (int i = 0; i < n; i++)
			if (rng_next() % 3) {
				tm_hist_remove(back2, vals[i]);
				left--;
			}
		encode(back2, &buf);
		CHECK(tm_hist_decode(buf.data, buf.len, keep) == 0);
		CHECK(tm_hist_count(keep) == (uint64_t)left);
	}
	tm_buf_free(&buf);
	free(back2);
	tm_hist_remove(h, 777);   /* never added: ignored */
	CHECK(tm_hist_count(h) == 1);
	tm_hist_remove(h, 50000);
	CHECK(tm_hist_count(h) == 0 && tm_hist_percentile(h, 0.5) == 0 && tm_hist_sum(h) == 0);
	free(keep);
	free(h);
}

/* what is left after a remove is stored and read back (the decoder
 * refuses a max above the sum, which a stale max could be) */
static void test_remove_stored(void)
{
	struct tm_hist *h = hist_new(), *back = hist_new();
	struct tm_buf buf;
	tm_buf_init(&buf);
	/* two values in one bucket; the larger taken back: one value left,
	 * known exactly from the sum */
	tm_hist_add(h, 3947311);
	tm_hist_add(h, 3964927);
	CHECK_INT_EQ(tm_hist_bucket_of(3947311), tm_hist_bucket_of(3964927));
	tm_hist_remove(h, 3964927);
	tm_hist_encode(h, &buf);
	CHECK_INT_EQ(tm_hist_decode(buf.data, buf.len, back), 0);
	CHECK_INT_EQ(tm_hist_min(back), 3947311);
	CHECK_INT_EQ(tm_hist_max(back), 3947311);
	CHECK_INT_EQ(tm_hist_percentile(back, 0.99), 3947311);
	/* many values, a tenth of them taken back at random */
	for (int round = 0; round < 200; round++) {
		tm_hist_reset(h);
		uint64_t vals[40];
		for (int i = 0; i < 40; i++)
			tm_hist_add(h, vals[i] = 1000000 + rng_next() % 40000);
		for (int i = 0; i < 40; i += 1 + (int)(rng_next() % 5))
			tm_hist_remove(h, vals[i]);
		buf.len = 0;
		tm_hist_encode(h, &buf);
		CHECK_INT_EQ(tm_hist_decode(buf.data, buf.len, back), 0);
		CHECK_INT_EQ(tm_hist_count(back), tm_hist_count(h));
	}
	tm_buf_free(&buf);
	free(h);
	free(back);
}

/* several percentiles in one walk: the same as one at a time */
static void test_percentiles_at_once(void)
{
	static const double qs[] = { 0.99, 0.5, 0, 0.9, 1, 0.5, 0.001, 0.999 };
	enum { NQ = sizeof(qs) / sizeof(qs[0]) };
	struct tm_hist *h = hist_new();
	uint64_t got[NQ];
	tm_hist_percentiles(h, qs, NQ, got);
	for (size_t k = 0; k < NQ; k++)
		CHECK_INT_EQ(got[k], 0);
	for (size_t n = 1; n < 3000; n = n * 3 + 1) {
		tm_hist_reset(h);
		for (size_t i = 0; i < n; i++)
			tm_hist_add(h, draw(LOGNORMAL));
		tm_hist_percentiles(h, qs, NQ, got);
		for (size_t k = 0; k < NQ; k++)
			CHECK_INT_EQ(got[k], tm_hist_percentile(h, qs[k]));
	}
	free(h);
}

/*---- stored form ----*/

static void encode(const struct tm_hist *h, struct tm_buf *out)
{
	out->len = 0;
	tm_hist_encode(h, out);
	if (out->failed)
		exit(99);
}

static void test_roundtrip(void)
{
	struct tm_hist *h = hist_new(), *back = hist_new(), *sum = hist_new();
	struct tm_buf buf;
	tm_buf_init(&buf);
	encode(h, &buf);
	CHECK_INT_EQ(buf.len, 2);
	CHECK_INT_EQ(tm_hist_decode(buf.data, buf.len, back), 0);
	CHECK(!memcmp(h, back, sizeof(*h)));
	for (int d = 0; d < N_DISTS; d++) {
		for (int n = 1; n <= 100000; n *= 10) {
			tm_hist_reset(h);
			for (int i = 0; i < n; i++)
				tm_hist_add(h, draw((enum dist)d));
			encode(h, &buf);
			CHECK_INT_EQ(tm_hist_decode(buf.data, buf.len, back), 0);
			CHECK(!memcmp(h, back, sizeof(*h)));
			/* merge_encoded adds, as merge does */
			CHECK_INT_EQ(tm_hist_merge_encoded(back, buf.data, buf.len), 0);
			tm_hist_merge(sum, h);
			tm_hist_merge(sum, h);
			CHECK(!memcmp(sum, back, sizeof(*sum)));
			tm_hist_reset(sum);
			if (n == 1000)
				printf("%-10s 1000 values encode in %zu bytes\n", dist_names[d], buf.len);
		}
	}
	tm_buf_free(&buf);
	free(h);
	free(back);
	free(sum);
}

/* what a decoded histogram must satisfy whatever bytes it came from */
static int hist_is_consistent(const struct tm_hist *h)
{
	uint64_t total = 0;
	size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
	for (size_t i = 0; i < TM_HIST_BUCKETS; i++) {
		if (h->buckets[i] && (!h->count || i < lo || i > hi))
			return 0;
		total += h->buckets[i];
	}
	return total == h->count && (!h->count || (h->buckets[lo] && h->buckets[hi]));
}

static int decode_rejects(const unsigned char *bytes, size_t len)
{
	struct tm_hist *h = hist_new();
	int rc = tm_hist_decode(bytes, len, h);
	int ok = rc == -EBADMSG && tm_hist_count(h) == 0 && hist_is_consistent(h);
	free(h);
	return ok;
}

static void test_decode_crafted(void)
{
	/* format, n, min, max - min, sum, then (delta, count) pairs:
	 * 5, 5, 5 and 7 */
	static const unsigned char valid[] = { 1, 2, 5, 2, 22, 5, 3, 2, 1 };
	struct tm_hist *h = hist_new();
	CHECK_INT_EQ(tm_hist_decode(valid, sizeof(valid), h), 0);
	CHECK_INT_EQ(tm_hist_count(h), 4);
	CHECK_INT_EQ(tm_hist_min(h), 5);
	CHECK_INT_EQ(tm_hist_max(h), 7);
	CHECK_INT_EQ(tm_hist_percentile(h, 0.75), 5);
	free(h);
	for (size_t len = 0; len < sizeof(valid); len++)
		CHECK(decode_rejects(valid, len));
	static const unsigned char trailing[] = { 1, 2, 5, 2, 22, 5, 3, 2, 1, 0 };
	CHECK(decode_rejects(trailing, sizeof(trailing)));
	const unsigned char *const bad[] = {
		(const unsigned char[]){ 2, 0 },                          /* unknown format */
		(const unsigned char[]){ 1, 0xc1, 0x1d },                 /* 3777 buckets */
		(const unsigned char[]){ 1, 2, 5, 2, 19, 5, 3, 0, 1 },    /* delta 0 */
		(const unsigned char[]){ 1, 2, 5, 2, 19, 5, 0, 2, 1 },    /* count 0 */
		(const unsigned char[]){ 1, 2, 5, 2, 19, 4, 3, 3, 1 },    /* first != min's */
		(const unsigned char[]){ 1, 2, 5, 2, 19, 5, 3, 3, 1 },    /* last != max's */
		(const unsigned char[]){ 1, 2, 5, 2, 3, 5, 3, 2, 1 },     /* sum < max */
		(const unsigned char[]){ 1, 1, 5, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0x01, 5, 0xff },      /* count cut short */
	};
	static const size_t bad_len[] = { 2, 3, 9, 9, 9, 9, 9, 16 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!decode_rejects(bad[i], bad_len[i]))
			fprintf(stderr, "crafted bad input %zu accepted\n", i);
		CHECK(decode_rejects(bad[i], bad_len[i]));
	}
	/* max - min past UINT64_MAX */
	static const unsigned char range[] = { 1, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0x01, 0, 0, 1 };
	CHECK(decode_rejects(range, sizeof(range)));
	/* counts adding up past UINT64_MAX */
	static const unsigned char overflow[] = { 1, 2, 5, 2, 19, 5, 0xff, 0xff, 0xff, 0xff, 0xff,
						  0xff, 0xff, 0xff, 0xff, 0x01, 2, 2 };
	CHECK(decode_rejects(overflow, sizeof(overflow)));
	CHECK(decode_rejects(NULL, 0));
}

/* random bytes and mutated valid records: never a crash, and whatever is
 * accepted is a consistent histogram; a rejected merge changes nothing */
static void test_decode_garbage(void)
{
	struct tm_hist *h = hist_new(), *before = hist_new(), *src = hist_new();
	struct tm_buf buf;
	unsigned char bytes[64];
	size_t accepted = 0;
	tm_buf_init(&buf);
	for (int i = 0; i < 200; i++)
		tm_hist_add(src, draw(BIMODAL));
	for (int round = 0; round < 200000; round++) {
		size_t len;
		const unsigned char *p = bytes;
		if (round % 2) {
			len = rng_next() % sizeof(bytes);
			for (size_t i = 0; i < len; i++)
				bytes[i] = (unsigned char)rng_next();
			if (len)
				bytes[0] = round % 4 == 1 ? 1 : bytes[0];   /* get past the format */
		} else {
			encode(src, &buf);
			buf.data[rng_next() % buf.len] ^= (unsigned char)(1u << (rng_next() % 8));
			len = round % 8 == 0 ? rng_next() % buf.len : buf.len;
			p = buf.data;
		}
		int rc = tm_hist_decode(p, len, h);
		CHECK(rc == 0 || rc == -EBADMSG);
		CHECK(hist_is_consistent(h));
		if (rc == 0) {
			accepted++;
			tm_hist_percentile(h, 0.99);
		}
		memcpy(before, src, sizeof(*src));
		if (tm_hist_merge_encoded(before, p, len) < 0)
			CHECK(!memcmp(before, src, sizeof(*src)));
		else
			CHECK(hist_is_consistent(before));
	}
	printf("garbage: %zu of 200000 inputs decoded as valid\n", accepted);
	tm_buf_free(&buf);
	free(h);
	free(before);
	free(src);
}

/*---- speed (printed, not checked) ----*/

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a service map over 24 h: 1440 minute rollups for each of 300 edges */
static void bench_merge(void)
{
	enum { MINUTES = 1440, EDGES = 300 };
	struct tm_hist *minute = hist_new(), *edge = hist_new();
	struct tm_buf buf;
	tm_buf_init(&buf);
	for (int i = 0; i < 500; i++)
		tm_hist_add(minute, 200000 + draw(LOGNORMAL));   /* 0.2 ms and up */
	encode(minute, &buf);
	double t0 = now_s();
	for (int e = 0; e < EDGES; e++)
		for (int m = 0; m < MINUTES; m++)
			tm_hist_merge(edge, minute);
	double t1 = now_s();
	tm_hist_reset(edge);
	for (int e = 0; e < EDGES; e++)
		for (int m = 0; m < MINUTES; m++)
			tm_hist_merge_encoded(edge, buf.data, buf.len);
	double t2 = now_s();
	size_t range = tm_hist_bucket_of(minute->max_ns) - tm_hist_bucket_of(minute->min_ns) + 1;
	printf("merge: %d x %d merges of a %zu-bucket range: %.1f ms (%.0f ns each)\n",
	       EDGES, MINUTES, range, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (EDGES * MINUTES));
	printf("merge_encoded: %zu bytes each: %.1f ms (%.0f ns each)\n", buf.len,
	       (t2 - t1) * 1e3, (t2 - t1) * 1e9 / (EDGES * MINUTES));
	CHECK(tm_hist_count(edge) == (uint64_t)EDGES * MINUTES * 500);
	tm_buf_free(&buf);
	free(minute);
	free(edge);
}

/* a lazily initialized histogram over garbage behaves as a zeroed one */
static void test_lazy_init(void)
{
	static struct tm_hist lazy, full, part;
	static const uint64_t values[] = { 5000, 70, 123456789, 4000000, 4100000, 999 };
	memset(&lazy, 0xa5, sizeof(lazy));
	tm_hist_init_lazy(&lazy);
	tm_hist_init(&full);
	tm_hist_init(&part);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		/* grow the range both ways, through every path that adds */
		if (i % 2) {
			tm_hist_add(&lazy, values[i]);
		} else {
			struct tm_buf b;
			tm_buf_init(&b);
			tm_hist_reset(&part);
			tm_hist_add(&part, values[i]);
			tm_hist_encode(&part, &b);
			CHECK_INT_EQ(tm_hist_merge_encoded(&lazy, b.data, b.len), 0);
			tm_buf_free(&b);
		}
		tm_hist_add(&full, values[i]);
	}
	static struct tm_hist lazy2;
	memset(&lazy2, 0x5a, sizeof(lazy2));
	tm_hist_init_lazy(&lazy2);
	tm_hist_merge(&lazy2, &lazy);
	for (double q = 0; q <= 1.0; q += 0.05) {
		CHECK(tm_hist_percentile(&lazy, q) == tm_hist_percentile(&full, q));
		CHECK(tm_hist_percentile(&lazy2, q) == tm_hist_percentile(&full, q));
	}
	CHECK(tm_hist_count(&lazy2) == tm_hist_count(&full));
	struct tm_buf a, b;
	tm_buf_init(&a);
	tm_buf_init(&b);
	tm_hist_encode(&lazy2, &a);
	tm_hist_encode(&full, &b);
	CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
	tm_buf_free(&a);
	tm_buf_free(&b);
}

int main(void)
{
	test_bucket_layout();
	test_distributions();
	test_percentile_edges();
	test_bucket_iter();
	test_merge();
	test_remove();
	test_remove_stored();
	test_percentiles_at_once();
	test_lazy_init();
	test_roundtrip();
	test_decode_crafted();
	test_decode_garbage();
	bench_merge();
	return TEST_DONE();
}
