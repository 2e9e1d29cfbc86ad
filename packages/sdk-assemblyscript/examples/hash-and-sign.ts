// Hash and sign: the SHA-256 of an input, signed with a fresh Ed25519 key made inside the isolate.
//
// Input:  /input/data.bin             any bytes.
// Output: /output/hash-and-sign.dat   SHA-256 (32 bytes) ‖ Ed25519 public key (32 bytes) ‖ Ed25519 signature of
//                                     the 32 digest bytes (64 bytes). The private key never leaves the runtime.
import {
  Alg, Crypto, EccFamily, ExitCode, Key, KeyType, Usage, errnoName, fail, fileError, readFile, writeFile
} from "@veracruz-ts/sdk-assemblyscript/assembly";

const INPUT = "/input/data.bin";
const OUTPUT = "/output/hash-and-sign.dat";

function main(): void {
  const data = readFile(INPUT);
  if (data === null) return fail(ExitCode.MISSING_INPUT, "cannot open " + INPUT + ": " + errnoName(fileError()));
  const digest = Crypto.sha256(data).value;
  // Made for signing and verifying only (no Usage.EXPORT): its public key is all of it that leaves the runtime.
  const key = Key.generate(KeyType.eccKeyPair(EccFamily.TWISTED_EDWARDS), 255, Usage.SIGN_MESSAGE | Usage.VERIFY_MESSAGE, Alg.PURE_EDDSA).value;
  const signature = key.sign(Alg.PURE_EDDSA, digest).value;
  const verified = key.verify(Alg.PURE_EDDSA, digest, signature);
  if (verified != 0) return fail(ExitCode.FAILURE, "the signature does not verify: " + errnoName(verified));
  const publicKey = key.publicKey().value;
  key.destroy();

  const out = new Uint8Array(digest.length + publicKey.length + signature.length);
  out.set(digest, 0);
  out.set(publicKey, digest.length);
  out.set(signature, digest.length + publicKey.length);
  const errno = writeFile(OUTPUT, out);
  if (errno != 0) fail(ExitCode.OUTPUT_FAILED, "cannot write " + OUTPUT + ": " + errnoName(errno));
}

main();
