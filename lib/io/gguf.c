/* io/gguf.c — see gguf.h.  Written from the GGUF specification. */
#include "io/gguf.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "io/mmap_file.h"
#include "util/half.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader maps F32 tensor data directly and needs a little-endian host"
#endif

/* ------------------------------------------------------------------ */
/* arena: every string and value the context hands out lives here     */

typedef struct st_arena_blk {
    struct st_arena_blk *next;
    size_t cap, used;
    max_align_t data[]; /* cap bytes */
} st_arena_blk;

typedef struct st_gguf_pair {
    const char *key;   /* arena copy, NUL-terminated */
    uint64_t key_len;
    st_gguf_value val;
} st_gguf_pair;

struct st_gguf {
    st_err err;
    char *path;
    st_mmap mm;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;      /* file offset of the data section */
    int64_t n_kv, n_tensors;
    st_gguf_pair *kvs;         /* [n_kv] */
    st_gguf_tensor *tensors;   /* [n_tensors] */
    int64_t *kv_hash;          /* open addressing, -1 empty; [hash_cap_kv] */
    size_t hash_cap_kv;
    int64_t *t_hash;           /* [hash_cap_t] */
    size_t hash_cap_t;
    st_arena_blk *arena;
};

static void *arena_alloc(st_gguf *g, size_t n, size_t align)
{
    st_arena_blk *b = g->arena;
    if (b) {
        size_t at = (b->used + align - 1) & ~(align - 1);
        if (at <= b->cap && b->cap - at >= n) {
            b->used = at + n;
            return (unsigned char *)b->data + at;
        }
    }
    /* a large request gets a block of its own, linked behind the current
     * one so the current block's free space stays in use */
    int own = n > 16384;
    size_t cap = own ? n : 65536;
    if (cap > SIZE_MAX - sizeof(st_arena_blk)) return NULL;
    st_arena_blk *nb = malloc(sizeof(st_arena_blk) + cap);
    if (!nb) return NULL;
    nb->cap = cap;
    nb->used = n;
    if (own && b) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        g->arena = nb;
    }
    return nb->data;
}

/* ------------------------------------------------------------------ */
/* types                                                               */

typedef struct { const char *name; int64_t blck, size; } st_ggml_traits;

/* Block size (elements) and block bytes of every ggml type the spec lists. */
static const st_ggml_traits ggml_traits[ST_GGML_TYPE_COUNT] = {
    [ST_GGML_TYPE_F32] = {"F32", 1, 4},
    [ST_GGML_TYPE_F16] = {"F16", 1, 2},
    [ST_GGML_TYPE_Q4_0] = {"Q4_0", 32, 18},
    [ST_GGML_TYPE_Q4_1] = {"Q4_1", 32, 20},
    [ST_GGML_TYPE_Q5_0] = {"Q5_0", 32, 22},
    [ST_GGML_TYPE_Q5_1] = {"Q5_1", 32, 24},
    [ST_GGML_TYPE_Q8_0] = {"Q8_0", 32, 34},
    [ST_GGML_TYPE_Q8_1] = {"Q8_1", 32, 36},
    [ST_GGML_TYPE_Q2_K] = {"Q2_K", 256, 84},
    [ST_GGML_TYPE_Q3_K] = {"Q3_K", 256, 110},
    [ST_GGML_TYPE_Q4_K] = {"Q4_K", 256, 144},
    [ST_GGML_TYPE_Q5_K] = {"Q5_K", 256, 176},
    [ST_GGML_TYPE_Q6_K] = {"Q6_K", 256, 210},
    [ST_GGML_TYPE_Q8_K] = {"Q8_K", 256, 292},
    [ST_GGML_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66},
    [ST_GGML_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74},
    [ST_GGML_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98},
    [ST_GGML_TYPE_IQ1_S] = {"IQ1_S", 256, 50},
    [ST_GGML_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18},
    [ST_GGML_TYPE_IQ3_S] = {"IQ3_S", 256, 110},
    [ST_GGML_TYPE_IQ2_S] = {"IQ2_S", 256, 82},
    [ST_GGML_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136},
    [ST_GGML_TYPE_I8] = {"I8", 1, 1},
    [ST_GGML_TYPE_I16] = {"I16", 1, 2},
    [ST_GGML_TYPE_I32] = {"I32", 1, 4},
    [ST_GGML_TYPE_I64] = {"I64", 1, 8},
    [ST_GGML_TYPE_F64] = {"F64", 1, 8},
    [ST_GGML_TYPE_IQ1_M] = {"IQ1_M", 256, 56},
    [ST_GGML_TYPE_BF16] = {"BF16", 1, 2},
    [ST_GGML_TYPE_TQ1_0] = {"TQ1_0", 256, 54},
    [ST_GGML_TYPE_TQ2_0] = {"TQ2_0", 256, 66},
    [ST_GGML_TYPE_MXFP4] = {"MXFP4", 32, 17},
};

const char *st_ggml_type_name(uint32_t type)
{
    return type < ST_GGML_TYPE_COUNT ? ggml_traits[type].name : NULL;
}

int st_ggml_type_info(uint32_t type, int64_t *block_elems, int64_t *block_bytes)
{
    if (type >= ST_GGML_TYPE_COUNT || !ggml_traits[type].name) return 0;
    if (block_elems) *block_elems = ggml_traits[type].blck;
    if (block_bytes) *block_bytes = ggml_traits[type].size;
    return 1;
}

int st_ggml_type_supported(uint32_t type)
{
    return type == ST_GGML_TYPE_F32 || type == ST_GGML_TYPE_F16 || type == ST_GGML_TYPE_BF16 ||
           type == ST_GGML_TYPE_Q8_0 || type == ST_GGML_TYPE_Q4_0;
}

