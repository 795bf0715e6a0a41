#!/usr/bin/env bash
# Renders one kustomize directory (an overlay such as k8s/overlays/prod, or any folder with
# a kustomization.yaml) to YAML on stdout, the way `kubectl kustomize DIR` does.
#
#   infra/k8s/render.sh k8s/overlays/prod
#   infra/k8s/render.sh prod            # short for k8s/overlays/prod
#
# It uses kustomize's Go API pinned in infra/k8s/kustomize/go.mod (sigs.k8s.io/kustomize/api
# v0.21.2), built once into .intake/bin/ (git-ignored) from the Go module proxy, so every
# machine renders the same. Without Go it falls back to `kubectl kustomize` when kubectl is
# on PATH. INTAKE_KUSTOMIZE=kubectl forces kubectl; INTAKE_KUSTOMIZE=go forces the Go build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ $# -ne 1 ]]; then
  echo "usage: infra/k8s/render.sh <overlay name | kustomization dir>" >&2
  exit 2
fi
target="$1"
if [[ ! -d "$target" && -d "$root/k8s/overlays/$target" ]]; then
  target="$root/k8s/overlays/$target"
fi
if [[ ! -f "$target/kustomization.yaml" ]]; then
  echo "render.sh: no kustomization.yaml in '$1' (try dev, prod or a path)" >&2
  exit 2
fi

src="$root/infra/k8s/kustomize"
bin="$root/.intake/bin/kustomize-render"
mode="${INTAKE_KUSTOMIZE:-auto}"

build() {
  # Rebuild when the binary is missing or older than its sources.
  if [[ -x "$bin" && "$bin" -nt "$src/main.go" && "$bin" -nt "$src/go.mod" && "$bin" -nt "$src/go.sum" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$bin")"
  echo "render.sh: building kustomize-render (sigs.k8s.io/kustomize/api, once) into .intake/bin/" >&2
  (cd "$src" && go build -buildvcs=false -trimpath -o "$bin.$$.tmp" . && mv "$bin.$$.tmp" "$bin")
}

case "$mode" in
  kubectl)
    exec kubectl kustomize "$target"
    ;;
  go)
    build
    exec "$bin" "$target"
    ;;
  auto)
    if command -v go >/dev/null 2>&1; then
      build
      exec "$bin" "$target"
    elif command -v kubectl >/dev/null 2>&1; then
      exec kubectl kustomize "$target"
    fi
    echo "render.sh: needs Go (to build kustomize from the module proxy) or kubectl on PATH" >&2
    exit 127
    ;;
  *)
    echo "render.sh: INTAKE_KUSTOMIZE must be auto, go or kubectl (got '$mode')" >&2
    exit 2
    ;;
esac
