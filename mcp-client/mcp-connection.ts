import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { McpServerConfig, McpSettings } from "../config/mcp-servers.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { LongRunningProcess } from "../sandbox/sandboxed-process.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import type { ToolResult } from "../tools/define-tool.ts";
import type { ListedTool, McpToolEntry } from "./mcp-tool-entry.ts";
import { type CallResult, toolResultOf } from "./mcp-result.ts";
import { mcpSdk, NO_OUTPUT_VALIDATION } from "./mcp-sdk.ts";
import { type McpServerState, unavailableReason } from "./mcp-server-state.ts";
import { listMcpTools, offeredTools, type SkippedTool, skipNotice } from "./mcp-tool-listing.ts";
import { openTransport, PermanentStartError } from "./open-transport.ts";
import { processEnding } from "./process-transport.ts";
import { mcpHold, recordMcpRestart } from "./mcp-restarts.ts";

/** Why a server may not start: the notice that says so, and the files it runs that changed, when that is why. */
export type Untrusted = { notice: string; changed?: string };

/** What a connection tells its owner: its tools changed, or a line for the user. */
export type ConnectionChange = { type: "tools" } | { type: "notice"; message: string };

/** One server's settings, and the sandbox and policy a sandboxed server runs under. */
export type McpConnectionOptions = SandboxAccess & {
  server: McpServerConfig;
  settings: McpSettings;
  workspaceDir: string;
  /** Where `${VAR}` references and the inherited variables are read; config's default (the process's) when absent. */
  env?: NodeJS.ProcessEnv;
  version: string;
  onChange: (change: ConnectionChange) => void;
  /** Where a sandboxed server's connections through its egress guard are recorded, one line each (tool "egress"). */
  audit?: AuditSink;
  /** Why it may not start now (its launch or the files it runs changed since the user confirmed it), asked before each start. */
  checkTrust?: () => Untrusted | undefined;
};

/** The first wait before a restart, doubled each time up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
/** A server up this long before it died starts again from the first wait. */
const STABLE_MS = 60_000;
/** How long a server that let a call time out has to answer a ping before it counts as hung and is restarted. */
const PING_MS = 5000;

/**
 * One configured MCP server: starts it (as a process on the host or in the sandbox, or at its URL), lists its tools,
 * answers calls, and restarts it with backoff when it fails to start, dies or hangs. Nobody waits on it: a call while
 * it is down is answered at once with a result saying so.
 */
export class McpConnection {
  state: McpServerState = { kind: "stopped" };
  /** The tools of its last listing (kept while it restarts, so the room's offer does not flicker). */
  tools: McpToolEntry[] = [];
  /** Listed tools that are not offered, and why. */
  skipped: SkippedTool[] = [];
  /** The log messages (`notifications/message`) it sent since org started it, and the last one, made safe to show. */
  log: { count: number; last?: string } = { count: 0 };
  private client: Client | undefined;
  private transport: Transport | undefined;
  private process: LongRunningProcess | undefined;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopping = false;
  /** The listing under way after a `list_changed`, and whether another was asked for meanwhile. */
  private relisting: { client: Client; again: boolean } | undefined;
  private settleFirst: () => void = () => {};
  /** Resolves once the first start has succeeded or failed (or the server was never started). */
  readonly firstAttempt: Promise<void>;

  constructor(private readonly options: McpConnectionOptions) {
    this.firstAttempt = new Promise((resolve) => {
      this.settleFirst = resolve;
    });
  }

  get name(): string {
    return this.options.server.name;
  }

  /** The process group of its program while it runs (a stdio server). */
  get pid(): number | undefined {
    return this.state.kind === "up" ? this.process?.pid : undefined;
  }

  /** Marks it as waiting for the user's confirmation (`changed`: the files it runs that changed); it does not start. */
  awaitTrust(changed?: string): void {
    this.state = changed === undefined ? { kind: "untrusted" } : { kind: "untrusted", changed };
    this.settleFirst();
  }

  /** Starts it in the background unless it is starting or up already. */
  start(): void {
    this.stopping = false;
    if (this.state.kind === "starting" || this.state.kind === "up") return;
    clearTimeout(this.timer);
    void this.connect();
  }

  /** Stops it and whatever it started; no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.state = { kind: "stopped" };
    this.settleFirst();
    const { client, transport } = this;
    this.client = undefined;
    this.transport = undefined;
    await (client ? client.close() : transport?.close())?.catch(() => {});
    this.process?.kill("org closed it");
  }

  /** Kills its process at once (org is exiting): nothing is awaited. */
  stopNow(): void {
    this.stopping = true;
    clearTimeout(this.timer);
    this.state = { kind: "stopped" };
    this.process?.kill("org exited");
  }

