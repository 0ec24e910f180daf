/*
 * load.c — builds a bertc_tokenizer from tokenizer.json (the fast tokenizer's own file) or, when a folder has
 * none, from the legacy files transformers also reads: vocab.txt + tokenizer_config.json (BERT family) or
 * vocab.json + merges.txt (RoBERTa). Components bertc does not implement are refused by name.
 */
#include "tokenizer.h"
#include "base/json.h"
#include "unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tmpl_free(tmpl_item *items, int n);

bool pairmap_init(pairmap *m, uint32_t expected) {
    uint32_t cap = 16;
    while (cap < expected * 2u + 2u) cap <<= 1;
    m->cap = cap;
    m->kv = malloc(2 * (size_t)cap * sizeof *m->kv);
    if (!m->kv) return false;
    for (uint32_t j = 0; j < cap; j++) m->kv[2 * j] = UINT64_MAX;
    return true;
}

void pairmap_free(pairmap *m) {
    free(m->kv);
    memset(m, 0, sizeof *m);
}

/* Fixed capacity (sized at init for all merges); a key listed again takes the later value: tokenizers collects
 * the merges into a hash map, so a duplicated merge has its last rank. */
bool pairmap_put(pairmap *m, uint64_t key, uint64_t val) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t j = (uint32_t)(h >> 32) & (m->cap - 1);
    for (uint32_t probes = 0; probes < m->cap; probes++) {
        if (m->kv[2 * j] == key) {
            m->kv[2 * j + 1] = val;
            return true;
        }
        if (m->kv[2 * j] == UINT64_MAX) {
            m->kv[2 * j] = key;
            m->kv[2 * j + 1] = val;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

int tokenizer_default_max_length(const bertc_tokenizer *t) {
    int m = t->model_max_length > 0 ? t->model_max_length : 1 << 30;
    if (t->max_length_cap > 0 && t->max_length_cap < m) m = t->max_length_cap;
    return m;
}

void tokenizer_set_position_cap(bertc_tokenizer *t, int cap) { t->max_length_cap = cap; }

void bertc_tokenizer_free(bertc_tokenizer *t) {
    if (!t) return;
    strmap_free(&t->vocab);
    if (t->id_to_tok) {
        for (int32_t i = 0; i < t->vocab_size; i++) free(t->id_to_tok[i]);
        free(t->id_to_tok);
    }
    pairmap_free(&t->merges);
    for (int i = 0; i < t->n_dec; i++) {
        tregex_free(t->dec[i].re);
        free(t->dec[i].content);
    }
    free(t->dec);
    tmpl_free(t->tsingle, t->n_tsingle);
    tmpl_free(t->tpair, t->n_tpair);
    pipeline_free(t);
    free(t->tok_flags);
    free(t->tok_bytes);
    bpe_cache_free(t->bcache);
    free(t->tok_lead);
    free(t->tok_trail);
    for (int i = 0; i < t->n_added; i++) {
        free(t->added[i].content);
        free(t->added[i].ncp);
    }
    free(t->added);
    free(t);
}

const char *bertc_tokenizer_id_to_token(const bertc_tokenizer *t, int32_t id) {
    if (!t || id < 0 || id >= t->vocab_size) return NULL;
    return t->id_to_tok[id];
}
int bertc_tokenizer_vocab_size(const bertc_tokenizer *t) { return t ? t->vocab_size : 0; }
int bertc_tokenizer_pad_id(const bertc_tokenizer *t) { return t ? t->pad_id : 0; }

int bertc_tokenizer_mask_id(const bertc_tokenizer *t) {
    if (!t) return -1;
    /* tokenizer_config.json's mask_token, else the class default transformers' tokenizers have: [MASK] for
     * WordPiece (BertTokenizer), <mask> for the others (RobertaTokenizer, XLMRobertaTokenizer) */
    const char *mt = t->mask_token[0] ? t->mask_token : t->kind == TOK_WORDPIECE ? "[MASK]" : "<mask>";
    for (int i = 0; i < t->n_added; i++)
        if (!strcmp(t->added[i].content, mt)) return t->added[i].id;
    int32_t id = strmap_get(&t->vocab, mt, strlen(mt));
    return id >= 0 ? id : -1;
}
int bertc_tokenizer_max_length(const bertc_tokenizer *t) { return t ? tokenizer_default_max_length(t) : 0; }

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onward. */
static void byte_unicode_tables(int32_t byte_to_cp[256], int16_t cp_to_byte[324]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        byte_to_cp[b] = printable ? b : 256 + n++;
    }
    for (int i = 0; i < 324; i++) cp_to_byte[i] = -1;
    for (int b = 0; b < 256; b++) cp_to_byte[byte_to_cp[b]] = (int16_t)b;
}

/* Decodes a byte-level token string ("Ġworld") to its raw bytes; false when a character is outside the
 * byte alphabet (then the token is kept as written). */
static bool bytelevel_decode(const char *s, size_t len, const int16_t cp_to_byte[324], char *out, size_t *olen) {
    size_t i = 0, o = 0;
    if (!cp_to_byte) { /* a BPE that is not byte-level: the token as written */
        memcpy(out, s, len);
        *olen = len;
        return true;
    }
    if (utf8_validate(s, len) != len) return false;
    while (i < len) {
        int32_t cp;
        i += (size_t)utf8_decode((const unsigned char *)s + i, &cp);
        if (cp >= 324 || cp_to_byte[cp] < 0) return false;
        out[o++] = (char)cp_to_byte[cp];
    }
    *olen = o;
    return true;
}

static bertc_tokenizer *tok_new(void) {
    bertc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->unk_id = -1;
    t->max_input_chars = 100;
    t->trim_offsets = true;
    memcpy(t->prefix, "##", 3);
    t->prefix_len = 2;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    return t;
}

static bertc_status set_vocab_entry(bertc_tokenizer *t, const char *tok, int32_t id, const int16_t *cp_to_byte,
                                    bertc_error *err) {
    if (id < 0 || id >= t->vocab_size)
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer vocab: id %d of \"%.40s\" out of range", id, tok);
    size_t len = strlen(tok);
    if (t->id_to_tok[id]) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer vocab: id %d used twice", id);
    t->id_to_tok[id] = strdup(tok);
    if (!t->id_to_tok[id]) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    char buf[1024];
    size_t blen = len;
    const char *key = tok;
    if (cp_to_byte && len < sizeof buf && bytelevel_decode(tok, len, cp_to_byte, buf, &blen)) key = buf;
    if (!strmap_put(&t->vocab, key, blen, id)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (cp_to_byte && blen == 1 && key == buf) t->byte_id[(unsigned char)buf[0]] = id;
    return BERTC_OK;
}

static bertc_status add_added(bertc_tokenizer *t, const char *content, int32_t id, bool lstrip, bool rstrip,
                              bool single_word, bool normalized, bool special, bertc_error *err) {
    if (!content || !*content) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: empty added token");
    /* transformers' len(tokenizer) counts added tokens past the model's vocab (added with add_tokens) */
    if (id < 0 || id >= t->vocab_size + (1 << 20))
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: added token \"%.40s\" has id %d outside the vocab",
                          content, id);
    if (id >= t->vocab_size) {
        char **nt = realloc(t->id_to_tok, (size_t)(id + 1) * sizeof *nt);
        if (!nt) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        for (int32_t k = t->vocab_size; k <= id; k++) nt[k] = NULL;
        t->id_to_tok = nt;
        t->vocab_size = id + 1;
    }
    if (!t->id_to_tok[id] && !(t->id_to_tok[id] = strdup(content)))
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    added_token *na = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *na);
    if (!na) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->added = na;
    added_token *a = &t->added[t->n_added];
    memset(a, 0, sizeof *a);
    a->content = strdup(content);
    if (!a->content) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    a->len = strlen(content);
    a->id = id;
    a->lstrip = lstrip;
    a->rstrip = rstrip;
    a->single_word = single_word;
    a->normalized = normalized;
    a->special = special;
    t->n_added++;
    t->added_first_byte[(unsigned char)content[0]] = true;
    return BERTC_OK;
}

