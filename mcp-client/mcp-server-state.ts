/** Where one server is: confirmed or not, starting, up, down and waiting to start again, off for good, stopped. */
export type McpServerState =
  /** `changed`: the files it runs that changed since it was confirmed, when that is why. */
  | { kind: "untrusted"; changed?: string }
  | { kind: "off"; reason: string }
  | { kind: "starting"; attempt: number }
  | { kind: "up"; since: number }
  | { kind: "down"; reason: string; retryAt: number; attempt: number }
  | { kind: "stopped" };

/** Why a call to server `name` cannot run in `state`, and when to try again, for the model. */
export function unavailableReason(name: string, state: McpServerState): string {
  switch (state.kind) {
    case "down":
      return (
        `the MCP server ${name} is down (${state.reason}); org starts it again in ` +
        `${Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000))} s. Try again later, or go on without it.`
      );
    case "starting":
      return `the MCP server ${name} is starting; try again in a few seconds.`;
    case "off":
      return `the MCP server ${name} is off: ${state.reason}.`;
    case "untrusted":
      return `the MCP server ${name} is off until the user confirms it.`;
    default:
      return `the MCP server ${name} is not running.`;
  }
}
