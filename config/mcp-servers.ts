import { z } from "zod";
import { environmentVariable } from "./environment.ts";
import { namesSecretVariable } from "./secret-names.ts";
import { secretShapeIn } from "./secret-shapes.ts";
import { ToolPolicy } from "./tool-policy.ts";

// `mcpServers` in org.config.json, in the shape Claude Desktop, Cursor and opencode users already have:
// `{ "name": { "command", "args", "env" } }` for a program on stdio, `{ "name": { "url", "headers" } }` for Streamable
// HTTP; plus org's own keys: `policy` and `tools` (allow / ask / deny), `sandbox`, `network`, `readOnlyPaths`.

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * A server's name: the first part of its tools' names in the room (`<server>__<tool>`). It never ends in '_' (nor
 * holds "__"), so the first "__" of a room name ends the server's name: server "a" with tool "_b" and server "a_"
 * with tool "b" cannot both be `a___b`.
 */
export const MCP_SERVER_NAME = /^[A-Za-z](?:[A-Za-z0-9_-]{0,22}[A-Za-z0-9-])?$/;
/** Between a server's name and its tool's in the room. */
export const MCP_NAME_SEPARATOR = "__";

/** Whether `name` can be a room name of a server's tool: a server name as the config allows one, "__", the tool's. */
export function isMcpRoomToolName(name: string): boolean {
  const at = name.indexOf(MCP_NAME_SEPARATOR);
  if (at < 0) return false;
  return MCP_SERVER_NAME.test(name.slice(0, at)) && /^[A-Za-z0-9_-]{1,64}$/.test(name.slice(at + MCP_NAME_SEPARATOR.length));
}

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

/** One entry of `mcpServers`; which keys fit together is checked after the schema (`mcpServerProblems`). */
export const McpServerEntry = z.strictObject({
  /** "stdio" or "http"; optional, as the keys say which (Claude Code writes it). */
  type: z.enum(["stdio", "http"]).optional(),
  /** The program that speaks MCP on stdin/stdout, found on PATH as a shell would. */
  command: z.string().min(1).max(4096).optional(),
  args: z.array(z.string().max(65_536)).max(1000).optional(),
  /** Variables the program gets beside a few of org's own (PATH, HOME, …); values may name others as ${VAR}. */
  env: z.record(z.string().regex(ENV_NAME, "an environment variable name: letters, digits and '_'"), z.string().max(65_536)).optional(),
  /** Run the program in the bubblewrap sandbox instead of as you on the host. */
  sandbox: z.boolean().optional(),
  /** A sandboxed server's hosts: the allow list of its own egress guard, its only way out (ports 443 and 80). */
  network: z.array(z.string().regex(HOST, "a host name such as api.github.com")).max(100).optional(),
  /** Host files or folders a sandboxed server may read, shown at the same path inside. */
  readOnlyPaths: z
    .array(z.string().regex(/^\/[^\0]*$/, "an absolute path"))
    .max(100)
    .optional(),
  /** A Streamable HTTP endpoint. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Sent with every request; values may name environment variables as ${VAR}. */
  headers: z.record(z.string().regex(HEADER_NAME, "an HTTP header name"), z.string().max(8192)).optional(),
  /** The policy of this server's tools that `tools` does not name (default "ask"). */
  policy: ToolPolicy.optional(),
  /** Policy per tool, by the name the server gives it. */
  tools: z.record(z.string().min(1).max(128), ToolPolicy).optional(),
});
export type McpServerEntry = z.infer<typeof McpServerEntry>;

/** `mcp` in org.config.json: how long the room gives its MCP servers. */
export const McpSettings = z.strictObject({
  /** Seconds one tool call may take before it fails as a result (the room goes on). */
  callTimeoutS: z.number().positive().max(3600).optional(),
  /** Seconds a server may take to start and list its tools before it counts as failed (and is retried). */
  startTimeoutS: z.number().positive().max(600).optional(),
});
export type McpSettings = Required<z.infer<typeof McpSettings>>;

export const DEFAULT_MCP: McpSettings = { callTimeoutS: 30, startTimeoutS: 30 };

/** A configured server with its kind decided and its policy filled in. */
export type McpServerConfig = Omit<McpServerEntry, "type" | "policy" | "tools"> & {
  name: string;
  transport: "stdio" | "http";
  policy: ToolPolicy;
  tools: Record<string, ToolPolicy>;
};

/** A `${VAR}` or `${VAR:-default}` reference in a value. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The variables a value names, in order, with the defaults it gives them. */
export function variableReferences(value: string): { name: string; fallback?: string }[] {
  return [...value.matchAll(REFERENCE)].map((match) => ({ name: match[1] ?? "", ...(match[2] !== undefined ? { fallback: match[2] } : {}) }));
}

