# nginx in front of the edges for docker-compose (infra/images/nginx.compose.conf): it
# resolves the compose service `edge` through Docker's DNS at request time, so
# `docker-compose up --scale edge=N` is balanced without a restart. Non-root (uid 1000),
# listening on 8080 inside the container (TCP, and UDP for one-way datagrams); tini as PID 1.
#
#   docker build -f infra/images/nginx.Dockerfile -t intake/nginx:0.1.0 .
#
# NGINX_IMAGE names the public image; infra/images/build-base.sh builds a stand-in.
ARG NGINX_IMAGE=nginx:1.27

FROM ${NGINX_IMAGE}
COPY infra/images/nginx.compose.conf /etc/nginx/nginx.conf
# The stream module (one-way UDP) is built into nginx.org's nginx; Debian's has it as a
# dynamic module (libnginx-mod-stream, installed here when a cached stand-in lacks it),
# loaded by a line put at the top of nginx.conf. The config test's files in /tmp are
# removed: root owns them, and nginx runs as uid 1000.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && if ! nginx -V 2>&1 | grep -qE -- '--with-stream( |$)'; then \
      apt-get install -y --no-install-recommends libnginx-mod-stream \
      && sed -i '1i load_module /usr/lib/nginx/modules/ngx_stream_module.so;' /etc/nginx/nginx.conf; \
    fi \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && nginx -t -c /etc/nginx/nginx.conf \
 && rm -rf /tmp/nginx*
USER 1000:1000
EXPOSE 8080 8080/udp
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["nginx", "-g", "daemon off;"]
HEALTHCHECK --interval=3s --timeout=2s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
