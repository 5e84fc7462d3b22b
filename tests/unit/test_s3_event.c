/* test_s3_event: S3 notification shapes (S3 Records, MinIO, SNS, SQS body,
 * Lambda-style SQS/SNS batches, EventBridge), events that fetch nothing (test
 * events, removals, subscription messages), key URL-decoding, and messages
 * that must not be taken for notifications (a CloudTrail file, log lines). */
#include <stdio.h>
#include <string.h>
#include "s3_event.h"
#include "testlib.h"

#define REC(name, key) "{\"eventSource\":\"aws:s3\",\"awsRegion\":\"eu-west-1\",\"eventTime\":\"2024-01-02T03:04:05.678Z\"," \
    "\"eventName\":\"" name "\",\"s3\":{\"bucket\":{\"name\":\"logs\"},\"object\":{\"key\":\"" key "\",\"size\":42}}}"

static int parse(const char *s, struct s3_event *ev) { return s3_event_parse(s, strlen(s), ev); }

static void test_records(void)
{
    struct s3_event ev;
    CHECK_INT(parse("{\"Records\":[" REC("ObjectCreated:Put", "AWSLogs/a+b%2Bc%3D.gz") ","
                    REC("ObjectRemoved:Delete", "x") "," REC("ObjectCreated:CompleteMultipartUpload", "y") "]}", &ev), 1);
    CHECK_INT(ev.n, 2);
    CHECK_INT(ev.skipped, 1);
    CHECK_STR(ev.obj[0].bucket, "logs");
    CHECK_STR(ev.obj[0].key, "AWSLogs/a b+c=.gz");
    CHECK_STR(ev.obj[0].region, "eu-west-1");
    CHECK_INT(ev.obj[0].time_ms, 1704164645678LL);
    CHECK_INT(ev.obj[0].size, 42);
    CHECK_STR(ev.obj[1].key, "y");
    s3_event_free(&ev);
    /* MinIO: "s3:" prefixed names, an empty region. */
    CHECK_INT(parse("{\"EventName\":\"s3:ObjectCreated:Put\",\"Key\":\"logs/k\",\"Records\":[{\"eventSource\":\"minio:s3\","
                    "\"awsRegion\":\"\",\"eventName\":\"s3:ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"logs\"},"
                    "\"object\":{\"key\":\"dir%2Fk\"}}}]}", &ev), 1);
    CHECK_INT(ev.n, 1);
    CHECK_STR(ev.obj[0].key, "dir/k");
    CHECK_STR(ev.obj[0].region, "");
    CHECK_INT(ev.obj[0].size, -1);
    s3_event_free(&ev);
}

static void test_wrapped(void)
{
    struct s3_event ev;
    const char *sns = "{\"Type\":\"Notification\",\"TopicArn\":\"arn:aws:sns:us-east-1:1:t\",\"Message\":"
                      "\"{\\\"Records\\\":[{\\\"eventSource\\\":\\\"aws:s3\\\",\\\"eventName\\\":\\\"ObjectCreated:Put\\\","
                      "\\\"s3\\\":{\\\"bucket\\\":{\\\"name\\\":\\\"b\\\"},\\\"object\\\":{\\\"key\\\":\\\"k1\\\"}}}]}\"}";
    CHECK_INT(parse(sns, &ev), 1);
    CHECK_INT(ev.n, 1);
    CHECK_STR(ev.obj[0].key, "k1");
    s3_event_free(&ev);
    /* An SQS message (as the SQS API returns it) whose body is the SNS notification. */
    char sqs[4096];
    snprintf(sqs, sizeof sqs, "{\"MessageId\":\"m\",\"Body\":\"");
    for (const char *p = sns; *p; p++) {
        size_t l = strlen(sqs);
        if (*p == '"' || *p == '\\') sqs[l++] = '\\';
        sqs[l] = *p;
        sqs[l + 1] = 0;
    }
    strcat(sqs, "\"}");
    CHECK_INT(parse(sqs, &ev), 1);
    CHECK_INT(ev.n, 1);
    s3_event_free(&ev);
    /* A Lambda-style SQS batch of two S3 events. */
    CHECK_INT(parse("{\"Records\":[{\"eventSource\":\"aws:sqs\",\"body\":\"{\\\"Records\\\":[" "{\\\"eventName\\\":"
                    "\\\"ObjectCreated:Put\\\",\\\"s3\\\":{\\\"bucket\\\":{\\\"name\\\":\\\"b\\\"},\\\"object\\\":{\\\"key\\\":"
                    "\\\"k2\\\"}}}]}\"},{\"eventSource\":\"aws:sqs\",\"body\":\"{\\\"Service\\\":\\\"Amazon S3\\\","
                    "\\\"Event\\\":\\\"s3:TestEvent\\\"}\"}]}", &ev), 1);
    CHECK_INT(ev.n, 1);
    CHECK_INT(ev.skipped, 1);
    s3_event_free(&ev);
}

