//! Veracruz-ts's program SDK for Rust: safe bindings to the isolate's ABI (docs/program-abi.md),
//! for programs built for `wasm32-wasi`. Files are read and written with `std::fs` as usual.
//!
//! - [`crypto`]: hashing, keys held by the runtime (generate, import, export, sign, verify, MAC,
//!   key agreement, HKDF), AEAD and random bytes (`veracruz_crypto_v1`);
//! - [`policy`]: the policy in force, rights, narrowing and signed results (`veracruz_v1`);
//! - [`ffi`]: the raw imports;
//! - [`Error`]: the ABI's errnos.
//!
//! (The example runs in an isolate or `vc-fee`, not on the host.)
//!
//! ```ignore
//! use veracruz::crypto::{self, Alg};
//! let digest = crypto::hash(Alg::SHA_256, b"abc")?;
//! assert_eq!(digest.len(), 32);
//! # Ok::<(), veracruz::Error>(())
//! ```

pub mod crypto;
mod error;
pub mod ffi;
pub mod policy;

pub use error::{Error, Result};
