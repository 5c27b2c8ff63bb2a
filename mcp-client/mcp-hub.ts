import { resolve, sep } from "node:path";
import { z } from "zod";
import { type McpServerConfig, type McpSettings, mcpSecrets, mcpToolOwner } from "../config/mcp-servers.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { redact, redactValue } from "../security/redact.ts";
import type { JsonValue, Tool, ToolResult } from "../tools/define-tool.ts";
import { type ConnectionChange, McpConnection, type Untrusted } from "./mcp-connection.ts";
import type { McpServerState } from "./mcp-server-state.ts";
import type { McpToolEntry } from "./mcp-tool-entry.ts";
import { escapeName } from "../workspace/check-change-set.ts";
import { sleep } from "../concurrency/sleep.ts";
import { SettingsGuard } from "../workspace/settings-guard.ts";
import { describeChangedFiles, describeLaunch, describeTrustProblem, recordTrust, type TrustProblem, trustProblem } from "./mcp-trust.ts";

/** A tool of the room's MCP servers, with the policy its server's config gives it (agents get it so). */
export type McpRoomTool = { tool: Tool<typeof ARGUMENTS>; policy: ToolPolicy; server: string };

/** One server as `/mcp`, `org mcp servers` and `org doctor` show it. */
export type McpServerStatus = {
  name: string;
  transport: "stdio" | "http";
  sandbox: boolean;
  /** How it starts (command line, env as written, where it runs) or its URL. */
  launch: string;
  state: McpServerState["kind"];
  /** Why it is off or down, and what to do. */
  detail?: string;
  /** Untrusted because files it runs changed since it was confirmed: which. */
  changed?: string;
  tools: { name: string; policy: ToolPolicy; description: string }[];
  /** Listed tools it does not offer, and why. */
  skipped: { name: string; problem: string }[];
  /** The log messages it sent while org ran it, and the last one. */
  log: { count: number; last?: string };
  /** Its program's process group, while it runs (a stdio server). */
  pid?: number;
};

/** The room's servers, and the sandbox and policy the sandboxed ones run under. */
export type McpHubOptions = SandboxAccess & {
  servers: readonly McpServerConfig[];
  settings: McpSettings;
  workspaceDir: string;
  /** org's version, as the client names itself to servers. */
  version: string;
  /** Where `${VAR}` references and inherited variables come from; the process's environment when absent. */
  env?: NodeJS.ProcessEnv;
  /** Where notices go while nobody listens (before a room subscribes). */
  notify?: (line: string) => void;
  /** Where sandboxed servers' connections through their egress guards are recorded (the room's audit log). */
  audit?: AuditSink;
};

// Any object: a server checks its own arguments against its schema, which org passes on to the model as it is
// and does not run (its patterns are its author's).
const ARGUMENTS = z.record(z.string(), z.unknown());

/**
 * The room's MCP servers (`mcpServers` in org.config.json): each a connection that starts, restarts and answers on its
 * own. As a `ToolFeed` it gives the room every tool a server has listed and its config does not deny, as
 * `<server>__<tool>`, and says what happens to the servers. A server the user has not confirmed as configured now
 * (`mcp-trust.ts`) stays off until `trust(name)`. The hub keeps no hold on the process: a server dies with org by its
 * lifeline however org ends, and whoever made the hub closes it (`closeNow` as org exits: chat's and serve's entry).
 */
export class McpHub {
  private readonly connections = new Map<string, McpConnection>();
  private readonly listeners = new Set<(change: ConnectionChange) => void>();
  private readonly roomTools = new Map<string, { key: string; tool: McpRoomTool }>();
  private readonly settingsGuard = new SettingsGuard();

  constructor(private readonly options: McpHubOptions) {
    for (const server of options.servers) {
      this.connections.set(
        server.name,
        new McpConnection({
          server,
          settings: options.settings,
          workspaceDir: options.workspaceDir,
          sandbox: options.sandbox,
          sandboxPolicy: options.sandboxPolicy,
          version: options.version,
          ...(options.env ? { env: options.env } : {}),
          ...(options.audit ? { audit: options.audit } : {}),
          onChange: (change) => this.changed(change),
          // Asked before every start, restarts included: what it runs may have changed since the room opened.
          checkTrust: () => this.untrustedBecause(server),
        }),
      );
    }
  }

