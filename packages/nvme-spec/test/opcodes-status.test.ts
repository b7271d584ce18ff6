import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  AdminOpcode,
  NvmOpcode,
  FABRICS_OPCODE,
  FabricsCommandType,
  DataTransfer,
  dataTransfer,
  opcodeName,
  statusName,
  makeStatus,
  decodeStatus,
  NvmeStatusError,
  StatusCodeType,
  GenericStatus,
  CommandSpecificStatus,
  FabricsStatus,
  MediaStatus,
  PathStatus,
  fabricsCommandTypeName,
} from '../src/index.js';

describe('opcodes', () => {
  it('match the values in the spec headers (NVMe Base 2.0 Fig. 138, NVM CS Fig. 16)', () => {
    expect(AdminOpcode.GetLogPage).toBe(0x02);
    expect(AdminOpcode.Identify).toBe(0x06);
    expect(AdminOpcode.AsyncEventRequest).toBe(0x0c);
    expect(AdminOpcode.KeepAlive).toBe(0x18);
    expect(AdminOpcode.DoorbellBufferConfig).toBe(0x7c);
    expect(AdminOpcode.Sanitize).toBe(0x84);
    expect(NvmOpcode.Read).toBe(0x02);
    expect(NvmOpcode.WriteZeroes).toBe(0x08);
    expect(NvmOpcode.DatasetManagement).toBe(0x09);
    expect(FABRICS_OPCODE).toBe(0x7f);
    expect(FabricsCommandType.Connect).toBe(0x01);
    expect(FabricsCommandType.PropertyGet).toBe(0x04);
    expect(FabricsCommandType.Disconnect).toBe(0x08);
  });

  it('every opcode equals Linux nvme.h (enum nvme_admin_opcode, nvme_opcode, nvmf_capsule_command)', () => {
    expect(AdminOpcode).toEqual({
      DeleteIoSq: 0x00, CreateIoSq: 0x01, GetLogPage: 0x02, DeleteIoCq: 0x04, CreateIoCq: 0x05, Identify: 0x06, Abort: 0x08,
      SetFeatures: 0x09, GetFeatures: 0x0a, AsyncEventRequest: 0x0c, NamespaceManagement: 0x0d, FirmwareCommit: 0x10,
      FirmwareImageDownload: 0x11, DeviceSelfTest: 0x14, NamespaceAttachment: 0x15, KeepAlive: 0x18, DirectiveSend: 0x19,
      DirectiveReceive: 0x1a, VirtualizationManagement: 0x1c, NvmeMiSend: 0x1d, NvmeMiReceive: 0x1e, DoorbellBufferConfig: 0x7c,
      FabricsCommand: 0x7f, FormatNvm: 0x80, SecuritySend: 0x81, SecurityReceive: 0x82, Sanitize: 0x84, GetLbaStatus: 0x86,
    });
    expect(NvmOpcode).toEqual({
      Flush: 0x00, Write: 0x01, Read: 0x02, WriteUncorrectable: 0x04, Compare: 0x05, WriteZeroes: 0x08, DatasetManagement: 0x09,
      Verify: 0x0c, ReservationRegister: 0x0d, ReservationReport: 0x0e, ReservationAcquire: 0x11, ReservationRelease: 0x15,
      Copy: 0x19, ZoneManagementSend: 0x79, ZoneManagementReceive: 0x7a, ZoneAppend: 0x7d, FabricsCommand: 0x7f,
    });
    expect(FabricsCommandType).toEqual({ PropertySet: 0x00, Connect: 0x01, PropertyGet: 0x04, AuthenticationSend: 0x05, AuthenticationReceive: 0x06, Disconnect: 0x08 });
  });

  it('names every defined opcode and fabrics command type by its key', () => {
    for (const [k, v] of Object.entries(AdminOpcode)) if (v !== FABRICS_OPCODE) expect(opcodeName('admin', v)).toBe(k);
    for (const [k, v] of Object.entries(NvmOpcode)) if (v !== FABRICS_OPCODE) expect(opcodeName('nvm', v)).toBe(k);
    for (const [k, v] of Object.entries(FabricsCommandType)) {
      expect(fabricsCommandTypeName(v)).toBe(k);
      expect(opcodeName('admin', FABRICS_OPCODE, v)).toBe(`Fabrics.${k}`);
    }
  });

  it('derives data direction from the low two bits', () => {
    expect(dataTransfer(NvmOpcode.Write)).toBe(DataTransfer.HostToController);
    expect(dataTransfer(NvmOpcode.Read)).toBe(DataTransfer.ControllerToHost);
    expect(dataTransfer(NvmOpcode.Flush)).toBe(DataTransfer.None);
    expect(dataTransfer(AdminOpcode.Identify)).toBe(DataTransfer.ControllerToHost);
    expect(dataTransfer(AdminOpcode.SetFeatures)).toBe(DataTransfer.HostToController);
    expect(dataTransfer(FabricsCommandType.Connect)).toBe(DataTransfer.HostToController);
    expect(dataTransfer(FabricsCommandType.PropertyGet)).toBe(DataTransfer.None);
  });

  it('names opcodes per command set', () => {
    expect(opcodeName('admin', 0x06)).toBe('Identify');
    expect(opcodeName('nvm', 0x02)).toBe('Read');
    expect(opcodeName('admin', 0x02)).toBe('GetLogPage');
    expect(opcodeName('admin', 0x7f, 0x01)).toBe('Fabrics.Connect');
    expect(opcodeName('nvm', 0x7f, 0x08)).toBe('Fabrics.Disconnect');
    expect(opcodeName('nvm', 0x7f)).toBe('FabricsCommand');
    expect(opcodeName('nvm', 0x03)).toBe('Unknown(0x03)');
    expect(opcodeName('admin', 0xc1)).toBe('VendorSpecific(0xc1)');
  });
});

