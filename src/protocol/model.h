/* Wire models of the AWS services Sluice speaks, generated from botocore's service-2.json
 * files by scripts/gen-models.py (see src/protocol/models/). A model says, for every
 * operation, the shape of its input and output: what the Query protocol's flattened
 * `Attribute.1.Name` keys mean, which XML element names the response uses, and which
 * JSON types members have. The protocol codecs (query.c, xml.c) walk these tables, so a
 * new Query service is a new generated model, not new code. */
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

typedef struct model_member {
    const char *name;          /* JSON member name */
    const char *location_name; /* Query/XML name (== name when the model gives none) */
    const model_shape *shape;
    int flattened; /* the member's list/map is flattened (Query/XML) */
} model_member;

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
};

typedef struct model_operation {
    const char *name;           /* "SendMessage" */
    const model_shape *input;   /* NULL if none */
    const model_shape *output;  /* NULL if none */
    const char *result_wrapper; /* Query: "SendMessageResult", or NULL */
} model_operation;

typedef struct model_service {
    const char *name;               /* "sqs" (SigV4 signing name / endpoint prefix) */
    const char *api_version;        /* "2012-11-05" */
    const char *xml_namespace;      /* Query responses' xmlns */
    const char *json_target_prefix; /* "AmazonSQS" (X-Amz-Target prefix), or NULL */
    const char *json_type_prefix;   /* "com.amazonaws.sqs#" for JSON error __type, or NULL */
    const model_operation *ops;
    size_t nops;
} model_service;

const model_operation *model_find_operation(const model_service *svc, const char *name,
                                            size_t name_len);
const model_member *model_find_member(const model_shape *s, const char *name, size_t len);

/* The generated models. */
extern const model_service model_sqs;
extern const model_service model_events;
extern const model_service model_sns;
extern const model_service model_ses;

#endif
