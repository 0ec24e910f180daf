/*
 * tmodel.c — a checkpoint loaded for training: the parameter table by transformers' names, fresh heads
 * initialised as transformers' _init_weights does (normal(0, initializer_range), zero bias), packing for the
 * kernels, and saving as save_pretrained writes a *ForSequenceClassification folder.
 */
#include "tmodel.h"
#include "base/json.h"
#include "kernels/tiers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ptab {
    tparam *p;
    int n, cap;
    size_t total;
    bool oom; /* a parameter could not be added: the table is incomplete */
} ptab;

static size_t add(ptab *t, const char *name, int64_t d0, int64_t d1, bool decay) {
    if (t->n == t->cap) {
        int nc = t->cap ? 2 * t->cap : 128;
        tparam *np = realloc(t->p, (size_t)nc * sizeof *np);
        if (!np) {
            t->oom = true;
            return SIZE_MAX;
        }
        t->p = np;
        t->cap = nc;
    }
    tparam *p = &t->p[t->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = d1 ? 2 : 1;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    p->off = t->total;
    p->decay = decay;
    t->total += (p->n + 15) / 16 * 16; /* 64-byte aligned starts */
    return p->off;
}

int tmodel_find(const tmodel *m, const char *name) {
    for (int i = 0; i < m->np; i++)
        if (!strcmp(m->p[i].name, name)) return i;
    return -1;
}

/* normal(0, std) by Box-Muller over splitmix64 draws (transformers uses torch's generator: the values differ,
 * the distribution is the same). */
static void init_normal(float *w, size_t n, float std, uint64_t seed) {
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((mix64(seed ^ (i * 2 + 1)) >> 11) + 1.0) * 0x1.0p-53, u2 = (mix64(seed ^ (i * 2 + 2)) >> 11) * 0x1.0p-53;
        double r = sqrt(-2.0 * log(u1));
        w[i] = (float)(std * r * cos(2 * M_PI * u2));
        if (i + 1 < n) w[i + 1] = (float)(std * r * sin(2 * M_PI * u2));
    }
}


/* A tensor's place in the flat buffer, or NULL for a role the architecture does not name (SIZE_MAX). */
static float *at(float *base, size_t off) { return off == SIZE_MAX ? NULL : base + off; }

/* normal(0, std) truncated to [-cut std, cut std] as torch's trunc_normal_ draws it (ModernBERT's init), each value
 * drawn again (the next Box-Muller pair) until it falls inside. */
static void init_trunc_normal(float *w, size_t n, float std, float cut, uint64_t seed) {
    for (size_t i = 0; i < n; i++)
        for (uint64_t k = 0;; k++) {
            uint64_t c0 = 2 * ((uint64_t)i + k * (uint64_t)n);
            double u1 = ((mix64(seed ^ (c0 + 1)) >> 11) + 1.0) * 0x1.0p-53, u2 = (mix64(seed ^ (c0 + 2)) >> 11) * 0x1.0p-53;
            double z = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
            if (fabs(z) <= cut || k == 1000) {
                w[i] = (float)(std * (fabs(z) <= cut ? z : 0.0));
                break;
            }
        }
}

/* The encoder over the flat buffer: its weights point into w (the linears are packed from w by tmodel_pack), and
 * its training state carries w, g and the layers' offsets. */
