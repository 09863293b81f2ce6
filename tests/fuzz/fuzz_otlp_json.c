/* fuzz_otlp_json.c - OTLP/JSON request bodies of any shape (and with them
 * the pull parser of server/json_reader.c). */
#include "ingest_otlp.h"

#define FUZZ_NAME "fuzz_otlp_json"
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decoder_generic(tm_ingest_otlp_json, data, size);
}
