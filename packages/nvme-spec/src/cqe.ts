/**
 * Completion Queue Entry: 16 bytes (NVMe Base 2.0 §4.6, Figure 96).
 *
 *   3:0 DW0 (command specific) | 7:4 DW1 | 9:8 SQHD | 11:10 SQID | 13:12 CID |
 *   15:14 status halfword: bit 0 phase tag, bits 15:1 status field (see status.ts)
 */
import { makeStatus } from './status.js';
import { StructView } from './view.js';

export const CQE_SIZE = 16;

export class CqeView extends StructView {
  static readonly SIZE = CQE_SIZE;
  get byteLength(): number {
    return CQE_SIZE;
  }

  get dw0(): number {
    return this.u32(0);
  }
  set dw0(v: number) {
    this.setU32(0, v);
  }
  get dw1(): number {
    return this.u32(4);
  }
  set dw1(v: number) {
    this.setU32(4, v);
  }
  /** DW1:DW0 as one 64-bit result (Property Get of an 8-byte property), number accessor. */
  get result(): number {
    return this.u64(0);
  }
  set result(v: number) {
    this.setU64(0, v);
  }
  get resultBig(): bigint {
    return this.u64Big(0);
  }
  set resultBig(v: bigint) {
    this.setU64Big(0, v);
  }
  /** SQ Head Pointer. */
  get sqhd(): number {
    return this.u16(8);
  }
  set sqhd(v: number) {
    this.setU16(8, v);
  }
  get sqid(): number {
    return this.u16(10);
  }
  set sqid(v: number) {
    this.setU16(10, v);
  }
  get cid(): number {
    return this.u16(12);
  }
  set cid(v: number) {
    this.setU16(12, v);
  }
  /** The whole status halfword including the phase tag (bytes 15:14). */
  get statusRaw(): number {
    return this.u16(14);
  }
  set statusRaw(v: number) {
    this.setU16(14, v);
  }
  /** Phase tag (bit 0 of byte 14). */
  get phase(): boolean {
    return this.bit(14, 0);
  }
  set phase(v: boolean) {
    this.setBit(14, 0, v);
  }
  /** Packed 15-bit status (SC, SCT, CRD, More, DNR) without the phase tag; 0 means success. */
  get status(): number {
    return this.u16(14) >>> 1;
  }
  set status(v: number) {
    this.setU16(14, ((v & 0x7fff) << 1) | (this.u16(14) & 1));
  }
  /** Status Code (bits 8:1 of the halfword). */
  get sc(): number {
    return (this.u16(14) >>> 1) & 0xff;
  }
  set sc(v: number) {
    this.setU16(14, (this.u16(14) & ~0x1fe) | ((v & 0xff) << 1));
  }
  /** Status Code Type (bits 11:9). */
  get sct(): number {
    return (this.u16(14) >>> 9) & 0x7;
  }
  set sct(v: number) {
    this.setU16(14, (this.u16(14) & ~0xe00) | ((v & 0x7) << 9));
  }
  /** Command Retry Delay (bits 13:12). */
  get crd(): number {
    return (this.u16(14) >>> 12) & 0x3;
  }
  set crd(v: number) {
    this.setU16(14, (this.u16(14) & ~0x3000) | ((v & 0x3) << 12));
  }
  /** More (bit 14). */
  get more(): boolean {
    return this.bit(15, 6);
  }
  set more(v: boolean) {
    this.setBit(15, 6, v);
  }
  /** Do Not Retry (bit 15). */
  get dnr(): boolean {
    return this.bit(15, 7);
  }
  set dnr(v: boolean) {
    this.setBit(15, 7, v);
  }
  /** True when SCT and SC are both 0. */
  get ok(): boolean {
    return (this.u16(14) & 0x0ffe) === 0;
  }
  /** Set SCT/SC/DNR/More/CRD at once, keeping the phase tag. */
  setStatus(sct: number, sc: number, dnr = false, more = false, crd = 0): this {
    this.status = makeStatus(sct, sc, dnr, more, crd);
    return this;
  }
}
