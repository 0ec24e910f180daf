/*
 * model.c — loading a checkpoint folder into a bertc_model: config.json (parsed by the architecture's rules,
 * bert.c), the weights by the architecture's Hugging Face names (with or without the base-model prefix, old
 * gamma/beta LayerNorm names accepted, as transformers does), and the tokenizer. The one weights loader: F32 weights
 * are used in place from the mapped file; F16/BF16 are widened to fp32 once at load (the trainer fills its flat
 * buffer through the same lookup, shape check and widening). Linear weights are packed for the GEMM once, here.
 */
#include "model.h"
#include "base/durable.h"

#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- the default model: registered by the application (bertc, the Python package) or found in
 * libbertc-default.so the first time it is asked for ---- */
static _Atomic(const bertc_model_files *) default_files;

void bertc_set_default_model(const bertc_model_files *files) { atomic_store(&default_files, files); }

static const bertc_model_files *default_model(bertc_error *err) {
    const bertc_model_files *f = atomic_load(&default_files);
    if (f) return f;
    /* beside libbertc.so (its RUNPATH is $ORIGIN) or on the library path; never unloaded: models point into it */
    void *h = dlopen("libbertc-default.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h) {
        const bertc_model_files *(*get)(void) = (const bertc_model_files *(*)(void))(uintptr_t)dlsym(h, "bertc_default_model_files");
        if (get && (f = get())) {
            const bertc_model_files *none = NULL;
            if (!atomic_compare_exchange_strong(&default_files, &none, f)) f = none;
            return f;
        }
    }
    bertc_fail(err, BERTC_ERR_IO, "no default model in this program: pass a checkpoint folder or model id, or install "
               "libbertc-default.so (minilm-sst2), or register one with bertc_set_default_model");
    return NULL;
}

bertc_status bertc_default_model_save(const char *dir, bertc_error *err) {
    const bertc_model_files *f = default_model(err);
    if (!f) return BERTC_ERR_IO;
    if (!dir || !*dir) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_default_model_save: no folder");
    if (!dio_mkdirs(dir)) return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot create %s: %s", dir, strerror(errno));
    const struct {
        const char *name;
        const void *data;
        size_t len;
    } files[4] = {{"model.safetensors", f->weights, f->weights_len},
                  {"tokenizer.json", f->tokenizer_json, f->tokenizer_json ? strlen(f->tokenizer_json) : 0},
                  {"tokenizer_config.json", f->tokenizer_config_json,
                   f->tokenizer_config_json ? strlen(f->tokenizer_config_json) : 0},
                  {"config.json", f->config_json, strlen(f->config_json)}}; /* config.json last: then it is a model */
    for (int k = 0; k < 4; k++) {
        if (!files[k].data) continue;
        char path[4096];
        if (!path_join(path, sizeof path, dir, files[k].name))
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
        /* the same bytes already there: nothing to write */
        char *have = NULL;
        size_t hl = 0;
        bool same = file_exists(path) && read_file(path, &have, &hl, NULL) == BERTC_OK && hl == files[k].len &&
                    !memcmp(have, files[k].data, hl);
        free(have);
        if (same) continue;
        bertc_status s = bertc_write_file(path, files[k].data, files[k].len, err);
        if (s) return s;
    }
    return BERTC_OK;
}

bertc_status bertc_checkpoint_copy(const char *src, const char *dst, int tokenizer_only, bertc_error *err) {
    static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                            "vocab.txt", "merges.txt", "vocab.json", "sentencepiece.bpe.model",
                                            "spm.model"};
    static const char *const model_files[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                              "modules.json", "sentence_bert_config.json",
                                              "config_sentence_transformers.json"};
    if (!src || !*src || !dst || !*dst) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_checkpoint_copy: no folder");
    if (!dio_mkdirs(dst)) return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot create %s: %s", dst, strerror(errno));
    size_t nt = sizeof tok_files / sizeof *tok_files, nm = tokenizer_only ? 0 : sizeof model_files / sizeof *model_files;
    for (size_t k = 0; k < nm + nt + !tokenizer_only; k++) { /* the weights, the tokenizer, config.json last */
        const char *name = k < nm ? model_files[k] : k < nm + nt ? tok_files[k - nm] : "config.json";
        char a[4096], b[4096];
        if (!path_join(a, sizeof a, src, name) || !path_join(b, sizeof b, dst, name))
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
        if (!file_exists(a)) continue;
        struct stat sa, sb;
        if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) continue;
        mapped_file f;
        bertc_status s = map_file(a, &f, err);
        if (!s) {
            s = bertc_write_file(b, f.data, f.size, err);
            unmap_file(&f);
        }
        if (s) return s;
    }
    return BERTC_OK;
}

