/* libFuzzer target: S3 notification recognition on arbitrary bytes. Every
 * listed object has a bucket and a key no longer than the input; the same
 * input always gives the same answer. */
#include <stdlib.h>
#include <string.h>
#include "s3_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3_event a, b;
    int ra = s3_event_parse((const char *)data, size, &a);
    int rb = s3_event_parse((const char *)data, size, &b);
    if (ra != rb || a.n != b.n || a.skipped != b.skipped) abort();
    if (!ra && (a.n || a.obj)) abort();
    for (int i = 0; i < a.n; i++) {
        if (!a.obj[i].bucket || !a.obj[i].key || strlen(a.obj[i].key) > size) abort();
        if (strcmp(a.obj[i].key, b.obj[i].key)) abort();
    }
    s3_event_free(&a);
    s3_event_free(&b);
    char *key = malloc(size + 1);
    if (s3_event_decode_key((const char *)data, size, key) > size) abort();
    free(key);
    return 0;
}
