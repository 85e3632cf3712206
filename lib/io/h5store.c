/* io/h5store.c — HDF5 activation store: writer (st_h5w_*, internal) and
 * reader (strata_acts_*, public).  Layout and crash-safety protocol: see
 * io/h5store.h and docs/FORMAT.md.
 *
 * All arrays are row-major, last index fastest.  Every /acts dataset is
 * [R, ...row shape], chunked along R (about 1 MiB per chunk). */
#define _GNU_SOURCE
#include "io/h5store.h"

#include "io/h5util.h"
#include "io/h5store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/outfile.h"
#include "strata/capture.h"
#include "strata/model.h"
#include "util/half.h"
#include "util/sha256.h"

/* ------------------------------------------------------------------ */
/* small HDF5 helpers                                                  */

/* A little-endian IEEE binary16 type (h5py reads it as numpy float16). */
static hid_t h5_f16_type(void)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_precision(t, 16) < 0 ||
        H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void free_strs(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Rows per chunk for rows of row_bytes: about 1 MiB per chunk, large enough
 * for streaming reads and a small chunk index, small enough that rewriting
 * the tail chunk is cheap. */
static size_t chunk_rows_for(size_t row_bytes)
{
    size_t rows = row_bytes ? ((size_t)1 << 20) / row_bytes : 1;
    if (rows < 1) rows = 1;
    if (rows > 65536) rows = 65536;
    return rows;
}

/* Creates an extendible dataset [0, row...] chunked along axis 0. */
static hid_t ds_create_ge(hid_t parent, const char *name, hid_t type, int row_ndim,
                          const int64_t *row_shape, size_t elem_size, int compress, int grow,
                          int early)
{
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS], maxd[1 + ST_H5_MAX_ROW_DIMS], chunk[1 + ST_H5_MAX_ROW_DIMS];
    size_t row_bytes = elem_size;
    dims[0] = 0;
    maxd[0] = H5S_UNLIMITED;
    for (int i = 0; i < row_ndim; i++) {
        dims[1 + i] = maxd[1 + i] = chunk[1 + i] = (hsize_t)row_shape[i];
        row_bytes *= (size_t)row_shape[i];
    }
    if (grow && row_ndim > 0) {
        /* starts 0 wide, grows up to row_shape[last]; chunks 16 wide, so the
         * storage of a row is its width rounded up to 16, not the maximum */
        hsize_t wmax = (hsize_t)row_shape[row_ndim - 1], wc = wmax < 16 ? wmax : 16;
        dims[row_ndim] = 0;
        chunk[row_ndim] = wc;
        row_bytes = row_bytes / (size_t)wmax * (size_t)wc;
    }
    chunk[0] = chunk_rows_for(row_bytes);
    hid_t sp = H5Screate_simple(1 + row_ndim, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1 + row_ndim, chunk);
    if (compress > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)(compress > 9 ? 9 : compress));
    }
    if (H5Tis_variable_str(type) <= 0) /* (vlen data must be fill-initialised) */
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    /* A file a distributed capture writes (spec.alloc_early): parallel HDF5
     * writes only chunks allocated when the extent grows. */
    if (early) H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    /* Unfiltered fixed-size data: no chunk cache, so every H5Dwrite goes
     * straight from the caller's buffer to the file (HDF5 bypasses the cache
     * for chunks larger than it); filtered and vlen data need the cache. */
    int direct = compress <= 0 && H5Tis_variable_str(type) <= 0;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, direct ? 0 : (size_t)4 << 20, 1.0);
    hid_t ds = H5Dcreate2(parent, name, type, sp, H5P_DEFAULT, dcpl, dapl);
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return ds;
}

static hid_t ds_create_g(hid_t parent, const char *name, hid_t type, int row_ndim,
                         const int64_t *row_shape, size_t elem_size, int compress, int grow)
{
    return ds_create_ge(parent, name, type, row_ndim, row_shape, elem_size, compress, grow, 0);
}

static hid_t ds_create(hid_t parent, const char *name, hid_t type, int row_ndim,
                       const int64_t *row_shape, size_t elem_size, int compress)
{
    return ds_create_g(parent, name, type, row_ndim, row_shape, elem_size, compress, 0);
}

/* ds_create for the writer's own datasets (early allocation when asked) */
static hid_t wds_create(const st_h5w *w, hid_t parent, const char *name, hid_t type,
                        size_t elem_size, int compress)
{
    return ds_create_ge(parent, name, type, 0, NULL, elem_size, compress, 0, w->alloc_early);
}

static hid_t ds_open(hid_t parent, const char *name)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, (size_t)4 << 20, 1.0);
    hid_t ds = H5Dopen2(parent, name, dapl);
    H5Pclose(dapl);
    return ds;
}

/* ds_open for the writer: like ds_create, no chunk cache for unfiltered,
 * fixed-size data (writes go straight to the file). */
static hid_t wds_open(hid_t parent, const char *name)
{
    hid_t ds = ds_open(parent, name);
    if (ds < 0) return ds;
    hid_t dcpl = H5Dget_create_plist(ds), type = H5Dget_type(ds);
    int direct = dcpl >= 0 && type >= 0 && H5Pget_nfilters(dcpl) == 0 &&
                 H5Tis_variable_str(type) <= 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (type >= 0) H5Tclose(type);
    if (!direct) return ds;
    H5Dclose(ds);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, 0, 1.0);
    ds = H5Dopen2(parent, name, dapl);
    H5Pclose(dapl);
    return ds;
}

/* The rank of a dataset if it lies in [lo, hi], else -1.  Every rank read
 * from a file goes through this before its dims are copied into a fixed-size
 * array (the format allows 1 + ST_H5_MAX_ROW_DIMS at most; HDF5 up to 32). */
static int ds_rank_in(hid_t ds, int lo, int hi)
{
    hid_t fs = H5Dget_space(ds);
    if (fs < 0) return -1;
    int r = H5Sget_simple_extent_type(fs) == H5S_SIMPLE ? H5Sget_simple_extent_ndims(fs) : -1;
    H5Sclose(fs);
    return r >= lo && r <= hi ? r : -1;
}

/* Extends ds along axis 0 from n_old to n_old + n and writes buf [n][row...]
 * (memory type mtype). */
static int ds_append(hid_t ds, hid_t mtype, int64_t n_old, int64_t n, const void *buf)
{
    if (n <= 0) return 0;
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS], start[1 + ST_H5_MAX_ROW_DIMS] = {0},
            count[1 + ST_H5_MAX_ROW_DIMS];
    int rank = ds_rank_in(ds, 1, 1 + ST_H5_MAX_ROW_DIMS);
    if (rank < 0) return -1;
    hid_t fs = H5Dget_space(ds);
    H5Sget_simple_extent_dims(fs, dims, NULL);
    H5Sclose(fs);
    dims[0] = (hsize_t)(n_old + n);
    if (H5Dset_extent(ds, dims) < 0) return -1;
    fs = H5Dget_space(ds);
    start[0] = (hsize_t)n_old;
    for (int i = 0; i < rank; i++) count[i] = dims[i];
    count[0] = (hsize_t)n;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    herr_t rc = H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

/* ds_append for a grow_last dataset: memory rows are [n][row...] with the last
 * dim full (row_last); the file's last dim is widened to `width` if narrower,
 * and the first file-width columns of each row are written. */
static int ds_append_w(hid_t ds, hid_t mtype, int64_t n_old, int64_t n, const void *buf,
                       int64_t width, int64_t row_last)
{
    if (n <= 0) return 0;
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS], start[1 + ST_H5_MAX_ROW_DIMS] = {0},
            count[1 + ST_H5_MAX_ROW_DIMS], mdims[1 + ST_H5_MAX_ROW_DIMS];
    int rank = ds_rank_in(ds, 2, 1 + ST_H5_MAX_ROW_DIMS);
    if (rank < 0) return -1;
    hid_t fs = H5Dget_space(ds);
    H5Sget_simple_extent_dims(fs, dims, NULL);
    H5Sclose(fs);
    dims[0] = (hsize_t)(n_old + n);
    if ((hsize_t)width > dims[rank - 1]) dims[rank - 1] = (hsize_t)width;
    if (dims[rank - 1] > (hsize_t)row_last) return -1;
    if (H5Dset_extent(ds, dims) < 0) return -1;
    fs = H5Dget_space(ds);
    start[0] = (hsize_t)n_old;
    for (int i = 0; i < rank; i++) count[i] = mdims[i] = dims[i];
    count[0] = mdims[0] = (hsize_t)n;
    mdims[rank - 1] = (hsize_t)row_last;
    herr_t rc = 0;
    if (count[rank - 1] > 0) {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t ms = H5Screate_simple(rank, mdims, NULL);
        hsize_t zero[1 + ST_H5_MAX_ROW_DIMS] = {0};
        H5Sselect_hyperslab(ms, H5S_SELECT_SET, zero, NULL, count, NULL);
        rc = H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf);
        H5Sclose(ms);
    }
    H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

static int ds_set_len(hid_t ds, int64_t n)
{
    if (ds_rank_in(ds, 1, 1 + ST_H5_MAX_ROW_DIMS) < 0) return -1;
    hid_t fs = H5Dget_space(ds);
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    H5Sclose(fs);
    dims[0] = (hsize_t)n;
    return H5Dset_extent(ds, dims) < 0 ? -1 : 0;
}

static int64_t ds_len(hid_t ds)
{
    hid_t fs = H5Dget_space(ds);
    if (fs < 0) return -1;
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS];
    int r = H5Sget_simple_extent_type(fs) == H5S_SIMPLE ? H5Sget_simple_extent_ndims(fs) : -1;
    if (r < 1 || r > 1 + ST_H5_MAX_ROW_DIMS) { H5Sclose(fs); return -1; }
    H5Sget_simple_extent_dims(fs, dims, NULL);
    H5Sclose(fs);
    return (int64_t)dims[0];
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

/* struct st_h5w: io/h5store_internal.h (shared with the parallel writer,
 * io/h5store_mpi.c) */

int64_t st_h5w_n_docs(const st_h5w *w) { return w ? w->n_docs : 0; }
int64_t st_h5w_n_rows(const st_h5w *w) { return w ? w->n_rows : 0; }
int64_t st_h5w_n_tokens(const st_h5w *w) { return w ? w->n_tokens : 0; }

static void *scratch(st_h5w *w, size_t bytes)
{
    if (bytes > w->scratch_cap) {
        void *p = realloc(w->scratch, bytes);
        if (!p) return NULL;
        w->scratch = p;
        w->scratch_cap = bytes;
    }
    return w->scratch;
}

/* File access: metadata cache that never evicts between flushes (so the file
 * on disk is only touched by H5Fflush).  Format bounds earliest..1.10: the
 * file-space-info message needs 1.10, and the resulting superblock is
 * version 2, which has none of the "open for write" status flags of the
 * version-3 (SWMR) superblock that would make a killed file unreadable
 * without h5clear. */
static hid_t writer_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V110);
    /* The writer holds its own flock (io/outfile.h) on the file for its
     * whole life; HDF5's would conflict with it inside this process. */
    H5Pset_file_locking(fapl, 0, 1);
    H5AC_cache_config_t c;
    memset(&c, 0, sizeof c);
    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (H5Pget_mdc_config(fapl, &c) >= 0) {
        c.evictions_enabled = 0;
        c.incr_mode = H5C_incr__off;
        c.flash_incr_mode = H5C_flash_incr__off;
        c.decr_mode = H5C_decr__off;
        c.set_initial_size = 1;
        c.initial_size = (size_t)16 << 20;
        c.max_size = (size_t)32 << 20;
        c.min_size = (size_t)1 << 20;
        H5Pset_mdc_config(fapl, &c);
    }
    return fapl;
}

static void writer_close_handles(st_h5w *w)
{
    for (int i = 0; i < w->n_hooks; i++)
        if (w->ds_acts && w->ds_acts[i] > 0) { H5Dclose(w->ds_acts[i]); w->ds_acts[i] = -1; }
    for (int i = 0; i < w->n_labels; i++)
        if (w->ds_labels && w->ds_labels[i] > 0) { H5Dclose(w->ds_labels[i]); w->ds_labels[i] = -1; }
    hid_t *ds[] = { &w->ds_tokens, &w->ds_offsets, &w->ds_row_offsets, &w->ds_text,
                      &w->ds_text_offsets, &w->ds_rows };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        if (*ds[i] > 0) { H5Dclose(*ds[i]); *ds[i] = -1; }
    hid_t *gs[] = { &w->g_docs, &w->g_acts, &w->g_labels };
    for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++)
        if (*gs[i] > 0) { H5Gclose(*gs[i]); *gs[i] = -1; }
    if (w->file > 0) { H5Fclose(w->file); w->file = -1; }
}

/* Files this process is writing (device, inode), so that strata_acts_open
 * in the same process can open them with the writer's HDF5 settings
 * instead of failing on the writer's lock. */
#include <pthread.h>
#define ST_MAX_OWN_WRITERS 64
static pthread_mutex_t own_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { dev_t dev; ino_t ino; int used; } own_writers[ST_MAX_OWN_WRITERS];

