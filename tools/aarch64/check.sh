#!/usr/bin/env bash
# Checks that antbee-edge --json gives the x86 labels on an emulated Raspberry Pi 4 (aarch64) with litert and tflite-runtime,
# and that the emulated antbee-edge --serve (each runtime, a video source) answers /api/status and /api/classify as x86 would.
# Usage: tools/aarch64/check.sh   (ANTBEE_X86_PYTHON: a python with antbee installed, default python3;
#        cache as for build_env.sh). Exits 0 if every label matches and the service answers, 1 on a mismatch or failure,
#        77 if this machine cannot emulate (no root, no unshare -m, no qemu-aarch64, or no apt-get/dpkg and
#        Debian keyring to fetch the arm64 sysroot). It installs nothing on the host: .ci/run installs qemu-user.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${ANTBEE_X86_PYTHON:-python3}"
export ANTBEE_HOST_PYTHON="${ANTBEE_HOST_PYTHON:-$PY}"
DIR="${ANTBEE_AARCH64_DIR:-$HOME/.cache/antbee-aarch64}"
log() { echo "[check] $*"; }
skip() { echo "[check] cannot emulate here: $*" >&2; exit 77; }
SECONDS=0

# What emulation needs: root + unshare -m (run.sh's fake Pi 4 /proc/cpuinfo for litert), and qemu-aarch64.
[ "$(id -u)" = 0 ] || skip "not root (run.sh needs root for unshare -m)"
unshare -m true 2>/dev/null || skip "unshare -m does not work here"
command -v qemu-aarch64 >/dev/null || skip "qemu-aarch64 not found (install qemu-user; .ci/run does as root)"
if [ ! -e "$DIR/sysroot/.done" ]; then  # build_env.sh fetches Debian's arm64 packages with a private apt state
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip "no apt-get/dpkg to fetch the arm64 sysroot"
  [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || skip "no Debian archive keyring (debian-archive-keyring)"
fi
"$PY" -c 'import antbee.edge' 2>/dev/null || { echo "[check] $PY cannot import antbee.edge (set ANTBEE_X86_PYTHON)" >&2; exit 1; }

"$HERE/build_env.sh" >&2
log "aarch64 environment ready after ${SECONDS} s"

SERVER=""   # the emulated service's pid while it runs: killed on every way out
WORK="$(mktemp -d)"; trap '[ -z "$SERVER" ] || kill -KILL "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"   # no artifacts/ here, so antbee-edge uses the model shipped in the package
SAMPLES="$("$PY" -c 'import pathlib, antbee.edge as e; print(pathlib.Path(e.__file__).parent / "samples")')"
"$PY" "$HERE/check.py" video "$WORK/clip.avi" "$SAMPLES"
# A video file's end ends the service, so the service's clip repeats the frames: it outlasts the requests.
"$PY" "$HERE/check.py" video "$WORK/serve.avi" "$SAMPLES" 20

edge() {  # edge NAME COMMAND...: antbee-edge --json on the samples, then on the video, into NAME.jsonl
  local name="$1" start=$SECONDS; shift
  if ! { "$@" --json "$SAMPLES"/*.jpg && "$@" --json --no-display --video "$WORK/clip.avi"; } \
      >"$WORK/$name.jsonl" 2>"$WORK/$name.log"; then
    tail -20 "$WORK/$name.log" >&2; log "$name: antbee-edge failed"; FAILED=1
  fi
  log "$name: $(grep -m1 -o '(.*classes' "$WORK/$name.log" | tr -d '(' | cut -d, -f1), $(wc -l <"$WORK/$name.jsonl") results," \
      "$((SECONDS - start)) s"
}
FAILED=0
edge x86 "$PY" -m antbee.edge
edge litert env ANTBEE_AARCH64_RUNTIME=litert "$HERE/run.sh" -m antbee.edge --runtime litert
edge tflite-runtime env ANTBEE_AARCH64_RUNTIME=tflite "$HERE/run.sh" -m antbee.edge --runtime tflite-runtime

STATUS=0
"$PY" "$HERE/check.py" compare "$WORK/x86.jsonl" litert="$WORK/litert.jsonl" \
  tflite-runtime="$WORK/tflite-runtime.jsonl" || STATUS=1

STOP_S=90  # SIGTERM ends the frame under way, the requests and the event log, emulated
serve() {  # serve NAME AARCH64_RUNTIME EDGE_RUNTIME: the emulated service on a free loopback port, asked from x86
  local name="$1" start=$SECONDS code=0 photos=("$SAMPLES"/*.jpg)
  env ANTBEE_AARCH64_RUNTIME="$2" "$HERE/run.sh" -m antbee.edge --runtime "$3" --video "$WORK/serve.avi" \
    --serve 127.0.0.1:0 --events "$WORK/$name-events.db" >"$WORK/$name-serve.out" 2>"$WORK/$name-serve.log" &
  SERVER=$!
  "$PY" "$HERE/check.py" serve "$SERVER" "$WORK/$name-serve.log" "$WORK/serve.avi" "${photos[-1]}" \
    "$WORK/x86.jsonl" "$name" || FAILED=1
  if ! kill -TERM "$SERVER" 2>/dev/null; then
    log "$name serve: it ended before SIGTERM (its clip ended?)"; FAILED=1
  fi
  for _ in $(seq "$STOP_S"); do kill -0 "$SERVER" 2>/dev/null || break; sleep 1; done
  if kill -0 "$SERVER" 2>/dev/null; then
    log "$name serve: still running ${STOP_S} s after SIGTERM: killed"; FAILED=1; kill -KILL "$SERVER"
  fi
  wait "$SERVER" || code=$?
  SERVER=""
  [ "$code" = 0 ] || { tail -20 "$WORK/$name-serve.log" >&2; FAILED=1; }
  log "$name serve: SIGTERM -> exit $code, $(grep -m1 -o 'stopped.*' "$WORK/$name-serve.log" || echo 'no "stopped" line');" \
      "$((SECONDS - start)) s"
}
serve litert litert litert
serve tflite-runtime tflite tflite-runtime
[ "$FAILED" = 0 ] || STATUS=1
log "$(qemu-aarch64 --version | head -1), -cpu ${ANTBEE_AARCH64_CPU:-cortex-a72}; total ${SECONDS} s;" \
    "$([ "$STATUS" = 0 ] && echo PASS || echo FAIL)"
exit "$STATUS"
