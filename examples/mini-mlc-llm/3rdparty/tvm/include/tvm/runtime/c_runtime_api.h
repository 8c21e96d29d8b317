/*!
 * \file tvm/runtime/c_runtime_api.h
 * \brief The C ABI of the mini TVM runtime.
 */
#ifndef TVM_RUNTIME_C_RUNTIME_API_H_
#define TVM_RUNTIME_C_RUNTIME_API_H_

#include <dlpack/dlpack.h>
#include <stddef.h>
#include <stdint.h>

#if defined(TVM_EXPORTS)
#define TVM_DLL __attribute__((visibility("default")))
#else
#define TVM_DLL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*! \brief The runtime version, e.g. "0.22.dev0". */
TVM_DLL const char* TVMGetVersion(void);
/*! \brief The DLPack version the runtime was built against, major * 100 + minor. */
TVM_DLL int TVMGetDLPackVersion(void);
/*! \brief The last error message of this thread. */
TVM_DLL const char* TVMGetLastError(void);
/*! \brief Set the last error message of this thread. */
TVM_DLL void TVMAPISetLastError(const char* msg);
/*! \brief Allocate an n-d array on the CPU; returns 0 on success. */
TVM_DLL int TVMArrayAlloc(const int64_t* shape, int ndim, int dtype_code, int dtype_bits,
                          int dtype_lanes, int device_type, int device_id, DLTensor** out);
/*! \brief Free an array from TVMArrayAlloc. */
TVM_DLL int TVMArrayFree(DLTensor* handle);
/*! \brief Number of registered global functions. */
TVM_DLL int TVMFuncGlobalCount(void);
/*! \brief Comma-separated names of the registered global functions (sorted). */
TVM_DLL const char* TVMFuncListGlobalNames(void);
/*! \brief Call a registered function with string arguments; returns 0 on success. */
TVM_DLL int TVMFuncCallByName(const char* name, const char** args, int num_args,
                              const char** ret);

#ifdef __cplusplus
}  // extern "C"
#endif
#endif  // TVM_RUNTIME_C_RUNTIME_API_H_
