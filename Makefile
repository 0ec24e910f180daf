# bertc — `make` builds build/libbertc.a, build/bertc and the tests; `make test` runs the suite;
# `make SAN=1 test` builds into build-san/ with AddressSanitizer + UndefinedBehaviorSanitizer.
CC      ?= cc
SAN     ?= 0
WERROR  ?= 0
ifeq ($(SAN),1)
BUILD   ?= build-san
OPT     ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN   := -fsanitize=address,undefined
else
BUILD   ?= build
OPT     ?= -O2 -g
LDSAN   :=
endif
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# -fPIC: the same objects make libbertc.a and libbertc.so; no semantic interposition keeps calls inside the library
# direct. -Isrc: sources include each other by folder ("base/internal.h", "model/model.h"); -Iapp for the server.
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fno-math-errno -fPIC -fno-semantic-interposition -Iinclude -Isrc -Iapp -pthread

# What links what (docs/ARCHITECTURE.md):
#   libbertc       src/*: load, tokenize, encode, heads, pipelines, datasets and metrics, train, hub
#   libbertc-eval  eval/: reports, evaluation runs, bias probe, compare, seqeval, SQuAD (over libbertc's public API)
#   libbertc-default  app/default: the minilm-sst2 checkpoint as data (the command, the Python wheel)
#   bertc          app/cli + app/serve (libmicrohttpd) over the three
LIBS_CORE := -lutf8proc -ljansson -lcurl -lcrypto -lm -pthread
LIBS_EVAL := -ljansson -lutf8proc -lm -pthread
LIBS_APP  := -lmicrohttpd
LDLIBS  := $(LIBS_APP) $(LIBS_CORE)

