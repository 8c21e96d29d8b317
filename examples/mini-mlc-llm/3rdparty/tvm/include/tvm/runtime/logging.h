/*!
 * \file tvm/runtime/logging.h
 * \brief ICHECK-style assertions that throw tvm::runtime::Error.
 */
#ifndef TVM_RUNTIME_LOGGING_H_
#define TVM_RUNTIME_LOGGING_H_

#include <tvm/runtime/c_runtime_api.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace tvm {
namespace runtime {

/*! \brief The error type of the runtime. */
class TVM_DLL Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

/*! \brief Collects a message and throws it when destroyed. */
class TVM_DLL FatalLogger {
 public:
  FatalLogger(const char* file, int line, const char* cond);
  ~FatalLogger() noexcept(false);
  std::ostringstream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace runtime
}  // namespace tvm

#define ICHECK(cond) \
  if (!(cond)) ::tvm::runtime::FatalLogger(__FILE__, __LINE__, #cond).stream()

#endif  // TVM_RUNTIME_LOGGING_H_
