import { fuzzSuite } from "../support/security/fuzz-suite";

/** Property-based fuzzing of every read route (GET, and the POSTs a read key may call). */
fuzzSuite(["read"]);
