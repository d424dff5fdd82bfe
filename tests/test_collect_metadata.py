"""The run's project identity: from configuration or the repository, so a renamed checkout keeps its baseline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from perfbudget.collect.metadata import project_name


def _git(directory: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=directory, check=True, capture_output=True)


def test_the_environment_and_pyproject_name_it_first(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    assert project_name(tmp_path, {}) == "shop"
    assert project_name(tmp_path, {"PERFBUDGET_PROJECT": "shop-api", "GITHUB_REPOSITORY": "acme/shop"}) == "shop-api"


def test_in_actions_the_repository_and_the_path_in_the_workspace_name_it(tmp_path: Path) -> None:
    api = tmp_path / "checkout" / "services" / "api"
    api.mkdir(parents=True)
    env = {"GITHUB_REPOSITORY": "acme/shop", "GITHUB_WORKSPACE": str(tmp_path / "checkout")}
    assert project_name(api, env) == "acme/shop/services/api"
    assert project_name(tmp_path / "checkout", env) == "acme/shop"
    renamed = tmp_path / "renamed"
    (tmp_path / "checkout").rename(renamed)
    assert project_name(renamed / "services" / "api", {**env, "GITHUB_WORKSPACE": str(renamed)}) == "acme/shop/services/api"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("remote", ["git@github.com:acme/shop.git", "https://github.com/acme/shop", "https://github.com/acme/shop.git/"])
def test_outside_actions_the_origin_remote_names_it_whatever_the_directory_is_called(tmp_path: Path, remote: str) -> None:
    checkout = tmp_path / "my-local-copy"
    (checkout / "web").mkdir(parents=True)
    _git(checkout, "init", "-q")
    _git(checkout, "remote", "add", "origin", remote)
    assert project_name(checkout / "web", {}) == "acme/shop/web"
    checkout.rename(tmp_path / "renamed")
    assert project_name(tmp_path / "renamed" / "web", {}) == "acme/shop/web"


def test_without_configuration_or_repository_the_directory_names_it(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert project_name(plain, {}) == "plain"  # tmp_path is in no git repository
