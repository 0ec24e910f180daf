/*
 * model.c — loading a checkpoint folder into a bertc_model: config.json (the fields transformers reads for
 * DistilBertConfig / BertConfig / RobertaConfig), the weights by their Hugging Face names (with or without
 * the base-model prefix, old gamma/beta LayerNorm names accepted, as transformers does), and the tokenizer.
 * F32 weights are used in place from the mapped file; F16/BF16 are widened to fp32 once at load. Linear
 * weights are packed for the GEMM once, here.
 */
#include "model.h"

#include "base/json.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

bertc_model_params bertc_model_default_params(void) {
    bertc_model_params p = {BERTC_ARCH_AUTO, 0, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32};
    return p;
}

static const char *arch_name(bertc_arch a) {
    switch (a) {
    case BERTC_ARCH_DISTILBERT: return "distilbert";
    case BERTC_ARCH_BERT: return "bert";
    case BERTC_ARCH_ROBERTA: return "roberta";
    default: return "auto";
    }
}

/* The fields of config.json are read as transformers reads them: each size goes into torch modules (nn.Linear,
 * nn.Embedding) that refuse anything but an int, so a size written 32.5, 32.0 or "32" is refused here, naming the
 * field and its value, and so is every size beyond bertc's bounds before anything is allocated. */
typedef struct cfg_reader {
    const json_t *j;
    const char *what;
    bool exact; /* the text's integers are integers (else every number is a real: whole ones are accepted) */
    bertc_error *err;
} cfg_reader;

static void cfg_show(const json_t *v, char *buf, size_t cap) {
    if (json_is_integer(v)) snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == (double)(long long)d && d > -1e15 && d < 1e15) snprintf(buf, cap, "%.1f", d); /* 32.0 */
        else snprintf(buf, cap, "%.16g", d);
    }
    else if (json_is_string(v)) snprintf(buf, cap, "\"%.40s\"", json_string_value(v));
    else snprintf(buf, cap, "%s", json_is_null(v) ? "null" : json_is_boolean(v) ? (json_is_true(v) ? "true" : "false")
                                 : json_is_array(v) ? "an array" : "an object");
}

/* Integer field k in [lo, hi] (dflt when absent; when null too if null_ok). */
static bertc_status cfg_intv(const cfg_reader *r, const char *k, int dflt, int lo, int hi, bool null_ok, int *out) {
    const json_t *v = json_object_get(r->j, k);
    if (!v || (null_ok && json_is_null(v))) {
        *out = dflt;
        return BERTC_OK;
    }
    char shown[64];
    cfg_show(v, shown, sizeof shown);
    double d = json_number_value(v);
    bool integral = json_is_integer(v) || (!r->exact && json_is_real(v) && d == (double)(long long)d);
    if (!integral)
        return bertc_fail(r->err, BERTC_ERR_FORMAT, "%s: %s %s is not an integer", r->what, k, shown);
    if (d < lo || d > hi)
        return bertc_fail(r->err, BERTC_ERR_FORMAT, "%s: %s %s out of range (%d .. %d)", r->what, k, shown, lo, hi);
    *out = (int)d;
    return BERTC_OK;
}

static bertc_status parse_act(const char *a, enum epilogue *out, bertc_error *err) {
    if (!a || !strcmp(a, "gelu")) *out = EPI_GELU;
    else if (!strcmp(a, "relu")) *out = EPI_RELU;
    else if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh")) *out = EPI_GELU_TANH;
    else return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "config.json: activation %.40s is not supported "
                           "(supported: gelu, gelu_new, gelu_pytorch_tanh, relu)", a);
    return BERTC_OK;
}

