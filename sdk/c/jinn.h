/* jinn.h: the jinn function SDK for C (header-only, no dependencies beyond
 * wasi-libc). Reads the request envelope from stdin and writes the response
 * to stdout, as docs/function-contract.md describes.
 *
 *   #include "jinn.h"
 *   int main(void) {
 *     jinn_request req;
 *     if (jinn_request_read(&req) != 0) return 1;
 *     jinn_response* res = jinn_response_new(200);
 *     jinn_response_header(res, "Content-Type", "text/plain");
 *     jinn_response_text(res, "hello ");
 *     jinn_response_append(res, req.method, strlen(req.method));
 *     jinn_request_free(&req);
 *     return jinn_response_send(res);
 *   }
 *
 * Also here, because wasm32-wasi has no library for them: a small JSON reader
 * (jinn_json_parse), a JSON string writer (jinn_buf_json_string), base64 and a
 * UTF-8 check. Every function is static inline: include the header in one or
 * many files, no link step. Errors are reported by return value; messages go
 * to stderr (the server's log), never to stdout. */
#ifndef JINN_SDK_H
#define JINN_SDK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JINN_API static inline

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct {
  char* data; /* NUL-terminated when not NULL */
  size_t len;
  size_t cap;
} jinn_buf;

JINN_API int jinn_buf_reserve(jinn_buf* b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char* p = (char*)realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

JINN_API int jinn_buf_append(jinn_buf* b, const void* data, size_t len) {
  if (jinn_buf_reserve(b, len) != 0) return -1;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

JINN_API int jinn_buf_puts(jinn_buf* b, const char* s) { return jinn_buf_append(b, s, strlen(s)); }

JINN_API int jinn_buf_printf(jinn_buf* b, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || jinn_buf_reserve(b, (size_t)n) != 0) return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

JINN_API void jinn_buf_free(jinn_buf* b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- UTF-8, base64 ------------------------------------------------------- */

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
JINN_API int jinn_utf8_valid(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) k = 1;
    else if (c >= 0xE0 && c <= 0xEF) { k = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    if (i + k >= n) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t j = 2; j <= k; j++) if ((s[i + j] & 0xC0) != 0x80) return 0;
    i += k + 1;
  }
  return 1;
}

/* Appends the standard base64 (with padding) of data to b. */
JINN_API int jinn_base64_encode(jinn_buf* b, const unsigned char* data, size_t n) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (jinn_buf_reserve(b, (n + 2) / 3 * 4) != 0) return -1;
  char* o = b->data + b->len;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
    *o++ = A[v >> 18]; *o++ = A[v >> 12 & 63]; *o++ = A[v >> 6 & 63]; *o++ = A[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0);
    *o++ = A[v >> 18]; *o++ = A[v >> 12 & 63];
    *o++ = i + 1 < n ? A[v >> 6 & 63] : '=';
    *o++ = '=';
  }
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}

/* Decodes strict standard base64 into b. -1 if the text is not base64. */
JINN_API int jinn_base64_decode(jinn_buf* b, const char* s, size_t n) {
  if (n % 4 != 0) return -1;
  if (jinn_buf_reserve(b, n / 4 * 3) != 0) return -1;
  for (size_t i = 0; i < n; i += 4) {
    unsigned v = 0;
    int pad = 0;
    for (int j = 0; j < 4; j++) {
      char c = s[i + (size_t)j];
      unsigned d;
      if (c >= 'A' && c <= 'Z') d = (unsigned)(c - 'A');
      else if (c >= 'a' && c <= 'z') d = (unsigned)(c - 'a' + 26);
      else if (c >= '0' && c <= '9') d = (unsigned)(c - '0' + 52);
      else if (c == '+') d = 62;
      else if (c == '/') d = 63;
      else if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) { d = 0; pad++; }
      else return -1;
      if (pad && c != '=') return -1;
      v = v << 6 | d;
    }
    char out[3] = {(char)(v >> 16), (char)(v >> 8 & 255), (char)(v & 255)};
    jinn_buf_append(b, out, (size_t)(3 - pad));
  }
  return 0;
}

/* Appends s as a JSON string (quotes included). Control characters are
 * escaped; bytes that are not valid UTF-8 become U+FFFD, so the output is
 * always valid JSON. */
