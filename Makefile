# streamview - continuous window aggregates over Kafka topics, inside PostgreSQL
#
# Built with PGXS against Debian's postgresql-server-dev-15 and librdkafka-dev.
#   make && make install      the extension
#   make tools                the local broker, producer and parser test programs
#   make installcheck         pg_regress on a private cluster (test/run-all.sh runs
#                             every test, with its files under one work directory)

EXTENSION = streamview
DATA = sql/streamview--0.1.sql sql/streamview--0.1--0.2.sql
MODULE_big = streamview
OBJS = \
	src/streamview.o \
	src/catalog.o \
	src/schema.o \
	src/functions.o \
	src/kafka.o \
	src/kafka_fetch.o \
	src/parse.o \
	src/parse_text.o \
	src/csv.o \
	src/json.o \
	src/json_path.o \
	src/window.o \
	src/late.o \
	src/hop.o \
	src/sink.o \
	src/launcher.o \
	src/worker.o \
	src/query.o \
	src/eval.o \
	src/aggregate.o \
	src/bulk.o

# Hidden visibility: only what PostgreSQL looks up by name (_PG_init, the
# SQL functions' PG_FUNCTION_INFO_V1 symbols, the workers' entry points, all
# marked PGDLLEXPORT) is exported. Calls between our files are then direct,
# not through the PLT (the parser's are per field), and our internal names
# can neither clash with nor be taken over by another library's (PostgreSQL
# loads libraries RTLD_GLOBAL). PGXS does this itself from 16 on; 15's c.h
# defines PGDLLEXPORT empty unless it is defined already, hence the -D.
PG_CPPFLAGS = -Isrc '-DPGDLLEXPORT=__attribute__((visibility("default")))'
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare \
	-fvisibility=hidden
SHLIB_LINK = -lrdkafka -lpthread

REGRESS = setup config parse_message errors privileges catalog hop views formats
REGRESS_OPTS = --temp-instance=$(REGRESS_TMP) --temp-config=test/regress.conf \
	--dbname=contrib_regression --outputdir=$(REGRESS_OUT)
# Output and the private cluster, per user (root and a sudo user can alternate)
REGRESS_OUT ?= /tmp/streamview-regress-$(shell id -un)
REGRESS_TMP ?= $(REGRESS_OUT)/instance

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on every interface header (PGXS does not track them).
$(OBJS): $(wildcard src/*.h)

# Programs for tests, the demo and the benchmark (not installed).
TOOLS = test/broker/sv_broker test/broker/sv_produce test/parse_test test/csv_test test/json_test \
	test/fetch_test
TOOL_CFLAGS = -std=gnu99 -O2 -g -Wall -Wextra -Werror -Isrc

tools: $(TOOLS)

test/broker/sv_broker: test/broker/sv_broker.c
	$(CC) $(TOOL_CFLAGS) -o $@ $< -lrdkafka -lpthread

test/broker/sv_produce: test/broker/sv_produce.c test/broker/ride_notes.h
	$(CC) $(TOOL_CFLAGS) -o $@ $< -lrdkafka -lpthread

PARSER_SRCS = src/parse.c src/parse_text.c src/csv.c src/json.c src/json_path.c

test/parse_test: test/parse_test.c test/tap.h test/zoomcamp_schema.h $(PARSER_SRCS) src/parse.h src/parse_int.h
	$(CC) $(TOOL_CFLAGS) -o $@ test/parse_test.c $(PARSER_SRCS) -lm

# csv.c's unit test; test/csv_test --bench compares its speed with the delimited format
test/csv_test: test/csv_test.c test/tap.h test/zoomcamp_schema.h $(PARSER_SRCS) src/parse.h src/parse_int.h
	$(CC) $(TOOL_CFLAGS) -o $@ test/csv_test.c $(PARSER_SRCS) -lm

# json.c's unit test
test/json_test: test/json_test.c test/tap.h $(PARSER_SRCS) src/parse.h src/parse_int.h
	$(CC) $(TOOL_CFLAGS) -o $@ test/json_test.c $(PARSER_SRCS) -lm

# kafka_fetch.c's fetch thread against the mock cluster, under AddressSanitizer
# (with PostgreSQL's headers and libpgport, without a server)
test/fetch_test: test/fetch_test.c test/tap.h src/kafka_fetch.c src/kafka_int.h src/kafka.h src/compat.h
	$(CC) -std=gnu99 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
		-Wno-sign-compare -D_GNU_SOURCE -Isrc -I$(shell $(PG_CONFIG) --includedir-server) \
		-o $@ test/fetch_test.c src/kafka_fetch.c \
		$(shell $(PG_CONFIG) --pkglibdir)/libpgport.a -lrdkafka -lpthread

all: tools

# The parser under libFuzzer with AddressSanitizer; FUZZ_SECONDS of fuzzing.
FUZZ_SECONDS ?= 10
test/fuzz/parse_fuzz: test/fuzz/parse_fuzz.c test/zoomcamp_schema.h $(PARSER_SRCS) src/parse.h src/parse_int.h
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o $@ test/fuzz/parse_fuzz.c $(PARSER_SRCS) -lm
test/fuzz/csv_fuzz: test/fuzz/csv_fuzz.c test/zoomcamp_schema.h $(PARSER_SRCS) src/parse.h src/parse_int.h
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o $@ test/fuzz/csv_fuzz.c $(PARSER_SRCS) -lm
test/fuzz/json_fuzz: test/fuzz/json_fuzz.c test/zoomcamp_schema.h $(PARSER_SRCS) src/parse.h src/parse_int.h
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o $@ test/fuzz/json_fuzz.c $(PARSER_SRCS) -lm

# The corpus it grows and its findings (crash-*, ...); test/run-all.sh puts it
# in its work directory.
FUZZ_DIR ?= /tmp/streamview-fuzz-$(shell id -un)
fuzz: test/fuzz/parse_fuzz test/fuzz/csv_fuzz test/fuzz/json_fuzz
	rm -rf $(FUZZ_DIR) && mkdir -p $(FUZZ_DIR)
	test/fuzz/parse_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR) test/fuzz/corpus
	mkdir -p $(FUZZ_DIR)/csv
	test/fuzz/csv_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/csv test/fuzz/corpus-csv
	mkdir -p $(FUZZ_DIR)/json
	test/fuzz/json_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/json test/fuzz/corpus-json

.PHONY: tools fuzz

EXTRA_CLEAN = $(TOOLS) test/fuzz/parse_fuzz test/fuzz/csv_fuzz test/fuzz/json_fuzz