static void own_writer(int fd, int add)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return;
    pthread_mutex_lock(&own_mu);
    for (int i = 0; i < ST_MAX_OWN_WRITERS; i++) {
        int same = own_writers[i].used && own_writers[i].dev == st.st_dev && own_writers[i].ino == st.st_ino;
        if (add ? !own_writers[i].used : same) {
            own_writers[i].dev = st.st_dev;
            own_writers[i].ino = st.st_ino;
            own_writers[i].used = add;
            break;
        }
    }
    pthread_mutex_unlock(&own_mu);
}

static int is_own_writer(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    int found = 0;
    pthread_mutex_lock(&own_mu);
    for (int i = 0; i < ST_MAX_OWN_WRITERS; i++)
        found |= own_writers[i].used && own_writers[i].dev == st.st_dev && own_writers[i].ino == st.st_ino;
    pthread_mutex_unlock(&own_mu);
    return found;
}

static void writer_free(st_h5w *w)
{
    if (!w) return;
    writer_close_handles(w);
    if (w->t_f16 > 0) H5Tclose(w->t_f16);
    free_strs(w->hook_names, w->n_hooks);
    free_strs(w->label_names, w->n_labels);
    free(w->ds_acts);
    free(w->width);
    free(w->grow);
    free(w->row_last);
    free(w->ds_labels);
    free(w->label_is_int);
    free(w->scratch);
    free(w->sd_off);
    free(w->sd_toff);
    free(w->sd_tok);
    free(w->sd_text);
    if (w->lock_fd >= 0) {
        own_writer(w->lock_fd, 0);
        close(w->lock_fd);
    }
    free(w->real_path);
    free(w->path);
    free(w);
}

static st_h5w *writer_new(const char *path, const st_h5w_spec *s)
{
    st_h5w *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->file = w->g_docs = w->g_acts = w->g_labels = -1;
    w->ds_tokens = w->ds_offsets = w->ds_row_offsets = w->ds_text = w->ds_rows = -1;
    w->ds_text_offsets = -1;
    w->lock_fd = -1;
    w->writable = 1;
    w->compress = s->compress;
    w->path = strdup(path);
    w->n_hooks = s->n_hooks;
    w->n_labels = s->n_labels;
    w->hook_names = calloc(s->n_hooks + 1, sizeof *w->hook_names);
    w->ds_acts = calloc(s->n_hooks + 1, sizeof *w->ds_acts);
    w->width = calloc(s->n_hooks + 1, sizeof *w->width);
    w->grow = calloc(s->n_hooks + 1, sizeof *w->grow);
    w->row_last = calloc(s->n_hooks + 1, sizeof *w->row_last);
    w->label_names = calloc(s->n_labels + 1, sizeof *w->label_names);
    w->ds_labels = calloc(s->n_labels + 1, sizeof *w->ds_labels);
    w->label_is_int = calloc(s->n_labels + 1, sizeof *w->label_is_int);
    w->dtype = s->dtype;
    w->has_text = s->has_text;
    w->alloc_early = s->alloc_early;
    w->t_f16 = h5_f16_type();
    if (!w->path || !w->hook_names || !w->ds_acts || !w->width || !w->grow || !w->row_last ||
        !w->label_names ||
        !w->ds_labels || !w->label_is_int || w->t_f16 < 0) {
        writer_free(w);
        return NULL;
    }
    for (int i = 0; i < s->n_hooks; i++) {
        w->ds_acts[i] = -1;
        w->hook_names[i] = strdup(s->hook_names[i]);
        int64_t wd = 1;
        for (int d = 0; d < s->row_ndim[i]; d++) wd *= s->row_shape[i][d];
        w->width[i] = wd;
        w->grow[i] = s->grow_last ? s->grow_last[i] != 0 : 0;
        w->row_last[i] = s->row_shape[i][s->row_ndim[i] - 1];
        if (!w->hook_names[i]) { writer_free(w); return NULL; }
    }
    for (int i = 0; i < s->n_labels; i++) {
        w->ds_labels[i] = -1;
        w->label_names[i] = strdup(s->label_names[i]);
        w->label_is_int[i] = s->label_is_int ? s->label_is_int[i] : 0;
        if (!w->label_names[i]) { writer_free(w); return NULL; }
    }
    return w;
}

static int check_name(const char *what, const char *name, st_err *err)
{
    if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return st_seterr(err, STRATA_ERR_ARG, "invalid %s name '%s' (empty, '.', '..' or contains '/')",
                         what, name ? name : "(null)");
    return STRATA_OK;
}

static int validate_spec(const st_h5w_spec *s, st_err *err)
{
    if (!s || s->n_hooks < 0 || s->n_labels < 0 || (s->n_hooks && (!s->hook_names || !s->row_ndim ||
        !s->row_shape)) || (s->n_labels && !s->label_names))
        return st_seterr(err, STRATA_ERR_ARG, "activation store: incomplete spec");
    if (s->dtype != ST_H5_F32 && s->dtype != ST_H5_F16)
        return st_seterr(err, STRATA_ERR_ARG, "activation store: dtype must be f32 or f16");
    for (int i = 0; i < s->n_hooks; i++) {
        ST_TRY(check_name("hook", s->hook_names[i], err));
        if (s->row_ndim[i] < 1 || s->row_ndim[i] > ST_H5_MAX_ROW_DIMS)
            return st_seterr(err, STRATA_ERR_ARG, "hook %s: row rank %d not in 1..%d",
                             s->hook_names[i], s->row_ndim[i], ST_H5_MAX_ROW_DIMS);
        for (int d = 0; d < s->row_ndim[i]; d++)
            if (s->row_shape[i][d] < 1)
                return st_seterr(err, STRATA_ERR_ARG, "hook %s: row shape has a zero dimension",
                                 s->hook_names[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(s->hook_names[i], s->hook_names[j]))
                return st_seterr(err, STRATA_ERR_ARG, "hook %s listed twice", s->hook_names[i]);
    }
    for (int i = 0; i < s->n_labels; i++) {
        ST_TRY(check_name("label", s->label_names[i], err));
        for (int j = 0; j < i; j++)
            if (!strcmp(s->label_names[i], s->label_names[j]))
                return st_seterr(err, STRATA_ERR_ARG, "label %s listed twice", s->label_names[i]);
    }
    return STRATA_OK;
}

static int commit_counts(st_h5w *w)
{
    if (st_h5_attr_put_i64(w->file, "n_docs", w->n_docs) < 0 ||
        st_h5_attr_put_i64(w->file, "n_rows", w->n_rows) < 0 ||
        st_h5_attr_put_i64(w->file, "n_tokens", w->n_tokens) < 0 ||
        (w->input_sha[0] && st_h5_attr_put_fixed_str(w->file, "input_sha256", w->input_sha) < 0))
        return -1;
    return H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 ? -1 : 0;
}

/* Opens every group and dataset handle of an existing file (w->file open). */
static int writer_open_handles(st_h5w *w, st_err *err)
{
    w->g_docs = H5Gopen2(w->file, "docs", H5P_DEFAULT);
    w->g_acts = H5Gopen2(w->file, "acts", H5P_DEFAULT);
    w->g_labels = H5Gopen2(w->file, "labels", H5P_DEFAULT);
    w->ds_tokens = wds_open(w->file, "tokens");
    w->ds_rows = wds_open(w->file, "rows");
    if (w->g_docs < 0 || w->g_acts < 0 || w->g_labels < 0 || w->ds_tokens < 0 || w->ds_rows < 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: missing /docs, /acts, /labels, /tokens or /rows",
                         w->path);
    w->ds_offsets = wds_open(w->g_docs, "offsets");
    w->ds_row_offsets = wds_open(w->g_docs, "row_offsets");
    if (w->ds_offsets < 0 || w->ds_row_offsets < 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: missing /docs/offsets or /docs/row_offsets",
                         w->path);
    if (w->has_text) {
        w->ds_text = wds_open(w->g_docs, "text_bytes");
        w->ds_text_offsets = wds_open(w->g_docs, "text_offsets");
        if (w->ds_text < 0 || w->ds_text_offsets < 0)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: missing /docs/text_bytes or /docs/text_offsets",
                             w->path);
    }
    for (int i = 0; i < w->n_hooks; i++) {
        w->ds_acts[i] = wds_open(w->g_acts, w->hook_names[i]);
        if (w->ds_acts[i] < 0)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: missing /acts/%s", w->path,
                             w->hook_names[i]);
    }
    for (int i = 0; i < w->n_labels; i++) {
        w->ds_labels[i] = wds_open(w->g_labels, w->label_names[i]);
        if (w->ds_labels[i] < 0)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: missing /labels/%s", w->path,
                             w->label_names[i]);
    }
    /* Ranks as the format allows (docs/FORMAT.md): index and label datasets
     * are 1-D, activations [R, row...] with at most ST_H5_MAX_ROW_DIMS row
     * axes. */
    struct { hid_t ds; const char *name; } one_d[] = {
        { w->ds_tokens, "/tokens" }, { w->ds_rows, "/rows" }, { w->ds_offsets, "/docs/offsets" },
        { w->ds_row_offsets, "/docs/row_offsets" }, { w->has_text ? w->ds_text : -1, "/docs/text_bytes" },
        { w->has_text ? w->ds_text_offsets : -1, "/docs/text_offsets" } };
    for (size_t k = 0; k < sizeof one_d / sizeof one_d[0]; k++)
        if (one_d[k].ds >= 0 && ds_rank_in(one_d[k].ds, 1, 1) < 0)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: %s is not a 1-D dataset", w->path,
                             one_d[k].name);
    for (int i = 0; i < w->n_labels; i++)
        if (ds_rank_in(w->ds_labels[i], 1, 1) < 0)
            return st_seterr(err, STRATA_ERR_FORMAT,
                             "%s: /labels/%s is not a 1-D dataset (one value per row)", w->path,
                             w->label_names[i]);
    for (int i = 0; i < w->n_hooks; i++)
        if (ds_rank_in(w->ds_acts[i], 1, 1 + ST_H5_MAX_ROW_DIMS) < 0)
            return st_seterr(err, STRATA_ERR_FORMAT,
                             "%s: /acts/%s has a rank outside 1..%d (rows + at most %d row axes)",
                             w->path, w->hook_names[i], 1 + ST_H5_MAX_ROW_DIMS, ST_H5_MAX_ROW_DIMS);
    return STRATA_OK;
}

static void iso_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes the provenance attributes (spec->prov) at creation. */
static int put_provenance(hid_t f, const st_h5w_provenance *p)
{
    if (!p) return 0;
    return st_h5_attr_put_str(f, "model_path", p->model_path ? p->model_path : "") < 0 ||
           st_h5_attr_put_str(f, "model_revision", p->model_revision ? p->model_revision : "") < 0 ||
           st_h5_attr_put_strs(f, "weight_files", p->weight_files, p->n_weight_files) < 0 ||
           st_h5_attr_put_strs(f, "weight_sha256", p->weight_sha256, p->n_weight_files) < 0 ||
           st_h5_attr_put_strs(f, "tokenizer_files", p->tokenizer_files, p->n_tokenizer_files) < 0 ||
           st_h5_attr_put_strs(f, "tokenizer_sha256", p->tokenizer_sha256, p->n_tokenizer_files) < 0
               ? -1 : 0;
}

