import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { environmentSettings, environmentVariable } from "./environment.ts";
import { gateConfigFile, type GuardContext, type GuardedSetting } from "./guarded-settings.ts";
import { trustRecords } from "./trust-store.ts";
import { userOrgDir } from "./user-org-dir.ts";
import { ApiKeyEnvName, PersonaServerFields, personaServerUrl } from "../llm/persona-server.ts";
import { type NamedKey, type ServerKeys, serverKeys } from "../llm/server-keys.ts";
import { displayUrl, urlCredentials, urlOrigin } from "../llm/server-url.ts";
import { JsonSyntaxError, parseJsonWithLines } from "./parse-json-with-lines.ts";
import { BUILTIN_POLICY_NAMES, GENERATED_TOOLS_DIR, knownToolNames } from "./tool-names.ts";
import { ToolsmithSettings } from "./toolsmith-settings.ts";
import { GrowSettings } from "./grow-settings.ts";
import { DEFAULT_SECRET_PATHS } from "./secret-paths.ts";
import { BackupSettings, SuperviseSettings } from "./supervise-settings.ts";
import { WorkflowSettings } from "./workflow-settings.ts";
import { ToolPolicy } from "./tool-policy.ts";
import { WORKSPACE_VIEWS } from "./workspace-views.ts";
import { HostPattern, WebSettings } from "./web-settings.ts";
import { TelegramSettings } from "./telegram-settings.ts";
import {
  DEFAULT_MCP,
  McpServerEntry,
  McpSettings,
  type McpServerConfig,
  mcpServerProblems,
  mcpServerConfigs,
  mcpSecrets,
  mcpToolOwner,
} from "./mcp-servers.ts";

// Declared with the workspace's layout, so a command can look for the file without loading this schema; every other
// file keeps importing it from here.
import { CONFIG_FILE_NAME } from "./workspace-paths.ts";
export { CONFIG_FILE_NAME };

// Declared beside the MCP servers' schema, which needs it too; every other file keeps importing it from here.
export { ToolPolicy } from "./tool-policy.ts";

export const PersonaKind = z.enum(["agent", "python", "toolsmith", "simple"]);
export type PersonaKind = z.infer<typeof PersonaKind>;

export const PersonaColor = z.enum(["red", "green", "yellow", "blue", "magenta", "cyan", "white", "gray"]);
export type PersonaColor = z.infer<typeof PersonaColor>;

const personaName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "a persona name is 1–32 lowercase letters, digits, '-' or '_', starting with a letter")
  .refine((name) => name !== "user" && name !== "all", "'user' and 'all' are reserved; pick another name");

/** One persona as `org.config.json` gives it. */
export const PersonaEntry = z.strictObject({
  name: personaName,
  kind: PersonaKind,
  model: z.string().min(1).optional(),
  ...PersonaServerFields,
  /** Policy per tool name (built-in or generated); a tool not listed is denied. */
  tools: z.record(z.string().min(1), ToolPolicy).optional(),
  instructions: z.string().optional(),
  color: PersonaColor.optional(),
  contextMessages: z.int().min(2).max(10_000).optional(),
});
export type PersonaEntry = z.infer<typeof PersonaEntry>;

