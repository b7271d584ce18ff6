/**
 * Fabrics commands of the host (NVMe-oF 1.1 §3.3-3.5, NVMe Base 2.0 §6; SPDK's
 * lib/nvme/nvme_fabric.c): Connect, Property Get/Set and Disconnect, on a qpair the transport
 * connected. Field layouts come from @nvmu/nvme-spec's command views.
 */
import {
  ConnectCommandView,
  ConnectDataView,
  DisconnectCommandView,
  PropertyGetCommandView,
  PropertySetCommandView,
} from '@nvmu/nvme-spec';
import type { QPair } from './qpair.js';
import type { RegisterAccess } from './registers.js';

/** What a Connect carries besides the qpair's qid and size (NVMe-oF 1.1 Figures 20-21). */
export interface ConnectParams {
  readonly hostid: Uint8Array;
  readonly hostnqn: string;
  readonly subnqn: string;
  /** FFFFh on the admin queue (dynamic controller), the admin Connect's cntlid on I/O queues. */
  readonly cntlid: number;
  /** Keep Alive Timeout in ms; admin queue only (0 on I/O queues). */
  readonly kato: number;
}

/** Fabrics Connect on `qp`, before it is marked connected; resolves with the controller's cntlid. */
export async function fabricsConnect(qp: QPair, p: ConnectParams): Promise<number> {
  const data = Buffer.alloc(ConnectDataView.SIZE);
  const cd = new ConnectDataView(data);
  cd.hostid = p.hostid;
  cd.cntlid = p.cntlid;
  cd.subnqn = p.subnqn;
  cd.hostnqn = p.hostnqn;
  const r = await qp.execute(
    (sqe) => {
      const c = new ConnectCommandView(sqe.buf, sqe.offset).init(0);
      c.qid = qp.qid;
      c.sqsize = qp.queueSize - 1; // 0's based
      c.kato = p.kato;
    },
    data,
    'h2c',
    { internal: true },
  );
  return r.dw0 & 0xffff; // Connect response CNTLID (DW0 15:0)
}

/** Property Get (NVMe-oF 1.1 §3.4): the value comes back in CQE DW1:DW0. */
export async function propertyGet(admin: QPair, offset: number, size: 4 | 8): Promise<bigint> {
  const r = await admin.execute(
    (sqe) => {
      new PropertyGetCommandView(sqe.buf, sqe.offset).init(0, offset, size === 8);
    },
    undefined,
    'none',
    { internal: true },
  );
  return size === 8 ? (BigInt(r.dw1) << 32n) | BigInt(r.dw0) : BigInt(r.dw0);
}

/** Property Set (NVMe-oF 1.1 §3.5). */
export async function propertySet(admin: QPair, offset: number, value: bigint, size: 4 | 8): Promise<void> {
  await admin.execute(
    (sqe) => {
      new PropertySetCommandView(sqe.buf, sqe.offset).init(0, offset, size === 8).valueBig = value;
    },
    undefined,
    'none',
    { internal: true },
  );
}

/** Fabrics Disconnect (NVMe Base 2.0 §6.4): the target deletes the I/O queue it arrives on. */
export async function fabricsDisconnect(qp: QPair): Promise<void> {
  await qp.execute((sqe) => {
    new DisconnectCommandView(sqe.buf, sqe.offset).init(0);
  });
}

/** The controller registers of a fabrics controller: properties on the admin queue. */
export function fabricsRegisters(admin: QPair): RegisterAccess {
  return {
    get: (offset, size) => propertyGet(admin, offset, size),
    set: (offset, value, size) => propertySet(admin, offset, value, size),
  };
}
