/* Event-pattern matching: every operator and the edge cases AWS documents or event-ruler
 * implements, as (pattern, event, expected) rows checked through pattern_test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pattern/pattern.h"

#include <stdio.h>
#include <string.h>

typedef struct row {
    const char *pattern;
    const char *event;
    int want;
} row;

static void check_rows(const row *rows, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        int got = pattern_test(PATTERN_EVENTBRIDGE, rows[i].pattern, strlen(rows[i].pattern),
                               rows[i].event, strlen(rows[i].event), err, sizeof err);
        if (got != rows[i].want) {
            print_error("row %zu: pattern %s event %s: got %d want %d %s\n", i, rows[i].pattern,
                        rows[i].event, got, rows[i].want, err);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

#define CHECK(rows) check_rows(rows, sizeof rows / sizeof rows[0])

static void test_exact_strings_numbers_booleans_null(void **state)
{
    static const row rows[] = {
        {"{\"source\":[\"aws.ec2\"]}", "{\"source\":\"aws.ec2\"}", 1},
        {"{\"source\":[\"aws.ec2\"]}", "{\"source\":\"aws.ec2x\"}", 0},
        {"{\"source\":[\"aws.ec2\"]}", "{\"source\":\"AWS.EC2\"}", 0},
        {"{\"source\":[\"aws.ec2\",\"aws.fargate\"]}", "{\"source\":\"aws.fargate\"}", 1},
        {"{\"source\":[\"aws.ec2\"]}", "{\"other\":\"aws.ec2\"}", 0},
        /* string values compare after JSON unescaping, on both sides */
        {"{\"k\":[\"a\\u00e9\\\"b\"]}", "{\"k\":\"a\xc3\xa9\\\"b\"}", 1},
        {"{\"k\":[\"caf\xc3\xa9\"]}", "{\"k\":\"caf\\u00e9\"}", 1},
        /* long values: escapes and multi-byte characters after whole 8-byte runs */
        {"{\"k\":[\"0123456789abcdef\\\"q\\\" \\u00e9 \\ud83d\\ude00 tail\"]}",
         "{\"k\":\"0123456789abcdef\\\"q\\\" \xc3\xa9 \xf0\x9f\x98\x80 tail\"}", 1},
        {"{\"k\":[\"0123456789abcdefX\"]}", "{\"k\":\"0123456789abcdefY\"}", 0},
        /* duplicate keys in an event each give their value */
        {"{\"k\":[\"b\"]}", "{\"k\":\"a\",\"k\":\"b\"}", 1},
        /* numbers compare as numbers (event-ruler): 300, 300.0 and 3.0e2 are equal */
        {"{\"n\":[300]}", "{\"n\":300}", 1},
        {"{\"n\":[300]}", "{\"n\":300.0}", 1},
        {"{\"n\":[300]}", "{\"n\":3.0e2}", 1},
        {"{\"n\":[3.0e2]}", "{\"n\":300}", 1},
        {"{\"n\":[300]}", "{\"n\":301}", 0},
        {"{\"n\":[5]}", "{\"n\":5.0000001}", 1}, /* six decimal places */
        {"{\"n\":[5]}", "{\"n\":5.000001}", 0},
        /* a number never equals a string, nor the reverse */
        {"{\"n\":[5]}", "{\"n\":\"5\"}", 0},
        {"{\"n\":[\"5\"]}", "{\"n\":5}", 0},
        /* beyond +-5e9 numbers match only as the same text */
        {"{\"acct\":[123456789012]}", "{\"acct\":123456789012}", 1},
        {"{\"acct\":[123456789012]}", "{\"acct\":123456789012.0}", 0},
        {"{\"b\":[true]}", "{\"b\":true}", 1},
        {"{\"b\":[true]}", "{\"b\":false}", 0},
        {"{\"b\":[true]}", "{\"b\":\"true\"}", 0},
        {"{\"b\":[false]}", "{\"b\":false}", 1},
        {"{\"z\":[null]}", "{\"z\":null}", 1},
        {"{\"z\":[null]}", "{\"y\":1}", 0},
        {"{\"z\":[null]}", "{\"z\":\"null\"}", 0},
        {"{\"z\":[\"\"]}", "{\"z\":\"\"}", 1},
        {"{\"z\":[\"\"]}", "{\"z\":null}", 0},
        {"{\"z\":[null]}", "{\"z\":\"\"}", 0},
        {"{\"exactly\":[{\"exactly\":\"x\"}]}", "{\"exactly\":\"x\"}", 1},
    };
    CHECK(rows);
}

