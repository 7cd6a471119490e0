/* MIME builder: header injection refused, encodings chosen and line limits kept. Decoding
 * by an independent parser (Python's email package) is checked in test_smtp_client.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/mime.h"

#include <stdio.h>
#include <string.h>

static const char *const to1[] = {"bob@example.test"};

static mime_message base(void)
{
    mime_message m = {.from = "alice@example.test",
                      .to = to1,
                      .nto = 1,
                      .subject = "Hello",
                      .text = "hi\n",
                      .text_len = 3,
                      .date_ms = 1700000000000LL,
                      .message_id = "id-1@example.test"};
    return m;
}

static size_t longest_line(const char *s)
{
    size_t best = 0;
    for (const char *p = s; *p;) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > best)
            best = n;
        p += n + (e ? 2 : 0);
    }
    return best;
}

/* No LF without its CR, no CR without its LF. */
static int crlf_only(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return 0;
        if (s[i] == '\r' && s[i + 1] != '\n')
            return 0;
    }
    return 1;
}

static void test_plain_ascii_message(void **state)
{
    mime_message m = base();
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_string_equal(b.data, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                                "From: alice@example.test\r\n"
                                "To: bob@example.test\r\n"
                                "Subject: Hello\r\n"
                                "Message-ID: <id-1@example.test>\r\n"
                                "MIME-Version: 1.0\r\n"
                                "Content-Type: text/plain; charset=UTF-8\r\n"
                                "Content-Transfer-Encoding: 7bit\r\n"
                                "\r\n"
                                "hi\r\n\r\n");
    buf_free(&b);
}

static void test_line_breaks_in_any_header_field_are_refused(void **state)
{
    const char *evil_to[] = {"bob@example.test\r\nBcc: eve@example.test"};
    const char *evil_name[] = {"Bob\n <bob@example.test>"};
    const char *evil_hdr[] = {"X-A: b\r\nBcc: eve@example.test"};
    for (int i = 0; i < 7; i++) {
        mime_message m = base();
        switch (i) {
        case 0:
            m.subject = "hi\r\nBcc: eve@example.test";
            break;
        case 1:
            m.subject = "hi\nBcc: eve@example.test";
            break;
        case 2:
            m.from = "alice@example.test\rBcc: eve@example.test";
            break;
        case 3:
            m.to = evil_to;
            break;
        case 4:
            m.cc = evil_name;
            m.ncc = 1;
            break;
        case 5:
            m.reply_to = evil_to;
            m.nreply_to = 1;
            break;
        case 6:
            m.headers = evil_hdr;
            m.nheaders = 1;
            break;
        }
        buf b = BUF_INIT;
        buf_puts(&b, "kept");
        const char *err = NULL;
        assert_int_equal(mime_build(&b, &m, &err), MIME_EINVAL);
        assert_non_null(err);
        assert_string_equal(b.data, "kept"); /* nothing half-written */
        buf_free(&b);
    }
}

static void test_bad_fields_are_refused(void **state)
{
    const char *own[] = {"Bcc: eve@example.test"};
    const char *ctype[] = {"Content-Type: text/evil"};
    const char *bad_addr[] = {"not an address"};
    const char *utf8_local[] = {"zoë@example.test"};
    for (int i = 0; i < 7; i++) {
        mime_message m = base();
        switch (i) {
        case 0:
            m.headers = own;
            m.nheaders = 1;
            break;
        case 1:
            m.headers = ctype;
            m.nheaders = 1;
            break;
        case 2:
            m.to = bad_addr;
            break;
        case 3:
            m.to = utf8_local;
            break;
        case 4:
            m.subject = "bad \xc3\x28 utf-8";
            break;
        case 5:
            m.text = "\xff";
            m.text_len = 1;
            break;
        case 6:
            m.from = NULL;
            break;
        }
        buf b = BUF_INIT;
        const char *err = NULL;
        assert_int_equal(mime_build(&b, &m, &err), MIME_EINVAL);
        assert_non_null(err);
        buf_free(&b);
    }
}

