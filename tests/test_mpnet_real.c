/*
 * test_mpnet_real.c — the real sentence-transformers/all-mpnet-base-v2 (MPNet 12x768, 438 MB, never committed)
 * against tests/data/mpnet-real (tools/make_mpnet_refs.py: SentenceTransformer.encode, AutoModel's
 * last_hidden_state and the fast tokenizer's ids, torch 2.15.0 / transformers 5.25.0 / sentence-transformers 6.3.0).
 * Runs when the folder exists ($BERTC_MPNET_DIR, default /work/models/all-mpnet-base-v2) and says it is skipped
 * otherwise. Checks: the token ids of all 960 texts (872 SST-2 dev, 78 edge / odd Unicode, 10 long) at the
 * folder's max_seq_length 384 and at the model's 512; the sentence embeddings (bertc_embed_ex, the folder's mean
 * pooling and Normalize) at cosine >= 0.99999 to SentenceTransformer.encode (max |diff| reported); AutoModel's
 * last_hidden_state within 1e-4 for the texts that have one (rows of two 512-token texts included); one batch the
 * same as single texts; and `bertc embed` (the CLI) on three texts.
 */
#include "test.h"
#include "formats/tensors.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MPNET_TD TD "mpnet-real/"

static const char *mpnet_dir(void) {
    const char *d = getenv("BERTC_MPNET_DIR");
    return d && *d ? d : "/work/models/all-mpnet-base-v2";
}

/* The gzip'ed JSON lines of refs.jsonl.gz, one object per text. */
static json_t **read_refs(size_t *n) {
    *n = 0;
    gzFile g = gzopen(MPNET_TD "refs.jsonl.gz", "rb");
    CHECK(g != NULL, "cannot open %srefs.jsonl.gz", MPNET_TD);
    if (!g) return NULL;
    json_t **rows = NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!gzgets(g, buf + len, (int)(cap - len))) break;
        len += strlen(buf + len);
        if (len && buf[len - 1] != '\n' && !gzeof(g)) { /* a longer line: grow and read on */
            if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
            continue;
        }
        json_error_t je;
        json_t *j = json_loadb(buf, len, JSON_ALLOW_NUL, &je);
        CHECK(j != NULL, "refs line %zu: %s", *n, je.text);
        if (j) {
            rows = realloc(rows, (*n + 1) * sizeof *rows);
            rows[(*n)++] = j;
        }
        len = 0;
    }
    free(buf);
    gzclose(g);
    return rows;
}

static bool same_ids(const bertc_encoding *e, json_t *ids) {
    if (e->n != json_array_size(ids)) return false;
    for (size_t k = 0; k < e->n; k++)
        if (e->ids[k] != json_integer_value(json_array_get(ids, k))) return false;
    return true;
}

