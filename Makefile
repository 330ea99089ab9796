# tenancy: PGXS build, plus the two commands (make demo, make test).
#
#   make / make install     build and install into the pg_config below
#   make installcheck       pg_regress + isolation suites against $PGHOST
#   make demo               install what is missing, build, start a throwaway
#                           cluster, walk through a multi-tenant scenario
#   make test               the same set-up, then every suite
#   make bench              benchmarks in test/bench (figures, not assertions)
#   make valgrind           the C-heavy suites under valgrind memcheck
#   make fuzz               libFuzzer on the ciphertext parser (FUZZ_SECONDS=600)

PG_CONFIG  ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && \
                echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)

EXTENSION   = tenancy
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" tenancy.control)
MODULE_big  = tenancy
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA        = $(wildcard sql/updates/*.sql)
DATA_built  = sql/tenancy--$(EXTVERSION).sql
SHLIB_LINK += -lcrypto
PG_CFLAGS  += -Wall -Wmissing-prototypes -Wpointer-arith -Werror=vla \
              -Wimplicit-fallthrough=3 -Wformat-security

REGRESS      = setup catalog context rls crypto partition audit
REGRESS_OPTS = --inputdir=.
ISOLATION      = context_invalidation create_tenant_race key_destruction audit_seal isolate_readers
ISOLATION_OPTS = --inputdir=test/concurrency

EXTRA_CLEAN = sql/tenancy--$(EXTVERSION).sql output_iso

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/tenancy--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

.PHONY: demo test bench valgrind fuzz deps check-meta
deps:
	@test/lib/deps.sh

demo:
	@test/lib/run.sh demo

test:
	@test/lib/run.sh test

bench:
	@test/lib/run.sh bench

check-meta:
	@test/lib/check-meta.sh

valgrind:
	@test/lib/run.sh valgrind

fuzz:
	@test/lib/run.sh fuzz
