/* torchbin.c — pytorch_model.bin loading (written next). */
#include "tensors.h"
bertc_status torchbin_parse(tensor_set *ts, const uint8_t *data, size_t size, const char *what, bertc_error *err) {
    (void)ts; (void)data; (void)size;
    return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: pytorch_model.bin is not supported yet", what);
}
