export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** Structured logger: one JSON object per line. */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes JSON lines through a sink (console by default, which both Node and Workers capture). */
export function jsonLogger(options: { level?: LogLevel; sink?: (line: string) => void; base?: LogFields } = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const sink = options.sink ?? ((line: string) => console.log(line));
  const base = options.base ?? {};
  return {
    log(level, msg, fields) {
      if (LEVELS[level] < min) return;
      sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }));
    },
    child(fields) {
      return jsonLogger({ ...options, base: { ...base, ...fields } });
    },
  };
}

/**
 * A logger that keeps its lines in memory; tests read them.
 * @internal a test double: no runtime uses it
 */
export function memoryLogger(): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = jsonLogger({ level: "debug", sink: (line) => lines.push(JSON.parse(line) as LogFields) });
  return Object.assign(logger, { lines });
}

export const silentLogger: Logger = { log() {}, child: () => silentLogger };
