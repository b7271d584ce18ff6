import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  IdentifyControllerView,
  IdentifyNamespaceView,
  IdentifyControllerNvmView,
  IdentifyNamespaceIndependentView,
  ControllerType,
  Cmic,
  Vwc,
  Fcatt,
  DiscoveryControllerType,
  Oacs,
  Anacap,
  Oaes,
  Lpa,
  Ctratt,
  Sgls,
  Oncs,
  NvmeVersion,
  encodeNsList,
  decodeNsList,
  encodeChangedNsOverflow,
  encodeNsIdDescriptors,
  decodeNsIdDescriptors,
  NidType,
  Cns,
  SqeView,
  AdminOpcode,
  Csi,
} from '../src/index.js';
import { bytesAt } from './helpers.js';

const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

describe('Identify Controller (NVMe Base 2.0 Fig. 275)', () => {
  it('decodes fields at the spec offsets', () => {
    const b = bytesAt(4096, [
      [0, [0x86, 0x80, 0x86, 0x80]], // VID, SSVID 0x8086
      [4, ascii('SN123               ')], // SN, space padded (20)
      [24, ascii('nvmu'.padEnd(40))], // MN (40)
      [64, ascii('0.1     ')], // FR (8)
      [77, [5]], // MDTS
      [78, [0x01, 0x00]], // CNTLID 1
      [80, [0x00, 0x04, 0x01, 0x00]], // VER 1.4
      [92, [0x00, 0x09, 0x00, 0x80]], // OAES: NS attr (8), ANA (11), discovery log (31)
      [111, [0x01]], // CNTRLTYPE I/O
      [256, [0x08, 0x00]], // OACS NS management
      [259, [0x03]], // AERL
      [261, [0x06]], // LPA
      [320, [0x64, 0x00]], // KAS 100 (10 s)
      [343, [0x1f]], // ANACAP
      [344, [0x10, 0, 0, 0]], // ANAGRPMAX
      [512, [0x66, 0x44]], // SQES, CQES
      [514, [0x80, 0x00]], // MAXCMD 128
      [516, [0x20, 0, 0, 0]], // NN 32
      [520, [0x0c, 0x00]], // ONCS DSM|WZ... (2,3)
      [525, [0x01]], // VWC present
      [536, [0x05, 0x00, 0x10, 0x00]], // SGLS: supported, keyed, address as offset
      [768, ascii('nqn.2016-06.io.nvmu:cnode1')],
      [1792, [0x04, 0x01, 0, 0]], // IOCCSZ 260 (64 + 4096 bytes)
      [1796, [0x01, 0, 0, 0]], // IORCSZ 1
      [1800, [0x00, 0x00]], // ICDOFF 0
      [1802, [0x00]], // FCATT dynamic
      [1803, [0x01]], // MSDBD 1
      [1804, [0x01, 0x00]], // OFCS Disconnect
      [2048, [0xc4, 0x09]], // PSD0 MP 2500
      [2052, [0x10, 0, 0, 0]], // PSD0 ENLAT 16
    ]);
    const c = new IdentifyControllerView(b);
    expect(c.vid).toBe(0x8086);
    expect(c.ssvid).toBe(0x8086);
    expect(c.sn).toBe('SN123');
    expect(c.mn).toBe('nvmu');
    expect(c.fr).toBe('0.1');
    expect(c.mdts).toBe(5);
    expect(c.cntlid).toBe(1);
    expect(c.ver).toBe(NvmeVersion.V1_4);
    expect(c.oaes).toBe(0x80000900);
    expect(c.cntrltype).toBe(ControllerType.Io);
    expect(c.oacs).toBe(0x8);
    expect(c.aerl).toBe(3);
    expect(c.lpa).toBe(6);
    expect(c.kas).toBe(100);
    expect(c.anacap).toBe(0x1f);
    expect(c.anagrpmax).toBe(16);
    expect(c.sqes).toBe(0x66);
    expect(c.cqes).toBe(0x44);
    expect(c.maxcmd).toBe(128);
    expect(c.nn).toBe(32);
    expect(c.oncs & Oncs.WriteZeroes).not.toBe(0);
    expect(c.vwc).toBe(1);
    expect(c.sgls & Sgls.SUPPORT_MASK).toBe(Sgls.SUPPORTED);
    expect(c.sgls & Sgls.KeyedDataBlock).not.toBe(0);
    expect(c.sgls & Sgls.AddressAsOffset).not.toBe(0);
    expect(c.subnqn).toBe('nqn.2016-06.io.nvmu:cnode1');
    expect(c.ioccsz).toBe(260);
    expect(c.iorcsz).toBe(1);
    expect(c.icdoff).toBe(0);
    expect(c.fcatt).toBe(0);
    expect(c.msdbd).toBe(1);
    expect(c.ofcs).toBe(1);
    expect(c.psdMp(0)).toBe(2500);
    expect(c.psdEnlat(0)).toBe(16);
    expect(() => c.psdMp(32)).toThrow(RangeError);
  });

  // Offsets from Linux include/linux/nvme.h struct nvme_id_ctrl (and NVMe Base 2.0 Fig. 275),
  // each field given a distinct non-zero value so a wrong offset or width cannot pass.
  type NumericField = Exclude<{ [K in keyof IdentifyControllerView]: IdentifyControllerView[K] extends number ? K : never }[keyof IdentifyControllerView], 'byteLength' | 'offset'>;
  const numericFields: readonly (readonly [NumericField, number, 1 | 2 | 4, number])[] = [
    ['vid', 0, 2, 0x1b36],
    ['ssvid', 2, 2, 0x1af4],
    ['rab', 72, 1, 0x06],
    ['cmic', 76, 1, Cmic.MultiController | Cmic.AnaReporting],
    ['mdts', 77, 1, 0x07],
    ['cntlid', 78, 2, 0x1234],
    ['ver', 80, 4, 0x00020000],
    ['rtd3r', 84, 4, 0x000186a0],
    ['rtd3e', 88, 4, 0x000f4240],
    ['oaes', 92, 4, 0x80000900],
    ['ctratt', 96, 4, 0x00008001],
    ['rrls', 100, 2, 0x0302],
    ['cntrltype', 111, 1, ControllerType.Discovery],
    ['crdt1', 128, 2, 0x0011],
    ['crdt2', 130, 2, 0x0022],
    ['crdt3', 132, 2, 0x0033],
    ['oacs', 256, 2, Oacs.NamespaceManagement | Oacs.DoorbellBufferConfig],
    ['acl', 258, 1, 0x03],
    ['aerl', 259, 1, 0x04],
    ['frmw', 260, 1, 0x17],
    ['lpa', 261, 1, 0x0e],
    ['elpe', 262, 1, 0x3f],
    ['npss', 263, 1, 0x02],
    ['avscc', 264, 1, 0x01],
    ['apsta', 265, 1, 0x01],
    ['wctemp', 266, 2, 0x0157],
    ['cctemp', 268, 2, 0x0175],
    ['mtfa', 270, 2, 0x0044],
    ['hmpre', 272, 4, 0x00010000],
    ['hmmin', 276, 4, 0x00000100],
    ['rpmbs', 312, 4, 0x01020304],
    ['edstt', 316, 2, 0x0055],
    ['dsto', 318, 1, 0x01],
    ['fwug', 319, 1, 0x08],
    ['kas', 320, 2, 0x0064],
    ['hctma', 322, 2, 0x0001],
    ['mntmt', 324, 2, 0x0111],
    ['mxtmt', 326, 2, 0x0166],
    ['sanicap', 328, 4, 0x60000003],
    ['hmminds', 332, 4, 0x00000010],
    ['hmmaxd', 336, 2, 0x0020],
    ['nsetidmax', 338, 2, 0x0009],
    ['endgidmax', 340, 2, 0x000a],
    ['anatt', 342, 1, 0x0a],
    ['anacap', 343, 1, Anacap.Optimized | Anacap.Inaccessible | Anacap.Change],
    ['anagrpmax', 344, 4, 0x00000020],
    ['nanagrpid', 348, 4, 0x00000010],
    ['pels', 352, 4, 0x00000005],
    ['domainId', 356, 2, 0x0007],
    ['sqes', 512, 1, 0x66],
    ['cqes', 513, 1, 0x44],
    ['maxcmd', 514, 2, 0x0080],
    ['nn', 516, 4, 0x00000400],
    ['oncs', 520, 2, Oncs.DatasetManagement | Oncs.WriteZeroes | Oncs.Copy],
    ['fuses', 522, 2, 0x0001],
    ['fna', 524, 1, 0x05],
    ['vwc', 525, 1, Vwc.Present | Vwc.FLUSH_BROADCAST_SUPPORTED],
    ['awun', 526, 2, 0x00ff],
    ['awupf', 528, 2, 0x000f],
    ['icsvscc', 530, 1, 0x01],
    ['nwpc', 531, 1, 0x03],
    ['acwu', 532, 2, 0x0013],
    ['ocfs', 534, 2, 0x000b],
    ['sgls', 536, 4, Sgls.SUPPORTED | Sgls.KeyedDataBlock | Sgls.BitBucket | Sgls.AddressAsOffset | Sgls.TransportDataBlock],
    ['mnan', 540, 4, 0x00000100],
    ['maxcna', 560, 4, 0x00000200],
    ['ioccsz', 1792, 4, 0x00000104],
    ['iorcsz', 1796, 4, 0x00000001],
    ['icdoff', 1800, 2, 0x0003],
    ['fcatt', 1802, 1, Fcatt.StaticController],
    ['msdbd', 1803, 1, 0x02],
    ['ofcs', 1804, 2, 0x0001],
    ['dctype', 1806, 1, DiscoveryControllerType.Central],
  ];

  it('reads every numeric field the Linux host and nvme-cli use at its nvme.h offset (distinct values)', () => {
    const b = Buffer.alloc(4096);
    for (const [, off, size, v] of numericFields) b.writeUIntLE(v, off, size);
    const c = new IdentifyControllerView(b);
    for (const [name, off, , v] of numericFields) expect([name, off, c[name]]).toEqual([name, off, v]);
    expect(c.cmic & Cmic.AnaReporting).not.toBe(0);
    expect(c.vwc & Vwc.FLUSH_BROADCAST_MASK).toBe(Vwc.FLUSH_BROADCAST_SUPPORTED);
    expect(c.fcatt & Fcatt.StaticController).toBe(1);
  });

  it('writes every numeric field at its nvme.h offset and nowhere else', () => {
    const want = Buffer.alloc(4096);
    const c = new IdentifyControllerView(Buffer.alloc(4096));
    for (const [name, off, size, v] of numericFields) {
      want.writeUIntLE(v, off, size);
      c[name] = v;
    }
    expect(Buffer.from(c.bytes()).equals(want)).toBe(true);
  });

  it('places IEEE OUI (73), FGUID (112), TNVMCAP (280), UNVMCAP (296), MAXDNA (544), PSD and VS', () => {
    const b = Buffer.alloc(4096);
    b.set([0x01, 0x02, 0x03], 73);
    b.fill(0xab, 112, 128);
    b.writeBigUInt64LE(0x1_0000_0000n, 280);
    b.writeBigUInt64LE(0x8000n, 296);
    b.writeBigUInt64LE(0x4000n, 544);
    b.writeUInt16LE(900, 2048 + 32); // PSD1 MP
    b[2048 + 32 + 3] = 0x03; // PSD1 MXPS | NOPS
    b.writeUInt32LE(50, 2048 + 32 + 8); // PSD1 EXLAT
    b[3072] = 0x5a;
    const c = new IdentifyControllerView(b);
    expect([...c.ieee]).toEqual([1, 2, 3]);
    expect(c.fguid.every((x) => x === 0xab)).toBe(true);
    expect(c.tnvmcapBig).toBe(0x1_0000_0000n);
    expect(c.unvmcapBig).toBe(0x8000n);
    expect(c.maxdnaBig).toBe(0x4000n);
    expect(c.psdMp(1)).toBe(900);
    expect(c.psdFlags(1)).toBe(3);
    expect(c.psdExlat(1)).toBe(50);
    expect(c.vs[0]).toBe(0x5a);
    expect(c.vs.length).toBe(1024);
  });

  it('has the capability bits Linux tests (nvme.h NVME_CTRL_* / nvmet)', () => {
    // OACS: SEC_SUPP 0, NS_MNGT_SUPP 3, DIRECTIVES 5, DBBUF_SUPP 8
    expect([Oacs.SecuritySendReceive, Oacs.NamespaceManagement, Oacs.Directives, Oacs.DoorbellBufferConfig]).toEqual([1, 8, 0x20, 0x100]);
    // ONCS: COMPARE 0, WRITE_UNCORRECTABLE 1, DSM 2, WRITE_ZEROES 3, RESERVATIONS 5, TIMESTAMP 6, VERIFY 7, COPY 8
    expect([Oncs.Compare, Oncs.WriteUncorrectable, Oncs.DatasetManagement, Oncs.WriteZeroes, Oncs.Reservations, Oncs.Timestamp, Oncs.Verify, Oncs.Copy]).toEqual([
      1, 2, 4, 8, 0x20, 0x40, 0x80, 0x100,
    ]);
    // VWC: PRESENT 0; CMIC: MULTI_PORT 0, MULTI_CTRL 1, ANA 3
    expect([Vwc.Present, Cmic.MultiPort, Cmic.MultiController, Cmic.AnaReporting]).toEqual([1, 1, 2, 8]);
    // SGLS (Base 2.0 Fig. 275 bytes 539:536): support 1:0, keyed 2, bit bucket 16, MPTR SGL 19, offset 20, transport 21
    expect([Sgls.SUPPORTED, Sgls.KeyedDataBlock, Sgls.BitBucket, Sgls.MptrSgl, Sgls.AddressAsOffset, Sgls.TransportDataBlock]).toEqual([
      1, 4, 0x10000, 0x80000, 0x100000, 0x200000,
    ]);
    // ANACAP: optimized 0 .. change 4, ANAGRPID static 6, non-zero ANAGRPID 7
    expect([Anacap.Optimized, Anacap.NonOptimized, Anacap.Inaccessible, Anacap.PersistentLoss, Anacap.Change, Anacap.AnagrpidStatic, Anacap.NonZeroAnagrpid]).toEqual([
      1, 2, 4, 8, 0x10, 0x40, 0x80,
    ]);
    // OAES: NA 8, FA 9, ANA 11, DISC 31; LPA: CMD_EFFECTS 1, EXT_DATA 2; CTRATT: 128-bit host ID 0
    expect([Oaes.NamespaceAttributeNotices, Oaes.FirmwareActivationNotices, Oaes.AnaChangeNotices, Oaes.DiscoveryLogChangeNotices >>> 0]).toEqual([
      0x100, 0x200, 0x800, 0x80000000,
    ]);
    expect([Lpa.CommandsSupportedAndEffects, Lpa.ExtendedData, Ctratt.HostId128Bit]).toEqual([2, 4, 1]);
    expect([ControllerType.Io, ControllerType.Discovery, ControllerType.Administrative]).toEqual([1, 2, 3]);
  });

  it('encodes strings space padded and NQNs NUL padded', () => {
    const c = new IdentifyControllerView(new Uint8Array(4096));
    c.sn = 'abc';
    c.mn = 'nvmu';
    c.fr = '1.0';
    c.subnqn = 'nqn.x';
    const b = c.bytes();
    expect([...b.subarray(4, 24)]).toEqual([...ascii('abc'), ...Array<number>(17).fill(0x20)]);
    expect([...b.subarray(64, 72)]).toEqual([...ascii('1.0'), ...Array<number>(5).fill(0x20)]);
    expect([...b.subarray(768, 776)]).toEqual([...ascii('nqn.x'), 0, 0, 0]);
    expect(() => (c.sn = 'x'.repeat(21))).toThrow(RangeError);
    expect(() => (c.mn = 'é')).toThrow(RangeError);
  });

  it('round-trips 128-bit capacities', () => {
    const c = new IdentifyControllerView(new Uint8Array(4096));
    c.tnvmcapBig = (1n << 70n) + 5n;
    expect(c.tnvmcapBig).toBe((1n << 70n) + 5n);
    c.unvmcap = 1 << 30;
    expect(c.unvmcapBig).toBe(1n << 30n);
    expect(c.unvmcap).toBe(1 << 30);
    expect(c.bytes()[296 + 3]).toBe(0x40);
  });

  it('round-trips numeric fields (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 255 }), (u16, u32, u8) => {
        const c = new IdentifyControllerView(new Uint8Array(4096));
        c.cntlid = u16;
        c.kas = u16;
        c.maxcmd = u16;
        c.sgls = u32;
        c.ioccsz = u32;
        c.nn = u32;
        c.mdts = u8;
        c.cntrltype = u8;
        expect([c.cntlid, c.kas, c.maxcmd, c.sgls, c.ioccsz, c.nn, c.mdts, c.cntrltype]).toEqual([u16, u16, u16, u32, u32, u32, u8, u8]);
      }),
    );
  });
});