JINN_API int jinn_buf_json_string(jinn_buf* b, const char* s, size_t n) {
  const unsigned char* p = (const unsigned char*)s;
  if (jinn_buf_append(b, "\"", 1) != 0) return -1;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c >= 0x80) {
      size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (i + k <= n && jinn_utf8_valid(p + i, k)) {
        jinn_buf_append(b, p + i, k);
        i += k;
      } else {
        jinn_buf_append(b, "\xEF\xBF\xBD", 3);
        i++;
      }
      continue;
    }
    char esc[8];
    if (c == '"') jinn_buf_append(b, "\\\"", 2);
    else if (c == '\\') jinn_buf_append(b, "\\\\", 2);
    else if (c == '\n') jinn_buf_append(b, "\\n", 2);
    else if (c == '\r') jinn_buf_append(b, "\\r", 2);
    else if (c == '\t') jinn_buf_append(b, "\\t", 2);
    else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      jinn_buf_append(b, esc, 6);
    } else {
      jinn_buf_append(b, p + i, 1);
    }
    i++;
  }
  return jinn_buf_append(b, "\"", 1);
}

/* ---- JSON reader --------------------------------------------------------- */

typedef enum {
  JINN_JSON_NULL,
  JINN_JSON_BOOL,
  JINN_JSON_NUMBER,
  JINN_JSON_STRING,
  JINN_JSON_ARRAY,
  JINN_JSON_OBJECT
} jinn_json_type;

typedef struct jinn_json {
  jinn_json_type type;
  int boolean;             /* JINN_JSON_BOOL */
  double number;           /* JINN_JSON_NUMBER */
  char* string;            /* JINN_JSON_STRING: decoded, NUL-terminated */
  size_t length;           /* string bytes (may contain NUL) */
  size_t count;            /* ARRAY / OBJECT: number of items */
  struct jinn_json* items; /* ARRAY / OBJECT: the values */
  char** keys;             /* OBJECT: the keys, decoded, NUL-terminated */
} jinn_json;

typedef struct {
  const char* p;
  const char* end;
  const char* start;
  const char* error;
  int depth;
} jinn_json_parser_;

JINN_API void jinn_json_free_value_(jinn_json* v) {
  if (v->type == JINN_JSON_STRING) free(v->string);
  if (v->type == JINN_JSON_ARRAY || v->type == JINN_JSON_OBJECT) {
    for (size_t i = 0; i < v->count; i++) {
      jinn_json_free_value_(&v->items[i]);
      if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  }
}

JINN_API void jinn_json_free(jinn_json* v) {
  if (!v) return;
  jinn_json_free_value_(v);
  free(v);
}

JINN_API void jinn_json_ws_(jinn_json_parser_* ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

JINN_API int jinn_json_hex4_(const char* p, unsigned* out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

/* Parses a JSON string at ps->p (on the opening quote) into *out / *len. */
JINN_API int jinn_json_string_(jinn_json_parser_* ps, char** out, size_t* len) {
  jinn_buf b = {0, 0, 0};
  ps->p++;
  const char* run = ps->p;
  for (;;) {
    if (ps->p >= ps->end) { ps->error = "unterminated string"; goto fail; }
    unsigned char c = (unsigned char)*ps->p;
    if (c == '"') break;
    if (c < 0x20) { ps->error = "control character in string"; goto fail; }
    if (c != '\\') { ps->p++; continue; }
    jinn_buf_append(&b, run, (size_t)(ps->p - run));
    if (ps->p + 1 >= ps->end) { ps->error = "bad escape"; goto fail; }
    char e = ps->p[1];
    ps->p += 2;
    char ch;
    switch (e) {
      case '"': ch = '"'; break;
      case '\\': ch = '\\'; break;
      case '/': ch = '/'; break;
      case 'b': ch = '\b'; break;
      case 'f': ch = '\f'; break;
      case 'n': ch = '\n'; break;
      case 'r': ch = '\r'; break;
      case 't': ch = '\t'; break;
      case 'u': {
        unsigned cp;
        if (ps->end - ps->p < 4 || jinn_json_hex4_(ps->p, &cp) != 0) { ps->error = "bad \\u escape"; goto fail; }
        ps->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
              jinn_json_hex4_(ps->p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
            ps->error = "lone surrogate";
            goto fail;
          }
          ps->p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          ps->error = "lone surrogate";
          goto fail;
        }
        char u[4];
        size_t k;
        if (cp < 0x80) { u[0] = (char)cp; k = 1; }
        else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 63)); k = 2; }
        else if (cp < 0x10000) {
          u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 63)); u[2] = (char)(0x80 | (cp & 63)); k = 3;
        } else {
          u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 63));
          u[2] = (char)(0x80 | (cp >> 6 & 63)); u[3] = (char)(0x80 | (cp & 63)); k = 4;
        }
        jinn_buf_append(&b, u, k);
        run = ps->p;
        continue;
      }
      default: ps->error = "bad escape"; goto fail;
    }
    jinn_buf_append(&b, &ch, 1);
    run = ps->p;
  }
  jinn_buf_append(&b, run, (size_t)(ps->p - run));
  ps->p++;
  if (!b.data && jinn_buf_reserve(&b, 0) != 0) { ps->error = "out of memory"; return -1; }
  *out = b.data;
  *len = b.len;
  return 0;
