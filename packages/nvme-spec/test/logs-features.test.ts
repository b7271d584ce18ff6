import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  LogPageId,
  ErrorInformationEntryView,
  SmartLogView,
  FirmwareSlotLogView,
  CommandsEffectsLogView,
  SupportedLogPagesView,
  CommandEffects,
  AnaState,
  anaLogSize,
  encodeAnaLog,
  decodeAnaLog,
  DiscoveryLogPageHeaderView,
  DiscoveryLogEntryView,
  discoveryLogEntryOffset,
  discoveryLogSize,
  Trtype,
  Adrfam,
  DiscoverySubtype,
  Treq,
  DISCOVERY_NQN,
  trtypeName,
  trtypeFromName,
  adrfamName,
  subtypeName,
  FeatureId,
  FeatureSelect,
  decodeNumberOfQueues,
  encodeNumberOfQueues,
  decodeArbitration,
  encodeArbitration,
  decodeTemperatureThreshold,
  encodeTemperatureThreshold,
  decodeErrorRecovery,
  encodeErrorRecovery,
  decodeInterruptCoalescing,
  encodeInterruptCoalescing,
  decodeInterruptVectorConfig,
  encodeInterruptVectorConfig,
  decodePowerManagement,
  encodePowerManagement,
  encodeVolatileWriteCache,
  decodeVolatileWriteCache,
  AsyncEventConfig,
  AsyncEventType,
  AsyncEventNotice,
  decodeAsyncEvent,
  encodeAsyncEvent,
  hostIdentifierLength,
  decodeKeepAliveTimer,
  encodeKeepAliveTimer,
  decodeHostIdentifier,
  encodeHostIdentifier,
  SqeView,
  AdminOpcode,
  CreateIoCqCommandView,
  CreateIoSqCommandView,
  DeleteIoQueueCommandView,
  AbortCommandView,
  DsmRangeView,
  NvmOpcode,
} from '../src/index.js';
import { bytesAt, hex } from './helpers.js';

