/*!
 * \file tensor/tensor_impl.h
 * \brief Template definitions of tensor.h. Include only from tensor_<dtype>.cc, which
 *        instantiate them with MLC_LLM_INSTANTIATE_TENSOR.
 */
#ifndef MLC_LLM_TENSOR_TENSOR_IMPL_H_
#define MLC_LLM_TENSOR_TENSOR_IMPL_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tensor.h"

namespace mlc {
namespace llm {
namespace tensor {

/*! \brief Tile sizes of one matmul variant. */
struct TileConfig {
  int m, n, k;
};

inline constexpr std::array<int, 6> kTileM = {1, 2, 4, 8, 16, 32};
inline constexpr std::array<int, 4> kTileN = {4, 8, 16, 32};
inline constexpr std::array<int, 3> kTileK = {4, 8, 16};

/*! \brief Index of the variant with tile sizes kTileM[im], kTileN[in], kTileK[ik]. */
constexpr int TileIndex(int im, int in, int ik) {
  return (im * static_cast<int>(kTileN.size()) + in) * static_cast<int>(kTileK.size()) + ik;
}

constexpr std::array<TileConfig, kTileM.size() * kTileN.size() * kTileK.size()> MakeTileConfigs() {
  std::array<TileConfig, kTileM.size() * kTileN.size() * kTileK.size()> out{};
  for (size_t im = 0; im < kTileM.size(); ++im) {
    for (size_t in = 0; in < kTileN.size(); ++in) {
      for (size_t ik = 0; ik < kTileK.size(); ++ik) {
        out[TileIndex(static_cast<int>(im), static_cast<int>(in), static_cast<int>(ik))] =
            TileConfig{kTileM[im], kTileN[in], kTileK[ik]};
      }
    }
  }
  return out;
}

/*! \brief Every variant that is compiled, for every dtype (72 kernels per dtype). */
inline constexpr auto kTileConfigs = MakeTileConfigs();

namespace detail {

inline int64_t Product(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
}

inline void CheckMatMulShapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != 2 || b.size() != 2 || a[1] != b[0]) {
    std::ostringstream os;
    os << "MatMul: incompatible shapes (" << (a.empty() ? 0 : a[0]) << ", "
       << (a.size() > 1 ? a[1] : 0) << ") x (" << (b.empty() ? 0 : b[0]) << ", "
       << (b.size() > 1 ? b[1] : 0) << ")";
    throw std::invalid_argument(os.str());
  }
}

/*! \brief Accumulator type: wide enough that integer matmuls do not overflow in tests. */
template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

/*!
 * \brief Register-tiled matmul. Every output element accumulates over k in increasing
 *        order, so all variants give bit-identical results to MatMulNaive.
 */
template <typename T, int TM, int TN, int TK>
Tensor<T> MatMulTiled(const Tensor<T>& a, const Tensor<T>& b) {
  CheckMatMulShapes(a.shape(), b.shape());
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor<T> c({m, n});
  for (int64_t i0 = 0; i0 < m; i0 += TM) {
    for (int64_t j0 = 0; j0 < n; j0 += TN) {
      std::array<std::array<Acc<T>, TN>, TM> acc{};
      const int64_t im = std::min<int64_t>(TM, m - i0);
      const int64_t jn = std::min<int64_t>(TN, n - j0);
      for (int64_t p0 = 0; p0 < k; p0 += TK) {
        const int64_t pk = std::min<int64_t>(TK, k - p0);
        if (im == TM && jn == TN && pk == TK) {
          // Full tile: constant trip counts the compiler unrolls and vectorises.
          for (int p = 0; p < TK; ++p) {
            for (int ii = 0; ii < TM; ++ii) {
              const Acc<T> av = static_cast<Acc<T>>(a.at(i0 + ii, p0 + p));
              for (int jj = 0; jj < TN; ++jj) {
                acc[ii][jj] += av * static_cast<Acc<T>>(b.at(p0 + p, j0 + jj));
              }
            }
          }
        } else {
          for (int64_t p = 0; p < pk; ++p) {
            for (int64_t ii = 0; ii < im; ++ii) {
              const Acc<T> av = static_cast<Acc<T>>(a.at(i0 + ii, p0 + p));
              for (int64_t jj = 0; jj < jn; ++jj) {
                acc[ii][jj] += av * static_cast<Acc<T>>(b.at(p0 + p, j0 + jj));
              }
            }
          }
        }
      }
      for (int64_t ii = 0; ii < im; ++ii) {
        for (int64_t jj = 0; jj < jn; ++jj) c.at(i0 + ii, j0 + jj) = static_cast<T>(acc[ii][jj]);
      }
    }
  }
  return c;
}

template <typename T>
using MatMulFn = Tensor<T> (*)(const Tensor<T>&, const Tensor<T>&);

template <typename T, size_t... I>
constexpr std::array<MatMulFn<T>, sizeof...(I)> MakeMatMulTable(std::index_sequence<I...>) {
  return {{&MatMulTiled<T, kTileConfigs[I].m, kTileConfigs[I].n, kTileConfigs[I].k>...}};
}

template <typename T>
const std::array<MatMulFn<T>, kTileConfigs.size()>& MatMulTable() {
  static const auto table = MakeMatMulTable<T>(std::make_index_sequence<kTileConfigs.size()>());
  return table;
}

}  // namespace detail

template <typename T>
Tensor<T>::Tensor(std::vector<int64_t> shape, T fill)
    : shape_(std::move(shape)), data_(static_cast<size_t>(detail::Product(shape_)), fill) {
  for (int64_t d : shape_) {
    if (d < 0) throw std::invalid_argument("Tensor: negative dimension");
  }
}

template <typename T>
Tensor<T> Tensor<T>::Arange(std::vector<int64_t> shape, T start, T step) {
  Tensor t(std::move(shape));
  T v = start;
  for (auto& x : t.data_) {
    x = v;
    v = static_cast<T>(v + step);
  }
  return t;
}

template <typename T>
int64_t Tensor<T>::rows() const {
  if (shape_.empty()) return 1;
  return detail::Product(std::vector<int64_t>(shape_.begin(), shape_.end() - 1));
}

template <typename T>
int64_t Tensor<T>::cols() const {
  return shape_.empty() ? 1 : shape_.back();
}

template <typename T>
Tensor<T> Tensor<T>::Reshape(std::vector<int64_t> shape) const {
  if (detail::Product(shape) != numel()) throw std::invalid_argument("Reshape: size mismatch");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

template <typename T>
std::string Tensor<T>::ShapeString() const {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < shape_.size(); ++i) os << (i ? ", " : "") << shape_[i];
  os << ")";
  return os.str();
}

template <typename T>
Tensor<T> MatMul(const Tensor<T>& a, const Tensor<T>& b, int variant) {
  const auto& table = detail::MatMulTable<T>();
  if (variant < 0) {
    // Pick the largest square-ish tile that fits the problem.
    const int64_t m = a.shape().empty() ? 0 : a.shape()[0];
    variant = m >= 32   ? TileIndex(5, 3, 2)
              : m >= 16 ? TileIndex(4, 2, 2)
              : m >= 8  ? TileIndex(3, 1, 0)
              : m >= 4  ? TileIndex(2, 0, 0)
                        : 0;
  }
  if (variant >= static_cast<int>(table.size())) {
    throw std::out_of_range("MatMul: no variant " + std::to_string(variant));
  }
  return table[variant](a, b);
}

template <typename T>
Tensor<T> MatMulNaive(const Tensor<T>& a, const Tensor<T>& b) {
  detail::CheckMatMulShapes(a.shape(), b.shape());
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor<T> c({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      detail::Acc<T> acc{};
      for (int64_t p = 0; p < k; ++p) {
        acc += static_cast<detail::Acc<T>>(a.at(i, p)) * static_cast<detail::Acc<T>>(b.at(p, j));
      }
      c.at(i, j) = static_cast<T>(acc);
    }
  }
  return c;
}

template <typename T>
Tensor<T> Transpose(const Tensor<T>& a) {
  if (a.ndim() != 2) throw std::invalid_argument("Transpose: want 2-d, got " + a.ShapeString());
  Tensor<T> t({a.shape()[1], a.shape()[0]});
  for (int64_t i = 0; i < a.shape()[0]; ++i) {
    for (int64_t j = 0; j < a.shape()[1]; ++j) t.at(j, i) = a.at(i, j);
  }
  return t;
}

template <typename T>
Tensor<T> Add(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) {
    throw std::invalid_argument("Add: " + a.ShapeString() + " vs " + b.ShapeString());
  }
  Tensor<T> c(a.shape());
  std::transform(a.data(), a.data() + a.numel(), b.data(), c.data(), std::plus<T>());
  return c;
}

