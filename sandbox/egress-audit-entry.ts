import type { AuditEntry } from "../security/audit-log.ts";
import type { EgressConnection } from "./egress-guard.ts";

/** Who a connection was made for, as its audit line names it. */
export type EgressAuditSource = {
  /** The command's first line (a room's run), or the program a long-running sandboxed process runs (an MCP server). */
  command: string;
  sessionId?: string;
  persona?: string;
  requestId?: string;
  callId?: string;
};

/**
 * One connection through the egress guard as an audit line (tool "egress"): host, port, rule, bytes; never a body. It is
 * no tool call: its `ok` is true, so nothing reads a refusal as a failed call; `allowed` says whether it went through.
 */
export function egressAuditEntry(connection: EgressConnection, source: EgressAuditSource): AuditEntry {
  return {
    time: new Date().toISOString(),
    ...(source.sessionId !== undefined ? { sessionId: source.sessionId } : {}),
    ...(source.persona !== undefined ? { persona: source.persona } : {}),
    ...(source.requestId !== undefined ? { requestId: source.requestId } : {}),
    tool: "egress",
    arguments: { connect: `${connection.host}:${connection.port}` },
    ok: true,
    durationMs: connection.durationMs,
    bytes: connection.bytesIn,
    connection: {
      host: connection.host,
      port: connection.port,
      rule: connection.rule,
      allowed: connection.allowed,
      bytesIn: connection.bytesIn,
      bytesOut: connection.bytesOut,
      ...(connection.cut !== undefined ? { cut: connection.cut } : {}),
      ...(connection.repeated !== undefined ? { repeated: connection.repeated } : {}),
      command: source.command,
      ...(source.callId !== undefined ? { callId: source.callId } : {}),
    },
  };
}
