/* tests/test_sha256.c — util/sha256 against references it did not produce:
 * the FIPS 180-2 appendix B examples ("abc", the 448-bit two-block message,
 * one million 'a'), the empty message, block-boundary lengths 55/56/63/64
 * against `sha256sum` (coreutils), streaming in odd pieces == one shot, and
 * st_sha256_file on a model file against `sha256sum` (skipped visibly when
 * sha256sum or ../shared is absent). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"
#include "testutil.h"

static void hex_of(const void *p, size_t n, char hex[65])
{
    st_sha256 s;
    uint8_t d[32];
    st_sha256_init(&s);
    st_sha256_update(&s, p, n);
    st_sha256_final(&s, d);
    st_sha256_hex(d, hex);
}

/* `sha256sum FILE` -> hex; 0 on success. */
static int sha256sum(const char *path, char hex[65])
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int ok = fscanf(p, "%64s", hex) == 1;
    int st = pclose(p);
    return ok && st == 0 && strlen(hex) == 64 ? 0 : -1;
}

START_TEST(test_fips_examples)
{
    char h[65];
    hex_of("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m2, strlen(m2), h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    hex_of("", 0, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* one million 'a', fed in pieces of 1000 */
    st_sha256 s;
    uint8_t d[32];
    char a[1000];
    memset(a, 'a', sizeof a);
    st_sha256_init(&s);
    for (int i = 0; i < 1000; i++) st_sha256_update(&s, a, sizeof a);
    st_sha256_final(&s, d);
    st_sha256_hex(d, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(test_streaming_equals_one_shot)
{
    uint8_t msg[1000];
    for (int i = 0; i < 1000; i++) msg[i] = (uint8_t)(i * 131 + 7);
    static const size_t pieces[] = { 1, 3, 7, 55, 56, 63, 64, 65, 127, 500 };
    for (size_t len = 0; len <= 1000; len += 37) {
        char one[65], many[65];
        hex_of(msg, len, one);
        st_sha256 s;
        uint8_t d[32];
        st_sha256_init(&s);
        size_t o = 0, k = 0;
        while (o < len) {
            size_t n = pieces[k++ % 10];
            if (n > len - o) n = len - o;
            st_sha256_update(&s, msg + o, n);
            o += n;
        }
        st_sha256_final(&s, d);
        st_sha256_hex(d, many);
        ck_assert_msg(!strcmp(one, many), "length %zu: %s != %s", len, one, many);
    }
}
END_TEST

START_TEST(test_against_sha256sum)
{
    char probe[65];
    const char *tmp = tu_tmpfile("sha_probe.bin");
    ck_assert_int_eq(tu_write_file(tmp, "x", 1), 0);
    if (sha256sum(tmp, probe) != 0) {
        printf("SKIP: sha256sum not available\n");
        return;
    }
    /* the padding boundaries: 55 (one block), 56, 63, 64 (two blocks), 119, 120 */
    static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 119, 120, 4097 };
    uint8_t buf[4097];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i ^ (i >> 3));
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        char path[1024], want[65], got[65], got_file[65];
        snprintf(path, sizeof path, "%s", tu_tmpfile("sha_len.bin"));
        ck_assert_int_eq(tu_write_file(path, buf, lens[k]), 0);
        ck_assert_int_eq(sha256sum(path, want), 0);
        hex_of(buf, lens[k], got);
        ck_assert_msg(!strcmp(got, want), "length %zu: %s, sha256sum %s", lens[k], got, want);
        st_err e;
        ck_assert_int_eq(st_sha256_file(path, got_file, &e), STRATA_OK);
        ck_assert_str_eq(got_file, want);
    }
    const char *model = tu_shared_path("models/stories260K/hf/model.safetensors");
    if (model) {
        char want[65], got[65];
        st_err e;
        ck_assert_int_eq(sha256sum(model, want), 0);
        ck_assert_int_eq(st_sha256_file(model, got, &e), STRATA_OK);
        ck_assert_str_eq(got, want);
    }
    st_err e;
    ck_assert_int_eq(st_sha256_file("/nonexistent/file", probe, &e), STRATA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/file"));
}
END_TEST

/* Both block functions (SHA-NI where the CPU has it, and the portable one)
 * give the same digests, on every test above and on random messages. */
START_TEST(test_hw_and_portable_agree)
{
    int hw = st_sha256_use_hw(1);
    printf("sha256: SHA-NI %s\n", hw ? "in use" : "not available on this CPU (portable code only)");
    uint8_t msg[3000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof msg; i++) {
        x = x * 1103515245u + 12345u;
        msg[i] = (uint8_t)(x >> 16);
    }
    for (size_t len = 0; len <= sizeof msg; len += 97) {
        char a[65], b[65];
        st_sha256_use_hw(1);
        hex_of(msg, len, a);
        st_sha256_use_hw(0);
        hex_of(msg, len, b);
        ck_assert_msg(!strcmp(a, b), "length %zu: hw %s, portable %s", len, a, b);
    }
    st_sha256_use_hw(1);
}
END_TEST

static void portable_only(void) { st_sha256_use_hw(0); }

int main(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, test_fips_examples);
    tcase_add_test(tc, test_streaming_equals_one_shot);
    tcase_add_test(tc, test_against_sha256sum);
    tcase_add_test(tc, test_hw_and_portable_agree);
    suite_add_tcase(s, tc);
    /* every reference test again on the portable code */
    TCase *tp = tcase_create("portable");
    tcase_add_checked_fixture(tp, portable_only, NULL);
    tcase_add_test(tp, test_fips_examples);
    tcase_add_test(tp, test_streaming_equals_one_shot);
    tcase_add_test(tp, test_against_sha256sum);
    suite_add_tcase(s, tp);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
