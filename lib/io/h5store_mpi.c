/* io/h5store_mpi.c — the parallel activation writer (see io/h5store_mpi.h).
 *
 * Datasets are the serial writer's (io/h5store.c): [R, row...] chunked
 * along R, extendible.  Per window every rank extends each dataset to the
 * same new extent, then writes rows [R_old + row0, R_old + row0 + n) of its
 * part (tokens, offsets and texts likewise), all transfers collective. */
#include "io/h5store_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"

#ifndef STRATA_HAVE_MPI

int st_h5w_dist_probe(const char *path, st_err *err)
{
    return st_seterr(err, STRATA_ERR_UNSUPPORTED, "distributed capture needs -DSTRATA_MPI=ON");
}
int st_h5w_dist_attach(st_h5w *w0, const char *path, const st_h5w_spec *s, st_h5w **out,
                       st_err *err)
{
    *out = NULL;
    return st_seterr(err, STRATA_ERR_UNSUPPORTED, "distributed capture needs -DSTRATA_MPI=ON");
}
int st_h5w_dist_begin_window(st_h5w *w, const st_h5w_window *win, st_err *err)
{
    return st_seterr(err, STRATA_ERR_UNSUPPORTED, "distributed capture needs -DSTRATA_MPI=ON");
}
int st_h5w_dist_write(st_h5w *w, const st_h5w_window *win, st_err *err)
{
    return st_seterr(err, STRATA_ERR_UNSUPPORTED, "distributed capture needs -DSTRATA_MPI=ON");
}
int st_h5w_dist_commit(st_h5w *w, const st_h5w_window *win, st_err *err)
{
    return st_seterr(err, STRATA_ERR_UNSUPPORTED, "distributed capture needs -DSTRATA_MPI=ON");
}
int st_h5w_dist_close(st_h5w *w, int complete, int64_t n_truncated, st_err *err)
{
    return st_h5w_close(w, complete, n_truncated, err);
}

#else /* STRATA_HAVE_MPI */

#include <mpi.h>

#include "io/h5store_internal.h"
#include "io/h5util.h"
#include "io/outfile.h"
#include "util/half.h"

int st_h5w_dist_probe(const char *path, st_err *err)
{
    size_t n = strlen(path) + 16;
    char *probe = malloc(n);
    if (!probe) return st_dist_agree(st_seterr(err, STRATA_ERR_NOMEM, "out of memory"), err);
    snprintf(probe, n, "%s.mpiio-probe", path);
    MPI_File fh;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0, rc = MPI_File_open(st_dist_comm(), probe,
                                    MPI_MODE_CREATE | MPI_MODE_WRONLY | MPI_MODE_DELETE_ON_CLOSE,
                                    MPI_INFO_NULL, &fh);
    const char *what = "MPI_File_open";
    if (rc == MPI_SUCCESS) {
        int64_t v = strata_dist_rank();
        MPI_Status st;
        rc = MPI_File_write_at_all(fh, (MPI_Offset)(8 * v), &v, 8, MPI_BYTE, &st);
        what = "MPI_File_write_at_all";
        int rc2 = MPI_File_close(&fh);
        if (rc == MPI_SUCCESS) { rc = rc2; what = "MPI_File_close"; }
    }
    int status = STRATA_OK;
    if (rc != MPI_SUCCESS) {
        MPI_Error_string(rc, msg, &len);
        status = st_seterr(err, STRATA_ERR_IO,
                           "%s: the file system does not support MPI-IO here (%s of %s failed on "
                           "rank %d: %s); a distributed capture writes one file from every rank "
                           "through MPI-IO: put it on a parallel file system (Lustre, GPFS) or a "
                           "local disk, or run without mpirun", path, what, probe,
                           strata_dist_rank(), msg);
    }
    free(probe);
    return st_dist_agree(status, err);
}

/* The file access list of the parallel writer: the serial one (no
 * evictions between flushes, 1.10 bounds, no HDF5 locking) on MPI-IO,
 * metadata reads and writes collective. */
