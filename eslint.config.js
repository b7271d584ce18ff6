// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** DataView get/set and Buffer reads, whose first argument is the offset. */
const WIRE_ACCESS = '/^((get|set)(Uint|Int|Float|BigUint|BigInt)(8|16|32|64)|read(UInt|Int|BigUInt|BigInt)(8|16|32|64)(LE|BE)?)$/';
/** Buffer writes, whose second argument is the offset. */
const BUFFER_WRITE = '/^write(UInt|Int|BigUInt|BigInt)(8|16|32|64)(LE|BE)?$/';

/**
 * Files allowed literal offsets, each with the reason. Keep this list short: an entry is a
 * place where the offsets are not NVMe's or where moving them would cost on the hot path.
 */
const literalOffsetExceptions = [
  {
    file: 'packages/transport-tcp/src/target/connection.ts',
    why: 'writes a whole read response (C2HData header + CapsuleResp) by dwords in the request buffer, the measured hot path; its PDU offsets are to move to nvme-spec accessors once the issue-12 connection changes land',
  },
  {
    file: 'packages/transport-tcp/src/host/qpair.ts',
    why: 'the host side builds CapsuleCmd SGLs and a synthetic CQE by offset per I/O; to move to nvme-spec accessors with the target side',
  },
  {
    file: 'packages/transport-vfio-user/src/nvme/controller.ts',
    why: 'the PCIe controller reads SQEs and writes CQEs (phase tag last) in guest memory by dword, and parses Create/Delete queue and Doorbell Buffer Config fields; written before the nvme-spec accessors landed, to move to them',
  },
  {
    file: 'packages/transport-vfio-user/src/nvme/core-link.ts',
    why: 'builds the fabrics commands the transport sends the core itself (Connect, Property Get/Set) and reads Identify Namespace FLBAS/LBAF; to move to nvme-spec accessors with controller.ts',
  },
  {
    file: 'packages/transport-tcp/src/receiver.ts',
    why: 'reads the data digest from a 4-byte staging buffer (offset 0 of a digest, not an NVMe field)',
  },
  {
    file: 'packages/transport-vfio-user/src/server/connection.ts',
    why: 'vfio-user header fields while matching fds to messages in its own framing (not NVMe); to move to vfio-user-codec accessors',
  },
  {
    file: 'packages/transport-vfio-user/src/server/pci-config.ts',
    why: 'PCI configuration space (PCI Local Bus / PCIe spec offsets, not NVMe): the device-agnostic server emulates it by offset',
  },
];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/coverage/**', '**/*.cjs', '**/*.mjs', '**/*.js', '.interop/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Wire code works with numbers in template strings all the time (offsets, statuses).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Bit twiddling on register values is the point of these packages.
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // @nvmu/nvme-spec (and @nvmu/vfio-user-codec) are the one home of byte offsets: elsewhere a
    // field is read by its name (a view, or nvme-spec's allocation-free accessors over a
    // DataView), so a reader follows one name to its definition. This flags DataView and Buffer
    // reads/writes at a literal offset, or at a variable plus a literal.
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts', 'tools/*/src/**/*.ts'],
    ignores: [
      'packages/nvme-spec/**',
      'packages/vfio-user-codec/**',
      // Test code, like every test/ folder: its hand-built SQEs and CQEs are test vectors.
      'packages/test-kit/**',
      ...literalOffsetExceptions.map((e) => e.file),
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: `CallExpression[callee.property.name=${WIRE_ACCESS}][arguments.0.type='Literal']`,
          message: 'A literal byte offset belongs in @nvmu/nvme-spec: read the field through a view or an nvme-spec accessor.',
        },
        {
          selector: `CallExpression[callee.property.name=${WIRE_ACCESS}][arguments.0.type='BinaryExpression'][arguments.0.right.type='Literal']`,
          message: 'A literal byte offset belongs in @nvmu/nvme-spec: read the field through a view or an nvme-spec accessor.',
        },
        {
          selector: `CallExpression[callee.property.name=${BUFFER_WRITE}][arguments.1.type='Literal']`,
          message: 'A literal byte offset belongs in @nvmu/nvme-spec: write the field through a view or an nvme-spec accessor.',
        },
        {
          selector: `CallExpression[callee.property.name=${BUFFER_WRITE}][arguments.1.type='BinaryExpression'][arguments.1.right.type='Literal']`,
          message: 'A literal byte offset belongs in @nvmu/nvme-spec: write the field through a view or an nvme-spec accessor.',
        },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts', '**/bench/**/*.ts', 'tools/interop/spdk/**/*.ts', 'packages/test-kit/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