bertc_status model_config_parse(model_config *c, const char *text, const char *what, bertc_error *err) {
    json_t *j;
    bool exact;
    bertc_status s = jparse_exact(text, strlen(text), what, &j, &exact, err);
    if (s) return s;
    if (!json_is_object(j)) {
        json_decref(j);
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s is not a JSON object", what);
    }
    cfg_reader r = {j, what, exact, err};
    const char *mt = jstr(j, "model_type");
    const char *khid, *kheads;
    if (!mt) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s has no model_type", what);
        goto done;
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", mt);
    const char *a0 = json_string_value(json_array_get(json_object_get(j, "architectures"), 0));
    if (a0) snprintf(c->architecture, sizeof c->architecture, "%s", a0);
    if (!strcmp(mt, "distilbert")) {
        c->arch = BERTC_ARCH_DISTILBERT;
        khid = "dim";
        kheads = "n_heads";
        if ((s = cfg_intv(&r, "dim", 768, 1, 65536, false, &c->hidden)) ||
            (s = cfg_intv(&r, "n_layers", 6, 1, 1000, false, &c->layers)) ||
            (s = cfg_intv(&r, "n_heads", 12, 1, 65536, false, &c->heads)) ||
            (s = cfg_intv(&r, "hidden_dim", 3072, 1, 1 << 20, false, &c->intermediate)))
            goto done;
        c->type_vocab_size = 0;
        c->ln_eps = 1e-12f;
        if ((s = parse_act(jstr(j, "activation"), &c->act, err))) goto done;
    } else if (!strcmp(mt, "bert") || !strcmp(mt, "roberta") || !strcmp(mt, "xlm-roberta")) {
        /* XLM-RoBERTa is RoBERTa's architecture (transformers' XLMRobertaModel, base_model_prefix "roberta")
         * with a SentencePiece Unigram tokenizer */
        c->arch = mt[0] == 'b' ? BERTC_ARCH_BERT : BERTC_ARCH_ROBERTA;
        khid = "hidden_size";
        kheads = "num_attention_heads";
        /* type_vocab_size >= 1: the embeddings add token type 0's row to every token (an empty table fails in
         * transformers' forward) */
        if ((s = cfg_intv(&r, "hidden_size", 768, 1, 65536, false, &c->hidden)) ||
            (s = cfg_intv(&r, "num_hidden_layers", 12, 1, 1000, false, &c->layers)) ||
            (s = cfg_intv(&r, "num_attention_heads", 12, 1, 65536, false, &c->heads)) ||
            (s = cfg_intv(&r, "intermediate_size", 3072, 1, 1 << 20, false, &c->intermediate)) ||
            (s = cfg_intv(&r, "type_vocab_size", 2, 1, 1024, false, &c->type_vocab_size)))
            goto done;
        const json_t *eps = json_object_get(j, "layer_norm_eps");
        double e = json_number_value(eps);
        if (eps && (!json_is_number(eps) || !(e > 0 && e < 1) || !((float)e > 0))) {
            char shown[64];
            cfg_show(eps, shown, sizeof shown);
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: layer_norm_eps %s out of range (a number between 0 and 1, "
                           "above float32's smallest)", what, shown);
            goto done;
        }
        c->ln_eps = eps ? (float)e : 1e-12f;
        if ((s = parse_act(jstr(j, "hidden_act"), &c->act, err))) goto done;
        const char *pet = jstr(j, "position_embedding_type");
        if (pet && strcmp(pet, "absolute") != 0) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: position_embedding_type %.40s is not supported (absolute only)",
                           what, pet);
            goto done;
        }
    } else {
        s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: model_type %.40s is not supported (distilbert, bert, roberta, xlm-roberta)",
                       what, mt);
        goto done;
    }
    c->tie_word_embeddings = jbool(j, "tie_word_embeddings", 1);
    if ((s = cfg_intv(&r, "vocab_size", 30522, 1, 1 << 24, false, &c->vocab_size)) ||
        (s = cfg_intv(&r, "max_position_embeddings", 512, 1, 1 << 20, false, &c->max_positions)) ||
        (s = cfg_intv(&r, "pad_token_id", c->arch == BERTC_ARCH_ROBERTA ? 1 : 0, -(1 << 24), 1 << 24, true,
                      &c->pad_token_id)))
        goto done;
    if (c->hidden % c->heads != 0) { /* transformers raises the same ValueError */
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: %s %d out of range: %s %d is not a multiple of the number of "
                       "attention heads", what, kheads, c->heads, khid, c->hidden);
        goto done;
    }
    /* nn.Embedding(vocab_size, H, padding_idx=pad_token_id) asserts -vocab_size <= padding_idx < vocab_size */
    if (c->pad_token_id < -c->vocab_size || c->pad_token_id >= c->vocab_size) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d out of range for vocab_size %d", what, c->pad_token_id,
                       c->vocab_size);
        goto done;
    }
    if (c->arch == BERTC_ARCH_ROBERTA && (c->pad_token_id < 0 || c->pad_token_id + 2 > c->max_positions)) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: pad_token_id %d leaves no positions", what, c->pad_token_id);
        goto done;
    }
    /* labels: id2label wins over num_labels (transformers warns and overwrites num_labels) */
    json_t *id2label = json_object_get(j, "id2label");
    int nl;
    if (json_is_object(id2label)) {
        nl = (int)(json_object_size(id2label) > 100000 ? 100001 : json_object_size(id2label));
        if (nl > 100000) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: id2label has %zu labels (at most 100000)", what,
                           json_object_size(id2label));
            goto done;
        }
    } else if ((s = cfg_intv(&r, "num_labels", 2, 0, 100000, true, &nl))) {
        goto done;
    }
    c->n_labels = nl;
    c->labels = calloc((size_t)(nl ? nl : 1), sizeof *c->labels);
    if (!c->labels) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (id2label && !json_is_object(id2label) && !json_is_null(id2label)) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: id2label is not an object", what);
        goto done;
    }
    const char *key;
    const json_t *e;
    json_object_foreach(id2label, key, e) {
        char *endp = NULL;
        long id = -1;
        if (key[0] >= '0' && key[0] <= '9') id = strtol(key, &endp, 10);
        if (!endp || *endp || id < 0 || id >= nl || !json_is_string(e) || c->labels[id]) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: id2label entry \"%.40s\" is not a label for ids 0..%d", what,
                           key, nl - 1);
            goto done;
        }
        if (!(c->labels[id] = strdup(json_string_value(e)))) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    for (int i = 0; i < nl; i++)
        if (!c->labels[i]) {
            char buf[32];
            snprintf(buf, sizeof buf, "LABEL_%d", i);
            if (!(c->labels[i] = strdup(buf))) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
    const char *pt = jstr(j, "problem_type");
    c->problem_explicit = pt != NULL;
    if (pt) {
        if (!strcmp(pt, "multi_label_classification")) c->problem = BERTC_PROBLEM_MULTI_LABEL;
        else if (!strcmp(pt, "regression")) c->problem = BERTC_PROBLEM_REGRESSION;
        else if (!strcmp(pt, "single_label_classification")) c->problem = BERTC_PROBLEM_SINGLE_LABEL;
        else {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: unknown problem_type %.40s", what, pt);
            goto done;
        }
    } else {
        c->problem = nl == 1 ? BERTC_PROBLEM_REGRESSION : BERTC_PROBLEM_SINGLE_LABEL;
    }
done:
    json_decref(j);
    return s;
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

typedef struct binder {
    bertc_model *m;
    const char *prefix; /* "distilbert.", "bert.", "roberta." */
    bertc_error *err;
    bertc_status s;
    int int8;  /* pack linears in int8 */
    int bf16c; /* pack linears for bf16 compute */
    int wtype; /* otherwise: enum weight_type of their storage */
    bool transient; /* the next get() is a linear weight about to be packed: widen it into the reused buffer */
} binder;

static const tensor_info *find_named(binder *b, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", b->prefix, name);
    const tensor_info *t = tensor_set_find(&b->m->ts, full);
    if (!t) t = tensor_set_find(&b->m->ts, name);
    return t;
}

/* The fp32 data of tensor `name` with the expected shape (d1 = 0 for 1-D), or NULL with b->s set. */
static const float *get(binder *b, const char *name, int64_t d0, int64_t d1) {
    if (b->s) return NULL;
    const tensor_info *t = find_named(b, name);
    if (!t) {
        /* checkpoints from the TF era name LayerNorm parameters gamma / beta */
        char alt[256];
        size_t l = strlen(name);
        if (l > 7 && !strcmp(name + l - 7, ".weight") && strstr(name, "LayerNorm")) {
            snprintf(alt, sizeof alt, "%.*s.gamma", (int)(l - 7), name);
            t = find_named(b, alt);
        } else if (l > 5 && !strcmp(name + l - 5, ".bias") && strstr(name, "LayerNorm")) {
            snprintf(alt, sizeof alt, "%.*s.beta", (int)(l - 5), name);
            t = find_named(b, alt);
        }
    }
    if (!t) {
        b->s = bertc_fail(b->err, BERTC_ERR_FORMAT, "checkpoint is missing tensor %s%s (model_type %s)", b->prefix, name,
                          b->m->cfg.model_type);
        return NULL;
    }
    bool shape_ok = d1 ? (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1) : (t->ndim == 1 && t->shape[0] == d0);
    if (!shape_ok) {
        char got[96] = "";
        for (int i = 0; i < t->ndim && i < 4; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        if (d1) b->s = bertc_fail(b->err, BERTC_ERR_FORMAT, "tensor %s has shape [%s], config.json implies [%lld, %lld]",
                                  t->name, got, (long long)d0, (long long)d1);
        else b->s = bertc_fail(b->err, BERTC_ERR_FORMAT, "tensor %s has shape [%s], config.json implies [%lld]", t->name,
                               got, (long long)d0);
        return NULL;
    }
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
    const uint8_t *src = t->data;
    switch (t->dtype) {
    case DT_F32: memcpy(dst, src, n * 4); break;
    case DT_F16:
    case DT_BF16: {
        int wt = t->dtype == DT_F16 ? WEIGHT_F16 : WEIGHT_BF16; /* the kernels' exact widening */
        if (cpu_has_avx2_fma()) widen_half_avx2(dst, src, n, wt);
        else
            for (size_t i = 0; i < n; i++) dst[i] = weight_to_float((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)), wt);
        break;
    }
    default:
        b->s = bertc_fail(b->err, BERTC_ERR_UNSUPPORTED, "tensor %s has dtype %s (supported: F32, F16, BF16)", t->name,
                          t->dtype_name);
        return NULL;
    }
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

static void pack(binder *b, packed_linear *pl, const float *W, const float *bias, int N, int K) {
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

static void bind_linear(binder *b, packed_linear *pl, const char *name, int N, int K) {
    char wn[200], bn[200];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    b->transient = true;
    const float *W = get(b, wn, N, K);
    b->transient = false;
    const float *bias = get(b, bn, N, 0);
    pack(b, pl, W, bias, N, K);
}

static bertc_status bind_weights(bertc_model *m, bertc_error *err) {
    const model_config *c = &m->cfg;
    int H = c->hidden, I = c->intermediate;
    binder b = {m, c->arch == BERTC_ARCH_DISTILBERT ? "distilbert." : c->arch == BERTC_ARCH_BERT ? "bert." : "roberta.",
                err, BERTC_OK, m->compute == BERTC_DTYPE_INT8, m->compute_mode == BERTC_COMPUTE_BF16 && !bf16_compute_fallback(),
                m->compute == BERTC_DTYPE_FP16 ? WEIGHT_F16 : m->compute == BERTC_DTYPE_BF16 ? WEIGHT_BF16 : WEIGHT_F32, false};
    m->word = get(&b, "embeddings.word_embeddings.weight", c->vocab_size, H);
    m->pos = get(&b, "embeddings.position_embeddings.weight", c->max_positions, H);
    if (c->arch != BERTC_ARCH_DISTILBERT && c->type_vocab_size > 0)
        m->type = get(&b, "embeddings.token_type_embeddings.weight", c->type_vocab_size, H);
    m->emb_ln_g = get(&b, "embeddings.LayerNorm.weight", H, 0);
    m->emb_ln_b = get(&b, "embeddings.LayerNorm.bias", H, 0);
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    if (!m->layer) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    /* allocated once the first query weight has been found with its [H, H] shape: a config.json's sizes alone never
     * decide an allocation of this size, the file holds as many weights */
    float *qkv_w = NULL, *qkv_b = NULL;
    for (int l = 0; l < c->layers && !b.s; l++) {
        layer_w *L = &m->layer[l];
        char n[160];
        static const char *const dq[3] = {"q_lin", "k_lin", "v_lin"}, *const bq[3] = {"self.query", "self.key", "self.value"};
        for (int k = 0; k < 3; k++) {
            char wn[200], bn[200];
            if (c->arch == BERTC_ARCH_DISTILBERT) snprintf(n, sizeof n, "transformer.layer.%d.attention.%s", l, dq[k]);
            else snprintf(n, sizeof n, "encoder.layer.%d.attention.%s", l, bq[k]);
            snprintf(wn, sizeof wn, "%s.weight", n);
            snprintf(bn, sizeof bn, "%s.bias", n);
            b.transient = true;
            const float *W = get(&b, wn, H, H);
            b.transient = false;
            const float *bb = get(&b, bn, H, 0);
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
        pack(&b, &L->qkv, qkv_w, qkv_b, 3 * H, H);
        if (c->arch == BERTC_ARCH_DISTILBERT) {
            char p[96];
            snprintf(p, sizeof p, "transformer.layer.%d.", l);
            snprintf(n, sizeof n, "%sattention.out_lin", p);
            bind_linear(&b, &L->out, n, H, H);
            snprintf(n, sizeof n, "%ssa_layer_norm.weight", p);
            L->ln1_g = get(&b, n, H, 0);
            snprintf(n, sizeof n, "%ssa_layer_norm.bias", p);
            L->ln1_b = get(&b, n, H, 0);
            snprintf(n, sizeof n, "%sffn.lin1", p);
            bind_linear(&b, &L->ffn1, n, I, H);
            snprintf(n, sizeof n, "%sffn.lin2", p);
            bind_linear(&b, &L->ffn2, n, H, I);
            snprintf(n, sizeof n, "%soutput_layer_norm.weight", p);
            L->ln2_g = get(&b, n, H, 0);
            snprintf(n, sizeof n, "%soutput_layer_norm.bias", p);
            L->ln2_b = get(&b, n, H, 0);
        } else {
            char p[96];
            snprintf(p, sizeof p, "encoder.layer.%d.", l);
            snprintf(n, sizeof n, "%sattention.output.dense", p);
            bind_linear(&b, &L->out, n, H, H);
            snprintf(n, sizeof n, "%sattention.output.LayerNorm.weight", p);
            L->ln1_g = get(&b, n, H, 0);
            snprintf(n, sizeof n, "%sattention.output.LayerNorm.bias", p);
            L->ln1_b = get(&b, n, H, 0);
            snprintf(n, sizeof n, "%sintermediate.dense", p);
            bind_linear(&b, &L->ffn1, n, I, H);
            snprintf(n, sizeof n, "%soutput.dense", p);
            bind_linear(&b, &L->ffn2, n, H, I);
            snprintf(n, sizeof n, "%soutput.LayerNorm.weight", p);
            L->ln2_g = get(&b, n, H, 0);
            snprintf(n, sizeof n, "%soutput.LayerNorm.bias", p);
            L->ln2_b = get(&b, n, H, 0);
        }
    }
    free(qkv_w);
    free(qkv_b);
    if (b.s) return b.s;
    /* head */
    const char *an = c->architecture;
    m->head = strstr(an, "ForSequenceClassification") ? BERTC_HEAD_SEQUENCE_CLASSIFICATION
              : strstr(an, "ForTokenClassification")   ? BERTC_HEAD_TOKEN_CLASSIFICATION
              : strstr(an, "ForQuestionAnswering")     ? BERTC_HEAD_QUESTION_ANSWERING
              : strstr(an, "ForMaskedLM") || strstr(an, "ForPreTraining") ? BERTC_HEAD_MASKED_LM
                                                                           : BERTC_HEAD_NONE;
    binder hb = b;
    hb.int8 = 0; /* heads stay fp32: small matmuls (one row per text, or a few labels per token) */
    hb.bf16c = 0;
    hb.wtype = WEIGHT_F32;
    hb.prefix = "";
    if (m->head == BERTC_HEAD_SEQUENCE_CLASSIFICATION) {
        const char *dense = c->arch == BERTC_ARCH_DISTILBERT ? "pre_classifier" : c->arch == BERTC_ARCH_BERT ? "pooler.dense"
                                                                                                       : "classifier.dense";
        const char *outp = c->arch == BERTC_ARCH_ROBERTA ? "classifier.out_proj" : "classifier";
        hb.prefix = c->arch == BERTC_ARCH_BERT ? "bert." : ""; /* the pooler lives in the base model */
        bind_linear(&hb, &m->head_dense, dense, H, H);
        hb.prefix = "";
        bind_linear(&hb, &m->head_out, outp, c->n_labels, H);
        if (hb.s) return hb.s;
        m->has_head = true;
        m->head_act = c->arch == BERTC_ARCH_DISTILBERT ? EPI_RELU : EPI_TANH;
    } else if (m->head == BERTC_HEAD_TOKEN_CLASSIFICATION || m->head == BERTC_HEAD_QUESTION_ANSWERING) {
        bool qa = m->head == BERTC_HEAD_QUESTION_ANSWERING;
        bind_linear(&hb, &m->tok_out, qa ? "qa_outputs" : "classifier", qa ? 2 : c->n_labels, H);
        if (hb.s) return hb.s;
        m->cfg.problem = BERTC_PROBLEM_NONE;
    } else if (m->head == BERTC_HEAD_MASKED_LM) {
        /* DistilBertForMaskedLM: vocab_transform, activation, vocab_layer_norm, vocab_projector;
         * BertForMaskedLM: cls.predictions.transform.{dense, LayerNorm}, decoder, bias; RobertaForMaskedLM:
         * lm_head.{dense, layer_norm, decoder, bias} with gelu. A folder whose architectures name a masked LM but
         * whose weights lack the head (some sentence-transformers exports) loads as a bare encoder. */
        const char *dense = c->arch == BERTC_ARCH_DISTILBERT ? "vocab_transform"
                            : c->arch == BERTC_ARCH_BERT     ? "cls.predictions.transform.dense"
                                                             : "lm_head.dense";
        char wn[128];
        snprintf(wn, sizeof wn, "%s.weight", dense);
        if (tensor_set_find(&m->ts, wn)) {
            const char *ln = c->arch == BERTC_ARCH_DISTILBERT ? "vocab_layer_norm"
                             : c->arch == BERTC_ARCH_BERT     ? "cls.predictions.transform.LayerNorm"
                                                              : "lm_head.layer_norm";
            const char *dec = c->arch == BERTC_ARCH_DISTILBERT ? "vocab_projector"
                              : c->arch == BERTC_ARCH_BERT     ? "cls.predictions.decoder"
                                                               : "lm_head.decoder";
            const char *bias = c->arch == BERTC_ARCH_DISTILBERT ? "vocab_projector.bias"
                               : c->arch == BERTC_ARCH_BERT     ? "cls.predictions.bias"
                                                                : "lm_head.bias";
            bind_linear(&hb, &m->mlm_dense, dense, H, H);
            char n[160];
            snprintf(n, sizeof n, "%s.weight", ln);
            m->mlm_ln_g = get(&hb, n, H, 0);
            snprintf(n, sizeof n, "%s.bias", ln);
            m->mlm_ln_b = get(&hb, n, H, 0);
            snprintf(n, sizeof n, "%s.weight", dec);
            if (c->tie_word_embeddings) {
                m->mlm_dec = m->word; /* tied, as transformers ties them (a saved copy is ignored) */
                tensor_info *t = (tensor_info *)tensor_set_find(&m->ts, n);
                if (t) t->used = true;
            } else {
                m->mlm_dec = get(&hb, n, c->vocab_size, H);
            }
            if (!tensor_set_find(&m->ts, bias)) { /* newer BERT / RoBERTa saves: the decoder's own bias */
                snprintf(n, sizeof n, "%s.bias", dec);
                bias = n;
            }
            m->mlm_bias = get(&hb, bias, c->vocab_size, 0);
            if (hb.s) return hb.s;
            m->mlm_act = c->arch == BERTC_ARCH_ROBERTA ? EPI_GELU : c->act;
            m->has_mlm = true;
        }
        m->cfg.problem = BERTC_PROBLEM_NONE;
    } else {
        m->cfg.problem = BERTC_PROBLEM_NONE;
    }
    /* Unexpected tensors that claim to belong to the encoder mean config.json and the weights disagree. */
    for (int i = 0; i < m->ts.n; i++) {
        const tensor_info *t = &m->ts.t[i];
        if (t->used) continue;
        const char *nm = t->name;
        size_t pl = strlen(b.prefix);
        if (!strncmp(nm, b.prefix, pl)) nm += pl;
        bool encoder = !strncmp(nm, "transformer.layer.", 18) || !strncmp(nm, "encoder.layer.", 14);
        if (encoder && !strstr(nm, "position_ids"))
            return bertc_fail(err, BERTC_ERR_FORMAT, "unexpected tensor %s: the checkpoint has more than the %d layers "
                              "config.json declares, or another layout", t->name, c->layers);
    }
    return BERTC_OK;
}

void bertc_model_free(bertc_model *m) {
    if (!m) return;
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
    char *cfg_txt = NULL;
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
        char path[4096];
        if (!path_join(path, sizeof path, dir, "config.json")) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long");
            goto fail;
        }
        if (!file_exists(path)) {
            s = bertc_fail(err, BERTC_ERR_IO, "%s: no config.json (is this a Hugging Face checkpoint folder?)", dir);
            goto fail;
        }
        if ((s = read_file(path, &cfg_txt, NULL, err))) goto fail;
        s = model_config_parse(&m->cfg, cfg_txt, path, err);
        free(cfg_txt);
        if (s) goto fail;
    }
    if (params->arch != BERTC_ARCH_AUTO && params->arch != m->cfg.arch) {
        s = bertc_fail(err, BERTC_ERR_ARCH, "checkpoint %s is %s (%s), not %s as asked", m->source, m->cfg.model_type,
                       m->cfg.architecture[0] ? m->cfg.architecture : "no architectures", arch_name(params->arch));
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
    tokenizer_set_position_cap(m->tok, m->cfg.arch == BERTC_ARCH_ROBERTA ? m->cfg.max_positions - m->cfg.pad_token_id - 1
                                                                          : m->cfg.max_positions);
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
