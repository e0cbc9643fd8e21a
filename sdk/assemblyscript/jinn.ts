// jinn.ts: the jinn function SDK for AssemblyScript (one file; needs the
// WASI shim, @assemblyscript/wasi-shim, for stdin and stdout). Reads the
// request envelope from stdin and writes the response to stdout, as
// docs/function-contract.md describes.
//
//   import { readRequest, Response } from "./jinn";
//   const req = readRequest();
//   new Response(200).header("Content-Type", "text/plain").text("hello " + req.method).send();
//
// A malformed envelope aborts the function (the client gets a 500): it
// cannot happen with a jinn server, which always writes valid JSON.

/** The request envelope. `body` holds the bytes, decoded from body_base64
 *  when the server sent a binary body. */
export class Request {
  method: string = "";
  uri: string = "";
  path: string = "";
  query: string = "";
  traceId: string = "";
  remoteAddr: string = "";
  route: string = "";
  headerNames: string[] = [];
  headerValues: string[][] = [];
  paramNames: string[] = [];
  paramValues: string[] = [];
  body: Uint8Array = new Uint8Array(0);

  /** The first value of header `name` (any case), or null. */
  header(name: string): string | null {
    const want = name.toLowerCase();
    for (let i = 0; i < this.headerNames.length; i++) {
      if (this.headerNames[i].toLowerCase() == want && this.headerValues[i].length > 0) {
        return this.headerValues[i][0];
      }
    }
    return null;
  }

  /** Every value of header `name` (any case), in order. */
  headerAll(name: string): string[] {
    const want = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.headerNames.length; i++) {
      if (this.headerNames[i].toLowerCase() == want) {
        for (let j = 0; j < this.headerValues[i].length; j++) out.push(this.headerValues[i][j]);
      }
    }
    return out;
  }

  param(name: string): string | null {
    for (let i = 0; i < this.paramNames.length; i++) {
      if (this.paramNames[i] == name) return this.paramValues[i];
    }
    return null;
  }

  /** The body as text (the server sends text bodies as UTF-8). */
  bodyText(): string {
    return String.UTF8.decode(this.body.buffer);
  }
}

// ---- base64, UTF-8 ---------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64Encode(data: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < data.length; i += 3) {
    const v = (<u32>data[i] << 16) | (<u32>data[i + 1] << 8) | <u32>data[i + 2];
    out += B64.charAt(v >> 18) + B64.charAt((v >> 12) & 63) + B64.charAt((v >> 6) & 63) + B64.charAt(v & 63);
  }
  if (i < data.length) {
    const two = i + 1 < data.length;
    const v = (<u32>data[i] << 16) | (two ? <u32>data[i + 1] << 8 : 0);
    out += B64.charAt(v >> 18) + B64.charAt((v >> 12) & 63) + (two ? B64.charAt((v >> 6) & 63) : "=") + "=";
  }
  return out;
}

function b64digit(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 97 + 26;
  if (c >= 48 && c <= 57) return c - 48 + 52;
  if (c == 43) return 62;
  if (c == 47) return 63;
  return -1;
}

/** Decodes strict standard base64; throws if `text` is not. */
export function base64Decode(text: string): Uint8Array {
  const n = text.length;
  if (n % 4 != 0) throw new Error("body_base64 is not valid base64");
  let pad = 0;
  if (n > 0 && text.charCodeAt(n - 1) == 61) pad++;
  if (n > 1 && text.charCodeAt(n - 2) == 61) pad++;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    let v: u32 = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      let d = b64digit(c);
      if (d < 0) {
        if (c == 61 && i + 4 == n && j >= 4 - pad) d = 0;
        else throw new Error("body_base64 is not valid base64");
      }
      v = (v << 6) | <u32>d;
    }
    if (o < out.length) out[o++] = <u8>(v >> 16);
    if (o < out.length) out[o++] = <u8>(v >> 8);
    if (o < out.length) out[o++] = <u8>v;
  }
  return out;
}

/** Strict UTF-8 check. */
export function isUtf8(s: Uint8Array): bool {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = <u32>s[i];
    if (c < 0x80) { i++; continue; }
    let k = 0;
    let lo: u32 = 0x80, hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) k = 1;
    else if (c >= 0xe0 && c <= 0xef) { k = 2; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { k = 3; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
    else return false;
    if (i + k >= n) return false;
    if (<u32>s[i + 1] < lo || <u32>s[i + 1] > hi) return false;
    for (let j = 2; j <= k; j++) if ((<u32>s[i + j] & 0xc0) != 0x80) return false;
    i += k + 1;
  }
  return true;
}

