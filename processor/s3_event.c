/* s3_event: see s3_event.h. Notifications are small envelopes: jansson. */
#include <jansson.h>
#include <string.h>
#include "buf.h"
#include "s3_event.h"
#include "timeparse.h"

#define MAX_DEPTH 4
#define MAX_NOTIFICATION (4u << 20)     /* SQS/SNS cap messages at 256 KiB; EventBridge at 256 KiB */

enum { NOT_ONE = 0, IS_ONE = 1 };

static int parse_text(const char *data, size_t len, struct s3_event *ev, int depth);

static const char *str_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t s3_event_decode_key(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '+') out[o++] = ' ';
        else if (in[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)in[i + 1])) >= 0 &&
                 (lo = hexval((unsigned char)in[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else out[o++] = in[i];
    }
    out[o] = 0;
    return o;
}

static void add_object(struct s3_event *ev, const char *bucket, const char *key, const char *region,
                       const char *time, const json_t *size)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 4;
        ev->obj = xrealloc(ev->obj, (size_t)ev->cap * sizeof *ev->obj);
    }
    struct s3_event_object *o = &ev->obj[ev->n++];
    size_t kl = strlen(key);
    o->bucket = xstrdup(bucket);
    o->key = xmalloc(kl + 1);
    s3_event_decode_key(key, kl, o->key);
    o->region = xstrdup(region ? region : "");
    o->time_ms = 0;
    if (time) ts_parse(TS_ISO8601, time, strlen(time), NULL, &o->time_ms);
    o->size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1;
}

/* One element of an S3 event "Records" array. */
static int s3_record(const json_t *r, struct s3_event *ev)
{
    const json_t *s3 = json_object_get(r, "s3");
    const char *bucket = str_at(json_object_get(s3, "bucket"), "name");
    const json_t *obj = json_object_get(s3, "object");
    const char *key = str_at(obj, "key"), *name = str_at(r, "eventName");
    if (!bucket || !key || !name) return NOT_ONE;
    if (strstr(name, "ObjectCreated:")) add_object(ev, bucket, key, str_at(r, "awsRegion"), str_at(r, "eventTime"),
                                                   json_object_get(obj, "size"));
    else ev->skipped++;
    return IS_ONE;
}

/* {"Records":[...]}: S3 records, or SQS/SNS batches whose bodies are notifications. */
static int records(const json_t *arr, struct s3_event *ev, int depth)
{
    size_t i;
    const json_t *r;
    int any = NOT_ONE;
    json_array_foreach(arr, i, r) {
        const char *src = str_at(r, "eventSource"), *Src = str_at(r, "EventSource"), *body;
        if (json_object_get(r, "s3")) any |= s3_record(r, ev);
        else if (src && strcmp(src, "aws:sqs") == 0 && (body = str_at(r, "body")))
            any |= parse_text(body, strlen(body), ev, depth + 1);
        else if (Src && strcmp(Src, "aws:sns") == 0 && (body = str_at(json_object_get(r, "Sns"), "Message")))
            any |= parse_text(body, strlen(body), ev, depth + 1);
    }
    return any;
}

static int eventbridge(const json_t *root, struct s3_event *ev)
{
    const char *source = str_at(root, "source"), *type = str_at(root, "detail-type");
    const json_t *detail = json_object_get(root, "detail");
    if (!source || strcmp(source, "aws.s3") != 0 || !type || !json_is_object(detail)) return NOT_ONE;
    const char *bucket = str_at(json_object_get(detail, "bucket"), "name");
    const json_t *obj = json_object_get(detail, "object");
    const char *key = str_at(obj, "key");
    if (strcmp(type, "Object Created") == 0 && bucket && key)
        add_object(ev, bucket, key, str_at(root, "region"), str_at(root, "time"), json_object_get(obj, "size"));
    else ev->skipped++;
    return IS_ONE;
}

static int classify(const json_t *root, struct s3_event *ev, int depth)
{
    const json_t *recs = json_object_get(root, "Records");
    const char *type = str_at(root, "Type"), *event = str_at(root, "Event"), *body;
    if (json_is_array(recs)) return records(recs, ev, depth);
    if (event && strcmp(event, "s3:TestEvent") == 0) { ev->skipped++; return IS_ONE; }
    if (json_object_get(root, "detail-type")) return eventbridge(root, ev);
    if (type && str_at(root, "TopicArn")) {
        if (strcmp(type, "Notification") == 0 && (body = str_at(root, "Message")))
            return parse_text(body, strlen(body), ev, depth + 1);
        if (strstr(type, "Subscription")) { ev->skipped++; return IS_ONE; }
        return NOT_ONE;
    }
    if ((body = str_at(root, "Body")) || (body = str_at(root, "body"))) return parse_text(body, strlen(body), ev, depth + 1);
    return NOT_ONE;
}

static int parse_text(const char *data, size_t len, struct s3_event *ev, int depth)
{
    if (depth > MAX_DEPTH) return NOT_ONE;
    json_t *root = json_loadb(data, len, 0, NULL);
    int r = json_is_object(root) ? classify(root, ev, depth) : NOT_ONE;
    json_decref(root);
    return r;
}

/* Cheap test before any JSON parsing: raw log records are the common case. */
static int may_be_notification(const char *d, size_t n)
{
    static const char *const marks[] = { "\"s3\"", "s3:TestEvent", "\"detail-type\"", "\"TopicArn\"",
                                         "\"Body\"", "\"body\"" };
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
    if (i == n || d[i] != '{' || n > MAX_NOTIFICATION) return 0;
    for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++)
        if (memmem(d, n, marks[m], strlen(marks[m]))) return 1;
    return 0;
}

void s3_event_free(struct s3_event *ev)
{
    for (int i = 0; i < ev->n; i++) {
        free(ev->obj[i].bucket);
        free(ev->obj[i].key);
        free(ev->obj[i].region);
    }
    free(ev->obj);
    memset(ev, 0, sizeof *ev);
}

int s3_event_parse(const char *data, size_t len, struct s3_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (!may_be_notification(data, len)) return NOT_ONE;
    if (parse_text(data, len, ev, 0) == IS_ONE) return IS_ONE;
    s3_event_free(ev);
    return NOT_ONE;
}