static void test_fields_and_nesting(void **state)
{
    static const row rows[] = {
        /* all fields must match (AND) */
        {"{\"a\":[\"1\"],\"b\":[\"2\"]}", "{\"a\":\"1\",\"b\":\"2\"}", 1},
        {"{\"a\":[\"1\"],\"b\":[\"2\"]}", "{\"a\":\"1\",\"b\":\"3\"}", 0},
        {"{\"a\":[\"1\"],\"b\":[\"2\"]}", "{\"a\":\"1\"}", 0},
        /* nested objects; the structure must be the same */
        {"{\"detail\":{\"state\":[\"running\"]}}", "{\"detail\":{\"state\":\"running\"}}", 1},
        {"{\"detail\":{\"state\":[\"running\"]}}", "{\"state\":\"running\"}", 0},
        {"{\"detail\":{\"state\":[\"running\"]}}", "{\"detail\":{\"state\":{\"x\":\"running\"}}}",
         0},
        /* dotted keys and nesting are the same path (event-ruler joins keys with '.') */
        {"{\"detail\":{\"state.status\":[\"r\"]}}", "{\"detail\":{\"state\":{\"status\":\"r\"}}}",
         1},
        {"{\"detail\":{\"state\":{\"status\":[\"r\"]}}}", "{\"detail\":{\"state.status\":\"r\"}}",
         1},
        /* a key given twice: the last one counts (AWS docs) */
        {"{\"loc\":[{\"prefix\":\"us-\"}],\"loc\":[{\"anything-but\":\"us-east\"}]}",
         "{\"loc\":\"eu-west\"}", 1},
        {"{\"loc\":[{\"prefix\":\"us-\"}],\"loc\":[{\"anything-but\":\"us-east\"}]}",
         "{\"loc\":\"us-east\"}", 0},
        /* deep nesting */
        {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":[1]}}}}}",
         "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1,\"f\":2}}}},\"z\":0}", 1},
    };
    CHECK(rows);
}

