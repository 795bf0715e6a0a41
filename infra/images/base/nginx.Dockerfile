# Stand-in for nginx:1.27 (infra/images/build-base.sh): Debian's nginx (1.22) on the
# locally imported debian:bookworm-slim, logging to stdout/stderr like the official image.
# With the stream module (libnginx-mod-stream), which the official image has built in.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx libnginx-mod-stream \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log \
 && nginx -v
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