describe('Identify Namespace (NVM CS 1.0 Fig. 97)', () => {
  it('decodes sizes, LBA formats, NGUID, EUI64, ANAGRPID', () => {
    const nguid = Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const eui = [1, 2, 3, 4, 5, 6, 7, 8];
    const b = bytesAt(4096, [
      [0, [0x00, 0x00, 0x20, 0, 0, 0, 0, 0]], // NSZE 0x200000 blocks
      [8, [0x00, 0x00, 0x20, 0, 0, 0, 0, 0]], // NCAP
      [16, [0x00, 0x10, 0, 0, 0, 0, 0, 0]], // NUSE 0x1000
      [24, [0x01]], // NSFEAT thin
      [25, [0x01]], // NLBAF: 2 formats
      [26, [0x01]], // FLBAS format 1
      [30, [0x01]], // NMIC shared
      [33, [0x09]], // DLFEAT
      [92, [0x02, 0, 0, 0]], // ANAGRPID 2
      [104, nguid],
      [120, eui],
      [128, [0x00, 0x00, 0x09, 0x00]], // LBAF0: 512 bytes
      [132, [0x08, 0x00, 0x0c, 0x01]], // LBAF1: 4096 bytes, 8 bytes metadata, RP 1
    ]);
    const n = new IdentifyNamespaceView(b);
    expect(n.nsze).toBe(0x200000);
    expect(n.nszeBig).toBe(0x200000n);
    expect(n.ncap).toBe(0x200000);
    expect(n.nuse).toBe(0x1000);
    expect(n.nsfeat).toBe(1);
    expect(n.nlbaf).toBe(1);
    expect(n.formatIndex).toBe(1);
    expect(n.shared).toBe(true);
    expect(n.dlfeat).toBe(9);
    expect(n.anagrpid).toBe(2);
    expect([...n.nguid]).toEqual(nguid);
    expect([...n.eui64]).toEqual(eui);
    expect(n.lbaf(0)).toEqual({ ms: 0, lbads: 9, rp: 0 });
    expect(n.lbaf(1)).toEqual({ ms: 8, lbads: 12, rp: 1 });
    expect(n.blockSize).toBe(4096);
  });

  it('encodes FLBAS with the format index split over bits 3:0 and 6:5', () => {
    const n = new IdentifyNamespaceView(new Uint8Array(4096));
    n.extendedLba = true;
    n.formatIndex = 0x23;
    expect(n.flbas).toBe(0x03 | 0x10 | (0x2 << 5));
    expect(n.formatIndex).toBe(0x23);
    expect(n.extendedLba).toBe(true);
    n.setLbaf(0x23, { ms: 0, lbads: 12, rp: 0 });
    expect(n.blockSize).toBe(4096);
    expect(() => n.lbaf(64)).toThrow(RangeError);
  });
});