static const char *const gguf_type_names[ST_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *st_gguf_type_name(uint32_t type)
{
    return type < ST_GGUF_TYPE_COUNT ? gguf_type_names[type] : "?";
}

/* Bytes of one fixed-size value; 0 for string, array and unknown types. */
static size_t gguf_type_size(uint32_t type)
{
    switch (type) {
    case ST_GGUF_TYPE_UINT8: case ST_GGUF_TYPE_INT8: case ST_GGUF_TYPE_BOOL: return 1;
    case ST_GGUF_TYPE_UINT16: case ST_GGUF_TYPE_INT16: return 2;
    case ST_GGUF_TYPE_UINT32: case ST_GGUF_TYPE_INT32: case ST_GGUF_TYPE_FLOAT32: return 4;
    case ST_GGUF_TYPE_UINT64: case ST_GGUF_TYPE_INT64: case ST_GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

static int is_int_type(uint32_t t)
{
    return t == ST_GGUF_TYPE_UINT8 || t == ST_GGUF_TYPE_INT8 || t == ST_GGUF_TYPE_UINT16 ||
           t == ST_GGUF_TYPE_INT16 || t == ST_GGUF_TYPE_UINT32 || t == ST_GGUF_TYPE_INT32 ||
           t == ST_GGUF_TYPE_UINT64 || t == ST_GGUF_TYPE_INT64;
}

static int is_float_type(uint32_t t)
{
    return t == ST_GGUF_TYPE_FLOAT32 || t == ST_GGUF_TYPE_FLOAT64;
}

/* ------------------------------------------------------------------ */
/* little-endian loads (any alignment)                                 */

static inline uint16_t ld16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t ld32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ld64(const unsigned char *p)
{
    return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32);
}

/* Decodes one fixed-size scalar of `type` at p into v->num. */
static void decode_scalar(uint32_t type, const unsigned char *p, st_gguf_value *v)
{
    switch (type) {
    case ST_GGUF_TYPE_UINT8: case ST_GGUF_TYPE_BOOL: v->num.u = p[0]; break;
    case ST_GGUF_TYPE_INT8: v->num.i = (int8_t)p[0]; break;
    case ST_GGUF_TYPE_UINT16: v->num.u = ld16(p); break;
    case ST_GGUF_TYPE_INT16: v->num.i = (int16_t)ld16(p); break;
    case ST_GGUF_TYPE_UINT32: v->num.u = ld32(p); break;
    case ST_GGUF_TYPE_INT32: v->num.i = (int32_t)ld32(p); break;
    case ST_GGUF_TYPE_UINT64: v->num.u = ld64(p); break;
    case ST_GGUF_TYPE_INT64: v->num.i = (int64_t)ld64(p); break;
    case ST_GGUF_TYPE_FLOAT32: {
        uint32_t b = ld32(p);
        float f;
        memcpy(&f, &b, 4);
        v->num.f = f;
        break;
    }
    case ST_GGUF_TYPE_FLOAT64: {
        uint64_t b = ld64(p);
        memcpy(&v->num.f, &b, 8);
        break;
    }
    default: break;
    }
}

/* ------------------------------------------------------------------ */
/* the cursor                                                          */

typedef struct st_rd {
    const unsigned char *p;
    uint64_t size, pos;
} st_rd;

static uint64_t rd_left(const st_rd *r) { return r->size - r->pos; }

static int rd_u32(st_rd *r, uint32_t *v)
{
    if (rd_left(r) < 4) return -1;
    *v = ld32(r->p + r->pos);
    r->pos += 4;
    return 0;
}

static int rd_u64(st_rd *r, uint64_t *v)
{
    if (rd_left(r) < 8) return -1;
    *v = ld64(r->p + r->pos);
    r->pos += 8;
    return 0;
}

static int truncated(st_gguf *g, const st_rd *r, const char *what)
{
    return st_seterr(&g->err, STRATA_ERR_FORMAT,
                     "%s: truncated: %s at byte %" PRIu64 " runs past the end of the file (%" PRIu64
                     " bytes)", g->path, what, r->pos, r->size);
}

/* What a string is, for messages (formatted only when something fails). */
enum { ST_STR_KEY, ST_STR_VALUE, ST_STR_TENSOR };

static void describe(char *buf, size_t cap, int kind, const char *key, uint64_t i)
{
    if (kind == ST_STR_KEY) snprintf(buf, cap, "key of metadata pair %" PRIu64, i);
    else if (kind == ST_STR_VALUE) snprintf(buf, cap, "value of key '%.60s'", key);
    else snprintf(buf, cap, "name of tensor %" PRIu64, i);
}

/* Reads a GGUF string (u64 length + bytes) into an arena copy. */
static int rd_string(st_gguf *g, st_rd *r, const char **out, uint64_t *len, int kind,
                     const char *key, uint64_t i)
{
    uint64_t n, at = r->pos;
    char what[96];
    if (rd_u64(r, &n)) {
        describe(what, sizeof what, kind, key, i);
        return truncated(g, r, what);
    }
    if (n > rd_left(r)) {
        describe(what, sizeof what, kind, key, i);
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: %s at byte %" PRIu64 ": string length %" PRIu64
                         " runs past the end of the file (%" PRIu64 " bytes left)",
                         g->path, what, at, n, rd_left(r));
    }
    char *s = arena_alloc(g, (size_t)n + 1, 1);
    if (!s) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", g->path);
    memcpy(s, r->p + r->pos, (size_t)n);
    s[n] = '\0';
    r->pos += n;
    *out = s;
    *len = n;
    return STRATA_OK;
}

/* Parses one value of `type` (the type itself already read). */
static int parse_value(st_gguf *g, st_rd *r, uint32_t type, st_gguf_value *v, const char *key,
                       int depth)
{
    memset(v, 0, sizeof *v);
    v->type = type;
    if (type >= ST_GGUF_TYPE_COUNT)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: key '%s': unknown value type %" PRIu32 " at byte %" PRIu64, g->path, key,
                         type, r->pos - 4);
    size_t esz = gguf_type_size(type);
    if (esz) {
        if (rd_left(r) < esz) return truncated(g, r, "a metadata value");
        decode_scalar(type, r->p + r->pos, v);
        if (type == ST_GGUF_TYPE_BOOL && v->num.u > 1)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: key '%s': bool value %" PRIu64 " is neither 0 nor 1", g->path, key,
                             v->num.u);
        r->pos += esz;
        return STRATA_OK;
    }
    if (type == ST_GGUF_TYPE_STRING) {
        return rd_string(g, r, &v->str, &v->n, ST_STR_VALUE, key, 0);
    }
    /* ARRAY: u32 element type, u64 count, values */
    if (depth >= ST_GGUF_MAX_NESTING)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: key '%s': arrays nested more than %d deep", g->path, key,
                         ST_GGUF_MAX_NESTING);
    uint32_t et;
    uint64_t n, at = r->pos;
    if (rd_u32(r, &et) || rd_u64(r, &n)) return truncated(g, r, "an array header");
    if (et >= ST_GGUF_TYPE_COUNT)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: key '%s': array of unknown value type %" PRIu32 " at byte %" PRIu64,
                         g->path, key, et, at);
    v->elem_type = et;
    v->n = n;
    esz = gguf_type_size(et);
    if (esz) {
        if (n > rd_left(r) / esz)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: key '%s': array of %" PRIu64 " %s values at byte %" PRIu64
                             " runs past the end of the file (%" PRIu64 " bytes left)",
                             g->path, key, n, gguf_type_names[et], at, rd_left(r));
        v->raw = r->p + r->pos;
        if (et == ST_GGUF_TYPE_BOOL)
            for (uint64_t j = 0; j < n; j++)
                if (v->raw[j] > 1)
                    return st_seterr(&g->err, STRATA_ERR_FORMAT,
                                     "%s: key '%s': bool element %" PRIu64 " is %u, neither 0 nor 1",
                                     g->path, key, j, v->raw[j]);
        r->pos += n * esz;
        return STRATA_OK;
    }
    /* strings need at least their 8-byte length, arrays their 12-byte header:
     * the count is checked against the bytes left before anything is allocated */
    uint64_t min = et == ST_GGUF_TYPE_STRING ? 8 : 12;
    if (n > rd_left(r) / min)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: key '%s': array of %" PRIu64 " %ss at byte %" PRIu64
                         " cannot fit in the %" PRIu64 " bytes left in the file",
                         g->path, key, n, gguf_type_names[et], at, rd_left(r));
    if (n > SIZE_MAX / sizeof(st_gguf_value))
        return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", g->path);
    st_gguf_value *el = n ? arena_alloc(g, (size_t)n * sizeof *el, _Alignof(st_gguf_value)) : NULL;
    if (n && !el) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", g->path);
    v->elems = el;
    for (uint64_t j = 0; j < n; j++) {
        if (et == ST_GGUF_TYPE_ARRAY) {
            /* each element is an array value: its own u32 type + u64 count */
            ST_TRY(parse_value(g, r, ST_GGUF_TYPE_ARRAY, &el[j], key, depth + 1));
        } else {
            ST_TRY(parse_value(g, r, ST_GGUF_TYPE_STRING, &el[j], key, depth + 1));
        }
    }
    return STRATA_OK;
}

