#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <random>
#include <string>
#include <vector>

#include "contract/base64.h"
#include "contract/headers.h"
#include "contract/json_reader.h"
#include "contract/request.h"
#include "contract/response.h"
#include "contract/response_dom.h"
#include "contract/status.h"
#include "contract/utf8.h"

namespace jinn::contract {
namespace {

namespace json = boost::json;
using namespace std::string_literals;

json::object parseEnvelope(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v.is_object() ? v.as_object() : json::object{};
}

std::string str(const json::value& v) {
  return std::string(v.as_string().c_str(), v.as_string().size());
}

// ---- base64 (RFC 4648 section 10 test vectors) ----

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, AllBytesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string part = all.substr(0, n);
    EXPECT_EQ(base64Decode(base64Encode(part)), part);
  }
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64, StrictDecodingRejects) {
  for (const char* bad : {"Zg", "Zg=", "Zm9v\n", " Zm9v", "Zm 9v", "Z===", "====", "Zg==Zg==",
                          "Zm=v", "Zm9-", "Zm9_", "Zh==", "Zm9=", "Zm8=\r\n"}) {
    EXPECT_FALSE(base64Decode(bad)) << bad;
  }
}

// ---- UTF-8 ----

TEST(Utf8, Valid) {
  for (const char* ok : {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                         "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xc2\x80"}) {
    EXPECT_TRUE(isValidUtf8(ok)) << ok;
  }
  EXPECT_TRUE(isValidUtf8(std::string("a\0b", 3)));
}

TEST(Utf8, RejectsOverlongsSurrogatesAndRange) {
  for (const char* bad : {
           "\xc0\xaf",
           "\xc1\xbf",  // overlong 2-byte
           "\xe0\x80\xaf",
           "\xe0\x9f\xbf",  // overlong 3-byte
           "\xf0\x80\x80\xaf",
           "\xf0\x8f\xbf\xbf",  // overlong 4-byte
           "\xed\xa0\x80",
           "\xed\xbf\xbf",  // surrogates U+D800, U+DFFF
           "\xf4\x90\x80\x80",
           "\xf5\x80\x80\x80",
           "\xff",
           "\xfe",  // > U+10FFFF / never valid
           "\x80",
           "\xbf",  // lone continuation
           "\xc3",
           "\xe2\x82",
           "\xf0\x9f\x98",  // truncated
           "\xc3\x28",
           "\xe2\x28\xa1",  // bad continuation
       }) {
    EXPECT_FALSE(isValidUtf8(bad)) << testing::PrintToString(std::string(bad));
  }
}

TEST(Utf8, LossyReplacesEachBadByte) {
  std::string out;
  appendUtf8Lossy("a\xff\xc3\xa9\xe2\x82z", out);
  EXPECT_EQ(out, "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbdz");
}

// ---- header names ----

TEST(Headers, CanonicalKeyLikeGo) {
  EXPECT_EQ(canonicalHeaderKey("content-type"), "Content-Type");
  EXPECT_EQ(canonicalHeaderKey("CONTENT-TYPE"), "Content-Type");
  EXPECT_EQ(canonicalHeaderKey("x-request-id"), "X-Request-Id");
  EXPECT_EQ(canonicalHeaderKey("www-authenticate"), "Www-Authenticate");
  EXPECT_EQ(canonicalHeaderKey("a--b"), "A--B");
  EXPECT_EQ(canonicalHeaderKey("-x"), "-X");
  EXPECT_EQ(canonicalHeaderKey("x_y"), "X_y");
  EXPECT_EQ(canonicalHeaderKey("1abc"), "1abc");
  // Not a token: unchanged, as in Go.
  EXPECT_EQ(canonicalHeaderKey("bad name"), "bad name");
  EXPECT_EQ(canonicalHeaderKey("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(canonicalHeaderKey(""), "");
}

TEST(Headers, TokensValuesAndServerOwned) {
  EXPECT_TRUE(isHeaderToken("X-Custom_1.!#$%&'*+^`|~"));
  EXPECT_FALSE(isHeaderToken(""));
  EXPECT_FALSE(isHeaderToken("a:b"));
  EXPECT_FALSE(isHeaderToken("a b"));
  EXPECT_TRUE(isValidHeaderValue("text/html; charset=utf-8\t\xc3\xa9"));
  EXPECT_FALSE(isValidHeaderValue("a\r\nSet-Cookie: x"));
  EXPECT_FALSE(isValidHeaderValue(std::string("a\0b", 3)));
  EXPECT_FALSE(isValidHeaderValue("a\x7f"));
  for (const char* owned :
       {"connection", "Keep-Alive", "te", "Trailer", "transfer-encoding", "Upgrade",
        "Content-Length", "Proxy-Connection", "proxy-authenticate"}) {
    EXPECT_TRUE(isServerOwnedHeader(owned)) << owned;
  }
  for (const char* fine : {"Content-Type", "Set-Cookie", "Trailers-X", "Proxy", "Date"}) {
    EXPECT_FALSE(isServerOwnedHeader(fine)) << fine;
  }
}

// isValidHeaderValue checks eight bytes at a time and canonicalHeaderKey
// in one pass: both must answer as the plain byte-by-byte rules below, for
// every byte at every offset of either part of a value.
bool plainIsValidHeaderValue(std::string_view value) {
  for (char c : value) {
    auto b = static_cast<uint8_t>(c);
    if ((b < 0x20 && b != '\t') || b == 0x7F) return false;
  }
  return true;
}

std::string plainCanonicalHeaderKey(std::string_view name) {
  if (!isHeaderToken(name)) return std::string(name);
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    else if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    upper = c == '-';
  }
  return out;
}

TEST(Headers, ValueCheckFindsEveryByteAtEveryOffset) {
  for (const char fill : {'a', '\t', '\x80', '\xff', ' ', '~'}) {
    for (size_t len = 1; len <= 26; ++len) {
      for (size_t at = 0; at < len; ++at) {
        for (int b = 0; b < 256; ++b) {
          std::string value(len, fill);
          value[at] = static_cast<char>(b);
          ASSERT_EQ(isValidHeaderValue(value), plainIsValidHeaderValue(value))
              << "fill " << int(fill) << " len " << len << " at " << at << " byte " << b;
        }
      }
    }
  }
  // Two control characters, or a tab and one, in one word.
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    std::string value(1 + rng() % 20, 'x');
    for (char& c : value) {
      const uint32_t r = rng() % 8;
      c = r == 0 ? static_cast<char>(rng() % 0x21) : r == 1 ? '\x7f' : static_cast<char>(rng());
    }
    ASSERT_EQ(isValidHeaderValue(value), plainIsValidHeaderValue(value))
        << testing::PrintToString(value);
  }
}

