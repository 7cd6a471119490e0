/* JSONata: the examples of docs.jsonata.org (simple queries, predicates, functions,
 * expressions, sorting and grouping, higher-order functions, date/time, regular
 * expressions, programming constructs) on its "Address", "Invoice" and "Library"
 * sample documents, the error codes jsonata-js raises, the functions Step Functions
 * adds, and hostile expressions that must fail cleanly within the limits.
 *
 * Each table row is {input JSON (NULL: undefined), expression, expected JSON (NULL:
 * undefined; "!CODE": that error)}. A table runs whole and reports every row that
 * differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jsonata/jsonata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct jcase {
    const char *input; /* JSON text, NULL for undefined */
    const char *expr;
    const char *want; /* JSON text; NULL for undefined; "!T2001" for that error */
} jcase;

/* ---------------------------------------------------------------- sample documents */

#define ADDRESS                                                                                    \
    "{\"FirstName\":\"Fred\",\"Surname\":\"Smith\",\"Age\":28,"                                    \
    "\"Address\":{\"Street\":\"Hursley Park\",\"City\":\"Winchester\",\"Postcode\":\"SO21 2JN\"}," \
    "\"Phone\":[{\"type\":\"home\",\"number\":\"0203 544 1234\"},"                                 \
    "{\"type\":\"office\",\"number\":\"01962 001234\"},"                                           \
    "{\"type\":\"office\",\"number\":\"01962 001235\"},"                                           \
    "{\"type\":\"mobile\",\"number\":\"077 7700 1234\"}],"                                         \
    "\"Email\":[{\"type\":\"work\",\"address\":[\"fred.smith@my-work.com\",\"fsmith@my-work."      \
    "com\"]},"                                                                                     \
    "{\"type\":\"home\",\"address\":[\"freddy@my-social.com\",\"frederic.smith@very-serious."      \
    "com\"]}],"                                                                                    \
    "\"Other\":{\"Over 18 ?\":true,\"Misc\":null,\"Alternative.Address\":{\"Street\":\"Brick "     \
    "Lane\",\"City\":\"London\",\"Postcode\":\"E1 6RF\"}}}"

#define INVOICE                                                                                    \
    "{\"Account\":{\"Account Name\":\"Firefly\",\"Order\":["                                       \
    "{\"OrderID\":\"order103\",\"Product\":["                                                      \
    "{\"Product Name\":\"Bowler Hat\",\"ProductID\":858383,\"SKU\":\"0406654608\","                \
    "\"Description\":{\"Colour\":\"Purple\",\"Width\":300,\"Height\":200,\"Depth\":210,"           \
    "\"Weight\":0.75},\"Price\":34.45,\"Quantity\":2},"                                            \
    "{\"Product Name\":\"Trilby hat\",\"ProductID\":858236,\"SKU\":\"0406634348\","                \
    "\"Description\":{\"Colour\":\"Orange\",\"Width\":300,\"Height\":200,\"Depth\":210,"           \
    "\"Weight\":0.6},\"Price\":21.67,\"Quantity\":1}]},"                                           \
    "{\"OrderID\":\"order104\",\"Product\":["                                                      \
    "{\"Product Name\":\"Bowler Hat\",\"ProductID\":858383,\"SKU\":\"040657863\","                 \
    "\"Description\":{\"Colour\":\"Purple\",\"Width\":300,\"Height\":200,\"Depth\":210,"           \
    "\"Weight\":0.75},\"Price\":34.45,\"Quantity\":4},"                                            \
    "{\"ProductID\":345664,\"SKU\":\"0406654603\",\"Product Name\":\"Cloak\","                     \
    "\"Description\":{\"Colour\":\"Black\",\"Width\":30,\"Height\":20,\"Depth\":210,"              \
    "\"Weight\":2},\"Price\":107.99,\"Quantity\":1}]}]}}"

#define LIBRARY                                                                                    \
    "{\"library\":{\"books\":["                                                                    \
    "{\"title\":\"Structure and Interpretation of Computer Programs\","                            \
    "\"authors\":[\"Abelson\",\"Sussman\"],\"isbn\":\"9780262510875\",\"price\":38.90,"            \
    "\"copies\":2},"                                                                               \
    "{\"title\":\"The C Programming Language\",\"authors\":[\"Kernighan\",\"Richie\"],"            \
    "\"isbn\":\"9780131103627\",\"price\":33.59,\"copies\":3},"                                    \
    "{\"title\":\"The AWK Programming Language\",\"authors\":[\"Aho\",\"Kernighan\","              \
    "\"Weinberger\"],\"isbn\":\"9780201079814\",\"copies\":1},"                                    \
    "{\"title\":\"Compilers: Principles, Techniques, and Tools\",\"authors\":[\"Aho\",\"Lam\","    \
    "\"Sethi\",\"Ullman\"],\"isbn\":\"9780201100884\",\"price\":23.38,\"copies\":1}],"             \
    "\"loans\":[{\"customer\":\"10001\",\"isbn\":\"9780262510875\",\"return\":\"2016-12-05\"},"    \
    "{\"customer\":\"10003\",\"isbn\":\"9780201100884\",\"return\":\"2016-10-22\"},"               \
    "{\"customer\":\"10003\",\"isbn\":\"9780262510875\",\"return\":\"2016-12-22\"}],"              \
    "\"customers\":[{\"id\":\"10001\",\"name\":\"Joe Doe\",\"address\":{\"street\":\"2 Long "      \
    "Road\",\"city\":\"Winchester\",\"postcode\":\"SO22 5PU\"}},"                                  \
    "{\"id\":\"10002\",\"name\":\"Fred Bloggs\",\"address\":{\"street\":\"56 Letsby "              \
    "Avenue\",\"city\":\"Winchester\",\"postcode\":\"SO22 4WD\"}},"                                \
    "{\"id\":\"10003\",\"name\":\"Jason Arthur\",\"address\":{\"street\":\"1 Preddy "              \
    "Gate\",\"city\":\"Southampton\",\"postcode\":\"SO14 0MG\"}}]}}"

#define NESTED "[{\"ref\":[1,2]},{\"ref\":[3,4]}]"

/* ---------------------------------------------------------------- the runner */

static json_t *parse_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON: %s (%s)", text, je.text);
    return v;
}

static char *dump(json_t *v)
{
    return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17))
             : strdup("(undefined)");
}

/* Numbers compare by value (1 and 1.0 are the same JSON number). */
static int same_json(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_json(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !same_json(v, w))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

/* Runs one case; returns NULL when it passes, else a malloc'd description. */
static char *run_case(const jcase *t, json_t *bindings)
{
    char err[512], *msg = NULL;
    json_t *input = t->input ? parse_json(t->input) : NULL;
    jsonata_expr *e = jsonata_compile(t->expr, err, sizeof err);
    json_t *got = NULL;
    int failed = 0;
    if (!e) {
        failed = 1;
    } else {
        got = jsonata_evaluate(e, input, bindings, err, sizeof err, &failed);
    }
    const char *code = t->want && t->want[0] == '!' ? t->want + 1 : NULL;
    if (code) {
        if (!failed || strncmp(err, code, strlen(code)) != 0) {
            char *g = failed ? strdup(err) : dump(got);
            if (asprintf(&msg, "%s\n    want error %s, got %s", t->expr, code, g) < 0)
                msg = NULL;
            free(g);
        }
    } else if (failed) {
        if (asprintf(&msg, "%s\n    failed: %s", t->expr, err) < 0)
            msg = NULL;
    } else {
        json_t *want = t->want ? parse_json(t->want) : NULL;
        int ok = want ? got && same_json(got, want) : got == NULL;
        if (!ok) {
            char *g = dump(got);
            if (asprintf(&msg, "%s\n    want %s\n    got  %s", t->expr,
                         t->want ? t->want : "(undefined)", g) < 0)
                msg = NULL;
            free(g);
        }
        json_decref(want);
    }
    json_decref(got);
    json_decref(input);
    jsonata_free(e);
    return msg;
}

static void run_table(const jcase *cases, size_t n, const char *bindings_json)
{
    json_t *bindings = bindings_json ? parse_json(bindings_json) : NULL;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char *msg = run_case(&cases[i], bindings);
        if (msg) {
            print_message("  case %zu: %s\n", i, msg);
            free(msg);
            failures++;
        }
    }
    json_decref(bindings);
    if (failures)
        fail_msg("%d of %zu cases differ", failures, n);
}

#define RUN(cases) run_table(cases, sizeof cases / sizeof cases[0], NULL)

/* ---------------------------------------------------------------- simple queries */

