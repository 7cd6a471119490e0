/* Every error Sluice returns in an AWS protocol, one row each:
 *   X(ENUM, shape, query_code, http_status, fault)
 * shape:      the error shape name (JSON protocols: "__type" is the service's type prefix
 *             followed by it; Query protocol uses query_code)
 * query_code: the code the Query protocol (and SQS's x-amzn-query-error header) carries
 * fault:      1 = Sender, 0 = Receiver
 * Later services add rows here; the renderers (aws.c) need nothing else. */
#ifndef SLUICE_PROTOCOL_AWS_ERRORS_H
#define SLUICE_PROTOCOL_AWS_ERRORS_H

#define AWS_ERRORS(X)                                                                              \
    /* generic */                                                                                  \
    X(INTERNAL_ERROR, "InternalError", "InternalError", 500, 0)                                    \
    X(SERVICE_UNAVAILABLE, "ServiceUnavailable", "ServiceUnavailable", 503, 0)                     \
    X(INVALID_ACTION, "InvalidAction", "InvalidAction", 400, 1)                                    \
    X(UNKNOWN_OPERATION, "UnknownOperationException", "UnknownOperationException", 400, 1)         \
    X(MISSING_PARAMETER, "MissingParameter", "MissingParameter", 400, 1)                           \
    X(INVALID_PARAMETER_VALUE, "InvalidParameterValue", "InvalidParameterValue", 400, 1)           \
    X(INVALID_PARAMETER_COMBINATION, "InvalidParameterCombination", "InvalidParameterCombination", \
      400, 1)                                                                                      \
    X(MALFORMED_QUERY_STRING, "MalformedQueryString", "MalformedQueryString", 400, 1)              \
    X(SERIALIZATION_EXCEPTION, "SerializationException", "SerializationException", 400, 1)         \
    X(INVALID_QUERY_PARAMETER, "InvalidQueryParameter", "InvalidQueryParameter", 400, 1)           \
    X(REQUEST_ENTITY_TOO_LARGE, "RequestEntityTooLarge", "RequestEntityTooLarge", 413, 1)          \
    X(MISSING_AUTHENTICATION_TOKEN, "MissingAuthenticationToken", "MissingAuthenticationToken",    \
      403, 1)                                                                                      \
    X(INVALID_CLIENT_TOKEN_ID, "InvalidClientTokenId", "InvalidClientTokenId", 403, 1)             \
    X(SIGNATURE_DOES_NOT_MATCH, "SignatureDoesNotMatch", "SignatureDoesNotMatch", 403, 1)          \
    X(INCOMPLETE_SIGNATURE, "IncompleteSignature", "IncompleteSignature", 403, 1)                  \
    X(REQUEST_EXPIRED, "RequestExpired", "RequestExpired", 403, 1)                                 \
    X(ACCESS_DENIED, "AccessDenied", "AccessDenied", 403, 1)                                       \
    X(LIMIT_EXCEEDED_EXCEPTION, "LimitExceededException", "LimitExceededException", 400, 1)        \
    /* SQS */                                                                                      \
    X(SQS_QUEUE_DOES_NOT_EXIST, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",    \
      400, 1)                                                                                      \
    X(SQS_QUEUE_NAME_EXISTS, "QueueNameExists", "QueueAlreadyExists", 400, 1)                      \
    X(SQS_QUEUE_DELETED_RECENTLY, "QueueDeletedRecently",                                          \
      "AWS.SimpleQueueService.QueueDeletedRecently", 400, 1)                                       \
    X(SQS_INVALID_ATTRIBUTE_NAME, "InvalidAttributeName", "InvalidAttributeName", 400, 1)          \
    X(SQS_INVALID_ATTRIBUTE_VALUE, "InvalidAttributeValue", "InvalidAttributeValue", 400, 1)       \
    X(SQS_INVALID_MESSAGE_CONTENTS, "InvalidMessageContents", "InvalidMessageContents", 400, 1)    \
    X(SQS_RECEIPT_HANDLE_IS_INVALID, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 404, 1)   \
    X(SQS_MESSAGE_NOT_INFLIGHT, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", \
      400, 1)                                                                                      \
    X(SQS_BATCH_ENTRY_IDS_NOT_DISTINCT, "BatchEntryIdsNotDistinct",                                \
      "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, 1)                                   \
    X(SQS_BATCH_REQUEST_TOO_LONG, "BatchRequestTooLong",                                           \
      "AWS.SimpleQueueService.BatchRequestTooLong", 400, 1)                                        \
    X(SQS_EMPTY_BATCH_REQUEST, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",    \
      400, 1)                                                                                      \
    X(SQS_INVALID_BATCH_ENTRY_ID, "InvalidBatchEntryId",                                           \
      "AWS.SimpleQueueService.InvalidBatchEntryId", 400, 1)                                        \
    X(SQS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST, "TooManyEntriesInBatchRequest",                       \
      "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, 1)                               \
    X(SQS_UNSUPPORTED_OPERATION, "UnsupportedOperation",                                           \
      "AWS.SimpleQueueService.UnsupportedOperation", 400, 1)                                       \
    X(SQS_PURGE_QUEUE_IN_PROGRESS, "PurgeQueueInProgress",                                         \
      "AWS.SimpleQueueService.PurgeQueueInProgress", 403, 1)                                       \
    X(SQS_OVER_LIMIT, "OverLimit", "OverLimit", 403, 1)                                            \
    X(SQS_RESOURCE_NOT_FOUND, "ResourceNotFoundException", "ResourceNotFoundException", 404, 1)    \
    /* EventBridge */                                                                              \
    X(EVENTS_RESOURCE_NOT_FOUND, "ResourceNotFoundException", "ResourceNotFoundException", 400, 1) \
    X(EVENTS_RESOURCE_ALREADY_EXISTS, "ResourceAlreadyExistsException",                            \
      "ResourceAlreadyExistsException", 400, 1)                                                    \
    X(EVENTS_VALIDATION, "ValidationException", "ValidationException", 400, 1)                     \
    X(EVENTS_INVALID_EVENT_PATTERN, "InvalidEventPatternException",                                \
      "InvalidEventPatternException", 400, 1)                                                      \
    X(EVENTS_ILLEGAL_STATUS, "IllegalStatusException", "IllegalStatusException", 400, 1)           \
    X(EVENTS_INVALID_STATE, "InvalidStateException", "InvalidStateException", 400, 1)              \
    X(EVENTS_INTERNAL, "InternalException", "InternalException", 500, 0)                           \
    /* SNS */                                                                                      \
    X(SNS_NOT_FOUND, "NotFoundException", "NotFound", 404, 1)                                      \
    X(SNS_INVALID_PARAMETER, "InvalidParameterException", "InvalidParameter", 400, 1)              \
    X(SNS_PARAMETER_VALUE_INVALID, "InvalidParameterValueException", "ParameterValueInvalid", 400, \
      1)                                                                                           \
    X(SNS_AUTHORIZATION_ERROR, "AuthorizationErrorException", "AuthorizationError", 403, 1)        \
    X(SNS_BATCH_ENTRY_IDS_NOT_DISTINCT, "BatchEntryIdsNotDistinctException",                       \
      "BatchEntryIdsNotDistinct", 400, 1)                                                          \
    X(SNS_EMPTY_BATCH_REQUEST, "EmptyBatchRequestException", "EmptyBatchRequest", 400, 1)          \
    X(SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST, "TooManyEntriesInBatchRequestException",              \
      "TooManyEntriesInBatchRequest", 400, 1)                                                      \
    X(SNS_INVALID_BATCH_ENTRY_ID, "InvalidBatchEntryIdException", "InvalidBatchEntryId", 400, 1)   \
    X(SNS_BATCH_REQUEST_TOO_LONG, "BatchRequestTooLongException", "BatchRequestTooLong", 400, 1)   \
    X(SNS_TAG_LIMIT_EXCEEDED, "TagLimitExceededException", "TagLimitExceeded", 400, 1)             \
    X(SNS_RESOURCE_NOT_FOUND, "ResourceNotFoundException", "ResourceNotFound", 404, 1)             \
    /* SES (v1, Query) */                                                                          \
    X(SES_MESSAGE_REJECTED, "MessageRejected", "MessageRejected", 400, 1)                          \
    X(SES_TEMPLATE_DOES_NOT_EXIST, "TemplateDoesNotExistException", "TemplateDoesNotExist", 400,   \
      1)                                                                                           \
    X(SES_ALREADY_EXISTS, "AlreadyExistsException", "AlreadyExists", 400, 1)                       \
    X(SES_INVALID_TEMPLATE, "InvalidTemplateException", "InvalidTemplate", 400, 1)                 \
    X(SES_MISSING_RENDERING_ATTRIBUTE, "MissingRenderingAttributeException",                       \
      "MissingRenderingAttribute", 400, 1)                                                         \
    X(SES_INVALID_RENDERING_PARAMETER, "InvalidRenderingParameterException",                       \
      "InvalidRenderingParameter", 400, 1)                                                         \
    X(SES_CONFIGURATION_SET_DOES_NOT_EXIST, "ConfigurationSetDoesNotExistException",               \
      "ConfigurationSetDoesNotExist", 400, 1)                                                      \
    X(SES_MAIL_FROM_DOMAIN_NOT_VERIFIED, "MailFromDomainNotVerifiedException",                     \
      "MailFromDomainNotVerifiedException", 400, 1)                                                \
    X(SES_LIMIT_EXCEEDED, "LimitExceededException", "LimitExceeded", 400, 1)                       \
    /* SES v2 (REST-JSON) */                                                                       \
    X(SESV2_NOT_FOUND, "NotFoundException", "NotFoundException", 404, 1)                           \
    X(SESV2_BAD_REQUEST, "BadRequestException", "BadRequestException", 400, 1)                     \
    X(SESV2_ALREADY_EXISTS, "AlreadyExistsException", "AlreadyExistsException", 400, 1)            \
    X(SESV2_TOO_MANY_REQUESTS, "TooManyRequestsException", "TooManyRequestsException", 429, 1)     \
    X(SESV2_INVALID_NEXT_TOKEN, "InvalidNextTokenException", "InvalidNextTokenException", 400, 1)  \
    X(SESV2_CONFLICT, "ConflictException", "ConflictException", 409, 1)                            \
    /* Lambda (REST-JSON; its 404 ResourceNotFoundException and 429 TooManyRequestsException       \
     * are the SQS and SES v2 rows) */                                                             \
    X(LAMBDA_INVALID_PARAMETER_VALUE, "InvalidParameterValueException",                            \
      "InvalidParameterValueException", 400, 1)                                                    \
    X(LAMBDA_RESOURCE_CONFLICT, "ResourceConflictException", "ResourceConflictException", 409, 1)  \
    X(LAMBDA_REQUEST_TOO_LARGE, "RequestEntityTooLargeException",                                  \
      "RequestEntityTooLargeException", 413, 1)                                                    \
    X(LAMBDA_INVALID_REQUEST_CONTENT, "InvalidRequestContentException",                            \
      "InvalidRequestContentException", 400, 1)                                                    \
    X(LAMBDA_SERVICE, "ServiceException", "ServiceException", 500, 0)                              \
    X(LAMBDA_PRECONDITION_FAILED, "PreconditionFailedException", "PreconditionFailedException",    \
      412, 1)                                                                                      \
    /* DynamoDB (ValidationException, ResourceNotFoundException: the EVENTS_ rows) */              \
    X(DDB_RESOURCE_IN_USE, "ResourceInUseException", "ResourceInUseException", 400, 1)             \
    X(DDB_CONDITIONAL_CHECK_FAILED, "ConditionalCheckFailedException",                             \
      "ConditionalCheckFailedException", 400, 1)                                                   \
    X(DDB_TRANSACTION_CANCELED, "TransactionCanceledException", "TransactionCanceledException",    \
      400, 1)                                                                                      \
    X(DDB_TRANSACTION_CONFLICT, "TransactionConflictException", "TransactionConflictException",    \
      400, 1)                                                                                      \
    X(DDB_IDEMPOTENT_PARAMETER_MISMATCH, "IdempotentParameterMismatchException",                   \
      "IdempotentParameterMismatchException", 400, 1)                                              \
    X(DDB_ITEM_COLLECTION_SIZE_LIMIT, "ItemCollectionSizeLimitExceededException",                  \
      "ItemCollectionSizeLimitExceededException", 400, 1)                                          \
    X(DDB_PROVISIONED_THROUGHPUT_EXCEEDED, "ProvisionedThroughputExceededException",               \
      "ProvisionedThroughputExceededException", 400, 1)                                            \
    X(DDB_INTERNAL_SERVER_ERROR, "InternalServerError", "InternalServerError", 500, 0)             \
    X(DDB_EXPIRED_ITERATOR, "ExpiredIteratorException", "ExpiredIteratorException", 400, 1)        \
    X(DDB_TRIMMED_DATA_ACCESS, "TrimmedDataAccessException", "TrimmedDataAccessException", 400, 1) \
    X(SFN_INVALID_DEFINITION, "InvalidDefinition", "InvalidDefinition", 400, 1)                    \
    X(SFN_INVALID_ARN, "InvalidArn", "InvalidArn", 400, 1)                                         \
    X(SFN_INVALID_NAME, "InvalidName", "InvalidName", 400, 1)                                      \
    X(SFN_STATE_MACHINE_ALREADY_EXISTS, "StateMachineAlreadyExists", "StateMachineAlreadyExists",  \
      400, 1)                                                                                      \
    X(SFN_STATE_MACHINE_DOES_NOT_EXIST, "StateMachineDoesNotExist", "StateMachineDoesNotExist",    \
      400, 1)                                                                                      \
    X(SFN_EXECUTION_ALREADY_EXISTS, "ExecutionAlreadyExists", "ExecutionAlreadyExists", 400, 1)    \
    X(SFN_EXECUTION_DOES_NOT_EXIST, "ExecutionDoesNotExist", "ExecutionDoesNotExist", 400, 1)      \
    X(SFN_RESOURCE_NOT_FOUND, "ResourceNotFound", "ResourceNotFound", 400, 1)                      \
    X(SFN_TOO_MANY_TAGS, "TooManyTags", "TooManyTags", 400, 1)                                     \
    X(SFN_INVALID_EXECUTION_INPUT, "InvalidExecutionInput", "InvalidExecutionInput", 400, 1)       \
    X(SFN_INVALID_TOKEN, "InvalidToken", "InvalidToken", 400, 1)                                   \
    X(SFN_TASK_TIMED_OUT, "TaskTimedOut", "TaskTimedOut", 400, 1)                                  \
    X(SFN_TASK_DOES_NOT_EXIST, "TaskDoesNotExist", "TaskDoesNotExist", 400, 1)                     \
    X(SFN_INVALID_OUTPUT, "InvalidOutput", "InvalidOutput", 400, 1)                                \
    X(SFN_ACTIVITY_DOES_NOT_EXIST, "ActivityDoesNotExist", "ActivityDoesNotExist", 400, 1)         \
    X(SFN_CONFLICT, "ConflictException", "ConflictException", 400, 1)                              \
    X(SFN_SERVICE_QUOTA_EXCEEDED, "ServiceQuotaExceededException",                                 \
      "ServiceQuotaExceededException", 400, 1)                                                     \
    X(SFN_EXECUTION_NOT_REDRIVABLE, "ExecutionNotRedrivable", "ExecutionNotRedrivable", 400, 1)    \
    X(SFN_STATE_MACHINE_TYPE_NOT_SUPPORTED, "StateMachineTypeNotSupported",                        \
      "StateMachineTypeNotSupported", 400, 1)                                                      \
    X(SFN_MISSING_REQUIRED_PARAMETER, "MissingRequiredParameter", "MissingRequiredParameter", 400, \
      1)                                                                                           \
    X(DDB_DUPLICATE_ITEM, "DuplicateItemException", "DuplicateItemException", 400, 1)              \
    /* S3 (REST-XML: the shape is the <Code>) */                                                   \
    X(S3_NO_SUCH_BUCKET, "NoSuchBucket", "NoSuchBucket", 404, 1)                                   \
    X(S3_NO_SUCH_KEY, "NoSuchKey", "NoSuchKey", 404, 1)                                            \
    X(S3_BUCKET_ALREADY_OWNED_BY_YOU, "BucketAlreadyOwnedByYou", "BucketAlreadyOwnedByYou", 409,   \
      1)                                                                                           \
    X(S3_BUCKET_NOT_EMPTY, "BucketNotEmpty", "BucketNotEmpty", 409, 1)                             \
    X(S3_INVALID_BUCKET_NAME, "InvalidBucketName", "InvalidBucketName", 400, 1)                    \
    X(S3_BAD_DIGEST, "BadDigest", "BadDigest", 400, 1)                                             \
    X(S3_INVALID_DIGEST, "InvalidDigest", "InvalidDigest", 400, 1)                                 \
    X(S3_ENTITY_TOO_LARGE, "EntityTooLarge", "EntityTooLarge", 400, 1)                             \
    X(S3_INVALID_RANGE, "InvalidRange", "InvalidRange", 416, 1)                                    \
    X(S3_PRECONDITION_FAILED, "PreconditionFailed", "PreconditionFailed", 412, 1)                  \
    X(S3_NOT_MODIFIED, "NotModified", "NotModified", 304, 1)                                       \
    X(S3_INVALID_ARGUMENT, "InvalidArgument", "InvalidArgument", 400, 1)                           \
    X(S3_MALFORMED_XML, "MalformedXML", "MalformedXML", 400, 1)                                    \
    X(S3_NOT_IMPLEMENTED, "NotImplemented", "NotImplemented", 501, 0)                              \
    X(S3_OPERATION_ABORTED, "OperationAborted", "OperationAborted", 409, 1)                        \
    X(S3_INVALID_REQUEST, "InvalidRequest", "InvalidRequest", 400, 1)                              \
    X(S3_KEY_TOO_LONG, "KeyTooLongError", "KeyTooLongError", 400, 1)                               \
    X(S3_TOO_MANY_BUCKETS, "TooManyBuckets", "TooManyBuckets", 400, 1)                             \
    X(S3_INVALID_LOCATION_CONSTRAINT, "InvalidLocationConstraint", "InvalidLocationConstraint",    \
      400, 1)                                                                                      \
    X(S3_NO_SUCH_UPLOAD, "NoSuchUpload", "NoSuchUpload", 404, 1)                                   \
    X(S3_INVALID_PART, "InvalidPart", "InvalidPart", 400, 1)                                       \
    X(S3_INVALID_PART_ORDER, "InvalidPartOrder", "InvalidPartOrder", 400, 1)                       \
    X(S3_ENTITY_TOO_SMALL, "EntityTooSmall", "EntityTooSmall", 400, 1)

typedef enum {
#define AWS_ERROR_ENUM(name, shape, query_code, status, sender) AWS_ERR_##name,
    AWS_ERRORS(AWS_ERROR_ENUM)
#undef AWS_ERROR_ENUM
        AWS_ERR__COUNT
} aws_error;

typedef struct aws_error_info {
    const char *shape;
    const char *query_code;
    int http_status;
    int sender_fault;
} aws_error_info;

const aws_error_info *aws_error_lookup(aws_error e);

#endif
