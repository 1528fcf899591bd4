import type { App } from "../app";
import * as createOrganization from "./admin/create-organization";
import * as createApiKey from "./admin/create-api-key";
import * as updateOrganization from "./admin/update-organization";
import * as runJob from "./admin/run-job";
import * as createCall from "./calls/create-call";
import * as getCall from "./calls/get-call";
import * as updateCall from "./calls/update-call";
import * as putCallAnalysis from "./calls/put-call-analysis";

/**
 * Every route module, each `{ route, register }`. Order matters only where paths overlap: literal paths
 * (`/api/calls/reconnect`) are registered before parameterised ones (`/api/calls/{id}`).
 */
export const routeModules = [
  createOrganization,
  createApiKey,
  updateOrganization,
  runJob,
  createCall,
  updateCall,
  putCallAnalysis,
  getCall,
];

export function registerRoutes(app: App): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  for (const module of routeModules) module.register(app);
}