static void test_arrays(void **state)
{
    static const row rows[] = {
        /* an event array matches if any element matches (intersection non-empty) */
        {"{\"resources\":[\"r1\",\"r9\"]}", "{\"resources\":[\"r0\",\"r1\"]}", 1},
        {"{\"resources\":[\"r1\"]}", "{\"resources\":[\"r0\",\"r2\"]}", 0},
        {"{\"resources\":[\"r1\"]}", "{\"resources\":[]}", 0},
        {"{\"resources\":[\"r1\"]}", "{\"resources\":[[\"r0\"],[\"r1\"]]}", 1},
        /* arrays of objects: fields of one element match together... */
        {"{\"employees\":{\"first\":[\"Anna\"],\"last\":[\"Smith\"]}}",
         "{\"employees\":[{\"first\":\"John\",\"last\":\"Doe\"},{\"first\":\"Anna\",\"last\":"
         "\"Smith\"}]}",
         1},
        /* ...but never across elements (event-ruler's rulesForJSONEvent) */
        {"{\"employees\":{\"first\":[\"Anna\"],\"last\":[\"Doe\"]}}",
         "{\"employees\":[{\"first\":\"John\",\"last\":\"Doe\"},{\"first\":\"Anna\",\"last\":"
         "\"Smith\"}]}",
         0},
        /* nested arrays of objects */
        {"{\"e\":{\"f\":[\"Anna\"],\"l\":[\"Jones\"]}}",
         "{\"e\":[[{\"f\":\"John\",\"l\":\"Doe\"},{\"f\":\"Anna\",\"l\":\"Smith\"}],[{\"f\":"
         "\"Peter\",\"l\":\"Jones\"}]]}",
         0},
        {"{\"e\":{\"f\":[\"Peter\"],\"l\":[\"Jones\"]}}",
         "{\"e\":[[{\"f\":\"John\",\"l\":\"Doe\"},{\"f\":\"Anna\",\"l\":\"Smith\"}],[{\"f\":"
         "\"Peter\",\"l\":\"Jones\"}]]}",
         1},
        /* a field outside the array combines with any element */
        {"{\"top\":[\"t\"],\"e\":{\"f\":[\"Anna\"]}}",
         "{\"top\":\"t\",\"e\":[{\"f\":\"John\"},{\"f\":\"Anna\"}]}", 1},
        /* an array of scalars inside an element: any of its values */
        {"{\"e\":{\"tags\":[\"x\"],\"n\":[\"b\"]}}",
         "{\"e\":[{\"tags\":[\"y\"],\"n\":\"a\"},{\"tags\":[\"z\",\"x\"],\"n\":\"b\"}]}", 1},
        {"{\"e\":{\"tags\":[\"x\"],\"n\":[\"a\"]}}",
         "{\"e\":[{\"tags\":[\"y\"],\"n\":\"a\"},{\"tags\":[\"z\",\"x\"],\"n\":\"b\"}]}", 0},
        /* numbers and booleans inside arrays */
        {"{\"v\":[{\"numeric\":[\">\",10]}]}", "{\"v\":[1,2,30]}", 1},
        {"{\"v\":[{\"numeric\":[\">\",10]}]}", "{\"v\":[1,2,3]}", 0},
    };
    CHECK(rows);
}

static void test_prefix_suffix_ignore_case(void **state)
{
    static const row rows[] = {
        {"{\"time\":[{\"prefix\":\"2017-10-02\"}]}", "{\"time\":\"2017-10-02T18:43:48Z\"}", 1},
        {"{\"time\":[{\"prefix\":\"2017-10-02\"}]}", "{\"time\":\"2017-10-03T18:43:48Z\"}", 0},
        {"{\"time\":[{\"prefix\":\"\"}]}", "{\"time\":\"anything\"}", 1},
        {"{\"time\":[{\"prefix\":\"\"}]}", "{\"time\":5}", 0}, /* strings only */
        {"{\"n\":[{\"prefix\":\"1\"}]}", "{\"n\":123}", 0},
        {"{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"image.png\"}", 1},
        {"{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"image.PNG\"}", 0},
        {"{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"png\"}", 0},
        {"{\"f\":[{\"suffix\":{\"equals-ignore-case\":\".png\"}}]}", "{\"f\":\"image.PNG\"}", 1},
        {"{\"s\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}", "{\"s\":\"eventbridge\"}",
         1},
        {"{\"s\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}", "{\"s\":\"event\"}", 0},
        {"{\"s\":[{\"equals-ignore-case\":\"EC2\"}]}", "{\"s\":\"ec2\"}", 1},
        {"{\"s\":[{\"equals-ignore-case\":\"EC2\"}]}", "{\"s\":\"ec2 \"}", 0},
        {"{\"s\":[{\"equals-ignore-case\":\"\xc3\x89T\xc3\x89\"}]}",
         "{\"s\":\"\xc3\xa9t\xc3\xa9\"}", 1},
        {"{\"s\":[{\"equals-ignore-case\":\"\xd0\x9c\xd0\x98\xd0\xa0\"}]}",
         "{\"s\":\"\xd0\xbc\xd0\xb8\xd1\x80\"}", 1},
        {"{\"s\":[{\"equals-ignore-case\":\"5\"}]}", "{\"s\":5}", 0},
    };
    CHECK(rows);
}

