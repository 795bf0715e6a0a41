# Stand-in for node:20-bookworm-slim (infra/images/build-base.sh): the build machine's own
# Node 20 binary and npm on the locally imported debian:bookworm-slim, in the official
# image's places (/usr/local/bin/node, npm, npx). Context: node + npm/ staged by the script.
FROM debian:bookworm-slim
ARG NODE_VERSION
ENV NODE_VERSION=${NODE_VERSION}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node -v && npm -v
CMD ["node"]
