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
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Iinclude -pthread
LDLIBS  := -lutf8proc -lcjson -ljansson -lz -lm -pthread

LIB_SRC := $(wildcard src/util/*.c src/io/*.c src/tokenizer/*.c src/model/*.c src/kernels/*.c src/eval/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/embedded.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*.c)
EMBED   := models/sst2-small/config.json models/sst2-small/model.safetensors models/sst2-small/tokenizer.json \
           models/sst2-small/tokenizer_config.json

.PHONY: all test clean bench fuzz
all: $(BUILD)/bertc $(BUILD)/test_bertc

$(BUILD)/libbertc.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/bertc: $(CLI_OBJ) $(BUILD)/libbertc.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDSAN) $(LDLIBS)

$(BUILD)/test_bertc: $(TEST_SRC) tests/test.h $(BUILD)/libbertc.a
	$(CC) $(CFLAGS) -Isrc -o $@ $(TEST_SRC) $(BUILD)/libbertc.a $(LDSAN) $(LDLIBS)

# AVX2/FMA kernels are compiled for that ISA and picked at run time by CPU feature.
$(BUILD)/src/kernels/%_avx2.o: src/kernels/%_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -mavx2 -mfma -mf16c -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/src/embedded.o: src/embedded.S $(EMBED)
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ src/embedded.S

test: all
	$(BUILD)/test_bertc

bench: $(BUILD)/bertc
	bash bench/run.sh

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
