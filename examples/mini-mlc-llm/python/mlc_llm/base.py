"""Load the native libraries and wrap their C functions with ctypes."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from pathlib import Path

from . import libinfo


def _load() -> tuple[ctypes.CDLL, ctypes.CDLL, Path]:
    """Load libtvm_runtime (global symbols) and then libmlc_llm; return both and the path."""
    lib_path = libinfo.find_lib_path("libmlc_llm.so")[0]
    # libtvm_runtime next to the chosen libmlc_llm (build/lib beside build/ in a source tree).
    candidates = [
        lib_path.parent / "libtvm_runtime.so",
        lib_path.parent / "lib" / "libtvm_runtime.so",
    ]
    candidates += libinfo.find_lib_path("libtvm_runtime.so", optional=True)
    tvm_path = next((p for p in candidates if p.is_file()), None)
    if tvm_path is None:
        raise RuntimeError(f"Cannot find libtvm_runtime.so for {lib_path}")
    tvm = ctypes.CDLL(str(tvm_path), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(str(lib_path))
    return lib, tvm, lib_path


_LIB, _TVM, LIB_PATH = _load()

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "mlc_llm_version": (ctypes.c_char_p, []),
    "mlc_llm_backends": (ctypes.c_char_p, []),
    "mlc_llm_last_error": (ctypes.c_char_p, []),
    "mlc_llm_runtime_info": (ctypes.c_char_p, []),
    "mlc_llm_global_funcs": (ctypes.c_char_p, []),
    "mlc_llm_vulkan_device_count": (ctypes.c_int, []),
    "mlc_llm_vulkan_device_names": (ctypes.c_char_p, []),
    "mlc_llm_cuda_archs": (ctypes.c_char_p, []),
    "mlc_llm_cuda_device_count": (ctypes.c_int, []),
    "mlc_llm_cuda_saxpy_check": (ctypes.c_int, [ctypes.c_int]),
    "mlc_llm_rust_fnv1a64": (ctypes.c_uint64, [ctypes.c_char_p]),
    "mlc_llm_rust_word_count": (ctypes.c_int64, [ctypes.c_char_p]),
    "mlc_llm_rust_version": (ctypes.c_char_p, []),
    "mlc_llm_num_matmul_variants": (ctypes.c_int, []),
    "mlc_llm_matmul_checksum": (
        ctypes.c_double,
        [ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int, ctypes.c_int],
    ),
    "mlc_llm_softmax": (
        ctypes.c_int,
        [ctypes.POINTER(ctypes.c_double), ctypes.c_int64, ctypes.POINTER(ctypes.c_double)],
    ),
    "mlc_llm_decoder_layer_checksum": (
        ctypes.c_double,
        [ctypes.c_int64, ctypes.c_int64, ctypes.c_int],
    ),
    "mlc_llm_tokenizer_encode": (
        ctypes.c_int64,
        [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int32), ctypes.c_int64],
    ),
    "mlc_llm_tokenizer_decode": (ctypes.c_char_p, [ctypes.POINTER(ctypes.c_int32), ctypes.c_int64]),
    "mlc_llm_tokenizer_vocab_size": (ctypes.c_int32, []),
    "mlc_llm_sample_top_p": (
        ctypes.c_int32,
        [
            ctypes.POINTER(ctypes.c_float),
            ctypes.c_int64,
            ctypes.c_float,
            ctypes.c_float,
            ctypes.c_uint64,
        ],
    ),
    "mlc_llm_config_get": (ctypes.c_char_p, [ctypes.c_char_p, ctypes.c_char_p]),
    "mlc_llm_conv_templates": (ctypes.c_char_p, []),
    "mlc_llm_conv_render": (ctypes.c_char_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]),
    "mlc_llm_generation_config_normalize": (ctypes.c_char_p, [ctypes.c_char_p]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _func = getattr(_LIB, _name)
    _func.restype = _restype
    _func.argtypes = _argtypes

DTYPES = {"float32": 0, "float64": 1, "int32": 2, "int64": 3, "int16": 4, "uint8": 5}


class MLCError(RuntimeError):
    """An error reported by libmlc_llm."""


def _last_error() -> str:
    return (_LIB.mlc_llm_last_error() or b"").decode()


def _str(value: bytes | None) -> str:
    return (value or b"").decode()


def lib_version() -> str:
    """Return the version compiled into libmlc_llm."""
    return _str(_LIB.mlc_llm_version())


def backends() -> list[str]:
    """Return the backends compiled in, e.g. ``["cpu", "vulkan"]``."""
    return [b for b in _str(_LIB.mlc_llm_backends()).split(",") if b]


def runtime_info() -> str:
    """Return the TVM runtime and DLPack versions libmlc_llm runs on."""
    return _str(_LIB.mlc_llm_runtime_info())


def global_funcs() -> list[str]:
    """Return the functions registered in the TVM runtime's global table."""
    return [f for f in _str(_LIB.mlc_llm_global_funcs()).split(",") if f]


def vulkan_device_count() -> int:
    """Return the Vulkan physical devices (-1 when built without Vulkan)."""
    return int(_LIB.mlc_llm_vulkan_device_count())


