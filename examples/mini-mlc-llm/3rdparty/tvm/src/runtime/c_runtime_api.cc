/*!
 * \file c_runtime_api.cc
 * \brief The C ABI over NDArray and the registry.
 */
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/ndarray.h>
#include <tvm/runtime/registry.h>

#include <exception>
#include <string>
#include <vector>

#ifndef TVM_VERSION_STRING
#define TVM_VERSION_STRING "0.0.dev0"
#endif

using tvm::runtime::NDArray;
using tvm::runtime::Registry;

namespace {
thread_local std::string names_buffer;  // NOLINT(runtime/string)
thread_local std::string ret_buffer;    // NOLINT(runtime/string)

template <typename F>
int Guard(F f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    TVMAPISetLastError(e.what());
    return -1;
  }
}
}  // namespace

extern "C" {

const char* TVMGetVersion(void) { return TVM_VERSION_STRING; }

int TVMGetDLPackVersion(void) { return DLPACK_MAJOR_VERSION * 100 + DLPACK_MINOR_VERSION; }

int TVMArrayAlloc(const int64_t* shape, int ndim, int dtype_code, int dtype_bits, int dtype_lanes,
                  int device_type, int device_id, DLTensor** out) {
  return Guard([&]() {
    std::vector<int64_t> shp(shape, shape + ndim);
    DLDataType dtype{static_cast<uint8_t>(dtype_code), static_cast<uint8_t>(dtype_bits),
                     static_cast<uint16_t>(dtype_lanes)};
    NDArray arr = NDArray::Empty(shp, dtype, DLDevice{static_cast<DLDeviceType>(device_type),
                                                      device_id});
    DLManagedTensor* managed = arr.ToDLPack();
    // The DLTensor is the first member: the handle is the managed tensor itself.
    *out = &managed->dl_tensor;
  });
}

int TVMArrayFree(DLTensor* handle) {
  return Guard([&]() {
    auto* managed = reinterpret_cast<DLManagedTensor*>(handle);
    managed->deleter(managed);
  });
}

int TVMFuncGlobalCount(void) { return static_cast<int>(Registry::ListNames().size()); }

const char* TVMFuncListGlobalNames(void) {
  names_buffer.clear();
  for (const std::string& n : Registry::ListNames()) {
    if (!names_buffer.empty()) names_buffer += ",";
    names_buffer += n;
  }
  return names_buffer.c_str();
}

int TVMFuncCallByName(const char* name, const char** args, int num_args, const char** ret) {
  return Guard([&]() {
    const tvm::runtime::PackedFunc* f = Registry::Get(name);
    ICHECK(f != nullptr) << "global function " << name << " is not registered";
    std::vector<std::string> argv(args, args + num_args);
    ret_buffer = (*f)(argv);
    *ret = ret_buffer.c_str();
  });
}

}  // extern "C"