describe('log pages', () => {
  it('has the spec log identifiers', () => {
    expect([LogPageId.ErrorInformation, LogPageId.SmartHealth, LogPageId.FirmwareSlot, LogPageId.ChangedNamespaceList, LogPageId.CommandsSupportedAndEffects, LogPageId.AsymmetricNamespaceAccess, LogPageId.Discovery]).toEqual([
      1, 2, 3, 4, 5, 0x0c, 0x70,
    ]);
  });

  it('decodes an Error Information entry (Fig. 205)', () => {
    const b = bytesAt(64, [
      [0, [0x03]], // error count 3
      [8, [0x01, 0x00, 0x22, 0x00]], // SQID 1, CID 0x22
      [12, [0x04, 0x01]], // status field (0x0082 << 1): SCT 0 SC 0x82
      [14, [0x28, 0x00]], // byte 40 of the command
      [16, [0x10, 0, 0, 0, 0, 0, 0, 0]], // LBA
      [24, [0x01, 0, 0, 0]], // NSID
      [29, [0x03]], // trtype TCP
    ]);
    const e = new ErrorInformationEntryView(b);
    expect([e.errorCount, e.sqid, e.cid, e.statusField >> 1, e.parameterErrorLocation, e.lba, e.nsid, e.trtype]).toEqual([3, 1, 0x22, 0x82, 40, 16, 1, 3]);
  });

  it('encodes a SMART / Health log (Fig. 207)', () => {
    const s = new SmartLogView(new Uint8Array(512));
    s.compositeTemperature = 300;
    s.availableSpare = 100;
    s.availableSpareThreshold = 10;
    s.dataUnitsReadBig = 12345n;
    s.powerOnHours = 42;
    s.setTemperatureSensor(1, 310);
    const b = s.bytes();
    expect([...b.subarray(0, 6)]).toEqual([0, 0x2c, 0x01, 100, 10, 0]);
    expect([...b.subarray(32, 34)]).toEqual([0x39, 0x30]);
    expect(b[128]).toBe(42);
    expect([b[200], b[201]]).toEqual([0x36, 0x01]);
    expect(s.dataUnitsRead).toBe(12345);
    expect(() => s.temperatureSensor(9)).toThrow(RangeError);
  });

  it('places every SMART / Health field at its Linux struct nvme_smart_log offset (distinct values, both directions)', () => {
    type F = Exclude<{ [K in keyof SmartLogView]: SmartLogView[K] extends number ? K : never }[keyof SmartLogView], 'byteLength' | 'offset'>;
    const fields: readonly (readonly [F, number, 1 | 2 | 4 | 6, number])[] = [
      ['criticalWarning', 0, 1, 0x15],
      ['compositeTemperature', 1, 2, 0x0133],
      ['availableSpare', 3, 1, 0x62],
      ['availableSpareThreshold', 4, 1, 0x0a],
      ['percentageUsed', 5, 1, 0x07],
      ['enduranceGroupCriticalWarning', 6, 1, 0x04],
      ['dataUnitsRead', 32, 6, 0x0102_0304_0506],
      ['dataUnitsWritten', 48, 6, 0x0202_0304_0506],
      ['hostReadCommands', 64, 6, 0x0302_0304_0506],
      ['hostWriteCommands', 80, 6, 0x0402_0304_0506],
      ['controllerBusyTime', 96, 6, 0x0502_0304_0506],
      ['powerCycles', 112, 6, 0x0602_0304_0506],
      ['powerOnHours', 128, 6, 0x0702_0304_0506],
      ['unsafeShutdowns', 144, 6, 0x0802_0304_0506],
      ['mediaErrors', 160, 6, 0x0902_0304_0506],
      ['numErrLogEntries', 176, 6, 0x0a02_0304_0506],
      ['warningTempTime', 192, 4, 0x11223344],
      ['criticalCompTime', 196, 4, 0x55667788],
      ['thm1TransCount', 216, 4, 0x01010101],
      ['thm2TransCount', 220, 4, 0x02020202],
      ['thm1TotalTime', 224, 4, 0x03030303],
      ['thm2TotalTime', 228, 4, 0x04040404],
    ];
    const b = Buffer.alloc(512);
    for (const [, off, size, v] of fields) b.writeUIntLE(v, off, size);
    const r = new SmartLogView(b);
    for (const [name, off, , v] of fields) expect([name, off, r[name]]).toEqual([name, off, v]);
    const w = new SmartLogView(Buffer.alloc(512));
    for (const [name, , , v] of fields) w[name] = v;
    expect(Buffer.from(w.bytes()).equals(b)).toBe(true);
  });

  it('encodes a Firmware Slot log (Fig. 209)', () => {
    const f = new FirmwareSlotLogView(new Uint8Array(512));
    f.afi = 1;
    f.setFrs(1, '0.1');
    expect(f.bytes()[0]).toBe(1);
    expect([...f.bytes().subarray(8, 16)]).toEqual([0x30, 0x2e, 0x31, 0x20, 0x20, 0x20, 0x20, 0x20]);
    expect(f.frs(1)).toBe('0.1');
    expect(() => f.frs(8)).toThrow(RangeError);
  });

  it('encodes Commands Supported and Effects (Fig. 210)', () => {
    const c = new CommandsEffectsLogView(new Uint8Array(4096));
    c.setAcs(AdminOpcode.Identify, CommandEffects.CSUPP);
    c.setIocs(NvmOpcode.Write, CommandEffects.CSUPP | CommandEffects.LBCC);
    expect(c.bytes()[6 * 4]).toBe(1);
    expect(c.bytes()[1024 + 4]).toBe(3);
    expect(c.iocs(NvmOpcode.Write)).toBe(3);
  });

  it('encodes Supported Log Pages (LID 00h)', () => {
    const v = new SupportedLogPagesView(new Uint8Array(1024));
    v.setEntry(LogPageId.Discovery, SupportedLogPagesView.LSUPP | SupportedLogPagesView.IOS);
    expect(v.bytes()[0x70 * 4]).toBe(3);
    expect(v.entry(LogPageId.Discovery)).toBe(3);
  });

  it('encodes and decodes the ANA log (Figs. 222-223)', () => {
    const log = {
      chgcnt: 5,
      groups: [
        { anagrpid: 1, chgcnt: 2, state: AnaState.Optimized, nsids: [1, 2] },
        { anagrpid: 2, chgcnt: 3, state: AnaState.Inaccessible, nsids: [3] },
      ],
    };
    const size = anaLogSize(log.groups);
    expect(size).toBe(16 + 32 + 8 + 32 + 4);
    const b = new Uint8Array(size);
    encodeAnaLog(b, log);
    expect([...b.subarray(0, 10)]).toEqual([5, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
    expect([...b.subarray(16, 24)]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
    expect(b[16 + 16]).toBe(AnaState.Optimized);
    expect([...b.subarray(48, 56)]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
    expect(decodeAnaLog(b)).toEqual(log);
    const rgo = new Uint8Array(anaLogSize(log.groups, true));
    encodeAnaLog(rgo, log, true);
    expect(decodeAnaLog(rgo).groups.map((g) => g.nsids.length)).toEqual([0, 0]);
  });

  it('decodes garbage ANA logs without overrunning (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (g) => {
        const l = decodeAnaLog(g);
        expect(anaLogSize(l.groups)).toBeLessThanOrEqual(Math.max(16, g.length));
      }),
    );
  });
});