/** The room's limits; `org.config.json` may set any of them. */
export const OrgLimits = z.strictObject({
  /** Tokens (prompt + completion) a session may spend, checked before every LLM call. */
  sessionTokens: z.int().positive(),
  /** Tool rounds one persona may take in one reply. */
  toolRoundsPerTurn: z.int().min(1).max(100),
  /** Model-to-model hops after one user message (0: models never answer each other). */
  hopsPerMessage: z.int().min(0).max(50),
  /** Replies one persona may give after one user message before it must wait for the user. */
  repliesInARow: z.int().min(1).max(50),
  /** Concurrent requests per model server unless `servers` says otherwise (a stock Ollama serves 1). */
  concurrencyPerServer: z.int().min(1).max(64),
  /** Tool calls one reply may make; calls beyond it are not run and the model is told. */
  toolCallsPerReply: z.int().min(1).max(1000),
  /** Seconds of tool time one user message may spend, each call counted at its timeout. */
  toolSecondsPerTurn: z.number().positive().max(86_400),
  /** Beyond this many promoted generated tools, a persona is offered the best this many for each message, and find_tool. */
  generatedToolsPerTurn: z.int().min(1).max(128),
  /** Characters one reply may stream (text, reasoning and tool-call arguments); the reply is cut there and says so. */
  replyChars: z.int().min(1).max(100_000_000),
  /** Step runs one workflow run may make in all (foreach bodies count once per item); more is refused or stopped. */
  workflowStepRuns: z.int().min(1).max(10_000_000),
  /** Bytes of any one file a workspace change may carry; a larger one refuses the change whole. */
  patchBytes: z
    .int()
    .min(1)
    .max(1024 * 1024 * 1024),
  /** Files one workspace change may touch; more refuses it whole. */
  patchFiles: z.int().min(1).max(100_000),
});
export type OrgLimits = z.infer<typeof OrgLimits>;

/** One model server's settings, keyed by its URL. */
export const ServerEntry = z.strictObject({
  concurrency: z.int().min(1).max(64).optional(),
  /** The environment variable holding this server's API key (sent as a Bearer token to it and nowhere else). */
  apiKeyEnv: ApiKeyEnvName.optional(),
});
export type ServerEntry = z.infer<typeof ServerEntry>;

/** How `serve` answers over HTTP. */
export const ServeEntry = z.strictObject({
  /** Policy per tool name for `POST /v1/tools/:name/run`; a tool not listed is "ask", which nobody can answer over HTTP. */
  tools: z.record(z.string().regex(/^[a-z][a-z0-9_]{1,47}$/, "a tool name: snake_case, 2–48 characters"), ToolPolicy).optional(),
  /** Policy over HTTP for a generated tool `tools` does not name (default "ask"); "allow" lets the fitness gate run every tool's examples on both instances. */
  generatedTools: ToolPolicy.optional(),
  /** Room turns (and HTTP tool runs) the server runs at once, across sessions. */
  turns: z.int().min(1).max(256).optional(),
  /** Requests that may wait for a turn; past that the server answers 429. */
  queue: z.int().min(0).max(10_000).optional(),
  /** How long a persona's "ask" waits for an answer from someone watching the session's event stream, in seconds. */
  approvalTimeoutS: z.int().min(1).max(86_400).optional(),
  /** The largest request body accepted, in bytes. */
  maxBodyBytes: z
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .optional(),
});
export type ServeSettings = Required<z.infer<typeof ServeEntry>>;

/** What `web_fetch` may reach: host names (`*.example.com` for its subdomains, `*` for any public host). */
export const NetworkEntry = z.strictObject({
  /** Hosts web_fetch may fetch from; only public addresses are ever reached, whatever is listed. */
  allowedHosts: z.array(HostPattern).max(1_000).optional(),
  /** Refuse hosts not in allowedHosts (true unless set; always true under ORG_PROFILE=prod). */
  defaultDeny: z.boolean().optional(),
  /** Seconds one fetch may take in all, redirects included. */
  timeoutS: z.number().positive().max(120).optional(),
  /** Bytes of body read at most; the rest is cut. */
  maxBytes: z
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .optional(),
  /** Fetches one persona may make per minute. */
  perMinute: z.int().min(1).max(10_000).optional(),
});
export type NetworkSettings = Required<z.infer<typeof NetworkEntry>>;

export const DEFAULT_NETWORK: NetworkSettings = { allowedHosts: [], defaultDeny: true, timeoutS: 10, maxBytes: 1024 * 1024, perMinute: 30 };

// Generated tools run over HTTP unless the config says otherwise: each was validated, runs only in the sandbox
// through the fixed runner (no network, no workspace), and the gate compares their examples on both instances.
export const DEFAULT_SERVE: ServeSettings = { tools: {}, generatedTools: "allow", turns: 16, queue: 256, approvalTimeoutS: 600, maxBodyBytes: 64 * 1024 };

