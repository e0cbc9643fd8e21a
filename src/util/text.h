// Small text and file helpers shared by the rooms.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "jinn/jinn.h"

namespace jinn::util {

// `text` with control characters (and DEL) shown as \xNN, so a message that
// quotes untrusted bytes stays one line of plain text.
std::string printable(std::string_view text);

// The whole file, or an error naming it.
Result<std::string> readWholeFile(const std::filesystem::path& path);

}  // namespace jinn::util
