/* pb_arena.h - protobuf-c's allocator over a request's arena.
 *
 * protobuf-c would call malloc once per field; from the arena a request's
 * whole message is a few blocks, released with the arena (free is a no-op).
 * It remembers a failed allocation, because unpack then returns NULL exactly
 * as for a malformed body.  Memory: the arena owns everything unpacked. */
#ifndef TM_PB_ARENA_H
#define TM_PB_ARENA_H

#include <protobuf-c/protobuf-c.h>

#include "arena.h"

struct tm_pb_arena {
	ProtobufCAllocator allocator;   /* pass &a->allocator to ..._unpack() */
	struct tm_arena *arena;
	int failed;
};

void tm_pb_arena_init(struct tm_pb_arena *a, struct tm_arena *arena);

#endif
