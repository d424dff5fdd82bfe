#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine: the package with
# its test extras, and the optional tools (Chromium for the HTML report's
# browser test). A missing optional tool only makes its tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e '.[test]'
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "setup-test-env: could not install chromium; the browser tests will skip" >&2
fi
