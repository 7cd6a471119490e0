/* Invalid event patterns are refused with AWS's (event-ruler's) messages, checked in the
 * order event-ruler reads the pattern; limits are enforced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pattern/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EB "Event pattern is not valid. Reason: "

typedef struct bad {
    const char *pattern;
    const char *message;
} bad;

static void check(pattern_dialect d, const bad *rows, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        int rc = pattern_validate(d, rows[i].pattern, strlen(rows[i].pattern), err, sizeof err);
        if (rc != PATTERN_EINVALID || strcmp(err, rows[i].message) != 0) {
            print_error("row %zu: %s\n  got %d \"%s\"\n want \"%s\"\n", i, rows[i].pattern, rc, err,
                        rows[i].message);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_structure_errors(void **state)
{
    static const bad rows[] = {
        {"[]", EB "Filter is not an object"},
        {"\"x\"", EB "Filter is not an object"},
        {"{}", EB "Empty objects are not allowed"},
        {"{\"a\":{}}", EB "Empty objects are not allowed"},
        {"{\"source\":\"aws.ec2\"}", EB "\"source\" must be an object or an array"},
        {"{\"a\":5}", EB "\"a\" must be an object or an array"},
        {"{\"a\":[]}", EB "Empty arrays are not allowed"},
        {"{\"a\":[[1]]}", EB "Match value must be String, number, true, false, or null"},
        {"{\"a\":[{}]}", EB "Match expression name not found"},
        {"{\"a\":[{\"foo\":1}]}", EB "Unrecognized match type foo"},
        {"{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}",
         EB "Only one key allowed in match expression"},
        /* the first problem in document order wins */
        {"{\"a\":[{\"foo\":1}],\"b\":5}", EB "Unrecognized match type foo"},
        {"{\"b\":5,\"a\":[{\"foo\":1}]}", EB "\"b\" must be an object or an array"},
    };
    check(PATTERN_EVENTBRIDGE, rows, sizeof rows / sizeof *rows);
}

static void test_operator_errors(void **state)
{
    static const bad rows[] = {
        {"{\"a\":[{\"prefix\":1}]}", EB "prefix match pattern must be a string"},
        {"{\"a\":[{\"suffix\":[]}]}", EB "suffix match pattern must be a string"},
        {"{\"a\":[{\"prefix\":{}}]}", EB "Prefix expression name not found"},
        {"{\"a\":[{\"prefix\":{\"x\":\"y\"}}]}", EB "Unsupported prefix pattern: x"},
        {"{\"a\":[{\"suffix\":{\"x\":\"y\"}}]}", EB "Unsupported suffix pattern: x"},
        {"{\"a\":[{\"prefix\":{\"equals-ignore-case\":1}}]}",
         EB "equals-ignore-case match pattern must be a string"},
        {"{\"a\":[{\"equals-ignore-case\":1}]}",
         EB "equals-ignore-case match pattern must be a string"},
        {"{\"a\":[{\"exactly\":1}]}", EB "exact match pattern must be a string"},
        {"{\"a\":[{\"exists\":\"true\"}]}",
         EB "exists match pattern must be either true or false."},
        {"{\"a\":[{\"exists\":true,\"x\":1}]}", EB "Only one key allowed in match expression"},
        {"{\"a\":[{\"wildcard\":1}]}", EB "wildcard match pattern must be a string"},
        {"{\"a\":[{\"wildcard\":\"a**b\"}]}", EB "Consecutive wildcard characters at pos 2"},
        {"{\"a\":[{\"wildcard\":\"ab\\\\c\"}]}", EB "Invalid escape character at pos 3"},
        {"{\"a\":[{\"cidr\":1}]}", EB "prefix match pattern must be a string"},
        {"{\"a\":[{\"cidr\":\"10.0.0.0\"}]}", EB "Malformed CIDR, one '/' required"},
        {"{\"a\":[{\"cidr\":\"10.0.0.0/x\"}]}", EB "Malformed CIDR, mask bits must be an integer"},
        {"{\"a\":[{\"cidr\":\"10.0.0.0/-1\"}]}",
         EB "Malformed CIDR, mask bits must not be negative"},
        {"{\"a\":[{\"cidr\":\"10.0.0.0/32\"}]}", EB "IPv4 mask bits must be < 32"},
        {"{\"a\":[{\"cidr\":\"::/128\"}]}", EB "IPv6 mask bits must be < 128"},
        {"{\"a\":[{\"cidr\":\"999.0.0.0/8\"}]}", EB "Invalid IP address: 999.0.0.0"},
        {"{\"a\":[{\"cidr\":\"host/8\"}]}", EB "Nonstandard IP address: host"},
    };
    check(PATTERN_EVENTBRIDGE, rows, sizeof rows / sizeof *rows);
}