fail:
  jinn_buf_free(&b);
  return -1;
}

JINN_API int jinn_json_value_(jinn_json_parser_* ps, jinn_json* v);

JINN_API int jinn_json_push_(jinn_json* v, size_t* cap, int with_key) {
  if (v->count < *cap) return 0;
  size_t n = *cap ? *cap * 2 : 4;
  jinn_json* items = (jinn_json*)realloc(v->items, n * sizeof *items);
  if (!items) return -1;
  v->items = items;
  if (with_key) {
    char** keys = (char**)realloc(v->keys, n * sizeof *keys);
    if (!keys) return -1;
    v->keys = keys;
  }
  *cap = n;
  return 0;
}

JINN_API int jinn_json_value_(jinn_json_parser_* ps, jinn_json* v) {
  memset(v, 0, sizeof *v);
  jinn_json_ws_(ps);
  if (ps->p >= ps->end) { ps->error = "unexpected end"; return -1; }
  char c = *ps->p;
  if (c == '{' || c == '[') {
    if (++ps->depth > 64) { ps->error = "nested too deeply"; return -1; }
    int obj = c == '{';
    v->type = obj ? JINN_JSON_OBJECT : JINN_JSON_ARRAY;
    size_t cap = 0;
    ps->p++;
    jinn_json_ws_(ps);
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) { ps->p++; ps->depth--; return 0; }
    for (;;) {
      if (jinn_json_push_(v, &cap, obj) != 0) { ps->error = "out of memory"; return -1; }
      if (obj) {
        jinn_json_ws_(ps);
        size_t klen;
        if (ps->p >= ps->end || *ps->p != '"') { ps->error = "expected a key"; return -1; }
        if (jinn_json_string_(ps, &v->keys[v->count], &klen) != 0) return -1;
        jinn_json_ws_(ps);
        if (ps->p >= ps->end || *ps->p != ':') { free(v->keys[v->count]); ps->error = "expected ':'"; return -1; }
        ps->p++;
      }
      if (jinn_json_value_(ps, &v->items[v->count]) != 0) {
        jinn_json_free_value_(&v->items[v->count]);
        if (obj) free(v->keys[v->count]);
        return -1;
      }
      v->count++;
      jinn_json_ws_(ps);
      if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
      if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) { ps->p++; break; }
      ps->error = obj ? "expected ',' or '}'" : "expected ',' or ']'";
      return -1;
    }
    ps->depth--;
    return 0;
  }
  if (c == '"') {
    v->type = JINN_JSON_STRING;
    return jinn_json_string_(ps, &v->string, &v->length);
  }
  if (ps->end - ps->p >= 4 && memcmp(ps->p, "null", 4) == 0) { ps->p += 4; return 0; }
  if (ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0) {
    v->type = JINN_JSON_BOOL; v->boolean = 1; ps->p += 4; return 0;
  }
  if (ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0) {
    v->type = JINN_JSON_BOOL; ps->p += 5; return 0;
  }
  /* number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  const char* s = ps->p;
  const char* q = s;
  if (q < ps->end && *q == '-') q++;
  if (q < ps->end && *q == '0') q++;
  else if (q < ps->end && *q >= '1' && *q <= '9') while (q < ps->end && *q >= '0' && *q <= '9') q++;
  else { ps->error = "unexpected character"; return -1; }
  if (q < ps->end && *q == '.') {
    q++;
    if (q >= ps->end || *q < '0' || *q > '9') { ps->error = "bad number"; return -1; }
    while (q < ps->end && *q >= '0' && *q <= '9') q++;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < ps->end && (*q == '+' || *q == '-')) q++;
    if (q >= ps->end || *q < '0' || *q > '9') { ps->error = "bad number"; return -1; }
    while (q < ps->end && *q >= '0' && *q <= '9') q++;
  }
  char tmp[64];
  size_t n = (size_t)(q - s);
  if (n >= sizeof tmp) n = sizeof tmp - 1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  v->type = JINN_JSON_NUMBER;
  v->number = strtod(tmp, NULL);
  ps->p = q;
  return 0;
}

/* Parses one JSON value (surrounded by optional whitespace). Returns a tree
 * to free with jinn_json_free, or NULL with *error (if not NULL) set to a
 * short reason and *error_offset (if not NULL) to the byte offset. */