/** How sandboxed commands see the workspace, and what their changes may touch. */
export const SandboxEntry = z.strictObject({
  /** "read": read-only at /workspace (default); "write": a private copy whose changes come back as patches; "none": not at all. */
  workspace: z.enum(WORKSPACE_VIEWS).optional(),
  /** Paths (globs) no workspace change may touch, beside the defaults (.git/**, .org/**, .env*, …). */
  protectedPaths: z.array(z.string().min(1).max(500)).max(500).optional(),
  /**
   * Paths (globs) of secret files the agents never see in either view nor change (default DEFAULT_SECRET_PATHS: .env*,
   * .npmrc, *.pem, *.key, id_*, .netrc, .git-credentials); a list given here replaces the default.
   */
  secretPaths: z.array(z.string().min(1).max(500)).max(500).optional(),
  /** The workspace_write policy in the console: "ask" (default), "allow" or "deny". Over HTTP, serve.tools.workspace_write (default "deny"). */
  workspaceWrite: ToolPolicy.optional(),
});
export type SandboxSettings = {
  workspace: (typeof WORKSPACE_VIEWS)[number];
  protectedPaths: string[];
  secretPaths: readonly string[];
  workspaceWrite: ToolPolicy;
};

/** `org.config.json`: every key optional; the defaults and the environment fill in the rest. */
export const OrgConfigFile = z.strictObject({
  $schema: z.string().optional(),
  personas: z.array(PersonaEntry).min(1).optional(),
  servers: z.record(z.url({ protocol: /^https?$/ }), ServerEntry).optional(),
  limits: OrgLimits.partial().optional(),
  /** The mode a new session starts in. */
  mode: z.string().optional(),
  serve: ServeEntry.optional(),
  /** What web_fetch may reach, and its limits. */
  network: NetworkEntry.optional(),
  /** Where web_request may send without asking, and its limits. */
  web: WebSettings.optional(),
  /** `org telegram`: the Bot API's base URL and the chats the bot serves. */
  telegram: TelegramSettings.optional(),
  /** The toolsmith's thresholds and rounds; a key left out keeps its default. */
  toolsmith: ToolsmithSettings.optional(),
  /** `org grow`: windows a promoted tool is judged over, its failure bound, when an unused one is proposed for removal. */
  grow: GrowSettings.optional(),
  /** `org supervise`: how often it checks, its bounds, which fixes apply without a person, its webhook. */
  supervise: SuperviseSettings.optional(),
  /** `org backup`: where backups go and how many are kept. */
  backup: BackupSettings.optional(),
  /** `org workflow plan` and `plan_workflow`: the planner's model, repair rounds and step bound. */
  workflow: WorkflowSettings.optional(),
  sandbox: SandboxEntry.optional(),
  /** MCP servers whose tools join the room as `<server>__<tool>` (config/mcp-servers.ts). */
  mcpServers: z.record(z.string(), McpServerEntry).optional(),
  /** How long a call to an MCP server's tool, and its start, may take. */
  mcp: McpSettings.optional(),
});
export type OrgConfigFile = z.infer<typeof OrgConfigFile>;

/** A persona with the defaults filled in: its model, server, tools and context length are always set. */
export type PersonaConfig = Omit<PersonaEntry, keyof typeof PersonaServerFields> &
  Required<Pick<PersonaEntry, "model" | "tools" | "contextMessages">> & {
    /** The persona's model server, as org shows it (credentials kept apart, see `authorizations`). */
    server: string;
    /** Where `model` was set, named when the server does not have it. */
    modelSource?: string;
  };

