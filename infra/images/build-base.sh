#!/usr/bin/env bash
# Builds local stand-ins for the public base images the Dockerfiles name, for machines
# where no image registry is reachable. Each image is skipped when `docker image inspect`
# already finds it (pulled from a registry, or built by an earlier run).
#
#   debian:bookworm-slim     debootstrap --variant=minbase of Debian bookworm, `docker import`ed
#                            (the rootfs tarball is cached in .intake/base/ for fast re-runs)
#   node:20-bookworm-slim    FROM debian:bookworm-slim + this machine's own Node 20
#                            (/usr/bin/node and its npm, copied in: Debian's nodejs is v18)
#   eclipse-temurin:17-jre   FROM debian:bookworm-slim + apt openjdk-17-jre-headless
#   nginx:1.27               FROM debian:bookworm-slim + apt nginx (Debian's 1.22)
#
# Where a registry is reachable, skip this script: `docker build` pulls the real images.
# Needs root (debootstrap), the Docker engine, and the Debian mirror of /etc/apt.
#
# Environment (optional): INTAKE_DEBIAN_MIRROR (default: the first Debian URI of /etc/apt),
# INTAKE_BASE_REBUILD=1 rebuilds every stand-in even when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.intake/base"
rootfs_tar="$cache/bookworm-minbase.tar"
say() { echo "build-base: $*" >&2; }
die() { say "$*"; exit 1; }

have_image() { [[ "${INTAKE_BASE_REBUILD:-}" != 1 ]] && docker image inspect "$1" >/dev/null 2>&1; }

mirror() {
  if [[ -n "${INTAKE_DEBIAN_MIRROR:-}" ]]; then echo "$INTAKE_DEBIAN_MIRROR"; return; fi
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\(\S*\/debian\)\/\?$/\1/p' | head -1)"
  [[ -n "$uri" ]] || uri="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '$2 ~ /\/debian\/?$/ {print $2; exit}')"
  echo "${uri:-http://deb.debian.org/debian}"
}

docker info >/dev/null 2>&1 || die "the Docker engine is not running (start it: dockerd > /tmp/dockerd.log 2>&1 &)"
mkdir -p "$cache"

# 1. debian:bookworm-slim from a debootstrapped rootfs.
if have_image debian:bookworm-slim; then
  say "debian:bookworm-slim present"
else
  if [[ ! -s "$rootfs_tar" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    [[ $EUID == 0 ]] || die "debootstrap needs root"
    dir="$(mktemp -d "$cache/rootfs.XXXXXX")"
    trap 'rm -rf "$dir"' EXIT
    say "debootstrap --variant=minbase bookworm from $(mirror) (about 30 s)"
    debootstrap --variant=minbase bookworm "$dir" "$(mirror)" >"$cache/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $cache/debootstrap.log"
    # Slim it like the official image: no apt lists, caches, docs or man pages.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
      "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*
    # The machine's apt sources (the same mirror and snapshot the host uses).
    rm -f "$dir"/etc/apt/sources.list
    cp /etc/apt/sources.list.d/*.sources "$dir"/etc/apt/sources.list.d/ 2>/dev/null \
      || echo "deb $(mirror) bookworm main" >"$dir"/etc/apt/sources.list
    echo 'APT::Install-Recommends "false"; APT::Install-Suggests "false";' \
      >"$dir"/etc/apt/apt.conf.d/99intake-no-recommends
    tar -C "$dir" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$dir"
    trap - EXIT
  fi
  say "docker import $rootfs_tar as debian:bookworm-slim"
  docker import --change 'CMD ["bash"]' "$rootfs_tar" debian:bookworm-slim >/dev/null
fi

# 2. node:20-bookworm-slim: this machine's Node 20 (the official image has it in /usr/local).
if have_image node:20-bookworm-slim; then
  say "node:20-bookworm-slim present"
else
  node_bin="$(command -v node || true)"
  [[ -n "$node_bin" ]] || die "node is not installed on this machine"
  node_bin="$(readlink -f "$node_bin")"
  version="$("$node_bin" -v)"
  [[ "$version" == v20.* ]] || die "this machine's node is $version; node:20-bookworm-slim needs v20"
  npm_dir="$(cd "$(dirname "$node_bin")/../lib/node_modules/npm" 2>/dev/null && pwd || true)"
  [[ -f "$npm_dir/bin/npm-cli.js" ]] || die "npm not found beside $node_bin"
  ctx="$cache/node-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  say "building node:20-bookworm-slim with this machine's node $version ($node_bin)"
  docker build -q -t node:20-bookworm-slim --build-arg NODE_VERSION="$version" \
    -f "$here/base/node.Dockerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
fi

# 3. eclipse-temurin:17-jre and 4. nginx:1.27: Debian packages on the imported Debian.
build_apt_image() { # TAG DOCKERFILE
  if have_image "$1"; then say "$1 present"; return; fi
  say "building $1 (apt-get inside docker build)"
  docker build -q -t "$1" -f "$2" "$here/base" >/dev/null
}
build_apt_image eclipse-temurin:17-jre "$here/base/jre.Dockerfile"
build_apt_image nginx:1.27 "$here/base/nginx.Dockerfile"

docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' \
  | grep -E '^(debian:bookworm-slim|node:20-bookworm-slim|eclipse-temurin:17-jre|nginx:1.27)\s' >&2
