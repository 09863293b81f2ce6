/* fuzz_otlp_json.c - OTLP/JSON request bodies of any shape (and with them
 * the pull parser of server/json_reader.c). */
#include "ingest_otlp.h"

#define FUZZ_NAME "fuzz_otlp_json"
#define FUZZ_DECODE tm_ingest_otlp_json
#include "fuzz_decoder.h"