static void test_anything_but(void **state)
{
    static const row rows[] = {
        {"{\"s\":[{\"anything-but\":\"init\"}]}", "{\"s\":\"running\"}", 1},
        {"{\"s\":[{\"anything-but\":\"init\"}]}", "{\"s\":\"init\"}", 0},
        /* the field must be present */
        {"{\"s\":[{\"anything-but\":\"init\"}]}", "{\"t\":\"running\"}", 0},
        /* other types are "anything but" a string */
        {"{\"s\":[{\"anything-but\":\"init\"}]}", "{\"s\":5}", 1},
        {"{\"s\":[{\"anything-but\":\"init\"}]}", "{\"s\":null}", 1},
        {"{\"s\":[{\"anything-but\":[\"stopped\",\"overloaded\"]}]}", "{\"s\":\"stopped\"}", 0},
        {"{\"s\":[{\"anything-but\":[\"stopped\",\"overloaded\"]}]}", "{\"s\":\"running\"}", 1},
        {"{\"x\":[{\"anything-but\":123}]}", "{\"x\":123}", 0},
        {"{\"x\":[{\"anything-but\":123}]}", "{\"x\":123.0}", 0},
        {"{\"x\":[{\"anything-but\":123}]}", "{\"x\":124}", 1},
        {"{\"x\":[{\"anything-but\":123}]}", "{\"x\":\"123\"}", 1},
        {"{\"x\":[{\"anything-but\":[100,200,300]}]}", "{\"x\":200}", 0},
        {"{\"x\":[{\"anything-but\":[100,200,300]}]}", "{\"x\":250}", 1},
        /* an array event matches if any element is not excluded */
        {"{\"s\":[{\"anything-but\":\"a\"}]}", "{\"s\":[\"a\",\"b\"]}", 1},
        {"{\"s\":[{\"anything-but\":\"a\"}]}", "{\"s\":[\"a\",\"a\"]}", 0},
        {"{\"s\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"s\":\"initializing\"}", 0},
        {"{\"s\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"s\":\"running\"}", 1},
        {"{\"s\":[{\"anything-but\":{\"prefix\":[\"us-\",\"eu-\"]}}]}", "{\"s\":\"eu-west\"}", 0},
        {"{\"s\":[{\"anything-but\":{\"prefix\":[\"us-\",\"eu-\"]}}]}", "{\"s\":\"ap-south\"}", 1},
        {"{\"f\":[{\"anything-but\":{\"suffix\":\".png\"}}]}", "{\"f\":\"a.png\"}", 0},
        {"{\"f\":[{\"anything-but\":{\"suffix\":\".png\"}}]}", "{\"f\":\"a.jpg\"}", 1},
        {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"init\"}}]}", "{\"s\":\"INIT\"}", 0},
        {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"a\",\"B\"]}}]}", "{\"s\":\"b\"}", 0},
        {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"a\",\"B\"]}}]}", "{\"s\":\"c\"}", 1},
        {"{\"p\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"p\":\"/usr/lib/x\"}", 0},
        {"{\"p\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"p\":\"/usr/bin/x\"}", 1},
        {"{\"p\":[{\"anything-but\":{\"wildcard\":[\"*.a\",\"*.b\"]}}]}", "{\"p\":\"x.b\"}", 0},
    };
    CHECK(rows);
}

