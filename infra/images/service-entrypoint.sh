#!/bin/sh
# Entrypoint of the Node service images (after tini): gives each container its own
# INTAKE_INSTANCE when none is set (<service>-<hostname>; a Kubernetes pod name or a
# compose container id), because the services' default (edge-<port>, worker-<port>) is the
# same in every container, and request/response replies are routed by instance.
set -eu
if [ -z "${INTAKE_INSTANCE:-}" ]; then
  INTAKE_INSTANCE="${INTAKE_SERVICE:-intake}-$(hostname)"
  export INTAKE_INSTANCE
fi
exec "$@"
