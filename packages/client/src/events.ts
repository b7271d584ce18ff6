/**
 * What keeps a controller alive and informed between commands (SPDK's nvme_ctrlr.c AER and
 * keep-alive parts): the command-timeout clock, Keep Alive at half of KATO (NVMe Base 2.0 §3.9),
 * and Asynchronous Event Requests with the handling of their completions (§5.2).
 */
import { AsyncEventNotice, AsyncEventType, LogPageId, decodeAsyncEvent } from '@nvmu/nvme-spec';
import { asyncEventRequest, getLogPage, keepAlive } from './admin.js';
import { NvmeCommandError } from './errors.js';
import { parseNsidList } from './identify.js';
import type { QPair } from './qpair.js';

/** An Asynchronous Event Request completion (NVMe Base 2.0 §5.2, Figure 146). */
export interface AsyncEvent {
  /** Asynchronous Event Type (bits 2:0): 0 error, 1 SMART, 2 notice, 6 I/O command set, 7 vendor. */
  readonly type: number;
  /** Asynchronous Event Information (bits 15:8); for notices 0 = Namespace Attribute Changed. */
  readonly info: number;
  /** Log Page Identifier to read to clear the event (bits 23:16). */
  readonly lid: number;
  /** The whole DW0. */
  readonly dw0: number;
}

/** The command-timeout clock: every `tickMs` each qpair checks its outstanding commands. */
export class CommandClock {
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;
  private readonly qpairs: () => Iterable<QPair>;

  constructor(tickMs: number, qpairs: () => Iterable<QPair>) {
    this.tickMs = tickMs;
    this.qpairs = qpairs;
  }

  /** Starts the clock unless it runs; it runs during bring-up too, so a silent target fails it. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      for (const qp of this.qpairs()) qp.checkTimeouts();
    }, this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Keep Alive commands at half the Keep Alive Timeout, as Linux and SPDK send them. */
export class KeepAliveTimer {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly admin: QPair;
  private readonly isReady: () => boolean;
  private readonly failed: (e: NvmeCommandError) => void;

  /** `failed` hears of a Keep Alive the controller completed with an error status. */
  constructor(admin: QPair, isReady: () => boolean, failed: (e: NvmeCommandError) => void) {
    this.admin = admin;
    this.isReady = isReady;
    this.failed = failed;
  }

  /** (Re)starts sending every `katoMs / 2` ms. */
  start(katoMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      this.send();
    }, Math.max(1, Math.floor(katoMs / 2)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(): void {
    if (this.busy || !this.isReady()) return;
    this.busy = true;
    keepAlive(this.admin).then(
      () => {
        this.busy = false;
      },
      (e: unknown) => {
        this.busy = false;
        if (e instanceof NvmeCommandError) this.failed(e);
      },
    );
  }
}

/** What the AER handling needs from its controller. */
export interface AsyncEventOwner {
  /** Every event, before it is handled (the controller emits 'asyncEvent'). */
  onEvent(event: AsyncEvent): void;
  /** Re-arm after a completion (the controller is ready or resetting). */
  armed(): boolean;
  /** Handle events (the controller is ready). */
  ready(): boolean;
  /** Re-reads the namespace set: `changed` nsids, or all of them when undefined. */
  rescan(changed: readonly number[] | undefined): Promise<void>;
}

/** One outstanding Asynchronous Event Request, re-armed on each completion; events handled in order. */
export class AsyncEvents {
  private chain: Promise<void> = Promise.resolve();
  private readonly admin: QPair;
  private readonly owner: AsyncEventOwner;

  constructor(admin: QPair, owner: AsyncEventOwner) {
    this.admin = admin;
    this.owner = owner;
  }

  /** Submits an AER; a reset or close aborts it, and the next bring-up submits a fresh one. */
  submit(): void {
    asyncEventRequest(this.admin).then(
      (dw0) => {
        this.completed(dw0);
      },
      () => {
        // Aborted by a reset or close, or refused: a new bring-up submits a fresh one.
      },
    );
  }

  private completed(dw0: number): void {
    const event: AsyncEvent = { ...decodeAsyncEvent(dw0), dw0 };
    this.owner.onEvent(event);
    if (!this.owner.armed()) return;
    this.submit();
    // Handle events one after another, so scans do not interleave.
    this.chain = this.chain.then(() => this.handle(event)).catch(() => undefined);
  }

  private async handle(event: AsyncEvent): Promise<void> {
    if (!this.owner.ready()) return;
    if (event.type === AsyncEventType.Notice && event.info === AsyncEventNotice.NamespaceAttributeChanged) {
      // Reading the Changed Namespace List clears it (§5.16.1.5).
      const list = parseNsidList(await getLogPage(this.admin, LogPageId.ChangedNamespaceList, Buffer.alloc(4096)));
      // FFFFFFFFh first means more than 1024 changed: rescan everything.
      await this.owner.rescan(list[0] === 0xffffffff ? undefined : list);
    } else if (event.lid !== 0) {
      // Read the log page the event names, which re-arms the event (RAE 0).
      await getLogPage(this.admin, event.lid, Buffer.alloc(512)).catch(() => undefined);
    }
  }
}
