/*
 * cmds.c — `bertc classify`, `embed`, `tokenize`, `info`: one JSON object per input, in input order.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct common {
    model_opts mo;
    records rs;
    const char *input;
    input_format input_format;
    const char *pair;
    int max_length;
    int truncation;
    int batch_size;
    bool help; /* --help / -h: print the usage, exit 0 */
} common;

/* Parses the options every text command shares; returns 1 if consumed, 0 if unknown, -1 on error. */
static int common_opt(common *c, int argc, char **argv, int *i) {
    int r = model_opt(&c->mo, argc, argv, i);
    if (r) return r;
    const char *a = argv[*i];
    if (!strcmp(a, "--input") || !strcmp(a, "--max-length") || !strcmp(a, "--batch-size") || !strcmp(a, "--pair")) {
        if (*i + 1 >= argc) {
            die_msg("%s needs a value", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (!strcmp(a, "--input")) c->input = v;
        else if (!strcmp(a, "--pair")) c->pair = v;
        else {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1 << 20) {
                die_msg("%s must be a positive number", a);
                return -1;
            }
            if (a[2] == 'm') c->max_length = (int)n;
            else c->batch_size = (int)n;
        }
        return 1;
    }
    if (!strcmp(a, "--input-format")) {
        if (*i + 1 >= argc || !parse_input_format(argv[++*i], &c->input_format)) {
            die_msg("--input-format must be auto, jsonl or text");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--no-truncation")) {
        c->truncation = 0;
        return 1;
    }
    if (!strcmp(a, "--truncation")) {
        c->truncation = 1;
        return 1;
    }
    return 0;
}

/* Collects positional texts; returns false on a usage error. */
static bool gather(common *c, int argc, char **argv, bool (*own)(void *, int, char **, int *), void *ctx) {
    for (int i = 2; i < argc; i++) {
        int r = common_opt(c, argc, argv, &i);
        if (r < 0) return false;
        if (r) continue;
        if (own && own(ctx, argc, argv, &i)) continue;
        if (is_help(argv[i])) {
            c->help = true;
            return true;
        }
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            if (!strcmp(argv[i], "--")) {
                for (i++; i < argc; i++)
                    if (!records_add(&c->rs, argv[i], strlen(argv[i]), NULL, 0)) return false;
                break;
            }
            die_msg("unknown option %s (see bertc --help)", argv[i]);
            return false;
        }
        if (!records_add(&c->rs, argv[i], strlen(argv[i]), NULL, 0)) return false;
    }
    /* --pair applies to every positional text */
    if (c->pair)
        for (size_t k = 0; k < c->rs.n; k++) {
            if (!(c->rs.r[k].pair = xstrdup(c->pair))) return false;
            c->rs.r[k].pair_len = strlen(c->pair);
        }
    return true;
}

static void common_init(common *c) {
    memset(c, 0, sizeof *c);
    c->truncation = 1;
    c->batch_size = 32;
}

static bertc_encode_params encode_params(const common *c) {
    bertc_encode_params ep = bertc_encode_default_params();
    ep.truncation = c->truncation;
    ep.max_length = c->max_length;
    return ep;
}

/* load_model, and --max-length checked against what the model takes: a length past its positions would only fail
 * later, input by input. */
static bertc_model *load_for(common *c, int *code) {
    bertc_model *m = load_model(&c->mo, code);
    if (!m || !c->max_length) return m;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    int most = info.max_tokens;
    if (most > 0 && c->max_length > most) {
        die_msg("--max-length %d is more than %s takes: %d tokens (its position embeddings); longer inputs are "
                "truncated to that by default", c->max_length, info.source, most);
        *code = EXIT_USAGE;
        bertc_model_free(m);
        return NULL;
    }
    return m;
}

/* Reads --input after the positional texts; errors set *code. An empty --input file is no error: no output. */
static bool finish_inputs(common *c, int *code) {
    if (c->input && !records_read(&c->rs, c->input, c->pair, c->input_format)) {
        *code = EXIT_INPUT;
        return false;
    }
    if (c->rs.n == 0 && !c->input) {
        if (!isatty(0))
            die_msg("no input: give TEXT arguments or --input FILE; standard input is not read unless asked: --input -");
        else
            die_msg("no input: give TEXT arguments or --input FILE|-");
        *code = EXIT_USAGE;
        return false;
    }
    return true;
}

/* ---- usage ---- */

#define INPUT_HELP                                                                                                   \
    "Inputs: the TEXT arguments, then the lines of --input FILE (- is stdin); blank lines are skipped, an empty\n"  \
    "file gives no output. --input-format jsonl: every line is a JSON object {\"text\": ..., \"text_pair\": ...};\n" \
    "text: every line is a text; auto (default): jsonl for .jsonl, .ndjson and .json files, else a line starting\n" \
    "with { is a JSON object and any other line a text.\n"                                                         \
    "Common options: --threads N, --arch auto|distilbert|bert|roberta, --dtype fp32|fp16|bf16|int8, --compute fp32|bf16,\n" \
    "--revision R (bertc --help).\n"

static const char classify_usage[] =
    "usage: bertc classify [--model DIR] [--logits] [--all-scores] [--function softmax|sigmoid|none]\n"
    "                      [--max-length N] [--no-truncation] [--batch-size N] [--pair TEXT]\n"
    "                      [--input FILE|-] [--input-format auto|jsonl|text] [TEXT ...]\n"
    "Output: one JSON object per input, in input order: {\"label\", \"score\"} (--logits: \"logits\" in label-id\n"
    "order; --all-scores: \"scores\" [{\"label\", \"score\"}...] sorted by score).\n" INPUT_HELP;

static const char embed_usage[] =
    "usage: bertc embed [--model DIR] [--pooling none|cls|mean|max|mean_sqrt_len|weightedmean|lasttoken|default]\n"
    "                   [--normalize | --no-normalize] [--prompt TEXT | --prompt-name NAME] [--max-length N]\n"
    "                   [--no-truncation] [--pair TEXT] [--input FILE|-] [--input-format auto|jsonl|text] [TEXT ...]\n"
    "Output: one JSON object per input, in input order: {\"shape\": [T, H], \"last_hidden_state\": [[...]]} or\n"
    "{\"shape\": [D], \"pooling\", \"normalized\", \"embedding\": [...]}.\n" INPUT_HELP;

static const char tokenize_usage[] =
    "usage: bertc tokenize [--model DIR] [--pair TEXT] [--max-length N] [--no-truncation]\n"
    "                      [--input FILE|-] [--input-format auto|jsonl|text] [TEXT ...]\n"
    "Output: one JSON object per input, in input order: {\"input_ids\", \"token_type_ids\", \"attention_mask\",\n"
    "\"tokens\", \"offsets\", \"word_ids\"} (word_ids: each token's word, null for special tokens, as\n"
    "transformers' BatchEncoding.word_ids()); DIR may hold only tokenizer files.\n" INPUT_HELP;

static const char info_usage[] =
    "usage: bertc info [--model DIR|ORG/NAME] [--revision R] [--arch auto|distilbert|bert|roberta]\n"
    "                  [--dtype fp32|fp16|bf16|int8] [--compute fp32|bf16] [--threads N]\n"
    "Output: one JSON object: source, model_type, architecture, head, problem_type, parameters, bytes, dtype, compute,\n"
    "isa, compute_mode (fp32|bf16), compute_isa (the matmuls' tier), sizes, max_length, load_ms, labels.\n";

/* ---------------------------------------------------------------------------------------------------- */

typedef struct classify_opts {
    int logits, all_scores;
    bertc_function fn;
    int bad;
} classify_opts;

static bool classify_own(void *ctx, int argc, char **argv, int *i) {
    classify_opts *o = ctx;
    if (!strcmp(argv[*i], "--logits")) return (o->logits = 1) != 0;
    if (!strcmp(argv[*i], "--all-scores")) return (o->all_scores = 1) != 0;
    if (!strcmp(argv[*i], "--function")) {
        if (*i + 1 >= argc) {
            o->bad = 1;
            return true;
        }
        const char *v = argv[++*i];
        if (!strcmp(v, "softmax")) o->fn = BERTC_FUNCTION_SOFTMAX;
        else if (!strcmp(v, "sigmoid")) o->fn = BERTC_FUNCTION_SIGMOID;
        else if (!strcmp(v, "none")) o->fn = BERTC_FUNCTION_NONE;
        else o->bad = 1;
        return true;
    }
    return false;
}

int cmd_classify(int argc, char **argv) {
    common c;
    common_init(&c);
    classify_opts o = {0, 0, BERTC_FUNCTION_DEFAULT, 0};
    int code = EXIT_OK;
    bertc_model *m = NULL;
    bertc_classification *out = NULL;
    bertc_text *in = NULL;
    if (!gather(&c, argc, argv, classify_own, &o) || o.bad) {
        if (o.bad) die_msg("--function must be softmax, sigmoid or none");
        code = EXIT_USAGE;
        goto done;
    }
    if (c.help) {
        fputs(classify_usage, stdout);
        goto done;
    }
    if (!finish_inputs(&c, &code)) goto done;
    if (!(m = load_for(&c, &code))) goto done;
    if (c.rs.n == 0) goto done; /* an empty --input: no output */
    in = records_texts(&c.rs);
    out = xcalloc(c.rs.n, sizeof *out);
    if (!in || !out) {
        die_msg("out of memory");
        code = EXIT_INTERNAL;
        goto done;
    }
    /* the text-classification pipeline tokenizes one input at a time: text_pair "" is falsy there, no pair */
    for (size_t i = 0; i < c.rs.n; i++)
        if (in[i].pair && !in[i].pair_len) in[i].pair = NULL;
    bertc_classify_params p = bertc_classify_default_params();
    p.encode = encode_params(&c);
    p.function = o.fn;
    p.batch_size = c.batch_size;
    bertc_error err;
    bertc_status s = bertc_classify(m, in, c.rs.n, &p, out, &err);
    if (s) {
        die_msg("%s", err.message);
        code = exit_code_for(s) == EXIT_MODEL ? EXIT_MODEL : exit_code_for(s);
        goto done;
    }
    for (size_t i = 0; i < c.rs.n; i++) {
        const bertc_classification *r = &out[i];
        fputs("{\"label\": ", stdout);
        jw_str(stdout, bertc_model_label(m, r->label_id));
        fputs(", \"score\": ", stdout);
        jw_real(stdout, r->score);
        if (o.logits) {
            fputs(", \"logits\": [", stdout);
            for (int k = 0; k < r->n_labels; k++) {
                if (k) fputs(", ", stdout);
                jw_real(stdout, r->logits[k]);
            }
            fputc(']', stdout);
        }
        if (o.all_scores) {
            fputs(", \"scores\": [", stdout);
            for (int k = 0; k < r->n_labels; k++) {
                fputs(k ? ", {\"label\": " : "{\"label\": ", stdout);
                jw_str(stdout, bertc_model_label(m, r->order[k]));
                fputs(", \"score\": ", stdout);
                jw_real(stdout, r->scores[r->order[k]]);
                fputc('}', stdout);
            }
            fputc(']', stdout);
        }
        fputs("}\n", stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        die_msg("cannot write output");
        code = EXIT_OUTPUT;
    }
done:
    if (out) bertc_classification_free(out, c.rs.n);
    free(out);
    free(in);
    bertc_model_free(m);
    records_free(&c.rs);
    return code;
}

/* ---------------------------------------------------------------------------------------------------- */

typedef struct embed_opts {
    bertc_embed_params p;
    int bad;
} embed_opts;

static bool embed_own(void *ctx, int argc, char **argv, int *i) {
    embed_opts *o = ctx;
    const char *a = argv[*i];
    if (!strcmp(a, "--normalize")) {
        o->p.normalize = 1;
        return true;
    }
    if (!strcmp(a, "--no-normalize")) {
        o->p.normalize = 0;
        return true;
    }
    if (strcmp(a, "--pooling") && strcmp(a, "--prompt") && strcmp(a, "--prompt-name")) return false;
    if (*i + 1 >= argc) {
        o->bad = 1;
        return true;
    }
    const char *v = argv[++*i];
    if (!strcmp(a, "--prompt")) {
        o->p.prompt = v;
        return true;
    }
    if (!strcmp(a, "--prompt-name")) {
        o->p.prompt_name = v;
        return true;
    }
    static const char *const names[] = {"none", "cls", "mean", "max", "mean_sqrt_len", "weightedmean", "lasttoken", "default"};
    for (int k = 0; k < 8; k++)
        if (!strcmp(v, names[k])) {
            o->p.pooling = (bertc_pooling)k;
            return true;
        }
    if (!strcmp(v, "mean_sqrt_len_tokens")) o->p.pooling = BERTC_POOL_MEAN_SQRT_LEN;
    else o->bad = 1;
    return true;
}

int cmd_embed(int argc, char **argv) {
    common c;
    common_init(&c);
    embed_opts o = {bertc_embed_default_params(), 0};
    int code = EXIT_OK;
    bertc_model *m = NULL;
    if (!gather(&c, argc, argv, embed_own, &o) || o.bad) {
        if (o.bad) die_msg("--pooling must be none, cls, mean, max, mean_sqrt_len, weightedmean, lasttoken or default");
        code = EXIT_USAGE;
        goto done;
    }
    if (c.help) {
        fputs(embed_usage, stdout);
        goto done;
    }
    if (!finish_inputs(&c, &code)) goto done;
    if (!(m = load_for(&c, &code))) goto done;
    o.p.encode = encode_params(&c);
    const bertc_st_config *st = bertc_model_st_config(m);
    int normalized = o.p.normalize >= 0 ? o.p.normalize : st->present && st->normalize;
    char pname[96];
    bertc_pooling_name(m, o.p.pooling, pname, sizeof pname);
    bool tokens = !strcmp(pname, "none");
    if (tokens) normalized = 0;
    for (size_t b0 = 0; b0 < c.rs.n; b0 += 32) {
        size_t nb = c.rs.n - b0 < 32 ? c.rs.n - b0 : 32;
        bertc_text in[32];
        bertc_embedding e[32];
        for (size_t i = 0; i < nb; i++)
            in[i] = (bertc_text){c.rs.r[b0 + i].text, c.rs.r[b0 + i].len, c.rs.r[b0 + i].pair, c.rs.r[b0 + i].pair_len};
        bertc_error err;
        bertc_status s = bertc_embed_ex(m, in, nb, &o.p, e, &err);
        if (s) {
            die_msg("inputs %zu..%zu: %s", b0 + 1, b0 + nb, err.message);
            code = exit_code_for(s);
            goto done;
        }
        for (size_t i = 0; i < nb; i++) {
            if (tokens) printf("{\"shape\": [%d, %d], \"last_hidden_state\": [", e[i].rows, e[i].hidden);
            else printf("{\"shape\": [%d], \"pooling\": \"%s\", \"normalized\": %s, \"embedding\": ", e[i].hidden, pname,
                        normalized ? "true" : "false");
            for (int r = 0; r < e[i].rows; r++) {
                if (r) fputs(", ", stdout);
                fputc('[', stdout);
                for (int k = 0; k < e[i].hidden; k++) {
                    if (k) fputs(", ", stdout);
                    jw_real(stdout, e[i].data[(size_t)r * e[i].hidden + k]);
                }
                fputc(']', stdout);
            }
            fputs(tokens ? "]}\n" : "}\n", stdout);
        }
        bertc_embedding_free(e, nb);
    }
    if (fflush(stdout) != 0) code = EXIT_OUTPUT;
done:
    bertc_model_free(m);
    records_free(&c.rs);
    return code;
}

/* ---------------------------------------------------------------------------------------------------- */

int cmd_tokenize(int argc, char **argv) {
    common c;
    common_init(&c);
    int code = EXIT_OK;
    bertc_model *m = NULL;
    bertc_tokenizer *tok_only = NULL;
    if (!gather(&c, argc, argv, NULL, NULL)) {
        code = EXIT_USAGE;
        goto done;
    }
    if (c.help) {
        fputs(tokenize_usage, stdout);
        goto done;
    }
    if (!finish_inputs(&c, &code)) goto done;
    /* The whole model is loaded so that max_length is capped by its positions, as the pipeline does; a folder
     * with tokenizer files and no weights is tokenized alone, as AutoTokenizer reads it. */
    const bertc_tokenizer *t;
    char dir[4096];
    if (c.mo.model && *c.mo.model && resolve_model_dir(c.mo.model, c.mo.revision, dir, sizeof dir, &code) &&
        !dir_has_weights(dir)) {
        bertc_error err;
        bertc_status ts = bertc_tokenizer_load(dir, &tok_only, &err);
        if (ts) {
            die_msg("cannot load tokenizer %s: %s", c.mo.model, err.message);
            code = exit_code_for(ts);
            goto done;
        }
        t = tok_only;
    } else {
        if (code != EXIT_OK) goto done;
        if (!(m = load_for(&c, &code))) goto done;
        t = bertc_model_tokenizer(m);
    }
    bertc_encode_params ep = encode_params(&c);
    for (size_t i = 0; i < c.rs.n; i++) {
        const record *r = &c.rs.r[i];
        bertc_encoding e;
        bertc_error err;
        bertc_status s = bertc_tokenize(t, r->text, r->len, r->pair, r->pair_len, &ep, &e, &err);
        if (s) {
            die_msg("input %zu: %s", i + 1, err.message);
            code = exit_code_for(s);
            goto done;
        }
        fputs("{\"input_ids\": [", stdout);
        for (size_t k = 0; k < e.n; k++) printf(k ? ", %d" : "%d", e.ids[k]);
        fputs("], \"token_type_ids\": [", stdout);
        for (size_t k = 0; k < e.n; k++) printf(k ? ", %d" : "%d", e.type_ids[k]);
        fputs("], \"attention_mask\": [", stdout);
        for (size_t k = 0; k < e.n; k++) printf(k ? ", %d" : "%d", e.attention_mask[k]);
        fputs("], \"tokens\": [", stdout);
        for (size_t k = 0; k < e.n; k++) {
            if (k) fputs(", ", stdout);
            jw_str(stdout, bertc_tokenizer_id_to_token(t, e.ids[k]));
        }
        fputs("], \"offsets\": [", stdout);
        for (size_t k = 0; k < e.n; k++) printf(k ? ", [%d, %d]" : "[%d, %d]", e.offsets[2 * k], e.offsets[2 * k + 1]);
        fputs("], \"word_ids\": [", stdout);
        for (size_t k = 0; k < e.n; k++) {
            if (k) fputs(", ", stdout);
            if (e.word_ids[k] < 0) fputs("null", stdout);
            else printf("%d", e.word_ids[k]);
        }
        fputs("]}\n", stdout);
        bertc_encoding_free(&e);
    }
    if (fflush(stdout) != 0) code = EXIT_OUTPUT;
done:
    bertc_model_free(m);
    bertc_tokenizer_free(tok_only);
    records_free(&c.rs);
    return code;
}

/* ---------------------------------------------------------------------------------------------------- */

int cmd_info(int argc, char **argv) {
    model_opts mo = {0};
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) return fputs(info_usage, stdout), EXIT_OK;
        int r = model_opt(&mo, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (!r) {
            die_msg("unknown argument %s for info", argv[i]);
            return EXIT_USAGE;
        }
    }
    int code = EXIT_OK;
    bertc_model *m = load_model(&mo, &code);
    if (!m) return code;
    bertc_model_info in;
    bertc_model_get_info(m, &in);
    static const char *const problems[] = {"none", "single_label_classification", "multi_label_classification",
                                           "regression"};
    printf("{\"source\": ");
    jw_str(stdout, in.source);
    printf(", \"model_type\": ");
    jw_str(stdout, in.model_type);
    printf(", \"architecture\": ");
    jw_str(stdout, in.architecture);
    printf(", \"head\": \"%s\"", bertc_head_name(in.head));
    printf(", \"problem_type\": \"%s\", \"parameters\": %llu, \"bytes\": %llu, \"dtype\": \"%s\", \"compute\": \"%s\", "
           "\"isa\": \"%s\", \"compute_mode\": \"%s\", \"compute_isa\": \"%s\", \"hidden_size\": %d, \"layers\": %d, \"heads\": %d, \"intermediate_size\": %d, \"vocab_size\": %d, "
           "\"max_position_embeddings\": %d, \"max_length\": %d, \"load_ms\": %.1f, \"labels\": [",
           problems[in.problem], (unsigned long long)in.n_params, (unsigned long long)in.weight_bytes, in.dtype,
           dtype_name(in.compute), in.isa, in.compute_mode == BERTC_COMPUTE_BF16 ? "bf16" : "fp32", in.compute_isa, in.hidden,
           in.layers, in.heads, in.intermediate, in.vocab_size, in.max_positions, in.max_length, in.load_ms);
    for (int k = 0; k < in.n_labels; k++) {
        if (k) fputs(", ", stdout);
        jw_str(stdout, bertc_model_label(m, k));
    }
    fputs("]}\n", stdout);
    bertc_model_free(m);
    return fflush(stdout) ? EXIT_OUTPUT : EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------------- */

static const char zero_shot_usage[] =
    "usage: bertc zero-shot --labels \"L1,L2,...\" [--template \"This example is {}.\"] [--multi-label]\n"
    "                       [--model DIR] [--entailment-id N] [--max-length N] [--batch-size N]\n"
    "                       [--input FILE|-] [--input-format auto|jsonl|text] [TEXT ...]\n"
    "transformers' zero-shot-classification pipeline on an NLI *ForSequenceClassification model: each label fills the\n"
    "template's {} as the hypothesis of a (text, hypothesis) pair, truncated only_first; the entailment label is the\n"
    "config's first label starting with \"entail\". A model without one (a sentiment model, say) is refused with its\n"
    "labels named (exit 3): --entailment-id N names it for an NLI model whose config has LABEL_0... names.\n"
    "Scores: the softmax of the entailment logits across\n"
    "the labels; --multi-label (or a single label): each label's softmax over [contradiction, entailment].\n"
    "--labels is split on commas, each label stripped, empty ones dropped (as transformers splits a string).\n"
    "Output: one JSON object per input, in input order: {\"sequence\", \"labels\", \"scores\"}, sorted by score.\n"
    INPUT_HELP;

typedef struct zero_shot_opts {
    const char *labels, *tmpl;
    int multi_label, entailment_id;
    int bad;
} zero_shot_opts;

static bool zero_shot_own(void *ctx, int argc, char **argv, int *i) {
    zero_shot_opts *o = ctx;
    const char *a = argv[*i];
    if (!strcmp(a, "--multi-label")) return (o->multi_label = 1) != 0;
    if (!strcmp(a, "--entailment-id")) {
        char *end = NULL;
        long v = *i + 1 < argc ? strtol(argv[*i + 1], &end, 10) : -1;
        if (*i + 1 >= argc || !end || *end || end == argv[*i + 1] || v < 0 || v > 1000000) o->bad = 2;
        else o->entailment_id = (int)v;
        ++*i;
        return true;
    }
    if (!strcmp(a, "--labels") || !strcmp(a, "--template")) {
        if (*i + 1 >= argc) {
            o->bad = 1;
            return true;
        }
        if (a[2] == 'l') o->labels = argv[++*i];
        else o->tmpl = argv[++*i];
        return true;
    }
    return false;
}

/* transformers' _parse_labels: split on ",", strip (Python's str.strip: ASCII and Unicode whitespace; here the ASCII
 * whitespace), drop empty labels. Returns the count; *out and *buf are malloc'ed. */
static size_t split_labels(const char *s, char ***out, char **buf) {
    size_t n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    char **v = xcalloc(n, sizeof *v);
    char *b = xstrdup(s);
    size_t k = 0;
    if (!v || !b) {
        free(v);
        free(b);
        *out = NULL;
        *buf = NULL;
        return 0;
    }
    char *p = b;
    for (;;) {
        char *e = strchr(p, ',');
        if (e) *e = 0;
        char *q = p, *r = p + strlen(p);
        while (*q && strchr(" \t\n\r\f\v", *q)) q++;
        while (r > q && strchr(" \t\n\r\f\v", r[-1])) *--r = 0;
        if (*q) v[k++] = q;
        if (!e) break;
        p = e + 1;
    }
    *out = v;
    *buf = b;
    return k;
}

int cmd_zero_shot(int argc, char **argv) {
    common c;
    common_init(&c);
    zero_shot_opts o = {NULL, NULL, 0, -1, 0};
    int code = EXIT_OK;
    bertc_model *m = NULL;
    char **labels = NULL, *lbuf = NULL;
    if (!gather(&c, argc, argv, zero_shot_own, &o) || o.bad) {
        if (o.bad == 2) die_msg("--entailment-id needs a label index (0, 1, ...)");
        else if (o.bad) die_msg("--labels and --template need a value");
        code = EXIT_USAGE;
        goto done;
    }
    if (c.help) {
        fputs(zero_shot_usage, stdout);
        goto done;
    }
    if (!o.labels) {
        die_msg("zero-shot needs --labels \"L1,L2,...\"");
        code = EXIT_USAGE;
        goto done;
    }
    size_t nl = split_labels(o.labels, &labels, &lbuf);
    if (!labels) {
        die_msg("out of memory");
        code = EXIT_INTERNAL;
        goto done;
    }
    if (nl == 0) {
        die_msg("--labels: you must include at least one label");
        code = EXIT_USAGE;
        goto done;
    }
    if (c.pair) {
        die_msg("zero-shot: --pair does not apply (the hypotheses are the second texts)");
        code = EXIT_USAGE;
        goto done;
    }
    if (!finish_inputs(&c, &code)) goto done;
    if (!(m = load_for(&c, &code))) goto done;
    bertc_zero_shot_params p = bertc_zero_shot_default_params();
    p.hypothesis_template = o.tmpl;
    p.multi_label = o.multi_label;
    p.entailment_id = o.entailment_id;
    p.classify.encode.truncation = c.truncation;
    p.classify.encode.max_length = c.max_length;
    p.classify.batch_size = c.batch_size;
    for (size_t i = 0; i < c.rs.n; i++) {
        bertc_zero_shot_result r;
        bertc_error err;
        bertc_status s = bertc_zero_shot(m, c.rs.r[i].text, c.rs.r[i].len, (const char *const *)labels, nl, &p, &r, &err);
        if (s) {
            fflush(stdout);
            die_msg("%s", err.message);
            code = s == BERTC_ERR_INVALID_ARG ? EXIT_USAGE : exit_code_for(s);
            goto done;
        }
        fputs("{\"sequence\": ", stdout);
        jw_str(stdout, c.rs.r[i].text);
        fputs(", \"labels\": [", stdout);
        for (size_t k = 0; k < r.n_labels; k++) {
            if (k) fputs(", ", stdout);
            jw_str(stdout, labels[r.order[k]]);
        }
        fputs("], \"scores\": [", stdout);
        for (size_t k = 0; k < r.n_labels; k++) {
            if (k) fputs(", ", stdout);
            jw_real(stdout, r.scores[k]);
        }
        fputs("]}\n", stdout);
        bertc_zero_shot_result_free(&r);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        die_msg("cannot write output");
        code = EXIT_OUTPUT;
    }
done:
    free(labels);
    free(lbuf);
    bertc_model_free(m);
    records_free(&c.rs);
    return code;
}

/* ---------------------------------------------------------------------------------------------------- */
/* token classification, question answering, fill-mask                                                 */

/* an integer option value in [lo, hi], or false after the message */
static bool int_value(const char *opt, const char *v, long lo, long hi, int *out) {
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        die_msg("%s must be a number from %ld to %ld", opt, lo, hi);
        return false;
    }
    *out = (int)n;
    return true;
}

static int status_exit(bertc_status s) { return s == BERTC_ERR_INVALID_ARG ? EXIT_USAGE : exit_code_for(s); }

static bool write_done(int *code) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        die_msg("cannot write output");
        *code = EXIT_OUTPUT;
        return false;
    }
    return true;
}