bertc_status bertc_default_model_folder(char *dir, size_t cap, bertc_error *err) {
    const bertc_model_files *f = default_model(err);
    if (!f) return BERTC_ERR_IO;
    if (!dir || cap == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_default_model_folder: no buffer");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = xdg && *xdg ? snprintf(dir, cap, "%s/bertc/embedded/%s", xdg, f->name)
                        : snprintf(dir, cap, "%s/.cache/bertc/embedded/%s", home && *home ? home : ".", f->name);
    if (n < 0 || (size_t)n >= cap) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
    return bertc_default_model_save(dir, err);
}

bertc_model_params bertc_model_default_params(void) {
    bertc_model_params p = {BERTC_ARCH_AUTO, 0, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32};
    return p;
}

static const char *const arch_names[] = {"auto", "distilbert", "bert", "roberta", "mpnet", "electra", "deberta-v2",
                                          "modernbert"};

const char *bertc_arch_name(bertc_arch a) {
    return (int)a >= 0 && (size_t)a < sizeof arch_names / sizeof arch_names[0] ? arch_names[a] : "unknown";
}

int bertc_arch_from_name(const char *name) {
    for (size_t i = 0; name && i < sizeof arch_names / sizeof arch_names[0]; i++)
        if (!strcmp(name, arch_names[i])) return (int)i;
    return -1;
}

void model_config_free(model_config *c) {
    if (c->labels) {
        for (int i = 0; i < c->n_labels; i++) free(c->labels[i]);
        free(c->labels);
    }
    c->labels = NULL;
}

/* ---- weights ---- */

static float *own(bertc_model *m, size_t n) {
    float **no = realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *no);
    if (!no) return NULL;
    m->owned = no;
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p) m->owned[m->n_owned++] = p;
    return p;
}

/* Frees p if it is one of the model's own buffers (a widened copy); mapped data is left alone. */
static void disown(bertc_model *m, const float *p) {
    for (int i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p) {
            free(m->owned[i]);
            m->owned[i] = m->owned[--m->n_owned];
            return;
        }
}

/* ---- the one weights loader: the names come from the architecture's table (bert.c); inference binds them here,
 * the trainer fills its flat buffer with the same lookup, shape check and widening (src/train/tmodel.c) ---- */

const tensor_info *weight_lookup(const tensor_set *ts, const char *name, const char *prefix) {
    const tensor_info *t = tensor_set_find(ts, name);
    size_t pl = strlen(prefix);
    if (!t && !strncmp(name, prefix, pl)) t = tensor_set_find(ts, name + pl);
    if (!t && strstr(name, "LayerNorm")) { /* checkpoints from the TF era name LayerNorm parameters gamma / beta */
        char alt[256];
        size_t l = strlen(name);
        if (l > 7 && !strcmp(name + l - 7, ".weight")) snprintf(alt, sizeof alt, "%.*s.gamma", (int)(l - 7), name);
        else if (l > 5 && !strcmp(name + l - 5, ".bias")) snprintf(alt, sizeof alt, "%.*s.beta", (int)(l - 5), name);
        else return NULL;
        t = tensor_set_find(ts, alt);
        if (!t && !strncmp(alt, prefix, pl)) t = tensor_set_find(ts, alt + pl);
    }
    return t;
}

