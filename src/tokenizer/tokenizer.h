/*
 * tokenizer.h — the tokenizer's internal state, shared by load.c (tokenizer.json / legacy files) and
 * encode.c (normalize → pre-tokenize → WordPiece or byte-level BPE → truncate → post-process).
 * Mirrors Hugging Face tokenizers: normalizers/bert.rs, pre_tokenizers/{bert,byte_level}.rs,
 * models/{wordpiece,bpe}, processors/{template,roberta}.rs, utils/truncation.rs.
 */
#ifndef BERTC_TOKENIZER_H
#define BERTC_TOKENIZER_H

#include "base/internal.h"

#include <jansson.h>

enum tok_kind { TOK_WORDPIECE = 1, TOK_BPE = 2, TOK_UNIGRAM = 3 };
typedef struct bpe_cache bpe_cache;
/* the decoders (decode.c), in their chain's order */
enum { DEC_WORDPIECE = 1, DEC_BYTELEVEL, DEC_METASPACE, DEC_BPE_SUFFIX, DEC_REPLACE, DEC_FUSE, DEC_STRIP,
       DEC_BYTEFALLBACK };

/* A normalized string as tokenizers' NormalizedString keeps it: code points, each with the original byte span it
 * is aligned to. */
typedef struct nbuf {
    int32_t *cp, *os, *oe;
    size_t n, cap;
} nbuf;
bool nb_push(nbuf *b, int32_t c, int32_t os, int32_t oe);
void nb_free(nbuf *b);

/* Pieces of a pre-tokenized string: piece i is cps[start[i] .. start[i+1]). */
typedef struct pieces {
    nbuf cps;
    size_t *start;
    size_t n, cap;
} pieces;
void pieces_free(pieces *p);

/* Split / Replace patterns (regex.c) */
typedef struct tregex tregex;
tregex *tregex_compile(const char *pat, size_t len, bool literal, const char **why);
void tregex_free(tregex *re);
/* onig's find_iter: emit(start, end) in code point indices per match; false (*why set) when the search failed */
bool tregex_find_all(const tregex *re, const int32_t *s, size_t n, bool (*emit)(void *, size_t, size_t), void *ctx,
                     const char **why);
/* the same with a step budget of its own (tregex_find_all's: 2*10^6 + 256 per character; the fuzzer's is smaller) */
bool tregex_find_all_budget(const tregex *re, const int32_t *s, size_t n, bool (*emit)(void *, size_t, size_t),
                            void *ctx, const char **why, long budget);

/* pattern matches as (start, end) pairs of code point indices; ml_emit is tregex_find_all's emit for it */
typedef struct match_list {
    size_t *a;
    size_t n, cap;
} match_list;
bool ml_emit(void *ctx, size_t s, size_t e);
/* the end of the GPT-2 split pattern's match starting at code point i of cp[0, n) */
size_t gpt2_match_end(const int32_t *cp, size_t n, size_t i);
/* leading and trailing 'Ġ' or whitespace characters of a token's value (UTF-8) */
void token_space_counts(const char *v, size_t l, int *lead, int *trail);

enum { NO_BERT = 1, NO_NFD, NO_NFKD, NO_NFC, NO_NFKC, NO_LOWER, NO_STRIP_ACCENTS, NO_STRIP, NO_REPLACE, NO_PREPEND,
       NO_PRECOMPILED, NO_NMT };
typedef struct norm_op {
    int kind;
    bool clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
    bool left, right;                                  /* Strip */
    tregex *re;                                        /* Replace */
    char *content;                                     /* Replace content, Prepend string */
    size_t clen;
    const uint32_t *pc_trie; /* Precompiled: the double-array units and the normalized strings */
    size_t pc_units;
    const char *pc_norm;
    size_t pc_norm_len;
} norm_op;

enum { PT_BERT = 1, PT_BYTELEVEL, PT_WHITESPACE, PT_WSSPLIT, PT_METASPACE, PT_PUNCT, PT_DIGITS, PT_SPLIT, PT_CHARDELIM };
enum { SB_REMOVED, SB_ISOLATED, SB_MERGED_PREV, SB_MERGED_NEXT, SB_CONTIGUOUS };
typedef struct pre_op {
    int kind, behavior;
    bool individual, invert, add_prefix_space, use_regex, split;
    int32_t repl; /* Metaspace */
    int prepend;  /* Metaspace: 0 never, 1 always, 2 first */
    int32_t delim;
    tregex *re;
} pre_op;

typedef struct unigram_scratch {
    char *s;
    int32_t *cpi, *from, *id;
    double *score;
    size_t cap;
    size_t *path;
    size_t pcap;
} unigram_scratch;

/* a decoder: WordPiece (str: prefix, cleanup), Metaspace (repl, prepend), BPEDecoder (str: suffix), Replace (re,
 * content), Strip (repl: the character, start, stop) */