/* ------------------------------------------------------------------ */
/* name hashing (duplicate detection and lookup)                       */

static uint64_t hash_str(const char *s, uint64_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint64_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static size_t hash_cap_for(int64_t n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap <<= 1;
    return cap;
}

/* ------------------------------------------------------------------ */
/* open                                                                */

typedef struct st_span { uint64_t off, nbytes; int64_t idx; } st_span;

static int cmp_span(const void *a, const void *b)
{
    const st_span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int parse(st_gguf *g)
{
    st_rd r = {g->mm.data, g->mm.size, 0};
    const char *path = g->path;

    /* 1-2. magic, version */
    if (r.size < 4 || memcmp(r.p, ST_GGUF_MAGIC, 4) != 0) {
        unsigned char m[4] = {0, 0, 0, 0};
        if (r.size) memcpy(m, r.p, r.size < 4 ? (size_t)r.size : 4);
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: not a GGUF file: magic %02x %02x %02x %02x, expected \"GGUF\" (47 47 55 46)",
                         path, m[0], m[1], m[2], m[3]);
    }
    r.pos = 4;
    uint32_t version;
    if (rd_u32(&r, &version)) return truncated(g, &r, "the version");
    g->version = version;
    if (version != 2 && version != 3) {
        uint32_t sw = __builtin_bswap32(version);
        if (sw == 2 || sw == 3)
            return st_seterr(&g->err, STRATA_ERR_UNSUPPORTED,
                             "%s: big-endian GGUF (version %" PRIu32 " byte-swapped) is not supported",
                             path, sw);
        return st_seterr(&g->err, STRATA_ERR_UNSUPPORTED,
                         "%s: GGUF version %" PRIu32 " is not supported (only versions 2 and 3)", path,
                         version);
    }

    /* 3-4. counts, checked against the bytes left before any allocation:
     * a key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes, a
     * tensor info at least 8 + 4 + 8 (one dimension) + 4 + 8 bytes. */
    uint64_t n_tensors, n_kv;
    if (rd_u64(&r, &n_tensors)) return truncated(g, &r, "the tensor count");
    if (rd_u64(&r, &n_kv)) return truncated(g, &r, "the metadata count");
    uint64_t left = rd_left(&r);
    if (n_kv > left / 13)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: metadata count %" PRIu64 " cannot fit in the %" PRIu64
                         " bytes left in the file", path, n_kv, left);
    if (n_tensors > left / 32)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: tensor count %" PRIu64 " cannot fit in the %" PRIu64
                         " bytes left in the file", path, n_tensors, left);
    if (n_kv * 13 + n_tensors * 32 > left)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: %" PRIu64 " metadata pairs and %" PRIu64
                         " tensor infos cannot fit in the %" PRIu64 " bytes left in the file",
                         path, n_kv, n_tensors, left);

    /* 5. key/value pairs */
    g->kvs = n_kv ? calloc((size_t)n_kv, sizeof *g->kvs) : NULL;
    if (n_kv && !g->kvs) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    g->hash_cap_kv = hash_cap_for((int64_t)n_kv);
    g->kv_hash = malloc(g->hash_cap_kv * sizeof *g->kv_hash);
    if (!g->kv_hash) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    memset(g->kv_hash, 0xff, g->hash_cap_kv * sizeof *g->kv_hash);
    for (uint64_t i = 0; i < n_kv; i++) {
        st_gguf_pair *kv = &g->kvs[i];
        ST_TRY(rd_string(g, &r, &kv->key, &kv->key_len, ST_STR_KEY, NULL, i));
        uint32_t type;
        if (rd_u32(&r, &type)) return truncated(g, &r, "a metadata value type");
        ST_TRY(parse_value(g, &r, type, &kv->val, kv->key, 0));
        /* duplicate keys make lookups ambiguous: refuse them */
        size_t mask = g->hash_cap_kv - 1, h = (size_t)hash_str(kv->key, kv->key_len) & mask;
        while (g->kv_hash[h] >= 0) {
            const st_gguf_pair *o = &g->kvs[g->kv_hash[h]];
            if (o->key_len == kv->key_len && memcmp(o->key, kv->key, (size_t)kv->key_len) == 0)
                return st_seterr(&g->err, STRATA_ERR_FORMAT,
                                 "%s: duplicate metadata key '%s' (pairs %" PRId64 " and %" PRIu64 ")",
                                 path, kv->key, g->kv_hash[h], i);
            h = (h + 1) & mask;
        }
        g->kv_hash[h] = (int64_t)i;
        g->n_kv = (int64_t)i + 1;
    }

    /* general.alignment: a power of two (the spec asks for a multiple of 8) */
    g->alignment = ST_GGUF_DEFAULT_ALIGNMENT;
    int64_t aid = st_gguf_find_key(g, "general.alignment");
    if (aid >= 0) {
        const st_gguf_value *v = &g->kvs[aid].val;
        int64_t a;
        if (st_gguf_val_int(v, &a) != STRATA_OK)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: general.alignment is %s, expected an unsigned integer", path,
                             st_gguf_type_name(v->type));
        if (a <= 0 || a > (1 << 30) || (a & (a - 1)) != 0)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: general.alignment %" PRId64 " is not a power of two", path, a);
        g->alignment = (uint32_t)a;
    }

    /* 6. tensor infos */
    g->tensors = n_tensors ? calloc((size_t)n_tensors, sizeof *g->tensors) : NULL;
    if (n_tensors && !g->tensors) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    g->hash_cap_t = hash_cap_for((int64_t)n_tensors);
    g->t_hash = malloc(g->hash_cap_t * sizeof *g->t_hash);
    if (!g->t_hash) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    memset(g->t_hash, 0xff, g->hash_cap_t * sizeof *g->t_hash);
    for (uint64_t i = 0; i < n_tensors; i++) {
        st_gguf_tensor *t = &g->tensors[i];
        uint64_t name_len;
        ST_TRY(rd_string(g, &r, &t->name, &name_len, ST_STR_TENSOR, NULL, i));
        if (name_len == 0 || strlen(t->name) != name_len)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor %" PRIu64 " has an empty name or a name with a NUL byte",
                             path, i);
        uint32_t nd;
        if (rd_u32(&r, &nd)) return truncated(g, &r, "a tensor's dimension count");
        if (nd < 1 || nd > ST_GGUF_MAX_DIMS)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s' has %" PRIu32 " dimensions (1 to %d allowed)", path,
                             t->name, nd, ST_GGUF_MAX_DIMS);
        t->n_dims = nd;
        int64_t n_elem = 1;
        int overflow = 0;
        for (int d = 0; d < ST_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t ne;
            if (rd_u64(&r, &ne)) return truncated(g, &r, "a tensor's dimensions");
            if (ne > (uint64_t)INT64_MAX) overflow = 1;
            else {
                t->ne[d] = (int64_t)ne;
                if (ne != 0 && n_elem > INT64_MAX / (int64_t)ne) overflow = 1;
                else n_elem *= (int64_t)ne;
            }
        }
        if (overflow)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s': the element count overflows 64 bits", path, t->name);
        t->n_elem = n_elem;
        uint32_t type;
        uint64_t off;
        if (rd_u32(&r, &type)) return truncated(g, &r, "a tensor's type");
        if (rd_u64(&r, &off)) return truncated(g, &r, "a tensor's offset");
        t->type = type;
        t->offset = off;
        int64_t blck, bsize;
        if (!st_ggml_type_info(type, &blck, &bsize))
            return st_seterr(&g->err, STRATA_ERR_UNSUPPORTED,
                             "%s: tensor '%s' has unknown ggml type %" PRIu32, path, t->name, type);
        if (t->ne[0] % blck != 0)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s': ne[0] = %" PRId64 " is not a multiple of the %s block "
                             "size %" PRId64, path, t->name, t->ne[0], ggml_traits[type].name, blck);
        uint64_t nblocks = (uint64_t)(n_elem / blck);
        if (nblocks > UINT64_MAX / (uint64_t)bsize)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s': the byte size overflows 64 bits", path, t->name);
        t->nbytes = nblocks * (uint64_t)bsize;
        /* duplicate names */
        size_t mask = g->hash_cap_t - 1, h = (size_t)hash_str(t->name, name_len) & mask;
        while (g->t_hash[h] >= 0) {
            if (strcmp(g->tensors[g->t_hash[h]].name, t->name) == 0)
                return st_seterr(&g->err, STRATA_ERR_FORMAT,
                                 "%s: duplicate tensor name '%s' (tensors %" PRId64 " and %" PRIu64 ")",
                                 path, t->name, g->t_hash[h], i);
            h = (h + 1) & mask;
        }
        g->t_hash[h] = (int64_t)i;
        g->n_tensors = (int64_t)i + 1;
    }

    /* 7-8. padding, data section */
    uint64_t a = g->alignment, pos = r.pos;
    uint64_t data_off = pos + (a - pos % a) % a;
    g->data_offset = data_off;
    if (g->n_tensors == 0) return STRATA_OK;
    if (data_off > r.size)
        return st_seterr(&g->err, STRATA_ERR_FORMAT,
                         "%s: truncated: the tensor data section would start at byte %" PRIu64
                         ", past the end of the file (%" PRIu64 " bytes)", path, data_off, r.size);
    uint64_t data_size = r.size - data_off;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        st_gguf_tensor *t = &g->tensors[i];
        if (t->offset % a != 0)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s': data offset %" PRIu64
                             " is misaligned (not a multiple of the alignment %" PRIu32 ")",
                             path, t->name, t->offset, g->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return st_seterr(&g->err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s' (%s, %" PRIu64 " bytes at data offset %" PRIu64
                             ") runs past the end of the file (data section is %" PRIu64 " bytes)",
                             path, t->name, ggml_traits[t->type].name, t->nbytes, t->offset, data_size);
        t->data = r.p + data_off + t->offset;
    }
    /* no two tensors may share bytes */
    st_span *sp = malloc((size_t)g->n_tensors * sizeof *sp);
    if (!sp) return st_seterr(&g->err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; i < g->n_tensors; i++)
        sp[i] = (st_span){g->tensors[i].offset, g->tensors[i].nbytes, i};
    qsort(sp, (size_t)g->n_tensors, sizeof *sp, cmp_span);
    int rc = STRATA_OK;
    int64_t prev = -1;
    for (int64_t k = 0; k < g->n_tensors; k++) {
        if (sp[k].nbytes == 0) continue;
        if (prev >= 0 && sp[prev].off + sp[prev].nbytes > sp[k].off) {
            rc = st_seterr(&g->err, STRATA_ERR_FORMAT,
                           "%s: tensors '%s' and '%s' overlap in the data section", path,
                           g->tensors[sp[prev].idx].name, g->tensors[sp[k].idx].name);
            break;
        }
        prev = k;
    }
    free(sp);
    return rc;
}

