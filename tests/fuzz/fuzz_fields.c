/* libFuzzer target: the fields parser through the flat schemas (VPC Flow
 * Logs, ALB, NLB, Classic LB, S3 access logs) and the whole object path. The
 * first byte picks the schema; see ingest_harness.h for what is checked. */
#include "ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *types[] = { "vpcflowlogs", "alb", "s3accesslog", "nlb", "clb" };
    if (size < 1) return 0;
    harness_run(types[data[0] % 5], data + 1, size - 1);
    return 0;
}
