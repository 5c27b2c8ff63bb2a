import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type McpServerConfig, mcpServerEnvironment, mcpServerHeaders } from "../config/mcp-servers.ts";
import { egressAuditEntry } from "../sandbox/egress-audit-entry.ts";
import type { EgressConnection } from "../sandbox/egress-guard.ts";
import { type SandboxAccess, SandboxUnavailableError } from "../sandbox/run-sandboxed.ts";
import { type LongRunningProcess, startSandboxedProcess } from "../sandbox/sandboxed-process.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { readOnlyViewMounts } from "../workspace/workspace-view.ts";
import { boundedFetch } from "./bounded-fetch.ts";
import { startHostProcess } from "./host-process.ts";
import { MAX_MESSAGE_BYTES, ProcessTransport } from "./process-transport.ts";
import { OrgError } from "../errors/org-error.ts";

/** A start that cannot succeed until the config or the environment changes: the server stays off, no retries. */
export class PermanentStartError extends OrgError {
  override name = "PermanentStartError";
}

/**
 * The transport for a server: its program started as the user or in the sandbox (with the process, to kill), or its
 * URL with its headers. Throws PermanentStartError when a variable it names is unset or the sandbox cannot run it.
 */
export async function openTransport(
  options: SandboxAccess & {
    server: McpServerConfig;
    workspaceDir: string;
    env?: NodeJS.ProcessEnv;
    /** Where a sandboxed server's connections through its egress guard are recorded. */
    audit?: AuditSink;
  },
): Promise<{ transport: Transport; process?: LongRunningProcess }> {
  const { server, env } = options;
  if (server.transport === "http") {
    const headers = mcpServerHeaders(server, env);
    if (!headers.ok) throw new PermanentStartError(missingMessage(headers.missing, "its headers"));
    // Each answer bounded as a stdio server's message is (the SDK reads a body or an event whole).
    const fetch = boundedFetch(MAX_MESSAGE_BYTES);
    const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    return { transport: new StreamableHTTPClientTransport(new URL(server.url ?? ""), { requestInit: { headers: headers.values }, fetch }) };
  }
  const environment = mcpServerEnvironment(server, env);
  if (!environment.ok) throw new PermanentStartError(missingMessage(environment.missing, "its env"));
  const program =
    server.sandbox === true
      ? await startSandboxed(options, environment.values)
      : startHostProcess({ command: server.command ?? "", args: server.args ?? [], env: environment.values, cwd: options.workspaceDir });
  return { transport: new ProcessTransport(program), process: program };
}

async function startSandboxed(
  options: SandboxAccess & { server: McpServerConfig; workspaceDir: string; audit?: AuditSink },
  env: Record<string, string>,
): Promise<LongRunningProcess> {
  const { server, workspaceDir, sandbox, sandboxPolicy, audit } = options;
  const command = `mcp server ${server.name}: ${[server.command ?? "", ...(server.args ?? [])].join(" ")}`.slice(0, 200);
  try {
    makeScratchRootPrivate(workspaceDir);
    // The workspace read-only at /workspace (where it starts), as the room's commands see it; never the write view.
    const view = sandboxPolicy.workspace === "none" ? "none" : "read";
    const { copy: _copy, notShown: _notShown, ...mounts } = readOnlyViewMounts(view, workspaceDir, { sandboxPolicy });
    const readOnlyMounts = [...(mounts.readOnlyMounts ?? []), ...(server.readOnlyPaths ?? []).map((path) => ({ source: path, target: path }))];
    return await startSandboxedProcess({
      sandbox,
      policy: sandboxPolicy,
      argv: [server.command ?? "", ...(server.args ?? [])],
      scratchDir: scratchDirFor({ workspaceDir, sessionId: `mcp-${server.name}` }),
      env,
      // Its hosts are the allow list of an egress guard of its own: it reaches them, and nothing else, through it.
      hosts: server.network ?? [],
      // Each of its connections is an audit line, as a room command's are.
      ...(audit ? { onConnection: (connection: EgressConnection) => audit.record(egressAuditEntry(connection, { command })) } : {}),
      readOnlyMounts,
      ...(mounts.maskedDirs ? { maskedDirs: mounts.maskedDirs } : {}),
      ...(mounts.maskedFiles ? { maskedFiles: mounts.maskedFiles } : {}),
      ...(mounts.coveredFiles ? { coveredFiles: mounts.coveredFiles } : {}),
      ...(mounts.workingDir ? { workingDir: mounts.workingDir } : {}),
    });
  } catch (error) {
    // No sandbox here, or a mount the sandbox refuses: trying again changes nothing.
    if (error instanceof SandboxUnavailableError || error instanceof RangeError)
      throw new PermanentStartError(`it asks for the sandbox ("sandbox": true), which cannot run it: ${error.message}`);
    throw error;
  }
}

function missingMessage(missing: readonly string[], where: string): string {
  const names = missing.join(", ");
  return (
    `${where} name${missing.length === 1 ? "s" : ""} ${names}, which ` +
    `${missing.length === 1 ? "is" : "are"} not set: export ${missing.length === 1 ? "it" : "them"} in the shell that starts org`
  );
}