static void bind_encoder(tmodel *m) {
    bertc_model *e = &m->enc;
    encoder_train *tr = &m->tr;
    e->cfg = m->cfg;
    e->cfg.labels = NULL; /* m->cfg owns them */
    e->tok = m->tok;
    e->pool = m->pool;
    tr->w = m->w;
    tr->g = m->g;
    tr->L = m->L;
    e->word = m->w + tr->word;
    e->pos = tr->pos != SIZE_MAX ? m->w + tr->pos : NULL; /* DeBERTa's without position_biased_input: none */
    e->type = tr->type != SIZE_MAX ? m->w + tr->type : NULL;
    e->emb_ln_g = m->w + tr->emb_g;
    e->emb_ln_b = at(m->w, tr->emb_b); /* ModernBERT without norm_bias: none */
    for (int l = 0; l < m->cfg.layers; l++) {
        e->layer[l].ln1_g = at(m->w, m->L[l].ln1_g); /* ModernBERT's layer 0: no attn_norm */
        e->layer[l].ln1_b = at(m->w, m->L[l].ln1_b);
        e->layer[l].ln2_g = at(m->w, m->L[l].ln2_g);
        e->layer[l].ln2_b = at(m->w, m->L[l].ln2_b);
    }
    e->head = BERTC_HEAD_SEQUENCE_CLASSIFICATION;
    e->has_head = true;
    e->head_act = model_head_act(&m->cfg, e->head);
    e->train = tr;
}

static const char *const dtype_names[] = {"float32", "float16", "bfloat16"}; /* by enum st_dtype */

/* config.json's "dtype" (transformers 5) or "torch_dtype" (4.x) as DT_F32 / DT_F16 / DT_BF16; -1 when neither
 * names one of them (absent, "auto", unparsable). */
static int config_dtype(const char *config_json) {
    json_error_t je;
    int oom = 0;
    json_t *j = config_json ? jload(config_json, strlen(config_json), 0, &je, &oom) : NULL;
    int r = -1;
    const char *keys[] = {"dtype", "torch_dtype"};
    for (int k = 0; k < 2 && r < 0; k++) {
        const char *v = json_string_value(json_object_get(j, keys[k]));
        for (int d = 0; v && d < 3; d++)
            if (!strcmp(v, dtype_names[d])) r = d;
    }
    json_decref(j);
    return r;
}

