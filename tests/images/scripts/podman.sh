#!/usr/bin/env bash
# podman with the project's settings (scripts/podman-env.sh), e.g.
#   sudo bash tests/images/scripts/podman.sh images
set -euo pipefail
# shellcheck source=tests/images/scripts/podman-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"
exec podman "$@"
