import assert from 'node:assert/strict';
import {
  clockTicksPerSecond,
  cpuTicksFromStat,
  parseIperf3BitsPerSecond,
  parseWrk,
  parseWrkLatencyUs,
  processCpuSeconds,
  processRssBytes,
  rssBytesFromStatus,
  spread,
} from '../../../../bench/support/load-tools.js';

const WRK_OUTPUT = `Running 10s test @ http://10.251.1.3:8080/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.01ms    1.46ms  26.95ms   91.16%
    Req/Sec    11.73k     4.68k   25.83k    80.00%
  Latency Distribution
     50%  617.00us
     75%  806.00us
     90%    2.18ms
     99%    1.02s
  46747 requests in 10.00s, 53.05MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:   4674.70
Transfer/sec:      5.30MB
`;

describe('bench/support/load-tools', () => {
  describe('parseWrkLatencyUs', () => {
    const cases: [string, number][] = [
      ['617.00us', 617],
      ['2.18ms', 2180],
      ['1.02s', 1_020_000],
      ['1.50m', 90_000_000],
    ];
    for (const [text, us] of cases) {
      it(`reads ${text} as ${us} us`, () => assert.equal(Math.round(parseWrkLatencyUs(text)), us));
    }
    it('refuses a latency without a known unit', () => assert.throws(() => parseWrkLatencyUs('12.0ns'), /no known unit/));
  });

  describe('parseWrk', () => {
    it('reads p50, p99, the request count, the duration, the rate and every kind of error', () => {
      assert.deepEqual(parseWrk(WRK_OUTPUT), {
        p50Us: 617,
        p99Us: 1_020_000,
        requests: 46747,
        durationSeconds: 10,
        requestsPerSecond: 4674.7,
        errors: 15,
      });
    });

    it('counts no errors when wrk printed none', () => {
      const clean = WRK_OUTPUT.replace(/^\s*(Socket errors|Non-2xx).*\n/gm, '');
      assert.equal(parseWrk(clean).errors, 0);
    });

    it('fails when the latency distribution is missing (wrk run without --latency)', () => {
      const bare = WRK_OUTPUT.replace(/^\s+\d+%.*\n/gm, '');
      assert.throws(() => parseWrk(bare), /no 50% latency line/);
    });

    it('fails on output that is not a wrk summary', () => {
      assert.throws(() => parseWrk('unable to connect to 10.0.0.1:8080 Connection refused'), /requests in/);
    });
  });

  describe('parseIperf3BitsPerSecond', () => {
    it('reads the receiver throughput', () => {
      const json = JSON.stringify({ end: { sum_sent: { bits_per_second: 2e9 }, sum_received: { bits_per_second: 1.5e9 } } });
      assert.equal(parseIperf3BitsPerSecond(json), 1.5e9);
    });

    it("reports iperf3's own error", () => {
      assert.throws(() => parseIperf3BitsPerSecond(JSON.stringify({ error: 'unable to connect to server' })), /iperf3: unable to connect/);
    });

    it('fails on output that is not JSON or lacks the figure', () => {
      assert.throws(() => parseIperf3BitsPerSecond('iperf3: error'), /not JSON/);
      assert.throws(() => parseIperf3BitsPerSecond('{"end":{}}'), /bits_per_second/);
    });
  });

  describe('/proc readers', () => {
    it('sums utime and stime of a stat line whose command name holds spaces and parentheses', () => {
      const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 1234 1000000 5000 18446744073709551615';
      assert.equal(cpuTicksFromStat(stat), 325);
    });

    it('reads VmRSS in bytes', () => {
      assert.equal(rssBytesFromStatus('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   84700 kB\nRssAnon:\t 1 kB\n'), 84_700 * 1024);
      assert.throws(() => rssBytesFromStatus('Name:\tkthreadd\n'), /VmRSS/);
    });

    it('reads this process: some CPU time spent and a plausible RSS', () => {
      assert.ok(processCpuSeconds(process.pid, clockTicksPerSecond()) > 0);
      const rss = processRssBytes(process.pid);
      assert.ok(rss > 10 * 1024 * 1024 && rss < 4 * 1024 * 1024 * 1024, `rss ${rss}`);
    });
  });

  describe('spread', () => {
    const cases: [string, number[], { median: number; min: number; max: number; n: number }][] = [
      ['an odd count', [3, 1, 2], { median: 2, min: 1, max: 3, n: 3 }],
      ['an even count', [4, 1, 3, 2], { median: 2.5, min: 1, max: 4, n: 4 }],
      ['one value', [7], { median: 7, min: 7, max: 7, n: 1 }],
    ];
    for (const [what, values, expected] of cases) {
      it(`gives median, min and max of ${what}`, () => assert.deepEqual(spread(values), expected));
    }
    it('gives NaN figures and n = 0 for no values', () => {
      const s = spread([]);
      assert.equal(s.n, 0);
      assert.ok(Number.isNaN(s.median));
    });
  });
});
