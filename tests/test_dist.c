/* tests/test_dist.c — the process-group layer in one process (lib/dist):
 * contiguous shares (even and by token weight) worked out by hand, the
 * one-rank identities, and, in the serial build, the refusal to run as one
 * of several MPI ranks.  The multi-rank behaviour runs under mpirun in the
 * MPI build (tests/mpi/). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "dist/partition.h"

START_TEST(test_split_even)
{
    /* 10 items over 3 ranks: 4, 3, 3 */
    int64_t lo, hi;
    st_split_even(10, 3, 0, &lo, &hi);
    ck_assert(lo == 0 && hi == 4);
    st_split_even(10, 3, 1, &lo, &hi);
    ck_assert(lo == 4 && hi == 7);
    st_split_even(10, 3, 2, &lo, &hi);
    ck_assert(lo == 7 && hi == 10);
    /* 2 items over 3 ranks: 1, 1, 0 */
    st_split_even(2, 3, 2, &lo, &hi);
    ck_assert(lo == 2 && hi == 2);
}
END_TEST

START_TEST(test_split_by_weight)
{
    /* weights 8 1 1 1 1 1 1 2 (total 16) over 2 ranks: the first prefix
     * reaching 8 is after item 0, so rank 0 = {0}, rank 1 = {1..7} (8 each) */
    int64_t w[] = { 8, 1, 1, 1, 1, 1, 1, 2 }, b[4];
    ck_assert_int_eq(st_split_by_weight(w, 8, 2, b), 0);
    ck_assert(b[0] == 0 && b[1] == 1 && b[2] == 8);
    /* over 3 ranks: targets 16/3 and 32/3 -> prefix 8 >= 5.33 after item 0;
     * prefixes 9 10 11 -> 11 >= 10.67 after item 3: {0}, {1,2,3}, {4..7} */
    ck_assert_int_eq(st_split_by_weight(w, 8, 3, b), 0);
    ck_assert(b[0] == 0 && b[1] == 1 && b[2] == 4 && b[3] == 8);
    /* one heavy last item: boundaries clamp so each rank keeps one item */
    int64_t h[] = { 1, 1, 1, 100 };
    ck_assert_int_eq(st_split_by_weight(h, 4, 3, b), 0);
    ck_assert(b[0] == 0 && b[1] == 2 && b[2] == 3 && b[3] == 4);
    /* equal weights reproduce the even split's sizes (in order) */
    int64_t e[6] = { 5, 5, 5, 5, 5, 5 };
    ck_assert_int_eq(st_split_by_weight(e, 6, 3, b), 0);
    ck_assert(b[1] == 2 && b[2] == 4 && b[3] == 6);
    /* fewer items than ranks: empty shares at the end, never negative */
    ck_assert_int_eq(st_split_by_weight(e, 2, 3, b), 0);
    ck_assert(b[0] == 0 && b[1] <= b[2] && b[2] <= b[3] && b[3] == 2);
    ck_assert_int_eq(st_split_by_weight(e, 6, 0, b), -1);
}
END_TEST

START_TEST(test_one_rank_identities)
{
    st_err err = { { 0 } };
    double v[2] = { 1.5, -2 };
    int64_t all[1];
    ck_assert_int_eq(st_dist_allreduce_sum_f64(v, 2, &err), 0);
    ck_assert(v[0] == 1.5 && v[1] == -2);
    ck_assert_int_eq(st_dist_allgather_i64(7, all, &err), 0);
    ck_assert(all[0] == 7);
    ck_assert_int_eq(st_dist_agree(0, &err), 0);
    ck_assert_int_eq(st_dist_agree(STRATA_ERR_IO, &err), STRATA_ERR_IO);
    ck_assert_int_eq(strata_dist_rank(), 0);
    ck_assert_int_eq(strata_dist_size(), 1);
}
END_TEST

START_TEST(test_serial_build_refuses_mpi_launch)
{
#ifndef STRATA_HAVE_MPI
    ck_assert_int_eq(strata_dist_built(), 0);
    unsetenv("PMI_SIZE");
    unsetenv("PMIX_SIZE");
    unsetenv("MPI_LOCALNRANKS");
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    ck_assert_int_eq(strata_dist_init(NULL, NULL), STRATA_OK);
    setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
    ck_assert_int_eq(strata_dist_init(NULL, NULL), STRATA_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(strata_dist_errmsg(), "built without MPI"));
    ck_assert_ptr_nonnull(strstr(strata_dist_errmsg(), "OMPI_COMM_WORLD_SIZE=4"));
    unsetenv("OMPI_COMM_WORLD_SIZE");
    setenv("PMI_SIZE", "2", 1);
    ck_assert_int_eq(strata_dist_init(NULL, NULL), STRATA_ERR_UNSUPPORTED);
    unsetenv("PMI_SIZE");
    int dummy = 0;
    ck_assert_int_eq(strata_dist_set_comm(&dummy), STRATA_ERR_UNSUPPORTED);
    ck_assert_int_eq(strata_dist_set_comm(NULL), STRATA_OK);
#else
    ck_assert_int_eq(strata_dist_built(), 1);
#endif
}
END_TEST

static Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_split_even);
    tcase_add_test(tc, test_split_by_weight);
    tcase_add_test(tc, test_one_rank_identities);
    tcase_add_test(tc, test_serial_build_refuses_mpi_launch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