bertc_status weight_check_shape(const tensor_info *t, int64_t d0, int64_t d1, bertc_error *err) {
    bool shape_ok = d1 ? (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1) : (t->ndim == 1 && t->shape[0] == d0);
    if (shape_ok) return BERTC_OK;
    char got[96] = "";
    for (int i = 0; i < t->ndim && i < 4; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (d1)
        return bertc_fail(err, BERTC_ERR_FORMAT, "tensor %s has shape [%s], config.json implies [%lld, %lld]", t->name,
                          got, (long long)d0, (long long)d1);
    return bertc_fail(err, BERTC_ERR_FORMAT, "tensor %s has shape [%s], config.json implies [%lld]", t->name, got,
                      (long long)d0);
}

bertc_status weight_widen(float *dst, const tensor_info *t, size_t n, bertc_error *err) {
    const uint8_t *src = t->data;
    switch (t->dtype) {
    case DT_F32: memcpy(dst, src, n * 4); break;
    case DT_F16:
    case DT_BF16: {
        widen_half(dst, (const uint16_t *)src, n, t->dtype == DT_F16 ? WEIGHT_F16 : WEIGHT_BF16); /* exact */
        break;
    }
    default:
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tensor %s has dtype %s (supported: F32, F16, BF16)", t->name,
                          t->dtype_name);
    }
    return BERTC_OK;
}

/* The fp32 data of a role's tensor (layer l) with the shape config.json implies, or NULL with b->s set. F32 weights
 * are used in place from the mapped file; F16 / BF16 are widened to fp32. */
