#!/usr/bin/env bash
# The one install path of landcover_hpc, used by `make install` (and so by `make demo`, `make test`,
# .ci/run) and by docker/Dockerfile:
#   1. system packages when missing: Open MPI with headers, GDAL command-line tools, a C++ toolchain;
#   2. a virtual environment .venv in the repository with the pinned dependencies of requirements.lock;
#   3. horovod 0.28.1 built from source against that Open MPI and TensorFlow only;
#   4. landcover_hpc itself, installed editable.
# `scripts/install.sh --with-slurm` (make test-slurm) also installs Slurm and munge when missing, for the tests
# that run the batch scripts under a real single-node Slurm (tests/slurm).
# `scripts/install.sh --deps-only` stops after step 3 and needs only this script and requirements.lock: the
# container image (docker/Dockerfile) installs the dependencies in a layer of their own, before the source.
# Re-running it when everything is in place takes seconds (a stamp keyed on the lock file, pyproject.toml
# (console scripts) and this script).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3.11}
HOROVOD_VERSION=0.28.1
STAMP=$VENV/.landcover-install-stamp
WITH_SLURM=0
DEPS_ONLY=0
case "${1:-}" in
    --with-slurm) WITH_SLURM=1 ;;
    --deps-only) DEPS_ONLY=1 ;;
    "") ;;
    *) echo "usage: scripts/install.sh [--with-slurm | --deps-only]" >&2; exit 2 ;;
esac

log() { printf '[install] %s\n' "$*"; }

# pip of the venv, without the notices some machines' pip configuration prints for absent local indexes
vpip() {
    "$VENV/bin/python" -m pip "$@" 2> >(grep -v "is neither a file nor a directory" >&2)
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $* (install these system packages, or run as root)"; exit 2; fi
}

install_system_packages() {
    local missing=()
    command -v mpicc >/dev/null || missing+=(libopenmpi-dev)
    command -v mpirun >/dev/null || missing+=(openmpi-bin)
    command -v gdalinfo >/dev/null || missing+=(gdal-bin)
    command -v g++ >/dev/null || missing+=(g++)
    command -v make >/dev/null || missing+=(make)
    command -v cmake >/dev/null || missing+=(cmake)
    command -v shellcheck >/dev/null || missing+=(shellcheck)
    command -v "$PYTHON" >/dev/null || missing+=(python3.11 python3.11-venv python3.11-dev)
    if [ "$WITH_SLURM" = 1 ]; then  # the daemons live in /usr/sbin, often not on a user's PATH
        PATH=$PATH:/usr/sbin command -v slurmctld >/dev/null && PATH=$PATH:/usr/sbin command -v slurmd >/dev/null &&
            command -v sbatch >/dev/null || missing+=(slurm-wlm)
        PATH=$PATH:/usr/sbin command -v munged >/dev/null || missing+=(munge)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing system packages: ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

install_stamp() {
    cat requirements.lock pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1
}

up_to_date() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(install_stamp)" ] &&
        TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" -c "import horovod.tensorflow" 2>/dev/null
}

exit_if_up_to_date() {
    if up_to_date; then log "environment up to date ($VENV)"; exit 0; fi
}

# An up-to-date environment needs no build tools: checked before the system packages, so that a runtime-only
# machine (the container image's final stage: no compiler, not root) runs `make demo` as it is. With
# --with-slurm the Slurm packages are checked first; --deps-only always reinstalls the dependencies.
[ "$WITH_SLURM" = 1 ] || [ "$DEPS_ONLY" = 1 ] || exit_if_up_to_date
install_system_packages
[ "$WITH_SLURM" = 0 ] || exit_if_up_to_date

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
export PIP_DISABLE_PIP_VERSION_CHECK=1
vpip install -q --upgrade "pip==24.3.1" "setuptools==75.6.0" "wheel==0.45.1"
log "installing pinned dependencies (requirements.lock)"
vpip install -q -r requirements.lock

if ! "$VENV/bin/python" -c "import horovod.tensorflow, horovod; assert horovod.__version__ == '$HOROVOD_VERSION'" 2>/dev/null; then
    log "building horovod $HOROVOD_VERSION from source (MPI + TensorFlow only; about 2-3 minutes)"
    # No build isolation: horovod must compile against the TensorFlow of this venv.
    HOROVOD_WITH_MPI=1 HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 \
    HOROVOD_WITHOUT_GLOO=1 MAKEFLAGS="-j$(nproc)" \
        vpip install -q --no-build-isolation "horovod==$HOROVOD_VERSION"
fi

if [ "$DEPS_ONLY" = 1 ]; then
    log "dependencies done: $VENV (landcover_hpc itself not installed: --deps-only)"
    exit 0
fi

log "installing landcover_hpc (editable)"
vpip install -q --no-deps --no-build-isolation -e .
TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" -c "import horovod.tensorflow.keras, mpi4py, rasterio, h5py, landcover_hpc"
install_stamp > "$STAMP"
log "done: $VENV"
