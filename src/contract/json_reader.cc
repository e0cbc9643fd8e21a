#include "contract/json_reader.h"

#include <boost/json/value_stack.hpp>

#include <cstring>

#include "contract/json_sax.h"

namespace jinn::contract {
namespace {

namespace json = boost::json;

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// SAX handler: mirrors Boost's internal DOM handler (push onto a value_stack),
// with StrictKeys checking each object's keys. Boost.JSON's size limits are
// the value_stack's: it throws past them, and parseOneObject catches.
class StrictHandler : public StrictKeys {
 public:
  StrictHandler(std::string_view input, json::storage_ptr sp)
      : StrictKeys(input), stack_(sp, temp_, sizeof temp_) {
    stack_.reset(std::move(sp));
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_object_begin(json::error_code&) {
    openObject();
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    closeObject();
    stack_.push_object(n);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    keyPart(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code& ec) {
    if (!key(s, n, ec)) return false;
    stack_.push_key(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  json::value release() { return stack_.release(); }

 private:
  // value_stack's working space, before it allocates: it holds json::values.
  alignas(boost::json::value) unsigned char temp_[1024];
  json::value_stack stack_;
};

}  // namespace

std::string_view StableText::join(std::string_view last) {
  pending_.insert(pending_.end(), last.begin(), last.end());
  if (pending_.empty()) return {};
  auto* copy = static_cast<char*>(arena_.allocate(pending_.size(), 1));
  std::memcpy(copy, pending_.data(), pending_.size());
  const std::string_view whole(copy, pending_.size());
  pending_.clear();
  return whole;
}

// An object past kLinearKeys keys: its keys move from keys_ to a hash set.
bool DuplicateKeys::addToSet(std::string_view key) {
  OpenObject& object = objects_.back();
  if (object.many == nullptr) {
    // It has kLinearKeys keys: search them, then move them to a set.
    for (size_t i = object.first_key; i < keys_.size(); ++i) {
      if (keys_[i] == key) return false;
    }
    object.many = std::make_unique<std::unordered_set<std::string_view>>(
        keys_.begin() + static_cast<std::ptrdiff_t>(object.first_key), keys_.end());
    keys_.resize(object.first_key);
  }
  return object.many->insert(key).second;
}

bool StrictKeys::stopDuplicate(json::error_code& ec) {
  duplicate_ = std::string(last_key_);
  ec = json::error::syntax;  // any failure; `duplicate_` tells them apart
  return false;
}

bool StrictKeys::stopTooLarge(json::error_code& ec) {
  too_large_ = true;
  ec = json::error::syntax;  // any failure; `too_large_` tells them apart
  return false;
}

size_t objectStart(std::string_view text, std::string& error) {
  size_t begin = 0;
  while (begin < text.size() && isJsonSpace(text[begin])) ++begin;
  if (begin == text.size()) {
    error = "output is empty";
    return std::string_view::npos;
  }
  if (text[begin] != '{') {
    error = "output is not a single JSON object";
    return std::string_view::npos;
  }
  return begin;
}

bool checkOneObject(std::string_view rest, size_t begin, size_t used, json::error_code ec,
                    const StrictKeys& handler, std::string& error) {
  if (const auto& dup = handler.duplicate()) {
    std::string name = safeQuote(*dup);
    error = name.empty() ? "output has a duplicate key" : "output has a duplicate key " + name;
    return false;
  }
  if (handler.tooLarge()) {
    error = "output could not be parsed (too large)";
    return false;
  }
  if (!ec) {
    for (size_t i = used; i < rest.size(); ++i) {
      if (!isJsonSpace(rest[i])) {
        error = "output is not a single JSON object";
        return false;
      }
    }
    return true;
  }
  if (ec == json::error::extra_data) {
    error = "output is not a single JSON object";
    return false;
  }
  error = "output is not valid JSON (" + ec.message() + " at byte " +
          std::to_string(begin + used) + ")";
  return false;
}

std::string safeQuote(std::string_view s) {
  constexpr size_t kMaxShown = 40;
  if (s.empty() || s.size() > kMaxShown) return {};
  for (char c : s) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
    if (!plain) return {};
  }
  return "\"" + std::string(s) + "\"";
}

std::optional<boost::json::object> parseSingleObject(std::string_view text, std::string& error,
                                                     boost::json::storage_ptr storage) {
  try {
    json::basic_parser<StrictHandler> parser(json::parse_options{}, text, std::move(storage));
    if (!parseOneObject(parser, text, error)) return std::nullopt;
    json::value value = parser.handler().release();
    return std::move(value.as_object());
  } catch (const std::exception&) {
    error = "output could not be parsed (too large)";
    return std::nullopt;
  }
}

}  // namespace jinn::contract
