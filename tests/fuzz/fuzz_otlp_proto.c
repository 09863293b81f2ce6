/* fuzz_otlp_proto.c - OTLP protobuf request bodies of any shape. */
#include "ingest_otlp.h"

#define FUZZ_NAME "fuzz_otlp_proto"
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decoder_generic(tm_ingest_otlp_proto, data, size);
}
