import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_PERF_OPTIONS, PerfArgsError, parsePerfArgs, parseSize, resolvePerfOptions } from '../src/args.js';

const R = ['-r', 'trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2016-06.io.spdk:cnode1'];

function run(argv: string[]) {
  const p = parsePerfArgs(argv);
  if (p.kind !== 'run') throw new Error('expected run');
  return p.options;
}

function fails(argv: string[]): string {
  try {
    parsePerfArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(PerfArgsError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('parsePerfArgs', () => {
  it('fills defaults and parses the transport ID with the client parser', () => {
    const o = run(R);
    expect(o.trids).toEqual([
      { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4420', subnqn: 'nqn.2016-06.io.spdk:cnode1' },
    ]);
    expect(o.queueDepth).toBe(DEFAULT_PERF_OPTIONS.queueDepth);
    expect(o.ioSize).toBe(4096);
    expect(o.workload).toBe('randread');
    expect(o.readPercent).toBe(100);
    expect(o.qpairsPerNamespace).toBe(1);
    expect(o.verify).toBe(false);
    expect(o.json).toBe(false);
    expect(o.progress).toBe(true);
    expect(o.nsids).toBeUndefined();
  });

  it('parses every flag', () => {
    const o = run([
      ...R,
      '-r', 'trtype:loopback traddr:t1 subnqn:nqn.x:y',
      '-q', '128', '-o', '128k', '-w', 'randrw', '-M', '70', '-t', '2.5', '-a', '1.5', '-P', '4',
      '-N', '1,3', '--nsid', '2', '-N', '3', '-L', '--verify', '--seed', '42', '--no-prefill',
      '--io-count', '1000', '--json', '--no-progress',
    ]);
    expect(o.trids).toHaveLength(2);
    expect(o.queueDepth).toBe(128);
    expect(o.ioSize).toBe(131072);
    expect(o.workload).toBe('randrw');
    expect(o.readPercent).toBe(70);
    expect(o.timeSeconds).toBe(2.5);
    expect(o.warmupSeconds).toBe(1.5);
    expect(o.qpairsPerNamespace).toBe(4);
    expect(o.nsids).toEqual([1, 3, 2]);
    expect(o.latencyHistogram).toBe(true);
    expect(o.verify).toBe(true);
    expect(o.seed).toBe(42);
    expect(o.prefill).toBe(false);
    expect(o.ioCount).toBe(1000);
    expect(o.json).toBe(true);
    expect(o.progress).toBe(false);
  });

  it('derives the read percentage from the workload', () => {
    expect(run([...R, '-w', 'read']).readPercent).toBe(100);
    expect(run([...R, '-w', 'write']).readPercent).toBe(0);
    expect(run([...R, '-w', 'randwrite']).readPercent).toBe(0);
    expect(run([...R, '-w', 'rw']).readPercent).toBe(50);
    expect(run([...R, '-w', 'RW', '-M', '0']).readPercent).toBe(0);
  });

  it('--busy-poll puts busypoll:<us> on TCP trids, unless the trid says otherwise', () => {
    const o = run([...R, '-r', 'trtype:tcp traddr:127.0.0.2 subnqn:nqn.x:y busypoll:20', '-r', 'trtype:loopback traddr:t1 subnqn:nqn.x:y', '--busy-poll', '50']);
    expect(o.busyPollUs).toBe(50);
    expect(o.trids.map((t) => (typeof t === 'string' ? t : t.params?.busypoll))).toEqual(['50', '20', undefined]);
    expect(run(R).trids.map((t) => (typeof t === 'string' ? t : t.params))).toEqual([undefined]);
    expect(fails([...R, '--busy-poll', '10001'])).toMatch(/--busy-poll/);
    expect(fails([...R, '--busy-poll', 'x'])).toMatch(/--busy-poll/);
  });

  it('answers --help', () => {
    expect(parsePerfArgs(['-h']).kind).toBe('help');
    expect(parsePerfArgs(['--help', '-q', 'x']).kind).toBe('help');
  });

  it('rejects bad values with messages that name the flag', () => {
    expect(fails([])).toMatch(/no controller given/);
    expect(fails(['-r', 'trtype:tcp'])).toMatch(/-r 'trtype:tcp': transport ID has no traddr/);
    expect(fails(['-r', 'garbage'])).toMatch(/-r 'garbage': 'garbage' is not key:value/);
    expect(fails([...R, '-q', '0'])).toMatch(/^-q 0: expected an integer from 1 to 65535/);
    expect(fails([...R, '-q', 'abc'])).toMatch(/^-q abc: expected an integer/);
    expect(fails([...R, '-q', '1.5'])).toMatch(/^-q 1\.5/);
    expect(fails([...R, '-o', 'big'])).toMatch(/^-o big: expected a size in bytes/);
    expect(fails([...R, '-o', '0'])).toMatch(/^-o 0: expected a size of at least 1 byte/);
    expect(fails([...R, '-w', 'sideways'])).toMatch(/^-w sideways: expected one of read, write, randread, randwrite, rw, randrw/);
    expect(fails([...R, '-w', 'rw', '-M', '101'])).toMatch(/^-M 101: expected an integer from 0 to 100/);
    expect(fails([...R, '-w', 'read', '-M', '50'])).toMatch(/-M is only meaningful with -w rw or randrw/);
    expect(fails([...R, '-t', '0'])).toMatch(/^-t 0: expected a number of seconds above 0/);
    expect(fails([...R, '-t', 'soon'])).toMatch(/^-t soon/);
    expect(fails([...R, '-P', '0'])).toMatch(/^-P 0/);
    expect(fails([...R, '-a', 'x'])).toMatch(/^-a x: expected a number of seconds/);
    expect(run([...R, '-a', '0']).warmupSeconds).toBe(0);
    expect(fails([...R, '-q', '2', '-P', '4'])).toMatch(/-P 4 is above -q 2/);
    expect(fails([...R, '-N', '0'])).toMatch(/^-N 0/);
    expect(fails([...R, '-N', '1,x'])).toMatch(/^-N x/);
    expect(fails([...R, '--no-prefill'])).toMatch(/--no-prefill needs --verify/);
    expect(fails([...R, '--seed', '-1'])).toMatch(/seed/);
    expect(fails([...R, '--io-count', '0'])).toMatch(/^--io-count 0/);
    expect(fails([...R, '--bogus'])).toMatch(/Unknown option '--bogus'/);
    expect(fails([...R, '-q'])).toMatch(/-q/);
    expect(fails([...R, 'extra'])).toMatch(/unexpected argument 'extra'/);
  });

  it('accepts every in-range integer for -q and -P and rejects the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 70000 }), (q) => {
        const ok = q >= 1 && q <= 65535;
        if (ok) expect(run([...R, '-q', String(q)]).queueDepth).toBe(q);
        else expect(() => parsePerfArgs([...R, '-q', String(q)])).toThrow(PerfArgsError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseSize', () => {
  it('knows binary suffixes', () => {
    expect(parseSize('-o', '512')).toBe(512);
    expect(parseSize('-o', '4k')).toBe(4096);
    expect(parseSize('-o', '4KiB')).toBe(4096);
    expect(parseSize('-o', '1M')).toBe(1048576);
    expect(parseSize('-o', '1g')).toBe(1073741824);
  });
  it('round-trips any positive byte count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (n) => {
        expect(parseSize('-o', String(n))).toBe(n);
      }),
    );
  });
});

describe('resolvePerfOptions', () => {
  it('checks object options like the command line', () => {
    expect(() => resolvePerfOptions({ trids: ['trtype:loopback traddr:a'], queueDepth: 0 })).toThrow(/-q 0/);
    expect(() => resolvePerfOptions({ trids: ['trtype:loopback traddr:a'], timeSeconds: -1 })).toThrow(/-t -1/);
    expect(resolvePerfOptions({ trids: [{ trtype: 'loopback', traddr: 'a' }], workload: 'write' }).readPercent).toBe(0);
  });
});
