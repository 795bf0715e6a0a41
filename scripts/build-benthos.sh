#!/usr/bin/env bash
# Builds the benchmark's peer, Benthos v4.27.0 (github.com/benthosdev/benthos/v4, MIT, one
# of the last releases before the project split), into .intake/bin/benthos, once. Only the
# components the benchmark uses are linked in (bench/peer/benthos/main.go: io, pure, kafka).
# `go install .../cmd/benthos@v4.27.0` is refused by the module proxy here (it will not list
# the versions), so a tiny module pins the release in bench/peer/benthos/go.mod instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/bench/peer/benthos"
bin="$root/.intake/bin/benthos"
if [[ -x "$bin" && "$bin" -nt "$src/main.go" && "$bin" -nt "$src/go.mod" && "$bin" -nt "$src/go.sum" ]]; then
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "intake: the benchmark's peer (Benthos) is built with Go (1.22+), which is missing: install Go (https://go.dev/dl/)" >&2
  exit 1
fi
echo "intake: building Benthos v4.27.0 (once, ~1 min) into .intake/bin/ ..." >&2
mkdir -p "$(dirname "$bin")"
(cd "$src" && go build -buildvcs=false -trimpath -o "$bin.$$.tmp" . && mv "$bin.$$.tmp" "$bin")
