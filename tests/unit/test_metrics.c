/* test_metrics.c - the Prometheus text of counters, labels and histograms,
 * the reasons /readyz gives, and the per-client token bucket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "client_limit.h"
#include "metrics.h"
#include "testutil.h"

/* the buffer as a C string (the test's copy) */
static char *text_of(struct tm_buf *b)
{
	char *s = malloc(b->len + 1);
	memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	return s;
}

static void test_samples_and_labels(void)
{
	struct tm_buf b, l;
	tm_buf_init(&b);
	tm_buf_init(&l);
	tm_prom_family(&b, "x_total", "counter", "a back\\slash and a\nnewline");
	tm_prom_label(&l, "client", "a\"b\\c\nd", 7);
	tm_prom_label(&l, "server", "caf\xc3\xa9\xff", 6);   /* é kept, 0xff replaced */
	tm_buf_add(&l, "", 1);
	tm_prom_uint(&b, "x_total", (const char *)l.data, 42);
	tm_prom_uint(&b, "x_total", NULL, 7);
	char *s = text_of(&b);
	CHECK_STR_EQ(s, "# HELP x_total a back\\\\slash and a\\nnewline\n"
			"# TYPE x_total counter\n"
			"x_total{client=\"a\\\"b\\\\c\\nd\",server=\"caf\xc3\xa9\xef\xbf\xbd\"} 42\n"
			"x_total 7\n");
	free(s);
	tm_buf_free(&b);
	tm_buf_free(&l);
}

static void test_histogram(void)
{
	static const uint64_t bounds[] = { 100, 200 };
	struct tm_mhist h;
	tm_mhist_init(&h, bounds, 2, 1e-3);
	tm_mhist_observe(&h, 50);
	tm_mhist_observe(&h, 100);   /* le is inclusive */
	tm_mhist_observe(&h, 150);
	tm_mhist_observe(&h, 5000);
	struct tm_buf b;
	tm_buf_init(&b);
	tm_prom_mhist(&b, "d_seconds", "route=\"r\"", &h);
	char *s = text_of(&b);
	CHECK_STR_EQ(s, "d_seconds_bucket{route=\"r\",le=\"0.1\"} 2\n"
			"d_seconds_bucket{route=\"r\",le=\"0.2\"} 3\n"
			"d_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n"
			"d_seconds_sum{route=\"r\"} 5.3\n"
			"d_seconds_count{route=\"r\"} 4\n");
	free(s);
	tm_buf_free(&b);
}

static void test_readiness(void)
{
	char buf[200];
	struct tm_readiness in = { 1, 0, 10, 100, 0, NULL };
	CHECK(tm_readiness_refusal(&in, buf, sizeof(buf)) == NULL);
	in.store_refusal = "store full";
	CHECK_STR_EQ(tm_readiness_refusal(&in, buf, sizeof(buf)), "ingest is refused: store full (507)");
	in.store_refusal = NULL;
	in.queued_bytes = 100;
	CHECK_STR_EQ(tm_readiness_refusal(&in, buf, sizeof(buf)),
		     "the write queue is full (--queue-bytes): ingest gets 503");
	in.queued_bytes = 0;
	in.last_commit_result = -ENOSPC;
	CHECK(strstr(tm_readiness_refusal(&in, buf, sizeof(buf)), "the last commit failed: "));
	in.stopping = 1;
	CHECK_STR_EQ(tm_readiness_refusal(&in, buf, sizeof(buf)), "the server is shutting down");
	in.store_open = 0;
	CHECK_STR_EQ(tm_readiness_refusal(&in, buf, sizeof(buf)), "the store is not open");
}

static struct sockaddr_in addr(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static void test_client_limit(void)
{
	const uint64_t s = 1000000000ull;
	struct tm_client_limit *l = tm_client_limit_new(100, 1000);   /* 100/s, burst 1000 */
	struct sockaddr_in a = addr("10.0.0.1"), b = addr("10.0.0.2");
	const struct sockaddr *pa = (const struct sockaddr *)&a, *pb = (const struct sockaddr *)&b;
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 600, 10 * s), 0);
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 400, 10 * s), 0);
	/* empty: 500 spans need 5 s of refill */
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 500, 10 * s), 5);
	/* another address has its own bucket */
	CHECK_INT_EQ(tm_client_limit_take(l, pb, 1000, 10 * s), 0);
	/* 2.5 s later: 250 there, 500 needs 3 s more (rounded up) */
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 500, 12 * s + s / 2), 3);
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 250, 12 * s + s / 2), 0);
	/* a batch over the burst passes on a full bucket, leaving a debt */
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 5000, 100 * s), 0);
	CHECK_INT_EQ(tm_client_limit_take(l, pa, 1, 100 * s), 41);   /* 4001 spans short */
	/* a refused request gives its spans back */
	CHECK_INT_EQ(tm_client_limit_take(l, pb, 1000, 200 * s), 0);
	tm_client_limit_give_back(l, pb, 1000);
	CHECK_INT_EQ(tm_client_limit_take(l, pb, 1000, 200 * s), 0);
	tm_client_limit_free(l);
}

static void test_client_limit_many(void)
{
	/* more addresses than slots: each still gets a (fresh or own) bucket */
	struct tm_client_limit *l = tm_client_limit_new(1, 10);
	int refused = 0;
	for (unsigned i = 0; i < 3 * TM_CLIENT_LIMIT_SLOTS; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000000u + i) };
		refused += tm_client_limit_take(l, (const struct sockaddr *)&a, 10, 1000) != 0;
	}
	CHECK_INT_EQ(refused, 0);
	tm_client_limit_free(l);
}

int main(void)
{
	test_samples_and_labels();
	test_histogram();
	test_readiness();
	test_client_limit();
	test_client_limit_many();
	return TEST_DONE();
}
