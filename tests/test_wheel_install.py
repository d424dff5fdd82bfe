"""The built wheel, installed into a fresh virtualenv, records a plain pytest project and a new Django project.

The wheel is built from this checkout (``pip wheel``: the build backend comes
from the package registry, as on CI); the virtualenv sees the running
environment's site-packages for pytest and Django (as path entries, so this
checkout's editable install is not), and imports the wheel's perfbudget,
which the first test checks.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: object, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=None)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    built = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, ROOT)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = dist.glob("perfbudget-*.whl")
    path = tmp_path_factory.mktemp("venv") / "venv"
    assert _run(sys.executable, "-m", "venv", path).returncode == 0
    # The test tools (pytest, Django) from the environment running this test, as plain path entries: their
    # .pth files (this checkout's editable perfbudget) are not read, so the venv's perfbudget is the wheel's.
    purelib = _run(path / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    tools = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_test_tools.pth").write_text("\n".join(sorted(tools)) + "\n")
    installed = _run(path / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return path


def _new_project(venv: Path, directory: Path) -> Path:
    """``django-admin startproject mysite`` and ``startapp shop`` in ``directory``; returns the venv's Python."""
    python = venv / "bin" / "python"
    assert _run(python, "-m", "django", "startproject", "mysite", directory).returncode == 0
    assert _run(python, "manage.py", "startapp", "shop", cwd=directory).returncode == 0
    return python


def test_the_wheel_is_the_perfbudget_imported(venv: Path, tmp_path: Path) -> None:
    where = _run(venv / "bin" / "python", "-c", "import perfbudget; print(perfbudget.__file__)", cwd=tmp_path)
    assert str(venv) in where.stdout, where.stdout + where.stderr
    shipped = _run(
        venv / "bin" / "python",
        "-c",
        "import importlib.resources as r; print(r.files('perfbudget') / 'schema' / 'perfbudget.schema.json')",
        cwd=tmp_path,
    )
    assert Path(shipped.stdout.strip()).is_file()


def test_a_plain_pytest_project(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "test_maths.py").write_text("def test_sum():\n    assert sum(range(4)) == 6\n")
    done = _run(venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--perf-budget", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 tests recorded: 1 passed\n" in done.stdout  # no Django: no URL count
    assert (tmp_path / ".perfbudget" / "results.ndjson.gz").is_file()


def test_a_new_django_project_with_pytest_django(venv: Path, tmp_path: Path) -> None:
    pytest.importorskip("pytest_django", reason="needs pytest-django")
    python = _new_project(venv, tmp_path)
    (tmp_path / "shop" / "tests.py").write_text(
        "from django.contrib.auth.models import User\nfrom django.test import TestCase\n\n\n"
        "class ShopTests(TestCase):\n"
        "    def test_users(self):\n        User.objects.create(username='ada')\n        self.assertEqual(User.objects.count(), 1)\n\n"
        "    def test_login_page(self):\n        self.assertEqual(self.client.get('/admin/login/').status_code, 200)\n"
    )
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--perf-budget", "--ds=mysite.settings"]
    done = _run(python, *args, "-o", "python_files=tests.py test_*.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 tests recorded: 2 passed; 1 URLs" in done.stdout and "GET /admin/login/" in done.stdout


def test_a_new_django_project_with_manage_py_test(venv: Path, tmp_path: Path) -> None:
    python = _new_project(venv, tmp_path)
    (tmp_path / "shop" / "tests.py").write_text(
        "from django.contrib.auth.models import User\nfrom django.test import TestCase\n\n\n"
        "class ShopTests(TestCase):\n    def test_users(self):\n        User.objects.create(username='ada')\n"
        "        self.assertEqual(User.objects.count(), 1)\n"
    )
    done = _run(python, "manage.py", "test", "--testrunner", "perfbudget.django.PerfBudgetRunner", "--perf-budget", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 tests recorded: 1 passed; 0 URLs" in done.stderr
    assert (tmp_path / ".perfbudget" / "results.ndjson.gz").is_file()
