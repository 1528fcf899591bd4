import { pgEnum } from "drizzle-orm/pg-core";

export const USER_ROLES = ["admin", "manager", "agent"] as const;
export const API_KEY_SCOPES = ["read", "write", "admin"] as const;
export const AGENT_KINDS = ["ai", "human"] as const;
export const AGENT_STATUSES = ["active", "draft", "paused", "archived"] as const;
export const CALL_DIRECTIONS = ["inbound", "outbound"] as const;
export const CALL_STATUSES = ["queued", "ringing", "in_progress", "completed", "failed", "missed", "abandoned"] as const;
export const CALL_OUTCOMES = ["appointment_booked", "qualified", "callback_requested", "not_interested", "voicemail", "wrong_number"] as const;
export const APPOINTMENT_STATUSES = ["scheduled", "completed", "cancelled", "no_show"] as const;

export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export type CallStatus = (typeof CALL_STATUSES)[number];
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export const userRole = pgEnum("user_role", USER_ROLES);
export const apiKeyScope = pgEnum("api_key_scope", API_KEY_SCOPES);
export const agentKind = pgEnum("agent_kind", AGENT_KINDS);
export const agentStatus = pgEnum("agent_status", AGENT_STATUSES);
export const callDirection = pgEnum("call_direction", CALL_DIRECTIONS);
export const callStatus = pgEnum("call_status", CALL_STATUSES);
export const callOutcome = pgEnum("call_outcome", CALL_OUTCOMES);
export const appointmentStatus = pgEnum("appointment_status", APPOINTMENT_STATUSES);
