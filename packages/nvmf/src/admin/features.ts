/**
 * Set Features / Get Features (NVMe Base 2.0 §5.27, §5.15). FID CDW10 7:0; Set: SV bit 31 (no
 * feature is saveable here → Feature Identifier Not Saveable); Get: SEL CDW10 10:8 (000b current,
 * 001b default, 010b saved = default, 011b supported capabilities). Values in CDW11 / DW0.
 */
import { type Controller, requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { FeatureId as F, FeatureCapabilities, FeatureSelect } from '@nvmu/nvme-spec';
import { CommandStatus } from '../status.js';
import { returnData } from './data.js';

/** Features a discovery controller supports (NVMe-oF 1.1 §5: keep alive and async events). */
const DISCOVERY_FEATURES = new Set<number>([F.KeepAliveTimer, F.AsyncEventConfiguration]);

const SUPPORTED = new Set<number>([
  F.Arbitration,
  F.PowerManagement,
  F.TemperatureThreshold,
  F.ErrorRecovery,
  F.VolatileWriteCache,
  F.NumberOfQueues,
  F.InterruptCoalescing,
  F.InterruptVectorConfiguration,
  F.WriteAtomicityNormal,
  F.AsyncEventConfiguration,
  F.KeepAliveTimer,
  F.HostIdentifier,
]);

/** Async Event Configuration bits this controller can raise. */
function aecSupported(c: Controller): number {
  if (c.isDiscovery) return (1 << 31) >>> 0;
  return (1 << 8) | (c.subsystem.anaReporting ? 1 << 11 : 0);
}

/** Default temperature thresholds: over 343 K (70 °C) for the composite sensor, under 0. */
function defaultThreshold(key: number): number {
  const thsel = (key >>> 4) & 3;
  return thsel === 0 ? 0x0157 : 0;
}

/** Value (DW0) of `fid` for SEL current (or default when `dflt`). */
function value(c: Controller, fid: number, cdw11: number, dflt: boolean): number | undefined {
  switch (fid) {
    case F.Arbitration:
      return dflt ? 0 : c.arbitration;
    case F.PowerManagement:
      return dflt ? 0 : c.powerManagement;
    case F.TemperatureThreshold: {
      const key = (cdw11 >>> 16) & 0x3f; // TMPSEL 19:16, THSEL 21:20
      const th = dflt ? defaultThreshold(key) : (c.temperatureThresholds.get(key) ?? defaultThreshold(key));
      return (th & 0xffff) | (key << 16);
    }
    case F.ErrorRecovery:
      return dflt ? 0 : c.errorRecovery;
    case F.VolatileWriteCache:
      return dflt || c.volatileWriteCacheEnabled ? 1 : 0;
    case F.NumberOfQueues: {
      const max = Math.max(1, c.transport.options.maxIoQueues);
      const n = dflt ? max : c.ioQueuesGranted;
      return ((n - 1) | ((n - 1) << 16)) >>> 0;
    }
    case F.InterruptCoalescing:
      return dflt ? 0 : c.interruptCoalescing;
    case F.InterruptVectorConfiguration: {
      const iv = cdw11 & 0xffff;
      return dflt ? iv : (c.interruptVectorConfig.get(iv) ?? iv);
    }
    case F.WriteAtomicityNormal:
      return dflt ? 0 : c.writeAtomicity;
    case F.AsyncEventConfiguration:
      return dflt ? 0 : c.asyncEventConfig;
    case F.KeepAliveTimer:
      // The timeout in use: KATO rounded up to the KAS granularity (NVMe Base 2.0 §5.27.1.12; both
      // SPDK and Linux nvmet report the rounded value).
      return dflt ? 0 : c.katoEnforced;
    default:
      return undefined;
  }
}

export function getFeatures(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const c = requireController(qp);
  const cdw10 = req.sqe.cdw10;
  const cdw11 = req.sqe.cdw11;
  const fid = cdw10 & 0xff;
  const sel = (cdw10 >>> 8) & 7;
  if (!(c.isDiscovery ? DISCOVERY_FEATURES : SUPPORTED).has(fid)) return CommandStatus.InvalidField;
  if (sel > 3) return CommandStatus.InvalidField;
  if (sel === FeatureSelect.SupportedCapabilities) {
    // Changeable (never saveable, never namespace specific here).
    req.cqe.dw0 = fid === F.HostIdentifier ? 0 : FeatureCapabilities.Changeable;
    return CommandStatus.Success;
  }
  if (fid === F.HostIdentifier) {
    // Fabrics hosts use the 128-bit Host Identifier from Connect; EXHID (CDW11 bit 0) must be 1.
    if ((cdw11 & 1) === 0) return CommandStatus.InvalidField;
    return returnData(req, c.hostid, 16);
  }
  const v = value(c, fid, cdw11, sel !== FeatureSelect.Current);
  if (v === undefined) return CommandStatus.InvalidField;
  req.cqe.dw0 = v >>> 0;
  return CommandStatus.Success;
}

export function setFeatures(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const c = requireController(qp);
  const cdw10 = req.sqe.cdw10;
  const cdw11 = req.sqe.cdw11;
  const fid = cdw10 & 0xff;
  if (!(c.isDiscovery ? DISCOVERY_FEATURES : SUPPORTED).has(fid)) return CommandStatus.InvalidField;
  if ((cdw10 & (1 << 31)) !== 0) return CommandStatus.FeatureIdNotSaveable;
  switch (fid) {
    case F.Arbitration:
      c.arbitration = cdw11;
      return CommandStatus.Success;
    case F.PowerManagement:
      if ((cdw11 & 0x1f) !== 0) return CommandStatus.InvalidField; // only power state 0 exists (NPSS 0)
      c.powerManagement = cdw11 & 0xff;
      return CommandStatus.Success;
    case F.TemperatureThreshold: {
      const key = (cdw11 >>> 16) & 0x3f;
      const tmpsel = key & 0xf;
      const thsel = key >>> 4;
      if (thsel > 1 || (tmpsel !== 0 && tmpsel !== 0xf)) return CommandStatus.InvalidField;
      c.temperatureThresholds.set(key, cdw11 & 0xffff);
      return CommandStatus.Success;
    }
    case F.ErrorRecovery:
      c.errorRecovery = cdw11 & 0x1ffff;
      return CommandStatus.Success;
    case F.VolatileWriteCache:
      c.volatileWriteCacheEnabled = (cdw11 & 1) === 1;
      return CommandStatus.Success;
    case F.NumberOfQueues: {
      const nsqr = cdw11 & 0xffff;
      const ncqr = cdw11 >>> 16;
      if (nsqr === 0xffff || ncqr === 0xffff) return CommandStatus.InvalidField;
      // May not change once I/O queues exist (NVMe Base 2.0 §5.27.1.7).
      if (c.ioQPairCount > 0) return CommandStatus.CommandSequenceError;
      const max = Math.max(1, c.transport.options.maxIoQueues);
      const granted = Math.min(Math.max(nsqr, ncqr) + 1, max);
      c.ioQueuesGranted = granted;
      c.numQueuesSet = true;
      req.cqe.dw0 = ((granted - 1) | ((granted - 1) << 16)) >>> 0;
      return CommandStatus.Success;
    }
    case F.InterruptCoalescing:
      c.interruptCoalescing = cdw11 & 0xffff;
      return CommandStatus.Success;
    case F.InterruptVectorConfiguration: {
      const iv = cdw11 & 0xffff;
      if (iv > c.ioQueuesGranted) return CommandStatus.InvalidField;
      c.interruptVectorConfig.set(iv, cdw11 & 0x1ffff);
      return CommandStatus.Success;
    }
    case F.WriteAtomicityNormal:
      c.writeAtomicity = cdw11 & 1;
      return CommandStatus.Success;
    case F.AsyncEventConfiguration:
      // Bits for events this controller never raises are ignored (as Linux nvmet).
      c.asyncEventConfig = (cdw11 & (aecSupported(c) | 0xff)) >>> 0;
      return CommandStatus.Success;
    case F.KeepAliveTimer:
      c.setKato(cdw11);
      return CommandStatus.Success;
    case F.HostIdentifier:
      // Set by Connect on fabrics; changing it afterwards is a sequence error (as SPDK).
      return CommandStatus.CommandSequenceError;
    default:
      return CommandStatus.InvalidField;
  }
}
