/*
 * embed.c — bertc_embed / bertc_embed_ex: sentence embeddings with sentence-transformers' pooling modes (CLS,
 * mean, max, mean of square root length, weighted mean, last token), prompts and normalisation, from the encoder's
 * hidden states.
 */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void bertc_embedding_free(bertc_embedding *out, size_t n) {
    if (!out) return;
    for (size_t i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

/* One pooling mode over a sequence's hidden states src [T, H]; positions before s0 are left out (a prompt with
 * include_prompt false), as sentence-transformers masks them. dst gets H values. */
static void pool_one(float *dst, const float *src, int T, int H, int s0, bertc_pooling mode) {
    if (s0 >= T) s0 = 0;
    switch (mode) {
    case BERTC_POOL_CLS: /* the first pooled token: after the prompt when include_prompt is false (as ST masks it) */
        memcpy(dst, src + (size_t)s0 * H, (size_t)H * sizeof(float));
        return;
    case BERTC_POOL_LAST_TOKEN: memcpy(dst, src + (size_t)(T - 1) * H, (size_t)H * sizeof(float)); return;
    case BERTC_POOL_MAX:
        for (int k = 0; k < H; k++) {
            float mx = src[(size_t)s0 * H + k];
            for (int t = s0 + 1; t < T; t++) mx = src[(size_t)t * H + k] > mx ? src[(size_t)t * H + k] : mx;
            dst[k] = mx;
        }
        return;
    case BERTC_POOL_WEIGHTED_MEAN: {
        double wsum = 0;
        for (int t = s0; t < T; t++) wsum += t + 1;
        for (int k = 0; k < H; k++) {
            double acc = 0;
            for (int t = s0; t < T; t++) acc += (double)(t + 1) * src[(size_t)t * H + k];
            dst[k] = (float)(acc / wsum);
        }
        return;
    }
    default: { /* mean, mean_sqrt_len */
        int cnt = T - s0;
        double div = mode == BERTC_POOL_MEAN_SQRT_LEN ? sqrt((double)cnt) : (double)cnt;
        for (int k = 0; k < H; k++) {
            double acc = 0;
            for (int t = s0; t < T; t++) acc += src[(size_t)t * H + k];
            dst[k] = (float)(acc / div);
        }
        return;
    }
    }
}

/* The modes of a pooling request, in sentence-transformers' concatenation order; returns their count. */
static int pooling_modes(const bertc_model *m, bertc_pooling p, bertc_pooling *modes) {
    if (p != BERTC_POOL_DEFAULT) {
        modes[0] = p;
        return p == BERTC_POOL_NONE ? 0 : 1;
    }
    if (!m->st.present) return 0;
    for (int i = 0; i < m->st.n_modes; i++) modes[i] = m->st.mode_order[i];
    return m->st.n_modes;
}

/* The core of bertc_embed / bertc_embed_ex: texts already prompted and cased; s0[i] the first pooled position. */
static bertc_status embed_run(const bertc_model *m, const bertc_text *in, size_t n, const bertc_encode_params *ep,
                              bertc_pooling pooling, int normalize, int s0, bertc_embedding *out, bertc_error *err) {
    if (pooling < BERTC_POOL_NONE || pooling > BERTC_POOL_DEFAULT)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "unknown pooling %d", (int)pooling);
    const size_t bs = 32;
    const int H = m->cfg.hidden;
    bertc_pooling modes[6];
    int nm = pooling_modes(m, pooling, modes);
    memset(out, 0, n * sizeof *out);
    bertc_encoding encs[32];
    bertc_status s = BERTC_OK;
    for (size_t b0 = 0; b0 < n && !s; b0 += bs) {
        size_t b1 = b0 + bs < n ? b0 + bs : n;
        if ((s = encode_range(m, in, b0, b1, ep, encs, err))) break;
        size_t M = 0;
        for (size_t i = b0; i < b1; i++) M += encs[i - b0].n;
        float *hid = malloc(M * (size_t)H * sizeof(float));
        if (!hid) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        else s = model_forward(m, encs, b1 - b0, hid, NULL, NULL, err);
        size_t off = 0;
        for (size_t i = b0; i < b1 && !s; i++) {
            int T = (int)encs[i - b0].n;
            bertc_embedding *e = &out[i];
            e->n_tokens = T;
            e->hidden = nm ? H * nm : H;
            e->rows = nm ? 1 : T;
            e->data = malloc((size_t)e->rows * e->hidden * sizeof(float));
            if (!e->data) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            const float *src = hid + off * H;
            if (!nm) memcpy(e->data, src, (size_t)T * H * sizeof(float));
            for (int k = 0; k < nm; k++) pool_one(e->data + (size_t)k * H, src, T, H, s0, modes[k]);
            if (normalize && nm) { /* sentence embeddings only: ST's Normalize leaves token embeddings raw */
                size_t d = (size_t)e->rows * e->hidden;
                for (int r = 0; r < e->rows; r++) {
                    float *v = e->data + (size_t)r * e->hidden;
                    double ss = 0;
                    for (int k = 0; k < e->hidden; k++) ss += (double)v[k] * v[k];
                    double nr = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
                    for (int k = 0; k < e->hidden; k++) v[k] = (float)(v[k] / nr);
                }
                (void)d;
            }
            off += (size_t)T;
        }
        free(hid);
        for (size_t i = b0; i < b1; i++) bertc_encoding_free(&encs[i - b0]);
    }
    if (s) bertc_embedding_free(out, n);
    return s;
}

bertc_status bertc_embed(const bertc_model *m, const bertc_text *in, size_t n, const bertc_encode_params *ep,
                         bertc_pooling pooling, bertc_embedding *out, bertc_error *err) {
    if (!m || (!in && n) || (!out && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_embed: NULL argument");
    bertc_encode_params dp = bertc_encode_default_params();
    return embed_run(m, in, n, ep ? ep : &dp, pooling, 0, 0, out, err);
}

bertc_embed_params bertc_embed_default_params(void) {
    bertc_embed_params p;
    p.encode = bertc_encode_default_params();
    p.pooling = BERTC_POOL_DEFAULT;
    p.normalize = -1;
    p.prompt = NULL;
    p.prompt_name = NULL;
    return p;
}

/* text lower-cased as Python's str.lower() does it for one-to-one mappings (utf8proc's simple lowercase) */
static char *lower_utf8(const char *s, size_t len, size_t *out_len) {
    char *d = malloc(len * 2 + 5);
    if (!d) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        int l = utf8_decode((const unsigned char *)s + i, &cp);
        o += (size_t)utf8_encode((int32_t)utf8proc_tolower(cp), d + o);
        i += (size_t)l;
    }
    d[o] = 0;
    *out_len = o;
    return d;
}

bertc_status bertc_embed_ex(const bertc_model *m, const bertc_text *in, size_t n, const bertc_embed_params *p,
                            bertc_embedding *out, bertc_error *err) {
    if (!m || (!in && n) || (!out && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_embed_ex: NULL argument");
    bertc_embed_params dp = bertc_embed_default_params();
    if (!p) p = &dp;
    const bertc_st_config *st = &m->st;
    bertc_encode_params ep = p->encode;
    if (ep.max_length == 0 && st->present && st->max_seq_length > 0) ep.max_length = st->max_seq_length;
    int normalize = p->normalize >= 0 ? p->normalize : st->present && st->normalize;
    /* the prompt: given, else named, else the folder's default */
    const char *prompt = p->prompt;
    const char *pname = p->prompt_name ? p->prompt_name : (!prompt ? st->default_prompt_name : NULL);
    if (!prompt && pname) {
        for (int i = 0; i < st->n_prompts && !prompt; i++)
            if (!strcmp(st->prompt_names[i], pname)) prompt = st->prompts[i];
        if (!prompt) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "no prompt named %.60s in config_sentence_transformers.json", pname);
    }
    size_t pl = prompt ? strlen(prompt) : 0;
    bool lower = st->present && st->do_lower_case;
    if (!pl && !lower) return embed_run(m, in, n, &ep, p->pooling, normalize, 0, out, err);
    /* prompted / lower-cased copies */
    bertc_text *tx = calloc(n ? n : 1, sizeof *tx);
    char **own = calloc(n ? 2 * n : 1, sizeof *own);
    bertc_status s = tx && own ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !s; i++) {
        size_t l = pl + in[i].len;
        char *t = malloc(l + 1);
        if (!t) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(t, prompt ? prompt : "", pl);
        memcpy(t + pl, in[i].text, in[i].len);
        t[l] = 0;
        own[2 * i] = t;
        tx[i] = in[i];
        tx[i].text = t;
        tx[i].len = l;
        if (utf8_validate(t, l) != l) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "input %zu: invalid UTF-8", i);
            break;
        }
        if (lower) {
            size_t ll;
            char *lt = lower_utf8(t, l, &ll);
            if (!lt) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            own[2 * i + 1] = lt;
            tx[i].text = lt;
            tx[i].len = ll;
            if (in[i].pair) {
                /* the pair is cased too (its own buffer) */
            }
        }
    }
    int s0 = 0;
    if (!s && pl && st->present && !st->include_prompt) {
        /* sentence-transformers: the prompt's token count less its final special token, counted from the start
         * (so the first special token is left out with the prompt) */
        bertc_encoding pe;
        size_t ll = 0;
        char *lp = lower ? lower_utf8(prompt, pl, &ll) : NULL;
        s = bertc_tokenize(m->tok, lp ? lp : prompt, lp ? ll : pl, NULL, 0, &ep, &pe, err);
        free(lp);
        if (!s) {
            s0 = pe.n > 0 ? (int)pe.n - 1 : 0;
            bertc_encoding_free(&pe);
        }
    }
    if (!s) s = embed_run(m, tx, n, &ep, p->pooling, normalize, s0, out, err);
    for (size_t i = 0; own && i < 2 * n; i++) free(own[i]);
    free(own);
    free(tx);
    return s;
}
