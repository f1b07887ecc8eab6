# Shared by the scripts that build a Python 3.12 venv of an official lerobot release for a test tier
# (interop-env.sh: lerobot 0.6.1; interop-v21-env.sh: lerobot 0.3.3). Source it after setting:
#   NAME         log prefix
#   VENV         venv folder
#   MARKER       marker file; MARKER_TEXT its expected content (a change of pins invalidates it)
#   install_into_venv   a function that pip-installs into "$VENV" and dies if the result is unusable
# then call `venv_main`. Idempotent: a current marker makes reruns instant; concurrent builders wait
# on a lock beside the venv. Progress goes to stderr; the LAST line on stdout is the venv's python.

PY_VERSION='3.12'
PYENV_PY='3.12.1'

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
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
    # Plain python3.12 first; then the pyenv shim with an explicit version (the global may be another).
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
    # The venv interpreter runs and is the right minor version.
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c \
        "import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)" >/dev/null 2>&1
}

marker_current() {
    [ "${ROBOSPLICE_INTEROP_FORCE:-0}" != "1" ] && [ -f "$MARKER" ] \
        && [ "$(cat "$MARKER")" = "$MARKER_TEXT" ] && venv_python_ok && command -v ffmpeg >/dev/null 2>&1
}

build_venv() {
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
    install_into_venv
    printf '%s\n' "$MARKER_TEXT" >"$MARKER"
}

venv_main() {
    if marker_current; then echo "$VENV/bin/python"; return 0; fi
    mkdir -p "$(dirname "$VENV")"
    if command -v flock >/dev/null 2>&1; then
        # Serialize concurrent builders (two pytest sessions starting at once).
        exec 9>"$VENV.lock"
        flock 9
        # Another process may have finished the job while we waited.
        if marker_current; then echo "$VENV/bin/python"; return 0; fi
    fi
    build_venv
    echo "$VENV/bin/python"
}