static const char ner_usage[] =
    "usage: bertc ner [--aggregation none|simple|first|average|max] [--ignore-labels \"O,...\"] [--stride N]\n"
    "                 [--model DIR] [--max-length N] [--input FILE|-] [--input-format auto|jsonl|text] [TEXT ...]\n"
    "transformers' token-classification (\"ner\") pipeline on a *ForTokenClassification model. --aggregation (the\n"
    "pipeline's aggregation_strategy, default none): none gives one entity per token; simple groups B-/I- runs of one\n"
    "type; first, average and max first join sub-tokens into words (the word's label from its first token, the mean of\n"
    "its tokens' scores, or its best token). --ignore-labels: labels (or groups) left out, comma-separated (default O;\n"
    "\"\" keeps every label). --stride N: a text longer than the model's positions runs in chunks overlapping by N\n"
    "tokens (with an aggregation other than none), else it is truncated. The alias `bertc token-classification` is the\n"
    "same command.\n"
    "Output: one JSON array per input, in input order: {\"entity\", \"score\", \"index\", \"word\", \"start\", \"end\"}\n"
    "per token, or {\"entity_group\", \"score\", \"word\", \"start\", \"end\"} when aggregated; start and end are\n"
    "character (code point) offsets into the text.\n" INPUT_HELP;