static int st_h5w_create_impl(const char *path, const st_h5w_spec *s, int overwrite, st_h5w **out,
                         st_err *err)
{
    *out = NULL;
    ST_TRY(validate_spec(s, err));
    char *target = NULL;
    int existed = 0, target_fd = -1, tmp_fd = -1;
    ST_TRY(st_out_resolve(path, &target, &existed, err));
    if (existed && !overwrite) {
        free(target);
        return st_seterr(err, STRATA_ERR_EXISTS,
                         "%s already exists (use --overwrite to replace it or --resume to continue it)",
                         path);
    }
    /* The file being replaced must not be in use: hold its lock until the
     * new file is renamed over it. */
    int rc = existed ? st_out_lock(target, 0, &target_fd, err) : STRATA_OK;
    if (rc < 0) { free(target); return rc; }
    st_h5w *w = writer_new(path, s);
    if (!w) {
        if (target_fd >= 0) close(target_fd);
        free(target);
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory creating %s", path);
    }
    w->real_path = target;
    /* Built under a temporary name and renamed once its empty state is on
     * disk: a kill during creation leaves no half-made file at `path` (and
     * --overwrite keeps the old file until then).  The temporary file is
     * locked too, so two captures cannot build it at once. */
    size_t tl = strlen(target) + 16;
    char *tmp = malloc(tl);
    if (!tmp) {
        if (target_fd >= 0) close(target_fd);
        writer_free(w);
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory creating %s", path);
    }
    snprintf(tmp, tl, "%s.creating", target);
    char *tmp_real = NULL;
    int tmp_exists = 0;
    rc = st_out_resolve(tmp, &tmp_real, &tmp_exists, err);
    free(tmp_real);
    if (rc == STRATA_OK) rc = st_out_lock(tmp, 1, &tmp_fd, err);
    if (rc < 0) {
        if (rc == STRATA_ERR_STATE)
            rc = st_seterr(err, STRATA_ERR_STATE,
                           "%s is in use by another process (another strata capture is creating %s); "
                           "refusing to write it", tmp, path);
        if (target_fd >= 0) close(target_fd);
        writer_free(w);
        free(tmp);
        return rc;
    }
    w->lock_fd = tmp_fd;
    if (ftruncate(tmp_fd, 0) != 0) {
        rc = st_seterr(err, STRATA_ERR_IO, "cannot create output file %s: %s", tmp, strerror(errno));
        goto fail;
    }

    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    /* Freed file space is never reused (chunks of committed rows stay where
     * the committed index says they are). */
    H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_NONE, 0, (hsize_t)1);
    hid_t fapl = writer_fapl();
    errno = 0;
    w->file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (w->file < 0) {
        int e = errno;
        rc = st_seterr(err, STRATA_ERR_IO, "cannot create output file %s: %s", path,
                       e ? strerror(e) : "HDF5 could not create it");
        goto fail;
    }
    char created[32];
    iso_now(created, sizeof created);
    if (s->prov) {
        /* the running hash of no document yet */
        st_sha256 h;
        uint8_t d[32];
        st_sha256_init(&h);
        st_sha256_final(&h, d);
        st_sha256_hex(d, w->input_sha);
    }
    if (st_h5_attr_put_str(w->file, "format", ST_H5_FORMAT) < 0 ||
        st_h5_attr_put_str(w->file, "format_version", ST_H5_FORMAT_VERSION) < 0 ||
        st_h5_attr_put_str(w->file, "model_name", s->model_name ? s->model_name : "") < 0 ||
        st_h5_attr_put_str(w->file, "model_arch", s->model_arch ? s->model_arch : "") < 0 ||
        st_h5_attr_put_str(w->file, "config", s->config_json ? s->config_json : "{}") < 0 ||
        st_h5_attr_put_str(w->file, "strata_version", STRATA_VERSION) < 0 ||
        st_h5_attr_put_str(w->file, "created", created) < 0 ||
        st_h5_attr_put_str(w->file, "positions", s->positions ? s->positions : "all") < 0 ||
        st_h5_attr_put_str(w->file, "dtype", s->dtype == ST_H5_F16 ? "float16" : "float32") < 0 ||
        st_h5_attr_put_strs(w->file, "hooks", (const char *const *)w->hook_names, w->n_hooks) < 0 ||
        st_h5_attr_put_strs(w->file, "labels", (const char *const *)w->label_names, w->n_labels) < 0 ||
        st_h5_attr_put_i64(w->file, "max_tokens", s->max_tokens) < 0 ||
        st_h5_attr_put_i64(w->file, "hook_enum_version", 1) < 0 ||
        st_h5_attr_put_i64(w->file, "n_truncated", 0) < 0 ||
        put_provenance(w->file, s->prov) < 0 ||
        st_h5_attr_put_bool(w->file, "complete", 0) < 0) {
        rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot write root attributes", path);
        goto fail;
    }
    w->g_docs = H5Gcreate2(w->file, "docs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    w->g_acts = H5Gcreate2(w->file, "acts", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    w->g_labels = H5Gcreate2(w->file, "labels", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int cz = s->compress;
    w->ds_tokens = wds_create(w, w->file, "tokens", H5T_STD_I32LE, 4, cz);
    w->ds_rows = wds_create(w, w->file, "rows", H5T_STD_I64LE, 8, cz);
    w->ds_offsets = wds_create(w, w->g_docs, "offsets", H5T_STD_I64LE, 8, 0);
    w->ds_row_offsets = wds_create(w, w->g_docs, "row_offsets", H5T_STD_I64LE, 8, 0);
    if (w->has_text) {
        /* The texts are stored as bytes while capturing (vlen strings live
         * in the global heap, which a kill can leave dangling); /docs/text
         * (vlen) is derived from them at a clean close. */
        w->ds_text = wds_create(w, w->g_docs, "text_bytes", H5T_STD_U8LE, 1, cz);
        w->ds_text_offsets = wds_create(w, w->g_docs, "text_offsets", H5T_STD_I64LE, 8, 0);
    }
    if (w->g_docs < 0 || w->g_acts < 0 || w->g_labels < 0 || w->ds_tokens < 0 || w->ds_rows < 0 ||
        w->ds_offsets < 0 || w->ds_row_offsets < 0 || (w->has_text && (w->ds_text < 0 || w->ds_text_offsets < 0))) {
        rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot create datasets", path);
        goto fail;
    }
    for (int i = 0; i < w->n_hooks; i++) {
        hid_t ft = s->dtype == ST_H5_F16 ? w->t_f16 : H5T_IEEE_F32LE;
        w->ds_acts[i] = ds_create_ge(w->g_acts, w->hook_names[i], ft, s->row_ndim[i],
                                     s->row_shape[i], s->dtype == ST_H5_F16 ? 2 : 4, cz, w->grow[i],
                                     w->alloc_early);
        if (w->ds_acts[i] < 0 || (s->axes && s->axes[i] &&
                                  st_h5_attr_put_str(w->ds_acts[i], "axes", s->axes[i]) < 0)) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot create /acts/%s", path, w->hook_names[i]);
            goto fail;
        }
    }
    /* axes of the bookkeeping datasets, and the token strings */
    if (st_h5_attr_put_str(w->ds_tokens, "axes", "token") < 0 || st_h5_attr_put_str(w->ds_rows, "axes", "row") < 0 ||
        st_h5_attr_put_str(w->ds_offsets, "axes", "document boundary (index into /tokens)") < 0 ||
        st_h5_attr_put_str(w->ds_row_offsets, "axes", "document boundary (index into /rows)") < 0) {
        rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot write axes attributes", path);
        goto fail;
    }
    if (s->n_vocab > 0 && s->vocab) {
        hid_t t = st_h5_vstr_type();
        hsize_t nv = (hsize_t)s->n_vocab;
        hid_t sp = H5Screate_simple(1, &nv, NULL);
        hid_t dv = H5Dcreate2(w->file, "vocab", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        herr_t wr = dv >= 0 ? H5Dwrite(dv, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->vocab) : -1;
        if (dv >= 0 && wr >= 0) wr = st_h5_attr_put_str(dv, "axes", "token id");
        if (dv >= 0) H5Dclose(dv);
        H5Sclose(sp);
        H5Tclose(t);
        if (wr < 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot write /vocab", path);
            goto fail;
        }
    }
    for (int i = 0; i < w->n_labels; i++) {
        w->ds_labels[i] = wds_create(w, w->g_labels, w->label_names[i],
                                     w->label_is_int[i] ? H5T_STD_I32LE : H5T_IEEE_F32LE, 4, cz);
        if (w->ds_labels[i] < 0 || st_h5_attr_put_str(w->ds_labels[i], "axes", "row") < 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot create /labels/%s", path,
                           w->label_names[i]);
            goto fail;
        }
    }
    /* Room for the empty file and a first batch's metadata. */
    rc = st_h5w_reserve(w, 0, 0, 0, 0, err);
    if (rc < 0) goto fail;
    int64_t zero = 0;
    if (ds_append(w->ds_offsets, H5T_NATIVE_INT64, 0, 1, &zero) < 0 ||
        ds_append(w->ds_row_offsets, H5T_NATIVE_INT64, 0, 1, &zero) < 0 ||
        (w->has_text && ds_append(w->ds_text_offsets, H5T_NATIVE_INT64, 0, 1, &zero) < 0) ||
        commit_counts(w) < 0) {
        rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot write (disk full?)", path);
        goto fail;
    }
    int mv = existed ? rename(tmp, target)
                     : renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE);
    if (mv != 0 && !existed && (errno == EINVAL || errno == ENOSYS)) /* no RENAME_NOREPLACE here */
        mv = access(target, F_OK) == 0 ? (errno = EEXIST, -1) : rename(tmp, target);
    if (mv != 0) {
        int e = errno;
        rc = e == EEXIST ? st_seterr(err, STRATA_ERR_EXISTS,
                                     "%s already exists (another process created it meanwhile)", path)
                         : st_seterr(err, STRATA_ERR_IO, "cannot rename %s to %s: %s", tmp, target,
                                     strerror(e));
        goto fail;
    }
    if (target_fd >= 0) close(target_fd);
    free(tmp);
    own_writer(w->lock_fd, 1);
    *out = w;
    return STRATA_OK;
fail:
    /* Unlinked while still locked: nobody else can be using it. */
    unlink(tmp);
    writer_free(w);
    if (target_fd >= 0) close(target_fd);
    free(tmp);
    return rc;
}

static int same_strs(char **a, int na, const char *const *b, int nb)
{
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i])) return 0;
    return 1;
}

static void join_strs(char *buf, size_t n, const char *const *v, int k)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < k && o + 4 < n; i++) {
        int w = snprintf(buf + o, n - o, "%s%s", i ? "," : "", v[i]);
        if (w < 0) break;
        o += (size_t)w;
        if (o >= n) { o = n - 1; break; }
    }
    if (k > 0 && o >= n - 1 && n > 4) strcpy(buf + n - 4, "...");
}

int st_h5_check_offsets(int64_t ds, const char *path, const char *name, int64_t n, int64_t last,
                        int64_t limit, st_err *err)
{
    int64_t len = ds_len((hid_t)ds);
    if (len < n + 1)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: %s has %lld entries, fewer than the %lld the "
                         "committed documents need", path, name, (long long)len, (long long)(n + 1));
    const int64_t blk = 65536;
    int64_t *v = malloc(sizeof *v * (size_t)(blk + 1));
    if (!v) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory checking %s", name);
    int rc = STRATA_OK;
    int64_t prev = 0;
    for (int64_t i0 = 0; rc == STRATA_OK && i0 <= n; i0 += blk) {
        int64_t k = n + 1 - i0 < blk ? n + 1 - i0 : blk;
        hsize_t st = (hsize_t)i0, cnt = (hsize_t)k;
        hid_t fs = H5Dget_space((hid_t)ds);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        herr_t r = H5Dread((hid_t)ds, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, v);
        H5Sclose(ms);
        H5Sclose(fs);
        if (r < 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot read %s", path, name);
            break;
        }
        for (int64_t j = 0; j < k; j++) {
            int64_t i = i0 + j, x = v[j];
            if (i == 0 && x != 0) {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: %s is damaged: starts at %lld, not 0",
                               path, name, (long long)x);
                break;
            }
            if (x < prev) {
                rc = st_seterr(err, STRATA_ERR_FORMAT,
                               "%s: %s is damaged: not increasing at index %lld (%lld after %lld)",
                               path, name, (long long)i, (long long)x, (long long)prev);
                break;
            }
            if (limit >= 0 && x > limit) {
                rc = st_seterr(err, STRATA_ERR_FORMAT,
                               "%s: %s is damaged: value %lld at index %lld is past the end (%lld)",
                               path, name, (long long)x, (long long)i, (long long)limit);
                break;
            }
            prev = x;
        }
    }
    free(v);
    if (rc == STRATA_OK && last >= 0 && prev != last)
        rc = st_seterr(err, STRATA_ERR_FORMAT,
                       "%s: %s is damaged: ends at %lld, but the committed count is %lld", path, name,
                       (long long)prev, (long long)last);
    return rc;
}

/* Compares the provenance recorded in the file with what is opened now.
 * Hash mismatches are refusals naming the file whose hash differs. */
