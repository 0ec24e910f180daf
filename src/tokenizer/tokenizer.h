/*
 * tokenizer.h — the tokenizer's internal state, shared by load.c (tokenizer.json / legacy files) and
 * encode.c (normalize → pre-tokenize → WordPiece or byte-level BPE → truncate → post-process).
 * Mirrors Hugging Face tokenizers: normalizers/bert.rs, pre_tokenizers/{bert,byte_level}.rs,
 * models/{wordpiece,bpe}, processors/{template,roberta}.rs, utils/truncation.rs.
 */
#ifndef BERTC_TOKENIZER_H
#define BERTC_TOKENIZER_H

#include "../internal.h"

enum tok_kind { TOK_WORDPIECE = 1, TOK_BPE = 2 };

typedef struct added_token {
    char *content;
    size_t len;
    int32_t id;
    bool lstrip, rstrip, single_word, normalized, special;
} added_token;

/* (left id, right id) → (rank, merged id), open addressing on a 64-bit key. */
typedef struct pairmap {
    uint32_t cap;
    uint64_t *keys; /* UINT64_MAX = empty */
    uint64_t *vals;
} pairmap;

struct bertc_tokenizer {
    enum tok_kind kind;
    strmap vocab;      /* token string → id (BPE: raw bytes, not the byte-level unicode form) */
    char **id_to_tok;  /* id → token string as written in the vocab file (NUL-terminated) */
    int32_t vocab_size;

    /* BertNormalizer */
    bool bert_normalizer, clean_text, chinese, strip_accents, lowercase;
    /* BertPreTokenizer (WordPiece) or ByteLevel (BPE) */
    bool add_prefix_space, trim_offsets;

    /* WordPiece */
    int32_t unk_id;
    char prefix[16];
    size_t prefix_len;
    int max_input_chars;

    /* BPE */
    pairmap merges;
    int32_t byte_id[256]; /* id of each single byte's token, -1 when absent */

    uint8_t *tok_flags;           /* per id: 1 added token, 2 special */
    uint8_t *tok_lead, *tok_trail; /* per id: leading / trailing 'Ġ' or whitespace characters of its value */

    added_token *added;
    int n_added;
    bool added_first_byte[256];

    /* post-processor: cls A sep [sep] B sep */
    bool has_post;
    bool roberta_post; /* <s> A </s></s> B </s>, all type id 0 */
    int32_t cls_id, sep_id;
    int pair_type_id; /* type id of the second sequence (TemplateProcessing: 1) */
    bool post_trim, post_prefix; /* RobertaProcessing / ByteLevel post-processor: trim_offsets, add_prefix_space */

    int32_t pad_id;
    int model_max_length;
    int max_length_cap; /* set by the model from max_position_embeddings (0: none) */
};

bool pairmap_init(pairmap *m, uint32_t expected);
void pairmap_free(pairmap *m);
bool pairmap_put(pairmap *m, uint64_t key, uint64_t val);
static inline bool pairmap_get(const pairmap *m, uint64_t key, uint64_t *val) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t j = (uint32_t)(h >> 32) & (m->cap - 1);
    for (;;) {
        uint64_t k = m->keys[j];
        if (k == key) { *val = m->vals[j]; return true; }
        if (k == UINT64_MAX) return false;
        j = (j + 1) & (m->cap - 1);
    }
}

/* Effective default max length: model_max_length capped by the model's positions. */
int tokenizer_default_max_length(const bertc_tokenizer *t);
void tokenizer_set_position_cap(bertc_tokenizer *t, int cap);

/* Loads from in-memory file contents (used for the embedded model). Any pointer may be NULL except that
 * either tokenizer_json or (vocab_txt | vocab_json + merges_txt) must be given. */
bertc_status tokenizer_load_mem(const char *tokenizer_json, const char *tokenizer_config, const char *vocab_txt,
                                const char *vocab_json, const char *merges_txt, bertc_tokenizer **out,
                                bertc_error *err);

#endif
