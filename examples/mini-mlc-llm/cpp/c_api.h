/*!
 * \file c_api.h
 * \brief The C ABI of libmlc_llm, used from Python through ctypes (python/mlc_llm/base.py).
 *        Functions that can fail return NULL or a negative value and set mlc_llm_last_error.
 */
#ifndef MLC_LLM_C_API_H_
#define MLC_LLM_C_API_H_

#include <stddef.h>
#include <stdint.h>

#define MLC_LLM_DLL __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

MLC_LLM_DLL const char* mlc_llm_version(void);
MLC_LLM_DLL const char* mlc_llm_backends(void);
MLC_LLM_DLL const char* mlc_llm_last_error(void);
MLC_LLM_DLL const char* mlc_llm_runtime_info(void);
MLC_LLM_DLL const char* mlc_llm_global_funcs(void);
MLC_LLM_DLL int mlc_llm_vulkan_device_count(void);
MLC_LLM_DLL const char* mlc_llm_vulkan_device_names(void);
MLC_LLM_DLL const char* mlc_llm_cuda_archs(void);
MLC_LLM_DLL int mlc_llm_cuda_device_count(void);
MLC_LLM_DLL int mlc_llm_cuda_saxpy_check(int n);
MLC_LLM_DLL uint64_t mlc_llm_rust_fnv1a64(const char* text);
MLC_LLM_DLL int64_t mlc_llm_rust_word_count(const char* text);
MLC_LLM_DLL const char* mlc_llm_rust_version(void);
MLC_LLM_DLL int mlc_llm_num_matmul_variants(void);
MLC_LLM_DLL double mlc_llm_matmul_checksum(int64_t m, int64_t n, int64_t k, int variant,
                                           int dtype);
MLC_LLM_DLL int mlc_llm_softmax(const double* in, int64_t n, double* out);
MLC_LLM_DLL double mlc_llm_decoder_layer_checksum(int64_t seq, int64_t dim, int dtype);
MLC_LLM_DLL int64_t mlc_llm_tokenizer_encode(const char* text, int32_t* out, int64_t cap);
MLC_LLM_DLL const char* mlc_llm_tokenizer_decode(const int32_t* ids, int64_t n);
MLC_LLM_DLL int32_t mlc_llm_tokenizer_vocab_size(void);
MLC_LLM_DLL int32_t mlc_llm_sample_top_p(const float* logits, int64_t n, float temperature,
                                         float top_p, uint64_t seed);
MLC_LLM_DLL const char* mlc_llm_config_get(const char* json_text, const char* path);
MLC_LLM_DLL const char* mlc_llm_conv_templates(void);
MLC_LLM_DLL const char* mlc_llm_conv_render(const char* template_name, const char* messages_json,
                                            int add_generation_prompt);
MLC_LLM_DLL const char* mlc_llm_generation_config_normalize(const char* json_text);

#ifdef __cplusplus
}  // extern "C"
#endif
#endif  // MLC_LLM_C_API_H_