static void test_eventbridge_and_skips(void)
{
    struct s3_event ev;
    CHECK_INT(parse("{\"version\":\"0\",\"detail-type\":\"Object Created\",\"source\":\"aws.s3\",\"time\":"
                    "\"2021-11-12T00:00:00Z\",\"region\":\"ca-central-1\",\"detail\":{\"bucket\":{\"name\":\"eb\"},"
                    "\"object\":{\"key\":\"my+key\",\"size\":5}}}", &ev), 1);
    CHECK_INT(ev.n, 1);
    CHECK_STR(ev.obj[0].key, "my key");
    CHECK_STR(ev.obj[0].region, "ca-central-1");
    CHECK_INT(ev.obj[0].time_ms, 1636675200000LL);
    s3_event_free(&ev);
    CHECK_INT(parse("{\"detail-type\":\"Object Deleted\",\"source\":\"aws.s3\",\"detail\":{\"bucket\":{\"name\":\"b\"},"
                    "\"object\":{\"key\":\"k\"}}}", &ev), 1);
    CHECK_INT(ev.n + ev.skipped * 10, 10);
    s3_event_free(&ev);
    CHECK_INT(parse("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Bucket\":\"b\"}", &ev), 1);
    CHECK_INT(ev.skipped, 1);
    s3_event_free(&ev);
    CHECK_INT(parse("{\"Type\":\"SubscriptionConfirmation\",\"TopicArn\":\"arn:aws:sns:x\",\"SubscribeURL\":\"https://x\"}",
                    &ev), 1);
    CHECK_INT(ev.n, 0);
    s3_event_free(&ev);
}

static void test_not_notifications(void)
{
    struct s3_event ev;
    /* A CloudTrail log file: Records, but no S3 events in them. */
    CHECK_INT(parse("{\"Records\":[{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\","
                    "\"requestParameters\":{\"bucketName\":\"b\",\"key\":\"k\"},\"resources\":[{\"type\":\"s3\"}]}]}", &ev), 0);
    CHECK_INT(ev.n, 0);
    CHECK_INT(parse("2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK", &ev), 0);
    CHECK_INT(parse("{\"detail-type\":\"GuardDuty Finding\",\"source\":\"aws.guardduty\",\"detail\":{}}", &ev), 0);
    CHECK_INT(parse("{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"Message\":\"hello \\\"s3\\\"\"}", &ev), 0);
    CHECK_INT(parse("{\"s3\": broken json", &ev), 0);
    CHECK_INT(parse("{\"Records\":[{\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}", &ev), 0);   /* no key */
    /* Nesting is bounded. */
    char deep[8192] = "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}}]}";
    char tmp[8192];
    for (int i = 0; i < 6; i++) {
        size_t o = (size_t)snprintf(tmp, sizeof tmp, "{\"Body\":\"");
        for (const char *p = deep; *p && o < sizeof tmp - 4; p++) {
            if (*p == '"' || *p == '\\') tmp[o++] = '\\';
            tmp[o++] = *p;
        }
        snprintf(tmp + o, sizeof tmp - o, "\"}");
        memcpy(deep, tmp, sizeof deep);
    }
    CHECK_INT(parse(deep, &ev), 0);
}

static void test_decode_key(void)
{
    char out[64];
    CHECK_INT(s3_event_decode_key("a+b%20c%2f%zz%4", 15, out), 11);
    CHECK_STR(out, "a b c/%zz%4");
}

int main(void)
{
    test_records();
    test_wrapped();
    test_eventbridge_and_skips();
    test_not_notifications();
    test_decode_key();
    return tl_done();
}