TEST(Headers, CanonicalKeyAgreesWithThePlainRule) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string name = {static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(canonicalHeaderKey(name), plainCanonicalHeaderKey(name)) << a << " " << b;
    }
  }
  const std::string alphabet = "aZz-A-_.9!~` \x80:";
  std::mt19937 rng(11);
  for (int i = 0; i < 100000; ++i) {
    std::string name(rng() % 40, 'a');
    for (char& c : name) c = alphabet[rng() % (rng() % 4 == 0 ? alphabet.size() : 8)];
    ASSERT_EQ(canonicalHeaderKey(name), plainCanonicalHeaderKey(name))
        << testing::PrintToString(name);
  }
}

// ---- request envelope ----

TEST(Request, RoundTripsEveryField) {
  std::vector<NameValue> headers = {{"content-type", "application/json"}, {"X-A", "1"}};
  std::vector<NameValue> params = {{"id", "42"}, {"slug", "a\"b"}};
  RequestView request;
  request.method = "POST";
  request.uri = "/users/42?x=1&y=%20";
  request.path = "/users/42";
  request.query = "x=1&y=%20";
  request.headers = headers;
  request.body = "{\"name\":\"caf\xc3\xa9\"}\n";
  request.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  request.remote_addr = "203.0.113.7:51234";
  request.route = "/users/{id}";
  request.params = params;
  std::string text = encodeRequest(request);
  json::object o = parseEnvelope(text);
  EXPECT_EQ(str(o.at("method")), "POST");
  EXPECT_EQ(str(o.at("uri")), "/users/42?x=1&y=%20");
  EXPECT_EQ(str(o.at("path")), "/users/42");
  EXPECT_EQ(str(o.at("query")), "x=1&y=%20");
  EXPECT_EQ(str(o.at("body")), request.body);
  EXPECT_FALSE(o.contains("body_base64"));
  EXPECT_EQ(str(o.at("trace_id")), request.trace_id);
  EXPECT_EQ(str(o.at("remote_addr")), "203.0.113.7:51234");
  EXPECT_EQ(str(o.at("route")), "/users/{id}");
  EXPECT_EQ(str(o.at("params").at("id")), "42");
  EXPECT_EQ(str(o.at("params").at("slug")), "a\"b");
  EXPECT_EQ(str(o.at("headers").at("Content-Type").at(0)), "application/json");
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line
}

TEST(Request, RepeatedHeadersGroupedUnderCanonicalNames) {
  std::vector<NameValue> headers = {{"accept", "text/html"},
                                    {"X-Forwarded-For", "10.0.0.1"},
                                    {"ACCEPT", "application/json"},
                                    {"x-forwarded-for", "10.0.0.2"},
                                    {"Cookie", "a=1"}};
  RequestView request;
  request.headers = headers;
  json::object h = parseEnvelope(encodeRequest(request)).at("headers").as_object();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.at("Accept"), json::parse(R"(["text/html","application/json"])"));
  EXPECT_EQ(h.at("X-Forwarded-For"), json::parse(R"(["10.0.0.1","10.0.0.2"])"));
  EXPECT_EQ(h.at("Cookie"), json::parse(R"(["a=1"])"));
  // First-appearance order of names.
  std::vector<std::string> order;
  for (const auto& e : h) order.emplace_back(e.key());
  EXPECT_EQ(order, (std::vector<std::string>{"Accept", "X-Forwarded-For", "Cookie"}));
}

// A few token-named headers take a path without allocation, many (or odd
// names) take the general one: both must group the same way.
TEST(Request, ManyHeadersGroupLikeFew) {
  std::vector<NameValue> few = {{"accept", "a"},   {"x-A-b", "1"}, {"ACCEPT", "b"},
                                {"X-a-B", "2"},    {"te", "x"},    {"accepT", "c"}};
  std::vector<std::string> pad_names;
  for (int i = 0; i < 40; ++i) pad_names.push_back("x-pad-" + std::to_string(i));
  std::vector<NameValue> many = few;
  for (const auto& name : pad_names) many.emplace_back(name, "p");
  RequestView a;
  a.headers = few;
  RequestView b;
  b.headers = many;
  json::object fa = parseEnvelope(encodeRequest(a)).at("headers").as_object();
  json::object fb = parseEnvelope(encodeRequest(b)).at("headers").as_object();
  ASSERT_EQ(fa.size(), 3u);
  ASSERT_EQ(fb.size(), 43u);
  for (const auto& e : fa) EXPECT_EQ(fb.at(e.key()), e.value()) << e.key();
  EXPECT_EQ(fa.at("Accept"), json::parse(R"(["a","b","c"])"));
  EXPECT_EQ(fa.at("X-A-B"), json::parse(R"(["1","2"])"));
  EXPECT_EQ(fb.at("X-Pad-39"), json::parse(R"(["p"])"));
}

TEST(Request, EmptyRequestHasEveryFieldButParams) {
  json::object o = parseEnvelope(encodeRequest(RequestView{}));
  for (const char* key :
       {"method", "uri", "path", "query", "headers", "body", "trace_id", "remote_addr", "route"}) {
    EXPECT_TRUE(o.contains(key)) << key;
  }
  EXPECT_FALSE(o.contains("params"));
  EXPECT_FALSE(o.contains("body_base64"));
  EXPECT_TRUE(o.at("headers").as_object().empty());
}

TEST(Request, BinaryBodyGoesToBase64) {
  std::string body("\x89PNG\r\n\x1a\n\0\xff", 10);
  RequestView request;
  request.body = body;
  json::object o = parseEnvelope(encodeRequest(request));
  EXPECT_FALSE(o.contains("body"));
  ASSERT_TRUE(o.contains("body_base64"));
  EXPECT_EQ(base64Decode(str(o.at("body_base64"))), body);
}

TEST(Request, ControlCharactersInTextBodyAreEscaped) {
  std::string body = "line1\nline2\t\"q\"\\ \x01 \0 end"s;
  RequestView request;
  request.body = body;
  std::string text = encodeRequest(request);
  EXPECT_NE(text.find("\\u0001"), std::string::npos);
  EXPECT_NE(text.find("\\u0000"), std::string::npos);
  EXPECT_EQ(str(parseEnvelope(text).at("body")), body);
}

// The escaper scans 16 bytes per step while that many are left, then 8 in a
// word, then a byte at a time: a byte that needs escaping must be found at
// every offset of each part, and a valid multi-byte sequence kept whole
// across a step.
TEST(Request, EscapesAtEveryOffsetOfLongAndShortStrings) {
  const std::vector<std::string> specials = {"\"", "\\", "\n", "\x1f", "\x7f", "\xc3\xa9", "\xff"};
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (const std::string& special : specials) {
        std::string body(len, 'a');
        body.replace(at, 1, special);
        RequestView request;
        request.uri = body;
        const std::string text = encodeRequest(request);
        const std::string expected = special == "\xff" ? body.substr(0, at) + "\xef\xbf\xbd" + body.substr(at + 1) : body;
        EXPECT_EQ(str(parseEnvelope(text).at("uri")), expected) << "len " << len << " at " << at;
        if (special == "\"") {
          EXPECT_NE(text.find(body.substr(0, at) + "\\\""), std::string::npos);
        }
      }
    }
  }
}

