import { existsSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { sandboxAccessFrom } from "../assembly/sandbox-policy-from.ts";
import { EnvironmentError, environmentSettings, patchEnvironment, secretEnvironmentValues } from "../config/environment.ts";
import { ChatError } from "../llm/chat-errors.ts";
import { SandboxUnavailableError } from "../sandbox/run-sandboxed.ts";
import { modelFor } from "../llm/model-for.ts";
import { serverKeys } from "../llm/server-keys.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { breadcrumbProblem, COMMIT_MSG_MARKER, PATCH_MARKER } from "../patch/commit-message.ts";
import { PatchTaskError, readPatchTask } from "../patch/patch-task.ts";
import { runPatchTask } from "../patch/run-patch-task.ts";
import { redact } from "../security/redact.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { workspaceSecretValues } from "../workspace/secret-values.ts";
import { type Command, UsageError } from "./command/command.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { counted } from "../config/counted.ts";

/** `org patch`'s exit codes, a contract with the scripts that call it. */
export const PATCH_EXIT = { patch: 0, badTask: 2, modelServer: 3, contractBroken: 4, nothing: 5 } as const;

/** The seed every completion asks for: with temperature 0, a server that honours both answers alike each time. */
const SEED = 42;

const HELP = `Usage: org patch --task FILE [--repo DIR] [--context DIR] [--var K=V]… [--dry-run]

Runs one task with the agent persona and its sh tool on a private copy of the repository, and prints the
result as a patch. The repository is only read (it may be mounted read-only). stdout is exactly:

  ---COMMIT_MSG---
  <the commit message; TRACKING_BREADCRUMB as its 'Tracking-Breadcrumb:' trailer>
  ---PATCH---
  <a unified diff (git's format, binary files whole) that 'git apply' takes from the repository root>

and nothing else; progress and the audit lines (each tool call, with the breadcrumb) go to stderr.

The task file is markdown with one \`\`\`yaml block:
  prompt:      what to do; {NAME} is replaced by --var NAME=value (a name without a value is an error)
  context:     files to read, relative to the context root; their text goes to the model with the prompt
  outputs:     the only paths (or globs: *, **) the patch may touch
  guarantees:  sentences listed to the model; "PATH exists", "PATH is valid JSON", and "file exists" or
               "valid JSON" (said of every output named exactly) are also checked
A result that touches a path outside outputs, adds a link or special file, or breaks a checked guarantee, and a
command's change refused as it is made (it also wrote .env, say: nothing of it is kept), is told to the model,
which gets 2 repair rounds; the patch is checked with 'git apply --check' before it prints.

Options:
  --task FILE      the task file (required)
  --repo DIR       the repository (default: REPO_ROOT, else /workspace/repo when it exists, else the current directory)
  --context DIR    the context root (default: CONTEXT_ROOT, else /workspace/context)
  --var K=V        a value for {K} in the prompt; repeat for more
  --dry-run        check the task and settings and show the prompt on stderr; no model is asked; exit 0

Environment:
  LLM_PROVIDER     ollama (default), openai, or null (no server: nothing to change, exit 5, for wiring tests)
  LLM_MODEL        the model (ollama: default OLLAMA_MODEL or qwen3:8b; openai: required)
  LLM_BASE_URL     the server (ollama: default OLLAMA_BASE or http://127.0.0.1:11434; openai: https://api.openai.com)
  LLM_API_KEY      sent as a bearer token; never printed
  TRACKING_BREADCRUMB  one line, put in the commit message's trailer and every audit line
Every completion asks for temperature 0 and seed ${SEED}, so a server that honours them answers alike.

Exit codes: 0 a patch; 2 bad usage, settings or task file; 3 the model server failed; 4 the model's result broke
the task's contract after the repair rounds (a change refused as made included); 5 the agent changed nothing
and nothing was refused; 1 anything else (no sandbox here, a bug).

Example:
  LLM_BASE_URL=http://127.0.0.1:11434 TRACKING_BREADCRUMB=JIRA-42 org patch --task fix-readme.md --var NAME=org > out.txt`;

/** A message for stderr: secrets and URL credentials out, terminal-safe. */
function say(text: string): void {
  process.stderr.write(sanitizeForTerminal(`${redact(text)}\n`));
}

function variables(pairs: readonly string[]): Map<string, string> {
  const vars = new Map<string, string>();
  for (const pair of pairs) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(pair);
    if (!match) throw new UsageError(`--var ${JSON.stringify(pair)} is not NAME=value (NAME: letters, digits, '_')`, "patch");
    vars.set(match[1] ?? "", match[2] ?? "");
  }
  return vars;
}

function directory(path: string, what: string): string {
  try {
    if (statSync(path).isDirectory()) return realpathSync(path);
  } catch {
    // Said below.
  }
  throw new PatchTaskError(`${what} ${path} is not a directory: give an existing one`);
}

