/*
 * abi.c — bertc_struct_size: the size of each public struct, so that a binding that mirrors them (python/bertc's
 * ctypes Structures) can check at load that it was written for this library's layout.
 */
#include "base/abi.h"

#include "bertc.h"
#include "bertc_data.h"
#include "bertc_hub.h"
#include "bertc_train.h"

#include <string.h>

#define S(t) ABI_SIZE(t)
static const abi_size sizes[] = {
    S(bertc_error), S(bertc_encode_params), S(bertc_encoding), S(bertc_model_params), S(bertc_model_files),
    S(bertc_model_info), S(bertc_classify_params), S(bertc_classification), S(bertc_text), S(bertc_st_config),
    S(bertc_embed_params), S(bertc_embedding), S(bertc_zero_shot_params), S(bertc_zero_shot_result),
    S(bertc_token_class_params), S(bertc_token_entity), S(bertc_token_class_result), S(bertc_qa_params),
    S(bertc_answer), S(bertc_qa_result), S(bertc_fill_mask_params), S(bertc_mask_candidate),
    S(bertc_fill_mask_result), S(bertc_hub_params), S(bertc_hub_cached_model), S(bertc_train_event), S(bertc_train_params), S(bertc_distill_params),
    S(bertc_dataset_params), S(bertc_example), S(bertc_dataset), S(bertc_metrics_params), S(bertc_class_metrics), S(bertc_interval),
    S(bertc_curve_point), S(bertc_calibration_bin), S(bertc_threshold_point), S(bertc_metrics), S(bertc_mcnemar),
};
#undef S

size_t abi_size_find(const abi_size *t, size_t n, const char *name) {
    if (!name) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return t[i].size;
    return 0;
}

size_t bertc_struct_size(const char *name) { return abi_size_find(sizes, sizeof sizes / sizeof *sizes, name); }
