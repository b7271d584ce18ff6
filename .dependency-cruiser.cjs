/** Enforces the package arrows of shared DESIGN.md. */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No cycles, inside a package or between packages.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'wire-packages-stand-alone',
      severity: 'error',
      comment: 'vfio-user-codec and nvme-spec have zero runtime dependencies: they import only their own files and node: builtins.',
      from: { path: '^packages/(vfio-user-codec|nvme-spec)/src' },
      to: { pathNot: ['^packages/$1/src', '^node:'], dependencyTypesNot: ['core', 'type-only'] },
    },
    {
      name: 'core-knows-no-transport',
      severity: 'error',
      comment: 'The target core never names a transport, the client, an app or a tool.',
      from: { path: '^packages/nvmf/' },
      to: { path: '^(packages/(transport-|client)|apps/|tools/)|node_modules/@nvmu/(transport-|client)' },
    },
    {
      name: 'client-knows-no-transport',
      severity: 'error',
      comment: 'The client finds host transports by registration, never by import; it never loads the target core at run time.',
      from: { path: '^packages/client/src' },
      to: { path: '^(packages/(transport-|nvmf)|apps/|tools/)|node_modules/@nvmu/(transport-|nvmf)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'transports-stand-apart',
      severity: 'error',
      comment: 'A transport package never imports another transport, an app or a tool; it imports the core and the client as types only.',
      from: { path: '^packages/(transport-[^/]+)/src' },
      to: { path: '^(packages/transport-|apps/|tools/)|node_modules/@nvmu/transport-', pathNot: '^packages/$1/' },
    },
    {
      name: 'transport-uses-core-and-client-as-types',
      severity: 'error',
      comment:
        "Interfaces are imported as types, so installing the client and one transport does not pull in the target core. The one run-time import from the client is its dependency-free contract module (@nvmu/client/transport: the host transport registry), which a transport's host side registers through.",
      from: { path: '^packages/transport-[^/]+/src' },
      to: {
        path: '^packages/(nvmf|client)/|node_modules/@nvmu/(nvmf|client)',
        pathNot: '(^packages/client/|node_modules/@nvmu/client/)dist/transport\\.(js|d\\.ts)$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'packages-not-apps',
      severity: 'error',
      comment: 'Libraries never depend on apps or tools.',
      from: { path: '^packages/' },
      to: { path: '^(apps|tools)/' },
    },
    {
      name: 'test-kit-stays-in-tests',
      severity: 'error',
      comment: 'The private test kit is never a run-time dependency of a published package or the daemon: only tests, benches and the private tools use it.',
      from: { path: '^(packages|apps)/[^/]+/src', pathNot: '^packages/test-kit/' },
      to: { path: '^packages/test-kit/' },
    },
  ],
  options: {
    // Workspace packages resolve to their built dist: list those modules (so the rules see which
    // package a test or bench imports) but do not cruise into them.
    doNotFollow: { path: ['node_modules', '(^|/)(dist|build)/'] },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
    moduleSystems: ['es6'],
  },
};
