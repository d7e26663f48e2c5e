#!/bin/sh
# Install Debian's chromium for the headless browser tests of the HTML reports.
# Idempotent and quiet: does nothing when /usr/bin/chromium already exists.
# Playwright drives this browser (executable_path); it never downloads its own.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-browser.sh: $CHROMIUM is missing and we are not root (no sudo) to apt-get install it" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser.sh: $CHROMIUM is missing and apt-get is not available (Debian/Ubuntu only)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
# Quiet on success; on failure show apt's full output.
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium; } >"$LOG" 2>&1
then
    cat "$LOG" >&2
    echo "install-browser.sh: apt-get failed to install chromium" >&2
    exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install-browser.sh: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
