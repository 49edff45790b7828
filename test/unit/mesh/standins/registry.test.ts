import assert from 'node:assert/strict';
import {
  imageRepository,
  imageRunFor,
  KNOWN_IMAGES,
  type ImageRun,
} from '../../../../src/mesh/standins/registry.js';

describe('mesh/standins registry', () => {
  const cases: { image: string; want: ImageRun | undefined }[] = [
    {
      image: 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.3',
      want: { kind: 'standin', standin: 'reviews', version: 'v2' },
    },
    {
      image: 'docker.io/istio/examples-bookinfo-reviews-v3:1.20.1',
      want: { kind: 'standin', standin: 'reviews', version: 'v3' },
    },
    {
      image: 'istio/examples-bookinfo-productpage-v1@sha256:0123abcd',
      want: { kind: 'standin', standin: 'productpage', version: 'v1' },
    },
    {
      image: 'index.docker.io/istio/examples-bookinfo-details-v1:1.20.1',
      want: { kind: 'standin', standin: 'details', version: 'v1' },
    },
    {
      image: 'docker.io/istio/examples-bookinfo-ratings-v1:1.20.1',
      want: { kind: 'standin', standin: 'ratings', version: 'v1' },
    },
    { image: 'mccutchen/go-httpbin', want: { kind: 'standin', standin: 'httpbin' } },
    { image: 'docker.io/mccutchen/go-httpbin:v2.15.0', want: { kind: 'standin', standin: 'httpbin' } },
    { image: 'docker.io/kennethreitz/httpbin', want: { kind: 'standin', standin: 'httpbin' } },
    {
      image: 'docker.io/istio/examples-helloworld-v1',
      want: { kind: 'standin', standin: 'helloworld', version: 'v1' },
    },
    {
      image: 'registry.istio.io/release/examples-helloworld-v2:1.0',
      want: { kind: 'standin', standin: 'helloworld', version: 'v2' },
    },
    { image: 'docker.io/istio/tcp-echo-server:1.1', want: { kind: 'standin', standin: 'tcp-echo' } },
    { image: 'curlimages/curl:8.7.1', want: { kind: 'host-command', image: 'curlimages/curl' } },
    { image: 'docker.io/library/nginx:1.25', want: undefined },
    { image: 'quay.io/istio/examples-bookinfo-reviews-v2:1.20.3', want: undefined },
    { image: 'docker.io/istio/examples-bookinfo-reviews-v4', want: undefined },
  ];
  for (const c of cases) {
    it(`${c.image}: ${c.want === undefined ? 'unknown' : JSON.stringify(c.want)}`, () => {
      assert.deepEqual(imageRunFor(c.image), c.want);
    });
  }

  it('strips Docker Hub hosts, library/, tags and digests but keeps a registry port', () => {
    assert.equal(imageRepository('docker.io/library/busybox:1.36'), 'busybox');
    assert.equal(
      imageRepository('localhost:5000/istio/tcp-echo-server:1.1'),
      'localhost:5000/istio/tcp-echo-server',
    );
    assert.equal(imageRepository('istio/tcp-echo-server@sha256:ab'), 'istio/tcp-echo-server');
  });

  it('lists every known repository once, sorted, for error messages', () => {
    assert.ok(KNOWN_IMAGES.includes('istio/examples-bookinfo-reviews-v3'));
    assert.ok(KNOWN_IMAGES.includes('curlimages/curl'));
    assert.deepEqual([...KNOWN_IMAGES].sort(), KNOWN_IMAGES);
    assert.equal(new Set(KNOWN_IMAGES).size, KNOWN_IMAGES.length);
  });
});
