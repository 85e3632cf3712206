/* dist/dist.c — the process group: MPI when built with -DSTRATA_MPI=ON,
 * otherwise one process (see strata/dist.h and dist/dist.h).
 *
 * MPI counts are int: reductions of more than 2^30 elements go in pieces.
 * The communicator's error handler is MPI_ERRORS_RETURN, so a failed call
 * comes back as STRATA_ERR_IO with MPI's own message instead of aborting. */
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static st_err g_err;          /* message of the last failed strata_dist_* call */

const char *strata_dist_errmsg(void) { return g_err.msg; }

#ifndef STRATA_HAVE_MPI

/* The number of ranks an MPI launcher announces in the environment, or 0
 * when none does: Open MPI, MPICH / Intel MPI (PMI), PMIx, Slurm. */
static long launcher_size(const char **var)
{
    static const char *names[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                                   "MPI_LOCALNRANKS", "SLURM_NTASKS", NULL };
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end == '\0' && n > 0) { *var = names[i]; return n; }
        }
    }
    return 0;
}


int strata_dist_built(void) { return 0; }

strata_status strata_dist_init(int *argc, char ***argv)
{
    const char *var = NULL;
    long n = launcher_size(&var);
    /* SLURM_NTASKS is also set for one serial step inside a multi-task job;
     * only an MPI launcher's own variables are taken as a parallel run. */
    if (n > 1 && strcmp(var, "SLURM_NTASKS") != 0)
        return st_seterr(&g_err, STRATA_ERR_UNSUPPORTED,
                         "this strata was built without MPI, but it runs as one of %ld ranks "
                         "(%s=%ld): every rank would redo the whole job and write the same "
                         "output; rebuild with cmake -DSTRATA_MPI=ON (docs/SCALE.md) or run "
                         "it without mpirun", n, var, n);
    return STRATA_OK;
}

strata_status strata_dist_set_comm(const void *comm)
{
    if (comm)
        return st_seterr(&g_err, STRATA_ERR_UNSUPPORTED,
                         "strata_dist_set_comm: this strata was built without MPI "
                         "(cmake -DSTRATA_MPI=ON)");
    return STRATA_OK;
}

int strata_dist_rank(void) { return 0; }
int strata_dist_size(void) { return 1; }
void strata_dist_finalize(void) {}
int st_dist_active(void) { return 0; }
int st_dist_allreduce_sum_f64(double *b, size_t n, st_err *e) { return STRATA_OK; }
int st_dist_allreduce_sum_i64(int64_t *b, size_t n, st_err *e) { return STRATA_OK; }
int st_dist_allreduce_max_f64(double *b, size_t n, st_err *e) { return STRATA_OK; }
int st_dist_bcast(void *b, size_t bytes, int root, st_err *e) { return STRATA_OK; }

int st_dist_allgather_i64(int64_t mine, int64_t *all, st_err *err)
{
    all[0] = mine;
    return STRATA_OK;
}

int st_dist_agree(int status, st_err *err) { return status < 0 ? status : STRATA_OK; }

#else /* STRATA_HAVE_MPI */

static MPI_Comm g_comm = MPI_COMM_NULL;
static int g_rank = 0, g_size = 1;
static int g_we_initialised = 0;

int strata_dist_built(void) { return 1; }

static int mpi_fail(st_err *err, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "code %d", rc);
    return st_seterr(err, STRATA_ERR_IO, "%s failed on rank %d of %d: %s", what, g_rank, g_size,
                     msg);
}

static int use_comm(MPI_Comm base)
{
    MPI_Comm dup;
    int rc = MPI_Comm_dup(base, &dup);
    if (rc != MPI_SUCCESS) return mpi_fail(&g_err, rc, "MPI_Comm_dup");
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    if (g_comm != MPI_COMM_NULL) MPI_Comm_free(&g_comm);
    g_comm = dup;
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    return STRATA_OK;
}