static int check_provenance(st_h5w *w, const st_h5w_provenance *p, st_err *err)
{
    const char *path = w->path;
    char *ver = st_h5_attr_get_str(w->file, "strata_version");
    char *mpath = st_h5_attr_get_str(w->file, "model_path");
    char *rev = st_h5_attr_get_str(w->file, "model_revision");
    char *ish = st_h5_attr_get_str(w->file, "input_sha256");
    char **wf = NULL, **wh = NULL, **tf = NULL, **th = NULL;
    int nwf = st_h5_attr_get_strs(w->file, "weight_files", &wf), nwh = st_h5_attr_get_strs(w->file, "weight_sha256", &wh);
    int ntf = st_h5_attr_get_strs(w->file, "tokenizer_files", &tf), nth = st_h5_attr_get_strs(w->file, "tokenizer_sha256", &th);
    int rc = STRATA_OK;
    if (!ver || strcmp(ver, STRATA_VERSION)) {
        rc = st_seterr(err, STRATA_ERR_STATE,
                       "--resume: %s was written by strata %s, this is strata %s (activations of "
                       "two versions would be mixed); capture it again", path, ver ? ver : "?",
                       STRATA_VERSION);
        goto done;
    }
    if (nwf < 0 || nwh != nwf || ntf < 0 || nth != ntf || !ish || strlen(ish) != 64) {
        rc = st_seterr(err, STRATA_ERR_STATE,
                       "--resume: %s has no provenance (weight and tokenizer SHA-256, input hash): "
                       "written by an older strata, so this input and model cannot be checked "
                       "against it; capture it again", path);
        goto done;
    }
    const char *mnow = p->model_path ? p->model_path : "";
    const char *rnow = p->model_revision ? p->model_revision : "";
    for (int pass = 0; pass < 2 && rc == STRATA_OK; pass++) {
        char **ff = pass ? tf : wf, **fh = pass ? th : wh;
        int nf = pass ? ntf : nwf;
        const char *const *nf_names = pass ? p->tokenizer_files : p->weight_files;
        const char *const *nf_hash = pass ? p->tokenizer_sha256 : p->weight_sha256;
        int nn = pass ? p->n_tokenizer_files : p->n_weight_files;
        const char *what = pass ? "tokenizer" : "weights";
        for (int i = 0; i < nf && rc == STRATA_OK; i++) {
            int j = 0;
            while (j < nn && strcmp(nf_names[j], ff[i])) j++;
            if (j == nn)
                rc = st_seterr(err, STRATA_ERR_STATE,
                               "--resume: %s was captured with %s file %s, which the model at %s "
                               "does not have (file's model: %s%s%s)", path, what, ff[i], mnow,
                               mpath ? mpath : "?", rev && *rev ? ", revision " : "", rev ? rev : "");
            else if (strcmp(nf_hash[j], fh[i]))
                rc = st_seterr(err, STRATA_ERR_STATE,
                               "--resume: %s was captured from other %s: %s has SHA-256 %.12s... in "
                               "the file but %.12s... now (file's model: %s%s%s; now: %s%s%s) -- "
                               "another checkpoint or an edited model?", path, what, ff[i], fh[i],
                               nf_hash[j], mpath ? mpath : "?", rev && *rev ? ", revision " : "",
                               rev ? rev : "", mnow, *rnow ? ", revision " : "", rnow);
        }
        for (int j = 0; j < nn && rc == STRATA_OK; j++) {
            int i = 0;
            while (i < nf && strcmp(nf_names[j], ff[i])) i++;
            if (i == nf)
                rc = st_seterr(err, STRATA_ERR_STATE,
                               "--resume: the model at %s has %s file %s, which %s was not captured "
                               "with", mnow, what, nf_names[j], path);
        }
    }
    if (rc == STRATA_OK) snprintf(w->input_sha, sizeof w->input_sha, "%s", ish);
done:
    free(ver);
    free(mpath);
    free(rev);
    free(ish);
    free_strs(wf, nwf);
    free_strs(wh, nwh);
    free_strs(tf, ntf);
    free_strs(th, nth);
    return rc;
}

static int st_h5w_resume_impl(const char *path, const st_h5w_spec *s, st_h5w **out, st_err *err)
{
    *out = NULL;
    ST_TRY(validate_spec(s, err));
    char *target = NULL;
    int exists = 0;
    ST_TRY(st_out_resolve(path, &target, &exists, err));
    if (!exists) {
        free(target);
        return st_seterr(err, STRATA_ERR_NOTFOUND, "--resume: %s does not exist", path);
    }
    st_h5w *w = writer_new(path, s);
    if (!w) {
        free(target);
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory opening %s", path);
    }
    w->real_path = target;
    w->writable = 0;
    int rc = st_out_lock(target, 0, &w->lock_fd, err);
    if (rc < 0) {
        writer_free(w);
        return rc;
    }
    own_writer(w->lock_fd, 1);
    /* Read-only while checking: a refused resume changes nothing. */
    hid_t fapl = writer_fapl();
    w->file = H5Fopen(target, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    char *fmt = NULL, *model = NULL, *config = NULL, *pos = NULL, *dtype = NULL;
    char **hooks = NULL, **labels = NULL;
    int nh = -1, nl = -1;
    if (w->file < 0) {
        rc = st_seterr(err, STRATA_ERR_FORMAT, "--resume: cannot open %s (not an HDF5 file, or damaged)",
                       path);
        goto done;
    }
    fmt = st_h5_attr_get_str(w->file, "format");
    if (!fmt || strcmp(fmt, ST_H5_FORMAT)) {
        rc = st_seterr(err, STRATA_ERR_FORMAT, "--resume: %s is not a strata activation file", path);
        goto done;
    }
    model = st_h5_attr_get_str(w->file, "model_name");
    config = st_h5_attr_get_str(w->file, "config");
    pos = st_h5_attr_get_str(w->file, "positions");
    dtype = st_h5_attr_get_str(w->file, "dtype");
    nh = st_h5_attr_get_strs(w->file, "hooks", &hooks);
    nl = st_h5_attr_get_strs(w->file, "labels", &labels);
    if (!model || !config || strcmp(model, s->model_name ? s->model_name : "") ||
        strcmp(config, s->config_json ? s->config_json : "{}")) {
        rc = st_seterr(err, STRATA_ERR_STATE,
                       "--resume: %s was captured from another model (file: '%s', now: '%s'%s)",
                       path, model ? model : "?", s->model_name ? s->model_name : "",
                       model && s->model_name && !strcmp(model, s->model_name)
                           ? "; same name, different config" : "");
        goto done;
    }
    if (nh < 0 || !same_strs(hooks, nh, s->hook_names, s->n_hooks)) {
        char a[400], b[400];
        join_strs(a, sizeof a, (const char *const *)hooks, nh < 0 ? 0 : nh);
        join_strs(b, sizeof b, s->hook_names, s->n_hooks);
        rc = st_seterr(err, STRATA_ERR_STATE,
                       "--resume: %s holds other hooks (file: %s; now: %s)", path, a, b);
        goto done;
    }
    if (nl < 0 || !same_strs(labels, nl, s->label_names, s->n_labels)) {
        char a[400], b[400];
        join_strs(a, sizeof a, (const char *const *)labels, nl < 0 ? 0 : nl);
        join_strs(b, sizeof b, s->label_names, s->n_labels);
        rc = st_seterr(err, STRATA_ERR_STATE,
                       "--resume: %s holds other labels (file: [%s]; now: [%s])", path, a, b);
        goto done;
    }
    if (!pos || strcmp(pos, s->positions ? s->positions : "all")) {
        rc = st_seterr(err, STRATA_ERR_STATE, "--resume: %s was captured with --positions %s", path,
                       pos ? pos : "?");
        goto done;
    }
    if (!dtype || strcmp(dtype, s->dtype == ST_H5_F16 ? "float16" : "float32")) {
        rc = st_seterr(err, STRATA_ERR_STATE, "--resume: %s holds dtype %s", path,
                       dtype ? dtype : "?");
        goto done;
    }
    int64_t mt = -1;
    if (st_h5_attr_get_i64(w->file, "max_tokens", &mt) == 0 && mt != s->max_tokens) {
        rc = st_seterr(err, STRATA_ERR_STATE,
                       "--resume: %s was captured with documents cut to %lld tokens, now %d "
                       "(--max-tokens differs)", path, (long long)mt, s->max_tokens);
        goto done;
    }
    int has_text = H5Lexists(w->file, "docs/text_bytes", H5P_DEFAULT) > 0;
    if (has_text != (s->has_text != 0)) {
        rc = st_seterr(err, STRATA_ERR_STATE, "--resume: %s was captured from %s input", path,
                       has_text ? "text" : "token");
        goto done;
    }
    if (s->prov && (rc = check_provenance(w, s->prov, err)) < 0) goto done;
    if (st_h5_attr_get_i64(w->file, "n_docs", &w->n_docs) < 0 ||
        st_h5_attr_get_i64(w->file, "n_rows", &w->n_rows) < 0 ||
        st_h5_attr_get_i64(w->file, "n_tokens", &w->n_tokens) < 0 || w->n_docs < 0 || w->n_rows < 0 ||
        w->n_tokens < 0) {
        rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: missing committed counts n_docs/n_rows/n_tokens",
                       path);
        goto done;
    }
    if (st_h5_attr_get_i64(w->file, "n_truncated", &w->stored_truncated) < 0) w->stored_truncated = 0;
    if (st_h5_attr_get_bool(w->file, "complete", &w->was_complete) < 0) w->was_complete = 0;
    rc = writer_open_handles(w, err);
    if (rc < 0) goto done;
    /* Row shapes must match too. */
    for (int i = 0; i < w->n_hooks; i++) {
        int r = ds_rank_in(w->ds_acts[i], 1, 1 + ST_H5_MAX_ROW_DIMS);
        hsize_t d[1 + ST_H5_MAX_ROW_DIMS];
        hid_t fs = H5Dget_space(w->ds_acts[i]);
        int ok = r == 1 + s->row_ndim[i];
        if (ok) H5Sget_simple_extent_dims(fs, d, NULL);
        H5Sclose(fs);
        for (int k = 0; ok && k < s->row_ndim[i]; k++)
            ok = w->grow[i] && k == s->row_ndim[i] - 1 ? (int64_t)d[1 + k] <= s->row_shape[i][k]
                                                       : (int64_t)d[1 + k] == s->row_shape[i][k];
        if (!ok) {
            rc = st_seterr(err, STRATA_ERR_STATE,
                           "--resume: %s: /acts/%s has another row shape (different --max-tokens?)",
                           path, w->hook_names[i]);
            goto done;
        }
    }
    if (ds_len(w->ds_tokens) < w->n_tokens || ds_len(w->ds_rows) < w->n_rows) {
        rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: datasets shorter than the committed counts", path);
        goto done;
    }
    for (int i = 0; i < w->n_hooks; i++)
        if (ds_len(w->ds_acts[i]) < w->n_rows) {
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: /acts/%s is shorter than the committed rows",
                           path, w->hook_names[i]);
            goto done;
        }
    for (int i = 0; i < w->n_labels; i++)
        if (ds_len(w->ds_labels[i]) < w->n_rows) {
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: /labels/%s is shorter than the committed rows",
                           path, w->label_names[i]);
            goto done;
        }
    /* Every offset array: starts at 0, never decreases, ends at the committed count. */
    if ((rc = st_h5_check_offsets(w->ds_offsets, path, "/docs/offsets", w->n_docs, w->n_tokens,
                                  w->n_tokens, err)) < 0 ||
        (rc = st_h5_check_offsets(w->ds_row_offsets, path, "/docs/row_offsets", w->n_docs, w->n_rows,
                                  w->n_rows, err)) < 0)
        goto done;
    if (w->ds_text >= 0) {
        if ((rc = st_h5_check_offsets(w->ds_text_offsets, path, "/docs/text_offsets", w->n_docs, -1,
                                      ds_len(w->ds_text), err)) < 0)
            goto done;
        hid_t fs = H5Dget_space(w->ds_text_offsets);
        hsize_t at = (hsize_t)w->n_docs, one = 1;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL);
        hid_t ms = H5Screate_simple(1, &one, NULL);
        herr_t r = H5Dread(w->ds_text_offsets, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, &w->n_text_bytes);
        H5Sclose(ms);
        H5Sclose(fs);
        if (r < 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot read /docs/text_offsets", path);
            goto done;
        }
    }
done:
    free(fmt);
    free(model);
    free(config);
    free(pos);
    free(dtype);
    free_strs(hooks, nh);
    free_strs(labels, nl);
    if (rc < 0) writer_free(w);
    else *out = w;
    return rc;
}

const char *st_h5w_stored_input_hash(const st_h5w *w) { return w ? w->input_sha : ""; }
int st_h5w_was_complete(const st_h5w *w) { return w ? w->was_complete : 0; }

/* Reads elements [a, b) of a 1-D dataset into buf (memory type mt). */
static int read_range(hid_t ds, hid_t mt, int64_t a, int64_t b, void *buf)
{
    if (b <= a) return 0;
    hsize_t st = (hsize_t)a, cnt = (hsize_t)(b - a);
    hid_t fs = H5Dget_space(ds);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
    hid_t ms = H5Screate_simple(1, &cnt, NULL);
    herr_t r = H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return r < 0 ? -1 : 0;
}

