import { createServer } from 'node:net';

/** A free TCP port on `host` (bind port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => {
        if (port === 0) reject(new Error(`no port from ${host}`));
        else resolve(port);
      });
    });
  });
}