typedef struct task_opts {
    const char *aggregation, *ignore, *targets, *question, *context;
    int top_k, doc_stride, max_seq_len, max_question_len, max_answer_len, impossible, no_align, stride;
    int bad;
} task_opts;

static bool task_own(void *ctx, int argc, char **argv, int *i) {
    task_opts *o = ctx;
    const char *a = argv[*i];
    if (!strcmp(a, "--handle-impossible-answer")) return (o->impossible = 1) != 0;
    if (!strcmp(a, "--no-align-to-words")) return (o->no_align = 1) != 0;
    if (!strcmp(a, "--stride")) {
        if (*i + 1 >= argc || !int_value(a, argv[*i + 1], 1, 1 << 20, &o->stride)) {
            if (*i + 1 >= argc) die_msg("--stride needs a value");
            o->bad = 1;
        }
        ++*i;
        return true;
    }
    static const char *const strs[] = {"--aggregation", "--ignore-labels", "--targets", "--question", "--context"};
    static const char *const ints[] = {"--top-k", "--doc-stride", "--max-seq-len", "--max-question-len", "--max-answer-len"};
    for (int k = 0; k < 5; k++) {
        bool s = !strcmp(a, strs[k]), n = !strcmp(a, ints[k]);
        if (!s && !n) continue;
        if (*i + 1 >= argc) {
            die_msg("%s needs a value", a);
            o->bad = 1;
            return true;
        }
        const char *v = argv[++*i];
        if (s) {
            const char **dst[] = {&o->aggregation, &o->ignore, &o->targets, &o->question, &o->context};
            *dst[k] = v;
        } else {
            int *dst[] = {&o->top_k, &o->doc_stride, &o->max_seq_len, &o->max_question_len, &o->max_answer_len};
            if (!int_value(a, v, 1, 1 << 20, dst[k])) o->bad = 1;
        }
        return true;
    }
    return false;
}

