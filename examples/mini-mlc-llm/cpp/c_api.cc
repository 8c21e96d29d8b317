/*!
 * \file c_api.cc
 * \brief The C ABI: version and build info, and thin wrappers over the C++ and Rust code.
 */
#include "c_api.h"

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/ndarray.h>
#include <tvm/runtime/registry.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "backends.h"
#include "rust_ffi.h"
#include "serve/conversation.h"
#include "serve/generation_config.h"
#include "serve/json_config.h"
#include "serve/sampler.h"
#include "tensor/tensor.h"
#include "tokenizer/tokenizer.h"

#ifndef MLC_LLM_VERSION
#define MLC_LLM_VERSION "0.0.0"
#endif
#ifndef MLC_LLM_BACKENDS
#define MLC_LLM_BACKENDS "cpu"
#endif

namespace {

thread_local std::string last_error;   // NOLINT(runtime/string)
thread_local std::string ret_string;   // NOLINT(runtime/string)

void SetError(const std::string& msg) { last_error = msg; }

template <typename T>
mlc::llm::tensor::Tensor<T> MakeA(int64_t m, int64_t k) {
  return mlc::llm::tensor::Tensor<T>::FromFunction(
      {m, k}, [k](int64_t idx) { return static_cast<T>(((idx / k) * k + idx % k) % 7 - 3); });
}

template <typename T>
mlc::llm::tensor::Tensor<T> MakeB(int64_t k, int64_t n) {
  return mlc::llm::tensor::Tensor<T>::FromFunction(
      {k, n}, [n](int64_t idx) { return static_cast<T>(((idx / n) * n + idx % n) % 5 - 2); });
}

template <typename T>
double MatMulChecksum(int64_t m, int64_t n, int64_t k, int variant) {
  // The result is also copied through a tvm NDArray, as MLC-LLM hands tensors to TVM.
  auto c = mlc::llm::tensor::MatMul(MakeA<T>(m, k), MakeB<T>(k, n), variant);
  tvm::runtime::NDArray arr = tvm::runtime::NDArray::Empty<T>({m, n});
  std::memcpy(arr.Data<T>(), c.data(), sizeof(T) * static_cast<size_t>(c.numel()));
  mlc::llm::tensor::Tensor<T> back({m, n});
  std::memcpy(back.data(), arr.Data<T>(), arr.ByteSize());
  return mlc::llm::tensor::Checksum(back);
}

template <typename T>
double DecoderLayer(int64_t seq, int64_t dim) {
  using mlc::llm::tensor::Tensor;
  namespace t = mlc::llm::tensor;
  auto x = Tensor<T>::FromFunction({seq, dim}, [](int64_t i) {
    return static_cast<T>(static_cast<double>((i * 37) % 19) / 19.0 - 0.5);
  });
  auto w = Tensor<T>::FromFunction({dim, dim}, [](int64_t i) {
    return static_cast<T>(static_cast<double>((i * 11) % 23) / 23.0 - 0.5);
  });
  auto ones = Tensor<T>({dim}, static_cast<T>(1));
  auto zeros = Tensor<T>({dim}, static_cast<T>(0));
  auto h = t::RMSNorm(x, ones, 1e-6);
  auto q = t::Rope(t::MatMul(h, w), 0, 10000.0);
  auto k = t::Rope(t::MatMul(h, t::Transpose(w)), 0, 10000.0);
  auto attn = t::CausalAttention(q, k, h);
  auto out = t::Add(x, t::Silu(t::LayerNorm(attn, ones, zeros, 1e-5)));
  return t::Checksum(out);
}

template <typename F>
double ByDtype(int dtype, F f) {
  switch (dtype) {
    case 0: return f(float{});
    case 1: return f(double{});
    case 2: return f(int32_t{});
    case 3: return f(int64_t{});
    case 4: return f(int16_t{});
    case 5: return f(uint8_t{});
    default:
      throw std::invalid_argument(
          "dtype must be 0 (f32), 1 (f64), 2 (i32), 3 (i64), 4 (i16) or 5 (u8), got " +
          std::to_string(dtype));
  }
}

TVM_REGISTER_GLOBAL("mlc.llm.version").set_body([](const std::vector<std::string>&) {
  return std::string(MLC_LLM_VERSION);
});
TVM_REGISTER_GLOBAL("mlc.llm.backends").set_body([](const std::vector<std::string>&) {
  return std::string(MLC_LLM_BACKENDS);
});

}  // namespace