/** The room's configuration: the file over the defaults and the environment. */
export type OrgConfig = Required<Pick<OrgConfigFile, "servers" | "mode">> & {
  personas: PersonaConfig[];
  limits: OrgLimits;
  serve: ServeSettings;
  network: NetworkSettings;
  web: WebSettings;
  telegram: TelegramSettings;
  toolsmith: ToolsmithSettings;
  grow: GrowSettings;
  supervise: SuperviseSettings;
  backup: BackupSettings;
  workflow: WorkflowSettings;
  sandbox: SandboxSettings;
  /** The MCP servers of `mcpServers`, in the file's order. */
  mcpServers: McpServerConfig[];
  mcp: McpSettings;
  /**
   * The Authorization header value per server origin (`llm/server-keys.ts`, the one key rule): credentials in the
   * server's URL, else the key its `apiKeyEnv` (a server's or a persona's) names, else OPENAI_API_KEY for
   * OLLAMA_BASE's origin only. No server gets another's. `modelFor` reads it.
   */
  authorizations: ServerKeys;
  /** Values to hide wherever they turn up: the API keys and credentials in server URLs. */
  secrets: string[];
  /**
   * The file's settings that send something out or lower a guard and wait for `org config trust` (`guarded-settings.ts`):
   * each is at its default here until the person confirms it.
   */
  unconfirmed: GuardedSetting[];
  /** The file the config came from; undefined when only defaults apply. */
  source?: string;
};

export const DEFAULT_LIMITS: OrgLimits = {
  sessionTokens: 1_000_000,
  toolRoundsPerTurn: 8,
  hopsPerMessage: 3,
  repliesInARow: 2,
  concurrencyPerServer: 1,
  toolCallsPerReply: 32,
  toolSecondsPerTurn: 600,
  generatedToolsPerTurn: 8,
  replyChars: 200_000,
  workflowStepRuns: 10_000,
  patchBytes: 1024 * 1024,
  patchFiles: 200,
};

/** The tools each kind of persona gets unless the config says otherwise. */
export const DEFAULT_TOOLS: Record<PersonaKind, Record<string, ToolPolicy>> = {
  agent: { sh: "allow", chat_mode: "allow", workflow_run: "ask", plan_workflow: "ask", memory_search: "allow", memory_save: "allow" },
  python: { python_run: "allow" },
  toolsmith: {},
  simple: {},
};

const DEFAULT_PERSONAS: { name: string; kind: PersonaKind; color: PersonaColor }[] = [
  { name: "agent", kind: "agent", color: "cyan" },
  { name: "python", kind: "python", color: "yellow" },
  { name: "toolsmith", kind: "toolsmith", color: "magenta" },
];

/** org.config.json is wrong; the message names the file, line and key, and what to change. */
export class OrgConfigError extends Error {
  override name = "OrgConfigError";
  readonly userFacing = true;
  /** The line of the file the problem is on, when the JSON itself is wrong or a key's line is known. */
  readonly line: number | undefined;
  /** The key the problem is at, as zod names it: `personas[1].model`. */
  readonly key: string | undefined;
  constructor(
    message: string,
    readonly file: string,
    line?: number,
    key?: string,
  ) {
    super(message);
    this.line = line;
    this.key = key;
  }
}

function keyName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === "number" ? `${text}[${part}]` : text === "" ? String(part) : `${text}.${String(part)}`), "");
}

