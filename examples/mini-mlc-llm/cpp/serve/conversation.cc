/*!
 * \file serve/conversation.cc
 * \brief Built-in conversation templates (chatml, llama-3, phi-3, gemma) and rendering.
 */
#include "conversation.h"

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

struct Template {
  std::string system_template;  // with {system_message}
  std::string default_system;
  std::map<std::string, std::string> role_templates;  // role -> with {content}
  std::string generation_prompt;
};

const std::map<std::string, Template>& Templates() {
  static const std::map<std::string, Template> templates = {
      {"chatml",
       {"<|im_start|>system\n{system_message}<|im_end|>\n",
        "You are a helpful assistant.",
        {{"user", "<|im_start|>user\n{content}<|im_end|>\n"},
         {"assistant", "<|im_start|>assistant\n{content}<|im_end|>\n"}},
        "<|im_start|>assistant\n"}},
      {"llama-3",
       {"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system_message}<|eot_id|>",
        "You are a helpful, respectful and honest assistant.",
        {{"user", "<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>"},
         {"assistant", "<|start_header_id|>assistant<|end_header_id|>\n\n{content}<|eot_id|>"}},
        "<|start_header_id|>assistant<|end_header_id|>\n\n"}},
      {"phi-3",
       {"<|system|>\n{system_message}<|end|>\n",
        "You are a helpful digital assistant.",
        {{"user", "<|user|>\n{content}<|end|>\n"},
         {"assistant", "<|assistant|>\n{content}<|end|>\n"}},
        "<|assistant|>\n"}},
      {"gemma",
       {"",
        "",
        {{"user", "<start_of_turn>user\n{content}<end_of_turn>\n"},
         {"assistant", "<start_of_turn>model\n{content}<end_of_turn>\n"}},
        "<start_of_turn>model\n"}},
  };
  return templates;
}

std::string Substitute(const std::string& pattern, const std::string& key,
                       const std::string& value) {
  // "$" in the value must not be read as a back-reference by regex_replace.
  const std::string escaped = std::regex_replace(value, std::regex(R"(\$)"), "$$$$");
  return std::regex_replace(pattern, std::regex("\\{" + key + "\\}"), escaped);
}

}  // namespace

std::vector<std::string> ConversationTemplateNames() {
  std::vector<std::string> names;
  for (const auto& kv : Templates()) names.push_back(kv.first);
  return names;
}

std::string RenderConversation(const std::string& name, const std::vector<Message>& messages,
                               bool add_generation_prompt) {
  auto it = Templates().find(name);
  if (it == Templates().end()) throw std::invalid_argument("unknown conversation template " + name);
  const Template& t = it->second;
  static const std::regex role_re("^(system|user|assistant)$");
  std::string system = t.default_system;
  std::string body;
  for (const Message& m : messages) {
    if (!std::regex_match(m.role, role_re)) throw std::invalid_argument("unknown role " + m.role);
    if (m.role == "system") {
      system = m.content;
      continue;
    }
    body += Substitute(t.role_templates.at(m.role), "content", m.content);
  }
  std::string out;
  if (!t.system_template.empty() && !system.empty()) {
    out = Substitute(t.system_template, "system_message", system);
  }
  out += body;
  if (add_generation_prompt) out += t.generation_prompt;
  return out;
}

std::vector<Message> ParseMessages(const std::string& json_text) {
  const json::Value root = json::Parse(json_text);
  const auto* arr = std::get_if<std::shared_ptr<json::Array>>(&root.v);
  if (arr == nullptr) throw std::invalid_argument("messages must be a JSON array");
  std::vector<Message> out;
  for (const json::Value& item : **arr) {
    const auto* role = std::get_if<std::string>(&json::Lookup(item, "role").v);
    const auto* content = std::get_if<std::string>(&json::Lookup(item, "content").v);
    if (role == nullptr || content == nullptr) {
      throw std::invalid_argument("each message needs string role and content");
    }
    out.push_back(Message{*role, *content});
  }
  return out;
}

}  // namespace serve
}  // namespace llm
}  // namespace mlc
