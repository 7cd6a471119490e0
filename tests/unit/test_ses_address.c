/* SES's address handling and sender checks, without a server: bare addresses out of
 * "Name <addr>" with SES's error messages, header fields and address lists of raw messages
 * (folding, quoted names, comments, groups), domain names, and the sandbox rule (an address
 * identity, or a verified domain or parent domain) with its MessageRejected message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/alloc.h"
#include "services/ses/ses_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_parses(const char *in, const char *want)
{
    char out[320];
    ses_error e;
    assert_int_equal(ses_address_parse(in, out, sizeof out, &e), 0);
    assert_string_equal(out, want);
}

static void assert_refused(const char *in, const char *msg)
{
    char out[320];
    ses_error e;
    assert_int_equal(ses_address_parse(in, out, sizeof out, &e), -1);
    assert_int_equal(e.kind, SES_E_INVALID);
    assert_string_equal(e.msg, msg);
}

static void test_bare_addresses_and_display_names(void **state)
{
    (void)state;
    assert_parses("a@example.com", "a@example.com");
    assert_parses("  a@example.com ", "a@example.com");
    assert_parses("Zoë Shop <shop@example.com>", "shop@example.com");
    assert_parses("\"Doe, John\" <j.doe+tag@mail.example.com>", "j.doe+tag@mail.example.com");
    assert_parses("=?UTF-8?B?w6l0w6k=?= < x@example.com >", "x@example.com");
}

static void test_ses_messages_for_bad_addresses(void **state)
{
    (void)state;
    assert_refused("nobody", "Missing final '@domain'");
    assert_refused("x@", "Missing final '@domain'");
    assert_refused("@example.com", "Missing local name");
    assert_refused("a b@example.com", "Local address contains control or whitespace");
    assert_refused("zoë@example.com", "Local address contains non-ASCII characters");
    assert_refused("a@exa!mple.com", "Domain contains illegal character");
    assert_refused("a@-example.com", "Domain contains illegal character");
    assert_refused("a@example.com\r\nBcc: evil@example.com", "Illegal address");
    assert_refused("Name a@example.com>", "Illegal address");
}

static void test_domains(void **state)
{
    (void)state;
    assert_true(ses_domain_ok("example.com"));
    assert_true(ses_domain_ok("a-b.c1.example"));
    assert_true(ses_domain_ok("localhost"));
    assert_false(ses_domain_ok(""));
    assert_false(ses_domain_ok("a..b"));
    assert_false(ses_domain_ok(".a"));
    assert_false(ses_domain_ok("a."));
    assert_false(ses_domain_ok("a-.b"));
    assert_false(ses_domain_ok("-a.b"));
    assert_false(ses_domain_ok("a_b.c"));
    char label[80];
    memset(label, 'x', 64);
    strcpy(label + 64, ".com");
    assert_false(ses_domain_ok(label));
}

static const char raw[] = "From: Shop <shop@example.com>\r\n"
                          "To: a@example.net,\r\n"
                          " \"Last, First\" <b@example.net> (a comment, with a comma),\r\n"
                          "\tteam: c@example.net, d@example.net;\r\n"
                          "Subject: hi\r\n"
                          "\r\n"
                          "Cc: not-a-header@example.net\r\n";

static void test_header_fields_of_a_raw_message(void **state)
{
    (void)state;
    char *from = ses_header_get(raw, strlen(raw), "from");
    assert_string_equal(from, " Shop <shop@example.com>");
    xfree(from);
    char *subject = ses_header_get(raw, strlen(raw), "Subject");
    assert_string_equal(subject, " hi");
    xfree(subject);
    assert_null(ses_header_get(raw, strlen(raw), "Cc")); /* only the header is read */
    assert_null(ses_header_get(raw, strlen(raw), "To-Do"));
}