/** The keys an object at `path` may have, for "did you mean" advice. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  const [first] = path;
  if (path.length === 0) return Object.keys(OrgConfigFile.shape);
  if (first === "personas" && path.length === 2) return Object.keys(PersonaEntry.shape);
  if (first === "limits" && path.length === 1) return Object.keys(OrgLimits.shape);
  if (first === "servers" && path.length === 2) return Object.keys(ServerEntry.shape);
  if (first === "serve" && path.length === 1) return Object.keys(ServeEntry.shape);
  if (first === "network" && path.length === 1) return Object.keys(NetworkEntry.shape);
  if (first === "web" && path.length === 1) return Object.keys(WebSettings.shape);
  if (first === "telegram" && path.length === 1) return Object.keys(TelegramSettings.shape);
  if (first === "toolsmith" && path.length === 1) return Object.keys(ToolsmithSettings.shape);
  if (first === "grow" && path.length === 1) return Object.keys(GrowSettings.shape);
  if (first === "supervise" && path.length === 1) return Object.keys(SuperviseSettings.shape);
  if (first === "backup" && path.length === 1) return Object.keys(BackupSettings.shape);
  if (first === "workflow" && path.length === 1) return Object.keys(WorkflowSettings.shape);
  if (first === "mcpServers" && path.length === 2) return Object.keys(McpServerEntry.shape);
  if (first === "mcp" && path.length === 1) return Object.keys(McpSettings.shape);
  return [];
}

function advice(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(issue.path);
      return `remove ${issue.keys.map((key) => `"${key}"`).join(", ")} or check the spelling${known.length > 0 ? ` (known keys: ${known.join(", ")})` : ""}`;
    }
    case "invalid_value":
      return `use one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "invalid_type":
      return `give ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
    case "invalid_format":
      if (issue.format === "url") return "give a URL like http://127.0.0.1:11434";
      // A pattern's own message already says what fits.
      return issue.format === "regex" ? "change it to fit" : `give a valid ${issue.format}`;
    case "too_small":
    case "too_big":
      return "change the number or length to fit";
    default:
      return "fix the value";
  }
}

/** Where `loadOrgConfig` reads the file and its confirmations. */
export type ConfigPlace = {
  /** The workspace the file configures (default: the file's folder): confirmations are kept for its real path. */
  workspaceDir?: string;
  /** Org's checkout, whose promoted tools the file may name (default: the one running). */
  checkoutDir?: string;
  /** The user's org folder the confirmations are read from (default: `userOrgDir` of the process's environment with `env` over it). */
  orgHome?: string | undefined;
};

/**
 * Reads the room's configuration: `org.config.json` (at `path`, default the current directory) when it exists, over
 * defaults of three personas on OLLAMA_BASE / OLLAMA_MODEL. Throws OrgConfigError naming the line and key of anything
 * wrong. Tool names may be built-in ones or generated tools promoted into `tools/generated/` of `workspaceDir` (default:
 * the config file's directory) or of `checkoutDir` (default: org's checkout). This is the one gate of a workspace's
 * file: a setting that sends something out or lowers a guard is at its default until the person confirmed it for this
 * workspace with `org config trust` (`unconfirmed` lists those that wait); every command reads its config here.
 */
export function loadOrgConfig(path?: string, env: NodeJS.ProcessEnv = process.env, options: ConfigPlace = {}): OrgConfig {
  const file = path ?? join(process.cwd(), CONFIG_FILE_NAME);
  const settings = environmentSettings(env);
  const text = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  if (text === undefined) return resolveOrgConfig({}, settings, undefined, env, []);
  const workspaceDir = options.workspaceDir ?? dirname(file);
  const parsed = parseOrgConfigText(text, file, knownToolNames(workspaceDir, options.checkoutDir));
  const home = "orgHome" in options ? options.orgHome : userOrgDir({ ...process.env, ...env });
  const confirmed = trustRecords(home, workspaceDir, "config");
  const gated = gateConfigFile(parsed, guardContext(env), (id) => confirmed.has(id));
  return resolveOrgConfig(gated.file, settings, file, env, gated.waiting);
}

/** What the environment decides beside a file: the server it names, and each kind of persona's default tools. */
export function guardContext(env: NodeJS.ProcessEnv = process.env): GuardContext {
  return { ollamaBase: environmentSettings(env).ollamaBase, defaultTools: DEFAULT_TOOLS };
}

