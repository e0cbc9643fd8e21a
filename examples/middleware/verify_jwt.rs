// Middleware: verifies an HS256 JSON Web Token (RFC 7519) in
// `Authorization: Bearer <token>` before the request reaches the upstream.
// Checked: three base64url parts, header alg exactly "HS256" (no "none", no
// other algorithm), the HMAC-SHA256 signature with the secret JWT_SECRET
// (compared in constant time), `exp` (required) in the future and `nbf` (if
// present) in the past. Failure: 401 with a WWW-Authenticate header naming
// the reason. Success: continue, with X-User set from `sub`, and the token
// removed so the upstream never sees it. SHA-256 is written out below: no
// crates here, and the wasm32-wasi std has no crypto.
#[path = "../../sdk/rust/jinn.rs"]
mod jinn;

use std::time::{SystemTime, UNIX_EPOCH};

fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([block[4 * i], block[4 * i + 1], block[4 * i + 2], block[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

/// base64url without padding (RFC 7515), as JWTs use it.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    if s.contains('=') || s.contains('+') || s.contains('/') {
        return None;
    }
    let mut std: String = s.chars().map(|c| match c { '-' => '+', '_' => '/', c => c }).collect();
    while std.len() % 4 != 0 {
        std.push('=');
    }
    jinn::base64_decode(&std)
}

fn unauthorized(reason: &str) {
    jinn::Response::new(401)
        .header("WWW-Authenticate", &format!("Bearer error=\"invalid_token\", error_description=\"{}\"", reason))
        .header("Content-Type", "text/plain; charset=utf-8")
        .text(&format!("unauthorized: {}\n", reason))
        .send();
}

fn verify(token: &str, secret: &[u8], now: f64) -> Result<String, &'static str> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("token must have three parts");
    }
    let header = base64url_decode(parts[0]).ok_or("bad header encoding")?;
    let header = jinn::json::parse(std::str::from_utf8(&header).map_err(|_| "bad header")?)
        .map_err(|_| "header is not JSON")?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err("alg must be HS256");
    }
    let signature = base64url_decode(parts[2]).ok_or("bad signature encoding")?;
    let expected = hmac_sha256(secret, format!("{}.{}", parts[0], parts[1]).as_bytes());
    let mut diff = (signature.len() != expected.len()) as u8;
    for (i, b) in expected.iter().enumerate() {
        diff |= b ^ signature.get(i).copied().unwrap_or(0);
    }
    if diff != 0 {
        return Err("bad signature");
    }
    let claims = base64url_decode(parts[1]).ok_or("bad payload encoding")?;
    let claims = jinn::json::parse(std::str::from_utf8(&claims).map_err(|_| "bad payload")?)
        .map_err(|_| "payload is not JSON")?;
    match claims.get("exp").and_then(|e| e.as_f64()) {
        Some(exp) if exp > now => {}
        Some(_) => return Err("token expired"),
        None => return Err("exp is required"),
    }
    if let Some(nbf) = claims.get("nbf").and_then(|n| n.as_f64()) {
        if nbf > now {
            return Err("token not valid yet");
        }
    }
    claims.get("sub").and_then(|s| s.as_str()).map(String::from).ok_or("sub is required")
}

fn main() {
    let req = jinn::Request::read().unwrap_or_else(|e| jinn::fail(&e));
    let secret = std::env::var("JWT_SECRET").unwrap_or_default();
    if secret.is_empty() {
        jinn::fail("JWT_SECRET is not set"); // never let a request pass unchecked
    }
    let token = match req.header("Authorization").and_then(|h| h.strip_prefix("Bearer ")) {
        Some(t) => t.trim(),
        None => return unauthorized("missing bearer token"),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    match verify(token, secret.as_bytes(), now) {
        Ok(user) => jinn::Continue::new().set("X-User", &user).remove("Authorization").send(),
        Err(reason) => unauthorized(reason),
    }
}
