/*!
 * \file tokenizer/tokenizer.h
 * \brief A byte-level BPE tokenizer with a GPT-2 style regex pre-tokenizer.
 */
#ifndef MLC_LLM_TOKENIZER_TOKENIZER_H_
#define MLC_LLM_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mlc {
namespace llm {

/*! \brief Byte-level BPE: ids 0..255 are bytes, then one id per learned merge. */
class BPETokenizer {
 public:
  /*! \brief Learn num_merges merges from corpus (ties broken by the smaller pair). */
  static BPETokenizer Train(const std::string& corpus, int num_merges);
  /*! \brief The tokenizer trained on the built-in corpus (created once). */
  static const BPETokenizer& Default();

  /*! \brief Split text into pre-tokens (words with their leading space, numbers, ...). */
  static std::vector<std::string> PreTokenize(const std::string& text);

  std::vector<int32_t> Encode(const std::string& text) const;
  std::string Decode(const std::vector<int32_t>& ids) const;
  int32_t VocabSize() const { return static_cast<int32_t>(vocab_.size()); }
  const std::string& IdToToken(int32_t id) const { return vocab_.at(id); }

 private:
  std::vector<int32_t> EncodeWord(const std::string& word) const;

  std::vector<std::string> vocab_;
  std::map<std::pair<int32_t, int32_t>, int32_t> merge_rank_;  // pair -> merged id
};

}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_TOKENIZER_TOKENIZER_H_
