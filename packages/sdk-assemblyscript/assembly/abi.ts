// The raw imports of the programs' ABI, version 1 (docs/program-abi.md): every function returns a WASI errno
// (0 = success); pointers and lengths are wasm32 addresses and sizes. The typed layer (crypto.ts, policy.ts)
// is what programs normally use.

/** `veracruz_crypto_v1`: cryptography shaped after the PSA Crypto API. */
export namespace crypto_v1 {
  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "random")
  export declare function random(buf: usize, len: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "hash")
  export declare function hash(alg: u32, input: usize, inputLen: usize, out: usize, outSize: usize, outLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_generate")
  export declare function key_generate(type: u32, bits: u32, usage: u32, alg: u32, keyPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_import")
  export declare function key_import(type: u32, bits: u32, usage: u32, alg: u32, data: usize, dataLen: usize, keyPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_export")
  export declare function key_export(key: u32, out: usize, outSize: usize, outLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_export_public")
  export declare function key_export_public(key: u32, out: usize, outSize: usize, outLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_attributes")
  export declare function key_attributes(key: u32, out: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_destroy")
  export declare function key_destroy(key: u32): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "mac_compute")
  export declare function mac_compute(key: u32, alg: u32, input: usize, inputLen: usize, out: usize, outSize: usize, outLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "mac_verify")
  export declare function mac_verify(key: u32, alg: u32, input: usize, inputLen: usize, mac: usize, macLen: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "aead_encrypt")
  export declare function aead_encrypt(
    key: u32, alg: u32, nonce: usize, nonceLen: usize, aad: usize, aadLen: usize,
    input: usize, inputLen: usize, out: usize, outSize: usize, outLenPtr: usize
  ): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "aead_decrypt")
  export declare function aead_decrypt(
    key: u32, alg: u32, nonce: usize, nonceLen: usize, aad: usize, aadLen: usize,
    input: usize, inputLen: usize, out: usize, outSize: usize, outLenPtr: usize
  ): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "sign_message")
  export declare function sign_message(key: u32, alg: u32, input: usize, inputLen: usize, sig: usize, sigSize: usize, sigLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "verify_message")
  export declare function verify_message(key: u32, alg: u32, input: usize, inputLen: usize, sig: usize, sigLen: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_agreement")
  export declare function key_agreement(key: u32, alg: u32, peer: usize, peerLen: usize, out: usize, outSize: usize, outLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "key_derive")
  export declare function key_derive(
    key: u32, alg: u32, salt: usize, saltLen: usize, info: usize, infoLen: usize,
    type: u32, bits: u32, usage: u32, keyAlg: u32, keyPtr: usize
  ): i32;

  // @ts-ignore: decorator
  @external("veracruz_crypto_v1", "derive_bytes")
  export declare function derive_bytes(key: u32, alg: u32, salt: usize, saltLen: usize, info: usize, infoLen: usize, out: usize, outLen: usize): i32;
}

/** `veracruz_v1`: the computation (its policy, the rights in force, narrowing, signed results). */
export namespace veracruz_v1 {
  // @ts-ignore: decorator
  @external("veracruz_v1", "policy_get")
  export declare function policy_get(out: usize, outSize: usize, outLenPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_v1", "policy_hash")
  export declare function policy_hash(out: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_v1", "subjects")
  export declare function subjects(out: usize, outCount: usize, countPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_v1", "rights_get")
  export declare function rights_get(subject: u32, path: usize, pathLen: usize, rightsPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_v1", "readers")
  export declare function readers(path: usize, pathLen: usize, out: usize, outCount: usize, countPtr: usize): i32;

  // @ts-ignore: decorator
  @external("veracruz_v1", "rights_narrow")
  export declare function rights_narrow(subject: u32, path: usize, pathLen: usize, rights: u32): i32;

  // @ts-ignore: decorator
  @external("veracruz_v1", "result_sign")
  export declare function result_sign(path: usize, pathLen: usize, outPath: usize, outPathLen: usize): i32;
}