static void test_numeric_errors(void **state)
{
    static const bad rows[] = {
        {"{\"a\":[{\"numeric\":5}]}", EB "Value of numeric must be an array."},
        {"{\"a\":[{\"numeric\":[]}]}", EB "Invalid member in numeric match: ]"},
        {"{\"a\":[{\"numeric\":[5]}]}", EB "Invalid member in numeric match: 5"},
        {"{\"a\":[{\"numeric\":[\"!=\",5]}]}", EB "Unrecognized numeric range operator: !="},
        {"{\"a\":[{\"numeric\":[\"=\",\"5\"]}]}", EB "Value of equals must be numeric"},
        {"{\"a\":[{\"numeric\":[\">\",\"5\"]}]}", EB "Value of > must be numeric"},
        {"{\"a\":[{\"numeric\":[\"<=\",null]}]}", EB "Value of <= must be numeric"},
        {"{\"a\":[{\"numeric\":[\"=\",5,\"<\",6]}]}", EB "Too many elements in numeric expression"},
        {"{\"a\":[{\"numeric\":[\"<\",5,\">\",1]}]}", EB "Too many elements in numeric expression"},
        {"{\"a\":[{\"numeric\":[\">\",5,6]}]}", EB "Bad value in numeric range: 6"},
        {"{\"a\":[{\"numeric\":[\">\",5,\">\",6]}]}", EB "Bad numeric range operator: >"},
        {"{\"a\":[{\"numeric\":[\">\",5,\"<\",\"6\"]}]}", EB "Value of < must be numeric"},
        {"{\"a\":[{\"numeric\":[\">\",5,\"<\",6,7]}]}",
         EB "Too many terms in numeric range expression"},
        {"{\"a\":[{\"numeric\":[\">\",6,\"<\",5]}]}", EB "Bottom must be less than top"},
        {"{\"a\":[{\"numeric\":[\">=\",5,\"<=\",5]}]}", EB "Bottom must be less than top"},
        {"{\"a\":[{\"numeric\":[\">\",6e9]}]}",
         EB "Value must be between -5.0E9 and 5.0E9, inclusive"},
        {"{\"a\":[{\"numeric\":[\"=\",-5000000001]}]}",
         EB "Value must be between -5.0E9 and 5.0E9, inclusive"},
        {"{\"a\":[{\"numeric\":[\">\",1],\"x\":1}]}", EB "Too many elements in numeric expression"},
    };
    check(PATTERN_EVENTBRIDGE, rows, sizeof rows / sizeof *rows);
}

static void test_anything_but_errors(void **state)
{
    static const bad rows[] = {
        {"{\"a\":[{\"anything-but\":null}]}",
         EB "Value of anything-but must be an array or single string/number value."},
        {"{\"a\":[{\"anything-but\":true}]}",
         EB "Value of anything-but must be an array or single string/number value."},
        {"{\"a\":[{\"anything-but\":[]}]}",
         EB "Inside anything but list, either all values are number or string, mixed type is "
            "not supported"},
        {"{\"a\":[{\"anything-but\":[\"a\",1]}]}",
         EB "Inside anything but list, either all values are number or string, mixed type is "
            "not supported"},
        {"{\"a\":[{\"anything-but\":[null]}]}",
         EB "Inside anything but list, start|null|boolean is not supported."},
        {"{\"a\":[{\"anything-but\":{}}]}", EB "Anything-But expression name not found"},
        {"{\"a\":[{\"anything-but\":{\"numeric\":[\">\",1]}}]}",
         EB "Unsupported anything-but pattern: numeric"},
        {"{\"a\":[{\"anything-but\":{\"prefix\":\"\"}}]}", EB "Null prefix/suffix not allowed"},
        {"{\"a\":[{\"anything-but\":{\"suffix\":[\"x\",\"\"]}}]}",
         EB "Null prefix/suffix not allowed"},
        {"{\"a\":[{\"anything-but\":{\"prefix\":1}}]}",
         EB "prefix/suffix match pattern must be a string"},
        {"{\"a\":[{\"anything-but\":{\"equals-ignore-case\":1}}]}",
         EB "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not "
            "supported."},
        {"{\"a\":[{\"anything-but\":{\"wildcard\":[1]}}]}",
         EB "wildcard match pattern must be a string"},
        {"{\"a\":[{\"anything-but\":{\"wildcard\":\"a**\"}}]}",
         EB "Consecutive wildcard characters at pos 2"},
        {"{\"a\":[{\"anything-but\":{\"prefix\":\"a\",\"suffix\":\"b\"}}]}",
         EB "Too many elements in numeric expression"},
        {"{\"a\":[{\"anything-but\":\"a\",\"x\":1}]}",
         EB "Too many elements in numeric expression"},
        {"{\"a\":[{\"anything-but\":[6e9]}]}",
         EB "Value must be between -5.0E9 and 5.0E9, inclusive"},
    };
    check(PATTERN_EVENTBRIDGE, rows, sizeof rows / sizeof *rows);
}

