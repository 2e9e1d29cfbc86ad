//! Cryptography in the isolate (`veracruz_crypto_v1`), shaped after the PSA Crypto API: keys are
//! handles whose usage policy and algorithm are fixed when they are made, and key material stays in
//! the runtime unless a key was made with [`Usage::EXPORT`].

use std::ops::BitOr;

use crate::error::{Error, Result};
use crate::ffi;

/// An algorithm identifier (PSA's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Alg(pub u32);

impl Alg {
    pub const SHA_256: Alg = Alg(0x0200_0009);
    pub const SHA_384: Alg = Alg(0x0200_000a);
    pub const SHA_512: Alg = Alg(0x0200_000b);
    /// AES-GCM: 12-byte nonce, 16-byte tag.
    pub const GCM: Alg = Alg(0x0550_0200);
    /// ChaCha20-Poly1305: 12-byte nonce, 16-byte tag.
    pub const CHACHA20_POLY1305: Alg = Alg(0x0510_0500);
    /// Ed25519 (64-byte signatures).
    pub const PURE_EDDSA: Alg = Alg(0x0600_0800);
    /// Elliptic-curve Diffie-Hellman (P-256 and X25519).
    pub const ECDH: Alg = Alg(0x0902_0000);
    /// No algorithm: a key made with it serves no operation (only export).
    pub const NONE: Alg = Alg(0);

    /// HMAC with `hash`.
    pub const fn hmac(hash: Alg) -> Alg {
        Alg(0x0380_0000 | (hash.0 & 0xff))
    }

    /// HKDF with `hash`.
    pub const fn hkdf(hash: Alg) -> Alg {
        Alg(0x0800_0100 | (hash.0 & 0xff))
    }

    /// ECDSA with `hash` (signature `r ‖ s`, each the curve's size, big-endian).
    pub const fn ecdsa(hash: Alg) -> Alg {
        Alg(0x0600_0600 | (hash.0 & 0xff))
    }
}

/// An elliptic curve family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EccFamily(pub u32);

impl EccFamily {
    /// NIST P-256 (256 bits) and P-384 (384 bits).
    pub const SECP_R1: EccFamily = EccFamily(0x12);
    /// X25519 (255 bits).
    pub const MONTGOMERY: EccFamily = EccFamily(0x41);
    /// Ed25519 (255 bits).
    pub const TWISTED_EDWARDS: EccFamily = EccFamily(0x42);
}

/// A key type (PSA's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyType(pub u32);

impl KeyType {
    pub const RAW_DATA: KeyType = KeyType(0x1001);
    pub const HMAC: KeyType = KeyType(0x1100);
    /// Input keying material for HKDF.
    pub const DERIVE: KeyType = KeyType(0x1200);
    /// 128, 192 or 256 bits.
    pub const AES: KeyType = KeyType(0x2400);
    /// 256 bits.
    pub const CHACHA20: KeyType = KeyType(0x2004);

    /// A key pair of curve `family`.
    pub const fn ecc_key_pair(family: EccFamily) -> KeyType {
        KeyType(0x7100 | family.0)
    }

    /// A public key of curve `family`.
    pub const fn ecc_public_key(family: EccFamily) -> KeyType {
        KeyType(0x4100 | family.0)
    }
}

/// What a key may be used for; combine flags with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Usage(pub u32);

impl Usage {
    pub const NONE: Usage = Usage(0);
    pub const EXPORT: Usage = Usage(0x1);
    pub const ENCRYPT: Usage = Usage(0x100);
    pub const DECRYPT: Usage = Usage(0x200);
    pub const SIGN_MESSAGE: Usage = Usage(0x400);
    pub const VERIFY_MESSAGE: Usage = Usage(0x800);
    pub const DERIVE: Usage = Usage(0x4000);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Usage) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Usage {
    type Output = Usage;
    fn bitor(self, other: Usage) -> Usage {
        Usage(self.0 | other.0)
    }
}

/// A key's attributes, as the runtime holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    pub key_type: KeyType,
    pub bits: u32,
    pub usage: Usage,
    pub alg: Alg,
}

