import type { CallToolResult, LoggingLevel, ProgressToken, ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import { redact } from "../security/redact.ts";
import type { McpLog } from "./mcp-log.ts";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";

const MAX_TEXT = 100_000;

/** What a call runs with: the request's signal and stream, and the client's progress token when it asked for progress. */
export type McpCall = {
  signal: AbortSignal;
  sendNotification: (notification: ServerNotification) => Promise<void>;
  progressToken: ProgressToken | undefined;
};

export type McpCallOptions = {
  log: McpLog;
  logError: (line: string) => void;
  /** How often a call that carries a progressToken hears that it still runs. */
  progressEveryMs: number;
};

/** A tool's failure as MCP says it: an `isError` result the client's model reads, never a protocol error. */
export function toolError(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** A call's notifications: progress (when the client gave a token) and log lines, in order on its own stream, all before its answer. */
function callNotifications(call: McpCall, log: McpLog) {
  let progress = 0;
  let sent = Promise.resolve();
  const say = (notification: ServerNotification) => {
    sent = sent
      .then(() => call.sendNotification(notification))
      .catch(() => {
        // The request's stream is gone: the call goes on, its result is what counts.
      });
  };
  return {
    progress(message: string) {
      if (call.progressToken === undefined) return;
      progress += 1;
      say({ method: "notifications/progress", params: { progressToken: call.progressToken, progress, message: redact(message).slice(0, 500) } });
    },
    log(at: LoggingLevel, data: string) {
      if (log.sends(at)) say(log.line(at, data));
    },
    sent: () => sent,
  };
}

/**
 * Runs one entry for `tools/call`: its output as text (cut past 100 000 characters) and, when it declares an
 * output schema, as structured content; a failure, a cancel or a crash inside org an `isError` result. A call
 * with a progress token hears of its start, of each workflow step and, while it runs, a beat every `progressEveryMs`.
 */
export async function callMcpTool(
  entry: McpToolEntry,
  args: Record<string, unknown>,
  call: McpCall,
  options: McpCallOptions,
): Promise<CallToolResult> {
  const { name } = entry;
  const notes = callNotifications(call, options.log);
  const started = performance.now();
  notes.progress(`${name}: started (${entry.kind === "workflow" ? "a workflow" : "in the sandbox"})`);
  const beat =
    call.progressToken === undefined
      ? undefined
      : setInterval(() => notes.progress(`${name}: still running (${Math.round((performance.now() - started) / 1000)} s)`), options.progressEveryMs);
  notes.log("debug", `${name}: called`);
  try {
    const result = await entry.run(args, call.signal, (step) => {
      notes.progress(`${name}: ${step}`);
      notes.log("info", `${name}: ${step}`);
    });
    if (!result.ok) {
      notes.log("warning", `${name} failed: ${result.error.slice(0, 1000)}`);
      return toolError(`Error: ${result.error}`);
    }
    const text = JSON.stringify(result.output) ?? "null";
    const structured = entry.wrapsOutput ? { result: result.output } : result.output;
    return {
      content: [{ type: "text", text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}… (cut at ${MAX_TEXT} characters)` : text }],
      ...(entry.outputSchema && isObject(structured) ? { structuredContent: structured } : {}),
    };
  } catch (error) {
    if (call.signal.aborted) return toolError("the call was cancelled.");
    options.logError(`mcp: ${name} failed: ${error instanceof Error ? error.stack : String(error)}`);
    notes.log("error", `${name} failed inside org: ${error instanceof Error ? error.message : String(error)}`);
    return toolError(`${name} failed inside org (${error instanceof Error ? error.message : String(error)}); the server's log has the details.`);
  } finally {
    clearInterval(beat);
    await notes.sent();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
