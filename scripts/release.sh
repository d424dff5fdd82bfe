#!/usr/bin/env bash
# Build the sdist and wheel, check them, run the tests from the unpacked sdist,
# and tag the release. Uploads nothing: publishing is a separate, manual step
# (twine upload dist/*) once the tag is pushed.
#
#   scripts/release.sh 0.2.0          # build, check, tag v0.2.0
#   scripts/release.sh --check-only   # build and check, no tag
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-}"
if [ -z "$version" ]; then
    echo "usage: scripts/release.sh VERSION | --check-only" >&2
    exit 2
fi
if [ "$version" != "--check-only" ]; then
    declared=$(python -c 'from perfbudget.run.toml import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
    if [ "$declared" != "$version" ]; then
        echo "pyproject.toml says $declared, not $version: bump it (and CHANGELOG.md) first" >&2
        exit 1
    fi
    grep -q "^## $version" CHANGELOG.md || { echo "CHANGELOG.md has no '## $version' section" >&2; exit 1; }
fi

python -m pip install --quiet --disable-pip-version-check build twine
rm -rf build dist  # a stale build/lib would end up in the wheel
python -m build --outdir dist .
python -m twine check --strict dist/*

# The sdist carries its tests: they must run from it, with the wheel installed in a fresh virtualenv for its
# pytest11 entry point and console script (the test tools come from this Python's site-packages).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar -xzf dist/perfbudget-*.tar.gz -C "$scratch"
python -m venv --system-site-packages "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall dist/perfbudget-*.whl
(cd "$scratch"/perfbudget-*/ && "$scratch/venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_budgets_loader.py tests/test_compare_engine.py \
        tests/test_report_golden.py tests/test_example_project.py tests/test_budgets_schema.py)

if [ "$version" != "--check-only" ]; then
    git tag -a "v$version" -m "perfbudget $version"
    echo "tagged v$version; push it with: git push origin v$version"
fi
