#!/usr/bin/env bash
# Builds an arm64 (Raspberry Pi) Python 3.11 sysroot + aarch64 wheel folders for running antbee under qemu-user.
# Usage: tools/aarch64/build_env.sh [PROJECT_DIR]   (cache: ${ANTBEE_AARCH64_DIR:-$HOME/.cache/antbee-aarch64})
# Idempotent: finished steps leave a stamp file and are skipped; delete the cache dir (or a stamp) to redo.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${1:-$(cd "$HERE/../.." && pwd)}"
DIR="${ANTBEE_AARCH64_DIR:-$HOME/.cache/antbee-aarch64}"
HOST_PY="${ANTBEE_HOST_PYTHON:-python3}"   # any host python3 with pip (only downloads wheels)
SUITE=bookworm   # Debian 12 = Raspberry Pi OS 12, whose Python is 3.11 and glibc 2.36
mkdir -p "$DIR"
log() { echo "[build_env] $*"; }

# 1. qemu-user on the host. This script never installs system packages: .ci/run does that for CI.
if ! command -v qemu-aarch64 >/dev/null; then
  echo "build_env.sh: qemu-aarch64 not found: install qemu-user (Debian: apt-get install qemu-user)" >&2
  exit 1
fi
log "qemu: $(qemu-aarch64 --version | head -1)"

# 2. arm64 sysroot: Debian arm64 .debs fetched with a private apt state and unpacked with dpkg -x.
SYSROOT="$DIR/sysroot"
DEBS=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libgcc-s1 libstdc++6 libgomp1
      libssl3 libffi8 zlib1g libexpat1 libbz2-1.0 liblzma5 libzstd1 libsqlite3-0 libncursesw6 libtinfo6
      libreadline8 libuuid1 libcrypt1 media-types)
if [ ! -e "$SYSROOT/.done" ]; then
  A="$DIR/apt"; mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/parts" "$A/prefs" "$A/debs"
  : > "$A/status"
  cat > "$A/sources.list" <<EOF
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${SUITE}-updates main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security ${SUITE}-security main
EOF
  APT=(-oAPT::Architecture=arm64 -oAPT::Architectures=arm64 -oDir::State::Lists="$A/lists"
       -oDir::Cache="$A/cache" -oDir::State::status="$A/status" -oDir::Etc::SourceList="$A/sources.list"
       -oDir::Etc::SourceParts="$A/parts" -oDir::Etc::Preferences="$A/prefs/none"
       -oDir::Etc::PreferencesParts="$A/prefs" -oAPT::Sandbox::User=root)
  log "apt-get update (private arm64 lists under $A)"
  apt-get "${APT[@]}" update -qq
  log "downloading ${#DEBS[@]} arm64 packages"
  (cd "$A/debs" && apt-get "${APT[@]}" download -qq "${DEBS[@]}")
  rm -rf "$SYSROOT"; mkdir -p "$SYSROOT"
  for d in "$A/debs"/*.deb; do dpkg -x "$d" "$SYSROOT"; done
  touch "$SYSROOT/.done"
  log "sysroot unpacked: $SYSROOT ($(ls "$A/debs" | wc -l) debs)"
else
  log "sysroot present: $SYSROOT"
fi
qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11" -c 'import sys, platform, ssl, ctypes; print("[build_env] emulated python", sys.version.split()[0], platform.machine())'

# A Raspberry Pi 4's /proc/cpuinfo (Cortex-A72), one entry per host CPU, for run.sh to show the guest.
for ((i = 0; i < $(getconf _NPROCESSORS_CONF); i++)); do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n' "$i"
  printf 'CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n'
done > "$DIR/cpuinfo-pi4"
printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n' >> "$DIR/cpuinfo-pi4"

# 3. aarch64 wheels into --target folders (downloaded by the host pip for the Pi's platform).
# pip matches --platform tags exactly, so list every manylinux tag that glibc 2.36 (bookworm) accepts.
PIP_ARM=(-m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-compile --upgrade
         --python-version 3.11 --implementation cp --abi cp311 --only-binary=:all: --platform linux_aarch64)
for v in $(seq 17 36); do PIP_ARM+=(--platform "manylinux_2_${v}_aarch64"); done
wheels() {  # wheels NAME PKG...; the stamp holds the package list, so a changed list is installed afresh
  local target="$DIR/$1"; shift
  if [ "$(cat "$target/.done" 2>/dev/null)" = "$*" ]; then log "$target present"; return; fi
  rm -rf "$target"
  log "pip installing aarch64 wheels into $target: $*"
  "$HOST_PY" "${PIP_ARM[@]}" --target "$target" "$@"
  echo "$*" > "$target/.done"
}
# The [serve] extra (read from pyproject.toml, so a changed extra changes the stamp) goes into both, for check.sh's
# emulated antbee-edge --serve; pip resolves what it needs (anyio, h11, idna, ...) for cp311 aarch64 as well.
SERVE=()
if [ -f "$PROJECT/pyproject.toml" ]; then
  mapfile -t SERVE < <("$HOST_PY" -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["serve"]))' \
    "$PROJECT/pyproject.toml")
  [ "${#SERVE[@]}" -gt 0 ] || { echo "build_env.sh: no [serve] extra in $PROJECT/pyproject.toml" >&2; exit 1; }
fi
wheels site-litert numpy opencv-python-headless flatbuffers typer click rich shellingham typing-extensions \
       markdown-it-py mdurl pygments "${ANTBEE_LITERT_SPEC:-ai-edge-litert}" "${SERVE[@]}"
wheels site-tflite "numpy<2" opencv-python-headless flatbuffers typer click rich shellingham \
       typing-extensions markdown-it-py mdurl pygments tflite-runtime "${SERVE[@]}"
# The service extra (antbee-edge --serve) must resolve to aarch64 wheels too, for 3.11 and 3.13, without TensorFlow.
"$HERE/serve_wheels.sh" "$PROJECT"

# 4. The project itself (pure Python), into both target folders; redone on every run.
#    Built from a copy so that setuptools leaves no build/ or *.egg-info in the work tree.
if [ -f "$PROJECT/pyproject.toml" ]; then
  SRC="$DIR/project-src"; rm -rf "$SRC" "$DIR/project-wheel"; mkdir -p "$SRC"
  tar -C "$PROJECT" --exclude=./.git --exclude=./build --exclude=./dist --exclude=./artifacts --exclude=./runs \
      --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$SRC" -xf -
  log "building the project wheel from $PROJECT"
  "$HOST_PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$DIR/project-wheel" "$SRC" 2>"$DIR/project-build.log" \
    || { cat "$DIR/project-build.log" >&2; exit 1; }
  for t in site-litert site-tflite; do
    log "installing $(basename "$DIR"/project-wheel/*.whl) into $DIR/$t"
    "$HOST_PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --no-compile --upgrade \
      --target "$DIR/$t" "$DIR"/project-wheel/*.whl
  done
  rm -rf "$SRC"
else
  log "no $PROJECT/pyproject.toml yet: skipping the project install"
fi

for t in site-litert site-tflite; do
  log "$t: $(ls "$DIR/$t" | grep -i -E '^(numpy|opencv_python_headless|ai_edge_litert|tflite_runtime|typer|starlette|uvicorn)-' | sed 's/\.dist-info//' | tr '\n' ' ')"
done
log "done: $(du -sh "$DIR" | cut -f1) in $DIR"
