/**
 * The PAS's CA certificate over HTTP, from a container beside the PAS (`vc-operator serve-ca`):
 * vc-pas serves none, and the operator needs it for every policy's `proxy_service_cert`. The
 * container mounts the certificate alone, never the CA key beside it. The certificate is public; a
 * party checks it in the policy it agrees to, as it checks everything else there.
 */
import { readFile } from 'node:fs/promises';
import { Code, parseX509Certificate, readPemBlock, VeracruzError } from '@veracruz-ts/core';
import { type HttpService, startHttpService } from './http-service.ts';

/** Where the operator reads the CA certificate: the `ca` port of the `vc-pas` Service. */
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

/** Serves `file` (read at each request, so a renewed CA is served at once) at {@link CA_PATH} on `listen`. */
export function serveCaCertificate(options: { file: string; listen: string }): Promise<HttpService> {
  return startHttpService(options.listen, async (path) => {
    if (path === '/health') return { status: 200, body: 'ok\n', contentType: 'text/plain' };
    if (path !== CA_PATH) throw new VeracruzError(Code.NotFound, `no route GET ${path} (GET ${CA_PATH})`);
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      throw new VeracruzError(Code.Unavailable, `${options.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): has vc-pas init run?`);
    }
    return { status: 200, body: checkCertificatePem(text, options.file), contentType: 'application/x-pem-file' };
  });
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