template <typename T>
Tensor<T> Scale(const Tensor<T>& a, double s) {
  Tensor<T> c(a.shape());
  std::transform(a.data(), a.data() + a.numel(), c.data(),
                 [s](T v) { return static_cast<T>(static_cast<double>(v) * s); });
  return c;
}

template <typename T>
Tensor<T> Softmax(const Tensor<T>& x) {
  Tensor<T> y(x.shape());
  const int64_t cols = x.cols();
  for (int64_t r = 0; r < x.rows(); ++r) {
    const T* in = x.data() + r * cols;
    T* out = y.data() + r * cols;
    double mx = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, static_cast<double>(in[c]));
    double denom = 0.0;
    std::vector<double> e(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) {
      e[c] = std::isinf(mx) ? 0.0 : std::exp(static_cast<double>(in[c]) - mx);
      denom += e[c];
    }
    for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<T>(denom > 0 ? e[c] / denom : 0.0);
  }
  return y;
}

template <typename T>
Tensor<T> RMSNorm(const Tensor<T>& x, const Tensor<T>& weight, double eps) {
  if (weight.numel() != x.cols()) throw std::invalid_argument("RMSNorm: weight size mismatch");
  Tensor<T> y(x.shape());
  const int64_t cols = x.cols();
  for (int64_t r = 0; r < x.rows(); ++r) {
    double ss = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      const double v = static_cast<double>(x.at(r, c));
      ss += v * v;
    }
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(cols) + eps);
    for (int64_t c = 0; c < cols; ++c) {
      y.at(r, c) = static_cast<T>(static_cast<double>(x.at(r, c)) * inv *
                                  static_cast<double>(weight[c]));
    }
  }
  return y;
}

