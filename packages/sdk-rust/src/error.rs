//! The errnos the ABI's functions return (WASI preview1 numbering), as a Rust error type.

use std::fmt;

/// Why a call failed: one of the errnos of docs/program-abi.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// `2BIG` (1): an input longer than 64 MiB.
    TooBig,
    /// `BADF` (8): no key of this run has that handle.
    BadF,
    /// `BADMSG` (9): verification failed (a MAC, AEAD tag or signature that does not match).
    BadMsg,
    /// `FAULT` (21): a pointer and length that leave the program's memory.
    Fault,
    /// `ILSEQ` (25): a path that is not UTF-8.
    IlSeq,
    /// `INVAL` (28): an argument that makes no sense (unknown algorithm, wrong key size or data, wrong nonce length).
    Inval,
    /// `NOBUFS` (42): an output buffer too small. The safe API grows its buffers, so it returns this only
    /// if the runtime keeps asking for less than it was given.
    NoBufs,
    /// `NOENT` (44): no such principal (subject), or no such file.
    NoEnt,
    /// `NOMEM` (48): 1024 keys already exist in this run.
    NoMem,
    /// `NOTSUP` (58): a known but unsupported combination.
    NotSup,
    /// `PERM` (63): the key's usage policy forbids the operation, or narrowing would widen a right.
    Perm,
    /// `NOTCAPABLE` (76): the program's own rights do not allow a file operation.
    NotCapable,
    /// Any other non-zero errno.
    Other(i32),
}

/// The result of an ABI call.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `Ok(())` for errno 0 (`SUCCESS`), the error otherwise.
    pub fn check(errno: i32) -> Result<()> {
        match errno {
            0 => Ok(()),
            other => Err(Error::from_errno(other)),
        }
    }

    /// The error for a non-zero errno.
    pub fn from_errno(errno: i32) -> Error {
        match errno {
            1 => Error::TooBig,
            8 => Error::BadF,
            9 => Error::BadMsg,
            21 => Error::Fault,
            25 => Error::IlSeq,
            28 => Error::Inval,
            42 => Error::NoBufs,
            44 => Error::NoEnt,
            48 => Error::NoMem,
            58 => Error::NotSup,
            63 => Error::Perm,
            76 => Error::NotCapable,
            other => Error::Other(other),
        }
    }

    /// The errno's value.
    pub fn errno(self) -> i32 {
        match self {
            Error::TooBig => 1,
            Error::BadF => 8,
            Error::BadMsg => 9,
            Error::Fault => 21,
            Error::IlSeq => 25,
            Error::Inval => 28,
            Error::NoBufs => 42,
            Error::NoEnt => 44,
            Error::NoMem => 48,
            Error::NotSup => 58,
            Error::Perm => 63,
            Error::NotCapable => 76,
            Error::Other(errno) => errno,
        }
    }

    /// The errno's name as the ABI writes it (`BADF`); `ERRNO` for [`Error::Other`].
    pub fn name(self) -> &'static str {
        match self {
            Error::TooBig => "2BIG",
            Error::BadF => "BADF",
            Error::BadMsg => "BADMSG",
            Error::Fault => "FAULT",
            Error::IlSeq => "ILSEQ",
            Error::Inval => "INVAL",
            Error::NoBufs => "NOBUFS",
            Error::NoEnt => "NOENT",
            Error::NoMem => "NOMEM",
            Error::NotSup => "NOTSUP",
            Error::Perm => "PERM",
            Error::NotCapable => "NOTCAPABLE",
            Error::Other(_) => "ERRNO",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Error::TooBig => "an input longer than 64 MiB",
            Error::BadF => "no key of this run has that handle",
            Error::BadMsg => "verification failed",
            Error::Fault => "a pointer and length that leave the program's memory",
            Error::IlSeq => "a path that is not UTF-8",
            Error::Inval => "an invalid argument",
            Error::NoBufs => "the output buffer is too small",
            Error::NoEnt => "no such subject or file",
            Error::NoMem => "too many keys in this run",
            Error::NotSup => "not supported",
            Error::Perm => "not permitted",
            Error::NotCapable => "the program's rights do not allow it",
            Error::Other(_) => "unknown error",
        }
    }
}

impl fmt::Display for Error {
    /// `BADF (8): no key of this run has that handle`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.errno(), self.meaning())
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::Other, error)
    }
}
