#!/usr/bin/env node
/**
 * nvmu: discovery, identify, block I/O and the daemon's JSON-RPC from the command line. See
 * `nvmu --help`. Importing the transports' `./host` entries registers them with @nvmu/client.
 */
import '@nvmu/transport-tcp/host';
import '@nvmu/transport-loopback/host';
import '@nvmu/transport-vfio-user/host';
import { cliMain } from './cli.js';

process.exitCode = await cliMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