static hid_t mpio_fapl(void)
{
    hid_t fapl = st_h5w_i_fapl();
    if (fapl < 0) return fapl;
    if (H5Pset_fapl_mpio(fapl, st_dist_comm(), MPI_INFO_NULL) < 0 ||
        H5Pset_all_coll_metadata_ops(fapl, 1) < 0 || H5Pset_coll_metadata_write(fapl, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

int st_h5w_dist_attach(st_h5w *w0, const char *path, const st_h5w_spec *s, st_h5w **out,
                       st_err *err)
{
    *out = NULL;
    int rank = strata_dist_rank();
    int status = STRATA_OK;
    if (rank == 0) {
        /* a resume: reopen for writing and truncate to the committed counts
         * (serially, as a serial resume does), then hand the file over */
        /* parallel HDF5 writes only chunks allocated as the extent grows */
        H5D_alloc_time_t at = H5D_ALLOC_TIME_DEFAULT;
        hid_t dcpl = w0->ds_tokens >= 0 ? H5Dget_create_plist(w0->ds_tokens) : -1;
        if (dcpl >= 0) {
            H5Pget_alloc_time(dcpl, &at);
            H5Pclose(dcpl);
        }
        if (at != H5D_ALLOC_TIME_EARLY)
            status = st_seterr(err, STRATA_ERR_STATE,
                               "--resume: %s was begun by a serial capture (its datasets allocate "
                               "file space as rows are written, which parallel HDF5 cannot "
                               "write); continue it without mpirun. Nothing was changed", path);
        if (status == STRATA_OK) status = st_h5w_i_begin_writing(w0, err);
        if (status == STRATA_OK) st_h5w_i_close_handles(w0);
    }
    ST_TRY(st_dist_agree(status, err));
    /* rank 0's view: the file's real path and its committed state */
    struct { int64_t n_docs, n_rows, n_tokens, n_text_bytes, stored_truncated, path_len;
             char sha[65]; } hdr;
    memset(&hdr, 0, sizeof hdr);
    if (rank == 0) {
        hdr.n_docs = w0->n_docs;
        hdr.n_rows = w0->n_rows;
        hdr.n_tokens = w0->n_tokens;
        hdr.n_text_bytes = w0->n_text_bytes;
        hdr.stored_truncated = w0->stored_truncated;
        hdr.path_len = (int64_t)strlen(w0->real_path);
        memcpy(hdr.sha, w0->input_sha, sizeof hdr.sha);
    }
    ST_TRY(st_dist_bcast(&hdr, sizeof hdr, 0, err));
    char *real = malloc((size_t)hdr.path_len + 1);
    if (real && rank == 0) memcpy(real, w0->real_path, (size_t)hdr.path_len + 1);
    status = real ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    ST_TRY(st_dist_agree(status, err));
    status = st_dist_bcast(real, (size_t)hdr.path_len + 1, 0, err);
    if (status < 0) { free(real); return status; }
    st_h5w *w = w0;
    if (rank != 0) {
        w = st_h5w_i_new(path, s);
        if (w) {
            free(w->real_path);
            w->real_path = real;
            real = NULL;
            w->n_docs = hdr.n_docs;
            w->n_rows = hdr.n_rows;
            w->n_tokens = hdr.n_tokens;
            w->n_text_bytes = hdr.n_text_bytes;
            w->stored_truncated = hdr.stored_truncated;
            memcpy(w->input_sha, hdr.sha, sizeof hdr.sha);
            w->writable = 1;
        }
    }
    free(real);
    status = w ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    if (st_dist_agree(status, err) < 0) {
        if (rank != 0) st_h5w_i_free(w);
        return status < 0 ? status : STRATA_ERR_NOMEM;
    }
    hid_t fapl = mpio_fapl();
    st_h5_quiet q;
    st_h5_quiet_begin(&q);
    w->file = fapl >= 0 ? H5Fopen(w->real_path, H5F_ACC_RDWR, fapl) : -1;
    st_h5_quiet_end(&q);
    if (fapl >= 0) H5Pclose(fapl);
    status = w->file >= 0 ? STRATA_OK
                          : st_seterr(err, STRATA_ERR_IO,
                                      "%s: parallel HDF5 cannot open it through MPI-IO on rank %d "
                                      "(a file system without MPI-IO support?); it keeps %lld "
                                      "committed documents", path, rank, (long long)hdr.n_docs);
    if (status == STRATA_OK) status = st_h5w_i_open_handles(w, err);
    int rc = st_dist_agree(status, err);
    if (rc < 0) {
        st_h5w_i_close_handles(w);
        if (rank != 0) st_h5w_i_free(w);
        return rc;
    }
    w->writable = 1;
    *out = w;
    return STRATA_OK;
}

/* Extends ds to new_len rows (and, grow, its last dim to at least width). */
static int extend(hid_t ds, int64_t new_len, int grow, int64_t width)
{
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS];
    hid_t fs = H5Dget_space(ds);
    if (fs < 0) return -1;
    int rank = H5Sget_simple_extent_ndims(fs);
    if (rank < 1 || rank > 1 + ST_H5_MAX_ROW_DIMS) { H5Sclose(fs); return -1; }
    H5Sget_simple_extent_dims(fs, dims, NULL);
    H5Sclose(fs);
    int change = dims[0] != (hsize_t)new_len;
    dims[0] = (hsize_t)new_len;
    if (grow && rank >= 2 && (hsize_t)width > dims[rank - 1]) {
        dims[rank - 1] = (hsize_t)width;
        change = 1;
    }
    return change && H5Dset_extent(ds, dims) < 0 ? -1 : 0;
}

/* Collective write of rows [start, start + n) of ds from buf [n][row...]
 * (memory last dim mem_last when > 0: the first file-width columns of each
 * memory row are written).  n == 0: an empty selection (the rank still
 * takes part). */
static int put_rows(hid_t ds, hid_t mtype, hid_t dxpl, int64_t start, int64_t n, const void *buf,
                    int64_t mem_last)
{
    hsize_t dims[1 + ST_H5_MAX_ROW_DIMS], st[1 + ST_H5_MAX_ROW_DIMS] = {0},
            cnt[1 + ST_H5_MAX_ROW_DIMS], mdims[1 + ST_H5_MAX_ROW_DIMS];
    hid_t fs = H5Dget_space(ds);
    if (fs < 0) return -1;
    int rank = H5Sget_simple_extent_ndims(fs);
    if (rank < 1 || rank > 1 + ST_H5_MAX_ROW_DIMS) { H5Sclose(fs); return -1; }
    H5Sget_simple_extent_dims(fs, dims, NULL);
    for (int i = 0; i < rank; i++) cnt[i] = mdims[i] = dims[i];
    cnt[0] = mdims[0] = (hsize_t)n;
    if (mem_last > 0) mdims[rank - 1] = (hsize_t)mem_last;
    int empty = n <= 0;
    for (int i = 1; i < rank; i++) empty |= cnt[i] == 0;
    hid_t ms;
    herr_t rc;
    void *packed = NULL;
    if (!empty && mem_last > 0 && (hsize_t)mem_last != dims[rank - 1]) {
        /* rows narrower in the file than in memory: packed here, so that the
         * transfer's memory side is contiguous (MPI-IO rejected the derived
         * type HDF5 built for the strided selection: MPI_ERR_TYPE) */
        size_t es = H5Tget_size(mtype), fw = (size_t)dims[rank - 1];
        size_t segs = (size_t)n;
        for (int i = 1; i < rank - 1; i++) segs *= (size_t)dims[i];
        packed = malloc(es * fw * segs + 1);
        if (!packed) { H5Sclose(fs); return -1; }
        for (size_t g = 0; g < segs; g++)
            memcpy((char *)packed + g * fw * es, (const char *)buf + g * (size_t)mem_last * es, fw * es);
        buf = packed;
        mdims[rank - 1] = dims[rank - 1];
    }
    if (empty) {
        hsize_t one = 1;
        ms = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(ms);
        H5Sselect_none(fs);
        rc = H5Dwrite(ds, mtype, ms, fs, dxpl, buf);
    } else {
        st[0] = (hsize_t)start;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL);
        ms = H5Screate_simple(rank, mdims, NULL);
        hsize_t zero[1 + ST_H5_MAX_ROW_DIMS] = {0};
        H5Sselect_hyperslab(ms, H5S_SELECT_SET, zero, NULL, cnt, NULL);
        rc = H5Dwrite(ds, mtype, ms, fs, dxpl, buf);
    }
    H5Sclose(ms);
    H5Sclose(fs);
    free(packed);
    return rc < 0 ? -1 : 0;
}

int st_h5w_dist_begin_window(st_h5w *w, const st_h5w_window *win, st_err *err)
{
    int status = STRATA_OK;
    if (!w || w->file < 0) status = st_seterr(err, STRATA_ERR_STATE, "activation store is closed");
    else if (w->broken) status = st_seterr(err, STRATA_ERR_STATE, "%s: the writer failed earlier", w->path);
    ST_TRY(st_dist_agree(status, err));
    if (win->n_docs <= 0) return STRATA_OK;   /* the same on every rank */
    const int64_t D = w->n_docs, R = w->n_rows, N = w->n_tokens, TB = w->n_text_bytes;
    /* extents (collective, the same on every rank) */
    int bad = 0;
    for (int h = 0; h < w->n_hooks; h++)
        bad |= extend(w->ds_acts[h], R + win->n_rows, w->grow[h], win->width) < 0;
    for (int l = 0; l < w->n_labels; l++) bad |= extend(w->ds_labels[l], R + win->n_rows, 0, 0) < 0;
    bad |= extend(w->ds_rows, R + win->n_rows, 0, 0) < 0;
    bad |= extend(w->ds_tokens, N + win->n_tokens, 0, 0) < 0;
    bad |= extend(w->ds_offsets, D + 1 + win->n_docs, 0, 0) < 0;
    bad |= extend(w->ds_row_offsets, D + 1 + win->n_docs, 0, 0) < 0;
    if (w->ds_text >= 0) {
        bad |= extend(w->ds_text, TB + win->text_bytes, 0, 0) < 0;
        bad |= extend(w->ds_text_offsets, D + 1 + win->n_docs, 0, 0) < 0;
    }
    status = bad ? st_seterr(err, STRATA_ERR_IO, "%s: cannot extend the datasets on rank %d (disk "
                             "full?)", w->path, strata_dist_rank()) : STRATA_OK;
    if (status < 0) w->broken = 1;
    return st_dist_agree(status, err);
}

int st_h5w_dist_write(st_h5w *w, const st_h5w_window *win, st_err *err)
{
    const st_h5w_batch *p = &win->part;
    const int64_t D = w->n_docs, R = w->n_rows, N = w->n_tokens, TB = w->n_text_bytes;
    int status;
    /* this rank's rows (converted in memory first: no conversion in the
     * collective transfers) */
    int64_t nr = p->n_rows, nd = p->n_docs, ntok = 0, tbytes = 0;
    for (int i = 0; i < nd; i++) ntok += p->doc_ntok[i];
    for (int i = 0; w->ds_text >= 0 && p->texts && i < nd; i++)
        tbytes += p->texts[i] ? (int64_t)strlen(p->texts[i]) : 0;
    size_t maxw = 1;
    for (int h = 0; h < w->n_hooks; h++)
        if ((size_t)w->width[h] > maxw) maxw = (size_t)w->width[h];
    uint16_t *f16 = w->dtype == ST_H5_F16 ? malloc(2 * maxw * (size_t)(nr + 1)) : NULL;
    int32_t *ib = malloc(4 * (size_t)(nr + 1));
    int64_t *offs = malloc(8 * 3 * (size_t)(nd + 1));
    char *tb = malloc((size_t)tbytes + 1);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    status = STRATA_OK;
    if ((w->dtype == ST_H5_F16 && !f16) || !ib || !offs || !tb || dxpl < 0)
        status = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (window of %lld rows)", (long long)nr);
    else if (H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0)
        status = st_seterr(err, STRATA_ERR_IO, "H5Pset_dxpl_mpio failed");
    int arc = st_dist_agree(status, err);
    if (arc < 0) {
        free(f16); free(ib); free(offs); free(tb);
        if (dxpl >= 0) H5Pclose(dxpl);
        return arc;
    }
    const char *what = NULL;
    for (int h = 0; h < w->n_hooks && !what; h++) {
        const void *buf = p->acts ? p->acts[h] : NULL;
        hid_t mt = H5T_NATIVE_FLOAT;
        if (w->dtype == ST_H5_F16) {
            size_t n = (size_t)(nr * w->width[h]);
            for (size_t i = 0; i < n; i++) f16[i] = st_f32_to_f16(p->acts[h][i]);
            buf = f16;
            mt = w->t_f16;
        }
        if (put_rows(w->ds_acts[h], mt, dxpl, R + win->row0, nr, buf,
                     w->grow[h] ? w->row_last[h] : 0) < 0)
            what = w->hook_names[h];
    }
    for (int l = 0; l < w->n_labels && !what; l++) {
        int rc;
        if (w->label_is_int[l]) {
            for (int64_t i = 0; i < nr; i++) ib[i] = (int32_t)p->labels[l][i];
            rc = put_rows(w->ds_labels[l], H5T_NATIVE_INT32, dxpl, R + win->row0, nr, ib, 0);
        } else {
            rc = put_rows(w->ds_labels[l], H5T_NATIVE_FLOAT, dxpl, R + win->row0, nr,
                          p->labels ? p->labels[l] : NULL, 0);
        }
        if (rc < 0) what = w->label_names[l];
    }
    if (!what && put_rows(w->ds_rows, H5T_NATIVE_INT64, dxpl, R + win->row0, nr, p->rows, 0) < 0)
        what = "/rows";
    if (!what && put_rows(w->ds_tokens, H5T_NATIVE_INT32, dxpl, N + win->tok0, ntok, p->tokens, 0) < 0)
        what = "/tokens";
    /* document boundaries: entry D + 1 + doc0 + i ends document doc0 + i */
    int64_t to = N + win->tok0, ro = R + win->row0, xo = TB + win->text0, o = 0;
    for (int i = 0; i < nd; i++) {
        to += p->doc_ntok[i];
        ro += p->doc_nrows[i];
        size_t l = p->texts && p->texts[i] ? strlen(p->texts[i]) : 0;
        if (w->ds_text >= 0 && l) memcpy(tb + o, p->texts[i], l);
        o += (int64_t)l;
        xo += (int64_t)l;
        offs[i] = to;
        offs[nd + i] = ro;
        offs[2 * nd + i] = xo;
    }
    if (!what && (put_rows(w->ds_offsets, H5T_NATIVE_INT64, dxpl, D + 1 + win->doc0, nd, offs, 0) < 0 ||
                  put_rows(w->ds_row_offsets, H5T_NATIVE_INT64, dxpl, D + 1 + win->doc0, nd,
                           offs + nd, 0) < 0))
        what = "/docs/offsets";
    if (!what && w->ds_text >= 0 &&
        (put_rows(w->ds_text, H5T_NATIVE_UCHAR, dxpl, TB + win->text0, tbytes, tb, 0) < 0 ||
         put_rows(w->ds_text_offsets, H5T_NATIVE_INT64, dxpl, D + 1 + win->doc0, nd, offs + 2 * nd,
                  0) < 0))
        what = "/docs/text_bytes";
    free(f16);
    free(ib);
    free(offs);
    free(tb);
    H5Pclose(dxpl);
    /* A collective write that failed on one rank fails on all of them (MPI-IO
     * errors are returned collectively); agree all the same. */
    status = what ? st_seterr(err, STRATA_ERR_IO, "%s: write failed for %s on rank %d (disk full?)",
                              w->path, what, strata_dist_rank()) : STRATA_OK;
    if (status < 0) w->broken = 1;
    return st_dist_agree(status, err);
}

int st_h5w_dist_commit(st_h5w *w, const st_h5w_window *win, st_err *err)
{
    int status;
    if (win->n_docs <= 0) return STRATA_OK;
    /* everything to disk, then the committed counts (and to disk) */
    status = H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0
                 ? st_seterr(err, STRATA_ERR_IO, "%s: flush failed (disk full?)", w->path) : STRATA_OK;
    if (status < 0) w->broken = 1;
    ST_TRY(st_dist_agree(status, err));
    w->n_docs += win->n_docs;
    w->n_rows += win->n_rows;
    w->n_tokens += win->n_tokens;
    w->n_text_bytes += win->text_bytes;
    if (win->input_sha256) snprintf(w->input_sha, sizeof w->input_sha, "%s", win->input_sha256);
    status = st_h5w_i_commit_counts(w) < 0
                 ? st_seterr(err, STRATA_ERR_IO, "%s: cannot commit counts (disk full?)", w->path)
                 : STRATA_OK;
    if (status < 0) w->broken = 1;
    return st_dist_agree(status, err);
}

int st_h5w_dist_close(st_h5w *w, int complete, int64_t n_truncated, st_err *err)
{
    int rank = strata_dist_rank();
    int usable = w && w->file >= 0 && w->writable && !w->broken;
    int64_t flags[2] = { usable ? 0 : 1, 0 };
    st_err e2;
    /* every rank closes the parallel handle (collective) */
    if (st_dist_allreduce_sum_i64(flags, 2, &e2) < 0) flags[0] = 1;
    if (w) st_h5w_i_close_handles(w);
    if (rank != 0) {
        st_h5w_i_free(w);
        return st_dist_agree(STRATA_OK, err);
    }
    int status = STRATA_OK;
    if (w && flags[0] == 0) {
        /* serially again, for what MPI-IO cannot write (vlen /docs/text) */
        hid_t fapl = st_h5w_i_fapl();
        w->file = H5Fopen(w->real_path, H5F_ACC_RDWR, fapl);
        H5Pclose(fapl);
        if (w->file < 0)
            status = st_seterr(err, STRATA_ERR_IO, "%s: cannot reopen it to finish it", w->path);
        else if (!st_out_same_file(w->lock_fd, w->real_path))
            status = st_seterr(err, STRATA_ERR_STATE,
                               "%s was replaced by another program during the capture", w->path);
        else
            status = st_h5w_i_open_handles(w, err);
        if (status < 0) st_h5w_i_close_handles(w);
        /* st_h5w_close adds the count of earlier sessions itself */
        int rc = st_h5w_close(w, status < 0 ? 0 : complete, n_truncated, status < 0 ? NULL : err);
        if (status == STRATA_OK) status = rc;
    } else {
        st_h5w_close(w, 0, 0, NULL);   /* releases the lock */
    }
    return st_dist_agree(status, err);
}

#endif /* STRATA_HAVE_MPI */
