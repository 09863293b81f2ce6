/* fuzz_jaeger_udp.c - Jaeger agent datagrams (Agent.emitBatch in
 * TBinaryProtocol) of any shape: the message envelope, and through it the
 * Batch decoder of fuzz_jaeger.c. */
#include "ingest_jaeger.h"

#define FUZZ_NAME "fuzz_jaeger_udp"
#define FUZZ_DECODE tm_ingest_jaeger_agent_datagram
#include "fuzz_decoder.h"
