#!/usr/bin/env bash
# `npm test`: the whole suite, in CI order: install/build what is missing -> lint ->
# typecheck -> unit -> disk (LMDB on a full tmpfs) -> integration (starts and stops a real broker on 127.0.0.1:19092)
# -> end to end (starts and stops a real fleet: broker, nginx, 2 edges, 2 workers, on
# ports 29092/28080, so it never collides with a fleet started by `npm run up`) -> fault
# scenarios (a fleet on 24080/25092 broken under load, 20 s each, audited) -> k8s (the
# manifests dry-run against a real kube-apiserver on 127.0.0.1:36443, infra/k8s/cluster.sh)
# -> containers (the images and docker-compose.yml: nginx 127.0.0.1:38080, Kafka 39092;
# installs/starts the Docker engine when it can, else SKIPPED loudly; off with
# INTAKE_CONTAINER_TESTS=off).
# The last line sums the test counts of every stage: "tests: N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="$root/.intake/test-results"
stage() { echo; echo "==== $* ===="; }

summary() {
  local code=$?
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

stage "bootstrap (npm packages, build, Kafka jars, nginx)"
bash scripts/bootstrap.sh
rm -rf "$results" && mkdir -p "$results"
trap summary EXIT
stage "lint"
npx eslint . || { echo "lint failed: run 'npm run format', then fix what remains"; exit 1; }
npx prettier --check . >/dev/null || { echo "formatting differs: run 'npm run format'"; exit 1; }
stage "typecheck (the code, the browser tracker, and the k6 scripts against @types/k6)"
npm run --silent typecheck
for project in unit disk integration e2e faults k8s; do
  stage "$project tests"
  npx jest --selectProjects "$project" --runInBand --json --outputFile="$results/$project.json"
done
stage "containers tests"
if [[ "${INTAKE_CONTAINER_TESTS:-auto}" == off ]]; then
  echo "containers: SKIPPED (INTAKE_CONTAINER_TESTS=off)"
elif ! engine_problem="$(bash scripts/test-containers.sh --engine-only 2>&1)"; then
  echo "##################################################################"
  echo "## containers: SKIPPED: no Docker engine could be started:"
  echo "$engine_problem" | sed 's/^/##   /'
  echo "##################################################################"
else
  npx jest --selectProjects containers --runInBand --json --outputFile="$results/containers.json"
fi
