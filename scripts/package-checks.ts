/**
 * The package.json checks every stand-alone wire package (@nvmu/nvme-spec, @nvmu/vfio-user-codec)
 * runs on itself, written once. It lives here rather than in @nvmu/test-kit: the kit's build
 * needs @nvmu/nvmf, which builds on nvme-spec, so the wire packages cannot depend on the kit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN.md: a wire package is used alone downstream, so it installs nothing else, and it is
 * publishable as it stands. `packageJson` is the URL of its package.json, `directory` its folder
 * in the repository (`packages/nvme-spec`), `why` what the zero-dependency test adds to its name.
 */
export function describeStandalonePackage(packageJson: URL, directory: string, why = ''): void {
  describe('package.json', () => {
    const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as Record<string, unknown>;

    it(`declares zero runtime dependencies${why === '' ? '' : ` (${why})`}`, () => {
      for (const key of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
        expect([key, Object.keys(pkg[key] ?? {})]).toEqual([key, []]);
      }
    });

    it('is publishable: 0.x, ESM, types-first exports, files, license, repository, Node >= 22', () => {
      expect(pkg.version).toMatch(/^0\.\d+\.\d+$/);
      expect(pkg.type).toBe('module');
      expect(pkg.license).toBe('MIT');
      expect(pkg.engines).toEqual({ node: '>=22' });
      expect(pkg.repository).toMatchObject({ type: 'git', directory });
      const root = (pkg.exports as Record<string, Record<string, string>>)['.'];
      expect(Object.keys(root ?? {})[0]).toBe('types');
      expect(pkg.files).toContain('dist');
      expect(pkg.private).toBeUndefined();
    });
  });
}
