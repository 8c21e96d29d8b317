/*!
 * \file serve/conversation.h
 * \brief Conversation templates: how chat messages become a prompt.
 */
#ifndef MLC_LLM_SERVE_CONVERSATION_H_
#define MLC_LLM_SERVE_CONVERSATION_H_

#include <string>
#include <utility>
#include <vector>

namespace mlc {
namespace llm {
namespace serve {

/*! \brief One chat message. */
struct Message {
  std::string role;  // system, user or assistant
  std::string content;
};

/*! \brief Names of the built-in templates, sorted. */
std::vector<std::string> ConversationTemplateNames();
/*! \brief Render messages with a template; throws on an unknown template or role. */
std::string RenderConversation(const std::string& name, const std::vector<Message>& messages,
                               bool add_generation_prompt);
/*! \brief Parse [{"role": ..., "content": ...}, ...]. */
std::vector<Message> ParseMessages(const std::string& json_text);

}  // namespace serve
}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_SERVE_CONVERSATION_H_