static bertc_status parse_bert_normalizer(bertc_tokenizer *t, const json_t *n, bertc_error *err) {
    if (!n || json_is_null(n)) return BERTC_OK;
    const char *type = jstr(n, "type");
    if (!type) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: normalizer has no type");
    if (strcmp(type, "BertNormalizer") != 0)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: normalizer %s is not supported "
                          "(supported: BertNormalizer, none)", type);
    t->bert_normalizer = true;
    t->clean_text = jbool(n, "clean_text", 1);
    t->chinese = jbool(n, "handle_chinese_chars", 1);
    t->lowercase = jbool(n, "lowercase", 1);
    t->strip_accents = jbool(n, "strip_accents", t->lowercase);
    return BERTC_OK;
}

static bool tmpl_push(tmpl_item **items, int *n, int seq, int type_id, const int32_t *ids, int n_ids) {
    tmpl_item *a = realloc(*items, (size_t)(*n + 1) * sizeof *a);
    if (!a) return false;
    *items = a;
    tmpl_item *it = &a[(*n)++];
    it->seq = seq;
    it->type_id = type_id;
    it->n_ids = n_ids;
    it->ids = NULL;
    if (n_ids) {
        it->ids = malloc((size_t)n_ids * sizeof *it->ids);
        if (!it->ids) return false;
        memcpy(it->ids, ids, (size_t)n_ids * sizeof *ids);
    }
    return true;
}

static void tmpl_free(tmpl_item *items, int n) {
    for (int i = 0; i < n; i++) free(items[i].ids);
    free(items);
}

/* BertProcessing / RobertaProcessing as templates: [CLS] A [SEP] (B [SEP]:1), <s> A </s> (</s> B </s>). */
static bertc_status cls_sep_template(bertc_tokenizer *t, int32_t cls, int32_t sep, bool roberta, bertc_error *err) {
    bool ok = tmpl_push(&t->tsingle, &t->n_tsingle, -1, 0, &cls, 1) && tmpl_push(&t->tsingle, &t->n_tsingle, 0, 0, NULL, 0) &&
              tmpl_push(&t->tsingle, &t->n_tsingle, -1, 0, &sep, 1) && tmpl_push(&t->tpair, &t->n_tpair, -1, 0, &cls, 1) &&
              tmpl_push(&t->tpair, &t->n_tpair, 0, 0, NULL, 0) && tmpl_push(&t->tpair, &t->n_tpair, -1, 0, &sep, 1);
    int ty = roberta ? 0 : 1;
    if (ok && roberta) ok = tmpl_push(&t->tpair, &t->n_tpair, -1, 0, &sep, 1);
    ok = ok && tmpl_push(&t->tpair, &t->n_tpair, 1, ty, NULL, 0) && tmpl_push(&t->tpair, &t->n_tpair, -1, ty, &sep, 1);
    if (!ok) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->has_post = true;
    return BERTC_OK;
}