static void test_simple_queries_on_the_address_sample(void **state)
{
    static const jcase cases[] = {
        {ADDRESS, "Surname", "\"Smith\""},
        {ADDRESS, "Age", "28"},
        {ADDRESS, "Address.City", "\"Winchester\""},
        {ADDRESS, "Other.Misc", "null"},
        {ADDRESS, "Other.Nothing", NULL},
        {ADDRESS, "Other.`Over 18 ?`", "true"},
        {ADDRESS, "Other.`Alternative.Address`.City", "\"London\""},
        {ADDRESS, "Phone[0]", "{\"type\":\"home\",\"number\":\"0203 544 1234\"}"},
        {ADDRESS, "Phone[1]", "{\"type\":\"office\",\"number\":\"01962 001234\"}"},
        {ADDRESS, "Phone[-1]", "{\"type\":\"mobile\",\"number\":\"077 7700 1234\"}"},
        {ADDRESS, "Phone[-2]", "{\"type\":\"office\",\"number\":\"01962 001235\"}"},
        {ADDRESS, "Phone[8]", NULL},
        {ADDRESS, "Phone[0].number", "\"0203 544 1234\""},
        {ADDRESS, "Phone.number",
         "[\"0203 544 1234\",\"01962 001234\",\"01962 001235\",\"077 7700 1234\"]"},
        {ADDRESS, "Phone.number[0]",
         "[\"0203 544 1234\",\"01962 001234\",\"01962 001235\",\"077 7700 1234\"]"},
        {ADDRESS, "(Phone.number)[0]", "\"0203 544 1234\""},
        {ADDRESS, "Phone[[0..1]].number", "[\"0203 544 1234\",\"01962 001234\"]"},
        {ADDRESS, "Phone[[0,3]].type", "[\"home\",\"mobile\"]"},
        {ADDRESS, "Phone[0.7].type", "\"home\""},
        {NESTED, "$[0]", "{\"ref\":[1,2]}"},
        {NESTED, "$[0].ref", "[1,2]"},
        {NESTED, "$[0].ref[0]", "1"},
        {NESTED, "$.ref", "[1,2,3,4]"},
        {NESTED, "ref", "[1,2,3,4]"},
        {NESTED, "$", NESTED},
        {ADDRESS, "Phone[type='mobile']", "{\"type\":\"mobile\",\"number\":\"077 7700 1234\"}"},
        {ADDRESS, "Phone[type='mobile'].number", "\"077 7700 1234\""},
        {ADDRESS, "Phone[type='office'].number", "[\"01962 001234\",\"01962 001235\"]"},
        {ADDRESS, "Phone[type='fax'].number", NULL},
        {ADDRESS, "Address.*", "[\"Hursley Park\",\"Winchester\",\"SO21 2JN\"]"},
        {ADDRESS, "*.Postcode", "\"SO21 2JN\""},
        {ADDRESS, "**.Postcode", "[\"SO21 2JN\",\"E1 6RF\"]"},
        {ADDRESS, "Email.address",
         "[\"fred.smith@my-work.com\",\"fsmith@my-work.com\",\"freddy@my-social.com\","
         "\"frederic.smith@very-serious.com\"]"},
        {ADDRESS, "Email[type='home'].address[1]", "\"frederic.smith@very-serious.com\""},
        {ADDRESS, "Email.address[0]", "[\"fred.smith@my-work.com\",\"freddy@my-social.com\"]"},
        {ADDRESS, "$.Address.City", "\"Winchester\""},
        {ADDRESS, "$$.Address.City", "\"Winchester\""},
        {ADDRESS, "Address.$$.Surname", "\"Smith\""},
        {ADDRESS, "Address.City.$", "\"Winchester\""},
        {ADDRESS, "\"Address\".\"City\"", "\"Winchester\""},
        {ADDRESS, "Address.'Street'", "\"Hursley Park\""},
        {ADDRESS, "Nothing.Here", NULL},
        {"{\"a\":{\"b\":{\"c\":{\"d\":42}}}}", "a.b.c.d", "42"},
        {"{\"a\":[{\"b\":[{\"c\":1},{\"c\":2}]},{\"b\":{\"c\":3}}]}", "a.b.c", "[1,2,3]"},
        {"{\"a\":[[1,2],[3,4]]}", "a", "[[1,2],[3,4]]"},
        {"{\"a\":[[1,2],[3,4]]}", "a[0]", "[1,2]"},
        {"{\"a\":[[1,2],[3,4]]}", "a.$", "[1,2,3,4]"},
        {"{\"a\":[1]}", "a", "[1]"},
        {"{\"a\":1}", "a[0]", "1"},
        {"{\"a\":1}", "a[1]", NULL},
        {"{\"a\":1}", "a[-1]", "1"},
        {"[1,2,3]", "$[1]", "2"},
        {"[1,2,3]", "$[-1]", "3"},
        {"42", "$", "42"},
        {"\"text\"", "$", "\"text\""},
        {NULL, "$", NULL},
        {NULL, "a.b", NULL},
        {"{\"a-b\":{\"c d\":1}}", "`a-b`.`c d`", "1"},
    };
    RUN(cases);
}

