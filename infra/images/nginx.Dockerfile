# nginx in front of the edges for docker-compose (infra/images/nginx.compose.conf): it
# resolves the compose service `edge` through Docker's DNS at request time, so
# `docker-compose up --scale edge=N` is balanced without a restart. Non-root (uid 1000),
# listening on 8080 inside the container; tini as PID 1.
#
#   docker build -f infra/images/nginx.Dockerfile -t intake/nginx:0.1.0 .
#
# NGINX_IMAGE names the public image; infra/images/build-base.sh builds a stand-in.
ARG NGINX_IMAGE=nginx:1.27

FROM ${NGINX_IMAGE} AS check
COPY infra/images/nginx.compose.conf /etc/nginx/nginx.conf
RUN nginx -t -c /etc/nginx/nginx.conf

FROM ${NGINX_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY --from=check /etc/nginx/nginx.conf /etc/nginx/nginx.conf
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["nginx", "-g", "daemon off;"]
HEALTHCHECK --interval=3s --timeout=2s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
