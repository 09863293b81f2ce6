/* test_query_params.c - server/query_params.c.
 *
 * Go durations against values computed by Go's time.ParseDuration, RFC 3339
 * times against date(1) and leap-year edges, bounded integers, Jaeger tags
 * (JSON and key:value) and Zipkin annotation queries against the rules of
 * their reference implementations; every refusal checks that the message
 * names the parameter.  Random inputs must never crash or leave err empty. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query_params.h"
#include "testutil.h"

static char err[256];

/* err contains want (a refusal explains itself). */
static void check_err_has(const char *want, int line)
{
	if (!strstr(err, want)) {
		fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, line, err, want);
		testutil_failures++;
	}
}

#define ERR_HAS(want) check_err_has(want, __LINE__)

/*---- durations ----*/

static void test_duration_ok(void)
{
	static const struct { const char *text; int64_t ns; } cases[] = {
		{ "0", 0 }, { "+0", 0 }, { "-0", 0 }, { "0s", 0 }, { "-0s", 0 },
		{ "5s", 5000000000 }, { "+5s", 5000000000 }, { "30s", 30000000000 },
		{ "1478s", 1478000000000 }, { "1.5s", 1500000000 }, { "1.2s", 1200000000 },
		{ "300ms", 300000000 }, { "15us", 15000 }, { "15\xC2\xB5s", 15000 },
		{ "15\xCE\xBCs", 15000 }, { "100ns", 100 }, { "2m", 120000000000 },
		{ "1h", 3600000000000 }, { "1h15m30.5s", 4530500000000 },
		{ "1h15m30.918273645s", 4530918273645 }, { ".5s", 500000000 },
		{ "5.s", 5000000000 }, { "1.004s", 1004000000 }, { "1.0040s", 1004000000 },
		{ "100.00100s", 100001000000 }, { "3h30m", 12600000000000 },
		{ "10.5s4m", 250500000000 }, { "1ms1ns", 1000001 }, { "0.3333333333333333333h", 1200000000000 },
		/* Go's own largest-value tests */
		{ "9223372036854775807ns", INT64_MAX },
		{ "9223372036s854ms775us807ns", INT64_MAX },
		{ "2562047h47m16.854775807s", INT64_MAX },
		{ "0.100000000000000000000h", 360000000000 },
		{ "0.830103483285477580700h", 2988372539827 },
		{ "0.9223372036854775807h", 3320413933267 },
		{ "0.000000000000000000001s", 0 },
		{ "9223372036854775807.1ns", INT64_MAX },   /* the fraction adds 0 ns */
		{ "9007199254.740993ms", INT64_C(9007199254740993) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = -1;
		int rc = tm_qp_duration("minDuration", cases[i].text, &ns, err, sizeof(err));
		if (rc != 0 || ns != cases[i].ns)
			fprintf(stderr, "duration %s: rc %d, %lld ns, want %lld (%s)\n", cases[i].text,
				rc, (long long)ns, (long long)cases[i].ns, rc ? err : "");
		CHECK_INT_EQ(rc, 0);
		CHECK_INT_EQ(ns, cases[i].ns);
	}
}

static void test_duration_refused(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "", "\"\" is not a duration (examples: 1.5s, 300ms, 15us)" },
		{ "abc", "invalid value for parameter 'minDuration': \"abc\" is not a duration "
			 "(examples: 1.5s, 300ms, 15us)" },
		{ "3", "\"3\" is not a duration: a unit is missing" },
		{ "300", "a unit is missing" },
		{ "00", "a unit is missing" },
		{ "-", "is not a duration" },
		{ "+", "is not a duration" },
		{ ".", "is not a duration" },
		{ ".s", "is not a duration" },
		{ "-.s", "is not a duration" },
		{ "s", "is not a duration" },
		{ "1.5.3s", "a unit is missing" },
		{ " 1s", "is not a duration" },
		{ "1s ", "unknown unit \"s \"" },
		{ "5d", "unknown unit \"d\" (units: ns, us, \xC2\xB5s, ms, s, m, h)" },
		{ "1S", "unknown unit \"S\"" },
		{ "1sec", "unknown unit \"sec\"" },
		{ "-1s", "\"-1s\" is negative" },
		{ "-1h15m", "is negative" },
		{ "9223372036854775808ns", "is too long a duration" },
		{ "2562047h47m16.854775808s", "is too long a duration" },
		{ "2562048h", "is too long a duration" },
		{ "99999999999999999999s", "is too long a duration" },
		{ "5000000h", "is too long a duration" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = 12345;
		err[0] = '\0';
		CHECK_INT_EQ(tm_qp_duration("minDuration", cases[i].text, &ns, err, sizeof(err)),
			     -EINVAL);
		CHECK_INT_EQ(ns, 12345);   /* untouched */
		ERR_HAS("invalid value for parameter 'minDuration': ");
		ERR_HAS(cases[i].want);
	}
	/* a hostile value is quoted, escaped and cut */
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '"';
	big[1] = '\n';
	int64_t ns;
	CHECK_INT_EQ(tm_qp_duration("maxDuration", big, &ns, err, sizeof(err)), -EINVAL);
	ERR_HAS("'maxDuration': \"\\\"\\x0axxx");
	ERR_HAS("xxx...\" is not a duration");
	/* a tiny buffer still gets a NUL-terminated prefix */
	char small[10];
	CHECK_INT_EQ(tm_qp_duration("minDuration", "x", &ns, small, sizeof(small)), -EINVAL);
	CHECK_STR_EQ(small, "invalid v");
	CHECK_INT_EQ(tm_qp_duration("minDuration", "x", &ns, NULL, 0), -EINVAL);
	CHECK_INT_EQ(tm_qp_duration("minDuration", NULL, &ns, err, sizeof(err)), -EINVAL);
}

