"""The container recipes' structure (building them takes minutes: `make image`, not the tests): docker/Dockerfile
is multi-stage with no compilers in the final stage, installs the dependencies before it copies the source, and
runs as a non-root user; docker/landcover_hpc.def (Apptainer) builds from the same install script, in two stages."""

import re
import shutil
import subprocess
import shlex
from pathlib import Path

BUILD_TOOLS = re.compile(r"^(g\+\+|gcc|cmake|build-essential|.*-dev)$")


def dockerfile_stages(path="docker/Dockerfile"):
    """[(FROM line, [(instruction, arguments), ...]), ...] with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", Path(path).read_text())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append((args, []))
        elif stages:
            stages[-1][1].append((instruction.upper(), " ".join(args.split())))
    return stages


def apt_packages(command):
    """The packages of every `apt-get install` in a shell command line."""
    packages = []
    for part in re.split(r"&&|;", command):
        words = shlex.split(part)
        if words[:2] == ["apt-get", "install"]:
            packages += [word for word in words[2:] if not word.startswith("-")]
    return packages


def test_dockerfile_is_multi_stage_without_compilers_in_the_final_image():
    stages = dockerfile_stages()
    assert len(stages) == 2 and stages[0][0].endswith("AS build")
    build, final = (steps for _, steps in stages)
    assert {"g++", "cmake", "libopenmpi-dev"} <= set(sum((apt_packages(a) for i, a in build if i == "RUN"), []))
    final_packages = sum((apt_packages(a) for i, a in final if i == "RUN"), [])
    assert {"openmpi-bin", "gdal-bin", "make", "python3.11"} <= set(final_packages)
    assert not [p for p in final_packages if BUILD_TOOLS.match(p)]
    assert ("COPY", "--from=build --chown=landcover:landcover /opt/landcover_hpc/.venv .venv") in final


def test_dockerfile_installs_the_dependencies_before_copying_the_source():
    build = dockerfile_stages()[0][1]
    position = {step: n for n, step in enumerate(build)}
    deps = position[("RUN", "bash scripts/install.sh --deps-only")]
    source = position[("COPY", ". .")]
    assert position[("COPY", "requirements.lock ./")] < deps < source
    assert position[("COPY", "scripts/install.sh scripts/")] < deps
    assert source < position[("RUN", "bash scripts/install.sh")]


def test_dockerfile_runs_make_demo_as_a_non_root_user_owning_the_workdir():
    final = dockerfile_stages()[1][1]
    users = [args for instruction, args in final if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    workdir = [args for instruction, args in final if instruction == "WORKDIR"][-1]
    assert ("RUN", f"chown {users[-1]}:{users[-1]} {workdir}") in final
    assert all(f"--chown={users[-1]}:{users[-1]}" in args for instruction, args in final if instruction == "COPY")
    assert final[-1] == ("CMD", '["make", "demo"]')


def test_apptainer_definition_builds_from_the_install_script_in_two_stages():
    text = Path("docker/landcover_hpc.def").read_text()
    stages = re.split(r"^Bootstrap:", text, flags=re.M)[1:]
    assert len(stages) == 2
    build, final = stages
    assert re.search(r"^Stage: build$", build, re.M) and re.search(r"^%files from build$", final, re.M)
    assert "bash /opt/landcover_hpc/scripts/install.sh" in build
    files = re.search(r"^%files\n(.*?)^\n", build, re.M | re.S).group(1)
    sources = [line.split()[0] for line in files.splitlines() if line.strip()]
    assert {"requirements.lock", "scripts", "landcover_hpc", "Makefile", "pyproject.toml"} <= set(sources)
    assert all(Path(source).exists() for source in sources), sources
    final_packages = sum((apt_packages(line.strip()) for line in final.splitlines()), [])
    assert {"openmpi-bin", "gdal-bin", "make", "python3.11"} <= set(final_packages)
    assert not [p for p in final_packages if BUILD_TOOLS.match(p)]
    assert re.search(r"^%runscript\n\s+exec make -C /opt/landcover_hpc demo", final, re.M)


def test_apptainer_definition_passes_the_package_index_and_ca_bundle_to_pip():
    """Behind a TLS-inspecting proxy pip needs the host's CA bundle: build arguments with defaults, in %post."""
    text = Path("docker/landcover_hpc.def").read_text()
    arguments = dict(line.split("=", 1) for line in
                     re.search(r"^%arguments\n(.*?)^\n", text, re.M | re.S).group(1).split())
    assert arguments == {"PIP_INDEX_URL": "https://pypi.org/simple",
                         "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"}
    post = re.search(r"^%post\n(.*?)^\n", text, re.M | re.S).group(1)
    assert 'PIP_INDEX_URL="{{ PIP_INDEX_URL }}"' in post and 'PIP_CERT="{{ PIP_CERT }}"' in post
    assert post.index("PIP_CERT=") < post.index("scripts/install.sh")


def test_make_sif_without_apptainer_says_so_in_one_line_with_exit_code_2(tmp_path):
    bin_dir = tmp_path / "bin"  # the tools image.sh needs before its check, and no apptainer
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "python3"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    run = subprocess.run(["bash", "scripts/image.sh", "--apptainer"], capture_output=True, text=True,
                         env={"PATH": str(bin_dir), "PIP_CERT": "/nonexistent"})
    assert run.returncode == 2, run.stderr
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert len(lines) == 1 and "apptainer not found on PATH" in lines[0], lines
    assert not list(Path(".").glob("*.partial.sif"))
