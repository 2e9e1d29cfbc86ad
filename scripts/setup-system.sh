#!/usr/bin/env bash
# Installs the system packages the project needs besides npm's, from Debian's apt, when they are
# missing (so it is quick and changes nothing the second time):
#   libwolfssl-dev     wolfSSL 5.5 with TLS 1.3: the embedded C client's TLS library
#   gcc-arm-none-eabi, libnewlib-arm-none-eabi  the Arm cross compiler and C library the embedded
#                      client's Cortex-M4 size figures are made with
#   rustc, libstd-rust-dev-wasm32, lld  Rust 1.63, its wasm32-wasi standard library and the linker it
#                      uses for it (rust-lld): the Rust SDK's programs (packages/sdk-rust) are built with them
# Run as root (or with sudo available). `.ci/run` calls it before `npm ci`.
set -euo pipefail
packages=(libwolfssl-dev gcc-arm-none-eabi libnewlib-arm-none-eabi rustc libstd-rust-dev-wasm32 lld)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: ${packages[*]} already installed"
  exit 0
fi
run=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-system: ${missing[*]} missing; run this script as root" >&2; exit 1; }
  run=(sudo)
fi
echo "setup-system: installing ${missing[*]}"
"${run[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
