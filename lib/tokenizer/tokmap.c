/* tokenizer/tokmap.c — string and pair hash tables. */
#include "tokenizer/tokmap.h"

#include <stdlib.h>
#include <string.h>

/* A multiply-xorshift hash over 8-byte words; quality is ample for vocabulary
 * pieces and pre-tokenized words. */
uint64_t st_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8; n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

int st_strmap_init(st_strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(expected * 2 + 1);
    m->slots = calloc(m->cap, sizeof *m->slots);
    return m->slots ? 0 : -1;
}

void st_strmap_free(st_strmap *m)
{
    if (!m) return;
    free(m->slots);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

void st_strmap_clear(st_strmap *m)
{
    if (m->slots) memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->count = 0;
    m->alen = 0;
}

int32_t st_strmap_get_h(const st_strmap *m, const char *k, size_t n, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;;) {
        const st_strmap_slot *s = &m->slots[i];
        if (!s->used) return -1;
        if (s->hash == h && s->klen == n && !memcmp(m->arena + s->koff, k, n)) return s->val;
        i = (i + 1) & mask;
    }
}

int32_t st_strmap_get(const st_strmap *m, const char *k, size_t n)
{
    if (!m->cap) return -1;
    return st_strmap_get_h(m, k, n, st_hash_bytes(k, n));
}

static int strmap_grow(st_strmap *m)
{
    size_t ncap = m->cap * 2;
    st_strmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used) continue;
        size_t j = (size_t)m->slots[i].hash & (ncap - 1);
        while (ns[j].used) j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int st_strmap_put_h(st_strmap *m, const char *k, size_t n, uint64_t h, int32_t v)
{
    if (n > UINT32_MAX / 2) return -1;
    if ((m->count + 1) * 2 > m->cap && strmap_grow(m) < 0) return -1;
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;;) {
        st_strmap_slot *s = &m->slots[i];
        if (!s->used) break;
        if (s->hash == h && s->klen == n && !memcmp(m->arena + s->koff, k, n)) {
            s->val = v;
            return 0;
        }
        i = (i + 1) & mask;
    }
    if (m->alen + n + 1 > m->acap) {
        size_t nc = m->acap ? m->acap : 4096;
        while (nc < m->alen + n + 1) nc *= 2;
        if (nc > UINT32_MAX) return -1;
        char *na = realloc(m->arena, nc);
        if (!na) return -1;
        m->arena = na;
        m->acap = nc;
    }
    if (n) memcpy(m->arena + m->alen, k, n);
    m->arena[m->alen + n] = '\0';
    st_strmap_slot *s = &m->slots[i];
    s->hash = h;
    s->koff = (uint32_t)m->alen;
    s->klen = (uint32_t)n;
    s->val = v;
    s->used = 1;
    m->alen += n + 1;
    m->count++;
    return 0;
}

int st_strmap_put(st_strmap *m, const char *k, size_t n, int32_t v)
{
    return st_strmap_put_h(m, k, n, st_hash_bytes(k, n), v);
}

int st_pairmap_init(st_pairmap *m, size_t expected)
{
    m->cap = pow2_at_least(expected * 2 + 1);
    m->count = 0;
    m->slots = malloc(m->cap * sizeof *m->slots);
    if (!m->slots) { m->cap = 0; return -1; }
    for (size_t i = 0; i < m->cap; i++) m->slots[i].key = UINT64_MAX;
    return 0;
}

void st_pairmap_free(st_pairmap *m)
{
    if (!m) return;
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

int st_pairmap_put(st_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t new_id)
{
    if ((m->count + 1) * 2 > m->cap) {
        st_pairmap old = *m;
        if (st_pairmap_init(m, old.cap) < 0) { *m = old; return -1; }
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].key != UINT64_MAX) {
                const st_pair_slot *s = &old.slots[i];
                st_pairmap_put(m, (int32_t)(s->key >> 32), (int32_t)(uint32_t)s->key, s->rank, s->new_id);
            }
        free(old.slots);
    }
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = m->cap - 1, i = (size_t)(h >> 32) & mask;
    for (;;) {
        st_pair_slot *s = &m->slots[i];
        if (s->key == key) { s->rank = rank; s->new_id = new_id; return 0; }
        if (s->key == UINT64_MAX) {
            s->key = key; s->rank = rank; s->new_id = new_id;
            m->count++;
            return 0;
        }
        i = (i + 1) & mask;
    }
}
