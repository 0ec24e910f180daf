/*
 * st.c — sentence-transformers folders: modules.json names the pipeline (Transformer, Pooling, Normalize); the
 * Pooling module's config.json its modes and include_prompt; sentence_bert_config.json max_seq_length and
 * do_lower_case; config_sentence_transformers.json the prompts and the similarity function. What
 * SentenceTransformer(folder) would read, so that bertc_embed_ex gives what encode() gives.
 */
#include "model.h"

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *keep(bertc_model *m, const char *s) {
    char **ns = realloc(m->st_strings, (size_t)(m->n_st_strings + 1) * sizeof *ns);
    if (!ns) return NULL;
    m->st_strings = ns;
    char *d = strdup(s);
    if (d) m->st_strings[m->n_st_strings++] = d;
    return d;
}

/* dir/sub/name parsed, NULL when the file is absent or (with *s set) unreadable, not JSON, or a bare value */
static json_t *read_json(const char *dir, const char *sub, const char *name, bertc_status *s, bertc_error *err) {
    char path[4200], *txt = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/%s%s%s", dir, sub, *sub ? "/" : "", name);
    if (!file_exists(path)) return NULL;
    if ((*s = read_file(path, &txt, &len, err))) return NULL;
    json_t *j;
    *s = jparse(txt, len, path, &j, err);
    free(txt);
    if (!*s && !json_is_object(j) && !json_is_array(j)) {
        json_decref(j);
        j = NULL;
        *s = bertc_fail(err, BERTC_ERR_FORMAT, "%s is not a JSON object or list", path);
    }
    return j;
}

