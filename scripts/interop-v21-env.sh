#!/usr/bin/env bash
# Build (or reuse) the Python 3.12 venv holding lerobot 0.3.3, the last release that reads LeRobot
# v2.1 datasets. The interop_v21 test tier loads `robosplice convert --to v2.1` outputs with it.
#
# lerobot 0.3.3 pins half the robotics stack (rerun, pynput, gymnasium, ...) that loading a dataset
# never touches, so it is installed with --no-deps on top of exactly what its dataset modules import:
# torch 2.7 / torchvision 0.22 / torchcodec 0.5 (a matching triple), datasets 3.6 (the last release
# whose parquet metadata dialect v2.1 readers share), PyAV, jsonlines, huggingface-hub.
#
# Idempotent: a marker file holding the pins makes reruns instant; concurrent builders wait on a
# lock. Progress goes to stderr; the LAST line on stdout is the venv's python path.
#
# Environment:
#   ROBOSPLICE_INTEROP_V21_VENV   venv location (default ${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-v21-venv)
#   ROBOSPLICE_INTEROP_FORCE      set to 1 to re-run the install steps even if the marker is current
set -euo pipefail

PINS=(
    'torch==2.7.1' 'torchvision==0.22.1' 'torchcodec==0.5' 'datasets==3.6.0'
    'av>=14.2,<16' 'jsonlines>=4' 'packaging>=24.2' 'pillow' 'huggingface-hub>=0.34.2,<1'
    'numpy<2.3'
)
LEROBOT='lerobot==0.3.3'
VENV="${ROBOSPLICE_INTEROP_V21_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-v21-venv}"
MARKER="$VENV/.robosplice-interop-v21-marker"
MARKER_TEXT="$LEROBOT ${PINS[*]} python3.12 ok"
NAME='interop-v21-env'
# shellcheck source=lib/py312-venv.sh
source "$(dirname "$0")/lib/py312-venv.sh"

loader_ok() {
    # The loader module and both video backends import.
    "$VENV/bin/python" -c 'import lerobot.datasets.lerobot_dataset, torchvision.io, av
from torchcodec.decoders import VideoDecoder' >/dev/null 2>&1
}

install_into_venv() {
    log "installing ${PINS[*]} (pip output follows)"
    "$VENV/bin/python" -m pip install "${PINS[@]}" >&2
    log "installing $LEROBOT without its robot/training dependencies"
    "$VENV/bin/python" -m pip install --no-deps "$LEROBOT" >&2
    if ! loader_ok; then
        "$VENV/bin/python" -c 'import lerobot.datasets.lerobot_dataset
from torchcodec.decoders import VideoDecoder' >&2 || true
        die "lerobot 0.3.3's dataset loader does not import"
    fi
    log "ready: $("$VENV/bin/python" -c 'import lerobot, torch, torchcodec, datasets; print("lerobot", lerobot.__version__, "torch", torch.__version__, "torchcodec", torchcodec.__version__, "datasets", datasets.__version__)')"
}

venv_main
