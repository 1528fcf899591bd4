import * as createOrganization from "./admin/create-organization";
import * as createApiKey from "./admin/create-api-key";
import * as revokeApiKey from "./admin/revoke-api-key";
import * as updateOrganization from "./admin/update-organization";
import * as runJob from "./admin/run-job";
import * as cacheHealth from "./health/cache-health";
import * as listOrganizations from "./admin/list-organizations";
import * as createCall from "./calls/create-call";
import * as createCallsBatch from "./calls/create-calls-batch";
import * as getCall from "./calls/get-call";
import * as updateCall from "./calls/update-call";
import * as putCallAnalysis from "./calls/put-call-analysis";
import * as listCalls from "./calls/list-calls";
import * as exportCalls from "./calls/export-calls";
import * as reconnectCall from "./calls/reconnect-call";
import * as routeCall from "./calls/route-call";
import * as listAgents from "./agents/list-agents";
import * as getAgentPerformance from "./agents/get-agent-performance";
import * as agentVariance from "./analytics/agent-variance";
import * as callsByPhone from "./contacts/calls-by-phone";
import * as getOverview from "./dashboard/get-overview";
import * as getAnalytics from "./dashboard/get-analytics";
import * as getCoverage from "./dashboard/get-coverage";
import * as createAgent from "./agents/create-agent";
import * as updateAgent from "./agents/update-agent";
import * as createAgentSession from "./agent-sessions/create-agent-session";
import * as updateAgentSession from "./agent-sessions/update-agent-session";
import * as createPageviews from "./pageviews/create-pageviews";
import * as listCatalog from "./catalog/list-catalog";
import * as createCatalogItem from "./catalog/create-catalog-item";
import * as updateCatalogItem from "./catalog/update-catalog-item";
import * as deleteCatalogItem from "./catalog/delete-catalog-item";
import * as createAppointment from "./appointments/create-appointment";
import * as updateAppointment from "./appointments/update-appointment";
import * as getInboundConfig from "./inbound-config/get-inbound-config";
import * as putInboundConfig from "./inbound-config/put-inbound-config";
import * as getSettings from "./settings/get-settings";
import * as updateSettings from "./settings/update-settings";
import * as voiceWebhook from "./webhooks/voice-webhook";
import * as dashboardPage from "./dashboard-page";
import type { App } from "../hono/env";

/**
 * Every route module, each `{ route, register }`. Order matters only where paths overlap: literal paths
 * (`/api/calls/reconnect`) are registered before parameterised ones (`/api/calls/{id}`).
 */
export const routeModules = [
  createOrganization,
  createApiKey,
  revokeApiKey,
  updateOrganization,
  runJob,
  cacheHealth,
  listOrganizations,
  createCall,
  createCallsBatch,
  updateCall,
  putCallAnalysis,
  listCalls,
  exportCalls,
  reconnectCall,
  routeCall,
  getCall,
  listAgents,
  getAgentPerformance,
  agentVariance,
  callsByPhone,
  getOverview,
  getAnalytics,
  getCoverage,
  createAgent,
  updateAgent,
  createAgentSession,
  updateAgentSession,
  createPageviews,
  listCatalog,
  createCatalogItem,
  updateCatalogItem,
  deleteCatalogItem,
  createAppointment,
  updateAppointment,
  getInboundConfig,
  putInboundConfig,
  getSettings,
  updateSettings,
  voiceWebhook,
];

export function registerRoutes(app: App): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  for (const module of routeModules) module.register(app);
  dashboardPage.register(app); // GET /: the dashboard page, not an API route (no OpenAPI entry)
}
