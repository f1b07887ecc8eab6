#!/usr/bin/env bash
# Build (or reuse) the Python 3.12 venv holding the official `lerobot` package, used by the interop
# test tier to prove that datasets written by robosplice load frame for frame in `LeRobotDataset`.
#
# Why a separate venv: lerobot pins torch, datasets and friends, and needs Python >= 3.12; none of
# that belongs in robosplice's own environment. The LAST line on stdout is the venv's python path.
#
# Environment:
#   ROBOSPLICE_INTEROP_VENV   venv location (default ${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-venv)
#   ROBOSPLICE_INTEROP_FORCE  set to 1 to re-run the install steps even if the marker is current
set -euo pipefail

NAME='interop-env'
REQUIREMENT='lerobot[dataset]==0.6.1'
VENV="${ROBOSPLICE_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-venv}"
MARKER="$VENV/.robosplice-interop-marker"
MARKER_TEXT="$REQUIREMENT python3.12 torchcodec-ok"
# shellcheck source=lib/py312-venv.sh
source "$(dirname "$0")/lib/py312-venv.sh"

torchcodec_ok() {
    # Importing the decoders loads torchcodec's native core, which needs the ffmpeg libraries.
    "$VENV/bin/python" -c 'import lerobot, torchcodec; from torchcodec.decoders import VideoDecoder' \
        >/dev/null 2>&1
}

install_into_venv() {
    log "installing $REQUIREMENT (pip output follows)"
    "$VENV/bin/python" -m pip install "$REQUIREMENT" >&2
    if ! torchcodec_ok; then
        log "torchcodec does not import after $REQUIREMENT: installing torchcodec"
        "$VENV/bin/python" -m pip install torchcodec >&2
        if ! torchcodec_ok; then
            "$VENV/bin/python" -c 'from torchcodec.decoders import VideoDecoder' >&2 || true
            die "torchcodec still does not import (is a compatible ffmpeg installed?)"
        fi
    fi
    log "ready: $("$VENV/bin/python" -c 'import lerobot, torchcodec; print("lerobot", lerobot.__version__, "torchcodec", torchcodec.__version__)')"
}

venv_main