static int st_h5w_stored_doc_impl(st_h5w *w, int64_t i, const int32_t **tokens, int64_t *n_tokens,
                             const char **text, int64_t *text_len, st_err *err)
{
    if (!w || w->file < 0 || i < 0 || i >= w->n_docs)
        return st_seterr(err, STRATA_ERR_ARG, "stored document %lld: no such document", (long long)i);
    if (!(w->sd_off && i >= w->sd_d0 && i < w->sd_d0 + w->sd_n)) {
        /* load the block of (up to) 1024 documents starting at i */
        int64_t n = w->n_docs - i < 1024 ? w->n_docs - i : 1024;
        int64_t *off = realloc(w->sd_off, sizeof *off * (size_t)(n + 1));
        if (off) w->sd_off = off;
        int64_t *toff = off ? realloc(w->sd_toff, sizeof *toff * (size_t)(n + 1)) : NULL;
        if (toff) w->sd_toff = toff;
        if (!off || !toff) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        w->sd_n = 0;
        if (read_range(w->ds_offsets, H5T_NATIVE_INT64, i, i + n + 1, off) < 0)
            return st_seterr(err, STRATA_ERR_IO, "%s: cannot read /docs/offsets", w->path);
        int32_t *tk = realloc(w->sd_tok, sizeof *tk * (size_t)(off[n] - off[0] + 1));
        if (!tk) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        w->sd_tok = tk;
        if (read_range(w->ds_tokens, H5T_NATIVE_INT32, off[0], off[n], tk) < 0)
            return st_seterr(err, STRATA_ERR_IO, "%s: cannot read /tokens", w->path);
        if (w->ds_text >= 0) {
            if (read_range(w->ds_text_offsets, H5T_NATIVE_INT64, i, i + n + 1, toff) < 0)
                return st_seterr(err, STRATA_ERR_IO, "%s: cannot read /docs/text_offsets", w->path);
            char *tx = realloc(w->sd_text, (size_t)(toff[n] - toff[0] + 1));
            if (!tx) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
            w->sd_text = tx;
            if (read_range(w->ds_text, H5T_NATIVE_UCHAR, toff[0], toff[n], tx) < 0)
                return st_seterr(err, STRATA_ERR_IO, "%s: cannot read /docs/text_bytes", w->path);
        }
        w->sd_d0 = i;
        w->sd_n = n;
    }
    int64_t j = i - w->sd_d0;
    *tokens = w->sd_tok + (w->sd_off[j] - w->sd_off[0]);
    *n_tokens = w->sd_off[j + 1] - w->sd_off[j];
    if (w->ds_text >= 0) {
        *text = w->sd_text + (w->sd_toff[j] - w->sd_toff[0]);
        *text_len = w->sd_toff[j + 1] - w->sd_toff[j];
    } else {
        *text = NULL;
        *text_len = 0;
    }
    return STRATA_OK;
}

/* Switches a checked resume to writing: reopens the (locked) file read-write,
 * truncates every dataset to the committed counts, clears `complete` and
 * removes a /docs/text of an earlier clean close (made again at the next). */
static int begin_writing(st_h5w *w, st_err *err)
{
    if (w->writable) return STRATA_OK;
    if (w->broken) return st_seterr(err, STRATA_ERR_STATE, "%s: the writer failed earlier", w->path);
    free(w->sd_off); free(w->sd_toff); free(w->sd_tok); free(w->sd_text);
    w->sd_off = w->sd_toff = NULL;
    w->sd_tok = NULL;
    w->sd_text = NULL;
    w->sd_n = 0;
    writer_close_handles(w);
    hid_t fapl = writer_fapl();
    w->file = H5Fopen(w->real_path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    w->writable = 1;
    if (w->file < 0) {
        w->broken = 1;
        return st_seterr(err, STRATA_ERR_IO, "--resume: cannot open %s for writing (%s)", w->path,
                         access(w->real_path, W_OK) ? strerror(errno) : "HDF5 refused it");
    }
    if (!st_out_same_file(w->lock_fd, w->real_path)) {
        w->broken = 1;
        return st_seterr(err, STRATA_ERR_STATE,
                         "%s was replaced by another program while it was being checked", w->path);
    }
    ST_TRY(writer_open_handles(w, err));
    int rc = st_h5w_reserve(w, 0, 0, 0, 0, err);
    if (rc < 0) return rc;
    /* Drop whatever an interrupted batch left beyond the committed counts. */
    int bad = ds_set_len(w->ds_tokens, w->n_tokens) < 0 || ds_set_len(w->ds_rows, w->n_rows) < 0 ||
              ds_set_len(w->ds_offsets, w->n_docs + 1) < 0 ||
              ds_set_len(w->ds_row_offsets, w->n_docs + 1) < 0;
    if (w->ds_text >= 0) {
        bad |= ds_set_len(w->ds_text_offsets, w->n_docs + 1) < 0 ||
               ds_set_len(w->ds_text, w->n_text_bytes) < 0;
        if (!bad && H5Lexists(w->g_docs, "text", H5P_DEFAULT) > 0)
            bad |= H5Ldelete(w->g_docs, "text", H5P_DEFAULT) < 0;
    }
    for (int i = 0; i < w->n_hooks; i++) bad |= ds_set_len(w->ds_acts[i], w->n_rows) < 0;
    for (int i = 0; i < w->n_labels; i++) bad |= ds_set_len(w->ds_labels[i], w->n_rows) < 0;
    if (bad || st_h5_attr_put_bool(w->file, "complete", 0) < 0 ||
        H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) {
        w->broken = 1;
        return st_seterr(err, STRATA_ERR_IO, "%s: cannot truncate to the committed rows", w->path);
    }
    return STRATA_OK;
}

/* Bytes of file space n more rows of row_bytes may take: the rows and one
 * new chunk (two when compressed: the rewritten tail chunk moves). */
static int64_t rows_need(int64_t n, int64_t row_bytes, int compressed)
{
    if (n <= 0) return 0;
    int64_t chunk = (int64_t)chunk_rows_for((size_t)row_bytes) * row_bytes;
    return n * row_bytes + chunk * (compressed ? 2 : 1);
}

/* Claims disk blocks up to the end of the HDF5 address space plus `need`. */
static int reserve_bytes(st_h5w *w, int64_t need, st_err *err)
{
    hsize_t size = 0;
    if (H5Fget_filesize(w->file, &size) < 0)
        return st_seterr(err, STRATA_ERR_IO, "%s: cannot read the file size", w->path);
    int64_t to = (int64_t)size + need;
    if (to <= w->reserved_to) return STRATA_OK;
    ST_TRY(st_out_reserve(w->lock_fd, w->path, w->reserved_to, to, err));
    w->reserved_to = to;
    return STRATA_OK;
}

static int st_h5w_reserve_impl(st_h5w *w, int64_t n_docs, int64_t n_tokens, int64_t n_rows, int64_t text_bytes,
                          st_err *err)
{
    if (!w || w->file < 0) return st_seterr(err, STRATA_ERR_STATE, "activation store is closed");
    ST_TRY(begin_writing(w, err));
    int cz = w->compress > 0;
    int64_t elem = w->dtype == ST_H5_F16 ? 2 : 4, need = 0;
    for (int h = 0; h < w->n_hooks; h++) need += rows_need(n_rows, w->width[h] * elem, cz);
    need += w->n_labels * rows_need(n_rows, 4, cz);
    need += rows_need(n_rows, 8, cz) + rows_need(n_tokens, 4, cz) + 2 * rows_need(n_docs, 8, 0);
    if (w->has_text) need += rows_need(text_bytes, 1, cz) + rows_need(n_docs, 8, 0);
    /* metadata: chunk index, object headers, attributes (a generous bound) */
    need += ((int64_t)1 << 20) + need / 64;
    return reserve_bytes(w, need, err);
}

static int st_h5w_append_impl(st_h5w *w, const st_h5w_batch *b, st_err *err)
{
    if (!w || w->file < 0) return st_seterr(err, STRATA_ERR_STATE, "activation store is closed");
    if (b->n_docs <= 0) return STRATA_OK;
    int64_t ntok = 0, nrows = 0;
    for (int i = 0; i < b->n_docs; i++) {
        ntok += b->doc_ntok[i];
        nrows += b->doc_nrows[i];
    }
    if (nrows != b->n_rows)
        return st_seterr(err, STRATA_ERR_ARG, "batch: doc_nrows sum %lld != n_rows %lld",
                         (long long)nrows, (long long)b->n_rows);
    if (w->broken) return st_seterr(err, STRATA_ERR_STATE, "%s: the writer failed earlier", w->path);
    int64_t tbytes = 0;
    for (int i = 0; w->ds_text >= 0 && b->texts && i < b->n_docs; i++)
        tbytes += b->texts[i] ? (int64_t)strlen(b->texts[i]) : 0;
    /* Space first: a full disk fails here, before anything is written. */
    ST_TRY(st_h5w_reserve(w, b->n_docs, ntok, b->n_rows, tbytes, err));
    w->broken = 1; /* until this batch is committed */
    const char *ioerr = "%s: write failed for %s (disk full?)";
    /* 1. activations, labels, rows, tokens, document index. */
    for (int h = 0; h < w->n_hooks; h++) {
        const void *buf = b->acts[h];
        hid_t mt = H5T_NATIVE_FLOAT;
        if (!buf) { /* rows already written by st_h5w_write_rows() */
            if (ds_len(w->ds_acts[h]) < w->n_rows + b->n_rows)
                return st_seterr(err, STRATA_ERR_STATE, "%s: rows of %s missing from the batch",
                                 w->path, w->hook_names[h]);
            continue;
        }
        if (w->dtype == ST_H5_F16) {
            size_t n = (size_t)(b->n_rows * w->width[h]);
            uint16_t *hb = scratch(w, n * 2 + 1);
            if (!hb) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory (float16 buffer)");
            for (size_t i = 0; i < n; i++) hb[i] = st_f32_to_f16(b->acts[h][i]);
            buf = hb;
            mt = w->t_f16;
        }
        int ar = w->grow[h] ? ds_append_w(w->ds_acts[h], mt, w->n_rows, b->n_rows, buf,
                                          b->width, w->row_last[h])
                            : ds_append(w->ds_acts[h], mt, w->n_rows, b->n_rows, buf);
        if (ar < 0)
            return st_seterr(err, STRATA_ERR_IO, ioerr, w->path, w->hook_names[h]);
    }
    for (int l = 0; l < w->n_labels; l++) {
        int rc;
        if (w->label_is_int[l]) {
            int32_t *ib = scratch(w, (size_t)b->n_rows * 4 + 1);
            if (!ib) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory (label buffer)");
            for (int64_t i = 0; i < b->n_rows; i++) ib[i] = (int32_t)b->labels[l][i];
            rc = ds_append(w->ds_labels[l], H5T_NATIVE_INT32, w->n_rows, b->n_rows, ib);
        } else {
            rc = ds_append(w->ds_labels[l], H5T_NATIVE_FLOAT, w->n_rows, b->n_rows, b->labels[l]);
        }
        if (rc < 0) return st_seterr(err, STRATA_ERR_IO, ioerr, w->path, w->label_names[l]);
    }
    if (ds_append(w->ds_rows, H5T_NATIVE_INT64, w->n_rows, b->n_rows, b->rows) < 0)
        return st_seterr(err, STRATA_ERR_IO, ioerr, w->path, "/rows");
    if (ds_append(w->ds_tokens, H5T_NATIVE_INT32, w->n_tokens, ntok, b->tokens) < 0)
        return st_seterr(err, STRATA_ERR_IO, ioerr, w->path, "/tokens");
    int64_t *offs = scratch(w, sizeof(int64_t) * 2 * (size_t)b->n_docs);
    if (!offs) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    int64_t to = w->n_tokens, ro = w->n_rows;
    for (int i = 0; i < b->n_docs; i++) {
        to += b->doc_ntok[i];
        ro += b->doc_nrows[i];
        offs[i] = to;
        offs[b->n_docs + i] = ro;
    }
    if (ds_append(w->ds_offsets, H5T_NATIVE_INT64, w->n_docs + 1, b->n_docs, offs) < 0 ||
        ds_append(w->ds_row_offsets, H5T_NATIVE_INT64, w->n_docs + 1, b->n_docs, offs + b->n_docs) < 0)
        return st_seterr(err, STRATA_ERR_IO, ioerr, w->path, "/docs/offsets");
    int64_t new_text_bytes = 0;
    if (w->ds_text >= 0) {
        size_t tot = 0;
        for (int i = 0; i < b->n_docs; i++) tot += b->texts && b->texts[i] ? strlen(b->texts[i]) : 0;
        char *tb = malloc(tot + 1);
        int64_t *to_ = malloc(sizeof *to_ * (size_t)b->n_docs);
        if (!tb || !to_) { free(tb); free(to_); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
        size_t o = 0;
        for (int i = 0; i < b->n_docs; i++) {
            size_t l = b->texts && b->texts[i] ? strlen(b->texts[i]) : 0;
            memcpy(tb + o, l ? b->texts[i] : "", l);
            o += l;
            to_[i] = w->n_text_bytes + (int64_t)o;
        }
        int rc = ds_append(w->ds_text, H5T_NATIVE_UCHAR, w->n_text_bytes, (int64_t)tot, tb) < 0 ||
                 ds_append(w->ds_text_offsets, H5T_NATIVE_INT64, w->n_docs + 1, b->n_docs, to_) < 0;
        free(tb);
        free(to_);
        if (rc) return st_seterr(err, STRATA_ERR_IO, ioerr, w->path, "/docs/text_bytes");
        new_text_bytes = (int64_t)tot;
    }
    /* 2. everything to disk, 3. then the committed counts (and to disk). */
    if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0)
        return st_seterr(err, STRATA_ERR_IO, "%s: flush failed (disk full?)", w->path);
    w->n_docs += b->n_docs;
    w->n_rows += b->n_rows;
    w->n_tokens += ntok;
    w->n_text_bytes += new_text_bytes;
    if (b->input_sha256) snprintf(w->input_sha, sizeof w->input_sha, "%s", b->input_sha256);
    if (commit_counts(w) < 0)
        return st_seterr(err, STRATA_ERR_IO, "%s: cannot commit counts (disk full?)", w->path);
    w->broken = 0;
    /* The cache never evicts, so reopen now and then to bound its memory.
     * The file is reopened by its path, which the lock keeps ours; the
     * reopened file is checked to be the locked one all the same (a program
     * that ignores locks could have renamed another file there). */
    if (++w->commits_since_open >= 256) {
        writer_close_handles(w);
        hid_t fapl = writer_fapl();
        w->file = H5Fopen(w->real_path, H5F_ACC_RDWR, fapl);
        H5Pclose(fapl);
        w->commits_since_open = 0;
        if (w->file < 0) {
            w->broken = 1;
            return st_seterr(err, STRATA_ERR_IO, "%s: cannot reopen", w->path);
        }
        if (!st_out_same_file(w->lock_fd, w->real_path)) {
            w->broken = 1;
            writer_close_handles(w);
            return st_seterr(err, STRATA_ERR_STATE,
                             "%s was replaced by another program during the capture; the "
                             "committed documents are in the file that was replaced", w->path);
        }
        ST_TRY(writer_open_handles(w, err));
    }
    return STRATA_OK;
}

static int st_h5w_write_rows_impl(st_h5w *w, int h, int64_t row0, int64_t n, const float *src,
                             int64_t stride, st_err *err)
{
    if (!w || w->file < 0) return st_seterr(err, STRATA_ERR_STATE, "activation store is closed");
    if (h < 0 || h >= w->n_hooks || row0 < 0 || stride < w->width[h] || w->dtype != ST_H5_F32)
        return st_seterr(err, STRATA_ERR_ARG, "st_h5w_write_rows: bad arguments");
    if (n <= 0) return STRATA_OK;
    ST_TRY(begin_writing(w, err));
    hid_t ds = w->ds_acts[h];
    hid_t fs = H5Dget_space(ds);
    if (fs < 0) return st_seterr(err, STRATA_ERR_IO, "%s: cannot read the extent of %s", w->path,
                                 w->hook_names[h]);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS], start[1 + ST_H5_MAX_ROW_DIMS] = {0},
            count[1 + ST_H5_MAX_ROW_DIMS];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    hsize_t end = (hsize_t)(w->n_rows + row0 + n);
    if (dims[0] < end) {
        H5Sclose(fs);
        dims[0] = end;
        if (H5Dset_extent(ds, dims) < 0 || (fs = H5Dget_space(ds)) < 0) {
            w->broken = 1;
            return st_seterr(err, STRATA_ERR_IO, "%s: cannot extend %s (disk full?)", w->path,
                             w->hook_names[h]);
        }
    }
    start[0] = (hsize_t)(w->n_rows + row0);
    for (int i = 0; i < rank; i++) count[i] = dims[i];
    count[0] = (hsize_t)n;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    /* memory: [n][stride] floats, the first width of each row */
    hsize_t mdims[2] = { (hsize_t)n, (hsize_t)stride }, mstart[2] = { 0, 0 },
            mcount[2] = { (hsize_t)n, (hsize_t)w->width[h] };
    hid_t ms = H5Screate_simple(2, mdims, NULL);
    H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, mcount, NULL);
    herr_t rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, src);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0) {
        w->broken = 1;
        return st_seterr(err, STRATA_ERR_IO, "%s: write failed for %s (disk full?)", w->path,
                         w->hook_names[h]);
    }
    return STRATA_OK;
}