/*---- RFC 3339 ----*/

static void test_rfc3339_ok(void)
{
	static const struct { const char *text; uint64_t ns; } cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1970-01-01T00:00:00.000000001Z", 1 },
		{ "2026-08-01T10:00:00.000000000Z", 1785578400000000000u },
		{ "2026-08-01T10:00:00Z", 1785578400000000000u },
		{ "2026-08-01t10:00:00z", 1785578400000000000u },
		{ "2026-08-01T12:00:00+02:00", 1785578400000000000u },
		{ "2026-08-01T05:30:00-04:30", 1785578400000000000u },
		{ "2026-08-01T10:00:00-00:00", 1785578400000000000u },
		{ "2026-08-01T10:00:00.5Z", 1785578400500000000u },
		{ "2026-08-01T10:00:00.123456789Z", 1785578400123456789u },
		{ "2026-08-01T10:00:00.000001+00:00", 1785578400000001000u },
		{ "2023-11-14T22:13:20Z", 1700000000000000000u },
		{ "2000-02-29T00:00:00Z", 951782400000000000u },    /* leap: divisible by 400 */
		{ "2024-02-29T23:59:59Z", 1709251199000000000u },
		{ "2024-12-31T23:59:59.999999999Z", 1735689599999999999u },
		{ "1970-01-01T01:00:00+01:00", 0 },
		{ "2554-07-21T23:34:33.709551615Z", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 7;
		int rc = tm_qp_rfc3339("query.start_time_min", cases[i].text, &ns, err, sizeof(err));
		if (rc != 0 || ns != cases[i].ns)
			fprintf(stderr, "rfc3339 %s: rc %d, %llu, want %llu (%s)\n", cases[i].text, rc,
				(unsigned long long)ns, (unsigned long long)cases[i].ns, rc ? err : "");
		CHECK_INT_EQ(rc, 0);
		CHECK(ns == cases[i].ns);
	}
}

