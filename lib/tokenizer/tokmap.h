/* tokenizer/tokmap.h — hash tables for the tokenizer (internal).
 *
 * Defines: st_hash_bytes(), st_strmap (byte string -> int32, keys copied
 * into an arena), st_pairmap (id pair -> merge rank and merged id).
 * Open addressing with linear probing; capacities are powers of two kept at
 * most half full.
 */
#ifndef STRATA_TOKENIZER_TOKMAP_H
#define STRATA_TOKENIZER_TOKMAP_H

#include <stddef.h>
#include <stdint.h>

uint64_t st_hash_bytes(const void *p, size_t n);

typedef struct st_strmap_slot {
    uint64_t hash;
    uint32_t koff, klen;   /* key bytes at arena[koff .. koff+klen) */
    int32_t val;
    int32_t used;
} st_strmap_slot;

typedef struct st_strmap {
    st_strmap_slot *slots;  /* [cap] */
    size_t cap, count;
    char *arena;            /* key bytes, NUL after each key */
    size_t alen, acap;
} st_strmap;

int st_strmap_init(st_strmap *m, size_t expected);   /* 0 or -1 (no memory) */
void st_strmap_free(st_strmap *m);
void st_strmap_clear(st_strmap *m);                  /* keeps the allocation */
/* Inserts or overwrites; returns 0, or -1 on allocation failure. */
int st_strmap_put(st_strmap *m, const char *k, size_t n, int32_t v);
/* Value, or -1 when absent (values stored must be >= 0 to be told apart). */
int32_t st_strmap_get(const st_strmap *m, const char *k, size_t n);
/* Same with a precomputed st_hash_bytes(k, n). */
int32_t st_strmap_get_h(const st_strmap *m, const char *k, size_t n, uint64_t h);
int st_strmap_put_h(st_strmap *m, const char *k, size_t n, uint64_t h, int32_t v);

typedef struct st_pair_slot {
    uint64_t key;          /* (uint64)left << 32 | right; UINT64_MAX = empty */
    int32_t rank, new_id;
} st_pair_slot;

typedef struct st_pairmap {
    st_pair_slot *slots;   /* [cap] */
    size_t cap, count;
} st_pairmap;

int st_pairmap_init(st_pairmap *m, size_t expected);
void st_pairmap_free(st_pairmap *m);
/* Inserts or overwrites (a later duplicate merge wins, as in HF tokenizers). */
int st_pairmap_put(st_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t new_id);
/* The slot for (a, b) or NULL. */
static inline const st_pair_slot *st_pairmap_get(const st_pairmap *m, int32_t a, int32_t b)
{
    if (!m->cap) return NULL;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = m->cap - 1, i = (size_t)(h >> 32) & mask;
    for (;;) {
        const st_pair_slot *s = &m->slots[i];
        if (s->key == key) return s;
        if (s->key == UINT64_MAX) return NULL;
        i = (i + 1) & mask;
    }
}

#endif
