import { join, resolve } from "node:path";
import { type McpServerConfig, mcpServerEnvironment } from "../config/mcp-servers.ts";
import { commandEnvironment } from "../sandbox/bwrap-argv.ts";
import { WORKSPACE_MOUNT } from "../sandbox/sandbox-policy.ts";

const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** Where a server's paths are read from: its working folder and PATH as it sees them, and how a path it names maps to the host. */
export type LaunchPlace = { cwd: string; path: string[]; hostOf: (absolute: string) => string; depth: number };

/** A path the server names (relative to its working folder), on the host. */
export const toHost = (place: LaunchPlace, path: string) => place.hostOf(resolve(place.cwd, path));

/** Where an unsandboxed server's paths are read from (the workspace, its PATH), or a sandboxed one's (`/workspace`, the sandbox's PATH). */
export function placeOf(server: McpServerConfig, workspaceDir: string, values: Record<string, string>): LaunchPlace {
  const workspace = resolve(workspaceDir);
  // Without PATH, the shell that starts it looks in its own default folders.
  if (server.sandbox !== true) return { cwd: workspace, path: (values.PATH ?? DEFAULT_PATH).split(":"), hostOf: (path) => path, depth: 0 };
  // In the sandbox the workspace is /workspace (where it starts); other paths are the host's, bound read-only.
  const hostOf = (inside: string) =>
    inside === WORKSPACE_MOUNT || inside.startsWith(`${WORKSPACE_MOUNT}/`) ? join(workspace, inside.slice(WORKSPACE_MOUNT.length)) : inside;
  return { cwd: WORKSPACE_MOUNT, path: (commandEnvironment(values).PATH ?? "").split(":"), hostOf, depth: 0 };
}

/** The server's own environment with its `${VAR}`s filled in (none when one is unset: it will not start). */
export function environmentOf(server: McpServerConfig, env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const values = mcpServerEnvironment(server, env);
  return values.ok ? values.values : {};
}