describe('discovery log (NVMe-oF 1.1 Figs. 262-263)', () => {
  it('encodes header and a TCP entry like nvmet', () => {
    const buf = new Uint8Array(discoveryLogSize(1));
    const h = new DiscoveryLogPageHeaderView(buf);
    h.genctr = 7;
    h.numrec = 1;
    const e = new DiscoveryLogEntryView(buf, discoveryLogEntryOffset(0));
    e.trtype = Trtype.Tcp;
    e.adrfam = Adrfam.Ipv4;
    e.subtype = DiscoverySubtype.Nvme;
    e.treq = Treq.SecureChannelNotSpecified;
    e.portid = 1;
    e.cntlid = 0xffff;
    e.asqsz = 32;
    e.trsvcid = '4420';
    e.subnqn = 'nqn.2016-06.io.nvmu:cnode1';
    e.traddr = '127.0.0.1';
    expect([...buf.subarray(0, 18)]).toEqual([7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...buf.subarray(1024, 1036)]).toEqual([3, 1, 2, 0, 1, 0, 0xff, 0xff, 32, 0, 0, 0]);
    expect(Buffer.from(buf.subarray(1024 + 32, 1024 + 36)).toString()).toBe('4420');
    expect(buf[1024 + 36]).toBe(0x20);
    expect(Buffer.from(buf.subarray(1024 + 512, 1024 + 521)).toString()).toBe('127.0.0.1');
    expect(Buffer.from(buf.subarray(1024 + 256, 1024 + 282)).toString()).toBe('nqn.2016-06.io.nvmu:cnode1');
    expect(buf[1024 + 768]).toBe(0); // TSAS sectype none
    const back = new DiscoveryLogEntryView(buf, 1024);
    expect([back.trsvcid, back.traddr, back.subnqn]).toEqual(['4420', '127.0.0.1', 'nqn.2016-06.io.nvmu:cnode1']);
    expect(DISCOVERY_NQN).toBe('nqn.2014-08.org.nvmexpress.discovery');
  });

  it('names transports, address families and subsystem types like nvme-cli', () => {
    expect([trtypeName(Trtype.Tcp), trtypeName(Trtype.Loop), trtypeName(9)]).toEqual(['tcp', 'loop', 'unrecognized']);
    expect([trtypeFromName('TCP'), trtypeFromName('rdma'), trtypeFromName('x')]).toEqual([3, 1, undefined]);
    expect([adrfamName(Adrfam.Ipv4), adrfamName(Adrfam.Ipv6)]).toEqual(['ipv4', 'ipv6']);
    expect(subtypeName(DiscoverySubtype.CurrentDiscovery)).toBe('current discovery subsystem');
  });

  it('reads NUL-padded addresses from Linux nvmet too', () => {
    const buf = bytesAt(1024, [
      [32, [0x34, 0x34, 0x32, 0x30]],
      [512, [0x31, 0x30, 0x2e, 0x30, 0x2e, 0x32, 0x2e, 0x32]],
    ]);
    const e = new DiscoveryLogEntryView(buf);
    expect(e.trsvcid).toBe('4420');
    expect(e.traddr).toBe('10.0.2.2');
  });
});

