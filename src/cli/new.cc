// `jinn new --lang LANG NAME`: writes the embedded template of LANG (see
// templates/files.txt) into a new directory NAME, with NAME filled in.
#include "cli/new.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/templates.h"

namespace jinn::cli {
namespace {

constexpr int kExitJinnError = 125;

struct Language {
  std::string_view lang, name, source, sdk;
};

constexpr Language kLanguages[] = {
    {"c", "C", "function.c", "jinn.h"},
    {"cpp", "C++", "function.cc", "jinn.hpp"},
    {"rust", "Rust", "main.rs", "jinn.rs"},
    {"assemblyscript", "AssemblyScript", "assembly/index.ts", "assembly/jinn.ts"},
};

int usage(const std::string& message) {
  std::cerr << "jinn new: " << message << "\n"
            << "usage: jinn new --lang c|cpp|rust|assemblyscript NAME\n";
  return kExitJinnError;
}

// A name that is safe as a directory, a file name, a package name and inside
// every template's quotes: a letter, then letters, digits, '-' or '_'.
bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(name.front())) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_') return false;
  }
  return true;
}

std::string replaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

int newProject(const std::vector<std::string>& argv) {
  std::string lang, name;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--lang" || a == "-l") {
      if (i + 1 >= argv.size()) return usage("--lang needs a value");
      lang = argv[++i];
    } else if (a.rfind("--lang=", 0) == 0) {
      lang = a.substr(7);
    } else if (a.rfind("-", 0) == 0) {
      return usage("unknown option " + a);
    } else if (name.empty()) {
      name = a;
    } else {
      return usage("unexpected argument '" + a + "'");
    }
  }
  if (lang.empty()) return usage("--lang is required");
  const Language* language = nullptr;
  for (const auto& l : kLanguages) {
    if (l.lang == lang) language = &l;
  }
  if (language == nullptr) {
    return usage("unknown language '" + lang + "' (choose c, cpp, rust or assemblyscript)");
  }
  if (name.empty()) return usage("no NAME");
  if (!validName(name)) {
    return usage("bad NAME '" + name +
                 "': use a letter, then letters, digits, '-' or '_' (at most 64; not a path)");
  }

  // mkdir fails if anything named NAME exists: nothing is ever overwritten.
  if (::mkdir(name.c_str(), 0777) != 0) {
    if (errno == EEXIST) {
      std::cerr << "jinn new: " << name << " already exists; choose another name or remove it\n";
    } else {
      std::cerr << "jinn new: cannot create " << name << "/: " << std::strerror(errno) << "\n";
    }
    return kExitJinnError;
  }
  namespace fs = std::filesystem;
  std::string written;
  for (const TemplateFile& f : templateFiles()) {
    if (f.lang != lang) continue;
    std::string text = replaceAll(std::string(f.content), "{{name}}", name);
    if (f.path == "README.md") {
      text = replaceAll(text, "{{lang}}", language->lang);
      text = replaceAll(text, "{{language}}", language->name);
      text = replaceAll(text, "{{source}}", language->source);
      text = replaceAll(text, "{{sdk}}", language->sdk);
    }
    const fs::path path = fs::path(name) / f.path;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (ec || !out) {
      std::cerr << "jinn new: cannot write " << path.string() << "\n";
      fs::remove_all(name, ec);
      return kExitJinnError;
    }
    if (path.filename() == "build.sh") {
      fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add, ec);
    }
    written.append(" ").append(f.path);
  }
  std::cout << "created " << name << "/ (" << language->name << "):" << written << "\n"
            << "next:\n"
            << "  " << name << "/build.sh\n"
            << "  jinn call " << name << "/" << name << ".wasm --path /hello\n";
  return 0;
}

}  // namespace jinn::cli
