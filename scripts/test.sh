#!/usr/bin/env bash
# `npm test`: the whole suite, in CI order: install/build what is missing -> lint ->
# typecheck -> unit -> integration (starts and stops a real broker on 127.0.0.1:19092)
# -> end to end (starts and stops a real fleet: broker, nginx, 2 edges, 2 workers, on
# ports 29092/28080 so it never collides with a fleet started by `npm run up`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stage() { echo; echo "==== $* ===="; }

stage "bootstrap (npm packages, build, Kafka jars, nginx)"
bash scripts/bootstrap.sh
stage "lint"
npx eslint . && npx prettier --check . >/dev/null || { echo "lint failed: run 'npm run format'"; exit 1; }
stage "typecheck"
npx tsc -p tsconfig.json --noEmit
stage "unit tests"
npx jest --selectProjects unit
stage "integration tests (real broker)"
npx jest --selectProjects integration --runInBand
stage "end-to-end tests (real fleet)"
npx jest --selectProjects e2e --runInBand