extern "C" {

const char* mlc_llm_version(void) { return MLC_LLM_VERSION; }

const char* mlc_llm_backends(void) { return MLC_LLM_BACKENDS; }

const char* mlc_llm_last_error(void) { return last_error.c_str(); }

const char* mlc_llm_runtime_info(void) {
  ret_string = std::string("tvm ") + TVMGetVersion() + ", dlpack " +
               std::to_string(TVMGetDLPackVersion());
  return ret_string.c_str();
}

const char* mlc_llm_global_funcs(void) { return TVMFuncListGlobalNames(); }

int mlc_llm_vulkan_device_count(void) {
  std::string names, error;
  const int n = mlc::llm::VulkanDeviceCount(&names, &error);
  if (!error.empty()) SetError(error);
  return n;
}

const char* mlc_llm_vulkan_device_names(void) {
  std::string error;
  ret_string.clear();
  mlc::llm::VulkanDeviceCount(&ret_string, &error);
  return ret_string.c_str();
}

const char* mlc_llm_cuda_archs(void) { return mlc::llm::CudaArchList(); }

int mlc_llm_cuda_device_count(void) { return mlc::llm::CudaDeviceCount(); }

int mlc_llm_cuda_saxpy_check(int n) {
  std::string error;
  const int rc = mlc::llm::CudaSaxpyCheck(n, &error);
  if (!error.empty()) SetError(error);
  return rc;
}

uint64_t mlc_llm_rust_fnv1a64(const char* text) {
  return mini_tokenizers_fnv1a64(reinterpret_cast<const uint8_t*>(text), std::strlen(text));
}

int64_t mlc_llm_rust_word_count(const char* text) {
  return static_cast<int64_t>(
      mini_tokenizers_word_count(reinterpret_cast<const uint8_t*>(text), std::strlen(text)));
}

const char* mlc_llm_rust_version(void) { return mini_tokenizers_version(); }

int mlc_llm_num_matmul_variants(void) { return mlc::llm::tensor::NumMatMulVariants(); }

double mlc_llm_matmul_checksum(int64_t m, int64_t n, int64_t k, int variant, int dtype) {
  try {
    return ByDtype(dtype, [&](auto tag) {
      return MatMulChecksum<decltype(tag)>(m, n, k, variant);
    });
  } catch (const std::exception& e) {
    SetError(e.what());
    return NAN;
  }
}

int mlc_llm_softmax(const double* in, int64_t n, double* out) {
  try {
    mlc::llm::tensor::Tensor<double> x({n});
    std::memcpy(x.data(), in, sizeof(double) * static_cast<size_t>(n));
    auto y = mlc::llm::tensor::Softmax(x);
    std::memcpy(out, y.data(), sizeof(double) * static_cast<size_t>(n));
    return 0;
  } catch (const std::exception& e) {
    SetError(e.what());
    return -1;
  }
}

double mlc_llm_decoder_layer_checksum(int64_t seq, int64_t dim, int dtype) {
  try {
    return ByDtype(dtype, [&](auto tag) { return DecoderLayer<decltype(tag)>(seq, dim); });
  } catch (const std::exception& e) {
    SetError(e.what());
    return NAN;
  }
}

int64_t mlc_llm_tokenizer_encode(const char* text, int32_t* out, int64_t cap) {
  try {
    const auto ids = mlc::llm::BPETokenizer::Default().Encode(text);
    const auto n = static_cast<int64_t>(ids.size());
    if (out != nullptr) {
      std::memcpy(out, ids.data(), sizeof(int32_t) * static_cast<size_t>(std::min(n, cap)));
    }
    return n;
  } catch (const std::exception& e) {
    SetError(e.what());
    return -1;
  }
}

const char* mlc_llm_tokenizer_decode(const int32_t* ids, int64_t n) {
  try {
    ret_string = mlc::llm::BPETokenizer::Default().Decode(std::vector<int32_t>(ids, ids + n));
    return ret_string.c_str();
  } catch (const std::exception& e) {
    SetError(e.what());
    return nullptr;
  }
}

int32_t mlc_llm_tokenizer_vocab_size(void) {
  return mlc::llm::BPETokenizer::Default().VocabSize();
}

int32_t mlc_llm_sample_top_p(const float* logits, int64_t n, float temperature, float top_p,
                             uint64_t seed) {
  try {
    return mlc::llm::serve::SampleTopP(std::vector<float>(logits, logits + n), temperature, top_p,
                                       seed);
  } catch (const std::exception& e) {
    SetError(e.what());
    return -1;
  }
}

const char* mlc_llm_config_get(const char* json_text, const char* path) {
  try {
    const auto root = mlc::llm::json::Parse(json_text);
    const auto& v = mlc::llm::json::Lookup(root, path);
    if (const auto* s = std::get_if<std::string>(&v.v)) {
      ret_string = *s;
    } else {
      ret_string = mlc::llm::json::Dump(v);
    }
    return ret_string.c_str();
  } catch (const std::exception& e) {
    SetError(e.what());
    return nullptr;
  }
}

const char* mlc_llm_conv_templates(void) {
  ret_string.clear();
  for (const std::string& n : mlc::llm::serve::ConversationTemplateNames()) {
    if (!ret_string.empty()) ret_string += ",";
    ret_string += n;
  }
  return ret_string.c_str();
}

const char* mlc_llm_conv_render(const char* template_name, const char* messages_json,
                                int add_generation_prompt) {
  try {
    ret_string = mlc::llm::serve::RenderConversation(
        template_name, mlc::llm::serve::ParseMessages(messages_json), add_generation_prompt != 0);
    return ret_string.c_str();
  } catch (const std::exception& e) {
    SetError(e.what());
    return nullptr;
  }
}

const char* mlc_llm_generation_config_normalize(const char* json_text) {
  try {
    ret_string = mlc::llm::serve::GenerationConfig::FromJSON(json_text).ToJSON();
    return ret_string.c_str();
  } catch (const std::exception& e) {
    SetError(e.what());
    return nullptr;
  }
}

}  // extern "C"
