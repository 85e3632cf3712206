/* tests/fuzz/fuzz_acts.c — the activation-file reader (strata_acts_*).
 *
 * Mutating raw HDF5 bytes mostly exercises libhdf5's own parser, so this
 * harness is structure-aware: the input is a recipe that builds a strata
 * file with the HDF5 API -- root attributes (format, counts, hooks, labels,
 * complete), /tokens, /rows, /docs/offsets, /docs/row_offsets and each hook
 * and label dataset with a fuzzed rank (1..6), dims, type and content -- and
 * the reader then opens it and reads every hook, label and row token. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "strata/capture.h"

typedef struct { const uint8_t *p; size_t n; } rd;
static unsigned u8(rd *r) { if (!r->n) return 0; r->n--; return *r->p++; }
static int64_t i16(rd *r) { int v = (int)u8(r) | (int)u8(r) << 8; return (int16_t)v; }

static void attr_i64(hid_t o, const char *name, int64_t v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, H5T_NATIVE_INT64, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Sclose(s);
}

static void attr_str(hid_t o, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, &v);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

static void attr_strs(hid_t o, const char *name, const char **v, int n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hsize_t d = (hsize_t)n;
    hid_t s = H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(o, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, v);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

/* A dataset with a fuzzed rank, dims, type and values (at most 4096 values). */
static void dataset(hid_t f, const char *path, rd *r, int64_t rows_hint)
{
    unsigned spec = u8(r);
    int rank = 1 + (int)(spec % 6);
    hsize_t d[6];
    size_t total = 1;
    for (int k = 0; k < rank; k++) {
        unsigned b = u8(r);
        d[k] = k == 0 && (b & 0x80) ? (hsize_t)(rows_hint < 0 ? 0 : rows_hint) : (hsize_t)(b % 9);
        total *= d[k] ? d[k] : 1;
    }
    if (total > 4096) return;
    hid_t type = (spec >> 3) % 4 == 0 ? H5T_NATIVE_INT64
               : (spec >> 3) % 4 == 1 ? H5T_NATIVE_INT32
               : (spec >> 3) % 4 == 2 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
    int chunked = spec & 0x40;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t maxd[6], ch[6];
    for (int k = 0; k < rank; k++) { maxd[k] = k == 0 && chunked ? H5S_UNLIMITED : d[k]; ch[k] = d[k] ? d[k] : 1; }
    if (chunked) H5Pset_chunk(dcpl, rank, ch);
    hid_t s = H5Screate_simple(rank, d, maxd);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(f, path, type, s, lcpl, dcpl, H5P_DEFAULT);
    if (ds >= 0 && total && (spec & 0x80)) {   /* else leave it unwritten (fill values) */
        double *v = malloc(sizeof *v * total);
        for (size_t i = 0; i < total; i++) v[i] = (double)i16(r) / (u8(r) & 1 ? 1.0 : 7.0);
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
    }
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(s);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rd r = { data, n };
    const char *path = fz_write(0, "acts.h5", NULL, 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return 0;
    unsigned flags = u8(&r);
    attr_str(f, "format", flags & 1 ? "strata-activations" : "other");
    attr_str(f, "format_version", flags & 2 ? "1.0" : flags & 4 ? "2.0" : "x");
    int64_t R = i16(&r), T = i16(&r), D = i16(&r);
    if (flags & 8) attr_i64(f, "n_rows", R);
    if (flags & 16) attr_i64(f, "n_tokens", T);
    if (flags & 32) attr_i64(f, "n_docs", D);
    if (flags & 64) attr_i64(f, "complete", 1);
    const char *hooks[3] = { "h0", "blocks.0.hook_resid_post", "h/../x" };
    const char *labels[2] = { "y", "z" };
    int nh = (int)(u8(&r) % 4), nl = (int)(u8(&r) % 3);
    if (flags & 128) { attr_strs(f, "hooks", hooks, nh); attr_strs(f, "labels", labels, nl); }
    dataset(f, "tokens", &r, T);
    dataset(f, "rows", &r, R);
    dataset(f, "docs/offsets", &r, D + 1);
    dataset(f, "docs/row_offsets", &r, D + 1);
    char p[64];
    for (int i = 0; i < nh; i++) { snprintf(p, sizeof p, "acts/%s", hooks[i]); dataset(f, p, &r, R); }
    for (int i = 0; i < nl; i++) { snprintf(p, sizeof p, "labels/%s", labels[i]); dataset(f, p, &r, R); }
    H5Fclose(f);

    strata_acts *a = NULL;
    if (strata_acts_open(path, &a) == STRATA_OK) {
        int64_t rows = strata_acts_n_rows(a);
        int64_t m = rows < 64 ? rows : 64;
        for (int i = 0; i < strata_acts_n_hooks(a); i++) {
            const char *h = strata_acts_hook(a, i);
            int64_t w = strata_acts_row_width(a, h), sh[4];
            strata_acts_hook_shape(a, h, sh);
            if (w < 0 || w > 1 << 16) continue;
            float *buf = malloc(sizeof(float) * (size_t)((m ? m : 1) * (w ? w : 1)));
            strata_acts_read(a, h, 0, m, buf);
            strata_acts_read(a, h, rows - 1, 2, buf);   /* out of range: an error */
            free(buf);
        }
        float *lab = malloc(sizeof(float) * (size_t)(m ? m : 1));
        for (int i = 0; i < strata_acts_n_labels(a); i++)
            strata_acts_read_label(a, strata_acts_label(a, i), 0, m, lab);
        free(lab);
        int32_t *tok = malloc(sizeof(int32_t) * (size_t)(m ? m : 1));
        strata_acts_read_row_tokens(a, 0, m, tok);
        free(tok);
    }
    strata_acts_close(a);
    return 0;
}
