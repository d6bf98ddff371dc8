# isle — build, run, test. `make help` lists the targets.
#
# One C program (build/isle) plus static web files. SANITIZE=1 builds with
# ASan+UBSan into build/san/ so sanitized and plain objects never mix.

CC      ?= gcc
SANITIZE ?= 0
PKGS    := libevent libevent_pthreads jansson sqlite3 libsodium zlib opencc libpq libcurl libqrencode \
           libcrypto libzip libxml-2.0 poppler-glib xlsxwriter

ifeq ($(SANITIZE),1)
BUILD   := build/san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD   := build
OPT     := -O2 -g
endif

# V=1 shows full compiler command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
CFLAGS  := -std=c17 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
           -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lcsv -lhpdf -lgfshare -lpthread -lm
LDFLAGS := $(OPT)

SRC      := $(shell find src -name '*.c' | sort)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/schema.o \
            $(BUILD)/obj/gen/version.o
MAIN_OBJ := $(BUILD)/obj/src/main.o
SCHEMA   := $(sort $(wildcard src/db/schema/*.sql))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(UNIT_SRC))

.PHONY: FORCE all build run test unit lint bench fuzz clean deps vendor help
all: build

help:
	@echo "make build   - compile build/isle"
	@echo "make run     - install deps, build, create isle.db with demo data if missing, serve :8080"
	@echo "make test    - install deps, build, run unit + API + browser tests"
	@echo "make lint    - clang-format check and banned-function grep"
	@echo "make bench   - HTTP, SSE, search, scale, sealed bids, opening hall, screening, similarity and"
	@echo "               dashboard benchmarks (each prints its figures; see docs/BENCHMARKS.md)"
	@echo "make fuzz    - libFuzzer targets (FUZZ_SECONDS=30 each)"
	@echo "make clean   - remove build/"
	@echo "SANITIZE=1   - build and test with ASan+UBSan"

build: $(BUILD)/isle

$(BUILD)/isle: $(LIB_OBJ) $(MAIN_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -Itests/unit -MMD -MP -c -o $@ $<

# Migrations are compiled into the binary so that `isle` is one file.
$(BUILD)/gen/schema.c: $(SCHEMA) scripts/embed_schema.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed_schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

# The version file is rewritten only when the version changes, so that a new
# commit relinks without recompiling everything.
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char isle_version[] = "$(VERSION)";' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/obj/gen/version.o: $(BUILD)/gen/version.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/gen/schema.o: $(BUILD)/gen/schema.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/unit_tests: $(LIB_OBJ) $(UNIT_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh scripts/deps.sh

vendor: deps
	@sh scripts/vendor.sh

run: deps
	@$(MAKE) --no-print-directory build
	@sh scripts/vendor.sh
	@sh scripts/run.sh $(BUILD)/isle

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

test: deps
	@$(MAKE) --no-print-directory build $(BUILD)/unit_tests
	@sh scripts/vendor.sh
	@ISLE_BIN=$(BUILD)/isle UNIT_BIN=$(BUILD)/unit_tests bash scripts/test.sh

lint:
	@bash scripts/lint.sh

bench: deps
	@sh scripts/deps.sh --bench
	@$(MAKE) --no-print-directory build
	bash bench/http.sh
	bash bench/sse.sh
	bash bench/search-quality.sh
	bash bench/search.sh
	bash bench/scale.sh
	bash bench/cases.sh
	bash bench/dispatch.sh
	bash bench/outbox.sh
	bash bench/bids.sh
	bash bench/opening.sh
	bash bench/screen.sh
	bash bench/screen-quality.sh
	bash bench/similarity.sh
	bash bench/indicators.sh

fuzz:
	@sh scripts/deps.sh --fuzz
	@bash tests/fuzz/run.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
