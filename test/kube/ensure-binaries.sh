#!/usr/bin/env bash
# Build (or reuse) kube-apiserver, kubectl and etcd for the kube tests, from the Go modules in
# tools/kube (Kubernetes) and tools/kube/etcd (etcd). The binaries live outside the work tree in
#   ${GATEHOUSE_KUBE_BIN_CACHE:-$HOME/.cache/gatehouse/kube-bin}/<key>/
# where <key> is the first 16 hex digits of a sha256 over both modules' go.mod and go.sum (and
# this script's build recipe), so only a new machine or a version bump pays for the build.
# The last line on stdout is that directory; progress goes to stderr.
#
#   bash test/kube/ensure-binaries.sh            # build if needed, print the directory
#   bash test/kube/ensure-binaries.sh --helm     # also helm (tools/kube/helm), for chart tests
#   GATEHOUSE_KUBE_BIN_DIR=$(bash test/kube/ensure-binaries.sh | tail -n1)
#
# GATEHOUSE_KUBE_HELM=1 is the same as --helm.
#
# Needs Go (>= the modules' go directive, or GOTOOLCHAIN=auto fetches it) and the Go module
# proxy. Never reads stdin; safe to run concurrently (a lock serialises builds).
set -euo pipefail
exec </dev/null

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kube_mod="${root}/tools/kube"
etcd_mod="${root}/tools/kube/etcd"
helm_mod="${root}/tools/kube/helm"
# Bump when the way the binaries are built changes (flags, stamping), to invalidate old caches.
RECIPE=1

log() { echo "[kube-bin] $*" >&2; }
die() { echo "[kube-bin] error: $*" >&2; exit 1; }

want_helm=0
[[ "${GATEHOUSE_KUBE_HELM:-0}" == 1 ]] && want_helm=1
for arg in "$@"; do
  case "$arg" in
    --helm) want_helm=1 ;;
    *) die "unknown argument ${arg} (usage: ensure-binaries.sh [--helm])" ;;
  esac
done

