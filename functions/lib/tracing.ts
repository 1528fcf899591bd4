/** Attribute values a span carries (OpenTelemetry's primitive attribute values). */
export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * What our own boundaries (the database handle, the cache store, the scheduler) report to a tracer. The Node entry
 * implements it over OpenTelemetry (`functions/entries/otel.ts`) only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
 * without it nothing is wrapped, so this interface is all the code below the entries knows of tracing.
 */
export interface Tracer {
  /**
   * Runs `work` in a span, a child of the span active where it is called (a root span where none is): `client` for a
   * call to another system (a statement, a store call), `internal` for our own work (a scheduled job). The span ends
   * when `work` settles and is marked failed when it rejects.
   */
  span<T>(name: string, kind: "client" | "internal", attributes: SpanAttributes, work: () => Promise<T>): Promise<T>;
}
