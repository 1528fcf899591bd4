// The demo-data generator (Node tool: the CLI, the Node entry's first start, tests and benchmarks).
export { seed, seedDemo, DEMO_ORGANIZATION, type SeedResult, type SeededOrganization } from "./seed";
export { SeedOptionsError, seedOptionProblems, type SeedOptions, type SeedProgress, type SeedPhase } from "./plan";
