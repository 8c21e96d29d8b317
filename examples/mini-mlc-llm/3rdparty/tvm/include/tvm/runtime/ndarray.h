/*!
 * \file tvm/runtime/ndarray.h
 * \brief A reference-counted n-d array over DLTensor.
 */
#ifndef TVM_RUNTIME_NDARRAY_H_
#define TVM_RUNTIME_NDARRAY_H_

#include <dlpack/dlpack.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/logging.h>

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

namespace tvm {
namespace runtime {

/*! \brief The DLDataType of a C++ scalar type. */
template <typename T>
constexpr DLDataType DataTypeOf() {
  if constexpr (std::is_floating_point_v<T>) {
    return DLDataType{kDLFloat, static_cast<uint8_t>(sizeof(T) * 8), 1};
  } else if constexpr (std::is_signed_v<T>) {
    return DLDataType{kDLInt, static_cast<uint8_t>(sizeof(T) * 8), 1};
  } else {
    return DLDataType{kDLUInt, static_cast<uint8_t>(sizeof(T) * 8), 1};
  }
}

/*! \brief A CPU n-d array; copies share the same buffer. */
class TVM_DLL NDArray {
 public:
  NDArray() = default;
  /*! \brief Allocate an uninitialised array. */
  static NDArray Empty(std::vector<int64_t> shape, DLDataType dtype, DLDevice dev);
  /*! \brief Allocate an array of T. */
  template <typename T>
  static NDArray Empty(std::vector<int64_t> shape) {
    return Empty(std::move(shape), DataTypeOf<T>(), DLDevice{kDLCPU, 0});
  }
  bool defined() const { return static_cast<bool>(data_); }
  const DLTensor* operator->() const { return &data_->tensor; }
  int64_t NumElements() const;
  size_t ByteSize() const;
  template <typename T>
  T* Data() {
    ICHECK(defined()) << "NDArray is not defined";
    const DLDataType want = DataTypeOf<T>();
    ICHECK(want.code == data_->tensor.dtype.code && want.bits == data_->tensor.dtype.bits)
        << "dtype mismatch";
    return static_cast<T*>(data_->tensor.data);
  }
  /*! \brief Hand the array to a DLPack consumer. */
  DLManagedTensor* ToDLPack() const;
  long use_count() const { return data_.use_count(); }

 private:
  struct Container {
    DLTensor tensor{};
    std::vector<int64_t> shape;
    std::unique_ptr<unsigned char[]> buffer;
  };
  std::shared_ptr<Container> data_;
};

}  // namespace runtime
}  // namespace tvm
#endif  // TVM_RUNTIME_NDARRAY_H_
