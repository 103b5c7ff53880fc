#!/usr/bin/env bash
# Create .venv (if missing) and install acl into it, editable, with the test tools.
# Needs only Python 3.10+ with venv and pip, and a C compiler for the extension.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip>=23.1"
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/python -c "import acl, acl.engine as e; print('acl', acl.__version__, 'installed; kernel:', e.KERNEL)"