describe('features', () => {
  it('has the spec feature identifiers', () => {
    expect([FeatureId.Arbitration, FeatureId.VolatileWriteCache, FeatureId.NumberOfQueues, FeatureId.AsyncEventConfiguration, FeatureId.KeepAliveTimer, FeatureId.HostIdentifier]).toEqual([
      1, 6, 7, 0x0b, 0x0f, 0x81,
    ]);
  });

  it('encodes dword layouts', () => {
    expect(encodeNumberOfQueues({ nsq: 3, ncq: 7 })).toBe(0x00070003);
    expect(decodeNumberOfQueues(0xfffe0001)).toEqual({ nsq: 1, ncq: 0xfffe });
    expect(encodeArbitration({ ab: 7, lpw: 1, mpw: 2, hpw: 3 })).toBe(0x03020107);
    expect(encodeTemperatureThreshold({ tmpth: 343, tmpsel: 0, thsel: 1 })).toBe(0x00100157);
    expect(encodeErrorRecovery({ tler: 5, dulbe: true })).toBe(0x00010005);
    expect(encodeInterruptCoalescing({ thr: 4, time: 10 })).toBe(0x0a04);
    expect(encodeInterruptVectorConfig({ iv: 3, cd: true })).toBe(0x00010003);
    expect(encodePowerManagement({ ps: 2, wh: 1 })).toBe(0x22);
    expect(decodeVolatileWriteCache(encodeVolatileWriteCache({ wce: true }))).toEqual({ wce: true });
    expect(AsyncEventConfig.DiscoveryLogChangeNotices >>> 0).toBe(0x80000000);
    expect(hostIdentifierLength(true)).toBe(16);
  });

  it('round-trips feature dwords (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (dw) => {
        expect(encodeNumberOfQueues(decodeNumberOfQueues(dw))).toBe(dw);
        expect(encodeArbitration(decodeArbitration(dw))).toBe((dw & 0xffffff07) >>> 0);
        expect(encodeTemperatureThreshold(decodeTemperatureThreshold(dw))).toBe(dw & 0x3fffff);
        expect(encodeErrorRecovery(decodeErrorRecovery(dw))).toBe(dw & 0x1ffff);
        expect(encodeInterruptCoalescing(decodeInterruptCoalescing(dw))).toBe(dw & 0xffff);
        expect(encodeInterruptVectorConfig(decodeInterruptVectorConfig(dw))).toBe(dw & 0x1ffff);
        expect(encodePowerManagement(decodePowerManagement(dw))).toBe(dw & 0xff);
        expect(encodeAsyncEvent(decodeAsyncEvent(dw))).toBe(dw & 0xffff07);
      }),
    );
  });

  it('has every feature identifier the issue lists at its spec value (Base 2.0 Fig. 316)', () => {
    expect({
      arb: FeatureId.Arbitration,
      pm: FeatureId.PowerManagement,
      temp: FeatureId.TemperatureThreshold,
      err: FeatureId.ErrorRecovery,
      vwc: FeatureId.VolatileWriteCache,
      nq: FeatureId.NumberOfQueues,
      ic: FeatureId.InterruptCoalescing,
      ivc: FeatureId.InterruptVectorConfiguration,
      aec: FeatureId.AsyncEventConfiguration,
      kato: FeatureId.KeepAliveTimer,
      hostid: FeatureId.HostIdentifier,
    }).toEqual({ arb: 0x01, pm: 0x02, temp: 0x04, err: 0x05, vwc: 0x06, nq: 0x07, ic: 0x08, ivc: 0x09, aec: 0x0b, kato: 0x0f, hostid: 0x81 });
  });

  it('lays out Async Event Configuration like Linux NVME_AEN_CFG_* (CDW11)', () => {
    // Linux nvme.h: NS_ATTR 1<<8, FW_ACT 1<<9, ANA_CHANGE 1<<11, DISC_CHANGE 1<<31; SMART bits 7:0.
    expect(AsyncEventConfig.NamespaceAttributeNotices).toBe(0x100);
    expect(AsyncEventConfig.FirmwareActivationNotices).toBe(0x200);
    expect(AsyncEventConfig.AnaChangeNotices).toBe(0x800);
    expect(AsyncEventConfig.DiscoveryLogChangeNotices >>> 0).toBe(0x80000000);
    expect(AsyncEventConfig.SMART_MASK).toBe(0xff);
    // What nvmet advertises for a fabrics I/O controller.
    const cdw11 = (AsyncEventConfig.NamespaceAttributeNotices | AsyncEventConfig.AnaChangeNotices) >>> 0;
    expect(cdw11).toBe(0x900);
  });

  it('encodes Keep Alive Timer (ms in CDW11), Host Identifier EXHID (CDW11 bit 0) and VWC WCE (bit 0)', () => {
    expect(encodeKeepAliveTimer({ kato: 120000 })).toBe(0x0001d4c0);
    expect(decodeKeepAliveTimer(0xffffffff)).toEqual({ kato: 0xffffffff });
    expect(encodeHostIdentifier({ exhid: true })).toBe(1);
    expect(decodeHostIdentifier(0xfffffffe)).toEqual({ exhid: false });
    expect(hostIdentifierLength(false)).toBe(8);
    expect(encodeVolatileWriteCache({ wce: true })).toBe(1);
    expect(decodeVolatileWriteCache(0xfffffffe)).toEqual({ wce: false });
  });

  it('round-trips Keep Alive, Host Identifier and VWC dwords (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (dw) => {
        expect(encodeKeepAliveTimer(decodeKeepAliveTimer(dw))).toBe(dw);
        expect(encodeHostIdentifier(decodeHostIdentifier(dw))).toBe(dw & 1);
        expect(encodeVolatileWriteCache(decodeVolatileWriteCache(dw))).toBe(dw & 1);
      }),
    );
  });

  it('lays out the Async Event result (type, info, log page)', () => {
    const dw0 = encodeAsyncEvent({ type: AsyncEventType.Notice, info: AsyncEventNotice.NamespaceAttributeChanged, lid: LogPageId.ChangedNamespaceList });
    expect(dw0).toBe(0x00040002);
    expect(decodeAsyncEvent(0x00f07002)).toEqual({ type: 2, info: 0x70, lid: 0xf0 });
  });

  it('encodes Get / Set Features fields (FID, SEL, SV)', () => {
    const s = new SqeView(new Uint8Array(64));
    s.opcode = AdminOpcode.GetFeatures;
    s.fid = FeatureId.NumberOfQueues;
    s.sel = FeatureSelect.SupportedCapabilities;
    expect(s.cdw10).toBe(0x307);
    s.sel = 0;
    s.sv = true;
    expect(s.cdw10).toBe(0x80000007);
  });
});

