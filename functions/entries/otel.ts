/**
 * OpenTelemetry traces for the Node entry (SPEC §11 "Traces"). The entry imports this module dynamically, and only
 * when OTEL_EXPORTER_OTLP_ENDPOINT is set: without it no OpenTelemetry module is loaded and nothing is wrapped.
 */
import { context, propagation, type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from "@opentelemetry/semantic-conventions";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Tracer } from "../lib/tracing";

export type TracingOptions = {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: spans go to `<endpoint>/v1/traces` */
  endpoint: string;
  /** OTEL_EXPORTER_OTLP_PROTOCOL */
  protocol: "http/json" | "http/protobuf";
  /** OTEL_SERVICE_NAME, `tally` by default */
  serviceName: string;
};

export type Tracing = {
  /** spans of our own boundaries: statements, cache-store calls, scheduled jobs */
  tracer: Tracer;
  /** the server span of each request, the app's outermost middleware */
  requestTracing: MiddlewareHandler;
  /** exports the spans still buffered, then stops */
  shutdown(): Promise<void>;
};

const INSTRUMENTATION_SCOPE = "tally";

/**
 * What failed, without its message: a driver's message can quote the statement's parameter values (Drizzle's
 * "Failed query: ... params: ..."), which a trace must not carry. A Postgres error answers its SQLSTATE.
 */
function errorType(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.length > 0) return code;
  return cause instanceof Error ? cause.name : "unknown";
}

/**
 * The route pattern the request matched, in Hono's form (`/api/calls/:id`), or undefined when only middleware matched
 * (a 404). Middleware registered with `use` matches as method ALL; a route as its own method.
 */
function routeOf(c: Context): string | undefined {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== "ALL") return route.path;
  }
  return undefined;
}

/** Starts the tracer provider and its OTLP/HTTP exporter; the entry calls it once, before it builds anything else. */
export function startTracing(options: TracingOptions): Tracing {
  const url = `${options.endpoint.replace(/\/+$/, "")}/v1/traces`;
  const exporter = options.protocol === "http/json" ? new JsonTraceExporter({ url }) : new ProtobufTraceExporter({ url });
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName })),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // the async-local-storage context manager: a statement's span finds its request's span as its parent
  provider.register();
  const otel = provider.getTracer(INSTRUMENTATION_SCOPE);

  const tracer: Tracer = {
    span: (name, kind, attributes, work) =>
      otel.startActiveSpan(name, { kind: kind === "client" ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes }, async (span: Span) => {
        try {
          return await work();
        } catch (error) {
          span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw error;
        } finally {
          span.end();
        }
      }),
  };

  // named `<METHOD> <route pattern>` once the route is known (SPEC §11); a 4xx is the client's and leaves the status
  // unset, a 5xx marks the span failed (OpenTelemetry's HTTP conventions for server spans)
  const requestTracing: MiddlewareHandler = (c, next) => {
    const url = new URL(c.req.url);
    const method = c.req.method;
    const parent = propagation.extract(context.active(), c.req.header());
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_PATH]: url.pathname,
      [ATTR_URL_SCHEME]: url.protocol.slice(0, -1),
      [ATTR_SERVER_ADDRESS]: url.hostname,
      [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      ...(c.req.header("user-agent") ? { [ATTR_USER_AGENT_ORIGINAL]: c.req.header("user-agent")! } : {}),
    };
    return otel.startActiveSpan(method, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        await next();
      } finally {
        const route = routeOf(c);
        if (route) {
          span.setAttribute(ATTR_HTTP_ROUTE, route);
          span.updateName(`${method} ${route}`);
        }
        const status = c.res.status;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, c.error ? errorType(c.error) : String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      }
    });
  };

  return { tracer, requestTracing, shutdown: () => provider.shutdown() };
}
