/* tests/mpi/mpi_dist.c — the process-group layer (lib/dist) under mpirun -np 2 and 3.
 *
 * Every expected value is derived from the rank numbers by hand: sums of
 * rank-dependent values, gathers of ranks, the failure agreement naming the
 * lowest failing rank, and a split communicator (strata_dist_set_comm). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dist/dist.h"
#include "mpi_check.h"

int main(int argc, char **argv)
{
    MPI_CHECK(strata_dist_init(&argc, &argv) == STRATA_OK, "%s", strata_dist_errmsg());
    int rank = strata_dist_rank(), size = strata_dist_size();
    int wrank, wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    MPI_CHECK(rank == wrank && size == wsize && size >= 2, "rank %d size %d", rank, size);
    MPI_CHECK(strata_dist_built() == 1 && st_dist_active(), "built/active");
    st_err err = { { 0 } };

    /* sum over r of (r + 1) * (i + 1) = (i + 1) * size (size + 1) / 2 */
    double v[5];
    for (int i = 0; i < 5; i++) v[i] = (double)(rank + 1) * (i + 1);
    MPI_CHECK(st_dist_allreduce_sum_f64(v, 5, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 5; i++)
        MPI_CHECK(v[i] == (double)(i + 1) * size * (size + 1) / 2, "v[%d] = %g", i, v[i]);

    int64_t c[2] = { rank, (int64_t)1 << 40 };
    MPI_CHECK(st_dist_allreduce_sum_i64(c, 2, &err) == 0, "%s", err.msg);
    MPI_CHECK(c[0] == (int64_t)size * (size - 1) / 2 && c[1] == ((int64_t)size << 40), "i64 sum");

    double m = -rank;
    MPI_CHECK(st_dist_allreduce_max_f64(&m, 1, &err) == 0 && m == 0.0, "max %g", m);

    int64_t all[16];
    MPI_CHECK(st_dist_allgather_i64(100 + rank, all, &err) == 0, "%s", err.msg);
    for (int r = 0; r < size; r++) MPI_CHECK(all[r] == 100 + r, "gather[%d] = %ld", r, (long)all[r]);

    char buf[32] = { 0 };
    if (rank == size - 1) strcpy(buf, "from the last rank");
    MPI_CHECK(st_dist_bcast(buf, sizeof buf, size - 1, &err) == 0, "%s", err.msg);
    MPI_CHECK(!strcmp(buf, "from the last rank"), "bcast got '%s'", buf);

    /* agreement: everyone fine -> 0; ranks >= 1 fail -> the lowest is named */
    MPI_CHECK(st_dist_agree(0, &err) == 0, "agree ok");
    int mine = rank >= 1 ? (rank == 1 ? STRATA_ERR_FORMAT : STRATA_ERR_IO) : 0;
    int got = st_dist_agree(mine, &err);
    /* the most negative status wins: FORMAT (-2, rank 1) over IO (-1, ranks >= 2) */
    MPI_CHECK(got == STRATA_ERR_FORMAT, "agree got %d", got);
    if (rank == 0) MPI_CHECK(strstr(err.msg, "rank 1 of") != NULL, "message '%s'", err.msg);

    /* a split communicator: even and odd world ranks */
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, wrank % 2, wrank, &half);
    MPI_CHECK(strata_dist_set_comm(&half) == STRATA_OK, "%s", strata_dist_errmsg());
    int expect_size = wrank % 2 == 0 ? (wsize + 1) / 2 : wsize / 2;
    MPI_CHECK(strata_dist_size() == expect_size && strata_dist_rank() == wrank / 2,
              "split: rank %d size %d", strata_dist_rank(), strata_dist_size());
    double one = 1.0;
    MPI_CHECK(st_dist_allreduce_sum_f64(&one, 1, &err) == 0 && one == expect_size, "split sum");
    MPI_Comm_free(&half);
    MPI_CHECK(strata_dist_set_comm(NULL) == STRATA_OK && strata_dist_size() == wsize, "back");

    strata_dist_finalize();
    strata_dist_finalize();
    return 0;
}
