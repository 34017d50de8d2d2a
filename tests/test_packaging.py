"""The package installs anywhere: a built wheel, installed non-editable into a fresh virtual environment,
runs its commands from a folder outside the repository (everything they read by default is package data).

The wheel is built offline (``pip wheel --no-deps --no-build-isolation``, with the setuptools and wheel that
scripts/install.sh puts in the venv) from a copy of the sources, so the checkout gets no ``build/`` or
``*.egg-info``. The fresh venv sees the dependencies of the test's venv through a ``.pth`` file that lists its
site-packages as a plain path: the ``__editable__`` hook of that venv is a ``.pth`` file itself, which a path
added this way does not run, so the only ``landcover_hpc`` there is the wheel's own copy (asserted).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.cfg", "README.md", "landcover_hpc")  # what the build reads


def _run(cmd: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``bin/`` of a fresh venv holding the wheel of this checkout (no network, no dependencies installed)."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}
    env.pop("PYTHONPATH", None)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", source,
          "-w", root / "dist"], cwd=root, env=env)
    wheel, = (root / "dist").glob("landcover_hpc-*.whl")

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel],
         cwd=root, env=env)
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=root).stdout.strip())
    (site_packages / "main_venv_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


@pytest.fixture
def outside(tmp_path) -> tuple[Path, dict]:
    """A working folder outside the repository, and an environment that does not point at the checkout."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    work = tmp_path / "work"
    work.mkdir()
    return work, env


@pytest.mark.slow
def test_the_wheel_imports_its_own_copy_with_the_nomenclature_as_package_data(installed, outside):
    work, env = outside
    done = _run([installed / "python", "-c", "import landcover_hpc, landcover_hpc.nomenclature as n; "
                 "print(landcover_hpc.__file__); print(n.DEFAULT_NOMENCLATURE); print(len(n.load_nomenclature()))"],
                cwd=work, env=env)
    package, nomenclature, classes = done.stdout.split()
    venv = installed.parent
    assert Path(package).is_relative_to(venv), f"landcover_hpc imported from {package}, not from the wheel"
    assert Path(nomenclature).is_relative_to(venv) and not Path(nomenclature).is_relative_to(REPO)
    assert int(classes) == 17


@pytest.mark.slow
def test_the_installed_commands_run_outside_the_repository(installed, outside):
    work, env = outside
    _run([installed / "landcover-synth", "--out", "tiles", "--tiles", "T31UDQ", "--size", "64", "--dates", "4"],
         cwd=work, env=env)
    assert {p.name for p in (work / "tiles" / "T31UDQ").iterdir()} >= {"stack.tif", "reference.gpkg"}
    _run([installed / "landcover-prepare", "--input", "tiles", "--out", "store", "--patch-size", "32"],
         cwd=work, env=env)
    assert (work / "store" / "T31UDQ.h5").is_file() and (work / "store" / "dataset.json").is_file()

    printed = _run([installed / "landcover-train", "--print-config", "data.store=store"], cwd=work, env=env)
    assert "store: store" in printed.stdout
    for command in ("landcover-predict", "landcover-evaluate"):
        assert "usage:" in _run([installed / command, "--help"], cwd=work, env=env).stdout
    assert sorted(p.name for p in work.iterdir()) == ["store", "tiles"]  # nothing else written where it runs


def test_the_users_copy_of_the_nomenclature_is_the_packaged_one():
    """configs/nomenclature.yaml is there for users to read and copy; the code reads the packaged file."""
    from landcover_hpc.nomenclature import DEFAULT_NOMENCLATURE

    assert (REPO / "configs" / "nomenclature.yaml").read_bytes() == DEFAULT_NOMENCLATURE.read_bytes()
