/**
 * The PAS's CA certificate, which the operator needs for every policy's `proxy_service_cert`: vc-pas
 * serves it at `GET /ca.pem` on its own port. The certificate is public; a party checks it in the
 * policy it agrees to, as it checks everything else there.
 */
import { Code, parseX509Certificate, readPemBlock, VeracruzError } from '@veracruz-ts/core';

/** Where vc-pas serves its CA certificate, on its own port. */
export const CA_PATH = '/ca.pem';

/** Reads `text` as one PEM certificate; throws naming `where` when it is not one. */
export function checkCertificatePem(text: string, where: string): string {
  try {
    parseX509Certificate(readPemBlock(text, 'CERTIFICATE', 'certificate'));
  } catch (error) {
    throw new VeracruzError(Code.Unavailable, `${where}: not a PEM certificate (${VeracruzError.from(error).rawMessage})`);
  }
  return text;
}

/**
 * Reads the CA certificate from `url`, again every 2 s until it answers with one (the PAS may still
 * be starting) or `timeoutMs` has passed. Each kind of failure is logged once.
 */
export async function fetchCaCertificate(url: string, options: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  const reported = new Set<string>();
  for (;;) {
    let failure: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      if (response.ok) return checkCertificatePem(text, url);
      failure = `${url} answered ${response.status}`;
    } catch (error) {
      failure = error instanceof VeracruzError ? error.rawMessage : `${url}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
    }
    if (Date.now() >= deadline) throw new VeracruzError(Code.Unavailable, `the PAS's CA certificate: ${failure}`);
    if (!reported.has(failure)) {
      reported.add(failure);
      options.log?.(`waiting for the PAS's CA certificate: ${failure}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
