/* An order-validation Lambda function in C, on libsluice's runtime client (runtime
 * `provided.al2023`: this program is the zip's `bootstrap`).
 *
 * The event is an order as the e-commerce design's order.created event carries it,
 *     {"orderId":"ord_67890","customerId":"cust_111",
 *      "items":[{"productId":"prod_222","quantity":2,"price":29.99}],"total":59.98}
 * either alone or inside an envelope: EventBridge's "detail" or the event catalog's "data".
 * The function checks it (ids present, at least one item, positive integer quantities,
 * non-negative prices, a total equal to the items' sum to the cent, at most MAX_ORDER_TOTAL
 * if that variable is set) and answers
 *     {"orderId":"ord_67890","customerId":"cust_111","status":"validated","items":1,
 *      "total":59.98,"requestId":"..."}
 * or fails the invocation with errorType InvalidEvent (not a JSON object),
 * OrderValidationError (naming the first field at fault) or OrderLimitExceeded.
 * A MAX_ORDER_TOTAL that is not a positive number is an initialisation error
 * (InvalidConfiguration): the function cannot start. */
#include <sluice/runtime.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct config {
    double max_total; /* 0: no limit */
} config;

/* ---- validation --------------------------------------------------------------------------- */

/* The order inside the event: the event itself, or its "detail" / "data" envelope member. */
static json_t *order_of(json_t *event)
{
    json_t *inner = json_object_get(event, "detail");
    if (!json_is_object(inner))
        inner = json_object_get(event, "data");
    return json_is_object(inner) ? inner : event;
}

static const char *nonempty_string(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

/* Checks the items and sums them; on failure, names the field at fault in why. */
static int check_items(json_t *items, double *sum, char *why, size_t cap)
{
    if (!json_is_array(items) || json_array_size(items) == 0) {
        snprintf(why, cap, "items must be a non-empty array");
        return -1;
    }
    size_t i;
    json_t *item;
    *sum = 0;
    json_array_foreach(items, i, item)
    {
        json_t *qty = json_object_get(item, "quantity");
        json_t *price = json_object_get(item, "price");
        if (!nonempty_string(item, "productId"))
            snprintf(why, cap, "items[%zu].productId must be a non-empty string", i);
        else if (!json_is_integer(qty) || json_integer_value(qty) < 1)
            snprintf(why, cap, "items[%zu].quantity must be a positive integer", i);
        else if (!json_is_number(price) || json_number_value(price) < 0)
            snprintf(why, cap, "items[%zu].price must be a non-negative number", i);
        else {
            *sum += (double)json_integer_value(qty) * json_number_value(price);
            continue;
        }
        return -1;
    }
    return 0;
}

static int validate(const config *cfg, const sluice_invocation *inv, json_t *order,
                    sluice_response *out)
{
    const char *order_id = nonempty_string(order, "orderId");
    const char *customer_id = nonempty_string(order, "customerId");
    json_t *total = json_object_get(order, "total");
    char why[160];
    double sum;
    if (!order_id)
        return sluice_response_error(out, "OrderValidationError",
                                     "orderId must be a non-empty string");
    if (!customer_id)
        return sluice_response_error(out, "OrderValidationError",
                                     "customerId must be a non-empty string");
    if (check_items(json_object_get(order, "items"), &sum, why, sizeof why) != 0)
        return sluice_response_error(out, "OrderValidationError", "%s", why);
    if (!json_is_number(total))
        return sluice_response_error(out, "OrderValidationError", "total must be a number");
    double t = json_number_value(total);
    if (fabs(t - sum) >= 0.005)
        return sluice_response_error(out, "OrderValidationError",
                                     "total %.2f does not match the items' sum %.2f", t, sum);
    if (cfg->max_total > 0 && t > cfg->max_total)
        return sluice_response_error(out, "OrderLimitExceeded",
                                     "order %s: total %.2f is over the limit of %.2f", order_id, t,
                                     cfg->max_total);
    printf("validated order %s of %s: %zu items, total %.2f\n", order_id, customer_id,
           json_array_size(json_object_get(order, "items")), t);
    json_t *reply = json_pack("{s:s,s:s,s:s,s:I,s:f,s:s}", "orderId", order_id, "customerId",
                              customer_id, "status", "validated", "items",
                              (json_int_t)json_array_size(json_object_get(order, "items")), "total",
                              t, "requestId", inv->request_id);
    char *text = reply ? json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(reply);
    if (!text)
        return sluice_response_error(out, "Runtime.OutOfMemory", "cannot build the reply");
    int rc = sluice_response_set(out, text, strlen(text));
    free(text);
    return rc;
}

/* ---- the function ------------------------------------------------------------------------- */

static int handle(const sluice_invocation *inv, const char *payload, size_t len,
                  sluice_response *out, void *arg)
{
    const config *cfg = arg;
    json_error_t err;
    json_t *event = json_loadb(payload, len, JSON_DECODE_ANY, &err);
    if (!json_is_object(event)) {
        json_decref(event);
        return sluice_response_error(out, "InvalidEvent", "the event is not a JSON object: %s",
                                     event ? "another JSON value" : err.text);
    }
    validate(cfg, inv, order_of(event), out);
    json_decref(event);
    return 0; /* an error set on out is reported as the function's error */
}

int main(void)
{
    config cfg = {0};
    const char *limit = getenv("MAX_ORDER_TOTAL");
    if (limit && *limit) {
        char *end;
        cfg.max_total = strtod(limit, &end);
        if (*end || !(cfg.max_total > 0)) {
            fprintf(stderr, "MAX_ORDER_TOTAL=%s is not a positive number\n", limit);
            sluice_init_error("InvalidConfiguration", "MAX_ORDER_TOTAL must be a positive number");
            return 1;
        }
    }
    return sluice_runtime_run(handle, &cfg) == 0 ? 0 : 1;
}
