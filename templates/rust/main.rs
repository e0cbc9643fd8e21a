// {{name}}: a jinn function in Rust. Build with ./build.sh, then try it:
//   jinn call {{name}}.wasm --path '/hello' --body 'some bytes'
// The SDK (jinn.rs) reads the request from stdin and writes the response to
// stdout; anything you print for debugging goes to stderr (eprintln!).
mod jinn;

fn main() {
    let req = jinn::Request::read().unwrap_or_else(|e| jinn::fail(&e));
    let mut text = format!("hello from {{name}}: {} {}\n", req.method, req.path);
    if !req.body.is_empty() {
        text.push_str(&format!("you sent {} bytes\n", req.body.len()));
    }
    jinn::Response::new(200)
        .header("Content-Type", "text/plain; charset=utf-8")
        .text(&text)
        .send();
}
