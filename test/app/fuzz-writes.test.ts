import { fuzzSuite } from "../support/security/fuzz-suite";

/** Property-based fuzzing of every write route. */
fuzzSuite(["write"]);
