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
PY_VERSION='3.12'
PYENV_PY='3.12.1'
VENV="${ROBOSPLICE_INTEROP_V21_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-v21-venv}"
MARKER="$VENV/.robosplice-interop-v21-marker"
MARKER_TEXT="$LEROBOT ${PINS[*]} python$PY_VERSION ok"

log() { printf 'interop-v21-env: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_ffmpeg() {
    # torchcodec dlopens the system libavcodec/libavformat libraries.
    command -v ffmpeg >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        log "ffmpeg missing: installing Debian ffmpeg with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >&2
    else
        log "WARNING: ffmpeg not found and not root; torchcodec may fail to load (install ffmpeg)"
    fi
}

find_python() {
    if python3.12 -c 'import sys' >/dev/null 2>&1; then echo "python3.12"; return 0; fi
    if PYENV_VERSION="$PYENV_PY" python3.12 -c 'import sys' >/dev/null 2>&1; then
        echo "PYENV_VERSION=$PYENV_PY python3.12"; return 0
    fi
    local root="${PYENV_ROOT:-$HOME/.pyenv}" cand
    for cand in "$root"/versions/3.12*/bin/python3.12; do
        [ -x "$cand" ] && "$cand" -c 'import sys' >/dev/null 2>&1 && { echo "$cand"; return 0; }
    done
    return 1
}

venv_python_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c \
        "import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)" >/dev/null 2>&1
}

loader_ok() {
    # The loader module and both video backends import.
    "$VENV/bin/python" -c 'import lerobot.datasets.lerobot_dataset, torchvision.io, av
from torchcodec.decoders import VideoDecoder' >/dev/null 2>&1
}

marker_current() {
    [ "${ROBOSPLICE_INTEROP_FORCE:-0}" != "1" ] && [ -f "$MARKER" ] \
        && [ "$(cat "$MARKER")" = "$MARKER_TEXT" ] && venv_python_ok && command -v ffmpeg >/dev/null 2>&1
}

build() {
    ensure_ffmpeg
    if ! venv_python_ok; then
        [ -e "$VENV" ] && { log "venv at $VENV is broken or not Python $PY_VERSION: recreating"; rm -rf "$VENV"; }
        local py
        py="$(find_python)" || die "no Python $PY_VERSION found (tried python3.12, PYENV_VERSION=$PYENV_PY)"
        log "creating venv at $VENV with: $py"
        mkdir -p "$(dirname "$VENV")"
        # shellcheck disable=SC2086  # $py may carry a PYENV_VERSION=... prefix
        env $py -m venv "$VENV" >&2
    fi
    rm -f "$MARKER"
    log "installing ${PINS[*]} (pip output follows)"
    "$VENV/bin/python" -m pip install "${PINS[@]}" >&2
    log "installing $LEROBOT without its robot/training dependencies"
    "$VENV/bin/python" -m pip install --no-deps "$LEROBOT" >&2
    if ! loader_ok; then
        "$VENV/bin/python" -c 'import lerobot.datasets.lerobot_dataset
from torchcodec.decoders import VideoDecoder' >&2 || true
        die "lerobot 0.3.3's dataset loader does not import"
    fi
    printf '%s\n' "$MARKER_TEXT" >"$MARKER"
    log "ready: $("$VENV/bin/python" -c 'import lerobot, torch, torchcodec, datasets; print("lerobot", lerobot.__version__, "torch", torch.__version__, "torchcodec", torchcodec.__version__, "datasets", datasets.__version__)')"
}

main() {
    if marker_current; then echo "$VENV/bin/python"; return 0; fi
    mkdir -p "$(dirname "$VENV")"
    local lock="$VENV.lock"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$lock"
        flock 9
        if marker_current; then echo "$VENV/bin/python"; return 0; fi
    fi
    build
    echo "$VENV/bin/python"
}

main "$@"
