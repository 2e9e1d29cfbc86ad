//! Sealed exchange: two parties agree on a key (X25519), derive a ChaCha20-Poly1305 key from it
//! (HKDF-SHA-256), one seals a message that the other opens, and the sealed message is signed with
//! ECDSA P-256 for anyone to check. The private keys, the session keys and the signing key stay in
//! the runtime; the program sees public keys and the agreement's raw secret (the ABI's ECDH output,
//! which it turns straight into an HKDF key).
//!
//! Input:   /input/message.dat: any bytes.
//! Outputs: /output/alice.pub, /output/bob.pub: the parties' X25519 public keys (32 bytes each);
//!          /output/sealed.dat: nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes), from Alice to Bob;
//!          /output/opened.dat: what Bob opened (the message);
//!          /output/signer.pub: the signing key's P-256 public key (0x04 ‖ x ‖ y, 65 bytes);
//!          /output/signature.dat: ECDSA P-256 SHA-256 signature of sealed.dat (r ‖ s, 64 bytes);
//!          stdout: one line per step.
//! Exit:    0 success, 1 a check failed or a call failed, 2 the message is missing, 4 an output cannot be written.

use std::fs;
use std::process::exit;

use veracruz::crypto::{self, Alg, EccFamily, Key, KeyType, Usage};
use veracruz::Error;

const CHECK_FAILED: i32 = 1;
const MISSING_INPUT: i32 = 2;
const OUTPUT_FAILED: i32 = 4;

const INFO: &[u8] = b"veracruz-ts sealed-exchange v1";

fn fail(code: i32, message: String) -> ! {
    eprintln!("error: {}", message);
    exit(code)
}

/// The value, or the program ends reporting which step failed.
fn check<T>(step: &str, result: Result<T, Error>) -> T {
    result.unwrap_or_else(|e| fail(CHECK_FAILED, format!("{}: {}", step, e)))
}

fn write(path: &str, data: &[u8]) {
    if let Err(e) = fs::write(path, data) {
        fail(OUTPUT_FAILED, format!("cannot write {}: {}", path, e));
    }
}

/// One party's ChaCha20-Poly1305 key, from its X25519 key and the other party's public key.
fn session_key(own: &Key, peer_public: &[u8], salt: &[u8], usage: Usage) -> Result<Key, Error> {
    let secret = own.agree(peer_public)?;
    let ikm = Key::import(KeyType::DERIVE, 0, Usage::DERIVE, Alg::hkdf(Alg::SHA_256), &secret)?;
    ikm.derive_key(salt, INFO, KeyType::CHACHA20, 256, usage, Alg::CHACHA20_POLY1305)
}

fn main() {
    let message = fs::read("/input/message.dat").unwrap_or_else(|e| fail(MISSING_INPUT, format!("cannot read /input/message.dat: {}", e)));

    let x25519 = KeyType::ecc_key_pair(EccFamily::MONTGOMERY);
    let alice = check("generate Alice's key", Key::generate(x25519, 255, Usage::DERIVE, Alg::ECDH));
    let bob = check("generate Bob's key", Key::generate(x25519, 255, Usage::DERIVE, Alg::ECDH));
    let alice_public = check("export Alice's public key", alice.export_public());
    let bob_public = check("export Bob's public key", bob.export_public());
    write("/output/alice.pub", &alice_public);
    write("/output/bob.pub", &bob_public);

    let alice_secret = check("Alice's agreement", alice.agree(&bob_public));
    if alice_secret != check("Bob's agreement", bob.agree(&alice_public)) {
        fail(CHECK_FAILED, "the two sides' shared secrets differ".to_string());
    }
    println!("agreed: {}-byte shared secret", alice_secret.len());

    // Both public keys salt the derivation and authenticate the message, binding it to this pair.
    let transcript = [alice_public.as_slice(), bob_public.as_slice()].concat();
    let sealing = check("Alice's session key", session_key(&alice, &bob_public, &transcript, Usage::ENCRYPT));
    let opening = check("Bob's session key", session_key(&bob, &alice_public, &transcript, Usage::DECRYPT));

    let mut sealed = check("nonce", crypto::random(12));
    let ciphertext = check("seal", crypto::aead_encrypt(&sealing, &sealed, &transcript, &message));
    sealed.extend_from_slice(&ciphertext);
    write("/output/sealed.dat", &sealed);
    println!("sealed: {} bytes", sealed.len());

    let (nonce, body) = sealed.split_at(12);
    let opened = check("open", crypto::aead_decrypt(&opening, nonce, &transcript, body));
    if opened != message {
        fail(CHECK_FAILED, "the opened message differs".to_string());
    }
    write("/output/opened.dat", &opened);
    println!("opened: {} bytes", opened.len());

    let mut tampered = body.to_vec();
    tampered[0] ^= 1;
    match crypto::aead_decrypt(&opening, nonce, &transcript, &tampered) {
        Err(Error::BadMsg) => println!("tampered: refused"),
        other => fail(CHECK_FAILED, format!("a tampered message gave {:?}", other.map(|p| p.len()))),
    }

    let signer = check(
        "generate the signing key",
        Key::generate(
            KeyType::ecc_key_pair(EccFamily::SECP_R1),
            256,
            Usage::SIGN_MESSAGE | Usage::VERIFY_MESSAGE,
            Alg::ecdsa(Alg::SHA_256),
        ),
    );
    let signature = check("sign", signer.sign(&sealed));
    check("verify", signer.verify(&sealed, &signature));
    write("/output/signer.pub", &check("export the signer's public key", signer.export_public()));
    write("/output/signature.dat", &signature);
    println!("signed: {}-byte signature, verified", signature.len());
}
