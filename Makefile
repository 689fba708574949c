# chat: a WebSocket chat server and client on wslay.
# Non-recursive: every object lands in $(BUILD)/obj, binaries in $(BUILD).

VERSION =	0.1.0
PREFIX ?=	/usr/local
BINDIR ?=	$(PREFIX)/bin
MANDIR ?=	$(PREFIX)/share/man
BUILD ?=	build
CC ?=		cc
PKG_CONFIG ?=	pkg-config
WERROR ?=	1
SANITIZE ?=

OBJ =		$(BUILD)/obj

# Debian 12's libwslay-dev ships no .pc file: fall back to -lwslay.
WSLAY_CFLAGS :=	$(shell $(PKG_CONFIG) --cflags libwslay 2>/dev/null)
WSLAY_LIBS :=	$(shell $(PKG_CONFIG) --libs libwslay 2>/dev/null || echo -lwslay)
# Grapheme clusters and their widths (the client's text, client/text.c)
# and the characters a room name may hold (common/codec.c).
UTF8PROC_CFLAGS := $(shell $(PKG_CONFIG) --cflags libutf8proc 2>/dev/null)
UTF8PROC_LIBS := $(shell $(PKG_CONFIG) --libs libutf8proc 2>/dev/null || \
		echo -lutf8proc)
DEP_CFLAGS :=	$(WSLAY_CFLAGS) $(UTF8PROC_CFLAGS) \
		$(shell $(PKG_CONFIG) --cflags openssl jansson ncursesw sqlite3 zlib \
		libsystemd)
COMMON_LIBS :=	$(WSLAY_LIBS) $(shell $(PKG_CONFIG) --libs openssl jansson zlib) \
		$(UTF8PROC_LIBS)
CURSES_LIBS :=	$(shell $(PKG_CONFIG) --libs ncursesw)
# The server's store (SQLite), cluster link (NATS, libnats-dev) and
# service manager (sd_notify, socket activation: libsystemd-dev); only
# the server's objects use them.
SERVER_LIBS :=	$(shell $(PKG_CONFIG) --libs sqlite3 libsystemd) \
		$(shell $(PKG_CONFIG) --libs libnats 2>/dev/null || echo -lnats) \
		-lpthread

WARN =		-Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wwrite-strings -Wpointer-arith -Wundef \
		-Wno-unused-parameter
ifneq ($(WERROR),)
WARN +=		-Werror
endif
ifneq ($(SANITIZE),)
SAN_FLAGS =	-fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
endif
ifneq ($(FUZZ),)
SAN_FLAGS +=	-fsanitize=fuzzer-no-link
endif

FINAL_CFLAGS =	-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
		-DCHAT_VERSION='"$(VERSION)"' -Icommon $(WARN) -O2 -g \
		$(SAN_FLAGS) $(DEP_CFLAGS) $(CFLAGS) $(CPPFLAGS)
FINAL_LDFLAGS =	$(SAN_FLAGS) $(LDFLAGS)