template <typename T>
Tensor<T> LayerNorm(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                    double eps) {
  if (gamma.numel() != x.cols() || beta.numel() != x.cols()) {
    throw std::invalid_argument("LayerNorm: parameter size mismatch");
  }
  Tensor<T> y(x.shape());
  const int64_t cols = x.cols();
  for (int64_t r = 0; r < x.rows(); ++r) {
    double mean = 0.0, var = 0.0;
    for (int64_t c = 0; c < cols; ++c) mean += static_cast<double>(x.at(r, c));
    mean /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) {
      const double d = static_cast<double>(x.at(r, c)) - mean;
      var += d * d;
    }
    var /= static_cast<double>(cols);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t c = 0; c < cols; ++c) {
      y.at(r, c) = static_cast<T>((static_cast<double>(x.at(r, c)) - mean) * inv *
                                      static_cast<double>(gamma[c]) +
                                  static_cast<double>(beta[c]));
    }
  }
  return y;
}

template <typename T>
Tensor<T> Rope(const Tensor<T>& x, int64_t offset, double base) {
  if (x.ndim() != 2 || x.cols() % 2 != 0) {
    throw std::invalid_argument("Rope: want (seq, even dim), got " + x.ShapeString());
  }
  Tensor<T> y(x.shape());
  const int64_t dim = x.cols(), half = dim / 2;
  for (int64_t s = 0; s < x.rows(); ++s) {
    const double pos = static_cast<double>(s + offset);
    for (int64_t i = 0; i < half; ++i) {
      const double theta = pos * std::pow(base, -2.0 * static_cast<double>(i) / dim);
      const double c = std::cos(theta), sn = std::sin(theta);
      const double x0 = static_cast<double>(x.at(s, i));
      const double x1 = static_cast<double>(x.at(s, i + half));
      y.at(s, i) = static_cast<T>(x0 * c - x1 * sn);
      y.at(s, i + half) = static_cast<T>(x1 * c + x0 * sn);
    }
  }
  return y;
}