int st_gguf_open(const char *path, st_gguf **out)
{
    *out = NULL;
    st_gguf *g = calloc(1, sizeof *g);
    if (!g) return STRATA_ERR_NOMEM;
    *out = g;
    g->path = strdup(path ? path : "");
    if (!g->path) return st_seterr(&g->err, STRATA_ERR_NOMEM, "out of memory");
    if (!path) return st_seterr(&g->err, STRATA_ERR_ARG, "st_gguf_open: path is NULL");
    int rc = st_mmap_open(&g->mm, path, &g->err);
    if (rc) return rc;
    rc = parse(g);
    if (rc == STRATA_OK) st_err_clear(&g->err);
    return rc;
}

void st_gguf_free(st_gguf *g)
{
    if (!g) return;
    st_arena_blk *b = g->arena;
    while (b) {
        st_arena_blk *n = b->next;
        free(b);
        b = n;
    }
    free(g->kvs);
    free(g->tensors);
    free(g->kv_hash);
    free(g->t_hash);
    st_mmap_close(&g->mm);
    free(g->path);
    free(g);
}

const char *st_gguf_errmsg(const st_gguf *g)
{
    return g ? g->err.msg : "out of memory (no GGUF context)";
}

const char *st_gguf_path(const st_gguf *g) { return g->path; }
uint32_t st_gguf_version(const st_gguf *g) { return g->version; }
uint32_t st_gguf_alignment(const st_gguf *g) { return g->alignment; }
uint64_t st_gguf_data_offset(const st_gguf *g) { return g->data_offset; }
uint64_t st_gguf_file_size(const st_gguf *g) { return g->mm.size; }
int st_gguf_in_mapping(const st_gguf *g, const void *p, size_t n)
{
    const unsigned char *a = p;
    return g && g->mm.data && a >= g->mm.data && n <= g->mm.size && (size_t)(a - g->mm.data) <= g->mm.size - n;
}

