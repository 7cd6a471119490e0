/* SES template rendering: every Handlebars feature SES renders, SES's missing-attribute and
 * bad-data errors, syntax errors, whitespace control, and the bounds on hostile templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/alloc.h"
#include "services/ses/ses_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

/* Renders tpl with data (JSON text); returns the status, the output in *out (caller frees). */
static int render(const char *tpl, const char *data, char **out)
{
    json_error_t je;
    json_t *d = json_loads(data, JSON_DECODE_ANY, &je);
    if (!d)
        fail_msg("bad test data: %s", data);
    buf b = BUF_INIT;
    err[0] = '\0';
    int rc = ses_template_render(tpl, strlen(tpl), d, 0, &b, err, sizeof err);
    json_decref(d);
    *out = b.data ? buf_steal(&b, NULL) : xstrdup("");
    return rc;
}

static void expect(const char *tpl, const char *data, const char *want)
{
    char *got;
    int rc = render(tpl, data, &got);
    if (rc != 0)
        fail_msg("render of %s failed (%d): %s", tpl, rc, err);
    if (strcmp(got, want) != 0)
        fail_msg("render of %s\n  got:  [%s]\n  want: [%s]", tpl, got, want);
    xfree(got);
}

static void expect_err(const char *tpl, const char *data, int status, const char *msg)
{
    char *got;
    int rc = render(tpl, data, &got);
    if (rc != status)
        fail_msg("render of %s: status %d, want %d (%s) output [%s]", tpl, rc, status, err, got);
    if (msg && !strstr(err, msg))
        fail_msg("render of %s: message [%s] lacks [%s]", tpl, err, msg);
    xfree(got);
}

static void expect_invalid(const char *tpl)
{
    char e[256] = "";
    int rc = ses_template_validate(tpl, strlen(tpl), e, sizeof e);
    if (rc != SES_TEMPLATE_INVALID)
        fail_msg("validate accepted %s", tpl);
    assert_true(strlen(e) > 0);
}

static void expect_valid(const char *tpl)
{
    char e[256] = "";
    if (ses_template_validate(tpl, strlen(tpl), e, sizeof e) != 0)
        fail_msg("validate refused %s: %s", tpl, e);
}

/* ---- values ----------------------------------------------------------------------------- */

static void test_substitutes_variables_and_nested_paths(void **state)
{
    expect("Greetings, {{name}}!", "{\"name\":\"John\"}", "Greetings, John!");
    expect("{{ name }} {{favoriteanimal  }}", "{\"name\":\"J\",\"favoriteanimal\":\"Lion\"}",
           "J Lion");
    expect("Hello {{contact.firstName}} from {{contact.city}}",
           "{\"contact\":{\"firstName\":\"Anaya\",\"city\":\"Bengaluru\"}}",
           "Hello Anaya from Bengaluru");
    expect("{{a/b/c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep");
    expect("{{[first name]}}", "{\"first name\":\"x\"}", "x");
    expect("{{list.1}} {{list.length}}", "{\"list\":[\"a\",\"b\"]}", "b 2");
    expect("no tags at all", "{}", "no tags at all");
    expect("", "{}", "");
}

static void test_does_not_html_escape_any_part(void **state)
{
    /* AWS: "SES doesn't escape HTML content when rendering the HTML template". */
    const char *tpl = "<p>{{v}}|{{{v}}}|{{&v}}</p>";
    json_t *d = json_pack("{s:s}", "v", "<b>&amp;\"'</b>");
    for (int html = 0; html <= 1; html++) {
        buf b = BUF_INIT;
        assert_int_equal(ses_template_render(tpl, strlen(tpl), d, html, &b, err, sizeof err), 0);
        assert_string_equal(b.data, "<p><b>&amp;\"'</b>|<b>&amp;\"'</b>|<b>&amp;\"'</b></p>");
        buf_free(&b);
    }
    json_decref(d);
}

