#!/usr/bin/env bash
# Entrypoint of the MLC-LLM image.
#
#   dev [ARGS]   print the environment summary, then `bash ARGS` in the source directory
#   build        unattended: version.py --git-describe -> build/config.cmake -> cmake + ninja
#                -> validate from source -> pip wheel -> auditwheel repair -> SHA256SUMS ->
#                install the wheel in a clean venv and import it
#   test         pytest -m "$MLC_TEST_MARKERS" $MLC_TEST_PATHS with PYTHONPATH=python
#                (builds the native libraries first when build/ has none)
#   help         this text
#   anything else is run as it is (exec "$@")
#
# Settings (environment):
#   MLC_SOURCE_DIR     source checkout (/workspace)
#   MLC_OUTPUT_DIR     wheel and SHA256SUMS ($MLC_SOURCE_DIR/dist)
#   MLC_BACKENDS       comma list of cuda, rocm, vulkan, opencl; `auto` (default) takes every
#                      toolchain found in the image (nvcc, hipcc, Vulkan headers); `none`: CPU
#   MLC_CUDA_ARCHS     CUDA architectures, `;` or `,` separated (80;90;100;120, cut to what
#                      nvcc supports)
#   MLC_BUILD_TYPE     CMAKE_BUILD_TYPE (RelWithDebInfo)
#   MLC_USE_CUTLASS, MLC_USE_CUBLAS, MLC_USE_THRUST (1), MLC_USE_NCCL (0), MLC_USE_HIPBLAS (1)
#   MLC_CMAKE_ARGS     more arguments for the CMake configure step
#   MLC_CMAKE_EXTRA_LINES  more lines for build/config.cmake
#   MLC_JOBS           build jobs (0: the cores, at most one per MLC_GIB_PER_JOB GiB of RAM)
#   MLC_GIB_PER_JOB    RAM per build job in GiB (2)
#   MLC_CLEAN_BUILD    1: remove build/ first (0)
#   MLC_CCACHE         0: no ccache launchers (1); the cache is $CCACHE_DIR (/ccache: mount a
#                      volume there to keep it)
#   MLC_LIBRARIES      libraries the build must produce (libtvm_runtime libmlc_llm)
#   MLC_IMPORT_NAME    Python package to import (mlc_llm)
#   MLC_CLI_CHECK      command run from the source tree after the build
#                      (-m mlc_llm chat -h; empty: none)
#   MLC_BUILD_ISOLATION  auto (default): pip builds without isolation when the image's venv
#                      satisfies the project's build requirements (works offline), else with it
#   MLC_WHEEL_REPAIR   0: keep the wheel as pip built it (1)
#   MLC_WHEEL_PLAT     auditwheel --plat (auto)
#   MLC_WHEEL_EXCLUDE  libraries left out of the repaired wheel (libtvm libtvm_runtime
#                      libtvm_ffi libvulkan, plus the CUDA or ROCm runtime per backend)
#   MLC_PIP_EXTRA_ARGS more arguments for `pip install` of the wheel in the clean venv
#                      (e.g. -f https://mlc.ai/wheels mlc-ai-nightly-cu128)
#   MLC_TEST_MARKERS   pytest -m expression (unittest)
#   MLC_TEST_PATHS     test paths (tests/python)
#   MLC_TEST_ARGS      more pytest arguments
# Exit status: 0 on success, 2 for a bad setting, the failing step's status otherwise.
set -Eeuo pipefail

PROG=mlc-entrypoint
PY=/opt/mlc/venv/bin/python
SRC=${MLC_SOURCE_DIR:-/workspace}
STEP=""

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  exit "${2:-1}"
}
step() {
  STEP=$1
  printf '\n==> %s\n' "$1"
}
on_error() {
  local rc=$?
  if [[ -n $STEP ]]; then
    printf '%s: error: step "%s" failed with exit status %s\n' "$PROG" "$STEP" "$rc" >&2
  fi
  exit "$rc"
}

# A uid without a home (docker run --user UID:GID) still needs a writable HOME and ccache.
setup_env() {
  if [[ ! -d ${HOME:-/nonexistent} || ! -w ${HOME:-/nonexistent} ]]; then
    HOME=$(mktemp -d /tmp/mlc-home.XXXXXX)
    export HOME
  fi
  if [[ -z ${CCACHE_DIR:-} || ! -w ${CCACHE_DIR} ]]; then
    export CCACHE_DIR=$HOME/.cache/ccache
  fi
  export CCACHE_BASEDIR=$SRC CCACHE_NOHASHDIR=true
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
}