/* the texts of the inputs, the usage on --help, --pair refused for cmd (NULL: the command checks it); false when the
 * command is done (code set) */
static bool task_inputs(common *c, task_opts *o, int argc, char **argv, const char *usage, const char *cmd, int *code) {
    if (!gather(c, argc, argv, task_own, o) || o->bad) {
        *code = EXIT_USAGE;
        return false;
    }
    if (c->help) {
        fputs(usage, stdout);
        return false;
    }
    if (cmd && c->pair) {
        die_msg("%s: --pair does not apply", cmd);
        *code = EXIT_USAGE;
        return false;
    }
    return true;
}

/* a comma-separated option value as split_labels splits it; false (message printed, code set) when out of memory */
static bool list_opt(const char *v, char ***items, char **buf, size_t *n, int *code) {
    *n = split_labels(v, items, buf);
    if (*items) return true;
    die_msg("out of memory");
    *code = EXIT_INTERNAL;
    return false;
}

static void print_entities(const bertc_token_class_result *r, bool grouped) {
    fputc('[', stdout);
    for (size_t k = 0; k < r->n; k++) {
        const bertc_token_entity *e = &r->entities[k];
        fputs(k ? ", {" : "{", stdout);
        fputs(grouped ? "\"entity_group\": " : "\"entity\": ", stdout);
        jw_str(stdout, e->label);
        fputs(", \"score\": ", stdout);
        jw_real(stdout, e->score);
        if (!grouped) printf(", \"index\": %d", e->index);
        fputs(", \"word\": ", stdout);
        jw_str(stdout, e->word);
        printf(", \"start\": %d, \"end\": %d}", e->start, e->end);
    }
    fputs("]\n", stdout);
}

