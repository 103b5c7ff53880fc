#!/usr/bin/env bash
# Set everything up (the package in .venv, and the programs the tests drive for real, such as
# a headless chromium), then run the whole test suite (both kernels, doctests, the acceptance
# cases in tests/conformance and tests/conformance-next). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/test-services.sh
.venv/bin/python -m pytest "$@"