static void test_prints_values_as_javascript_does(void **state)
{
    expect(
        "{{i}} {{neg}} {{r}} {{one}} {{big}} {{tiny}} {{small}}",
        "{\"i\":42,\"neg\":-7,\"r\":1.5,\"one\":1.0,\"big\":1e21,\"tiny\":1e-7,\"small\":0.000001}",
        "42 -7 1.5 1 1e+21 1e-7 0.000001");
    expect("{{a}} {{b}} {{c}}", "{\"a\":1.2345678901234568e20,\"b\":0.1,\"c\":-2.5e-10}",
           "123456789012345680000 0.1 -2.5e-10");
    expect("[{{t}}][{{f}}][{{n}}]", "{\"t\":true,\"f\":false,\"n\":null}", "[true][false][]");
    expect("[{{arr}}][{{obj}}][{{nested}}]",
           "{\"arr\":[1,\"x\",null,true],\"obj\":{\"k\":1},\"nested\":[[1,2],[3]]}",
           "[1,x,,true][[object Object]][1,2,3]");
    expect("{{s}}", "{\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

/* ---- missing data ----------------------------------------------------------------------- */

static void test_missing_attribute_fails_with_ses_message(void **state)
{
    expect_err("Dear {{name}}, your favorite animal is {{favoriteanimal}}.", "{\"name\":\"John\"}",
               SES_TEMPLATE_MISSING,
               "Attribute 'favoriteanimal' is not present in the rendering data.");
    expect_err("{{contact.firstName}}", "{\"contact\":{}}", SES_TEMPLATE_MISSING,
               "Attribute 'contact.firstName' is not present");
    expect_err("{{contact.firstName}}", "{}", SES_TEMPLATE_MISSING, "'contact.firstName'");
    expect_err("{{name.first}}", "{\"name\":\"str\"}", SES_TEMPLATE_MISSING, "'name.first'");
    /* Case matters. */
    expect_err("{{Name}}", "{\"name\":\"x\"}", SES_TEMPLATE_MISSING, "'Name'");
    /* Inside #each the item is the context: no fallback to the parent. */
    expect_err("{{#each items}}{{title}}{{/each}}", "{\"items\":[{}],\"title\":\"t\"}",
               SES_TEMPLATE_MISSING, "'title'");
    /* A section head must exist too. */
    expect_err("{{#thing}}x{{/thing}}", "{}", SES_TEMPLATE_MISSING, "'thing'");
}

static void test_missing_in_output_leaves_out_untouched(void **state)
{
    json_t *d = json_pack("{s:s}", "a", "A");
    buf b = BUF_INIT;
    buf_puts(&b, "prefix:");
    const char *tpl = "{{a}}{{a}}{{b}}";
    assert_int_equal(ses_template_render(tpl, strlen(tpl), d, 0, &b, err, sizeof err),
                     SES_TEMPLATE_MISSING);
    assert_string_equal(b.data, "prefix:");
    assert_int_equal(b.len, 7);
    buf_free(&b);
    json_decref(d);
}

static void test_null_value_is_present(void **state)
{
    expect("[{{x}}]", "{\"x\":null}", "[]");
}

static void test_unknown_helper_is_reported_as_missing_attribute(void **state)
{
    /* SES reports "Attribute 'IF' is not present" for {{IF x}}. */
    expect_err("{{IF x}}", "{\"x\":1}", SES_TEMPLATE_MISSING,
               "Attribute 'IF' is not present in the rendering data.");
    expect_err("{{#upper x}}y{{/upper}}", "{\"x\":1}", SES_TEMPLATE_MISSING, "'upper'");
    expect_err("{{fmt key=1}}", "{}", SES_TEMPLATE_MISSING, "'fmt'");
}

static void test_helper_parameters_may_be_missing(void **state)
{
    expect("{{#if missing}}yes{{else}}no{{/if}}", "{}", "no");
    expect("{{#if a.b.c}}yes{{else}}no{{/if}}", "{}", "no");
    expect("{{#unless missing}}absent{{/unless}}", "{}", "absent");
    expect("{{#each missing}}x{{else}}none{{/each}}", "{}", "none");
    expect("{{#with missing}}x{{else}}none{{/with}}", "{}", "none");
    expect("[{{lookup missing 'k'}}]", "{}", "[]");
}

static void test_data_must_be_an_object(void **state)
{
    const char *bad[] = {"[1]", "\"s\"", "3", "null", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_err("x", bad[i], SES_TEMPLATE_BAD_DATA, "JSON object");
    buf b = BUF_INIT;
    assert_int_equal(ses_template_render("x", 1, NULL, 0, &b, err, sizeof err),
                     SES_TEMPLATE_BAD_DATA);
    buf_free(&b);
}

/* ---- conditionals ----------------------------------------------------------------------- */

static void test_if_else_and_truthiness(void **state)
{
    const char *tpl = "{{#if v}}T{{else}}F{{/if}}";
    expect(tpl, "{\"v\":true}", "T");
    expect(tpl, "{\"v\":\"x\"}", "T");
    expect(tpl, "{\"v\":1}", "T");
    expect(tpl, "{\"v\":{}}", "T");
    expect(tpl, "{\"v\":[0]}", "T");
    expect(tpl, "{\"v\":false}", "F");
    expect(tpl, "{\"v\":null}", "F");
    expect(tpl, "{\"v\":\"\"}", "F");
    expect(tpl, "{\"v\":0}", "F");
    expect(tpl, "{\"v\":0.0}", "F");
    expect(tpl, "{\"v\":[]}", "F");
    expect("{{#if v includeZero=true}}T{{else}}F{{/if}}", "{\"v\":0}", "T");
    expect("{{#if v}}T{{/if}}", "{\"v\":false}", "");
    expect("{{^if v}}not{{/if}}", "{\"v\":false}", "not");
}

static void test_else_if_chains(void **state)
{
    const char *tpl = "{{#if a}}A{{else if b}}B{{else if c}}C{{else}}D{{/if}}";
    expect(tpl, "{\"a\":1}", "A");
    expect(tpl, "{\"b\":1}", "B");
    expect(tpl, "{\"c\":1}", "C");
    expect(tpl, "{}", "D");
    expect("{{#if a}}A{{else unless b}}notB{{/if}}", "{\"b\":false}", "notB");
    expect("{{#if a}}A{{^}}no{{/if}}", "{}", "no");
}

static void test_unless(void **state)
{
    expect("{{#unless v}}U{{else}}E{{/unless}}", "{\"v\":0}", "U");
    expect("{{#unless v}}U{{else}}E{{/unless}}", "{\"v\":\"x\"}", "E");
}

/* ---- iteration -------------------------------------------------------------------------- */

static void test_each_over_arrays(void **state)
{
    /* The example from moto's test verified against AWS. */
    expect("{{#each items}} {{name}} is {{#if best}}the best{{else}}a {{type}}{{/if}}, {{/each}}",
           "{\"items\":[{\"type\":\"dog\",\"name\":\"bobby\",\"best\":true},"
           "{\"type\":\"cat\",\"name\":\"pedro\",\"best\":false}]}",
           " bobby is the best,  pedro is a cat, ");
    expect("{{#each xs}}{{@index}}:{{this}}{{#if @first}}(first){{/if}}{{#if @last}}(last){{/if}};"
           "{{/each}}",
           "{\"xs\":[\"a\",\"b\",\"c\"]}", "0:a(first);1:b;2:c(last);");
    expect("{{#each xs}}[{{.}}]{{/each}}", "{\"xs\":[1,2]}", "[1][2]");
    /* @index 0 is falsy for #if, the usual separator idiom. */
    expect("{{#each xs}}{{#if @index}}, {{/if}}{{this}}{{/each}}", "{\"xs\":[\"a\",\"b\",\"c\"]}",
           "a, b, c");
    expect("{{#each xs}}x{{else}}empty{{/each}}", "{\"xs\":[]}", "empty");
    expect("{{#each s}}x{{else}}not a list{{/each}}", "{\"s\":\"str\"}", "not a list");
    expect("{{#each subscription}}<li>{{interest}}</li>{{/each}}",
           "{\"subscription\":[{\"interest\":\"Sports\"},{\"interest\":\"Travel\"}]}",
           "<li>Sports</li><li>Travel</li>");
}

static void test_each_over_objects_in_key_order(void **state)
{
    expect("{{#each o}}{{@key}}={{this}}@{{@index}}{{#if @last}}.{{else}},{{/if}}{{/each}}",
           "{\"o\":{\"b\":1,\"a\":2,\"c\":3}}", "b=1@0,a=2@1,c=3@2.");
    expect("{{#each o}}x{{else}}empty{{/each}}", "{\"o\":{}}", "empty");
}

static void test_parent_and_root_access(void **state)
{
    expect("{{#each items}}{{name}}-{{../suffix}}-{{@root.suffix}};{{/each}}",
           "{\"suffix\":\"S\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "a-S-S;b-S-S;");
    /* #if does not push a context, so ../ inside it still means the each's parent. */
    expect("{{#each items}}{{#if name}}{{../suffix}}{{/if}}{{/each}}",
           "{\"suffix\":\"S\",\"items\":[{\"name\":\"a\"}]}", "S");
    expect("{{#each outer}}{{#each inner}}{{../k}}{{../../top}}{{this}}{{/each}}{{/each}}",
           "{\"top\":\"T\",\"outer\":[{\"k\":\"K\",\"inner\":[1,2]}]}", "KT1KT2");
    expect("{{#each xs}}{{#with this}}{{@index}}{{/with}}{{/each}}", "{\"xs\":[{\"a\":1},{}]}",
           "01");
    expect("{{this.name}} {{./name}}", "{\"name\":\"n\"}", "n n");
}

static void test_block_params(void **state)
{
    expect("{{#each xs as |x i|}}{{i}}={{x.v}};{{/each}}", "{\"xs\":[{\"v\":\"a\"},{\"v\":\"b\"}]}",
           "0=a;1=b;");
    expect("{{#each o as |val key|}}{{key}}:{{val}} {{/each}}", "{\"o\":{\"k\":\"v\"}}", "k:v ");
    expect("{{#with person as |p|}}{{p.name}}{{/with}}", "{\"person\":{\"name\":\"P\"}}", "P");
    expect("{{#each outer as |o|}}{{#each o.in as |i|}}{{o.n}}{{i}}{{/each}}{{/each}}",
           "{\"outer\":[{\"n\":\"N\",\"in\":[1,2]}]}", "N1N2");
}

static void test_with_and_sections(void **state)
{
    expect("{{#with contact}}{{firstName}} {{lastName}}{{/with}}",
           "{\"contact\":{\"firstName\":\"A\",\"lastName\":\"I\"}}", "A I");
    expect("{{#with v}}[{{this}}]{{/with}}", "{\"v\":0}", "[0]");
    expect("{{#contact}}{{firstName}}{{/contact}}", "{\"contact\":{\"firstName\":\"A\"}}", "A");
    expect("{{#xs}}{{this}}{{/xs}}", "{\"xs\":[1,2,3]}", "123");
    expect("{{#xs}}x{{else}}none{{/xs}}", "{\"xs\":[]}", "none");
    expect("{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}", "{\"flag\":true}", "on");
    expect("{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}", "{\"flag\":false}", "off");
    expect("{{#n}}[{{this}}]{{/n}}", "{\"n\":0}", "[0]");
}

static void test_lookup_and_log(void **state)
{
    expect("{{lookup o k}} {{lookup xs 1}} {{lookup o 'x'}}",
           "{\"o\":{\"a\":\"A\",\"x\":\"X\"},\"k\":\"a\",\"xs\":[\"p\",\"q\"]}", "A q X");
    expect("{{#each keys}}{{lookup ../o this}}{{/each}}",
           "{\"o\":{\"a\":1,\"b\":2},\"keys\":[\"b\",\"a\"]}", "21");
    expect("a{{log 'hello' x}}b", "{}", "ab");
}

/* ---- comments, partials, escapes -------------------------------------------------------- */

static void test_comments_render_nothing(void **state)
{
    expect("A{{! note }}B{{!-- has }} inside --}}C", "{}", "ABC");
}

static void test_inline_partials(void **state)
{
    expect("{{#*inline \"row\"}}[{{.}}]{{/inline}}{{#each xs}}{{> row}}{{/each}}",
           "{\"xs\":[\"x\",\"y\"]}", "[x][y]");
    /* Partials may be used before their definition (decorators run first). */
    expect("{{> p}}{{#*inline \"p\"}}P{{/inline}}", "{}", "P");
    expect("{{#*inline \"n\"}}{{name}}{{/inline}}{{> n person}}", "{\"person\":{\"name\":\"Q\"}}",
           "Q");
    expect("{{#*inline \"g\"}}{{greet}} {{name}}{{/inline}}{{> g greet=\"Hi\"}}",
           "{\"name\":\"N\"}", "Hi N");
    expect_err("{{> nope}}", "{}", SES_TEMPLATE_INVALID, "partial nope could not be found");
}

static void test_escaped_mustaches(void **state)
{
    expect("\\{{name}} is literal", "{\"name\":\"x\"}", "{{name}} is literal");
    expect("\\\\{{name}}", "{\"name\":\"x\"}", "\\x");
}

/* ---- whitespace control ------------------------------------------------------------------ */

static void test_standalone_lines_are_removed(void **state)
{
    expect("<ul>\n{{#each xs}}\n  <li>{{this}}</li>\n{{/each}}\n</ul>\n", "{\"xs\":[\"a\",\"b\"]}",
           "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n");
    expect("{{#if a}}\nyes\n{{else}}\nno\n{{/if}}\n", "{}", "no\n");
    expect("a\n  {{! comment }}\nb", "{}", "a\nb");
    expect("x {{#if t}} y {{/if}} z", "{\"t\":true}", "x  y  z");
    expect("{{#*inline \"p\"}}\nline1\nline2\n{{/inline}}\nbody:\n  {{> p}}\nend", "{}",
           "body:\n  line1\n  line2\nend");
}

static void test_tilde_strips_whitespace(void **state)
{
    expect("a   {{~v~}}   b", "{\"v\":\"V\"}", "aVb");
    expect("[ {{~#if t~}} x {{~/if~}} ]", "{\"t\":true}", "[x]");
    expect("[ {{~#if t}} x {{else~}} y {{~/if}} ]", "{\"t\":false}", "[y ]");
    expect("a \n {{~! c ~}} \n b", "{}", "ab");
}

/* ---- syntax errors ----------------------------------------------------------------------- */

static void test_validate_accepts_ses_templates(void **state)
{
    expect_valid("Greetings, {{name}}!");
    expect_valid("{{#each items}}{{#if best}}x{{else}}y{{/if}}{{/each}}");
    expect_valid("{{#*inline \"p\"}}x{{/inline}}{{> p}}");
    expect_valid("{{> undefinedPartial}}"); /* only rendering needs the partial */
    expect_valid("{{IF x}}");               /* a missing helper is a render-time failure */
    expect_valid("}} {{! }} {{{raw}}} {{&amp}}");
    expect_valid("");
}

static void test_validate_rejects_bad_syntax(void **state)
{
    const char *bad[] = {
        "{{name",
        "{{#if x}}unclosed",
        "{{#if x}}a{{/each}}",
        "{{/if}}",
        "{{else}}",
        "{{#if x}}a{{else}}b{{else}}c{{/if}}",
        "{{}}",
        "{{ }}",
        "{{#if}}x{{/if}}",
        "{{#if a b}}x{{/if}}",
        "{{#each}}x{{/each}}",
        "{{lookup a}}",
        "{{#lookup a b}}x{{/lookup}}",
        "{{#if (eq a b)}}x{{/if}}",
        "{{{{raw}}}}x{{{{/raw}}}}",
        "{{! unclosed",
        "{{!-- unclosed }}",
        "{{a..b}}",
        "{{a/../b}}",
        "{{{name}}",
        "{{'unterminated}}",
        "{{#*deco}}x{{/deco}}",
        "{{#> layout}}x{{/layout}}",
        "{{a\"b}}",
        "{{[abc}}",
        "{{> p a b}}",
        "{{x as |y|}}",
        "{{#each xs as |a|}}{{/each}} {{#each xs as ||}}{{/each}}",
        "{{@}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i]);
    char e[256];
    assert_int_equal(ses_template_validate("a\nb\n{{#if x}}", 13, e, sizeof e),
                     SES_TEMPLATE_INVALID);
    assert_non_null(strstr(e, "line 3"));
    assert_int_equal(ses_template_validate("{{#if x}}{{/each}}", 18, e, sizeof e),
                     SES_TEMPLATE_INVALID);
    assert_non_null(strstr(e, "if doesn't match each"));
}

static void test_render_reports_syntax_errors(void **state)
{
    expect_err("{{#if x}}", "{}", SES_TEMPLATE_INVALID, "unclosed");
}

static void test_template_need_not_be_nul_terminated(void **state)
{
    const char tpl[] = "{{a}}{{b}}XXXX";
    json_t *d = json_pack("{s:s,s:s}", "a", "1", "b", "2");
    buf b = BUF_INIT;
    assert_int_equal(ses_template_render(tpl, 5, d, 0, &b, err, sizeof err), 0);
    assert_string_equal(b.data, "1");
    /* Cut inside a tag: a syntax error, not a read past the end. */
    assert_int_equal(ses_template_validate(tpl, 8, err, sizeof err), SES_TEMPLATE_INVALID);
    buf_free(&b);
    json_decref(d);
}

static void test_error_codes(void **state)
{
    assert_string_equal(ses_template_error_code(SES_TEMPLATE_INVALID), "InvalidTemplate");
    assert_string_equal(ses_template_error_code(SES_TEMPLATE_MISSING), "MissingRenderingAttribute");
    assert_string_equal(ses_template_error_code(SES_TEMPLATE_BAD_DATA),
                        "InvalidRenderingParameter");
    assert_null(ses_template_error_code(SES_TEMPLATE_OK));
}

/* ---- bounds ------------------------------------------------------------------------------ */

static void test_nesting_depth_is_bounded(void **state)
{
    buf t = BUF_INIT;
    for (int i = 0; i < SES_TEMPLATE_MAX_DEPTH; i++)
        buf_puts(&t, "{{#if a}}");
    for (int i = 0; i < SES_TEMPLATE_MAX_DEPTH; i++)
        buf_puts(&t, "{{/if}}");
    char e[256];
    assert_int_equal(ses_template_validate(t.data, t.len, e, sizeof e), 0);
    buf_reset(&t);
    for (int i = 0; i < SES_TEMPLATE_MAX_DEPTH + 1; i++)
        buf_puts(&t, "{{#if a}}");
    for (int i = 0; i < SES_TEMPLATE_MAX_DEPTH + 1; i++)
        buf_puts(&t, "{{/if}}");
    assert_int_equal(ses_template_validate(t.data, t.len, e, sizeof e), SES_TEMPLATE_INVALID);
    assert_non_null(strstr(e, "nested too deeply"));
    buf_free(&t);
}

static void test_recursive_partials_stop(void **state)
{
    expect_err("{{#*inline \"p\"}}x{{> p}}{{/inline}}{{> p}}", "{}", SES_TEMPLATE_INVALID,
               "nested more than");
    /* Exponential fan-out is stopped by the step budget (or the depth bound), quickly. */
    expect_err("{{#*inline \"p\"}}{{> p}}{{> p}}{{/inline}}{{> p}}", "{}", SES_TEMPLATE_INVALID,
               NULL);
}

static void test_work_is_bounded_for_nested_loops(void **state)
{
    buf d = BUF_INIT;
    buf_puts(&d, "{\"a\":[");
    for (int i = 0; i < 200; i++)
        buf_puts(&d, i ? ",0" : "0");
    buf_puts(&d, "]}");
    /* 200^4 = 1.6e9 iterations printing nothing: must stop on the step budget. */
    expect_err("{{#each a}}{{#each @root.a}}{{#each @root.a}}{{#each @root.a}}"
               "{{/each}}{{/each}}{{/each}}{{/each}}",
               d.data, SES_TEMPLATE_INVALID, "too long");
    buf_free(&d);
}

static void test_output_size_is_bounded(void **state)
{
    /* 64 KiB string, 256 items, 3 copies each: 48 MiB wanted. */
    size_t n = 64 * 1024;
    char *s = xmalloc(n + 1);
    memset(s, 'x', n);
    s[n] = '\0';
    json_t *arr = json_array();
    for (int i = 0; i < 256; i++)
        json_array_append_new(arr, json_integer(i));
    json_t *d = json_pack("{s:s,s:o}", "s", s, "a", arr);
    const char *tpl = "{{#each a}}{{@root.s}}{{@root.s}}{{@root.s}}{{/each}}";
    buf b = BUF_INIT;
    assert_int_equal(ses_template_render(tpl, strlen(tpl), d, 0, &b, err, sizeof err),
                     SES_TEMPLATE_INVALID);
    assert_non_null(strstr(err, "larger than"));
    assert_int_equal(b.len, 0);
    buf_free(&b);
    json_decref(d);
    xfree(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substitutes_variables_and_nested_paths),
        cmocka_unit_test(test_does_not_html_escape_any_part),
        cmocka_unit_test(test_prints_values_as_javascript_does),
        cmocka_unit_test(test_missing_attribute_fails_with_ses_message),
        cmocka_unit_test(test_missing_in_output_leaves_out_untouched),
        cmocka_unit_test(test_null_value_is_present),
        cmocka_unit_test(test_unknown_helper_is_reported_as_missing_attribute),
        cmocka_unit_test(test_helper_parameters_may_be_missing),
        cmocka_unit_test(test_data_must_be_an_object),
        cmocka_unit_test(test_if_else_and_truthiness),
        cmocka_unit_test(test_else_if_chains),
        cmocka_unit_test(test_unless),
        cmocka_unit_test(test_each_over_arrays),
        cmocka_unit_test(test_each_over_objects_in_key_order),
        cmocka_unit_test(test_parent_and_root_access),
        cmocka_unit_test(test_block_params),
        cmocka_unit_test(test_with_and_sections),
        cmocka_unit_test(test_lookup_and_log),
        cmocka_unit_test(test_comments_render_nothing),
        cmocka_unit_test(test_inline_partials),
        cmocka_unit_test(test_escaped_mustaches),
        cmocka_unit_test(test_standalone_lines_are_removed),
        cmocka_unit_test(test_tilde_strips_whitespace),
        cmocka_unit_test(test_validate_accepts_ses_templates),
        cmocka_unit_test(test_validate_rejects_bad_syntax),
        cmocka_unit_test(test_render_reports_syntax_errors),
        cmocka_unit_test(test_template_need_not_be_nul_terminated),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_nesting_depth_is_bounded),
        cmocka_unit_test(test_recursive_partials_stop),
        cmocka_unit_test(test_work_is_bounded_for_nested_loops),
        cmocka_unit_test(test_output_size_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