const float *bind_get(binder *b, int role, int l) {
    if (b->s) return NULL;
    char name[256];
    int64_t d0, d1;
    if (!weight_name(&b->m->cfg, role, l, b->m->cfg.n_labels, name, sizeof name, &d0, &d1)) return NULL;
    const tensor_info *t = weight_lookup(&b->m->ts, name, b->prefix);
    if (!t) {
        b->s = bertc_fail(b->err, BERTC_ERR_FORMAT, "checkpoint is missing tensor %s (model_type %s)", name,
                          b->m->cfg.model_type);
        return NULL;
    }
    if ((b->s = weight_check_shape(t, d0, d1, b->err))) return NULL;
    ((tensor_info *)t)->used = true;
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    b->m->n_params += n;
    if (t->dtype == DT_F32 && ((uintptr_t)t->data & 3) == 0) return (const float *)t->data;
    float *dst;
    if (b->transient) { /* packed right away: no owned copy, no allocation (and page faults) per tensor */
        if (n > b->m->widen_cap) {
            free(b->m->widen_tmp);
            b->m->widen_tmp = malloc(n * sizeof(float));
            b->m->widen_cap = b->m->widen_tmp ? n : 0;
        }
        dst = b->m->widen_tmp;
    } else {
        dst = own(b->m, n);
    }
    if (!dst) {
        b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if ((b->s = weight_widen(dst, t, n, b->err))) return NULL;
    return dst;
}

/* Once a weight is packed, its pages in the mapped file are not needed: hand them back so that resident
 * memory is the packed copy alone (they are re-read from the file if ever touched again). */
static void release_mapped(const bertc_model *m, const void *p, size_t bytes) {
    uintptr_t a = (uintptr_t)p, e = a + bytes;
    for (int i = 0; i < m->ts.n_files; i++) {
        const mapped_file *f = &m->ts.files[i];
        if (!f->owned_map || a < (uintptr_t)f->data || e > (uintptr_t)f->data + f->size) continue;
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (a + pg - 1) / pg * pg, hi = e / pg * pg;
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
}

void bind_pack(binder *b, packed_linear *pl, const float *W, const float *bias, int N, int K) {
    if (b->s) return;
    bool ok = b->bf16c ? linear_pack_bf16(pl, W, bias, N, K)
              : b->int8 ? linear_pack_int8(pl, W, bias, N, K)
              : b->wtype ? linear_pack_half(pl, W, bias, N, K, b->wtype)
                         : linear_pack(pl, W, bias, N, K);
    if (!ok) b->s = bertc_fail(b->err, BERTC_ERR_NOMEM, "out of memory packing weights");
    else {
        release_mapped(b->m, W, (size_t)N * K * sizeof(float));
        disown(b->m, W); /* a widened copy (fp16 / bf16 checkpoint) is not needed once packed */
    }
}

/* A linear layer: the weight of role rw (its shape from the table) and the bias that follows it, packed. */
void bind_linear(binder *b, packed_linear *pl, int rw, int l) {
    int64_t N = 0, K = 0;
    if (b->s) return;
    if (!weight_name(&b->m->cfg, rw, l, b->m->cfg.n_labels, (char[256]){0}, 256, &N, &K)) {
        b->s = bertc_fail(b->err, BERTC_ERR_FORMAT, "model_type %s has no linear layer of role %d", b->m->cfg.model_type, rw);
        return;
    }
    b->transient = true;
    const float *W = bind_get(b, rw, l);
    b->transient = false;
    const float *bias = bind_get(b, rw + 1, l);
    bind_pack(b, pl, W, bias, (int)N, (int)K);
}

/* a tensor of the table in the checkpoint by its name as is (no prefix, no gamma / beta) */
const tensor_info *bind_find_exact(const bertc_model *m, int role) {
    char n[256];
    return weight_name(&m->cfg, role, 0, m->cfg.n_labels, n, sizeof n, NULL, NULL) ? tensor_set_find(&m->ts, n) : NULL;
}

bertc_status model_bind_bert(bertc_model *m, binder *bp) {
    const model_config *c = &m->cfg;
    int H = c->hidden;
    binder b = *bp;
    bertc_error *err = b.err;
    m->word = bind_get(&b, WR_WORD, 0);
    m->pos = bind_get(&b, WR_POS, 0);
    if (c->arch != BERTC_ARCH_DISTILBERT && c->type_vocab_size > 0) m->type = bind_get(&b, WR_TYPE, 0);
    m->emb_ln_g = bind_get(&b, WR_EMB_LN_G, 0);
    m->emb_ln_b = bind_get(&b, WR_EMB_LN_B, 0);
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    if (!m->layer) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    /* allocated once the first query weight has been found with its [H, H] shape: a config.json's sizes alone never
     * decide an allocation of this size, the file holds as many weights */
    float *qkv_w = NULL, *qkv_b = NULL;
    for (int l = 0; l < c->layers && !b.s; l++) {
        layer_w *L = &m->layer[l];
        for (int k = 0; k < 3; k++) { /* query, key, value into the fused [3H, H] matrix */
            b.transient = true;
            const float *W = bind_get(&b, WR_Q_W + k, l);
            b.transient = false;
            const float *bb = bind_get(&b, WR_Q_B + k, l);
            if (b.s) break;
            if (!qkv_w) {
                qkv_w = malloc((size_t)3 * H * H * sizeof(float));
                qkv_b = malloc((size_t)3 * H * sizeof(float));
                if (!qkv_w || !qkv_b) {
                    b.s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                    break;
                }
            }
            memcpy(qkv_w + (size_t)k * H * H, W, (size_t)H * H * sizeof(float));
            release_mapped(m, W, (size_t)H * H * sizeof(float));
            disown(m, W);
            memcpy(qkv_b + (size_t)k * H, bb, (size_t)H * sizeof(float));
        }
        bind_pack(&b, &L->qkv, qkv_w, qkv_b, 3 * H, H);
        bind_linear(&b, &L->out, WR_OUT_W, l);
        L->ln1_g = bind_get(&b, WR_LN1_G, l);
        L->ln1_b = bind_get(&b, WR_LN1_B, l);
        bind_linear(&b, &L->ffn1, WR_FFN1_W, l);
        bind_linear(&b, &L->ffn2, WR_FFN2_W, l);
        L->ln2_g = bind_get(&b, WR_LN2_G, l);
        L->ln2_b = bind_get(&b, WR_LN2_B, l);
    }
    free(qkv_w);
    free(qkv_b);
    return bp->s = b.s;
}

bertc_head model_head_of(const model_config *c) {
    const char *an = c->architecture;
    return strstr(an, "ForSequenceClassification") ? BERTC_HEAD_SEQUENCE_CLASSIFICATION
           : strstr(an, "ForTokenClassification")   ? BERTC_HEAD_TOKEN_CLASSIFICATION
           : strstr(an, "ForQuestionAnswering")     ? BERTC_HEAD_QUESTION_ANSWERING
           : strstr(an, "ForMaskedLM") || strstr(an, "ForPreTraining") ? BERTC_HEAD_MASKED_LM
                                                                        : BERTC_HEAD_NONE;
}

binder bind_head_binder(const binder *b) {
    binder hb = *b;
    hb.int8 = 0; /* heads stay fp32: small matmuls (one row per text, or a few labels per token) */
    hb.bf16c = 0;
    hb.wtype = WEIGHT_F32;
    return hb;
}

bertc_status model_bind_heads(bertc_model *m, binder *b) {
    const model_config *c = &m->cfg;
    if (b->s) return b->s;
    m->head = model_head_of(c);
    binder hb = bind_head_binder(b);
    if (m->head == BERTC_HEAD_SEQUENCE_CLASSIFICATION) {
        bind_linear(&hb, &m->head_dense, WR_CLS_DENSE_W, 0);
        bind_linear(&hb, &m->head_out, WR_CLS_OUT_W, 0);
        if (hb.s) return b->s = hb.s;
        m->has_head = true;
        m->head_act = model_head_act(c, m->head);
    } else if (m->head == BERTC_HEAD_TOKEN_CLASSIFICATION || m->head == BERTC_HEAD_QUESTION_ANSWERING) {
        bind_linear(&hb, &m->tok_out, m->head == BERTC_HEAD_QUESTION_ANSWERING ? WR_QA_OUT_W : WR_TOK_OUT_W, 0);
        if (hb.s) return b->s = hb.s;
        m->cfg.problem = BERTC_PROBLEM_NONE;
    } else if (m->head == BERTC_HEAD_MASKED_LM) {
        /* A folder whose architectures name a masked LM but whose weights lack the head (some sentence-transformers
         * exports) loads as a bare encoder. */
        if (bind_find_exact(m, WR_MLM_DENSE_W)) {
            bind_linear(&hb, &m->mlm_dense, WR_MLM_DENSE_W, 0);
            m->mlm_ln_g = bind_get(&hb, WR_MLM_LN_G, 0);
            m->mlm_ln_b = bind_get(&hb, WR_MLM_LN_B, 0);
            if (c->tie_word_embeddings) {
                m->mlm_dec = m->word; /* tied, as transformers ties them (a saved copy is ignored) */
                tensor_info *t = (tensor_info *)bind_find_exact(m, WR_MLM_DEC_W);
                if (t) t->used = true;
            } else {
                m->mlm_dec = bind_get(&hb, WR_MLM_DEC_W, 0);
            }
            /* newer BERT / RoBERTa saves: the decoder's own bias */
            m->mlm_bias = bind_get(&hb, bind_find_exact(m, WR_MLM_BIAS) ? WR_MLM_BIAS : WR_MLM_DEC_B, 0);
            if (hb.s) return b->s = hb.s;
            m->mlm_act = model_head_act(c, m->head);
            m->has_mlm = true;
        }
        m->cfg.problem = BERTC_PROBLEM_NONE;
    } else {
        m->cfg.problem = BERTC_PROBLEM_NONE;
    }
    return BERTC_OK;
}

bertc_status model_check_batch(const bertc_model *m, const bertc_encoding *encs, size_t n, int max_len,
                               bool check_types, size_t *M, int *max_T, bertc_error *err) {
    const model_config *c = &m->cfg;
    *M = 0;
    *max_T = 1;
    for (size_t i = 0; i < n; i++) {
        if (encs[i].n == 0) return bertc_fail(err, BERTC_ERR_INPUT, "input %zu has no tokens", i);
        if (max_len > 0 && encs[i].n > (size_t)max_len)
            return bertc_fail(err, BERTC_ERR_INPUT, "input %zu has %zu tokens, more than the model's %d positions", i,
                              encs[i].n, max_len);
        *M += encs[i].n;
        if ((int)encs[i].n > *max_T) *max_T = (int)encs[i].n;
        for (size_t t = 0; t < encs[i].n; t++) {
            if (encs[i].ids[t] < 0 || encs[i].ids[t] >= c->vocab_size)
                return bertc_fail(err, BERTC_ERR_INPUT, "token id %d outside the vocab (%d)", encs[i].ids[t], c->vocab_size);
            if (check_types && m->type && encs[i].type_ids &&
                (encs[i].type_ids[t] < 0 || encs[i].type_ids[t] >= c->type_vocab_size))
                return bertc_fail(err, BERTC_ERR_INPUT, "token type id %d outside type_vocab_size %d", encs[i].type_ids[t],
                                  c->type_vocab_size);
        }
    }
    return BERTC_OK;
}

bertc_status model_check_unused(const bertc_model *m, bertc_error *err) {
    const model_config *c = &m->cfg;
    /* Unexpected tensors that claim to belong to the encoder mean config.json and the weights disagree. */
    for (int i = 0; i < m->ts.n; i++) {
        const tensor_info *t = &m->ts.t[i];
        if (t->used) continue;
        if (weight_in_layers(c, t->name) && !strstr(t->name, "position_ids"))
            return bertc_fail(err, BERTC_ERR_FORMAT, "unexpected tensor %s: the checkpoint has more than the %d layers "
                              "config.json declares, or another layout", t->name, c->layers);
    }
    return BERTC_OK;
}

/* The architecture's binder (bert.c's layout by default): embeddings, layers, heads, then no tensor of the layers'
 * range left unused. */
static bertc_status bind_weights(bertc_model *m, bertc_error *err) {
    const model_config *c = &m->cfg;
    binder b = {m, weight_prefix(c), err, BERTC_OK, m->compute == BERTC_DTYPE_INT8,
                m->compute_mode == BERTC_COMPUTE_BF16 && !bf16_compute_fallback(),
                m->compute == BERTC_DTYPE_FP16 ? WEIGHT_F16 : m->compute == BERTC_DTYPE_BF16 ? WEIGHT_BF16 : WEIGHT_F32, false};
    bertc_status s = c->ops->bind ? c->ops->bind(m, &b) : model_bind_bert(m, &b);
    if (!s && !c->ops->bind) s = model_bind_heads(m, &b);
    if (!s) s = model_check_unused(m, err);
    return s;
}

void bertc_model_free(bertc_model *m) {
    if (!m) return;
    if (m->cfg.ops && m->cfg.ops->free_ext) m->cfg.ops->free_ext(m);
    if (m->layer) {
        for (int l = 0; l < m->cfg.layers; l++) {
            linear_free(&m->layer[l].qkv);
            linear_free(&m->layer[l].out);
            linear_free(&m->layer[l].ffn1);
            linear_free(&m->layer[l].ffn2);
        }
        free(m->layer);
    }
    linear_free(&m->head_dense);
    linear_free(&m->head_out);
    linear_free(&m->tok_out);
    linear_free(&m->mlm_dense);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    model_config_free(&m->cfg);
    tensor_set_free(&m->ts);
    bertc_tokenizer_free(m->tok);
    threadpool_free(m->pool);
    st_config_free(m);
    free(m);
}

/* The highest N of DIR/checkpoint-N holding a config.json, or -1: a training run's output folder before its end. */
static long newest_checkpoint(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    long best = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "checkpoint-", 11)) continue;
        long n = strtol(de->d_name + 11, &end, 10);
        char p[4096];
        if (*end || n < 0 || n <= best || (size_t)snprintf(p, sizeof p, "%s/%s/config.json", dir, de->d_name) >= sizeof p)
            continue;
        if (file_exists(p)) best = n;
    }
    closedir(d);
    return best;
}

