#!/usr/bin/env bash
# Runs python (args as for python3) on an emulated Raspberry Pi 4: qemu-aarch64 + the sysroot/wheels from build_env.sh.
# ANTBEE_AARCH64_RUNTIME=litert (default: ai-edge-litert, NumPy 2) or tflite (tflite-runtime 2.14, NumPy 1).
# ANTBEE_AARCH64_CPU (default cortex-a72, the Pi 4's core); ANTBEE_QEMU (default qemu-aarch64 on PATH);
# ANTBEE_AARCH64_FAKE_CPUINFO=0 turns off the Pi 4 /proc/cpuinfo (see FINDINGS.md).
set -euo pipefail
DIR="${ANTBEE_AARCH64_DIR:-$HOME/.cache/antbee-aarch64}"
case "${ANTBEE_AARCH64_RUNTIME:-litert}" in
  litert) SITE="$DIR/site-litert" ;;
  tflite) SITE="$DIR/site-tflite" ;;
  *) echo "run.sh: ANTBEE_AARCH64_RUNTIME must be litert or tflite" >&2; exit 2 ;;
esac
[ -e "$DIR/sysroot/.done" ] && [ -e "$SITE/.done" ] || {
  echo "run.sh: no aarch64 environment in $DIR: run tools/aarch64/build_env.sh first" >&2; exit 2; }
# -E sets the guest's environment only; the host's PYTHONHOME/PYTHONPATH must not leak into the guest.
CMD=(env -u PYTHONHOME -u PYTHONPATH "${ANTBEE_QEMU:-qemu-aarch64}" -cpu "${ANTBEE_AARCH64_CPU:-cortex-a72}"
     -L "$DIR/sysroot" -E PYTHONPATH="$SITE" -E PYTHONNOUSERSITE=1 "$DIR/sysroot/usr/bin/python3.11" "$@")
# qemu-user 7.2 passes the host's x86 /proc/cpuinfo through to the guest, and ai-edge-litert >= 2.2 then crashes
# (SIGSEGV in its cpuinfo init) on the first invoke(): show the guest a Pi 4's /proc/cpuinfo in a private mount namespace.
if [ "${ANTBEE_AARCH64_FAKE_CPUINFO:-1}" = 1 ] && ! grep -q '^CPU implementer' /proc/cpuinfo; then
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    exec unshare -m sh -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$DIR/cpuinfo-pi4" "${CMD[@]}"
  fi
  echo "run.sh: cannot fake /proc/cpuinfo (needs root and unshare -m); ai-edge-litert >= 2.2 may crash" >&2
fi
exec "${CMD[@]}"