// ---- JSON ------------------------------------------------------------------

/** `s` as a JSON string, quotes included. */
export function quote(s: string): string {
  let out = "\"";
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 34) esc = "\\\"";
    else if (c == 92) esc = "\\\\";
    else if (c == 10) esc = "\\n";
    else if (c == 13) esc = "\\r";
    else if (c == 9) esc = "\\t";
    else if (c < 0x20 || c == 0x7f) esc = "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    if (esc !== null) {
      out += s.substring(run, i) + esc;
      run = i + 1;
    }
  }
  return out + s.substring(run) + "\"";
}

class Parser {
  pos: i32 = 0;
  constructor(public t: string) {}

  fail(why: string): void {
    throw new Error("the request is not valid JSON: " + why + " at " + this.pos.toString());
  }
  ws(): void {
    while (this.pos < this.t.length) {
      const c = this.t.charCodeAt(this.pos);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.pos++;
    }
  }
  peek(): i32 {
    this.ws();
    return this.pos < this.t.length ? this.t.charCodeAt(this.pos) : -1;
  }
  expect(c: i32): void {
    if (this.peek() != c) this.fail("expected '" + String.fromCharCode(c) + "'");
    this.pos++;
  }
  str(): string {
    this.expect(34);
    let out = "";
    let run = this.pos;
    for (;;) {
      if (this.pos >= this.t.length) this.fail("unterminated string");
      const c = this.t.charCodeAt(this.pos);
      if (c == 34) break;
      if (c != 92) { this.pos++; continue; }
      out += this.t.substring(run, this.pos);
      const e = this.t.charCodeAt(this.pos + 1);
      this.pos += 2;
      if (e == 117) {  // \uXXXX (a surrogate pair is two of these, joined by the string)
        const hex = this.t.substring(this.pos, this.pos + 4);
        out += String.fromCharCode(<i32>I32.parseInt(hex, 16));
        this.pos += 4;
      } else if (e == 110) out += "\n";
      else if (e == 114) out += "\r";
      else if (e == 116) out += "\t";
      else if (e == 98) out += "\b";
      else if (e == 102) out += "\f";
      else out += String.fromCharCode(e);  // " \ /
      run = this.pos;
    }
    out += this.t.substring(run, this.pos);
    this.pos++;
    return out;
  }
  // Skips any value (the fields this SDK does not use).
  skip(): void {
    const c = this.peek();
    if (c == 34) { this.str(); return; }
    if (c == 123 || c == 91) {
      const close = c == 123 ? 125 : 93;
      this.pos++;
      if (this.peek() == close) { this.pos++; return; }
      for (;;) {
        if (c == 123) { this.str(); this.expect(58); }
        this.skip();
        const d = this.peek();
        this.pos++;
        if (d == close) return;
        if (d != 44) this.fail("expected ','");
      }
    }
    while (this.pos < this.t.length) {
      const d = this.t.charCodeAt(this.pos);
      if (d == 44 || d == 125 || d == 93 || d == 32 || d == 10 || d == 13 || d == 9) break;
      this.pos++;
    }
  }
}

/** Reads all of stdin and parses the envelope. */
export function readRequest(): Request {
  const chunks: ArrayBuffer[] = [];
  let total = 0;
  for (;;) {
    const buf = new ArrayBuffer(65536);
    const n = process.stdin.read(buf);
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    all.set(Uint8Array.wrap(chunks[i]), at);
    at += chunks[i].byteLength;
  }
  return parseRequest(String.UTF8.decode(all.buffer));
}

