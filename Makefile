# Every target works on a fresh machine with Go installed; `make test` also starts
# (or installs) the MariaDB the tests need.
.PHONY: test quickstart bench fuzz vet

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
