#!/usr/bin/env bash
# A real Kubernetes API server on this machine, built from source, to check the manifests
# the way a cluster does (admission, defaults, CEL rules of the CRDs, selectors, immutable
# fields), which offline schema checks cannot.
#
#   cluster.sh build [NAME...]  build kube-apiserver and kubectl (or the named components:
#                               kube-apiserver kubectl kube-scheduler kube-controller-manager
#                               kubelet kube-proxy), once, into the cache
#   cluster.sh check            install what is missing and can be (etcd, as root); exit 3
#                               when something cannot (no Go and no cached build, no etcd)
#   cluster.sh up               start etcd and kube-apiserver on 127.0.0.1, install the CRDs
#   cluster.sh down             stop them (the state stays; `down --wipe` removes it)
#   cluster.sh status           print "running" or "stopped"
#   cluster.sh validate [OVERLAY...]
#                               server-side dry run of every overlay (or the named ones):
#                               starts the server when none runs and stops it again after;
#                               prints `kubectl version` and each overlay's result; exits 1
#                               when the server refuses an object
#   cluster.sh apply-dry-run FILE|DIR
#                               the same dry run of one rendered file (or kustomize dir) on
#                               the running server: exit 1 refused, 2 accepted with warnings
#   cluster.sh node-up          a node on this machine under that server (`up` first when
#                               none runs): kube-controller-manager, kube-scheduler,
#                               Debian's containerd and CNI plugins (bridge + host-local),
#                               kubelet and kube-proxy (iptables), a locally built pause
#                               image; waits until the node is Ready
#   cluster.sh import-images IMAGE...
#                               `docker save`s the images into the node's containerd
#   cluster.sh node-down        deletes the intake namespace, stops the node's processes
#   cluster.sh kubectl ARGS...  the built kubectl, pointed at this server
#
# What runs: Debian's etcd (package etcd-server, installed by this script when missing, as
# root) on 127.0.0.1:$INTAKE_K8S_ETCD_PORT, and kube-apiserver on https://127.0.0.1:
# $INTAKE_K8S_PORT with a self-made CA (openssl), a static token file (anonymous requests
# are refused in 1.34) and RBAC; the admin token is in system:masters. kubeconfig:
# $state/k8s/kubeconfig.
#
# The build: a generated module (in the cache) that requires k8s.io/kubernetes
# $K8S_VERSION and replaces each k8s.io/* staging module that k8s.io/kubernetes' own go.mod
# points at its staging/ folder with the published v0.x of the same minor; every module
# comes from the Go module proxy. Versions are stamped with -ldflags (k8s.io/component-base/
# version), so `kubectl version` prints $K8S_VERSION. The binaries stay in
# $INTAKE_CACHE/k8s-$K8S_VERSION/bin and every clone reuses them.
#
# Environment (all optional):
#   INTAKE_STATE_DIR      state root (default <repo>/.intake); this uses $INTAKE_STATE_DIR/k8s
#   INTAKE_CACHE          build cache shared by every clone (default ~/.cache/intake)
#   INTAKE_K8S_PORT       kube-apiserver's secure port (default 36443)
#   INTAKE_K8S_ETCD_PORT  etcd's client port (default 32379; peer port = this + 1)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
K8S_VERSION=v1.34.0
STAGING_VERSION=v0.34.0
cache="${INTAKE_CACHE:-$HOME/.cache/intake}/k8s-$K8S_VERSION"
bin="$cache/bin"
state="${INTAKE_STATE_DIR:-$root/.intake}/k8s"
port="${INTAKE_K8S_PORT:-36443}"
etcd_port="${INTAKE_K8S_ETCD_PORT:-32379}"
etcd_peer_port=$((etcd_port + 1))
kubeconfig="$state/kubeconfig"
logs="$state/logs"

die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "cluster.sh: $*" >&2; }

# ---------------------------------------------------------------------------------------
# build

# The main package of each component inside k8s.io/kubernetes.
declare -A component_pkg=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kube-proxy]=k8s.io/kubernetes/cmd/kube-proxy
)

