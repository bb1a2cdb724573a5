"""Import every production module, as installed by a plain `pip install .`.

Run it with the fresh virtualenv's python (`.ci/run` does): the packages to walk are the
ones pyproject's `[tool.setuptools.packages.find]` includes, read from the source tree;
the modules themselves must come from the installed copy, so a module that needs a
package only the `test` extra brings, or a file the install leaves out, fails here with
its ImportError.  Imports inside functions (deliberately lazy ones, e.g. a heavy library
only one operation needs) are found in each module's syntax tree and looked up as well,
since importing the module alone never runs them (looked up with find_spec, not run:
running pymatting's would spend most of a minute compiling its numba code).  Celery's Django fixup puts the working directory on sys.path, so the
script first moves to an empty one: otherwise the checkout would shadow the install.
Migrations and management commands are imported too.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import importlib.util
import os
import sys
import tempfile
import tomllib
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    modules = []
    for init in sorted(ROOT.rglob("__init__.py")):
        package = ".".join(init.parent.relative_to(ROOT).parts)
        if not any(fnmatch.fnmatchcase(package, pattern) for pattern in include):
            continue
        for source in sorted(init.parent.glob("*.py")):
            modules.append(package if source.name == "__init__.py" else f"{package}.{source.stem}")
    return modules


def imported_names(module: str) -> set[str]:
    """Every absolute module a production module imports, at any depth of its code."""
    path = ROOT.joinpath(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    names = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            names.add(node.module)
    return names


def try_import(name: str, failed: list[str]) -> object | None:
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - report every broken module, not just the first
        failed.append(name)
        print(f"--- {name}\n{traceback.format_exc()}", file=sys.stderr)
        return None


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="import-all-") as empty:
        os.chdir(empty)
        return check()


def check() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # whitenoise: no collectstatic here

    django.setup()
    failed = []
    modules = production_modules()
    for name in modules:
        module = try_import(name, failed)
        if module is not None and ROOT in Path(module.__file__).resolve().parents:
            failed.append(name)
            print(f"--- {name} was imported from the source tree, not the install", file=sys.stderr)
    lazy = set().union(*map(imported_names, modules)) - set(modules) - set(sys.modules)
    for name in sorted(lazy):
        if not installed(name):
            failed.append(name)
            print(f"--- {name} is imported inside a function but is not installed", file=sys.stderr)
    print(f"import_all: {len(modules)} production modules and {len(lazy)} more modules they import "
          f"inside functions, {len(failed)} failed, from a plain install")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