static void test_rfc3339_refused(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "", "the date is not YYYY-MM-DD" },
		{ "yesterday", "the date is not YYYY-MM-DD" },
		{ "1700000000", "the date is not YYYY-MM-DD" },
		{ "2026-8-01T10:00:00Z", "the date is not YYYY-MM-DD" },
		{ "2026-08-01", "'T' expected after the date" },
		{ "2026-08-01 10:00:00Z", "'T' expected after the date" },
		{ "2026-08-01T10:00Z", "the time is not hh:mm:ss" },
		{ "2026-08-01T10:00:00", "'Z' or an offset like +02:00 expected" },
		{ "2026-08-01T10:00:00.Z", "1 to 9 digits" },
		{ "2026-08-01T10:00:00.1234567891Z", "1 to 9 digits" },
		{ "2026-08-01T10:00:00+0200", "the offset is not +hh:mm" },
		{ "2026-08-01T10:00:00+24:00", "the offset is not +hh:mm" },
		{ "2026-08-01T10:00:00+02:60", "the offset is not +hh:mm" },
		{ "2026-08-01T10:00:00Zjunk", "unexpected text after the time" },
		{ "2026-13-01T10:00:00Z", "month out of range" },
		{ "2026-00-01T10:00:00Z", "month out of range" },
		{ "2026-02-29T10:00:00Z", "day out of range" },
		{ "1900-02-29T10:00:00Z", "day out of range" },   /* not a leap year */
		{ "2026-04-31T10:00:00Z", "day out of range" },
		{ "2026-08-00T10:00:00Z", "day out of range" },
		{ "2026-08-01T24:00:00Z", "hour out of range" },
		{ "2026-08-01T10:60:00Z", "minute out of range" },
		{ "2016-12-31T23:59:60Z", "second out of range" },
		{ "1969-12-31T23:59:59Z", "is before 1970" },
		{ "1970-01-01T00:00:00+00:01", "is before 1970" },
		{ "0000-01-01T00:00:00Z", "is before 1970" },
		{ "2554-07-21T23:34:33.709551616Z", "is after 2554" },
		{ "9999-12-31T23:59:59Z", "is after 2554" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 7;
		err[0] = '\0';
		CHECK_INT_EQ(tm_qp_rfc3339("query.start_time_max", cases[i].text, &ns, err,
					   sizeof(err)), -EINVAL);
		CHECK(ns == 7);
		ERR_HAS("invalid value for parameter 'query.start_time_max': \"");
		ERR_HAS(cases[i].want);
	}
	uint64_t ns;
	CHECK_INT_EQ(tm_qp_rfc3339("t", "x", &ns, err, sizeof(err)), -EINVAL);
	ERR_HAS("(example: 2026-08-01T10:00:00.000000000Z)");
}

/* every day from 1970 to 2400 against a day counter, so days_from_civil
 * cannot be off anywhere (centuries, 400-year cycles) */
static void test_rfc3339_every_day(void)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint64_t day = 0;
	char text[64];

	for (int y = 1970; y <= 2400; y++) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		for (int m = 1; m <= 12; m++) {
			int last = mdays[m - 1] + (m == 2 && leap);
			for (int d = 1; d <= last; d++, day++) {
				uint64_t ns = 0;
				snprintf(text, sizeof(text), "%04d-%02d-%02dT00:00:01Z", y, m, d);
				if (tm_qp_rfc3339("t", text, &ns, err, sizeof(err)) != 0 ||
				    ns != (day * 86400 + 1) * 1000000000u) {
					CHECK_STR_EQ(text, "a time that parses to its day");
					return;
				}
			}
		}
	}
}

/*---- integers ----*/

