/*
 * arch.c — the architectures and what every one shares: config.json's model_type picks the architecture's file
 * (bert.c: DistilBERT, BERT, RoBERTa, XLM-RoBERTa; electra.c: ELECTRA), which reads its own fields; the labels (id2label, num_labels)
 * and problem_type are read here for all. The model calls (weight_name, model_forward, model_backward ...) go to the
 * architecture the config names.
 */
#include "model.h"

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const model_arch *const archs[] = {&model_arch_bert, &model_arch_mpnet, &model_arch_electra,
                                           &model_arch_deberta, &model_arch_modernbert};
#define N_ARCHS (sizeof archs / sizeof archs[0])

/* The fields of config.json are read as transformers reads them: each size goes into torch modules (nn.Linear,
 * nn.Embedding) that refuse anything but an int, so a size written 32.5, 32.0 or "32" is refused here, naming the
 * field and its value, and so is every size beyond bertc's bounds before anything is allocated. */

void cfg_show(const json_t *v, char *buf, size_t cap) {
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

bertc_status cfg_act(const cfg_reader *r, const char *k, bool tanh_ok, enum epilogue *out) {
    const json_t *v = json_object_get(r->j, k);
    const char *a = json_string_value(v);
    if (!v || json_is_null(v) || (a && !strcmp(a, "gelu"))) *out = EPI_GELU;
    else if (a && !strcmp(a, "relu")) *out = EPI_RELU;
    else if (a && (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh"))) *out = EPI_GELU_TANH;
    else if (a && tanh_ok && !strcmp(a, "tanh")) *out = EPI_TANH;
    else {
        char shown[64];
        cfg_show(v, shown, sizeof shown);
        return bertc_fail(r->err, BERTC_ERR_UNSUPPORTED, "%s: %s %s is not supported (supported: gelu, gelu_new, "
                          "gelu_pytorch_tanh, relu%s)", r->what, k, shown, tanh_ok ? ", tanh" : "");
    }
    return BERTC_OK;
}

bertc_status cfg_ln_eps(const cfg_reader *r, float dflt, float *out) {
    const json_t *eps = json_object_get(r->j, "layer_norm_eps");
    double e = json_number_value(eps);
    if (eps && (!json_is_number(eps) || !(e > 0 && e < 1) || !((float)e > 0))) {
        char shown[64];
        cfg_show(eps, shown, sizeof shown);
        return bertc_fail(r->err, BERTC_ERR_FORMAT, "%s: layer_norm_eps %s out of range (a number between 0 and 1, "
                          "above float32's smallest)", r->what, shown);
    }
    *out = eps ? (float)e : dflt;
    return BERTC_OK;
}

bertc_status cfg_intv(const cfg_reader *r, const char *k, int dflt, int lo, int hi, bool null_ok, int *out) {
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

/* ---- in config.json for every architecture: labels and problem_type ---- */
static bertc_status config_labels(model_config *c, const cfg_reader *r) {
    const json_t *j = r->j;
    const char *what = r->what;
    bertc_error *err = r->err;
    bertc_status s = BERTC_OK;
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
    } else if ((s = cfg_intv(r, "num_labels", 2, 0, 100000, true, &nl))) {
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
    return s;
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
    if (!mt) {
        s = bertc_fail(err, BERTC_ERR_FORMAT, "%s has no model_type", what);
        goto done;
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", mt);
    const char *a0 = json_string_value(json_array_get(json_object_get(j, "architectures"), 0));
    if (a0) snprintf(c->architecture, sizeof c->architecture, "%s", a0);
    c->ops = NULL;
    for (size_t i = 0; i < N_ARCHS && !c->ops; i++)
        if (archs[i]->takes(mt)) c->ops = archs[i];
    if (!c->ops) {
        char types[256];
        size_t o = 0;
        for (size_t i = 0; i < N_ARCHS; i++)
            o += (size_t)snprintf(types + o, o < sizeof types ? sizeof types - o : 0, "%s%s", i ? ", " : "", archs[i]->model_types);
        s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s: model_type %.40s is not supported (%s)", what, mt, types);
        goto done;
    }
    if ((s = c->ops->config(c, &r))) goto done;
    s = config_labels(c, &r);
done:
    json_decref(j);
    return s;
}

/* ---- the model calls, to the architecture's code ---- */
bool weight_name(const model_config *c, int role, int l, int n_labels, char *name, size_t cap, int64_t *d0, int64_t *d1) {
    return c->ops->weight_name(c, role, l, n_labels, name, cap, d0, d1);
}
const char *weight_prefix(const model_config *c) { return c->ops->weight_prefix(c); }
bool weight_in_layers(const model_config *c, const char *name) { return c->ops->weight_in_layers(c, name); }
enum epilogue model_head_act(const model_config *c, bertc_head head) { return c->ops->head_act(c, head); }
int model_position_cap(const model_config *c) { return c->ops->position_cap(c); }
const char *model_class_name(const model_config *c) { return c->ops->class_name(c); }
void model_position_ids(const model_config *c, const int32_t *ids, size_t n, int *pos) {
    c->ops->position_ids(c, ids, n, pos);
}
bertc_status model_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden, float *emb,
                           float *logits, bertc_error *err) {
    return m->cfg.ops->forward(m, encs, n, hidden, emb, logits, err);
}
void model_backward(const bertc_model *m, const bertc_encoding *encs, size_t n, const float *dlogits) {
    m->cfg.ops->backward(m, encs, n, dlogits);
}
