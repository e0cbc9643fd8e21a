// Internal: the one place guest output becomes a JSON DOM. Boost.JSON's own
// parser keeps the last of duplicate keys silently; the contract refuses them
// (two "status" keys are a bug or an attempt to confuse a filter), so this
// drives Boost's SAX parser with a handler that builds the DOM and checks keys.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace jinn::contract {

// Parses `text` as exactly one JSON object, optionally surrounded by JSON
// whitespace (space, tab, CR, LF). On failure returns nullopt and sets `error`
// to a short reason that echoes no guest bytes except a short, plain key name.
// The DOM is allocated from `storage` (default: the heap), which must outlive
// it. Never throws.
std::optional<boost::json::object> parseSingleObject(std::string_view text, std::string& error,
                                                     boost::json::storage_ptr storage = {});

// `s` in double quotes if it is short and made of harmless characters (letters,
// digits, '-', '_', '.'), else an empty string: lets reasons name a key or a
// header without echoing arbitrary guest data into a response or a log line.
std::string safeQuote(std::string_view s);

}  // namespace jinn::contract
