/* Configuration precedence and validation: defaults < file < environment < flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_defaults_are_loopback_4566_full(void **state)
{
    config c;
    config_defaults(&c);
    char err[256];
    char *argv[] = {"sluiced", NULL};
    assert_int_equal(config_load(&c, 1, argv, err, sizeof err), 0);
    assert_string_equal(c.bind, "127.0.0.1");
    assert_int_equal(c.port, 4566);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.account_id, "000000000000");
    assert_int_equal(c.durability, STORE_DURABILITY_FULL);
}

static void test_flags_beat_env_beat_file(void **state)
{
    char path[] = "/tmp/sluice-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\nport = 1111\nregion = \"eu-west-1\"\ndurability = normal\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    setenv("SLUICE_PORT", "2222", 1);
    config c;
    config_defaults(&c);
    char err[256];
    char *argv[] = {"sluiced", "--config", path, "--account-id", "123456789012", NULL};
    assert_int_equal(config_load(&c, 5, argv, err, sizeof err), 0);
    assert_int_equal(c.port, 2222);             /* env over file */
    assert_string_equal(c.region, "eu-west-1"); /* file over default */
    assert_int_equal(c.durability, STORE_DURABILITY_NORMAL);
    assert_string_equal(c.account_id, "123456789012");
    char *argv2[] = {"sluiced", "--config", path, "--port=3333", NULL};
    config_defaults(&c);
    assert_int_equal(config_load(&c, 4, argv2, err, sizeof err), 0);
    assert_int_equal(c.port, 3333); /* flag over env */
    unsetenv("SLUICE_PORT");
    unlink(path);
}

static void test_bad_values_are_rejected_with_a_message(void **state)
{
    config c;
    char err[256];
    char *a1[] = {"sluiced", "--port", "70000", NULL};
    config_defaults(&c);
    assert_int_equal(config_load(&c, 3, a1, err, sizeof err), -1);
    assert_non_null(strstr(err, "port"));
    char *a2[] = {"sluiced", "--durability", "sometimes", NULL};
    config_defaults(&c);
    assert_int_equal(config_load(&c, 3, a2, err, sizeof err), -1);
    assert_non_null(strstr(err, "durability"));
    char *a3[] = {"sluiced", "--no-such-flag", "1", NULL};
    config_defaults(&c);
    assert_int_equal(config_load(&c, 3, a3, err, sizeof err), -1);
    char *a4[] = {"sluiced", "--access-key", "AK", NULL};
    config_defaults(&c);
    assert_int_equal(config_load(&c, 3, a4, err, sizeof err), -1);
    char *a5[] = {"sluiced", "--port", NULL};
    config_defaults(&c);
    assert_int_equal(config_load(&c, 2, a5, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_loopback_4566_full),
        cmocka_unit_test(test_flags_beat_env_beat_file),
        cmocka_unit_test(test_bad_values_are_rejected_with_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