bertc_status tmodel_load(const char *dir, const tmodel_head *head, int n_threads, tmodel **out, char **fresh_names,
                         bertc_error *err) {
    *out = NULL;
    if (fresh_names) *fresh_names = NULL;
    tmodel *m = calloc(1, sizeof *m);
    if (!m) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    tensor_set ts = {0};
    ptab t = {0};
    char *names = NULL;
    size_t names_len = 0;
    char path[4200];
    bertc_status s;
    if ((s = model_config_load(dir, &m->cfg, &m->config_json, err))) goto fail;
    model_config *c = &m->cfg;
    if (!c->ops->backward) { /* an architecture without a backward pass (deberta.c) */
        s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "training %s is not supported yet", c->model_type);
        goto fail;
    }
    m->drop = c->drop;
    m->initializer_range = c->initializer_range;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!(m->drop.hidden >= 0 && m->drop.hidden < 1 && m->drop.attention >= 0 && m->drop.attention < 1 &&
          m->drop.classifier >= 0 && m->drop.classifier < 1)) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s: dropout probabilities must be in [0, 1)", path);
        goto fail;
    }
    if ((s = tensors_load_dir(&ts, dir, err))) goto fail;

    /* the parameters: the architecture's name table, body then the sequence-classification head */
    const char *prefix = weight_prefix(c);
    char n[160];
    weight_name(c, WR_CLS_OUT_W, 0, 0, n, sizeof n, NULL, NULL);
    const tensor_info *ow = tensor_set_find(&ts, n);
    int L0 = ow && ow->ndim == 2 ? (int)ow->shape[0] : 0;
    int nl = head && head->n_labels > 0 ? head->n_labels : (ow ? L0 : c->n_labels);
    if (ow && L0 != nl && !(head && head->ignore_mismatched)) {
        s = bertc_fail(err, BERTC_ERR_INPUT, "the checkpoint's head %s has %d outputs but the task has %d labels: "
                       "train from the base model, or give the checkpoint's labels", n, L0, nl);
        goto fail;
    }
    m->L = calloc((size_t)c->layers, sizeof *m->L);
    if (!m->L) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t off[WR_COUNT];
    for (int r = 0; r < WR_COUNT; r++) off[r] = SIZE_MAX; /* a role the architecture does not name */
    m->tr.type = SIZE_MAX;
    for (int r = WR_ARCH; r < WR_MAX; r++) m->tr.arch[r - WR_ARCH] = SIZE_MAX;
    m->ffn1_rows = c->intermediate;
    for (int l = -1; l <= c->layers; l++) { /* -1: embeddings, layers: the head */
        int r0 = l < 0 ? WR_WORD : l < c->layers ? WR_LAYER_FIRST : WR_CLS_DENSE_W;
        int r1 = l < 0 ? WR_EMB_LN_B : l < c->layers ? WR_LAYER_LAST : WR_CLS_OUT_B;
        for (int r = r0; r <= r1; r++) {
            int64_t d0, d1;
            if (!weight_name(c, r, l, nl, n, sizeof n, &d0, &d1)) continue;
            off[r] = add(&t, n, d0, d1, d1 != 0);
            if (r == WR_FFN1_W) m->ffn1_rows = (int)d0;
        }
        if (l < 0) {
            m->tr.word = off[WR_WORD], m->tr.pos = off[WR_POS], m->tr.emb_g = off[WR_EMB_LN_G], m->tr.emb_b = off[WR_EMB_LN_B];
            if (c->arch != BERTC_ARCH_DISTILBERT && c->type_vocab_size > 0) m->tr.type = off[WR_TYPE];
            /* the architecture's own tensors of the encoder (named under the base model's prefix; its heads' are
             * not): ELECTRA's embeddings_project */
            for (int r = WR_ARCH; r < WR_MAX; r++) {
                int64_t d0, d1;
                if (weight_name(c, r, 0, nl, n, sizeof n, &d0, &d1) && !strncmp(n, prefix, strlen(prefix))) {
                    m->tr.arch[r - WR_ARCH] = add(&t, n, d0, d1, d1 != 0);
                    /* one per layer (DeBERTa's pos_key_proj / pos_query_proj): the layers' in order */
                    for (int l2 = 1; c->ops->train_per_layer && c->ops->train_per_layer(r) && l2 < c->layers; l2++) {
                        weight_name(c, r, l2, nl, n, sizeof n, &d0, &d1);
                        size_t o = add(&t, n, d0, d1, d1 != 0);
                        if (l2 == 1) m->tr.arch_stride[r - WR_ARCH] = o - m->tr.arch[r - WR_ARCH];
                    }
                }
            }
        } else if (l < c->layers) {
            m->L[l] = (tlayer){off[WR_Q_W], off[WR_Q_B], off[WR_OUT_W], off[WR_OUT_B], off[WR_LN1_G], off[WR_LN1_B],
                               off[WR_FFN1_W], off[WR_FFN1_B], off[WR_FFN2_W], off[WR_FFN2_B], off[WR_LN2_G], off[WR_LN2_B]};
        } else {
            m->tr.head_dw = off[WR_CLS_DENSE_W], m->tr.head_db = off[WR_CLS_DENSE_B];
            m->tr.head_ow = off[WR_CLS_OUT_W], m->tr.head_ob = off[WR_CLS_OUT_B];
            /* the architecture's own tensors of the head (ModernBERT's head.norm) */
            for (int r = WR_ARCH; r < WR_MAX && c->ops->train_head_role; r++) {
                int64_t d0, d1;
                if (c->ops->train_head_role(r) && weight_name(c, r, 0, nl, n, sizeof n, &d0, &d1))
                    m->tr.arch[r - WR_ARCH] = add(&t, n, d0, d1, d1 != 0);
            }
        }
    }
    if (t.oom || (t.n && t.p == NULL)) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < t.n; i++)
        if (t.p[i].off == SIZE_MAX) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto fail;
        }
    m->p = t.p;
    m->np = t.n;
    m->total = t.total;
    t.p = NULL;
    m->w = aligned_alloc(64, m->total * sizeof(float));
    m->g = aligned_alloc(64, m->total * sizeof(float));
    if (!m->w || !m->g) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu parameters", m->total);
        goto fail;
    }
    memset(m->w, 0, m->total * sizeof(float));
    memset(m->g, 0, m->total * sizeof(float));
    m->p[0].is_embedding_rows = true;
    m->save_dtype = config_dtype(m->config_json);
    if (m->save_dtype < 0) {
        const tensor_info *wt = weight_lookup(&ts, m->p[0].name, prefix);
        m->save_dtype = wt && (wt->dtype == DT_F16 || wt->dtype == DT_BF16) ? (int)wt->dtype : DT_F32;
    }
    uint64_t seed = head ? head->seed : 42;
    for (int i = 0; i < m->np; i++) {
        tparam *p = &m->p[i];
        const tensor_info *ti = weight_lookup(&ts, p->name, prefix);
        bool in_head = p->off >= m->tr.head_dw;
        if (ti && in_head && head && head->ignore_mismatched &&
            (ti->ndim != p->ndim || ti->shape[0] != p->shape[0] || (p->ndim == 2 && ti->shape[1] != p->shape[1])))
            ti = NULL;
        if (ti) {
            if ((s = weight_check_shape(ti, p->shape[0], p->ndim == 2 ? p->shape[1] : 0, err)) ||
                (s = weight_widen(m->w + p->off, ti, p->n, err)))
                goto fail;
            continue;
        }
        if (!in_head) {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "checkpoint is missing tensor %s (model_type %s)", p->name,
                           c->model_type);
            goto fail;
        }
        p->fresh = true;
        m->n_fresh++;
        float cut = 0, std = c->ops->train_init_std ? c->ops->train_init_std(c, p->name, &cut) : m->initializer_range;
        if (p->ndim == 2 && cut > 0) init_trunc_normal(m->w + p->off, p->n, std, cut, mix64(seed ^ (0x4EAD0000ull + (uint64_t)i)));
        else if (p->ndim == 2) init_normal(m->w + p->off, p->n, std, mix64(seed ^ (0x4EAD0000ull + (uint64_t)i)));
        size_t nlen = strlen(p->name);
        if (p->ndim == 1 && nlen > 11 && !strcmp(p->name + nlen - 11, "norm.weight")) /* a LayerNorm's: ones */
            for (size_t k = 0; k < p->n; k++) m->w[p->off + k] = 1.0f;
        size_t need = names_len + strlen(p->name) + 3;
        char *nn = realloc(names, need);
        if (!nn) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        names = nn;
        names_len += (size_t)sprintf(names + names_len, "%s%s", names_len ? ", " : "", p->name);
    }
    /* labels of the task */
    if (nl != c->n_labels || (head && head->labels)) {
        for (int i = 0; i < c->n_labels; i++) free(c->labels[i]);
        free(c->labels);
        c->labels = calloc((size_t)nl, sizeof *c->labels);
        if (!c->labels) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        c->n_labels = nl;
        for (int i = 0; i < nl; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "LABEL_%d", i);
            if (!(c->labels[i] = strdup(head && head->labels ? head->labels[i] : buf))) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                goto fail;
            }
        }
    }
    if (head && head->problem) c->problem = head->problem;
    else if (c->problem == BERTC_PROBLEM_NONE || !c->problem_explicit)
        c->problem = nl == 1 ? BERTC_PROBLEM_REGRESSION : BERTC_PROBLEM_SINGLE_LABEL;
    c->problem_explicit = true;
    snprintf(c->architecture, sizeof c->architecture, "%s", model_class_name(c));
    tensor_set_free(&ts);
    if ((s = bertc_tokenizer_load(dir, &m->tok, err))) goto fail;
    static const char *const tokfiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                           "vocab.txt", "vocab.json", "merges.txt"};
    for (size_t i = 0; i < sizeof tokfiles / sizeof tokfiles[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, tokfiles[i]);
        if (!file_exists(path)) continue;
        struct tfile *tf = &m->tokfiles[m->n_tokfiles];
        if ((s = read_file(path, &tf->data, &tf->len, err))) goto fail2;
        tf->name = tokfiles[i];
        m->n_tokfiles++;
    }
    tokenizer_set_position_cap(m->tok, model_position_cap(c));
    int nt = n_threads > 0 ? n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    m->pool = threadpool_new(nt < 1 ? 1 : nt > 256 ? 256 : nt);
    m->enc.layer = calloc((size_t)c->layers, sizeof *m->enc.layer);
    m->tr.bwd = calloc((size_t)(4 * c->layers + 3), sizeof *m->tr.bwd);
    if (!m->pool || !m->enc.layer || !m->tr.bwd) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto fail2;
    }
    bind_encoder(m);
    if ((s = tmodel_pack(m, err))) goto fail2;
    if (fresh_names) *fresh_names = names;
    else free(names);
    *out = m;
    return BERTC_OK;
