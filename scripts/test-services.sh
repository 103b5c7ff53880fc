#!/usr/bin/env bash
# Install what the test suite drives for real, when it is missing: Debian's chromium renders
# the HTML report headless. Needs root (or sudo) and Debian's package lists; CI runs as root.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "test-services: ${need[*]} missing and not root: install them (apt-get install ${need[*]})" >&2
        exit 1
    fi
else
    SUDO=
fi
echo "test-services: installing ${need[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null