/** Parses an envelope (the JSON text the server writes to stdin). */
export function parseRequest(text: string): Request {
  const p = new Parser(text);
  const req = new Request();
  let body = "";
  let body64: string | null = null;
  p.expect(123);
  if (p.peek() == 125) { p.pos++; return req; }
  for (;;) {
    const key = p.str();
    p.expect(58);
    if (key == "headers" && p.peek() == 123) {
      p.pos++;
      if (p.peek() == 125) p.pos++;
      else for (;;) {
        const name = p.str();
        p.expect(58);
        const values: string[] = [];
        if (p.peek() == 91) {
          p.pos++;
          if (p.peek() == 93) p.pos++;
          else for (;;) {
            if (p.peek() == 34) values.push(p.str()); else p.skip();
            const d = p.peek();
            p.pos++;
            if (d == 93) break;
            if (d != 44) p.fail("expected ','");
          }
        } else p.skip();
        req.headerNames.push(name);
        req.headerValues.push(values);
        const d = p.peek();
        p.pos++;
        if (d == 125) break;
        if (d != 44) p.fail("expected ','");
      }
    } else if (key == "params" && p.peek() == 123) {
      p.pos++;
      if (p.peek() == 125) p.pos++;
      else for (;;) {
        const name = p.str();
        p.expect(58);
        if (p.peek() == 34) { req.paramNames.push(name); req.paramValues.push(p.str()); } else p.skip();
        const d = p.peek();
        p.pos++;
        if (d == 125) break;
        if (d != 44) p.fail("expected ','");
      }
    } else if (p.peek() == 34) {
      const v = p.str();
      if (key == "method") req.method = v;
      else if (key == "uri") req.uri = v;
      else if (key == "path") req.path = v;
      else if (key == "query") req.query = v;
      else if (key == "trace_id") req.traceId = v;
      else if (key == "remote_addr") req.remoteAddr = v;
      else if (key == "route") req.route = v;
      else if (key == "body") body = v;
      else if (key == "body_base64") body64 = v;
    } else {
      p.skip();
    }
    const d = p.peek();
    p.pos++;
    if (d == 125) break;
    if (d != 44) p.fail("expected ','");
  }
  if (body64 !== null) req.body = base64Decode(body64);
  else req.body = Uint8Array.wrap(String.UTF8.encode(body));
  return req;
}

// ---- the response ----------------------------------------------------------

function headersJson(names: string[], values: string[]): string {
  let out = "{";
  for (let i = 0; i < names.length; i++) {
    const lower = names[i].toLowerCase();
    let seen = false;
    for (let j = 0; j < i; j++) if (names[j].toLowerCase() == lower) seen = true;
    if (seen) continue;
    if (out.length > 1) out += ",";
    out += quote(names[i]) + ":[";
    let first = true;
    for (let k = i; k < names.length; k++) {
      if (names[k].toLowerCase() != lower) continue;
      if (!first) out += ",";
      first = false;
      out += quote(values[k]);
    }
    out += "]";
  }
  return out + "}";
}

function bodyJson(body: Uint8Array): string {
  if (isUtf8(body)) return "\"body\":" + quote(String.UTF8.decode(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)));
  return "\"body_base64\":\"" + base64Encode(body) + "\"";
}

/** A response. Any bytes may go in the body: a body that is not UTF-8 is
 *  sent as body_base64. */
export class Response {
  status: i32;
  names: string[] = [];
  values: string[] = [];
  body: Uint8Array = new Uint8Array(0);

  constructor(status: i32 = 200) {
    this.status = status;
  }
  /** Adds a header value (a name may repeat). */
  header(name: string, value: string): Response {
    this.names.push(name);
    this.values.push(value);
    return this;
  }
  text(s: string): Response {
    this.body = Uint8Array.wrap(String.UTF8.encode(s));
    return this;
  }
  bytes(b: Uint8Array): Response {
    this.body = b;
    return this;
  }
  toJson(): string {
    let out = "{\"status\":" + this.status.toString();
    if (this.names.length > 0) out += ",\"headers\":" + headersJson(this.names, this.values);
    return out + "," + bodyJson(this.body) + "}\n";
  }
  send(): void {
    process.stdout.write(this.toJson());
  }
}

/** A middleware's "continue": the request goes on, changed as listed. */
export class Continue {
  names: string[] = [];
  values: string[] = [];
  removed: string[] = [];
  body: Uint8Array | null = null;

  /** Replaces all values of request header `name` (repeat to set several). */
  set(name: string, value: string): Continue {
    this.names.push(name);
    this.values.push(value);
    return this;
  }
  remove(name: string): Continue {
    this.removed.push(name);
    return this;
  }
  bytes(b: Uint8Array): Continue {
    this.body = b;
    return this;
  }
  toJson(): string {
    let out = "{\"action\":\"continue\"";
    if (this.names.length > 0) out += ",\"set_headers\":" + headersJson(this.names, this.values);
    if (this.removed.length > 0) {
      out += ",\"remove_headers\":[";
      for (let i = 0; i < this.removed.length; i++) out += (i > 0 ? "," : "") + quote(this.removed[i]);
      out += "]";
    }
    const b = this.body;
    if (b !== null) out += "," + bodyJson(b);
    return out + "}\n";
  }
  send(): void {
    process.stdout.write(this.toJson());
  }
}
