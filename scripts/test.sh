#!/usr/bin/env bash
# `npm test`: the whole suite: install/build what is missing -> lint (typecheck beside it:
# the code, the browser tracker, the k6 scripts) -> unit -> disk (LMDB on a full tmpfs)
# -> integration (starts and stops a real broker on 127.0.0.1:19092) -> end to end (starts
# and stops a real fleet: broker, nginx, 2 edges, 2 workers, on ports 29092/28080, so it
# never collides with a fleet started by `npm run up`) -> k8s (the manifests dry-run
# against a real kube-apiserver on 127.0.0.1:23443, infra/k8s/cluster.sh) -> containers (the images and
# docker-compose.yml, its ports moved to nginx 127.0.0.1:23080, Kafka 23092; installs/starts the Docker engine
# when it can, else SKIPPED loudly, or FAILS under CI=true; off with
# INTAKE_CONTAINER_TESTS=off).
# The fault scenarios (fleets on 24080/25092 and 27080/27092-27094 broken under load, 20 s
# each, audited) run in the background once the unit stage passed, in two runs on fleets of
# their own (faults, and faults-b: the three-broker and HML files, ports shifted by 10),
# beside the stages after it: they bind ports of their own, and most of their time is
# waiting on a fault, not CPU.
# A background stage's output goes to .intake/test-logs/NAME.log, shown in full when it
# fails; a failed background stage fails `npm test`.
# A component a stage needs (Chromium, vegeta, a tmpfs, the Docker engine) that cannot be
# installed or started fails the run under CI=true (or CI=1), with the reason and the
# command that installs it; elsewhere its tests are skipped, loudly.
# The summary lists each stage's duration and the total, then sums the test counts of every
# stage: "tests: N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="$root/.intake/test-results"
logs="$root/.intake/test-logs"
# Thousands of producers' connections: the test fleets' processes inherit this descriptor limit
# (nginx raises its own, infra/nginx/nginx.conf.tmpl).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ci() { [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; }
duration() { printf '  %-16s %3dm%02ds%s' "$1" $(($2 / 60)) $(($2 % 60)) "${3:-}"; }

# stage NAME [WHAT]: ends the stage before (its duration goes to the summary), starts NAME.
durations=()
stage_name=""
stage_started=0
end_stage() {
  [[ -n "$stage_name" ]] || return 0
  durations+=("$(duration "$stage_name" $((SECONDS - stage_started)))")
  stage_name=""
}
stage() {
  end_stage
  echo
  echo "==== $1${2:+ ($2)} ===="
  stage_name="$1"
  stage_started=$SECONDS
}

# background NAME COMMAND...: runs a stage beside the next ones, its output in its log.
background_pids=()
background_names=()
background() {
  local name=$1
  shift
  echo
  echo "==== $name: started in the background (log: ${logs#"$root"/}/$name.log) ===="
  (
    started=$(date +%s)
    code=0
    "$@" >"$logs/$name.log" 2>&1 || code=$?
    echo $(($(date +%s) - started)) >"$logs/$name.seconds"
    exit $code
  ) &
  background_pids+=($!)
  background_names+=("$name")
}
# Waits for every background stage; shows the end of each log (all of a failed one's).
join_background() {
  local i code name failed=0
  for i in "${!background_pids[@]}"; do
    name=${background_names[$i]}
    code=0
    wait "${background_pids[$i]}" || code=$?
    durations+=("$(duration "$name" "$(cat "$logs/$name.seconds" 2>/dev/null || echo 0)" ' (in the background)')")
    echo
    if ((code == 0)); then
      echo "==== $name (background) passed; the end of its log: ===="
      tail -n 12 "$logs/$name.log"
    else
      echo "==== $name (background) FAILED (exit $code); its log: ===="
      cat "$logs/$name.log"
      failed=1
    fi
  done
  background_pids=()
  background_names=()
  return $failed
}

summary() {
  local code=$?
  end_stage
  if ((${#background_pids[@]} > 0)); then
    echo "(waiting for the stages still running in the background: ${background_names[*]})"
    join_background || code=1
  fi
  echo
  echo "stage durations:"
  printf '%s\n' "${durations[@]}"
  duration total $SECONDS $'\n'
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

# A jest run's bound (its usual time is under half of it): a run that hangs (a test past its
# own timeout still at work, a handle left open) fails its stage instead of holding `npm test`.
# --forceExit: once the results are written, handles left open do not keep jest alive.
stage_limit=${INTAKE_STAGE_LIMIT:-40m}
jest_stage() { # PROJECT [NAME [JEST ARGS...]]: one jest run, its results in $results/NAME.json
  local project=$1 name=${2:-$1} code=0
  shift $(($# < 2 ? $# : 2))
  timeout --kill-after=30s "$stage_limit" npx jest --selectProjects "$project" --runInBand --forceExit \
    --json --outputFile="$results/$name.json" "$@" || code=$?
  if ((code == 124 || code == 137)); then
    echo "$name: stopped after $stage_limit, the bound of a jest run (INTAKE_STAGE_LIMIT): a test hung;"
    echo "  run it alone to see where: npx jest --selectProjects $project --runInBand $*"
  fi
  return $code
}
# The fault scenarios in two runs side by side, each with a fault fleet of its own: the
# second (ports shifted 10 further than INTAKE_TEST_PORT_OFFSET, which moves the whole
# suite) takes the three-broker file (which starts a three-broker fleet too) and the HML
# file, about half of the scenarios' time.
split='test/faults/(brokers3|hml)\.faults'
faults() { jest_stage faults faults --testPathIgnorePatterns "$split"; }
faults_b() { INTAKE_TEST_PORT_OFFSET=$((${INTAKE_TEST_PORT_OFFSET:-0} + 10)) jest_stage faults faults-b "$split"; }

rm -rf "$results" "$logs" && mkdir -p "$results" "$logs"
trap summary EXIT
stage bootstrap "npm packages, build, Kafka jars, nginx, chromium, vegeta"
bash scripts/bootstrap.sh
background typecheck npm run --silent typecheck
stage lint
npx eslint . || { echo "lint failed: run 'npm run format', then fix what remains"; exit 1; }
npx prettier --check . >/dev/null || { echo "formatting differs: run 'npm run format'"; exit 1; }
end_stage
join_background
stage unit tests
jest_stage unit
background faults faults
background faults-b faults_b
for project in disk integration e2e k8s; do
  stage "$project" tests
  jest_stage "$project"
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
  jest_stage containers
fi
end_stage
join_background
