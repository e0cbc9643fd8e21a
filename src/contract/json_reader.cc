#include "contract/json_reader.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <memory>
#include <unordered_set>
#include <vector>

namespace jinn::contract {
namespace {

namespace json = boost::json;

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// SAX handler: mirrors Boost's internal DOM handler (push onto a value_stack)
// and checks each object's keys for duplicates: by a linear search while an
// object is small (no allocation for the few keys of a typical response),
// with a hash set once it grows.
class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit StrictHandler(json::storage_ptr sp)
      : stack_(sp, temp_, sizeof temp_) {
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
    objects_.push_back(OpenObject{keys_.size(), nullptr});
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    keys_.resize(objects_.back().first_key);
    objects_.pop_back();
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
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!rememberKey()) {
      duplicate_ = std::move(key_);
      key_.clear();
      ec = json::error::syntax;  // any failure; `duplicate_` tells them apart
      return false;
    }
    key_.clear();
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
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  static constexpr size_t kLinearKeys = 16;

  struct OpenObject {
    size_t first_key;  // its keys are keys_[first_key..] while it is small
    std::unique_ptr<std::unordered_set<std::string>> many;
  };

  // Adds key_ to the innermost open object; false if it was there already.
  bool rememberKey() {
    OpenObject& object = objects_.back();
    if (object.many) return object.many->insert(key_).second;
    for (size_t i = object.first_key; i < keys_.size(); ++i) {
      if (keys_[i] == key_) return false;
    }
    if (keys_.size() - object.first_key < kLinearKeys) {
      keys_.push_back(key_);
      return true;
    }
    object.many = std::make_unique<std::unordered_set<std::string>>(
        std::make_move_iterator(keys_.begin() + static_cast<ptrdiff_t>(object.first_key)),
        std::make_move_iterator(keys_.end()));
    keys_.resize(object.first_key);
    return object.many->insert(key_).second;
  }

  unsigned char temp_[1024];  // value_stack's working space, before it allocates
  json::value_stack stack_;
  std::vector<OpenObject> objects_;
  std::vector<std::string> keys_;  // the keys of the small open objects, innermost last
  std::string key_;
  std::optional<std::string> duplicate_;
};

}  // namespace

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
  size_t begin = 0;
  while (begin < text.size() && isJsonSpace(text[begin])) ++begin;
  if (begin == text.size()) {
    error = "output is empty";
    return std::nullopt;
  }
  if (text[begin] != '{') {
    error = "output is not a single JSON object";
    return std::nullopt;
  }
  try {
    json::basic_parser<StrictHandler> parser(json::parse_options{}, std::move(storage));
    json::error_code ec;
    std::string_view rest = text.substr(begin);
    size_t used = parser.write_some(false, rest.data(), rest.size(), ec);
    if (const auto& dup = parser.handler().duplicate()) {
      std::string name = safeQuote(*dup);
      error = name.empty() ? "output has a duplicate key" : "output has a duplicate key " + name;
      return std::nullopt;
    }
    if (ec == json::error::extra_data) {
      error = "output is not a single JSON object";
      return std::nullopt;
    }
    if (ec) {
      error = "output is not valid JSON (" + ec.message() + " at byte " +
              std::to_string(begin + used) + ")";
      return std::nullopt;
    }
    for (size_t i = used; i < rest.size(); ++i) {
      if (!isJsonSpace(rest[i])) {
        error = "output is not a single JSON object";
        return std::nullopt;
      }
    }
    json::value value = parser.handler().release();
    return std::move(value.as_object());
  } catch (const std::exception&) {
    // Allocation failure or a Boost size limit on a huge string/array.
    error = "output could not be parsed (too large)";
    return std::nullopt;
  }
}

}  // namespace jinn::contract