first_line() { "$@" 2>&1 | head -n 1 || true; }

tool_version() {
  local tool=$1
  shift
  if command -v "$tool" >/dev/null 2>&1; then
    first_line "$tool" "$@"
  else
    echo "not found"
  fi
}

vulkan_devices() {
  if ! command -v vulkaninfo >/dev/null 2>&1; then
    echo "vulkaninfo not found"
    return
  fi
  local names
  names=$(vulkaninfo --summary 2>/dev/null |
    sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' | paste -sd ';' - || true)
  echo "${names:-no device}"
}

have_vulkan_sdk() {
  [[ -f /usr/include/vulkan/vulkan.h || -n ${VULKAN_SDK:-} ]] ||
    pkg-config --exists vulkan 2>/dev/null
}

# The backends to build: MLC_BACKENDS, or with `auto` every toolchain found.
resolve_backends() {
  local wanted=${MLC_BACKENDS:-auto} out=() b
  wanted=${wanted,,}
  wanted=${wanted// /}
  if [[ $wanted == auto ]]; then
    command -v nvcc >/dev/null 2>&1 && out+=(cuda)
    command -v hipcc >/dev/null 2>&1 && out+=(rocm)
    have_vulkan_sdk && out+=(vulkan)
  elif [[ $wanted != none && -n $wanted ]]; then
    IFS=, read -r -a out <<<"$wanted"
  fi
  for b in "${out[@]}"; do
    case $b in
      cuda) command -v nvcc >/dev/null 2>&1 ||
        die "MLC_BACKENDS has cuda but nvcc is not found: build the image FROM a CUDA devel image (BASE_IMAGE=nvidia/cuda:...-devel-...)" 2 ;;
      rocm) command -v hipcc >/dev/null 2>&1 ||
        die "MLC_BACKENDS has rocm but hipcc is not found: build the image FROM a ROCm image (BASE_IMAGE=rocm/dev-ubuntu-...)" 2 ;;
      vulkan) have_vulkan_sdk ||
        die "MLC_BACKENDS has vulkan but the Vulkan headers are not installed: build the image with WITH_VULKAN=1" 2 ;;
      opencl) ;;
      metal) die "MLC_BACKENDS has metal: Metal is macOS-only; use cuda, rocm, vulkan or opencl" 2 ;;
      *) die "MLC_BACKENDS has '$b': expected a comma list of cuda, rocm, vulkan, opencl, or auto or none" 2 ;;
    esac
  done
  local IFS=,
  echo "${out[*]}"
}

summary() {
  local describe="" python
  python=$("$PY" --version 2>&1 || echo "not found")
  if [[ -f $SRC/CMakeLists.txt || -f $SRC/pyproject.toml ]]; then
    describe=$(git -C "$SRC" describe --tags --always --dirty 2>/dev/null || echo "not a git checkout")
  else
    describe="empty: mount the checkout with -v \"\$PWD\":$SRC"
  fi
  cat <<SUMMARY
MLC-LLM image: variant ${MLC_IMAGE_VARIANT:-unknown}
  source    $SRC ($describe)
  user      $(id -un 2>/dev/null || echo '?') (uid $(id -u), gid $(id -g)), HOME $HOME
  Python    $python ($PY)
  CMake     $(tool_version cmake --version)
  Ninja     $(tool_version ninja --version)
  Rust      $(tool_version rustc --version); $(tool_version cargo --version)
  gcc       $(tool_version gcc --version)
  ccache    $(tool_version ccache --version) (CCACHE_DIR $CCACHE_DIR)
  git       $(tool_version git --version)
  CUDA      $(if command -v nvcc >/dev/null 2>&1; then nvcc --version | tail -n 1; else echo "nvcc not found"; fi)
  ROCm      $(if command -v hipcc >/dev/null 2>&1; then first_line hipcc --version; else echo "hipcc not found"; fi)
  Vulkan    $(vulkan_devices)
  GPUs      $(if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>/dev/null | paste -sd ';' - || echo "none"; elif [[ -e /dev/kfd ]]; then echo "/dev/kfd present"; else echo "none visible"; fi)
  backends  $( (resolve_backends) 2>/dev/null || echo "invalid:") (MLC_BACKENDS=${MLC_BACKENDS:-auto})
SUMMARY
}

