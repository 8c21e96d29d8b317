/*!
 * \file serve/json_config.cc
 * \brief A recursive-descent JSON parser over std::variant.
 */
#include "json_config.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace mlc {
namespace llm {
namespace json {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Value ParseDocument() {
    Value v = ParseValue();
    SkipWs();
    if (pos_ != s_.size()) Fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    std::ostringstream os;
    os << "JSON parse error at offset " << pos_ << ": " << what;
    throw std::invalid_argument(os.str());
  }
  void SkipWs() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char Peek() {
    SkipWs();
    if (pos_ >= s_.size()) Fail("unexpected end of input");
    return s_[pos_];
  }
  void Expect(char c) {
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool Consume(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) == 0) {
      pos_ += w.size();
      return true;
    }
    return false;
  }

  Value ParseValue() {
    const char c = Peek();
    if (c == '{') return ParseObject();
    if (c == '[') return ParseArray();
    if (c == '"') return Value{ParseString()};
    if (Consume("true")) return Value{true};
    if (Consume("false")) return Value{false};
    if (Consume("null")) return Value{nullptr};
    return Value{ParseNumber()};
  }

  double ParseNumber() {
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    const double d = std::strtod(begin, &end);
    if (end == begin) Fail("invalid value");
    pos_ += static_cast<size_t>(end - begin);
    return d;
  }

  std::string ParseString() {
    Expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) Fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) Fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (pos_ + 4 > s_.size()) Fail("short \\u escape");
          const unsigned cp = std::stoul(s_.substr(pos_, 4), nullptr, 16);
          pos_ += 4;
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: Fail(std::string("bad escape \\") + e);
      }
    }
    return out;
  }

  Value ParseArray() {
    Expect('[');
    auto arr = std::make_shared<Array>();
    if (Peek() == ']') {
      ++pos_;
      return Value{arr};
    }
    while (true) {
      arr->push_back(ParseValue());
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      Expect(']');
      return Value{arr};
    }
  }

  Value ParseObject() {
    Expect('{');
    auto obj = std::make_shared<Object>();
    if (Peek() == '}') {
      ++pos_;
      return Value{obj};
    }
    while (true) {
      if (Peek() != '"') Fail("expected a key");
      std::string key = ParseString();
      Expect(':');
      (*obj)[std::move(key)] = ParseValue();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      Expect('}');
      return Value{obj};
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

void DumpString(const std::string& s, std::ostringstream& os) {
  os << '"';
  for (char c : s) {
    switch (c) {
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      case '\n': os << "\\n"; break;
      case '\t': os << "\\t"; break;
      default: os << c;
    }
  }
  os << '"';
}

void DumpTo(const Value& value, std::ostringstream& os) {
  std::visit(Overloaded{
                 [&](std::nullptr_t) { os << "null"; },
                 [&](bool b) { os << (b ? "true" : "false"); },
                 [&](double d) {
                   char buf[32];
                   std::snprintf(buf, sizeof(buf), "%.17g", d);
                   os << buf;
                 },
                 [&](const std::string& s) { DumpString(s, os); },
                 [&](const std::shared_ptr<Array>& a) {
                   os << '[';
                   for (size_t i = 0; i < a->size(); ++i) {
                     if (i) os << ',';
                     DumpTo((*a)[i], os);
                   }
                   os << ']';
                 },
                 [&](const std::shared_ptr<Object>& o) {
                   os << '{';
                   bool first = true;
                   for (const auto& [k, v] : *o) {
                     if (!first) os << ',';
                     first = false;
                     DumpString(k, os);
                     os << ':';
                     DumpTo(v, os);
                   }
                   os << '}';
                 },
             },
             value.v);
}

}  // namespace

Value Parse(const std::string& text) { return Parser(text).ParseDocument(); }

std::string Dump(const Value& value) {
  std::ostringstream os;
  DumpTo(value, os);
  return os.str();
}

const Value& Lookup(const Value& root, const std::string& path) {
  const Value* cur = &root;
  std::istringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (const auto* obj = std::get_if<std::shared_ptr<Object>>(&cur->v)) {
      auto it = (*obj)->find(part);
      if (it == (*obj)->end()) throw std::out_of_range("no key '" + part + "' in " + path);
      cur = &it->second;
    } else if (const auto* arr = std::get_if<std::shared_ptr<Array>>(&cur->v)) {
      size_t idx = 0;
      try {
        idx = std::stoul(part);
      } catch (const std::exception&) {
        throw std::out_of_range("'" + part + "' is not an array index in " + path);
      }
      if (idx >= (*arr)->size()) throw std::out_of_range("index " + part + " out of range");
      cur = &(**arr)[idx];
    } else {
      throw std::out_of_range("'" + part + "' looks into a scalar in " + path);
    }
  }
  return *cur;
}

}  // namespace json
}  // namespace llm
}  // namespace mlc
