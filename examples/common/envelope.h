// Tiny helpers shared by the example functions (wasm32-wasi has no JSON
// library): read the request envelope from stdin, pull the request body out
// of it, find a number or a header, and write a JSON string.
//
// The envelope is compact JSON written by jinn (docs/function-contract.md), so
// a top-level field such as "body" appears literally as `"body":"`; inside a
// JSON string every `"` is escaped, so that byte sequence cannot occur there.
#ifndef JINN_EXAMPLES_ENVELOPE_H
#define JINN_EXAMPLES_ENVELOPE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Reads all of stdin into a NUL-terminated heap buffer; *len gets its size.
static inline char* read_all_stdin(size_t* len) {
  size_t cap = 4096, n = 0;
  char* buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    if (n + 1 >= cap) {
      char* bigger = realloc(buf, cap *= 2);
      if (!bigger) { free(buf); return NULL; }
      buf = bigger;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, stdin);
    if (got == 0) break;
    n += got;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

// Appends the UTF-8 encoding of code point cp to out; returns bytes written.
static inline size_t put_utf8(unsigned cp, char* out) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static inline unsigned hex4(const char* p) {
  unsigned v = 0;
  for (int i = 0; i < 4; ++i) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0xFFFFFFFFu;
  }
  return v;
}

// Decodes the JSON string whose content starts at p (just after the opening
// quote) into a new NUL-terminated buffer; *len gets the decoded size.
// Returns NULL on a malformed string.
static inline char* json_unescape(const char* p, size_t* len) {
  const char* end = p;
  while (*end && *end != '"') end += (*end == '\\' && end[1]) ? 2 : 1;
  if (*end != '"') return NULL;
  char* out = malloc((size_t)(end - p) + 1);  // decoding never grows the text
  if (!out) return NULL;
  size_t n = 0;
  while (p < end) {
    if (*p != '\\') { out[n++] = *p++; continue; }
    char e = p[1];
    p += 2;
    switch (e) {
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u': {
        unsigned cp = hex4(p);
        p += 4;
        // A surrogate pair \ud83d\ude00 is one code point.
        if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
          unsigned lo = hex4(p + 2);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
          }
        }
        if (cp > 0x10FFFF) { free(out); return NULL; }
        n += put_utf8(cp, out + n);
        break;
      }
      default: out[n++] = e; break;  // \" \\ \/
    }
  }
  out[n] = '\0';
  *len = n;
  return out;
}

// Decodes standard base64 into a new buffer; NULL if it is not base64.
static inline char* base64_decode(const char* p, size_t* len) {
  size_t cap = strlen(p) / 4 * 3 + 1, n = 0;
  char* out = malloc(cap);
  if (!out) return NULL;
  unsigned acc = 0;
  int bits = 0;
  for (; *p && *p != '"' && *p != '='; ++p) {
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* at = strchr(alphabet, *p);
    if (!at) { free(out); return NULL; }
    acc = acc << 6 | (unsigned)(at - alphabet);
    bits += 6;
    if (bits >= 8) { bits -= 8; out[n++] = (char)(acc >> bits & 0xFF); }
  }
  out[n] = '\0';
  *len = n;
  return out;
}

// The request body (decoded from "body" or "body_base64"); "" if absent.
static inline char* envelope_body(const char* env, size_t* len) {
  const char* p = strstr(env, "\"body\":\"");
  if (p) return json_unescape(p + 8, len);
  p = strstr(env, "\"body_base64\":\"");
  if (p) return base64_decode(p + 15, len);
  *len = 0;
  return calloc(1, 1);
}

// The first value of request header `name` (canonical form, e.g.
// "X-Signature"), decoded; NULL if the request has no such header.
static inline char* envelope_header(const char* env, const char* name) {
  char key[128];
  snprintf(key, sizeof key, "\"%s\":[\"", name);
  const char* p = strstr(env, key);
  size_t len;
  return p ? json_unescape(p + strlen(key), &len) : NULL;
}

// The number after `"key":` in a JSON text; returns 1 and sets *out if found.
static inline int json_number(const char* json, const char* key, double* out) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  // Skip matches that are not keys (a string value "key" is followed by , or }).
  for (const char* p = strstr(json, pat); p; p = strstr(p, pat)) {
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
    if (*p != ':') continue;
    char* end;
    *out = strtod(p + 1, &end);  // strtod skips leading whitespace itself
    return end != p + 1;
  }
  return 0;
}

// Writes s (n bytes) to f as the content of a JSON string (no quotes).
static inline void json_write_escaped(FILE* f, const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
}

#endif