/* ------------------------------------------------------------------ */
/* metadata                                                            */

int64_t st_gguf_n_kv(const st_gguf *g) { return g->n_kv; }

const char *st_gguf_key(const st_gguf *g, int64_t id)
{
    return id >= 0 && id < g->n_kv ? g->kvs[id].key : NULL;
}

int64_t st_gguf_find_key(const st_gguf *g, const char *key)
{
    if (!g || !key || !g->kv_hash) return -1;
    uint64_t len = strlen(key);
    size_t mask = g->hash_cap_kv - 1, h = (size_t)hash_str(key, len) & mask;
    while (g->kv_hash[h] >= 0) {
        const st_gguf_pair *kv = &g->kvs[g->kv_hash[h]];
        if (kv->key_len == len && memcmp(kv->key, key, (size_t)len) == 0) return g->kv_hash[h];
        h = (h + 1) & mask;
    }
    return -1;
}

const st_gguf_value *st_gguf_kv(const st_gguf *g, int64_t id)
{
    return id >= 0 && id < g->n_kv ? &g->kvs[id].val : NULL;
}

int st_gguf_kv_type(const st_gguf *g, int64_t id)
{
    return id >= 0 && id < g->n_kv ? (int)g->kvs[id].val.type : -1;
}

int st_gguf_val_int(const st_gguf_value *v, int64_t *out)
{
    if (!v || !is_int_type(v->type)) return STRATA_ERR_FORMAT;
    switch (v->type) {
    case ST_GGUF_TYPE_INT8: case ST_GGUF_TYPE_INT16: case ST_GGUF_TYPE_INT32: case ST_GGUF_TYPE_INT64:
        *out = v->num.i;
        return STRATA_OK;
    default:
        if (v->num.u > (uint64_t)INT64_MAX) return STRATA_ERR_RANGE;
        *out = (int64_t)v->num.u;
        return STRATA_OK;
    }
}

int st_gguf_val_float(const st_gguf_value *v, double *out)
{
    if (!v || !is_float_type(v->type)) return STRATA_ERR_FORMAT;
    *out = v->num.f;
    return STRATA_OK;
}

/* Decodes element j of a fixed-size array into a scalar value. */
static int arr_scalar(const st_gguf_value *v, uint64_t j, st_gguf_value *e)
{
    if (!v || v->type != ST_GGUF_TYPE_ARRAY) return STRATA_ERR_FORMAT;
    if (j >= v->n) return STRATA_ERR_RANGE;
    size_t esz = gguf_type_size(v->elem_type);
    if (!esz) return STRATA_ERR_FORMAT;
    memset(e, 0, sizeof *e);
    e->type = v->elem_type;
    decode_scalar(v->elem_type, v->raw + j * esz, e);
    return STRATA_OK;
}

int st_gguf_val_arr_int(const st_gguf_value *v, uint64_t j, int64_t *out)
{
    st_gguf_value e;
    ST_TRY(arr_scalar(v, j, &e));
    return st_gguf_val_int(&e, out);
}

int st_gguf_val_arr_float(const st_gguf_value *v, uint64_t j, double *out)
{
    st_gguf_value e;
    ST_TRY(arr_scalar(v, j, &e));
    return st_gguf_val_float(&e, out);
}

const st_gguf_value *st_gguf_val_arr_elem(const st_gguf_value *v, uint64_t j)
{
    if (!v || v->type != ST_GGUF_TYPE_ARRAY || !v->elems || j >= v->n) return NULL;
    return &v->elems[j];
}

/* The value of key id, or NULL with a NOTFOUND message. */
static const st_gguf_value *kv_or_err(st_gguf *g, int64_t id, int *rc)
{
    if (id < 0 || id >= g->n_kv) {
        *rc = st_seterr(&g->err, STRATA_ERR_NOTFOUND, "%s: no metadata pair with id %" PRId64,
                        g->path, id);
        return NULL;
    }
    *rc = STRATA_OK;
    return &g->kvs[id].val;
}

static int type_err(st_gguf *g, int64_t id, const char *expected, uint32_t got_type, uint32_t elem)
{
    if (got_type == ST_GGUF_TYPE_ARRAY)
        return st_seterr(&g->err, STRATA_ERR_FORMAT, "%s: key '%s' is an array of %s, expected %s",
                         g->path, g->kvs[id].key, st_gguf_type_name(elem), expected);
    return st_seterr(&g->err, STRATA_ERR_FORMAT, "%s: key '%s' is %s, expected %s", g->path,
                     g->kvs[id].key, st_gguf_type_name(got_type), expected);
}

static int range_err(st_gguf *g, int64_t id, const char *what)
{
    return st_seterr(&g->err, STRATA_ERR_RANGE, "%s: key '%s': %s", g->path, g->kvs[id].key, what);
}

