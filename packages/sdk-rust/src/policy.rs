//! The computation this program runs in (`veracruz_v1`): the policy in force, who holds which rights
//! on a path, narrowing rights for the rest of the computation, and results signed by the isolate.
//!
//! Subjects are the policy's principals, named by their `id`, and its programs, named
//! [`program`]`(i)` for the `i`-th entry of `programs[]`. Rights are the WASI rights bits of the
//! policy's `file_rights` (see [`right`]).

use crate::crypto::grow_output;
use crate::error::{Error, Result};
use crate::ffi;

/// Bit set in the subject of a program.
pub const PROGRAM: u32 = 0x8000_0000;

/// The subject of the `index`-th entry of the policy's `programs[]`.
pub const fn program(index: u32) -> u32 {
    PROGRAM | index
}

/// The rights bits (WASI's, plus Veracruz's `FD_EXECUTE`) and the policy's `r`/`w`/`x` shorthands.
pub mod right {
    pub const FD_DATASYNC: u32 = 1 << 0;
    pub const FD_READ: u32 = 1 << 1;
    pub const FD_SEEK: u32 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u32 = 1 << 3;
    pub const FD_SYNC: u32 = 1 << 4;
    pub const FD_TELL: u32 = 1 << 5;
    pub const FD_WRITE: u32 = 1 << 6;
    pub const FD_ADVISE: u32 = 1 << 7;
    pub const FD_ALLOCATE: u32 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u32 = 1 << 9;
    pub const PATH_CREATE_FILE: u32 = 1 << 10;
    pub const PATH_LINK_SOURCE: u32 = 1 << 11;
    pub const PATH_LINK_TARGET: u32 = 1 << 12;
    pub const PATH_OPEN: u32 = 1 << 13;
    pub const FD_READDIR: u32 = 1 << 14;
    pub const PATH_READLINK: u32 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u32 = 1 << 16;
    pub const PATH_RENAME_TARGET: u32 = 1 << 17;
    pub const PATH_FILESTAT_GET: u32 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u32 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u32 = 1 << 20;
    pub const FD_FILESTAT_GET: u32 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u32 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u32 = 1 << 23;
    pub const PATH_SYMLINK: u32 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u32 = 1 << 25;
    pub const PATH_UNLINK_FILE: u32 = 1 << 26;
    pub const POLL_FD_READWRITE: u32 = 1 << 27;
    pub const SOCK_SHUTDOWN: u32 = 1 << 28;
    pub const FD_EXECUTE: u32 = 1 << 29;
    /// `r`: PATH_OPEN | FD_READ | FD_SEEK | FD_READDIR.
    pub const READ: u32 = PATH_OPEN | FD_READ | FD_SEEK | FD_READDIR;
    /// `w`: FD_WRITE | PATH_CREATE_FILE | PATH_FILESTAT_SET_SIZE | FD_SEEK | PATH_OPEN | PATH_CREATE_DIRECTORY.
    pub const WRITE: u32 = FD_WRITE | PATH_CREATE_FILE | PATH_FILESTAT_SET_SIZE | FD_SEEK | PATH_OPEN | PATH_CREATE_DIRECTORY;
    /// `x`: PATH_OPEN | FD_EXECUTE | FD_SEEK.
    pub const EXECUTE: u32 = PATH_OPEN | FD_EXECUTE | FD_SEEK;
}

/// The policy's exact bytes.
pub fn bytes() -> Result<Vec<u8>> {
    grow_output(4096, |out, size, len| unsafe { ffi::policy_get(out, size, len) })
}

/// The policy's JSON text ([`Error::IlSeq`] if its bytes were not UTF-8, which a policy's never are).
pub fn text() -> Result<String> {
    String::from_utf8(bytes()?).map_err(|_| Error::IlSeq)
}

/// The policy's SHA-256: the hash every principal checked.
pub fn hash() -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    Error::check(unsafe { ffi::policy_hash(out.as_mut_ptr()) })?;
    Ok(out)
}

/// Every subject: the principals' ids in policy order, then the programs ([`program`]`(i)`).
pub fn subjects() -> Result<Vec<u32>> {
    grow_output(16, |out, count, needed| unsafe { ffi::subjects(out, count, needed) })
}

/// The rights in force (the policy's, less any narrowing) of `subject` on `path`; 0 for none,
/// [`Error::NoEnt`] for no such subject.
pub fn rights(subject: u32, path: &str) -> Result<u32> {
    let mut rights = 0u32;
    Error::check(unsafe { ffi::rights_get(subject, path.as_ptr(), path.len(), &mut rights) })?;
    Ok(rights)
}

/// The principals that may read `path` now.
pub fn readers(path: &str) -> Result<Vec<u32>> {
    grow_output(16, |out, count, needed| unsafe { ffi::readers(path.as_ptr(), path.len(), out, count, needed) })
}

/// From now on (for every later request and program run of this computation), `subject` holds
/// exactly `rights` on `path` and below it. [`Error::Perm`], and nothing changes, if `rights` holds a
/// bit the subject lacks there now. Every party can see the narrowing.
pub fn narrow(subject: u32, path: &str, rights: u32) -> Result<()> {
    Error::check(unsafe { ffi::rights_narrow(subject, path.as_ptr(), path.len(), rights) })
}

/// Signs the file at `path` with the isolate's attested key, writing the signed-result envelope
/// (JSON) to `out_path`. Needs this program's read right on `path` and write right on `out_path`
/// ([`Error::NotCapable`]).
pub fn sign_result(path: &str, out_path: &str) -> Result<()> {
    Error::check(unsafe { ffi::result_sign(path.as_ptr(), path.len(), out_path.as_ptr(), out_path.len()) })
}
