# jaeger.thrift - the part of Jaeger's IDL that POST /api/traces carries, for
# reference only: nothing is generated from it.  server/ingest_jaeger.c reads
# it by hand with server/thrift.c (TBinaryProtocol).
#
# Source: jaeger-idl thrift/jaeger.thrift (the copy shipped in jaeger-client
# 3.19 lacks Batch fields 3 and 4, which newer clients send; both are skipped).
# Field numbers and types are the wire contract; names are documentation.

namespace java io.jaegertracing.thriftjava

enum TagType { STRING, DOUBLE, BOOL, LONG, BINARY }   # 0..4, sent as i32

# jaeger-client (Node) fills all seven fields of every Tag; vType says which
# value field counts.
struct Tag {
  1: required string  key
  2: required TagType vType
  3: optional string  vStr
  4: optional double  vDouble
  5: optional bool    vBool
  6: optional i64     vLong
  7: optional binary  vBinary
}

struct Log {
  1: required i64       timestamp   # microseconds since the epoch
  2: required list<Tag> fields
}

enum SpanRefType { CHILD_OF, FOLLOWS_FROM }   # 0, 1, sent as i32

struct SpanRef {
  1: required SpanRefType refType
  2: required i64         traceIdLow
  3: required i64         traceIdHigh
  4: required i64         spanId
}

struct Span {
  1:  required i64           traceIdLow
  2:  required i64           traceIdHigh    # 0 for 64-bit trace IDs
  3:  required i64           spanId
  4:  required i64           parentSpanId   # 0 for a root
  5:  required string        operationName
  6:  optional list<SpanRef> references
  7:  required i32           flags          # 1 sampled, 2 debug
  8:  required i64           startTime      # microseconds since the epoch
  9:  required i64           duration       # microseconds
  10: optional list<Tag>     tags
  11: optional list<Log>     logs
}

struct Process {
  1: required string    serviceName
  2: optional list<Tag> tags
}

struct ClientStats {
  1: required i64 fullQueueDroppedSpans
  2: required i64 tooLargeDroppedSpans
  3: required i64 failedToEmitSpans
}

struct Batch {
  1: required Process     process
  2: required list<Span>  spans
  3: optional i64         seqNo
  4: optional ClientStats stats
}

# The agent's UDP ports carry the same Batch inside a one-way call
# (not decoded by tracemap):
#   service Agent { oneway void emitBatch(1: Batch batch) }
# 6831 in TCompactProtocol, 6832 in TBinaryProtocol (jaeger-client's default).
