/* io/h5store_mpi.h — the activation writer of a distributed capture: every
 * rank writes its share of each window of documents into ONE file through
 * parallel HDF5 (MPI-IO), with the serial layout and commit protocol
 * (internal).
 *
 * Defines: st_h5w_window, st_h5w_dist_probe(), st_h5w_dist_attach(),
 * st_h5w_dist_append(), st_h5w_dist_close().
 *
 * Every call is collective over the library's communicator (dist/dist.h):
 * all ranks call it, in the same order, with the same window totals.  Each
 * ends with a status agreement, so a failure on one rank returns an error
 * on every rank (never a hang in the next collective).
 *
 * Protocol (docs/SCALE.md, "Distributed capture"):
 *   - rank 0 creates (or resumes, checks and truncates) the file with the
 *     serial writer (io/h5store.c: flock, temporary name, attributes,
 *     /vocab), closes its HDF5 handle but keeps the lock;
 *   - every rank opens it with the MPI-IO driver (H5Pset_fapl_mpio on the
 *     library's communicator, collective metadata);
 *   - per window (a run of documents in corpus order, split over the ranks
 *     in contiguous parts): every dataset is extended to the window's end
 *     (collective; the MPI-IO driver allocates the chunks at once), each rank
 *     writes the hyperslabs of its part (H5FD_MPIO_COLLECTIVE transfers, an
 *     empty selection for a rank without documents), the file is flushed,
 *     then the committed counts n_docs / n_rows / n_tokens / input_sha256
 *     are rewritten and flushed again: the serial two-flush commit, one
 *     commit per window.  The committed documents are always a prefix of the
 *     corpus, so an interrupted distributed capture is an ordinary
 *     interrupted file (serial or distributed --resume continues it);
 *   - at the end every rank closes the parallel handle and rank 0 reopens
 *     the file with the serial driver for what parallel HDF5 cannot write
 *     (variable-length strings: /docs/text) and marks it complete.
 */
#ifndef STRATA_IO_H5STORE_MPI_H
#define STRATA_IO_H5STORE_MPI_H

#include "io/h5store.h"

/* One window: its totals (the same on every rank) and one batch of this
 * rank's documents in it. */
typedef struct st_h5w_window {
    int64_t n_docs, n_tokens, n_rows, text_bytes;  /* the whole window */
    int64_t width;             /* grow_last hooks: the longest document so far */
    const char *input_sha256;  /* running input hash after the window (hex) */
    /* a batch of this rank's documents: where it starts inside the window */
    int64_t doc0, tok0, row0, text0;
    st_h5w_batch part;         /* its documents (part.rows: global /tokens indices;
                                  part.acts[h]: [part.n_rows][row width], full width
                                  for grow_last hooks; part.input_sha256 unused;
                                  n_docs 0: this rank writes nothing this time) */
} st_h5w_window;

/* Collective: can `path` (its directory) be written through MPI-IO?  Opens,
 * writes and deletes PATH.mpiio-probe on every rank; STRATA_ERR_IO naming
 * the file system problem otherwise. */
int st_h5w_dist_probe(const char *path, st_err *err);

/* Collective: rank 0 passes its writer w0 (from st_h5w_create or
 * st_h5w_resume; a resumed file is truncated to its committed counts here),
 * the other ranks NULL; spec s on every rank.  On success every rank has
 * *out open through MPI-IO (rank 0: w0 itself).  On failure rank 0's w0 is
 * still its own to close; *out is NULL on the other ranks. */
int st_h5w_dist_attach(st_h5w *w0, const char *path, const st_h5w_spec *s, st_h5w **out,
                       st_err *err);

/* Collective, per window: extend every dataset by the window's totals;
 * then any number of st_h5w_dist_write calls (the same number on every
 * rank; each writes one batch of this rank's documents, or nothing); then
 * st_h5w_dist_commit (flush, committed counts += the window's, flush). */
int st_h5w_dist_begin_window(st_h5w *w, const st_h5w_window *win, st_err *err);
int st_h5w_dist_write(st_h5w *w, const st_h5w_window *win, st_err *err);
int st_h5w_dist_commit(st_h5w *w, const st_h5w_window *win, st_err *err);

/* Collective: closes the parallel handle; complete != 0: rank 0 writes
 * /docs/text and marks the file complete (st_h5w_close); n_truncated is the
 * job's count (all ranks), used on rank 0.  Frees w on every rank. */
int st_h5w_dist_close(st_h5w *w, int complete, int64_t n_truncated, st_err *err);

#endif
