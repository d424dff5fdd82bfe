#!/usr/bin/env bash
# Install perfbudget into the environment the tests run in (the action's install step).
#
# INPUT_INSTALL: auto | true | false. "true" pip-installs into `python` on PATH;
# "auto" looks for a uv, poetry or pipenv project, an active virtualenv or a
# .venv first, and installs there. Prints `python=...` for GITHUB_OUTPUT: the
# command that runs that environment's Python (`uv run python`, `poetry run
# python`, `.venv/bin/python`, ...), which the action's later steps and its
# default test command use. A project tool that is missing is an error that
# says exactly which setup step to add. PEP 668 ("externally managed") system
# Pythons are installed into with --break-system-packages, and say so. Only
# the python= line goes to stdout (GITHUB_OUTPUT); the tools' output goes to stderr.
set -euo pipefail

mode="${INPUT_INSTALL:-auto}"
spec="${PERFBUDGET_SPEC:-${GITHUB_ACTION_PATH:?}[github]}"  # the github extra: comments and baselines
pip_args=(--disable-pip-version-check --quiet)

say() { echo "perfbudget install: $*" >&2; }
fail() { echo "::error title=perfbudget install::$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$2"; }

pip_into() {  # pip_into PYTHON [extra pip args...]
    local python="$1"; shift
    local extra=()
    if "$python" - <<'PY'
import sys, sysconfig, os
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if os.path.exists(marker) and sys.prefix == sys.base_prefix else 1)
PY
    then
        say "$python is externally managed (PEP 668); installing with --break-system-packages"
        extra=(--break-system-packages)
    fi
    "$python" -m pip install "${pip_args[@]}" "${extra[@]}" "$@" "$spec" >&2  # stdout is for GITHUB_OUTPUT
}

case "$mode" in
    false)
        say "install: false; perfbudget must already be installed where the tests run"
        echo "python=python"
        exit 0
        ;;
    true)
        pip_into python
        echo "python=python"
        exit 0
        ;;
    auto) ;;
    *) fail "install must be auto, true or false, not '$mode'" ;;
esac

if [ -f uv.lock ]; then
    need uv "uv.lock found but uv is not installed: add 'uses: astral-sh/setup-uv' before perfbudget (or set install: false)"
    [ -d .venv ] || uv sync --frozen >&2
    say "uv project: installing into .venv"
    uv pip install --quiet --python .venv "$spec" >&2
    echo "python=uv run python"
elif [ -f poetry.lock ]; then
    need poetry "poetry.lock found but poetry is not installed: add 'run: pipx install poetry' before perfbudget (or set install: false)"
    say "poetry project: installing into poetry's environment"
    poetry run python -m pip install "${pip_args[@]}" "$spec" >&2
    echo "python=poetry run python"
elif [ -f Pipfile.lock ]; then
    need pipenv "Pipfile.lock found but pipenv is not installed: add 'run: pipx install pipenv' before perfbudget (or set install: false)"
    say "pipenv project: installing into pipenv's environment"
    pipenv run python -m pip install "${pip_args[@]}" "$spec" >&2
    echo "python=pipenv run python"
elif [ -n "${VIRTUAL_ENV:-}" ]; then
    say "active virtualenv $VIRTUAL_ENV"
    pip_into "$VIRTUAL_ENV/bin/python"
    echo "python=$VIRTUAL_ENV/bin/python"
elif [ -x .venv/bin/python ]; then
    say ".venv found: installing there; the tests run with .venv/bin/python"
    pip_into .venv/bin/python
    echo "python=.venv/bin/python"
else
    pip_into python
    echo "python=python"
fi
