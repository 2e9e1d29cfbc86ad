//! Private set intersection: the lines present in both parties' sets (examples/README.md's format,
//! the same as examples/programs/private-set-intersection in C).
//!
//! Inputs:  /input/private-set-1.dat, /input/private-set-2.dat: UTF-8 text, one element a line, each
//!          line ending in '\n' (no NUL bytes). Duplicates within a file are allowed and count once.
//! Output:  /output/private-set.dat: the common elements, sorted by bytes, unique, each followed by '\n'.
//! Exit:    0 success, 2 a set is missing or unreadable, 3 a set is malformed, 4 the output cannot be written.

use std::fs;
use std::process::exit;

const MISSING_INPUT: i32 = 2;
const MALFORMED_INPUT: i32 = 3;
const OUTPUT_FAILED: i32 = 4;

/// Prints `error: <message>` on stderr and exits with `code`.
fn fail(code: i32, message: String) -> ! {
    eprintln!("error: {}", message);
    exit(code)
}

/// The set's lines (without their '\n'), sorted by bytes and unique.
fn read_set(path: &str) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap_or_else(|e| fail(MISSING_INPUT, format!("cannot read {}: {}", path, e)));
    if data.last().map_or(false, |&last| last != b'\n') {
        fail(MALFORMED_INPUT, format!("{}: the last line does not end in a newline", path));
    }
    if data.contains(&0) {
        fail(MALFORMED_INPUT, format!("{}: contains a NUL byte", path));
    }
    if std::str::from_utf8(&data).is_err() {
        fail(MALFORMED_INPUT, format!("{}: not valid UTF-8", path));
    }
    let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    lines.pop(); // the empty piece after the last '\n' (or the whole of an empty file)
    lines.sort_unstable();
    lines.dedup();
    lines
}

fn main() {
    let first = read_set("/input/private-set-1.dat");
    let second = read_set("/input/private-set-2.dat");
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < first.len() && j < second.len() {
        match first[i].cmp(&second[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.extend_from_slice(&first[i]);
                out.push(b'\n');
                i += 1;
                j += 1;
            }
        }
    }
    if let Err(e) = fs::write("/output/private-set.dat", &out) {
        fail(OUTPUT_FAILED, format!("cannot write /output/private-set.dat: {}", e));
    }
}