/* TemplateProcessing with any template: "$A", "$B" and special tokens (one id or several), each with its type id. */
static bertc_status parse_template_list(bertc_tokenizer *t, const json_t *list, const json_t *specials, bool pair,
                                        bertc_error *err) {
    size_t i;
    const json_t *el;
    if (!json_is_array(list)) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: TemplateProcessing without %s",
                                                pair ? "pair" : "single");
    json_array_foreach(list, i, el) {
        const json_t *sp = json_object_get(el, "SpecialToken");
        const json_t *sq = json_object_get(el, "Sequence");
        const json_t *o = sp ? sp : sq;
        const char *name = jstr(o, "id");
        int ty = jint(o, "type_id", 0);
        bool ok;
        if (sq) {
            if (!name || (strcmp(name, "A") && strcmp(name, "B")))
                return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: template sequence must be A or B");
            if (name[0] == 'B' && !pair)
                return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: the single template names $B");
            ok = tmpl_push(pair ? &t->tpair : &t->tsingle, pair ? &t->n_tpair : &t->n_tsingle, name[0] - 'A', ty, NULL, 0);
        } else if (sp) {
            const json_t *def = name ? json_object_get(specials, name) : NULL;
            const json_t *dids = json_object_get(def, "ids");
            int n = (int)json_array_size(dids);
            if (!n || n > 64)
                return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: template special token %s has no ids",
                                  name ? name : "?");
            int32_t ids[64];
            for (int k = 0; k < n; k++) {
                const json_t *x = json_array_get(dids, (size_t)k);
                if (!json_is_number(x) || json_number_value(x) < 0 || json_number_value(x) >= t->vocab_size)
                    return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: template token %s has a bad id", name);
                ids[k] = (int32_t)json_number_value(x);
            }
            ok = tmpl_push(pair ? &t->tpair : &t->tsingle, pair ? &t->n_tpair : &t->n_tsingle, -1, ty, ids, n);
        } else {
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: template item is neither SpecialToken nor Sequence");
        }
        if (!ok) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    return BERTC_OK;
}

static bertc_status parse_post(bertc_tokenizer *t, const json_t *pp, bertc_error *err) {
    if (!pp || json_is_null(pp)) return BERTC_OK;
    const char *type = jstr(pp, "type");
    if (!type) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: post_processor has no type");
    if (strcmp(type, "Sequence") == 0) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(pp, "processors"), i, e) {
            bertc_status s = parse_post(t, e, err);
            if (s) return s;
        }
        return BERTC_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        t->post_trim = jbool(pp, "trim_offsets", 1);
        t->post_prefix = jbool(pp, "add_prefix_space", 1);
        return BERTC_OK;
    }
    if (t->has_post) return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: two post-processors add special tokens");
    if (strcmp(type, "TemplateProcessing") == 0) {
        const json_t *specials = json_object_get(pp, "special_tokens");
        bertc_status s = parse_template_list(t, json_object_get(pp, "single"), specials, false, err);
        if (!s) s = parse_template_list(t, json_object_get(pp, "pair"), specials, true, err);
        if (s) return s;
        t->has_post = t->post_template = true;
        return BERTC_OK;
    }
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        const json_t *sep = json_object_get(pp, "sep");
        const json_t *cls = json_object_get(pp, "cls");
        if (!json_is_array(sep) || !json_is_array(cls) || !json_is_number(json_array_get(sep, 1)) ||
            !json_is_number(json_array_get(cls, 1)))
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: %s needs sep and cls", type);
        double sv = json_number_value(json_array_get(sep, 1)), cv = json_number_value(json_array_get(cls, 1));
        if (sv < 0 || cv < 0 || sv >= t->vocab_size || cv >= t->vocab_size)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: %s ids out of range", type);
        bool roberta = type[0] == 'R';
        if (roberta) {
            t->post_trim = jbool(pp, "trim_offsets", 1);
            t->post_prefix = jbool(pp, "add_prefix_space", 1);
        }
        return cls_sep_template(t, (int32_t)cv, (int32_t)sv, roberta, err);
    }
    return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: post_processor %s is not supported "
                      "(supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)", type);
}

/* tokenizer.json's truncation and padding sections as transformers takes them: the truncation direction becomes
 * the default truncation_side and the padding section's pad token the pad token. Its max_length and strategy are
 * not what transformers truncates with (model_max_length and longest_first are), so bertc does not take them
 * either; bertc never pads an encoding by itself. */
