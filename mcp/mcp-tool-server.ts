import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { CallToolResult, LoggingLevel } from "@modelcontextprotocol/sdk/types.js";
import { redact } from "../security/redact.ts";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";
import type { McpToolSet } from "./mcp-tool-set.ts";
import {
  completeTemplateVariable,
  isOrgResourceUri,
  listResources,
  RESOURCE_TEMPLATES,
  type ReportsByTool,
  readResource,
  resourceVersions,
} from "./mcp-resources.ts";
import { completePromptArgument, getPrompt, listPrompts, type PromptPersona } from "./mcp-prompts.ts";
import { toolReports } from "./tool-reports.ts";

export type McpToolServerOptions = {
  tools: McpToolSet;
  version: string;
  /** Why a tool may not run through this server (undefined when it may), e.g. serve's HTTP policy. */
  refuse?: (entry: McpToolEntry) => string | undefined;
  /** Where unexpected errors go (never stdout: on stdio that is the protocol's). */
  logError: (line: string) => void;
  /** The room's personas, one prompt each; none when absent. */
  personas?: readonly PromptPersona[];
  /** How often a call that carries a progressToken hears that it still runs; 5 s when absent. */
  progressEveryMs?: number;
};

const MAX_TEXT = 100_000;
const MAX_COMPLETIONS = 100;
const LOG_LEVELS: readonly LoggingLevel[] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
/** The spec's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/**
 * An MCP server (the SDK's low-level `Server`) offering the tool set: list with input and output schemas and
 * annotations, calls run through the set's sandboxed runners, a failure an `isError` result naming the
 * reason (never a crash), and `notifications/tools/list_changed` after each change of the set. As the spec
 * says, a call of an unknown tool and a `cursor` this server never gave are JSON-RPC errors -32602.
 * Beside tools: resources (`mcp-resources.ts`) with subscriptions, prompts (`mcp-prompts.ts`), completion,
 * logging (`logging/setLevel`, `notifications/message`) and progress for a call that carries a progressToken.
 */
