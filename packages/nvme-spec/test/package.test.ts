import { describeStandalonePackage } from '../../../scripts/package-checks.js';

/** DESIGN.md: nvme-spec is used alone downstream, so it installs nothing else. */
describeStandalonePackage(new URL('../package.json', import.meta.url), 'packages/nvme-spec', 'CRC32C comes from the caller');
