/* fuzz_bulk_response: the sink's reading of a _bulk response. Whatever the
 * cluster (or something pretending to be it) answers, every document of the
 * batch ends with exactly one result and the counts add up: a response that
 * cannot be read leaves the documents retriable, never lost or acknowledged.
 * Input: byte 0 = documents in the batch (1..16), the rest = response body. */
#include <stdint.h>
#include <stdlib.h>

#include "opensearch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct os_client *c;
    if (!c) {
        struct os_options o = {.urls = "http://127.0.0.1:9"};
        c = os_client_new(&o, NULL, 0);
    }
    if (!c || size < 1)
        return 0;
    struct os_batch b;
    os_batch_init(&b, NULL);
    size_t n = (size_t)(data[0] % 16) + 1;
    for (size_t i = 0; i < n; i++)
        os_batch_add(&b, "i", 1, "id", 2, "{}", 2, NULL, NULL);
    struct os_bulk_summary s;
    os_read_bulk_response(c, &b, (const char *)data + 1, size - 1, &s);
    if (s.ok + s.retry + s.failed != n || s.duplicates > s.ok)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct os_item *it = &b.items[i];
        if (it->status > OS_FAIL || (it->status != OS_OK && (!it->error_type || !it->error_reason)))
            abort();
    }
    os_batch_free(&b);
    return 0;
}
