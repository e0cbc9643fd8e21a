// Parsing of human units shared by the CLI and the config: durations
// ("50ms", "2s", "1.5m", "250us") and sizes ("16MiB", "64KiB", "1GB", "4096").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace jinn::util {

// Units: ns, us, ms, s, m, h. A bare number is refused (ambiguous). Negative
// or overflowing values are refused.
std::optional<std::chrono::nanoseconds> parseDuration(std::string_view text);

// Units: B, KiB, MiB, GiB, TiB (1024-based), KB, MB, GB, TB (1000-based), K,
// M, G (1024-based, as in most server configs). A bare number is bytes.
std::optional<uint64_t> parseSize(std::string_view text);

}  // namespace jinn::util
