/** The request model the waypoint's routing and authorization decide on: plain data, parsed once by the listener. */

export type L7Destination = { readonly kind: 'service'; readonly hostname: string } | { readonly kind: 'workload'; readonly ip: string };

export interface L7Source {
  readonly ip: string;
  /** SPIFFE URI of the peer; undefined when plaintext. */
  readonly identity: string | undefined;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface L7Request {
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  /** Host / :authority as sent (port included when sent). */
  readonly authority: string;
  readonly scheme: string;
  /** Lower-case name -> value. */
  readonly headers: Readonly<Record<string, string>>;
  /** The service port the client targeted. */
  readonly port: number;
  readonly destination: L7Destination;
  readonly source: L7Source;
  readonly protocol: 'http' | 'http2' | 'grpc';
}
