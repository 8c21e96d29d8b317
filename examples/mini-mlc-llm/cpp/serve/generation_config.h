/*!
 * \file serve/generation_config.h
 * \brief Request generation parameters (OpenAI-style), parsed and validated.
 */
#ifndef MLC_LLM_SERVE_GENERATION_CONFIG_H_
#define MLC_LLM_SERVE_GENERATION_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlc {
namespace llm {
namespace serve {

/*! \brief Generation parameters with their defaults. */
struct GenerationConfig {
  double temperature = 1.0;
  double top_p = 1.0;
  double frequency_penalty = 0.0;
  double presence_penalty = 0.0;
  int64_t max_tokens = 128;
  int64_t n = 1;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;

  /*! \brief Parse JSON; unknown keys and out-of-range values throw std::invalid_argument. */
  static GenerationConfig FromJSON(const std::string& json_text);
  /*! \brief All fields as compact JSON with sorted keys. */
  std::string ToJSON() const;
};

}  // namespace serve
}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_SERVE_GENERATION_CONFIG_H_
