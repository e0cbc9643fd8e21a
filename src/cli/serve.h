#pragma once

#include <string>
#include <vector>

namespace jinn::cli {

int serve(const std::vector<std::string>& argv);  // jinn serve -c FILE
int check(const std::vector<std::string>& argv);  // jinn check -c FILE

}  // namespace jinn::cli