static bertc_status parse_trunc_pad(bertc_tokenizer *t, const json_t *root, bertc_error *err) {
    const json_t *tr = json_object_get(root, "truncation");
    if (tr && !json_is_null(tr)) {
        double ml = jnum(tr, "max_length", 0);
        if (ml < 1 || ml > 1e9)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: truncation without a valid max_length");
        const char *dir = jstr(tr, "direction"), *st = jstr(tr, "strategy");
        t->trunc_left = dir && !strcmp(dir, "Left");
        if (st && strcmp(st, "LongestFirst") && strcmp(st, "OnlyFirst") && strcmp(st, "OnlySecond"))
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: truncation strategy %.40s is unknown", st);
    }
    const json_t *pd = json_object_get(root, "padding");
    if (pd && !json_is_null(pd)) {
        const json_t *pid = json_object_get(pd, "pad_id");
        if (json_is_number(pid)) {
            double v = json_number_value(pid);
            if (v < 0 || v >= t->vocab_size)
                return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: padding pad_id out of range");
            t->pad_id = (int32_t)v;
            t->pad_from_json = true;
        }
    }
    return BERTC_OK;
}

/* Added tokens with normalized=true behind a normalizer are matched in the normalized text, as their normalized
 * content (AddedVocabulary's normalized trie); a BERT fast-path tokenizer then runs the pipeline. */
