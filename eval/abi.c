/*
 * abi.c — bertc_eval_struct_size: the size of each public struct of bertc_eval.h, for bindings that mirror them
 * (libbertc's own: bertc_struct_size).
 */
#include "bertc_eval.h"

#include "base/abi.h"

#define S(t) ABI_SIZE(t)
static const abi_size sizes[] = {
    S(bertc_eval_params), S(bertc_predictions_params), S(bertc_bias_params), S(bertc_bias_summary),
    S(bertc_compare_params), S(bertc_seqeval_entity), S(bertc_seqeval_params), S(bertc_seqeval_scores),
    S(bertc_seqeval), S(bertc_squad_question), S(bertc_squad), S(bertc_ner_sentence), S(bertc_ner_dataset),
    S(bertc_ner_data_params), S(bertc_qa_example), S(bertc_qa_dataset), S(bertc_task_eval_params),
};
#undef S

size_t bertc_eval_struct_size(const char *name) { return abi_size_find(sizes, sizeof sizes / sizeof *sizes, name); }
