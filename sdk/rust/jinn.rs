//! jinn.rs: the jinn function SDK for Rust (one file, std only: put it next
//! to main.rs and write `mod jinn;`). Reads the request envelope from stdin
//! and writes the response to stdout, as docs/function-contract.md describes.
//!
//! ```ignore
//! mod jinn;
//! fn main() {
//!     let req = jinn::Request::read().unwrap_or_else(|e| jinn::fail(&e));
//!     jinn::Response::new(200)
//!         .header("Content-Type", "text/plain")
//!         .text(&format!("hello {}", req.method))
//!         .send();
//! }
//! ```
//!
//! Also here: `jinn::json`, a small JSON reader and string quoter, and base64.
#![allow(dead_code)]

use std::io::{Read, Write};

/// Strict standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity((data.len() + 2) / 3 * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(A[(v >> 18) as usize] as char);
        out.push(A[(v >> 12 & 63) as usize] as char);
        out.push(if chunk.len() > 1 { A[(v >> 6 & 63) as usize] as char } else { '=' });
        out.push(if chunk.len() > 2 { A[(v & 63) as usize] as char } else { '=' });
    }
    out
}

/// Decodes strict standard base64; None if `text` is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if t.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(t.len() / 4 * 3);
    for (n, quad) in t.chunks(4).enumerate() {
        let last = (n + 1) * 4 == t.len();
        let mut v: u32 = 0;
        let mut pad = 0;
        for (j, &c) in quad.iter().enumerate() {
            let d = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if last && j >= 2 && (j == 3 || quad[3] == b'=') => {
                    pad += 1;
                    0
                }
                _ => return None,
            };
            if pad > 0 && c != b'=' {
                return None;
            }
            v = v << 6 | d as u32;
        }
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