int st_gguf_get_int(st_gguf *g, int64_t id, int64_t *out)
{
    int rc;
    const st_gguf_value *v = kv_or_err(g, id, &rc);
    if (!v) return rc;
    rc = st_gguf_val_int(v, out);
    if (rc == STRATA_ERR_FORMAT) return type_err(g, id, "an integer", v->type, v->elem_type);
    if (rc == STRATA_ERR_RANGE) return range_err(g, id, "value does not fit in int64");
    return rc;
}

int st_gguf_get_float(st_gguf *g, int64_t id, double *out)
{
    int rc;
    const st_gguf_value *v = kv_or_err(g, id, &rc);
    if (!v) return rc;
    if (!is_float_type(v->type)) return type_err(g, id, "float32 or float64", v->type, v->elem_type);
    *out = v->num.f;
    return STRATA_OK;
}

int st_gguf_get_bool(st_gguf *g, int64_t id, int *out)
{
    int rc;
    const st_gguf_value *v = kv_or_err(g, id, &rc);
    if (!v) return rc;
    if (v->type != ST_GGUF_TYPE_BOOL) return type_err(g, id, "bool", v->type, v->elem_type);
    *out = (int)v->num.u;
    return STRATA_OK;
}

int st_gguf_get_str(st_gguf *g, int64_t id, const char **out, uint64_t *len)
{
    int rc;
    const st_gguf_value *v = kv_or_err(g, id, &rc);
    if (!v) return rc;
    if (v->type != ST_GGUF_TYPE_STRING) return type_err(g, id, "string", v->type, v->elem_type);
    *out = v->str;
    if (len) *len = v->n;
    return STRATA_OK;
}

int st_gguf_get_arr(st_gguf *g, int64_t id, uint32_t *elem_type, uint64_t *n)
{
    int rc;
    const st_gguf_value *v = kv_or_err(g, id, &rc);
    if (!v) return rc;
    if (v->type != ST_GGUF_TYPE_ARRAY) return type_err(g, id, "array", v->type, 0);
    if (elem_type) *elem_type = v->elem_type;
    if (n) *n = v->n;
    return STRATA_OK;
}

/* The array under key id whose element j exists, or NULL with a message. */
static const st_gguf_value *arr_elem_check(st_gguf *g, int64_t id, uint64_t j, int *rc)
{
    const st_gguf_value *v = kv_or_err(g, id, rc);
    if (!v) return NULL;
    if (v->type != ST_GGUF_TYPE_ARRAY) {
        *rc = type_err(g, id, "array", v->type, 0);
        return NULL;
    }
    if (j >= v->n) {
        *rc = st_seterr(&g->err, STRATA_ERR_RANGE,
                        "%s: key '%s': index %" PRIu64 " past the array's %" PRIu64 " elements",
                        g->path, g->kvs[id].key, j, v->n);
        return NULL;
    }
    return v;
}

int st_gguf_arr_int(st_gguf *g, int64_t id, uint64_t j, int64_t *out)
{
    int rc;
    const st_gguf_value *v = arr_elem_check(g, id, j, &rc);
    if (!v) return rc;
    if (!is_int_type(v->elem_type)) return type_err(g, id, "an array of integers", v->type, v->elem_type);
    rc = st_gguf_val_arr_int(v, j, out);
    if (rc == STRATA_ERR_RANGE) return range_err(g, id, "element does not fit in int64");
    return rc;
}

int st_gguf_arr_float(st_gguf *g, int64_t id, uint64_t j, double *out)
{
    int rc;
    const st_gguf_value *v = arr_elem_check(g, id, j, &rc);
    if (!v) return rc;
    if (!is_float_type(v->elem_type)) return type_err(g, id, "an array of floats", v->type, v->elem_type);
    return st_gguf_val_arr_float(v, j, out);
}

int st_gguf_arr_str(st_gguf *g, int64_t id, uint64_t j, const char **out, uint64_t *len)
{
    int rc;
    const st_gguf_value *v = arr_elem_check(g, id, j, &rc);
    if (!v) return rc;
    if (v->elem_type != ST_GGUF_TYPE_STRING)
        return type_err(g, id, "an array of strings", v->type, v->elem_type);
    *out = v->elems[j].str;
    if (len) *len = v->elems[j].n;
    return STRATA_OK;
}

/* Checks the array under id holds exactly n elements of an accepted kind. */
static const st_gguf_value *arr_whole(st_gguf *g, int64_t id, uint64_t n, int want_float, int *rc)
{
    const st_gguf_value *v = kv_or_err(g, id, rc);
    if (!v) return NULL;
    if (v->type != ST_GGUF_TYPE_ARRAY ||
        !(want_float ? is_float_type(v->elem_type) : is_int_type(v->elem_type))) {
        *rc = type_err(g, id, want_float ? "an array of floats" : "an array of integers", v->type,
                       v->elem_type);
        return NULL;
    }
    if (v->n != n) {
        *rc = st_seterr(&g->err, STRATA_ERR_RANGE,
                        "%s: key '%s' has %" PRIu64 " elements, expected %" PRIu64, g->path,
                        g->kvs[id].key, v->n, n);
        return NULL;
    }
    return v;
}

int st_gguf_arr_copy_f32(st_gguf *g, int64_t id, float *out, uint64_t n)
{
    int rc;
    const st_gguf_value *v = arr_whole(g, id, n, 1, &rc);
    if (!v) return rc;
    for (uint64_t j = 0; j < n; j++) {
        double d = 0;
        st_gguf_val_arr_float(v, j, &d);
        out[j] = (float)d;
    }
    return STRATA_OK;
}

int st_gguf_arr_copy_i32(st_gguf *g, int64_t id, int32_t *out, uint64_t n)
{
    int rc;
    const st_gguf_value *v = arr_whole(g, id, n, 0, &rc);
    if (!v) return rc;
    for (uint64_t j = 0; j < n; j++) {
        int64_t x = 0;
        if (st_gguf_val_arr_int(v, j, &x) != STRATA_OK || x < INT32_MIN || x > INT32_MAX)
            return st_seterr(&g->err, STRATA_ERR_RANGE,
                             "%s: key '%s': element %" PRIu64 " does not fit in int32", g->path,
                             g->kvs[id].key, j);
        out[j] = (int32_t)x;
    }
    return STRATA_OK;
}

/* ------------------------------------------------------------------ */
/* tensors                                                             */

int64_t st_gguf_n_tensors(const st_gguf *g) { return g->n_tensors; }

