# The TypeScript services (edge, worker, puller, demo-upstream, topic-init) from one build:
# `deps` installs every package once, `build` compiles with tsc, `prod-deps` keeps only the
# runtime dependencies, and `runtime` is the common final image (no devDependencies, no
# sources, non-root uid 1000, tini as PID 1). One small stage per service sets its command,
# port and healthcheck:
#
#   docker build -f infra/images/node-service.Dockerfile --target edge -t intake/edge:0.1.0 .
#
# (targets: edge, worker, puller, demo-upstream, topic-init). NODE_IMAGE names the public
# image; infra/images/build-base.sh builds a local stand-in where no registry is reachable.
# EXTRA_CA_CERTS (PEM text, optional) lets `npm ci` trust a TLS-intercepting proxy; it is
# used in the install stages only and never reaches the final image.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
ARG EXTRA_CA_CERTS=""
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --no-audit --no-fund \
 && rm -f /tmp/extra-ca.pem

FROM ${NODE_IMAGE} AS prod-deps
ARG EXTRA_CA_CERTS=""
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -f /tmp/extra-ca.pem

FROM deps AS build
# tsconfig.image.json: the services and the library only (no benchmarks, no test harness).
COPY tsconfig.json tsconfig.build.json tsconfig.image.json ./
COPY lib lib
COPY services services
COPY clients clients
# the browser tracker the edge serves at /v1/intake.js (esbuild, a devDependency)
RUN npx tsc -p tsconfig.image.json && npm run --silent build:tracker

FROM ${NODE_IMAGE} AS runtime
# tini: PID 1 that forwards signals (SIGTERM -> graceful drain) and reaps children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && mkdir -p /var/lib/intake && chown 1000:1000 /var/lib/intake
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /src/node_modules node_modules
COPY package.json ./
COPY docs/openapi.json docs/openapi.json
COPY services/worker/schemas services/worker/schemas
COPY --from=build /src/dist dist
COPY infra/images/service-entrypoint.sh infra/images/
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--", "/app/infra/images/service-entrypoint.sh"]
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "/app/dist/services/healthcheck/main.js"]

FROM runtime AS edge
ENV INTAKE_SERVICE=edge \
    INTAKE_EDGE_HOST=0.0.0.0 \
    INTAKE_EDGE_PORT=8081 \
    INTAKE_EDGE_VIEW_DIR=/var/lib/intake/views
EXPOSE 8081
# kafkajs' heap flags (services/cli/fleet/processes.ts, EDGE_NODE_FLAGS); the entrypoint
# swaps in @platformatic/kafka's when INTAKE_KAFKA_CLIENT=platformatic
CMD ["node", "--max-semi-space-size=8", "dist/services/edge/main.js"]

FROM runtime AS worker
ENV INTAKE_SERVICE=worker \
    INTAKE_WORKER_ADMIN_HOST=0.0.0.0 \
    INTAKE_WORKER_ADMIN_PORT=9100 \
    INTAKE_OUTBOUND_LOG_DIR=/var/lib/intake/outbound-log
EXPOSE 9100
VOLUME ["/var/lib/intake"]
# the worker's heap flags (services/cli/fleet/processes.ts, WORKER_NODE_FLAGS)
CMD ["node", "--max-semi-space-size=64", "dist/services/worker/main.js"]

FROM runtime AS puller
ENV INTAKE_SERVICE=puller \
    INTAKE_PULLER_ADMIN_HOST=0.0.0.0 \
    INTAKE_PULLER_ADMIN_PORT=9150
EXPOSE 9150
CMD ["node", "dist/services/puller/main.js"]

# The demo upstream listens on 127.0.0.1 only (services/demo-upstream/main.ts has no host
# variable): compose runs the puller in its network namespace to reach it.
FROM runtime AS demo-upstream
ENV INTAKE_SERVICE=demo-upstream \
    INTAKE_DEMO_UPSTREAM_PORT=8140
EXPOSE 8140
CMD ["node", "dist/services/demo-upstream/main.js"]

FROM runtime AS topic-init
ENV INTAKE_SERVICE=topic-init
HEALTHCHECK NONE
CMD ["node", "dist/services/topic-init/main.js"]
