#!/usr/bin/env bash
# Builds the project's images the way CI does, with rootful podman (buildah) and no container
# registry: the stand-in base image (scripts/base-image.sh), then, from the repository root as
# context and with the Dockerfiles unchanged,
#   localhost/sample-caller:local      apps/caller/Dockerfile, target runtime
#   localhost/sample-caller:dev        apps/caller/Dockerfile, target dev
#   localhost/sample-producer:local    apps/producer/Dockerfile, target runtime
#   localhost/s2s-loadtest:local       packages/loadtest/Dockerfile, target runtime
# Build steps reach the npm registry through the host's network and trust the host's CA
# bundle: it and an npmrc naming it are bind-mounted into each RUN step, never into a layer.
#   S2S_CA_BUNDLE      the CA bundle (default: NODE_EXTRA_CA_CERTS, else /etc/ssl/certs/ca-certificates.crt)
#   S2S_BUILD_CONTEXT  another checkout to build, e.g. a `git archive HEAD` export while the
#                      working tree is mid-change (default: this repository)
set -Eeuo pipefail
images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_root="${S2S_BUILD_CONTEXT:-$(cd "$images_dir/../.." && pwd)}"
# shellcheck source=tests/images/scripts/podman-env.sh
source "$images_dir/scripts/podman-env.sh"

bash "$images_dir/scripts/base-image.sh"

ca_bundle="${S2S_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}"
if [ ! -r "$ca_bundle" ]; then
  echo "build-images: no CA bundle at $ca_bundle (set S2S_CA_BUNDLE)" >&2
  exit 1
fi
# The global npmrc of a Node installed under /usr/local: npm and pnpm both read it.
# Only the mount targets reach a layer: podman 4.3 leaves them as empty files in the build stage
# (so in the caller's dev image); the runtime stages never see them.
npmrc="$S2S_CONTAINERS_DIR/conf/npmrc"
echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$npmrc"
mkdir -p "$S2S_CONTAINERS_DIR/logs"
mounts=(
  -v "$ca_bundle:/etc/ssl/certs/ca-certificates.crt:ro"
  -v "$npmrc:/usr/local/etc/npmrc:ro"
)

build() {
  local dockerfile=$1 target=$2 tag=$3 started=$SECONDS
  local log="$S2S_CONTAINERS_DIR/logs/${tag//[\/:]/_}.log"
  echo "build-images: $tag ($dockerfile, target $target), log in $log"
  podman build --pull=never --network host "${mounts[@]}" \
    -f "$repo_root/$dockerfile" --target "$target" -t "$tag" "$repo_root" >"$log" 2>&1 || {
    tail -n 40 "$log" >&2
    echo "build-images: building $tag failed (full log: $log)" >&2
    exit 1
  }
  echo "build-images: $tag built in $((SECONDS - started)) s"
}

build apps/caller/Dockerfile runtime localhost/sample-caller:local
build apps/caller/Dockerfile dev localhost/sample-caller:dev
build apps/producer/Dockerfile runtime localhost/sample-producer:local
build packages/loadtest/Dockerfile runtime localhost/s2s-loadtest:local