typedef struct dec_op {
    int kind;
    char str[16];
    bool cleanup;
    int32_t repl;
    int prepend;
    tregex *re;
    char *content;
    int start, stop;
} dec_op;

/* a post-processor template item: a special token's ids, or sequence A (0) or B (1) */
typedef struct tmpl_item {
    int seq; /* -1: special */
    int type_id;
    int32_t *ids;
    int n_ids;
} tmpl_item;

typedef struct added_token {
    char *content;
    size_t len;
    int32_t *ncp; /* normalized=true behind a normalizer: the normalized content it is matched as */
    size_t nn;
    int32_t id;
    bool lstrip, rstrip, single_word, normalized, special;
} added_token;

/* (left id, right id) → (rank, merged id), open addressing on a 64-bit key. */
typedef struct pairmap {
    uint32_t cap;
    uint64_t *kv; /* key, value, key, value, ...: a probe reads one cache line; key UINT64_MAX = empty */
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
    bool bpe_chars;          /* over characters, not bytes (no ByteLevel pre-tokenizer) */
    char bpe_prefix[16], bpe_suffix[16]; /* continuing_subword_prefix, end_of_word_suffix */
    bool bpe_byte_fallback, ignore_merges;
    bool has_unk_token;      /* the model names an unk_token (which may be missing from the vocab) */
    int32_t byte_id[256]; /* id of each single byte's token, -1 when absent */

    uint8_t *tok_flags;           /* per id: 1 added token, 2 special */
    uint8_t *tok_lead, *tok_trail; /* per id: leading / trailing 'Ġ' or whitespace characters of its value */
    uint8_t *tok_bytes;            /* byte-level BPE, per id: its raw bytes (0: more than 255, or not byte-level) */
    bpe_cache *bcache;             /* byte-level BPE: pieces already merged */

    added_token *added;
    int n_added;
    int n_norm_added; /* added tokens matched after normalization (normalized=true behind a normalizer) */
    bool added_first_byte[256];

    /* post-processor: a template for one sequence and for a pair (BertProcessing and RobertaProcessing are
     * written as theirs) */
    bool has_post;
    bool post_template; /* TemplateProcessing: its type ids hold without special tokens too */
    tmpl_item *tsingle, *tpair;
    int n_tsingle, n_tpair;

    /* the generic pipeline (pipeline.c), for tokenizers that are not BertNormalizer + BertPreTokenizer +
     * WordPiece or ByteLevel + BPE */
    bool generic;
    norm_op *norm;
    int n_norm;
    pre_op *pre;
    int n_pre;
    bool byte_level;      /* a ByteLevel pre-tokenizer: BPE runs on bytes */
    struct dec_op *dec;  /* the decoder chain (none: tokens joined by spaces) */
    int n_dec;
    bool dec_parsed;     /* tokenizer.json said (null included) */
    char dec_unsupported[40]; /* a decoder bertc_decode cannot follow: decoding says so by name */
    /* Unigram */
    double *scores, min_score;
    bool fuse_unk;
    bool post_trim, post_prefix; /* RobertaProcessing / ByteLevel post-processor: trim_offsets, add_prefix_space */

    int32_t pad_id;
    int model_max_length;
    bool trunc_left;      /* tokenizer.json's truncation direction: transformers' default truncation_side */
    int trunc_strategy;   /* BERTC_TRUNCATE_* (0: longest_first) */
    bool pad_from_json;   /* the padding section named the pad id */
    int max_length_cap; /* set by the model from max_position_embeddings (0: none) */
    char mask_token[64]; /* tokenizer_config.json's mask_token ("": none given) */
};

/* Overflowing windows as tokenizers' Encoding::truncate cuts them with a stride: windows of keep tokens over n, each
 * starting stride tokens before the previous ended, until one reaches the end (keep > stride). Returns their count;
 * *step is the distance between their starts (window w starts at w * step). */
size_t tokenizer_windows(size_t n, size_t keep, size_t stride, size_t *step);
/* The special tokens the post-processor adds to one sequence (pair false) or a pair; 0 without a post-processor. */
size_t tokenizer_added_count(const bertc_tokenizer *t, bool pair);
/* One window as the post-processor emits it: a's tokens [a0, a1) and, when b is not NULL, b's [b0, b1) through the
 * template (special tokens when specials is set), with the type ids, offsets, special marks and sequence ids
 * bertc_tokenize gives; no template: the tokens alone, b's with type id 1. a and b are encodings made without special
 * tokens. Free out with bertc_encoding_free. */
bertc_status tokenizer_emit_window(const bertc_tokenizer *t, bool specials, const bertc_encoding *a, size_t a0, size_t a1,
                                   const bertc_encoding *b, size_t b0, size_t b1, bertc_encoding *out, bertc_error *err);
/* The decoder chain over token strings (transformers' convert_tokens_to_string of a fast tokenizer). */
bertc_status tokenizer_decode_tokens(const bertc_tokenizer *t, const char *const *toks, const size_t *lens, size_t n,
                                     char **out, size_t *out_len, bertc_error *err);