describe('status', () => {
  it('packs SCT/SC/CRD/More/DNR like CQE DW3 bits 31:17', () => {
    // Media error 0x81 (unrecovered read) with DNR: 0x4000 | 2 << 8 | 0x81
    expect(makeStatus(StatusCodeType.MediaError, MediaStatus.UnrecoveredReadError, true)).toBe(0x4281);
    expect(makeStatus(1, 0x82, false, true, 2)).toBe(0x2000 | 0x1000 | 0x0100 | 0x82);
    expect(decodeStatus(0x4281)).toEqual({ sct: 2, sc: 0x81, dnr: true, more: false, crd: 0 });
  });

  it('round-trips any status field', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 3 }), (sct, sc, dnr, more, crd) => {
        const s = makeStatus(sct, sc, dnr, more, crd);
        expect(s).toBeLessThan(0x8000);
        expect(decodeStatus(s)).toEqual({ sct, sc, dnr, more, crd });
      }),
    );
  });

  it('names statuses, using fabrics names for the fabrics opcode', () => {
    expect(statusName(0, GenericStatus.InvalidField)).toBe('InvalidField');
    expect(statusName(0, GenericStatus.LbaOutOfRange)).toBe('LbaOutOfRange');
    expect(statusName(1, CommandSpecificStatus.InvalidLogPage)).toBe('InvalidLogPage');
    expect(statusName(1, 0x82)).toBe('AttemptedWriteToReadOnlyRange');
    expect(statusName(1, FabricsStatus.ConnectInvalidParameters, FABRICS_OPCODE)).toBe('ConnectInvalidParameters');
    expect(statusName(1, FabricsStatus.ConnectInvalidHost, 0x7f)).toBe('ConnectInvalidHost');
    expect(statusName(2, MediaStatus.CompareFailure)).toBe('CompareFailure');
    expect(statusName(3, PathStatus.AsymmetricAccessInaccessible)).toBe('AsymmetricAccessInaccessible');
    expect(statusName(0, 0x7e)).toBe('Generic(0x7e)');
    expect(statusName(7, 0x01)).toBe('VendorSpecific(0x01)');
    expect(statusName(5, 0x01)).toBe('Sct5(0x01)');
  });

  it('(SCT << 8) | SC equals Linux nvme.h NVME_SC_* for a sample of every type; DNR 0x4000, More 0x2000', () => {
    const linux = (sct: number, sc: number): number => (sct << 8) | sc;
    expect(linux(StatusCodeType.Generic, GenericStatus.InvalidField)).toBe(0x2); // NVME_SC_INVALID_FIELD
    expect(linux(StatusCodeType.Generic, GenericStatus.InvalidNamespaceOrFormat)).toBe(0xb); // NVME_SC_INVALID_NS
    expect(linux(StatusCodeType.Generic, GenericStatus.SglDescriptorTypeInvalid)).toBe(0x11); // NVME_SC_SGL_INVALID_TYPE
    expect(linux(StatusCodeType.Generic, GenericStatus.InvalidSglOffset)).toBe(0x16); // NVME_SC_SGL_INVALID_OFFSET
    expect(linux(StatusCodeType.Generic, GenericStatus.KeepAliveExpired)).toBe(0x19); // NVME_SC_KA_TIMEOUT_EXPIRED
    expect(linux(StatusCodeType.Generic, GenericStatus.NamespaceWriteProtected)).toBe(0x20); // NVME_SC_NS_WRITE_PROTECTED
    expect(linux(StatusCodeType.Generic, GenericStatus.LbaOutOfRange)).toBe(0x80); // NVME_SC_LBA_RANGE
    expect(linux(StatusCodeType.Generic, GenericStatus.ReservationConflict)).toBe(0x83); // NVME_SC_RESERVATION_CONFLICT
    expect(linux(StatusCodeType.CommandSpecific, CommandSpecificStatus.InvalidQueueIdentifier)).toBe(0x101); // NVME_SC_QID_INVALID
    expect(linux(StatusCodeType.CommandSpecific, CommandSpecificStatus.InvalidQueueSize)).toBe(0x102); // NVME_SC_QUEUE_SIZE
    expect(linux(StatusCodeType.CommandSpecific, CommandSpecificStatus.InvalidLogPage)).toBe(0x109); // NVME_SC_INVALID_LOG_PAGE
    expect(linux(StatusCodeType.CommandSpecific, CommandSpecificStatus.AnaGroupIdentifierInvalid)).toBe(0x124); // NVME_SC_ANA_GROUP_ID_INVALID
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.ConnectIncompatibleFormat)).toBe(0x180); // NVME_SC_CONNECT_FORMAT
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.ConnectControllerBusy)).toBe(0x181); // NVME_SC_CONNECT_CTRL_BUSY
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.ConnectInvalidParameters)).toBe(0x182); // NVME_SC_CONNECT_INVALID_PARAM
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.ConnectRestartDiscovery)).toBe(0x183); // NVME_SC_CONNECT_RESTART_DISC
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.ConnectInvalidHost)).toBe(0x184); // NVME_SC_CONNECT_INVALID_HOST
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.DiscoverRestart)).toBe(0x190); // NVME_SC_DISCOVERY_RESTART
    expect(linux(StatusCodeType.CommandSpecific, FabricsStatus.AuthenticationRequired)).toBe(0x191); // NVME_SC_AUTH_REQUIRED
    expect(linux(StatusCodeType.MediaError, MediaStatus.WriteFault)).toBe(0x280); // NVME_SC_WRITE_FAULT
    expect(linux(StatusCodeType.MediaError, MediaStatus.GuardCheckError)).toBe(0x282); // NVME_SC_GUARD_CHECK
    expect(linux(StatusCodeType.MediaError, MediaStatus.DeallocatedOrUnwrittenBlock)).toBe(0x287); // NVME_SC_UNWRITTEN_BLOCK
    expect(linux(StatusCodeType.Path, PathStatus.InternalPathError)).toBe(0x300); // NVME_SC_INTERNAL_PATH_ERROR
    expect(linux(StatusCodeType.Path, PathStatus.AsymmetricAccessInaccessible)).toBe(0x302); // NVME_SC_ANA_INACCESSIBLE
    expect(linux(StatusCodeType.Path, PathStatus.AsymmetricAccessTransition)).toBe(0x303); // NVME_SC_ANA_TRANSITION
    expect(linux(StatusCodeType.Path, PathStatus.HostPathingError)).toBe(0x370); // NVME_SC_HOST_PATH_ERROR
    expect(linux(StatusCodeType.Path, PathStatus.CommandAbortedByHost)).toBe(0x371); // NVME_SC_HOST_ABORTED_CMD
    // NVME_STATUS_DNR / NVME_STATUS_MORE in the 15-bit status (CQE DW3 >> 17).
    expect(makeStatus(0, 0, true, false, 0)).toBe(0x4000);
    expect(makeStatus(0, 0, false, true, 0)).toBe(0x2000);
    expect(makeStatus(0, 0, false, false, 3)).toBe(0x1800); // CRD
  });

  it('NvmeStatusError carries sct/sc/dnr and a name', () => {
    const e = new NvmeStatusError(0, GenericStatus.InvalidOpcode, { dnr: true });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NvmeStatusError');
    expect(e.code).toBe('ERR_NVME_STATUS');
    expect(e.sct).toBe(0);
    expect(e.sc).toBe(1);
    expect(e.dnr).toBe(true);
    expect(e.statusName).toBe('InvalidOpcode');
    expect(e.message).toContain('InvalidOpcode');
    expect(e.status).toBe(0x4001);
    const f = NvmeStatusError.fromStatus(0x4182, 0x7f);
    expect(f.sct).toBe(1);
    expect(f.sc).toBe(0x82);
    expect(f.dnr).toBe(true);
    expect(f.statusName).toBe('ConnectInvalidParameters');
  });

  it('NvmeStatusError can be subclassed with its own name (e.g. a host NvmeCommandError)', () => {
    // The subclass would not compile if `name` were the literal type 'NvmeStatusError'.
    class NvmeCommandError extends NvmeStatusError {
      override readonly name: string = 'NvmeCommandError';
      constructor(
        status: number,
        readonly cid: number,
      ) {
        const f = decodeStatus(status);
        super(f.sct, f.sc, { dnr: f.dnr, more: f.more, crd: f.crd, opcode: 0x02 });
      }
    }
    const e = new NvmeCommandError(makeStatus(0, GenericStatus.LbaOutOfRange, true, false, 0), 7);
    expect(e).toBeInstanceOf(NvmeStatusError);
    expect(e).toBeInstanceOf(NvmeCommandError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NvmeCommandError');
    expect(String(e)).toMatch(/^NvmeCommandError: /);
    expect(e.cid).toBe(7);
    expect(e.sc).toBe(GenericStatus.LbaOutOfRange);
    expect(e.dnr).toBe(true);
    expect(e.status).toBe(0x4080);
    expect(e.code).toBe('ERR_NVME_STATUS');
    // The base keeps its own name.
    expect(new NvmeStatusError(0, 1).name).toBe('NvmeStatusError');
  });

  it('names every status and opcode without throwing (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 }), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }), (sct, sc, op) => {
        expect(statusName(sct, sc, op).length).toBeGreaterThan(0);
        expect(opcodeName('admin', sc, op).length).toBeGreaterThan(0);
        expect(opcodeName('nvm', sc, op).length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('fabrics Disconnect status', () => {
  it('names SC 85h Invalid Queue Type for a fabrics command (Linux NVME_SC_DISCONNECT_INVALID_QTYPE)', () => {
    expect(FabricsStatus.InvalidQueueType).toBe(0x85);
    expect(statusName(StatusCodeType.CommandSpecific, 0x85, FABRICS_OPCODE)).toBe('InvalidQueueType');
  });
});