export async function createMcpToolServer(options: McpToolServerOptions): Promise<{ server: Server; dispose(): void }> {
  // The SDK (and the JSON Schema validator it brings) loads with the first server: `serve` starts without it, and
  // loads it from node_modules with its first request to /mcp, while org's own modules stay those it started with.
  const [
    { Server },
    {
      CallToolRequestSchema,
      CompleteRequestSchema,
      ErrorCode,
      GetPromptRequestSchema,
      ListPromptsRequestSchema,
      ListResourcesRequestSchema,
      ListResourceTemplatesRequestSchema,
      ListToolsRequestSchema,
      McpError,
      ReadResourceRequestSchema,
      SetLevelRequestSchema,
      SubscribeRequestSchema,
      UnsubscribeRequestSchema,
    },
  ] = await Promise.all([import("@modelcontextprotocol/sdk/server/index.js"), import("@modelcontextprotocol/sdk/types.js")]);
  const server = new Server(
    { name: "org", title: "org generated tools", version: options.version },
    {
      // Exactly what is implemented below.
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
      instructions:
        "Tools org's toolsmith wrote, validated and promoted, and the workspace's workflows. Every call runs in a sandbox without network. Resources: each tool's spec, source, tests, metadata and fitness reports (org://tools/<name>/...), each workflow (org://workflows/<name>). Prompts: one per persona of the room, one per workflow.",
    },
  );
  server.onerror = (error) => options.logError(`mcp: ${error.stack ?? error.message}`);
  const personas = options.personas ?? [];
  const noCursor = (cursor: string | undefined, what: string) => {
    // Every list comes in one page: no nextCursor is ever given, so any cursor is one this server did not make.
    if (cursor !== undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `invalid cursor ${JSON.stringify(cursor.slice(0, 100))}: this server lists every ${what} in one page; list again without a cursor.`,
      );
    }
  };
  const refreshed = async () => {
    await options.tools
      .refresh()
      .catch((error: unknown) => options.logError(`mcp: reading the tools failed: ${error instanceof Error ? error.stack : String(error)}`));
    return options.tools.entries();
  };
  const reportsNow = async (): Promise<ReportsByTool> => {
    const repos = [...new Set(options.tools.entries().flatMap((entry) => (entry.repoDir ? [entry.repoDir] : [])))];
    const merged = new Map<string, NonNullable<ReturnType<ReportsByTool["get"]>>>();
    for (const repo of repos) for (const [name, reports] of await toolReports(repo)) if (!merged.has(name)) merged.set(name, reports);
    return merged;
  };

  // logging/setLevel: the client's level; below it nothing is sent (until it sets one, info and above).
  let level: LoggingLevel = "info";
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    level = request.params.level;
    return {};
  });
  const logged = (at: LoggingLevel) => LOG_LEVELS.indexOf(at) >= LOG_LEVELS.indexOf(level);
  const logLine = (at: LoggingLevel, data: string) => ({ method: "notifications/message" as const, params: { level: at, logger: "org", data: redact(data) } });
  const log = (at: LoggingLevel, data: string) => {
    if (!logged(at)) return;
    server.notification(logLine(at, data)).catch(() => {
      // Not connected (yet or any more): a log line is not worth keeping.
    });
  };

  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    noCursor(request.params?.cursor, "tool");
    return {
      tools: (await refreshed()).map((entry) => ({
        name: entry.name,
        title: entry.annotations.title ?? entry.name,
        description: entry.description,
        // MCP takes object schemas only; the catalog's already are (a tool's inputs and a workflow's are checked to be).
        inputSchema: { ...entry.inputSchema, type: "object" as const },
        ...(entry.outputSchema ? { outputSchema: { ...entry.outputSchema, type: "object" as const } } : {}),
        annotations: entry.annotations,
      })),
    };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params;
    const entry = options.tools.find(name);
    if (!entry) {
      const names = options.tools.entries().map((tool) => tool.name);
      throw new McpError(
        ErrorCode.InvalidParams,
        `unknown tool "${name.slice(0, 100)}"; the tools are: ${names.join(", ") || "(none yet)"}. List them again with tools/list.`,
      );
    }
    const refused = options.refuse?.(entry);
    if (refused) return errorResult(refused);
    // Progress for a client that asked (a progressToken): each workflow step, and a beat while a tool runs.
    const token = request.params._meta?.progressToken;
    let progress = 0;
    // The call's notifications go out in order on its own stream, all before its answer.
    let sent = Promise.resolve();
    const say = (notification: Parameters<typeof extra.sendNotification>[0]) => {
      sent = sent
        .then(() => extra.sendNotification(notification))
        .catch(() => {
          // The request's stream is gone: the call goes on, its result is what counts.
        });
    };
    const tell = (message: string) => {
      if (token === undefined) return;
      progress += 1;
      say({ method: "notifications/progress", params: { progressToken: token, progress, message: redact(message).slice(0, 500) } });
    };
    const callLog = (at: LoggingLevel, data: string) => {
      if (logged(at)) say(logLine(at, data));
    };
    const started = performance.now();
    tell(`${name}: started (${entry.kind === "workflow" ? "a workflow" : "in the sandbox"})`);
    const beat =
      token === undefined
        ? undefined
        : setInterval(() => tell(`${name}: still running (${Math.round((performance.now() - started) / 1000)} s)`), options.progressEveryMs ?? 5_000);
    callLog("debug", `${name}: called`);
    try {
      const result = await entry.run(request.params.arguments ?? {}, extra.signal, (step) => {
        tell(`${name}: ${step}`);
        callLog("info", `${name}: ${step}`);
      });
      if (!result.ok) {
        callLog("warning", `${name} failed: ${result.error.slice(0, 1000)}`);
        return errorResult(`Error: ${result.error}`);
      }
      const text = JSON.stringify(result.output) ?? "null";
      const structured = entry.wrapsOutput ? { result: result.output } : result.output;
      return {
        content: [{ type: "text", text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}… (cut at ${MAX_TEXT} characters)` : text }],
        ...(entry.outputSchema && isObject(structured) ? { structuredContent: structured } : {}),
      };
    } catch (error) {
      if (extra.signal.aborted) return errorResult("the call was cancelled.");
      options.logError(`mcp: ${name} failed: ${error instanceof Error ? error.stack : String(error)}`);
      callLog("error", `${name} failed inside org: ${error instanceof Error ? error.message : String(error)}`);
      return errorResult(`${name} failed inside org (${error instanceof Error ? error.message : String(error)}); the server's log has the details.`);
    } finally {
      clearInterval(beat);
      await sent;
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    noCursor(request.params?.cursor, "resource");
    const entries = await refreshed();
    return { resources: listResources(entries, await reportsNow()) };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request) => {
    noCursor(request.params?.cursor, "resource template");
    return { resourceTemplates: RESOURCE_TEMPLATES };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    const read = await readResource(uri, await refreshed(), reportsNow);
    if (!read.ok) throw new McpError(read.missing ? RESOURCE_NOT_FOUND : ErrorCode.InternalError, read.error, { uri: uri.slice(0, 200) });
    return { contents: [{ uri, mimeType: read.mimeType, text: read.text }] };
  });

  // Subscriptions: after each change of the set, a subscriber hears of each of its URIs whose content changed or went.
  const subscribed = new Set<string>();
  let versions: Map<string, string> | undefined;
  const subscription = (uri: string) => {
    if (!isOrgResourceUri(uri)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `${JSON.stringify(uri.slice(0, 200))} is not one of org's resources (org://tools/<name>/…, org://workflows/<name>); see resources/templates/list`,
      );
    }
  };
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscription(request.params.uri);
    versions ??= resourceVersions(await refreshed(), await reportsNow());
    if (subscribed.size >= 1_000 && !subscribed.has(request.params.uri))
      throw new McpError(ErrorCode.InvalidParams, "at most 1000 subscriptions per session; unsubscribe from some first");
    subscribed.add(request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscription(request.params.uri);
    subscribed.delete(request.params.uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, async (request) => {
    noCursor(request.params?.cursor, "prompt");
    return { prompts: listPrompts(personas, await refreshed()) };
  });

  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    const got = getPrompt(request.params.name, request.params.arguments ?? {}, personas, await refreshed());
    if (!got.ok) throw new McpError(ErrorCode.InvalidParams, got.error);
    return { description: got.description, messages: got.messages };
  });

  server.setRequestHandler(CompleteRequestSchema, async (request) => {
    const { ref, argument, context } = request.params;
    const entries = await refreshed();
    const values =
      ref.type === "ref/prompt"
        ? completePromptArgument(ref.name, argument.name, argument.value, personas, entries)
        : completeTemplateVariable(ref.uri, argument.name, argument.value, context?.arguments, entries, await reportsNow());
    if (values === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        ref.type === "ref/prompt"
          ? `unknown prompt ${JSON.stringify(ref.name.slice(0, 100))}; prompts/list names them`
          : `unknown resource template ${JSON.stringify(ref.uri.slice(0, 200))}; resources/templates/list names them`,
      );
    }
    return { completion: { values: values.slice(0, MAX_COMPLETIONS), total: values.length, hasMore: values.length > MAX_COMPLETIONS } };
  });

  const stop = options.tools.onChange(() => {
    const ignore = () => {
      // Not connected (yet or any more): the client lists again when it connects.
    };
    server.sendToolListChanged().catch(ignore);
    server.sendResourceListChanged().catch(ignore);
    server.sendPromptListChanged().catch(ignore);
    log(
      "notice",
      `the tools changed: ${
        options.tools
          .entries()
          .map((entry) => entry.name)
          .join(", ") || "none"
      }`,
    );
    if (subscribed.size === 0) {
      versions = undefined;
      return;
    }
    void (async () => {
      const before = versions ?? new Map<string, string>();
      const after = resourceVersions(options.tools.entries(), await reportsNow());
      versions = after;
      for (const uri of subscribed) if (before.get(uri) !== after.get(uri)) await server.sendResourceUpdated({ uri }).catch(ignore);
    })().catch((error: unknown) => options.logError(`mcp: telling subscribers failed: ${error instanceof Error ? error.stack : String(error)}`));
  });
  return { server, dispose: stop };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