  get servers(): readonly McpServerConfig[] {
    return this.options.servers;
  }

  /** The workspace its servers start in (and are confirmed for). */
  get workspaceDir(): string {
    return this.options.workspaceDir;
  }

  /**
   * Starts every server the user has confirmed in the background; the others wait,
   * each with a notice saying how to confirm it. `only` starts just those names.
   */
  start(only?: readonly string[]): void {
    for (const server of this.options.servers) {
      if (only && !only.includes(server.name)) continue;
      const connection = this.connections.get(server.name);
      if (!connection) continue;
      const untrusted = this.untrustedBecause(server);
      if (untrusted === undefined) {
        const reach = reachesWorkspace(server, this.options.workspaceDir);
        if (reach)
          this.changed({
            type: "notice",
            message:
              `mcp: ${server.name} runs as you and is given ${reach}, which holds the workspace and ` +
              `its org.config.json: a model could change org's settings through its tools. Give it "sandbox": ` +
              `true (it then sees the workspace read-only), or a folder inside the workspace.`,
          });
        connection.start();
        continue;
      }
      connection.awaitTrust(untrusted.changed);
      this.changed({ type: "notice", message: `mcp: ${untrusted.notice}` });
    }
  }

  /** Why `server` may not start now (its launch or the files it runs are not as the user confirmed them), or undefined. */
  untrustedBecause(server: McpServerConfig): Untrusted | undefined {
    const problem = this.trustProblem(server);
    if (!problem) return undefined;
    const notice = describeTrustProblem(server, problem, this.options.workspaceDir);
    return problem.kind === "files" ? { notice, changed: describeChangedFiles(problem, this.options.workspaceDir) } : { notice };
  }

  /** What the user's confirmation of `server` does not cover now, or undefined. */
  trustProblem(server: McpServerConfig): TrustProblem | undefined {
    return trustProblem(server, this.options.workspaceDir, this.options.env);
  }

  /** The servers waiting for the user's confirmation. */
  awaitingTrust(): McpServerConfig[] {
    return this.options.servers.filter((server) => this.connections.get(server.name)?.state.kind === "untrusted");
  }

  /** Records the user's confirmation of `name` as configured now, and starts it. */
  trust(name: string): void {
    const server = this.options.servers.find((entry) => entry.name === name);
    const connection = this.connections.get(name);
    if (!server || !connection) throw new Error(`there is no MCP server "${name}" in mcpServers`);
    recordTrust(server, this.options.workspaceDir, this.options.env ? { env: this.options.env } : {});
    connection.start();
  }

