/** An in-process nvmu target (the real @nvmu/nvmf core) serving one subsystem through a transport. */
import { MallocBdev, NullBdev, Target, type ListenAddress, type TargetTransport, type TransportLogger } from '@nvmu/nvmf';
import { freePort } from './ports.js';

export const TEST_NQN = 'nqn.2026-11.io.nvmu:tcp-test';

export interface RunningTarget<T extends TargetTransport> {
  target: Target;
  transport: T;
  addr: ListenAddress;
  /** Everything the core and the transport logged. */
  log: string[];
  port: number;
  close(): Promise<void>;
}

export interface StartTargetOptions {
  /** Namespace bdev: RAM (default) or null. */
  bdev?: 'malloc' | 'null';
  /** Namespace blocks of 512 bytes. Default 65536. */
  blocks?: number;
  /** Port to listen on; default a free one. */
  port?: number;
  nqn?: string;
}

/** Starts a Target with `transport` listening on `host` and one subsystem (any host) with one namespace. */
export async function startTarget<T extends TargetTransport>(transport: T, host = '127.0.0.1', opts: StartTargetOptions = {}): Promise<RunningTarget<T>> {
  const log: string[] = [];
  const rec =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      log.push(`${new Date().toISOString()} ${level} ${msg}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
    };
  const logger: TransportLogger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
  const target = new Target({ logger });
  await target.addTransport(transport);
  const sub = target.createSubsystem({ nqn: opts.nqn ?? TEST_NQN, allowAnyHost: true, serial: 'NVMUTCP0001', model: 'nvmu tcp test' });
  const numBlocks = opts.blocks ?? 65536;
  const bdev = opts.bdev === 'null' ? new NullBdev({ name: 'n0', blockSize: 512, numBlocks }) : new MallocBdev({ name: 'm0', blockSize: 512, numBlocks });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const port = opts.port ?? (await freePort(host));
  const addr: ListenAddress = { trtype: transport.trtype, adrfam: host.includes(':') ? 'ipv6' : 'ipv4', traddr: host, trsvcid: String(port) };
  await target.listen(addr);
  await sub.addListener(addr);
  sub.start();
  return { target, transport, addr, port, log, close: () => target.close() };
}
