import { loadCommandConfig } from "../command/command-config.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { doctorChecks } from "./doctor-checks.ts";
import { REPO_DIR } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { processEnvironment } from "../../config/environment.ts";
import { shellWord } from "../../security/shell-word.ts";

const HELP =
  `Usage: org doctor [--json] [--model M] [--config FILE] [--workspace DIR] [--repo DIR]

Checks what org needs, each with how to fix it: which settings of org.config.json that send something out or lower a
guard wait for your confirmation ('org config trust'; a warning: org runs with their defaults); the model ` +
  `server answers; each persona's model is there
and can call tools (from Ollama's /api/show capabilities, where the server has them); each persona's window (what
its server says, else personas[].contextTokens, else 4096: a warning, as is a window its system prompt and tools take
more than half of), and where it came from; the sandbox policy tools
run under (on or off, network, time and memory limits, mounts); bwrap works for this workspace; tmux and git ` +
  `are installed; strace can trace here (optional: without it the gate runs more tests);
org's checkout is on main and clean, so a candidate can be promoted into it; its commands start from a bundle built
from its code as it is (after an edit or a pull they run from the files, slower, until 'npm run build'); there is
disk space; each MCP server of mcpServers starts and lists its tools (one not yet confirmed is not started: 'org mcp
trust NAME'). Exit 0 when nothing failed, 1 otherwise (a "warn" is something it could not judge or can do without).

Options:
  --json             one JSON object: { ok, checks: [{ name, status, detail, fix?, window? }] }; a window check's
                     window is { tokens, source, detail, trainedTokens?, systemAndToolsTokens }
  --model M, -m M    check model M for every persona the config does not give one (as chat --model)
  --config FILE      room configuration (default: org.config.json in the workspace)
  --workspace DIR    the workspace to check (default: current directory)
  --repo DIR         the org checkout promotions go into (default: the one running)

Example:
  org doctor
  org doctor --json | jq '.checks[] | select(.status != "ok")'`;

/** `org doctor`: every check, printed with its fix; exit 1 when one failed. */
export const doctorCommand: Command = {
  ...nameAndSummary("doctor"),
  help: HELP,
  async run(args, signal) {
    const { values } = parseCommandArgs("doctor", args, {
      json: { type: "boolean" },
      model: { type: "string", short: "m" },
      config: { type: "string" },
      workspace: { type: "string" },
      repo: { type: "string" },
    });
    if (values.model !== undefined && values.model.trim() === "") throw new UsageError("--model needs a model name", "doctor");
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const env = processEnvironment(values.model !== undefined ? { OLLAMA_MODEL: values.model.trim() } : {});
    // What waits for `org config trust` is a check of its own (first), said once there.
    const config = loadCommandConfig(values.config, workspaceDir, env, { announce: false });
    const workspaceFlag = workspaceDir === process.cwd() ? "" : ` --workspace ${shellWord(workspaceDir)}`;
    const checks = await doctorChecks({
      config,
      workspaceDir,
      repoDir: values.repo ?? REPO_DIR,
      ...sandboxAccessFrom({ env, config }),
      signal,
      workspaceFlag,
      ...(env.ORG_PREBUILT !== undefined ? { prebuiltSetting: env.ORG_PREBUILT } : {}),
    });
    const ok = checks.every((check) => check.status !== "fail");
    if (values.json) {
      console.log(terminalSafeJson({ ok, checks }));
      return ok ? 0 : 1;
    }
    for (const check of checks) {
      const mark = check.status === "ok" ? "ok  " : check.status === "warn" ? "warn" : "FAIL";
      // A detail of several lines (the sandbox policy) goes under its name, indented as a fix is.
      const detail = check.detail.includes("\n") ? `\n${check.detail.replace(/^/gm, "     ")}` : ` ${check.detail}`;
      console.log(sanitizeForTerminal(`${mark} ${check.name}:${detail}`));
      // A fix of several lines (the scripted server's commands) keeps its own indentation under "fix:".
      if (check.fix && check.status !== "ok")
        console.log(sanitizeForTerminal(check.fix.includes("\n") ? `     fix:\n${check.fix.replace(/^/gm, "     ")}` : `     fix: ${check.fix}`));
    }
    const failed = checks.filter((check) => check.status === "fail").length;
    console.log(ok ? "All checks passed." : `${failed} check(s) failed; each says how to fix it.`);
    return ok ? 0 : 1;
  },
};
