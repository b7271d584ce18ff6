import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';

/** DESIGN.md: vfio-user-codec is used alone downstream, so it installs nothing else. */
describe('package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, unknown>;

  it('declares zero runtime dependencies', () => {
    for (const key of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
      expect([key, Object.keys(pkg[key] ?? {})]).toEqual([key, []]);
    }
  });

  it('is publishable: 0.x, ESM, types-first exports, files, license, repository, Node >= 22', () => {
    expect(pkg.version).toMatch(/^0\.\d+\.\d+$/);
    expect(pkg.type).toBe('module');
    expect(pkg.license).toBe('MIT');
    expect(pkg.engines).toEqual({ node: '>=22' });
    expect(pkg.repository).toMatchObject({ type: 'git', directory: 'packages/vfio-user-codec' });
    const root = (pkg.exports as Record<string, Record<string, string>>)['.'];
    expect(Object.keys(root ?? {})[0]).toBe('types');
    expect(pkg.files).toContain('dist');
    expect(pkg.private).toBeUndefined();
  });
});
