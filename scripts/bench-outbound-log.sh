#!/usr/bin/env bash
# `npm run bench:outbound-log`: the store comparison needs better-sqlite3, which compiles
# from source where its prebuilt binaries cannot be downloaded (~1 min): installed here,
# on demand, rather than slowing every `npm ci` of the project.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
if ! node -e "require('better-sqlite3')" 2>/dev/null; then
  echo "bench: installing better-sqlite3 for the comparison (not saved) ..." >&2
  npm install --no-save --no-audit --no-fund --loglevel=error better-sqlite3@12 >&2
fi
exec node dist/bench/outbound-log-stores.js "$@"
