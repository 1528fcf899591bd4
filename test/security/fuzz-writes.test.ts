import { fuzzSuite } from "./support/fuzz-suite";

/** Property-based fuzzing of every write route. */
fuzzSuite(["write"]);
