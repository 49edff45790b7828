/** The waypoint's routing decisions: request model, matching, rewrites, CORS. */
export type { L7Destination, L7Request, L7Source } from './request.js';
export { fullMatchRegex, stringMatches } from './string-match.js';
export { applyHeaderOps, mergeHeaderOps, rewritePath, type HeaderRecord } from './rewrite.js';
export { decideCors, type CorsDecision } from './cors.js';
export { findRoute, httpMatchMatches, percentFires, pickWeighted, routeRequest, stripPort, type FaultDecision, type RouteDecision } from './route.js';