static void test_int(void)
{
	static const struct { const char *text; int64_t v; } ok[] = {
		{ "1", 1 }, { "1500", 1500 }, { "+20", 20 }, { "0020", 20 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = 0;
		CHECK_INT_EQ(tm_qp_int("limit", ok[i].text, 1, 1500, &v, err, sizeof(err)), 0);
		CHECK_INT_EQ(v, ok[i].v);
	}
	int64_t v = 99;
	CHECK_INT_EQ(tm_qp_int("limit", "-1", 1, 1500, &v, err, sizeof(err)), -EINVAL);
	CHECK_STR_EQ(err, "invalid value for parameter 'limit': -1 (allowed: 1 to 1500)");
	CHECK_INT_EQ(v, 99);
	CHECK_INT_EQ(tm_qp_int("limit", "100000", 1, 1500, &v, err, sizeof(err)), -EINVAL);
	CHECK_STR_EQ(err, "invalid value for parameter 'limit': 100000 (allowed: 1 to 1500)");
	CHECK_INT_EQ(tm_qp_int("limit", "0", 1, 1500, &v, err, sizeof(err)), -EINVAL);
	static const char *const not_int[] = {
		"", "abc", "1.5", "1e3", " 1", "1 ", "0x10", "-", "+", "--1", "1-", "12a",
	};
	for (size_t i = 0; i < sizeof(not_int) / sizeof(not_int[0]); i++) {
		char want[128];
		snprintf(want, sizeof(want),
			 "invalid value for parameter 'limit': \"%s\" is not an integer", not_int[i]);
		CHECK_INT_EQ(tm_qp_int("limit", not_int[i], 1, 1500, &v, err, sizeof(err)), -EINVAL);
		CHECK_STR_EQ(err, want);
	}
	/* the int64 range, and beyond it */
	CHECK_INT_EQ(tm_qp_int("end", "9223372036854775807", 0, INT64_MAX, &v, err, sizeof(err)), 0);
	CHECK_INT_EQ(v, INT64_MAX);
	CHECK_INT_EQ(tm_qp_int("x", "-9223372036854775808", INT64_MIN, 0, &v, err, sizeof(err)), 0);
	CHECK_INT_EQ(v, INT64_MIN);
	CHECK_INT_EQ(tm_qp_int("end", "9223372036854775808", 0, INT64_MAX, &v, err, sizeof(err)),
		     -EINVAL);
	CHECK_STR_EQ(err, "invalid value for parameter 'end': 9223372036854775808 "
			  "(allowed: 0 to 9223372036854775807)");
	CHECK_INT_EQ(tm_qp_int("end", "1000000000000000000000000000000", 0, 10, &v, err,
			       sizeof(err)), -EINVAL);
	CHECK_STR_EQ(err, "invalid value for parameter 'end': \"1000000000000000000000000000000\" "
			  "(allowed: 0 to 10)");
}

/*---- Jaeger tags ----*/

static const char *pair_key(const struct tm_qp_pairs *p, size_t i)
{
	static char buf[4][256];
	static int next;
	char *out = buf[next++ % 4];
	snprintf(out, 256, "%.*s", (int)p->items[i].key.len, p->items[i].key.ptr);
	return out;
}

static const char *pair_value(const struct tm_qp_pairs *p, size_t i)
{
	static char buf[4][256];
	static int next;
	char *out = buf[next++ % 4];
	snprintf(out, 256, "%.*s", (int)p->items[i].value.len, p->items[i].value.ptr);
	return out;
}

static void test_tags_json(void)
{
	struct tm_arena arena;
	struct tm_qp_pairs tags = { 0 };
	/* the text is gone after the call: the pairs are copies */
	char *text = strdup("{\"http.status_code\":\"500\", \"error\":true, \"n\":1.50,"
			    "\"neg\":-2e3, \"ok\":false, \"esc\":\"a\\\"b\\u00e9\\n\", \"\":\"\"}");

	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_qp_tags_json("tags", text, &arena, &tags, err, sizeof(err)), 0);
	memset(text, 'X', strlen(text));
	free(text);
	CHECK_INT_EQ(tags.n, 7);
	if (tags.n == 7) {
		CHECK_STR_EQ(pair_key(&tags, 0), "http.status_code");
		CHECK_STR_EQ(pair_value(&tags, 0), "500");
		CHECK_STR_EQ(pair_key(&tags, 1), "error");
		CHECK_STR_EQ(pair_value(&tags, 1), "true");
		CHECK_STR_EQ(pair_value(&tags, 2), "1.50");   /* as written */
		CHECK_STR_EQ(pair_value(&tags, 3), "-2e3");
		CHECK_STR_EQ(pair_value(&tags, 4), "false");
		CHECK_STR_EQ(pair_value(&tags, 5), "a\"b\xc3\xa9\n");
		CHECK_STR_EQ(pair_key(&tags, 6), "");
	}
	/* a later key wins, as in Jaeger's map; tag= before tags= */
	CHECK_INT_EQ(tm_qp_tags_json("tags", "{\"error\":\"false\",\"error\":\"x\",\"new\":\"1\"}",
				     &arena, &tags, err, sizeof(err)), 0);
	CHECK_INT_EQ(tags.n, 8);
	CHECK_STR_EQ(pair_value(&tags, 1), "x");
	CHECK_STR_EQ(pair_key(&tags, 7), "new");
	/* whitespace and an empty object */
	struct tm_qp_pairs empty = { 0 };
	CHECK_INT_EQ(tm_qp_tags_json("tags", " \t{ }\n", &arena, &empty, err, sizeof(err)), 0);
	CHECK_INT_EQ(empty.n, 0);
	tm_arena_clear(&arena);
}