/** Validates the text of a config file against the tool names given; exported so `org` can check a file without loading it. */
export function parseOrgConfigText(text: string, file = CONFIG_FILE_NAME, knownTools: readonly string[] = BUILTIN_POLICY_NAMES): OrgConfigFile {
  let parsed: ReturnType<typeof parseJsonWithLines>;
  try {
    parsed = parseJsonWithLines(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new OrgConfigError(`${file} line ${error.line}, column ${error.column}: ${error.problem}.`, file, error.line);
    }
    throw error;
  }
  const result = OrgConfigFile.safeParse(parsed.value);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
      const key = keyName(path) || "(top level)";
      return { line: parsed.lineOf(path), key, text: `line ${parsed.lineOf(path)}, key ${key}: ${issue.message} — ${advice(issue)}.` };
    });
    const first = messages[0];
    throw new OrgConfigError(`${file} is not valid:\n  ${messages.map((message) => message.text).join("\n  ")}`, file, first?.line, first?.key);
  }
  const [mcpProblem] = mcpServerProblems(result.data.mcpServers ?? {});
  if (mcpProblem) {
    const line = parsed.lineOf(mcpProblem.path);
    const key = keyName(mcpProblem.path);
    throw new OrgConfigError(`${file} line ${line}, key ${key}: ${mcpProblem.message}.`, file, line, key);
  }
  const mcpServers = Object.keys(result.data.mcpServers ?? {});
  const names = new Set<string>();
  for (const [index, persona] of (result.data.personas ?? []).entries()) {
    if (names.has(persona.name)) {
      const line = parsed.lineOf(["personas", index, "name"]);
      throw new OrgConfigError(
        `${file} line ${line}, key personas[${index}].name: "${persona.name}" is used twice — give each persona its own name.`,
        file,
        line,
        `personas[${index}].name`,
      );
    }
    names.add(persona.name);
    for (const tool of Object.keys(persona.tools ?? {})) {
      if (knownTools.includes(tool) || mcpToolOwner(tool, mcpServers) !== undefined) continue;
      const line = parsed.lineOf(["personas", index, "tools", tool]);
      throw new OrgConfigError(
        `${file} line ${line}, key personas[${index}].tools.${tool}: org has no tool "${tool}" — use one of ${knownTools.map((name) => `"${name}"`).join(", ")} (the built-in tools, and generated tools promoted into ${GENERATED_TOOLS_DIR}/ of the workspace or of org's checkout)${mcpServers.length > 0 ? `, or <server>__<tool> for a tool of ${mcpServers.join(", ")} (mcpServers)` : ""}.`,
        file,
        line,
        `personas[${index}].tools.${tool}`,
      );
    }
  }
  return result.data;
}

/**
 * The keys the config's `apiKeyEnv`s name, each for its server: a `servers` entry's URL, the server a persona's entry names (or
 * OLLAMA_BASE when it has none). A variable that is not set, or two different keys for one server, is an error
 * naming the key to change.
 */
function namedServerKeys(file: OrgConfigFile, entries: readonly PersonaEntry[], ollamaBase: string, where: string, env: NodeJS.ProcessEnv): NamedKey[] {
  const named: (NamedKey & { variable: string; at: string })[] = [];
  const take = (server: string, variable: string, at: string) => {
    const key = environmentVariable(variable, env);
    if (key === undefined) {
      throw new OrgConfigError(
        `${where}, key ${at}: the environment variable ${variable} is not set. Export it with the key for that server, or remove apiKeyEnv.`,
        where,
        undefined,
        at,
      );
    }
    const other = named.find((entry) => urlOrigin(entry.server) === urlOrigin(server) && entry.key !== key);
    if (other) {
      throw new OrgConfigError(
        `${where}, key ${at}: ${variable} and ${other.variable} (${other.at}) hold two different keys for one server, ${displayUrl(urlOrigin(server))}. A server has one key: name the same variable in both, or remove one apiKeyEnv.`,
        where,
        undefined,
        at,
      );
    }
    named.push({ server, key, variable, at });
  };
  for (const [url, server] of Object.entries(file.servers ?? {}))
    if (server.apiKeyEnv !== undefined) take(url, server.apiKeyEnv, `servers["${displayUrl(url)}"].apiKeyEnv`);
  for (const [index, entry] of entries.entries())
    if (entry.apiKeyEnv !== undefined) take(personaServerUrl(entry) ?? ollamaBase, entry.apiKeyEnv, `personas[${index}].apiKeyEnv`);
  return named.map(({ server, key }) => ({ server, key }));
}

