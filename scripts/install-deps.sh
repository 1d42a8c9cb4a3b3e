#!/usr/bin/env bash
# Install what absrep needs from Debian bookworm's packages, and nothing that is already there.
# Checks each package with dpkg-query; runs apt-get update/install only for the missing ones.
set -euo pipefail

packages=(
  # toolchain
  g++ make cmake pkg-config git
  # libraries (all found by CMake's find_package)
  libeigen3-dev liblbfgspp-dev libopenmpi-dev openmpi-bin libhdf5-dev zlib1g-dev
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # bench: the OpenBLAS DGEMM reference rate (and the EIGEN_USE_BLAS variant)
  libopenblas-dev
  # archive read-back, plots and script checks in the test suite
  python3 python3-numpy python3-h5py python3-xarray python3-h5netcdf python3-matplotlib shellcheck
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
