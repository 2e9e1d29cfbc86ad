//! The raw imports, one for each function of docs/program-abi.md. Every function returns an errno
//! (0 = success; [`crate::Error::from_errno`] names the others). Lengths and sizes are `usize`
//! (32 bits on wasm32), variable-length outputs take `(out, out_size, out_len)` and report the
//! whole output's length at `*out_len` (`NOBUFS` when `out_size` is too small). Prefer the safe
//! API of [`crate::crypto`] and [`crate::policy`].

#[link(wasm_import_module = "veracruz_crypto_v1")]
extern "C" {
    /// `len` bytes from the isolate's CSPRNG at `buf`.
    pub fn random(buf: *mut u8, len: usize) -> i32;
    /// SHA-256/384/512 of the input.
    pub fn hash(alg: u32, input: *const u8, input_len: usize, out: *mut u8, out_size: usize, out_len: *mut usize) -> i32;
    /// A new random key; its handle at `*key`.
    pub fn key_generate(key_type: u32, bits: u32, usage: u32, alg: u32, key: *mut u32) -> i32;
    /// A key from its data (`bits` 0: from the data's length); its handle at `*key`.
    pub fn key_import(key_type: u32, bits: u32, usage: u32, alg: u32, data: *const u8, data_len: usize, key: *mut u32) -> i32;
    /// The key's data; `PERM` unless it was made with `EXPORT`.
    pub fn key_export(key: u32, out: *mut u8, out_size: usize, out_len: *mut usize) -> i32;
    /// The public key of a key pair or public key.
    pub fn key_export_public(key: u32, out: *mut u8, out_size: usize, out_len: *mut usize) -> i32;
    /// Four u32 at `out`: type, bits, usage, alg.
    pub fn key_attributes(key: u32, out: *mut u32) -> i32;
    /// Forgets the key (its handle is then `BADF`).
    pub fn key_destroy(key: u32) -> i32;
    /// HMAC of the input.
    pub fn mac_compute(key: u32, alg: u32, input: *const u8, input_len: usize, out: *mut u8, out_size: usize, out_len: *mut usize) -> i32;
    /// `BADMSG` unless the MAC matches.
    pub fn mac_verify(key: u32, alg: u32, input: *const u8, input_len: usize, mac: *const u8, mac_len: usize) -> i32;
    /// Ciphertext followed by the 16-byte tag.
    pub fn aead_encrypt(
        key: u32,
        alg: u32,
        nonce: *const u8,
        nonce_len: usize,
        aad: *const u8,
        aad_len: usize,
        input: *const u8,
        input_len: usize,
        out: *mut u8,
        out_size: usize,
        out_len: *mut usize,
    ) -> i32;
    /// The plaintext, or `BADMSG` with nothing written.
    pub fn aead_decrypt(
        key: u32,
        alg: u32,
        nonce: *const u8,
        nonce_len: usize,
        aad: *const u8,
        aad_len: usize,
        input: *const u8,
        input_len: usize,
        out: *mut u8,
        out_size: usize,
        out_len: *mut usize,
    ) -> i32;
    /// An ECDSA or Ed25519 signature of the message.
    pub fn sign_message(key: u32, alg: u32, input: *const u8, input_len: usize, sig: *mut u8, sig_size: usize, sig_len: *mut usize) -> i32;
    /// `BADMSG` unless the signature verifies.
    pub fn verify_message(key: u32, alg: u32, input: *const u8, input_len: usize, sig: *const u8, sig_len: usize) -> i32;
    /// The raw ECDH shared secret of a key pair and a peer's public key.
    pub fn key_agreement(key: u32, alg: u32, peer: *const u8, peer_len: usize, out: *mut u8, out_size: usize, out_len: *mut usize) -> i32;
    /// HKDF from a `DERIVE` key to a new symmetric key; its handle at `*derived`.
    pub fn key_derive(
        key: u32,
        alg: u32,
        salt: *const u8,
        salt_len: usize,
        info: *const u8,
        info_len: usize,
        key_type: u32,
        bits: u32,
        usage: u32,
        key_alg: u32,
        derived: *mut u32,
    ) -> i32;
    /// `out_len` bytes of HKDF output at `out`.
    pub fn derive_bytes(key: u32, alg: u32, salt: *const u8, salt_len: usize, info: *const u8, info_len: usize, out: *mut u8, out_len: usize) -> i32;
}

#[link(wasm_import_module = "veracruz_v1")]
extern "C" {
    /// The policy's exact bytes (its JSON text).
    pub fn policy_get(out: *mut u8, out_size: usize, out_len: *mut usize) -> i32;
    /// The policy's SHA-256, 32 bytes at `out`.
    pub fn policy_hash(out: *mut u8) -> i32;
    /// Every subject as u32s; `*count` = how many (`NOBUFS` if more than `out_count`).
    pub fn subjects(out: *mut u32, out_count: usize, count: *mut usize) -> i32;
    /// The rights in force of `subject` on `path`, at `*rights`.
    pub fn rights_get(subject: u32, path: *const u8, path_len: usize, rights: *mut u32) -> i32;
    /// The principals that may read `path` now; `*count` = how many.
    pub fn readers(path: *const u8, path_len: usize, out: *mut u32, out_count: usize, count: *mut usize) -> i32;
    /// From now on `subject` holds exactly `rights` on `path` and below (`PERM` if that would widen a right).
    pub fn rights_narrow(subject: u32, path: *const u8, path_len: usize, rights: u32) -> i32;
    /// Signs the file at `path` with the isolate's key, writing the signed-result envelope to `out_path`.
    pub fn result_sign(path: *const u8, path_len: usize, out_path: *const u8, out_path_len: usize) -> i32;
}
