/* libFuzzer target: the json parser and the normalizer through the
 * CloudTrail schema ({"Records":[...]} splitting, JSON Lines, CloudWatch Logs
 * payloads all reach it). See ingest_harness.h for what is checked. */
#include "ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_run("cloudtrail", data, size);
    return 0;
}
