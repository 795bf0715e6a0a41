#!/usr/bin/env bash
# `npm run fuzz:api`: schemathesis (from PyPI, installed into .intake/venv when missing)
# against the OpenAPI document served by a running fleet, with the fleet's API key.
# Start the fleet first: `npm run up -- --detach`. Fails on any 5xx or any answer that
# does not match the document.
#   INTAKE_FUZZ_URL       base URL (default http://127.0.0.1:${INTAKE_HTTP_PORT:-8080})
#   INTAKE_FUZZ_EXAMPLES  examples per operation (default 100)
#   INTAKE_FUZZ_SPEC      the OpenAPI document to generate from (default: the one the fleet serves)
# Further arguments go to `schemathesis run` (e.g. --seed 1 --max-time 90). `npm test` runs a
# bounded pass with a fixed seed against its e2e fleet (test/e2e/fuzz-api.e2e.test.ts).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${INTAKE_STATE_DIR:-$root/.intake}"
url="${INTAKE_FUZZ_URL:-http://127.0.0.1:${INTAKE_HTTP_PORT:-8080}}"
venv="$root/.intake/venv"
version=4.32.5 # pinned: a seeded run generates the same cases only with the same version
if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null || true)" != *"$version"* ]]; then
  echo "fuzz:api: installing schemathesis $version into $venv (pip) ..." >&2
  python3 -m venv "$venv" || { echo "fuzz:api: python3 -m venv failed: install python3-venv (Debian)" >&2; exit 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version"
fi
[[ -f "$state/api-key" ]] || { echo "fuzz:api: no $state/api-key: start the fleet with 'npm run up -- --detach'" >&2; exit 1; }
curl -sf "$url/healthz" >/dev/null || { echo "fuzz:api: nothing answers at $url: start the fleet with 'npm run up -- --detach'" >&2; exit 1; }
exec "$venv/bin/schemathesis" run "${INTAKE_FUZZ_SPEC:-$url/openapi.json}" \
  --url "$url" \
  -H "Authorization: Bearer $(cat "$state/api-key")" \
  --checks all \
  --max-examples "${INTAKE_FUZZ_EXAMPLES:-100}" \
  --request-timeout 15 \
  --suppress-health-check all \
  "$@"
