#!/usr/bin/env bash
# Screenshot of an HTML page (a `fleetsim report` page) in headless Chromium,
# to look at what a person would see.
#
# usage: scripts/screenshot-report.sh report.html out.png
#   WINDOW=1400,2400 sets the window (and so the screenshot) size.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 report.html out.png" >&2
    exit 2
fi
html=$1
png=$2
if [[ ! -f $html ]]; then
    echo "error: no such file: $html" >&2
    exit 2
fi

chromium=/usr/bin/chromium
if [[ ! -x $chromium ]]; then
    echo "error: $chromium not found; install it with:" >&2
    echo "    apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

abs_html=$(realpath "$html")
abs_png=$(realpath -m "$png")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars \
    --window-size="${WINDOW:-1400,2400}" \
    --screenshot="$abs_png" "file://$abs_html" 2>/dev/null

if [[ ! -s $abs_png ]]; then
    echo "error: chromium wrote no screenshot to $abs_png" >&2
    exit 1
fi
echo "wrote $abs_png"