static void test_tags_json_refused(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "", "\"\" is not a JSON object such as {\"http.status_code\":\"500\"" },
		{ "abc", "\"abc\" is not a JSON object such as" },
		{ "[1]", "is not a JSON object" },
		{ "\"s\"", "is not a JSON object" },
		{ "{", "malformed JSON (unexpected end at byte 1); expected an object such as {" },
		{ "{\"a\"}", "malformed JSON (':' expected at byte 4)" },
		{ "{\"a\":\"b\",}", "malformed JSON (object key expected" },
		{ "{\"a\":\"b\"} x", "malformed JSON (trailing data" },
		{ "{\"a\":\"b\"}{}", "malformed JSON (trailing data" },
		{ "{a:1}", "malformed JSON (object key expected" },
		{ "{\"a\":null}", "the value of \"a\" is not a string, number or boolean" },
		{ "{\"a\":{\"b\":1}}", "the value of \"a\" is not a string, number or boolean" },
		{ "{\"a\":[\"x\"]}", "the value of \"a\" is not a string, number or boolean" },
		{ "{\"a\":tru}", "malformed JSON (true or false expected" },
		{ "{\"a\":-}", "malformed JSON (number expected" },
		{ "{\"a\":\"\\q\"}", "malformed JSON (bad escape" },
		{ "{\"a\":\"b", "malformed JSON (unterminated string" },
	};
	struct tm_arena arena;

	tm_arena_init(&arena, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tm_qp_pairs tags = { 0 };
		err[0] = '\0';
		CHECK_INT_EQ(tm_qp_tags_json("tags", cases[i].text, &arena, &tags, err, sizeof(err)),
			     -EINVAL);
		ERR_HAS("invalid value for parameter 'tags': ");
		ERR_HAS(cases[i].want);
	}
	/* the name given is the one reported (/api/v3) */
	struct tm_qp_pairs tags = { 0 };
	CHECK_INT_EQ(tm_qp_tags_json("query.attributes", "{", &arena, &tags, err, sizeof(err)),
		     -EINVAL);
	ERR_HAS("invalid value for parameter 'query.attributes': malformed JSON");
	tm_arena_clear(&arena);
	/* an arena too small for the copies */
	tm_arena_init(&arena, 64);
	char body[4096];
	int n = sprintf(body, "{");
	for (int i = 0; i < 100; i++)
		n += sprintf(body + n, "%s\"key%d\":\"value-%d-xxxxxxxxxxxxxxxxxxxx\"", i ? "," : "", i, i);
	strcpy(body + n, "}");
	tags = (struct tm_qp_pairs){ 0 };
	CHECK_INT_EQ(tm_qp_tags_json("tags", body, &arena, &tags, err, sizeof(err)), -ENOMEM);
	ERR_HAS("out of memory reading parameter 'tags'");
	tm_arena_clear(&arena);
}