// ASCII strings mixing plain bytes and bytes to escape, every length up to
// 48 and many mixes: the text is exactly what a byte-by-byte escaper writes,
// so no plain byte is ever escaped (a word scan can flag a byte just above
// one it must escape) and none that must be is missed.
TEST(Request, EscapedTextIsExactlyTheBytewiseEscaping) {
  auto reference = [](const std::string& s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    return out;
  };
  // Plain neighbours of the specials ('"' ^ 1 is '#', '\\' ^ 1 is ']') are
  // where a borrow in the word scan would show.
  const std::string alphabet = std::string("\"\\#]!$[^ ~\x1f\x01\n\x7f", 14) + "az";
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
  for (size_t len = 0; len <= 48; ++len) {
    for (int mix = 0; mix < 60; ++mix) {
      std::string text;
      for (size_t i = 0; i < len; ++i) text += alphabet[(next() >> 8) % alphabet.size()];
      RequestView request;
      request.uri = text;
      const std::string encoded = encodeRequest(request);
      const std::string want = ",\"uri\":\"" + reference(text) + "\"";
      EXPECT_NE(encoded.find(want), std::string::npos) << "len " << len << " mix " << mix << ": " << encoded;
    }
  }
}

TEST(Request, InvalidUtf8InTextFieldsBecomesReplacementCharacter) {
  std::vector<NameValue> headers = {{"X-Latin1", "caf\xe9"}};
  RequestView request;
  request.uri = "/\xff";
  request.headers = headers;
  json::object o = parseEnvelope(encodeRequest(request));
  EXPECT_EQ(str(o.at("uri")), "/\xef\xbf\xbd");
  EXPECT_EQ(str(o.at("headers").at("X-Latin1").at(0)), "caf\xef\xbf\xbd");
}

TEST(Request, InvalidNamesThatReadTheSameAreOneKey) {
  std::vector<NameValue> headers = {{"\xff", "a"}, {"\xfe", "b"}};
  std::vector<NameValue> params = {{"\xff", "1"}, {"\xfe", "2"}};
  RequestView request;
  request.headers = headers;
  request.params = params;
  std::string error;
  auto object = parseSingleObject(encodeRequest(request), error);  // refuses repeated keys
  ASSERT_TRUE(object) << error;
  EXPECT_EQ(object->at("headers").at("\xef\xbf\xbd"), json::parse(R"(["a","b"])"));
  EXPECT_EQ(str(object->at("params").at("\xef\xbf\xbd")), "1");
}

TEST(Request, RepeatedParamKeepsFirst) {
  std::vector<NameValue> params = {{"id", "1"}, {"id", "2"}};
  RequestView request;
  request.params = params;
  std::string text = encodeRequest(request);
  EXPECT_EQ(str(parseEnvelope(text).at("params").at("id")), "1");
  EXPECT_EQ(text.find("\"2\""), std::string::npos);
}

// ---- response parsing ----

FunctionResponse parseOk(std::string_view text, const ResponseLimits& limits = {}) {
  ParseResult result = parseResponse(text, limits);
  EXPECT_TRUE(result.ok()) << text << " -> " << (result.ok() ? "" : result.error().message);
  return result.ok() ? result.value() : FunctionResponse{};
}

std::string parseError(std::string_view text, const ResponseLimits& limits = {}) {
  ParseResult result = parseResponse(text, limits);
  EXPECT_FALSE(result.ok()) << text;
  return result.ok() ? "" : result.error().message;
}

TEST(Response, TypicalGojinnOutput) {
  FunctionResponse r = parseOk(
      R"({"status":201,"headers":{"Content-Type":["application/json"],"x-multi":["a","b"]},)"
      R"("body":"{\"ok\":true}"})"
      "\n");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.headers,
            (std::vector<Header>{
                {"Content-Type", "application/json"}, {"X-Multi", "a"}, {"X-Multi", "b"}}));
  EXPECT_EQ(r.body, "{\"ok\":true}");
}

TEST(Response, DefaultsAndGoZeroValues) {
  FunctionResponse r = parseOk("{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.body, "");
  // What a Go struct with nil map and unset Status marshals to.
  r = parseOk(R"({"status":0,"headers":null,"body":"hi"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi");
  r = parseOk(R"({"status":null,"headers":{"X-Nil":null,"X-Empty":[]}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.headers.empty());
}

TEST(Response, SurroundingWhitespaceAllowed) {
  EXPECT_EQ(parseOk(" \t\r\n{\"status\":404}\r\n\n  ").status, 404);
}

TEST(Response, KeysMatchIgnoringCaseLikeGo) {
  FunctionResponse r = parseOk(R"({"Status":418,"Headers":{"X-A":"1"},"Body":"teapot"})");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, "teapot");
  EXPECT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(parseError(R"({"status":200,"Status":500})"), "output has a duplicate key \"status\"");
}

TEST(Response, PlainStringHeaderValueAccepted) {
  FunctionResponse r = parseOk(R"({"headers":{"location":"/next","X-Pad":"  v  "}})");
  EXPECT_EQ(r.headers, (std::vector<Header>{{"Location", "/next"}, {"X-Pad", "v"}}));
}

TEST(Response, UnknownKeysIgnored) {
  FunctionResponse r = parseOk(R"({"status":200,"debug":{"deep":[1,2,{"x":null}]},"v":2})");
  EXPECT_EQ(r.status, 200);
}

TEST(Response, Base64Body) {
  FunctionResponse r = parseOk(R"({"body_base64":"AP8QIA=="})");
  EXPECT_EQ(r.body, std::string("\x00\xff\x10\x20", 4));
  // A typed encoder's empty "body" next to body_base64 is fine.
  r = parseOk(R"({"body":"","body_base64":"aGk="})");
  EXPECT_EQ(r.body, "hi");
  r = parseOk(R"({"body":"text","body_base64":""})");
  EXPECT_EQ(r.body, "text");
}

TEST(Response, EscapedUnicodeBody) {
  EXPECT_EQ(parseOk(R"({"body":"\u00e9\ud83d\ude00\u0000"})").body,
            std::string("\xc3\xa9\xf0\x9f\x98\x80\0", 7));
}

TEST(Response, HopByHopAndFramingHeadersDropped) {
  FunctionResponse r = parseOk(
      R"({"headers":{"Connection":["close"],"transfer-encoding":"chunked","Content-Length":"999",)"
      R"("Keep-Alive":"timeout=5","Upgrade":"h2c","TE":"trailers","Trailer":"X",)"
      R"("Proxy-Authenticate":"Basic","Content-Type":"text/plain"}})");
  EXPECT_EQ(r.headers, (std::vector<Header>{{"Content-Type", "text/plain"}}));
}

TEST(Response, NotASingleObject) {
  const std::string kReason = "output is not a single JSON object";
  for (const char* text :
       {"hello {\"status\":200}", "{\"status\":200} trailing", "{}{}", "{} {}", "[1,2]", "\"str\"",
        "42", "null", "true", "debug: starting\n{\"status\":200}\n", "{}\n\x0c"}) {
    EXPECT_EQ(parseError(text), kReason) << text;
  }
  EXPECT_EQ(parseError(""), "output is empty");
  EXPECT_EQ(parseError(" \n\r\t"), "output is empty");
}

TEST(Response, InvalidJson) {
  for (const char* text :
       {"{", "{\"status\":}", "{\"status\":200,}", "{'a':1}", "{\"a\":1 /*c*/}",
        "{\"body\":\"\xff\"}", "{\"body\":\"a\nb\"}", "{\"body\":\"\\ud800\"}", "{\"a\":tru}"}) {
    std::string error = parseError(text);
    EXPECT_EQ(error.rfind("output is not valid JSON (", 0), 0u) << text << " -> " << error;
  }
  // Nesting is capped (Boost's default depth, 32).
  std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(parseError(deep).rfind("output is not valid JSON (", 0), 0u);
}

TEST(Response, DuplicateKeysRefusedAtAnyDepth) {
  EXPECT_EQ(parseError(R"({"status":200,"status":500})"), "output has a duplicate key \"status\"");
  EXPECT_EQ(parseError(R"({"headers":{"X-A":"1","X-A":"2"}})"),
            "output has a duplicate key \"X-A\"");
  EXPECT_EQ(parseError(R"({"extra":{"k":1,"k":2}})"), "output has a duplicate key \"k\"");
  // Key made of split parts (escapes) still compared whole.
  EXPECT_EQ(parseError(R"({"st\u0061tus":1,"status":2})"), "output has a duplicate key \"status\"");
  // A key not safe to echo is not echoed.
  EXPECT_EQ(parseError(R"({"<script>":1,"<script>":2})"), "output has a duplicate key");
  // Same key in sibling objects is fine.
  EXPECT_EQ(parseOk(R"({"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]})").status, 200);
}

