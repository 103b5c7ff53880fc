#!/usr/bin/env bash
# Set everything up, then replay the bundled sample traffic (an App Service access-restriction
# audit log) through the bundled example site (an app behind Front Door with IP, subnet and
# scm rules) and print what the rules do to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
echo "== acl check --rules examples/frontdoor-site/site.json --log examples/frontdoor-site/logs/ipsec-audit.ndjson"
.venv/bin/acl check --rules examples/frontdoor-site/site.json --log examples/frontdoor-site/logs/ipsec-audit.ndjson
