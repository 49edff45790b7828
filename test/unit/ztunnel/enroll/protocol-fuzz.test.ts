/**
 * Property-based tests of what the enrollment socket reads from a peer: the
 * frame decoder, frame parsing and request validation. Whatever arrives, the
 * only thing that may be thrown is an EnrollError with one of the codes a
 * reply carries. Run counts are fixed so a run is reproducible in time; a
 * failure prints fast-check's seed and path to replay it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EnrollError } from '../../../../src/ztunnel/enroll/errors.js';
import { decodeRequest, encodeFrame, FrameDecoder, parseFrame, type RequestLimits } from '../../../../src/ztunnel/enroll/protocol.js';

/** Runs per property; the report names these figures. */
export const FUZZ_RUNS = { decoderBytes: 2_000, decoderRoundTrip: 1_000, parseFrame: 2_000, requestsAnything: 5_000, requestsNearValid: 5_000 } as const;

const limits: RequestLimits = { podCgroupRoot: '/sys/fs/cgroup/unified/a9m' };

function typed(codes: readonly string[]) {
  return (err: unknown): void => {
    if (!(err instanceof EnrollError) || !codes.includes(err.code)) throw err;
  };
}

/** A byte stream cut into chunks at arbitrary points. */
function chunked(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(from, p)));
    from = p;
  }
  return out;
}

const validPod = {
  uid: 'uid-1',
  name: 'web-0',
  namespace: 'default',
  netnsPath: '/run/netns/web-0',
  cgroupPath: '/sys/fs/cgroup/unified/a9m/web-0',
  ips: ['10.251.0.2'],
};

/** Values a hostile or buggy peer might put in a field. */
const oddValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('', '/', '..', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/unified/a9m', '/sys/fs/cgroup/unified/a9m/', '/sys/fs/cgroup/unified/a9m/../x', 'x'.repeat(5000), '\u0000', -1, 1.5, 2 ** 53, null, [], {}),
  fc.string({ unit: 'binary', maxLength: 64 }),
);

describe('enrollment protocol under property-based fuzzing', function () {
  this.timeout(60_000);

  it(`the decoder yields frames or ENROLL_FRAME_TOO_LARGE for any bytes in any chunking (${FUZZ_RUNS.decoderBytes} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 0, max: 300 }), (bytes, cuts, max) => {
        const d = new FrameDecoder(max);
        try {
          for (const c of chunked(bytes, cuts)) {
            for (const f of d.push(c)) assert.ok(f.length <= max);
          }
        } catch (err) {
          typed(['ENROLL_FRAME_TOO_LARGE'])(err);
        }
        assert.ok(d.pendingBytes <= bytes.length);
      }),
      { numRuns: FUZZ_RUNS.decoderBytes },
    );
  });

  it(`the decoder gives back exactly the frames encoded, however the stream is cut (${FUZZ_RUNS.decoderRoundTrip} runs)`, () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));
        const d = new FrameDecoder();
        const out: unknown[] = [];
        for (const c of chunked(stream, cuts)) for (const f of d.push(c)) out.push(JSON.parse(f.toString('utf8')));
        assert.deepEqual(out, JSON.parse(JSON.stringify(messages)));
        assert.equal(d.pendingBytes, 0);
      }),
      { numRuns: FUZZ_RUNS.decoderRoundTrip },
    );
  });

  it(`parseFrame accepts a JSON object or throws ENROLL_MALFORMED, for any bytes (${FUZZ_RUNS.parseFrame} runs)`, () => {
    const body = fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))));
    fc.assert(
      fc.property(body, (bytes) => {
        try {
          const v = parseFrame(Buffer.from(bytes));
          assert.equal(typeof v, 'object');
        } catch (err) {
          typed(['ENROLL_MALFORMED'])(err);
        }
      }),
      { numRuns: FUZZ_RUNS.parseFrame },
    );
  });

  it(`decodeRequest throws only ENROLL_INVALID_MESSAGE for arbitrary objects (${FUZZ_RUNS.requestsAnything} runs)`, () => {
    const raw = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.anything()),
      fc.record({ type: fc.constantFrom('AddPod', 'DelPod', 'Snapshot', 'CheckPod', 'Hello'), id: fc.oneof(fc.nat(), fc.anything()) }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(raw, (r) => {
        try {
          decodeRequest(r as Record<string, unknown>, limits);
        } catch (err) {
          typed(['ENROLL_INVALID_MESSAGE'])(err);
        }
      }),
      { numRuns: FUZZ_RUNS.requestsAnything },
    );
  });

  it(`a near-valid AddPod or Snapshot is accepted only with its cgroup under the root (${FUZZ_RUNS.requestsNearValid} runs)`, () => {
    const field = fc.constantFrom(...(Object.keys(validPod) as (keyof typeof validPod)[]), 'serviceAccount');
    const mutated = fc.record({ key: field, value: oddValue }).map(({ key, value }) => ({ ...validPod, [key]: value }));
    const request = fc.oneof(
      mutated.map((p) => ({ type: 'AddPod', id: 1, ...p })),
      fc.array(mutated, { maxLength: 3 }).map((pods) => ({ type: 'Snapshot', id: 2, pods: pods.map((p, i) => ({ ...p, uid: `uid-${i}` })) })),
    );
    fc.assert(
      fc.property(request, (r) => {
        let decoded;
        try {
          decoded = decodeRequest(r, limits);
        } catch (err) {
          typed(['ENROLL_INVALID_MESSAGE'])(err);
          return;
        }
        const pods = decoded.type === 'AddPod' ? [decoded] : decoded.type === 'Snapshot' ? decoded.pods : [];
        for (const p of pods) assert.ok(p.cgroupPath.startsWith(`${limits.podCgroupRoot}/`) && p.cgroupPath.length > limits.podCgroupRoot.length + 1, p.cgroupPath);
      }),
      { numRuns: FUZZ_RUNS.requestsNearValid },
    );
  });
});