describe('admin and NVM command fields', () => {
  it('encodes Get Log Page fields (LID, LSP, RAE, NUMDL/NUMDU, LPOL/LPOU)', () => {
    const s = new SqeView(new Uint8Array(64));
    s.opcode = AdminOpcode.GetLogPage;
    s.nsid = 0xffffffff;
    s.lid = LogPageId.Discovery;
    s.lsp = 1;
    s.rae = true;
    s.logPageLength = 0x40000 + 4; // 256 KiB + one dword: NUMD 0x10000
    s.lpo = 0x1_0000_1000;
    expect(s.cdw10).toBe(0x0000_8170);
    expect(s.cdw11).toBe(0x0001);
    expect(s.numd).toBe(0x10000);
    expect(s.numdl).toBe(0);
    expect(s.numdu).toBe(1);
    expect(s.lpol).toBe(0x1000);
    expect(s.lpou).toBe(1);
    expect(s.logPageLength).toBe(0x40004);
    s.ot = true;
    s.logCsi = 2;
    expect(s.cdw14).toBe(0x02800000);
  });

  it('encodes Create I/O CQ/SQ, Delete and Abort', () => {
    const cq = new CreateIoCqCommandView(new Uint8Array(64)).init(1);
    cq.prp1 = 0x10000;
    cq.qid = 1;
    cq.qsize = 1023;
    cq.pc = true;
    cq.ien = true;
    cq.iv = 1;
    expect(hex(cq.bytes())).toBe(hex(bytesAt(64, [[0, [0x05, 0, 1, 0]], [24, [0, 0, 1, 0]], [40, [1, 0, 0xff, 0x03, 0x03, 0, 1, 0]]])));
    const sq = new CreateIoSqCommandView(new Uint8Array(64)).init(2);
    sq.qid = 1;
    sq.qsize = 1023;
    sq.pc = true;
    sq.qprio = 2;
    sq.cqid = 1;
    expect(sq.cdw11).toBe(0x00010005);
    const del = new DeleteIoQueueCommandView(new Uint8Array(64)).init(3, AdminOpcode.DeleteIoSq, 4);
    expect([del.opcode, del.cdw10]).toEqual([0, 4]);
    const ab = new AbortCommandView(new Uint8Array(64));
    ab.sqid = 1;
    ab.abortCid = 0x55;
    expect(ab.cdw10).toBe(0x00550001);
  });

  it('encodes Dataset Management ranges (NVM CS Fig. 41)', () => {
    const b = new Uint8Array(32);
    const r = new DsmRangeView(b, 16);
    r.cattr = 0;
    r.nlb = 8;
    r.slba = 0x1_0000_0000;
    expect([...b.subarray(16)]).toEqual([0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    r.attach(b, 0);
    expect(r.nlb).toBe(0);
  });
});
