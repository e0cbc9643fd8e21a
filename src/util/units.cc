#include "util/units.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace jinn::util {
namespace {

// Splits "12.5ms" into 12.5 and "ms". Returns false on a malformed number.
bool splitNumber(std::string_view text, double* value, std::string_view* unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  const std::string number(text.substr(0, i));
  if (number.find('.') != number.rfind('.')) return false;
  char* end = nullptr;
  *value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(*value)) return false;
  *unit = text.substr(i);
  while (!unit->empty() && unit->front() == ' ') unit->remove_prefix(1);
  return true;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  double value = 0;
  std::string_view unit;
  if (!splitNumber(text, &value, &unit)) return std::nullopt;
  double ns_per = 0;
  if (unit == "ns") ns_per = 1;
  else if (unit == "us" || unit == "µs") ns_per = 1e3;
  else if (unit == "ms") ns_per = 1e6;
  else if (unit == "s") ns_per = 1e9;
  else if (unit == "m" || unit == "min") ns_per = 60e9;
  else if (unit == "h") ns_per = 3600e9;
  else return std::nullopt;
  const double ns = value * ns_per;
  if (ns > 9.0e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

std::optional<uint64_t> parseSize(std::string_view text) {
  double value = 0;
  std::string_view unit;
  if (!splitNumber(text, &value, &unit)) return std::nullopt;
  double mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB" || unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "MiB" || unit == "M") mult = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") mult = 1024.0 * 1024 * 1024;
  else if (unit == "TiB" || unit == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else if (unit == "TB") mult = 1e12;
  else return std::nullopt;
  const double bytes = value * mult;
  if (bytes > 1.8e19 || bytes != std::floor(bytes)) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

}  // namespace jinn::util
