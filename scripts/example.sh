#!/usr/bin/env bash
# Set everything up, then decide the bundled sample traffic against the bundled example site
# (an app behind Front Door with IP, subnet and scm rules) and print the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
echo "== acl eval: examples/frontdoor-site/traffic.jsonl against examples/frontdoor-site/site.json"
.venv/bin/acl eval --rules examples/frontdoor-site/site.json --requests examples/frontdoor-site/traffic.jsonl
