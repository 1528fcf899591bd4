import * as health from "./health";
import * as metrics from "./metrics";
import type { App } from "../../hono/env";

/** The operations routes: outside `/api`, so neither authenticated nor body-limited (SPEC §10). */
export function registerOpsRoutes(app: App): void {
  health.register(app);
  metrics.register(app);
}