/** The text of a value outside its references (their defaults included, which are written in the file too). */
function literalText(value: string): string {
  return value.replace(REFERENCE, (_whole, _name, fallback: string | undefined) => ` ${fallback ?? ""} `);
}

/** A value's literal part may be a scheme word before the reference, nothing else. */
const SCHEME_ONLY = /^\s*(bearer|basic|token|bot|apikey)?\s*$/i;

/**
 * Why a header or env value is a secret written into the file, or undefined. The rule: a value whose name says it
 * carries a credential (`namesSecretVariable`) must take it from the environment, `${VAR}` references and nothing else but an
 * optional scheme word (`Bearer ${TOKEN}`); any value holding a well-known token shape (`SECRET_SHAPES`, the ones the
 * redactor hides: ghp_…, sk-…, xoxb-…, AKIA…, glpat-…, a JWT, a PEM private key, …) is refused whatever its name.
 */
export function literalSecretProblem(kind: "header" | "env", name: string, value: string, server: string): string | undefined {
  const literal = literalText(value);
  const references = variableReferences(value);
  // An env entry's own name is the natural variable; a header's, the server's token (GITHUB_TOKEN).
  const variable = kind === "env" ? name : `${server.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_TOKEN`;
  const fix =
    kind === "header"
      ? `write "${/authorization/i.test(name) ? "Bearer " : ""}\${${variable}}" and export ${variable} in the shell that starts org`
      : `write "\${${variable}}" and export ${variable} in the shell that starts org`;
  const rule =
    `(a ${kind === "header" ? "header" : "variable"} named like a credential may hold only \${VAR} ` +
    `references, after an optional Bearer, Basic or Token; a well-known token shape is refused under any name)`;
  const shape = secretShapeIn(literal);
  if (shape !== undefined) return `holds what looks like a token (${shape}) written into the file: a literal secret is refused — ${fix} ${rule}`;
  if (!namesSecretVariable(name)) return undefined;
  if (references.some((reference) => reference.fallback !== undefined && reference.fallback !== ""))
    return `gives a credential a default written into the file: a literal secret is refused — ${fix} ${rule}`;
  if (references.length === 0 ? literal.trim() !== "" : !SCHEME_ONLY.test(literal))
    return `is a literal secret in the file, which is refused — ${fix} ${rule}`;
  return undefined;
}

/** A problem with an entry, at its key path under the file's root, for a line-numbered error. */
export type McpServerProblem = { path: (string | number)[]; message: string };

const STDIO_ONLY = ["command", "args", "env", "sandbox", "network", "readOnlyPaths"] as const;
const SANDBOX_ONLY = ["network", "readOnlyPaths"] as const;