LIB_DIRS := src/base src/formats src/tokenizer src/kernels src/model src/tasks src/data src/train src/hub
LIB_SRC := $(wildcard $(LIB_DIRS:%=%/*.c))
BASE_SRC := $(wildcard src/base/*.c)
EVAL_SRC := $(wildcard eval/*.c)
SERVE_SRC := $(wildcard app/serve/*.c)
CLI_SRC := $(wildcard app/cli/*.c) $(SERVE_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
BASE_OBJ := $(BASE_SRC:%.c=$(BUILD)/%.o)
EVAL_OBJ := $(EVAL_SRC:%.c=$(BUILD)/%.o)
SERVE_OBJ := $(SERVE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/app/serve/docs_assets.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/app/serve/docs_assets.o
DEFAULT_OBJ := $(BUILD)/app/default/embedded.o $(BUILD)/app/default/default_model.o
TEST_SRC := $(wildcard tests/*.c)
EMBED   := models/minilm-sst2/config.json models/minilm-sst2/model.safetensors models/minilm-sst2/tokenizer.json \
           models/minilm-sst2/tokenizer_config.json
# A program linked statically: the command, the suite, the benchmarks.
STATIC_LIBS := $(BUILD)/libbertc-eval.a $(BUILD)/libbertc.a $(BUILD)/libbertc-default.a

.PHONY: all test clean bench bench-models bench-serve fuzz fuzz-smoke check install uninstall shared
all: $(BUILD)/bertc $(BUILD)/test_bertc shared

$(BUILD)/libbertc.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/libbertc-eval.a: $(EVAL_OBJ)
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/libbertc-default.a: $(DEFAULT_OBJ)
	rm -f $@ && $(AR) rcs $@ $^
# src/base for libbertc-eval.so's own use, never exported from it (--exclude-libs)
$(BUILD)/libbertc-base.a: $(BASE_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

# The shared libraries: soname lib*.so.$(SOVERSION); only the public bertc_* API is exported (src/libbertc.map,
# eval/libbertc-eval.map). libbertc.so finds libbertc-default.so beside itself ($$ORIGIN) when the default model
# is asked for; libbertc-eval.so links libbertc.so.
VERSION   := $(shell sed -n 's/^\#define BERTC_VERSION "\(.*\)"/\1/p' include/bertc.h)
SOVERSION := 0
SHARED    := $(BUILD)/libbertc.so $(BUILD)/libbertc-eval.so $(BUILD)/libbertc-default.so
$(BUILD)/libbertc.so.$(VERSION): $(LIB_OBJ) src/libbertc.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libbertc.so.$(SOVERSION) -Wl,--version-script=src/libbertc.map -Wl,-z,defs \
	  -Wl,-rpath,'$$ORIGIN' -o $@ $(LIB_OBJ) $(LDSAN) $(LIBS_CORE)
$(BUILD)/libbertc-eval.so.$(VERSION): $(EVAL_OBJ) $(BUILD)/libbertc-base.a $(BUILD)/libbertc.so eval/libbertc-eval.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libbertc-eval.so.$(SOVERSION) -Wl,--version-script=eval/libbertc-eval.map \
	  -Wl,-z,defs -Wl,-rpath,'$$ORIGIN' -o $@ $(EVAL_OBJ) $(BUILD)/libbertc-base.a -Wl,--exclude-libs,ALL \
	  -L$(BUILD) -lbertc $(LDSAN) $(LIBS_EVAL)
$(BUILD)/libbertc-default.so.$(VERSION): $(DEFAULT_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libbertc-default.so.$(SOVERSION) -Wl,-z,defs -o $@ $(DEFAULT_OBJ) $(LDSAN) -pthread
$(BUILD)/%.so: $(BUILD)/%.so.$(VERSION)
	ln -sf $(notdir $<) $(BUILD)/$*.so.$(SOVERSION)
	ln -sf $(notdir $<) $@
shared: $(SHARED)

$(BUILD)/bertc: $(CLI_OBJ) $(STATIC_LIBS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDSAN) $(LDLIBS)

# The suite's allocations pass tests/faultinj.c (zlib: the suite writes torch zip files with their CRCs) (allocation-failure injection, tests/test_faults.c).
FI_WRAP := $(foreach f,malloc calloc realloc strdup strndup posix_memalign aligned_alloc,-Wl,--wrap=$(f))
# build/bertc-fi: the CLI with the same wrappers, for the CLI's sweeps (BERTC_FAIL_ALLOC=N).
$(BUILD)/bertc-fi: $(CLI_OBJ) $(STATIC_LIBS) tests/faultinj.c tests/faultinj.h
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) tests/faultinj.c $(STATIC_LIBS) $(FI_WRAP) $(LDSAN) $(LDLIBS)
$(BUILD)/test_bertc: $(TEST_SRC) $(wildcard tests/*.h) $(SERVE_OBJ) $(STATIC_LIBS) $(BUILD)/bertc-fi
	$(CC) $(CFLAGS) -o $@ $(TEST_SRC) $(SERVE_OBJ) $(STATIC_LIBS) $(FI_WRAP) $(LDSAN) $(LDLIBS) -lz

# AVX2/FMA kernels are compiled for that ISA and picked at run time by CPU feature.
$(BUILD)/src/kernels/%_avx2.o: src/kernels/%_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -mavx2 -mfma -mf16c -MMD -MP -c -o $@ $<

AVX512_FLAGS := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni
$(BUILD)/src/kernels/%_avx512.o: src/kernels/%_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -MMD -MP -c -o $@ $<

# bf16 compute: vdpbf16ps / vcvtneps2bf16 (AVX512-BF16), picked at run time by cpuid.
AVX512BF16_FLAGS := $(AVX512_FLAGS) -mavx512bf16
$(BUILD)/src/kernels/%_avx512bf16.o: src/kernels/%_avx512bf16.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512BF16_FLAGS) -MMD -MP -c -o $@ $<

# The AMX tier: tile instructions (and AVX-512 for the code around them), picked at run time when the CPU and the
# kernel allow the tile state. gemm_amxemu.c is the same code against the tile model, compiled like any other file.
AMX_FLAGS := $(AVX512BF16_FLAGS) -mamx-tile -mamx-bf16 -mamx-int8
$(BUILD)/src/kernels/%_amx.o: src/kernels/%_amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AMX_FLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Swagger UI for GET /docs (third_party/swagger-ui, kept gzipped): decompressed once into build/swagger-ui (whatever
# the build folder) and linked into the server by app/serve/docs_assets.S.
SWAGGER := build/swagger-ui/swagger-ui-bundle.js build/swagger-ui/swagger-ui.css
build/swagger-ui/%: third_party/swagger-ui/%.gz
	@mkdir -p $(dir $@)
	gzip -dc $< > $@.tmp && mv $@.tmp $@
$(BUILD)/app/serve/docs_assets.o: app/serve/docs_assets.S $(SWAGGER)
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ app/serve/docs_assets.S

$(BUILD)/app/default/embedded.o: app/default/embedded.S $(EMBED)
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ app/default/embedded.S

test: all
	BERTC_BIN=$(BUILD)/bertc $(BUILD)/test_bertc

# Every allocation of each faults/* path failed in turn (the suite tries every allocation site and about 40 more points per path), under ASan + UBSan.
.PHONY: faultsweep
faultsweep:
	$(MAKE) SAN=1 all
	BERTC_FAULT_SWEEP=0 BERTC_BIN=build-san/bertc ASAN_OPTIONS=detect_leaks=1 build-san/test_bertc faults/

# kill -9 (strace's fault injection) at every unlink, rename, write, fsync, mkdir and rmdir of a training run and of
# a resume that re-saves a finished one, and the test-only I/O fault hook at every write, rename and fsync, each
# followed by --resume-from-checkpoint latest (the suite runs a strided subset of both).
.PHONY: killnine
killnine: all
	BERTC_KILLNINE=full BERTC_REQUIRE_STRACE=1 BERTC_BIN=$(BUILD)/bertc $(BUILD)/test_bertc durable/

# ---- fuzzing: libFuzzer targets over every parser of outside input (clang) ----
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -Iapp -pthread -fsanitize=address,undefined
FUZZ_TARGETS := safetensors torchbin config tokenizer_json tokenize regex dataset request hub_headers train_labels st_config predictions task_data pipelines teacher_cache
FUZZ_SECONDS ?= 8
fuzz: $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

FUZZ_SRC := $(LIB_SRC) $(EVAL_SRC) $(SERVE_SRC) app/default/default_model.c
build-fuzz/libbertc.a: $(FUZZ_SRC) app/default/embedded.S $(EMBED) app/serve/docs_assets.S $(SWAGGER)
	@mkdir -p build-fuzz/obj
	@for f in $(FUZZ_SRC); do \
	  x=""; case $$f in *_avx2.c) x="-mavx2 -mfma -mf16c";; *_avx512.c) x="$(AVX512_FLAGS)";; *_avx512bf16.c) x="$(AVX512BF16_FLAGS)";; *_amx.c) x="$(AMX_FLAGS)";; esac; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $$x -c $$f -o build-fuzz/obj/$$(echo $$f | tr / _).o || exit 1; done
	$(FUZZ_CC) -c -o build-fuzz/obj/embedded.o app/default/embedded.S
	$(FUZZ_CC) -c -o build-fuzz/obj/docs_assets.o app/serve/docs_assets.S
	$(AR) rcs $@ build-fuzz/obj/*.o

build-fuzz/fuzz_%: fuzz/fuzz_%.c build-fuzz/libbertc.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libbertc.a $(LDLIBS)

# Runs each target for FUZZ_SECONDS from its seed corpus (a copy: the committed seeds stay as they are), inputs up to
# FUZZ_MAX_LEN bytes: large enough for the deep-nesting, long-word and overflowing-shape seeds. The committed seeds
# include every input that once crashed a parser, so each run replays them first.
FUZZ_MAX_LEN ?= 131072
fuzz-smoke: fuzz
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf build-fuzz/corpus-$$t && cp -r fuzz/corpus/$$t build-fuzz/corpus-$$t && \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s" && \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -timeout=25 -rss_limit_mb=4096 \
	     -print_final_stats=1 build-fuzz/corpus-$$t 2>build-fuzz/fuzz_$$t.log || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	  grep -h 'stat::number_of_executed_units' build-fuzz/fuzz_$$t.log | sed 's/^/  /'; done

# The nightly-style run: FUZZ_RUNS executions of each target (10^6 by default), corpus kept in build-fuzz/long-*;
# a crash stops it with the reproducer's path. Prints the executions and the time each target took.
FUZZ_RUNS ?= 1000000
.PHONY: fuzz-long
fuzz-long: fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/long-$$t && cp -rn fuzz/corpus/$$t/. build-fuzz/long-$$t/ && \
	  s=$$(date +%s); \
	  build-fuzz/fuzz_$$t -runs=$(FUZZ_RUNS) -max_len=$(FUZZ_MAX_LEN) -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
	     -artifact_prefix=build-fuzz/$$t- build-fuzz/long-$$t 2>build-fuzz/long_$$t.log || { tail -40 build-fuzz/long_$$t.log; exit 1; }; \
	  echo "fuzz $$t: $$(grep -h 'stat::number_of_executed_units' build-fuzz/long_$$t.log | awk '{print $$2}') executions in $$(( $$(date +%s) - s )) s"; \
	done

# The whole suite, as CI runs it (.ci/run is apt-get's non-interactive setup and then this): .ci/deps.sh installs
# what the suite needs (Debian packages through sudo, the venvs in build/, the npm client), then check-suite runs all
# of it with every part required (a part whose tool is missing fails instead of skipping).
# `make check-suite` alone runs the same steps with what is installed, saying which it skipped.
SUITE_REQUIRE = BERTC_REQUIRE_CHROMIUM=1 BERTC_REQUIRE_STRACE=1 \
  BERTC_CLIENTS_PYTHON=$(CURDIR)/build/venv-clients/bin/python BERTC_REQUIRE_CLIENTS=1 \
  TOKFUZZ_PYTHON=$(CURDIR)/build/venv-clients/bin/python TOKFUZZ_REQUIRE=1 \
  PYTEST_PYTHON=$(CURDIR)/build/venv-clients/bin/python PYTEST_REQUIRE=1 PYINSTALL=1 \
  SPARK_PYTHON=$(CURDIR)/build/venv-spark/bin/python TORCH_PYTHON=$(CURDIR)/build/venv-torch-debian/bin/python
.PHONY: check check-suite deps
deps:
	.ci/deps.sh
check: deps
	$(SUITE_REQUIRE) $(MAKE) check-suite

# The suite's steps: warnings as errors, ASan+UBSan build and tests, fuzz smoke, tokenizer differential fuzzing, the
# Python package's tests (source tree and installed), Spark, the live transformers test, install, plain tests last.
check-suite:
	$(MAKE) WERROR=1 all
	$(MAKE) SAN=1 WERROR=1 all
	BERTC_BIN=build-san/bertc ASAN_OPTIONS=detect_leaks=1 build-san/test_bertc
	$(MAKE) fuzz-smoke
	$(MAKE) tokfuzz
	$(MAKE) pytest
	$(MAKE) pytest-spark
	$(MAKE) pytest-torch
	$(MAKE) install-check
	BERTC_BIN=build/bertc build/test_bertc

# The Python package's tests (python/tests) on the source tree and this build's libbertc.so. PYTEST_PYTHON needs
# numpy and pytest; without them the run says it skipped, unless PYTEST_REQUIRE=1 (CI). With PYINSTALL=1 (CI, needs
# PyPI) the package is also pip-installed into build/venv-py and the tests run again on the installed copy.
PYTEST_PYTHON ?= python3
.PHONY: pytest install-check
pytest: $(BUILD)/libbertc.so $(BUILD)/bertc
	@if $(PYTEST_PYTHON) -c 'import numpy, pytest' 2>/dev/null; then \
	  PYTHONPATH=$(CURDIR)/python BERTC_LIBRARY=$(CURDIR)/$(BUILD)/libbertc.so BERTC_BIN=$(CURDIR)/$(BUILD)/bertc \
	    $(PYTEST_PYTHON) -m pytest -q -p no:cacheprovider python/tests; \
	elif [ "$(PYTEST_REQUIRE)" = 1 ]; then echo "pytest: $(PYTEST_PYTHON) has no numpy or pytest"; exit 1; \
	else echo "pytest: skipped (numpy and pytest not installed for $(PYTEST_PYTHON))"; fi
	@if [ "$(PYINSTALL)" = 1 ]; then \
	  rm -rf build/venv-py && python3 -m venv build/venv-py && \
	  build/venv-py/bin/pip install -q pytest ./python && \
	  cd build && BERTC_BIN=$(CURDIR)/$(BUILD)/bertc venv-py/bin/python -m pytest -q -p no:cacheprovider \
	    ../python/tests/test_refs.py ../python/tests/test_api.py; fi

# bertc inside PySpark in local mode (examples/spark_classify.py, python/tests/test_spark.py): SPARK_PYTHON has
# pyspark, pandas, pyarrow, numpy and pytest, and Java is installed (CI makes build/venv-spark); else it says it skipped.
SPARK_PYTHON ?=
.PHONY: pytest-spark
pytest-spark: $(BUILD)/libbertc.so $(BUILD)/bertc
	@if [ -n "$(SPARK_PYTHON)" ]; then \
	  PYTHONPATH=$(CURDIR)/python BERTC_LIBRARY=$(CURDIR)/$(BUILD)/libbertc.so BERTC_BIN=$(CURDIR)/$(BUILD)/bertc \
	    BERTC_REQUIRE_SPARK=1 $(SPARK_PYTHON) -m pytest -q -p no:cacheprovider python/tests/test_spark.py; \
	else echo "pytest-spark: skipped (SPARK_PYTHON not set)"; fi

# The differential test against transformers itself (python/tests/test_transformers_live.py): TORCH_PYTHON has torch
# and transformers (CI: .ci/torch-venv.sh, Debian's torch 1.13 with transformers 4.45); else it says it skipped.
TORCH_PYTHON ?=
.PHONY: pytest-torch
pytest-torch: $(BUILD)/libbertc.so $(BUILD)/bertc
	@if [ -n "$(TORCH_PYTHON)" ]; then \
	  PYTHONPATH=$(CURDIR)/python BERTC_LIBRARY=$(CURDIR)/$(BUILD)/libbertc.so BERTC_BIN=$(CURDIR)/$(BUILD)/bertc \
	    BERTC_REQUIRE_TORCH=1 $(TORCH_PYTHON) -m pytest -q -p no:cacheprovider python/tests/test_transformers_live.py; \
	else echo "pytest-torch: skipped (TORCH_PYTHON not set)"; fi

# `make install` into a scratch DESTDIR, then a program built with pkg-config against it runs.
install-check: $(BUILD)/bertc $(SHARED)
	rm -rf $(BUILD)/inst
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/inst PREFIX=/usr >/dev/null
	$(CC) -o $(BUILD)/inst/example tests/install/example.c \
	  $$(PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(BUILD)/inst PKG_CONFIG_LIBDIR=$(CURDIR)/$(BUILD)/inst/usr/lib/pkgconfig \
	     pkg-config --cflags --libs bertc)
	test "$$(LD_LIBRARY_PATH=$(BUILD)/inst/usr/lib $(BUILD)/inst/example)" = "POSITIVE 0.9962"
	test -f $(BUILD)/inst/usr/share/man/man1/bertc.1 -a -x $(BUILD)/inst/usr/bin/bertc
	test -f $(BUILD)/inst/usr/share/doc/bertc/README.md -a -f $(BUILD)/inst/usr/share/doc/bertc/commands.md
	grep -q '/usr/share/doc/bertc/' $(BUILD)/inst/usr/share/man/man1/bertc.1
	@echo "install-check: ok"

$(BUILD)/bench_%: bench/bench_%.c $(STATIC_LIBS)
	$(CC) $(CFLAGS) -o $@ $< $(STATIC_LIBS) $(LDSAN) $(LDLIBS)

# The C side of the differential tokenizer fuzzer (tests/tokfuzz).
$(BUILD)/tokdiff: tests/tokfuzz/tokdiff.c $(BUILD)/libbertc.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbertc.a $(LDSAN) $(LIBS_CORE)

# Differential fuzzing against Hugging Face tokenizers (PyPI `tokenizers`, the Rust crate): a bounded run in
# `make check`, TOKFUZZ_N=1000000 for the long one. TOKFUZZ_PYTHON must import tokenizers; without it the run says
# it skipped, unless TOKFUZZ_REQUIRE=1 (CI).
TOKFUZZ_PYTHON ?= python3
TOKFUZZ_N ?= 3000
TOKFUZZ_SEED ?= 1
.PHONY: tokfuzz tokfuzz-long
tokfuzz: $(BUILD)/tokdiff
	@if $(TOKFUZZ_PYTHON) -c 'import tokenizers' 2>/dev/null; then \
	  $(TOKFUZZ_PYTHON) tests/tokfuzz/tokfuzz.py --bin $(BUILD)/tokdiff -n $(TOKFUZZ_N) --seed $(TOKFUZZ_SEED) --decode; \
	elif [ "$(TOKFUZZ_REQUIRE)" = 1 ]; then echo "tokfuzz: $(TOKFUZZ_PYTHON) has no tokenizers"; exit 1; \
	else echo "tokfuzz: skipped (tokenizers not installed for $(TOKFUZZ_PYTHON))"; fi
tokfuzz-long:
	$(MAKE) tokfuzz TOKFUZZ_N=1000000 TOKFUZZ_REQUIRE=1 TOKFUZZ_SEED=$$(date +%Y%m%d)

# Figures, never pass/fail: tokenizer throughput on SST-2 train (needs ../shared).
# The Rust tokenizers (bench/tokenize_peer.py, TOKFUZZ_PYTHON) beside it in the same run when it is installed.
bench: $(BUILD)/bertc $(BUILD)/bench_tokenize
	@for t in tok-bert tok-roberta tok-xlmr; do \
	  $(BUILD)/bench_tokenize tests/data/$$t ../shared/data/sst2/train.tsv; \
	  if $(TOKFUZZ_PYTHON) -c 'import tokenizers' 2>/dev/null; then \
	    RAYON_NUM_THREADS=1 $(TOKFUZZ_PYTHON) bench/tokenize_peer.py tests/data/$$t ../shared/data/sst2/train.tsv; fi; done

# bertc vs ONNX Runtime and PyTorch on full-size DistilBERT and RoBERTa-base, same machine, same run (bench/models.sh).
bench-models: $(BUILD)/bertc
	bash bench/models.sh

# Load and fault run of `bertc serve` with wrk (bench/serve_load.sh).
bench-serve: $(BUILD)/bertc
	bash bench/serve_load.sh

# `make install PREFIX=/usr/local DESTDIR=`: the command, the three libraries (static and shared), the headers,
# bertc.pc and bertc-eval.pc, and the man page.
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
HEADERS := $(wildcard include/bertc*.h)
DOCS := $(wildcard docs/*.md)
LIBNAMES := libbertc libbertc-eval libbertc-default
$(BUILD)/bertc.pc: bertc.pc.in include/bertc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_CORE)|' $< > $@
$(BUILD)/bertc-eval.pc: bertc-eval.pc.in include/bertc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_EVAL)|' $< > $@
install: $(BUILD)/bertc $(STATIC_LIBS) $(SHARED) $(BUILD)/bertc.pc $(BUILD)/bertc-eval.pc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/bertc
	install -m 755 $(BUILD)/bertc $(DESTDIR)$(PREFIX)/bin/bertc
	for l in $(LIBNAMES); do \
	  install -m 644 $(BUILD)/$$l.a $(DESTDIR)$(LIBDIR)/$$l.a && \
	  install -m 755 $(BUILD)/$$l.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$l.so.$(VERSION) && \
	  ln -sf $$l.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$l.so.$(SOVERSION) && \
	  ln -sf $$l.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$l.so || exit 1; done
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/bertc.pc $(BUILD)/bertc-eval.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	sed 's|/usr/share/doc/bertc/|$(PREFIX)/share/doc/bertc/|' docs/bertc.1 > $(DESTDIR)$(PREFIX)/share/man/man1/bertc.1
	install -m 644 README.md $(DOCS) $(DESTDIR)$(PREFIX)/share/doc/bertc/
	install -m 644 models/minilm-sst2/README.md $(DESTDIR)$(PREFIX)/share/doc/bertc/minilm-sst2.md
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/bertc $(foreach l,$(LIBNAMES),$(DESTDIR)$(LIBDIR)/$(l).a $(DESTDIR)$(LIBDIR)/$(l).so*) \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/bertc.pc $(DESTDIR)$(LIBDIR)/pkgconfig/bertc-eval.pc \
	  $(DESTDIR)$(PREFIX)/share/man/man1/bertc.1 $(addprefix $(DESTDIR)$(PREFIX)/include/,$(notdir $(HEADERS)))
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/bertc

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(EVAL_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(DEFAULT_OBJ:.o=.d)