// Small objects are checked by a linear search, big ones by a set: the
// answer must not depend on the size, nor on nesting in between.
TEST(Response, DuplicateKeysFoundInBigObjectsAndAfterNesting) {
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_EQ(parseError(many + "\"k3\":0}"), "output has a duplicate key \"k3\"");
  EXPECT_EQ(parseError(many + "\"k99\":0}"), "output has a duplicate key \"k99\"");
  EXPECT_EQ(parseOk(many + "\"status\":201}").status, 201);
  EXPECT_EQ(parseError(R"({"x":1,"inner":{"y":{"z":1},"x":2},"x":3})"),
            "output has a duplicate key \"x\"");
  EXPECT_EQ(parseError(R"({"inner":)" + many + R"("k0":1},"status":200})"),
            "output has a duplicate key \"k0\"");
  EXPECT_EQ(parseOk(R"({"inner":)" + many + R"("z":1},"k0":1,"status":202})").status, 202);
}

TEST(Response, StatusMustBeAnIntegerInRange) {
  const std::string kReason = "status must be an integer from 200 to 599";
  for (const char* text :
       {R"({"status":99})", R"({"status":100})", R"({"status":103})", R"({"status":199})",
        R"({"status":600})", R"({"status":-200})", R"({"status":"200"})",
        R"({"status":200.0})", R"({"status":2e2})", R"({"status":true})", R"({"status":[200]})",
        R"({"status":18446744073709551615})", R"({"status":4294967496})"}) {
    EXPECT_EQ(parseError(text), kReason) << text;
  }
  EXPECT_EQ(parseOk(R"({"status":200})").status, 200);
  EXPECT_EQ(parseOk(R"({"status":599})").status, 599);
}

TEST(Response, HeaderShapeErrors) {
  EXPECT_EQ(parseError(R"({"headers":[]})"), "headers must be an object");
  EXPECT_EQ(parseError(R"({"headers":"X-A: 1"})"), "headers must be an object");
  EXPECT_EQ(parseError(R"({"headers":{"X-A":1}})"),
            "header \"X-A\" must have a string or an array of strings");
  EXPECT_EQ(parseError(R"({"headers":{"X-A":["ok",null]}})"),
            "header \"X-A\" must have a string or an array of strings");
  EXPECT_EQ(parseError(R"({"headers":{"X-A":[["nested"]]}})"),
            "header \"X-A\" must have a string or an array of strings");
  for (const char* name : {"", "Bad Name", "X:Y", "Caf\u00e9", "X\r\nY"}) {
    json::object headers;
    headers[name] = "v";
    json::object o;
    o["headers"] = headers;
    EXPECT_EQ(parseError(json::serialize(o)), "headers has an invalid header name") << name;
  }
}

TEST(Response, CrlfInjectionRefused) {
  const std::string kReason =
      "header \"Location\" has a control character (CR, LF, NUL...) in its value";
  for (const char* text :
       {R"({"headers":{"Location":"/x\r\nSet-Cookie: admin=1"}})",
        R"({"headers":{"Location":["/ok","/x\nY: z"]}})", R"({"headers":{"Location":"/x\rY"}})",
        R"({"headers":{"Location":"/x\u0000"}})", R"({"headers":{"Location":"/x\u000b"}})"}) {
    EXPECT_EQ(parseError(text), kReason) << text;
  }
  // Refused even for a header that would be dropped.
  EXPECT_EQ(parseError(R"({"headers":{"Connection":"close\r\nX: y"}})"),
            "header \"Connection\" has a control character (CR, LF, NUL...) in its value");
}

TEST(Response, BodyErrors) {
  EXPECT_EQ(parseError(R"({"body":42})"), "body must be a string");
  EXPECT_EQ(parseError(R"({"body":{"a":1}})"), "body must be a string");
  EXPECT_EQ(parseError(R"({"body_base64":true})"), "body_base64 must be a string");
  EXPECT_EQ(parseError(R"({"body":"a","body_base64":"YQ=="})"),
            "body and body_base64 are both set");
  for (const char* bad :
       {R"({"body_base64":"YQ"})", R"({"body_base64":"Y Q=="})", R"({"body_base64":"YQ==\n"})",
        R"({"body_base64":"YR=="})", R"({"body_base64":"Y-_="})"}) {
    EXPECT_EQ(parseError(bad), "body_base64 is not valid base64") << bad;
  }
}

TEST(Response, Limits) {
  ResponseLimits limits;
  limits.max_headers = 3;
  limits.max_header_bytes = 40;
  limits.max_body_bytes = 4;
  EXPECT_EQ(parseOk(R"({"headers":{"A":["1","2","3"]},"body":"abcd"})", limits).body, "abcd");
  EXPECT_EQ(parseError(R"({"headers":{"A":["1","2"],"B":["3","4"]}})", limits),
            "too many headers (limit 3)");
  // Dropped headers count too: they cost parsing all the same.
  EXPECT_EQ(parseError(R"({"headers":{"Connection":["1","2","3"],"B":"4"}})", limits),
            "too many headers (limit 3)");
  EXPECT_EQ(parseError(R"({"headers":{"A":"0123456789012345678901234567890123456789"}})", limits),
            "headers are too large (limit 40 bytes)");
  EXPECT_EQ(parseError(R"({"body":"abcde"})", limits), "body is too large (limit 4 bytes)");
  EXPECT_EQ(parseOk(R"({"body_base64":"YWJjZA=="})", limits).body, "abcd");
  EXPECT_EQ(parseError(R"({"body_base64":"YWJjZGU="})", limits),
            "body is too large (limit 4 bytes)");
  EXPECT_EQ(parseError(R"({"body_base64":"YWJjZGVmZ2hpamtsbW5vcA=="})", limits),
            "body is too large (limit 4 bytes)");
}