static void test_tag_pair(void)
{
	struct tm_arena arena;
	struct tm_qp_pairs tags = { 0 };

	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_qp_tag_pair("tag", "http.url:http://x:80/a", &arena, &tags, err,
				    sizeof(err)), 0);
	CHECK_INT_EQ(tm_qp_tag_pair("tag", "error:", &arena, &tags, err, sizeof(err)), 0);
	/* an empty key can match nothing: refused (found by fuzz_query_params) */
	CHECK_INT_EQ(tm_qp_tag_pair("tag", ":v", &arena, &tags, err, sizeof(err)), -EINVAL);
	ERR_HAS("empty key");
	CHECK_INT_EQ(tm_qp_tag_pair("tag", "error:true", &arena, &tags, err, sizeof(err)), 0);
	CHECK_INT_EQ(tm_qp_tag_pair("tag", "z:v", &arena, &tags, err, sizeof(err)), 0);
	CHECK_INT_EQ(tags.n, 3);
	if (tags.n == 3) {
		CHECK_STR_EQ(pair_key(&tags, 0), "http.url");
		CHECK_STR_EQ(pair_value(&tags, 0), "http://x:80/a");   /* split at the first ':' */
		CHECK_STR_EQ(pair_key(&tags, 1), "error");
		CHECK_STR_EQ(pair_value(&tags, 1), "true");              /* the later one */
		CHECK_STR_EQ(pair_key(&tags, 2), "z");
		CHECK_STR_EQ(pair_value(&tags, 2), "v");
	}
	CHECK_INT_EQ(tm_qp_tag_pair("tag", "noColon", &arena, &tags, err, sizeof(err)), -EINVAL);
	CHECK_STR_EQ(err, "invalid value for parameter 'tag': \"noColon\" is not key:value");
	CHECK_INT_EQ(tm_qp_tag_pair("tag", "", &arena, &tags, err, sizeof(err)), -EINVAL);
	ERR_HAS("'tag': \"\" is not key:value");
	/* more pairs than the first allocation holds */
	for (int i = 0; i < 50; i++) {
		char text[32];
		snprintf(text, sizeof(text), "k%d:%d", i, i);
		CHECK_INT_EQ(tm_qp_tag_pair("tag", text, &arena, &tags, err, sizeof(err)), 0);
	}
	CHECK_INT_EQ(tags.n, 53);
	CHECK_STR_EQ(pair_key(&tags, 52), "k49");
	CHECK_STR_EQ(pair_value(&tags, 52), "49");
	CHECK_STR_EQ(pair_value(&tags, 0), "http://x:80/a");
	tm_arena_clear(&arena);
}

/*---- Zipkin annotationQuery ----*/

/* the terms of a query as "k=v|k|..." */
static const char *terms_of(const char *query)
{
	static char out[1024];
	struct tm_arena arena;
	struct tm_qp_pairs terms = { 0 };
	size_t o = 0;

	tm_arena_init(&arena, 0);
	out[0] = '\0';
	if (tm_qp_annotation_query("annotationQuery", query, &arena, &terms, err, sizeof(err)))
		snprintf(out, sizeof(out), "(error %s)", err);
	for (size_t i = 0; i < terms.n && o < sizeof(out) - 1; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%s%s", i ? "|" : "",
				      pair_key(&terms, i), terms.items[i].value.len ? "=" : "",
				      pair_value(&terms, i));
	tm_arena_clear(&arena);
	return out;
}

