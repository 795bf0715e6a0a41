#!/usr/bin/env bash
# `npm test`: the whole suite, in CI order: install/build what is missing -> lint ->
# typecheck -> unit -> disk (LMDB on a full tmpfs) -> integration (starts and stops a real broker on 127.0.0.1:19092)
# -> end to end (starts and stops a real fleet: broker, nginx, 2 edges, 2 workers, on
# ports 29092/28080, so it never collides with a fleet started by `npm run up`) -> fault
# scenarios (a fleet on 24080/25092 broken under load, 20 s each, audited)
# -> containers (the images and docker-compose.yml: nginx 127.0.0.1:38080, Kafka 39092;
# installs/starts the Docker engine when it can, else SKIPPED loudly, or FAILS under
# CI=true; off with INTAKE_CONTAINER_TESTS=off).
# A component a stage needs (Chromium, vegeta, a tmpfs, the Docker engine) that cannot be
# installed or started fails the run under CI=true (or CI=1), with the reason and the
# command that installs it; elsewhere its tests are skipped, loudly.
# The summary lists each stage's duration and the total, then sums the test counts of every
# stage: "tests: N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="$root/.intake/test-results"
# Thousands of producers' connections: the test fleets' processes inherit this descriptor limit
# (nginx raises its own, infra/nginx/nginx.conf.tmpl).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ci() { [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; }

# stage NAME [WHAT]: ends the stage before (its duration goes to the summary), starts NAME.
durations=()
stage_name=""
stage_started=0
end_stage() {
  [[ -n "$stage_name" ]] || return 0
  local s=$((SECONDS - stage_started))
  durations+=("$(printf '  %-12s %3dm%02ds' "$stage_name" $((s / 60)) $((s % 60)))")
  stage_name=""
}
stage() {
  end_stage
  echo
  echo "==== $1${2:+ ($2)} ===="
  stage_name="$1"
  stage_started=$SECONDS
}

summary() {
  local code=$?
  end_stage
  echo
  echo "stage durations:"
  printf '%s\n' "${durations[@]}"
  printf '  %-12s %3dm%02ds\n' total $((SECONDS / 60)) $((SECONDS % 60))
  node -e '
    const fs = require("fs"), path = require("path"), dir = process.argv[1];
    let passed = 0, failed = 0;
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const r = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
    }
    console.log(`\ntests: ${passed} passed, ${failed} failed`);
  ' "$results" || true
  [[ $code == 0 ]] || echo "npm test FAILED (exit $code); see the stage above"
  exit $code
}

rm -rf "$results" && mkdir -p "$results"
trap summary EXIT
stage bootstrap "npm packages, build, Kafka jars, nginx, chromium, vegeta"
bash scripts/bootstrap.sh
stage lint
npx eslint . || { echo "lint failed: run 'npm run format', then fix what remains"; exit 1; }
npx prettier --check . >/dev/null || { echo "formatting differs: run 'npm run format'"; exit 1; }
stage typecheck "the code, the browser tracker, and the k6 scripts against @types/k6"
npm run --silent typecheck
for project in unit disk integration e2e faults; do
  stage "$project" tests
  npx jest --selectProjects "$project" --runInBand --json --outputFile="$results/$project.json"
done
stage containers tests
if [[ "${INTAKE_CONTAINER_TESTS:-auto}" == off ]]; then
  echo "containers: SKIPPED (INTAKE_CONTAINER_TESTS=off)"
elif ! engine_problem="$(bash scripts/test-containers.sh --engine-only 2>&1)"; then
  if ci; then
    echo "containers: FAILED: no Docker engine could be started, and CI is set:"
    echo "$engine_problem" | sed 's/^/  /'
    echo "  install and start it with: bash scripts/test-containers.sh --engine-only (as root)"
    exit 1
  fi
  echo "##################################################################"
  echo "## containers: SKIPPED: no Docker engine could be started:"
  echo "$engine_problem" | sed 's/^/##   /'
  echo "##################################################################"
else
  npx jest --selectProjects containers --runInBand --json --outputFile="$results/containers.json"
fi
