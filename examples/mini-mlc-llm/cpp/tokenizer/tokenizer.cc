/*!
 * \file tokenizer/tokenizer.cc
 * \brief Byte-level BPE training, encoding and decoding.
 */
#include "tokenizer.h"

#include <algorithm>
#include <map>
#include <regex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mlc {
namespace llm {

namespace {

const char kCorpus[] =
    "MLC LLM is a machine learning compiler and high-performance deployment engine for large "
    "language models. The mission of this project is to enable everyone to develop, optimize, "
    "and deploy AI models natively on everyone's platforms. MLC LLM compiles and runs code on "
    "MLCEngine, a unified high-performance LLM inference engine across the above platforms. "
    "MLCEngine provides OpenAI-compatible API available through REST server, python, "
    "javascript, iOS, Android, all backed by the same engine and compiler that we keep "
    "improving with the community. The model is compiled once and runs on Vulkan, CUDA, ROCm "
    "and Metal; the tokenizer runs on the CPU. In 2023 and 2024 the models grew from 7 to 70 "
    "billion parameters, and the engine learned to serve them with paged attention, speculative "
    "decoding and prefix caching. Tokens, tokens, tokens: the tokenizer turns text into tokens "
    "and tokens into text, and the engine turns tokens into more tokens.";

const std::regex& PreTokenizeRegex() {
  // GPT-2's pattern restricted to what std::regex (ECMAScript) supports.
  static const std::regex re(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+)",
      std::regex::ECMAScript | std::regex::optimize);
  return re;
}

using Pair = std::pair<int32_t, int32_t>;

}  // namespace

std::vector<std::string> BPETokenizer::PreTokenize(const std::string& text) {
  std::vector<std::string> out;
  const std::regex& re = PreTokenizeRegex();
  size_t covered = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    const auto pos = static_cast<size_t>(it->position());
    if (pos > covered) out.push_back(text.substr(covered, pos - covered));  // bytes no rule took
    out.push_back(it->str());
    covered = pos + it->length();
  }
  if (covered < text.size()) out.push_back(text.substr(covered));
  return out;
}

BPETokenizer BPETokenizer::Train(const std::string& corpus, int num_merges) {
  BPETokenizer tok;
  tok.vocab_.reserve(256 + std::max(num_merges, 0));
  for (int b = 0; b < 256; ++b) tok.vocab_.emplace_back(1, static_cast<char>(b));

  // word -> count, words as sequences of ids
  std::map<std::string, int64_t> counts;
  for (const std::string& w : PreTokenize(corpus)) ++counts[w];
  std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
  for (const auto& [w, c] : counts) {
    std::vector<int32_t> ids;
    for (unsigned char ch : w) ids.push_back(ch);
    words.emplace_back(std::move(ids), c);
  }

  for (int m = 0; m < num_merges; ++m) {
    std::map<Pair, int64_t> pair_counts;
    for (const auto& [ids, c] : words) {
      for (size_t i = 0; i + 1 < ids.size(); ++i) pair_counts[{ids[i], ids[i + 1]}] += c;
    }
    if (pair_counts.empty()) break;
    // Most frequent pair; std::map order makes ties deterministic (smallest pair wins).
    auto best = std::max_element(
        pair_counts.begin(), pair_counts.end(),
        [](const auto& a, const auto& b) { return std::tie(a.second, b.first) < std::tie(b.second, a.first); });
    if (best->second < 2) break;
    const Pair p = best->first;
    const auto new_id = static_cast<int32_t>(tok.vocab_.size());
    tok.vocab_.push_back(tok.vocab_[p.first] + tok.vocab_[p.second]);
    tok.merge_rank_[p] = new_id;
    for (auto& [ids, c] : words) {
      std::vector<int32_t> merged;
      merged.reserve(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 1 < ids.size() && ids[i] == p.first && ids[i + 1] == p.second) {
          merged.push_back(new_id);
          ++i;
        } else {
          merged.push_back(ids[i]);
        }
      }
      ids.swap(merged);
    }
  }
  return tok;
}

const BPETokenizer& BPETokenizer::Default() {
  static const BPETokenizer tok = Train(kCorpus, 300);
  return tok;
}

std::vector<int32_t> BPETokenizer::EncodeWord(const std::string& word) const {
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  for (unsigned char ch : word) ids.push_back(ch);
  // Repeatedly apply the earliest-learned merge present (lowest merged id).
  while (ids.size() > 1) {
    int32_t best_id = -1;
    size_t best_pos = 0;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      auto it = merge_rank_.find({ids[i], ids[i + 1]});
      if (it != merge_rank_.end() && (best_id < 0 || it->second < best_id)) {
        best_id = it->second;
        best_pos = i;
      }
    }
    if (best_id < 0) break;
    ids[best_pos] = best_id;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
  return ids;
}

std::vector<int32_t> BPETokenizer::Encode(const std::string& text) const {
  std::vector<int32_t> out;
  std::unordered_map<std::string, std::vector<int32_t>> cache;
  for (const std::string& w : PreTokenize(text)) {
    auto it = cache.find(w);
    if (it == cache.end()) it = cache.emplace(w, EncodeWord(w)).first;
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

std::string BPETokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= VocabSize()) {
      throw std::out_of_range("Decode: token id " + std::to_string(id) + " is out of range");
    }
    out += vocab_[id];
  }
  return out;
}

}  // namespace llm
}  // namespace mlc
