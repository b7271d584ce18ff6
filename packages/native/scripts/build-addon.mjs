#!/usr/bin/env node
// Builds build/Release/nvmu_native.node with node-gyp, from Node headers already on this
// machine: node-gyp never downloads anything here (it would fetch a header tarball from the
// internet without --nodedir). Node-API is ABI-stable, so headers of any Node that has
// Node-API 8 build a module that loads under every later Node.
//
// Where the headers come from, first found wins:
//   1. NVMU_NODEDIR (a folder holding include/node/node_api.h);
//   2. the npm `node` package (the Node this project runs), which installs node-<os>-<arch>
//      with include/node beside its binary (pnpm's side-effects cache may leave it out);
//   3. the running Node's own prefix (<prefix>/bin/node → <prefix>/include/node), which is
//      where official tarballs and distribution packages put them;
//   4. npm's nodedir setting (npm_config_nodedir, e.g. from ~/.npmrc);
//   5. /usr (Debian's and others' nodejs packages: /usr/include/node).
// Run on install (package "install" script) and by the build task; a second run only makes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const pkgDir = resolve(import.meta.dirname, '..');
const require = createRequire(join(pkgDir, 'package.json'));

function hasHeaders(dir) {
  const inc = join(dir, 'include', 'node');
  return ['node_api.h', 'uv.h', 'common.gypi'].every((f) => existsSync(join(inc, f)));
}

function fromNodePackage() {
  const archPkg = `node-${process.platform}-${process.arch}`;
  for (const base of [pkgDir, process.cwd(), process.env.INIT_CWD].filter(Boolean)) {
    try {
      const nodePkg = require.resolve('node/package.json', { paths: [base] });
      return dirname(require.resolve(`${archPkg}/package.json`, { paths: [dirname(nodePkg)] }));
    } catch {
      // not installed from there; try the next place
    }
  }
  return undefined;
}

function findNodeDir() {
  const candidates = [
    ['NVMU_NODEDIR', process.env.NVMU_NODEDIR],
    ['the npm node package', fromNodePackage()],
    ['the running node', resolve(dirname(process.execPath), '..')],
    ['npm_config_nodedir', process.env.npm_config_nodedir],
    ['the system', '/usr'],
  ];
  for (const [what, dir] of candidates) {
    if (dir && hasHeaders(dir)) return { what, dir };
  }
  return undefined;
}

const found = findNodeDir();
if (!found) {
  console.error(
    '@nvmu/native: no Node headers found (include/node/node_api.h). Install the `node` npm package ' +
      "or your distribution's Node development headers, or set NVMU_NODEDIR to a folder with include/node.",
  );
  process.exit(1);
}

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const configured = join(pkgDir, 'build', 'config.gypi');
// Configure once per header folder; afterwards `build` is make's incremental build.
const fresh = !existsSync(configured) || !readFileSync(configured, 'utf8').includes(JSON.stringify(found.dir));
const args = [gyp, fresh ? 'rebuild' : 'build', `--nodedir=${found.dir}`, '--jobs=2', '--loglevel=warn'];
console.log(`@nvmu/native: node-gyp ${args[1]} with the headers of ${found.what} (${found.dir})`);
const r = spawnSync(process.execPath, args, {
  cwd: pkgDir,
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: found.dir },
});
process.exit(r.status ?? 1);
