import { describeStandalonePackage } from '../../../scripts/package-checks.js';

/** DESIGN.md: vfio-user-codec is used alone downstream, so it installs nothing else. */
describeStandalonePackage(new URL('../package.json', import.meta.url), 'packages/vfio-user-codec');