static void test_or_errors(void **state)
{
    static const bad rows[] = {
        {"{\"$or\":{\"a\":[1]}}", EB "It must be an Array followed with $or."},
        {"{\"$or\":[{\"a\":[1]}]}", EB "There must have at least 2 Objects in $or relationship."},
        {"{\"$or\":[{\"a\":[1]},[1]]}",
         EB "Only JSON object is allowed in array of $or relationship."},
        {"{\"$or\":[{\"a\":[1]},{\"numeric\":[1]}]}",
         EB "numeric is Ruler reserved fieldName which cannot be used inside $or."},
        {"{\"$or\":[{\"a\":[1]},{\"b\":{\"prefix\":[\"x\"]}}]}",
         EB "prefix is Ruler reserved fieldName which cannot be used inside $or."},
        {"{\"$or\":[{\"a\":[1]},{}]}", EB "Empty objects are not allowed"},
    };
    check(PATTERN_EVENTBRIDGE, rows, sizeof rows / sizeof *rows);
}

static void test_malformed_json(void **state)
{
    const char *rows[] = {
        "",
        "{",
        "{\"a\":[1]",
        "{\"a\" [1]}",
        "{\"a\":[1],}",
        "{\"a\":[01]}",
        "{a:[1]}",
        "{\"a\":[tru]}",
        "{\"a\":[\"\x01\"]}",
        "{\"a\":[\"\xff\"]}",
        "{\"a\":[1]} x",
        "{\"a\":[\"\\q\"]}",
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char err[512] = "";
        int rc = pattern_validate(PATTERN_EVENTBRIDGE, rows[i], strlen(rows[i]), err, sizeof err);
        if (rc != PATTERN_EINVALID || strncmp(err, EB, strlen(EB)) != 0 ||
            strlen(err) == strlen(EB))
            fail_msg("row %zu (%s): rc %d err \"%s\"", i, rows[i], rc, err);
    }
    char err[256];
    assert_int_equal(pattern_validate(PATTERN_EVENTBRIDGE, "{\"a\":[1", 7, err, sizeof err),
                     PATTERN_EINVALID);
    assert_string_equal(err, EB "Unexpected end-of-input: expected close marker for Array");
}

static void test_size_and_depth_limits(void **state)
{
    /* 4096 characters (code points, not bytes) pass; 4097 do not */
    char *p = malloc(8192);
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)sprintf(p, "{\"a\":[\"");
        size_t body = 4096 - 10 + (size_t)extra;
        for (size_t i = 0; i < body; i++) {
            memcpy(p + n, "\xc3\xa9", 2); /* one code point, two bytes */
            n += 2;
        }
        n += (size_t)sprintf(p + n, "\"]}");
        char err[256] = "";
        int rc = pattern_validate(PATTERN_EVENTBRIDGE, p, n, err, sizeof err);
        assert_int_equal(rc, extra ? PATTERN_ETOOLONG : 0);
    }
    free(p);

    char deep[16 * (PATTERN_MAX_DEPTH + 2)];
    for (int depth = PATTERN_MAX_DEPTH - 1; depth <= PATTERN_MAX_DEPTH; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            n += (size_t)sprintf(deep + n, "{\"a\":");
        n += (size_t)sprintf(deep + n, "[1]");
        for (int i = 0; i < depth; i++)
            deep[n++] = '}';
        int rc = pattern_validate(PATTERN_EVENTBRIDGE, deep, n, NULL, 0);
        assert_int_equal(rc, depth < PATTERN_MAX_DEPTH ? 0 : PATTERN_EINVALID);
    }
}

