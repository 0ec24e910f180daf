/* test_json.c — jparse, the one JSON entry point (jansson), and what loaders built on it accept and refuse:
 * the cases where the move from cJSON could have changed behaviour. */
#include "base/json.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bertc_status parse(const char *s, json_t **j, bertc_error *e) { return jparse(s, strlen(s), "x.json", j, e); }

static void test_jparse(void) {
    bertc_error e;
    json_t *j;
    /* numbers are reals whatever their spelling, huge integers included */
    CHECK(parse("{\"a\": 2, \"b\": 2.0, \"c\": 1e-12, \"d\": 1000000000000000019884624838656}", &j, &e) == BERTC_OK,
          "%s", e.message);
    CHECK(jnum(j, "a", 0) == 2 && jnum(j, "b", 0) == 2 && jnum(j, "c", 0) == 1e-12, "numbers");
    CHECK(jnum(j, "d", 0) > 1e29 && jint(j, "d", 0) == INT_MAX, "a huge integer saturates");
    json_decref(j);
    /* the last of a duplicated key wins, as in Python's json and serde_json */
    CHECK(parse("{\"k\": 1, \"k\": 3}", &j, &e) == BERTC_OK && jint(j, "k", 0) == 3, "duplicate key");
    json_decref(j);
    /* a byte order mark is skipped */
    CHECK(parse("\xEF\xBB\xBF{\"k\": \"v\"}", &j, &e) == BERTC_OK && !strcmp(jstr(j, "k"), "v"), "BOM");
    json_decref(j);
    /* trailing text, invalid UTF-8 and truncation are errors that say where */
    CHECK(parse("{\"k\": 1} extra", &j, &e) == BERTC_ERR_FORMAT && !j, "trailing text refused");
    CHECK(strstr(e.message, "x.json is not valid JSON") && strstr(e.message, "line 1"), "%s", e.message);
    CHECK(parse("{\"k\": \"\xff\"}", &j, &e) == BERTC_ERR_FORMAT, "invalid UTF-8 refused");
    CHECK(parse("{\n  \"k\": [1,\n", &j, &e) == BERTC_ERR_FORMAT && strstr(e.message, "line 3"), "%s", e.message);
}

/* a copy of tiny-bert whose config.json / tokenizer_config.json are replaced */
static void write_file(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void test_loaders(void) {
    char cmd[512];
    const char *d = "build/t-json-model";
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rL " TD "tiny-bert %s", d, d);
    CHECK(system(cmd) == 0, "copy");
    /* tokenizer_config.json's "no limit" model_max_length: the model's 512 positions apply */
    char p[256];
    snprintf(p, sizeof p, "%s/tokenizer_config.json", d);
    write_file(p, "\xEF\xBB\xBF{\"model_max_length\": 1000000000000000019884624838656, \"do_lower_case\": true}");
    bertc_model *m = NULL;
    bertc_error e;
    CHECK(bertc_model_load(d, NULL, &m, &e) == BERTC_OK, "%s", e.message);
    if (m) {
        CHECK(bertc_tokenizer_max_length(bertc_model_tokenizer(m)) == 512, "%d",
              bertc_tokenizer_max_length(bertc_model_tokenizer(m)));
        bertc_model_free(m);
    }
    /* a config.json cut short names the file, the line and the column */
    snprintf(p, sizeof p, "%s/config.json", d);
    write_file(p, "{\n  \"model_type\": \"bert\",\n  \"hidden_size\": ");
    CHECK(bertc_model_load(d, NULL, &m, &e) == BERTC_ERR_FORMAT, "truncated config");
    CHECK(strstr(e.message, "config.json") && strstr(e.message, "line 3"), "%s", e.message);
    snprintf(cmd, sizeof cmd, "rm -rf %s", d);
    CHECK(system(cmd) == 0, "cleanup");
}

void tests_json(void) {
    run_test("json/jparse", test_jparse);
    run_test("json/loaders", test_loaders);
}