const st_gguf_tensor *st_gguf_tensor_at(const st_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

int64_t st_gguf_find_tensor(const st_gguf *g, const char *name)
{
    if (!g || !name || !g->t_hash) return -1;
    uint64_t len = strlen(name);
    size_t mask = g->hash_cap_t - 1, h = (size_t)hash_str(name, len) & mask;
    while (g->t_hash[h] >= 0) {
        int64_t i = g->t_hash[h];
        if (i < g->n_tensors && strcmp(g->tensors[i].name, name) == 0) return i;
        h = (h + 1) & mask;
    }
    return -1;
}

int st_gguf_dequant(uint32_t type, const void *src, float *dst, int64_t n)
{
    const unsigned char *p = src;
    if (n < 0) return STRATA_ERR_ARG;
    switch (type) {
    case ST_GGML_TYPE_F32:
        memcpy(dst, p, (size_t)n * 4);
        return STRATA_OK;
    case ST_GGML_TYPE_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = st_f16_to_f32(ld16(p + 2 * i));
        return STRATA_OK;
    case ST_GGML_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = st_bf16_to_f32(ld16(p + 2 * i));
        return STRATA_OK;
    case ST_GGML_TYPE_Q8_0:
        /* block: f16 d, int8 qs[32];  x = d * q */
        if (n % ST_GGML_QK8_0) return STRATA_ERR_ARG;
        for (int64_t b = 0; b < n / ST_GGML_QK8_0; b++, p += 2 + ST_GGML_QK8_0) {
            float d = st_f16_to_f32(ld16(p));
            float *y = dst + b * ST_GGML_QK8_0;
            for (int j = 0; j < ST_GGML_QK8_0; j++) y[j] = d * (float)(int8_t)p[2 + j];
        }
        return STRATA_OK;
    case ST_GGML_TYPE_Q4_0:
        /* block: f16 d, uint8 qs[16]; element j < 16 is the low nibble of qs[j],
         * element j + 16 the high nibble; x = d * (q - 8) */
        if (n % ST_GGML_QK4_0) return STRATA_ERR_ARG;
        for (int64_t b = 0; b < n / ST_GGML_QK4_0; b++, p += 2 + ST_GGML_QK4_0 / 2) {
            float d = st_f16_to_f32(ld16(p));
            float *y = dst + b * ST_GGML_QK4_0;
            for (int j = 0; j < ST_GGML_QK4_0 / 2; j++) {
                y[j] = d * (float)((int)(p[2 + j] & 0x0f) - 8);
                y[j + ST_GGML_QK4_0 / 2] = d * (float)((int)(p[2 + j] >> 4) - 8);
            }
        }
        return STRATA_OK;
    default:
        return STRATA_ERR_UNSUPPORTED;
    }
}

int st_gguf_tensor_to_f32(st_gguf *g, int64_t i, float *dst)
{
    if (i < 0 || i >= g->n_tensors)
        return st_seterr(&g->err, STRATA_ERR_NOTFOUND, "%s: no tensor with index %" PRId64, g->path, i);
    const st_gguf_tensor *t = &g->tensors[i];
    if (!st_ggml_type_supported(t->type))
        return st_seterr(&g->err, STRATA_ERR_UNSUPPORTED,
                         "%s: tensor '%s' has type %s, which strata cannot convert "
                         "(supported: F32, F16, BF16, Q8_0, Q4_0)",
                         g->path, t->name, st_ggml_type_name(t->type));
    int rc = st_gguf_dequant(t->type, t->data, dst, t->n_elem);
    if (rc)
        return st_seterr(&g->err, rc, "%s: tensor '%s': cannot convert %s to float32", g->path,
                         t->name, st_ggml_type_name(t->type));
    return STRATA_OK;
}

/* ------------------------------------------------------------------ */
/* listing                                                             */

#define ST_DUMP_MAX_ELEMS 8      /* arrays show their first elements only */
#define ST_DUMP_MAX_TEXT 160     /* text mode shortens long strings */

/* Length of the valid UTF-8 sequence at s (<= n bytes), 0 if invalid. */
static int utf8_len(const unsigned char *s, uint64_t n)
{
    unsigned c = s[0];
    int len;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80) return 1;
    else if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if ((uint64_t)len > n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xbf) return 0;
    return len;
}

/* Writes a quoted string: JSON escapes (invalid UTF-8 becomes U+FFFD), or
 * C-like escapes in text mode (shortened past max bytes when max > 0). */
static void put_str(FILE *out, const char *str, uint64_t n, int json, uint64_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    uint64_t lim = (max && n > max) ? max : n;
    fputc('"', out);
    for (uint64_t i = 0; i < lim;) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') { fputc('\\', out); fputc((int)c, out); i++; continue; }
        if (c == '\n') { fputs("\\n", out); i++; continue; }
        if (c == '\t') { fputs("\\t", out); i++; continue; }
        if (c == '\r') { fputs("\\r", out); i++; continue; }
        if (c < 0x20 || c == 0x7f) {
            fprintf(out, json ? "\\u%04x" : "\\x%02x", c);
            i++;
            continue;
        }
        int len = utf8_len(s + i, n - i);
        if (len == 0) {
            if (json) fputs("\\ufffd", out);
            else fprintf(out, "\\x%02x", c);
            i++;
            continue;
        }
        fwrite(s + i, 1, (size_t)len, out);
        i += (uint64_t)len;
    }
    fputc('"', out);
    if (lim < n) fprintf(out, "...(%" PRIu64 " bytes)", n);
}

static void put_num(FILE *out, const st_gguf_value *v, int json)
{
    switch (v->type) {
    case ST_GGUF_TYPE_BOOL: fputs(v->num.u ? "true" : "false", out); break;
    case ST_GGUF_TYPE_INT8: case ST_GGUF_TYPE_INT16: case ST_GGUF_TYPE_INT32: case ST_GGUF_TYPE_INT64:
        fprintf(out, "%" PRId64, v->num.i);
        break;
    case ST_GGUF_TYPE_FLOAT32: case ST_GGUF_TYPE_FLOAT64:
        if (json && !isfinite(v->num.f)) fputs("null", out);
        else fprintf(out, v->type == ST_GGUF_TYPE_FLOAT32 ? "%.9g" : "%.17g", v->num.f);
        break;
    default: fprintf(out, "%" PRIu64, v->num.u); break;
    }
}

static void put_value(FILE *out, const st_gguf_value *v, int json)
{
    if (v->type == ST_GGUF_TYPE_STRING) {
        put_str(out, v->str, v->n, json, json ? 0 : ST_DUMP_MAX_TEXT);
        return;
    }
    if (v->type != ST_GGUF_TYPE_ARRAY) {
        put_num(out, v, json);
        return;
    }
    uint64_t shown = v->n < ST_DUMP_MAX_ELEMS ? v->n : ST_DUMP_MAX_ELEMS;
    fputc('[', out);
    for (uint64_t j = 0; j < shown; j++) {
        if (j) fputs(", ", out);
        if (v->elems) put_value(out, &v->elems[j], json);
        else {
            st_gguf_value e;
            arr_scalar(v, j, &e);
            put_num(out, &e, json);
        }
    }
    if (shown < v->n && !json) fprintf(out, ", ... (%" PRIu64 " elements)", v->n);
    fputc(']', out);
}

