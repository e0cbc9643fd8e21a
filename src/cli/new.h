#pragma once

#include <string>
#include <vector>

namespace jinn::cli {

// jinn new --lang c|cpp|rust|assemblyscript NAME: writes a function project
// (source, SDK, build.sh, jinn.toml, README.md) into a new directory NAME.
int newProject(const std::vector<std::string>& argv);

}  // namespace jinn::cli
