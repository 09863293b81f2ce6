/* test_otlp_response.c - google.rpc.Status and partial-success bodies,
 * byte for byte and read back with protobuf-c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_response.h"
#include "status.pb-c.h"
#include "testutil.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse PbResponse;

static int bytes_eq(const struct tm_buf *b, const uint8_t *want, size_t len)
{
	if (b->len == len && memcmp(b->data, want, len) == 0)
		return 1;
	fprintf(stderr, "  got %zu bytes:", b->len);
	for (size_t i = 0; i < b->len; i++)
		fprintf(stderr, " %02x", b->data[i]);
	fprintf(stderr, "\n");
	return 0;
}

#define CHECK_BYTES(buf, ...) \
	CHECK(bytes_eq(buf, (const uint8_t[]){ __VA_ARGS__ }, \
		       sizeof((const uint8_t[]){ __VA_ARGS__ })))

static void test_status(void)
{
	struct tm_buf b;
	tm_buf_init(&b);
	/* protocols.md 1.5.4: {code: 3, message: "bad"} */
	tm_otlp_status_encode(&b, 400, "bad");
	CHECK_BYTES(&b, 0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64);

	/* appends: the buffer is not reset */
	tm_otlp_status_encode(&b, 503, "");
	CHECK_BYTES(&b, 0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64, 0x08, 0x0e);

	b.len = 0;
	tm_otlp_status_encode(&b, 500, NULL);
	CHECK_BYTES(&b, 0x08, 0x0d);

	/* a long message: two-byte length, read back by protobuf-c */
	char msg[300];
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	b.len = 0;
	tm_otlp_status_encode(&b, 413, msg);
	Google__Rpc__Status *st = google__rpc__status__unpack(NULL, b.len, b.data);
	CHECK(st != NULL);
	if (st) {
		CHECK_INT_EQ(st->code, 8);
		CHECK_STR_EQ(st->message, msg);
		CHECK_INT_EQ(st->n_details, 0);
		google__rpc__status__free_unpacked(st, NULL);
	}
	tm_buf_free(&b);
}

static void test_grpc_codes(void)
{
	CHECK_INT_EQ(tm_otlp_grpc_code(400), 3);
	CHECK_INT_EQ(tm_otlp_grpc_code(404), 5);
	CHECK_INT_EQ(tm_otlp_grpc_code(413), 8);
	CHECK_INT_EQ(tm_otlp_grpc_code(415), 12);
	CHECK_INT_EQ(tm_otlp_grpc_code(429), 8);
	CHECK_INT_EQ(tm_otlp_grpc_code(500), 13);
	CHECK_INT_EQ(tm_otlp_grpc_code(503), 14);
	CHECK_INT_EQ(tm_otlp_grpc_code(507), 8);
}

static void check_partial(size_t rejected, const char *message)
{
	struct tm_buf b;
	tm_buf_init(&b);
	tm_otlp_partial_success_encode(&b, rejected, message);
	CHECK(!b.failed);
	PbResponse *resp =
		opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
			NULL, b.len, b.data);
	CHECK(resp != NULL);
	CHECK(resp && resp->partial_success != NULL);
	if (resp && resp->partial_success) {
		CHECK_INT_EQ(resp->partial_success->rejected_spans, rejected);
		CHECK_STR_EQ(resp->partial_success->error_message, message ? message : "");
	}
	if (resp)
		opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
			resp, NULL);
	tm_buf_free(&b);
}

static void test_partial_success(void)
{
	check_partial(3, "trace_id must not be all zeros (resource_spans[0].scope_spans[0].spans[0])");
	check_partial(1, "x");
	check_partial(1000000, "");
	/* rejected 0 with a message: a warning on a fully accepted request */
	check_partial(0, "warning: unknown fields were skipped");

	/* Response{partial_success{rejected_spans: 3, error_message: "bad"}} */
	struct tm_buf b;
	tm_buf_init(&b);
	tm_otlp_partial_success_encode(&b, 3, "bad");
	CHECK_BYTES(&b, 0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64);
	tm_buf_free(&b);
}

int main(void)
{
	test_status();
	test_grpc_codes();
	test_partial_success();
	return TEST_DONE();
}