static void test_numeric(void **state)
{
    static const row rows[] = {
        {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":5}", 1},
        {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":0}", 0},
        {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":0.000001}", 1},
        {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":5.000001}", 0},
        {"{\"c\":[{\"numeric\":[\">=\",0,\"<\",5]}]}", "{\"c\":0}", 1},
        {"{\"c\":[{\"numeric\":[\">=\",0,\"<\",5]}]}", "{\"c\":5}", 0},
        {"{\"c\":[{\"numeric\":[\"<\",10]}]}", "{\"c\":-1e9}", 1},
        {"{\"c\":[{\"numeric\":[\"<\",10]}]}", "{\"c\":10}", 0},
        {"{\"c\":[{\"numeric\":[\"<=\",10]}]}", "{\"c\":10}", 1},
        {"{\"c\":[{\"numeric\":[\">\",10]}]}", "{\"c\":10.5}", 1},
        {"{\"c\":[{\"numeric\":[\">=\",10]}]}", "{\"c\":10}", 1},
        {"{\"x\":[{\"numeric\":[\"=\",3.018e2]}]}", "{\"x\":301.8}", 1},
        {"{\"x\":[{\"numeric\":[\"=\",301.8]}]}", "{\"x\":301.80}", 1},
        {"{\"x\":[{\"numeric\":[\"=\",-5e9]}]}", "{\"x\":-5000000000}", 1},
        /* strings, booleans and numbers beyond the range never match numerically */
        {"{\"c\":[{\"numeric\":[\">\",0]}]}", "{\"c\":\"5\"}", 0},
        {"{\"c\":[{\"numeric\":[\">\",0]}]}", "{\"c\":true}", 0},
        {"{\"c\":[{\"numeric\":[\">\",0]}]}", "{\"c\":6e9}", 0},
        {"{\"c\":[{\"numeric\":[\">\",0]}]}", "{\"d\":1}", 0},
        /* several ranges on one field are an OR */
        {"{\"c\":[{\"numeric\":[\"<\",0]},{\"numeric\":[\">\",100]}]}", "{\"c\":150}", 1},
        {"{\"c\":[{\"numeric\":[\"<\",0]},{\"numeric\":[\">\",100]}]}", "{\"c\":50}", 0},
    };
    CHECK(rows);
}

static void test_exists(void **state)
{
    static const row rows[] = {
        {"{\"detail\":{\"state\":[{\"exists\":true}]}}", "{\"detail\":{\"state\":\"x\"}}", 1},
        {"{\"detail\":{\"state\":[{\"exists\":true}]}}", "{\"detail\":{\"state\":null}}", 1},
        {"{\"detail\":{\"state\":[{\"exists\":true}]}}", "{\"detail\":{\"other\":1}}", 0},
        /* exists matches leaves only: an object or an empty array is not there */
        {"{\"detail\":{\"c\":[{\"exists\":true}]}}", "{\"detail\":{\"c\":{\"c1\":100}}}", 0},
        {"{\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"detail\":{\"c\":{\"c1\":100}}}", 1},
        {"{\"detail\":{\"c\":[{\"exists\":true}]}}", "{\"detail\":{\"c\":[]}}", 0},
        {"{\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"detail\":{\"c\":[]}}", 1},
        {"{\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"detail\":{\"d\":1}}", 1},
        {"{\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"detail\":{\"c\":1}}", 0},
        /* a missing parent is a missing field */
        {"{\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"source\":\"x\"}", 1},
        {"{\"source\":[\"x\"],\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"source\":\"x\"}", 1},
        {"{\"source\":[\"y\"],\"detail\":{\"c\":[{\"exists\":false}]}}", "{\"source\":\"x\"}", 0},
        {"{\"a\":[{\"exists\":false}],\"b\":[{\"exists\":false}]}", "{\"c\":1}", 1},
        {"{\"a\":[{\"exists\":false}],\"b\":[{\"exists\":false}]}", "{\"b\":1}", 0},
        /* absent or a value */
        {"{\"a\":[{\"exists\":false},\"v\"]}", "{\"a\":\"v\"}", 1},
        {"{\"a\":[{\"exists\":false},\"v\"]}", "{\"b\":\"v\"}", 1},
        {"{\"a\":[{\"exists\":false},\"v\"]}", "{\"a\":\"w\"}", 0},
        /* inside an array of objects, absence is judged with the elements used so far */
        {"{\"e\":{\"a\":[1],\"b\":[{\"exists\":false}]}}", "{\"e\":[{\"a\":1,\"b\":2},{\"a\":1}]}",
         1},
        {"{\"e\":{\"a\":[1],\"b\":[{\"exists\":false}]}}", "{\"e\":[{\"a\":1,\"b\":2},{\"a\":2}]}",
         0},
    };
    CHECK(rows);
}

