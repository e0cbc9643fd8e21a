// A Rust std::fs guest for the WASI file-system tests: a fixed scenario on
// the writable preopen "/rw" and the read-only preopen "/ro", one line of
// output per step ("<step>: <result>"), so the test compares the whole text.
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

fn kind(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "NotFound".into(),
        ErrorKind::PermissionDenied => "PermissionDenied".into(),
        ErrorKind::AlreadyExists => "AlreadyExists".into(),
        _ => format!("os error {:?}", e.raw_os_error()),
    }
}

fn step<T: std::fmt::Debug>(name: &str, r: std::io::Result<T>) {
    match r {
        Ok(v) => println!("{}: ok {:?}", name, v),
        Err(e) => println!("{}: err {}", name, kind(&e)),
    }
}

fn main() {
    step("create_dir_all", fs::create_dir_all("/rw/a/b/c"));
    step("write", fs::write("/rw/a/b/c/hello.txt", "hello from rust"));
    step("read", fs::read_to_string("/rw/a/b/c/hello.txt"));
    step(
        "append",
        OpenOptions::new()
            .append(true)
            .open("/rw/a/b/c/hello.txt")
            .and_then(|mut f| f.write_all(b", appended")),
    );
    step("read_appended", fs::read_to_string("/rw/a/b/c/hello.txt"));
    step(
        "create_new_twice",
        OpenOptions::new().write(true).create_new(true).open("/rw/a/b/c/hello.txt").map(|_| ()),
    );
    step(
        "seek_and_read",
        fs::File::open("/rw/a/b/c/hello.txt").and_then(|mut f| {
            f.seek(SeekFrom::Start(6))?;
            let mut s = String::new();
            f.read_to_string(&mut s)?;
            Ok(s)
        }),
    );
    step("rename", fs::rename("/rw/a/b/c/hello.txt", "/rw/a/moved.txt"));
    step("hard_link", fs::hard_link("/rw/a/moved.txt", "/rw/a/linked.txt"));
    step("metadata_len", fs::metadata("/rw/a/linked.txt").map(|m| m.len()));
    step(
        "set_len",
        OpenOptions::new().write(true).open("/rw/a/linked.txt").and_then(|f| f.set_len(5)),
    );
    step("read_truncated", fs::read_to_string("/rw/a/moved.txt"));
    for i in 0..40 {
        fs::write(format!("/rw/a/b/entry-{:02}", i), [b'x'; 3]).unwrap();
    }
    step(
        "read_dir",
        fs::read_dir("/rw/a/b").map(|it| {
            let mut names: Vec<String> =
                it.map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            names.sort();
            (names.len(), names.first().cloned(), names.last().cloned())
        }),
    );
    step("remove_file", fs::remove_file("/rw/a/linked.txt"));
    step("remove_file_again", fs::remove_file("/rw/a/linked.txt"));
    step("remove_dir_not_empty", fs::remove_dir("/rw/a"));
    step("remove_dir_all", fs::remove_dir_all("/rw/a"));
    step("exists_after", fs::metadata("/rw/a").map(|_| ()));
    step("read_only_write", fs::write("/ro/nope.txt", "x"));
    step("read_only_read", fs::read_to_string("/ro/file.txt"));
    step("read_only_mkdir", fs::create_dir("/ro/newdir"));
    step("escape", fs::read_to_string("/rw/../outside/secret.txt"));
}
