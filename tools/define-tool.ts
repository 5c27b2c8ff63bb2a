import { z } from "zod";
import type { ToolDefinition } from "../llm/chat-types.ts";
import type { AuditSink, RequestAudit } from "../security/audit-log.ts";
import { redact, redactValue } from "../security/redact.ts";
import type { NamedSecret } from "../security/named-secret.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { failureLine } from "./failure-line.ts";
import { DEFAULT_TIMEOUT_MS } from "../sandbox/sandbox-limits.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { ChangeSet } from "../workspace/change-set.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";

/**
 * What every tool gets, made where the entry point is assembled: the process's Sandbox and the policy org was assembled
 * with (`SandboxAccess`; every run a tool makes goes under it), the sessions' private copies of the workspace
 * (`workspaceCopies`, the write view's), and what is known of the call it serves. What only some tools use is a
 * capability (`Capabilities`) a tool declares in `needs` and gets, and only those, on top of this.
 */
export type ToolContext = SandboxAccess & {
  workspaceCopies: WorkspaceCopies;
  signal: AbortSignal;
  /** The directory a tool may touch; model-given paths are resolved inside it. */
  workspaceDir: string;
  sessionId?: string;
  persona?: string;
  requestId?: string;
  /** The id of the model's call this run serves (the room's approval questions name it). */
  callId?: string;
  audit?: AuditSink;
  /** Values to redact beside the environment's secrets: the room's server keys and URL credentials. */
  secrets?: readonly string[];
};

/**
 * Asks the person about something this call is about to do that its policy alone does not cover (web_request to a
 * host not listed); resolves to the answer, or to why nobody could answer.
 */
export type AskPerson = (question: PersonQuestion) => Promise<PersonAnswer>;

/**
 * Takes what a command changed in the session's private copy of the workspace (`sandbox.workspace: "write"`): the room
 * checks it, asks under `workspace_write`, applies and records it, and answers a line for the model.
 */
export type WorkspaceWrite = (proposal: ProposedChange) => Promise<string>;

/** The pieces of a call's context only some tools use: a tool names those it uses in `needs` and gets only them. */
export type Capabilities = {
  /** Where nobody can be asked (serve's HTTP, `org patch`, a test), `nobodyToAsk`: every question is denied. */
  askPerson: AskPerson;
  /** Where nothing can apply a change, `nothingApplies`: nothing is applied, and the model is told so. */
  workspaceWrite: WorkspaceWrite;
  /**
   * The secrets web_request, web_fetch, the browser and send_file never send, named where they stand (`DB_PASSWORD in
   * .env`): the room's server keys and the values of the workspace's secret files that are keys by their name or look.
   * Where the entry point names none, its `secrets`.
   */
  outboundSecrets: readonly (string | NamedSecret)[];
  /** The person said yes to this very call at the room's approval question (its policy was "ask"). */
  approvedByPerson: boolean;
};

/** A capability a tool may declare in `needs`. */
export type Need = keyof Capabilities;

/**
 * What an entry point hands runTool: every tool's context, the capabilities it has (one it lacks gets its explicit
 * "not here" piece), and whose policy let this call run when another persona's reply triggered it (a hop; audit only).
 */
export type CallContext = ToolContext & Partial<Capabilities> & { policyFrom?: string };

/** The answer where nobody can be asked. */
export const nobodyToAsk: AskPerson = async () => ({ denied: "nobody can be asked here; ask the user to list it" });

/** The answer where nothing can apply a change a command made to its private copy. */
export const nothingApplies: WorkspaceWrite = async () => "the workspace was not changed: nothing here can apply changes (run it in the room)";

/**
 * A question a tool puts to the person: the call as shown (its id, name and the arguments that matter, redacted by the
 * asker), a preview, and what "always" would allow for the rest of the session (`key`, and `label` as the person reads it).
 */
export type PersonQuestion = {
  call: { id?: string; name: string; arguments: Record<string, JsonValue> };
  preview: string;
  always: { key: string; label: string };
  /** Withdraws the question when it aborts (the sandboxed run that asked has ended). */
  signal?: AbortSignal;
};

/** The person's answer: yes, no, or no with why nobody could answer. */
export type PersonAnswer = boolean | { denied: string };

/**
 * A change a command made on the private copy: the paths it touched; its change set and the paths the user
 * changed meanwhile, each read only when asked (a hostile command may touch many files); or why it was refused
 * before anything was read.
 */
export type ProposedChange = { paths: readonly string[]; changeSet(): ChangeSet; conflicts(): string[]; refused?: string };

/**
 * What a tool hands back: `output` is the text the model reads (`ok: false` is a failure it should act on);
 * `data` is the JSON value the tool produced, for workflows and clients that want fields, not prose.
 */
