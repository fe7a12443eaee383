#!/usr/bin/env bash
# Runs the whole test suite: brings up the database the tests need, then vet, gofmt check,
# and every package under the race detector. Used by `make test` and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-mariadb.sh

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

go vet ./...
go test -race -count=1 -timeout 12m ./...

if [ -f examples/go.mod ]; then
  (cd examples && go vet ./... && go test -race -count=1 -timeout 10m ./...)
fi
