import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { instanceSettings } from "../../config/environment.ts";
import { attachLine, describeStart } from "../../instances/describe-start.ts";
import { type InstanceRole, stopInstances } from "../../instances/side-by-side.ts";
import { startFromEnvironment } from "../../instances/start-from-environment.ts";
import { probeHealth } from "../../instances/health-probe.ts";
import { TmuxWindow } from "../../instances/tmux-window.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { checkSandboxOffConsent } from "../command/sandbox-off-consent.ts";

const HELP = `Usage: org instance start current [--config FILE] [--unsafe-no-sandbox]
       org instance start candidate [BRANCH] [--config FILE] [--unsafe-no-sandbox]
       org instance stop [current|candidate|all]
       org instance status

The current checkout and a candidate branch side by side, each running 'org serve' in a window of the
tmux session ORG_TMUX_SESSION (default org). ops/start-current.sh, ops/start-candidate.sh and
ops/stop.sh call this.

  start current            serve this checkout on ORG_CURRENT_PORT (default 7001)
  start candidate [BRANCH] serve a cand/YYYYMMDDTHHMMSSZ branch (default the newest untested, pass or stale
                           one, see 'org candidate list'; else the newest) from its worktree under
                           .org/worktrees/ on ORG_CANDIDATE_PORT (default 7002); dependencies are linked
                           from this checkout when package-lock.json is the same, else npm ci --offline.
                           The protected-core check runs first: a branch whose diff from main touches anything
                           outside tools/generated/<tool>/ is refused with the list of files, so a candidate
                           runs main's code plus tool files; the worktree is made at the exact commit checked
  --config FILE            the room configuration serve reads; a relative path is taken inside each
                           instance's own checkout (default: org.config.json there)
  --unsafe-no-sandbox      with ORG_SANDBOX=off in this environment (and only then): serve unsandboxed;
                           ORG_SANDBOX=off alone is refused. The window gets ORG_SANDBOX from this
                           environment only (unset: on), never from the tmux server's
  stop [ROLE]              stop one instance or both (default all): SIGTERM, SIGKILL after 15 s
  status                   what answers on both ports

start returns once /health answers with the expected commit (at most ORG_START_TIMEOUT_S, default 60),
or says why not (port taken, the server exited: its window's last lines). Running it again is safe: a
healthy candidate at that commit is left alone; a running current reads its generated tools again (at the
same commit too: its own check of HEAD may have taken a promotion's commit before the files arrived), takes
another commit (after a promotion or a rollback) without a restart when only tools/generated/ changed, and is
restarted otherwise.

Example:
  org instance start candidate cand/20261123T101500Z`;

function print(line: string): void {
  console.log(sanitizeForTerminal(line));
}

/** `org instance`: start, stop and look at the side-by-side instances. */
export const instanceCommand: Command = {
  ...nameAndSummary("instance"),
  help: HELP,
  async run(args, signal) {
    const { positionals, values } = parseCommandArgs(
      "instance",
      args,
      { config: { type: "string" }, "unsafe-no-sandbox": { type: "boolean" } },
      { positionals: true },
    );
    if (values.config !== undefined && positionals[0] !== "start") throw new UsageError("--config goes with start", "instance");
    const unsafeNoSandbox = values["unsafe-no-sandbox"] ?? false;
    if (unsafeNoSandbox && positionals[0] !== "start") throw new UsageError("--unsafe-no-sandbox goes with start", "instance");
    const [action, role, branch, ...extra] = positionals;
    const settings = instanceSettings();
    if (action === "start") {
      if (role !== "current" && role !== "candidate")
        throw new UsageError("say which to start: 'instance start current' or 'instance start candidate [BRANCH]'", "instance");
      if ((role === "current" && branch !== undefined) || extra.length > 0)
        throw new UsageError(`unexpected argument '${extra[0] ?? branch}'`, "instance");
      checkSandboxOffConsent("instance", unsafeNoSandbox);
      const { report, tmuxSession } = await startFromEnvironment({
        role,
        checkoutDir: CHECKOUT_DIR,
        ...(branch !== undefined ? { branch } : {}),
        ...(values.config !== undefined ? { config: values.config } : {}),
        unsafeNoSandbox,
        say: print,
        signal,
      });
      print(describeStart(report));
      print(attachLine(tmuxSession, CHECKOUT_DIR, role));
      return 0;
    }
    if (action === "stop") {
      if (branch !== undefined || (role !== undefined && !["current", "candidate", "all"].includes(role))) {
        throw new UsageError("stop takes current, candidate or all (the default)", "instance");
      }
      const roles: InstanceRole[] = role === "current" || role === "candidate" ? [role] : ["current", "candidate"];
      for (const { role: stopped, outcome } of await stopInstances(settings.tmuxSession, roles)) {
        print(
          outcome === "absent"
            ? `${stopped}: not running.`
            : `${stopped}: stopped${outcome === "killed" ? " (killed: it did not stop within 15 s of SIGTERM)" : ""}.`,
        );
      }
      return 0;
    }
    if (action === "status") {
      if (role !== undefined) throw new UsageError(`unexpected argument '${role}'`, "instance");
      for (const [name, port] of [
        ["current", settings.currentPort],
        ["candidate", settings.candidatePort],
      ] as const) {
        const [state, probe] = await Promise.all([new TmuxWindow(settings.tmuxSession, name).state(), probeHealth(port)]);
        const window =
          state.state === "running"
            ? `window ${settings.tmuxSession}:${name} running`
            : state.state === "dead"
              ? `window ${settings.tmuxSession}:${name} exited`
              : "no window";
        const health =
          probe.kind === "org"
            ? `commit ${probe.health.commit?.slice(0, 12) ?? "none"}${
                probe.health.branch ? ` on ` + `${probe.health.branch}` : ""
              }, tools ${probe.health.tools.join(", ")}`
            : probe.kind === "other"
              ? `not org: ${probe.detail}`
              : "nothing answers";
        print(`${name}: port ${port}: ${health} (${window})`);
      }
      return 0;
    }
    throw new UsageError(
      action === undefined ? "say what to do: start, stop or status" : `unknown action '${action}': start, stop or status`,
      "instance",
    );
  },
};
