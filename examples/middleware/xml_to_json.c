// Middleware: turns an XML request body (Content-Type application/xml or
// text/xml) into JSON before it reaches the upstream, so a JSON-only backend
// can take a legacy client's XML. Other bodies pass unchanged.
//
// Mapping: the document becomes {"<root name>": <element>}. An element with
// only text becomes that string; otherwise an object with "@attr" for each
// attribute, "#text" for its (trimmed, non-empty) text, and one key per child
// name, whose value is an array when the name repeats. Entities: the five
// predefined ones and numeric references. Not supported (answered 400):
// DTDs, processing instructions other than the XML declaration, CDATA.
#include <ctype.h>

#include "jinn.h"

enum { kMaxDepth = 64 };

typedef struct node {
  char* name;
  char** attr_names;
  char** attr_values;
  size_t attr_count;
  struct node** children;
  size_t child_count;
  jinn_buf text;
} node;

typedef struct {
  const char* p;
  const char* end;
  const char* error;
} parser;

static void node_free(node* n) {
  if (!n) return;
  free(n->name);
  for (size_t i = 0; i < n->attr_count; i++) { free(n->attr_names[i]); free(n->attr_values[i]); }
  free(n->attr_names);
  free(n->attr_values);
  for (size_t i = 0; i < n->child_count; i++) node_free(n->children[i]);
  free(n->children);
  jinn_buf_free(&n->text);
  free(n);
}

static void skip_ws(parser* ps) {
  while (ps->p < ps->end && isspace((unsigned char)*ps->p)) ps->p++;
}

static int starts(parser* ps, const char* s) {
  size_t n = strlen(s);
  return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static char* name_token(parser* ps) {
  const char* s = ps->p;
  while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '-' ||
                             *ps->p == '.' || *ps->p == ':' || (unsigned char)*ps->p >= 0x80)) {
    ps->p++;
  }
  if (ps->p == s || isdigit((unsigned char)*s) || *s == '-' || *s == '.') {
    ps->error = "expected a name";
    return NULL;
  }
  char* out = malloc((size_t)(ps->p - s) + 1);
  memcpy(out, s, (size_t)(ps->p - s));
  out[ps->p - s] = '\0';
  return out;
}

