/** An in-process nvmu target (the real @nvmu/nvmf core) serving NVMe/TCP on a free port. */
import { MallocBdev, NullBdev, Target, type ListenAddress, type TransportLogger } from '@nvmu/nvmf';

import { TcpTargetTransport, type TcpTargetTransportOptions } from '../../src/target/transport.js';
import { freePort } from './setup.js';

export const NQN = 'nqn.2026-11.io.nvmu:tcp-test';

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
  const log: string[] = [];
  const rec =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      log.push(`${new Date().toISOString()} ${level} ${msg}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
    };
  const logger: TransportLogger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
  const target = new Target({ logger });
  const tcp = new TcpTargetTransport(opts);
  await target.addTransport(tcp);
  const sub = target.createSubsystem({ nqn: NQN, allowAnyHost: true, serial: 'NVMUTCP0001', model: 'nvmu tcp test' });
  const numBlocks = opts.blocks ?? 65536;
  const bdev = opts.bdev === 'null' ? new NullBdev({ name: 'n0', blockSize: 512, numBlocks }) : new MallocBdev({ name: 'm0', blockSize: 512, numBlocks });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const port = opts.port ?? (await freePort(host));
  const addr: ListenAddress = { trtype: 'tcp', adrfam: host.includes(':') ? 'ipv6' : 'ipv4', traddr: host, trsvcid: String(port) };
  await target.listen(addr);
  await sub.addListener(addr);
  sub.start();
  return { target, tcp, addr, port, log, close: () => target.close() };
}
