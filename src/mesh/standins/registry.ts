/**
 * Which stand-in runs a container, decided from its image reference alone.
 *
 * The local mesh runs Istio's sample manifests unmodified, so it has to know
 * the sample images: each known repository maps to a TypeScript stand-in that
 * answers the real image's API, or (curl) to "run the container's command on
 * the host". Matching ignores the registry host Docker Hub is reached by
 * (`docker.io/`, `index.docker.io/`, and the `library/` namespace) and the tag
 * or digest, so `docker.io/istio/examples-bookinfo-reviews-v2:1.20.3` and
 * `istio/examples-bookinfo-reviews-v2@sha256:…` are the same image.
 */

/** The stand-ins there are, one module each under src/mesh/standins/. */
export type StandinName =
  'productpage' | 'details' | 'reviews' | 'ratings' | 'httpbin' | 'helloworld' | 'tcp-echo';

export type ImageRun =
  | { readonly kind: 'standin'; readonly standin: StandinName; readonly version?: string }
  | { readonly kind: 'host-command'; readonly image: string };

interface KnownImage {
  readonly run: ImageRun;
}

function standin(name: StandinName, version?: string): KnownImage {
  return {
    run:
      version === undefined
        ? { kind: 'standin', standin: name }
        : { kind: 'standin', standin: name, version },
  };
}

/** Bookinfo versions that exist as images; the version is part of the repository name. */
const BOOKINFO_VERSIONS: Readonly<
  Record<'productpage' | 'details' | 'reviews' | 'ratings', readonly string[]>
> = {
  productpage: ['v1'],
  details: ['v1', 'v2'],
  reviews: ['v1', 'v2', 'v3'],
  ratings: ['v1', 'v2'],
};

/** Helloworld images are built per version (SERVICE_VERSION comes from a build arg). */
const HELLOWORLD_VERSIONS = ['v1', 'v2', 'v3'];

/** Where the samples publish helloworld besides Docker Hub (helloworld.yaml uses this one today). */
const ISTIO_RELEASE_REGISTRY = 'registry.istio.io/release/';

function buildTable(): ReadonlyMap<string, KnownImage> {
  const table = new Map<string, KnownImage>();
  for (const [app, versions] of Object.entries(BOOKINFO_VERSIONS)) {
    for (const v of versions) {
      table.set(`istio/examples-bookinfo-${app}-${v}`, standin(app as StandinName, v));
    }
  }
  for (const v of HELLOWORLD_VERSIONS) {
    table.set(`istio/examples-helloworld-${v}`, standin('helloworld', v));
    table.set(`${ISTIO_RELEASE_REGISTRY}examples-helloworld-${v}`, standin('helloworld', v));
  }
  for (const repo of [
    'mccutchen/go-httpbin',
    'ghcr.io/mccutchen/go-httpbin',
    'kennethreitz/httpbin',
    'kong/httpbin',
  ]) {
    table.set(repo, standin('httpbin'));
  }
  table.set('istio/tcp-echo-server', standin('tcp-echo'));
  table.set('curlimages/curl', { run: { kind: 'host-command', image: 'curlimages/curl' } });
  return table;
}

const TABLE = buildTable();

/** Every repository with a stand-in or a host-command run, sorted, for "unknown image" messages. */
export const KNOWN_IMAGES: readonly string[] = Object.freeze([...TABLE.keys()].sort());

/**
 * The repository part of an image reference: registry host of Docker Hub,
 * `library/`, tag and digest removed. `docker.io/kennethreitz/httpbin:latest`
 * -> `kennethreitz/httpbin`; other registries keep their host.
 */
export function imageRepository(image: string): string {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  // A tag is a ':' after the last '/'; a ':' before it is a registry port.
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  if (colon >= 0) ref = ref.slice(0, colon);
  for (const host of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) {
    if (ref.startsWith(host)) {
      ref = ref.slice(host.length);
      break;
    }
  }
  if (ref.startsWith('library/')) ref = ref.slice('library/'.length);
  return ref;
}

/** How a container with this image runs in the local mesh; `undefined` for an image it does not know. */
export function imageRunFor(image: string): ImageRun | undefined {
  return TABLE.get(imageRepository(image))?.run;
}
