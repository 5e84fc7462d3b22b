/* siemproc-bench: parse + normalize + JSON output throughput on one core.
 *
 * Generates realistic records in memory (nothing is read from disk, so the
 * numbers are the engine's, not the page cache's), feeds them through the
 * same ingest path `siemproc parse` uses, and serialises every document.
 * Reports events/s and MB/s of raw input per CPU-second, and peak RSS.
 *
 *   siemproc-bench [--type vpcflowlogs|alb|cloudtrail|all] [--mb N] [--geoip-dir DIR]
 *   siemproc-bench --rss-test [--mb N]      stream N MB through gzip into ingest
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>
#include "cli.h"
#include "geoip.h"
#include "ingest.h"

struct gen {
    unsigned long long seq;
    unsigned rnd;
};

static unsigned next_rand(struct gen *g)
{
    g->rnd = g->rnd * 1103515245u + 12345u;
    return g->rnd >> 8;
}

static const char *const public_ips[] = { "81.2.69.142", "216.160.83.56", "89.160.20.112", "175.16.199.1", "67.43.156.1" };

static void ip_pick(struct gen *g, char *out, int public_ip)
{
    if (public_ip) { strcpy(out, public_ips[next_rand(g) % 5]); return; }
    sprintf(out, "10.%u.%u.%u", next_rand(g) % 256, next_rand(g) % 256, next_rand(g) % 254 + 1);
}

static void gen_vpc(struct gen *g, buf_t *b)
{
    char src[32], dst[32];
    ip_pick(g, src, next_rand(g) % 3 == 0);
    ip_pick(g, dst, 0);
    unsigned long long start = 1764300000ULL + g->seq / 1000;
    buf_printf(b, "2 123456789012 eni-0a1b2c3d4e5f%05u %s %s %u %u %u %u %u %llu %llu %s OK\n",
               next_rand(g) % 100000, src, dst, next_rand(g) % 65535, next_rand(g) % 2 ? 443 : 22,
               next_rand(g) % 4 ? 6 : 17, next_rand(g) % 100 + 1, next_rand(g) % 100000 + 40, start, start + 60,
               next_rand(g) % 5 ? "ACCEPT" : "REJECT");
}

static void gen_alb(struct gen *g, buf_t *b)
{
    char src[32], dst[32];
    ip_pick(g, src, next_rand(g) % 2);
    ip_pick(g, dst, 0);
    unsigned ms = (unsigned)(g->seq % 1000);
    buf_printf(b, "https 2026-11-28T03:%02u:%02u.%03u123Z app/my-loadbalancer/50dc6c495c0c9188 %s:%u %s:80 "
                  "0.000 0.0%02u 0.000 %d %d 34 %u \"GET https://www.example.com:443/api/v1/items/%u?page=%u HTTP/1.1\" "
                  "\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\" "
                  "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
                  "\"Root=1-58337262-36d228ad5d99923122bbe354\" \"www.example.com\" "
                  "\"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012\" 1 "
                  "2026-11-28T03:%02u:%02u.%03u000Z \"forward\" \"-\" \"-\" \"%s:80\" \"200\" \"-\" \"-\"\n",
               (unsigned)(g->seq / 60000 % 60), (unsigned)(g->seq / 1000 % 60), ms, src, 1024 + next_rand(g) % 60000,
               dst, next_rand(g) % 100, next_rand(g) % 10 ? 200 : 404, next_rand(g) % 10 ? 200 : 404,
               next_rand(g) % 5000 + 200, next_rand(g) % 10000, next_rand(g) % 50,
               (unsigned)(g->seq / 60000 % 60), (unsigned)(g->seq / 1000 % 60), ms, dst);
}

static void gen_cloudtrail(struct gen *g, buf_t *b)
{
    char src[32];
    ip_pick(g, src, 1);
    static const char *const names[] = { "GetObject", "PutObject", "DescribeInstances", "AssumeRole", "ConsoleLogin" };
    const char *name = names[next_rand(g) % 5];
    int err = next_rand(g) % 10 == 0;
    buf_printf(b, "%s{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AssumedRole\",\"principalId\":\"AROAEXAMPLE:session-%u\","
                  "\"arn\":\"arn:aws:sts::123456789012:assumed-role/Admin/session-%u\",\"accountId\":\"123456789012\","
                  "\"accessKeyId\":\"ASIAEXAMPLE%08u\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\","
                  "\"principalId\":\"AROAEXAMPLE\",\"arn\":\"arn:aws:iam::123456789012:role/Admin\",\"accountId\":\"123456789012\","
                  "\"userName\":\"Admin\"},\"attributes\":{\"creationDate\":\"2026-11-28T02:00:00Z\",\"mfaAuthenticated\":\"false\"}}},"
                  "\"eventTime\":\"2026-11-28T03:%02u:%02uZ\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"%s\","
                  "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"%s\",\"userAgent\":\"[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.4.5]\","
                  "%s\"requestParameters\":{\"bucketName\":\"my-bucket\",\"Host\":\"my-bucket.s3.us-east-1.amazonaws.com\",\"key\":\"data/object-%u.json\"},"
                  "\"responseElements\":null,\"additionalEventData\":{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"ECDHE-RSA-AES128-GCM-SHA256\","
                  "\"bytesTransferredIn\":0,\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"EXAMPLE/abc123=\",\"bytesTransferredOut\":%u},"
                  "\"requestID\":\"%08X%08X\",\"eventID\":\"%08x-%04x-4%03x-a%03x-%012llx\",\"readOnly\":true,"
                  "\"resources\":[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::my-bucket/data/object-%u.json\"},"
                  "{\"accountId\":\"123456789012\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::my-bucket\"}],"
                  "\"eventType\":\"AwsApiCall\",\"managementEvent\":false,\"recipientAccountId\":\"123456789012\","
                  "\"eventCategory\":\"Data\",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.2\",\"cipherSuite\":\"ECDHE-RSA-AES128-GCM-SHA256\","
                  "\"clientProvidedHostHeader\":\"my-bucket.s3.us-east-1.amazonaws.com\"}}",
               g->seq ? "," : "", next_rand(g) % 1000, next_rand(g) % 1000, next_rand(g) % 100000000,
               (unsigned)(g->seq / 60000 % 60), (unsigned)(g->seq / 1000 % 60), name, src,
               err ? "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"Access Denied\"," : "",
               next_rand(g) % 100000, next_rand(g) % 100000, next_rand(g), next_rand(g), next_rand(g), next_rand(g) % 65536,
               next_rand(g) % 4096, next_rand(g) % 4096, (unsigned long long)g->seq, next_rand(g) % 100000);
}

struct bench_type {
    const char *name;
    const char *s3_key;
    void (*gen)(struct gen *, buf_t *);
    const char *prefix, *suffix;     /* document framing around the records */
};