static double cosine(const float *a, const float *b, size_t n, double *maxabs) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t k = 0; k < n; k++) {
        ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
        double d = fabs((double)a[k] - b[k]);
        if (d > *maxabs) *maxabs = d;
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

/* An encoding made of reference ids (one sequence between <s> ... </s>). */
static void encoding_of(json_t *ids, bertc_encoding *e) {
    memset(e, 0, sizeof *e);
    size_t n = json_array_size(ids);
    e->n = n;
    e->ids = calloc(n, sizeof *e->ids);
    e->type_ids = calloc(n, sizeof *e->type_ids);
    e->attention_mask = calloc(n, sizeof *e->attention_mask);
    e->offsets = calloc(2 * n, sizeof *e->offsets);
    e->special = calloc(n, 1);
    e->sequence = calloc(n, 1);
    for (size_t k = 0; k < n; k++) {
        e->ids[k] = (int32_t)json_integer_value(json_array_get(ids, k));
        e->attention_mask[k] = 1;
        e->special[k] = k == 0 || k + 1 == n;
        e->sequence[k] = e->special[k] ? 255 : 0;
    }
}

static void t_mpnet_real(void) {
    const char *dir = mpnet_dir();
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (access(cfg, R_OK) != 0) {
        printf("  skipped: no all-mpnet-base-v2 at %s (set BERTC_MPNET_DIR to the sentence-transformers folder)\n", dir);
        return;
    }
    bertc_model *m = NULL;
    bertc_error err;
    bertc_status s = bertc_model_load(dir, NULL, &m, &err);
    CHECK(s == BERTC_OK, "load %s: %s", dir, s ? err.message : "");
    size_t n = 0;
    json_t **rows = read_refs(&n);
    CHECK(n == 960, "%zu reference texts", n);
    if (!m || !n) goto done;

    /* token ids: at the folder's max_seq_length (384) and at the tokenizer's own limit (512) */
    int bad384 = 0, bad512 = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_object_get(rows[i], "text");
        bertc_encode_params ep = bertc_encode_default_params();
        ep.max_length = 384;
        bertc_encoding e;
        s = bertc_tokenize(bertc_model_tokenizer(m), json_string_value(t), json_string_length(t), NULL, 0, &ep, &e, &err);
        CHECK(s == BERTC_OK, "row %zu tokenize: %s", i, s ? err.message : "");
        if (s) continue;
        if (!same_ids(&e, json_object_get(rows[i], "input_ids")) && bad384++ < 5)
            CHECK(0, "row %zu: ids at 384 differ (%zu tokens, want %zu): %.60s", i, e.n,
                  json_array_size(json_object_get(rows[i], "input_ids")), json_string_value(t));
        bertc_encoding_free(&e);
        json_t *want = json_object_get(rows[i], "input_ids_512");
        if (!want) want = json_object_get(rows[i], "input_ids");
        s = bertc_tokenize(bertc_model_tokenizer(m), json_string_value(t), json_string_length(t), NULL, 0, NULL, &e, &err);
        CHECK(s == BERTC_OK, "row %zu tokenize: %s", i, s ? err.message : "");
        if (s) continue;
        if (!same_ids(&e, want) && bad512++ < 5)
            CHECK(0, "row %zu: ids at the default length differ (%zu tokens, want %zu): %.60s", i, e.n,
                  json_array_size(want), json_string_value(t));
        bertc_encoding_free(&e);
    }
    CHECK(!bad384 && !bad512, "ids differ on %d texts at 384 and %d at 512", bad384, bad512);

    /* sentence embeddings: one call over every text that has a reference (bertc batches them) */
    mapped_file mf = {0};
    tensor_set ts = {0};
    CHECK(map_file(MPNET_TD "refs.safetensors", &mf, &err) == 0, "map refs.safetensors");
    CHECK(safetensors_parse(&ts, mf.data, mf.size, "refs.safetensors", &err) == 0, "parse: %s", err.message);
    const tensor_info *et = tensor_set_find(&ts, "embeddings");
    CHECK(et && et->ndim == 2 && et->shape[1] == 768, "embeddings tensor");
    if (!et) goto done_ts;
    size_t ne = (size_t)et->shape[0];
    bertc_text *in = calloc(ne, sizeof *in);
    size_t *row_of = calloc(ne, sizeof *row_of), got = 0;
    for (size_t i = 0; i < n; i++) {
        json_int_t k = json_integer_value(json_object_get(rows[i], "emb"));
        if (k < 0 || (size_t)k >= ne) continue;
        json_t *t = json_object_get(rows[i], "text");
        in[k] = (bertc_text){json_string_value(t), json_string_length(t), NULL, 0};
        row_of[k] = i;
        got++;
    }
    CHECK(got == ne, "%zu of %zu embeddings have a text", got, ne);
    bertc_embed_params p = bertc_embed_default_params();
    bertc_embedding *emb = calloc(ne, sizeof *emb);
    double t0 = now_ms();
    s = bertc_embed_ex(m, in, ne, &p, emb, &err);
    double ms = now_ms() - t0;
    CHECK(s == BERTC_OK, "embed: %s", s ? err.message : "");
    double worst_cos = 1, worst_abs = 0;
    size_t worst_i = 0;
    const float *ref = (const float *)et->data;
    for (size_t k = 0; k < ne && !s; k++) {
        CHECK(emb[k].rows == 1 && emb[k].hidden == 768, "embedding %zu: [%d, %d]", k, emb[k].rows, emb[k].hidden);
        if (emb[k].rows != 1 || emb[k].hidden != 768) continue;
        double ab = 0, c = cosine(emb[k].data, ref + k * 768, 768, &ab);
        if (ab > worst_abs) worst_abs = ab;
        if (c < worst_cos) worst_cos = c, worst_i = row_of[k];
        CHECK(c >= 0.99999, "row %zu: cosine %.7f to SentenceTransformer.encode: %.60s", row_of[k], c, in[k].text);
    }
    printf("  %zu embeddings in %.0f ms: worst cosine %.8f (row %zu), max |diff| %.2e\n", ne, ms, worst_cos, worst_i,
           worst_abs);

    /* a batch is the same as single texts (the short, the empty and the longest) */
    size_t singles[] = {0, ne / 2, ne - 1};
    for (size_t q = 0; q < sizeof singles / sizeof *singles && !s; q++) {
        bertc_embedding one;
        size_t k = singles[q];
        if (bertc_embed_ex(m, &in[k], 1, &p, &one, &err)) {
            CHECK(0, "single embed %zu: %s", k, err.message);
            continue;
        }
        double d = 0;
        for (int j = 0; j < 768 && one.hidden == 768; j++) d = fmax(d, fabs(one.data[j] - emb[k].data[j]));
        CHECK(one.hidden == 768 && d <= 1e-5, "embedding %zu alone differs from the batch by %.2e", k, d);
        bertc_embedding_free(&one, 1);
    }
    if (!s) bertc_embedding_free(emb, ne);
    free(emb);

    /* AutoModel's last_hidden_state on the reference ids (rows hidden_rows.<i> of the 512-token texts) */
    double worst_h = 0;
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        const char *hn = json_string_value(json_object_get(rows[i], "hidden"));
        if (!hn) continue;
        const char *on = json_string_value(json_object_get(rows[i], "hidden_on"));
        json_t *ids = json_object_get(rows[i], on ? on : "input_ids");
        const tensor_info *ht = tensor_set_find(&ts, hn);
        char rn[64];
        snprintf(rn, sizeof rn, "hidden_rows.%zu", i);
        const tensor_info *rt = tensor_set_find(&ts, rn);
        CHECK(ht != NULL, "no %s", hn);
        if (!ht) continue;
        bertc_encoding e;
        encoding_of(ids, &e);
        float *h = malloc(e.n * 768 * sizeof(float));
        s = bertc_forward(m, &e, 1, h, NULL, &err);
        CHECK(s == BERTC_OK, "forward row %zu: %s", i, s ? err.message : "");
        size_t nr = (size_t)ht->shape[0];
        CHECK(rt || nr == e.n, "%s: %zu rows for %zu tokens", hn, nr, e.n);
        double w = 0;
        for (size_t r = 0; r < nr && !s && (rt || nr == e.n); r++) {
            size_t tok = rt ? (size_t)((const int32_t *)rt->data)[r] : r;
            const float *want = (const float *)ht->data + r * 768;
            for (int j = 0; j < 768 && tok < e.n; j++) w = fmax(w, fabs(h[tok * 768 + j] - want[j]));
        }
        CHECK(w <= 1e-4, "row %zu (%zu tokens): last_hidden_state differs by %.2e", i, e.n, w);
        if (w > worst_h) worst_h = w;
        checked++;
        free(h);
        bertc_encoding_free(&e);
    }
    CHECK(checked >= 8, "%d hidden states checked", checked);
    printf("  last_hidden_state of %d texts: max |diff| %.2e\n", checked, worst_h);

    /* the CLI on three texts: the empty string, a dev sentence and the longest (truncated at 384) */
    {
        char inpath[] = "/tmp/bertc-mpnet-XXXXXX";
        int fd = mkstemp(inpath);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        CHECK(f != NULL, "temp file");
        size_t pick[] = {0, 1, ne - 1};
        for (size_t q = 0; f && q < 3; q++) {
            json_t *o = json_pack("{s:s%}", "text", in[pick[q]].text, in[pick[q]].len);
            char *line = json_dumps(o, JSON_COMPACT);
            fprintf(f, "%s\n", line);
            free(line);
            json_decref(o);
        }
        if (f) fclose(f);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "@ embed --model '%s' --threads 2 --input %s 2>&1", dir, inpath);
        size_t cap = 1 << 20;
        char *out = malloc(cap);
        int rc = run_cli(cmd, out, cap);
        CHECK(rc == 0, "bertc embed: exit %d: %.300s", rc, out);
        char *line = out;
        for (size_t q = 0; q < 3 && rc == 0; q++) {
            char *nl = strchr(line, '\n');
            json_t *o = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
            json_t *v = json_object_get(o, "embedding");
            CHECK(json_array_size(v) == 768, "CLI line %zu: %.100s", q, line);
            float e[768];
            for (int j = 0; j < 768 && json_array_size(v) == 768; j++) e[j] = (float)json_number_value(json_array_get(v, j));
            double ab = 0, c = json_array_size(v) == 768 ? cosine(e, ref + pick[q] * 768, 768, &ab) : 0;
            CHECK(c >= 0.99999, "CLI line %zu: cosine %.7f", q, c);
            json_decref(o);
            if (!nl) break;
            line = nl + 1;
        }
        free(out);
        unlink(inpath);
    }
    free(in);
    free(row_of);
done_ts:
    tensor_set_free(&ts);
    unmap_file(&mf);
done:
    for (size_t i = 0; i < n; i++) json_decref(rows[i]);
    free(rows);
    bertc_model_free(m);
}

void tests_mpnet_real(void) { run_test("model/mpnet_real", t_mpnet_real); }
