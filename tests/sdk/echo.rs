// SDK round-trip guest (Rust): answers 201 with the request's X-* headers
// (every value, in order), its method and path, and its body bytes.
mod jinn;

fn main() {
    let req = jinn::Request::read().unwrap_or_else(|e| jinn::fail(&e));
    let mut res = jinn::Response::new(201).header("X-Method", &req.method).header("X-Path", &req.path);
    for (name, values) in &req.headers {
        if !name.starts_with("X-") {
            continue;
        }
        for v in values {
            res = res.header(name, v);
        }
    }
    res.body(&req.body).send();
}
