import { z } from "@hono/zod-openapi";
import { shortText } from "../../lib/schemas";

/** Fields of a service a client may send. */
export const catalogItemFields = {
  name: shortText(200),
  /** price in cents; fits Postgres' integer */
  priceCents: z.number().int().min(0).max(2_000_000_000),
};

export const catalogItemSchema = z
  .object({ id: z.uuid(), name: z.string(), priceCents: z.number().int(), createdAt: z.string(), updatedAt: z.string() })
  .openapi("Service");
