"""The Binder set-up agrees with the project: the right Python, the lab extra, the quickstart.

mybinder.org builds the repository with repo2docker. When a ``binder/``
folder exists, repo2docker reads only the configuration files in it:
``runtime.txt`` picks the Python version (ignored if an ``environment.yml``
is present), and ``postBuild`` runs from the repository root afterwards.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

BADGE = re.compile(
    r"\(https://mybinder\.org/v2/gh/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)/(?P<ref>[\w.-]+)"
    r"\?urlpath=lab/tree/(?P<path>[^)\s]+)\)"
)


def _post_build_commands() -> list[list[str]]:
    lines = (BINDER / "postBuild").read_text().splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_runtime_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt must read python-X.Y, got {runtime!r}"
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert requires.contains(match.group(1)), f"{runtime} does not satisfy requires-python {requires}"


def test_runtime_txt_is_not_overridden():
    # An environment.yml would make repo2docker ignore runtime.txt; a Dockerfile would ignore everything.
    for name in ("environment.yml", "Dockerfile", "Pipfile", "Project.toml", "default.nix"):
        assert not (BINDER / name).exists(), f"binder/{name} would override binder/runtime.txt and binder/postBuild"
    assert not (ROOT / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"


def test_post_build_is_an_executable_strict_bash_script():
    path = BINDER / "postBuild"
    assert os.access(path, os.X_OK), "binder/postBuild must be executable"
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert ["set", "-euo", "pipefail"] in _post_build_commands()


def test_post_build_installs_the_checkout_with_the_lab_extra():
    installs = [cmd for cmd in _post_build_commands() if cmd[:4] == ["python", "-m", "pip", "install"]]
    assert len(installs) == 1, "binder/postBuild should install qlab once, with python -m pip install"
    args = installs[0]
    assert "-e" in args, "install the checkout in editable mode so notebooks use its qlab"
    target = args[args.index("-e") + 1]
    package, _, extras = target.partition("[")
    assert package == "."
    assert "lab" in extras.rstrip("]").split(",")


def test_lab_extra_brings_jupyterlab_and_a_kernel():
    lab = PYPROJECT["project"]["optional-dependencies"]["lab"]
    names = {re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower() for req in lab}
    assert {"jupyterlab", "ipykernel"} <= names


def test_readme_badge_opens_the_quickstart_in_lab():
    badges = list(BADGE.finditer((ROOT / "README.md").read_text()))
    assert badges, "README.md has no Binder link with ?urlpath=lab/tree/..."
    for badge in badges:
        assert badge["path"] == "notebooks/00_quickstart.ipynb"
        assert (ROOT / badge["path"]).is_file()


def _make_recipe(target: str) -> str:
    """The commands make runs for ``target`` and its install prerequisites (dry run)."""
    return subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), target, "PYTHON=python3"], capture_output=True, text=True, check=True
    ).stdout


def _installed_extras(recipe: str) -> list[set[str]]:
    return [set(m.split(",")) for m in re.findall(r'pip install -e "\.\[([\w,]+)\]"', recipe)]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_installs_only_the_lab_extra_and_make_test_adds_the_test_extra():
    assert _installed_extras(_make_recipe("lab")) == [{"lab"}]
    assert _installed_extras(_make_recipe("test")) == [{"lab", "test"}]


def test_the_distribution_name_is_not_the_unrelated_pypi_qlab_and_the_readme_gives_the_pip_route():
    name = PYPROJECT["project"]["name"]
    assert name != "qlab" and PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["qlab*"]
    head = (ROOT / "README.md").read_text().split("## ")[0]
    assert "make lab" in head and "make test" in head
    assert 'pip install ".[lab]"' in head and f"`{name}`" in head


# ------------------------------------------------------------- pinned environment
REQUIREMENTS = BINDER / "requirements.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"binder/requirements.txt: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_requirements_pin_every_dependency_of_the_lab():
    pins = _pins()
    wanted = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["lab"]
    for requirement in wanted:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]).lower()
        assert name in pins, f"binder/requirements.txt does not pin {name}"
        spec = SpecifierSet(requirement[len(re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]):].split("]")[-1].strip())
        assert spec.contains(pins[name]), f"{name}=={pins[name]} in binder/requirements.txt does not satisfy {requirement!r}"


def test_post_build_warms_the_numba_cache():
    warm = [cmd for cmd in _post_build_commands() if cmd[:2] == ["python", "-c"]]
    assert warm and "warm()" in warm[0][2]


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_binder_setup_installs_into_a_fresh_venv_and_runs_the_quickstart(tmp_path):
    """What repo2docker does, in a fresh virtual environment: requirements, postBuild, then the quickstart."""
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data")}  # no user kernel specs: the venv's own kernel runs
    env.pop("PYTHONPATH", None)
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-compile", "-r", REQUIREMENTS],
                             env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    post = subprocess.run([BINDER / "postBuild"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert post.returncode == 0, post.stderr[-3000:]
    freeze = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], env=env, capture_output=True, text=True)
    installed = {re.sub(r"[-_.]+", "-", n).lower(): v for n, _, v in
                 (line.partition("==") for line in freeze.stdout.splitlines() if "==" in line)}
    assert {name: installed.get(name) for name in _pins()} == _pins(), "postBuild changed pinned versions"
    run = subprocess.run(
        [python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", tmp_path / "out.ipynb",
         ROOT / "notebooks" / "00_quickstart.ipynb"],
        cwd=ROOT / "notebooks", env={**env, "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