fail:
    tensor_set_free(&ts);
    free(t.p);
fail2:
    free(names);
    tmodel_free(m);
    return s;
}

bertc_status tmodel_probe(const char *dir, model_config *cfg, int *head_outputs, bertc_error *err) {
    memset(cfg, 0, sizeof *cfg);
    *head_outputs = 0;
    bertc_status s = model_config_load(dir, cfg, NULL, err);
    if (s) return s;
    if (!cfg->ops->backward) /* an architecture without a backward pass (deberta.c) */
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "training %s is not supported yet", cfg->model_type);
    tensor_set ts = {0};
    if ((s = tensors_load_dir(&ts, dir, err))) {
        tensor_set_free(&ts); /* what it mapped before failing */
        return s;
    }
    char n[160];
    weight_name(cfg, WR_CLS_OUT_W, 0, 0, n, sizeof n, NULL, NULL);
    const tensor_info *t = tensor_set_find(&ts, n);
    if (t && t->ndim == 2) *head_outputs = (int)t->shape[0];
    tensor_set_free(&ts);
    return BERTC_OK;
}

void tmodel_free(tmodel *m) {
    if (!m) return;
    tmodel_acts_free(m);
    if (m->tr.bwd)
        for (int i = 0; i < 4 * m->cfg.layers + 3; i++) linear_free(&m->tr.bwd[i]);
    free(m->tr.bwd);
    if (m->enc.layer)
        for (int l = 0; l < m->cfg.layers; l++) {
            linear_free(&m->enc.layer[l].qkv);
            linear_free(&m->enc.layer[l].out);
            linear_free(&m->enc.layer[l].ffn1);
            linear_free(&m->enc.layer[l].ffn2);
        }
    free(m->enc.layer);
    linear_free(&m->enc.head_dense);
    linear_free(&m->enc.head_out);
    linear_free(&m->enc.emb_proj);
    free(m->p);
    free(m->w);
    free(m->g);
    free(m->L);
    free(m->config_json);
    for (int i = 0; i < m->n_tokfiles; i++) free(m->tokfiles[i].data);
    model_config_free(&m->cfg);
    bertc_tokenizer_free(m->tok);
    threadpool_free(m->pool);
    free(m);
}

