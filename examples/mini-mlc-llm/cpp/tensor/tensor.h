/*!
 * \file tensor/tensor.h
 * \brief A small dense tensor and the kernels of a decoder layer (matmul, softmax, norms,
 *        rotary embedding), templated over the element type. Definitions live in
 *        tensor_impl.h and are instantiated explicitly per dtype in tensor_<dtype>.cc.
 */
#ifndef MLC_LLM_TENSOR_TENSOR_H_
#define MLC_LLM_TENSOR_TENSOR_H_

#include <cstdint>
#include <string>
#include <vector>

namespace mlc {
namespace llm {
namespace tensor {

/*! \brief A row-major dense tensor that owns its storage. */
template <typename T>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape, T fill = T{});
  /*! \brief Elements start, start + step, ... in row-major order. */
  static Tensor Arange(std::vector<int64_t> shape, T start, T step);
  /*! \brief Element i of the flat row-major view is f(i). */
  template <typename F>
  static Tensor FromFunction(std::vector<int64_t> shape, F f) {
    Tensor t(std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.data_[i] = f(i);
    return t;
  }

  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  int64_t rows() const;  // product of all but the last dimension
  int64_t cols() const;  // the last dimension
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  T& at(int64_t r, int64_t c) { return data_[r * cols() + c]; }
  const T& at(int64_t r, int64_t c) const { return data_[r * cols() + c]; }
  Tensor Reshape(std::vector<int64_t> shape) const;
  std::string ShapeString() const;

 private:
  std::vector<int64_t> shape_;
  std::vector<T> data_;
};

/*! \brief The number of tiled matmul variants compiled for every dtype. */
int NumMatMulVariants();
/*! \brief "MxNxK" tile sizes of a variant. */
std::string MatMulVariantName(int variant);

/*! \brief C = A (m x k) * B (k x n) with the given tile variant (-1: pick by size). */
template <typename T>
Tensor<T> MatMul(const Tensor<T>& a, const Tensor<T>& b, int variant = -1);
/*! \brief Reference triple loop, for tests. */
template <typename T>
Tensor<T> MatMulNaive(const Tensor<T>& a, const Tensor<T>& b);
template <typename T>
Tensor<T> Transpose(const Tensor<T>& a);
template <typename T>
Tensor<T> Add(const Tensor<T>& a, const Tensor<T>& b);
template <typename T>
Tensor<T> Scale(const Tensor<T>& a, double s);
/*! \brief Softmax over the last dimension (computed in double, stable). */
template <typename T>
Tensor<T> Softmax(const Tensor<T>& x);
template <typename T>
Tensor<T> RMSNorm(const Tensor<T>& x, const Tensor<T>& weight, double eps);
template <typename T>
Tensor<T> LayerNorm(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                    double eps);
/*! \brief Rotary position embedding on (seq x dim) with the given base. */
template <typename T>
Tensor<T> Rope(const Tensor<T>& x, int64_t offset, double base);
template <typename T>
Tensor<T> Silu(const Tensor<T>& x);
/*! \brief Single-head causal attention: softmax(Q K^T / sqrt(d) + mask) V. */
template <typename T>
Tensor<T> CausalAttention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v);
/*! \brief Sum of all elements, accumulated in double. */
template <typename T>
double Sum(const Tensor<T>& x);
/*! \brief Sum of x[i] * (i % 13 + 1), accumulated in double: order-sensitive checksum. */
template <typename T>
double Checksum(const Tensor<T>& x);

}  // namespace tensor
}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_TENSOR_TENSOR_H_
