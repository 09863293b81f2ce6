/* pb_arena.c - protobuf-c allocations from a tm_arena. */
#include "pb_arena.h"

static void *pb_arena_alloc(void *data, size_t size)
{
	struct tm_pb_arena *a = data;
	void *p = tm_arena_alloc(a->arena, size);
	if (!p)
		a->failed = 1;
	return p;
}

static void pb_arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;   /* released with the whole arena */
}

void tm_pb_arena_init(struct tm_pb_arena *a, struct tm_arena *arena)
{
	a->allocator.alloc = pb_arena_alloc;
	a->allocator.free = pb_arena_free;
	a->allocator.allocator_data = a;
	a->arena = arena;
	a->failed = 0;
}