  /**
   * Resolves once each started server's first start, and any start under way, has succeeded or failed, or after
   * `mcp.startTimeoutS` (and a little).
   */
  async ready(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.options.settings.startTimeoutS + 2) * 1000;
    // The wait ends its timer and its listener on the caller's signal once every first attempt has settled.
    const settled = new AbortController();
    await Promise.race([
      Promise.all([...this.connections.values()].map((connection) => connection.firstAttempt)),
      sleep(deadline - Date.now(), signal ? AbortSignal.any([signal, settled.signal]) : settled.signal),
    ]);
    settled.abort();
    const starting = () => [...this.connections.values()].some((connection) => connection.state.kind === "starting");
    while (starting() && Date.now() < deadline && !signal?.aborted) await Bun.sleep(25);
  }

  /** The tools the room offers now: each listed tool of each server that has listed some, unless its config denies it. */
  tools(): McpRoomTool[] {
    const tools: McpRoomTool[] = [];
    for (const server of this.options.servers) {
      const connection = this.connections.get(server.name);
      for (const entry of connection?.tools ?? []) {
        const policy = policyOf(server, entry.tool);
        if (policy === "deny" || !connection) continue;
        tools.push(this.roomTool(server, connection, entry, policy));
      }
    }
    return tools;
  }

  /** Listens to tool changes and notices; returns how to stop. */
  subscribe(listener: (change: ConnectionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each server: its state, how it starts, its tools with their policies, what it leaves out (`retries`: say when a down one starts again). */
  status(options: { retries?: boolean } = {}): McpServerStatus[] {
    return this.options.servers.map((server) => {
      const connection = this.connections.get(server.name);
      const state = connection?.state ?? { kind: "stopped" as const };
      return {
        name: server.name,
        transport: server.transport,
        sandbox: server.sandbox === true,
        launch: describeLaunch(server),
        state: state.kind,
        ...detailOf(server, state, options.retries ?? true),
        ...(state.kind === "untrusted" && state.changed !== undefined ? { changed: state.changed } : {}),
        tools: (connection?.tools ?? []).map((entry) => ({ name: entry.name, policy: policyOf(server, entry.tool), description: entry.description })),
        skipped: connection?.skipped ?? [],
        log: connection?.log ?? { count: 0 },
        ...(connection?.pid !== undefined ? { pid: connection.pid } : {}),
      };
    });
  }

  /**
   * Why a workflow step may not call the room tool `name`, or undefined when it may: a workflow runs its steps without
   * asking anyone, so only a tool of a configured server whose policy is "allow".
   */
  workflowProblem(name: string): string | undefined {
    const owner = mcpToolOwner(
      name,
      this.options.servers.map((server) => server.name),
    );
    const server = this.options.servers.find((entry) => entry.name === owner);
    if (!server) return undefined;
    const tool = name.slice(server.name.length + 2);
    const policy = policyOf(server, tool);
    if (policy === "allow") return undefined;
    return (
      `${name} is an MCP tool whose policy is "${policy}"; a workflow runs its steps without asking, so ` +
      `it may call only MCP tools set to "allow": set mcpServers.${server.name}.tools["${tool}"] to "allow" in org.config.json`
    );
  }

  /** Whether `name` is `<server>__<tool>` of a configured server. */
  owns(name: string): boolean {
    return (
      mcpToolOwner(
        name,
        this.options.servers.map((server) => server.name),
      ) !== undefined
    );
  }

  /**
   * Calls the room tool `name` for a workflow step (which checked `workflowProblem` first): starts its server if it is
   * not running yet and waits for its first start, then calls as the room would.
   */
  async callForWorkflow(name: string, input: unknown, signal?: AbortSignal): Promise<ToolResult> {
    const server = this.options.servers.find((entry) => entry.name === mcpToolOwner(name, [entry.name]));
    const connection = server && this.connections.get(server.name);
    if (!server || !connection) return { ok: false, output: `Error: no MCP server offers ${name}` };
    if (connection.state.kind === "stopped") {
      this.start([server.name]);
      await connection.firstAttempt;
    }
    if (connection.state.kind === "starting") await this.waitUp(connection, signal);
    const tool = name.slice(server.name.length + 2);
    const entry = connection.tools.find((candidate) => candidate.tool === tool);
    if (!entry) {
      if (connection.state.kind !== "up")
        return {
          ok: false,
          output:
            `Error: the MCP server ${server.name} is ${connection.state.kind}: ` +
            `${detailOf(server, connection.state, true).detail ?? "not running"}`,
        };
      return { ok: false, output: `Error: the MCP server ${server.name} offers no tool ${tool}` };
    }
    const parsed = ARGUMENTS.safeParse(input ?? {});
    if (!parsed.success) return { ok: false, output: `Error: ${name} takes an object of arguments` };
    const result = await connection.call(entry, parsed.data, signal ?? new AbortController().signal);
    // A workflow's step does not pass runTool (the room's redaction point): the result is redacted here, where it is made,
    // with the values of the servers' credential variables beside the environment's.
    const secrets = mcpSecrets(this.options.servers, this.options.env);
    return {
      ...result,
      output: redact(result.output, secrets),
      ...(result.data !== undefined ? { data: redactValue(result.data, secrets) } : {}),
    };
  }

  /** Stops every server and what it started. */
  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.stop()));
  }

  /** Kills every server's process at once (org is exiting). */
  closeNow(): void {
    for (const connection of this.connections.values()) connection.stopNow();
  }

  private async waitUp(connection: McpConnection, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.options.settings.startTimeoutS * 1000;
    while (connection.state.kind === "starting" && Date.now() < deadline && !signal?.aborted) await Bun.sleep(50);
  }

  private changed(change: ConnectionChange): void {
    if (this.listeners.size === 0 && change.type === "notice") this.options.notify?.(change.message);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /** The room tool of one listed tool, made once per name, schema and description and reused while they stay. */
  private roomTool(server: McpServerConfig, connection: McpConnection, entry: McpToolEntry, policy: ToolPolicy): McpRoomTool {
    const key = JSON.stringify([entry.description, entry.inputSchema, policy]);
    const known = this.roomTools.get(entry.name);
    if (known?.key === key) return known.tool;
    const description =
      `${entry.description || `${entry.tool} of the MCP server ${server.name}`} (MCP server ` +
      `${server.name}${server.sandbox === true ? ", sandboxed" : server.transport === "stdio" ? ", runs as the user" : ""})`;
    const outsideWords = { from: `the MCP server ${server.name}` };
    const tool: Tool<typeof ARGUMENTS> = {
      name: entry.name,
      description,
      parameters: ARGUMENTS,
      definition: { type: "function", function: { name: entry.name, description, parameters: entry.inputSchema } },
      // Not the model's code, but the model decides what it does on the host: a hop runs it under the stricter policy.
      runsCode: true,
      acts: true,
      needs: [],
      timeoutS: this.options.settings.callTimeoutS,
      execute: async (args, context) => {
        const current = connection.tools.find((candidate) => candidate.name === entry.name) ?? entry;
        // The server's answer is its words, not the person's (a fetch or browser server's are a page's): after them the
        // persona's calls that act are asked of the person (docs/browser.md, "A page's words").
        const call = async () => ({ ...(await connection.call(current, args as Record<string, JsonValue>, context.signal)), outsideWords });
        if (server.sandbox === true) return call();
        // Unsandboxed, the server may write the workspace: what configures org is put back if the call changed it.
        const { value: result, changed, unrestored } = await this.settingsGuard.around(context.workspaceDir, call);
        if (changed.length === 0) return result;
        const named = changed.map(escapeName).join(", ");
        const them = changed.length === 1 ? "it" : "them";
        const left = unrestored.length > 0 ? ` Not put back: ${unrestored.map(escapeName).join(", ")}.` : "";
        this.changed({
          type: "notice",
          message: `mcp: ${entry.name} changed ${named}, which org reads its settings or tools from; org put ${them} back.${left}`,
        });
        return {
          ok: false,
          output:
            `Error: this call changed ${named}, which org reads its settings or tools from; no tool may ` +
            `change ${them}, so org put ${them} back.${left} Change other files, or ask the user to make that change.`,
        };
      },
    };
    const made = { tool, policy, server: server.name };
    this.roomTools.set(entry.name, { key, tool: made });
    return made;
  }
}