JINN_API jinn_json* jinn_json_parse(const char* text, size_t len, const char** error,
                                    size_t* error_offset) {
  jinn_json_parser_ ps = {text, text + len, text, NULL, 0};
  jinn_json* v = (jinn_json*)calloc(1, sizeof *v);
  if (!v) { if (error) *error = "out of memory"; return NULL; }
  if (jinn_json_value_(&ps, v) == 0) {
    jinn_json_ws_(&ps);
    if (ps.p == ps.end) return v;
    ps.error = "text after the value";
  }
  jinn_json_free_value_(v);
  free(v);
  if (error) *error = ps.error;
  if (error_offset) *error_offset = (size_t)(ps.p - ps.start);
  return NULL;
}

/* The value of `key` in an object (exact match), or NULL. */
JINN_API const jinn_json* jinn_json_get(const jinn_json* obj, const char* key) {
  if (!obj || obj->type != JINN_JSON_OBJECT) return NULL;
  for (size_t i = 0; i < obj->count; i++) if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

/* The string of `key` in an object, or NULL if absent or not a string. */
JINN_API const char* jinn_json_get_string(const jinn_json* obj, const char* key) {
  const jinn_json* v = jinn_json_get(obj, key);
  return v && v->type == JINN_JSON_STRING ? v->string : NULL;
}

/* ---- the request --------------------------------------------------------- */

typedef struct {
  const char* method;      /* "GET" */
  const char* uri;         /* "/users/42?verbose=1", as received */
  const char* path;        /* "/users/42" */
  const char* query;       /* "verbose=1", "" if none */
  const char* trace_id;
  const char* remote_addr; /* "203.0.113.7:51234" */
  const char* route;       /* the route pattern that matched */
  const unsigned char* body; /* the body bytes, decoded from base64 if need be; NUL-terminated */
  size_t body_len;
  const jinn_json* headers; /* object: canonical name -> array of strings */
  const jinn_json* params;  /* object: name -> string; NULL if the route has none */
  jinn_json* root_;
  jinn_buf body_;
} jinn_request;

JINN_API const char* jinn_request_field_(const jinn_json* root, const char* key) {
  const char* s = jinn_json_get_string(root, key);
  return s ? s : "";
}

/* Reads all of stdin and parses the envelope. 0 on success; -1 on failure,
 * with the reason printed on stderr. */
JINN_API int jinn_request_read(jinn_request* req) {
  memset(req, 0, sizeof *req);
  jinn_buf in = {0, 0, 0};
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
    if (jinn_buf_append(&in, chunk, got) != 0) {
      fprintf(stderr, "jinn: out of memory reading the request\n");
      jinn_buf_free(&in);
      return -1;
    }
  }
  const char* error = NULL;
  size_t at = 0;
  req->root_ = jinn_json_parse(in.data ? in.data : "", in.len, &error, &at);
  jinn_buf_free(&in);
  if (!req->root_ || req->root_->type != JINN_JSON_OBJECT) {
    fprintf(stderr, "jinn: the request is not a JSON object (%s at byte %zu)\n",
            error ? error : "not an object", at);
    jinn_json_free(req->root_);
    req->root_ = NULL;
    return -1;
  }
  const jinn_json* root = req->root_;
  req->method = jinn_request_field_(root, "method");
  req->uri = jinn_request_field_(root, "uri");
  req->path = jinn_request_field_(root, "path");
  req->query = jinn_request_field_(root, "query");
  req->trace_id = jinn_request_field_(root, "trace_id");
  req->remote_addr = jinn_request_field_(root, "remote_addr");
  req->route = jinn_request_field_(root, "route");
  req->headers = jinn_json_get(root, "headers");
  req->params = jinn_json_get(root, "params");
  const jinn_json* b64 = jinn_json_get(root, "body_base64");
  const jinn_json* body = jinn_json_get(root, "body");
  jinn_buf_reserve(&req->body_, 0);
  if (b64 && b64->type == JINN_JSON_STRING) {
    if (jinn_base64_decode(&req->body_, b64->string, b64->length) != 0) {
      fprintf(stderr, "jinn: body_base64 is not valid base64\n");
      return -1;
    }
  } else if (body && body->type == JINN_JSON_STRING) {
    jinn_buf_append(&req->body_, body->string, body->length);
  }
  req->body = (const unsigned char*)req->body_.data;
  req->body_len = req->body_.len;
  return 0;
}