pub mod json {
    /// A JSON value. Objects keep their members in order.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Number(f64),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        /// The member `key` of an object.
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::String(s) => Some(s),
                _ => None,
            }
        }
        pub fn as_f64(&self) -> Option<f64> {
            match self {
                Value::Number(n) => Some(*n),
                _ => None,
            }
        }
    }

    struct Parser<'a> {
        t: &'a [u8],
        pos: usize,
        depth: u32,
    }

    impl<'a> Parser<'a> {
        fn err<T>(&self, why: &str) -> Result<T, String> {
            Err(format!("{} at byte {}", why, self.pos))
        }
        fn ws(&mut self) {
            while self.pos < self.t.len() && matches!(self.t[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            }
        }
        fn hex4(&mut self) -> Option<u32> {
            let s = self.t.get(self.pos..self.pos + 4)?;
            let s = std::str::from_utf8(s).ok()?;
            let v = u32::from_str_radix(s, 16).ok()?;
            if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            self.pos += 4;
            Some(v)
        }
        fn string(&mut self) -> Result<String, String> {
            self.pos += 1;
            let mut out: Vec<u8> = Vec::new();
            loop {
                let c = match self.t.get(self.pos) {
                    Some(&c) => c,
                    None => return self.err("unterminated string"),
                };
                match c {
                    b'"' => {
                        self.pos += 1;
                        break;
                    }
                    0..=0x1f => return self.err("control character in string"),
                    b'\\' => {
                        let e = match self.t.get(self.pos + 1) {
                            Some(&e) => e,
                            None => return self.err("bad escape"),
                        };
                        self.pos += 2;
                        let ch = match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let mut cp = match self.hex4() {
                                    Some(v) => v,
                                    None => return self.err("bad \\u escape"),
                                };
                                if (0xD800..=0xDBFF).contains(&cp) {
                                    if self.t.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                        return self.err("lone surrogate");
                                    }
                                    self.pos += 2;
                                    match self.hex4() {
                                        Some(lo) if (0xDC00..=0xDFFF).contains(&lo) => {
                                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                                        }
                                        _ => return self.err("lone surrogate"),
                                    }
                                }
                                match char::from_u32(cp) {
                                    Some(ch) => ch,
                                    None => return self.err("lone surrogate"),
                                }
                            }
                            _ => return self.err("bad escape"),
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => {
                        out.push(c);
                        self.pos += 1;
                    }
                }
            }
            String::from_utf8(out).or_else(|_| self.err("invalid UTF-8 in string"))
        }
        fn digits(&mut self) -> bool {
            let start = self.pos;
            while self.pos < self.t.len() && self.t[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            self.pos > start
        }
        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            let c = match self.t.get(self.pos) {
                Some(&c) => c,
                None => return self.err("unexpected end"),
            };
            match c {
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth > 64 {
                        return self.err("nested too deeply");
                    }
                    let obj = c == b'{';
                    let close = if obj { b'}' } else { b']' };
                    self.pos += 1;
                    let mut members = Vec::new();
                    let mut items = Vec::new();
                    self.ws();
                    if self.t.get(self.pos) == Some(&close) {
                        self.pos += 1;
                    } else {
                        loop {
                            if obj {
                                self.ws();
                                if self.t.get(self.pos) != Some(&b'"') {
                                    return self.err("expected a key");
                                }
                                let k = self.string()?;
                                self.ws();
                                if self.t.get(self.pos) != Some(&b':') {
                                    return self.err("expected ':'");
                                }
                                self.pos += 1;
                                members.push((k, self.value()?));
                            } else {
                                items.push(self.value()?);
                            }
                            self.ws();
                            match self.t.get(self.pos) {
                                Some(b',') => self.pos += 1,
                                Some(&x) if x == close => {
                                    self.pos += 1;
                                    break;
                                }
                                _ => return self.err("expected ',' or a closing bracket"),
                            }
                        }
                    }
                    self.depth -= 1;
                    Ok(if obj { Value::Object(members) } else { Value::Array(items) })
                }
                b'"' => Ok(Value::String(self.string()?)),
                b'n' if self.t[self.pos..].starts_with(b"null") => {
                    self.pos += 4;
                    Ok(Value::Null)
                }
                b't' if self.t[self.pos..].starts_with(b"true") => {
                    self.pos += 4;
                    Ok(Value::Bool(true))
                }
                b'f' if self.t[self.pos..].starts_with(b"false") => {
                    self.pos += 5;
                    Ok(Value::Bool(false))
                }
                _ => {
                    let start = self.pos;
                    if c == b'-' {
                        self.pos += 1;
                    }
                    if self.t.get(self.pos) == Some(&b'0') {
                        self.pos += 1;
                    } else if !self.digits() {
                        return self.err("unexpected character");
                    }
                    if self.t.get(self.pos) == Some(&b'.') {
                        self.pos += 1;
                        if !self.digits() {
                            return self.err("bad number");
                        }
                    }
                    if matches!(self.t.get(self.pos), Some(b'e') | Some(b'E')) {
                        self.pos += 1;
                        if matches!(self.t.get(self.pos), Some(b'+') | Some(b'-')) {
                            self.pos += 1;
                        }
                        if !self.digits() {
                            return self.err("bad number");
                        }
                    }
                    let s = std::str::from_utf8(&self.t[start..self.pos]).unwrap_or("0");
                    Ok(Value::Number(s.parse().unwrap_or(0.0)))
                }
            }
        }
    }

    /// Parses one JSON value (surrounded by optional whitespace).
    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser { t: text.as_bytes(), pos: 0, depth: 0 };
        let v = p.value()?;
        p.ws();
        if p.pos != p.t.len() {
            return p.err("text after the value");
        }
        Ok(v)
    }

    /// `s` as a JSON string, quotes included.
    pub fn quote(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for ch in s.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// The request envelope. `body` holds the bytes, decoded from body_base64
/// when the server sent a binary body.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub path: String,
    pub query: String,
    pub trace_id: String,
    pub remote_addr: String,
    pub route: String,
    pub headers: Vec<(String, Vec<String>)>,
    pub params: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Reads all of stdin and parses the envelope.
    pub fn read() -> Result<Request, String> {
        let mut input = Vec::new();
        std::io::stdin().read_to_end(&mut input).map_err(|e| format!("cannot read stdin: {}", e))?;
        let text = String::from_utf8(input).map_err(|_| "the request is not UTF-8".to_string())?;
        Request::parse(&text)
    }

    /// Parses an envelope (the JSON text the server writes to stdin).
    pub fn parse(text: &str) -> Result<Request, String> {
        let root = json::parse(text).map_err(|e| format!("the request is not JSON: {}", e))?;
        if !matches!(root, json::Value::Object(_)) {
            return Err("the request is not a JSON object".to_string());
        }
        let field = |k: &str| root.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let mut req = Request {
            method: field("method"),
            uri: field("uri"),
            path: field("path"),
            query: field("query"),
            trace_id: field("trace_id"),
            remote_addr: field("remote_addr"),
            route: field("route"),
            ..Default::default()
        };
        if let Some(json::Value::Object(headers)) = root.get("headers") {
            for (name, values) in headers {
                let list = match values {
                    json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
                    _ => Vec::new(),
                };
                req.headers.push((name.clone(), list));
            }
        }
        if let Some(json::Value::Object(params)) = root.get("params") {
            for (name, v) in params {
                if let Some(s) = v.as_str() {
                    req.params.push((name.clone(), s.to_string()));
                }
            }
        }
        if let Some(b64) = root.get("body_base64").and_then(|v| v.as_str()) {
            req.body = base64_decode(b64).ok_or_else(|| "body_base64 is not valid base64".to_string())?;
        } else {
            req.body = field("body").into_bytes();
        }
        Ok(req)
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter())
            .next()
            .map(|s| s.as_str())
    }

    /// Every value of header `name` (any case), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter().map(|s| s.as_str()))
            .collect()
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as text, if it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}