// parseResponse reads with its own SAX handler, parseMiddleware through a
// DOM: the cases below are the ones where the two readers could part ways.

TEST(Response, DuplicateKeysInsideUnknownValues) {
  EXPECT_EQ(parseError(R"({"x":[{"a":1,"a":2}]})"), "output has a duplicate key \"a\"");
  EXPECT_EQ(parseError(R"({"x":{"y":[[{"k":1}],{"k":1,"k":2}]},"status":200})"),
            "output has a duplicate key \"k\"");
  // Inside values the response checks read, but where they do not look.
  EXPECT_EQ(parseError(R"({"headers":{"X-A":[{"k":1,"k":2}]}})"),
            "output has a duplicate key \"k\"");
  EXPECT_EQ(parseError(R"({"body":"b","status":{"k":1,"k":2}})"),
            "output has a duplicate key \"k\"");
  // A duplicate found after a wrong field still wins: the parse comes first.
  EXPECT_EQ(parseError(R"({"status":"bad","x":{"k":1,"k":2}})"),
            "output has a duplicate key \"k\"");
  // The same key at other depths or in sibling objects is not a duplicate.
  EXPECT_EQ(parseOk(R"({"k":{"k":{"k":[{"k":1},{"k":2}]}},"x":{"k":0}})").status, 200);
}

TEST(Response, CaseDuplicatesOfKnownKeys) {
  // The first pair in the object is the one reported.
  EXPECT_EQ(parseError(R"({"status":1,"body":"a","Body":"b","STATUS":2})"),
            "output has a duplicate key \"body\"");
  // Every known key counts, also those only a middleware reads.
  EXPECT_EQ(parseError(R"({"action":"x","ACTION":"y"})"), "output has a duplicate key \"action\"");
  EXPECT_EQ(parseError(R"({"Remove_Headers":1,"remove_headers":2})"),
            "output has a duplicate key \"remove_headers\"");
  // null is absent for the checks, but the key was there.
  EXPECT_EQ(parseError(R"({"status":null,"Status":200})"), "output has a duplicate key \"status\"");
  // Equal keys deeper, and syntax errors later, are reported first.
  EXPECT_EQ(parseError(R"({"status":1,"Status":2,"x":{"a":1,"a":2}})"),
            "output has a duplicate key \"a\"");
  EXPECT_EQ(parseError(R"({"status":1,"Status":2,"x":tru})").rfind("output is not valid JSON (", 0),
            0u);
  // Keys that only look alike are different fields or unknown.
  EXPECT_EQ(parseOk(R"({"status":201,"status_":500,"statu":500,"bodyy":1})").status, 201);
}

TEST(Response, HeaderValuesThatAreNotStrings) {
  const std::string kReason = "header \"X-A\" must have a string or an array of strings";
  for (const char* text :
       {R"({"headers":{"X-A":["ok",1]}})", R"({"headers":{"X-A":["ok",{"a":"b"}]}})",
        R"({"headers":{"X-A":["ok",true]}})", R"({"headers":{"X-A":[[]]}})",
        R"({"headers":{"X-A":{"k":"v"}}})", R"({"headers":{"X-A":-1.5}})",
        R"({"headers":{"X-A":false}})", R"({"headers":{"X-A":18446744073709551615}})",
        R"({"headers":{"X-A":{}}})", R"({"headers":{"X-A":[null]}})"}) {
    EXPECT_EQ(parseError(text), kReason) << text;
  }
  // Values are checked in order: what comes first decides.
  ResponseLimits limits;
  limits.max_headers = 2;
  EXPECT_EQ(parseError(R"({"headers":{"X-A":["1","2","3",4]}})", limits),
            "too many headers (limit 2)");
  EXPECT_EQ(parseError(R"({"headers":{"X-A":["a\r",5]}})"),
            "header \"X-A\" has a control character (CR, LF, NUL...) in its value");
  EXPECT_EQ(parseError(R"({"headers":{"X-A":[5,"a\r"]}})"), kReason);
  EXPECT_EQ(parseError(R"({"headers":{"X-A":[1],"Bad Name":"v"}})"), kReason);
  EXPECT_EQ(parseError(R"({"headers":{"Bad Name":[1],"X-A":[1]}})"),
            "headers has an invalid header name");
  // Strings nested in a non-string value are not values.
  EXPECT_EQ(parseError(R"({"headers":{"X-A":[["v"]],"X-B":"w"}})"), kReason);
  // An entry's null or empty list adds nothing, its name is still checked.
  EXPECT_EQ(parseOk(R"({"headers":{"X-A":null,"X-B":[],"X-C":["c"]}})").headers,
            (std::vector<Header>{{"X-C", "c"}}));
  EXPECT_EQ(parseError(R"({"headers":{"Bad Name":null}})"), "headers has an invalid header name");
}

TEST(Response, HeadersInOrderAcrossSpellings) {
  // Different keys, one canonical name: both kept, in order.
  EXPECT_EQ(parseOk(R"({"headers":{"x-a":"1","X-A":["2","3"],"x-A":"4"}})").headers,
            (std::vector<Header>{{"X-A", "1"}, {"X-A", "2"}, {"X-A", "3"}, {"X-A", "4"}}));
  // The headers object may come after the body, with unknown keys between.
  FunctionResponse r =
      parseOk(R"({"body":"b","x":{"headers":{"Y":"no"}},"headers":{"Z":"z"},"status":202})");
  EXPECT_EQ(r.headers, (std::vector<Header>{{"Z", "z"}}));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "b");
}

