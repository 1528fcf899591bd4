// The demo-data generator (Node tool: the CLI, the Node entry's first start, tests and benchmarks).
export { seed, seedDemo, type SeedResult } from "./seed";
export { SeedOptionsError, seedOptionProblems, type SeedOptions, type SeedProgress } from "./plan";
