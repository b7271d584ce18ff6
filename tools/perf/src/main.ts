#!/usr/bin/env node
/**
 * nvmu-perf: an NVMe I/O load generator modelled on spdk_nvme_perf. See `nvmu-perf --help`.
 * Importing the transports' `./host` entries registers them with @nvmu/client.
 */
import '@nvmu/transport-tcp/host';
import '@nvmu/transport-loopback/host';
import '@nvmu/transport-vfio-user/host';
import { perfMain } from './cli.js';

process.exitCode = await perfMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