int cmd_ner(int argc, char **argv) {
    common c;
    common_init(&c);
    task_opts o;
    memset(&o, 0, sizeof o);
    int code = EXIT_OK;
    bertc_model *m = NULL;
    char **ign = NULL, *ibuf = NULL;
    if (!task_inputs(&c, &o, argc, argv, ner_usage, "ner", &code)) goto done;
    bertc_token_class_params p = bertc_token_class_default_params();
    static const char *const aggs[] = {"none", "simple", "first", "average", "max"};
    if (o.aggregation) {
        int k = 0;
        while (k < 5 && strcasecmp(o.aggregation, aggs[k]) != 0) k++;
        if (k == 5) {
            die_msg("--aggregation must be none, simple, first, average or max");
            code = EXIT_USAGE;
            goto done;
        }
        p.aggregation = (bertc_aggregation)k;
    }
    if (o.ignore) {
        if (!list_opt(o.ignore, &ign, &ibuf, &p.n_ignore, &code)) goto done;
        p.ignore_labels = (const char *const *)ign;
    }
    if (!finish_inputs(&c, &code)) goto done;
    if (!(m = load_for(&c, &code))) goto done;
    p.encode = encode_params(&c);
    p.stride = o.stride;
    for (size_t i = 0; i < c.rs.n; i++) {
        bertc_token_class_result r;
        bertc_error err;
        bertc_status s = bertc_token_classify(m, c.rs.r[i].text, c.rs.r[i].len, &p, &r, &err);
        if (s) {
            fflush(stdout);
            die_msg("input %zu: %s", i, err.message);
            code = status_exit(s);
            goto done;
        }
        print_entities(&r, p.aggregation != BERTC_AGGREGATE_NONE);
        bertc_token_class_result_free(&r);
    }
    write_done(&code);
done:
    free(ign);
    free(ibuf);
    bertc_model_free(m);
    records_free(&c.rs);
    return code;
}

