/*!
 * \file serve/sampler.cc
 * \brief Token sampling.
 */
#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

namespace mlc {
namespace llm {
namespace serve {

int32_t ArgMax(const std::vector<float>& logits) {
  if (logits.empty()) throw std::invalid_argument("ArgMax: empty logits");
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

std::vector<double> TopPProbs(const std::vector<float>& logits, float temperature, float top_p) {
  if (logits.empty()) throw std::invalid_argument("TopPProbs: empty logits");
  if (!(temperature > 0.0f)) throw std::invalid_argument("TopPProbs: temperature must be > 0");
  if (!(top_p > 0.0f && top_p <= 1.0f)) throw std::invalid_argument("TopPProbs: top_p in (0, 1]");
  const double mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) p[i] = std::exp((logits[i] - mx) / temperature);
  const double z = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& v : p) v /= z;

  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  std::vector<double> out(p.size(), 0.0);
  double cum = 0.0;
  for (size_t idx : order) {
    out[idx] = p[idx];
    cum += p[idx];
    if (cum >= top_p) break;
  }
  for (double& v : out) v /= cum;
  return out;
}

int32_t SampleTopP(const std::vector<float>& logits, float temperature, float top_p,
                   uint64_t seed) {
  const std::vector<double> probs = TopPProbs(logits, temperature, top_p);
  std::mt19937_64 rng(seed);
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1), portable
  double cum = 0.0;
  int32_t last = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0) continue;
    last = static_cast<int32_t>(i);
    cum += probs[i];
    if (u < cum) return last;
  }
  return last;
}

}  // namespace serve
}  // namespace llm
}  // namespace mlc
