/*!
 * \file logging.cc
 * \brief FatalLogger and the thread-local last error.
 */
#include <tvm/runtime/logging.h>

#include <string>

namespace tvm {
namespace runtime {

FatalLogger::FatalLogger(const char* file, int line, const char* cond) {
  stream_ << "[" << file << ":" << line << "] Check failed: (" << cond << ") ";
}

FatalLogger::~FatalLogger() noexcept(false) { throw Error(stream_.str()); }

namespace {
thread_local std::string last_error;  // NOLINT(runtime/string)
}  // namespace

}  // namespace runtime
}  // namespace tvm

extern "C" const char* TVMGetLastError(void) { return tvm::runtime::last_error.c_str(); }

extern "C" void TVMAPISetLastError(const char* msg) {
  tvm::runtime::last_error = msg == nullptr ? "" : msg;
}