/* Element type of an array: "string", or "array<string>" for nested ones. */
static void put_elem_type(FILE *out, const st_gguf_value *v)
{
    if (v->elem_type == ST_GGUF_TYPE_ARRAY && v->n > 0 && v->elems) {
        fputs("array<", out);
        put_elem_type(out, &v->elems[0]);
        fputc('>', out);
    } else {
        fputs(st_gguf_type_name(v->elem_type), out);
    }
}

/* "array<string>[512]" style type text. */
static void put_type(FILE *out, const st_gguf_value *v)
{
    if (v->type != ST_GGUF_TYPE_ARRAY) {
        fputs(st_gguf_type_name(v->type), out);
        return;
    }
    fputs("array<", out);
    put_elem_type(out, v);
    fprintf(out, ">[%" PRIu64 "]", v->n);
}

int st_gguf_dump_ctx(const st_gguf *g, FILE *out, int json)
{
    if (!g || !out) return STRATA_ERR_ARG;
    if (json) {
        fputs("{\"path\": ", out);
        put_str(out, g->path, strlen(g->path), 1, 0);
        fprintf(out, ", \"format\": \"gguf\", \"version\": %" PRIu32 ", \"file_size\": %zu"
                     ", \"alignment\": %" PRIu32 ", \"data_offset\": %" PRIu64 ",\n \"metadata\": {",
                g->version, g->mm.size, g->alignment, g->data_offset);
        for (int64_t i = 0; i < g->n_kv; i++) {
            const st_gguf_pair *kv = &g->kvs[i];
            fputs(i ? ",\n  " : "\n  ", out);
            put_str(out, kv->key, kv->key_len, 1, 0);
            fputs(": {\"type\": \"", out);
            fputs(st_gguf_type_name(kv->val.type), out);
            fputc('"', out);
            if (kv->val.type == ST_GGUF_TYPE_ARRAY)
                fprintf(out, ", \"elem_type\": \"%s\", \"length\": %" PRIu64 ", \"truncated\": %s",
                        st_gguf_type_name(kv->val.elem_type), kv->val.n,
                        kv->val.n > ST_DUMP_MAX_ELEMS ? "true" : "false");
            fputs(", \"value\": ", out);
            put_value(out, &kv->val, 1);
            fputc('}', out);
        }
        fputs("},\n \"tensors\": [", out);
        for (int64_t i = 0; i < g->n_tensors; i++) {
            const st_gguf_tensor *t = &g->tensors[i];
            fputs(i ? ",\n  " : "\n  ", out);
            fputs("{\"name\": ", out);
            put_str(out, t->name, strlen(t->name), 1, 0);
            fprintf(out, ", \"type\": \"%s\", \"ne\": [", st_ggml_type_name(t->type));
            for (uint32_t d = 0; d < t->n_dims; d++) fprintf(out, "%s%" PRId64, d ? ", " : "", t->ne[d]);
            fputs("], \"shape\": [", out);
            for (uint32_t d = 0; d < t->n_dims; d++)
                fprintf(out, "%s%" PRId64, d ? ", " : "", t->ne[t->n_dims - 1 - d]);
            fprintf(out, "], \"offset\": %" PRIu64 ", \"nbytes\": %" PRIu64 "}", t->offset, t->nbytes);
        }
        fputs("]}\n", out);
        return ferror(out) ? STRATA_ERR_IO : STRATA_OK;
    }

    fprintf(out, "%s: GGUF v%" PRIu32 ", %zu bytes, alignment %" PRIu32 ", tensor data at byte %" PRIu64 "\n",
            g->path, g->version, g->mm.size, g->alignment, g->data_offset);
    fprintf(out, "metadata (%" PRId64 " keys):\n", g->n_kv);
    for (int64_t i = 0; i < g->n_kv; i++) {
        const st_gguf_pair *kv = &g->kvs[i];
        fprintf(out, "  %-44s ", kv->key);
        put_type(out, &kv->val);
        fputs("  ", out);
        put_value(out, &kv->val, 0);
        fputc('\n', out);
    }
    int64_t n_params = 0;
    uint64_t n_bytes = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        n_params += g->tensors[i].n_elem;
        n_bytes += g->tensors[i].nbytes;
    }
    fprintf(out, "tensors (%" PRId64 ", %" PRId64 " elements, %" PRIu64 " bytes):\n", g->n_tensors,
            n_params, n_bytes);
    fprintf(out, "  %-36s %-6s %-22s %-22s %s\n", "name", "type", "ne (fastest first)",
            "shape (row-major)", "bytes");
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const st_gguf_tensor *t = &g->tensors[i];
        char ne[96] = "", sh[96] = "";
        int a = 0, b = 0;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            a += snprintf(ne + a, sizeof ne - (size_t)a, "%s%" PRId64, d ? ", " : "{", t->ne[d]);
            b += snprintf(sh + b, sizeof sh - (size_t)b, "%s%" PRId64, d ? ", " : "[",
                          t->ne[t->n_dims - 1 - d]);
            if (a >= (int)sizeof ne - 2 || b >= (int)sizeof sh - 2) break;
        }
        fprintf(out, "  %-36s %-6s %-22s %-22s %" PRIu64 "%s\n", t->name, st_ggml_type_name(t->type),
                strcat(ne, "}"), strcat(sh, "]"), t->nbytes,
                st_ggml_type_supported(t->type) ? "" : "  (type not supported by strata)");
    }
    return ferror(out) ? STRATA_ERR_IO : STRATA_OK;
}

int st_gguf_dump_msg(const char *path, FILE *out, int json, st_err *err)
{
    st_gguf *g = NULL;
    int rc = st_gguf_open(path, &g);
    if (rc == STRATA_OK) rc = st_gguf_dump_ctx(g, out, json);
    if (rc != STRATA_OK)
        st_seterr(err, rc, "%s", g ? (g->err.msg[0] ? g->err.msg : strata_errstr(rc)) : "out of memory");
    st_gguf_free(g);
    return rc;
}

int st_gguf_dump(const char *path, FILE *out, int json)
{
    return st_gguf_dump_msg(path, out, json, NULL);
}
