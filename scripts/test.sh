#!/usr/bin/env bash
# Runs the whole test suite: brings up the database the tests need, then vet, gofmt check,
# and every package under the race detector. Used by `make test` and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-mariadb.sh

# The race detector needs cgo, hence a C compiler.
if ! command -v "$(go env CC)" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing gcc with apt (go test -race needs cgo)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq gcc libc6-dev >/dev/null
  else
    echo "test.sh: go test -race needs a C compiler; install gcc (Debian/Ubuntu: sudo apt-get install -y gcc)" >&2
    exit 1
  fi
fi
export CGO_ENABLED=1

# The admin console's browser test drives a headless Chromium (Debian's
# package). Without one it is skipped, except in CI (CI=true), where it fails.
if [ -z "${ATCC_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing chromium with apt (the admin console's browser test)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
  else
    echo "test.sh: the admin console's browser test needs chromium (Debian/Ubuntu: sudo apt-get install -y chromium, or set ATCC_CHROMIUM)" >&2
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

go vet ./...
go test -race -count=1 -timeout 12m ./...

# Without the race detector, which changes allocation counts and so makes
# the allocation tests (rpc/protocol) skip: those tests, and every
# benchmark once, so that none of them rots. One build for both.
# Their output is kept for a failure: benchmark lines are noise here.
out=$(mktemp)
if ! go test -count=1 -timeout 5m -run 'Alloc' -bench . -benchtime=1x ./... >"$out" 2>&1; then
  cat "$out" >&2
  rm -f "$out"
  exit 1
fi
grep -E '^(ok|FAIL)' "$out" | sed 's/^/no race: /' || true
rm -f "$out"

if [ -f examples/go.mod ]; then
  (cd examples && go vet ./... && go test -race -count=1 -timeout 10m ./...)
fi
