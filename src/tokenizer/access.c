/*
 * access.c — what the task pipelines read of a tokenizer (word marks, special ids, vocabulary lookups), so that
 * src/tasks use the tokenizer through calls rather than its struct.
 */
#include "tokenizer/tokenizer.h"

#include <string.h>

enum tok_words tokenizer_word_rule(const bertc_tokenizer *t) {
    if (t->kind == TOK_WORDPIECE && t->prefix_len) return TOK_WORDS_PREFIX;
    if (t->kind == TOK_BPE && !t->bpe_chars && !t->generic) return TOK_WORDS_GPT2;
    if (t->kind == TOK_UNIGRAM) return TOK_WORDS_METASPACE;
    return TOK_WORDS_NONE;
}

const char *tokenizer_continuing_prefix(const bertc_tokenizer *t, size_t *len) {
    bool wp = t->kind == TOK_WORDPIECE;
    if (len) *len = wp ? t->prefix_len : 0;
    return wp ? t->prefix : "";
}

bool tokenizer_adds_prefix_space(const bertc_tokenizer *t) { return t->add_prefix_space; }

bool tokenizer_marks_subwords(const bertc_tokenizer *t) {
    return (t->kind == TOK_WORDPIECE && t->prefix_len) || (t->kind == TOK_BPE && t->bpe_prefix[0]);
}

int32_t tokenizer_unk_id(const bertc_tokenizer *t) { return t->unk_id; }

int32_t tokenizer_pair_first_special(const bertc_tokenizer *t) {
    return t->has_post && t->n_tpair && t->tpair[0].seq < 0 && t->tpair[0].n_ids ? t->tpair[0].ids[0] : -1;
}

int32_t tokenizer_added_token_id(const bertc_tokenizer *t, const char *content) {
    for (int i = 0; i < t->n_added; i++)
        if (!strcmp(t->added[i].content, content)) return t->added[i].id;
    return -1;
}

int32_t tokenizer_vocab_id(const bertc_tokenizer *t, const char *token) {
    for (int32_t i = 0; i < t->vocab_size; i++)
        if (t->id_to_tok[i] && !strcmp(t->id_to_tok[i], token)) return i;
    return -1;
}