export type ToolResult = {
  ok: boolean;
  output: string;
  exitCode?: number | null;
  data?: JsonValue;
  /** The reply is done with this result: the tool loop does not ask the model again (the toolsmith's build_tool). */
  endsReply?: true;
  /** A request the call sent out, for the audit line only (the model and the room never see it). */
  request?: RequestAudit;
  /**
   * The output carries words from outside (a page's, a server's answer): after it, the persona's calls of tools that act
   * are asked of the person, whatever their policy, until the person speaks again (docs/browser.md, "A page's words").
   */
  outsideWords?: OutsideWords;
};

/** Where a result's words came from: the origin that wrote them (`https://example.com`) and nothing a page chose beyond it. */
export type OutsideWords = { from: string };

/** The origin of an address, as a result's `outsideWords` names it; the address cut short when it has none. */
export function outsideWordsOf(address: string): OutsideWords {
  try {
    const origin = new URL(address).origin;
    if (origin !== "null") return { from: origin };
  } catch {
    // Not an address: named by its start below.
  }
  return { from: address.slice(0, 100) };
}

/** A value that survives JSON.stringify and JSON.parse unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type Tool<Parameters extends z.ZodType = z.ZodType, Needs extends Need = never> = {
  name: string;
  description: string;
  parameters: Parameters;
  /** The OpenAI tool entry, with the JSON Schema derived from `parameters`. */
  definition: ToolDefinition;
  /** It runs model-made code or commands: a hop runs it under the stricter policy, its timeout counts against the turn. */
  runsCode: boolean;
  /**
   * It acts: it runs something, changes something or sends something out (the default). After words from outside in the
   * turn its calls are put to the person, whatever its policy. Tools that only read say false (web_fetch, memory_search).
   */
  acts: boolean;
  /** The seconds a call may take when its arguments give no `timeout_s` (an MCP server's tool: `mcp.callTimeoutS`). */
  timeoutS?: number;
  /** The capabilities it uses, beside every tool's context: `execute` gets these and no others. */
  needs: readonly Needs[];
  execute(args: z.output<Parameters>, context: ToolContext & Pick<Capabilities, Needs>): Promise<ToolResult | string>;
  /** Work a session may do ahead of the first call, when it opens (the sh tool starts its sandbox); never throws. */
  prepare?(session: ToolSession): void;
  /** Ends what a session started when its room closes (the browser tool's browser); never throws. */
  release?(session: ToolSession): Promise<void>;
  /** What the audit line keeps of a call's arguments (web_request: its method and URL, never the body); default all, redacted. */
  auditArguments?(args: unknown): JsonValue;
  /** What "always" at a call's approval question allows, when not the whole tool (web_request: the call's host). */
  approvalScope?(args: unknown): PersonQuestion["always"] | undefined;
  /** What a call's approval question shows beside its arguments (web_request: the request as it will be sent). */
  approvalPreview?(args: unknown): string | undefined;
};

/** The session a tool is prepared for. */
export type ToolSession = SandboxAccess & { workspaceCopies: WorkspaceCopies; workspaceDir: string; sessionId?: string };

// Tool<z.ZodType> would make parsed arguments `unknown` for every caller and refuse promoted tools, whose schema is
// known only at run time.
// biome-ignore lint/suspicious/noExplicitAny: a registry holds tools of every parameter type (the reason above)
export type AnyTool = Tool<any, Need>;

/** The JSON Schema a model sees of `parameters`, without its `$schema` line. */
function jsonSchemaOf(parameters: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(parameters, { io: "input" }) as Record<string, unknown>;
  return schema;
}

/** Declares a tool once: the zod schema gives its type, its validation and the JSON Schema the model sees. */
export function defineTool<Parameters extends z.ZodType, Needs extends Need = never>(
  name: string,
  spec: Pick<
    Tool<Parameters, Needs>,
    "description" | "parameters" | "execute" | "prepare" | "release" | "auditArguments" | "approvalScope" | "approvalPreview"
  > & { runsCode?: boolean; acts?: boolean; needs?: readonly Needs[] },
): Tool<Parameters, Needs> {
  let definition: ToolDefinition | undefined;
  return {
    name,
    description: spec.description,
    parameters: spec.parameters,
    // Made when first asked for: zod's JSON Schema costs a command that loads a tool but never offers it 7-45 ms of CPU.
    get definition() {
      definition ??= { type: "function", function: { name, description: spec.description, parameters: jsonSchemaOf(spec.parameters) } };
      return definition;
    },
    runsCode: spec.runsCode ?? false,
    acts: spec.acts ?? true,
    needs: spec.needs ?? [],
    execute: spec.execute,
    ...(spec.prepare ? { prepare: spec.prepare } : {}),
    ...(spec.release ? { release: spec.release } : {}),
    ...(spec.auditArguments ? { auditArguments: spec.auditArguments } : {}),
    ...(spec.approvalScope ? { approvalScope: spec.approvalScope } : {}),
    ...(spec.approvalPreview ? { approvalPreview: spec.approvalPreview } : {}),
  };
}

/** A set of tools looked up by own name only, so `__proto__` or `constructor` finds nothing. */
export function toolSet(tools: Iterable<AnyTool>): ReadonlyMap<string, AnyTool> {
  const map = new Map<string, AnyTool>();
  for (const tool of tools) map.set(tool.name, tool);
  return map;
}

