#!/usr/bin/env bash
# The step of the acl GitHub Action (action.yml): lint rule files, write SARIF, annotate.
#
# Environment:
#   ACL_RULES       the rule files or folders to lint, separated by spaces or newlines; a
#                   glob (with ** for any depth) is expanded and must match something
#   ACL_FAIL_LEVEL  error (default), warning, info or none: acl lint --fail-level
#   ACL_SARIF       where to write the SARIF log (default acl-lint.sarif); written to a
#                   temporary file first and renamed when complete
#   ACL             the acl command (default: acl)
#
# Prints GitHub workflow commands (annotations) for the findings, sets the step outputs
# `sarif` and `exit-code` when GITHUB_OUTPUT is set, and exits with acl lint's code:
# 0 nothing at or above the fail level, 1 something is, 2 a file could not be loaded.
set -euo pipefail
shopt -s globstar nullglob

ACL=${ACL:-acl}
FAIL_LEVEL=${ACL_FAIL_LEVEL:-error}
SARIF=${ACL_SARIF:-acl-lint.sarif}
case "$FAIL_LEVEL" in
    error | warning | info | none) ;;
    *) echo "acl-lint: fail-level '$FAIL_LEVEL' is not one of error, warning, info, none" >&2; exit 2 ;;
esac

set -f  # split ACL_RULES into words without expanding them yet
patterns=(${ACL_RULES:-})
set +f
files=()
for pattern in "${patterns[@]}"; do
    matches=($pattern)
    if [ ${#matches[@]} -eq 0 ]; then
        echo "acl-lint: '$pattern' matches no file" >&2
        exit 2
    fi
    files+=("${matches[@]}")
done
if [ ${#files[@]} -eq 0 ]; then
    echo "acl-lint: no rule files given (the 'rules' input)" >&2
    exit 2
fi

sarif_dir=$(dirname -- "$SARIF")
mkdir -p -- "$sarif_dir"
partial=$(mktemp "$sarif_dir/.acl-lint.XXXXXX")
trap 'rm -f -- "$partial"' EXIT
status=0
"$ACL" lint --format sarif --fail-level "$FAIL_LEVEL" -- "${files[@]}" >"$partial" || status=$?
mv -f -- "$partial" "$SARIF"
trap - EXIT
# The same findings as annotations on the pull request (load errors are in the SARIF log and
# were printed on stderr already).
"$ACL" lint --format github --fail-level none -- "${files[@]}" 2>/dev/null || true

if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "sarif=$SARIF"
        echo "exit-code=$status"
    } >>"$GITHUB_OUTPUT"
fi
exit "$status"
