/*!
 * \file serve/generation_config.cc
 * \brief GenerationConfig parsing and validation.
 */
#include "generation_config.h"

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "json_config.h"

namespace mlc {
namespace llm {
namespace serve {

namespace {

double AsNumber(const json::Value& v, const std::string& key) {
  if (const auto* d = std::get_if<double>(&v.v)) return *d;
  throw std::invalid_argument("'" + key + "' must be a number");
}

int64_t AsInt(const json::Value& v, const std::string& key) {
  const double d = AsNumber(v, key);
  if (std::floor(d) != d) throw std::invalid_argument("'" + key + "' must be an integer");
  return static_cast<int64_t>(d);
}

void CheckRange(const std::string& key, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) {
    throw std::invalid_argument("'" + key + "' = " + std::to_string(v) + " is outside [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

}  // namespace

GenerationConfig GenerationConfig::FromJSON(const std::string& json_text) {
  GenerationConfig cfg;
  const json::Value root = json::Parse(json_text);
  const auto* obj = std::get_if<std::shared_ptr<json::Object>>(&root.v);
  if (obj == nullptr) throw std::invalid_argument("generation config must be a JSON object");
  static const std::regex key_re("^[a-z_]+$");
  using Setter = std::function<void(GenerationConfig&, const json::Value&)>;
  static const std::map<std::string, Setter> setters = {
      {"temperature",
       [](GenerationConfig& c, const json::Value& v) {
         c.temperature = AsNumber(v, "temperature");
         CheckRange("temperature", c.temperature, 0.0, 2.0);
       }},
      {"top_p",
       [](GenerationConfig& c, const json::Value& v) {
         c.top_p = AsNumber(v, "top_p");
         CheckRange("top_p", c.top_p, 0.0, 1.0);
       }},
      {"frequency_penalty",
       [](GenerationConfig& c, const json::Value& v) {
         c.frequency_penalty = AsNumber(v, "frequency_penalty");
         CheckRange("frequency_penalty", c.frequency_penalty, -2.0, 2.0);
       }},
      {"presence_penalty",
       [](GenerationConfig& c, const json::Value& v) {
         c.presence_penalty = AsNumber(v, "presence_penalty");
         CheckRange("presence_penalty", c.presence_penalty, -2.0, 2.0);
       }},
      {"max_tokens",
       [](GenerationConfig& c, const json::Value& v) {
         c.max_tokens = AsInt(v, "max_tokens");
         CheckRange("max_tokens", static_cast<double>(c.max_tokens), 1, 1 << 20);
       }},
      {"n",
       [](GenerationConfig& c, const json::Value& v) {
         c.n = AsInt(v, "n");
         CheckRange("n", static_cast<double>(c.n), 1, 128);
       }},
      {"seed",
       [](GenerationConfig& c, const json::Value& v) {
         if (std::holds_alternative<std::nullptr_t>(v.v)) {
           c.seed.reset();
         } else {
           c.seed = static_cast<uint64_t>(AsInt(v, "seed"));
         }
       }},
      {"stop",
       [](GenerationConfig& c, const json::Value& v) {
         c.stop.clear();
         if (const auto* s = std::get_if<std::string>(&v.v)) {
           c.stop.push_back(*s);
         } else if (const auto* a = std::get_if<std::shared_ptr<json::Array>>(&v.v)) {
           for (const json::Value& item : **a) {
             const auto* s2 = std::get_if<std::string>(&item.v);
             if (s2 == nullptr) throw std::invalid_argument("'stop' items must be strings");
             c.stop.push_back(*s2);
           }
         } else {
           throw std::invalid_argument("'stop' must be a string or a list of strings");
         }
       }},
  };
  for (const auto& [key, value] : **obj) {
    if (!std::regex_match(key, key_re)) throw std::invalid_argument("bad key '" + key + "'");
    auto it = setters.find(key);
    if (it == setters.end()) throw std::invalid_argument("unknown key '" + key + "'");
    it->second(cfg, value);
  }
  return cfg;
}

std::string GenerationConfig::ToJSON() const {
  auto obj = std::make_shared<json::Object>();
  (*obj)["frequency_penalty"] = json::Value{frequency_penalty};
  (*obj)["max_tokens"] = json::Value{static_cast<double>(max_tokens)};
  (*obj)["n"] = json::Value{static_cast<double>(n)};
  (*obj)["presence_penalty"] = json::Value{presence_penalty};
  (*obj)["seed"] = seed ? json::Value{static_cast<double>(*seed)} : json::Value{nullptr};
  auto stops = std::make_shared<json::Array>();
  for (const std::string& s : stop) stops->push_back(json::Value{s});
  (*obj)["stop"] = json::Value{stops};
  (*obj)["temperature"] = json::Value{temperature};
  (*obj)["top_p"] = json::Value{top_p};
  return json::Dump(json::Value{obj});
}

}  // namespace serve
}  // namespace llm
}  // namespace mlc
