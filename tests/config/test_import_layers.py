"""The import layers (pyproject's [tool.importlinter], docs/architecture.md): the
contracts hold on this tree and break on an upward import; the hooks through which the
asset layer reaches higher layers are all filled once Django is ready."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assets import hooks

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "core", "assets", "transforms", "refiners", "studio")
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(cwd: Path) -> subprocess.CompletedProcess:
    # import-linter puts the working directory first on sys.path: the tree in `cwd` is analysed.
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_them(tmp_path):
    """A copy of the tree where the asset layer imports the Studio: lint-imports fails
    and names the import."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    metadata = tmp_path / "assets" / "metadata.py"
    metadata.write_text(metadata.read_text() + "\nimport studio  # noqa: E402\n")
    result = lint(tmp_path)
    assert result.returncode == 1
    assert "assets is not allowed to import studio" in result.stdout
    assert "assets.metadata -> studio" in result.stdout


@pytest.mark.parametrize("name", sorted(hooks.NAMES))
def test_every_hook_is_provided_once_django_is_ready(name):
    assert hooks.hook(name) is not None


def test_an_unknown_hook_is_refused():
    with pytest.raises(ValueError):
        hooks.provide("no_such_hook", object())
