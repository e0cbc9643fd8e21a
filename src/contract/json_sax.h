// Internal: what every strict reading of guest output shares, whatever its
// handler builds. json_reader.cc's handler builds a DOM (parseSingleObject,
// for middleware output and the envelope tests); response.cc's keeps only
// what parseResponse checks. Both refuse duplicate keys at any depth and text
// around the object, with the same messages, because both go through
// parseOneObject and StrictKeys below.
#pragma once

#include <boost/container/small_vector.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace jinn::contract {

// Joins the pieces in which Boost's parser hands over a string or a key (one
// per run between escapes, or per full temporary buffer) into one view that
// stays valid until the parse ends: the input bytes themselves when the
// string is one piece of the input (no escapes), else a copy in an arena.
class StableText {
 public:
  explicit StableText(std::string_view input) : input_(input) {}
  StableText(const StableText&) = delete;
  StableText& operator=(const StableText&) = delete;

  void part(std::string_view s) { pending_.insert(pending_.end(), s.begin(), s.end()); }
  // The whole string, `last` being its last piece. May throw std::bad_alloc.
  std::string_view finish(std::string_view last) {
    if (pending_.empty() && inInput(last)) return last;  // the common case: no copy
    return join(last);
  }

 private:
  bool inInput(std::string_view s) const {
    // std::less: a total order even for pointers into different objects.
    const std::less<const char*> before;
    return !before(s.data(), input_.data()) &&
           !before(input_.data() + input_.size(), s.data() + s.size());
  }
  std::string_view join(std::string_view last);

  std::string_view input_;
  boost::container::small_vector<char, 256> pending_;  // pieces of the string being read
  alignas(std::max_align_t) unsigned char buffer_[1024];  // the arena's first block
  boost::json::monotonic_resource arena_{buffer_, sizeof buffer_};
};

// Refuses a key its object already has. A key's text must stay valid until
// its object closes (StableText's does). Small objects are searched linearly
// (no allocation for the few keys of a typical output); one that grows past
// kLinearKeys gets a hash set.
class DuplicateKeys {
 public:
  void openObject() { objects_.push_back(OpenObject{keys_.size(), nullptr}); }
  void closeObject() {
    keys_.resize(objects_.back().first_key);
    objects_.pop_back();
  }
  // Adds `key` to the innermost open object; false if it was there already.
  bool add(std::string_view key) {
    OpenObject& object = objects_.back();
    if (object.many == nullptr && keys_.size() - object.first_key < kLinearKeys) {
      for (size_t i = object.first_key; i < keys_.size(); ++i) {
        if (keys_[i] == key) return false;
      }
      keys_.push_back(key);
      return true;
    }
    return addToSet(key);
  }

 private:
  bool addToSet(std::string_view key);

  static constexpr size_t kLinearKeys = 16;

  struct OpenObject {
    size_t first_key;  // its keys are keys_[first_key..] while it is small
    std::unique_ptr<std::unordered_set<std::string_view>> many;
  };
  // Inline capacity for a typical output: parsing it allocates nothing here.
  boost::container::small_vector<OpenObject, 8> objects_;
  boost::container::small_vector<std::string_view, 32> keys_;
};

// The part every strict SAX handler shares: keys joined and checked for
// duplicates, and the facts parseOneObject reads after the parse. A handler
// derives from it and calls openObject/closeObject/keyPart/key from the
// matching callbacks. The parser's own size limits are off; Boost.JSON's
// string and container limits (about 2^31) still hold, as a DOM would have
// them: a DOM handler by the exceptions of its value_stack, another one by
// checking the sizes the parser reports and calling stopTooLarge.
class StrictKeys {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit StrictKeys(std::string_view input) : text_(input) {}

  // The key the parse stopped on, if it stopped on a duplicate key.
  const std::optional<std::string>& duplicate() const { return duplicate_; }
  // Whether the parse stopped on a string, key, array or object past
  // Boost.JSON's size limits (what a DOM could not hold).
  bool tooLarge() const { return too_large_; }

 protected:
  void openObject() { keys_.openObject(); }
  void closeObject() { keys_.closeObject(); }
  void keyPart(boost::json::string_view s) { text_.part({s.data(), s.size()}); }
  // Completes a key and checks it; false (and the parse stops) on a
  // duplicate or an oversized key. The whole key is lastKey() until the next.
  bool key(boost::json::string_view last, std::size_t size, boost::json::error_code& ec) {
    last_key_ = text_.finish({last.data(), last.size()});
    if (!keys_.add(last_key_)) return stopDuplicate(ec);
    return size <= boost::json::string::max_size() || stopTooLarge(ec);
  }
  std::string_view lastKey() const { return last_key_; }
  // Stops the parse: what the DOM would throw std::length_error for.
  bool stopTooLarge(boost::json::error_code& ec);

  StableText text_;  // also joins the strings a handler keeps

 private:
  bool stopDuplicate(boost::json::error_code& ec);

  DuplicateKeys keys_;
  std::string_view last_key_;
  std::optional<std::string> duplicate_;
  bool too_large_ = false;
};

// Where the object of `text` starts, past JSON whitespace; npos with `error`
// set if the text is only whitespace or starts with something else.
size_t objectStart(std::string_view text, std::string& error);

// After `parser.write_some` over `rest` (the text from `begin` on) used
// `used` bytes and set `ec`: true if it read exactly one object followed by
// whitespace only, else false with `error` set.
bool checkOneObject(std::string_view rest, size_t begin, size_t used, boost::json::error_code ec,
                    const StrictKeys& handler, std::string& error);

// Parses `text` as exactly one JSON object, optionally surrounded by JSON
// whitespace (space, tab, CR, LF), with `parser`'s handler, which was made
// over the same `text`. On failure returns false and sets `error` to a short
// reason that echoes no guest bytes except a short, plain key name. Never
// throws: an exception in the handler (allocation) is "too large".
template <class Handler>
bool parseOneObject(boost::json::basic_parser<Handler>& parser, std::string_view text,
                    std::string& error) {
  const size_t begin = objectStart(text, error);
  if (begin == std::string_view::npos) return false;
  try {
    boost::json::error_code ec;
    const std::string_view rest = text.substr(begin);
    const size_t used = parser.write_some(false, rest.data(), rest.size(), ec);
    return checkOneObject(rest, begin, used, ec, parser.handler(), error);
  } catch (const std::exception&) {
    // Allocation failure or a Boost size limit on a huge string/array.
    error = "output could not be parsed (too large)";
    return false;
  }
}

}  // namespace jinn::contract
