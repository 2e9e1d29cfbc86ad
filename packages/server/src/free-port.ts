import { createServer } from 'node:net';
import { Code, VeracruzError } from '@veracruz-ts/core';

/** Asks the system for a free port on `host` and releases it at once, for a policy to name. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port === 0 ? reject(new VeracruzError(Code.Internal, `no free port on ${host}`)) : resolve(port)));
    });
  });
}