fn headers_json(headers: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (name, _)) in headers.iter().enumerate() {
        if headers[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&json::quote(name));
        out.push_str(":[");
        let values: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| json::quote(v))
            .collect();
        out.push_str(&values.join(","));
        out.push(']');
    }
    out.push('}');
    out
}

fn body_json(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => format!("\"body\":{}", json::quote(text)),
        Err(_) => format!("\"body_base64\":\"{}\"", base64_encode(body)),
    }
}

fn write_out(text: &str) -> bool {
    let mut out = std::io::stdout();
    let ok = out.write_all(text.as_bytes()).is_ok() && out.flush().is_ok();
    if !ok {
        eprintln!("jinn: could not write the response");
    }
    ok
}

/// A response. Any bytes may go in `body`: a body that is not UTF-8 is sent
/// as body_base64.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }
    /// Adds a header value (a name may repeat).
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn body(mut self, bytes: &[u8]) -> Response {
        self.body = bytes.to_vec();
        self
    }
    pub fn text(self, text: &str) -> Response {
        self.body(text.as_bytes())
    }
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"status\":{}", self.status);
        if !self.headers.is_empty() {
            out.push_str(",\"headers\":");
            out.push_str(&headers_json(&self.headers));
        }
        out.push(',');
        out.push_str(&body_json(&self.body));
        out.push_str("}\n");
        out
    }
    /// Writes the response to stdout; exits with 1 if it cannot.
    pub fn send(&self) {
        if !write_out(&self.to_json()) {
            std::process::exit(1);
        }
    }
}

/// A middleware's "continue": the request goes on, changed as listed.
#[derive(Debug, Clone, Default)]
pub struct Continue {
    pub set_headers: Vec<(String, String)>,
    pub remove_headers: Vec<String>,
    pub body: Option<Vec<u8>>,
}

impl Continue {
    pub fn new() -> Continue {
        Continue::default()
    }
    /// Replaces all values of request header `name` (repeat to set several).
    pub fn set(mut self, name: &str, value: &str) -> Continue {
        self.set_headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn remove(mut self, name: &str) -> Continue {
        self.remove_headers.push(name.to_string());
        self
    }
    pub fn body(mut self, bytes: &[u8]) -> Continue {
        self.body = Some(bytes.to_vec());
        self
    }
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"action\":\"continue\"");
        if !self.set_headers.is_empty() {
            out.push_str(",\"set_headers\":");
            out.push_str(&headers_json(&self.set_headers));
        }
        if !self.remove_headers.is_empty() {
            let names: Vec<String> = self.remove_headers.iter().map(|n| json::quote(n)).collect();
            out.push_str(&format!(",\"remove_headers\":[{}]", names.join(",")));
        }
        if let Some(body) = &self.body {
            out.push(',');
            out.push_str(&body_json(body));
        }
        out.push_str("}\n");
        out
    }
    pub fn send(&self) {
        if !write_out(&self.to_json()) {
            std::process::exit(1);
        }
    }
}

/// Prints `message` on stderr and exits with 1 (the client gets a 500).
pub fn fail(message: &str) -> ! {
    eprintln!("jinn: {}", message);
    std::process::exit(1)
}
