// A Rust std guest: larger module, many WASI imports, Rust's own allocator.
fn main() {
    println!("hello from rust");
}