# Writes the generated module into $cache/src: go.mod requiring k8s.io/kubernetes and
# replacing its staging modules (listed from its go.mod, fetched through the proxy).
generate_module() {
  local src="$cache/src"
  [[ -f "$src/go.mod" ]] && return 0
  command -v go >/dev/null || die "Go is needed to build Kubernetes from the module proxy"
  mkdir -p "$src.tmp"
  local kmod
  kmod="$(cd "$src.tmp" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$kmod" ]] || die "could not fetch k8s.io/kubernetes@$K8S_VERSION's go.mod from the module proxy"
  local staging
  staging="$(sed -n 's:^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*:\1:p' "$kmod")"
  [[ -n "$staging" ]] || die "no staging modules found in $kmod"
  local go_line
  go_line="$(sed -n 's/^go \(.*\)$/\1/p' "$kmod")"
  {
    echo "// Generated by infra/k8s/cluster.sh: builds Kubernetes $K8S_VERSION's components."
    echo "module intake.local/k8s-build"
    echo
    echo "go $go_line"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    local m
    for m in $staging; do echo "	$m => $m $STAGING_VERSION"; done
    echo ")"
  } > "$src.tmp/go.mod"
  say "generated $src/go.mod: k8s.io/kubernetes $K8S_VERSION, $(echo "$staging" | wc -l) staging modules at $STAGING_VERSION"
  rm -rf "$src" && mv "$src.tmp" "$src"
}

ldflags() {
  local major minor date pkg flags=""
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "-s -w$flags"
}