static void test_cidr_and_ip_strings(void **state)
{
    static const row rows[] = {
        {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.0.255\"}", 1},
        {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.1.0\"}", 0},
        {"{\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]}", "{\"ip\":\"10.200.3.4\"}", 1},
        {"{\"ip\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"ip\":\"255.255.255.255\"}", 1},
        {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"not an ip\"}", 0},
        {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":10}", 0},
        {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"2001:db8::1\"}", 0},
        /* event-ruler does not mask the lower bound */
        {"{\"ip\":[{\"cidr\":\"10.0.0.5/24\"}]}", "{\"ip\":\"10.0.0.4\"}", 0},
        {"{\"ip\":[{\"cidr\":\"10.0.0.5/24\"}]}", "{\"ip\":\"10.0.0.6\"}", 1},
        {"{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:db8:ffff::1\"}", 1},
        {"{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:db9::1\"}", 0},
        {"{\"ip\":[{\"cidr\":\"2001:DB8::/32\"}]}", "{\"ip\":\"2001:0db8:0:0:0:0:0:1\"}", 1},
        /* an IP address given as a plain string matches the same address in any spelling */
        {"{\"ip\":[\"10.0.0.1\"]}", "{\"ip\":\"10.0.0.1\"}", 1},
        {"{\"ip\":[\"10.0.0.1\"]}", "{\"ip\":\"10.0.0.2\"}", 0},
        {"{\"ip\":[\"::1\"]}", "{\"ip\":\"0:0:0:0:0:0:0:1\"}", 1},
        {"{\"ip\":[\"::ffff:a00:1\"]}", "{\"ip\":\"10.0.0.1\"}", 1},
    };
    CHECK(rows);
}

static void test_wildcard(void **state)
{
    static const row rows[] = {
        {"{\"s\":[{\"wildcard\":\"Simple*Service\"}]}", "{\"s\":\"SimpleQueueService\"}", 1},
        {"{\"s\":[{\"wildcard\":\"Simple*Service\"}]}", "{\"s\":\"SimpleService\"}", 1},
        {"{\"s\":[{\"wildcard\":\"Simple*Service\"}]}", "{\"s\":\"SimpleServiceX\"}", 0},
        {"{\"s\":[{\"wildcard\":\"*\"}]}", "{\"s\":\"\"}", 1},
        {"{\"s\":[{\"wildcard\":\"*\"}]}", "{\"s\":5}", 0},
        {"{\"s\":[{\"wildcard\":\"a*b*c\"}]}", "{\"s\":\"aXbYbZc\"}", 1},
        {"{\"s\":[{\"wildcard\":\"a*b*c\"}]}", "{\"s\":\"aXbYbZ\"}", 0},
        {"{\"s\":[{\"wildcard\":\"*.png\"}]}", "{\"s\":\"dir/x.png\"}", 1},
        /* \* is a literal star, \\ a literal backslash */
        {"{\"s\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"s\":\"a*b\"}", 1},
        {"{\"s\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"s\":\"axb\"}", 0},
        {"{\"s\":[{\"wildcard\":\"a\\\\\\\\b\"}]}", "{\"s\":\"a\\\\b\"}", 1},
        {"{\"s\":[{\"wildcard\":\"exact\"}]}", "{\"s\":\"exact\"}", 1},
    };
    CHECK(rows);
}