static void test_utf8_subject_becomes_encoded_words_of_whole_characters(void **state)
{
    mime_message m = base();
    /* 30 three-byte characters: 90 bytes, more than one encoded-word holds */
    m.subject = "日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語";
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    const char *s = strstr(b.data, "Subject: =?UTF-8?B?");
    assert_non_null(s);
    assert_non_null(strstr(s, "?=\r\n =?UTF-8?B?")); /* folded between words */
    /* Every word decodes to whole characters: its base64 covers a multiple of 3 bytes
     * here, so no word carries padding. */
    const char *end = strstr(s, "\r\nMessage-ID");
    for (const char *p = s; p < end; p++)
        assert_false(p[0] == '=' && p[1] == '=');
    assert_true(longest_line(b.data) <= 78);
    buf_free(&b);
}

static void test_ascii_subject_with_encoded_word_syntax_is_encoded(void **state)
{
    mime_message m = base();
    m.subject = "=?UTF-8?B?aGk=?= is literal";
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_null(strstr(b.data, "Subject: =?UTF-8?B?aGk=?= is"));
    assert_non_null(strstr(b.data, "Subject: =?UTF-8?B?PT9VVEYtOD9CP2FHaz0/PSBpcyBsaXRlcmFs?="));
    buf_free(&b);
}

static void test_long_headers_fold_at_spaces(void **state)
{
    mime_message m = base();
    m.subject = "one two three four five six seven eight nine ten eleven twelve thirteen "
                "fourteen fifteen sixteen";
    const char *to[] = {"first.recipient@example.test", "second.recipient@example.test",
                        "third.recipient@example.test", "fourth.recipient@example.test"};
    m.to = to;
    m.nto = 4;
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_true(longest_line(b.data) <= 78);
    assert_non_null(strstr(b.data, "second.recipient@example.test,\r\n third"));
    assert_non_null(strstr(b.data, "twelve\r\n thirteen fourteen fifteen sixteen\r\n"));
    buf_free(&b);
}

static void test_display_names(void **state)
{
    const char *to[] = {"Doe, Jane <jane@example.test>", "\"Already Quoted\" <q@example.test>",
                        "Zoë <zoe@example.test>", "=?UTF-8?B?Wm/Dqw==?= <z2@example.test>",
                        "  plain@example.test  "};
    mime_message m = base();
    m.to = to;
    m.nto = 5;
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_non_null(strstr(b.data, "To: \"Doe, Jane\" <jane@example.test>,"));
    assert_non_null(strstr(b.data, "\"Already Quoted\" <q@example.test>"));
    assert_non_null(strstr(b.data, "=?UTF-8?B?Wm/Dqw==?= <zoe@example.test>"));
    assert_non_null(
        strstr(b.data, "<zoe@example.test>, =?UTF-8?B?Wm/Dqw==?=\r\n <z2@example.test>"));
    assert_non_null(strstr(b.data, " plain@example.test\r\n"));
    buf_free(&b);
}

