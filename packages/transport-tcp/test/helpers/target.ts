/** An in-process nvmu target (the real @nvmu/nvmf core) serving NVMe/TCP on a free port. */
import type { ListenAddress, Target } from '@nvmu/nvmf';
import { TEST_NQN, startTarget as startKitTarget } from '@nvmu/test-kit';

import { TcpTargetTransport, type TcpTargetTransportOptions } from '../../src/target/transport.js';

export const NQN = TEST_NQN;

export interface RealTarget {
  target: Target;
  tcp: TcpTargetTransport;
  addr: ListenAddress;
  /** Everything the core and the transport logged at info level and above. */
  log: string[];
  port: number;
  close(): Promise<void>;
}

export async function startTarget(
  host = '127.0.0.1',
  opts: TcpTargetTransportOptions & { bdev?: 'malloc' | 'null'; blocks?: number; port?: number } = {},
): Promise<RealTarget> {
  const t = await startKitTarget(new TcpTargetTransport(opts), host, opts);
  return { target: t.target, tcp: t.transport, addr: t.addr, port: t.port, log: t.log, close: () => t.close() };
}