/**
 * The seconds a call may run, charged against the turn's tool time: its valid `timeout_s`, else the sandbox's
 * default, for a tool that runs code; nothing for one that does not. Arguments that do not validate cost
 * nothing (the call will not run).
 */
export function toolSeconds(tool: AnyTool, args: unknown): number {
  if (!tool.runsCode) return 0;
  const parsed = tool.parameters.safeParse(args ?? {});
  if (!parsed.success) return 0;
  const data: unknown = parsed.data;
  const timeout = typeof data === "object" && data !== null && "timeout_s" in data ? data.timeout_s : undefined;
  return typeof timeout === "number" && Number.isFinite(timeout) && timeout > 0 ? timeout : (tool.timeoutS ?? DEFAULT_TIMEOUT_MS / 1000);
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "(arguments)"}: ${issue.message}`).join("; ");
}

/**
 * Runs one tool call from a model: looks the tool up, validates arguments, runs it, and returns a result
 * the model can read whatever happened. Output, data and the audited arguments are redacted here, the
 * redaction point of tool results (docs/ARCHITECTURE.md, "Redaction points"; invariant 4).
 */
export async function runTool(
  tools: ReadonlyMap<string, AnyTool>,
  call: { name: string; arguments: unknown },
  context: CallContext,
): Promise<ToolResult> {
  const started = performance.now();
  const result = await runUnredacted(tools, call, context);
  const secrets = context.secrets ?? [];
  const output = redact(result.output, secrets);
  const data = result.data === undefined ? undefined : redactValue(result.data, secrets);
  const auditArguments = tools.get(call.name)?.auditArguments;
  context.audit?.record({
    time: new Date().toISOString(),
    sessionId: context.sessionId,
    persona: context.persona,
    requestId: context.requestId,
    ...(context.policyFrom !== undefined ? { policyFrom: context.policyFrom } : {}),
    // The name is the model's: one a tool does not have may carry anything, so it is redacted and bounded like its words.
    tool: oneLine(redact(call.name, secrets), 200),
    arguments: JSON.parse(redact(JSON.stringify(auditArguments ? auditArguments(call.arguments) : (call.arguments ?? null)), secrets)),
    ok: result.ok,
    exitCode: result.exitCode,
    ...(result.ok ? {} : { error: failureLine(output, data) }),
    durationMs: Math.round(performance.now() - started),
    bytes: Buffer.byteLength(output),
    ...(result.request ? { request: redactValue(result.request, secrets) } : {}),
  });
  const { data: _raw, request: _sent, ...rest } = result;
  return { ...rest, output, ...(data !== undefined ? { data } : {}) };
}

const NO_SUCH_TOOL = "Error: there is no tool named";
const INVALID_ARGUMENTS = "Error: invalid arguments for";

/** Whether a failed call's line (the audit log's `error`) is runTool's answer to a malformed call: a name no tool has, or arguments that do not fit.
 *
 */
export function isModelMistake(line: string): boolean {
  return line.startsWith(NO_SUCH_TOOL) || line.startsWith(INVALID_ARGUMENTS);
}

async function runUnredacted(
  tools: ReadonlyMap<string, AnyTool>,
  call: { name: string; arguments: unknown },
  context: CallContext,
): Promise<ToolResult> {
  const tool = tools.get(call.name);
  if (!tool) {
    const known = [...tools.keys()].join(", ") || "none";
    return { ok: false, output: `${NO_SUCH_TOOL} "${call.name}". Available tools: ${known}.` };
  }
  const parsed = tool.parameters.safeParse(call.arguments ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      output: `${INVALID_ARGUMENTS} ${tool.name}: ${describeIssues(parsed.error)}. Call it again with arguments that match its schema.`,
    };
  }
  try {
    const result = await tool.execute(parsed.data, contextFor(tool, context));
    return typeof result === "string" ? { ok: true, output: result } : result;
  } catch (error) {
    if (context.signal.aborted) return { ok: false, output: `Error: ${tool.name} was cancelled.` };
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, output: `Error: ${tool.name} failed: ${message}` };
  }
}

/** Every tool's context and the capabilities `tool` declares, no others; one the entry point lacks is its "not here" piece. */
function contextFor(tool: AnyTool, context: CallContext): ToolContext & Capabilities {
  const { askPerson, workspaceWrite, outboundSecrets, approvedByPerson, policyFrom: _audited, ...base } = context;
  const offered: Capabilities = {
    askPerson: askPerson ?? nobodyToAsk,
    workspaceWrite: workspaceWrite ?? nothingApplies,
    outboundSecrets: outboundSecrets ?? base.secrets ?? [],
    approvedByPerson: approvedByPerson ?? false,
  };
  // Typed as every piece for AnyTool's sake; each tool's own `execute` type names only those in its `needs`.
  return { ...base, ...Object.fromEntries(tool.needs.map((need) => [need, offered[need]])) } as ToolContext & Capabilities;
}
