/* ingest_jaeger_udp.c - the Jaeger agent's UDP port: one Agent.emitBatch
 * call per datagram, in TBinaryProtocol (the agent's port 6832).
 *
 * agent.thrift has `oneway void emitBatch(1: jaeger.Batch batch)`, so a
 * datagram is a strict message header (i32 0x8001 << 16 | message type,
 * string method name, i32 seqid), then the call's arguments as a struct
 * whose field 1 is the Batch, then nothing.  jaeger-client (Node) sends the
 * type ONEWAY (4); CALL (1) is accepted too, since a generated client of a
 * non-oneway declaration would send it.  The Batch is handed, exactly its
 * bytes, to tm_ingest_jaeger_thrift(), so the HTTP and UDP paths store the
 * same spans.  The compact protocol of port 6831 (other Jaeger clients) is
 * not read: no client at hand to test it against. */
#include "ingest_jaeger.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "thrift.h"

#define STRICT_VERSION_MASK 0xffff0000u
#define STRICT_VERSION_1 0x80010000u
#define MESSAGE_CALL 1
#define MESSAGE_ONEWAY 4

/* reads the message header up to the arguments struct */
static int read_header(struct tm_thrift_reader *r)
{
	int32_t word, seqid;
	const uint8_t *name;
	size_t name_len;
	if (tm_thrift_read_i32(r, &word) < 0)
		return -EBADMSG;
	uint32_t version = (uint32_t)word;
	if ((version & STRICT_VERSION_MASK) != STRICT_VERSION_1)
		return tm_thrift_fail(r, 0, "not a strict TBinaryProtocol message header "
					    "(0x%08x, expected 0x8001000N)", version);
	unsigned type = version & 0xff;
	if (type != MESSAGE_CALL && type != MESSAGE_ONEWAY)
		return tm_thrift_fail(r, 3, "message type %u is neither CALL (1) nor ONEWAY (4)",
				      type);
	size_t name_at = r->pos;
	if (tm_thrift_read_binary(r, &name, &name_len) < 0)
		return -EBADMSG;
	if (name_len != strlen("emitBatch") || memcmp(name, "emitBatch", name_len))
		return tm_thrift_fail(r, name_at, "method \"%.*s\" is not emitBatch",
				      (int)(name_len < 40 ? name_len : 40), (const char *)name);
	return tm_thrift_read_i32(r, &seqid);
}

/* reads the arguments struct to its end, noting where its field 1, the
 * Batch, begins and ends; unknown fields are skipped as thrift allows */
static int find_batch(struct tm_thrift_reader *r, size_t *start, size_t *end)
{
	*start = *end = 0;
	for (;;) {
		uint8_t type;
		int16_t id;
		if (tm_thrift_read_field(r, &type, &id) < 0)
			return -EBADMSG;
		if (type == TM_THRIFT_STOP)
			break;
		if (id == 1 && type != TM_THRIFT_STRUCT)
			return tm_thrift_fail(r, r->field_offset, "emitBatch's batch (1) is %s, "
					      "expected struct", tm_thrift_type_name(type));
		if (id == 1 && *end)
			return tm_thrift_fail(r, r->field_offset, "emitBatch's batch (1) appears twice");
		size_t at = r->pos;
		if (tm_thrift_skip(r, type) < 0)
			return -EBADMSG;
		if (id == 1) {
			*start = at;
			*end = r->pos;
		}
	}
	if (!*end)
		return tm_thrift_fail(r, r->pos, "emitBatch without its batch (field 1)");
	if (r->pos != r->len)
		return tm_thrift_fail(r, r->pos, "%zu bytes after the end of the emitBatch message",
				      r->len - r->pos);
	return 0;
}

/* the Batch decoder counts offsets from the Batch's first byte: say where
 * that is in the datagram, before its message (whose end may be cut) */
static void locate_message(struct tm_ingest_report *report, size_t batch_at)
{
	char prefix[48];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "Batch at datagram byte %zu: ",
				    batch_at);
	size_t len = strlen(report->message);
	if (len > sizeof(report->message) - 1 - n)
		len = sizeof(report->message) - 1 - n;
	memmove(report->message + n, report->message, len);
	memcpy(report->message, prefix, n);
	report->message[n + len] = '\0';
}

int tm_ingest_jaeger_agent_datagram(const void *data, size_t len, struct tm_arena *arena,
				    struct tm_batch *batch, struct tm_ingest_report *report)
{
	struct tm_thrift_reader r;
	size_t start, end;
	tm_thrift_reader_init(&r, data, len);
	if (read_header(&r) < 0 || find_batch(&r, &start, &end) < 0) {
		memset(report, 0, sizeof(*report));
		tm_batch_init(batch, arena);
		tm_batch_done(batch);
		snprintf(report->message, sizeof(report->message),
			 "not a TBinaryProtocol Agent.emitBatch message: %s", r.error);
		return -EBADMSG;
	}
	int rc = tm_ingest_jaeger_thrift((const uint8_t *)data + start, end - start, arena, batch,
					 report);
	if (rc == -EBADMSG || (!rc && report->rejected))
		locate_message(report, start);
	return rc;
}