/** What the schema cannot say: names, which keys fit together, literal secrets, variable syntax. */
export function mcpServerProblems(servers: Record<string, McpServerEntry>): McpServerProblem[] {
  const problems: McpServerProblem[] = [];
  for (const [name, entry] of Object.entries(servers)) {
    const at = (...rest: (string | number)[]) => ["mcpServers", name, ...rest];
    if (!MCP_SERVER_NAME.test(name) || name.includes(MCP_NAME_SEPARATOR)) {
      problems.push({
        path: at(),
        message:
          `"${name.slice(0, 40)}" is not a server name org can use: 1–24 letters, digits, '-' or '_' ` +
          `(never "__"), starting with a letter and not ending in '_'; its tools are named <server>__<tool>`,
      });
      continue;
    }
    const kind = entry.command !== undefined ? "stdio" : entry.url !== undefined ? "http" : undefined;
    if (entry.command !== undefined && entry.url !== undefined) {
      problems.push({
        path: at("url"),
        message: `has both "command" and "url": give "command" (a program on stdio) or "url" (Streamable HTTP), not both`,
      });
      continue;
    }
    if (kind === undefined) {
      problems.push({ path: at(), message: `needs "command" (a program that speaks MCP on stdio) or "url" (a Streamable HTTP endpoint)` });
      continue;
    }
    if (entry.type !== undefined && entry.type !== kind)
      problems.push({
        path: at("type"),
        message: `says "${entry.type}" but has "${kind === "stdio" ? "command" : "url"}": drop "type" or make it "${kind}"`,
      });
    if (kind === "http") {
      for (const key of STDIO_ONLY)
        if (entry[key] !== undefined)
          problems.push({ path: at(key), message: `"${key}" is for a server org starts (with "command"), not one at a "url": remove it` });
      const url = new URL(entry.url ?? "");
      if (url.username !== "" || url.password !== "")
        problems.push({
          path: at("url"),
          message:
            `carries credentials in the URL, which is refused: remove them and send them as a header, ` +
            `e.g. "headers": { "Authorization": "Bearer \${TOKEN}" }`,
        });
    } else {
      if (entry.headers !== undefined)
        problems.push({ path: at("headers"), message: `"headers" is for a server at a "url"; a program on stdio takes "env"` });
      if (entry.sandbox !== true)
        for (const key of SANDBOX_ONLY)
          if (entry[key] !== undefined)
            problems.push({
              path: at(key),
              message:
                `"${key}" applies only to a sandboxed server: add "sandbox": true, or remove it (a ` +
                `server that is not sandboxed runs as you, with your files and network)`,
            });
    }
    const values: [kind: "header" | "env", key: "headers" | "env", name: string, value: string][] = [
      ...Object.entries(entry.headers ?? {}).map(
        ([header, value]) => ["header", "headers", header, value] as [kind: "header", key: "headers", name: string, value: string],
      ),
      ...Object.entries(entry.env ?? {}).map(
        ([variable, value]) => ["env", "env", variable, value] as [kind: "env", key: "env", name: string, value: string],
      ),
    ];
    for (const [valueKind, key, valueName, value] of values) {
      if (/\$\{(?![A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\})/.test(value))
        problems.push({ path: at(key, valueName), message: `has a \${…} that is not a variable reference: write \${NAME} or \${NAME:-default}` });
      const secret = literalSecretProblem(valueKind, valueName, value, name);
      if (secret) problems.push({ path: at(key, valueName), message: secret });
    }
  }
  return problems;
}

/** The servers with their kind and policy decided (the file already passed `mcpServerProblems`). */
export function mcpServerConfigs(servers: Record<string, McpServerEntry>): McpServerConfig[] {
  return Object.entries(servers).map(([name, entry]) => {
    const { type: _type, policy, tools, ...rest } = entry;
    return { ...rest, name, transport: entry.command !== undefined ? "stdio" : "http", policy: policy ?? "ask", tools: { ...tools } };
  });
}

/**
 * The values of the variables the servers' credential-named headers and env entries reference (set ones only): the
 * redactor hides them wherever they turn up, as it does the model servers' keys.
 */
export function mcpSecrets(servers: readonly McpServerConfig[], env: NodeJS.ProcessEnv = process.env): string[] {
  const values: string[] = [];
  for (const server of servers) {
    for (const [name, value] of [...Object.entries(server.headers ?? {}), ...Object.entries(server.env ?? {})]) {
      if (!namesSecretVariable(name)) continue;
      for (const reference of variableReferences(value)) {
        const found = environmentVariable(reference.name, env);
        if (found) values.push(found);
      }
    }
  }
  return values;
}

/** The configured server a room tool name `<server>__<tool>` belongs to, if any. */
export function mcpToolOwner(toolName: string, servers: Iterable<string>): string | undefined {
  for (const server of servers)
    if (toolName.startsWith(`${server}${MCP_NAME_SEPARATOR}`) && toolName.length > server.length + MCP_NAME_SEPARATOR.length) return server;
  return undefined;
}

/** A value with its `${VAR}` references filled in from `env`, or the variables it names that are not set (and have no default). */
export function expandReferences(value: string, env: NodeJS.ProcessEnv): { ok: true; value: string } | { ok: false; missing: string[] } {
  const missing: string[] = [];
  const expanded = value.replace(REFERENCE, (_whole, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== "") return found;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return "";
  });
  return missing.length > 0 ? { ok: false, missing: [...new Set(missing)] } : { ok: true, value: expanded };
}

/** Each value of `values` expanded, or every variable they name that is not set. */
function expandAll(
  values: Record<string, string>,
  env: NodeJS.ProcessEnv,
): { ok: true; values: Record<string, string> } | { ok: false; missing: string[] } {
  const expanded: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const result = expandReferences(value, env);
    if (result.ok) expanded[name] = result.value;
    else missing.push(...result.missing);
  }
  return missing.length > 0 ? { ok: false, missing: [...new Set(missing)] } : { ok: true, values: expanded };
}

/** What a program org starts as you gets of org's own environment (as the MCP SDK's stdio client passes on), beside its `env`. */
const INHERITED_VARIABLES = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "TMPDIR"];

/**
 * The environment of a stdio server's program: a few of org's variables (none for a sandboxed one, whose sandbox
 * sets PATH, HOME and LANG itself) and its `env` with references filled in; or the variables it names that are not set.
 */
export function mcpServerEnvironment(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; values: Record<string, string> } | { ok: false; missing: string[] } {
  const own = expandAll(server.env ?? {}, env);
  if (!own.ok || server.sandbox === true) return own;
  const inherited: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = env[name];
    // A shell function exported into the environment is code; it is not passed on.
    if (value !== undefined && !value.startsWith("()")) inherited[name] = value;
  }
  return { ok: true, values: { ...inherited, ...own.values } };
}

/** An HTTP server's headers with references filled in, or the variables they name that are not set. */
export function mcpServerHeaders(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; values: Record<string, string> } | { ok: false; missing: string[] } {
  return expandAll(server.headers ?? {}, env);
}
