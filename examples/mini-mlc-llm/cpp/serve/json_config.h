/*!
 * \file serve/json_config.h
 * \brief A small JSON reader for mlc-chat-config.json style files.
 */
#ifndef MLC_LLM_SERVE_JSON_CONFIG_H_
#define MLC_LLM_SERVE_JSON_CONFIG_H_

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace mlc {
namespace llm {
namespace json {

struct Value;
using Array = std::vector<Value>;
using Object = std::map<std::string, Value>;

/*! \brief A JSON value. */
struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      v;
};

/*! \brief Parse text; throws std::invalid_argument with the offset on bad input. */
Value Parse(const std::string& text);
/*! \brief Compact serialisation (numbers with up to 17 significant digits). */
std::string Dump(const Value& value);
/*! \brief The value at a dotted path ("rope.theta", "stop_token_ids.0"). */
const Value& Lookup(const Value& root, const std::string& path);

}  // namespace json
}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_SERVE_JSON_CONFIG_H_