describe('Identify Namespace at Linux nvme.h struct nvme_id_ns offsets', () => {
  type NsNumericField = Exclude<{ [K in keyof IdentifyNamespaceView]: IdentifyNamespaceView[K] extends number ? K : never }[keyof IdentifyNamespaceView], 'byteLength' | 'offset' | 'formatIndex' | 'blockSize'>;
  const fields: readonly (readonly [NsNumericField, number, 1 | 2 | 4 | 6, number])[] = [
    ['nsze', 0, 6, 0x0102_0304_0506],
    ['ncap', 8, 6, 0x0002_0304_0506],
    ['nuse', 16, 6, 0x0000_0304_0506],
    ['nsfeat', 24, 1, 0x1b],
    ['nlbaf', 25, 1, 0x03],
    ['flbas', 26, 1, 0x12],
    ['mc', 27, 1, 0x03],
    ['dpc', 28, 1, 0x1f],
    ['dps', 29, 1, 0x09],
    ['nmic', 30, 1, 0x01],
    ['rescap', 31, 1, 0xff],
    ['fpi', 32, 1, 0x80],
    ['dlfeat', 33, 1, 0x09],
    ['nawun', 34, 2, 0x0101],
    ['nawupf', 36, 2, 0x0202],
    ['nacwu', 38, 2, 0x0303],
    ['nabsn', 40, 2, 0x0404],
    ['nabo', 42, 2, 0x0505],
    ['nabspf', 44, 2, 0x0606],
    ['noiob', 46, 2, 0x0707],
    ['npwg', 64, 2, 0x0808],
    ['npwa', 66, 2, 0x0909],
    ['npdg', 68, 2, 0x0a0a],
    ['npda', 70, 2, 0x0b0b],
    ['nows', 72, 2, 0x0c0c],
    ['mssrl', 74, 2, 0x0d0d],
    ['mcl', 76, 4, 0x0e0e0e0e],
    ['msrc', 80, 1, 0x7f],
    ['nulbaf', 81, 1, 0x02],
    ['anagrpid', 92, 4, 0x00000011],
    ['nsattr', 99, 1, 0x01],
    ['nvmsetid', 100, 2, 0x0012],
    ['endgid', 102, 2, 0x0013],
  ];

  it('reads each field at its offset (distinct values)', () => {
    const b = Buffer.alloc(4096);
    for (const [, off, size, v] of fields) b.writeUIntLE(v, off, size);
    b.writeBigUInt64LE(0x8000n, 48); // NVMCAP low half
    b.fill(0xa5, 104, 120); // NGUID
    b.fill(0x5a, 120, 128); // EUI64
    b.writeUInt32LE((2 << 24) | (12 << 16) | 8, 128 + 2 * 4); // LBAF2: RP 2, LBADS 12, MS 8
    const n = new IdentifyNamespaceView(b);
    for (const [name, off, , v] of fields) expect([name, off, n[name]]).toEqual([name, off, v]);
    expect(n.nvmcapBig).toBe(0x8000n);
    expect([...n.nguid]).toEqual(Array<number>(16).fill(0xa5));
    expect([...n.eui64]).toEqual(Array<number>(8).fill(0x5a));
    expect(n.formatIndex).toBe(0x12 & 0xf); // FLBAS bits 3:0 (bits 6:5 are the upper index bits, 0 here)
    expect(n.lbaf(2)).toEqual({ ms: 8, lbads: 12, rp: 2 });
    expect(n.vs.length).toBe(256);
  });

  it('writes each field at its offset and nowhere else', () => {
    const want = Buffer.alloc(4096);
    const n = new IdentifyNamespaceView(Buffer.alloc(4096));
    for (const [name, off, size, v] of fields) {
      want.writeUIntLE(v, off, size);
      n[name] = v;
    }
    expect(Buffer.from(n.bytes()).equals(want)).toBe(true);
  });
});