// Appends text up to `stop` to b, decoding entities.
static int text_until(parser* ps, char stop, jinn_buf* b) {
  while (ps->p < ps->end && *ps->p != stop) {
    if (*ps->p == '<' && stop != '<') { ps->error = "'<' in an attribute value"; return -1; }
    if (*ps->p != '&') { jinn_buf_append(b, ps->p++, 1); continue; }
    const char* semi = memchr(ps->p, ';', (size_t)(ps->end - ps->p));
    if (!semi || semi - ps->p > 10) { ps->error = "bad entity"; return -1; }
    size_t len = (size_t)(semi - ps->p - 1);
    const char* e = ps->p + 1;
    unsigned long cp = 0;
    if (len == 2 && !memcmp(e, "lt", 2)) cp = '<';
    else if (len == 2 && !memcmp(e, "gt", 2)) cp = '>';
    else if (len == 3 && !memcmp(e, "amp", 3)) cp = '&';
    else if (len == 4 && !memcmp(e, "quot", 4)) cp = '"';
    else if (len == 4 && !memcmp(e, "apos", 4)) cp = '\'';
    else if (len >= 2 && e[0] == '#') {
      char digits[12] = {0};
      memcpy(digits, e + 1, len - 1);
      char* tail;
      cp = e[1] == 'x' ? strtoul(digits + 1, &tail, 16) : strtoul(digits, &tail, 10);
      if (*tail || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ps->error = "bad character reference";
        return -1;
      }
    } else {
      ps->error = "unknown entity";
      return -1;
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
    jinn_buf_append(b, u, k);
    ps->p = semi + 1;
  }
  return 0;
}

static int skip_misc(parser* ps) {
  for (;;) {
    skip_ws(ps);
    if (starts(ps, "<!--")) {
      const char* end = strstr(ps->p + 4, "-->");
      if (!end || end >= ps->end) { ps->error = "unterminated comment"; return -1; }
      ps->p = end + 3;
    } else if (starts(ps, "<!") || (starts(ps, "<?") && !starts(ps, "<?xml"))) {
      ps->error = "DTDs and processing instructions are not supported";
      return -1;
    } else {
      return 0;
    }
  }
}

static node* element(parser* ps, int depth) {
  if (depth > kMaxDepth) { ps->error = "nested too deeply"; return NULL; }
  if (!starts(ps, "<")) { ps->error = "expected an element"; return NULL; }
  ps->p++;
  node* n = calloc(1, sizeof *n);
  if (!(n->name = name_token(ps))) goto fail;
  for (;;) {
    skip_ws(ps);
    if (starts(ps, "/>")) { ps->p += 2; return n; }
    if (starts(ps, ">")) { ps->p++; break; }
    char* an = name_token(ps);
    if (!an) goto fail;
    n->attr_names = realloc(n->attr_names, (n->attr_count + 1) * sizeof(char*));
    n->attr_values = realloc(n->attr_values, (n->attr_count + 1) * sizeof(char*));
    n->attr_names[n->attr_count] = an;
    n->attr_values[n->attr_count] = NULL;
    n->attr_count++;
    skip_ws(ps);
    if (!starts(ps, "=")) { ps->error = "expected '=' after an attribute name"; goto fail; }
    ps->p++;
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) { ps->error = "expected a quoted value"; goto fail; }
    char quote = *ps->p++;
    jinn_buf v = {0, 0, 0};
    jinn_buf_reserve(&v, 0);
    if (text_until(ps, quote, &v) != 0 || ps->p >= ps->end) {
      jinn_buf_free(&v);
      if (!ps->error) ps->error = "unterminated attribute value";
      goto fail;
    }
    ps->p++;
    n->attr_values[n->attr_count - 1] = v.data;
  }
  for (;;) {
    if (text_until(ps, '<', &n->text) != 0) goto fail;
    if (ps->p >= ps->end) { ps->error = "unclosed element"; goto fail; }
    if (starts(ps, "<!--")) { if (skip_misc(ps) != 0) goto fail; continue; }
    if (starts(ps, "<!") || starts(ps, "<?")) { ps->error = "CDATA, DTDs and processing instructions are not supported"; goto fail; }
    if (starts(ps, "</")) {
      ps->p += 2;
      size_t len = strlen(n->name);
      if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, n->name, len) != 0) { ps->error = "mismatched closing tag"; goto fail; }
      ps->p += len;
      skip_ws(ps);
      if (!starts(ps, ">")) { ps->error = "mismatched closing tag"; goto fail; }
      ps->p++;
      return n;
    }
    node* child = element(ps, depth + 1);
    if (!child) goto fail;
    n->children = realloc(n->children, (n->child_count + 1) * sizeof(node*));
    n->children[n->child_count++] = child;
  }
fail:
  node_free(n);
  return NULL;
}

// The trimmed text of n; *len gets its size.
static const char* trimmed(const node* n, size_t* len) {
  const char* s = n->text.data ? n->text.data : "";
  size_t l = n->text.len;
  while (l && isspace((unsigned char)*s)) { s++; l--; }
  while (l && isspace((unsigned char)s[l - 1])) l--;
  *len = l;
  return s;
}