// Boost hands over a string with escapes in pieces (a run of plain bytes,
// then its temporary buffer each time that fills, 4 KiB): every piece of a
// key, a header value or a body must end up in one string.
TEST(Response, KeysAndStringsSplitIntoParts) {
  EXPECT_EQ(parseOk(R"({"st\u0061tus":201,"h\u0065aders":{"X-\u0041":"v\u00e9"},"b\u006fdy":"\"q\""})")
                .headers,
            (std::vector<Header>{{"X-A", "v\xc3\xa9"}}));
  EXPECT_EQ(parseOk(R"({"st\u0061tus":201})").status, 201);
  EXPECT_EQ(parseOk(R"({"b\u006fdy":"\"q\""})").body, "\"q\"");

  const std::string plain(10000, 'a');
  std::string escaped;
  for (size_t i = 0; i < plain.size(); ++i) escaped += i % 3 == 0 ? "\\u0061" : "a";
  ResponseLimits limits;
  limits.max_header_bytes = 1 << 20;
  FunctionResponse r = parseOk(R"({"headers":{"X-Long":")" + escaped + R"("},"body":")" + escaped +
                                   R"("})",
                               limits);
  EXPECT_EQ(r.headers, (std::vector<Header>{{"X-Long", plain}}));
  EXPECT_EQ(r.body, plain);
  // A long escaped key equals its plain spelling.
  EXPECT_EQ(parseError("{\"k" + escaped + "\":1,\"k" + plain + "\":2}"),
            "output has a duplicate key");
  EXPECT_EQ(parseError("{\"x\":{\"" + escaped + "\":1,\"" + plain + "\":2}}"),
            "output has a duplicate key");
  // A header name with an escape, long enough to come in parts.
  const std::string name = std::string(5000, 'n') + "\\u0041";
  r = parseOk("{\"headers\":{\"" + name + "\":\"v\"}}", limits);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "N" + std::string(4999, 'n') + "a");
}

TEST(Response, DeepNesting) {
  // The output object and 31 arrays are Boost's limit of 32 levels.
  const auto nested = [](size_t depth, const std::string& inner) {
    return std::string(depth, '[') + inner + std::string(depth, ']');
  };
  EXPECT_EQ(parseOk("{\"a\":" + nested(31, "1") + ",\"status\":203}").status, 203);
  EXPECT_EQ(parseError("{\"a\":" + nested(32, "1") + "}").rfind("output is not valid JSON (", 0),
            0u);
  EXPECT_EQ(parseError("{\"headers\":{\"X\":" + nested(30, "\"v\"") + "}}"),
            "header \"X\" must have a string or an array of strings");
  std::string objects = "1";
  for (int i = 0; i < 31; ++i) objects = "{\"k\":" + objects + "}";
  EXPECT_EQ(parseOk("{\"a\":" + objects + "}").status, 200);
  EXPECT_EQ(parseError("{\"a\":{\"k\":" + objects + "}}").rfind("output is not valid JSON (", 0),
            0u);
}

TEST(Response, StatusNumbersAtTheEdges) {
  const std::string kReason = "status must be an integer from 200 to 599";
  for (const char* text :
       {R"({"status":18446744073709551616})", R"({"status":-9223372036854775808})",
        R"({"status":-9223372036854775809})", R"({"status":9223372036854775807})",
        R"({"status":9223372036854775808})", R"({"status":200e0})", R"({"status":0.0})",
        R"({"status":-0.0})", R"({"status":1e400})", R"({"status":false})", R"({"status":{}})"}) {
    EXPECT_EQ(parseError(text), kReason) << text;
  }
  EXPECT_EQ(parseOk(R"({"status":-0})").status, 200);  // an integer zero: Go's zero value
}

// ---- the two readers agree ----

// Outputs built from the contract's keys and values, then sometimes broken a
// byte at a time, so every check and every parse error is reached.
class OutputGenerator {
 public:
  explicit OutputGenerator(uint32_t seed) : rng_(seed) {}

  std::string next() {
    std::string text = object();
    if (chance(3)) mutate(text);
    if (chance(8)) text = pick({" ", "\n", "\t", "x", "{}", "\r\n "}) + text;
    if (chance(8)) text += pick({"\n", " \r\n", "x", "{}", "]", "\x0c"});
    return text;
  }

 private:
  bool chance(int one_in) { return std::uniform_int_distribution<int>(1, one_in)(rng_) == 1; }
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string pick(std::initializer_list<const char*> options) {
    return *(options.begin() + below(options.size()));
  }

  std::string object() {
    std::string out = "{";
    const size_t n = below(7);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out += ",";
      const std::string key = topKey();
      out += "\"" + key + "\":" + topValue(key);
    }
    return out + "}";
  }

  std::string topKey() {
    return pick({"status", "Status", "STATUS", "st\\u0061tus", "headers", "Headers",
                 "h\\u0065aders", "body", "Body", "b\\u006fdy", "body_base64", "BODY_BASE64",
                 "action", "set_headers", "remove_headers", "x", "debug", "", "statu", "k"});
  }

  std::string topValue(const std::string& key) {
    if (chance(6)) return value(0);
    std::string lower;
    for (char c : key) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("stat") == 0) return statusValue();
    if (lower.find("header") != std::string::npos || lower[0] == 'h') return headersValue();
    if (lower == "body_base64") return base64Value();
    if (lower.find("b") == 0) return stringValue();
    return value(0);
  }

  std::string statusValue() {
    return pick({"200", "201", "0", "-0", "599", "600", "199", "100", "-200", "404",
                 "18446744073709551615", "9223372036854775808", "2e2", "200.0", "\"200\"",
                 "null", "true", "[200]", "{}", "4294967496"});
  }

  std::string headersValue() {
    if (chance(8)) return pick({"null", "[]", "\"X: y\"", "1", "{}"});
    std::string out = "{";
    const size_t n = below(5);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out += ",";
      out += "\"" +
             pick({"Content-Type", "content-type", "X-A", "x-a", "Set-Cookie", "Connection",
                   "Proxy-Auth", "TE", "Bad Name", "", "X:Y", "caf\\u00e9", "X\\u002dB",
                   "Content-Length", "K"}) +
             "\":" + headerValues();
    }
    return out + "}";
  }

  std::string headerValues() {
    if (chance(4)) return headerValue();
    if (chance(10)) return pick({"null", "1", "true", "{\"k\":\"v\"}", "[[\"v\"]]"});
    std::string out = "[";
    const size_t n = below(4);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out += ",";
      out += chance(8) ? value(2) : headerValue();
    }
    return out + "]";
  }

  std::string headerValue() {
    return pick({"\"text/plain\"", "\"  padded\\t \"", "\"a\\r\\nb\"", "\"\\u0000\"", "\"\"",
                 "\"caf\\u00e9\"", "\"0123456789012345678901234567890123456789\"",
                 "\"tab\\there\"", "\"\\u007f\"", "\"v\"", "null"});
  }

  std::string base64Value() {
    return pick({"\"aGk=\"", "\"\"", "\"YWJjZA==\"", "\"YWJjZGVmZ2hpamtsbW5vcA==\"", "\"YQ\"",
                 "\"Y Q==\"", "\"YR==\"", "null", "1", "\"AP8QIA==\""});
  }

  std::string stringValue() {
    return pick({"\"hi\"", "\"\"", "\"{\\\"id\\\":42}\"", "\"abcde\"", "\"\\u00e9\\ud83d\\ude00\"",
                 "null", "42", "{\"a\":1}", "\"\\ud800\"", "\"a\\nb\""});
  }

  // Any JSON value, with duplicate keys now and then.
  std::string value(int depth) {
    const size_t kind = depth > 3 ? below(5) : below(7);
    switch (kind) {
      case 0: return pick({"0", "-1", "1.5e3", "18446744073709551616"});
      case 1: return pick({"true", "false", "null"});
      case 2: return stringValue();
      case 3: return pick({"\"k\"", "\"\\\\\""});
      case 4: return "[]";
      case 5: {
        std::string out = "[";
        for (size_t i = 0, n = below(4); i < n; ++i) out += (i ? "," : "") + value(depth + 1);
        return out + "]";
      }
      default: {
        std::string out = "{";
        for (size_t i = 0, n = below(4); i < n; ++i) {
          out += (i ? ",\"" : "\"") + pick({"k", "K", "a", "status", "k"}) +
                 "\":" + value(depth + 1);
        }
        return out + "}";
      }
    }
  }

  void mutate(std::string& text) {
    for (size_t i = 0, n = 1 + below(3); i < n && !text.empty(); ++i) {
      const size_t at = below(text.size());
      switch (below(4)) {
        case 0: text.erase(at, 1); break;
        case 1: text.insert(at, pick({"{", "}", "[", "]", "\"", ",", ":", "\\", " ", "0", "e",
                                      "-", "\xff", "\x01", "A"})); break;
        case 2: text.insert(at, text.substr(at, below(text.size() - at) + 1)); break;
        default: text.resize(at); break;
      }
    }
  }

  std::mt19937 rng_;
};

