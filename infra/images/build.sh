#!/usr/bin/env bash
# Builds Intake's images (tag: the package.json version, 0.1.0):
#   intake/edge, intake/worker, intake/puller, intake/demo-upstream, intake/topic-init
#       one multi-stage build (node-service.Dockerfile), one target per service
#   intake/kafka   (kafka.Dockerfile; jars from `infra/kafka/kafka.sh fetch`, staged into
#                   .intake/kafka-libs/ for the build context)
#   intake/nginx   (nginx.Dockerfile)
# The base images come from a registry, or from infra/images/build-base.sh (run it first
# where none is reachable; `--base` here runs it for you).
#
#   infra/images/build.sh [--base]
#
# Environment (optional): INTAKE_IMAGE_TAG (default: the package.json version);
# INTAKE_EXTRA_CA_CERTS (PEM text for `npm ci` behind a TLS-intercepting proxy; by
# default the certificates of /usr/local/share/ca-certificates/ when there are any).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
say() { echo "build: $*" >&2; }
tag="${INTAKE_IMAGE_TAG:-$(node -p 'require("./package.json").version')}"
export DOCKER_BUILDKIT=0 # the engine from Debian has no buildx; the legacy builder is enough

[[ "${1:-}" == --base ]] && bash "$here/build-base.sh"

# Kafka's jars into the build context (a no-op copy when unchanged).
infra/kafka/kafka.sh fetch
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' infra/kafka/pom.xml)"
libs="${INTAKE_CACHE:-$HOME/.cache/intake}/kafka-$version/libs"
rm -rf .intake/kafka-libs && mkdir -p .intake/kafka-libs && cp "$libs"/*.jar .intake/kafka-libs/

if [[ -z "${INTAKE_EXTRA_CA_CERTS+x}" ]] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  INTAKE_EXTRA_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt)"
fi

build() { # NAME ARGS...
  local name="$1" started=$SECONDS; shift
  docker build -q -t "intake/$name:$tag" "$@" . >/dev/null 2>"$root/.intake/build-$name.log" \
    || { cat "$root/.intake/build-$name.log" >&2; say "building intake/$name failed"; exit 1; }
  say "intake/$name:$tag ($((SECONDS - started)) s)"
}
for target in edge worker puller demo-upstream topic-init; do
  build "$target" -f infra/images/node-service.Dockerfile --target "$target" \
    --build-arg EXTRA_CA_CERTS="${INTAKE_EXTRA_CA_CERTS:-}"
done
build kafka -f infra/images/kafka.Dockerfile
build nginx -f infra/images/nginx.Dockerfile
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep "^intake/.*:$tag\s" >&2