static void to_json(const node* n, jinn_buf* out) {
  size_t tlen;
  const char* text = trimmed(n, &tlen);
  if (n->attr_count == 0 && n->child_count == 0) {
    jinn_buf_json_string(out, text, tlen);
    return;
  }
  jinn_buf_append(out, "{", 1);
  int first = 1;
  for (size_t i = 0; i < n->attr_count; i++) {
    jinn_buf tmp = {0, 0, 0};
    jinn_buf_printf(&tmp, "@%s", n->attr_names[i]);
    if (!first) jinn_buf_append(out, ",", 1);
    first = 0;
    jinn_buf_json_string(out, tmp.data, tmp.len);
    jinn_buf_free(&tmp);
    jinn_buf_append(out, ":", 1);
    jinn_buf_json_string(out, n->attr_values[i], strlen(n->attr_values[i]));
  }
  if (tlen) {
    if (!first) jinn_buf_append(out, ",", 1);
    first = 0;
    jinn_buf_puts(out, "\"#text\":");
    jinn_buf_json_string(out, text, tlen);
  }
  for (size_t i = 0; i < n->child_count; i++) {
    const char* name = n->children[i]->name;
    size_t seen = 0, total = 0;
    for (size_t j = 0; j < n->child_count; j++) {
      if (strcmp(n->children[j]->name, name) == 0) { total++; if (j < i) seen++; }
    }
    if (seen) continue;  // written with the first of its name
    if (!first) jinn_buf_append(out, ",", 1);
    first = 0;
    jinn_buf_json_string(out, name, strlen(name));
    jinn_buf_append(out, ":", 1);
    if (total > 1) jinn_buf_append(out, "[", 1);
    int first_item = 1;
    for (size_t j = i; j < n->child_count; j++) {
      if (strcmp(n->children[j]->name, name) != 0) continue;
      if (!first_item) jinn_buf_append(out, ",", 1);
      first_item = 0;
      to_json(n->children[j], out);
    }
    if (total > 1) jinn_buf_append(out, "]", 1);
  }
  jinn_buf_append(out, "}", 1);
}

int main(void) {
  jinn_request req;
  if (jinn_request_read(&req) != 0) return 1;
  const char* type = jinn_request_header(&req, "Content-Type");
  if (!type || (strncasecmp(type, "application/xml", 15) != 0 && strncasecmp(type, "text/xml", 8) != 0)) {
    jinn_request_free(&req);
    return jinn_response_send(jinn_continue_new());  // not XML: pass through
  }
  parser ps = {(const char*)req.body, (const char*)req.body + req.body_len, NULL};
  if (starts(&ps, "\xEF\xBB\xBF")) ps.p += 3;
  node* root = NULL;
  skip_ws(&ps);
  if (starts(&ps, "<?xml")) {
    const char* end = strstr(ps.p, "?>");
    if (end && end < ps.end) ps.p = end + 2;
    else ps.error = "unterminated XML declaration";
  }
  if (!ps.error && skip_misc(&ps) == 0) root = element(&ps, 0);
  if (root && skip_misc(&ps) == 0 && ps.p != ps.end) ps.error = "text after the root element";
  if (!root || ps.error) {
    jinn_buf msg = {0, 0, 0};
    jinn_buf_printf(&msg, "bad XML: %s at byte %ld\n", ps.error ? ps.error : "?",
                    (long)(ps.p - (const char*)req.body));
    node_free(root);
    jinn_request_free(&req);
    int rc = jinn_respond(400, "text/plain; charset=utf-8", msg.data, msg.len);
    jinn_buf_free(&msg);
    return rc;
  }
  jinn_buf json = {0, 0, 0};
  jinn_buf_append(&json, "{", 1);
  jinn_buf_json_string(&json, root->name, strlen(root->name));
  jinn_buf_append(&json, ":", 1);
  to_json(root, &json);
  jinn_buf_append(&json, "}", 1);
  jinn_response* next = jinn_continue_new();
  jinn_response_header(next, "Content-Type", "application/json");
  jinn_response_header(next, "X-Converted-From", "xml");
  jinn_response_append(next, json.data, json.len);
  jinn_buf_free(&json);
  node_free(root);
  jinn_request_free(&req);
  return jinn_response_send(next);
}