static void test_body_encodings_and_line_limits(void **state)
{
    /* mostly ASCII with a few accents: quoted-printable, soft breaks, trailing space */
    char qp[400];
    memset(qp, 'a', 300);
    strcpy(qp + 300, " caf\xc3\xa9 \n=end ");
    mime_message m = base();
    m.text = qp;
    m.text_len = strlen(qp);
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_non_null(strstr(b.data, "Content-Transfer-Encoding: quoted-printable"));
    assert_true(longest_line(b.data) <= 76);
    assert_non_null(strstr(b.data, "caf=C3=A9=20\r\n=3Dend=20\r\n"));
    assert_true(crlf_only(b.data));
    buf_free(&b);

    /* mostly non-ASCII: base64 */
    const char *cjk = "日本語のテキストです。\n二行目。\n";
    m = base();
    m.html = cjk;
    m.html_len = strlen(cjk);
    buf_init(&b, 0);
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_non_null(strstr(b.data, "Content-Type: text/html; charset=UTF-8\r\n"
                                   "Content-Transfer-Encoding: base64"));
    assert_true(longest_line(b.data) <= 76);
    buf_free(&b);

    /* ASCII with a 1000-character line: not 7bit */
    char longl[1100];
    memset(longl, 'x', 1000);
    longl[1000] = '\0';
    m = base();
    m.text = longl;
    m.text_len = 1000;
    buf_init(&b, 0);
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_non_null(strstr(b.data, "quoted-printable"));
    assert_true(longest_line(b.data) <= 76);
    buf_free(&b);

    /* CR, LF and CRLF line ends all come out as CRLF */
    m = base();
    m.text = "a\rb\nc\r\nd";
    m.text_len = 8;
    buf_init(&b, 0);
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    assert_non_null(strstr(b.data, "\r\n\r\na\r\nb\r\nc\r\nd\r\n"));
    buf_free(&b);
}

static void test_multipart_alternative_text_then_html(void **state)
{
    mime_message m = base();
    m.html = "<p>hi</p>";
    m.html_len = 9;
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    const char *ct = strstr(b.data, "Content-Type: multipart/alternative;\r\n boundary=\"");
    assert_non_null(ct);
    char boundary[64];
    const char *q = ct + strlen("Content-Type: multipart/alternative;\r\n boundary=\"");
    size_t n = (size_t)(strchr(q, '"') - q);
    assert_true(n > 10 && n < 60);
    memcpy(boundary, q, n);
    boundary[n] = '\0';
    assert_memory_equal(boundary, "=_", 2);
    char open[160], close[160];
    snprintf(open, sizeof open, "\r\n--%s\r\nContent-Type: text/plain", boundary);
    const char *t = strstr(b.data, open);
    assert_non_null(t);
    snprintf(open, sizeof open, "\r\n--%s\r\nContent-Type: text/html", boundary);
    const char *h = strstr(b.data, open);
    assert_non_null(h);
    assert_true(t < h);
    snprintf(close, sizeof close, "\r\n--%s--\r\n", boundary);
    const char *c = strstr(b.data, close);
    assert_non_null(c);
    assert_true(h < c);
    assert_string_equal(c + strlen(close), "");
    buf_free(&b);
}

static void test_generated_message_id_and_extra_headers(void **state)
{
    const char *extra[] = {"List-Unsubscribe: <https://example.test/u>", "X-Sluice: 1"};
    mime_message m = base();
    m.from = "Alice <alice@mail.example.test>";
    m.message_id = NULL;
    m.headers = extra;
    m.nheaders = 2;
    buf b = BUF_INIT;
    assert_int_equal(mime_build(&b, &m, NULL), 0);
    const char *id = strstr(b.data, "Message-ID: <");
    assert_non_null(id);
    assert_memory_equal(id + 13 + 36, "@mail.example.test>\r\n", 21);
    assert_non_null(strstr(b.data, "List-Unsubscribe: <https://example.test/u>\r\n"
                                   "X-Sluice: 1\r\nMIME-Version: 1.0\r\n"));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ascii_message),
        cmocka_unit_test(test_line_breaks_in_any_header_field_are_refused),
        cmocka_unit_test(test_bad_fields_are_refused),
        cmocka_unit_test(test_utf8_subject_becomes_encoded_words_of_whole_characters),
        cmocka_unit_test(test_ascii_subject_with_encoded_word_syntax_is_encoded),
        cmocka_unit_test(test_long_headers_fold_at_spaces),
        cmocka_unit_test(test_display_names),
        cmocka_unit_test(test_body_encodings_and_line_limits),
        cmocka_unit_test(test_multipart_alternative_text_then_html),
        cmocka_unit_test(test_generated_message_id_and_extra_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