static void test_annotation_query(void)
{
	CHECK_STR_EQ(terms_of(""), "");
	CHECK_STR_EQ(terms_of(NULL), "");
	CHECK_STR_EQ(terms_of("error"), "error");
	CHECK_STR_EQ(terms_of("http.uri=/foo and retried"), "http.uri=/foo|retried");
	CHECK_STR_EQ(terms_of("http.method=GET and error"), "http.method=GET|error");
	/* trimmed; split at the first '=' */
	CHECK_STR_EQ(terms_of("  a = b=c  and \tword\t"), "a=b=c|word");
	/* only " and " splits: not "AND", not "and" without spaces */
	CHECK_STR_EQ(terms_of("a AND b"), "a AND b");
	CHECK_STR_EQ(terms_of("band=1 and android"), "band=1|android");
	CHECK_STR_EQ(terms_of("a andb"), "a andb");
	/* empty terms and empty keys are skipped */
	CHECK_STR_EQ(terms_of(" and a and  and b and "), "a|b");
	CHECK_STR_EQ(terms_of("=v and k="), "k");
	/* key=value replaces a bare word and an earlier value; a bare word
	 * never replaces */
	CHECK_STR_EQ(terms_of("error and error=x"), "error=x");
	CHECK_STR_EQ(terms_of("k=1 and k=2"), "k=2");
	CHECK_STR_EQ(terms_of("k=1 and k"), "k=1");
	/* at most 100 terms: the last keeps the rest, as String.split(.., 100) */
	char q[2048];
	size_t n = 0;
	for (int i = 0; i < 102; i++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, "%st%d", i ? " and " : "", i);
	const char *t = terms_of(q);
	CHECK(strstr(t, "|t98|t99 and t100 and t101") != NULL);
	CHECK(strstr(t, "|t100") == NULL);
}

/*---- robustness ----*/

/* random short texts: every call returns 0 or -EINVAL with a message
 * naming the parameter, and ASan sees no bad access */
static void test_random_inputs(void)
{
	static const char alphabet[] = "0123456789.+-:TZtzhmsunµμ{}[]\",:e aE\x80\xff\\";
	uint64_t x = 0x2545f4914f6cdd1du;
	char text[24];
	struct tm_arena arena;

	tm_arena_init(&arena, 1 << 20);
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t len = x % sizeof(text);
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			text[j] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		text[len] = '\0';
		int64_t v;
		uint64_t u;
		struct tm_qp_pairs pairs = { 0 };
		int rc;
		switch (i % 5) {
		case 0: rc = tm_qp_duration("p", text, &v, err, sizeof(err)); break;
		case 1: rc = tm_qp_rfc3339("p", text, &u, err, sizeof(err)); break;
		case 2: rc = tm_qp_int("p", text, -5, 5, &v, err, sizeof(err)); break;
		case 3: rc = tm_qp_tags_json("p", text, &arena, &pairs, err, sizeof(err)); break;
		default: rc = tm_qp_annotation_query("p", text, &arena, &pairs, err, sizeof(err));
		}
		if (rc != 0 && (rc != -EINVAL || !strstr(err, "parameter 'p'"))) {
			fprintf(stderr, "input \"%s\": rc %d, \"%s\"\n", text, rc, err);
			testutil_failures++;
			break;
		}
		if (i % 1000 == 0)
			tm_arena_clear(&arena);
	}
	tm_arena_clear(&arena);
}

int main(void)
{
	test_duration_ok();
	test_duration_refused();
	test_rfc3339_ok();
	test_rfc3339_refused();
	test_rfc3339_every_day();
	test_int();
	test_tags_json();
	test_tags_json_refused();
	test_tag_pair();
	test_annotation_query();
	test_random_inputs();
	return TEST_DONE();
}