static void test_or_combination_limit(void **state)
{
    /* 10 parallel $or of 2 branches = 1024 combinations: over the limit; 9 = 512 is fine */
    for (int k = 9; k <= 10; k++) {
        char p[2048];
        size_t n = (size_t)sprintf(p, "{");
        for (int i = 0; i < k; i++)
            n += (size_t)sprintf(p + n, "%s\"o%d\":{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}",
                                 i ? "," : "", i);
        n += (size_t)sprintf(p + n, "}");
        char err[256] = "";
        int rc = pattern_validate(PATTERN_EVENTBRIDGE, p, n, err, sizeof err);
        assert_int_equal(rc, k == 9 ? 0 : PATTERN_EINVALID);
    }
}

static void test_wildcard_complexity(void **state)
{
    const char *ok = "{\"k\":[{\"wildcard\":\"*.png\"},{\"wildcard\":\"*.jpg\"}]}";
    assert_int_equal(pattern_validate(PATTERN_EVENTBRIDGE, ok, strlen(ok), NULL, 0), 0);
    const char *single = "{\"k\":[{\"wildcard\":\"a*b*c*d*e\"}]}";
    assert_int_equal(pattern_validate(PATTERN_EVENTBRIDGE, single, strlen(single), NULL, 0), 0);
    /* a repeated sequence after many wildcards keeps many states alive at once */
    const char *rep = "{\"k\":[{\"wildcard\":\"*a*a*a*a*a*a*a*a*a*a*a*a\"}]}";
    char err[256] = "";
    assert_int_equal(pattern_validate(PATTERN_EVENTBRIDGE, rep, strlen(rep), err, sizeof err),
                     PATTERN_EINVALID);
    assert_string_equal(err, EB "Rule is too complex - try using fewer wildcard characters or "
                                "fewer repeating character sequences after a wildcard character");
    /* many wildcards on one field */
    char many[1024];
    size_t n = (size_t)sprintf(many, "{\"k\":[");
    for (int i = 0; i < 12; i++)
        n += (size_t)sprintf(many + n, "%s{\"wildcard\":\"*x%d\"}", i ? "," : "", i);
    n += (size_t)sprintf(many + n, "]}");
    assert_int_equal(pattern_validate(PATTERN_EVENTBRIDGE, many, n, NULL, 0), PATTERN_EINVALID);
}

static void test_sns_dialect(void **state)
{
#define SNS "Invalid parameter: FilterPolicy: "
    static const bad rows[] = {
        {"{\"a\":[1],\"b\":[1],\"c\":[1],\"d\":[1],\"e\":[1],\"f\":[1]}",
         SNS "Filter policy can not have more than 5 keys"},
        {"{\"a\":[1,2,3,4,5,6,7,8,9,10],\"b\":[1,2,3,4,5,6,7,8,9,10],\"c\":[1,2]}",
         SNS "Filter policy is too complex"},
        {"{\"a\":\"x\"}", SNS "\"a\" must be an object or an array"},
        {"{\"a\":[{\"wildcard\":\"x*\"}]}", SNS "Unrecognized match type wildcard"},
        {"{\"a\":[{\"numeric\":[\">\",2e9]}]}",
         SNS "Value must be between -1.0E9 and 1.0E9, inclusive"},
    };
    check(PATTERN_SNS, rows, sizeof rows / sizeof *rows);
    const char *ok = "{\"a\":[1,2,3,4,5,6,7,8,9,10],\"b\":[1,2,3,4,5,6,7,8,9,10]}";
    assert_int_equal(pattern_validate(PATTERN_SNS, ok, strlen(ok), NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_operator_errors),
        cmocka_unit_test(test_numeric_errors),
        cmocka_unit_test(test_anything_but_errors),
        cmocka_unit_test(test_or_errors),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_size_and_depth_limits),
        cmocka_unit_test(test_or_combination_limit),
        cmocka_unit_test(test_wildcard_complexity),
        cmocka_unit_test(test_sns_dialect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
