/* Wire models of the AWS services Sluice speaks, generated from botocore's service-2.json
 * files by scripts/gen-models.py (see src/protocol/models/). A model says, for every
 * operation, the shape of its input and output: what the Query protocol's flattened
 * `Attribute.1.Name` keys mean, which XML element names the response uses, and which
 * JSON types members have. The protocol codecs (query.c, xml.c) walk these tables, so a
 * new Query service is a new generated model, not new code.
 *
 * REST models (botocore "protocol": "rest-json") also carry the HTTP binding that
 * rest_json.c reads: each operation's method, URI template and success status, each
 * member's location (URI label, querystring, header, header-prefix map, status code, or the
 * body) under its location_name, and each structure's payload member. */
#ifndef SLUICE_PROTOCOL_MODEL_H
#define SLUICE_PROTOCOL_MODEL_H

#include <stddef.h>

typedef enum {
    SHAPE_STRING,
    SHAPE_INTEGER, /* also "long" */
    SHAPE_BOOLEAN,
    SHAPE_DOUBLE, /* also "float" */
    SHAPE_BLOB,   /* base64 on the wire in both JSON and XML */
    SHAPE_TIMESTAMP,
    SHAPE_LIST,
    SHAPE_MAP,
    SHAPE_STRUCTURE,
} shape_type;

typedef struct model_shape model_shape;

/* Where a member travels in a REST request or response (botocore's "location"). */
typedef enum {
    MODEL_LOC_BODY,    /* the JSON body */
    MODEL_LOC_URI,     /* the URI template's {location_name} (or greedy {location_name+}) label */
    MODEL_LOC_QUERY,   /* querystring parameter location_name; a map takes every parameter
                          that no other member names */
    MODEL_LOC_HEADER,  /* header location_name */
    MODEL_LOC_HEADERS, /* map of the headers whose name starts with location_name */
    MODEL_LOC_STATUS,  /* the HTTP status code (responses) */
} model_location;

typedef struct model_member {
    const char *name;          /* JSON member name */
    const char *location_name; /* Query/XML name; REST label, parameter or header name (== name
                                  when the model gives none) */
    const model_shape *shape;
    int flattened; /* the member's list/map is flattened (Query/XML) */
} model_member;

/* The REST binding of a structure member (models of REST protocols only). */
typedef struct model_binding {
    model_location location;
    int jsonvalue; /* a header whose value is base64-encoded JSON */
} model_binding;

struct model_shape {
    const char *name;
    shape_type type;
    /* SHAPE_STRUCTURE */
    const model_member *members;
    size_t nmembers;
    /* SHAPE_LIST: member; SHAPE_MAP: key and value */
    const model_shape *member;
    const char *member_location_name; /* "member" unless the model says otherwise */
    const model_shape *key;
    const char *key_location_name; /* "key" / "Name" / "Key" */
    const model_shape *value;
    const char *value_location_name; /* "value" / "Value" */
    int flattened;                   /* the shape itself is flattened */
    /* SHAPE_STRUCTURE of a REST model: members' bindings (parallel to members; NULL: all in
     * the body) and the member that is the whole body (NULL: the members not bound elsewhere
     * make a JSON object) */
    const model_binding *bindings;
    const char *payload;
};

typedef struct model_operation {
    const char *name;           /* "SendMessage" */
    const model_shape *input;   /* NULL if none */
    const model_shape *output;  /* NULL if none */
    const char *result_wrapper; /* Query: "SendMessageResult", or NULL */
} model_operation;

/* The HTTP binding of a REST operation. */
typedef struct model_http {
    const char *method; /* "GET", "PUT", ... */
    const char *uri; /* "/v2/email/templates/{TemplateName}", "/{Key+}?versions", "/x?List=ALL" */
    int status;      /* the success status (responseCode, default 200) */
} model_http;

typedef enum {
    MODEL_PROTO_QUERY,
    MODEL_PROTO_JSON,
    MODEL_PROTO_REST_JSON,
    MODEL_PROTO_REST_XML, /* S3: the service decodes its own requests (aws_service_def) */
} model_protocol;

typedef struct model_service {
    const char
        *name; /* "sqs": the SigV4 signing name (botocore signingName, else endpointPrefix) */
    model_protocol protocol;        /* botocore's "protocol" */
    const char *api_version;        /* "2012-11-05" */
    const char *xml_namespace;      /* Query responses' xmlns */
    const char *json_target_prefix; /* "AmazonSQS" (X-Amz-Target prefix), or NULL */
    const char *json_type_prefix;   /* "com.amazonaws.sqs#" for JSON error __type, or NULL */
    const model_operation *ops;
    const model_http *http; /* REST protocols: parallel to ops; NULL otherwise */
    size_t nops;
} model_service;

const model_operation *model_find_operation(const model_service *svc, const char *name,
                                            size_t name_len);
const model_member *model_find_member(const model_shape *s, const char *name, size_t len);
/* The HTTP binding of op (an operation of svc), or NULL if svc is not a REST model. */
const model_http *model_operation_http(const model_service *svc, const model_operation *op);
/* Where member i of structure s travels (MODEL_LOC_BODY unless s is of a REST model). */
model_location model_member_location(const model_shape *s, size_t i);

/* The generated models. */
extern const model_service model_sqs;
extern const model_service model_events;
extern const model_service model_sns;
extern const model_service model_ses;
extern const model_service model_sesv2;
extern const model_service model_lambda;
extern const model_service model_logs;
extern const model_service model_dynamodb;
extern const model_service model_dynamodbstreams;
extern const model_service model_stepfunctions;

#endif