static const char qa_usage[] =
    "usage: bertc qa --context TEXT [--question Q] [--top-k N] [--doc-stride N] [--max-seq-len N]\n"
    "                [--max-question-len N] [--max-answer-len N] [--handle-impossible-answer] [--no-align-to-words]\n"
    "                [--model DIR] [--input FILE|-] [--input-format auto|jsonl|text] [QUESTION ...]\n"
    "transformers' question-answering pipeline on a *ForQuestionAnswering model: each question is paired with the\n"
    "context (question first, the context truncated only_second into windows of --max-seq-len tokens, default\n"
    "min(384, the model's), overlapping by --doc-stride, default min(max_seq_len / 2, 128)), and the best spans of\n"
    "at most --max-answer-len tokens (default 15) are returned, widened to whole words unless --no-align-to-words.\n"
    "--handle-impossible-answer lets the empty answer compete. JSONL input lines are {\"question\", \"context\"}\n"
    "(or {\"text\", \"text_pair\"}). The alias `bertc question-answering` is the same command.\n"
    "Output: one JSON value per question, in input order: {\"score\", \"start\", \"end\", \"answer\"} when one answer\n"
    "comes back, else an array of them, best first (as the pipeline returns them); start and end are character\n"
    "offsets into the context.\n" INPUT_HELP;