/* W^T [K, N] packed as a linear of N' = K outputs over K' = N inputs, straight from W [N, K]: the panel rows are
 * contiguous runs of W's rows. Reuses pl's buffers when the shape is unchanged. */
static bool pack_transposed(packed_linear *pl, const float *W, int N, int K) {
    int Np = K, Kp = N, np = (Np + GEMM_NR - 1) / GEMM_NR;
    if (!pl->w || pl->N != Np || pl->K != Kp) {
        linear_free(pl);
        size_t n = (size_t)np * (size_t)Kp * GEMM_NR;
        pl->w = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        pl->bias = calloc((size_t)np * GEMM_NR, sizeof(float));
        if (!pl->w || !pl->bias) {
            linear_free(pl);
            return false;
        }
        pl->N = Np;
        pl->K = Kp;
    }
    for (int p = 0; p < np; p++) {
        int j1 = Np - p * GEMM_NR < GEMM_NR ? Np - p * GEMM_NR : GEMM_NR;
        for (int k = 0; k < Kp; k++) {
            float *dst = pl->w + ((size_t)p * Kp + k) * GEMM_NR;
            const float *src = W + (size_t)k * K + p * GEMM_NR;
            memcpy(dst, src, (size_t)j1 * sizeof(float));
            for (int j = j1; j < GEMM_NR; j++) dst[j] = 0.0f;
        }
    }
    return true;
}