describe('CNS 02h / 03h / 06h', () => {
  it('encodes and decodes an active namespace list', () => {
    const b = new Uint8Array(4096).fill(0xff);
    expect(encodeNsList(b, [1, 2, 7])).toBe(3);
    expect([...b.subarray(0, 16)]).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
    expect(b[4095]).toBe(0);
    expect(decodeNsList(b)).toEqual([1, 2, 7]);
    encodeChangedNsOverflow(b);
    expect(decodeNsList(b)).toEqual([0xffffffff]);
    expect(decodeNsList(new Uint8Array(6))).toEqual([]);
  });

  it('round-trips active / changed namespace lists (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 0xfffffffe }), { maxLength: 1100 }), (ids) => {
        const nsids = [...ids].sort((a, b) => a - b);
        const b = new Uint8Array(4096).fill(0xee);
        const n = encodeNsList(b, nsids);
        expect(n).toBe(Math.min(nsids.length, 1024));
        expect(decodeNsList(b)).toEqual(nsids.slice(0, 1024));
        // Unused entries are zero (NVMe Base 2.0 Fig. 271: list ends at the first zero).
        const dv = new DataView(b.buffer);
        for (let i = n; i < 1024; i++) expect(dv.getUint32(i * 4, true)).toBe(0);
        if (n > 0) expect(dv.getUint32((n - 1) * 4, true)).toBe(nsids[n - 1]);
      }),
      { numRuns: 50 },
    );
  });

  it('round-trips NS identification descriptor lists (property)', () => {
    const desc = fc.oneof(
      fc.uint8Array({ minLength: 8, maxLength: 8 }).map((nid) => ({ nidt: NidType.Eui64, nid })),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((nid) => ({ nidt: NidType.Nguid, nid })),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((nid) => ({ nidt: NidType.Uuid, nid })),
      fc.integer({ min: 0, max: 255 }).map((csi) => ({ nidt: NidType.Csi, nid: Uint8Array.of(csi) })),
    );
    fc.assert(
      fc.property(fc.array(desc, { maxLength: 8 }), (descs) => {
        const b = new Uint8Array(4096).fill(0xcc);
        const len = encodeNsIdDescriptors(b, descs);
        expect(len).toBe(descs.reduce((a, d) => a + 4 + d.nid.length, 0));
        expect(b.subarray(len).every((x) => x === 0)).toBe(true);
        const back = decodeNsIdDescriptors(b);
        expect(back.map((d) => [d.nidt, [...d.nid]])).toEqual(descs.map((d) => [d.nidt, [...d.nid]]));
      }),
    );
  });

  it('encodes NS identification descriptors (EUI64, NGUID, UUID, CSI)', () => {
    const b = new Uint8Array(4096);
    const eui = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const uuid = Uint8Array.from({ length: 16 }, (_, i) => i);
    const n = encodeNsIdDescriptors(b, [
      { nidt: NidType.Eui64, nid: eui },
      { nidt: NidType.Uuid, nid: uuid },
      { nidt: NidType.Csi, nid: Uint8Array.of(Csi.Nvm) },
    ]);
    expect(n).toBe(12 + 20 + 5);
    expect([...b.subarray(0, 4)]).toEqual([0x01, 0x08, 0, 0]);
    expect([...b.subarray(12, 16)]).toEqual([0x03, 0x10, 0, 0]);
    expect([...b.subarray(32, 37)]).toEqual([0x04, 0x01, 0, 0, 0x00]);
    const d = decodeNsIdDescriptors(b);
    expect(d.map((x) => x.nidt)).toEqual([1, 3, 4]);
    expect(d[1]!.nid).toEqual(uuid);
    expect(() => encodeNsIdDescriptors(b, [{ nidt: NidType.Nguid, nid: eui }])).toThrow(RangeError);
  });

  it('never overruns when decoding garbage descriptors (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (g) => {
        let total = 0;
        for (const d of decodeNsIdDescriptors(g)) total += 4 + d.nid.length;
        expect(total).toBeLessThanOrEqual(g.length);
      }),
    );
  });

  it('has the NVM I/O command set controller fields', () => {
    const v = new IdentifyControllerNvmView(new Uint8Array(4096));
    v.wzsl = 6;
    v.dmrl = 1;
    v.dmrsl = 0xffff;
    v.dmsl = 0x1_0000_0000;
    expect([...v.bytes().subarray(0, 16)]).toEqual([0, 6, 0, 1, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('has the I/O command set independent namespace fields (CNS 08h)', () => {
    const v = new IdentifyNamespaceIndependentView(new Uint8Array(4096));
    v.nmic = 1;
    v.anagrpid = 2;
    v.nstat = 1;
    v.endgid = 3;
    expect([...v.bytes().subarray(0, 16)]).toEqual([0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0]);
  });

  it('encodes Identify command fields (CNS, CNTID, NSID, CSI)', () => {
    const s = new SqeView(new Uint8Array(64));
    s.opcode = AdminOpcode.Identify;
    s.nsid = 1;
    s.cns = Cns.IoCommandSetController;
    s.cntid = 0x1234;
    s.csi = Csi.Zoned;
    s.cnssid = 7;
    expect(s.cdw10).toBe(0x12340006);
    expect(s.cdw11).toBe(0x02000007);
  });
});
