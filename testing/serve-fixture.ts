import { loadConfirmedConfig } from "./confirmed-config.ts";
// Shared by the serve tests: a scripted model server, a throw-away checkout, a workspace and a handler on them.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import type { ServeSettings } from "../config/serve-settings.ts";
import type { RoomEvent } from "../room/room-event.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { AuditLog } from "../security/audit-log.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { createServeHandler, type ServeHandler, type ServeHandlerOptions } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { RoomConfig } from "../serve/room-config.ts";
import { testSandboxAccess } from "./test-sandbox.ts";

export type ServeFixture = {
  handler: ServeHandler;
  /** The rooms' config as `org web` follows it (with `followConfig`). */
  roomConfig: RoomConfig | undefined;
  server: ScriptedServer;
  config: OrgConfig;
  tools: ServedTools;
  workspaceDir: string;
  checkoutDir: string;
  errors: string[];
  [Symbol.asyncDispose](): Promise<void>;
};

/** Opens everything a serve test needs; `checkoutDir` is a git repo the test made (never this one). */
export async function serveFixture(options: {
  script: ScriptInput;
  checkoutDir: string;
  /** The scripted model server's window (`--context-tokens`): it says it, and refuses a prompt over it. */
  contextTokens?: number;
  apiToken?: string;
  serve?: Partial<ServeSettings>;
  concurrency?: number;
  builtIns?: AnyTool[];
  loopbackOnly?: boolean;
  maxOpenChars?: number;
  /** More handler options (request signing, jobs, profile). */
  handlerOptions?: Partial<ServeHandlerOptions>;
  /** An existing workspace (a restart); else a new temporary one. */
  workspaceDir?: string;
  /** Rooms open with a `RoomConfig` made of the config and the handler's sandbox policy, which the test may replace. */
  followConfig?: boolean;
}): Promise<ServeFixture> {
  const server = await startScriptedServer({
    script: options.script,
    port: 0,
    ...(options.contextTokens !== undefined ? { contextTokens: options.contextTokens } : {}),
  });
  const workspaceDir = options.workspaceDir ?? mkdtempSync(join(tmpdir(), "org-serve-ws-"));
  // The sandbox drops to another uid, which must be able to enter the workspace.
  chmodSync(workspaceDir, 0o755);
  mkdirSync(join(workspaceDir, ".org"), { recursive: true });
  const config = loadConfirmedConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
  Object.assign(config.serve, options.serve ?? {});
  if (options.concurrency) config.servers[server.url] = { concurrency: options.concurrency };
  const tools = await ServedTools.open(options.checkoutDir, options.builtIns ?? [sh, pythonRun]);
  const errors: string[] = [];
  const access = {
    ...testSandboxAccess(),
    ...(options.handlerOptions?.sandboxPolicy ? { sandboxPolicy: options.handlerOptions.sandboxPolicy } : {}),
  };
  const roomConfig = options.followConfig ? new RoomConfig(config, access.sandboxPolicy) : undefined;
  let handler: ServeHandler;
  try {
    handler = createServeHandler({
      config,
      workspaceDir,
      tools,
      version: "9.9.9",
      ...access,
      ...(roomConfig ? { roomConfig } : {}),
      ...(options.apiToken !== undefined ? { apiToken: options.apiToken } : {}),
      audit: new AuditLog(join(workspaceDir, ".org", "audit")),
      logError: (line) => errors.push(line),
      ...(options.loopbackOnly ? { loopbackOnly: true } : {}),
      ...(options.maxOpenChars !== undefined ? { maxOpenChars: options.maxOpenChars } : {}),
      ...options.handlerOptions,
    });
  } catch (error) {
    // A handler that refuses to open (its state directory is wrong) leaves nothing running.
    tools.stop();
    await server.stop();
    if (options.workspaceDir === undefined) rmSync(workspaceDir, { recursive: true, force: true });
    throw error;
  }
  return {
    handler,
    roomConfig,
    server,
    config,
    tools,
    workspaceDir,
    checkoutDir: options.checkoutDir,
    errors,
    async [Symbol.asyncDispose]() {
      tools.stop();
      await handler.close();
      await server.stop();
      if (options.workspaceDir === undefined) rmSync(workspaceDir, { recursive: true, force: true });
    },
  };
}

/** The room events of an SSE body, in order; throws on a frame that is not one JSON `data:` line. */
export function parseSse(text: string): RoomEvent[] {
  return text
    .split("\n\n")
    .filter((frame) => frame.trim() !== "" && !frame.startsWith(":"))
    .map((frame) => {
      if (!frame.startsWith("data: ") || frame.includes("\n")) throw new Error(`not one data line: ${JSON.stringify(frame)}`);
      return JSON.parse(frame.slice("data: ".length)) as RoomEvent;
    });
}

/** Reads an SSE body as it arrives, calling `onEvent` for each event; resolves at the end of the stream. */
export async function readEvents(response: Response, onEvent: (event: RoomEvent) => void): Promise<RoomEvent[]> {
  const events: RoomEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body as ReadableStream<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      for (const event of parseSse(buffer.slice(0, end + 2))) {
        events.push(event);
        onEvent(event);
      }
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
    }
  }
  return events;
}

/** A JSON POST for the handler or fetch. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Sends `request` as written over a plain socket to 127.0.0.1:`port` and reads until the server closes (10 s at most). */
export function rawHttp(port: number, request: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let data = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer in 10 s")));
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(data));
  });
}
