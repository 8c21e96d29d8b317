/*!
 * \file rust_ffi.h
 * \brief The C ABI of the Rust static library in rust/ (mini_tokenizers).
 */
#ifndef MLC_LLM_RUST_FFI_H_
#define MLC_LLM_RUST_FFI_H_

#include <stddef.h>
#include <stdint.h>

extern "C" {
uint64_t mini_tokenizers_fnv1a64(const uint8_t* data, size_t len);
size_t mini_tokenizers_word_count(const uint8_t* data, size_t len);
const char* mini_tokenizers_version(void);
}

#endif  // MLC_LLM_RUST_FFI_H_