static void test_or(void **state)
{
    static const row rows[] = {
        {"{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPU\"]},{\"namespace\":["
         "\"AWS/EC2\"]}]}",
         "{\"source\":\"aws.cloudwatch\",\"namespace\":\"AWS/EC2\"}", 1},
        {"{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPU\"]},{\"namespace\":["
         "\"AWS/EC2\"]}]}",
         "{\"source\":\"aws.cloudwatch\",\"namespace\":\"AWS/ES\"}", 0},
        {"{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPU\"]},{\"namespace\":["
         "\"AWS/EC2\"]}]}",
         "{\"source\":\"other\",\"metricName\":\"CPU\"}", 0},
        /* $or inside a nested object and an AND inside a branch */
        {"{\"detail\":{\"$or\":[{\"a\":[1]},{\"b\":[2],\"c\":[3]}]}}",
         "{\"detail\":{\"b\":2,\"c\":3}}", 1},
        {"{\"detail\":{\"$or\":[{\"a\":[1]},{\"b\":[2],\"c\":[3]}]}}", "{\"detail\":{\"b\":2}}", 0},
        /* nested $or */
        {"{\"$or\":[{\"a\":[1]},{\"b\":[2],\"$or\":[{\"c\":[3]},{\"d\":[4]}]}]}",
         "{\"b\":2,\"d\":4}", 1},
        {"{\"$or\":[{\"a\":[1]},{\"b\":[2],\"$or\":[{\"c\":[3]},{\"d\":[4]}]}]}",
         "{\"b\":2,\"e\":4}", 0},
        /* parallel $or */
        {"{\"$or\":[{\"a\":[1]},{\"b\":[2]}],\"d\":{\"$or\":[{\"x\":[1]},{\"y\":[1]}]}}",
         "{\"b\":2,\"d\":{\"y\":1}}", 1},
        {"{\"$or\":[{\"a\":[1]},{\"b\":[2]}],\"d\":{\"$or\":[{\"x\":[1]},{\"y\":[1]}]}}",
         "{\"b\":2,\"d\":{\"z\":1}}", 0},
        /* $or branches with exists:false */
        {"{\"$or\":[{\"a\":[{\"exists\":false}]},{\"b\":[1]}]}", "{\"a\":5}", 0},
        {"{\"$or\":[{\"a\":[{\"exists\":false}]},{\"b\":[1]}]}", "{\"c\":5}", 1},
    };
    CHECK(rows);
}

static void test_event_must_be_json_object(void **state)
{
    const char *p = "{\"a\":[1]}";
    const char *bad[] = {"",
                         "[1]",
                         "1",
                         "{\"a\":1",
                         "{\"a\":1}x",
                         "{\"a\":01}",
                         "{'a':1}",
                         "{\"a\":\"\x01\"}",
                         "{\"a\":\"\xc3\"}",
                         "{\"a\":tru}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(
            pattern_test(PATTERN_EVENTBRIDGE, p, strlen(p), bad[i], strlen(bad[i]), NULL, 0), -3);
    /* nesting deeper than PATTERN_MAX_DEPTH is refused, up to it is fine */
    char deep[8 * (PATTERN_MAX_DEPTH + 2)];
    for (int depth = PATTERN_MAX_DEPTH; depth <= PATTERN_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            n += (size_t)sprintf(deep + n, "{\"a\":");
        deep[n++] = '1';
        for (int i = 0; i < depth; i++)
            deep[n++] = '}';
        int rc = pattern_test(PATTERN_EVENTBRIDGE, p, strlen(p), deep, n, NULL, 0);
        assert_int_equal(rc, depth <= PATTERN_MAX_DEPTH ? 0 : -3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_strings_numbers_booleans_null),
        cmocka_unit_test(test_fields_and_nesting),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_prefix_suffix_ignore_case),
        cmocka_unit_test(test_anything_but),
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_exists),
        cmocka_unit_test(test_cidr_and_ip_strings),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_or),
        cmocka_unit_test(test_event_must_be_json_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
