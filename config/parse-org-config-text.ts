import type { z } from "zod";
import { GrowSettings } from "./grow-settings.ts";
import { McpServerEntry, McpSettings, mcpServerProblems, mcpToolOwner } from "./mcp-servers.ts";
import { NetworkEntry } from "./network-settings.ts";
import { OrgConfigError } from "./org-config-error.ts";
import { OrgConfigFile, ServerEntry } from "./org-config-file.ts";
import { OrgLimits } from "./org-limits.ts";
import { JsonSyntaxError, parseJsonWithLines } from "./parse-json-with-lines.ts";
import { PersonaEntry } from "./persona-entry.ts";
import { ServeEntry } from "./serve-settings.ts";
import { BackupSettings, SuperviseSettings } from "./supervise-settings.ts";
import { TelegramSettings } from "./telegram-settings.ts";
import { BUILTIN_POLICY_NAMES, GENERATED_TOOLS_DIR } from "./tool-names.ts";
import { ToolsmithSettings } from "./toolsmith-settings.ts";
import { WebSettings } from "./web-settings.ts";
import { WorkflowSettings } from "./workflow-settings.ts";
import { CONFIG_FILE_NAME } from "./workspace-paths.ts";

function keyName(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : text === "" ? String(part) : `${text}.${String(part)}`),
    "",
  );
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
      return (
        `remove ${issue.keys.map((key) => `"${key}"`).join(", ")} or check the ` +
        `spelling${known.length > 0 ? ` (known keys: ${known.join(", ")})` : ""}`
      );
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
  // Without zod's compiled fast path: a file is parsed once a command (again only when it changes), and building the
  // fast path on a schema's first parse costs a command's start more than the parse itself.
  const result = OrgConfigFile.safeParse(parsed.value, { jitless: true });
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
        `${file} line ${line}, key personas[${index}].tools.${tool}: org has no tool "${tool}" — use one of ` +
          `${knownTools.map((name) => `"${name}"`).join(", ")} (the built-in tools, and generated tools ` +
          `promoted into ${GENERATED_TOOLS_DIR}/ of the workspace or of org's ` +
          `checkout)${mcpServers.length > 0 ? `, or <server>__<tool> for a tool of ${mcpServers.join(", ")} (mcpServers)` : ""}.`,
        file,
        line,
        `personas[${index}].tools.${tool}`,
      );
    }
  }
  return result.data;
}