/// Calls `call(out, out_size, out_len)` with a buffer of `guess` bytes, and again with the size the
/// runtime asked for while it answers `NOBUFS`.
pub(crate) fn grow_output<T: Copy + Default>(guess: usize, mut call: impl FnMut(*mut T, usize, *mut usize) -> i32) -> Result<Vec<T>> {
    let mut buffer = vec![T::default(); guess];
    loop {
        let mut needed = 0usize;
        match Error::check(call(buffer.as_mut_ptr(), buffer.len(), &mut needed)) {
            Ok(()) => {
                buffer.truncate(needed);
                return Ok(buffer);
            }
            // Only ever grows, so this ends; a runtime asking for no more than it got gets NOBUFS back.
            Err(Error::NoBufs) if needed > buffer.len() => buffer.resize(needed, T::default()),
            Err(error) => return Err(error),
        }
    }
}

/// A key held by the runtime, made for one algorithm. Dropping it destroys it.
#[derive(Debug)]
pub struct Key {
    handle: u32,
    alg: Alg,
}

impl Key {
    /// A new random key of `key_type` and `bits`, for `usage` with `alg`.
    pub fn generate(key_type: KeyType, bits: u32, usage: Usage, alg: Alg) -> Result<Key> {
        let mut handle = 0u32;
        Error::check(unsafe { ffi::key_generate(key_type.0, bits, usage.0, alg.0, &mut handle) })?;
        Ok(Key { handle, alg })
    }

    /// A key from its data in PSA's format (`bits` 0: from the data's length).
    pub fn import(key_type: KeyType, bits: u32, usage: Usage, alg: Alg, data: &[u8]) -> Result<Key> {
        let mut handle = 0u32;
        Error::check(unsafe { ffi::key_import(key_type.0, bits, usage.0, alg.0, data.as_ptr(), data.len(), &mut handle) })?;
        Ok(Key { handle, alg })
    }

    /// The runtime's handle (for [`crate::ffi`] calls; the key still belongs to this value).
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// The algorithm the key was made for (every operation below uses it).
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Type, size, usage and algorithm.
    pub fn attributes(&self) -> Result<Attributes> {
        let mut words = [0u32; 4];
        Error::check(unsafe { ffi::key_attributes(self.handle, words.as_mut_ptr()) })?;
        Ok(Attributes {
            key_type: KeyType(words[0]),
            bits: words[1],
            usage: Usage(words[2]),
            alg: Alg(words[3]),
        })
    }

    /// The key's data; [`Error::Perm`] unless it was made with [`Usage::EXPORT`].
    pub fn export(&self) -> Result<Vec<u8>> {
        grow_output(64, |out, size, len| unsafe { ffi::key_export(self.handle, out, size, len) })
    }

    /// The public key of a key pair or public key ([`Error::Inval`] for a symmetric key).
    pub fn export_public(&self) -> Result<Vec<u8>> {
        grow_output(97, |out, size, len| unsafe { ffi::key_export_public(self.handle, out, size, len) })
    }