/* W^T [K, N] in the bf16-compute layout (k pairs), straight from W [N, K]: wb[((p K2 + kk) NR + j) 2 + i] =
 * bf16(W[2 kk + i][p NR + j]). Reuses pl's buffers when the shape is unchanged. */
static bool pack_transposed_bf16(packed_linear *pl, const float *W, int N, int K) {
    int Np = K, Kp = N, np = (Np + GEMM_NR - 1) / GEMM_NR, K2 = (Kp + 1) / 2; /* pairs past K2 stay zero */
    if (!pl->wb || pl->N != Np || pl->K != Kp) {
        linear_free(pl);
        if (!linear_alloc_bf16(pl, Np, Kp)) return false;
    }
    for (int p = 0; p < np; p++) {
        int n = Np - p * GEMM_NR < GEMM_NR ? Np - p * GEMM_NR : GEMM_NR;
        for (int kk = 0; kk < K2; kk++) {
            uint32_t *dst = (uint32_t *)pl->wb + ((size_t)p * pl->K2 + kk) * GEMM_NR;
            const float *r0 = W + (size_t)(2 * kk) * K + p * GEMM_NR;
            const float *r1 = 2 * kk + 1 < Kp ? r0 + K : NULL;
            bf16_pair_rows(dst, r0, r1, n);
            for (int j = n; j < GEMM_NR; j++) dst[j] = 0;
        }
    }
    return true;
}

/* W [N, K] packed for y = x W^T + b, reusing buffers. */
static bool pack_forward(packed_linear *pl, const float *W, const float *b, int N, int K, bool bf16) {
    if (bf16) {
        if (!pl->wb || pl->N != N || pl->K != K) {
            linear_free(pl);
            return linear_pack_bf16(pl, W, b, N, K);
        }
        linear_repack_bf16(pl, W, b);
        return true;
    }
    if (!pl->w || pl->N != N || pl->K != K) {
        linear_free(pl);
        return linear_pack(pl, W, b, N, K);
    }
    linear_repack(pl, W, b);
    return true;
}

typedef struct pack_one {
    packed_linear *pl;
    const float *W, *b;
    int N, K;
    bool transposed, bf16;
} pack_one;

typedef struct packall {
    pack_one *job;
    int n;
    int failed;
} packall;

static void pack_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    packall *a = ctx;
    pack_one *j = &a->job[task];
    bool ok = j->transposed ? (j->bf16 ? pack_transposed_bf16(j->pl, j->W, j->N, j->K) : pack_transposed(j->pl, j->W, j->N, j->K))
                            : pack_forward(j->pl, j->W, j->b, j->N, j->K, j->bf16);
    if (!ok) __atomic_store_n(&a->failed, 1, __ATOMIC_RELAXED);
}