/* /docs/text (vlen utf-8 [D]) from /docs/text_bytes and /docs/text_offsets,
 * streamed in blocks of documents. */
static int write_vlen_text(st_h5w *w)
{
    if (H5Lexists(w->g_docs, "text", H5P_DEFAULT) > 0 && H5Ldelete(w->g_docs, "text", H5P_DEFAULT) < 0)
        return -1;
    hid_t vt = st_h5_vstr_type();
    hid_t ds = ds_create(w->g_docs, "text", vt, 0, NULL, 16, 0);
    int rc = ds < 0 ? -1 : 0;
    const int64_t blk = 4096;
    int64_t *off = malloc(sizeof *off * (size_t)(blk + 1));
    const char **ptr = malloc(sizeof *ptr * (size_t)blk);
    char *bytes = NULL;
    if (!off || !ptr) rc = -1;
    for (int64_t d0 = 0; rc == 0 && d0 < w->n_docs; d0 += blk) {
        int64_t n = w->n_docs - d0 < blk ? w->n_docs - d0 : blk;
        hsize_t st = (hsize_t)d0, cnt = (hsize_t)(n + 1);
        hid_t fs = H5Dget_space(w->ds_text_offsets);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        rc = H5Dread(w->ds_text_offsets, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, off) < 0 ? -1 : 0;
        H5Sclose(ms);
        H5Sclose(fs);
        if (rc) break;
        for (int64_t i = 0; i < n; i++) /* checked on resume; never trust it blindly */
            if (off[i + 1] < off[i] || off[i] < 0) rc = -1;
        if (rc) break;
        int64_t nb = off[n] - off[0];
        char *nbuf = realloc(bytes, (size_t)nb + (size_t)n + 1);
        if (!nbuf) { rc = -1; break; }
        bytes = nbuf;
        /* read the bytes, then spread them out with a NUL after each text */
        char *raw = bytes + n; /* room for n NULs in front */
        if (nb > 0) {
            st = (hsize_t)off[0];
            cnt = (hsize_t)nb;
            fs = H5Dget_space(w->ds_text);
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
            ms = H5Screate_simple(1, &cnt, NULL);
            rc = H5Dread(w->ds_text, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, raw) < 0 ? -1 : 0;
            H5Sclose(ms);
            H5Sclose(fs);
            if (rc) break;
        }
        char *o = bytes;
        for (int64_t i = 0; i < n; i++) {
            int64_t l = off[i + 1] - off[i];
            memmove(o, raw + (off[i] - off[0]), (size_t)l); /* o <= source: safe */
            o[l] = 0;
            ptr[i] = o;
            o += l + 1;
        }
        if (ds_append(ds, vt, d0, n, ptr) < 0) rc = -1;
    }
    free(off);
    free(ptr);
    free(bytes);
    if (ds >= 0) H5Dclose(ds);
    H5Tclose(vt);
    return rc;
}

static int st_h5w_close_impl(st_h5w *w, int complete, int64_t n_truncated, st_err *err)
{
    if (!w) return STRATA_OK;
    int rc = STRATA_OK;
    if (w->file >= 0 && !w->writable && complete && !w->was_complete)
        rc = begin_writing(w, err); /* a resume with nothing new still completes the file */
    if (rc == STRATA_OK && w->file >= 0 && w->writable && !w->broken) {
        if (complete) {
            /* Space for /docs/text (global heap: the bytes plus about 16 bytes per
             * string; the dataset: 16 bytes per element) and the last metadata,
             * claimed before anything is written: without it the file stays
             * committed and resumable, complete = false. */
            int64_t need = (w->ds_text >= 0 ? w->n_text_bytes + 48 * w->n_docs + ((int64_t)1 << 20) : 0) +
                           ((int64_t)1 << 20);
            st_err e;
            if (reserve_bytes(w, need, &e) < 0) {
                rc = st_seterr(err, STRATA_ERR_IO,
                               "%s; cannot finish %s: all %lld documents are committed but the "
                               "file stays complete = false. Free some space and rerun the same "
                               "command with --resume to complete it", e.msg, w->path,
                               (long long)w->n_docs);
                complete = 0;
            }
        }
        if (rc == STRATA_OK) {
            if (st_h5_attr_put_i64(w->file, "n_truncated", w->stored_truncated + n_truncated) < 0 ||
                H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0)
                rc = st_seterr(err, STRATA_ERR_IO, "%s: final flush failed", w->path);
        }
        /* /docs/text on disk first, then `complete` (so complete = true never
         * points at a /docs/text that did not make it to the disk) */
        if (rc == STRATA_OK && complete && w->ds_text >= 0 &&
            (write_vlen_text(w) < 0 || H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0))
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot write /docs/text (complete = false; "
                           "rerun with --resume to complete it)", w->path);
        if (rc == STRATA_OK && complete) {
            if (st_h5_attr_put_bool(w->file, "complete", 1) < 0 ||
                H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0)
                rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot mark complete", w->path);
        }
    }
    int fd = w->lock_fd, reserved = w->reserved_to > 0;
    w->lock_fd = -1;
    writer_free(w);
    own_writer(fd, 0);
    if (fd >= 0) {
        /* Give back blocks claimed past the end of the file (same size:
         * nothing of the file changes). */
        struct stat st;
        if (reserved && fstat(fd, &st) == 0 && ftruncate(fd, st.st_size) != 0) { /* best effort */ }
        close(fd); /* releases the lock, after HDF5 has closed the file */
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* reader                                                              */

struct strata_acts {
    st_err err;
    char *path;
    hid_t file;
    int complete;
    int64_t n_rows, n_docs, n_tokens;
    int n_hooks, n_labels;
    char **hooks, **labels;
    hid_t *ds_hooks;          /* [n_hooks] */
    int *hook_f16;            /* [n_hooks] */
    hid_t *ds_labels;         /* [n_labels] */
    hid_t ds_rows, ds_tokens;
};

const char *strata_acts_errmsg(const strata_acts *a)
{
    return a ? a->err.msg : "out of memory";
}

static void strata_acts_close_impl(strata_acts *a)
{
    if (!a) return;
    for (int i = 0; i < a->n_hooks; i++)
        if (a->ds_hooks && a->ds_hooks[i] >= 0) H5Dclose(a->ds_hooks[i]);
    for (int i = 0; i < a->n_labels; i++)
        if (a->ds_labels && a->ds_labels[i] >= 0) H5Dclose(a->ds_labels[i]);
    if (a->ds_rows >= 0) H5Dclose(a->ds_rows);
    if (a->ds_tokens >= 0) H5Dclose(a->ds_tokens);
    if (a->file >= 0) H5Fclose(a->file);
    free_strs(a->hooks, a->n_hooks);
    free_strs(a->labels, a->n_labels);
    free(a->ds_hooks);
    free(a->hook_f16);
    free(a->ds_labels);
    free(a->path);
    free(a);
}

/* Names of the members of a group, in creation order where tracked, else name order. */
static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    (void)g;
    (void)info;
    char ***v = ud;
    size_t n = 0;
    while ((*v)[n]) n++;
    char **t = realloc(*v, sizeof **v * (n + 2));
    if (!t) return -1;
    t[n] = strdup(name);
    t[n + 1] = NULL;
    *v = t;
    return t[n] ? 0 : -1;
}

static int list_group(hid_t file, const char *group, char ***out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return -1;
    if (H5Lexists(file, group, H5P_DEFAULT) <= 0) return 0;
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0) return 0;
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, out);
    H5Gclose(g);
    int n = 0;
    while ((*out)[n]) n++;
    return n;
}

static int ds_class(hid_t ds)
{
    hid_t t = H5Dget_type(ds);
    if (t < 0) return -1;
    int c = (int)H5Tget_class(t);
    H5Tclose(t);
    return c;
}

/* NULL when an activation dataset has the shape the format allows: rank
 * 1 + (0..ST_H5_MAX_ROW_DIMS), every row axis >= 1, at most
 * ST_H5_MAX_ROW_ELEMS values per row; else why not. */
static const char *acts_row_shape_problem(hid_t ds)
{
    int r = ds_rank_in(ds, 1, 1 + ST_H5_MAX_ROW_DIMS);
    if (r < 0) return "rank outside 1..4 (rows + at most 3 row axes)";
    hsize_t d[1 + ST_H5_MAX_ROW_DIMS];
    hid_t fs = H5Dget_space(ds);
    H5Sget_simple_extent_dims(fs, d, NULL);
    H5Sclose(fs);
    uint64_t w = 1;
    for (int k = 1; k < r; k++) {
        if (d[k] < 1) return "a row axis of length 0";
        if (d[k] > ST_H5_MAX_ROW_ELEMS || (w *= d[k]) > ST_H5_MAX_ROW_ELEMS)
            return "rows wider than 2^31 values (the format's limit)";
    }
    return NULL;
}

/* Does an activation dataset store fewer bytes than its committed rows need?
 * Unfiltered chunks and contiguous data are allocated whole when written, so
 * they hold at least rows * row bytes; deflate cannot shrink data more than
 * about 1032:1, so filtered data holds at least 1/2048 of it.  A file that
 * declares rows it never wrote would otherwise be read as terabytes of fill
 * values. */
static int acts_storage_short(hid_t ds, int64_t n_rows, size_t elem, double *need, double *have)
{
    hsize_t d[1 + ST_H5_MAX_ROW_DIMS];
    int r = ds_rank_in(ds, 1, 1 + ST_H5_MAX_ROW_DIMS);
    if (r < 0) return 1;
    hid_t fs = H5Dget_space(ds);
    H5Sget_simple_extent_dims(fs, d, NULL);
    H5Sclose(fs);
    double raw = (double)n_rows * (double)elem;
    for (int k = 1; k < r; k++) raw *= (double)d[k];
    hid_t dcpl = H5Dget_create_plist(ds);
    int filtered = dcpl >= 0 && H5Pget_nfilters(dcpl) > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    *need = raw;
    *have = (double)H5Dget_storage_size(ds);
    return *have < (filtered ? raw / 2048 : raw);
}

