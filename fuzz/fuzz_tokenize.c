/* fuzz_tokenize.c — arbitrary bytes (and a pair split at the first 0xFF) through the BERT, RoBERTa and XLM-R
 * tokenizers of tests/data, and through two made from them with patterns (Split \w+ before RoBERTa's byte-level
 * BPE; Replace normalizers and Split pre-tokenizers with lookahead, lazy and counted loops before BERT's
 * WordPiece), with small max lengths so truncation paths run. */
#include "bertc.h"
#include "tokenizer/tokenizer.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
static bertc_tokenizer *tk[5];
/* base's tokenizer.json with its normalizer and pre_tokenizer replaced by those of the JSON text over */
static bertc_tokenizer *patterned(const char *base, const char *over) {
    json_t *j = json_load_file(base, 0, NULL), *o = json_loads(over, 0, NULL);
    if (!j || !o || json_object_update(j, o)) abort();
    char *s = json_dumps(j, JSON_COMPACT);
    bertc_tokenizer *t = NULL;
    if (!s || tokenizer_load_mem(s, NULL, NULL, NULL, NULL, &t, NULL)) abort();
    free(s);
    json_decref(j);
    json_decref(o);
    return t;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tk[0]) {
        if (bertc_tokenizer_load("tests/data/tok-bert", &tk[0], NULL) || bertc_tokenizer_load("tests/data/tok-roberta", &tk[1], NULL) ||
            bertc_tokenizer_load("tests/data/tok-xlmr", &tk[2], NULL))
            abort();
        tk[3] = patterned("tests/data/tok-roberta/tokenizer.json",
                          "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                          "{\"Regex\": \"\\\\w+\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
                          "\"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]}}");
        tk[4] = patterned("tests/data/tok-bert/tokenizer.json",
                          "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Replace\", \"pattern\": "
                          "{\"Regex\": \"(?:\\\\s)\\\\s+(?=\\\\S)|\\\\p{N}{3,}?\"}, \"content\": \" # \"}, {\"type\": \"Replace\", "
                          "\"pattern\": {\"Regex\": \"^\\\\W*|[^\\\\x00-\\\\x7f\\\\p{L}]{2}$\"}, \"content\": \"~\"}]}, "
                          "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                          "{\"Regex\": \"^\\\\s*\\\\w{1,3}|\\\\d{2,}?|(?:[aeiou][^aeiou\\\\s]){2}\"}, \"behavior\": \"Isolated\", "
                          "\"invert\": false}, {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?:(?:e|n)*?[^\\\\S\\\\n]|"
                          "\\\\P{L}{2})+?|(?=[#~])\"}, \"behavior\": \"Contiguous\", \"invert\": true}]}}");
    }
    const uint8_t *sep = memchr(data, 0xFF, size);
    size_t la = sep ? (size_t)(sep - data) : size;
    char *a = malloc(la + 1), *b = NULL;
    memcpy(a, data, la);
    size_t lb = 0;
    if (sep) {
        lb = size - la - 1;
        b = malloc(lb + 1);
        memcpy(b, sep + 1, lb);
    }
    bertc_encode_params p = bertc_encode_default_params();
    p.max_length = size % 2 ? 5 : 0;
    bertc_encoding e;
    for (int k = 0; k < 5; k++)
        if (bertc_tokenize(tk[k], a, la, b, lb, &p, &e, NULL) == BERTC_OK) bertc_encoding_free(&e);
    free(a);
    free(b);
    return 0;
}