if ! command -v go >/dev/null 2>&1; then
  [[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:${PATH}"
fi
command -v go >/dev/null 2>&1 || die "go is not installed (https://go.dev/dl/); it builds the kube test binaries"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is missing (coreutils)"

goos="$(go env GOOS)"
goarch="$(go env GOARCH)"
key="$(
  {
    echo "recipe=${RECIPE} ${goos}/${goarch}"
    cat "${kube_mod}/go.mod" "${kube_mod}/go.sum" "${etcd_mod}/go.mod" "${etcd_mod}/go.sum" "${helm_mod}/go.mod" "${helm_mod}/go.sum"
  } | sha256sum | cut -c1-16
)"
cache="${GATEHOUSE_KUBE_BIN_CACHE:-${HOME}/.cache/gatehouse/kube-bin}"
dir="${cache}/${key}"
bins=(kube-apiserver kubectl etcd)

complete_core() {
  [[ -f "${dir}/BUILD_INFO" ]] || return 1
  local b
  for b in "${bins[@]}"; do [[ -x "${dir}/${b}" ]] || return 1; done
}
complete() { complete_core && [[ $want_helm -eq 0 || -x "${dir}/helm" ]]; }

if complete; then
  log "reusing ${dir}"
  echo "${dir}"
  exit 0
fi

mkdir -p "${cache}"
# One build at a time per cache; a second caller waits, then finds the result.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${cache}/.lock"
  flock 9
  if complete; then
    log "reusing ${dir} (built while waiting)"
    echo "${dir}"
    exit 0
  fi
fi

version_of() { awk -v m="$2" '($1 == "require" && $2 == m) { print $3; exit } ($1 == m) { print $2; exit }' "$1/go.mod"; }
kube_version="$(version_of "${kube_mod}" k8s.io/kubernetes)"
etcd_version="$(version_of "${etcd_mod}" go.etcd.io/etcd/server/v3)"
[[ "${kube_version}" =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || die "cannot read the k8s.io/kubernetes version from ${kube_mod}/go.mod"
kube_minor="${BASH_REMATCH[1]}"
[[ -n "${etcd_version}" ]] || die "cannot read the go.etcd.io/etcd/server/v3 version from ${etcd_mod}/go.mod"

# The release time from the module proxy's .info, so the stamp is the same on every machine.
release_time() {
  (cd "$1" && go mod download -json "$2@$3" </dev/null) |
    sed -nE 's/^[[:space:]]*"Info": "(.*)",?$/\1/p' | xargs cat | sed -nE 's/.*"Time":"([^"]+)".*/\1/p'
}

build_core() {
  local tmp="${dir}.tmp.$$" start kube_done end build_date kube_ldflags pkg
  rm -rf "${tmp}"
  mkdir -p "${tmp}"
  trap "rm -rf '${tmp}'" EXIT

  start="$(date +%s)"
  log "building kube-apiserver and kubectl ${kube_version}, etcd ${etcd_version} with $(go version | cut -d' ' -f3) into ${dir} (a cold build takes a while; see test/kube/README.md)"

  build_date="$(release_time "${kube_mod}" k8s.io/kubernetes "${kube_version}")"
  # What hack/lib/version.sh stamps, so `kubectl version` and the API server report the release
  # (and kubectl's version-skew warning stays quiet).
  kube_ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kube_ldflags+=" -X ${pkg}.gitVersion=${kube_version}"
    kube_ldflags+=" -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${kube_minor}"
    kube_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
  done
  # One go build for both commands: shared packages compile once, the links run in parallel.
  (cd "${kube_mod}" && go build -trimpath -ldflags "${kube_ldflags}" -o "${tmp}/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  kube_done="$(date +%s)"
  log "kube-apiserver, kubectl: $((kube_done - start))s"

  # The etcd binary is the main package at the root of go.etcd.io/etcd/server/v3 (see tools/kube/etcd/tools.go).
  (cd "${etcd_mod}" && go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_version}" \
    -o "${tmp}/etcd" go.etcd.io/etcd/server/v3)
  end="$(date +%s)"
  log "etcd: $((end - kube_done))s"

  "${tmp}/kube-apiserver" --version >&2
  "${tmp}/kubectl" version --client >&2
  "${tmp}/etcd" --version >&2

  {
    echo "key=${key}"
    echo "kubernetes=${kube_version}"
    echo "etcd=${etcd_version}"
    echo "go=$(go version | cut -d' ' -f3)"
    echo "platform=${goos}/${goarch}"
    echo "build_seconds=$((end - start))"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } > "${tmp}/BUILD_INFO"

  rm -rf "${dir}"
  mv "${tmp}" "${dir}"
  trap - EXIT
  log "built in $((end - start))s: ${dir}"
}

# Helm (optional): added to the same directory, so one key covers every tool.
build_helm() {
  local version start tmp="${dir}/helm.tmp.$$"
  version="$(version_of "${helm_mod}" helm.sh/helm/v4)"
  [[ -n "${version}" ]] || die "cannot read the helm.sh/helm/v4 version from ${helm_mod}/go.mod"
  start="$(date +%s)"
  log "building helm ${version} into ${dir}"
  trap "rm -f '${tmp}'" EXIT
  # What helm's Makefile stamps for a release build.
  (cd "${helm_mod}" && go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${version} -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    -o "${tmp}" helm.sh/helm/v4/cmd/helm)
  "${tmp}" version >&2
  mv "${tmp}" "${dir}/helm"
  trap - EXIT
  echo "helm=${version} ($(($(date +%s) - start))s)" >> "${dir}/BUILD_INFO"
  log "helm: $(($(date +%s) - start))s"
}

export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly"
complete_core || build_core
[[ $want_helm -eq 0 || -x "${dir}/helm" ]] || build_helm
echo "${dir}"
