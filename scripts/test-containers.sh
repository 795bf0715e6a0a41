#!/usr/bin/env bash
# `npm run test:containers`: the container test (test/containers/): makes sure a Docker
# engine and docker-compose are there, then runs the jest project `containers`, which
# builds the base and service images, brings docker-compose.yml up through testcontainers
# (DockerComposeEnvironment; it runs `docker compose` where that plugin is installed,
# else this standalone docker-compose), kills containers and audits that no acknowledged
# event was lost. testcontainers' Ryuk stays off (test/support/containers.ts says why).
#
#   scripts/test-containers.sh [JEST ARGS...]
#   scripts/test-containers.sh --engine-only   only install/start the engine; exit 1 with
#                                               the reason on stderr when it cannot
#
# When `docker info` fails: as root, installs docker.io, docker-compose and debootstrap
# with apt-get when missing, starts `dockerd` in the background (log: .intake/dockerd.log;
# it keeps running afterwards) and waits up to 60 s for it.
# INTAKE_FORCE_INSTALL_FAIL=docker makes it fail as if no engine could be started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { echo "test-containers: $*" >&2; }

ensure_engine() {
  if [[ ",${INTAKE_FORCE_INSTALL_FAIL:-}," == *,docker,* ]]; then
    say "no engine on purpose (INTAKE_FORCE_INSTALL_FAIL names docker)"
    return 1
  fi
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]} > 0)); then
    [[ $EUID == 0 ]] || { say "missing ${missing[*]} and not root: cannot install them"; return 1; }
    say "installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1; } \
      || { say "apt-get install ${missing[*]} failed"; return 1; }
  fi
  command -v docker >/dev/null || { say "no docker client"; return 1; }
  docker info >/dev/null 2>&1 && return 0
  [[ $EUID == 0 ]] || { say "the Docker engine is not running and only root can start it here"; return 1; }
  mkdir -p .intake
  say "starting dockerd (log: .intake/dockerd.log)"
  setsid dockerd >"$root/.intake/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  say "dockerd did not answer within 60 s; last lines of .intake/dockerd.log:"
  tail -n 5 "$root/.intake/dockerd.log" >&2 || true
  return 1
}

if [[ "${1:-}" == --engine-only ]]; then
  ensure_engine
  exit
fi
ensure_engine || { say "no Docker engine: cannot run the container tests"; exit 1; }
[[ -f dist/.build-stamp ]] || npm run build >/dev/null
exec npx jest --selectProjects containers --runInBand "$@"