/* The first value of header `name` (any case), or NULL. */
JINN_API const char* jinn_request_header(const jinn_request* req, const char* name) {
  const jinn_json* h = req->headers;
  if (!h || h->type != JINN_JSON_OBJECT) return NULL;
  for (size_t i = 0; i < h->count; i++) {
    if (strcasecmp(h->keys[i], name) != 0) continue;
    const jinn_json* v = &h->items[i];
    if (v->type == JINN_JSON_STRING) return v->string;
    if (v->type == JINN_JSON_ARRAY && v->count > 0 && v->items[0].type == JINN_JSON_STRING)
      return v->items[0].string;
  }
  return NULL;
}

/* The route parameter `name`, or NULL. */
JINN_API const char* jinn_request_param(const jinn_request* req, const char* name) {
  return jinn_json_get_string(req->params, name);
}

JINN_API void jinn_request_free(jinn_request* req) {
  jinn_json_free(req->root_);
  jinn_buf_free(&req->body_);
  memset(req, 0, sizeof *req);
}

/* ---- the response -------------------------------------------------------- */

typedef struct {
  int status;     /* 0 for a middleware "continue" */
  int is_continue;
  size_t count, cap;
  char** names;   /* header names and values, in order */
  char** values;
  jinn_buf removes; /* JSON array items for remove_headers */
  jinn_buf body;
  int has_body;
} jinn_response;

JINN_API jinn_response* jinn_response_new(int status) {
  jinn_response* r = (jinn_response*)calloc(1, sizeof *r);
  if (r) r->status = status;
  return r;
}

/* A middleware's "continue": headers added with jinn_response_header become
 * set_headers, jinn_response_remove_header fills remove_headers, and a body
 * (if any is set) replaces the request body. */
JINN_API jinn_response* jinn_continue_new(void) {
  jinn_response* r = jinn_response_new(0);
  if (r) r->is_continue = 1;
  return r;
}

