#!/bin/sh
# Entrypoint of the Node service images (after tini): gives each container its own
# INTAKE_INSTANCE when none is set (<service>-<hostname>; a Kubernetes pod name or a
# compose container id), because the services' default (edge-<port>, worker-<port>) is the
# same in every container, and request/response replies are routed by instance.
#
# An edge on @platformatic/kafka (INTAKE_KAFKA_CLIENT=platformatic) runs with that
# client's heap flags instead of kafkajs' (the image's command); the same sets as
# services/cli/fleet/processes.ts, EDGE_NODE_FLAGS (a unit test holds them equal).
set -eu
EDGE_FLAGS_KAFKAJS="--max-semi-space-size=8"
EDGE_FLAGS_PLATFORMATIC="--max-semi-space-size=16 --heap-growing-percent=100"
if [ -z "${INTAKE_INSTANCE:-}" ]; then
  INTAKE_INSTANCE="${INTAKE_SERVICE:-intake}-$(hostname)"
  export INTAKE_INSTANCE
fi
if [ "${INTAKE_SERVICE:-}" = edge ] && [ "${INTAKE_KAFKA_CLIENT:-}" = platformatic ] &&
  [ "$#" -ge 2 ] && [ "$1" = node ] && [ "$2" = "$EDGE_FLAGS_KAFKAJS" ]; then
  shift 2
  # shellcheck disable=SC2086 # the flags are separate words
  set -- node $EDGE_FLAGS_PLATFORMATIC "$@"
fi
exec "$@"