std::string describe(const ParseResult& result) {
  if (!result.ok()) return "error: " + result.error().message;
  std::string out = "status " + std::to_string(result.value().status) + ", headers";
  for (const auto& [name, value] : result.value().headers) out += " [" + name + ": " + value + "]";
  return out + ", body " + testing::PrintToString(result.value().body);
}

TEST(ResponseReaders, SaxAgreesWithDomOnGeneratedOutputs) {
  ResponseLimits small;
  small.max_headers = 3;
  small.max_header_bytes = 40;
  small.max_body_bytes = 4;
  OutputGenerator generator(20261202);
  size_t accepted = 0;
  size_t compact = 0;
  for (int i = 0; i < 40000; ++i) {
    const std::string text = generator.next();
    compact += readsCompactly(text);
    for (const ResponseLimits& limits : {ResponseLimits{}, small}) {
      const std::string sax = describe(parseResponse(text, limits));
      const std::string dom = describe(parseResponseViaDom(text, limits));
      ASSERT_EQ(sax, dom) << testing::PrintToString(text);
      accepted += sax.rfind("status", 0) == 0;
    }
  }
  // The generator must reach both sides, not only errors, and both of
  // parseResponse's readers.
  EXPECT_GT(accepted, 5000u);
  EXPECT_GT(compact, 2000u);
  EXPECT_LT(compact, 38000u);
}

TEST(ResponseReaders, SaxAgreesWithDomOnEveryTestOutput) {
  // Every output this file feeds parseResponse or parseMiddleware, whole and
  // cut at every byte.
  const std::vector<std::string> outputs = {
      R"({"status":201,"headers":{"Content-Type":["application/json"],"x-multi":["a","b"]},"body":"{\"ok\":true}"})",
      R"({"status":200,"headers":{"Content-Type":["application/json"]},"body":"{\"id\":42,\"value\":100,\"tax\":15,\"total\":115}"})"
      "\n",
      R"({"action":"continue","set_headers":{"x-user":["alice"]},"remove_headers":["Cookie"],"body":"new"})",
      R"({"headers":{"Connection":["close"],"transfer-encoding":"chunked","Content-Type":"text/plain"}})",
      R"({"status":null,"headers":{"X-Nil":null,"X-Empty":[]},"body_base64":"AP8QIA=="})",
      R"({"Status":418,"Headers":{"X-A":"1"},"Body":"teapot","debug":{"deep":[1,2,{"x":null}]}})",
      // The fast reader's shape with every escape and space it allows, and
      // the cases at its edges that it leaves to the full reader.
      " { \"status\" : 200 , \"headers\" : { \"X-A\" : [ \"1\" , \"2\" ] , \"X-B\" : \"3\" ,"
      " \"X-C\" : [ ] } , \"body\" : \"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\" } \r\n",
      R"({"body":"\u0041 and \/","status":404})",
      R"({"status":200,"headers":{"X-A":["1"],"X-A":["2"]}})",
      R"({"status":200,"headers":{"X-A":["1"],"x-a":["2"]},"body":"ok"})",
      R"({"status":999999999,"body":""})",
      R"({"status":1234567890})",
      R"({"status":200}{})",
      R"({"headers":{},"body":"café"})",
  };
  // The first of those is read by the fast reader; so are the compact
  // outputs above it and their prefixes up to the closing brace.
  EXPECT_TRUE(readsCompactly(outputs[0]));
  EXPECT_TRUE(readsCompactly(outputs[1]));
  EXPECT_TRUE(readsCompactly(outputs[6]));
  EXPECT_TRUE(readsCompactly(outputs[9]));
  EXPECT_FALSE(readsCompactly(outputs[7]));  // \u
  EXPECT_FALSE(readsCompactly(outputs[8]));  // a duplicate header name
  EXPECT_FALSE(readsCompactly(outputs[11]));  // ten digits
  EXPECT_FALSE(readsCompactly(outputs[12]));  // text after the object
  // Many headers go to the full reader (the fast one compares names
  // pairwise), which reads them the same.
  std::string many = R"({"status":200,"headers":{)";
  for (int i = 0; i < 40; ++i) many += (i > 0 ? ",\"X-" : "\"X-") + std::to_string(i) + "\":[\"v\"]";
  many += "}}";
  EXPECT_FALSE(readsCompactly(many));
  EXPECT_TRUE(readsCompactly(many.substr(0, many.find(",\"X-32\"")) + "}}"));
  EXPECT_EQ(describe(parseResponse(many)), describe(parseResponseViaDom(many)));
  for (const std::string& output : outputs) {
    for (size_t cut = 0; cut <= output.size(); ++cut) {
      const std::string text = output.substr(0, cut);
      ASSERT_EQ(describe(parseResponse(text)), describe(parseResponseViaDom(text)))
          << testing::PrintToString(text);
    }
  }
}

// ---- middleware ----

std::string middlewareError(std::string_view text) {
  MiddlewareResult result = parseMiddleware(text);
  EXPECT_FALSE(result.ok()) << text;
  return result.ok() ? "" : result.error().message;
}

MiddlewareDecision middlewareOk(std::string_view text) {
  MiddlewareResult result = parseMiddleware(text);
  EXPECT_TRUE(result.ok()) << text << " -> " << (result.ok() ? "" : result.error().message);
  return result.ok() ? result.value() : MiddlewareDecision{};
}

TEST(Middleware, PlainContinue) {
  auto decision = middlewareOk(R"({"action":"continue"})");
  ASSERT_TRUE(std::holds_alternative<MiddlewareContinue>(decision));
  const auto& c = std::get<MiddlewareContinue>(decision);
  EXPECT_TRUE(c.set_headers.empty());
  EXPECT_TRUE(c.remove_headers.empty());
  EXPECT_FALSE(c.body.has_value());
}