def vulkan_device_names() -> list[str]:
    """Return the names of the Vulkan physical devices."""
    return [n for n in _str(_LIB.mlc_llm_vulkan_device_names()).split("\n") if n]


def cuda_archs() -> list[str]:
    """Return the CUDA architectures compiled in (empty without CUDA)."""
    return [a for a in _str(_LIB.mlc_llm_cuda_archs()).split(",") if a]


def cuda_device_count() -> int:
    """Return the CUDA devices visible (-1 without CUDA, 0 without a GPU)."""
    return int(_LIB.mlc_llm_cuda_device_count())


def cuda_saxpy_check(n: int = 1024) -> None:
    """Run a saxpy kernel on the GPU and check its result; raise MLCError on failure."""
    rc = _LIB.mlc_llm_cuda_saxpy_check(n)
    if rc != 0:
        raise MLCError(f"CUDA saxpy check failed ({rc}): {_last_error()}")


def rust_fnv1a64(text: str) -> int:
    """Return the 64-bit FNV-1a hash of the UTF-8 text (computed by the Rust library)."""
    return int(_LIB.mlc_llm_rust_fnv1a64(text.encode()))


def rust_word_count(text: str) -> int:
    """Return the number of whitespace-separated words (computed by the Rust library)."""
    return int(_LIB.mlc_llm_rust_word_count(text.encode()))


def rust_version() -> str:
    """Return the version of the Rust static library."""
    return _str(_LIB.mlc_llm_rust_version())


def num_matmul_variants() -> int:
    """Return the number of tiled matmul variants compiled per dtype."""
    return int(_LIB.mlc_llm_num_matmul_variants())


def matmul_checksum(m: int, n: int, k: int, variant: int = -1, dtype: str = "float32") -> float:
    """Return the checksum of C = A @ B for the built-in A (m x k) and B (k x n)."""
    value = float(_LIB.mlc_llm_matmul_checksum(m, n, k, variant, DTYPES[dtype]))
    if math.isnan(value):
        raise MLCError(_last_error())
    return value


def decoder_layer_checksum(seq: int, dim: int, dtype: str = "float64") -> float:
    """Return the checksum of one decoder layer on built-in data."""
    value = float(_LIB.mlc_llm_decoder_layer_checksum(seq, dim, DTYPES[dtype]))
    if math.isnan(value):
        raise MLCError(_last_error())
    return value


def softmax(values: Sequence[float]) -> list[float]:
    """Return the softmax of values, computed by the C++ library."""
    n = len(values)
    src = (ctypes.c_double * n)(*values)
    dst = (ctypes.c_double * n)()
    if _LIB.mlc_llm_softmax(src, n, dst) != 0:
        raise MLCError(_last_error())
    return list(dst)


def tokenizer_encode(text: str) -> list[int]:
    """Encode text with the built-in byte-level BPE tokenizer."""
    data = text.encode()
    n = int(_LIB.mlc_llm_tokenizer_encode(data, None, 0))
    if n < 0:
        raise MLCError(_last_error())
    out = (ctypes.c_int32 * max(n, 1))()
    _LIB.mlc_llm_tokenizer_encode(data, out, n)
    return list(out)[:n]


def tokenizer_decode(ids: Sequence[int]) -> str:
    """Decode token ids back to text."""
    arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
    ret = _LIB.mlc_llm_tokenizer_decode(arr, len(ids))
    if ret is None:
        raise MLCError(_last_error())
    return bytes(ret).decode(errors="replace")


def tokenizer_vocab_size() -> int:
    """Return the vocabulary size of the built-in tokenizer."""
    return int(_LIB.mlc_llm_tokenizer_vocab_size())


def sample_top_p(logits: Sequence[float], temperature: float, top_p: float, seed: int) -> int:
    """Sample a token id with temperature and nucleus filtering (deterministic per seed)."""
    arr = (ctypes.c_float * len(logits))(*logits)
    ret = int(_LIB.mlc_llm_sample_top_p(arr, len(logits), temperature, top_p, seed))
    if ret < 0:
        raise MLCError(_last_error())
    return ret


def config_get(json_text: str, path: str) -> str:
    """Return the value at a dotted path of a JSON document (strings unquoted)."""
    ret = _LIB.mlc_llm_config_get(json_text.encode(), path.encode())
    if ret is None:
        raise MLCError(_last_error())
    return bytes(ret).decode()


def conv_templates() -> list[str]:
    """Return the names of the built-in conversation templates."""
    return [t for t in _str(_LIB.mlc_llm_conv_templates()).split(",") if t]


def conv_render(template: str, messages_json: str, add_generation_prompt: bool = True) -> str:
    """Render chat messages (a JSON list of {role, content}) into a prompt."""
    ret = _LIB.mlc_llm_conv_render(
        template.encode(), messages_json.encode(), int(add_generation_prompt)
    )
    if ret is None:
        raise MLCError(_last_error())
    return bytes(ret).decode()


def generation_config_normalize(json_text: str) -> str:
    """Validate a generation config and return it with every default filled in."""
    ret = _LIB.mlc_llm_generation_config_normalize(json_text.encode())
    if ret is None:
        raise MLCError(_last_error())
    return bytes(ret).decode()
