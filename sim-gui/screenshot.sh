#!/usr/bin/env bash
# Regenerates docs/gui.png: the dashboard after a completed run of the
# three-region scenario, saved by the app itself (`--screenshot`) from a
# virtual X display. Needs `xvfb-run` (apt-get install xvfb xauth); Mesa's
# llvmpipe draws the OpenGL window in software, no GPU needed.
#
#   sim-gui/screenshot.sh [OUT.png] [SCENARIO]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/gui.png}
SCENARIO=${2:-scenarios/three-region-active-active.toml}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -p sim-gui --bin fleetsim-gui --profile "${PROFILE:-release}"
case "${PROFILE:-release}" in dev | test) DIR=debug ;; *) DIR=${PROFILE:-release} ;; esac
unset WAYLAND_DISPLAY WAYLAND_SOCKET
# Once the window is up, the pointer is parked in a corner: over a plot it
# would draw the linked cursor line in every plot. The run takes seconds,
# so this happens long before the app saves its frame.
xvfb-run -a -s "-screen 0 1600x1250x24 -nolisten tcp" bash -c '
    "$0" "$1" --size 1600x1250 --screenshot "$2" & APP=$!
    if command -v xdotool >/dev/null; then
        for _ in $(seq 100); do xdotool search --name "^fleetsim$" >/dev/null 2>&1 && break; sleep 0.1; done
        xdotool mousemove 2 1248 || true
    fi
    wait $APP' \
    "$CARGO_TARGET_DIR/$DIR/fleetsim-gui" "$SCENARIO" "$OUT"