bertc_status tmodel_pack(tmodel *m, bertc_error *err) {
    const int H = m->cfg.hidden, I = m->cfg.intermediate, nl = m->cfg.n_labels;
    int nlin = 4 * m->cfg.layers + 2;
    pack_one *job = malloc((size_t)(2 * nlin + 2) * sizeof *job);
    if (!job) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    int nj = 0;
    for (int i = 0; i < nlin; i++) {
        size_t wo, bo;
        int N, K;
        int l = i / 4, k = i % 4;
        packed_linear *fwd;
        if (i >= 4 * m->cfg.layers) {
            bool dense = i == 4 * m->cfg.layers;
            wo = dense ? m->tr.head_dw : m->tr.head_ow;
            bo = dense ? m->tr.head_db : m->tr.head_ob;
            fwd = dense ? &m->enc.head_dense : &m->enc.head_out;
            N = dense ? H : nl;
            K = H;
        } else {
            const tlayer *L = &m->L[l];
            wo = k == 0 ? L->qkv_w : k == 1 ? L->out_w : k == 2 ? L->ffn1_w : L->ffn2_w;
            bo = k == 0 ? L->qkv_b : k == 1 ? L->out_b : k == 2 ? L->ffn1_b : L->ffn2_b;
            N = k == 0 ? 3 * H : k == 2 ? m->ffn1_rows : H;
            K = k == 3 ? I : H;
            layer_w *lw = &m->enc.layer[l];
            fwd = k == 0 ? &lw->qkv : k == 1 ? &lw->out : k == 2 ? &lw->ffn1 : &lw->ffn2;
        }
        job[nj++] = (pack_one){fwd, m->w + wo, at(m->w, bo), N, K, false, m->bf16};
        job[nj++] = (pack_one){&m->tr.bwd[i], m->w + wo, NULL, N, K, true, m->bf16};
    }
    /* the embeddings' projection (ELECTRA: embedding_size -> hidden), W^T after the head's */
    int pr = m->cfg.ops->emb_proj_role;
    if (pr && m->tr.arch[pr - WR_ARCH] != SIZE_MAX) {
        const float *W = m->w + m->tr.arch[pr - WR_ARCH], *b = m->w + m->tr.arch[pr + 1 - WR_ARCH];
        job[nj++] = (pack_one){&m->enc.emb_proj, W, b, H, m->cfg.embedding_size, false, m->bf16};
        job[nj++] = (pack_one){&m->tr.bwd[nlin], W, NULL, H, m->cfg.embedding_size, true, m->bf16};
    }
    packall a = {job, nj, 0};
    threadpool_run(m->pool, pack_task, &a, nj);
    free(job);
    if (a.failed) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory packing weights");
    m->packed = true;
    return BERTC_OK;
}

/* ---- saving ---- */

static const char *problem_name(bertc_problem p) {
    return p == BERTC_PROBLEM_MULTI_LABEL ? "multi_label_classification"
           : p == BERTC_PROBLEM_REGRESSION ? "regression"
                                           : "single_label_classification";
}

bertc_status train_write_json(const char *path, json_t *j, size_t flags, unsigned since, bertc_error *err) {
    char *txt = jdump(j, JSON_INDENT(2) | flags, since);
    if (!txt) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    size_t l = strlen(txt);
    char *t2 = realloc(txt, l + 2);
    if (t2) {
        txt = t2;
        txt[l++] = '\n';
        txt[l] = 0;
    }
    bertc_status s = write_file_atomic(path, txt, l, err);
    free(txt);
    return s;
}

