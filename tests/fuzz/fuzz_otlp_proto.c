/* fuzz_otlp_proto.c - OTLP protobuf request bodies of any shape. */
#include "ingest_otlp.h"

#define FUZZ_NAME "fuzz_otlp_proto"
#define FUZZ_DECODE tm_ingest_otlp_proto
#include "fuzz_decoder.h"