/** The model `org patch` asks: LLM_PROVIDER's server and model, with LLM_API_KEY as that server's key (and no other's). */
function modelOf(settings: ReturnType<typeof patchEnvironment>): LanguageModel {
  let choice: { server: string; modelId: string; modelSource: string | undefined };
  if (settings.provider === "openai") {
    if (!settings.model) throw new EnvironmentError("LLM_PROVIDER=openai needs LLM_MODEL: name the model, e.g. LLM_MODEL=gpt-4o-mini");
    choice = { server: settings.server ?? "https://api.openai.com", modelId: settings.model, modelSource: "LLM_MODEL" };
  } else {
    const defaults = environmentSettings();
    const modelSource = settings.model ? "LLM_MODEL" : defaults.ollamaModelSource;
    choice = { server: settings.server ?? defaults.ollamaBase, modelId: settings.model ?? defaults.ollamaModel, modelSource };
  }
  const keys = serverKeys({ named: settings.apiKey ? [{ server: choice.server, key: settings.apiKey }] : [] });
  return modelFor({ ...choice, sampling: { temperature: 0, seed: SEED } }, keys);
}

async function runPatch(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("patch", args, {
    task: { type: "string" },
    repo: { type: "string" },
    context: { type: "string" },
    var: { type: "string", multiple: true },
    "dry-run": { type: "boolean" },
  });
  if (values.task === undefined) throw new UsageError("patch needs --task FILE: the markdown task file to run", "patch");
  const settings = patchEnvironment();
  if (settings.breadcrumb !== undefined) {
    const problem = breadcrumbProblem(settings.breadcrumb);
    if (problem) throw new EnvironmentError(problem);
  }
  const task = readPatchTask(values.task, variables(values.var ?? []));
  const repoDir = directory(resolve(values.repo ?? settings.repoRoot ?? (existsSync("/workspace/repo") ? "/workspace/repo" : ".")), "the repository");
  const contextPath = resolve(values.context ?? settings.contextRoot ?? "/workspace/context");
  const contextDir = task.context.length > 0 ? directory(contextPath, "the context root") : contextPath;
  say(`org patch: task ${task.file}; repository ${repoDir}; ${task.outputs.length} output path(s); provider ${settings.provider}`);
  if (values["dry-run"]) {
    say(`org patch: dry run, no model asked. The prompt:\n${task.prompt}`);
    return PATCH_EXIT.patch;
  }
  if (settings.provider === "null") {
    say("org patch: LLM_PROVIDER=null: no model asked, nothing to change");
    return PATCH_EXIT.nothing;
  }
  const model = modelOf(settings);
  const access = sandboxAccessFrom({ changes: { poolSize: 0 } });
  const outcome = await runPatchTask({
    task,
    repoDir,
    contextDir,
    model,
    breadcrumb: settings.breadcrumb,
    ...access,
    // The repository's secret files' values and its git configs' credentials are hidden wherever they turn up, as the room's are.
    secrets: [
      ...secretEnvironmentValues(),
      ...(settings.apiKey ? [settings.apiKey] : []),
      ...workspaceSecretValues(repoDir, access.sandboxPolicy.secretPaths),
    ],
    signal,
    progress: (line) => say(`org patch: ${line}`),
    audit: { record: (entry) => say(`audit: ${JSON.stringify(entry)}`) },
  });
  if (outcome.kind === "nothing") {
    say("org patch: the agent changed nothing: nothing to change");
    return PATCH_EXIT.nothing;
  }
  if (outcome.kind === "contract-broken") {
    say(
      `org patch: the result broke the task's contract after the repair rounds:\n${outcome.problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    return PATCH_EXIT.contractBroken;
  }
  const changed = outcome.files.map((file) => `${file.status} ${JSON.stringify(file.path)}`).join(", ");
  say(`org patch: ${counted(outcome.files.length, "file")} changed: ${changed}`);
  process.stdout.write(`${COMMIT_MSG_MARKER}\n${outcome.commitMessage}\n${PATCH_MARKER}\n`);
  process.stdout.write(outcome.diff);
  return PATCH_EXIT.patch;
}

export const patchCommand: Command = {
  ...nameAndSummary("patch"),
  help: HELP,
  async run(args, signal) {
    try {
      return await runPatch(args, signal);
    } catch (error) {
      if (error instanceof PatchTaskError || error instanceof EnvironmentError) {
        say(`org patch: ${error.message}`);
        return PATCH_EXIT.badTask;
      }
      if (error instanceof ChatError && !signal.aborted) {
        say(`org patch: the model server failed: ${error.message}`);
        // The client's hints name the room's variables; org patch reads its own.
        say(
          "org patch: it reads LLM_PROVIDER, LLM_BASE_URL, LLM_MODEL and LLM_API_KEY (see org patch --help); " +
            "for ollama, OLLAMA_BASE when LLM_BASE_URL is unset",
        );
        return PATCH_EXIT.modelServer;
      }
      if (error instanceof SandboxUnavailableError) {
        say(`org patch: the sandbox cannot run here, so the agent cannot work: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