enter_source() {
  [[ -f $SRC/CMakeLists.txt ]] ||
    die "no CMakeLists.txt in $SRC: mount the MLC-LLM checkout there (docker run -v \"\$PWD\":/workspace ...) or set MLC_SOURCE_DIR" 2
  [[ -w $SRC ]] ||
    die "$SRC is not writable by uid $(id -u): chown the checkout to $(id -u) or run with --user \"\$(id -u):\$(id -g)\"" 2
  cd "$SRC"
}

cuda_archs() {
  local wanted=${MLC_CUDA_ARCHS:-80;90;100;120} supported out=() a
  wanted=${wanted//,/;}
  supported=$(nvcc --list-gpu-arch 2>/dev/null | sed -n 's/^compute_//p' | paste -sd ' ' - || true)
  IFS=';' read -r -a archs <<<"$wanted"
  for a in "${archs[@]}"; do
    if [[ -z $supported || " $supported " == *" ${a%%-*} "* || " $supported " == *" ${a%[af]} "* ]]; then
      out+=("$a")
    else
      say "nvcc does not support sm_$a: left out of CMAKE_CUDA_ARCHITECTURES" >&2
    fi
  done
  [[ ${#out[@]} -gt 0 ]] || die "none of MLC_CUDA_ARCHS=$wanted is supported by $(nvcc --version | tail -n 1)" 2
  local IFS=';'
  echo "${out[*]}"
}

flag() { if [[ $1 == 1 || $1 == ON || $1 == on || $1 == true ]]; then echo ON; else echo OFF; fi; }

write_config() {
  local backends=$1 cuda=OFF rocm=OFF vulkan=OFF opencl=OFF
  [[ ,$backends, == *,cuda,* ]] && cuda=ON
  [[ ,$backends, == *,rocm,* ]] && rocm=ON
  [[ ,$backends, == *,vulkan,* ]] && vulkan=ON
  [[ ,$backends, == *,opencl,* ]] && opencl=ON
  and_cuda() { if [[ $cuda == ON ]]; then flag "$1"; else echo OFF; fi; }
  mkdir -p build
  {
    echo "# Written by $PROG from MLC_BACKENDS=${backends:-none} (what cmake/gen_cmake_config.py writes)."
    echo "set(TVM_SOURCE_DIR 3rdparty/tvm)"
    echo "set(CMAKE_BUILD_TYPE ${MLC_BUILD_TYPE:-RelWithDebInfo})"
    echo "set(USE_CUDA $cuda)"
    echo "set(USE_CUTLASS $(and_cuda "${MLC_USE_CUTLASS:-1}"))"
    echo "set(USE_CUBLAS $(and_cuda "${MLC_USE_CUBLAS:-1}"))"
    echo "set(USE_THRUST $(and_cuda "${MLC_USE_THRUST:-1}"))"
    echo "set(USE_NCCL $(and_cuda "${MLC_USE_NCCL:-0}"))"
    echo "set(USE_ROCM $rocm)"
    if [[ $rocm == ON ]]; then echo "set(USE_HIPBLAS $(flag "${MLC_USE_HIPBLAS:-1}"))"; else echo "set(USE_HIPBLAS OFF)"; fi
    echo "set(USE_VULKAN $vulkan)"
    echo "set(USE_METAL OFF)"
    echo "set(USE_OPENCL $opencl)"
    echo "set(USE_OPENCL_ENABLE_HOST_PTR OFF)"
    if [[ $cuda == ON ]]; then
      echo "set(CMAKE_CUDA_ARCHITECTURES \"$(cuda_archs)\")"
    fi
    if [[ ${MLC_CCACHE:-1} == 1 ]] && command -v ccache >/dev/null 2>&1; then
      echo "set(CMAKE_C_COMPILER_LAUNCHER ccache)"
      echo "set(CMAKE_CXX_COMPILER_LAUNCHER ccache)"
      echo "set(CMAKE_CUDA_COMPILER_LAUNCHER ccache)"
    fi
    if [[ -n ${MLC_CMAKE_EXTRA_LINES:-} ]]; then printf '%s\n' "$MLC_CMAKE_EXTRA_LINES"; fi
  } >build/config.cmake
  cat build/config.cmake
  if [[ -f config.cmake ]]; then
    say "note: ./config.cmake exists; build/config.cmake is read first and wins"
  fi
}

build_jobs() {
  local jobs=${MLC_JOBS:-0} cores mem_kib by_mem per=${MLC_GIB_PER_JOB:-2}
  [[ $jobs =~ ^[0-9]+$ ]] || die "MLC_JOBS=$jobs: expected a number (0: automatic)" 2
  if [[ $jobs -gt 0 ]]; then
    echo "$jobs"
    return
  fi
  cores=$(nproc)
  mem_kib=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
  by_mem=$((mem_kib / (per * 1024 * 1024)))
  jobs=$((by_mem < cores ? by_mem : cores))
  echo $((jobs > 0 ? jobs : 1))
}

# Native build: version stamp, build/config.cmake, CMake + Ninja, libraries, import check.
native_build() {
  local backends jobs cache_home cache_gen prefix libs=() found
  backends=$(resolve_backends)
  if [[ -f .gitmodules ]] && git submodule status --recursive 2>/dev/null | grep -q '^-'; then
    step "git submodule update --init --recursive"
    git submodule update --init --recursive
  fi
  if [[ -f version.py ]]; then
    step "python version.py --git-describe"
    "$PY" version.py --git-describe
  fi
  if [[ ${MLC_CLEAN_BUILD:-0} == 1 ]]; then rm -rf build; fi
  step "write build/config.cmake (backends: ${backends:-none})"
  write_config "$backends"

  step "cmake -S . -B build -G Ninja"
  if [[ -f build/CMakeCache.txt ]]; then
    cache_home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' build/CMakeCache.txt)
    cache_gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' build/CMakeCache.txt)
    if [[ $cache_home != "$PWD" || $cache_gen != Ninja ]]; then
      say "build/ was configured for $cache_home with $cache_gen: starting a fresh CMake cache"
      rm -rf build/CMakeCache.txt build/CMakeFiles
    fi
  fi
  local cmake_args=()
  read -r -a cmake_args <<<"${MLC_CMAKE_ARGS:-}"
  cmake -S . -B build -G Ninja "${cmake_args[@]}"

  jobs=$(build_jobs)
  step "cmake --build build -j $jobs"
  cmake --build build -j "$jobs"

  step "check the libraries"
  for prefix in ${MLC_LIBRARIES:-libtvm_runtime libmlc_llm}; do
    found=$(find build -type f -name "$prefix*.so*" -print -quit)
    [[ -n $found ]] || die "the build produced no $prefix*.so under build/"
    libs+=("$found")
    echo "$found"
  done
  if ldd "${libs[@]}" | grep 'not found'; then die "missing shared libraries (ldd above)"; fi

  step "import ${MLC_IMPORT_NAME:-mlc_llm} from the source tree"
  (cd /tmp && PYTHONPATH=$SRC/python "$PY" -c "import ${MLC_IMPORT_NAME:-mlc_llm} as m; print(m.__file__)")
  local cli=()
  read -r -a cli <<<"${MLC_CLI_CHECK--m ${MLC_IMPORT_NAME:-mlc_llm} chat -h}"
  if [[ ${#cli[@]} -gt 0 ]]; then
    (cd /tmp && PYTHONPATH=$SRC/python "$PY" "${cli[@]}" >/dev/null)
    echo "python ${cli[*]}: ok"
  fi
}

# Whether the venv satisfies [build-system] requires of pyproject.toml (then no isolation).
build_requirements_met() {
  "$PY" - <<'PYCODE'
import sys
from importlib.metadata import PackageNotFoundError, version

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib
from packaging.requirements import Requirement

with open("pyproject.toml", "rb") as f:
    requires = tomllib.load(f).get("build-system", {}).get("requires", ["setuptools"])
for text in requires:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        have = version(req.name)
    except PackageNotFoundError:
        print(f"{req.name} is not in the image's venv")
        sys.exit(1)
    if not req.specifier.contains(have, prereleases=True):
        print(f"{req.name} {have} does not satisfy {text}")
        sys.exit(1)
PYCODE
}

wheel() {
  local outdir=${MLC_OUTPUT_DIR:-$SRC/dist} raw iso=() reason excludes=() name wheel_file verify backends
  backends=$(resolve_backends)
  raw=$(mktemp -d /tmp/mlc-raw-wheel.XXXXXX)
  case ${MLC_BUILD_ISOLATION:-auto} in
    0 | no | false) iso=(--no-build-isolation) ;;
    1 | yes | true) ;;
    auto)
      if reason=$(build_requirements_met); then
        iso=(--no-build-isolation)
      else
        say "pip builds with isolation (needs the package index): $reason"
      fi
      ;;
    *) die "MLC_BUILD_ISOLATION=${MLC_BUILD_ISOLATION}: expected auto, 1 or 0" 2 ;;
  esac
  step "pip wheel --no-deps ${iso[*]} -w <tmp> . -v"
  "$PY" -m pip wheel --no-deps "${iso[@]}" -w "$raw" . -v

  shopt -s nullglob
  local built=("$raw"/*.whl)
  [[ ${#built[@]} -eq 1 ]] || die "pip wheel made ${#built[@]} wheels, expected 1"
  mkdir -p "$outdir"
  rm -f "$outdir"/*.whl "$outdir"/SHA256SUMS
  if [[ ${MLC_WHEEL_REPAIR:-1} == 1 ]]; then
    for name in ${MLC_WHEEL_EXCLUDE:-libtvm libtvm_runtime libtvm_ffi libvulkan}; do
      excludes+=("--exclude=$name.so*")
    done
    if [[ -z ${MLC_WHEEL_EXCLUDE:-} ]]; then
      if [[ ,$backends, == *,cuda,* ]]; then
        for name in libcuda libcudart libnvrtc libcublas libcublasLt; do excludes+=("--exclude=$name.so*"); done
      fi
      if [[ ,$backends, == *,rocm,* ]]; then
        for name in libamdhip64 libhsa-runtime64 librocm_smi64 librccl; do excludes+=("--exclude=$name.so*"); done
      fi
    fi
    step "auditwheel repair --plat ${MLC_WHEEL_PLAT:-auto} ${excludes[*]}"
    auditwheel repair --plat "${MLC_WHEEL_PLAT:-auto}" -w "$outdir" "${excludes[@]}" "${built[0]}"
  else
    cp "${built[0]}" "$outdir/"
  fi
  rm -rf "$raw"

  step "SHA256SUMS"
  (cd "$outdir" && sha256sum -- *.whl >SHA256SUMS && cat SHA256SUMS)
  wheel_file=("$outdir"/*.whl)

  step "install the wheel in a clean venv and import it"
  verify=$(mktemp -d /tmp/mlc-verify.XXXXXX)
  python3 -m venv "$verify/venv"
  local pip_extra=()
  read -r -a pip_extra <<<"${MLC_PIP_EXTRA_ARGS:-}"
  "$verify/venv/bin/python" -m pip install -q "${pip_extra[@]}" "${wheel_file[0]}"
  local where
  where=$(cd / && "$verify/venv/bin/python" -c "import ${MLC_IMPORT_NAME:-mlc_llm} as m; print(m.__file__)")
  echo "$where"
  [[ $where == "$verify/venv/"* ]] || die "import ${MLC_IMPORT_NAME:-mlc_llm} loaded $where, not the installed wheel"
  rm -rf "$verify"
  say "built $(basename "${wheel_file[0]}") in $outdir"
}

run_tests() {
  local libs markers=${MLC_TEST_MARKERS:-unittest} paths=() extra=()
  libs=$(find build -type f -name 'libmlc_llm*.so*' -print -quit 2>/dev/null || true)
  if [[ -z $libs ]]; then
    say "build/ has no library yet: building first"
    native_build
  fi
  read -r -a paths <<<"${MLC_TEST_PATHS:-tests/python}"
  read -r -a extra <<<"${MLC_TEST_ARGS:-}"
  step "pytest -m \"$markers\" ${paths[*]} ${extra[*]}"
  PYTHONPATH=$SRC/python${PYTHONPATH:+:$PYTHONPATH} \
    "$PY" -m pytest -v -p no:cacheprovider -m "$markers" "${paths[@]}" "${extra[@]}"
}

usage() { sed -n '2,/^set -Eeuo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-dev}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    dev)
      setup_env
      summary
      cd "$SRC" 2>/dev/null || true
      exec bash "$@"
      ;;
    build)
      setup_env
      trap on_error ERR
      summary
      enter_source
      native_build
      wheel
      ;;
    test)
      setup_env
      trap on_error ERR
      summary
      enter_source
      run_tests
      ;;
    help | --help | -h) usage ;;
    *) exec "$cmd" "$@" ;;
  esac
}

main "$@"