bertc_status model_config_load(const char *dir, model_config *c, char **text, bertc_error *err) {
    char path[4096], *txt = NULL;
    if (!path_join(path, sizeof path, dir, "config.json")) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
    if (!file_exists(path)) {
        long ck = newest_checkpoint(dir);
        if (ck >= 0)
            return bertc_fail(err, BERTC_ERR_IO, "%s: no config.json, but it holds checkpoint-%ld: a training run that did "
                              "not finish (stopped or interrupted)? Load %s/checkpoint-%ld, or finish the run with bertc "
                              "train --resume-from-checkpoint latest", dir, ck, dir, ck);
        return bertc_fail(err, BERTC_ERR_IO, "%s: no config.json (is this a Hugging Face checkpoint folder?)", dir);
    }
    bertc_status s = read_file(path, &txt, NULL, err);
    if (s) return s;
    s = model_config_parse(c, txt, path, err);
    if (!s && text) *text = txt;
    else free(txt);
    return s;
}

bertc_status bertc_model_load(const char *dir, const bertc_model_params *params, bertc_model **out, bertc_error *err) {
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_model_load: NULL out");
    *out = NULL;
    double t0 = now_ms();
    bertc_model_params dp = bertc_model_default_params();
    if (!params) params = &dp;
    bertc_model *m = calloc(1, sizeof *m);
    if (m) m->compute = params->dtype >= BERTC_DTYPE_FP32 && params->dtype <= BERTC_DTYPE_BF16 ? params->dtype : BERTC_DTYPE_FP32;
    if (!m) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    bertc_status s;
    if (params->compute != BERTC_COMPUTE_FP32 && params->compute != BERTC_COMPUTE_BF16) {
        s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "unknown compute %d (fp32 0, bf16 1)", (int)params->compute);
        goto fail;
    }
    m->compute_mode = params->compute;
    /* bf16 compute packs for the bf16 tiers, or as fp32 where no bf16 tier beats the fp32 kernels (the tier choice,
     * measured once per process, happens here at the latest) */
    m->compute_isa = m->compute_mode == BERTC_COMPUTE_BF16 ? bf16_tier()
                     : m->compute == BERTC_DTYPE_INT8      ? int8_tier()
                                                           : simd_isa();
    if (m->compute_mode == BERTC_COMPUTE_BF16 && m->compute != BERTC_DTYPE_FP32 && m->compute != BERTC_DTYPE_BF16) {
        /* bf16 compute rounds the weights to bf16 itself: fp16 storage would round them twice, int8 is another
         * arithmetic altogether */
        s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "compute bf16 needs dtype fp32 or bf16 (the weights are held in bf16), "
                       "not %s", m->compute == BERTC_DTYPE_INT8 ? "int8" : "fp16");
        goto fail;
    }
    bool embedded = !dir || !*dir;
    const bertc_model_files *dflt = NULL;
    if (embedded) {
        if (!(dflt = default_model(err))) {
            s = BERTC_ERR_IO;
            goto fail;
        }
        snprintf(m->source, sizeof m->source, "embedded:%s", dflt->name ? dflt->name : "default");
        if ((s = model_config_parse(&m->cfg, dflt->config_json, "embedded config.json", err))) goto fail;
    } else {
        snprintf(m->source, sizeof m->source, "%s", dir);
        if ((s = model_config_load(dir, &m->cfg, NULL, err))) goto fail;
    }
    if (params->arch != BERTC_ARCH_AUTO && params->arch != m->cfg.arch) {
        s = bertc_fail(err, BERTC_ERR_ARCH, "checkpoint %s is %s (%s), not %s as asked", m->source, m->cfg.model_type,
                       m->cfg.architecture[0] ? m->cfg.architecture : "no architectures", bertc_arch_name(params->arch));
        goto fail;
    }
    if (embedded) {
        s = safetensors_parse(&m->ts, (const uint8_t *)dflt->weights, dflt->weights_len, "embedded model.safetensors", err);
        m->ts.file_bytes = (uint64_t)dflt->weights_len;
    } else {
        s = tensors_load_dir(&m->ts, dir, err);
    }
    if (s) goto fail;
    s = bind_weights(m, err);
    free(m->widen_tmp);
    m->widen_tmp = NULL;
    m->widen_cap = 0;
    if (s) goto fail;
    m->dtype = "float32";
    for (int i = 0; i < m->ts.n; i++)
        if (m->ts.t[i].used && m->ts.t[i].dtype != DT_F32) m->dtype = m->ts.t[i].dtype == DT_F16 ? "float16" : "bfloat16";
    if (embedded) s = tokenizer_load_mem(dflt->tokenizer_json, dflt->tokenizer_config_json, NULL, NULL, NULL, &m->tok, err);
    else s = bertc_tokenizer_load(dir, &m->tok, err);
    if (s) goto fail;
    if (!embedded && (s = st_config_load(m, dir, err))) goto fail;
    if (m->tok->vocab_size > m->cfg.vocab_size) {
        /* ids beyond the embedding table would index out of it: refuse at load, not at run time */
        s = bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer has %d tokens but the model's vocab_size is %d",
                       m->tok->vocab_size, m->cfg.vocab_size);
        goto fail;
    }
    tokenizer_set_position_cap(m->tok, model_position_cap(&m->cfg));
    int nt = params->n_threads > 0 ? params->n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > 256) nt = 256;
    m->pool = threadpool_new(nt);
    if (!m->pool) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory starting %d threads", nt);
        goto fail;
    }
    m->load_ms = now_ms() - t0;
    *out = m;
    return BERTC_OK;
