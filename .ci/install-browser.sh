#!/bin/sh
# Install Debian's chromium for the headless browser tests of the HTML reports, and Debian's scram
# (SCRAM, the Open-PSA engine) for the cross-checks of the Open-PSA exports (tests/test_openpsa.py).
# Idempotent and quiet: does nothing when /usr/bin/chromium and /usr/bin/scram already exist.
# Playwright drives this browser (executable_path); it never downloads its own.
set -eu

CHROMIUM=/usr/bin/chromium
SCRAM=/usr/bin/scram

if [ -x "$CHROMIUM" ] && [ -x "$SCRAM" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-browser.sh: $CHROMIUM or $SCRAM is missing and we are not root (no sudo) to apt-get install it" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser.sh: $CHROMIUM or $SCRAM is missing and apt-get is not available (Debian/Ubuntu only)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
# Quiet on success; on failure show apt's full output.
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium scram; } >"$LOG" 2>&1
then
    cat "$LOG" >&2
    echo "install-browser.sh: apt-get failed to install chromium and scram" >&2
    exit 1
fi

for exe in "$CHROMIUM" "$SCRAM"; do
    if [ ! -x "$exe" ]; then
        echo "install-browser.sh: apt-get finished but $exe is still missing" >&2
        exit 1
    fi
done
