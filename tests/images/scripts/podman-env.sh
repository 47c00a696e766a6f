#!/usr/bin/env bash
# Sourced: points podman and buildah at the project's settings (tests/images/podman/) instead
# of /etc/containers, with image storage cached under the user's cache folder.
#   S2S_CONTAINERS_DIR  image storage, build cache mounts  (default ~/.cache/s2s/containers)
#   S2S_CONTAINERS_RUN  per-boot state                     (default /run/s2s-containers/<key>)
s2s_images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export S2S_CONTAINERS_DIR="${S2S_CONTAINERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/s2s/containers}"
# One per-boot state folder per storage folder: two storages (say, a CI clone with its own
# XDG_CACHE_HOME on the same machine) must never share podman's runroot.
s2s_storage_key="$(printf '%s' "$S2S_CONTAINERS_DIR" | sha256sum | cut -c1-12)"
export S2S_CONTAINERS_RUN="${S2S_CONTAINERS_RUN:-${XDG_RUNTIME_DIR:-/run}/s2s-containers/$s2s_storage_key}"
mkdir -p "$S2S_CONTAINERS_DIR/conf" "$S2S_CONTAINERS_DIR/tmp" "$S2S_CONTAINERS_DIR/networks" \
  "$S2S_CONTAINERS_RUN"
# containers.conf and storage.conf need absolute paths: generated from the templates.
for s2s_conf in containers.conf storage.conf; do
  sed -e "s|@CACHE_DIR@|$S2S_CONTAINERS_DIR|g" -e "s|@RUN_DIR@|$S2S_CONTAINERS_RUN|g" \
    "$s2s_images_dir/podman/$s2s_conf.in" >"$S2S_CONTAINERS_DIR/conf/$s2s_conf"
done
export CONTAINERS_CONF="$S2S_CONTAINERS_DIR/conf/containers.conf"
export CONTAINERS_STORAGE_CONF="$S2S_CONTAINERS_DIR/conf/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$s2s_images_dir/podman/registries.conf"
unset s2s_conf s2s_storage_key