fail:
    bertc_model_free(m);
    return s;
}

void bertc_model_get_info(const bertc_model *m, bertc_model_info *info) {
    memset(info, 0, sizeof *info);
    if (!m) return;
    info->arch = m->cfg.arch;
    info->model_type = m->cfg.model_type;
    info->architecture = m->cfg.architecture;
    info->problem = m->cfg.problem;
    info->n_labels = m->has_head ? m->cfg.n_labels : 0;
    info->hidden = m->cfg.hidden;
    info->layers = m->cfg.layers;
    info->heads = m->cfg.heads;
    info->intermediate = m->cfg.intermediate;
    info->vocab_size = m->cfg.vocab_size;
    info->max_positions = m->cfg.max_positions;
    info->max_length = tokenizer_default_max_length(m->tok);
    info->n_params = m->n_params;
    info->weight_bytes = m->ts.file_bytes;
    info->dtype = m->dtype;
    info->compute = m->compute;
    info->isa = simd_isa();
    info->load_ms = m->load_ms;
    info->source = m->source;
    info->compute_mode = m->compute_mode;
    info->compute_isa = m->compute_isa;
    info->head = m->head == BERTC_HEAD_MASKED_LM && !m->has_mlm ? BERTC_HEAD_NONE : m->head;
    info->max_tokens = model_position_cap(&m->cfg);
    if (info->head == BERTC_HEAD_TOKEN_CLASSIFICATION) info->n_labels = m->cfg.n_labels;
}

const char *bertc_head_name(bertc_head h) {
    switch (h) {
    case BERTC_HEAD_SEQUENCE_CLASSIFICATION: return "sequence-classification";
    case BERTC_HEAD_TOKEN_CLASSIFICATION: return "token-classification";
    case BERTC_HEAD_QUESTION_ANSWERING: return "question-answering";
    case BERTC_HEAD_MASKED_LM: return "masked-lm";
    default: return "none";
    }
}

const bertc_tokenizer *bertc_model_tokenizer(const bertc_model *m) { return m ? m->tok : NULL; }

const char *bertc_model_label(const bertc_model *m, int id) {
    if (!m || id < 0 || id >= m->cfg.n_labels) return NULL;
    return m->cfg.labels[id];
}

int bertc_model_label_id(const bertc_model *m, const char *name) {
    if (!m || !name) return -1;
    for (int i = 0; i < m->cfg.n_labels; i++)
        if (!strcmp(m->cfg.labels[i], name)) return i;
    return -1;
}
