import type { LaneRoute } from "../../middleware/cached-read-lane";
import { analyticsAggregate } from "../../read-models/analytics";
import { coverageAggregate } from "../../read-models/coverage";
import { overviewAggregate } from "../../read-models/overview";
import { analyticsResponseSchema, route as analyticsRoute } from "./get-analytics";
import { coverageResponseSchema, route as coverageRoute } from "./get-coverage";
import { overviewResponseSchema, route as overviewRoute } from "./get-overview";
import { windowedAnswer } from "./windowed-aggregate";

/** The routes whose fresh cached answers the cached-read lane serves (`middleware/cached-read-lane.ts`), as their handlers build them. */
export const CACHED_READ_LANE_ROUTES: readonly LaneRoute[] = [
  { path: overviewRoute.path, aggregate: overviewAggregate, schema: overviewResponseSchema, compare: true, answer: windowedAnswer },
  { path: analyticsRoute.path, aggregate: analyticsAggregate, schema: analyticsResponseSchema, compare: false, answer: windowedAnswer },
  { path: coverageRoute.path, aggregate: coverageAggregate, schema: coverageResponseSchema, compare: false, answer: windowedAnswer },
];
