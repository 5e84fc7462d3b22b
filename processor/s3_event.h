/* s3_event: recognise an S3 "object created" notification in a message and
 * list the objects it names.
 *
 * Shapes understood: the S3 event JSON ({"Records":[{"eventSource":"aws:s3",
 * "eventName":"ObjectCreated:...","s3":{...}}]}, MinIO's variant), the same
 * wrapped in an SNS notification ("Type":"Notification","Message":"...") and/or
 * in an SQS message body (a "Body"/"body" string, or a Lambda-style
 * {"Records":[{"eventSource":"aws:sqs","body":"..."}]} / "aws:sns" batch), and
 * EventBridge events ("source":"aws.s3","detail-type":"Object Created").
 * s3:TestEvent, SNS subscription messages and other event names (removals,
 * restores, ...) are notifications with nothing to fetch: counted in skipped.
 * Object keys are URL-decoded as S3 encodes them ('+' is a space, %XX a byte).
 * Must never: treat a log record that merely has a "Records" array (a
 * CloudTrail file) as a notification, or recurse without a bound. */
#ifndef SIEMPROC_S3_EVENT_H
#define SIEMPROC_S3_EVENT_H
#include <stddef.h>
#include <stdint.h>

struct s3_event_object {
    char   *bucket;
    char   *key;        /* decoded */
    char   *region;     /* "" when the event does not say */
    int64_t time_ms;    /* event time, 0 when absent */
    int64_t size;       /* -1 when absent */
};

struct s3_event {
    struct s3_event_object *obj;
    int n, cap;
    int skipped;        /* test events, subscription messages, non-create records */
};

/* 1: a notification (ev lists its objects; n may be 0), 0: not one (ev empty).
 * ev must be zeroed or freed before. */
int  s3_event_parse(const char *data, size_t len, struct s3_event *ev);
void s3_event_free(struct s3_event *ev);

/* Decode an S3 notification key into out (at least n + 1 bytes); returns the length. */
size_t s3_event_decode_key(const char *in, size_t n, char *out);
#endif