static void test_singleton_arrays_and_keep_array(void **state)
{
    static const jcase cases[] = {
        {ADDRESS, "Address.City[]", "[\"Winchester\"]"},
        {ADDRESS, "Phone[type='home'].number[]", "[\"0203 544 1234\"]"},
        {ADDRESS, "Phone[type='office'].number[]", "[\"01962 001234\",\"01962 001235\"]"},
        {ADDRESS, "Phone[type='fax'].number[]", NULL},
        {ADDRESS, "Phone[].type", "[\"home\",\"office\",\"office\",\"mobile\"]"},
        {"{\"a\":[{\"b\":1}]}", "a.b", "1"},
        {"{\"a\":[{\"b\":1}]}", "a.b[]", "[1]"},
        {"{\"a\":[{\"b\":1}]}", "a[].b", "[1]"},
        {"{\"a\":{\"b\":[1]}}", "a.b", "[1]"},
        {"{\"a\":{\"b\":[1]}}", "a.b[0]", "1"},
        {NULL, "[1]", "[1]"},
        {NULL, "[[1]]", "[[1]]"},
        {NULL, "[1,[2,3],[[4]]]", "[1,[2,3],[[4]]]"},
        {NULL, "[1,2,3][0]", "1"},
        {NULL, "[1,2,3][-1]", "3"},
        {NULL, "[[1,2],[3,4]][1]", "[3,4]"},
        {NULL, "[[1,2],[3,4]][1][0]", "3"},
        {"{\"a\":[1,2,3]}", "[a]", "[1,2,3]"},
        {"{\"a\":[1,2,3]}", "[a, 4]", "[1,2,3,4]"},
        {"{\"a\":[1,2,3]}", "[[a], 4]", "[[1,2,3],4]"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- predicates and paths */

static void test_predicates_wildcards_and_navigation(void **state)
{
    static const jcase cases[] = {
        {ADDRESS, "Phone[type='office'][1].number", "\"01962 001235\""},
        {ADDRESS, "Phone[type!='office'].type", "[\"home\",\"mobile\"]"},
        {ADDRESS, "Phone[number ~> /^077/].type", "\"mobile\""},
        {ADDRESS, "Phone[$contains(number, /^077/)].type", "\"mobile\""},
        {ADDRESS, "Email[type in ['work','home']].type", "[\"work\",\"home\"]"},
        {ADDRESS, "Email.address[$contains($, 'smith')]",
         "[\"fred.smith@my-work.com\",\"fsmith@my-work.com\",\"frederic.smith@very-serious.com\"]"},
        {ADDRESS, "Phone[type='office' and $contains(number, '5')].number", "\"01962 001235\""},
        {ADDRESS, "Phone[type='home' or type='mobile'].number",
         "[\"0203 544 1234\",\"077 7700 1234\"]"},
        {ADDRESS, "Phone[true].type", "[\"home\",\"office\",\"office\",\"mobile\"]"},
        {ADDRESS, "Phone[false].type", NULL},
        {ADDRESS, "Phone[[1,2]].number", "[\"01962 001234\",\"01962 001235\"]"},
        {ADDRESS, "Phone[[-1,-2]].type", "[\"office\",\"mobile\"]"},
        {ADDRESS, "Other.*.City", "\"London\""},
        {ADDRESS, "*[type='home'].number", "\"0203 544 1234\""},
        {ADDRESS, "$count(**)", "35"},
        {ADDRESS, "**[type='home'].number", "\"0203 544 1234\""},
        {ADDRESS, "Phone.type[$='office']", "[\"office\",\"office\"]"},
        {"{\"a\":{\"x\":[1,[2,3]],\"y\":4}}", "a.*", "[1,2,3,4]"},
        {"{\"a\":[{\"b\":1},{\"b\":2},{\"b\":3}]}", "a[b>1].b", "[2,3]"},
        {"{\"a\":[{\"b\":1},{\"b\":2},{\"b\":3}]}", "a[b>1][0].b", "2"},
        {"{\"a\":[{\"b\":1},{\"b\":2},{\"b\":3}]}", "a[0,2]", "!S0202"},
        {"{\"a\":[3,1,2]}", "a[$ > 1]", "[3,2]"},
        {"{\"a\":[3,1,2]}", "a[$ = 1]", "1"},
        {"{\"a\":[1,2,3,4,5,6]}", "a[$ % 2 = 0]", "[2,4,6]"},
        {"{\"a\":[1,2,3,4,5,6]}", "a[[1..3]]", "[2,3,4]"},
        {LIBRARY, "library.books[price > 30].title",
         "[\"Structure and Interpretation of Computer Programs\",\"The C Programming Language\"]"},
        {LIBRARY, "library.books['Kernighan' in authors].title",
         "[\"The C Programming Language\",\"The AWK Programming Language\"]"},
        {LIBRARY, "library.books[copies > 1].isbn", "[\"9780262510875\",\"9780131103627\"]"},
        {LIBRARY, "library.books[$not($exists(price))].title", "\"The AWK Programming Language\""},
        {LIBRARY, "library.customers[address.city='Winchester'].name",
         "[\"Joe Doe\",\"Fred Bloggs\"]"},
        {LIBRARY, "library.books.authors[0]", "[\"Abelson\",\"Kernighan\",\"Aho\",\"Aho\"]"},
        {LIBRARY, "(library.books.authors)[-1]", "\"Ullman\""},
        {LIBRARY, "$distinct(library.books.authors)",
         "[\"Abelson\",\"Sussman\",\"Kernighan\",\"Richie\",\"Aho\",\"Weinberger\",\"Lam\","
         "\"Sethi\",\"Ullman\"]"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- expressions */

static void test_operators_as_the_expressions_page_shows(void **state)
{
    static const jcase cases[] = {
        {NULL, "1 + 2", "3"},
        {NULL, "5 - 1", "4"},
        {NULL, "-3", "-3"},
        {NULL, "- -3", "3"},
        {NULL, "3 * 4", "12"},
        {NULL, "12 / 4", "3"},
        {NULL, "7 / 2", "3.5"},
        {NULL, "12 % 5", "2"},
        {NULL, "-7 % 3", "-1"},
        {NULL, "2 + 3 * 4", "14"},
        {NULL, "(2 + 3) * 4", "20"},
        {NULL, "1 - 2 - 3", "-4"},
        {NULL, "0.1 + 0.2", "0.30000000000000004"},
        {NULL, "1e3", "1000"},
        {NULL, "1.5e-3", "0.0015"},
        {NULL, "1 = 1", "true"},
        {NULL, "1 = 2", "false"},
        {NULL, "'Hello' = 'World'", "false"},
        {NULL, "1 != 2", "true"},
        {NULL, "1 < 2", "true"},
        {NULL, "2 <= 2", "true"},
        {NULL, "3 > 2", "true"},
        {NULL, "2 >= 3", "false"},
        {NULL, "'abc' < 'abd'", "true"},
        {NULL, "'b' > 'abc'", "true"},
        {NULL, "[1,2] = [1,2]", "true"},
        {NULL, "{'a':1} = {'a':1}", "true"},
        {NULL, "{'a':1} = {'a':2}", "false"},
        {NULL, "nothing = 1", "false"},
        {NULL, "nothing != 1", "false"},
        {NULL, "nothing < 1", NULL},
        {NULL, "1 + nothing", NULL},
        {NULL, "null = null", "true"},
        {NULL, "true and false", "false"},
        {NULL, "true or false", "true"},
        {NULL, "nothing or true", "true"},
        {NULL, "nothing and true", "false"},
        {NULL, "1 and 'a'", "true"},
        {NULL, "0 or ''", "false"},
        {NULL, "'Hello' & ' ' & 'World'", "\"Hello World\""},
        {NULL, "5 & 0 & true", "\"50true\""},
        {NULL, "'a' & nothing & 'b'", "\"ab\""},
        {NULL, "'x' & [1,2] & {'a':null}", "\"x[1,2]{\\\"a\\\":null}\""},
        {NULL, "'v' & 1/3", "\"v0.333333333333333\""},
        {ADDRESS, "FirstName & ' ' & Surname", "\"Fred Smith\""},
        {ADDRESS, "Address.(Street & ', ' & City)", "\"Hursley Park, Winchester\""},
        {ADDRESS, "'01962 001234' in Phone.number", "true"},
        {ADDRESS, "'01962 999999' in Phone.number", "false"},
        {NULL, "3 in [1,2,3]", "true"},
        {NULL, "3 in 3", "true"},
        {NULL, "[1,2] in [[1,2]]", "false"},
        {NULL, "[1..5]", "[1,2,3,4,5]"},
        {NULL, "[1..3, 7..9]", "[1,2,3,7,8,9]"},
        {NULL, "[5..1]", "[]"},
        {NULL, "[1..5].($ * $)", "[1,4,9,16,25]"},
        {NULL, "[-2..2]", "[-2,-1,0,1,2]"},
        {"{\"Items\":[\"a\",\"b\",\"c\"]}", "[1..$count(Items)].('Item ' & $)",
         "[\"Item 1\",\"Item 2\",\"Item 3\"]"},
        {NULL, "true ? 'yes' : 'no'", "\"yes\""},
        {NULL, "false ? 'yes' : 'no'", "\"no\""},
        {NULL, "false ? 'yes'", NULL},
        {NULL, "0 ? 1 : 2 ? 3 : 4", "3"},
        {"{\"Price\":30}", "Price < 50 ? 'Cheap' : 'Expensive'", "\"Cheap\""},
        {"{\"Price\":80}", "Price < 50 ? 'Cheap' : Price < 100 ? 'Moderate' : 'Expensive'",
         "\"Moderate\""},
        {NULL, "nothing ?? 'default'", "\"default\""},
        {NULL, "0 ?? 'default'", "0"},
        {NULL, "0 ?: 'default'", "\"default\""},
        {NULL, "'set' ?: 'default'", "\"set\""},
        {NULL, "/* a comment */ 1 + /* another */ 2", "3"},
        {NULL, "\"\\u00e9\\t\\\"q\\\"\"", "\"\\u00e9\\t\\\"q\\\"\""},
        {NULL, "'it''s'", "!S0201"},
        {NULL, "\"\\ud83d\\ude00\"", "\"\\ud83d\\ude00\""},
    };
    RUN(cases);
}

static void test_blocks_variables_and_context(void **state)
{
    static const jcase cases[] = {
        {NULL, "($a := 5; $b := 6; $a * $b)", "30"},
        {NULL, "($a := 5; ($a := 7); $a)", "5"},
        {NULL, "($a := 5; ($a := 7; $a))", "7"},
        {NULL, "$a := 3", "3"},
        {NULL, "()", NULL},
        {NULL, "(1; 2; 3)", "3"},
        {ADDRESS, "($city := Address.City; Phone.{'city': $city, 'no': number})[0]",
         "{\"city\":\"Winchester\",\"no\":\"0203 544 1234\"}"},
        {ADDRESS, "Address.($street := Street; $street & '!')", "\"Hursley Park!\""},
        {ADDRESS, "Phone.($$.FirstName)", "[\"Fred\",\"Fred\",\"Fred\",\"Fred\"]"},
        {NULL, "$undefinedVariable", NULL},
        {"{\"a\":1}", "[$, $$]", "[{\"a\":1},{\"a\":1}]"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- constructors, grouping */

static void test_object_and_array_constructors_and_grouping(void **state)
{
    static const jcase cases[] = {
        {NULL, "{}", "{}"},
        {NULL, "{'a': 1, 'b': [1,2]}", "{\"a\":1,\"b\":[1,2]}"},
        {NULL, "{'a': nothing}", "{}"},
        {NULL, "{'a': 1}.a", "1"},
        {NULL, "{'a':1, 'a':2}", "!D1009"},
        {ADDRESS, "Phone.{type: number}",
         "[{\"home\":\"0203 544 1234\"},{\"office\":\"01962 001234\"},"
         "{\"office\":\"01962 001235\"},{\"mobile\":\"077 7700 1234\"}]"},
        {ADDRESS, "Phone{type: number}",
         "{\"home\":\"0203 544 1234\",\"office\":[\"01962 001234\",\"01962 001235\"],"
         "\"mobile\":\"077 7700 1234\"}"},
        {ADDRESS, "Phone{type: number[]}",
         "{\"home\":[\"0203 544 1234\"],\"office\":[\"01962 001234\",\"01962 001235\"],"
         "\"mobile\":[\"077 7700 1234\"]}"},
        {ADDRESS, "Phone{type: $count(number)}", "{\"home\":1,\"office\":2,\"mobile\":1}"},
        {ADDRESS, "{'name': FirstName & ' ' & Surname, 'mobile': Phone[type='mobile'].number}",
         "{\"name\":\"Fred Smith\",\"mobile\":\"077 7700 1234\"}"},
        {INVOICE, "Account.Order.Product{`Product Name`: Price}",
         "{\"Bowler Hat\":[34.45,34.45],\"Trilby hat\":21.67,\"Cloak\":107.99}"},
        {INVOICE, "Account.Order.Product{`Product Name`: $.(Price * Quantity)}",
         "{\"Bowler Hat\":[68.9,137.8],\"Trilby hat\":21.67,\"Cloak\":107.99}"},
        {INVOICE, "Account.Order.Product{`Product Name`: $sum($.(Price * Quantity))}",
         "{\"Bowler Hat\":206.70000000000002,\"Trilby hat\":21.67,\"Cloak\":107.99}"},
        {INVOICE, "Account.Order.Product{`Product Name`: {'SKU': SKU, 'Qty': $sum(Quantity)}}",
         "{\"Bowler Hat\":{\"SKU\":[\"0406654608\",\"040657863\"],\"Qty\":6},"
         "\"Trilby hat\":{\"SKU\":\"0406634348\",\"Qty\":1},"
         "\"Cloak\":{\"SKU\":\"0406654603\",\"Qty\":1}}"},
        {INVOICE, "Account.Order{OrderID: $sum(Product.(Price * Quantity))}",
         "{\"order103\":90.57000000000001,\"order104\":245.79000000000002}"},
        {INVOICE, "Account.Order.(OrderID & ': ' & $sum(Product.(Price*Quantity)))",
         "[\"order103: 90.57\",\"order104: 245.79\"]"},
        {INVOICE, "Account.Order.Product.{'Product': `Product Name`, 'Order': %.OrderID}",
         "[{\"Product\":\"Bowler Hat\",\"Order\":\"order103\"},"
         "{\"Product\":\"Trilby hat\",\"Order\":\"order103\"},"
         "{\"Product\":\"Bowler Hat\",\"Order\":\"order104\"},"
         "{\"Product\":\"Cloak\",\"Order\":\"order104\"}]"},
        {INVOICE,
         "Account.Order.Product.{'Product': `Product Name`, 'Account': %.%.`Account Name`}[0]",
         "{\"Product\":\"Bowler Hat\",\"Account\":\"Firefly\"}"},
        {INVOICE, "Account.Order.Product[Price > 100].{'name': `Product Name`, 'order': %.OrderID}",
         "{\"name\":\"Cloak\",\"order\":\"order104\"}"},
        {INVOICE, "Account.Order.Product{$string(Quantity): `Product Name`}",
         "{\"2\":\"Bowler Hat\",\"1\":[\"Trilby hat\",\"Cloak\"],\"4\":\"Bowler Hat\"}"},
        {INVOICE, "Account.Order.Product{Quantity: 1}", "!T1003"},
        {INVOICE, "Account.Order.Product{'a': 1, 'a': 2}", "!D1009"},
        {INVOICE, "Account.Order[0]{'a':1}", "{\"a\":1}"},
        {NULL, "[]{'x': 1}", "{\"x\":1}"},
        {LIBRARY, "library.books.authors.{'author': $, 'book': %.title}[-1]",
         "{\"author\":\"Ullman\",\"book\":\"Compilers: Principles, Techniques, and Tools\"}"},
        {LIBRARY, "library.books.{'t': title, 'n': %.customers[0].name}[0].n", "\"Joe Doe\""},
    };
    RUN(cases);
}

static void test_sorting_and_positional_binding(void **state)
{
    static const jcase cases[] = {
        {INVOICE, "Account.Order.Product^(Price).`Product Name`",
         "[\"Trilby hat\",\"Bowler Hat\",\"Bowler Hat\",\"Cloak\"]"},
        {INVOICE, "Account.Order.Product^(>Price).`Product Name`",
         "[\"Cloak\",\"Bowler Hat\",\"Bowler Hat\",\"Trilby hat\"]"},
        {INVOICE, "Account.Order.Product^(>Price, <Quantity).SKU",
         "[\"0406654603\",\"0406654608\",\"040657863\",\"0406634348\"]"},
        {INVOICE, "Account.Order.Product^(>Price, >Quantity).SKU",
         "[\"0406654603\",\"040657863\",\"0406654608\",\"0406634348\"]"},
        {INVOICE, "Account.Order.Product^(Description.Weight)[0].`Product Name`", "\"Trilby hat\""},
        {INVOICE, "(Account.Order.Product^(Price))[0].Price", "21.67"},
        {INVOICE, "Account.Order.Product^(`Product Name`).`Product Name`",
         "[\"Bowler Hat\",\"Bowler Hat\",\"Cloak\",\"Trilby hat\"]"},
        {NULL, "[3,1,2]^($)", "[1,2,3]"},
        {NULL, "[3,1,2]^(>$)", "[3,2,1]"},
        {NULL, "['b','a','c']^($)", "[\"a\",\"b\",\"c\"]"},
        {"[{\"a\":2},{\"b\":1},{\"a\":1}]", "$^(a)", "[{\"a\":1},{\"a\":2},{\"b\":1}]"},
        {"[{\"a\":2},{\"a\":\"x\"}]", "$^(a)", "!T2007"},
        {"[{\"a\":2},{\"a\":[1]}]", "$^(a)", "!T2008"},
        {LIBRARY, "library.books#$i['Kernighan' in authors].{'title': title, 'index': $i}",
         "[{\"title\":\"The C Programming Language\",\"index\":1},"
         "{\"title\":\"The AWK Programming Language\",\"index\":2}]"},
        {LIBRARY, "library.books^(price)#$i.{'rank': $i, 'title': title}[0]",
         "{\"rank\":0,\"title\":\"Compilers: Principles, Techniques, and Tools\"}"},
        {LIBRARY, "library.books[copies=1]#$i.title[$i=1]",
         "\"Compilers: Principles, Techniques, and Tools\""},
        {LIBRARY,
         "library.loans@$l.books@$b[$l.isbn=$b.isbn].{'title': $b.title, 'customer': $l.customer}",
         "[{\"title\":\"Structure and Interpretation of Computer "
         "Programs\",\"customer\":\"10001\"},"
         "{\"title\":\"Compilers: Principles, Techniques, and Tools\",\"customer\":\"10003\"},"
         "{\"title\":\"Structure and Interpretation of Computer "
         "Programs\",\"customer\":\"10003\"}]"},
        {LIBRARY,
         "library.loans@$L.books@$B[$L.isbn=$B.isbn].customers[$L.customer=id]"
         ".{'customer': name, 'book': $B.title, 'due': $L.return}[1]",
         "{\"customer\":\"Jason Arthur\",\"book\":\"Compilers: Principles, Techniques, and "
         "Tools\",\"due\":\"2016-10-22\"}"},
        {LIBRARY, "library.(loans)@$l.books@$b[$l.isbn=$b.isbn]{$l.customer: $count($b)}",
         "{\"10001\":1,\"10003\":2}"},
        {ADDRESS, "Phone#$i[$i > 1].number", "[\"01962 001235\",\"077 7700 1234\"]"},
        {ADDRESS, "Phone#$i.{'n': $i}[-1]", "{\"n\":3}"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- string functions */

static void test_string_functions(void **state)
{
    static const jcase cases[] = {
        {NULL, "$string(5)", "\"5\""},
        {NULL, "[1..5].$string()", "[\"1\",\"2\",\"3\",\"4\",\"5\"]"},
        {NULL, "$string('x')", "\"x\""},
        {NULL, "$string(true)", "\"true\""},
        {NULL, "$string(null)", "\"null\""},
        {NULL, "$string({'a': [1, 'b']})", "\"{\\\"a\\\":[1,\\\"b\\\"]}\""},
        {NULL, "$string({'a': [1]}, true)", "\"{\\n  \\\"a\\\": [\\n    1\\n  ]\\n}\""},
        {NULL, "$string(1e21)", "\"1e+21\""},
        {NULL, "$string(1/3)", "\"0.333333333333333\""},
        {NULL, "$string(0.1 + 0.2)", "\"0.3\""},
        {NULL, "$string(function(){1})", "\"\""},
        {NULL, "$string(nothing)", NULL},
        {NULL, "$length('Hello World')", "11"},
        {NULL, "$length('h\u00e9llo')", "5"},
        {NULL, "$length('')", "0"},
        {NULL, "$substring('Hello World', 3)", "\"lo World\""},
        {NULL, "$substring('Hello World', 3, 5)", "\"lo Wo\""},
        {NULL, "$substring('Hello World', -4)", "\"orld\""},
        {NULL, "$substring('Hello World', -4, 2)", "\"or\""},
        {NULL, "$substring('Hello World', 20)", "\"\""},
        {NULL, "$substring('Hello World', 2, 0)", "\"\""},
        {NULL, "$substring('h\u00e9llo', 1, 2)", "\"\u00e9l\""},
        {NULL, "$substringBefore('Hello World', ' ')", "\"Hello\""},
        {NULL, "$substringBefore('Hello World', 'x')", "\"Hello World\""},
        {NULL, "$substringAfter('Hello World', ' ')", "\"World\""},
        {NULL, "$substringAfter('Hello World', 'x')", "\"Hello World\""},
        {NULL, "$uppercase('Hello World')", "\"HELLO WORLD\""},
        {NULL, "$lowercase('Hello World')", "\"hello world\""},
        {NULL, "$uppercase('stra\u00dfe \u00e9t\u00e9')", "\"STRASSE \u00c9T\u00c9\""},
        {NULL, "$trim('   Hello  \n World   ')", "\"Hello World\""},
        {NULL, "$pad('foo', 5)", "\"foo  \""},
        {NULL, "$pad('foo', -5)", "\"  foo\""},
        {NULL, "$pad('foo', -5, '#')", "\"##foo\""},
        {NULL, "$pad('foo', 8, '-+')", "\"foo-+-+-\""},
        {NULL, "$pad('foo', 2)", "\"foo\""},
        {NULL, "$formatBase(35, 2) ~> $pad(-8, '0')", "\"00100011\""},
        {NULL, "$contains('abracadabra', 'bra')", "true"},
        {NULL, "$contains('abracadabra', 'xyz')", "false"},
        {NULL, "$contains('abracadabra', /a.*a/)", "true"},
        {NULL, "$contains('abracadabra', /ar.*a/)", "false"},
        {NULL, "$contains('Hello World', /wo/)", "false"},
        {NULL, "$contains('Hello World', /wo/i)", "true"},
        {NULL, "$split('so many words', ' ')", "[\"so\",\"many\",\"words\"]"},
        {NULL, "$split('so many words', ' ', 2)", "[\"so\",\"many\"]"},
        {NULL, "$split('so many words', '')",
         "[\"s\",\"o\",\" \",\"m\",\"a\",\"n\",\"y\",\" \",\"w\",\"o\",\"r\",\"d\",\"s\"]"},
        {NULL, "$split('a,b,,c', ',')", "[\"a\",\"b\",\"\",\"c\"]"},
        {NULL, "$split('too much, punctuation. hard; to read', /[ ,.;]+/)",
         "[\"too\",\"much\",\"punctuation\",\"hard\",\"to\",\"read\"]"},
        {NULL, "$split('too much, punctuation. hard; to read', /[ ,.;]+/, 3) ~> $join(', ')",
         "\"too, much, punctuation\""},
        {NULL, "$join(['a','b','c'])", "\"abc\""},
        {NULL, "$join(['a','b','c'], ', ')", "\"a, b, c\""},
        {NULL, "$join('a', '-')", "\"a\""},
        {NULL, "$join([], '-')", "\"\""},
        {NULL, "$replace('John Smith and John Jones', 'John', 'Mr')", "\"Mr Smith and Mr Jones\""},
        {NULL, "$replace('John Smith and John Jones', 'John', 'Mr', 1)",
         "\"Mr Smith and John Jones\""},
        {NULL, "$replace('abracadabra', /a.*?a/, '*')", "\"*c*bra\""},
        {NULL, "$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')", "\"Smith, John\""},
        {NULL, "$replace('265USD', /([0-9]+)USD/, '$$$1')", "\"$265\""},
        {NULL, "$replace('abc', /b/, '[$0]')", "\"a[b]c\""},
        {NULL, "$replace('abc', /(b)/, '$2')", "\"ac\""},
        {NULL,
         "$replace('temperature = 68F today', /(\\d+)F/, function($m) "
         "{ $formatNumber(($number($m.groups[0]) - 32) * 5/9, '#0.0') & 'C' })",
         "\"temperature = 20.0C today\""},
        {NULL, "$replace('abc', 'x', 'y')", "\"abc\""},
        {NULL, "$base64encode('myuser:mypass')", "\"bXl1c2VyOm15cGFzcw==\""},
        {NULL, "$base64decode('bXl1c2VyOm15cGFzcw==')", "\"myuser:mypass\""},
        {NULL, "$base64encode('\u00e9')", "\"w6k=\""},
        {NULL, "$base64decode('w6k=')", "\"\u00e9\""},
        {NULL, "$encodeUrlComponent('?x=test')", "\"%3Fx%3Dtest\""},
        {NULL, "$encodeUrl('https://mozilla.org/?x=\u0448\u0435\u043b\u043b\u044b')",
         "\"https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B\""},
        {NULL, "$decodeUrlComponent('%3Fx%3Dtest')", "\"?x=test\""},
        {NULL, "$decodeUrl('https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B')",
         "\"https://mozilla.org/?x=\u0448\u0435\u043b\u043b\u044b\""},
        {NULL, "$decodeUrl('a%3Fb')", "\"a%3Fb\""},
        {NULL, "$decodeUrlComponent('%E0%A4%A')", "!D3140"},
        {NULL, "$eval('[1,2,3]')", "[1,2,3]"},
        {NULL, "$eval('[1,$string(2),3]')", "[1,\"2\",3]"},
        {"{\"a\":5}", "$eval('a * 2')", "10"},
        {NULL, "$eval('{\"x\": 1}', {}).x", "1"},
        {NULL, "$eval('1 +')", "!D3120"},
        {NULL, "$eval('1 + \"a\"')", "!D3121"},
        {ADDRESS, "$uppercase(Surname)", "\"SMITH\""},
        {ADDRESS, "Surname.$uppercase()", "\"SMITH\""},
        {ADDRESS, "Phone.number.$substringBefore(' ')", "[\"0203\",\"01962\",\"01962\",\"077\"]"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- numeric, aggregation */

static void test_numeric_and_aggregation_functions(void **state)
{
    static const jcase cases[] = {
        {NULL, "$number('5')", "5"},
        {NULL, "['1','2','3','4','5'].$number()", "[1,2,3,4,5]"},
        {NULL, "$number('-1.5e2')", "-150"},
        {NULL, "$number(true)", "1"},
        {NULL, "$number(false)", "0"},
        {NULL, "$number('0x12')", "18"},
        {NULL, "$number('0b101')", "5"},
        {NULL, "$number('12a')", "!D3030"},
        {NULL, "$number(' 1')", "!D3030"},
        {NULL, "$number(null)", "!T0410"},
        {NULL, "$abs(5)", "5"},
        {NULL, "$abs(-5)", "5"},
        {NULL, "$floor(5)", "5"},
        {NULL, "$floor(5.3)", "5"},
        {NULL, "$floor(5.8)", "5"},
        {NULL, "$floor(-5.3)", "-6"},
        {NULL, "$ceil(5)", "5"},
        {NULL, "$ceil(5.3)", "6"},
        {NULL, "$ceil(5.8)", "6"},
        {NULL, "$ceil(-5.3)", "-5"},
        {NULL, "$round(123.456)", "123"},
        {NULL, "$round(123.456, 2)", "123.46"},
        {NULL, "$round(123.456, -1)", "120"},
        {NULL, "$round(123.456, -2)", "100"},
        {NULL, "$round(11.5)", "12"},
        {NULL, "$round(12.5)", "12"},
        {NULL, "$round(125, -1)", "120"},
        {NULL, "$round(-0.5)", "0"},
        {NULL, "$round(2.675, 2)", "2.68"},
        {NULL, "$power(2, 8)", "256"},
        {NULL, "$power(2, 0.5)", "1.4142135623730951"},
        {NULL, "$power(2, -2)", "0.25"},
        {NULL, "$power(10, 400)", "!D3061"},
        {NULL, "$sqrt(4)", "2"},
        {NULL, "$sqrt(2)", "1.4142135623730951"},
        {NULL, "$sqrt(-1)", "!D3060"},
        {NULL, "$random() < 1 and $random() >= 0", "true"},
        {NULL, "$formatNumber(12345.6, '#,###.00')", "\"12,345.60\""},
        {NULL, "$formatNumber(1234.5678, '00.000e0')", "\"12.346e2\""},
        {NULL, "$formatNumber(34.555, '#0.00;(#0.00)')", "\"34.56\""},
        {NULL, "$formatNumber(-34.555, '#0.00;(#0.00)')", "\"(34.56)\""},
        {NULL, "$formatNumber(0.14, '01%')", "\"14%\""},
        {NULL, "$formatNumber(0.14, '###pm', {'per-mille': 'pm'})", "\"140pm\""},
        {NULL,
         "$formatNumber(1234.5678, '\u2460\u2460.\u2460\u2460\u2460e\u2460', "
         "{'zero-digit': '\u245f'})",
         "\"\u2460\u2461.\u2462\u2463\u2465e\u2461\""},
        {NULL, "$formatNumber(-6, '000')", "\"-006\""},
        {NULL, "$formatNumber(1234567.891, '#,##0.00')", "\"1,234,567.89\""},
        {NULL, "$formatNumber(0.5, '#')", "\"0\""},
        {NULL, "$formatNumber(1.5, '#')", "\"2\""},
        {NULL, "$formatNumber(1, '#.#.#')", "!D3081"},
        {NULL, "$formatNumber(1, '#;#;#')", "!D3080"},
        {NULL, "$formatBase(100, 2)", "\"1100100\""},
        {NULL, "$formatBase(2555, 16)", "\"9fb\""},
        {NULL, "$formatBase(-255, 16)", "\"-ff\""},
        {NULL, "$formatBase(10, 1)", "!D3100"},
        {NULL, "$formatInteger(2789, 'w')", "\"two thousand, seven hundred and eighty-nine\""},
        {NULL, "$formatInteger(2789, 'W')", "\"TWO THOUSAND, SEVEN HUNDRED AND EIGHTY-NINE\""},
        {NULL, "$formatInteger(21, 'Ww')", "\"Twenty-One\""},
        {NULL, "$formatInteger(1999, 'I')", "\"MCMXCIX\""},
        {NULL, "$formatInteger(14, 'i')", "\"xiv\""},
        {NULL, "$formatInteger(28, 'A')", "\"AB\""},
        {NULL, "$formatInteger(42, '0000')", "\"0042\""},
        {NULL, "$formatInteger(12345678, '#,##0')", "\"12,345,678\""},
        {NULL, "$formatInteger(3, '1;o')", "\"3rd\""},
        {NULL, "$formatInteger(12, 'w;o')", "\"twelfth\""},
        {NULL, "$parseInteger('twelve thousand, four hundred and seventy-six', 'w')", "12476"},
        {NULL, "$parseInteger('12,345,678', '#,##0')", "12345678"},
        {NULL, "$parseInteger('MCMLXXXIV', 'I')", "1984"},
        {NULL, "$parseInteger('AB', 'A')", "28"},
        {NULL, "$sum([5,1,3,7,4])", "20"},
        {NULL, "$sum([])", "0"},
        {NULL, "$sum(nothing)", NULL},
        {NULL, "$sum(5)", "5"},
        {NULL, "$sum(['a'])", "!T0412"},
        {INVOICE, "$sum(Account.Order.Product.(Price * Quantity))", "336.36"},
        {INVOICE, "$sum(Account.Order.Product.Quantity)", "8"},
        {NULL, "$max([5,1,3,7,4])", "7"},
        {NULL, "$max([])", NULL},
        {NULL, "$min([5,1,3,7,4])", "1"},
        {NULL, "$average([5,1,3,7,4])", "4"},
        {INVOICE, "$average(Account.Order.Product.Price)", "49.64"},
        {INVOICE, "$max(Account.Order.Product.Price)", "107.99"},
        {NULL, "$count([1,2,3,1])", "4"},
        {NULL, "$count('hello')", "1"},
        {NULL, "$count([])", "0"},
        {NULL, "$count(nothing)", "0"},
        {INVOICE, "$count(Account.Order.Product)", "4"},
        {INVOICE, "$count(Account.Order.Product[Price > 30])", "3"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- booleans, arrays, objects */

static void test_boolean_array_and_object_functions(void **state)
{
    static const jcase cases[] = {
        {NULL, "$boolean('')", "false"},
        {NULL, "$boolean('0')", "true"},
        {NULL, "$boolean(0)", "false"},
        {NULL, "$boolean(-1)", "true"},
        {NULL, "$boolean(null)", "false"},
        {NULL, "$boolean([])", "false"},
        {NULL, "$boolean([0])", "false"},
        {NULL, "$boolean([0, 1])", "true"},
        {NULL, "$boolean([[]])", "false"},
        {NULL, "$boolean({})", "false"},
        {NULL, "$boolean({'a': 0})", "true"},
        {NULL, "$boolean(function(){1})", "false"},
        {NULL, "$boolean(nothing)", NULL},
        {NULL, "$not(true)", "false"},
        {NULL, "$not('')", "true"},
        {NULL, "$not(nothing)", NULL},
        {ADDRESS, "$exists(Surname)", "true"},
        {ADDRESS, "$exists(Nothing)", "false"},
        {ADDRESS, "$exists(Other.Misc)", "true"},
        {NULL, "$append([1,2,3], [4,5,6])", "[1,2,3,4,5,6]"},
        {NULL, "$append([1,2,3], 4)", "[1,2,3,4]"},
        {NULL, "$append('Hello', 'World')", "[\"Hello\",\"World\"]"},
        {NULL, "$append(nothing, [1])", "[1]"},
        {NULL, "$sort([3,1,2])", "[1,2,3]"},
        {NULL, "$sort(['b','c','a'])", "[\"a\",\"b\",\"c\"]"},
        {NULL, "$sort([1,'a'])", "!D3070"},
        {INVOICE,
         "$sort(Account.Order.Product, function($l, $r) "
         "{ $l.Description.Weight > $r.Description.Weight }).`Product Name`",
         "[\"Trilby hat\",\"Bowler Hat\",\"Bowler Hat\",\"Cloak\"]"},
        {NULL, "$sort([3,1,2], function($a, $b) { $a < $b })", "[3,2,1]"},
        {NULL, "$reverse(['Hello', 'World'])", "[\"World\",\"Hello\"]"},
        {NULL, "[1..5] ~> $reverse()", "[5,4,3,2,1]"},
        {NULL, "$count($shuffle([1..10]))", "10"},
        {NULL, "$sum($shuffle([1..10]))", "55"},
        {NULL, "$distinct([1,2,3,3,4,3,5])", "[1,2,3,4,5]"},
        {NULL, "$distinct([{'a':1},{'a':1},[1],[1]])", "[{\"a\":1},[1]]"},
        {INVOICE, "$distinct(Account.Order.Product.Description.Colour)",
         "[\"Purple\",\"Orange\",\"Black\"]"},
        {NULL, "$zip([1,2,3], [4,5,6])", "[[1,4],[2,5],[3,6]]"},
        {NULL, "$zip([1,2,3], [4,5], [7,8,9])", "[[1,4,7],[2,5,8]]"},
        {NULL, "$zip(1, 2)", "[[1,2]]"},
        {ADDRESS, "$keys(Address)", "[\"Street\",\"City\",\"Postcode\"]"},
        {ADDRESS, "$keys(Phone)", "[\"type\",\"number\"]"},
        {NULL, "$keys('a')", NULL},
        {ADDRESS, "$lookup(Address, 'City')", "\"Winchester\""},
        {ADDRESS, "$lookup(Phone, 'type')", "[\"home\",\"office\",\"office\",\"mobile\"]"},
        {NULL, "$spread({'a': 1, 'b': 2})", "[{\"a\":1},{\"b\":2}]"},
        {NULL, "$spread([{'a': 1}, {'b': 2, 'c': 3}])", "[{\"a\":1},{\"b\":2},{\"c\":3}]"},
        {NULL, "$spread('x')", "\"x\""},
        {NULL, "$merge([{'a': 1}, {'b': 2}, {'a': 3}])", "{\"a\":3,\"b\":2}"},
        {NULL, "$merge({'a': 1})", "{\"a\":1}"},
        {ADDRESS, "$each(Address, function($v, $k) { $k & ': ' & $v })",
         "[\"Street: Hursley Park\",\"City: Winchester\",\"Postcode: SO21 2JN\"]"},
        {INVOICE, "Account.Order.Product[0].$sift(function($v, $k) { $k ~> /^Product/ })",
         "[{\"Product Name\":\"Bowler Hat\",\"ProductID\":858383},"
         "{\"Product Name\":\"Bowler Hat\",\"ProductID\":858383}]"},
        {NULL, "$sift({'a': 1, 'b': 2}, function($v) { $v > 5 })", NULL},
        {NULL, "$type('a')", "\"string\""},
        {NULL, "$type(1)", "\"number\""},
        {NULL, "$type(true)", "\"boolean\""},
        {NULL, "$type(null)", "\"null\""},
        {NULL, "$type([])", "\"array\""},
        {NULL, "$type({})", "\"object\""},
        {NULL, "$type($sum)", "\"function\""},
        {NULL, "$type(nothing)", NULL},
        {NULL, "$error('Something went wrong')", "!D3137"},
        {NULL, "$error()", "!D3137"},
        {NULL, "$assert(1 = 1, 'fine')", NULL},
        {NULL, "$assert(1 = 2, 'one is not two')", "!D3141"},
        {NULL, "$clone({'a': [1, {'b': 2}]})", "{\"a\":[1,{\"b\":2}]}"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- higher-order, programs */

static void test_higher_order_functions_and_lambdas(void **state)
{
    static const jcase cases[] = {
        {NULL, "$map([1..5], $string)", "[\"1\",\"2\",\"3\",\"4\",\"5\"]"},
        {NULL, "$map([1,2,3], function($v) { $v * 2 })", "[2,4,6]"},
        {NULL, "$map([1,2,3], function($v, $i) { $v * $i })", "[0,2,6]"},
        {ADDRESS, "$map(Email, function($v, $i, $a) { 'Item ' & ($i+1) & ' of ' & $count($a) })",
         "[\"Item 1 of 2\",\"Item 2 of 2\"]"},
        {NULL, "$map([1,2,3], function($v) { $v > 1 ? $v })", "[2,3]"},
        {NULL, "$map(nothing, $string)", NULL},
        {INVOICE,
         "$filter(Account.Order.Product, function($v, $i, $a) "
         "{ $v.Price > $average($a.Price) }).`Product Name`",
         "\"Cloak\""},
        {NULL, "$filter([1,2,3,4], function($v) { $v % 2 = 0 })", "[2,4]"},
        {NULL, "$single([1,2,3], function($v) { $v = 2 })", "2"},
        {NULL, "$single([1,2,3], function($v) { $v > 1 })", "!D3138"},
        {NULL, "$single([1,2,3], function($v) { $v > 5 })", "!D3139"},
        {NULL, "$reduce([1..5], function($i, $j) { $i * $j })", "120"},
        {NULL, "$reduce([1..5], function($i, $j) { $i + $j }, 100)", "115"},
        {NULL, "$reduce([1,2,3], function($a, $v, $i) { $a + $v * $i }, 0)", "8"},
        {NULL, "$reduce([], function($a, $b) { $a + $b })", NULL},
        {NULL, "$reduce([1,2], $string)", "!D3050"},
        {NULL, "function($x) { $x * 2 }(21)", "42"},
        {NULL, "\xce\xbb($x) { $x + 1 }(1)", "2"},
        {NULL, "($f := function($x, $y) { $x & $y }; $f('a'))", "\"a\""},
        {NULL,
         "($factorial := function($x) { $x <= 1 ? 1 : $x * $factorial($x-1) }; "
         "$factorial(4))",
         "24"},
        {NULL, "($fib := function($n) { $n <= 1 ? $n : $fib($n-1) + $fib($n-2) }; $fib(10))", "55"},
        {NULL,
         "($factorial := function($x){( $iter := function($x, $acc) "
         "{ $x <= 1 ? $acc : $iter($x - 1, $x * $acc) }; $iter($x, 1) )}; $factorial(170))",
         "7.257415615308004e306"},
        {NULL,
         "($count := function($n, $acc) { $n = 0 ? $acc : $count($n - 1, $acc + 1) }; "
         "$count(20000, 0))",
         "20000"},
        {NULL, "($first5 := $substring(?, 0, 5); $first5('Hello, World'))", "\"Hello\""},
        {NULL, "($add := function($a, $b) { $a + $b }; $inc := $add(?, 1); $inc(41))", "42"},
        {NULL, "($f := $pad(?, 5, ?); $f('x', '.'))", "\"x....\""},
        {NULL, "($normalize := $uppercase ~> $trim; $normalize('   Some   Words  '))",
         "\"SOME WORDS\""},
        {NULL, "'hello' ~> $uppercase() ~> $substring(1)", "\"ELLO\""},
        {NULL, "['b','a'] ~> $sort() ~> $join('')", "\"ab\""},
        {NULL,
         "($twice := function($f) { function($x) { $f($f($x)) } }; "
         "$add3 := function($x) { $x + 3 }; $add6 := $twice($add3); $add6(7))",
         "13"},
        {NULL, "($a := 5; $f := function($x) { $x + $a }; $a := 10; $f(1))", "11"},
        {NULL,
         "($make := function($n) { function() { $n } }; $one := $make(1); "
         "$two := $make(2); [$one(), $two()])",
         "[1,2]"},
        {"{\"k\":3}", "($f := function() { k }; {'k': 9}.$f())", "3"},
        {NULL, "function($x) <n:n> { $x * 2 }(4)", "8"},
        {NULL, "function($x) <n:n> { $x * 2 }('a')", "!T0410"},
        {NULL, "function($a) <a<n>:n> { $sum($a) }(5)", "5"},
        {NULL, "function($a) <a<n>:n> { $sum($a) }(['x'])", "!T0412"},
        {NULL, "function($s) <s-:s> { $uppercase($s) }('ab')", "\"AB\""},
        {"\"ctx\"", "function($s) <s-:s> { $uppercase($s) }()", "\"CTX\""},
        {NULL, "$uppercase()", NULL},
        {"5", "$uppercase()", "!T0411"},
        {NULL, "$map([1,2], $uppercase)", "!T0410"},
        {NULL, "$substring('abc', 'x')", "!T0410"},
        {NULL, "$sum(1, 2)", "!T0410"},
        {ADDRESS, "uppercase(Surname)", "!T1005"},
        {NULL, "($f := 5; $f(1))", "!T1006"},
        {NULL, "$nothing(1)", "!T1006"},
        {NULL, "$nothing(?, 1)", "!T1008"},
        {NULL, "1 ~> 2", "!T2006"},
        {NULL, "'x' ~> $length", "1"},
        {NULL, "$sum ~> $string", NULL},
        {NULL, "($s := $sum ~> $string; $s([1,2]))", "\"3\""},
    };
    RUN(cases);
}

static void test_transforms(void **state)
{
    static const jcase cases[] = {
        {INVOICE,
         "($ ~> |Account.Order.Product|{'Price': Price * 2}|).Account.Order.Product.Price ~> "
         "$sum()",
         "397.12"},
        {INVOICE, "$ ~> |Account.Order.Product|{'Price': Price * 2}| ~> $sum(1)", "!T0410"},
        {INVOICE,
         "($ ~> |Account.Order.Product|{}, ['SKU', 'Description']|).Account.Order[0].Product[0]",
         "{\"Product Name\":\"Bowler Hat\",\"ProductID\":858383,\"Price\":34.45,\"Quantity\":2}"},
        {INVOICE,
         "($ ~> |Account.Order.Product|{'Total': Price * Quantity}, 'Price'|)"
         ".Account.Order[1].Product.Total",
         "[137.8,107.99]"},
        {INVOICE, "(| Account | {'Account Name': 'Serenity'} |)($).Account.`Account Name`",
         "\"Serenity\""},
        {INVOICE, "($ ~> | Account.Order.Product | {'x': 1} |; Account.Order[0].Product[0].x)",
         NULL},
        {"{\"a\":{\"b\":1}}", "$ ~> |a|{'c': 2}|", "{\"a\":{\"b\":1,\"c\":2}}"},
        {"{\"a\":{\"b\":1}}", "$ ~> |a|5|", "!T2011"},
        {"{\"a\":{\"b\":1}}", "$ ~> |a|{}, 5|", "!T2012"},
        {"{\"a\":{\"b\":1}}", "$ ~> |nothing|{'c': 2}|", "{\"a\":{\"b\":1}}"},
        {"[{\"a\":1},{\"a\":2}]", "$ ~> |$|{'b': a * 10}|",
         "[{\"a\":1,\"b\":10},{\"a\":2,\"b\":20}]"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- regex */

static void test_regular_expressions(void **state)
{
    static const jcase cases[] = {
        {NULL, "$match('ababbabbcc', /a(b+)/)",
         "[{\"match\":\"ab\",\"index\":0,\"groups\":[\"b\"]},"
         "{\"match\":\"abb\",\"index\":2,\"groups\":[\"bb\"]},"
         "{\"match\":\"abb\",\"index\":5,\"groups\":[\"bb\"]}]"},
        {NULL, "$match('ababbabbcc', /a(b+)/, 1)",
         "{\"match\":\"ab\",\"index\":0,\"groups\":[\"b\"]}"},
        {NULL, "$match('ababbabbcc', /x/)", NULL},
        {NULL, "$match('2018-03-23', /(\\d+)-(\\d+)-(\\d+)/).groups", "[\"2018\",\"03\",\"23\"]"},
        {NULL, "$match('abc', /x*/)", "!D1004"},
        {NULL, "$match('a', /b/, -1)", "!D3040"},
        {NULL, "/ab+c/('xxabbbcyy').match", "\"abbbc\""},
        {NULL, "'hello' ~> /l+/", "{\"match\":\"ll\",\"start\":2,\"end\":4,\"groups\":[]}"},
        {NULL, "$contains('ABC', /^abc$/i)", "true"},
        {NULL, "$contains('ab\ncd', /^cd$/)", "false"},
        {NULL, "$contains('ab\ncd', /^cd$/m)", "true"},
        {NULL, "$replace('aaa', /a/, 'b', 2)", "\"bba\""},
        {NULL, "$replace('a.b.c', /\\./, '-')", "\"a-b-c\""},
        {NULL, "$replace('2020-01-02', /(?<y>\\d{4})-(\\d{2})-(\\d{2})/, '$3/$2/$1')",
         "\"02/01/2020\""},
        {NULL, "$replace('foo bar', /(?=bar)/, '>')", "!D1004"},
        {NULL, "$replace('x1y22z', /\\d+?/, '#')", "\"x#y##z\""},
        {NULL, "$replace('aaa', /a{2}/, 'b')", "\"ba\""},
        {NULL, "$replace('abcabc', /(a)(?!b)/, 'X')", "\"abcabc\""},
        {NULL, "$replace('abab', /(ab)\\1/, 'X')", "\"X\""},
        {NULL, "$split('a1b22c', /\\d+/)", "[\"a\",\"b\",\"c\"]"},
        {NULL, "$split('one  two', /\\s/)", "[\"one\",\"\",\"two\"]"},
        {NULL, "$replace('\u00e9t\u00e9', /\u00e9/, 'e')", "\"ete\""},
        {NULL, "$match('caf\u00e9!', /[^a-z]/).index", "[3,4]"},
        {NULL, "$contains('x', /[/)", "!S0302"},
        {NULL, "$contains('x', /a(/)", "!S0302"},
        {NULL, "$contains('x', /+/)", "!S0303"},
        {NULL, "$contains('x', /a)(/)", "!S0303"},
        {NULL, "$contains('x', //)", "!S0301"},
        {NULL, "$contains('a/b', /a\\/b/)", "true"},
        {NULL, "$contains('tab\there', /\\t/)", "true"},
        {NULL, "$contains('word here', /\\bhere\\b/)", "true"},
        {NULL, "$contains('somewhere', /\\bhere\\b/)", "false"},
        {NULL, "$match('A1 b2', /[a-z]\\d/gi)", "!S0202"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- date and time */

static void test_date_and_time_functions(void **state)
{
    static const jcase cases[] = {
        {NULL, "$fromMillis(1510067557121)", "\"2017-11-07T15:12:37.121Z\""},
        {NULL, "$fromMillis(0)", "\"1970-01-01T00:00:00.000Z\""},
        {NULL, "$fromMillis(-86400000)", "\"1969-12-31T00:00:00.000Z\""},
        {NULL, "$fromMillis(1510067557121, '[M01]/[D01]/[Y0001] [h#1]:[m01][P]')",
         "\"11/07/2017 3:12pm\""},
        {NULL, "$fromMillis(1510067557121, '[H01]:[m01]:[s01] [z]', '-0500')",
         "\"10:12:37 GMT-05:00\""},
        {NULL, "$fromMillis(1510067557121, '[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01][Z]', '+0130')",
         "\"2017-11-07T16:42:37+01:30\""},
        {NULL, "$fromMillis(1521801216617, '[D01]/[M01]/[Y0001]')", "\"23/03/2018\""},
        {NULL, "$fromMillis(1521801216617, '[Y0001]-[M01]-[D01]')", "\"2018-03-23\""},
        {NULL, "$fromMillis(1521801216617, '[D1o] [MNn] [Y]')", "\"23rd March 2018\""},
        {NULL, "$fromMillis(1521801216617, '[FNn], [D1o] [MNn] [Y]')",
         "\"Friday, 23rd March 2018\""},
        {NULL, "$fromMillis(1521801216617, '[FNn,*-3], [D1o] [MNn,*-3] [Y]')",
         "\"Fri, 23rd Mar 2018\""},
        {NULL, "$fromMillis(1521801216617, '[FN] [MN]')", "\"FRIDAY MARCH\""},
        {NULL, "$fromMillis(1521801216617, '[F]')", "\"friday\""},
        {NULL, "$fromMillis(1521801216617, '[H01]:[m01]:[s01].[f001]')", "\"10:33:36.617\""},
        {NULL, "$fromMillis(1521801216617, '[h]:[m01] [P]')", "\"10:33 am\""},
        {NULL, "$fromMillis(1521801216617, '[h]:[m01] [PN]', '+0500')", "\"3:33 PM\""},
        {NULL, "$fromMillis(1521801216617, '[Dwo] [MI] [Y,2]')", "\"twenty-third III 18\""},
        {NULL, "$fromMillis(1521801216617, '[d]')", "\"82\""},
        {NULL, "$fromMillis(1521801216617, '[W]')", "\"12\""},
        {NULL, "$fromMillis(1521801216617, '[[[Y]]]')", "\"[2018]\""},
        {NULL, "$fromMillis(1521801216617, '[Q]')", "!D3132"},
        {NULL, "$fromMillis(1521801216617, '[Y')", "!D3135"},
        {NULL, "$fromMillis(nothing)", NULL},
        {NULL, "$toMillis('2017-11-07T15:07:54.972Z')", "1510067274972"},
        {NULL, "$toMillis('2017-11-07')", "1510012800000"},
        {NULL, "$toMillis('2017-11-07T15:07:54+01:00')", "1510063674000"},
        {NULL, "$toMillis('2018')", "1514764800000"},
        {NULL, "$toMillis('not a date')", "!D3110"},
        {NULL, "$toMillis('2018-03-23', '[Y0001]-[M01]-[D01]')", "1521763200000"},
        {NULL, "$toMillis('13/09/2018', '[D]/[M]/[Y]')", "1536796800000"},
        {NULL, "$toMillis('23 March 2018', '[D] [MNn] [Y]')", "1521763200000"},
        {NULL, "$toMillis('20180323', '[Y0001][M01][D01]')", "1521763200000"},
        {NULL, "$toMillis('3:30pm 2018-03-23', '[h]:[m][P] [Y]-[M]-[D]')", "1521819000000"},
        {NULL, "$toMillis('x', '[Y]')", NULL},
        {NULL, "$fromMillis($toMillis('2018-03-23T10:33:36.617Z'))",
         "\"2018-03-23T10:33:36.617Z\""},
        {NULL, "$now() = $now()", "true"},
        {NULL, "$millis() = $millis()", "true"},
        {NULL, "$toMillis($now()) = $millis()", "true"},
        {NULL, "$millis() > 1500000000000", "true"},
        {NULL, "$substring($now('[Y0001]'), 0, 2)", "\"20\""},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- Step Functions */

static void test_step_functions_additions(void **state)
{
    static const jcase cases[] = {
        {NULL, "$partition([1,2,3,4,5,6,7,8,9], 3)", "[[1,2,3],[4,5,6],[7,8,9]]"},
        {NULL, "$partition([1,2,3,4], 3)", "[[1,2,3],[4]]"},
        {NULL, "$partition([], 3)", "[]"},
        {NULL, "$partition([1], 0)", "!D3150"},
        {NULL, "$range(0, 10, 2)", "[0,2,4,6,8,10]"},
        {NULL, "$range(5, 1, -2)", "[5,3,1]"},
        {NULL, "$range(1, 3)", "[1,2,3]"},
        {NULL, "$range(3, 1)", "[]"},
        {NULL, "$range(1, 2, 0)", "!D3150"},
        {NULL, "$range(0, 1e12, 1)", "!D2014"},
        {NULL, "$hash('hello', 'SHA-256')",
         "\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\""},
        {NULL, "$hash('hello', 'MD5')", "\"5d41402abc4b2a76b9719d911017c592\""},
        {NULL, "$hash('hello', 'SHA-1')", "\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\""},
        {NULL, "$length($hash('hello', 'SHA-512'))", "128"},
        {NULL, "$hash('hello', 'CRC32')", "!D3150"},
        {NULL, "$random(42) = $random(42)", "true"},
        {NULL, "$random(42) = $random(43)", "false"},
        {NULL, "$random(7) < 1 and $random(7) >= 0", "true"},
        {NULL,
         "$uuid() ~> "
         "$contains(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)",
         "true"},
        {NULL, "$uuid() = $uuid()", "false"},
        {NULL, "$parse('{\"a\": [1, 2, {\"b\": null}]}')", "{\"a\":[1,2,{\"b\":null}]}"},
        {NULL, "$parse('42')", "42"},
        {NULL, "$parse('{oops')", "!D3151"},
    };
    RUN(cases);
}

/* Step Functions passes $states (and workflow variables) as bindings. */
static void test_bindings_as_step_functions_passes_them(void **state)
{
    static const jcase cases[] = {
        {NULL, "$states.input.title", "\"Doctor\""},
        {NULL, "$customerName", "\"Mar\\u00eda\""},
        {NULL, "{'title': $states.input.title, 'name': $customerName}",
         "{\"title\":\"Doctor\",\"name\":\"Mar\\u00eda\"}"},
        {NULL, "$states.context.Execution.Id", "\"arn:exec\""},
        {NULL, "$count($states.input.items)", "3"},
        {NULL, "$states.input.items[$ > 1]", "[2,3]"},
        {NULL, "$sum($states.input.items)", "6"},
        {NULL, "$states.input.nothing", NULL},
        {"{\"x\":1}", "x + $states.input.items[0]", "2"},
    };
    run_table(cases, sizeof cases / sizeof cases[0],
              "{\"states\":{\"input\":{\"title\":\"Doctor\",\"items\":[1,2,3]},"
              "\"context\":{\"Execution\":{\"Id\":\"arn:exec\"}}},"
              "\"customerName\":\"Mar\\u00eda\"}");
}

/* ---------------------------------------------------------------- errors */

static void test_syntax_errors(void **state)
{
    static const jcase cases[] = {
        {NULL, "(", "!S0203"},
        {NULL, "[1,2", "!S0203"},
        {NULL, "[1,2)", "!S0202"},
        {NULL, "{'a' 1}", "!S0202"},
        {NULL, "'abc", "!S0101"},
        {NULL, "1e999", "!S0102"},
        {NULL, "'\\q'", "!S0103"},
        {NULL, "'\\u12'", "!S0104"},
        {NULL, "`abc", "!S0105"},
        {NULL, "1 /* open", "!S0106"},
        {NULL, "1 2", "!S0201"},
        {NULL, "$a := 1; $a", "!S0201"},
        {NULL, "1 +", "!S0207"},
        {NULL, "1 ! 2", "!S0204"},
        {NULL, "function(a) { 1 }", "!S0208"},
        {NULL, "[1]{'a':1}[0]", "!S0209"},
        {NULL, "Account{'a':1}{'b':2}", "!S0210"},
        {NULL, ")", "!S0211"},
        {NULL, "a := 1", "!S0212"},
        {NULL, "5.a", "!S0213"},
        {NULL, "a.true", "!S0213"},
        {NULL, "a@b", "!S0214"},
        {NULL, "a#1", "!S0214"},
        {NULL, "a[0]@$x", "!S0215"},
        {NULL, "a^(b)@$x", "!S0216"},
        {NULL, "%", "!S0217"},
        {NULL, "$.%", "!S0217"},
        {NULL, "function($x) <q<n>> { 1 }", "!S0401"},
        {NULL, "function($x) <(a<n>s)> { 1 }", "!S0402"},
        {NULL, "", "!S0207"},
        {NULL, "   ", "!S0207"},
    };
    RUN(cases);
}

static void test_evaluation_errors(void **state)
{
    static const jcase cases[] = {
        {NULL, "'a' + 1", "!T2001"},
        {NULL, "1 + 'a'", "!T2002"},
        {NULL, "{} * 2", "!T2001"},
        {NULL, "-'a'", "!D1002"},
        {NULL, "1 < 'a'", "!T2009"},
        {NULL, "{} < 1", "!T2010"},
        {NULL, "[1] > [0]", "!T2010"},
        {NULL, "[1.5..3]", "!T2003"},
        {NULL, "[1..'3']", "!T2004"},
        {NULL, "1/0", "!D1001"},
        {NULL, "$power(-1, 0.5)", "!D3061"},
        {NULL, "{1: 2}", "!T1003"},
        {NULL, "$length(5)", "!T0410"},
        {NULL, "$length('a', 'b')", "!T0410"},
        {NULL, "$join([1,2])", "!T0412"},
        {NULL, "$split('a', '')[5]", NULL},
        {NULL, "$replace('a', '', 'b')", "!D3010"},
        {NULL, "$replace('a', 'a', 'b', -1)", "!D3011"},
        {NULL, "$replace('a', /a/, function($m) { 5 })", "!D3012"},
        {NULL, "$split('a', 'a', -1)", "!D3020"},
        {NULL, "$number('x')", "!D3030"},
        {NULL, "$fromMillis('x')", NULL},
        {"5", "$fromMillis('x')", "\"x\""},
        {"\"s\"", "$fromMillis('x')", "!T0411"},
        {NULL, "$base64decode(5)", "!T0410"},
        {NULL, "$lookup({}, 5)", "!T0410"},
        {NULL, "$string(1, 2)", "!T0410"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- hostile expressions */

static void test_hostile_expressions_fail_within_the_limits(void **state)
{
    static const jcase cases[] = {
        {NULL, "[1..10000000000]", "!D2014"},
        {NULL, "[1..9999999].($ * 2) ~> $sum()", "!U1001"},
        {NULL, "($f := function($x) { $f($x + 1) }; $f(1))", "!U1001"},
        {NULL, "($f := function($x) { 1 + $f($x + 1) }; $f(1))", "!U1001"},
        {NULL, "($f := function() { $f() }; $f())", "!U1001"},
        {NULL, "($f := function($n) { $n < 1 ? 1 : [$f($n - 1), $f($n - 1)] }; $f(40))", "!U1001"},
        {NULL, "$reduce([1..100000], function($a, $v) { {'a': $a} }, {})", "!U1001"},
        {NULL, "$reduce([1..100000], function($a, $v) { [[$a]] }, [])", "!U1001"},
        {NULL,
         "($s := 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; "
         "$reduce([1..40], function($a, $v) { $a & $a }, $s))",
         "!U1001"},
        {NULL,
         "($a := [1,2]; $b := [[$a],[$a]]; $c := [[$b],[$b]]; $d := [[$c],[$c]]; "
         "$e := [[$d],[$d]]; $f := [[$e],[$e]]; $g := [[$f],[$f]]; $h := [[$g],[$g]]; "
         "$i := [[$h],[$h]]; $j := [[$i],[$i]]; $k := [[$j],[$j]]; $l := [[$k],[$k]]; "
         "$m := [[$l],[$l]]; $n := [[$m],[$m]]; $o := [[$n],[$n]]; $p := [[$o],[$o]]; "
         "$q := [[$p],[$p]]; $r := [[$q],[$q]]; $s := [[$r],[$r]]; $t := [[$s],[$s]]; "
         "$u := [[$t],[$t]]; $v := [[$u],[$u]]; $w := [[$v],[$v]]; $w)",
         "!U1001"},
        {NULL, "$match('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', /(a+)+c/)", "!U1001"},
        {NULL, "$pad('x', 1e9)", "!U1001"},
        {NULL, "$join($map([1..2000000], function($v) { 'abcdefghijklmnop' }))", "!U1001"},
        {NULL, "$eval('($f := function() { $f() }; $f())')", "!U1001"},
    };
    RUN(cases);
}

static void test_deeply_nested_expressions_do_not_compile(void **state)
{
    char err[256];
    size_t depth = 10000;
    char *src = malloc(2 * depth + 2);
    for (size_t i = 0; i < depth; i++) {
        src[i] = '(';
        src[depth + 1 + i] = ')';
    }
    src[depth] = '1';
    src[2 * depth + 1] = '\0';
    jsonata_expr *e = jsonata_compile(src, err, sizeof err);
    assert_null(e);
    assert_int_equal(strncmp(err, "U1001", 5), 0);
    for (size_t i = 0; i < depth; i++) {
        src[i] = '[';
        src[depth + 1 + i] = ']';
    }
    e = jsonata_compile(src, err, sizeof err);
    assert_null(e);
    memset(src, '-', 2 * depth);
    src[2 * depth] = '1';
    src[2 * depth + 1] = '\0';
    e = jsonata_compile(src, err, sizeof err);
    assert_null(e);
    free(src);

    /* a regex nested deeper than its parser allows */
    char re[700] = "$contains('a', /";
    size_t n = strlen(re);
    for (int i = 0; i < 300; i++)
        re[n++] = '(';
    re[n++] = 'a';
    for (int i = 0; i < 300; i++)
        re[n++] = ')';
    re[n++] = '/';
    re[n++] = ')';
    re[n] = '\0';
    e = jsonata_compile(re, err, sizeof err);
    assert_null(e);
    assert_int_equal(strncmp(err, "S0303", 5), 0);
}

static void test_a_runaway_loop_stops_in_time(void **state)
{
    char err[256];
    int failed;
    jsonata_expr *e =
        jsonata_compile("$reduce([1..9000000], function($a, $v) { $a + $v }, 0)", err, sizeof err);
    assert_non_null(e);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *r = jsonata_evaluate(e, NULL, NULL, err, sizeof err, &failed);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_null(r);
    assert_int_equal(failed, 1);
    assert_int_equal(strncmp(err, "U1001", 5), 0);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs < JSONATA_MAX_MILLIS / 1000.0 + 1.0);
    jsonata_free(e);
}

/* ---------------------------------------------------------------- the API */

static void test_api_messages_numbers_and_reuse(void **state)
{
    char err[256];
    int failed;
    assert_null(jsonata_compile("[1,2)", err, sizeof err));
    assert_string_equal(err, "S0202: Expected \"]\", got \")\" (position 5)");

    jsonata_expr *e = jsonata_compile("a - 1", err, sizeof err);
    json_t *in = json_pack("{s:s}", "a", "x");
    assert_null(jsonata_evaluate(e, in, NULL, err, sizeof err, &failed));
    assert_int_equal(failed, 1);
    assert_string_equal(err, "T2001: The left side of the \"-\" operator must evaluate to a number "
                             "(position 3)");
    json_decref(in);

    /* undefined is not a failure */
    json_t *r = jsonata_evaluate(e, NULL, NULL, err, sizeof err, &failed);
    assert_null(r);
    assert_int_equal(failed, 0);
    jsonata_free(e);

    /* integers come back as integers, other numbers as reals */
    e = jsonata_compile("[1, 1.5, 2e0, 1e21, -0, 9007199254740993]", err, sizeof err);
    r = jsonata_evaluate(e, NULL, NULL, err, sizeof err, &failed);
    assert_true(json_is_integer(json_array_get(r, 0)));
    assert_true(json_is_real(json_array_get(r, 1)));
    assert_true(json_is_integer(json_array_get(r, 2)));
    assert_true(json_is_real(json_array_get(r, 3)));
    assert_true(json_is_integer(json_array_get(r, 4)));
    assert_int_equal(json_integer_value(json_array_get(r, 4)), 0);
    json_decref(r);
    jsonata_free(e);

    /* one compiled expression, many evaluations, inputs never changed */
    e = jsonata_compile("$ ~> |a|{'b': 2}|", err, sizeof err);
    for (int i = 0; i < 3; i++) {
        in = json_pack("{s:{s:i}}", "a", "b", i);
        r = jsonata_evaluate(e, in, NULL, err, sizeof err, &failed);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "a"), "b")), 2);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(in, "a"), "b")), i);
        json_decref(r);
        json_decref(in);
    }
    jsonata_free(e);

    /* functions in results read as JSON.stringify writes them */
    e = jsonata_compile("{'f': function() { 1 }, 'g': [$sum], 'h': 1}", err, sizeof err);
    r = jsonata_evaluate(e, NULL, NULL, err, sizeof err, &failed);
    char *text = json_dumps(r, JSON_COMPACT);
    assert_string_equal(text, "{\"g\":[null],\"h\":1}");
    assert_null(json_object_get(r, "f"));
    assert_true(json_is_null(json_array_get(json_object_get(r, "g"), 0)));
    free(text);
    json_decref(r);
    jsonata_free(e);
    jsonata_free(NULL);

    /* a small error buffer is never overrun */
    char tiny[8];
    assert_null(jsonata_compile("(", tiny, sizeof tiny));
    assert_int_equal(strlen(tiny), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_queries_on_the_address_sample),
        cmocka_unit_test(test_singleton_arrays_and_keep_array),
        cmocka_unit_test(test_predicates_wildcards_and_navigation),
        cmocka_unit_test(test_operators_as_the_expressions_page_shows),
        cmocka_unit_test(test_blocks_variables_and_context),
        cmocka_unit_test(test_object_and_array_constructors_and_grouping),
        cmocka_unit_test(test_sorting_and_positional_binding),
        cmocka_unit_test(test_string_functions),
        cmocka_unit_test(test_numeric_and_aggregation_functions),
        cmocka_unit_test(test_boolean_array_and_object_functions),
        cmocka_unit_test(test_higher_order_functions_and_lambdas),
        cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_regular_expressions),
        cmocka_unit_test(test_date_and_time_functions),
        cmocka_unit_test(test_step_functions_additions),
        cmocka_unit_test(test_bindings_as_step_functions_passes_them),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_evaluation_errors),
        cmocka_unit_test(test_hostile_expressions_fail_within_the_limits),
        cmocka_unit_test(test_deeply_nested_expressions_do_not_compile),
        cmocka_unit_test(test_a_runaway_loop_stops_in_time),
        cmocka_unit_test(test_api_messages_numbers_and_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