COMMON_SRC :=	$(sort $(wildcard common/*.c))
SERVER_SRC :=	$(sort $(wildcard server/*.c))
CLIENT_SRC :=	$(sort $(wildcard client/*.c))
UNIT_SRC :=	$(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC :=	$(sort $(wildcard tests/tools/*.c))
FUZZ_SRC :=	$(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC :=	$(sort $(wildcard bench/*.c))

# The browser client, compiled into the server (server/web.c).
WEB_SRC :=	$(sort $(wildcard web/*.html web/*.js web/*.css web/*.svg))

COMMON_OBJ :=	$(COMMON_SRC:%.c=$(OBJ)/%.o)
SERVER_OBJ :=	$(SERVER_SRC:%.c=$(OBJ)/%.o) $(OBJ)/web-files.o
CLIENT_OBJ :=	$(CLIENT_SRC:%.c=$(OBJ)/%.o)
# Everything but main.o, so tests link the programs' own code.
SERVER_LIB :=	$(filter-out $(OBJ)/server/main.o,$(SERVER_OBJ))
CLIENT_LIB :=	$(filter-out $(OBJ)/client/main.o,$(CLIENT_OBJ))
UNIT_BIN :=	$(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN :=	$(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)
# Fuzz targets: libFuzzer binaries (make fuzz, clang) and, in every
# build, replay binaries that run the corpus as regression tests.
FUZZ_BIN :=	$(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
REPLAY_BIN :=	$(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)

PROGS :=	$(BUILD)/chat-server
ifneq ($(CLIENT_SRC),)
PROGS +=	$(BUILD)/chat-client
endif
# Not installed: the client side of the frame layer for external
# conformance suites, and the benchmark.
EXTRAS :=
ifneq ($(wildcard tools/ws-echo-client.c),)
EXTRAS +=	$(BUILD)/ws-echo-client
endif
ifneq ($(BENCH_SRC),)
EXTRAS +=	$(BUILD)/chat-bench
endif
MAN1 :=		$(wildcard man/*.1)
MAN7 :=		$(wildcard man/*.7)

.PHONY: all check test-bins bench bench-compare fuzz fuzz-bins lint install \
	uninstall clean
.DELETE_ON_ERROR:

all: $(PROGS) $(EXTRAS)

$(BUILD)/chat-server: $(SERVER_OBJ) $(COMMON_OBJ)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(COMMON_LIBS) -lm

$(BUILD)/chat-client: $(CLIENT_OBJ) $(COMMON_OBJ)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(CURSES_LIBS) $(COMMON_LIBS) -lm

$(BUILD)/ws-echo-client: $(OBJ)/tools/ws-echo-client.o $(COMMON_OBJ)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(COMMON_LIBS) -lm

$(BUILD)/chat-bench: $(BENCH_SRC:%.c=$(OBJ)/%.o) $(COMMON_OBJ)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(COMMON_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(SERVER_LIB) $(CLIENT_LIB) $(COMMON_OBJ) \
    $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(FINAL_CFLAGS) -Itests/unit -Iserver -Iclient $(FINAL_LDFLAGS) \
	    -o $@ $< $(SERVER_LIB) $(CLIENT_LIB) $(COMMON_OBJ) \
	    $(CURSES_LIBS) $(SERVER_LIBS) $(COMMON_LIBS) -lm

$(BUILD)/tests/%: tests/tools/%.c $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $< $(COMMON_OBJ) \
	    $(COMMON_LIBS) -lm

$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(SERVER_LIB) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(FINAL_CFLAGS) -Iserver $(FINAL_LDFLAGS) -o $@ $< \
	    tests/fuzz/replay.c $(SERVER_LIB) $(COMMON_OBJ) $(SERVER_LIBS) \
	    $(COMMON_LIBS) -lm

$(BUILD)/fuzz/%: tests/fuzz/%.c $(SERVER_LIB) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(FINAL_CFLAGS) -Iserver $(FINAL_LDFLAGS) -fsanitize=fuzzer \
	    -o $@ $< $(SERVER_LIB) $(COMMON_OBJ) $(SERVER_LIBS) $(COMMON_LIBS) -lm

# libFuzzer needs clang; objects are instrumented, so they live apart.
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SANITIZE=1 FUZZ=1 fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(FINAL_CFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/web-files.c: $(WEB_SRC) scripts/embed
	@mkdir -p $(@D)
	sh scripts/embed $(WEB_SRC) > $@

$(OBJ)/web-files.o: $(OBJ)/web-files.c server/web.h
	$(CC) $(FINAL_CFLAGS) -Iserver -c -o $@ $<

test-bins: $(PROGS) $(EXTRAS) $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)

check: test-bins
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) sh tests/run

# Starts its own server; prints a table.  See bench/README.md.
bench: all
	BUILD=$(BUILD) sh bench/run

# Ours next to the seed (FastAPI), Node.js ws and uWebSockets.
bench-compare: all
	BUILD=$(BUILD) bench/compare

lint:
	mandoc -Tlint -Wwarning $(MAN1) $(MAN7)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/

uninstall:
	for f in $(notdir $(PROGS)); do rm -f $(DESTDIR)$(BINDIR)/$$f; done
	for f in $(notdir $(MAN1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$f; done
	for f in $(notdir $(MAN7)); do rm -f $(DESTDIR)$(MANDIR)/man7/$$f; done

clean:
	rm -rf $(BUILD) build-asan build-fuzz

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
