#!/usr/bin/env bash
# Builds the reference firmware (firmware/zephyr/samples/imprint_keys with the keys-group module
# firmware/zephyr) for Zephyr's native_sim_64 board: a Linux executable serving SMP on a pty.
#
#   npm run firmware:build            # -> prints the path of zephyr.exe on its last line
#   bash scripts/firmware-build.sh [EXTRA.conf ...]
#
# Uses ../shared/zephyr/build-app.sh (the trimmed Zephyr 3.4.99 tree; it installs the Debian build
# packages when they are missing and we are root). Skips the build when nothing changed: the
# hash of firmware/, the Zephyr tree, build-app.sh, its native-smp.conf and the extra confs.
# Environment: IMPRINT_ZEPHYR_DIR (default ../shared/zephyr beside the repo),
# IMPRINT_FIRMWARE_OUT (default build-firmware/; not build/, which vite build replaces).
# Exits non-zero with the reason on stderr when it cannot build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
zephyr_dir=${IMPRINT_ZEPHYR_DIR:-$root/../shared/zephyr}
out=${IMPRINT_FIRMWARE_OUT:-$root/build-firmware}
module=$root/firmware/zephyr
app=$module/samples/imprint_keys

fail() { echo "firmware build: $*" >&2; exit 1; }

[ -f "$zephyr_dir/build-app.sh" ] || fail "no Zephyr tree: $zephyr_dir/build-app.sh not found (set IMPRINT_ZEPHYR_DIR)"
[ -f "$zephyr_dir/zephyr-tree.tar.xz" ] || fail "no Zephyr tree: $zephyr_dir/zephyr-tree.tar.xz not found"
[ -f "$app/prj.conf" ] || fail "no firmware sources at $app"
command -v sha256sum >/dev/null || fail "sha256sum not found"
for conf in "$@"; do [ -f "$conf" ] || fail "extra config $conf not found"; done
# build-app.sh installs missing build packages only as root: say so here, in one line.
if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null || ! command -v dtc >/dev/null || ! command -v gperf >/dev/null \
   || ! /usr/bin/python3 -c 'import elftools, yaml, pykwalify, jsonschema, packaging, dateutil' 2>/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || fail "Zephyr build tools missing (cmake, ninja-build, device-tree-compiler, gperf, python3-pyelftools/yaml/pykwalify/jsonschema/packaging/dateutil) and not root with apt-get to install them"
  echo "firmware build: installing the Zephyr build packages (apt-get) ..." >&2
fi
command -v gcc >/dev/null || [ "$(id -u)" = 0 ] || fail "no host gcc"

mkdir -p "$out"
exec 9>"$out/.lock"
# One build at a time (test files may ask in parallel); the others wait, then find it cached.
if command -v flock >/dev/null; then flock 9; fi

hash=$(
  {
    cd "$root" && find firmware/zephyr -type f ! -name '*.orig' ! -name '*.rej' -print0 | sort -z | xargs -0 sha256sum
    stat -c '%s-%Y' "$zephyr_dir/zephyr-tree.tar.xz"
    sha256sum "$zephyr_dir/build-app.sh" "$zephyr_dir/native-smp.conf" 2>/dev/null || true
    for conf in "$@"; do sha256sum "$conf"; done
  } | sha256sum | cut -c1-16
)
exe=$out/zephyr.exe
if [ -x "$exe" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$hash" ]; then
  echo "firmware build: up to date ($hash)" >&2
  echo "$exe"
  exit 0
fi

echo "firmware build: building $app for native_sim_64 ..." >&2
start=$(date +%s)
stage=$out/.stage
rm -rf "$stage"
if ! ZEPHYR_EXTRA_MODULES="$module" BUILD_DIR="$out/build" bash "$zephyr_dir/build-app.sh" "$app" "$stage" "$@" >"$out/build-app.out" 2>&1; then
  tail -n 30 "$out/build-app.out" >&2
  first=$(cat "$out/build.log" "$out/build-app.out" 2>/dev/null | grep -E '(error|Error)[: ]' | grep -v -E ' -(c|o) ' | head -n1 | cut -c1-200 || true)
  fail "the build failed${first:+: $first} (log: $out/build.log)"
fi
[ -x "$stage/zephyr.exe" ] || fail "the build made no zephyr.exe"
# A rename, not a copy: a zephyr.exe that is running keeps its old file.
mv -f "$stage/zephyr.exe" "$exe"
rm -rf "$stage"
echo "$hash" >"$out/.stamp"
echo "firmware build: done in $(($(date +%s) - start)) s" >&2
echo "$exe"
