/*!
 * \file registry.cc
 * \brief The global function table.
 */
#include <tvm/runtime/logging.h>
#include <tvm/runtime/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tvm {
namespace runtime {

struct Manager {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<Registry>> fmap;
  static Manager* Global() {
    static auto* inst = new Manager();  // never destroyed: used from static initialisers
    return inst;
  }
};

Registry& Registry::Register(const std::string& name, bool can_override) {
  Manager* m = Manager::Global();
  std::lock_guard<std::mutex> lock(m->mutex);
  auto it = m->fmap.find(name);
  if (it != m->fmap.end()) {
    ICHECK(can_override) << "global function " << name << " is already registered";
    return *it->second;
  }
  auto reg = std::make_unique<Registry>();
  reg->name_ = name;
  Registry& ref = *reg;
  m->fmap.emplace(name, std::move(reg));
  return ref;
}

const PackedFunc* Registry::Get(const std::string& name) {
  Manager* m = Manager::Global();
  std::lock_guard<std::mutex> lock(m->mutex);
  auto it = m->fmap.find(name);
  if (it == m->fmap.end() || !it->second->func_) return nullptr;
  return &it->second->func_;
}

std::vector<std::string> Registry::ListNames() {
  Manager* m = Manager::Global();
  std::lock_guard<std::mutex> lock(m->mutex);
  std::vector<std::string> names;
  names.reserve(m->fmap.size());
  for (const auto& kv : m->fmap) names.push_back(kv.first);
  return names;
}

Registry& Registry::set_body(PackedFunc f) {
  func_ = std::move(f);
  return *this;
}

TVM_REGISTER_GLOBAL("runtime.GetVersion").set_body([](const std::vector<std::string>&) {
  return std::string(TVMGetVersion());
});

TVM_REGISTER_GLOBAL("runtime.Echo").set_body([](const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + args[i];
  return out;
});

}  // namespace runtime
}  // namespace tvm
