/* lambda_code.c: zip extraction refuses paths and links escaping the code directory, and
 * archives over the unzipped limit; it keeps contents, nested directories and exec bits. */
#include "services/lambda/lambda_code.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>

typedef struct entry {
    const char *name;
    const char *data; /* NULL: a directory */
    int mode;         /* 0: no unix attributes; S_IFLNK|0777: a link whose target is data */
} entry;

/* Builds a zip in memory; *len set; caller frees. */
static void *make_zip(const entry *e, size_t n, size_t *len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_source_keep(src);
    zip_t *z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        zip_int64_t idx;
        if (!e[i].data) {
            idx = zip_dir_add(z, e[i].name, ZIP_FL_ENC_UTF_8);
        } else {
            zip_source_t *s = zip_source_buffer(z, e[i].data, strlen(e[i].data), 0);
            idx = zip_file_add(z, e[i].name, s, ZIP_FL_ENC_UTF_8);
        }
        assert_true(idx >= 0);
        if (e[i].mode)
            zip_file_set_external_attributes(z, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                             ((zip_uint32_t)e[i].mode) << 16);
    }
    assert_int_equal(zip_close(z), 0);
    zip_source_open(src);
    zip_source_seek(src, 0, SEEK_END);
    zip_int64_t size = zip_source_tell(src);
    zip_source_seek(src, 0, SEEK_SET);
    void *out = malloc((size_t)size);
    assert_int_equal(zip_source_read(src, out, (zip_uint64_t)size), size);
    zip_source_close(src);
    zip_source_free(src);
    *len = (size_t)size;
    return out;
}

static char root[256], dir[300];

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/sluice-test-lambda-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(dir, sizeof dir, "%s/code", root);
    assert_int_equal(lambda_code_mkdirs(dir), 0);
    return 0;
}

static int teardown(void **state)
{
    lambda_code_remove_tree(root);
    return 0;
}

static int extract(const entry *e, size_t n, uint64_t max)
{
    size_t len;
    void *zip = make_zip(e, n, &len);
    char err[256];
    int rc = lambda_code_extract(zip, len, dir, max, err, sizeof err);
    free(zip);
    return rc;
}

static void read_file(const char *rel, char *out, size_t cap)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    fclose(f);
}

static int exists_under(const char *base, const char *rel)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return lstat(p, &st) == 0;
}

static void test_extracts_files_dirs_and_exec_bits(void **state)
{
    entry e[] = {
        {"handler.py", "def handler(e, c):\n    return e\n", 0},
        {"pkg/", NULL, 0},
        {"pkg/sub/mod.py", "X = 1\n", S_IFREG | 0644},
        {"bootstrap", "#!/bin/sh\n", S_IFREG | 0755},
    };
    assert_int_equal(extract(e, 4, LAMBDA_UNZIPPED_MAX_BYTES), LAMBDA_CODE_OK);
    char text[256];
    read_file("handler.py", text, sizeof text);
    assert_string_equal(text, "def handler(e, c):\n    return e\n");
    read_file("pkg/sub/mod.py", text, sizeof text);
    assert_string_equal(text, "X = 1\n");
    char p[600];
    snprintf(p, sizeof p, "%s/bootstrap", dir);
    assert_int_equal(access(p, X_OK), 0);
    snprintf(p, sizeof p, "%s/handler.py", dir);
    assert_int_not_equal(access(p, X_OK), 0);
}

static void test_refuses_dotdot_paths(void **state)
{
    entry e[] = {{"ok.txt", "fine", 0}, {"a/../../evil.txt", "gotcha", 0}};
    assert_int_equal(extract(e, 2, LAMBDA_UNZIPPED_MAX_BYTES), LAMBDA_CODE_UNSAFE);
    assert_false(exists_under(root, "evil.txt"));
}

static void test_refuses_absolute_paths(void **state)
{
    char abs[400];
    snprintf(abs, sizeof abs, "%s/abs.txt", root);
    entry e[] = {{abs, "gotcha", 0}};
    assert_int_equal(extract(e, 1, LAMBDA_UNZIPPED_MAX_BYTES), LAMBDA_CODE_UNSAFE);
    assert_false(exists_under(root, "abs.txt"));
}

static void test_refuses_links_pointing_out(void **state)
{
    entry e[] = {{"link", "../../etc", S_IFLNK | 0777}};
    assert_int_equal(extract(e, 1, LAMBDA_UNZIPPED_MAX_BYTES), LAMBDA_CODE_UNSAFE);
    entry abs[] = {{"link", "/etc/passwd", S_IFLNK | 0777}};
    assert_int_equal(extract(abs, 1, LAMBDA_UNZIPPED_MAX_BYTES), LAMBDA_CODE_UNSAFE);
}

static void test_never_writes_through_a_link(void **state)
{
    /* A link to "." then a file under it: the file goes in as a regular entry first (pass
     * 1 never follows the link, which does not exist yet), and the link is checked alone. */
    entry e[] = {{"up", "..", S_IFLNK | 0777}, {"up/escaped.txt", "gotcha", 0}};
    int rc = extract(e, 2, LAMBDA_UNZIPPED_MAX_BYTES);
    assert_int_equal(rc, LAMBDA_CODE_UNSAFE);
    assert_false(exists_under(root, "escaped.txt"));
}

static void test_keeps_links_inside(void **state)
{
    entry e[] = {{"lib/real.py", "Y = 2\n", 0}, {"alias.py", "lib/real.py", S_IFLNK | 0777}};
    assert_int_equal(extract(e, 2, LAMBDA_UNZIPPED_MAX_BYTES), LAMBDA_CODE_OK);
    char text[64];
    read_file("alias.py", text, sizeof text);
    assert_string_equal(text, "Y = 2\n");
}

static void test_refuses_archives_over_the_unzipped_limit(void **state)
{
    static char big[5000];
    memset(big, 'x', sizeof big - 1);
    entry e[] = {{"a.txt", big, 0}, {"b.txt", big, 0}};
    assert_int_equal(extract(e, 2, 8000), LAMBDA_CODE_TOO_LARGE);
}

static void test_refuses_corrupt_archives(void **state)
{
    char err[256];
    const char junk[] = "PK\003\004 this is not really a zip archive";
    assert_int_equal(lambda_code_extract(junk, sizeof junk, dir, 1000000, err, sizeof err),
                     LAMBDA_CODE_CORRUPT);
    assert_int_equal(lambda_code_extract("", 0, dir, 1000000, err, sizeof err),
                     LAMBDA_CODE_CORRUPT);
}

static void test_sha256_is_base64_and_hex(void **state)
{
    char b64[48], hex[65];
    lambda_code_sha256("abc", 3, b64, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_extracts_files_dirs_and_exec_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_dotdot_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_absolute_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_links_pointing_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_writes_through_a_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keeps_links_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_archives_over_the_unzipped_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refuses_corrupt_archives, setup, teardown),
        cmocka_unit_test(test_sha256_is_base64_and_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
