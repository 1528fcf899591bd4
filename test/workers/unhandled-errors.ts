/**
 * Inside workerd, postgres.js rejects once more after `sql.end()` has closed its socket, with nobody left to catch it
 * (TOOLCHAIN.md). These are exactly those messages; vitest's `onUnhandledError` drops them and nothing else.
 */
export const SPURIOUS_POSTGRES_SOCKET_MESSAGES: ReadonlySet<string> = new Set(["This socket has been closed.", "Stream was cancelled."]);

/** For vitest's `onUnhandledError`: `false` ignores an error. Only the exact messages above are ignored. */
export function ignoreSpuriousPostgresSocketErrors(error: { message?: unknown }): boolean | void {
  if (typeof error.message === "string" && SPURIOUS_POSTGRES_SOCKET_MESSAGES.has(error.message)) return false;
}
