/**
 * Identify data structures (NVMe Base 2.0 §5.17.2), one file per structure kind:
 * identify-cns.ts (size, CNS, CSI), identify-controller.ts (CNS 01h and 06h),
 * identify-namespace.ts (CNS 00h and 08h), identify-lists.ts (CNS 02h lists, CNS 03h
 * descriptors). This module gathers them under one name.
 */
export * from './identify-cns.js';
export * from './identify-controller.js';
export * from './identify-namespace.js';
export * from './identify-lists.js';