static const struct bench_type types[] = {
    { "vpcflowlogs", "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/123456789012_vpcflowlogs_us-east-1_fl-1_20261128T0300Z_abc.log.gz",
      gen_vpc, "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n", "" },
    { "alb", "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/28/123456789012_elasticloadbalancing_us-east-1_app.my-lb.50dc6c495c0c9188_20261128T0300Z_10.0.0.1_2z4k5v1r.log.gz",
      gen_alb, "", "" },
    { "cloudtrail", "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/123456789012_CloudTrail_us-east-1_20261128T0300Z_abc.json.gz",
      gen_cloudtrail, "{\"Records\":[", "]}\n" },
};

struct counter {
    buf_t out;
    unsigned long long docs, out_bytes, failed;
};

static int count_doc(void *arg, const struct ingest_event *ev)
{
    struct counter *c = arg;
    buf_reset(&c->out);
    doc_emit(ev->doc, &c->out);
    c->docs++;
    c->out_bytes += c->out.len + 1;
    return 0;
}

static void count_fail(void *arg, const struct ingest_event *ev)
{
    struct counter *c = arg;
    if (c->failed++ < 3) fprintf(stderr, "bench: record failed: %s\n", ev->message);
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Build the whole input once, then time only the engine. */
static void run_type(const struct bench_type *t, const struct schema_set *set, struct geoip *geo, size_t mb)
{
    buf_t input;
    buf_init(&input);
    struct gen g = { 0, 12345 };
    buf_puts(&input, t->prefix);
    unsigned long long records = 0;
    while (input.len < mb << 20) { t->gen(&g, &input); g.seq++; records++; }
    buf_puts(&input, t->suffix);

    struct normalizer_opts no = { .geoip = geo };
    struct normalizer *nz = normalizer_new(&no);
    struct counter c = { 0 };
    buf_init(&c.out);
    struct ingest_cb cb = { count_doc, NULL, count_fail };
    struct ingest *ig = ingest_new(set, nz, &cb, &c);
    struct ingest_object obj = { .s3_key = t->s3_key, .origin = "bench" };
    double t0 = cpu_seconds();
    ingest_begin(ig, &obj);
    for (size_t off = 0; off < input.len; off += 1 << 20) {
        size_t n = input.len - off < (1 << 20) ? input.len - off : (1 << 20);
        ingest_feed(ig, input.data + off, n);
    }
    int st = ingest_end(ig);
    double secs = cpu_seconds() - t0;
    printf("%-12s geoip=%-3s records=%llu docs=%llu failed=%llu status=%d  %.0f events/s  %.1f MB/s in  %.1f MB/s out  cpu=%.2fs  peak_rss=%.1f MB\n",
           t->name, geo ? "on" : "off", records, c.docs, c.failed, st, (double)c.docs / secs,
           (double)input.len / secs / 1e6, (double)c.out_bytes / secs / 1e6, secs, (double)peak_rss_kb() / 1024.0);
    ingest_free(ig);
    normalizer_free(nz);
    buf_free(&c.out);
    buf_free(&input);
}

/* Stream mb MB of generated records through gzip into ingest without ever
 * holding the object: peak RSS must stay flat whatever the object size. */
static void rss_test(const struct bench_type *t, const struct schema_set *set, size_t mb)
{
    struct normalizer *nz = normalizer_new(NULL);
    struct counter c = { 0 };
    buf_init(&c.out);
    struct ingest_cb cb = { count_doc, NULL, count_fail };
    struct ingest *ig = ingest_new(set, nz, &cb, &c);
    struct ingest_object obj = { .s3_key = t->s3_key, .origin = "rss-test" };
    ingest_begin(ig, &obj);
    z_stream z = { 0 };
    deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    buf_t plain, gz;
    buf_init(&plain);
    buf_init(&gz);
    buf_reserve(&gz, 1 << 20);
    struct gen g = { 0, 777 };
    size_t total = 0, compressed = 0;
    buf_puts(&plain, t->prefix);
    double t0 = cpu_seconds();
    for (int done = 0; !done;) {
        while (plain.len < (1 << 20) && total + plain.len < mb << 20) { t->gen(&g, &plain); g.seq++; }
        done = total + plain.len >= mb << 20;
        if (done) buf_puts(&plain, t->suffix);
        z.next_in = (unsigned char *)plain.data;
        z.avail_in = (uInt)plain.len;
        do {
            z.next_out = (unsigned char *)gz.data;
            z.avail_out = (uInt)gz.cap - 1;
            deflate(&z, done ? Z_FINISH : Z_NO_FLUSH);
            size_t n = gz.cap - 1 - z.avail_out;
            compressed += n;
            ingest_feed(ig, gz.data, n);
        } while (z.avail_out == 0);
        total += plain.len;
        buf_reset(&plain);
    }
    deflateEnd(&z);
    int st = ingest_end(ig);
    double secs = cpu_seconds() - t0;
    printf("rss-test %-12s plain=%zu MB gzip=%zu MB docs=%llu failed=%llu status=%d cpu=%.1fs peak_rss=%.1f MB\n",
           t->name, total >> 20, compressed >> 20, c.docs, c.failed, st, secs, (double)peak_rss_kb() / 1024.0);
    ingest_free(ig);
    normalizer_free(nz);
    buf_free(&c.out);
    buf_free(&plain);
    buf_free(&gz);
}

int main(int argc, char **argv)
{
    const char *only = "all", *geoip_dir = NULL;
    size_t mb = 0;
    int rss = 0;
    static const struct option opts[] = {
        { "type", required_argument, 0, 't' }, { "mb", required_argument, 0, 'm' },
        { "geoip-dir", required_argument, 0, 'g' }, { "rss-test", no_argument, 0, 'r' }, { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "t:m:g:r", opts, NULL)) != -1) {
        if (c == 't') only = optarg;
        else if (c == 'm') mb = strtoull(optarg, NULL, 10);
        else if (c == 'g') geoip_dir = optarg;
        else if (c == 'r') rss = 1;
        else return 2;
    }
    struct schema_set set;
    if (cli_load_schemas(&set, NULL) < 0) return 2;
    struct geoip *geo = NULL;
    char err[256];
    if (geoip_dir && !(geo = geoip_open(geoip_dir, err, sizeof err))) { fprintf(stderr, "geoip: %s\n", err); return 1; }
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(only, "all") && strcmp(only, types[i].name)) continue;
        size_t n = mb ? mb : (rss ? 1024 : strcmp(types[i].name, "vpcflowlogs") == 0 ? 128 : 64);
        if (rss) rss_test(&types[i], &set, n);
        else run_type(&types[i], &set, geo, n);
    }
    if (geo) geoip_close(geo);
    schema_set_free(&set);
    return 0;
}
