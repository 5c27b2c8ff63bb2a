import { realpathSync } from "node:fs";
import { join } from "node:path";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { environmentSettings } from "../../config/environment.ts";
import { RepoGit } from "../../git/repo-git.ts";
import type { CycleOutcome } from "../../cycle/promote-candidate.ts";
import { modelFor } from "../../llm/model-for.ts";
import { shellWord } from "../../security/shell-word.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import type { ToolsmithEvent, ToolsmithOutcome } from "../../toolsmith/run-toolsmith.ts";
import { UsageError } from "../command/command.ts";
import { describeToolsmithEvent } from "./describe-toolsmith-event.ts";
import { orgCloneNote } from "../command/org-clone-note.ts";
import { orgInvocation, REPO_DIR } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { OrgError } from "../../errors/org-error.ts";

const say = (text: string) => process.stderr.write(`${sanitizeForTerminal(text)}\n`);

/** `org tool new`: the toolsmith builds a tool for the goal on a candidate branch, and with --promote the cycle judges it. */
export async function toolNewCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("tool new", args, {
    goal: { type: "string" },
    model: { type: "string" },
    "base-url": { type: "string" },
    config: { type: "string" },
    json: { type: "boolean" },
    repo: { type: "string" },
    promote: { type: "boolean" },
  });
  if (!values.goal?.trim()) throw new UsageError('tool new needs --goal "what the tool should do"', "tool");
  if (values.promote && values.repo !== undefined && realpathSync(values.repo) !== realpathSync(REPO_DIR)) {
    throw new UsageError(
      `--promote runs the candidate beside this checkout's current instance, so it takes no --repo elsewhere; ` +
        `run ${shellWord(join(values.repo, "bin", "org"))} tool new --promote there`,
      "tool",
    );
  }
  const { loadCommandConfig } = await import("../command/command-config.ts");
  const config = loadCommandConfig(values.config, process.cwd());
  const { toolsmith: settings, authorizations } = config;
  const environment = environmentSettings();
  const server = values["base-url"] ?? environment.ollamaBase;
  // The key the config gives that server (OPENAI_API_KEY belongs to OLLAMA_BASE's), none to another given with --base-url.
  const model = modelFor({ server, modelId: values.model ?? environment.ollamaModel }, authorizations);
  // Nobody answering is said before anything is made, with the same way out the chat gives.
  const { deadServerMessage } = await import("../command/model-server-probe.ts");
  const probe = await model.probe(signal);
  if (!probe.reachable) {
    const message = deadServerMessage(server, probe.error, `tool new --goal ${shellWord(values.goal)}`);
    // --json keeps its promise of one last line on stdout.
    if (values.json) console.log(terminalSafeJson({ ok: false, attempts: 0, failure: message.split("\n")[0] }));
    throw new OrgError(message);
  }
  const repoDir = RepoGit.openCheckout(values.repo ?? REPO_DIR, "give --repo the org checkout").repoDir;
  const missing = (await import("../command/org-checkout.ts")).missingOrgFiles(repoDir);
  // Said before the build: a candidate outside an org checkout can be tried, never judged or promoted.
  if (missing.length > 0)
    say(
      `note: ${repoDir} is not a checkout of org (it has no ${missing.join(", ")}), so no gate can judge or ` +
        `promote a candidate made there; it can be tried with 'tool run --ref'. Leave out --repo to grow this checkout's tools.`,
    );
  // One sandbox for the command, its policy with the config's secrets: the toolsmith's validation and the gate's runs.
  const access = sandboxAccessFrom({ config });
  const toolsmith = { goal: values.goal, model, repoDir, settings, ...access };
  const showEvent = (event: ToolsmithEvent) => say(describeToolsmithEvent(event));
  let outcome: ToolsmithOutcome;
  let cycle: CycleOutcome | undefined;
  const cycleCli = values.promote ? await import("./tool-cycle.ts") : undefined;
  if (cycleCli) {
    const { buildAndPromote } = await import("../../cycle/build-and-promote.ts");
    const show = cycleCli.showCycleProgress();
    ({ built: outcome, cycle } = await buildAndPromote({
      toolsmith,
      ...cycleCli.checkoutCycle(signal, access),
      onProgress: (progress) => (progress.type === "toolsmith" ? showEvent(progress.event) : show(progress)),
      signal,
    }));
  } else {
    const [{ runToolsmith }, { toolsmithRecords }] = await Promise.all([
      import("../../toolsmith/run-toolsmith.ts"),
      import("../../fitness/toolsmith-records.ts"),
    ]);
    outcome = await runToolsmith({ ...toolsmith, records: toolsmithRecords, signal, onEvent: showEvent });
  }
  return reportToolNew({ json: values.json ?? false, promote: values.promote ?? false, repo: values.repo, repoDir }, outcome, cycle, cycleCli);
}