build() {
  local names=("$@") missing=() pkgs=() n
  [[ ${#names[@]} -gt 0 ]] || names=(kube-apiserver kubectl)
  for n in "${names[@]}"; do
    [[ -n "${component_pkg[$n]:-}" ]] || die "unknown component '$n' (one of: ${!component_pkg[*]})"
    [[ -x "$bin/$n" ]] || { missing+=("$n"); pkgs+=("${component_pkg[$n]}"); }
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  # One build at a time per cache (two clones may start the first build together).
  mkdir -p "$cache"
  exec 9>"$cache/.build.lock"
  flock 9
  for n in "${missing[@]}"; do
    if [[ -x "$bin/$n" ]]; then exec 9>&-; build "${names[@]}"; return; fi
  done
  generate_module
  say "building ${missing[*]} $K8S_VERSION from the Go module proxy (once) into $bin"
  local started=$SECONDS out="$cache/build.$$"
  mkdir -p "$out" "$bin"
  (cd "$cache/src" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 \
      go build -trimpath -ldflags "$(ldflags)" -o "$out/" "${pkgs[@]}") \
    || { rm -rf "$out"; die "building ${missing[*]} failed"; }
  for n in "${missing[@]}"; do mv "$out/$n" "$bin/$n"; done
  rm -rf "$out"
  exec 9>&-
  say "built ${missing[*]} in $((SECONDS - started)) s"
}

# ---------------------------------------------------------------------------------------
# the server

# Prerequisites that cannot be fetched by this script exit 3, so a caller can tell "this
# machine cannot run it" from "the server refused a manifest" (1).
need() { echo "cluster.sh: $*" >&2; exit 3; }

ensure_etcd() {
  command -v etcd >/dev/null && return 0
  [[ $EUID -eq 0 ]] || need "etcd is missing: apt-get install etcd-server (as root)"
  command -v apt-get >/dev/null || need "etcd is missing and there is no apt-get to install etcd-server"
  say "installing Debian's etcd-server (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q etcd-server >&2 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -q >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q etcd-server >&2; } \
    || need "could not install etcd-server with apt-get"
  # The package may start its own etcd on the default ports; this script runs its own.
  command -v etcd >/dev/null || need "etcd-server installed no etcd binary"
}

ensure_prereqs() {
  command -v openssl >/dev/null || need "openssl is missing"
  command -v go >/dev/null || [[ -x "$bin/kube-apiserver" && -x "$bin/kubectl" ]] \
    || need "Go is missing: it builds Kubernetes from the module proxy"
  ensure_etcd
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
running() { pid_alive "$state/etcd.pid" && pid_alive "$state/kube-apiserver.pid"; }

kctl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

# A CA, the API server's serving certificate, the service-account key pair and the admin
# token: made once per state dir with openssl.
make_pki() {
  local pki="$state/pki"
  [[ -f "$pki/.complete" ]] && return 0
  rm -rf "$pki" && mkdir -p "$pki" && chmod 700 "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=intake-local-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' > san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out apiserver.crt -days 3650 -extfile san.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # token,user,uid,"group1,group2"
    echo "$(openssl rand -hex 24),intake-admin,intake-admin,\"system:masters\"" > tokens.csv
  )
  touch "$pki/.complete"
}

write_kubeconfig() {
  local token
  token="$(cut -d, -f1 "$state/pki/tokens.csv" | head -1)"
  cat > "$kubeconfig.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: intake-local
    cluster:
      server: https://127.0.0.1:$port
      certificate-authority: $state/pki/ca.crt
users:
  - name: intake-admin
    user:
      token: $token
contexts:
  - name: intake-local
    context:
      cluster: intake-local
      user: intake-admin
current-context: intake-local
KUBECONFIG
  chmod 600 "$kubeconfig.tmp" && mv "$kubeconfig.tmp" "$kubeconfig"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_daemon() { # start_daemon NAME COMMAND... (in the background, its own session)
  local name="$1"; shift
  setsid "$@" >"$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$state/$name.pid"
}

wait_for() { # wait_for SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
  say "$what ready"
}

crds_established() {
  ! kctl get crd -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\n"}{end}' \
    | grep -qv '^True$'
}

install_crds() {
  local crds="${INTAKE_K8S_CRDS:-$root/test/k8s/crds}" files=()
  mapfile -t files < <(find "$crds" -name '*.yaml' | sort)
  [[ ${#files[@]} -gt 0 ]] || die "no CRDs under $crds"
  local args=() f
  for f in "${files[@]}"; do args+=(-f "$f"); done
  # The server warns about formats it does not know in the operators' schemas (int32...):
  # those warnings are about the CRDs, not the manifests checked here.
  kctl apply --server-side --force-conflicts --field-manager=intake-cluster "${args[@]}" 2>&1 \
    | { grep -v -e 'serverside-applied$' -e '^Warning: unrecognized format' >&2 || true; }
  wait_for 60 "CRDs" crds_established || die "the CRDs were not established within 60 s"
  say "CRDs installed: $(kctl get crd -o name | sed 's:.*/::' | tr '\n' ' ')"
}

up() {
  if running; then say "already running (https://127.0.0.1:$port)"; return 0; fi
  ensure_prereqs
  build kube-apiserver kubectl
  mkdir -p "$state" "$logs"
  make_pki
  write_kubeconfig
  if ! pid_alive "$state/etcd.pid"; then
    port_open "$etcd_port" && die "port $etcd_port is taken (set INTAKE_K8S_ETCD_PORT)"
    start_daemon etcd etcd --name intake --data-dir "$state/etcd" \
      --listen-client-urls "http://127.0.0.1:$etcd_port" \
      --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
      --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
      --initial-cluster "intake=http://127.0.0.1:$etcd_peer_port" \
      --listen-metrics-urls "" --quota-backend-bytes 1073741824
    wait_for 60 "etcd (127.0.0.1:$etcd_port)" port_open "$etcd_port" \
      || { tail -20 "$logs/etcd.log" >&2; die "etcd did not start (log: $logs/etcd.log)"; }
  fi
  port_open "$port" && die "port $port is taken (set INTAKE_K8S_PORT)"
  local pki="$state/pki"
  start_daemon kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --anonymous-auth=false --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true --profiling=false \
    --enable-priority-and-fairness=false --v=1
  wait_for 180 "kube-apiserver (https://127.0.0.1:$port)" kctl get --raw /readyz \
    || { tail -30 "$logs/kube-apiserver.log" >&2; die "kube-apiserver did not become ready (log: $logs/kube-apiserver.log)"; }
  install_crds
  say "up: kubeconfig $kubeconfig"
}

stop_pid() { # stop_pid NAME: SIGTERM, SIGKILL after 20 s
  local pidfile="$state/$1.pid" pid i
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

down() {
  node_down
  stop_pid kube-apiserver
  stop_pid etcd
  [[ "${1:-}" == --wipe ]] && rm -rf "$state"
  say "down"
}

# ---------------------------------------------------------------------------------------
# validation

# Warnings kube-apiserver $K8S_VERSION gives for valid objects, ignored by the check:
# - every headless Service draws this one, because the server compares the defaulted
#   sessionAffinity ("None") with "" (kubernetes/kubernetes#134040, fixed in later 1.34
#   patch releases); setting `sessionAffinity: None` explicitly does not silence it.
spurious_warnings=("Warning: spec.SessionAffinity is ignored for headless services")

# Server-side dry run of one rendered YAML file: its namespaces are created for real first
# (a dry run cannot put objects into a namespace that does not exist). Prints the server's
# answer; returns 1 when the server refused something, 2 when it accepted all but warned.
dry_run_file() {
  local file="$1" out ns
  for ns in $(awk '/^kind: Namespace$/ { k = 1; next } /^---/ { k = 0 } k && /^  name: / { print $2 }' "$file") \
            $(sed -n 's/^  namespace: \(.*\)$/\1/p' "$file" | sort -u); do
    kctl get namespace "$ns" >/dev/null 2>&1 || kctl create namespace "$ns" >/dev/null
  done
  # Strict field validation (unknown or duplicate fields are errors); warnings are failures
  # too. --force-conflicts: objects already in the cluster (the local node's fleet) may have
  # other field managers, which is no fault of the manifests.
  if ! out="$(kctl apply --server-side --dry-run=server --field-manager=intake-validate \
                --force-conflicts --validate=strict -f "$file" 2>&1)"; then
    echo "$out"
    return 1
  fi
  local w
  for w in "${spurious_warnings[@]}"; do
    out="${out//"$w"/"Ignored (a false positive of $K8S_VERSION): ${w#Warning: }"}"
  done
  echo "$out"
  if grep -q '^Warning:' <<<"$out"; then return 2; fi
}

overlays() { find "$root/k8s/overlays" -mindepth 2 -maxdepth 2 -name kustomization.yaml -printf '%h\n' | xargs -n1 basename | sort; }

validate() {
  if ! running; then
    trap 'down >/dev/null 2>&1' EXIT
    up
  fi
  echo "== kubectl version"
  kctl version
  local names=("$@") failed=() n out count
  [[ ${#names[@]} -gt 0 ]] || mapfile -t names < <(overlays)
  local tmp
  tmp="$(mktemp -d)"
  for n in "${names[@]}"; do
    echo "== overlay $n"
    "$here/render.sh" "$n" > "$tmp/$n.yaml" || { echo "overlay $n: RENDER FAILED"; failed+=("$n"); continue; }
    local code=0
    out="$(dry_run_file "$tmp/$n.yaml")" || code=$?
    echo "$out" | sed 's/^/  /'
    count="$(grep -c 'serverside-applied (server dry run)' <<<"$out" || true)"
    case $code in
      0) echo "overlay $n: ok ($count objects accepted by the server)" ;;
      2) echo "overlay $n: WARNED (accepted, with the warnings above)"; failed+=("$n") ;;
      *) echo "overlay $n: REFUSED"; failed+=("$n") ;;
    esac
  done
  rm -rf "$tmp"
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "validate: the server refused or warned about: ${failed[*]}"
    return 1
  fi
  echo "validate: all ${#names[@]} overlays accepted by kube-apiserver $K8S_VERSION"
}

apply_dry_run() {
  local target="$1" file
  running || die "no server runs: cluster.sh up first"
  if [[ -d "$target" ]]; then
    file="$(mktemp)"
    "$here/render.sh" "$target" > "$file"
  else
    file="$target"
  fi
  dry_run_file "$file"
}

# ---------------------------------------------------------------------------------------
# the node (step 2): scheduler, controller manager, containerd, kubelet, kube-proxy

node_name=intake-node
pod_cidr=10.244.0.0/24
run_dir=/run/intake-k8s
cri_sock="$run_dir/containerd.sock"
pause_image=intake.local/pause:3.10

ctr_() { ctr --address "$cri_sock" -n k8s.io "$@"; }

ensure_node_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $EUID -eq 0 ]] || need "missing ${missing[*]}: apt-get install them (as root)"
  say "installing ${missing[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2 \
    || need "could not install ${missing[*]} with apt-get"
}

# The sandbox image: a static Go binary (infra/k8s/pause) in a one-layer image, written as
# a docker-archive tarball by hand and imported into containerd's k8s.io namespace.
pause_image_tar() {
  local out="$cache/pause-image.tar" work
  [[ -f "$out" && "$out" -nt "$here/pause/main.go" ]] && { echo "$out"; return 0; }
  work="$(mktemp -d)"
  mkdir -p "$work/rootfs" "$work/image/layer"
  (cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/rootfs/pause" .)
  tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/image/layer/layer.tar" pause
  local diff_id config_sha
  diff_id="sha256:$(sha256sum "$work/image/layer/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"infra/k8s/cluster.sh"}]}' \
    "$diff_id" > "$work/image/config.json"
  config_sha="$(sha256sum "$work/image/config.json" | cut -d' ' -f1)"
  mv "$work/image/config.json" "$work/image/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]' \
    "$config_sha" "$pause_image" > "$work/image/manifest.json"
  tar -C "$work/image" -cf "$out.tmp" . && mv "$out.tmp" "$out"
  rm -rf "$work"
  echo "$out"
}

# put FILE < CONTENT: writes FILE only when its content changes (kube-proxy exits when
# its configuration file is rewritten under it).
put() {
  local tmp="$1.tmp"
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

write_node_config() {
  local nd="$state/node"
  mkdir -p "$nd/cni" "$nd/containerd" "$run_dir"
  put "$nd/containerd/config.toml" <<TOML
version = 2
root = "$nd/containerd/root"
state = "$run_dir/containerd"
[grpc]
  address = "$cri_sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # This machine refuses a negative oom_score_adj even to root: without this, runc fails
  # every sandbox ("failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$nd/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
      Root = "$run_dir/runc"
TOML
  put "$nd/cni/10-intake.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "intake",
  "plugins": [
    {
      "type": "bridge", "bridge": "intake0", "isGateway": true, "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$pod_cidr" }]],
                "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$nd/cni-ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall", "backend": "iptables" }
  ]
}
JSON
  put "$nd/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine has cgroup v1 (deprecated in 1.31+): allow it.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$cri_sock
address: 127.0.0.1
port: 10250
readOnlyPort: 0
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: $state/pki/ca.crt }
authorization: { mode: AlwaysAllow }
tlsCertFile: $state/pki/apiserver.crt
tlsPrivateKeyFile: $state/pki/apiserver.key
failSwapOn: false
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: { memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%" }
maxPods: 40
podPidsLimit: 4096
YAML
  put "$nd/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $kubeconfig }
hostnameOverride: $node_name
clusterCIDR: 10.244.0.0/16
nodePortAddresses: ["0.0.0.0/0"]
iptables: { localhostNodePorts: true }
conntrack: { maxPerCore: 0 }
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
YAML
}

# hostPath PersistentVolumes for the claims of k8s/overlays/local (Kafka's data, the
# workers' outbound logs): no provisioner runs here. A volume no claim holds any more is
# wiped and made anew, so every run starts empty. Owned by uid 1000, the pods' user
# (hostPath volumes ignore fsGroup).
local_volumes() {
  local i name dir phase
  for i in 1 2 3 4 5; do
    name="intake-local-pv-$i" dir="$state/node/volumes/pv-$i"
    phase="$(kctl get pv "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
    [[ "$phase" == Bound || "$phase" == Available ]] && continue
    [[ -n "$phase" ]] && kctl delete pv "$name" --wait=true >/dev/null
    rm -rf "$dir" && mkdir -p "$dir" && chown 1000:1000 "$dir"
    kctl apply -f - >/dev/null <<PV
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels: { app.kubernetes.io/part-of: intake-local-node }
spec:
  capacity: { storage: 5Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: $dir, type: Directory }
PV
  done
}

node_up() {
  running || up
  ensure_node_packages
  build kube-scheduler kube-controller-manager kubelet kube-proxy
  write_node_config
  local pki="$state/pki" nd="$state/node"
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 >/dev/null 2>&1 \
    || say "could not set ip_forward / bridge-nf-call-iptables (pods may not reach Services)"
  pid_alive "$state/kube-controller-manager.pid" || start_daemon kube-controller-manager \
    "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials=false --bind-address 127.0.0.1 --secure-port 0 \
    --cluster-cidr 10.244.0.0/16 --allocate-node-cidrs=false --controllers '*,-nodeipam'
  pid_alive "$state/kube-scheduler.pid" || start_daemon kube-scheduler \
    "$bin/kube-scheduler" --kubeconfig "$kubeconfig" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 0
  if ! pid_alive "$state/containerd.pid"; then
    start_daemon containerd containerd --config "$nd/containerd/config.toml"
    wait_for 60 "containerd ($cri_sock)" ctr_ version \
      || { tail -20 "$logs/containerd.log" >&2; die "containerd did not start"; }
  fi
  ctr_ images import --all-platforms "$(pause_image_tar)" >/dev/null
  pid_alive "$state/kubelet.pid" || start_daemon kubelet "$bin/kubelet" \
    --config "$nd/kubelet.yaml" --kubeconfig "$kubeconfig" --hostname-override "$node_name" \
    --root-dir "$nd/kubelet" --cert-dir "$nd/kubelet-pki" --v=1
  pid_alive "$state/kube-proxy.pid" || start_daemon kube-proxy "$bin/kube-proxy" \
    --config "$nd/kube-proxy.yaml"
  wait_for 180 "node $node_name" kctl wait --for=condition=Ready --timeout=2s "node/$node_name" \
    || { tail -30 "$logs/kubelet.log" >&2; die "the node did not turn Ready (log: $logs/kubelet.log)"; }
  local_volumes
}

# Images from the local Docker engine (infra/images/build.sh) into containerd's k8s.io
# namespace, where the kubelet finds them (imagePullPolicy IfNotPresent, no registry).
import_images() {
  pid_alive "$state/containerd.pid" || die "the node's containerd is not running: cluster.sh node-up first"
  [[ $# -gt 0 ]] || die "usage: cluster.sh import-images IMAGE..."
  docker save "$@" | ctr_ images import --all-platforms - >/dev/null
  say "imported into containerd: $*"
}

node_down() {
  # Pods first, so the kubelet stops their containers and releases their addresses.
  if running && pid_alive "$state/kubelet.pid"; then
    kctl delete namespace intake --wait=true --timeout=120s --ignore-not-found >/dev/null 2>&1 || true
  fi
  stop_pid kube-proxy
  stop_pid kubelet
  stop_pid kube-scheduler
  stop_pid kube-controller-manager
  if pid_alive "$state/containerd.pid"; then
    local c
    for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true; done
  fi
  stop_pid containerd
}

case "${1:-}" in
  build) shift; build "$@" ;;
  check) ensure_prereqs ;;
  up) up ;;
  down) shift; down "$@" ;;
  status) if running; then echo "running https://127.0.0.1:$port"; else echo stopped; fi ;;
  validate) shift; validate "$@" ;;
  apply-dry-run) [[ $# -eq 2 ]] || die "usage: cluster.sh apply-dry-run FILE|DIR"; apply_dry_run "$2" ;;
  node-up) node_up ;;
  node-down) node_down ;;
  import-images) shift; import_images "$@" ;;
  kubectl) shift; running || die "no server runs: cluster.sh up first"; kctl "$@" ;;
  *) echo "usage: cluster.sh build|check|up|down|status|validate|apply-dry-run|node-up|node-down|import-images|kubectl" >&2; exit 2 ;;
esac
