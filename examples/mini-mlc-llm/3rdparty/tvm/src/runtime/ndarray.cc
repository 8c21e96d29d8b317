/*!
 * \file ndarray.cc
 * \brief NDArray allocation and DLPack export.
 */
#include <tvm/runtime/ndarray.h>

#include <cstring>
#include <numeric>
#include <utility>

namespace tvm {
namespace runtime {

NDArray NDArray::Empty(std::vector<int64_t> shape, DLDataType dtype, DLDevice dev) {
  ICHECK(dev.device_type == kDLCPU) << "the mini runtime allocates on the CPU only, got device "
                                    << static_cast<int>(dev.device_type);
  ICHECK(dtype.bits % 8 == 0 && dtype.lanes >= 1) << "unsupported dtype";
  for (int64_t d : shape) ICHECK(d >= 0) << "negative dimension " << d;
  NDArray ret;
  ret.data_ = std::make_shared<Container>();
  ret.data_->shape = std::move(shape);
  const int64_t n = std::accumulate(ret.data_->shape.begin(), ret.data_->shape.end(), int64_t{1},
                                    std::multiplies<int64_t>());
  const size_t nbytes = static_cast<size_t>(n) * (dtype.bits / 8) * dtype.lanes;
  ret.data_->buffer.reset(new unsigned char[nbytes == 0 ? 1 : nbytes]);
  std::memset(ret.data_->buffer.get(), 0, nbytes == 0 ? 1 : nbytes);
  DLTensor& t = ret.data_->tensor;
  t.data = ret.data_->buffer.get();
  t.device = dev;
  t.ndim = static_cast<int32_t>(ret.data_->shape.size());
  t.dtype = dtype;
  t.shape = ret.data_->shape.data();
  t.strides = nullptr;
  t.byte_offset = 0;
  return ret;
}

int64_t NDArray::NumElements() const {
  if (!defined()) return 0;
  return std::accumulate(data_->shape.begin(), data_->shape.end(), int64_t{1},
                         std::multiplies<int64_t>());
}

size_t NDArray::ByteSize() const {
  if (!defined()) return 0;
  return static_cast<size_t>(NumElements()) * (data_->tensor.dtype.bits / 8) *
         data_->tensor.dtype.lanes;
}

namespace {
struct DLPackContext {
  NDArray keep_alive;
};
void DeleteManaged(DLManagedTensor* self) {
  delete static_cast<DLPackContext*>(self->manager_ctx);
  delete self;
}
}  // namespace

DLManagedTensor* NDArray::ToDLPack() const {
  ICHECK(defined()) << "NDArray is not defined";
  auto* ret = new DLManagedTensor();
  ret->dl_tensor = data_->tensor;
  ret->manager_ctx = new DLPackContext{*this};
  ret->deleter = DeleteManaged;
  return ret;
}

}  // namespace runtime
}  // namespace tvm
