/**
 * A transport's own nvmf_create_transport parameters (@nvmu/nvmf's `TargetTransport.params`):
 * taken on create, written back by save_config / nvmf_get_transports, and a saved config creates
 * the same transport again. In process, through the daemon's method table: TCP's busy_poll_us,
 * and a transport of this test declaring a boolean as a new transport option would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Target, silentLogger, type DiscoveryEntryFields, type TargetTransport, type TransportOptions, type TransportParams } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';
import { applyConfig } from '../src/config.js';
import { createContext, createRpcMethods, saveConfig, type JsonObject, type RpcMethods, type SpdkConfig } from '../src/rpc/index.js';
import { RpcError } from '../src/rpc/errors.js';
import { defaultTransports, type TransportRegistry } from '../src/transports.js';

interface FakeOptions {
  readonly interruptMode?: boolean;
}

/** A transport with one boolean setting of its own, declared the way a transport package does. */
class FakeTransport implements TargetTransport {
  static readonly params: TransportParams<FakeOptions, FakeTransport> = {
    interrupt_mode: { type: 'boolean', option: 'interruptMode', default: false, value: (t) => t.interruptMode },
  };
  readonly trtype = 'fake';
  readonly params = FakeTransport.params;
  readonly options: TransportOptions = { maxQueueDepth: 64, maxAdminQueueDepth: 32, maxIoQueues: 4, maxIoSize: 131072, inCapsuleDataSize: 0, ioUnitSize: 131072 };
  readonly interruptMode: boolean;
  constructor(opts: FakeOptions) {
    this.interruptMode = opts.interruptMode ?? false;
  }
  attach(): void {
    // nothing to start
  }
  listen(): Promise<void> {
    return Promise.resolve();
  }
  stopListen(): Promise<void> {
    return Promise.resolve();
  }
  discoveryEntry(): DiscoveryEntryFields | undefined {
    return undefined;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function registry(): TransportRegistry {
  const r = defaultTransports();
  r.register<FakeOptions>('FAKE', 'fake', (_p, own) => new FakeTransport(own), undefined, undefined, FakeTransport.params);
  return r;
}

const targets: Target[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
});

function daemon(): { target: Target; methods: RpcMethods; save: () => SpdkConfig } {
  const target = new Target();
  targets.push(target);
  const ctx = createContext(target, registry(), silentLogger);
  return { target, methods: createRpcMethods(ctx), save: () => saveConfig(ctx) };
}

/** The nvmf_create_transport entries of a saved config. */
function createTransportEntries(config: SpdkConfig): JsonObject[] {
  return config.subsystems.flatMap((s) => s.config ?? []).flatMap((e) => (e.method === 'nvmf_create_transport' && e.params !== undefined ? [e.params] : []));
}

describe("a transport's own nvmf_create_transport parameters", () => {
  it('TCP busy_poll_us: reaches the transport, is saved, and a saved config creates it again', async () => {
    const a = daemon();
    await a.methods.call('nvmf_create_transport', { trtype: 'TCP', max_queue_depth: 64, busy_poll_us: 50 });
    const tcp = a.target.getTransport('tcp');
    expect(tcp).toBeInstanceOf(TcpTargetTransport);
    expect((tcp as TcpTargetTransport).busyPollWindowUs).toBe(50);
    const saved = a.save();
    expect(createTransportEntries(saved)).toEqual([expect.objectContaining({ trtype: 'TCP', max_queue_depth: 64, busy_poll_us: 50 })]);
    expect(await a.methods.call('nvmf_get_transports', {})).toEqual(createTransportEntries(saved));

    const b = daemon();
    await applyConfig(b.methods, JSON.parse(JSON.stringify(saved)), 'saved');
    expect((b.target.getTransport('tcp') as TcpTargetTransport).busyPollWindowUs).toBe(50);
    expect(b.save()).toEqual(saved);
  });

  it('leaves a parameter at its default out of the config', async () => {
    const a = daemon();
    await a.methods.call('nvmf_create_transport', { trtype: 'TCP', busy_poll_us: 0 });
    await a.methods.call('nvmf_create_transport', { trtype: 'FAKE' });
    const entries = createTransportEntries(a.save());
    expect(entries.map((e) => e.trtype)).toEqual(['TCP', 'FAKE']);
    for (const e of entries) expect(Object.keys(e).filter((k) => k === 'busy_poll_us' || k === 'interrupt_mode')).toEqual([]);
  });

  it("a new transport's own option round-trips with no change to the daemon", async () => {
    const a = daemon();
    await a.methods.call('nvmf_create_transport', { trtype: 'fake', interrupt_mode: true });
    expect((a.target.getTransport('fake') as FakeTransport).interruptMode).toBe(true);
    const saved = a.save();
    expect(createTransportEntries(saved)).toEqual([expect.objectContaining({ trtype: 'FAKE', interrupt_mode: true })]);
    const b = daemon();
    await applyConfig(b.methods, JSON.parse(JSON.stringify(saved)), 'saved');
    expect((b.target.getTransport('fake') as FakeTransport).interruptMode).toBe(true);
    expect(b.save()).toEqual(saved);
  });

  it("checks an own parameter's type and range as it declares them, and lets another transport's pass", async () => {
    const a = daemon();
    await expect(a.methods.call('nvmf_create_transport', { trtype: 'FAKE', interrupt_mode: 1 })).rejects.toThrow(RpcError);
    await expect(a.methods.call('nvmf_create_transport', { trtype: 'TCP', busy_poll_us: 10001 })).rejects.toThrow(/'busy_poll_us' 10001 is larger than 10000/);
    await expect(a.methods.call('nvmf_create_transport', { trtype: 'TCP', no_such_member: 1 })).rejects.toThrow(/unknown parameter 'no_such_member'/);
    // TCP's busy_poll_us means nothing to FAKE: accepted and ignored, as SPDK ignores another transport's members.
    await a.methods.call('nvmf_create_transport', { trtype: 'FAKE', busy_poll_us: 10 });
    expect(createTransportEntries(a.save())).toEqual([{ trtype: 'FAKE', max_queue_depth: 64, max_io_qpairs_per_ctrlr: 4, in_capsule_data_size: 0, max_io_size: 131072, io_unit_size: 131072, max_aq_depth: 32 }]);
  });

  it('refuses two transports declaring one parameter differently', () => {
    const r = registry();
    const other: TransportParams<FakeOptions, FakeTransport> = { interrupt_mode: { type: 'uint', option: 'interruptMode', default: 0, value: () => 0 } };
    expect(() => {
      r.register<FakeOptions>('OTHER', 'other', (_p, own) => new FakeTransport(own), undefined, undefined, other);
    }).toThrow(/interrupt_mode is declared otherwise/);
  });
});
