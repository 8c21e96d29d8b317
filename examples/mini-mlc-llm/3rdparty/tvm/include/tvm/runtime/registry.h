/*!
 * \file tvm/runtime/registry.h
 * \brief A global registry of named functions (PackedFunc in miniature).
 */
#ifndef TVM_RUNTIME_REGISTRY_H_
#define TVM_RUNTIME_REGISTRY_H_

#include <tvm/runtime/c_runtime_api.h>

#include <functional>
#include <string>
#include <vector>

namespace tvm {
namespace runtime {

/*! \brief A function from string arguments to a string result. */
using PackedFunc = std::function<std::string(const std::vector<std::string>&)>;

/*! \brief The global function table. */
class TVM_DLL Registry {
 public:
  /*! \brief Register (or override) a function; returns the entry for set_body. */
  static Registry& Register(const std::string& name, bool can_override = false);
  /*! \brief The function registered under name, or nullptr. */
  static const PackedFunc* Get(const std::string& name);
  /*! \brief All registered names, sorted. */
  static std::vector<std::string> ListNames();
  Registry& set_body(PackedFunc f);

 private:
  std::string name_;
  PackedFunc func_;
  friend struct Manager;
};

}  // namespace runtime
}  // namespace tvm

#define TVM_STR_CONCAT_(a, b) a##b
#define TVM_STR_CONCAT(a, b) TVM_STR_CONCAT_(a, b)
#define TVM_REGISTER_GLOBAL(name)                                              \
  static ::tvm::runtime::Registry& TVM_STR_CONCAT(__tvm_reg_, __COUNTER__) = \
      ::tvm::runtime::Registry::Register(name)

#endif  // TVM_RUNTIME_REGISTRY_H_
