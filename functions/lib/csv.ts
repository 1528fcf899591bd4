/** RFC 4180 CSV: comma-separated fields, CRLF line ends, a field quoted when it holds a quote, comma, CR or LF. */

const NEEDS_QUOTES = /[",\r\n]/;

/** One field: null and undefined are empty; a quote inside a quoted field is doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated. */
export const csvRecord = (values: readonly unknown[]): string => values.map(csvField).join(",") + "\r\n";