static void test_address_lists(void **state)
{
    (void)state;
    char *to = ses_header_get(raw, strlen(raw), "To");
    json_t *list = json_array();
    assert_int_equal(ses_address_list(to, strlen(to), list), 0);
    xfree(to);
    assert_int_equal(json_array_size(list), 4);
    const char *want[] = {"a@example.net", "b@example.net", "c@example.net", "d@example.net"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_array_get(list, i)), want[i]);
    json_decref(list);

    list = json_array();
    const char *empty_group = "undisclosed-recipients:;";
    assert_int_equal(ses_address_list(empty_group, strlen(empty_group), list), 0);
    assert_int_equal(json_array_size(list), 0);
    const char *bad = "a@example.net, nobody";
    assert_int_equal(ses_address_list(bad, strlen(bad), list), -1);
    json_decref(list);
}

/* ---- the sandbox rule ----------------------------------------------------------------- */

static ses *sandbox(void)
{
    ses *s = xcalloc(1, sizeof *s);
    s->verify = 1;
    snprintf(s->region, sizeof s->region, "eu-west-1");
    ses_identity *id;
    ses_error e;
    assert_int_equal(ses_identity_add(s, "ops@single.example", 0, &id, &e), 1);
    assert_int_equal(ses_identity_add(s, "example.com", 1, &id, &e), 1);
    assert_non_null(id->token);
    assert_int_equal(strlen(id->token), 44);
    assert_int_equal(ses_identity_add(s, "EXAMPLE.com", 1, &id, &e), 0); /* the same one */
    return s;
}

static void free_sandbox(ses *s)
{
    ses_identities_free(s);
    xfree(s);
}

static int allowed(ses *s, const char *addr)
{
    ses_error e;
    const char *list[] = {addr};
    return ses_check_senders(s, list, 1, &e) == 0;
}

static void test_verified_senders(void **state)
{
    (void)state;
    ses *s = sandbox();
    assert_true(allowed(s, "ops@single.example"));
    assert_true(allowed(s, "OPS@Single.Example"));
    assert_false(allowed(s, "other@single.example"));
    assert_true(allowed(s, "anyone@example.com"));
    assert_true(allowed(s, "anyone@mail.eu.example.com")); /* a subdomain of a verified one */
    assert_false(allowed(s, "anyone@badexample.com"));
    assert_false(allowed(s, "anyone@example.com.evil"));
    s->verify = 0;
    assert_true(allowed(s, "anyone@anywhere.example"));
    free_sandbox(s);
}

static void test_message_rejected_names_every_failed_identity(void **state)
{
    (void)state;
    ses *s = sandbox();
    const char *list[] = {"a@nope.example", "ok@example.com", "b@nope.example"};
    ses_error e;
    assert_int_equal(ses_check_senders(s, list, 3, &e), -1);
    assert_int_equal(e.kind, SES_E_REJECTED);
    assert_string_equal(e.msg, "Email address is not verified. The following identities failed "
                               "the check in region EU-WEST-1: a@nope.example, b@nope.example");
    free_sandbox(s);
}

static void test_identity_names_are_checked(void **state)
{
    (void)state;
    ses *s = sandbox();
    ses_identity *id;
    ses_error e;
    assert_int_equal(ses_identity_add(s, "Name <x@example.org>", 0, &id, &e), -1);
    assert_string_equal(e.msg, "Invalid email address <Name <x@example.org>>.");
    assert_int_equal(ses_identity_add(s, "bad_domain.example", 1, &id, &e), -1);
    assert_string_equal(e.msg, "Invalid domain name bad_domain.example.");
    assert_int_equal(ses_identity_add(s, "example.com", 0, &id, &e), -1);
    assert_int_equal(ses_identity_remove(s, "ops@single.example"), 0);
    assert_int_equal(ses_identity_remove(s, "ops@single.example"), -1);
    assert_int_equal(s->nidentities, 1);
    free_sandbox(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_addresses_and_display_names),
        cmocka_unit_test(test_ses_messages_for_bad_addresses),
        cmocka_unit_test(test_domains),
        cmocka_unit_test(test_header_fields_of_a_raw_message),
        cmocka_unit_test(test_address_lists),
        cmocka_unit_test(test_verified_senders),
        cmocka_unit_test(test_message_rejected_names_every_failed_identity),
        cmocka_unit_test(test_identity_names_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