static strata_status strata_acts_open_impl(const char *path, strata_acts **out)
{
    strata_acts *a = calloc(1, sizeof *a);
    *out = a;
    if (!a) return STRATA_ERR_NOMEM;
    a->file = a->ds_rows = a->ds_tokens = -1;
    a->path = strdup(path ? path : "");
    if (!path || !a->path) return st_seterr(&a->err, STRATA_ERR_ARG, "no path given");
    if (access(path, R_OK) != 0)
        return st_seterr(&a->err, STRATA_ERR_IO, "%s: %s", path, strerror(errno));
    a->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (a->file < 0 && is_own_writer(path)) {
        /* written by this process: open it as the writer did (no HDF5 lock) */
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        H5Pset_file_locking(fapl, 0, 1);
        a->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        H5Pclose(fapl);
    }
    if (a->file < 0) {
        /* Locked by a writer (a capture still running)?  Ask the lock itself. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        int busy = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        if (fd >= 0) close(fd);
        if (busy)
            return st_seterr(&a->err, STRATA_ERR_IO,
                             "%s is being written by another process (a capture still running "
                             "holds its lock); wait for it to finish", path);
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: not an HDF5 file, or damaged", path);
    }
    char *fmt = st_h5_attr_get_str(a->file, "format");
    char *ver = st_h5_attr_get_str(a->file, "format_version");
    int ok_fmt = fmt && !strcmp(fmt, ST_H5_FORMAT);
    int major = ver ? atoi(ver) : -1;
    free(fmt);
    if (!ok_fmt) {
        free(ver);
        return st_seterr(&a->err, STRATA_ERR_FORMAT,
                         "%s: not a strata activation file (root attribute format != \"%s\")", path,
                         ST_H5_FORMAT);
    }
    if (major != 1) {
        int rc = st_seterr(&a->err, STRATA_ERR_UNSUPPORTED,
                           "%s: format_version %s not supported (this strata reads 1.x)", path,
                           ver ? ver : "(missing)");
        free(ver);
        return rc;
    }
    free(ver);
    if (st_h5_attr_get_bool(a->file, "complete", &a->complete) < 0) a->complete = 0;
    a->ds_rows = ds_open(a->file, "rows");
    a->ds_tokens = ds_open(a->file, "tokens");
    if (a->ds_rows < 0 || a->ds_tokens < 0)
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: missing /rows or /tokens", path);
    if (ds_rank_in(a->ds_rows, 1, 1) < 0 || ds_rank_in(a->ds_tokens, 1, 1) < 0 ||
        ds_class(a->ds_rows) != H5T_INTEGER || ds_class(a->ds_tokens) != H5T_INTEGER)
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /rows and /tokens must be 1-D integer "
                         "datasets", path);
    /* Committed counts; extents may hold an interrupted batch beyond them. */
    int64_t ext_rows = ds_len(a->ds_rows), ext_tok = ds_len(a->ds_tokens);
    if (st_h5_attr_get_i64(a->file, "n_rows", &a->n_rows) < 0) a->n_rows = ext_rows;
    if (st_h5_attr_get_i64(a->file, "n_tokens", &a->n_tokens) < 0) a->n_tokens = ext_tok;
    if (st_h5_attr_get_i64(a->file, "n_docs", &a->n_docs) < 0) a->n_docs = -1;
    if (a->n_rows < 0 || a->n_rows > ext_rows || a->n_tokens < 0 || a->n_tokens > ext_tok)
        return st_seterr(&a->err, STRATA_ERR_FORMAT,
                         "%s: committed counts (rows %lld, tokens %lld) exceed the datasets "
                         "(%lld, %lld)", path, (long long)a->n_rows, (long long)a->n_tokens,
                         (long long)ext_rows, (long long)ext_tok);
    /* The document index, where present: checked before anyone uses it. */
    if (a->n_docs >= 0) {
        static const char *const names[3] = { "docs/offsets", "docs/row_offsets", "docs/text_offsets" };
        for (int k = 0; k < 3; k++) {
            if (H5Lexists(a->file, "docs", H5P_DEFAULT) <= 0 ||
                H5Lexists(a->file, names[k], H5P_DEFAULT) <= 0)
                continue;
            hid_t ds = ds_open(a->file, names[k]);
            int64_t limit = k == 0 ? a->n_tokens : k == 1 ? a->n_rows : -1;
            if (k == 2) {
                hid_t tb = H5Lexists(a->file, "docs/text_bytes", H5P_DEFAULT) > 0
                               ? ds_open(a->file, "docs/text_bytes") : -1;
                limit = tb >= 0 ? ds_len(tb) : 0;
                if (tb >= 0) H5Dclose(tb);
            }
            char nm[32];
            snprintf(nm, sizeof nm, "/%s", names[k]);
            int rc = ds < 0 ? st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: cannot open %s", path, nm)
                            : st_h5_check_offsets(ds, path, nm, a->n_docs, k == 2 ? -1 : limit, limit,
                                                  &a->err);
            if (ds >= 0) H5Dclose(ds);
            if (rc < 0) return rc;
        }
    }
    int nh = st_h5_attr_get_strs(a->file, "hooks", &a->hooks);
    if (nh < 0) nh = list_group(a->file, "acts", &a->hooks);
    if (nh < 0) return st_seterr(&a->err, STRATA_ERR_NOMEM, "out of memory");
    a->n_hooks = nh;
    int nl = st_h5_attr_get_strs(a->file, "labels", &a->labels);
    if (nl < 0) nl = list_group(a->file, "labels", &a->labels);
    if (nl < 0) return st_seterr(&a->err, STRATA_ERR_NOMEM, "out of memory");
    a->n_labels = nl;
    a->ds_hooks = malloc(sizeof *a->ds_hooks * (size_t)(nh + 1));
    a->hook_f16 = calloc((size_t)nh + 1, sizeof *a->hook_f16);
    a->ds_labels = malloc(sizeof *a->ds_labels * (size_t)(nl + 1));
    if (!a->ds_hooks || !a->hook_f16 || !a->ds_labels)
        return st_seterr(&a->err, STRATA_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nh; i++) a->ds_hooks[i] = -1;
    for (int i = 0; i < nl; i++) a->ds_labels[i] = -1;
    hid_t g = H5Gopen2(a->file, "acts", H5P_DEFAULT);
    for (int i = 0; i < nh; i++) {
        a->ds_hooks[i] = g >= 0 ? ds_open(g, a->hooks[i]) : -1;
        if (a->ds_hooks[i] < 0) {
            if (g >= 0) H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: hook %s listed but /acts/%s missing",
                             path, a->hooks[i], a->hooks[i]);
        }
        hid_t t = H5Dget_type(a->ds_hooks[i]);
        if (H5Tget_class(t) != H5T_FLOAT || (H5Tget_size(t) != 4 && H5Tget_size(t) != 2)) {
            H5Tclose(t);
            H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_UNSUPPORTED,
                             "%s: /acts/%s is not float32 or float16", path, a->hooks[i]);
        }
        a->hook_f16[i] = H5Tget_size(t) == 2;
        H5Tclose(t);
        const char *why = acts_row_shape_problem(a->ds_hooks[i]);
        if (why) {
            H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /acts/%s: %s", path, a->hooks[i], why);
        }
        int64_t len = ds_len(a->ds_hooks[i]);
        if (len < a->n_rows) {
            H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /acts/%s has %lld rows, fewer than %lld",
                             path, a->hooks[i], (long long)len, (long long)a->n_rows);
        }
        double need = 0, have = 0;
        if (acts_storage_short(a->ds_hooks[i], a->n_rows, a->hook_f16[i] ? 2 : 4, &need, &have)) {
            H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_FORMAT,
                             "%s: /acts/%s declares %lld rows of %.4g bytes (%.4g bytes in all) but "
                             "stores %.4g bytes: the rows were never written", path, a->hooks[i],
                             (long long)a->n_rows, need / (double)(a->n_rows ? a->n_rows : 1), need,
                             have);
        }
    }
    if (g >= 0) H5Gclose(g);
    g = nl ? H5Gopen2(a->file, "labels", H5P_DEFAULT) : -1;
    for (int i = 0; i < nl; i++) {
        a->ds_labels[i] = g >= 0 ? ds_open(g, a->labels[i]) : -1;
        int cls = a->ds_labels[i] >= 0 ? ds_class(a->ds_labels[i]) : -1;
        if (a->ds_labels[i] >= 0 &&
            (ds_rank_in(a->ds_labels[i], 1, 1) < 0 || (cls != H5T_INTEGER && cls != H5T_FLOAT))) {
            H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_FORMAT,
                             "%s: /labels/%s is not a 1-D numeric dataset (one value per row)", path,
                             a->labels[i]);
        }
        if (a->ds_labels[i] < 0 || ds_len(a->ds_labels[i]) < a->n_rows) {
            if (g >= 0) H5Gclose(g);
            return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /labels/%s missing or short", path,
                             a->labels[i]);
        }
    }
    if (g >= 0) H5Gclose(g);
    return STRATA_OK;
}

int strata_acts_complete(const strata_acts *a) { return a ? a->complete : 0; }
int64_t strata_acts_n_rows(const strata_acts *a) { return a ? a->n_rows : 0; }
int strata_acts_n_hooks(const strata_acts *a) { return a ? a->n_hooks : 0; }

const char *strata_acts_hook(const strata_acts *a, int i)
{
    return a && i >= 0 && i < a->n_hooks ? a->hooks[i] : NULL;
}

static int find_hook(const strata_acts *a, const char *hook)
{
    if (!a || !hook) return -1;
    for (int i = 0; i < a->n_hooks; i++)
        if (!strcmp(a->hooks[i], hook)) return i;
    return -1;
}

int strata_acts_hook_shape(const strata_acts *a, const char *hook, int64_t shape[4])
{
    int i = find_hook(a, hook);
    if (i < 0) return -1;
    hid_t fs = H5Dget_space(a->ds_hooks[i]);
    int r = H5Sget_simple_extent_ndims(fs);
    hsize_t d[8];
    if (r < 1 || r > 4) { H5Sclose(fs); return -1; }
    H5Sget_simple_extent_dims(fs, d, NULL);
    H5Sclose(fs);
    shape[0] = a->n_rows;
    for (int k = 1; k < 4; k++) shape[k] = k < r ? (int64_t)d[k] : 1;
    return r;
}

int64_t strata_acts_row_width(const strata_acts *a, const char *hook)
{
    int64_t s[4];
    int r = strata_acts_hook_shape(a, hook, s);
    if (r < 0) return -1;
    int64_t w = 1;
    for (int k = 1; k < r; k++) w *= s[k];
    return w;
}

/* Selects rows [row0, row0+n) of a dataset; returns file space and sets *ms. */
static hid_t select_rows(hid_t ds, int64_t row0, int64_t n, hid_t *ms, int64_t *width)
{
    hid_t fs = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(fs);
    hsize_t d[8], start[8] = {0}, count[8];
    H5Sget_simple_extent_dims(fs, d, NULL);
    int64_t w = 1;
    for (int k = 0; k < r; k++) {
        count[k] = d[k];
        if (k) w *= (int64_t)d[k];
    }
    start[0] = (hsize_t)row0;
    count[0] = (hsize_t)n;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    /* Memory space with the same rank as the selection: HDF5 then copies
     * whole contiguous rows instead of remapping element by element into a
     * flat 1-D space (about 44x faster on [R, 768] reads). */
    *ms = H5Screate_simple(r, count, NULL);
    if (width) *width = w;
    return fs;
}

static int check_range(strata_acts *a, const char *what, int64_t row0, int64_t n)
{
    if (row0 < 0 || n < 0 || row0 > a->n_rows || n > a->n_rows - row0)
        return st_seterr(&a->err, STRATA_ERR_RANGE, "%s: rows [%lld, %lld) outside [0, %lld)", what,
                         (long long)row0, (long long)(row0 + n), (long long)a->n_rows);
    return STRATA_OK;
}

static strata_status strata_acts_read_impl(strata_acts *a, const char *hook, int64_t row0, int64_t n,
                                      float *out)
{
    if (!a) return STRATA_ERR_ARG;
    int i = find_hook(a, hook);
    if (i < 0)
        return st_seterr(&a->err, STRATA_ERR_NOTFOUND, "%s: no hook '%s' in the file", a->path,
                         hook ? hook : "(null)");
    ST_TRY(check_range(a, hook, row0, n));
    if (n == 0) return STRATA_OK;
    hid_t ms;
    int64_t w;
    hid_t fs = select_rows(a->ds_hooks[i], row0, n, &ms, &w);
    herr_t rc;
    if (a->hook_f16[i]) {
        /* Read the halves into the front of out, then widen back to front. */
        hid_t t = H5Dget_type(a->ds_hooks[i]);
        rc = H5Dread(a->ds_hooks[i], t, ms, fs, H5P_DEFAULT, out);
        H5Tclose(t);
        if (rc >= 0) {
            const uint16_t *h = (const uint16_t *)out;
            for (int64_t k = n * w - 1; k >= 0; k--) {
                uint16_t v = h[k];
                out[k] = st_f16_to_f32(v);
            }
        }
    } else {
        rc = H5Dread(a->ds_hooks[i], H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
    }
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0)
        return st_seterr(&a->err, STRATA_ERR_IO, "%s: read of /acts/%s rows [%lld, %lld) failed",
                         a->path, hook, (long long)row0, (long long)(row0 + n));
    return STRATA_OK;
}

