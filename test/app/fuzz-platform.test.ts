import { fuzzSuite } from "../support/security/fuzz-suite";

/** Property-based fuzzing of the platform-admin routes, the signed voice webhook and the public operations routes. */
fuzzSuite(["admin", "signature", "public"]);
