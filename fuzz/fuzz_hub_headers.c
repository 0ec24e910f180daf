/* fuzz_hub_headers.c — HTTP response headers from a hub endpoint (X-Repo-Commit, ETag, X-Linked-Etag, sizes,
 * Location, X-Error-Code) through the same parser the downloads use. */
#include <stddef.h>
#include <stdint.h>
void hub_fuzz_headers(const char *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hub_fuzz_headers((const char *)data, size);
    return 0;
}
