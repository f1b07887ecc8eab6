#!/usr/bin/env bash
# Build (or reuse) the Python 3.12 venv holding the official `lerobot` package, used by the interop
# test tier to prove that datasets written by robosplice load frame for frame in `LeRobotDataset`.
#
# Why a separate venv: lerobot pins torch, datasets and friends, and needs Python >= 3.12; none of
# that belongs in robosplice's own environment.
#
# Idempotent: a marker file holding the pinned requirement makes reruns instant. Progress goes to
# stderr; the LAST line on stdout is the venv's python path.
#
# Environment:
#   ROBOSPLICE_INTEROP_VENV   venv location (default ${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-venv)
#   ROBOSPLICE_INTEROP_FORCE  set to 1 to re-run the install steps even if the marker is current
set -euo pipefail

REQUIREMENT='lerobot[dataset]==0.6.1'
PY_VERSION='3.12'
PYENV_PY='3.12.1'
VENV="${ROBOSPLICE_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/robosplice/interop-venv}"
MARKER="$VENV/.robosplice-interop-marker"
# The marker records what was installed; a change of pin or python invalidates it.
MARKER_TEXT="$REQUIREMENT python$PY_VERSION torchcodec-ok"

log() { printf 'interop-env: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- ffmpeg: torchcodec dlopens the system libavcodec/libavformat libraries ----------------------
ensure_ffmpeg() {
    command -v ffmpeg >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        log "ffmpeg missing: installing Debian ffmpeg with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >&2
    else
        log "WARNING: ffmpeg not found and not root; torchcodec may fail to load (install ffmpeg)"
    fi
}

# --- a python 3.12 to create the venv with -------------------------------------------------------
find_python() {
    # Plain python3.12 first; then the pyenv shim with an explicit version (the global may be another).
    if python3.12 -c 'import sys' >/dev/null 2>&1; then
        echo "python3.12"; return 0
    fi
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
    # The venv interpreter runs and is the right minor version.
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c \
        "import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)" >/dev/null 2>&1
}

torchcodec_ok() {
    # Importing the decoders loads torchcodec's native core, which needs the ffmpeg libraries.
    "$VENV/bin/python" -c 'import lerobot, torchcodec; from torchcodec.decoders import VideoDecoder' \
        >/dev/null 2>&1
}

build() {
    ensure_ffmpeg

    if ! venv_python_ok; then
        if [ -e "$VENV" ]; then
            log "venv at $VENV is broken or not Python $PY_VERSION: recreating"
            rm -rf "$VENV"
        fi
        local py
        py="$(find_python)" || die "no Python $PY_VERSION found (tried python3.12, PYENV_VERSION=$PYENV_PY)"
        log "creating venv at $VENV with: $py"
        mkdir -p "$(dirname "$VENV")"
        # shellcheck disable=SC2086  # $py may carry a PYENV_VERSION=... prefix
        env $py -m venv "$VENV" >&2
    fi

    rm -f "$MARKER"
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
    printf '%s\n' "$MARKER_TEXT" >"$MARKER"
    log "ready: $("$VENV/bin/python" -c 'import lerobot, torchcodec; print("lerobot", lerobot.__version__, "torchcodec", torchcodec.__version__)')"
}

main() {
    if [ "${ROBOSPLICE_INTEROP_FORCE:-0}" != "1" ] && [ -f "$MARKER" ] \
        && [ "$(cat "$MARKER")" = "$MARKER_TEXT" ] && venv_python_ok && command -v ffmpeg >/dev/null 2>&1; then
        echo "$VENV/bin/python"
        return 0
    fi

    mkdir -p "$(dirname "$VENV")"
    # Serialize concurrent builders (two pytest sessions starting at once) on a lock beside the venv.
    local lock="$VENV.lock"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$lock"
        flock 9
        # Another process may have finished the job while we waited.
        if [ "${ROBOSPLICE_INTEROP_FORCE:-0}" != "1" ] && [ -f "$MARKER" ] \
            && [ "$(cat "$MARKER")" = "$MARKER_TEXT" ] && venv_python_ok && command -v ffmpeg >/dev/null 2>&1; then
            echo "$VENV/bin/python"
            return 0
        fi
    fi
    build
    echo "$VENV/bin/python"
}

main "$@"
