#include "util/text.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace jinn::util {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Result<std::string> readWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path.string() + ": cannot open file"};
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Error{path.string() + ": read error"};
  return std::move(buf).str();
}

}  // namespace jinn::util