template <typename T>
Tensor<T> Silu(const Tensor<T>& x) {
  Tensor<T> y(x.shape());
  std::transform(x.data(), x.data() + x.numel(), y.data(), [](T v) {
    const double d = static_cast<double>(v);
    return static_cast<T>(d / (1.0 + std::exp(-d)));
  });
  return y;
}

template <typename T>
Tensor<T> CausalAttention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v) {
  const int64_t seq = q.shape()[0], d = q.shape()[1];
  Tensor<T> scores = Scale(MatMul(q, Transpose(k)), 1.0 / std::sqrt(static_cast<double>(d)));
  for (int64_t i = 0; i < seq; ++i) {
    for (int64_t j = i + 1; j < scores.cols(); ++j) {
      if constexpr (std::is_floating_point_v<T>) {
        scores.at(i, j) = -std::numeric_limits<T>::infinity();
      } else {
        scores.at(i, j) = std::numeric_limits<T>::lowest() / 2;
      }
    }
  }
  return MatMul(Softmax(scores), v);
}

template <typename T>
double Sum(const Tensor<T>& x) {
  double s = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) s += static_cast<double>(x[i]);
  return s;
}

template <typename T>
double Checksum(const Tensor<T>& x) {
  double s = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) s += static_cast<double>(x[i]) * (i % 13 + 1);
  return s;
}

}  // namespace tensor
}  // namespace llm
}  // namespace mlc

/*! \brief Explicitly instantiate every kernel (and every matmul variant) for T. */
#define MLC_LLM_INSTANTIATE_TENSOR(T)                                                        \
  namespace mlc {                                                                          \
  namespace llm {                                                                          \
  namespace tensor {                                                                       \
  template class Tensor<T>;                                                                \
  template Tensor<T> MatMul<T>(const Tensor<T>&, const Tensor<T>&, int);                   \
  template Tensor<T> MatMulNaive<T>(const Tensor<T>&, const Tensor<T>&);                   \
  template Tensor<T> Transpose<T>(const Tensor<T>&);                                       \
  template Tensor<T> Add<T>(const Tensor<T>&, const Tensor<T>&);                           \
  template Tensor<T> Scale<T>(const Tensor<T>&, double);                                   \
  template Tensor<T> Softmax<T>(const Tensor<T>&);                                         \
  template Tensor<T> RMSNorm<T>(const Tensor<T>&, const Tensor<T>&, double);               \
  template Tensor<T> LayerNorm<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,    \
                                  double);                                                 \
  template Tensor<T> Rope<T>(const Tensor<T>&, int64_t, double);                           \
  template Tensor<T> Silu<T>(const Tensor<T>&);                                            \
  template Tensor<T> CausalAttention<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&); \
  template double Sum<T>(const Tensor<T>&);                                                \
  template double Checksum<T>(const Tensor<T>&);                                           \
  }                                                                                        \
  }                                                                                        \
  }

#endif  // MLC_LLM_TENSOR_TENSOR_IMPL_H_
