# StreamHub - root Makefile.
#   make            build the server, the plugins and the web app
#   make run        install what is missing, build, start PostgreSQL + Redis under var/, serve :3000
#   make test       the same set-up on private ports, then every suite; last line "N passed, N failed"
#   make test-unit  only the cmocka unit tests (no services)
#   make install    PREFIX=/usr/local: binary, plugins, SDK headers, streamhub-sdk.pc
#   make fuzz       libFuzzer targets with clang (build/fuzz/)
#   make bench      benchmarks (see docs/BENCHMARKS.md)
# Options: SANITIZE=1 (ASan+UBSan build in build-san/), WERROR=1 (default when CI is set).

PREFIX ?= /usr/local
CC ?= gcc
SANITIZE ?=
BUILD := $(if $(SANITIZE),build-san,build)
WERROR ?= $(if $(CI),1,)

PKGS := libevent evhtp libpq hiredis json-c yaml-0.1 libssl libcrypto libjwt libavformat libavcodec libavutil libswscale libcrypt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wformat=2 -Wno-unused-parameter $(if $(WERROR),-Werror,)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN := $(if $(SANITIZE),$(SAN_FLAGS))
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(SAN) -I. -Isdk/include $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -ldl -lpthread -lm

CORE_SRC := $(sort $(wildcard core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)

PLUGINS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/plugin.mk)))))
PLUGIN_SO := $(PLUGINS:%=$(BUILD)/plugins/%.so)
TEST_PLUGIN_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard tests/plugins/*/*.c))))
TEST_PLUGIN_SO := $(TEST_PLUGIN_DIRS:tests/plugins/%=$(BUILD)/test-plugins/%.so)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
ITEST_SRC := $(sort $(wildcard tests/integration/test_*.c))
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=build/fuzz/%)

.PHONY: all server plugins test-plugins tests web deps run test test-unit install clean fuzz bench format
all: server plugins web

server: $(BUILD)/streamhub
plugins: $(PLUGIN_SO)
test-plugins: $(TEST_PLUGIN_SO)
tests: $(UNIT_BIN) $(ITEST_BIN) $(REPLAY_BIN) test-plugins

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/streamhub: $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -rdynamic -o $@ $(CORE_OBJ) $(LDLIBS)

$(BUILD)/tools/embed_sql: tools/embed_sql.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -o $@ $<

# Each plugin: plugins/<name>/plugin.mk may set <name>_LIBS; all .c files of the folder (not
# tests) are compiled; migrations/*.sql are embedded as <name>_migrations[].
define PLUGIN_RULES
$(1)_SRC := $$(sort $$(wildcard plugins/$(1)/*.c))
$(1)_SQL := $$(sort $$(wildcard plugins/$(1)/migrations/*.sql))
$(1)_OBJ := $$($(1)_SRC:%.c=$(BUILD)/obj/%.o) $$(if $$($(1)_SQL),$(BUILD)/obj/gen/$(1)_migrations.o,)
include plugins/$(1)/plugin.mk
$(BUILD)/gen/$(1)_migrations.c: $$($(1)_SQL) $(BUILD)/tools/embed_sql
	@mkdir -p $$(dir $$@)
	$(BUILD)/tools/embed_sql $(1)_migrations $$@ $$($(1)_SQL)
$(BUILD)/obj/gen/$(1)_migrations.o: $(BUILD)/gen/$(1)_migrations.c
	@mkdir -p $$(dir $$@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $$< -o $$@
$(BUILD)/plugins/$(1).so: $$($(1)_OBJ)
	@mkdir -p $$(dir $$@)
	$(CC) $(ALL_CFLAGS) -shared -fvisibility=hidden -Wl,--as-needed -o $$@ $$($(1)_OBJ) $$($(1)_LIBS) $(LDLIBS)
	chmod go-w $$@
endef
$(foreach p,$(PLUGINS),$(eval $(call PLUGIN_RULES,$(p))))

# Plugin objects are hidden except the entry point.
$(BUILD)/obj/plugins/%.o: plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

.SECONDEXPANSION:
# Fixture and test-only plugins: tests/plugins/<name>/*.c -> <name>.so
$(BUILD)/test-plugins/%.so: $$(wildcard tests/plugins/%/*.c) $(wildcard sdk/include/streamhub/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/plugins/$* -shared -fPIC -fvisibility=hidden -o $@ $(wildcard tests/plugins/$*/*.c) $(LDLIBS)
	chmod go-w $@

$(BUILD)/tests/unit/%: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -MMD -MP -o $@ $< -Isdk/fakehost $(LDLIBS) -lcmocka

$(BUILD)/tests/integration/%: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -MMD -MP -o $@ $< $(LDLIBS) -lcmocka

# The target is compiled alone (so -MMD records every file it includes), then linked with the replayer.
$(BUILD)/fuzzobj/%.o: tests/fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -MMD -MP -c $< -o $@

$(BUILD)/tests/replay/%: $(BUILD)/fuzzobj/%.o tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -o $@ $^ $(LDLIBS)

build/fuzz/%: tests/fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -Isdk/include $(PKG_CFLAGS) -o $@ $< $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@echo "run one: build/fuzz/NAME -max_total_time=60 tests/fuzz/corpus/NAME"

web:
	@if [ -f web/package.json ]; then tools/build-web.sh; fi

deps:
	@tools/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@tools/run.sh

test: deps
	@SANITIZE=$(SANITIZE) tools/test.sh

test-unit: $(UNIT_BIN) $(REPLAY_BIN)
	@SANITIZE=$(SANITIZE) tools/test.sh --unit-only

bench: deps
	@if [ -x bench/run.sh ]; then bench/run.sh $(B); else echo "no benchmarks yet"; fi

install: server plugins
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/streamhub/plugins $(DESTDIR)$(PREFIX)/include/streamhub \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/streamhub
	install -m 755 $(BUILD)/streamhub $(DESTDIR)$(PREFIX)/bin/streamhub
	$(if $(PLUGIN_SO),install -m 755 $(PLUGIN_SO) $(DESTDIR)$(PREFIX)/lib/streamhub/plugins/,true)
	install -m 644 sdk/include/streamhub/*.h $(DESTDIR)$(PREFIX)/include/streamhub/
	$(if $(wildcard sdk/fakehost/*.c),install -m 644 sdk/fakehost/*.c sdk/fakehost/*.h $(DESTDIR)$(PREFIX)/share/streamhub/,true)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define SH_VERSION_STRING "\(.*\)"/\1/p' sdk/include/streamhub/streamhub.h)|g' \
	  sdk/streamhub-sdk.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/streamhub-sdk.pc

format:
	clang-format -i $(CORE_SRC) core/*.h sdk/include/streamhub/*.h

clean:
	rm -rf build build-san web/dist

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
