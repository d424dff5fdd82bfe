#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine: the package with
# its test extras, and the optional tools from Debian's packages (Chromium for
# the HTML report's browser tests, shellcheck so actionlint also checks the
# action's shell steps). A missing optional tool only makes its tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e '.[test]'

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -gt 0 ]; then
    as_root=()
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)  # CI runners: passwordless sudo
    fi
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
        ("${as_root[@]}" apt-get update -qq && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
            || echo "setup-test-env: could not install ${missing[*]}; their tests will skip" >&2
    else
        echo "setup-test-env: ${missing[*]} not installed (needs root or sudo, and apt-get); their tests will skip" >&2
    fi
fi
