/**
 * Client addresses. `clientAddress` in the app's deps answers the address a request came from as the runtime sees it
 * (Node: the socket's peer; Workers: `cf-connecting-ip`); these helpers only read the text.
 */

/** Whether an IP address (v4, v6, or v4-mapped v6) is a loopback address: 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(address: string | undefined | null): boolean {
  if (!address) return false;
  const text = address.trim().toLowerCase();
  const v4 = text.startsWith("::ffff:") ? text.slice("::ffff:".length) : text;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return text === "::1" || text === "0:0:0:0:0:0:0:1";
}
