#!/usr/bin/env bash
# Install what pixelnet needs on Debian/Ubuntu: the AVR toolchain, simavr and the
# Arduino core from apt; a virtual environment in .venv with pixelnet and its
# test/bench extras from PyPI. Safe to run again: it only installs what is missing.
# Quiet: one line per step it takes, the tools' own output only when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per step; a step's own output is kept in a log and shown only if it fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
quietly() {
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "setup: failed: $*" >&2
        exit 1
    fi
}

APT_PACKAGES=(gcc-avr binutils-avr avr-libc simavr libsimavr-dev libsimavrparts1 libelf-dev
              arduino-core-avr arduino-builder avrdude gcc clang make pkg-config python3-venv
              gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    quietly $SUDO apt-get update -q
    quietly $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    quietly "$PY" -m venv .venv
fi
stamp=.venv/.pixelnet-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing pixelnet into .venv"
    quietly .venv/bin/pip install -q --upgrade pip
    quietly .venv/bin/pip install -q -e '.[dev,bench]'
    touch "$stamp"
    echo "setup: done; \`. .venv/bin/activate\` puts pixelnet on your PATH"
fi
