#!/usr/bin/env bash
# Debian packages the test suite needs (browser tests, network namespaces, load tools).
# Installs only what is missing; `apt-get update` runs once, first.
set -euo pipefail
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$(dirname "$0")/apt-packages.txt")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: not root, cannot install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