static bertc_status normalized_added(bertc_tokenizer *t, bertc_error *err) {
    bool any = false;
    for (int i = 0; i < t->n_added; i++) any |= t->added[i].normalized;
    if (!any || (!t->generic && !t->bert_normalizer) || (t->generic && !t->n_norm)) return BERTC_OK;
    bertc_status s;
    if (!t->generic && (s = pipeline_from_bert(t, err))) return s;
    for (int i = 0; i < t->n_added; i++) {
        added_token *at = &t->added[i];
        if (!at->normalized) continue;
        nbuf b = {0};
        bool ok = true;
        for (size_t q = 0; q < at->len && ok;) {
            int32_t c;
            int l = utf8_decode((const unsigned char *)at->content + q, &c);
            ok = nb_push(&b, c, (int32_t)q, (int32_t)q + l);
            q += (size_t)l;
        }
        if (!ok) {
            nb_free(&b);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
        if ((s = pipeline_normalize(t, &b, 0, err))) {
            nb_free(&b);
            return s;
        }
        if (b.n) {
            /* the token is its normalized content for id_to_token and decode too, as tokenizers keeps it */
            char *u = malloc(b.n * 4 + 1);
            if (!u) {
                nb_free(&b);
                return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
            size_t ul = 0;
            for (size_t q = 0; q < b.n; q++) ul += (size_t)utf8_encode(b.cp[q], u + ul);
            u[ul] = 0;
            free(t->id_to_tok[at->id]);
            t->id_to_tok[at->id] = u;
            at->ncp = b.cp; /* the normalized code points; the spans are not needed */
            at->nn = b.n;
            b.cp = NULL;
            t->n_norm_added++;
        }
        nb_free(&b);
    }
    return BERTC_OK;
}

static dec_op *dec_new(bertc_tokenizer *t, int kind) {
    dec_op *a = realloc(t->dec, (size_t)(t->n_dec + 1) * sizeof *a);
    if (!a) return NULL;
    t->dec = a;
    dec_op *d = &t->dec[t->n_dec++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    return d;
}

/* tokenizer.json's decoder, Sequence flattened. One that bertc_decode cannot follow is noted by name and refused
 * when decoding (encoding never reads the decoder). */
static bertc_status parse_decoder(bertc_tokenizer *t, const json_t *d, bertc_error *err) {
    t->dec_parsed = true;
    if (!d || json_is_null(d)) return BERTC_OK;
    const char *type = jstr(d, "type");
    if (!type) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: decoder without type");
    if (!strcmp(type, "Sequence")) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(d, "decoders"), i, e) {
            bertc_status s = parse_decoder(t, e, err);
            if (s) return s;
        }
        return BERTC_OK;
    }
    static const char *const names[] = {"", "WordPiece", "ByteLevel", "Metaspace", "BPEDecoder", "Replace", "Fuse",
                                        "Strip", "ByteFallback"};
    int kind = 0;
    for (int k = 1; k < (int)(sizeof names / sizeof names[0]); k++)
        if (!strcmp(type, names[k])) kind = k;
    if (!kind) {
        snprintf(t->dec_unsupported, sizeof t->dec_unsupported, "%s", type);
        return BERTC_OK;
    }
    dec_op *o = dec_new(t, kind);
    if (!o) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    const char *str;
    switch (kind) {
    case DEC_WORDPIECE:
        str = jstr(d, "prefix");
        snprintf(o->str, sizeof o->str, "%s", str ? str : "##");
        o->cleanup = jbool(d, "cleanup", 1);
        break;
    case DEC_METASPACE: {
        const char *r = jstr(d, "replacement");
        if (r && *r) utf8_decode((const unsigned char *)r, &o->repl);
        else o->repl = 0x2581;
        const char *ps = jstr(d, "prepend_scheme");
        o->prepend = ps ? (!strcmp(ps, "always") ? 1 : !strcmp(ps, "first") ? 2 : 0) : jbool(d, "add_prefix_space", 1);
        break;
    }
    case DEC_BPE_SUFFIX:
        str = jstr(d, "suffix");
        snprintf(o->str, sizeof o->str, "%s", str ? str : "</w>");
        break;
    case DEC_REPLACE: {
        const json_t *pat = json_object_get(d, "pattern");
        const char *lit = jstr(pat, "String"), *rx = jstr(pat, "Regex"), *c = jstr(d, "content"), *why = NULL;
        if ((!lit && !rx) || !c) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Replace decoder without pattern");
        const char *p = lit ? lit : rx;
        o->re = tregex_compile(p, strlen(p), lit != NULL, &why);
        if (!o->re)
            return bertc_fail(err, why && !strcmp(why, "out of memory") ? BERTC_ERR_NOMEM : BERTC_ERR_UNSUPPORTED,
                              "tokenizer.json: Replace decoder pattern: %s", why);
        if (!(o->content = strdup(c))) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        break;
    }
    case DEC_STRIP: {
        const char *c = jstr(d, "content");
        double st = jnum(d, "start", 0), sp = jnum(d, "stop", 0);
        if (!c || !*c)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Strip decoder without content");
        utf8_decode((const unsigned char *)c, &o->repl);
        o->start = st >= 0 && st < 1e6 ? (int)st : 0;
        o->stop = sp >= 0 && sp < 1e6 ? (int)sp : 0;
        break;
    }
    }
    return BERTC_OK;
}

static bertc_status parse_tokenizer_config(bertc_tokenizer *t, const char *text, bertc_error *err) {
    (void)err;
    t->model_max_length = 0;
    if (!text) return BERTC_OK;
    json_t *c;
    bertc_status s = jparse(text, strlen(text), "tokenizer_config.json", &c, err);
    if (s) return s;
    double mml = jnum(c, "model_max_length", 0); /* transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit" */
    if (mml > 0 && mml < 1e9) t->model_max_length = (int)mml;
    const json_t *mt = json_object_get(c, "mask_token"); /* a string, or an AddedToken {"content": ...} */
    const char *ms = json_is_string(mt) ? json_string_value(mt) : jstr(mt, "content");
    if (ms && strlen(ms) < sizeof t->mask_token) snprintf(t->mask_token, sizeof t->mask_token, "%s", ms);
    json_decref(c);
    return BERTC_OK;
}

static bertc_status finish(bertc_tokenizer *t, bertc_error *err) {
    if (t->kind == TOK_WORDPIECE && t->unk_id < 0)
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: WordPiece unk_token is not in the vocab");
    for (int32_t i = 0; i < t->vocab_size; i++)
        if (!t->id_to_tok[i]) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer vocab: id %d has no token", i);
    /* pad id: tokenizer.json's padding section, else the added token named like a pad token, else 0 */
    if (!t->pad_from_json) {
        t->pad_id = 0;
        for (int i = 0; i < t->n_added; i++)
            if (!strcmp(t->added[i].content, "[PAD]") || !strcmp(t->added[i].content, "<pad>")) t->pad_id = t->added[i].id;
    }
    return BERTC_OK;
}

static bertc_status load_bpe_merges_json(bertc_tokenizer *t, const json_t *merges, const int16_t *c2b,
                                         bertc_error *err) {
    size_t pfx = t->bpe_chars ? strlen(t->bpe_prefix) : 0; /* the merged token is a + b without b's prefix */
    size_t n = json_array_size(merges);
    if (!pairmap_init(&t->merges, (uint32_t)n)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    int rank = 0;
    size_t i;
    const json_t *m;
    json_array_foreach(merges, i, m) {
        const char *a, *b;
        char tmp[1024];
        size_t alen, blen;
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            const char *sp = strchr(s, ' ');
            if (!sp || strlen(s) >= sizeof tmp)
                return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: merge %d \"%.40s\" is not \"a b\"", rank, s);
            memcpy(tmp, s, strlen(s) + 1);
            tmp[sp - s] = 0;
            a = tmp;
            b = tmp + (sp - s) + 1;
        } else if (json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
        } else {
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: merge %d is neither \"a b\" nor [a, b]", rank);
        }
        char ab[2048], ra[1024], rb[1024];
        alen = strlen(a);
        blen = strlen(b);
        if (alen + blen >= sizeof ab || alen >= sizeof ra || blen >= sizeof rb)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: merge %d too long", rank);
        size_t ral, rbl;
        if (!bytelevel_decode(a, alen, c2b, ra, &ral) || !bytelevel_decode(b, blen, c2b, rb, &rbl))
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: merge %d has characters outside the byte alphabet", rank);
        int32_t ia = strmap_get(&t->vocab, ra, ral), ib = strmap_get(&t->vocab, rb, rbl);
        if (rbl < pfx)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: merge %d's second token is shorter than the prefix", rank);
        memcpy(ab, ra, ral);
        memcpy(ab + ral, rb + pfx, rbl - pfx);
        int32_t iab = strmap_get(&t->vocab, ab, ral + rbl - pfx);
        if (ia < 0 || ib < 0 || iab < 0)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: merge %d (\"%.30s\" \"%.30s\") uses tokens not in the vocab",
                              rank, a, b);
        if (!pairmap_put(&t->merges, ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib,
                         ((uint64_t)(uint32_t)rank << 32) | (uint32_t)iab))
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        rank++;
    }
    return BERTC_OK;
}

