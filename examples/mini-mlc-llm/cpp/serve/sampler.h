/*!
 * \file serve/sampler.h
 * \brief Token sampling: greedy and nucleus (top-p) with temperature.
 */
#ifndef MLC_LLM_SERVE_SAMPLER_H_
#define MLC_LLM_SERVE_SAMPLER_H_

#include <cstdint>
#include <vector>

namespace mlc {
namespace llm {
namespace serve {

/*! \brief Index of the largest logit (the first one on ties). */
int32_t ArgMax(const std::vector<float>& logits);
/*! \brief Sample from the smallest set of tokens whose probability reaches top_p. */
int32_t SampleTopP(const std::vector<float>& logits, float temperature, float top_p,
                   uint64_t seed);
/*! \brief Probabilities after temperature and top-p filtering (zero outside the nucleus). */
std::vector<double> TopPProbs(const std::vector<float>& logits, float temperature, float top_p);

}  // namespace serve
}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_SERVE_SAMPLER_H_
