#include "contract/json_reader.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/container/small_vector.hpp>
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
    truncateKeys(objects_.back().first_key);
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
    chars_.insert(chars_.end(), s.begin(), s.end());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    chars_.insert(chars_.end(), s.begin(), s.end());
    if (!rememberKey()) {
      const std::string_view key = pendingKey();
      duplicate_ = std::string(key);
      ec = json::error::syntax;  // any failure; `duplicate_` tells them apart
      return false;
    }
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
  struct KeySpan {
    size_t offset, size;  // in chars_
  };

  // The key being read: the bytes of chars_ past the last remembered key.
  std::string_view pendingKey() const {
    const size_t start = keys_.empty() ? 0 : keys_.back().offset + keys_.back().size;
    return {chars_.data() + start, chars_.size() - start};
  }
  void truncateKeys(size_t first_key) {
    chars_.resize(first_key < keys_.size() ? keys_[first_key].offset : pendingStart());
    keys_.resize(first_key);
  }
  size_t pendingStart() const {
    return keys_.empty() ? 0 : keys_.back().offset + keys_.back().size;
  }

  // Adds the pending key to the innermost open object; false if it was
  // there already. A kept small-object key stays in chars_; otherwise its
  // bytes are dropped again.
  bool rememberKey() {
    OpenObject& object = objects_.back();
    const size_t start = pendingStart();
    const std::string_view key(chars_.data() + start, chars_.size() - start);
    if (object.many) {
      const bool fresh = object.many->emplace(key).second;
      if (fresh) chars_.resize(start);
      return fresh;
    }
    for (size_t i = object.first_key; i < keys_.size(); ++i) {
      if (std::string_view(chars_.data() + keys_[i].offset, keys_[i].size) == key) return false;
    }
    if (keys_.size() - object.first_key < kLinearKeys) {
      keys_.push_back(KeySpan{start, key.size()});
      return true;
    }
    object.many = std::make_unique<std::unordered_set<std::string>>();
    for (size_t i = object.first_key; i < keys_.size(); ++i) {
      object.many->emplace(chars_.data() + keys_[i].offset, keys_[i].size);
    }
    const bool fresh = object.many->emplace(key).second;
    truncateKeys(object.first_key);
    return fresh;
  }

  unsigned char temp_[1024];  // value_stack's working space, before it allocates
  json::value_stack stack_;
  // Inline capacity for a typical output, so parsing it allocates nothing
  // here: open objects, the keys of the small ones, and their bytes.
  boost::container::small_vector<OpenObject, 8> objects_;
  boost::container::small_vector<KeySpan, 32> keys_;
  boost::container::small_vector<char, 512> chars_;
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