/** The argument of an unsandboxed stdio server that names the workspace or a folder above it, if one does. */
function reachesWorkspace(server: McpServerConfig, workspaceDir: string): string | undefined {
  if (server.transport !== "stdio" || server.sandbox === true) return undefined;
  const workspace = resolve(workspaceDir);
  return (server.args ?? []).find((arg) => {
    if (!/^[./~]/.test(arg)) return false;
    const path = resolve(workspace, arg);
    return path === workspace || workspace.startsWith(path.endsWith(sep) ? path : `${path}${sep}`);
  });
}

/** A tool's policy by its server's config: its own entry in `tools`, else the server's `policy`. */
function policyOf(server: McpServerConfig, tool: string): ToolPolicy {
  return Object.hasOwn(server.tools, tool) ? (server.tools[tool] ?? server.policy) : server.policy;
}

/** What to say of a server in a state: why it is off or down and what to do. */
function detailOf(server: McpServerConfig, state: McpServerState, retries: boolean): { detail?: string } {
  switch (state.kind) {
    case "untrusted":
      return {
        detail: `not confirmed: ${
          state.changed === undefined
            ? "new or changed since you last confirmed " + "it"
            : `what it runs changed since you confirmed it: ${state.changed}`
        }; confirm it with 'org mcp trust ${server.name}' (in the room: /mcp trust ${server.name})`,
      };
    case "off":
      return { detail: state.reason };
    case "down":
      return { detail: retries ? `${state.reason}; next start in ${Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000))} s` : state.reason };
    case "starting":
      return { detail: `starting (attempt ${state.attempt})` };
    default:
      return {};
  }
}