  /**
   * Calls one of its tools, bounded by `mcp.callTimeoutS` and `signal`. Every outcome is a result for the model: the
   * server's answer, its error, a timeout (then a ping decides whether it hangs, and a hung server is restarted), the
   * server stopping mid-call, or the server being down (answered at once).
   */
  async call(entry: McpToolEntry, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolResult> {
    const { client } = this;
    if (!client || this.state.kind !== "up") return { ok: false, output: `Error: ${unavailableReason(this.name, this.state)}` };
    const [, { CallToolResultSchema, ErrorCode, McpError }] = await mcpSdk();
    const ms = this.options.settings.callTimeoutS * 1000;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error("mcp.callTimeoutS")), ms);
    try {
      const result = await client.callTool({ name: entry.tool, arguments: args }, CallToolResultSchema, {
        signal: AbortSignal.any([signal, timeout.signal]),
        timeout: ms + 1000,
        // Asking for progress: a server that reports it (a long call) is heard and the call goes on.
        onprogress: () => {},
      });
      return toolResultOf(entry.name, result as CallResult);
    } catch (error) {
      if (signal.aborted) return { ok: false, output: `Error: ${entry.name} was cancelled.` };
      if (timeout.signal.aborted) {
        void this.checkAlive(client);
        return {
          ok: false,
          output:
            `Error: ${entry.name} did not answer within ${this.options.settings.callTimeoutS} s ` +
            `(mcp.callTimeoutS), so the call was cancelled. Try again later, or go on without it.`,
        };
      }
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
        return {
          ok: false,
          output:
            `Error: the MCP server ${this.name} stopped during the call, which did not finish; org ` +
            `starts the server again. Try again in a few seconds, or go on without it.`,
        };
      }
      const message = oneLine(error instanceof Error ? error.message : String(error), 2000);
      if (this.options.server.transport === "http" && !(error instanceof McpError)) {
        // The endpoint did not answer at all: a new session is started, with backoff.
        this.lost(client, `its endpoint failed: ${message}`);
        return { ok: false, output: `Error: ${entry.name} failed: ${message}; ${unavailableReason(this.name, this.state)}` };
      }
      return { ok: false, output: `Error: ${entry.name} failed: ${message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(): Promise<void> {
    const untrusted = this.options.checkTrust?.();
    if (untrusted !== undefined) {
      this.awaitTrust(untrusted.changed);
      this.notice(untrusted.notice);
      return;
    }
    this.attempts += 1;
    const attempt = this.attempts;
    this.state = { kind: "starting", attempt };
    const { settings, server } = this.options;
    const controller = new AbortController();
    const ms = settings.startTimeoutS * 1000;
    const timer = setTimeout(() => controller.abort(new Error(`it did not start within ${settings.startTimeoutS} s (mcp.startTimeoutS)`)), ms);
    let client: Client | undefined;
    try {
      const [{ Client }, { LoggingMessageNotificationSchema, ToolListChangedNotificationSchema }] = await mcpSdk();
      const opened = await openTransport(this.options);
      const { transport } = opened;
      this.process = opened.process;
      this.transport = transport;
      if (this.stopping) throw new Error("stopped");
      client = new Client({ name: "org", version: this.options.version }, { capabilities: {}, jsonSchemaValidator: NO_OUTPUT_VALIDATION });
      const connected = client;
      connected.onclose = () => this.lost(connected, "");
      connected.onerror = () => {};
      await connected.connect(transport, { signal: controller.signal, timeout: ms });
      const listed = await listMcpTools(connected, controller.signal, ms);
      if (this.stopping) throw new Error("stopped");
      this.client = connected;
      this.state = { kind: "up", since: Date.now() };
      this.takeTools(listed);
      connected.setNotificationHandler(ToolListChangedNotificationSchema, () => void this.relist(connected));
      // Kept for `/mcp` and `org mcp servers`, not said in the room: a server may log every few seconds.
      connected.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        const { level, data } = notification.params;
        this.log = { count: this.log.count + 1, last: oneLine(`(${level}) ${typeof data === "string" ? data : JSON.stringify(data)}`, 200) };
      });
      const count = `${this.tools.length} tool${this.tools.length === 1 ? "" : "s"}`;
      this.notice(`${server.name} is up: ${count}${this.skipped.length > 0 ? ` (${this.skipped.length} not offered)` : ""}`);
    } catch (error) {
      const reason = controller.signal.aborted
        ? String((controller.signal.reason as Error | undefined)?.message ?? "it did not start in time")
        : error instanceof Error
          ? error.message
          : String(error);
      this.client = undefined;
      const failedTransport = this.transport;
      this.transport = undefined;
      if (client) client.onclose = undefined;
      // A program that failed by itself (not found, a crash) has usually exited already: its exit says why, not the pipe.
      const program = this.process;
      if (program) await Promise.race([program.exited, Bun.sleep(300)]);
      program?.kill("it failed to start");
      client?.close().catch(() => {});
      await failedTransport?.close().catch(() => {});
      if (this.stopping) return;
      if (error instanceof PermanentStartError) {
        this.state = { kind: "off", reason };
        this.notice(`${server.name} stays off: ${reason}`);
      } else {
        const ending = await processEnding(failedTransport);
        const byItself = ending !== "" && !ending.startsWith("killed:");
        // An error without a message and a process that said nothing still leave the notice a reason.
        const why = byItself ? ending : [reason, ending].filter(Boolean).join("; ");
        this.scheduleRestart(`it failed to start: ${why || "no reason given: the error had no message and the server wrote nothing on stderr"}`);
      }
    } finally {
      clearTimeout(timer);
      this.settleFirst();
    }
  }

  /**
   * `notifications/tools/list_changed`: the list is read again; a failure leaves the old one. One listing at a time:
   * the notifications that come meanwhile (a server may send thousands) ask for one more after it, not one each.
   */
  private async relist(client: Client): Promise<void> {
    if (client !== this.client) return;
    if (this.relisting?.client === client) {
      this.relisting.again = true;
      return;
    }
    const run = { client, again: true };
    this.relisting = run;
    const ms = this.options.settings.startTimeoutS * 1000;
    try {
      while (run.again && client === this.client) {
        run.again = false;
        try {
          const listed = await listMcpTools(client, AbortSignal.timeout(ms), ms);
          if (client === this.client) this.takeTools(listed);
        } catch (error) {
          this.notice(`${this.name} said its tools changed, but listing them failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    } finally {
      if (this.relisting === run) this.relisting = undefined;
    }
  }

  /** Takes a listing: the tools that pass the checks, first of a name wins; a notice for what is left out. */
  private takeTools(listed: readonly ListedTool[]): void {
    const { tools, skipped } = offeredTools(this.name, listed);
    const before = JSON.stringify(this.tools);
    const newSkips = skipped.filter((skip) => !this.skipped.some((old) => old.name === skip.name && old.problem === skip.problem));
    this.tools = tools;
    this.skipped = skipped;
    // One notice a listing, however many it left out: a server may list hundreds of invalid tools after each of a
    // storm of list_changed notifications.
    if (newSkips.length > 0) this.notice(skipNotice(this.name, newSkips));
    const unknown = Object.keys(this.options.server.tools).filter((name) => !listed.some((tool) => tool.name === name));
    if (unknown.length > 0 && before === "[]")
      this.notice(`mcpServers.${this.name}.tools names ${unknown.map((name) => oneLine(name, 60)).join(", ")}, which ${this.name} does not offer`);
    if (JSON.stringify(tools) !== before) this.options.onChange({ type: "tools" });
  }

  /** After a call timed out: a server that does not answer a ping either is hung, and is restarted. */
  private async checkAlive(client: Client): Promise<void> {
    const ms = Math.min(PING_MS, this.options.settings.callTimeoutS * 1000);
    try {
      await client.ping({ signal: AbortSignal.timeout(ms), timeout: ms });
    } catch {
      if (client !== this.client) return;
      this.process?.kill("it stopped answering");
      this.lost(client, `it hung: a call timed out and it did not answer a ping within ${ms / 1000} s`);
    }
  }

  /** The connection of `client` is gone (the process died, was killed, or the endpoint failed): restart with backoff. */
  private lost(client: Client, reason: string): void {
    if (client !== this.client || this.stopping) return;
    this.client = undefined;
    const transport = this.transport;
    this.transport = undefined;
    if (this.state.kind === "up" && Date.now() - this.state.since >= STABLE_MS) this.attempts = 0;
    // Down at once, so calls are answered so; the notice waits for how the process ended.
    this.state = { kind: "down", reason, retryAt: Date.now() + MAX_BACKOFF_MS, attempt: this.attempts };
    void (async () => {
      await transport?.close().catch(() => {});
      this.scheduleRestart(`it stopped: ${[reason, await processEnding(transport)].filter(Boolean).join("; ") || "its connection closed"}`);
    })();
  }

  private scheduleRestart(reason: string): void {
    if (this.stopping) return;
    const held = mcpHold(this.options.workspaceDir, this.options.server);
    if (held) {
      recordMcpRestart(this.options.workspaceDir, this.name, "held", reason);
      this.state = {
        kind: "off",
        reason: `held by org supervise (${held.reason}); change its entry in mcpServers, or 'org supervise release ${this.name}'`,
      };
      this.notice(`${this.name} is down (${oneLine(reason, 400)}) and held by org supervise: not started again`);
      return;
    }
    recordMcpRestart(this.options.workspaceDir, this.name, "restart", reason);
    const wait = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, this.attempts - 1));
    this.state = { kind: "down", reason: oneLine(reason, 400), retryAt: Date.now() + wait, attempt: this.attempts };
    this.notice(`${this.name} is down (${oneLine(reason, 400)}); starting it again in ${wait / 1000} s`);
    this.timer = setTimeout(() => void this.connect(), wait);
    this.timer.unref?.();
  }

  private notice(message: string): void {
    this.options.onChange({ type: "notice", message: `mcp: ${message}` });
  }
}