static bertc_status load_vocab_object(bertc_tokenizer *t, json_t *vocab, const int16_t *c2b, bertc_error *err) {
    if (!json_is_object(vocab)) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: vocab is not an object");
    size_t n = json_object_size(vocab);
    int32_t maxid = -1;
    const char *tok;
    const json_t *e;
    json_object_foreach(vocab, tok, e) {
        if (!json_is_number(e) || json_number_value(e) < 0 || json_number_value(e) > 1e8)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: vocab entry \"%.40s\" has no valid id", tok);
        if ((int32_t)json_number_value(e) > maxid) maxid = (int32_t)json_number_value(e);
    }
    if (n == 0) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: empty vocab");
    t->vocab_size = maxid + 1;
    t->id_to_tok = calloc((size_t)t->vocab_size, sizeof *t->id_to_tok);
    if (!t->id_to_tok || !strmap_init(&t->vocab, (uint32_t)n)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    json_object_foreach(vocab, tok, e) {
        bertc_status s = set_vocab_entry(t, tok, (int32_t)json_number_value(e), c2b, err);
        if (s) return s;
    }
    return BERTC_OK;
}

static bertc_status load_json(bertc_tokenizer *t, const char *json, const char *config, bertc_error *err) {
    json_t *root;
    bertc_status s = jparse(json, strlen(json), "tokenizer.json", &root, err);
    if (s) return s;
    int32_t b2c[256];
    int16_t c2b[324];
    byte_unicode_tables(b2c, c2b);
    const json_t *model = json_object_get(root, "model");
    const char *mtype = jstr(model, "type");
    const json_t *pre = json_object_get(root, "pre_tokenizer");
    const char *ptype = jstr(pre, "type");
    if (!mtype) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: no model.type");
        goto done;
    }
    const json_t *norm = json_object_get(root, "normalizer");
    const char *ntype = jstr(norm, "type");
    bool no_norm = !norm || json_is_null(norm);
    if (!strcmp(mtype, "WordPiece")) {
        t->kind = TOK_WORDPIECE;
        /* BertNormalizer (or none) + BertPreTokenizer runs on encode.c's direct path; anything else through the
         * pipeline */
        if (ptype && !strcmp(ptype, "BertPreTokenizer") && (no_norm || (ntype && !strcmp(ntype, "BertNormalizer")))) {
            if ((s = parse_bert_normalizer(t, norm, err))) goto done;
        } else {
            t->generic = true;
            if ((s = pipeline_parse(t, norm, pre, err))) goto done;
        }
        if ((s = load_vocab_object(t, json_object_get(model, "vocab"), NULL, err))) goto done;
        const char *unk = jstr(model, "unk_token");
        t->unk_id = unk ? strmap_get(&t->vocab, unk, strlen(unk)) : -1;
        const char *pfx = jstr(model, "continuing_subword_prefix");
        if (pfx) {
            if (strlen(pfx) >= sizeof t->prefix) {
                s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: continuing_subword_prefix too long");
                goto done;
            }
            strcpy(t->prefix, pfx);
            t->prefix_len = strlen(pfx);
        }
        t->max_input_chars = jint(model, "max_input_chars_per_word", t->max_input_chars);
    } else if (!strcmp(mtype, "BPE")) {
        t->kind = TOK_BPE;
        if (ptype && !strcmp(ptype, "ByteLevel") && jbool(pre, "use_regex", 1) && no_norm) {
            t->add_prefix_space = jbool(pre, "add_prefix_space", 0);
            t->trim_offsets = jbool(pre, "trim_offsets", 1);
            t->byte_level = true;
        } else {
            t->generic = true;
            if ((s = pipeline_parse(t, norm, pre, err))) goto done;
        }
        const char *pfx = jstr(model, "continuing_subword_prefix"), *sfx = jstr(model, "end_of_word_suffix");
        t->ignore_merges = jbool(model, "ignore_merges", 0);
        if (t->byte_level) {
            if ((pfx && *pfx) || (sfx && *sfx) || jbool(model, "byte_fallback", 0)) {
                s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: byte-level BPE with a subword prefix, suffix "
                               "or byte_fallback is not supported");
                goto done;
            }
        } else {
            /* BPE over characters: SentencePiece-style or word-level BPE models */
            t->bpe_chars = true;
            if ((pfx && strlen(pfx) >= sizeof t->bpe_prefix) || (sfx && strlen(sfx) >= sizeof t->bpe_suffix)) {
                s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: BPE subword prefix or suffix too long");
                goto done;
            }
            snprintf(t->bpe_prefix, sizeof t->bpe_prefix, "%s", pfx ? pfx : "");
            snprintf(t->bpe_suffix, sizeof t->bpe_suffix, "%s", sfx ? sfx : "");
            t->bpe_byte_fallback = jbool(model, "byte_fallback", 0);
            t->fuse_unk = jbool(model, "fuse_unk", 0);
        }
        if (jnum(model, "dropout", 0) > 0) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: BPE dropout is not supported");
            goto done;
        }
        const int16_t *map = t->bpe_chars ? NULL : c2b;
        if ((s = load_vocab_object(t, json_object_get(model, "vocab"), map, err))) goto done;
        if (t->bpe_chars) {
            const char *unk = jstr(model, "unk_token");
            t->unk_id = unk ? strmap_get(&t->vocab, unk, strlen(unk)) : -1;
            t->has_unk_token = unk != NULL;
        }
        const json_t *merges = json_object_get(model, "merges");
        if (!json_is_array(merges)) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: BPE model has no merges list");
            goto done;
        }
        if ((s = load_bpe_merges_json(t, merges, map, err))) goto done;
    } else if (!strcmp(mtype, "Unigram")) {
        t->kind = TOK_UNIGRAM;
        t->generic = true;
        if ((s = pipeline_parse(t, norm, pre, err))) goto done;
        if ((s = unigram_parse(t, model, err))) goto done;
    } else {
        s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: model %s is not supported (supported: WordPiece, "
                       "BPE, Unigram)", mtype);
        goto done;
    }
    const json_t *added = json_object_get(root, "added_tokens"), *a;
    size_t i;
    json_array_foreach(added, i, a) {
        if (!json_is_number(json_object_get(a, "id")) || !jstr(a, "content")) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: added token without id or content");
            goto done;
        }
        if ((s = add_added(t, jstr(a, "content"), jint(a, "id", -1), jbool(a, "lstrip", 0),
                           jbool(a, "rstrip", 0), jbool(a, "single_word", 0), jbool(a, "normalized", 0),
                           jbool(a, "special", 0), err)))
            goto done;
    }
    if ((s = normalized_added(t, err))) goto done;
    if ((s = parse_trunc_pad(t, root, err))) goto done;
    if ((s = parse_post(t, json_object_get(root, "post_processor"), err))) goto done;
    if ((s = parse_decoder(t, json_object_get(root, "decoder"), err))) goto done;
    if ((s = parse_tokenizer_config(t, config, err))) goto done;
    s = finish(t, err);
