// Middleware: validates a JSON request body against a JSON Schema before it
// reaches the upstream. The schema is a file the route grants read-only
// (dirs = [{ host = "schemas", guest = "/schemas" }]); its name comes from the
// SCHEMA env entry. Invalid body: 422 with the JSON path and the rule that
// failed. Valid: continue, with X-Schema-Valid set for the upstream.
//
// The keywords supported (a practical subset of JSON Schema draft 2020-12):
// type, enum, const, required, properties, additionalProperties (boolean),
// items, minItems, maxItems, minLength, maxLength (in code points), minimum,
// maximum. Unknown keywords are ignored, as the specification asks.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "jinn.hpp"

using jinn::json::Value;

namespace {

std::string typeName(const Value& v) {
  switch (v.type) {
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return "boolean";
    case Value::Type::kNumber: return "number";
    case Value::Type::kString: return "string";
    case Value::Type::kArray: return "array";
    case Value::Type::kObject: return "object";
  }
  return "?";
}

bool hasType(const Value& v, const std::string& type) {
  if (type == "integer") return v.isNumber() && std::floor(v.number) == v.number;
  return typeName(v) == type;
}

size_t codePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool equal(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case Value::Type::kNull: return true;
    case Value::Type::kBool: return a.boolean == b.boolean;
    case Value::Type::kNumber: return a.number == b.number;
    case Value::Type::kString: return a.string == b.string;
    default: break;
  }
  if (a.items.size() != b.items.size() || a.keys != b.keys) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!equal(a.items[i], b.items[i])) return false;
  }
  return true;
}

std::string number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

// Checks `v` against `schema`; on failure sets *where and *why.
bool validate(const Value& v, const Value& schema, const std::string& path, std::string* where,
              std::string* why) {
  auto fail = [&](const std::string& reason) {
    *where = path;
    *why = reason;
    return false;
  };
  if (const Value* t = schema.get("type")) {
    bool ok = false;
    if (t->isString()) ok = hasType(v, t->string);
    for (const Value& one : t->items) ok = ok || (one.isString() && hasType(v, one.string));
    if (!ok) return fail("must be of type " + (t->isString() ? t->string : "one of the listed types") +
                         ", not " + typeName(v));
  }
  if (const Value* e = schema.get("enum"); e != nullptr && e->isArray()) {
    bool found = false;
    for (const Value& one : e->items) found = found || equal(v, one);
    if (!found) return fail("must be one of the enum values");
  }
  if (const Value* c = schema.get("const"); c != nullptr && !equal(v, *c)) {
    return fail("must equal the const value");
  }
  if (v.isNumber()) {
    if (const Value* m = schema.get("minimum"); m && m->isNumber() && v.number < m->number) {
      return fail("must be >= " + number(m->number));
    }
    if (const Value* m = schema.get("maximum"); m && m->isNumber() && v.number > m->number) {
      return fail("must be <= " + number(m->number));
    }
  }
  if (v.isString()) {
    const double n = static_cast<double>(codePoints(v.string));
    if (const Value* m = schema.get("minLength"); m && m->isNumber() && n < m->number) {
      return fail("must be at least " + number(m->number) + " characters");
    }
    if (const Value* m = schema.get("maxLength"); m && m->isNumber() && n > m->number) {
      return fail("must be at most " + number(m->number) + " characters");
    }
  }
  if (v.isArray()) {
    const double n = static_cast<double>(v.items.size());
    if (const Value* m = schema.get("minItems"); m && m->isNumber() && n < m->number) {
      return fail("must have at least " + number(m->number) + " items");
    }
    if (const Value* m = schema.get("maxItems"); m && m->isNumber() && n > m->number) {
      return fail("must have at most " + number(m->number) + " items");
    }
    if (const Value* items = schema.get("items"); items && items->isObject()) {
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (!validate(v.items[i], *items, path + "[" + std::to_string(i) + "]", where, why)) {
          return false;
        }
      }
    }
  }
  if (v.isObject()) {
    if (const Value* req = schema.get("required")) {
      for (const Value& name : req->items) {
        if (name.isString() && v.get(name.string) == nullptr) {
          return fail("missing required property \"" + name.string + "\"");
        }
      }
    }
    const Value* props = schema.get("properties");
    const Value* extra = schema.get("additionalProperties");
    for (size_t i = 0; i < v.keys.size(); ++i) {
      const Value* sub = props != nullptr ? props->get(v.keys[i]) : nullptr;
      if (sub == nullptr) {
        if (extra != nullptr && extra->isBool() && !extra->boolean) {
          return fail("unknown property \"" + v.keys[i] + "\"");
        }
        continue;
      }
      if (!validate(v.items[i], *sub, path + "." + v.keys[i], where, why)) return false;
    }
  }
  return true;
}

int reject(int status, const std::string& where, const std::string& why) {
  jinn::Response res(status);
  res.header("Content-Type", "application/json");
  res.body = "{\"error\":\"invalid request body\",\"path\":" + jinn::json::quote(where) +
             ",\"reason\":" + jinn::json::quote(why) + "}";
  return res.send();
}

}  // namespace

int main() {
  jinn::Request req;
  if (!jinn::readRequest(req)) return 1;
  const char* name = std::getenv("SCHEMA");
  if (name == nullptr || *name == '\0' || std::string(name).find('/') != std::string::npos) {
    std::fprintf(stderr, "validate_json: set SCHEMA to a file name under /schemas\n");
    return 1;
  }
  const std::string file = std::string("/schemas/") + name;
  std::string text;
  if (FILE* f = std::fopen(file.c_str(), "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  } else {
    std::fprintf(stderr, "validate_json: cannot open %s\n", file.c_str());
    return 1;  // a server problem, not the client's: 500
  }
  std::string error;
  std::optional<Value> schema = jinn::json::parse(text, &error);
  if (!schema) {
    std::fprintf(stderr, "validate_json: %s is not JSON: %s\n", file.c_str(), error.c_str());
    return 1;
  }
  std::optional<Value> body = jinn::json::parse(req.body, &error);
  if (!body) return reject(400, "$", "body is not JSON: " + error);
  std::string where, why;
  if (!validate(*body, *schema, "$", &where, &why)) return reject(422, where, why);
  return jinn::Continue().set("X-Schema-Valid", name).send();
}
