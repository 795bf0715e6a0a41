#!/usr/bin/env bash
# Installs what the fleet and the tests need, when it is missing, and builds:
#   - npm packages (npm ci, when node_modules is missing or older than package-lock.json)
#   - the TypeScript build (tsc, incremental)
#   - Apache Kafka's jars from Maven Central (infra/kafka/kafka.sh fetch, cached)
#   - nginx from Debian (apt-get, when running as root; otherwise a clear message), and its
#     stream module (libnginx-mod-stream: the fleet's one-way UDP through nginx)
#   - Python's venv module (python3-venv from Debian, likewise): `npm test`'s API fuzz pass
#     installs schemathesis into .intake/venv (scripts/fuzz-api.sh)
#   - Chromium from Debian for the browser tests (scripts/install-chromium.sh; without it
#     those tests are skipped with a message)
#   - vegeta from the Go module proxy for the load smoke test (scripts/install-vegeta.sh)
# Each step is a no-op when its result is already there. Chromium and vegeta are optional
# on a developer's machine (their tests are then SKIPPED, loudly); under CI=true (or CI=1)
# a failure to install either fails this script: on CI it is an install regression, and a
# skip would hide the checks. INTAKE_FORCE_INSTALL_FAIL=chromium,vegeta fails those steps on
# purpose (test/support/components.ts).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { echo "intake: $*" >&2; }

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" == 20 ]] || say "warning: Node $node_major found; Intake is built and tested on Node 20"
command -v java >/dev/null || { say "Java 17+ is needed for the Kafka broker: apt-get install openjdk-17-jre-headless"; exit 1; }

stamp="node_modules/.intake-lock-stamp"
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
  say "installing npm packages (npm ci) ..."
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

if [[ ! -f dist/.build-stamp || ! -f dist/clients/browser/intake.js ]] || [[ -n "$(find lib services clients bench test/faults/tcp-fault-proxy.ts test/load tsconfig.json tsconfig.build.json package.json -newer dist/.build-stamp -print -quit)" ]]; then
  say "building (tsc, and the browser tracker with esbuild) ..."
  npx tsc -p tsconfig.build.json
  npm run --silent build:tracker
  touch dist/.build-stamp
fi

infra/kafka/kafka.sh fetch

if ! [[ -x /usr/sbin/nginx || -x /usr/local/sbin/nginx || -x /usr/bin/nginx ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "installing nginx from Debian (apt-get install nginx-light) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends nginx-light >&2 \
      || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends nginx-light >&2; }
    # Debian starts its own nginx on port 80; the fleet runs its own instance.
    (command -v systemctl >/dev/null && systemctl disable --now nginx >/dev/null 2>&1) || true
    (service nginx stop >/dev/null 2>&1) || true
  else
    say "nginx is missing: install it with 'sudo apt-get install nginx-light' and run this again"
    exit 1
  fi
fi

nginx_bin=""
for candidate in /usr/sbin/nginx /usr/local/sbin/nginx /usr/bin/nginx; do
  [[ -x "$candidate" ]] && { nginx_bin="$candidate"; break; }
done
stream_module=""
for candidate in /usr/lib/nginx/modules/ngx_stream_module.so \
  /usr/share/nginx/modules/ngx_stream_module.so /usr/lib64/nginx/modules/ngx_stream_module.so; do
  [[ -f "$candidate" ]] && stream_module="$candidate"
done
if ! "$nginx_bin" -V 2>&1 | grep -qE -- '--with-stream( |$)' && [[ -z "$stream_module" ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "installing nginx's stream module (apt-get install libnginx-mod-stream) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends libnginx-mod-stream >&2 \
      || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends libnginx-mod-stream >&2; }
  else
    say "nginx's stream module is missing (one-way UDP): 'sudo apt-get install libnginx-mod-stream'"
    exit 1
  fi
fi

if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Python 3 with its venv module (apt-get install python3-venv) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends python3-venv >&2 \
      || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends python3-venv >&2; }
  else
    say "Python 3 with venv is missing (the API fuzz test needs it): 'sudo apt-get install python3-venv'"
    exit 1
  fi
fi

# optional NAME SCRIPT TESTS: runs the install script; when it fails, fails under CI and
# warns elsewhere (TESTS are then skipped, loudly).
optional() {
  bash "$2" && return 0
  if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then
    say "error: $1 could not be installed (bash $2 failed, see above) and CI is set: $3 would be skipped; failing"
    exit 1
  fi
  say "warning: $1 could not be installed (bash $2 failed, see above); $3 will be SKIPPED"
}

# vegeta: the load generator of the load tests (test/load/) and the benchmarks.
optional vegeta scripts/install-vegeta.sh "the load smoke test"
# chromium: the real browser of the browser tests (test/e2e/browser.e2e.test.ts).
optional chromium scripts/install-chromium.sh "the browser tests"
