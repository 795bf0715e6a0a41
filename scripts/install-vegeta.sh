#!/usr/bin/env bash
# Installs vegeta (github.com/tsenart/vegeta, MIT: an HTTP load generator with an open
# model, i.e. a constant arrival rate) into .intake/bin/vegeta from the Go module proxy,
# once. The load tests (test/load/) and `npm run bench` use it. k6 is not used here (AGPL).
# Exits non-zero with a clear message when Go is missing.
# INTAKE_FORCE_INSTALL_FAIL=vegeta makes it fail as if the install had failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ",${INTAKE_FORCE_INSTALL_FAIL:-}," == *,vegeta,* ]]; then
  echo "intake: vegeta: install failed on purpose (INTAKE_FORCE_INSTALL_FAIL names vegeta)" >&2
  exit 1
fi
version="v12.13.0"
bin="$root/.intake/bin/vegeta"
[[ -x "$bin" ]] && exit 0
if ! command -v go >/dev/null; then
  echo "intake: vegeta is needed by the load tests and the benchmarks, and Go (1.22+) is missing to build it:" >&2
  echo "intake:   install Go (https://go.dev/dl/), then run scripts/install-vegeta.sh again" >&2
  exit 1
fi
echo "intake: installing vegeta $version (go install, once) into .intake/bin/ ..." >&2
mkdir -p "$root/.intake/bin"
GOBIN="$root/.intake/bin" go install "github.com/tsenart/vegeta/v12@$version" >&2