strata_status strata_dist_init(int *argc, char ***argv)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int provided = 0;
        int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS)
            return st_seterr(&g_err, STRATA_ERR_IO, "MPI_Init_thread failed (code %d)", rc);
        g_we_initialised = 1;
        if (provided < MPI_THREAD_FUNNELED)
            return st_seterr(&g_err, STRATA_ERR_UNSUPPORTED,
                             "this MPI provides thread level %d, strata needs "
                             "MPI_THREAD_FUNNELED (OpenMP threads inside each rank)", provided);
    }
    if (g_comm != MPI_COMM_NULL) return STRATA_OK;
    return use_comm(MPI_COMM_WORLD);
}

strata_status strata_dist_set_comm(const void *comm)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited)
        return st_seterr(&g_err, STRATA_ERR_STATE,
                         "strata_dist_set_comm: MPI is not initialised (call MPI_Init or "
                         "strata_dist_init first)");
    return use_comm(comm ? *(const MPI_Comm *)comm : MPI_COMM_WORLD);
}

int strata_dist_rank(void) { return g_rank; }
int strata_dist_size(void) { return g_size; }

void strata_dist_finalize(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    if (g_comm != MPI_COMM_NULL) MPI_Comm_free(&g_comm);
    g_comm = MPI_COMM_NULL;
    g_rank = 0;
    g_size = 1;
    if (g_we_initialised) {
        MPI_Finalize();
        g_we_initialised = 0;
    }
}

MPI_Comm st_dist_comm(void) { return g_comm != MPI_COMM_NULL ? g_comm : MPI_COMM_SELF; }

int st_dist_active(void) { return g_size > 1; }

#define CHUNK ((size_t)1 << 30)

static int allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op, st_err *err)
{
    if (g_size <= 1) return STRATA_OK;
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t m = n - off < CHUNK ? n - off : CHUNK;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * elem, (int)m, type, op, g_comm);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Allreduce");
    }
    return STRATA_OK;
}

int st_dist_allreduce_sum_f64(double *b, size_t n, st_err *e)
{
    return allreduce(b, n, sizeof *b, MPI_DOUBLE, MPI_SUM, e);
}

int st_dist_allreduce_sum_i64(int64_t *b, size_t n, st_err *e)
{
    return allreduce(b, n, sizeof *b, MPI_INT64_T, MPI_SUM, e);
}

int st_dist_allreduce_max_f64(double *b, size_t n, st_err *e)
{
    return allreduce(b, n, sizeof *b, MPI_DOUBLE, MPI_MAX, e);
}

int st_dist_bcast(void *buf, size_t bytes, int root, st_err *err)
{
    if (g_size <= 1) return STRATA_OK;
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t m = bytes - off < CHUNK ? bytes - off : CHUNK;
        int rc = MPI_Bcast((char *)buf + off, (int)m, MPI_BYTE, root, g_comm);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Bcast");
    }
    return STRATA_OK;
}

int st_dist_allgather_i64(int64_t mine, int64_t *all, st_err *err)
{
    if (g_size <= 1) { all[0] = mine; return STRATA_OK; }
    int rc = MPI_Allgather(&mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, g_comm);
    return rc == MPI_SUCCESS ? STRATA_OK : mpi_fail(err, rc, "MPI_Allgather");
}

int st_dist_agree(int status, st_err *err)
{
    if (g_size <= 1) return status < 0 ? status : STRATA_OK;
    /* (status, rank) pairs: the minimum status, and the lowest rank with it */
    struct { int status, rank; } mine = { status < 0 ? status : 0, g_rank }, all;
    int rc = MPI_Allreduce(&mine, &all, 1, MPI_2INT, MPI_MINLOC, g_comm);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Allreduce (status agreement)");
    if (all.status < 0 && mine.status == 0)
        st_seterr(err, all.status, "rank %d of %d failed (its message is on its stderr)",
                  all.rank, g_size);
    return all.status;
}

#endif /* STRATA_HAVE_MPI */
