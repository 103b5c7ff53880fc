#!/usr/bin/env bash
# Set everything up, then run the whole test suite (both kernels, doctests, the shared
# conformance cases when ../shared/conformance exists). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
