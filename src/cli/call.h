#pragma once

#include <string>
#include <vector>

namespace jinn::cli {

// jinn call FILE [--method M] [--path P] [--header 'K: V']... [--body TEXT|@FILE] ...
// Runs one function under the HTTP contract without a server and prints the
// HTTP response `jinn serve` would send. Exit codes: docs/cli.md.
int call(const std::vector<std::string>& argv);

}  // namespace jinn::cli