    /// A signature of `message` (ECDSA or Ed25519); usage [`Usage::SIGN_MESSAGE`].
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        grow_output(96, |out, size, len| unsafe {
            ffi::sign_message(self.handle, self.alg.0, message.as_ptr(), message.len(), out, size, len)
        })
    }

    /// `Ok` if `signature` is the key's on `message`, [`Error::BadMsg`] if not; usage [`Usage::VERIFY_MESSAGE`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        Error::check(unsafe { ffi::verify_message(self.handle, self.alg.0, message.as_ptr(), message.len(), signature.as_ptr(), signature.len()) })
    }

    /// The HMAC of `message`; usage [`Usage::SIGN_MESSAGE`].
    pub fn mac(&self, message: &[u8]) -> Result<Vec<u8>> {
        grow_output(64, |out, size, len| unsafe {
            ffi::mac_compute(self.handle, self.alg.0, message.as_ptr(), message.len(), out, size, len)
        })
    }

    /// `Ok` if `mac` is `message`'s HMAC (compared in constant time), [`Error::BadMsg`] if not; usage [`Usage::VERIFY_MESSAGE`].
    pub fn verify_mac(&self, message: &[u8], mac: &[u8]) -> Result<()> {
        Error::check(unsafe { ffi::mac_verify(self.handle, self.alg.0, message.as_ptr(), message.len(), mac.as_ptr(), mac.len()) })
    }

    /// The raw ECDH shared secret with a peer's public key (in the public-key format); usage [`Usage::DERIVE`].
    pub fn agree(&self, peer_public: &[u8]) -> Result<Vec<u8>> {
        grow_output(48, |out, size, len| unsafe {
            ffi::key_agreement(self.handle, self.alg.0, peer_public.as_ptr(), peer_public.len(), out, size, len)
        })
    }

    /// HKDF from this `DERIVE` key to a new symmetric key of `key_type`/`bits` for `usage` with `alg`.
    pub fn derive_key(&self, salt: &[u8], info: &[u8], key_type: KeyType, bits: u32, usage: Usage, alg: Alg) -> Result<Key> {
        let mut handle = 0u32;
        Error::check(unsafe {
            ffi::key_derive(
                self.handle,
                self.alg.0,
                salt.as_ptr(),
                salt.len(),
                info.as_ptr(),
                info.len(),
                key_type.0,
                bits,
                usage.0,
                alg.0,
                &mut handle,
            )
        })?;
        Ok(Key { handle, alg })
    }

    /// `len` bytes of HKDF output from this `DERIVE` key (at most 255 hash lengths).
    pub fn derive_bytes(&self, salt: &[u8], info: &[u8], len: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; len];
        Error::check(unsafe {
            ffi::derive_bytes(
                self.handle,
                self.alg.0,
                salt.as_ptr(),
                salt.len(),
                info.as_ptr(),
                info.len(),
                out.as_mut_ptr(),
                len,
            )
        })?;
        Ok(out)
    }

    /// Destroys the key now, reporting the runtime's answer (dropping it does the same, silently).
    pub fn destroy(self) -> Result<()> {
        let handle = self.handle;
        std::mem::forget(self);
        Error::check(unsafe { ffi::key_destroy(handle) })
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // The errno is ignored: the one failure is BADF, a key already destroyed through `ffi`.
        unsafe { ffi::key_destroy(self.handle) };
    }
}

/// Fills `buf` from the isolate's CSPRNG.
pub fn random_fill(buf: &mut [u8]) -> Result<()> {
    Error::check(unsafe { ffi::random(buf.as_mut_ptr(), buf.len()) })
}

/// `len` bytes from the isolate's CSPRNG.
pub fn random(len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    random_fill(&mut out)?;
    Ok(out)
}

/// The digest of `data` with `alg` ([`Alg::SHA_256`], [`Alg::SHA_384`] or [`Alg::SHA_512`]).
pub fn hash(alg: Alg, data: &[u8]) -> Result<Vec<u8>> {
    grow_output(64, |out, size, len| unsafe { ffi::hash(alg.0, data.as_ptr(), data.len(), out, size, len) })
}

/// Encrypts `plaintext` with an AEAD key ([`Alg::GCM`] or [`Alg::CHACHA20_POLY1305`], 12-byte nonce):
/// the ciphertext followed by the 16-byte tag. Usage [`Usage::ENCRYPT`].
pub fn aead_encrypt(key: &Key, nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    grow_output(plaintext.len() + 16, |out, size, len| unsafe {
        ffi::aead_encrypt(
            key.handle,
            key.alg.0,
            nonce.as_ptr(),
            nonce.len(),
            aad.as_ptr(),
            aad.len(),
            plaintext.as_ptr(),
            plaintext.len(),
            out,
            size,
            len,
        )
    })
}

/// Decrypts ciphertext-and-tag from [`aead_encrypt`]: the plaintext, or [`Error::BadMsg`] if the tag
/// does not match (the ciphertext, nonce, additional data or key differ). Usage [`Usage::DECRYPT`].
pub fn aead_decrypt(key: &Key, nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
    grow_output(ciphertext.len().saturating_sub(16), |out, size, len| unsafe {
        ffi::aead_decrypt(
            key.handle,
            key.alg.0,
            nonce.as_ptr(),
            nonce.len(),
            aad.as_ptr(),
            aad.len(),
            ciphertext.as_ptr(),
            ciphertext.len(),
            out,
            size,
            len,
        )
    })
}

/// HKDF (RFC 5869) with `hash` over the input keying material `secret`: `len` bytes (at most 255
/// hash lengths). The secret goes into a transient `DERIVE` key, destroyed before this returns.
pub fn hkdf(hash: Alg, secret: &[u8], salt: &[u8], info: &[u8], len: usize) -> Result<Vec<u8>> {
    Key::import(KeyType::DERIVE, 0, Usage::DERIVE, Alg::hkdf(hash), secret)?.derive_bytes(salt, info, len)
}