done:
    json_decref(root);
    return s;
}

static bertc_status load_vocab_txt(bertc_tokenizer *t, const char *vocab, const char *config, bertc_error *err) {
    t->kind = TOK_WORDPIECE;
    t->bert_normalizer = true;
    t->clean_text = true;
    t->chinese = true;
    t->lowercase = true;
    int sa = -1;
    if (config) {
        json_t *c;
        bertc_status s = jparse(config, strlen(config), "tokenizer_config.json", &c, err);
        if (s) return s;
        t->lowercase = jbool(c, "do_lower_case", 1);
        t->chinese = jbool(c, "tokenize_chinese_chars", 1);
        sa = jbool(c, "strip_accents", -1);
        json_decref(c);
    }
    t->strip_accents = sa < 0 ? t->lowercase : sa;
    size_t lines = 0;
    for (const char *p = vocab; *p; p++) lines += *p == '\n';
    lines++;
    t->id_to_tok = calloc(lines, sizeof *t->id_to_tok);
    if (!t->id_to_tok || !strmap_init(&t->vocab, (uint32_t)lines)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    const char *p = vocab;
    int32_t id = 0;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t l2 = len;
        if (l2 && p[l2 - 1] == '\r') l2--;
        char *tok = malloc(l2 + 1);
        if (!tok) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        memcpy(tok, p, l2);
        tok[l2] = 0;
        t->id_to_tok[id] = tok;
        t->vocab_size = id + 1;
        if (!strmap_put(&t->vocab, tok, l2, id)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        id++;
        if (!e) break;
        p = e + 1;
    }
    if (t->vocab_size == 0) return bertc_fail(err, BERTC_ERR_FORMAT, "vocab.txt is empty");
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 5; i++) {
        int32_t sid = strmap_get(&t->vocab, specials[i], strlen(specials[i]));
        if (sid >= 0) {
            bertc_status s = add_added(t, specials[i], sid, false, false, false, false, true, err);
            if (s) return s;
        }
    }
    t->unk_id = strmap_get(&t->vocab, "[UNK]", 5);
    int32_t cls = strmap_get(&t->vocab, "[CLS]", 5), sep = strmap_get(&t->vocab, "[SEP]", 5);
    bertc_status s;
    if (cls >= 0 && sep >= 0 && (s = cls_sep_template(t, cls, sep, false, err))) return s;
    s = parse_tokenizer_config(t, config, err);
    if (s) return s;
    return finish(t, err);
}