bertc_status st_config_load(bertc_model *m, const char *dir, bertc_error *err) {
    bertc_status s = BERTC_OK;
    bertc_st_config *st = &m->st;
    memset(st, 0, sizeof *st);
    st->include_prompt = 1;
    json_t *mods = read_json(dir, "", "modules.json", &s, err);
    if (s || !mods) return s;
    if (!json_is_array(mods)) {
        json_decref(mods);
        return bertc_fail(err, BERTC_ERR_FORMAT, "%s/modules.json is not a list of modules", dir);
    }
    st->present = 1;
    size_t mi;
    const json_t *mod;
    json_array_foreach(mods, mi, mod) {
        const char *t = jstr(mod, "type"), *sub = jstr(mod, "path");
        if (!t) continue;
        const char *dot = strrchr(t, '.'), *cls = dot ? dot + 1 : t;
        if (!sub) sub = "";
        if (strstr(sub, "..") || sub[0] == '/') {
            s = bertc_fail(err, BERTC_ERR_FORMAT, "%s/modules.json: module path %.80s leaves the folder", dir, sub);
            break;
        }
        if (!strcmp(cls, "Pooling")) {
            json_t *pc = read_json(dir, sub, "config.json", &s, err);
            if (s) break;
            if (pc) {
                static const struct { const char *key; bertc_pooling mode; } modes[] = {
                    {"pooling_mode_cls_token", BERTC_POOL_CLS}, {"pooling_mode_max_tokens", BERTC_POOL_MAX},
                    {"pooling_mode_mean_tokens", BERTC_POOL_MEAN}, {"pooling_mode_mean_sqrt_len_tokens", BERTC_POOL_MEAN_SQRT_LEN},
                    {"pooling_mode_weightedmean_tokens", BERTC_POOL_WEIGHTED_MEAN}, {"pooling_mode_lasttoken", BERTC_POOL_LAST_TOKEN}};
                for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
                    if (jbool(pc, modes[i].key, 0)) st->modes |= 1u << modes[i].mode;
                st->include_prompt = jbool(pc, "include_prompt", st->include_prompt);
                /* the fixed order of the boolean keys */
                static const int fixed[] = {BERTC_POOL_CLS, BERTC_POOL_MAX, BERTC_POOL_MEAN, BERTC_POOL_MEAN_SQRT_LEN,
                                            BERTC_POOL_WEIGHTED_MEAN, BERTC_POOL_LAST_TOKEN};
                for (int i = 0; i < 6; i++)
                    if (st->modes & (1u << fixed[i])) st->mode_order[st->n_modes++] = (bertc_pooling)fixed[i];
                /* sentence-transformers >= 6: "pooling_mode": a name or a list of names, concatenated in list order */
                const json_t *pm = json_object_get(pc, "pooling_mode");
                if (json_is_string(pm) || json_is_array(pm)) {
                    static const char *const nm[] = {"", "cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"};
                    st->modes = 0;
                    st->n_modes = 0;
                    size_t n_pm = json_is_string(pm) ? 1 : json_array_size(pm);
                    for (size_t q = 0; q < n_pm; q++) {
                        const char *v = json_string_value(json_is_string(pm) ? pm : json_array_get(pm, q));
                        if (!v) continue;
                        for (int i = 1; i < 7; i++)
                            if ((!strcmp(v, nm[i]) || (i == 4 && !strcmp(v, "mean_sqrt_len")) || (i == 1 && !strcmp(v, "cls_token")) ||
                                 (i == 2 && !strcmp(v, "mean_tokens")) || (i == 3 && !strcmp(v, "max_tokens"))) &&
                                !(st->modes & (1u << i)) && st->n_modes < 6) {
                                st->modes |= 1u << i;
                                st->mode_order[st->n_modes++] = (bertc_pooling)i;
                            }
                    }
                }
                json_decref(pc);
            }
            if (!st->modes) { /* Pooling's default */
                st->modes = 1u << BERTC_POOL_MEAN;
                st->n_modes = 1;
                st->mode_order[0] = BERTC_POOL_MEAN;
            }
        } else if (!strcmp(cls, "Normalize")) {
            st->normalize = 1;
        } else if (!strcmp(cls, "Transformer")) {
            if (*sub) {
                s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s/modules.json: the Transformer module lives in %.80s/ (only the "
                               "folder itself is supported: give that subfolder as --model)", dir, sub);
                break;
            }
        } else if (!strcmp(cls, "Dense") || !strcmp(cls, "LayerNorm") || !strcmp(cls, "WeightedLayerPooling")) {
            s = bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s/modules.json: module %.80s is not supported (Transformer, "
                           "Pooling and Normalize are)", dir, t);
            break;
        }
    }
    json_decref(mods);
    if (s) return s;
    json_t *sb = read_json(dir, "", "sentence_bert_config.json", &s, err);
    if (s) return s;
    if (sb) {
        double ml = jnum(sb, "max_seq_length", 0);
        if (ml > 0 && ml < 1e6) st->max_seq_length = (int)ml;
        st->do_lower_case = jbool(sb, "do_lower_case", 0);
        json_decref(sb);
    }
    json_t *cs = read_json(dir, "", "config_sentence_transformers.json", &s, err);
    if (s) return s;
    st->similarity = "cosine";
    if (cs) {
        json_t *pr = json_object_get(cs, "prompts");
        size_t n = json_object_size(pr);
        const char **names = calloc(n ? n : 1, sizeof *names), **texts = calloc(n ? n : 1, sizeof *texts);
        if (!names || !texts) {
            free(names);
            free(texts);
            json_decref(cs);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
        int k = 0;
        const char *name;
        const json_t *e;
        json_object_foreach(pr, name, e) {
            if (!json_is_string(e)) continue;
            names[k] = keep(m, name);
            texts[k] = keep(m, json_string_value(e));
            k++;
        }
        st->n_prompts = k;
        st->prompt_names = names;
        st->prompts = texts;
        const char *dp = jstr(cs, "default_prompt_name"), *sim = jstr(cs, "similarity_fn_name");
        if (dp) st->default_prompt_name = keep(m, dp);
        if (sim) st->similarity = keep(m, sim);
        json_decref(cs);
    }
    if (!st->modes) {
        st->modes = 1u << BERTC_POOL_MEAN;
        st->n_modes = 1;
        st->mode_order[0] = BERTC_POOL_MEAN;
    }
    return BERTC_OK;
}

void st_config_free(bertc_model *m) {
    for (int i = 0; i < m->n_st_strings; i++) free(m->st_strings[i]);
    free(m->st_strings);
    free((void *)m->st.prompt_names);
    free((void *)m->st.prompts);
    m->st_strings = NULL;
    m->n_st_strings = 0;
    memset(&m->st, 0, sizeof m->st);
}

const bertc_st_config *bertc_model_st_config(const bertc_model *m) { return m ? &m->st : NULL; }

const char *bertc_pooling_name(const bertc_model *m, bertc_pooling p, char *buf, size_t cap) {
    static const char *const nm[] = {"none", "cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"};
    if (!cap) return buf;
    buf[0] = 0;
    if (p != BERTC_POOL_DEFAULT) {
        snprintf(buf, cap, "%s", p >= 0 && p < 7 ? nm[p] : "?");
        return buf;
    }
    if (!m || !m->st.present) {
        snprintf(buf, cap, "none");
        return buf;
    }
    for (int i = 0; i < m->st.n_modes; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "+" : "", nm[m->st.mode_order[i]]);
    return buf;
}