function resolveOrgConfig(
  file: OrgConfigFile,
  settings: ReturnType<typeof environmentSettings>,
  source: string | undefined,
  env: NodeJS.ProcessEnv,
  unconfirmed: GuardedSetting[],
): OrgConfig {
  const entries: PersonaEntry[] = file.personas ?? DEFAULT_PERSONAS;
  const personas = entries.map((full, index): PersonaConfig => {
    return {
      name: full.name,
      kind: full.kind,
      model: full.model ?? settings.ollamaModel,
      modelSource: full.model !== undefined ? `${source ?? CONFIG_FILE_NAME} (personas[${index}].model)` : settings.ollamaModelSource,
      // Credentials in the URL are kept apart (see `authorizations`): the URL org shows and stores has none.
      server: displayUrl(personaServerUrl(full) ?? settings.ollamaBase).replace(/\/+$/, ""),
      tools: { ...DEFAULT_TOOLS[full.kind], ...(full.tools ?? {}) },
      ...(full.instructions !== undefined ? { instructions: full.instructions } : {}),
      ...(full.color !== undefined ? { color: full.color } : {}),
      contextMessages: full.contextMessages ?? 60,
    };
  });
  const servers: OrgConfig["servers"] = {};
  for (const [url, server] of Object.entries(file.servers ?? {})) servers[displayUrl(url.replace(/\/+$/, ""))] = server;
  // A key goes only to the server it belongs to: OPENAI_API_KEY to OLLAMA_BASE, a named variable to its server,
  // credentials written into a URL to that URL's server.
  const named = namedServerKeys(file, entries, settings.ollamaBase, source ?? CONFIG_FILE_NAME, env);
  const urls = [settings.ollamaBase, ...entries.flatMap((entry) => personaServerUrl(entry) ?? []), ...Object.keys(file.servers ?? {})];
  const authorizations = serverKeys({ defaultServer: settings.ollamaBase, defaultKey: settings.apiKey, named, urls });
  const keys = [settings.apiKey, ...named.map((entry) => entry.key)];
  const mcpServers = mcpServerConfigs(file.mcpServers ?? {});
  const secrets = [...new Set([...keys.filter((key): key is string => !!key), ...urls.flatMap(urlCredentials), ...mcpSecrets(mcpServers, env)])];
  return {
    personas,
    servers,
    limits: { ...DEFAULT_LIMITS, ...(file.limits ?? {}) },
    mode: file.mode ?? "group",
    serve: { ...DEFAULT_SERVE, ...file.serve, tools: { ...file.serve?.tools } },
    network: {
      ...DEFAULT_NETWORK,
      ...file.network,
      allowedHosts: (file.network?.allowedHosts ?? []).map((host) => host.toLowerCase()),
      // ORG_PROFILE=prod: only the hosts listed, whatever the file says.
      defaultDeny: settings.profile === "prod" ? true : (file.network?.defaultDeny ?? true),
    },
    web: { ...(file.web ?? WebSettings.parse({})), requestHosts: (file.web?.requestHosts ?? []).map((host) => host.toLowerCase()) },
    telegram: file.telegram ?? TelegramSettings.parse({}),
    toolsmith: file.toolsmith ?? ToolsmithSettings.parse({}),
    grow: file.grow ?? GrowSettings.parse({}),
    supervise: file.supervise ?? SuperviseSettings.parse({}),
    backup: file.backup ?? BackupSettings.parse({}),
    workflow: file.workflow ?? WorkflowSettings.parse({}),
    sandbox: {
      workspace: file.sandbox?.workspace ?? "read",
      protectedPaths: file.sandbox?.protectedPaths ?? [],
      secretPaths: file.sandbox?.secretPaths ?? DEFAULT_SECRET_PATHS,
      workspaceWrite: file.sandbox?.workspaceWrite ?? "ask",
    },
    mcpServers,
    mcp: { ...DEFAULT_MCP, ...file.mcp },
    authorizations,
    secrets,
    unconfirmed,
    ...(source !== undefined ? { source } : {}),
  };
}

/** Concurrent requests the room sends to one model server. */
export function serverConcurrency(config: OrgConfig, server: string): number {
  return config.servers[displayUrl(server.replace(/\/+$/, ""))]?.concurrency ?? config.limits.concurrencyPerServer;
}
