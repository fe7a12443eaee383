# Every target works on a fresh machine with Go installed; `make test` also starts
# (or installs) the MariaDB the tests need.
.PHONY: test quickstart bench fuzz vet proptest

test:
	bash scripts/test.sh

quickstart:
	go run -C examples ./quickstart

bench:
	go test -run '^$$' -bench . -benchmem ./...

# FUZZTIME=1m make fuzz runs each decoder fuzz target for that long.
FUZZTIME ?= 30s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

vet:
	go vet ./...

# The long run of the AT rollback-fidelity property test (issue 11):
# PROPSEEDS seeds from PROPFIRST, PROPTXS global transactions each, up to
# PROPSHRINK failures shrunk and printed as SQL. One seed alone:
# ATPROP_SEED=n ATPROP_TXS=k go test -race -count=1 -run TestATRollbackFidelity -v ./internal/atprop
PROPFIRST ?= 1
PROPSEEDS ?= 20
PROPTXS ?= 100
PROPSHRINK ?= 20
proptest:
	ATPROP_FIRST_SEED=$(PROPFIRST) ATPROP_SEEDS=$(PROPSEEDS) ATPROP_TXS=$(PROPTXS) ATPROP_SHRINK=$(PROPSHRINK) \
		go test -count=1 -timeout 3h -run TestATRollbackFidelity -v ./internal/atprop
