import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { confirmConfig } from "../../config/config-trust.ts";
import { DEFAULT_MODEL, environmentSettings, processEnvironment } from "../../config/environment.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { DEFAULT_LIMITS } from "../../config/org-limits.ts";
import { DEFAULT_SERVE } from "../../config/serve-settings.ts";
import { SERVER_URL_KEY } from "../../llm/persona-server.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { OrgError } from "../../errors/org-error.ts";

const HELP = `Usage: org init [--model M] [--force] [--workspace DIR]

Writes a commented ${CONFIG_FILE_NAME} in the workspace: the three personas (agent, python, toolsmith),
their model, each one's tool policy (allow, ask, deny), the room's limits and what serve may run over
HTTP. Comments (// …) are allowed in the file; every key is optional, and a key left out keeps its default.
An existing file is left alone unless --force is given. You asked for the file, so what of it would wait for your
confirmation ('org config trust') is confirmed as it is written; an edit that sends something out or lowers a guard
waits again.

Options:
  --model M          the model every persona uses, written into the file. Without it, OLLAMA_MODEL's model
                     is written when OLLAMA_MODEL is set; when it is not, the file names no model and each
                     persona takes OLLAMA_MODEL (or chat --model) as org starts, else qwen3:8b
  --force            overwrite an existing ${CONFIG_FILE_NAME}
  --workspace DIR    where to write it (default: current directory)

Example:
  org init --model qwen3:8b && org chat`;

/** The config's `web` (web_request's hosts) and `telegram` (the bot's chats) blocks, as org init writes them. */
const WINDOW_NOTE = `  // Its window is what the server says ('org doctor' shows it); "contextTokens": N gives it where the server does not.
  // On Ollama org speaks its own API ("api": "auto"; "openai" or "ollama" to choose) and sets num_ctx per request,
  // up to "maxContextTokens" (default 8192).
`;

const PHONE_AND_WEB = `  // Where web_request sends without asking (any other host asks you first; no secret is ever sent), and how often.
  "web": {
    "requestHosts": [],
    "perMinute": 10
  },

  // 'org telegram': the chats your bot (TELEGRAM_BOT_TOKEN, from BotFather) serves, e.g. [123456789].
  "telegram": {
    "allowedChats": []
  },

`;

/**
 * The text of a commented org.config.json whose personas use `model`, or, without one, no model of their own (the
 * environment's); it parses with org's config reader (comments included).
 */