int cmd_qa(int argc, char **argv) {
    common c;
    common_init(&c);
    task_opts o;
    memset(&o, 0, sizeof o);
    int code = EXIT_OK;
    bertc_model *m = NULL;
    if (!task_inputs(&c, &o, argc, argv, qa_usage, NULL, &code)) goto done;
    if (c.pair || (o.question && !o.context)) {
        die_msg("qa: give the context with --context (and questions as TEXT, --question or --input)");
        code = EXIT_USAGE;
        goto done;
    }
    if (o.question && !records_add(&c.rs, o.question, strlen(o.question), NULL, 0)) {
        die_msg("out of memory");
        code = EXIT_INTERNAL;
        goto done;
    }
    if (!finish_inputs(&c, &code)) goto done;
    for (size_t i = 0; i < c.rs.n; i++)
        if (!c.rs.r[i].pair && !o.context) {
            die_msg("input %zu has no context: give --context or JSONL {\"question\", \"context\"}", i);
            code = EXIT_INPUT;
            goto done;
        }
    if (!(m = load_for(&c, &code))) goto done;
    bertc_qa_params p = bertc_qa_default_params();
    if (o.top_k) p.top_k = o.top_k;
    if (o.doc_stride) p.doc_stride = o.doc_stride;
    if (o.max_seq_len) p.max_seq_len = o.max_seq_len;
    if (o.max_question_len) p.max_question_len = o.max_question_len;
    if (o.max_answer_len) p.max_answer_len = o.max_answer_len;
    p.handle_impossible_answer = o.impossible;
    p.align_to_words = !o.no_align;
    for (size_t i = 0; i < c.rs.n; i++) {
        bertc_qa_result r;
        bertc_error err;
        const record *rc = &c.rs.r[i];
        const char *ctx = rc->pair ? rc->pair : o.context;
        size_t cl = rc->pair ? rc->pair_len : strlen(o.context);
        bertc_status s = bertc_question_answer(m, rc->text, rc->len, ctx, cl, &p, &r, &err);
        if (s) {
            fflush(stdout);
            die_msg("input %zu: %s", i, err.message);
            code = status_exit(s);
            goto done;
        }
        if (r.n != 1) fputc('[', stdout);
        for (size_t k = 0; k < r.n; k++) {
            fputs(k ? ", {\"score\": " : "{\"score\": ", stdout);
            jw_real(stdout, r.answers[k].score);
            printf(", \"start\": %d, \"end\": %d, \"answer\": ", r.answers[k].start, r.answers[k].end);
            jw_str(stdout, r.answers[k].answer);
            fputc('}', stdout);
        }
        fputs(r.n != 1 ? "]\n" : "\n", stdout);
        bertc_qa_result_free(&r);
    }
    write_done(&code);
done:
    bertc_model_free(m);
    records_free(&c.rs);
    return code;
}

