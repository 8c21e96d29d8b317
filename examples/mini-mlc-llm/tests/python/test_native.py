"""The C++ and Rust code behind libmlc_llm, checked against Python references."""

from __future__ import annotations

import json
import math

import pytest
from mlc_llm import base

pytestmark = pytest.mark.unittest


def fnv1a64(data: bytes) -> int:
    """Return the 64-bit FNV-1a hash (reference)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) % (1 << 64)
    return h


def matmul_checksum(m: int, n: int, k: int, modulo: int | None = None) -> float:
    """Return what base.matmul_checksum must return (integer-valued, so exact)."""
    a = [[(i * k + p) % 7 - 3 for p in range(k)] for i in range(m)]
    b = [[(p * n + j) % 5 - 2 for j in range(n)] for p in range(k)]
    if modulo is not None:
        a = [[v % modulo for v in row] for row in a]
        b = [[v % modulo for v in row] for row in b]
    total = 0.0
    for i in range(m):
        for j in range(n):
            c = sum(a[i][p] * b[p][j] for p in range(k))
            if modulo is not None:
                c %= modulo
            total += c * ((i * n + j) % 13 + 1)
    return total


def test_rust_library() -> None:
    """The Rust static library is linked in and computes FNV-1a and word counts."""
    assert base.rust_version() == "0.1.0"
    for text in ["", "a", "hello world", "MLC LLM ünïcödé"]:
        assert base.rust_fnv1a64(text) == fnv1a64(text.encode())
    assert base.rust_word_count("  one two\tthree\nfour\u3000five ") == 5


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "int16"])
def test_matmul_all_variants(dtype: str) -> None:
    """Every tiled matmul variant gives the exact reference result."""
    m, n, k = 37, 29, 41
    expected = matmul_checksum(m, n, k)
    assert base.num_matmul_variants() >= 24
    for variant in [-1, *range(base.num_matmul_variants())]:
        assert base.matmul_checksum(m, n, k, variant, dtype) == expected, variant


def test_matmul_uint8_wraps() -> None:
    """uint8 matmul wraps modulo 256, as the C++ conversion defines."""
    assert base.matmul_checksum(9, 7, 5, 3, "uint8") == matmul_checksum(9, 7, 5, modulo=256)


def test_matmul_errors() -> None:
    """A bad variant is reported through mlc_llm_last_error."""
    with pytest.raises(base.MLCError, match="no variant"):
        base.matmul_checksum(2, 2, 2, 10_000)


def test_softmax() -> None:
    """Softmax matches math.exp, and is stable for large inputs."""
    xs = [1.0, 2.0, 3.0, -4.0]
    z = sum(math.exp(x) for x in xs)
    assert base.softmax(xs) == pytest.approx([math.exp(x) / z for x in xs], rel=1e-12)
    assert base.softmax([1000.0, 1000.0]) == [0.5, 0.5]


def test_decoder_layer_deterministic() -> None:
    """A decoder layer (norms, rope, attention, silu) is finite and deterministic."""
    a = base.decoder_layer_checksum(8, 16)
    assert math.isfinite(a)
    assert a == base.decoder_layer_checksum(8, 16)
    assert base.decoder_layer_checksum(8, 16, "float32") == pytest.approx(a, rel=1e-4)


def test_tokenizer_roundtrip() -> None:
    """BPE encode/decode round-trips and compresses familiar text."""
    text = "The engine turns tokens into more tokens, in 2024 and beyond! ünïcödé"
    ids = base.tokenizer_encode(text)
    assert base.tokenizer_decode(ids) == text
    assert len(ids) < len(text.encode())
    assert all(0 <= i < base.tokenizer_vocab_size() for i in ids)
    assert base.tokenizer_vocab_size() > 256
    with pytest.raises(base.MLCError, match="out of range"):
        base.tokenizer_decode([10**6])


def test_sampler() -> None:
    """Top-p sampling is greedy for a tiny top_p and reproducible per seed."""
    logits = [0.1, 2.5, 0.3, 2.4, -1.0]
    assert base.sample_top_p(logits, 1.0, 1e-6, seed=7) == 1
    draws = [base.sample_top_p(logits, 1.0, 0.9, seed=s) for s in range(50)]
    assert draws == [base.sample_top_p(logits, 1.0, 0.9, seed=s) for s in range(50)]
    assert set(draws) <= {1, 3, 2, 0}
    assert {1, 3} <= set(draws)


def test_config_reader() -> None:
    """The JSON reader finds values by dotted path."""
    cfg = json.dumps(
        {
            "model_type": "llama",
            "context_window_size": 4096,
            "rope": {"theta": 10000.0},
            "stop_token_ids": [2, 32000],
        }
    )
    assert base.config_get(cfg, "model_type") == "llama"
    assert base.config_get(cfg, "context_window_size") == "4096"
    assert base.config_get(cfg, "rope.theta") == "10000"
    assert base.config_get(cfg, "stop_token_ids.1") == "32000"
    with pytest.raises(base.MLCError, match="no key"):
        base.config_get(cfg, "missing")


def test_conversation_templates() -> None:
    """Chat messages render with the chatml template."""
    assert "chatml" in base.conv_templates()
    messages = json.dumps([{"role": "user", "content": "Hi $1"}])
    assert base.conv_render("chatml", messages) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi $1<|im_end|>\n<|im_start|>assistant\n"
    )
    with pytest.raises(base.MLCError, match="unknown conversation template"):
        base.conv_render("nope", messages)


def test_generation_config() -> None:
    """Generation configs get their defaults and are range-checked."""
    out = json.loads(base.generation_config_normalize('{"temperature": 0.5, "stop": "###"}'))
    assert out["temperature"] == 0.5
    assert out["top_p"] == 1
    assert out["max_tokens"] == 128
    assert out["stop"] == ["###"]
    with pytest.raises(base.MLCError, match="top_p"):
        base.generation_config_normalize('{"top_p": 1.5}')
