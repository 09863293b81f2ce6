/* otlp_response.c - OTLP/HTTP response bodies, packed with protobuf-c. */
#include "otlp_response.h"

#include "status.pb-c.h"
#include "trace_service.pb-c.h"

int tm_otlp_grpc_code(unsigned http_status)
{
	switch (http_status) {
	case 400:
		return 3;    /* INVALID_ARGUMENT */
	case 401:
		return 16;   /* UNAUTHENTICATED */
	case 404:
		return 5;    /* NOT_FOUND */
	case 405:
	case 415:
		return 12;   /* UNIMPLEMENTED */
	case 413:
	case 429:
	case 507:
		return 8;    /* RESOURCE_EXHAUSTED */
	case 503:
		return 14;   /* UNAVAILABLE */
	default:
		return 13;   /* INTERNAL */
	}
}

static void pack_into(struct tm_buf *out, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	unsigned char *p = tm_buf_reserve(out, n);
	if (!p)
		return;
	out->len += protobuf_c_message_pack(msg, p);
}

void tm_otlp_status_encode(struct tm_buf *out, unsigned http_status, const char *message)
{
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	st.code = tm_otlp_grpc_code(http_status);
	st.message = (char *)message;
	pack_into(out, &st.base);
}

void tm_otlp_partial_success_encode(struct tm_buf *out, size_t rejected, const char *message)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	ps.rejected_spans = (int64_t)rejected;
	ps.error_message = (char *)message;
	resp.partial_success = &ps;
	pack_into(out, &resp.base);
}
