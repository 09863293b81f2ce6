/* fuzz_jaeger_udp.c - Jaeger agent datagrams (Agent.emitBatch in
 * TBinaryProtocol) of any shape: the message envelope, and through it the
 * Batch decoder. */
#include "ingest_jaeger.h"

#define FUZZ_NAME "fuzz_jaeger_udp"
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decoder_generic(tm_ingest_jaeger_agent_datagram, data, size);
}
