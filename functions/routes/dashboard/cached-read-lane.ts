import type { LaneRoute } from "../../middleware/cached-read-lane";
import { DEFAULT_VARIANCE_DAYS, peekAgentVariance } from "../../read-models/agent-variance";
import { analyticsAggregate } from "../../read-models/analytics";
import { coverageAggregate } from "../../read-models/coverage";
import { overviewAggregate } from "../../read-models/overview";
import { daysWindowKey, type WindowedAggregate } from "../../read-models/windowed";
import { agentVarianceAnswer, agentVarianceResponse, route as varianceRoute } from "../analytics/agent-variance";
import { analyticsResponseSchema, route as analyticsRoute } from "./get-analytics";
import { coverageResponseSchema, route as coverageRoute } from "./get-coverage";
import { overviewResponseSchema, route as overviewRoute } from "./get-overview";
import { windowedAnswer } from "./windowed-aggregate";

/** A windowed aggregate's lane entry: its `days=N` key, as `fetchWindowedAggregate` keys it. */
const windowed = <T>(path: string, aggregate: WindowedAggregate<T>, schema: LaneRoute["schema"], compare: boolean): LaneRoute => ({
  path,
  defaultDays: aggregate.defaultDays,
  compare,
  peek: (cache, org, query, now) => aggregate.namespace.peek(cache, daysWindowKey(aggregate, org, query.days, query.compare, now)),
  schema,
  answer: windowedAnswer,
});

/** The routes whose fresh cached answers the cached-read lane serves (`middleware/cached-read-lane.ts`), as their handlers build them. */
export const CACHED_READ_LANE_ROUTES: readonly LaneRoute[] = [
  windowed(overviewRoute.path, overviewAggregate, overviewResponseSchema, true),
  windowed(analyticsRoute.path, analyticsAggregate, analyticsResponseSchema, false),
  windowed(coverageRoute.path, coverageAggregate, coverageResponseSchema, false),
  {
    path: varianceRoute.path,
    defaultDays: DEFAULT_VARIANCE_DAYS,
    compare: false,
    peek: (cache, org, query, now) => peekAgentVariance(cache, org, query.days, now),
    schema: agentVarianceResponse,
    answer: agentVarianceAnswer,
  },
];
