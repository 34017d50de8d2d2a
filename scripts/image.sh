#!/usr/bin/env bash
# `make image`: build the container image of docker/Dockerfile with podman, on a machine that reaches no
# container registry (only Debian's package mirror and the Python package index):
#   1. podman, runc and debootstrap from apt when missing (root);
#   2. the base image made from Debian packages: debootstrap --variant=minbase bookworm, tar | podman import
#      -> localhost/debian:bookworm (once; IMAGE_REBASE=1 makes it again);
#   3. podman build of docker/Dockerfile on that base -> localhost/landcover_hpc:latest, and its size;
#   4. with IMAGE_SMOKE=1, a smoke run inside the image as its non-root user: landcover-synth and
#      landcover-prepare on one small tile (the whole `make demo` inside: podman run ... make demo).
# `make sif` (`image.sh --apptainer`): the Apptainer image of docker/landcover_hpc.def instead, with the
# apptainer on PATH (as root, with debootstrap), written to SIF (landcover_hpc.sif) under a temporary name
# and renamed when complete; SIF_BUILD_FLAGS adds flags to `apptainer build` (e.g. --notest where root may
# not start containers); IMAGE_SMOKE=1 runs `apptainer test` and the same smoke test with `apptainer exec`.
# Settings that work with Debian's podman 4.3 on machines whose cgroups and ulimits podman cannot manage: a
# containers.conf with `default_ulimits = []` (CONTAINERS_CONF), `--runtime runc --cgroup-manager=cgroupfs`
# (crun fails there), and `podman build --isolation chroot`. Printed commands can be re-run by hand.
# Environment: IMAGE (localhost/landcover_hpc:latest), BASE_IMAGE (localhost/debian:bookworm), DEBIAN_MIRROR
# (the machine's own apt mirror), PIP_INDEX_URL (the machine's pip index, else https://pypi.org/simple),
# PIP_CERT (the CA bundle pip trusts here), IMAGE_WORK (scratch folder for the base's root file system,
# /var/tmp/landcover_image), SIF (landcover_hpc.sif).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/landcover_hpc:latest}
BASE_IMAGE=${BASE_IMAGE:-localhost/debian:bookworm}
WORK=${IMAGE_WORK:-/var/tmp/landcover_image}
log() { printf '[image] %s\n' "$*"; }
SMOKE='set -e; id -un; landcover-synth --out /tmp/s/tiles --tiles T31UDQ --size 64 --seed 0 --no-sentinel1
    mpirun -n 2 landcover-prepare --input /tmp/s/tiles --out /tmp/s/store --patch-size 32 --stride 16
    ls -l /tmp/s/store'

INDEX=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
INDEX=${INDEX:-https://pypi.org/simple}
# pip inside the build trusts the CA bundle pip trusts here (a TLS-inspecting proxy's CA is in it, not Debian's)
CERT=${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}
CERT=${CERT:-/etc/ssl/certs/ca-certificates.crt}

if [ "${1:-}" = --apptainer ]; then
    SIF=${SIF:-landcover_hpc.sif}
    command -v apptainer >/dev/null || { log "apptainer not found on PATH: install it (Debian bookworm has no \
package; README, 'Apptainer', shows how this image was built with Debian's own)"; exit 2; }
    read -ra build_args <<< "${SIF_BUILD_FLAGS:-}"
    if [ -f "$CERT" ]; then  # its folder, read-only on /mnt: a bound file needs a destination in the image
        cert=$(readlink -f "$CERT")
        build_args+=(--bind "$(dirname "$cert"):/mnt:ro" --build-arg PIP_CERT="/mnt/$(basename "$cert")")
    fi
    partial=${SIF%.sif}.partial.sif
    log "building $SIF from docker/landcover_hpc.def (pip index $INDEX, CA bundle $CERT)"
    start=$SECONDS
    apptainer build --force "${build_args[@]}" --build-arg PIP_INDEX_URL="$INDEX" "$partial" docker/landcover_hpc.def
    mv -f "$partial" "$SIF"
    log "built $SIF in $((SECONDS - start)) s, size $(du -h "$SIF" | cut -f1)"
    if [ "${IMAGE_SMOKE:-0}" = 1 ]; then
        log "smoke run: apptainer test, then landcover-synth + landcover-prepare on one 64 px tile"
        apptainer test "$SIF"
        apptainer exec --containall "$SIF" bash -c "$SMOKE"
    fi
    log "run the demo: apptainer run $SIF  (output in ./landcover_demo)"
    exit 0
fi


if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! PATH=$PATH:/usr/sbin command -v debootstrap >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { log "need podman, runc and debootstrap (apt-get install podman runc debootstrap, as root)"; exit 2; }
    log "installing podman, runc, debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc debootstrap >/dev/null
fi
export PATH=$PATH:/usr/sbin

mkdir -p "$WORK"
if [ -z "${CONTAINERS_CONF:-}" ]; then
    export CONTAINERS_CONF=$WORK/containers.conf
    printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
fi
podman() { command podman --runtime runc --cgroup-manager=cgroupfs "$@"; }

# The machine's Debian mirror: the first deb.debian.org-like URI of its apt sources (deb822 or one-line).
debian_mirror() {
    local uri
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE '(https?|ftp)://[^ ]*/debian/?( |$)' | grep -v -- '-security' | head -n1 | tr -d ' ' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

if [ "${IMAGE_REBASE:-0}" = 1 ] || ! podman image exists "$BASE_IMAGE"; then
    MIRROR=${DEBIAN_MIRROR:-$(debian_mirror)}
    log "base image $BASE_IMAGE: debootstrap --variant=minbase bookworm from $MIRROR"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" > "$WORK/debootstrap.log" ||
        { tail -n 20 "$WORK/debootstrap.log" >&2; exit 1; }
    rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*  # 80 MB of apt caches
    tar -C "$WORK/rootfs" -c . | podman import - "$BASE_IMAGE" > /dev/null
    rm -rf "$WORK/rootfs"
fi

cert_args=()
[ -f "$CERT" ] && cert_args=(--volume "$(readlink -f "$CERT"):/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
log "building $IMAGE on $BASE_IMAGE (pip index $INDEX, CA bundle ${CERT})"
start=$SECONDS
podman build --isolation chroot --network host -f docker/Dockerfile --ignorefile docker/Dockerfile.dockerignore \
    --build-arg BASE="$BASE_IMAGE" --build-arg PIP_INDEX_URL="$INDEX" "${cert_args[@]}" -t "$IMAGE" .
log "built $IMAGE in $((SECONDS - start)) s"
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^($IMAGE|$BASE_IMAGE) " | sed 's/^/[image] size /'

if [ "${IMAGE_SMOKE:-0}" = 1 ]; then
    log "smoke run as the image's user: landcover-synth + landcover-prepare on one 64 px tile"
    podman run --rm "$IMAGE" bash -c "$SMOKE"
fi
log "run the demo inside: CONTAINERS_CONF=$CONTAINERS_CONF podman --runtime runc --cgroup-manager=cgroupfs run --rm $IMAGE"
