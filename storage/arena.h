/* arena.h - bump-pointer memory arena, freed all at once.
 *
 * One arena serves one request (or one read of a trace): everything decoded
 * for it is carved out of a few large blocks and released together by
 * tm_arena_clear().  Blocks grow geometrically, so a request of any size
 * costs a handful of malloc calls instead of one per field.
 *
 * Threads: an arena belongs to one thread at a time.
 * Errors:  allocation returns NULL when malloc fails or when the arena would
 *          grow past its limit (tm_arena_init's max_bytes; 0 = no limit).
 * Memory:  the arena owns every pointer it hands out; they die at
 *          tm_arena_clear(). */
#ifndef TM_ARENA_H
#define TM_ARENA_H

#include <stddef.h>

struct tm_arena_block;

struct tm_arena {
	struct tm_arena_block *head;  /* newest block first */
	size_t used_bytes;            /* bytes in all blocks, for the limit */
	size_t max_bytes;             /* 0 = unlimited */
	int hit_limit;                /* an allocation was refused for max_bytes */
};

/* prepares an empty arena; nothing is allocated until the first use. */
void tm_arena_init(struct tm_arena *a, size_t max_bytes);

/* frees every block; the arena may be used again afterwards. */
void tm_arena_clear(struct tm_arena *a);

/* returns size bytes aligned for any type, or NULL (see Errors above). */
void *tm_arena_alloc(struct tm_arena *a, size_t size);

/* like tm_arena_alloc() but zero-filled. */
void *tm_arena_zalloc(struct tm_arena *a, size_t size);

/* copies len bytes into the arena; returns NULL on failure. */
void *tm_arena_dup(struct tm_arena *a, const void *src, size_t len);

#endif
