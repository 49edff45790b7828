/** The istiod L7 compiler: config objects to one waypoint's WaypointConfig. */
export { compileWaypointConfig, type CompileInput } from './compile.js';