export function initConfigText(model: string | undefined): string {
  const limits = DEFAULT_LIMITS;
  const modelLine = model === undefined ? "" : `\n      "model": ${JSON.stringify(model)},`;
  const modelNote =
    model === undefined
      ? `// No persona names a model: each uses OLLAMA_MODEL (or 'org chat --model M') as org starts, else ${DEFAULT_MODEL}.
  // Pin one for a persona with "model": "NAME" (or write this file again with 'org init --model NAME --force').`
      : `// Each persona's "model" wins over OLLAMA_MODEL and 'org chat --model'; remove it to take theirs.`;
  return (
    `// org's configuration for this workspace (written by 'org init'). Comments like this one are allowed.
// Every key is optional: remove one to get its default. 'org doctor' checks that the models are there.
{
  // Who is in the room. Each persona has a kind (agent, python, toolsmith or simple), a model and tools.
  // A persona's server is OLLAMA_BASE unless it has "${SERVER_URL_KEY}": "http://host:port" (any OpenAI-compatible server).
${WINDOW_NOTE}  ${modelNote}
  "personas": [
    {
      "name": "agent",
      "kind": "agent",
      "color": "cyan",${modelLine}
      // Per-tool policy: "allow" runs it, "ask" asks you first (denied over HTTP), "deny" or a tool left out never runs.
      // Promoted generated tools are offered to agents as "ask" unless named here.
      // memory_search and memory_save read and add to this workspace's memory; web_fetch also needs "network" below;
      // web_request (POST, PUT, PATCH, DELETE to a web API) sends to the hosts of "web" at once and asks you for any other.
      "tools": { "sh": "allow", "chat_mode": "allow", "workflow_run": "ask", "plan_workflow": "ask", ` +
    `"memory_search": "allow", "memory_save": "allow", "web_fetch": "deny", "web_request": "deny" }
    },
    {
      "name": "python",
      "kind": "python",
      "color": "yellow",${modelLine}
      "tools": { "python_run": "allow" }
    },
    {
      "name": "toolsmith",
      "kind": "toolsmith",
      "color": "magenta",${modelLine}
      // The toolsmith's own build_tool needs no entry: it writes tools onto cand/* branches, never into the room.
      "tools": {}
    }
  ],

  // The mode a new session starts in: "group" (everyone hears you), "direct:<persona>", or "file:<path>".
  "mode": "group",

  // How the agents' commands (sh, python_run) see this workspace: "read", read-only at /workspace (the default);
  // "write", on a private copy whose changes come to you as a diff to approve (/diff shows it, /undo takes it back);
  // or "none".
  "sandbox": { "workspace": "read" },

  // The room's limits (these are the defaults).
  "limits": {
    "sessionTokens": ${limits.sessionTokens},         // tokens a session may spend in all
    // "tokensPerDay": 2000000,   // every session's tokens in a day (from 00:00 UTC); unset: no daily limit
    "toolRoundsPerTurn": ${limits.toolRoundsPerTurn},            // tool calls and answers per reply before it must answer
    "hopsPerMessage": ${limits.hopsPerMessage},               // how far personas may pass a message on with @name
    "repliesInARow": ${limits.repliesInARow},                // replies a persona gives before the user speaks again
    "concurrencyPerServer": ${limits.concurrencyPerServer},         // requests at once per model server
    "toolSecondsPerTurn": ${limits.toolSecondsPerTurn},         // sandbox time one message may spend
    "replyChars": ${limits.replyChars},            // characters one reply may stream before it is cut
    "workflowStepRuns": ${limits.workflowStepRuns}          // step runs one workflow run may take, nested ones included
  },

  // What web_fetch may reach (only public addresses, whatever is listed): "*.example.com", or "*" for any host.
  "network": {
    "allowedHosts": [],
    "defaultDeny": true
  },

${PHONE_AND_WEB}  // 'org serve': the tools a request may run directly over HTTP (POST /v1/tools/NAME/run), and its limits.
  "serve": {
    // Not listed means "ask", and nobody can approve over HTTP: e.g. { "sh": "allow" } lets requests run sh.
    "tools": {},
    "turns": ${DEFAULT_SERVE.turns},
    "maxBodyBytes": ${DEFAULT_SERVE.maxBodyBytes}
  }
}
`
  );
}

/** `org init`: a commented org.config.json, never over an existing one without --force. */
export const initCommand: Command = {
  ...nameAndSummary("init"),
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs("init", args, {
      model: { type: "string", short: "m" },
      force: { type: "boolean" },
      workspace: { type: "string" },
    });
    if (values.model !== undefined && values.model.trim() === "") throw new UsageError("--model needs a model name, e.g. --model qwen3:8b", "init");
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const file = join(workspaceDir, CONFIG_FILE_NAME);
    if (existsSync(file) && !values.force) {
      throw new OrgError(`${file} already exists; it was left as it is. Give --force to overwrite it, or edit it.`);
    }
    const settings = environmentSettings();
    // --model, else OLLAMA_MODEL as it is now; neither: the file leaves the model to the environment org starts in.
    const model = values.model?.trim() ?? (settings.ollamaModelSource === "OLLAMA_MODEL" ? settings.ollamaModel : undefined);
    writeFileSync(file, initConfigText(model), { mode: 0o644 });
    // You asked for this file: whatever of it would wait for 'org config trust' is confirmed as it is written.
    confirmConfig(file, processEnvironment(), { workspaceDir });
    const on = model === undefined ? `OLLAMA_MODEL's model as org starts (unset now: ${settings.ollamaModel}; pin one with --model M)` : model;
    console.log(sanitizeForTerminal(`wrote ${file}: agent, python and toolsmith on ${on}. Check it with: org doctor`));
    return 0;
  },
};