/**
 * What `tool new` prints at the end and its exit code: the `--json` line, or the line for a person; after a cycle,
 * what it left running in tmux and the command that stops it, last (on stderr under `--json`).
 */
async function reportToolNew(
  asked: { json: boolean; promote: boolean; repo: string | undefined; repoDir: string },
  outcome: ToolsmithOutcome,
  cycle: CycleOutcome | undefined,
  cycleCli: typeof import("./tool-cycle.ts") | undefined,
): Promise<number> {
  const stopped = cycle?.stages.find((stage) => !stage.ok);
  const failure = outcome.ok ? (stopped ? `stopped at ${stopped.stage}: ${stopped.detail}` : undefined) : outcome.failure;
  const ok = outcome.ok && (cycle?.ok ?? true);
  // The cycle started current, and the candidate unless it stopped before: whichever answers still runs.
  const running =
    cycle && cycleCli && (ok || (stopped && stopped.stage !== "build"))
      ? await cycleCli.runningInstancesLine(ok ? ["current"] : ["current", "candidate"], ok && outcome.ok ? `serving ${outcome.name}` : "")
      : undefined;
  // Run from a project, the branch (and a merge) went to org's own clone: said once, before the last line.
  const promoted = ok && cycle !== undefined;
  const note = outcome.ok
    ? orgCloneNote({
        repoDir: asked.repoDir,
        from: process.cwd(),
        went: promoted ? `${outcome.name} (${outcome.branch}, merged into main)` : `${outcome.name}'s branch ${outcome.branch}`,
        onMain: promoted,
      })
    : undefined;
  if (note) say(note);
  if (asked.json) {
    const built = {
      stage: "build",
      ok: outcome.ok,
      detail: outcome.ok ? `${outcome.name} on ${outcome.branch} (${outcome.commit.slice(0, 12)})` : outcome.failure,
    };
    const line = {
      ok,
      ...(outcome.ok || outcome.name ? { name: outcome.name } : {}),
      ...(outcome.ok ? { branch: outcome.branch, commit: outcome.commit } : {}),
      attempts: outcome.attempts,
      ...(failure !== undefined ? { failure } : {}),
      ...(asked.promote
        ? {
            promoted: ok,
            ...(ok ? {} : { stoppedAt: stopped?.stage ?? "build" }),
            stages: [built, ...(cycle && cycleCli ? cycle.stages.map((stage) => cycleCli.stageJson(stage, cycle.branch)) : [])],
          }
        : {}),
    };
    if (running) say(running);
    console.log(terminalSafeJson(line));
  } else if (outcome.ok && cycle?.ok) {
    console.log(`${outcome.name} is promoted: ${outcome.branch} is on main; undo it with ${orgInvocation()} rollback`);
    if (running) console.log(running);
  } else if (outcome.ok && stopped) {
    say(`stopped at ${stopped.stage}: ${stopped.detail}`);
    say(
      `the candidate is left to inspect: ${orgInvocation()} tool show ${outcome.name} --ref ` +
        `${outcome.branch}; ${orgInvocation()} instance status${stopped.reportPath ? `; the report ${stopped.reportPath}` : ""}`,
    );
    if (running) say(running);
  } else if (outcome.ok) {
    const { tryItCommand } = await import("../../toolsmith/try-it-command.ts");
    const tryIt = tryItCommand({
      invocation: orgInvocation(),
      name: outcome.name,
      branch: outcome.branch,
      input: outcome.tryInput,
      ...(asked.repo === undefined ? {} : { repo: asked.repoDir }),
    });
    console.log(`${outcome.name} is on ${outcome.branch}. Try it: ${tryIt}`);
  } else {
    say(`the toolsmith could not make the tool: ${outcome.failure}`);
  }
  return ok ? 0 : 1;
}