TEST(Middleware, ContinueWithChanges) {
  auto decision = middlewareOk(
      R"({"action":"continue","set_headers":{"x-user":["alice"],"X-Roles":["a","b"],)"
      R"("Content-Length":"5"},"remove_headers":["authorization","Cookie"],"body":"new"})");
  ASSERT_TRUE(std::holds_alternative<MiddlewareContinue>(decision));
  const auto& c = std::get<MiddlewareContinue>(decision);
  EXPECT_EQ(c.set_headers,
            (std::vector<Header>{{"X-User", "alice"}, {"X-Roles", "a"}, {"X-Roles", "b"}}));
  EXPECT_EQ(c.remove_headers, (std::vector<std::string>{"Authorization", "Cookie"}));
  EXPECT_EQ(c.body, "new");
}

TEST(Middleware, ContinueBodyRules) {
  auto c = std::get<MiddlewareContinue>(middlewareOk(R"({"action":"continue","body":""})"));
  EXPECT_EQ(c.body, "");  // present: replaces with empty
  c = std::get<MiddlewareContinue>(middlewareOk(R"({"action":"continue","body":null})"));
  EXPECT_FALSE(c.body.has_value());
  c = std::get<MiddlewareContinue>(middlewareOk(R"({"action":"continue","body_base64":"AA=="})"));
  EXPECT_EQ(c.body, std::string(1, '\0'));
  // Zero values of respond-only keys (typed encoders) are fine.
  middlewareOk(R"({"action":"continue","status":0,"headers":{}})");
}

TEST(Middleware, Respond) {
  auto decision = middlewareOk(
      R"({"action":"respond","status":401,"headers":{"WWW-Authenticate":"Bearer"},"body":"no"})");
  ASSERT_TRUE(std::holds_alternative<MiddlewareRespond>(decision));
  const auto& r = std::get<MiddlewareRespond>(decision).response;
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers, (std::vector<Header>{{"Www-Authenticate", "Bearer"}}));
  EXPECT_EQ(r.body, "no");
  // respond without status: 200.
  EXPECT_EQ(std::get<MiddlewareRespond>(middlewareOk(R"({"action":"respond"})")).response.status,
            200);
}

TEST(Middleware, GojinnCompatStatusWithoutAction) {
  auto decision = middlewareOk(R"({"status":403,"body":"forbidden"})");
  ASSERT_TRUE(std::holds_alternative<MiddlewareRespond>(decision));
  EXPECT_EQ(std::get<MiddlewareRespond>(decision).response.status, 403);
}

TEST(Middleware, Errors) {
  EXPECT_EQ(middlewareError("{}"), "middleware output has no action");
  EXPECT_EQ(middlewareError(R"({"body":"x"})"), "middleware output has no action");
  EXPECT_EQ(middlewareError(R"({"action":"stop"})"), "action must be \"continue\" or \"respond\"");
  EXPECT_EQ(middlewareError(R"({"action":"Continue"})"),
            "action must be \"continue\" or \"respond\"");
  EXPECT_EQ(middlewareError(R"({"action":1})"), "action must be \"continue\" or \"respond\"");
  EXPECT_EQ(middlewareError(R"({"action":"continue","status":403})"),
            "\"status\" is only allowed with action \"respond\"");
  EXPECT_EQ(middlewareError(R"({"action":"continue","headers":{"X":"1"}})"),
            "\"headers\" is only allowed with action \"respond\"");
  EXPECT_EQ(middlewareError(R"({"action":"respond","set_headers":{"X":"1"}})"),
            "\"set_headers\" is only allowed with action \"continue\"");
  EXPECT_EQ(middlewareError(R"({"action":"respond","remove_headers":["X"]})"),
            "\"remove_headers\" is only allowed with action \"continue\"");
  EXPECT_EQ(middlewareError(R"({"action":"continue","set_headers":["X"]})"),
            "set_headers must be an object");
  EXPECT_EQ(middlewareError(R"({"action":"continue","set_headers":{"X":"a\r\nb"}})"),
            "header \"X\" has a control character (CR, LF, NUL...) in its value");
  EXPECT_EQ(middlewareError(R"({"action":"continue","remove_headers":"X"})"),
            "remove_headers must be an array of header names");
  EXPECT_EQ(middlewareError(R"({"action":"continue","remove_headers":["bad name"]})"),
            "remove_headers must be an array of header names");
  EXPECT_EQ(middlewareError(R"({"action":"respond","status":700})"),
            "status must be an integer from 200 to 599");
  EXPECT_EQ(middlewareError(R"({"action":"continue"} extra)"),
            "output is not a single JSON object");
  EXPECT_EQ(middlewareError(R"({"action":"continue","action":"respond"})"),
            "output has a duplicate key \"action\"");
}

// ---- outcome -> HTTP status ----

TEST(Status, MappingTable) {
  struct Row {
    Outcome outcome;
    int exit_code;
    bool response_ok;
    int status;
    const char* reason;
  };
  const Row kRows[] = {
      {Outcome::kExited, 0, true, kUseFunctionStatus, ""},
      {Outcome::kExited, 0, false, 502, "function returned an invalid response"},
      {Outcome::kExited, 3, true, 500, "function exited with code 3"},
      {Outcome::kExited, 1, false, 500, "function exited with code 1"},
      {Outcome::kTrapUnreachable, 0, false, 500, "function crashed (trap: unreachable executed)"},
      {Outcome::kTrapOutOfBounds, 0, true, 500,
       "function crashed (trap: out of bounds memory access)"},
      {Outcome::kTrapIntegerOverflow, 0, false, 500, "function crashed (trap: integer overflow)"},
      {Outcome::kTrapDivideByZero, 0, false, 500,
       "function crashed (trap: integer divide by zero)"},
      {Outcome::kTrapInvalidConversion, 0, false, 500,
       "function crashed (trap: invalid conversion to integer)"},
      {Outcome::kTrapIndirectCall, 0, false, 500, "function crashed (trap: bad indirect call)"},
      {Outcome::kTrapStackOverflow, 0, false, 500, "function crashed (trap: stack overflow)"},
      {Outcome::kTimeout, 0, true, 504, "function timed out"},
      {Outcome::kOutOfMemory, 0, false, 500, "function exceeded its memory limit"},
      {Outcome::kOutputTooLarge, 0, false, 502, "function output is too large"},
      {Outcome::kHostError, 0, false, 503, "server could not start the function"},
  };
  for (const Row& row : kRows) {
    SCOPED_TRACE(static_cast<int>(row.outcome));
    EXPECT_EQ(httpStatusFor(row.outcome, row.exit_code, row.response_ok), row.status);
    EXPECT_EQ(failureReason(row.outcome, row.exit_code, row.response_ok), row.reason);
  }
}

TEST(Status, InvalidResponseReasonCarriesParseError) {
  ParseResult parsed = parseResponse("not json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(failureReason(Outcome::kExited, 0, false, parsed.error().message),
            "function returned an invalid response: output is not a single JSON object");
}

}  // namespace
}  // namespace jinn::contract