bertc_status pipeline_parse(bertc_tokenizer *t, const json_t *normalizer, const json_t *pre, bertc_error *err);
bertc_status unigram_parse(bertc_tokenizer *t, const json_t *model, bertc_error *err);
void pipeline_free(bertc_tokenizer *t);
/* Normalizes seg in place (seg0: the segment's start, the alignment of nothing). */
bertc_status pipeline_normalize(const bertc_tokenizer *t, nbuf *seg, int32_t seg0, bertc_error *err);
/* Splits seg[a, b) of a normalized string into pieces. */
bertc_status pipeline_pretokenize(const bertc_tokenizer *t, const nbuf *seg, size_t a, size_t b, pieces *out,
                                  bertc_error *err);
bertc_status pipeline_from_bert(bertc_tokenizer *t, bertc_error *err);
bool unigram_piece(const bertc_tokenizer *t, const nbuf *cps, size_t a, size_t b, unigram_scratch *u,
                   bool (*push)(void *, int32_t, size_t, size_t), void *ctx);
void unigram_scratch_free(unigram_scratch *u);

/* byte-level BPE's piece cache (cache.c): thread-safe, lock-free */
#define BPE_CACHE_KEY 24
#define BPE_CACHE_TOKENS 22
bpe_cache *bpe_cache_new(void);
void bpe_cache_free(bpe_cache *c);
int bpe_cache_get(bpe_cache *c, uint32_t h, const unsigned char *key, size_t n, int32_t *ids, uint8_t *ends);
void bpe_cache_put(bpe_cache *c, uint32_t h, const unsigned char *key, size_t n, const int32_t *ids,
                   const uint8_t *ends, int nt);

bool pairmap_init(pairmap *m, uint32_t expected);
void pairmap_free(pairmap *m);
bool pairmap_put(pairmap *m, uint64_t key, uint64_t val);
static inline bool pairmap_get(const pairmap *m, uint64_t key, uint64_t *val) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t j = (uint32_t)(h >> 32) & (m->cap - 1);
    for (;;) {
        uint64_t k = m->kv[2 * j];
        if (k == key) { *val = m->kv[2 * j + 1]; return true; }
        if (k == UINT64_MAX) return false;
        j = (j + 1) & (m->cap - 1);
    }
}

/* ---- What the task pipelines (src/tasks) read of a tokenizer: through these (access.c), never its fields ---- */

/* How tokens mark words (the word ids tokenizers give): WordPiece's continuing prefix ("##": a token without it
 * starts a word), byte-level BPE's GPT-2 pre-tokenizer pieces, Unigram's U+2581 at a word's first token, or none
 * (every token a word of its own). */
enum tok_words { TOK_WORDS_NONE = 0, TOK_WORDS_PREFIX, TOK_WORDS_GPT2, TOK_WORDS_METASPACE };
enum tok_words tokenizer_word_rule(const bertc_tokenizer *t);
/* WordPiece's continuing-subword prefix ("##"; "" for other models), its length in *len. */
const char *tokenizer_continuing_prefix(const bertc_tokenizer *t, size_t *len);
/* The ByteLevel pre-tokenizer's add_prefix_space (a space before the text's first word). */
bool tokenizer_adds_prefix_space(const bertc_tokenizer *t);
/* Whether a token's own text says it continues a word (WordPiece's "##", a BPE continuing_subword_prefix): the
 * token-classification pipeline's word-aware subword test. */
bool tokenizer_marks_subwords(const bertc_tokenizer *t);
/* The unknown token's id (WordPiece, BPE, Unigram), or -1. */
int32_t tokenizer_unk_id(const bertc_tokenizer *t);
/* The first special token of the pair template ([CLS], <s>), or -1 when the template starts otherwise. */
int32_t tokenizer_pair_first_special(const bertc_tokenizer *t);
/* The id of the added token spelled content, else -1. */
int32_t tokenizer_added_token_id(const bertc_tokenizer *t, const char *content);
/* The lowest id whose vocabulary string is token exactly (byte-level tokens as written: "Ġworld"), else -1. */
int32_t tokenizer_vocab_id(const bertc_tokenizer *t, const char *token);

/* Effective default max length: model_max_length capped by the model's positions. */
int tokenizer_default_max_length(const bertc_tokenizer *t);
void tokenizer_set_position_cap(bertc_tokenizer *t, int cap);

/* Loads from in-memory file contents (used for the embedded model). Any pointer may be NULL except that
 * either tokenizer_json or (vocab_txt | vocab_json + merges_txt) must be given. */
bertc_status tokenizer_load_mem(const char *tokenizer_json, const char *tokenizer_config, const char *vocab_txt,
                                const char *vocab_json, const char *merges_txt, bertc_tokenizer **out,
                                bertc_error *err);

#endif