static bertc_status load_vocab_json_merges(bertc_tokenizer *t, const char *vocab, const char *merges,
                                           const char *config, bertc_error *err) {
    t->kind = TOK_BPE;
    int32_t b2c[256];
    int16_t c2b[324];
    byte_unicode_tables(b2c, c2b);
    json_t *v;
    bertc_status s = jparse(vocab, strlen(vocab), "vocab.json", &v, err);
    if (s) return s;
    s = load_vocab_object(t, v, c2b, err);
    json_decref(v);
    if (s) return s;
    /* merges.txt: optional "#version" line, then "a b" per line, taken as bytes (bytelevel_decode refuses what is
     * not UTF-8) */
    json_t *arr = json_array();
    if (!arr) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    const char *p = merges;
    int line = 0;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t l2 = len;
        if (l2 && p[l2 - 1] == '\r') l2--;
        line++;
        if (l2 > 0 && !(line == 1 && p[0] == '#')) {
            if (json_array_append_new(arr, json_stringn_nocheck(p, l2))) {
                json_decref(arr);
                return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
        }
        if (!e) break;
        p = e + 1;
    }
    s = load_bpe_merges_json(t, arr, c2b, err);
    json_decref(arr);
    if (s) return s;
    if (config) {
        json_t *c;
        if ((s = jparse(config, strlen(config), "tokenizer_config.json", &c, err))) return s;
        t->add_prefix_space = jbool(c, "add_prefix_space", 0);
        t->trim_offsets = jbool(c, "trim_offsets", 1);
        json_decref(c);
    }
    t->post_trim = t->trim_offsets; /* transformers' converter builds RobertaProcessing from these */
    t->post_prefix = t->add_prefix_space;
    static const char *const specials[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
    for (int i = 0; i < 5; i++) {
        int32_t sid = strmap_get(&t->vocab, specials[i], strlen(specials[i]));
        if (sid >= 0 && (s = add_added(t, specials[i], sid, i == 4, false, false, false, true, err))) return s;
    }
    int32_t cls = strmap_get(&t->vocab, "<s>", 3), sep = strmap_get(&t->vocab, "</s>", 4);
    if (cls >= 0 && sep >= 0 && (s = cls_sep_template(t, cls, sep, true, err))) return s;
    if ((s = parse_tokenizer_config(t, config, err))) return s;
    return finish(t, err);
}

/* Per-id facts the encoder reads for every token: whether the id is an added token, and the leading and trailing
 * 'Ġ' / whitespace characters of its value (ByteLevel's trim_offsets). */
static bertc_status tokenizer_index(bertc_tokenizer *t, bertc_error *err) {
    if (!t->dec_parsed) { /* the legacy files: the decoder transformers' converter gives them */
        dec_op *d = dec_new(t, t->kind == TOK_WORDPIECE ? DEC_WORDPIECE : DEC_BYTELEVEL);
        if (!d) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        snprintf(d->str, sizeof d->str, "%s", t->prefix);
        d->cleanup = true;
    }
    size_t n = t->vocab_size > 0 ? (size_t)t->vocab_size : 1;
    t->tok_flags = calloc(n, 1);
    t->tok_lead = calloc(n, 1);
    t->tok_trail = calloc(n, 1);
    if (!t->tok_flags || !t->tok_lead || !t->tok_trail) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < t->n_added; i++) t->tok_flags[t->added[i].id] |= t->added[i].special ? 3 : 1;
    if (t->kind == TOK_BPE && !t->bpe_chars) {
        int32_t b2c[256];
        int16_t c2b[324];
        byte_unicode_tables(b2c, c2b);
        t->tok_bytes = calloc(n, 1);
        t->bcache = bpe_cache_new();
        if (!t->tok_bytes || !t->bcache) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        for (int32_t id = 0; id < t->vocab_size; id++) {
            const char *v = t->id_to_tok[id];
            char buf[1024];
            size_t bl;
            if (v && !(t->tok_flags[id] & 1) && strlen(v) < sizeof buf && bytelevel_decode(v, strlen(v), c2b, buf, &bl) &&
                bl && bl < 256)
                t->tok_bytes[id] = (uint8_t)bl;
        }
    }
    for (int32_t id = 0; id < t->vocab_size; id++) {
        const char *v = t->id_to_tok[id];
        if (!v) continue;
        size_t l = strlen(v);
        int lead = 0, trail = 0;
        if (utf8_validate(v, l) != l) continue; /* a vocab.txt entry that is not UTF-8: no spaces */
        token_space_counts(v, l, &lead, &trail);
        t->tok_lead[id] = (uint8_t)(lead > 255 ? 255 : lead);
        t->tok_trail[id] = (uint8_t)(trail > 255 ? 255 : trail);
    }
    return BERTC_OK;
}

bertc_status tokenizer_load_mem(const char *tokenizer_json, const char *tokenizer_config, const char *vocab_txt,
                                const char *vocab_json, const char *merges_txt, bertc_tokenizer **out,
                                bertc_error *err) {
    *out = NULL;
    bertc_tokenizer *t = tok_new();
    if (!t) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bertc_status s;
    if (tokenizer_json) s = load_json(t, tokenizer_json, tokenizer_config, err);
    else if (vocab_txt) s = load_vocab_txt(t, vocab_txt, tokenizer_config, err);
    else if (vocab_json && merges_txt) s = load_vocab_json_merges(t, vocab_json, merges_txt, tokenizer_config, err);
    else s = bertc_fail(err, BERTC_ERR_IO, "no tokenizer: need tokenizer.json, vocab.txt, or vocab.json + merges.txt");
    if (!s) s = tokenizer_index(t, err);
    if (s) {
        bertc_tokenizer_free(t);
        return s;
    }
    *out = t;
    return BERTC_OK;
}

bertc_status bertc_tokenizer_load(const char *dir, bertc_tokenizer **out, bertc_error *err) {
    static const char *const names[] = {"tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt"};
    char *txt[5] = {0};
    char path[4096];
    bertc_status s = BERTC_OK;
    if (!dir || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_tokenizer_load: NULL argument");
    for (int i = 0; i < 5; i++) {
        if (!path_join(path, sizeof path, dir, names[i])) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %s", dir);
            goto done;
        }
        if (!file_exists(path)) continue;
        if (i >= 2 && txt[0]) continue; /* tokenizer.json wins over legacy files */
        if ((s = read_file(path, &txt[i], NULL, err))) goto done;
    }
    s = tokenizer_load_mem(txt[0], txt[1], txt[2], txt[3], txt[4], out, err);
    if (s && err && !txt[0] && !txt[2] && !txt[3])
        bertc_fail(err, BERTC_ERR_IO, "%s: no tokenizer.json, vocab.txt or vocab.json + merges.txt", dir);
done:
    for (int i = 0; i < 5; i++) free(txt[i]);
    return s;
}