int strata_acts_n_labels(const strata_acts *a) { return a ? a->n_labels : 0; }

const char *strata_acts_label(const strata_acts *a, int i)
{
    return a && i >= 0 && i < a->n_labels ? a->labels[i] : NULL;
}

static strata_status strata_acts_read_label_impl(strata_acts *a, const char *name, int64_t row0, int64_t n,
                                            float *out)
{
    if (!a) return STRATA_ERR_ARG;
    int i = -1;
    for (int k = 0; name && k < a->n_labels; k++)
        if (!strcmp(a->labels[k], name)) i = k;
    if (i < 0)
        return st_seterr(&a->err, STRATA_ERR_NOTFOUND, "%s: no label '%s' in the file", a->path,
                         name ? name : "(null)");
    ST_TRY(check_range(a, name, row0, n));
    if (n == 0) return STRATA_OK;
    if (ds_rank_in(a->ds_labels[i], 1, 1) < 0) /* (checked at open; out holds n values) */
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /labels/%s is not 1-D", a->path, name);
    hid_t ms;
    hid_t fs = select_rows(a->ds_labels[i], row0, n, &ms, NULL);
    herr_t rc = H5Dread(a->ds_labels[i], H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0)
        return st_seterr(&a->err, STRATA_ERR_IO, "%s: read of /labels/%s failed", a->path, name);
    return STRATA_OK;
}

static strata_status strata_acts_read_row_tokens_impl(strata_acts *a, int64_t row0, int64_t n, int32_t *out)
{
    if (!a) return STRATA_ERR_ARG;
    ST_TRY(check_range(a, "rows", row0, n));
    if (n == 0) return STRATA_OK;
    int64_t *rows = malloc(sizeof *rows * (size_t)n);
    hsize_t *coord = malloc(sizeof *coord * (size_t)n);
    if (!rows || !coord) {
        free(rows);
        free(coord);
        return st_seterr(&a->err, STRATA_ERR_NOMEM, "out of memory");
    }
    hid_t ms;
    hid_t fs = select_rows(a->ds_rows, row0, n, &ms, NULL);
    herr_t rc = H5Dread(a->ds_rows, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, rows);
    H5Sclose(ms);
    H5Sclose(fs);
    int st = STRATA_OK;
    if (rc < 0) {
        st = st_seterr(&a->err, STRATA_ERR_IO, "%s: read of /rows failed", a->path);
    } else {
        for (int64_t k = 0; k < n && st == STRATA_OK; k++) {
            if (rows[k] < 0 || rows[k] >= a->n_tokens)
                st = st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /rows[%lld] = %lld outside /tokens",
                               a->path, (long long)(row0 + k), (long long)rows[k]);
            coord[k] = (hsize_t)rows[k];
        }
    }
    if (st == STRATA_OK) {
        fs = H5Dget_space(a->ds_tokens);
        H5Sselect_elements(fs, H5S_SELECT_SET, (size_t)n, coord);
        hsize_t m = (hsize_t)n;
        ms = H5Screate_simple(1, &m, NULL);
        rc = H5Dread(a->ds_tokens, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, out);
        H5Sclose(ms);
        H5Sclose(fs);
        if (rc < 0) st = st_seterr(&a->err, STRATA_ERR_IO, "%s: read of /tokens failed", a->path);
    }
    free(rows);
    free(coord);
    return st;
}

int64_t strata_acts_n_docs(const strata_acts *a) { return a ? a->n_docs : -1; }

static strata_status strata_acts_read_row_docs_impl(strata_acts *a, int64_t row0, int64_t n, int64_t *out)
{
    if (!a || (n > 0 && !out)) return STRATA_ERR_ARG;
    ST_TRY(check_range(a, "rows", row0, n));
    if (n == 0) return STRATA_OK;
    if (a->n_docs < 1)
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: no committed document count n_docs",
                         a->path);
    hid_t ds = ds_open(a->file, "docs/row_offsets");
    if (ds < 0)
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: missing /docs/row_offsets", a->path);
    int64_t D = a->n_docs;
    int st = STRATA_OK;
    int64_t *ro = NULL;
    if (ds_len(ds) < D + 1) {
        st = st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /docs/row_offsets has %lld entries, "
                       "fewer than n_docs + 1 = %lld", a->path, (long long)ds_len(ds),
                       (long long)(D + 1));
        goto done;
    }
    if (!(ro = malloc(sizeof *ro * (size_t)(D + 1)))) {
        st = st_seterr(&a->err, STRATA_ERR_NOMEM, "out of memory (%lld documents)", (long long)D);
        goto done;
    }
    hid_t ms;
    hid_t fs = select_rows(ds, 0, D + 1, &ms, NULL);
    herr_t rc = H5Dread(ds, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, ro);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0) { st = st_seterr(&a->err, STRATA_ERR_IO, "%s: read of /docs/row_offsets failed", a->path); goto done; }
    /* untrusted file: offsets must start at 0, never decrease and end at n_rows */
    for (int64_t d = 0; d < D && st == STRATA_OK; d++)
        if (ro[d + 1] < ro[d])
            st = st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /docs/row_offsets decreases at "
                           "document %lld", a->path, (long long)d);
    if (st == STRATA_OK && (ro[0] != 0 || ro[D] != a->n_rows))
        st = st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /docs/row_offsets spans [%lld, %lld), "
                       "not the committed rows [0, %lld)", a->path, (long long)ro[0],
                       (long long)ro[D], (long long)a->n_rows);
    if (st == STRATA_OK) {
        int64_t d = 0;
        while (ro[d + 1] <= row0) d++;   /* document holding row0 (ro[D] = n_rows > row0) */
        for (int64_t k = 0; k < n; k++) {
            while (ro[d + 1] <= row0 + k) d++;
            out[k] = d;
        }
    }
done:
    free(ro);
    H5Dclose(ds);
    return st;
}

int64_t strata_acts_n_tokens(const strata_acts *a) { return a ? a->n_tokens : 0; }

/* n values from offset off of a 1-D dataset as mtype. */
static int read_1d(strata_acts *a, hid_t ds, const char *name, hid_t mtype, int64_t off, int64_t n,
                   void *out)
{
    if (n == 0) return STRATA_OK;
    hid_t ms;
    hid_t fs = select_rows(ds, off, n, &ms, NULL);
    herr_t rc = H5Dread(ds, mtype, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? st_seterr(&a->err, STRATA_ERR_IO, "%s: read of %s failed", a->path, name) : STRATA_OK;
}

static strata_status strata_acts_read_rows_impl(strata_acts *a, int64_t row0, int64_t n, int64_t *out)
{
    if (!a || (n > 0 && !out)) return STRATA_ERR_ARG;
    ST_TRY(check_range(a, "rows", row0, n));
    ST_TRY(read_1d(a, a->ds_rows, "/rows", H5T_NATIVE_INT64, row0, n, out));
    for (int64_t k = 0; k < n; k++)   /* untrusted file */
        if (out[k] < 0 || out[k] >= a->n_tokens)
            return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: /rows[%lld] = %lld outside /tokens",
                             a->path, (long long)(row0 + k), (long long)out[k]);
    return STRATA_OK;
}

static strata_status strata_acts_read_tokens_impl(strata_acts *a, int64_t t0, int64_t n, int32_t *out)
{
    if (!a || (n > 0 && !out)) return STRATA_ERR_ARG;
    if (t0 < 0 || n < 0 || t0 > a->n_tokens || n > a->n_tokens - t0)
        return st_seterr(&a->err, STRATA_ERR_RANGE, "tokens [%lld, %lld) outside [0, %lld)",
                         (long long)t0, (long long)(t0 + n), (long long)a->n_tokens);
    return read_1d(a, a->ds_tokens, "/tokens", H5T_NATIVE_INT32, t0, n, out);
}

static strata_status strata_acts_read_doc_offsets_impl(strata_acts *a, int64_t d0, int64_t n, int64_t *out)
{
    if (!a || (n > 0 && !out)) return STRATA_ERR_ARG;
    if (a->n_docs < 0)
        return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: no committed document count n_docs", a->path);
    if (d0 < 0 || n < 0 || d0 > a->n_docs + 1 || n > a->n_docs + 1 - d0)
        return st_seterr(&a->err, STRATA_ERR_RANGE, "document offsets [%lld, %lld) outside [0, %lld]",
                         (long long)d0, (long long)(d0 + n), (long long)a->n_docs);
    if (n == 0) return STRATA_OK;
    hid_t ds = H5Lexists(a->file, "docs", H5P_DEFAULT) > 0 &&
                       H5Lexists(a->file, "docs/offsets", H5P_DEFAULT) > 0
                   ? ds_open(a->file, "docs/offsets") : -1;
    if (ds < 0) return st_seterr(&a->err, STRATA_ERR_FORMAT, "%s: missing /docs/offsets", a->path);
    /* checked at open (st_h5_check_offsets): 0 .. n_tokens, never decreasing */
    int rc = read_1d(a, ds, "/docs/offsets", H5T_NATIVE_INT64, d0, n, out);
    H5Dclose(ds);
    return rc;
}

/* ------------------------------------------------------------------ */
/* entry points: HDF5's error printing off for the call, then restored */

int st_h5w_create(const char *path, const st_h5w_spec *s, int overwrite, st_h5w **out, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_create_impl(path, s, overwrite, out, err));
}

int st_h5w_resume(const char *path, const st_h5w_spec *s, st_h5w **out, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_resume_impl(path, s, out, err));
}

int st_h5w_stored_doc(st_h5w *w, int64_t i, const int32_t **tokens, int64_t *n_tokens, const char **text, int64_t *text_len, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_stored_doc_impl(w, i, tokens, n_tokens, text, text_len, err));
}

int st_h5w_reserve(st_h5w *w, int64_t n_docs, int64_t n_tokens, int64_t n_rows, int64_t text_bytes, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_reserve_impl(w, n_docs, n_tokens, n_rows, text_bytes, err));
}

int st_h5w_append(st_h5w *w, const st_h5w_batch *b, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_append_impl(w, b, err));
}

int st_h5w_write_rows(st_h5w *w, int h, int64_t row0, int64_t n, const float *src, int64_t stride, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_write_rows_impl(w, h, row0, n, src, stride, err));
}

int st_h5w_close(st_h5w *w, int complete, int64_t n_truncated, st_err *err)
{
    ST_H5_QUIET_RETURN(st_h5w_close_impl(w, complete, n_truncated, err));
}

void strata_acts_close(strata_acts *a)
{
    st_h5_quiet q;
    st_h5_quiet_begin(&q);
    strata_acts_close_impl(a);
    st_h5_quiet_end(&q);
}

strata_status strata_acts_open(const char *path, strata_acts **out)
{
    ST_H5_QUIET_RETURN(strata_acts_open_impl(path, out));
}

strata_status strata_acts_read(strata_acts *a, const char *hook, int64_t row0, int64_t n, float *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_impl(a, hook, row0, n, out));
}

strata_status strata_acts_read_label(strata_acts *a, const char *name, int64_t row0, int64_t n, float *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_label_impl(a, name, row0, n, out));
}

strata_status strata_acts_read_row_tokens(strata_acts *a, int64_t row0, int64_t n, int32_t *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_row_tokens_impl(a, row0, n, out));
}

strata_status strata_acts_read_row_docs(strata_acts *a, int64_t row0, int64_t n, int64_t *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_row_docs_impl(a, row0, n, out));
}

strata_status strata_acts_read_rows(strata_acts *a, int64_t row0, int64_t n, int64_t *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_rows_impl(a, row0, n, out));
}

strata_status strata_acts_read_tokens(strata_acts *a, int64_t t0, int64_t n, int32_t *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_tokens_impl(a, t0, n, out));
}

strata_status strata_acts_read_doc_offsets(strata_acts *a, int64_t d0, int64_t n, int64_t *out)
{
    ST_H5_QUIET_RETURN(strata_acts_read_doc_offsets_impl(a, d0, n, out));
}

/* ------------------------------------------------------------------ */
/* entry points for the parallel writer (io/h5store_internal.h)        */

hid_t st_h5w_i_fapl(void) { return writer_fapl(); }
st_h5w *st_h5w_i_new(const char *path, const st_h5w_spec *s) { return writer_new(path, s); }
void st_h5w_i_free(st_h5w *w) { writer_free(w); }
int st_h5w_i_open_handles(st_h5w *w, st_err *err) { return writer_open_handles(w, err); }
void st_h5w_i_close_handles(st_h5w *w) { writer_close_handles(w); }
int st_h5w_i_commit_counts(st_h5w *w) { return commit_counts(w); }
int st_h5w_i_begin_writing(st_h5w *w, st_err *err) { return begin_writing(w, err); }
