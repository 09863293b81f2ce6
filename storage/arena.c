/* arena.c - bump-pointer memory arena. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_FIRST_BLOCK (16 * 1024)
#define ARENA_ALIGN 16

struct tm_arena_block {
	struct tm_arena_block *next;
	size_t size;   /* usable bytes in data[] */
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void tm_arena_init(struct tm_arena *a, size_t max_bytes)
{
	a->head = NULL;
	a->used_bytes = 0;
	a->max_bytes = max_bytes;
	a->hit_limit = 0;
}

void tm_arena_clear(struct tm_arena *a)
{
	struct tm_arena_block *b = a->head;
	while (b) {
		struct tm_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used_bytes = 0;
	a->hit_limit = 0;   /* else the next user of the arena reads a stale refusal */
}

static struct tm_arena_block *arena_grow(struct tm_arena *a, size_t need)
{
	size_t size = a->head ? a->head->size * 2 : ARENA_FIRST_BLOCK;
	while (size < need)
		size *= 2;
	if (a->max_bytes && a->used_bytes + size > a->max_bytes) {
		/* a last block just big enough may still fit under the limit */
		size = need;
		if (a->used_bytes + size > a->max_bytes) {
			a->hit_limit = 1;
			return NULL;
		}
	}
	struct tm_arena_block *b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	b->used = 0;
	b->next = a->head;
	a->head = b;
	a->used_bytes += size;
	return b;
}

void *tm_arena_alloc(struct tm_arena *a, size_t size)
{
	if (size > SIZE_MAX / 4)
		return NULL;
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (rounded == 0)
		rounded = ARENA_ALIGN;
	struct tm_arena_block *b = a->head;
	if (!b || b->size - b->used < rounded) {
		b = arena_grow(a, rounded);
		if (!b)
			return NULL;
	}
	void *p = b->data + b->used;
	b->used += rounded;
	return p;
}

void *tm_arena_zalloc(struct tm_arena *a, size_t size)
{
	void *p = tm_arena_alloc(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *tm_arena_dup(struct tm_arena *a, const void *src, size_t len)
{
	void *p = tm_arena_alloc(a, len);
	if (p && len)
		memcpy(p, src, len);
	return p;
}
