import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cliMain } from '../src/cli.js';
import { interopSkipped } from '../src/host.js';

function io(): { stdout: PassThrough; stderr: PassThrough; text: () => { out: string; err: string } } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, text: () => ({ out, err }) };
}

describe('nvmu-interop', () => {
  it('prints usage and exits 2 on a bad command line', async () => {
    const a = io();
    expect(await cliMain([], a)).toBe(2);
    expect(await cliMain(['run'], a)).toBe(2);
    expect(a.text().err).toContain('usage:');
    await expect(cliMain(['run', '/dev/null', '--env', 'NOEQUALS'], io())).rejects.toThrow(/NAME=VALUE/);
    await expect(cliMain(['run', '/dev/null', '--timeout', 'soon'], io())).rejects.toThrow(/seconds/);
  });

  it.skipIf(interopSkipped())(
    "runs a script file in a guest: its output out, its exit status as the CLI's",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nvmu-cli-test-'));
      const file = join(dir, 'script.sh');
      writeFileSync(file, '#!/bin/bash\necho "hello $WHO from ${BASH_VERSION%%.*}"\nexit 3\n');
      const a = io();
      const code = await cliMain(['run', file, '--env', 'WHO=cli', '--timeout', '150'], a);
      const { out, err } = a.text();
      expect(code, err).toBe(3);
      expect(out).toBe('hello cli from 5\n');
      expect(err).toMatch(/exit status 3 \(boot \d+ ms, total \d+ ms, (tcg|kvm)\)/);
    },
    180_000,
  );
});
