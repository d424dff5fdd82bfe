#!/usr/bin/env bash
# Run the test suite on every Python interpreter present and every supported Django
# release pip can install for it, each in its own virtualenv; print a table.
#
#   scripts/test-matrix.sh            # the whole suite per combination (long)
#   scripts/test-matrix.sh --quick    # the Django-facing tests only
#   scripts/test-matrix.sh --plan     # which combinations would run, and why others cannot
#
# Interpreters: python3.10 ... python3.13 on PATH, or under pyenv's versions
# directory; with uv installed, `uv python install` fetches the missing ones.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

PYTHONS=(3.10 3.11 3.12 3.13)
DJANGOS=(4.2 5.2 6.0)
QUICK_TESTS=(tests/test_collect_django.py tests/test_collect_django_plugin.py tests/test_example_project.py
             tests/test_budgets_loader.py tests/test_compare_engine.py tests/test_plugin_core.py)
mode="${1:-full}"
case "$mode" in full | --quick | --plan) ;; *) echo "usage: scripts/test-matrix.sh [--quick | --plan]" >&2; exit 2 ;; esac
downloads=$(mktemp -d)
trap 'rm -rf "$downloads"' EXIT

find_python() {  # the interpreter for version $1, or nothing
    local version="$1" candidate
    for candidate in "python$version" "$(pyenv root 2>/dev/null)"/versions/"$version"*/bin/python; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
            command -v "$candidate"
            return
        fi
    done
    if [ "$mode" != "--plan" ] && command -v uv >/dev/null 2>&1 && uv python install "$version" >/dev/null 2>&1; then
        uv python find "$version" 2>/dev/null  # the plan changes nothing; a run may download an interpreter
    fi
}

django_installable() {  # can pip install Django $2.* on interpreter $1? (Django 6 needs Python 3.12)
    "$1" -m pip download --quiet --no-deps --dest "$downloads" "Django==$2.*" >/dev/null 2>&1
}

printf '%-8s %-8s %s\n' python django result
for version in "${PYTHONS[@]}"; do
    python=$(find_python "$version")
    if [ -z "$python" ]; then
        printf '%-8s %-8s %s\n' "$version" "-" "skip: no interpreter (install it, or uv)"
        continue
    fi
    for django in "${DJANGOS[@]}"; do
        if ! django_installable "$python" "$django"; then
            printf '%-8s %-8s %s\n' "$version" "$django" "skip: pip cannot install Django $django for Python $version"
            continue
        fi
        if [ "$mode" = "--plan" ]; then
            printf '%-8s %-8s %s\n' "$version" "$django" "would run ($python)"
            continue
        fi
        venv=$(mktemp -d)/venv
        if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
            printf '%-8s %-8s %s\n' "$version" "$django" "fail: cannot create a virtualenv with $python"
            continue
        fi
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]" "Django==$django.*" >"$venv.log" 2>&1; then
            printf '%-8s %-8s %s\n' "$version" "$django" "fail: install ($venv.log)"
            continue
        fi
        tests=()
        if [ "$mode" = "--quick" ]; then tests=("${QUICK_TESTS[@]}"); fi
        log="${TMPDIR:-/tmp}/perfbudget-matrix-$version-$django.log"
        "$venv/bin/python" -m pytest -q -p no:cacheprovider ${tests[@]+"${tests[@]}"} >"$log" 2>&1
        code=$?  # pytest's exit code decides: a crash or "no tests ran" is no pass
        summary=$(tail -1 "$log")
        status=pass
        if [ "$code" != 0 ]; then status=fail; summary+=" (exit $code; log: $log)"; fi
        printf '%-8s %-8s %s: %s\n' "$version" "$django" "$status" "$summary"
        rm -rf "$(dirname "$venv")"
    done
done