JINN_API char* jinn_strdup_(const char* s) {
  size_t n = strlen(s) + 1;
  char* d = (char*)malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Adds a header value (a name may be added several times). */
JINN_API int jinn_response_header(jinn_response* r, const char* name, const char* value) {
  if (r->count == r->cap) {
    size_t n = r->cap ? r->cap * 2 : 8;
    char** names = (char**)realloc(r->names, n * sizeof *names);
    if (!names) return -1;
    r->names = names;
    char** values = (char**)realloc(r->values, n * sizeof *values);
    if (!values) return -1;
    r->values = values;
    r->cap = n;
  }
  r->names[r->count] = jinn_strdup_(name);
  r->values[r->count] = jinn_strdup_(value);
  if (!r->names[r->count] || !r->values[r->count]) return -1;
  r->count++;
  return 0;
}

/* continue only: the request header to remove before the next step. */
JINN_API int jinn_response_remove_header(jinn_response* r, const char* name) {
  if (r->removes.len) jinn_buf_append(&r->removes, ",", 1);
  return jinn_buf_json_string(&r->removes, name, strlen(name));
}

/* Appends bytes to the body (any bytes: binary bodies are sent as base64). */
JINN_API int jinn_response_append(jinn_response* r, const void* data, size_t len) {
  r->has_body = 1;
  return jinn_buf_append(&r->body, data, len);
}

JINN_API int jinn_response_text(jinn_response* r, const char* text) {
  return jinn_response_append(r, text, strlen(text));
}

JINN_API void jinn_response_free(jinn_response* r) {
  if (!r) return;
  for (size_t i = 0; i < r->count; i++) {
    free(r->names[i]);
    free(r->values[i]);
  }
  free(r->names);
  free(r->values);
  jinn_buf_free(&r->removes);
  jinn_buf_free(&r->body);
  free(r);
}

/* Writes the response (or the continue) as one JSON object on stdout and
 * frees it. Returns 0, or 1 if it could not be written (return it from main). */
JINN_API int jinn_response_send(jinn_response* r) {
  if (!r) return 1;
  jinn_buf o = {0, 0, 0};
  if (r->is_continue) jinn_buf_puts(&o, "{\"action\":\"continue\"");
  else jinn_buf_printf(&o, "{\"status\":%d", r->status);
  if (r->count) {
    jinn_buf_puts(&o, r->is_continue ? ",\"set_headers\":{" : ",\"headers\":{");
    /* One key per name (compared ignoring case), values in order. */
    int first = 1;
    for (size_t i = 0; i < r->count; i++) {
      size_t j = 0;
      while (j < i && strcasecmp(r->names[j], r->names[i]) != 0) j++;
      if (j < i) continue;
      if (!first) jinn_buf_append(&o, ",", 1);
      first = 0;
      jinn_buf_json_string(&o, r->names[i], strlen(r->names[i]));
      jinn_buf_puts(&o, ":[");
      for (size_t k = i; k < r->count; k++) {
        if (strcasecmp(r->names[k], r->names[i]) != 0) continue;
        if (k != i) jinn_buf_append(&o, ",", 1);
        jinn_buf_json_string(&o, r->values[k], strlen(r->values[k]));
      }
      jinn_buf_append(&o, "]", 1);
    }
    jinn_buf_append(&o, "}", 1);
  }
  if (r->removes.len) {
    jinn_buf_puts(&o, ",\"remove_headers\":[");
    jinn_buf_append(&o, r->removes.data, r->removes.len);
    jinn_buf_append(&o, "]", 1);
  }
  if (r->has_body) {
    const unsigned char* b = (const unsigned char*)(r->body.data ? r->body.data : "");
    if (jinn_utf8_valid(b, r->body.len)) {
      jinn_buf_puts(&o, ",\"body\":");
      jinn_buf_json_string(&o, (const char*)b, r->body.len);
    } else {
      jinn_buf_puts(&o, ",\"body_base64\":\"");
      jinn_base64_encode(&o, b, r->body.len);
      jinn_buf_append(&o, "\"", 1);
    }
  }
  int ok = jinn_buf_puts(&o, "}\n") == 0;
  ok = ok && fwrite(o.data, 1, o.len, stdout) == o.len && fflush(stdout) == 0;
  jinn_buf_free(&o);
  jinn_response_free(r);
  if (!ok) fprintf(stderr, "jinn: could not write the response\n");
  return ok ? 0 : 1;
}

/* One call for the common case: status, a Content-Type (or NULL) and a body. */
JINN_API int jinn_respond(int status, const char* content_type, const void* body, size_t len) {
  jinn_response* r = jinn_response_new(status);
  if (!r) return 1;
  if (content_type) jinn_response_header(r, "Content-Type", content_type);
  jinn_response_append(r, body, len);
  return jinn_response_send(r);
}

#endif /* JINN_SDK_H */