bertc_status tmodel_save(const tmodel *m, const char *dir, bertc_error *err) {
    char path[4200];
    bertc_status s;
    /* weights */
    st_entry *e = calloc((size_t)m->np, sizeof *e);
    if (!e) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->np; i++) {
        const tparam *p = &m->p[i];
        e[i] = (st_entry){p->name, "F32", p->ndim, {p->shape[0], p->shape[1], 0, 0}, m->w + p->off, p->n * sizeof(float)};
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    s = safetensors_write(path, e, m->np, err);
    free(e);
    if (s) return s;
    /* config: the source's, with the task's head; written as transformers writes it (sorted keys, 2 spaces) */
    json_error_t je;
    int oom;
    unsigned jf = jalloc_failures();
    json_t *j = jload(m->config_json, strlen(m->config_json), 0, &je, &oom);
    if (oom) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (!j) return bertc_fail(err, BERTC_ERR_FORMAT, "config.json: %s", je.text);
    json_object_set_new(j, "architectures", json_pack("[s]", model_class_name(&m->cfg)));
    json_t *id2 = json_object(), *l2 = json_object();
    for (int i = 0; i < m->cfg.n_labels; i++) {
        char k[24];
        snprintf(k, sizeof k, "%d", i);
        json_object_set_new(id2, k, json_string(m->cfg.labels[i]));
        if (!json_object_get(l2, m->cfg.labels[i])) json_object_set_new(l2, m->cfg.labels[i], json_integer(i));
    }
    json_object_del(j, "num_labels");
    json_object_del(j, "_num_labels");
    json_object_set_new(j, "id2label", id2);
    json_object_set_new(j, "label2id", l2);
    json_object_set_new(j, "problem_type", json_string(problem_name(m->cfg.problem)));
    /* the dtype the model is saved in (tmodel.h), under the key the source used (transformers 4's torch_dtype when
     * it had neither) */
    bool has_new = json_object_get(j, "dtype") != NULL, has_old = json_object_get(j, "torch_dtype") != NULL;
    if (has_new) json_object_set_new(j, "dtype", json_string(dtype_names[m->save_dtype]));
    if (has_old || !has_new) json_object_set_new(j, "torch_dtype", json_string(dtype_names[m->save_dtype]));
    snprintf(path, sizeof path, "%s/config.json", dir);
    s = train_write_json(path, j, JSON_SORT_KEYS | JSON_REAL_PRECISION(15), jf, err);
    json_decref(j);
    if (s) return s;
    return tmodel_save_tokenizer(m, dir, err);
}

bertc_status tmodel_export_weights(const char *src, const char *dst, int dtype, bertc_error *err) {
    if (dtype != DT_F16 && dtype != DT_BF16) return copy_file_atomic(src, dst, err);
    tensor_set ts = {0};
    mapped_file f = {0};
    st_entry *e = NULL;
    uint16_t *buf = NULL;
    bertc_status s = map_file(src, &f, err);
    if (!s) s = safetensors_parse(&ts, f.data, f.size, src, err);
    if (s) goto done;
    size_t halves = 0;
    for (int i = 0; i < ts.n; i++)
        if (ts.t[i].dtype == DT_F32) halves += ts.t[i].nbytes / 4;
    e = calloc(ts.n > 0 ? (size_t)ts.n : 1, sizeof *e);
    buf = malloc((halves ? halves : 1) * sizeof *buf);
    if (!e || !buf) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t at = 0;
    for (int i = 0; i < ts.n; i++) {
        const tensor_info *ti = &ts.t[i];
        e[i] = (st_entry){ti->name, ti->dtype_name, ti->ndim, {0, 0, 0, 0}, ti->data, ti->nbytes};
        for (int d = 0; d < ti->ndim && d < 4; d++) e[i].shape[d] = ti->shape[d];
        if (ti->dtype != DT_F32) continue;
        size_t n = ti->nbytes / 4;
        for (size_t k = 0; k < n; k++) {
            float v;
            memcpy(&v, ti->data + 4 * k, 4);
            buf[at + k] = float_to_half(v, dtype == DT_BF16 ? WEIGHT_BF16 : WEIGHT_F16);
        }
        e[i].dtype = dtype == DT_BF16 ? "BF16" : "F16";
        e[i].data = buf + at;
        e[i].nbytes = n * sizeof *buf;
        at += n;
    }
    s = safetensors_write(dst, e, ts.n, err);
done:
    free(e);
    free(buf);
    tensor_set_free(&ts);
    unmap_file(&f);
    return s;
}

bertc_status tmodel_save_tokenizer(const tmodel *m, const char *dir, bertc_error *err) {
    char path[4200];
    for (int i = 0; i < m->n_tokfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, m->tokfiles[i].name);
        bertc_status s = write_file_atomic(path, m->tokfiles[i].data, m->tokfiles[i].len, err);
        if (s) return s;
    }
    return BERTC_OK;
}