static const char fill_mask_usage[] =
    "usage: bertc fill-mask [--top-k N] [--targets \"w1,w2,...\"] [--model DIR] [--max-length N]\n"
    "                       [--input FILE|-] [--input-format auto|jsonl|text] [TEXT ...]\n"
    "transformers' fill-mask pipeline on a *ForMaskedLM model: every mask token of the text ([MASK], <mask>: the\n"
    "tokenizer's) gets the --top-k (default 5) most likely tokens, or only those of --targets (each target its vocab\n"
    "token, else the first token it tokenizes to).\n"
    "Output: one JSON array per input, in input order, of {\"score\", \"token\", \"token_str\", \"sequence\"}; with\n"
    "several masks, an array of such arrays, one per mask (and the sequences keep the special tokens, as the pipeline\n"
    "does).\n" INPUT_HELP;

int cmd_fill_mask(int argc, char **argv) {
    common c;
    common_init(&c);
    task_opts o;
    memset(&o, 0, sizeof o);
    int code = EXIT_OK;
    bertc_model *m = NULL;
    char **tg = NULL, *tbuf = NULL;
    if (!task_inputs(&c, &o, argc, argv, fill_mask_usage, "fill-mask", &code)) goto done;
    bertc_fill_mask_params p = bertc_fill_mask_default_params();
    if (o.top_k) p.top_k = o.top_k;
    if (o.targets) {
        if (!list_opt(o.targets, &tg, &tbuf, &p.n_targets, &code)) goto done;
        p.targets = (const char *const *)tg;
    }
    if (!finish_inputs(&c, &code)) goto done;
    if (!(m = load_for(&c, &code))) goto done;
    p.encode = encode_params(&c);
    for (size_t i = 0; i < c.rs.n; i++) {
        bertc_fill_mask_result r;
        bertc_error err;
        bertc_status s = bertc_fill_mask(m, c.rs.r[i].text, c.rs.r[i].len, &p, &r, &err);
        if (s) {
            fflush(stdout);
            die_msg("input %zu: %s", i, err.message);
            code = status_exit(s);
            goto done;
        }
        if (r.n_masks > 1) fputc('[', stdout);
        for (size_t k = 0; k < r.n_masks; k++) {
            fputs(k ? ", [" : "[", stdout);
            for (size_t j = 0; j < r.k; j++) {
                const bertc_mask_candidate *mc = &r.candidates[k * r.k + j];
                fputs(j ? ", {\"score\": " : "{\"score\": ", stdout);
                jw_real(stdout, mc->score);
                printf(", \"token\": %d, \"token_str\": ", (int)mc->token);
                jw_str(stdout, mc->token_str);
                fputs(", \"sequence\": ", stdout);
                jw_str(stdout, mc->sequence);
                fputc('}', stdout);
            }
            fputc(']', stdout);
        }
        fputs(r.n_masks > 1 ? "]\n" : "\n", stdout);
        bertc_fill_mask_result_free(&r);
    }
    write_done(&code);
done:
    free(tg);
    free(tbuf);
    bertc_model_free(m);
    records_free(&c.rs);
    return code;
}
