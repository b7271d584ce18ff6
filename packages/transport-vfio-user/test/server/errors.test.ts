import { expect, it } from 'vitest';

import { Errno } from '@nvmu/vfio-user-codec';

import { VfioUserErrnoError } from '../../src/server.js';

it('VfioUserErrnoError carries the errno and its name', () => {
  const err = new VfioUserErrnoError(Errno.EFAULT, 'iova 0x1000 not mapped');
  expect(err.errno).toBe(14);
  expect(err.errnoName).toBe('EFAULT');
  expect(err.message).toBe('iova 0x1000 not mapped (EFAULT)');
  expect(new VfioUserErrnoError(200).errnoName).toBe('errno 200');
});
