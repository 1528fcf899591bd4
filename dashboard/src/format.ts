/** Number and time formats of the page: the browser's locale, the organization's time zone, "—" for null (no data). */

export const NONE = "—";

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dollars = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 0 });

export const formatInt = (n: number | null): string => (n === null ? NONE : integer.format(n));
export const formatDecimal = (n: number | null): string => (n === null ? NONE : oneDecimal.format(n));
export const formatRate = (r: number | null): string => (r === null ? NONE : percent.format(r));
export const formatCents = (cents: number): string => dollars.format(cents / 100);

/** 95 → "1:35", 3725 → "1:02:05". */
export function formatDuration(sec: number | null): string {
  if (sec === null) return NONE;
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Seconds as hours with one decimal ("12.5 h"), for talk time and agent time. */
export const formatHours = (sec: number): string => `${oneDecimal.format(sec / 3600)} h`;

/** Milliseconds as "12.3 ms" below a second, "1.25 s" above. */
export const formatMs = (ms: number): string => (ms < 1000 ? `${oneDecimal.format(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);

const timeFormats = new Map<string, Intl.DateTimeFormat>();
function cachedFormat(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let format = timeFormats.get(key);
  if (!format) timeFormats.set(key, (format = make()));
  return format;
}

/** The time of day of an instant in `timeZone` (the organization's), with seconds. */
export function formatClock(iso: string, timeZone: string): string {
  return cachedFormat(
    `clock:${timeZone}`,
    () => new Intl.DateTimeFormat(undefined, { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  ).format(new Date(iso));
}

/** Date and time of an instant in `timeZone` ("May 3, 14:05"). */
export function formatDateTime(iso: string, timeZone: string): string {
  return cachedFormat(
    `datetime:${timeZone}`,
    () => new Intl.DateTimeFormat(undefined, { timeZone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }),
  ).format(new Date(iso));
}

/** A local calendar date "2026-05-03" as "May 3" (no zone arithmetic: it already is the organization's date). */
export function formatLocalDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number);
  return cachedFormat("localdate", () => new Intl.DateTimeFormat(undefined, { timeZone: "UTC", month: "short", day: "numeric" })).format(
    new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)),
  );
}

/** "appointment_booked" → "appointment booked". */
export const humanize = (word: string): string => word.replaceAll("_", " ");
