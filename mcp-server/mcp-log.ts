import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { LoggingLevel, ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import { redact } from "../security/redact.ts";

const LOG_LEVELS: readonly LoggingLevel[] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** The client's logging level (`info` until it sets one) and the `notifications/message` lines at or above it. */
export class McpLog {
  #level: LoggingLevel = "info";

  constructor(readonly server: Server) {}

  setLevel(level: LoggingLevel): void {
    this.#level = level;
  }

  /** Whether a line at `at` goes out: below the client's level nothing is sent. */
  sends(at: LoggingLevel): boolean {
    return LOG_LEVELS.indexOf(at) >= LOG_LEVELS.indexOf(this.#level);
  }

  /** The notification of one line, redacted (a call sends it on its own stream). */
  line(at: LoggingLevel, data: string): ServerNotification {
    return { method: "notifications/message", params: { level: at, logger: "org", data: redact(data) } };
  }

  /** Sends a line on the session's stream, when the level lets it. */
  send(at: LoggingLevel, data: string): void {
    if (!this.sends(at)) return;
    this.server.notification(this.line(at, data)).catch(() => {
      // Not connected (yet or any more): a log line is not worth keeping.
    });
  }
}
