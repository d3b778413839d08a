#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: system packages, the Python environment (.venv, with the
# pip torch whose LibTorch the C++ code links), CMake configure and build. A second run only checks.
#   STABLEPOSE_BUILD_DIR  build folder (default: build)
#   STABLEPOSE_JOBS       parallel compile jobs (default: number of cores)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${STABLEPOSE_BUILD_DIR:-$root/build}
venv=$root/.venv
jobs=${STABLEPOSE_JOBS:-$(nproc)}
log() { printf '[setup] %s\n' "$*"; }
pip_install() {  # pip_install WHAT ARGS...: pip install with resumed downloads, retried up to 5 times
  local what=$1 attempt; shift
  local resume=() help; help=$("$venv/bin/python" -m pip install --help 2>/dev/null || true)
  [[ $help == *--resume-retries* ]] && resume=(--resume-retries 20)  # pip 25.1 and later
  for attempt in 1 2 3 4 5; do
    "$venv/bin/python" -m pip install -q --retries 10 --timeout 60 "${resume[@]}" "$@" && return 0
    ((attempt < 5)) || break
    log "pip could not install $what (attempt $attempt of 5); retrying in $((attempt * 15)) s"
    sleep $((attempt * 15))
  done
  log "error: pip failed 5 times to install $what; check the network to PyPI and run scripts/setup.sh again"
  return 1
}

# 1. System packages (Debian), only those missing.
packages=(cmake g++ ninja-build ccache pkg-config python3-venv libopencv-dev nlohmann-json3-dev libspdlog-dev
          libcli11-dev libgtest-dev libgmock-dev libicu-dev zlib1g-dev
          libgloo-dev)  # gloo headers: the torch wheel exports ProcessGroupGloo but ships no gloo/*.h
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  # python3-venv is only needed when the python3 on PATH lacks the venv module.
  if python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing=("${missing[@]/python3-venv}")
  fi
fi
missing=($(printf '%s\n' "${missing[@]}" | sed '/^$/d'))
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -q -o Acquire::Retries=5
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q -o Acquire::Retries=5 --no-install-recommends "${missing[@]}"
fi

# 2. Python environment, re-synced only when scripts/requirements.txt changes.
requirements=$root/scripts/requirements.txt
stamp=$venv/.stablepose-requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  log "creating the Python environment in $venv"
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python packages (torch is large: about 5 GB with its CUDA libraries)"
  # The CUDA wheels torch pulls in are hundreds of MB each, and a dropped connection must not end the set-up:
  # pip resumes a broken download (--resume-retries), and the whole install is retried (an attempt downloads
  # again what pip's cache did not keep; on the development machine it keeps nothing).
  pip_install "pip" --upgrade pip
  pip_install "the requirements" -r "$requirements"
  echo "$want" > "$stamp"
fi

# 3. Configure (once; CMake re-configures itself when CMakeLists change) and build.
if [ ! -f "$build/CMakeCache.txt" ]; then
  torch_cmake=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  cuda_args=()
  for cuda in "${CUDA_HOME:-}" /usr/local/cuda; do
    if [ -n "$cuda" ] && [ -x "$cuda/bin/nvcc" ]; then
      cuda_args=(-DCUDAToolkit_ROOT="$cuda" -DCMAKE_CUDA_COMPILER="$cuda/bin/nvcc"); break
    fi
  done
  ((${#cuda_args[@]})) || log "no CUDA toolkit found: building against LibTorch's CPU targets only"
  log "configuring in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_PREFIX_PATH="$torch_cmake" -DSTABLEPOSE_PYTHON="$venv/bin/python" "${cuda_args[@]}"
fi
log "building with $jobs jobs"
cmake --build "$build" -j "$jobs"
log "ready: $build/stablepose"
