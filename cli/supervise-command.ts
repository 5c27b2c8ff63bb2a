import { resolve } from "node:path";
import { Duration, formatDuration } from "../config/duration.ts";
import { instanceSettings } from "../config/environment.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import type { SupervisorSetup } from "../supervise/supervisor.ts";
import type { RoundSummary } from "../supervise/supervise-round.ts";
import { type Command, UsageError } from "./command/command.ts";
import { loadCommandConfig } from "./command/command-config.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { prepareWorkspace } from "./command/workspace-dir.ts";
import { RepoGit } from "../git/repo-git.ts";

const HELP = `Usage:
  org supervise [--once] [--json] [--idle-work] [--workspace DIR] [--repo DIR] [--config FILE]
  org supervise status [--json] [--workspace DIR] [--repo DIR] [--config FILE]
  org supervise apply ID [--json] [--workspace DIR] [--repo DIR] [--config FILE]
  org supervise mute PATTERN [--for DURATION] [--workspace DIR]
  org supervise unmute PATTERN [--workspace DIR]
  org supervise release NAME [--workspace DIR] [--repo DIR]

Keeps org alive without a person: a round of checks every supervise.every (default 60s), each known failure found,
fixed, the fix verified, and every step recorded in .org/supervisor/state.db. No model is needed for any of it.
  current       the current instance (tmux window 'current') down or unhealthy: restarted with backoff (supervise.backoff,
                doubled each time); after supervise.maxRestarts restarts in supervise.window, the last promotion is rolled
                back (journaled) when the failures began after it, else the supervisor stops trying and says so
  model-server  a persona's model server unreachable, answering with server errors (5xx) or its model missing:
                reported once per outage with the URL and
                the models it has; unattended grow runs paused; while it is away it is asked every 5 s between rounds,
                and once it answers a round runs at once: grow resumed and the recovery said
  disk          free space under supervise.minFreeMiB: serve's job log compacted, old transcripts and audit days
                archived (gzip, .org/archive/), leftovers removed, fitness reports past supervise.keepReports dropped
  locks         a lock (grow, promotion, any pid file) of a dead process cleared; an interrupted promote or rollback
                proposed to be finished
  leftovers     worktrees, candidate windows and temporary folders of dead runs removed
  sandbox       bwrap missing or user namespaces off: reported with the fix
  databases     memory, the registry or the supervisor's state failing quick_check or locked past supervise.lockBound:
                the registry rebuilt, memory restored from the newest good backup (the damaged file kept beside it)
  mcp           an MCP server restarting more than supervise.maxRestarts times in the window: held (no more restarts)
  tool-health   a promoted tool failing by grow's judgement while no grow runs: reported and handed to the next run
  logs          a transcript or audit day over supervise.logCapMiB, or all over supervise.logsTotalMiB: rotated (gzip)
  novel         an error matching none of these that repeats supervise.incidentRepeats times within a day (serve's
                log in the instances' windows, grow's reports, failed commands of serve's jobs and of tools and
                workflows run over serve's HTTP, tools that crashed in serve's turns; never a person's own room): one
                incident while it goes on, over once it stops for twice its usual gap (at least supervise.window);
                when a model answers it proposes one of the known fix actions (never a command), which waits for
                'org supervise apply ID'
Fixes that supervise.autoFix lists (by default all but finish-interrupted) apply at once; the others wait for apply.
Each incident goes to supervise.webhook (a JSON POST with "text", "content" and "kind"; signed with HMAC-SHA256 in the
x-org-signature header when supervise.webhookSecret names a set environment variable), redacted, one line a message:
its opening, a fix that changed things (a rollback, a restore), giving up, a diagnosis and its recovery each once, at
once; news that repeats (a failed try) at most once per supervise.quietMinutes. The heartbeat takes the daily backup
(org backup, kept by backup.keep); .org/supervisor/reports/<date>.md is written when an incident opens or closes, a fix
moves on, the supervisor stops, and every 10 minutes; each new week .org/supervisor/digests/<week>.md with an SVG chart.
ops/supervise.sh runs it in the tmux window 'supervise'; ops/stop.sh supervise stops it; serve --supervise runs it
inside serve.
Idle work (off by default; --idle-work or supervise.idleWork, confirmed with 'org config trust'): once no person has
written in any session for afterMinutes (default 30), a round also (a) runs each promoted tool's held-out examples
again in the sandbox, when serve's policy lets it run unattended (a tool that fails one is reported, not rolled
back), (b) runs again each workflow whose scheduled run failed, (c) asks the model "what next?" with grow's open
needs and the failures (offering one tool, propose_next; the same needs and failures are not asked again for a week)
and runs what it proposes only when it names a promoted tool or workflow org holds, with arguments its schema takes,
that serve's policy lets run unattended ("ask": denied).
It stops at a person's message (looked for before every step, and every 2 s while a tool, a workflow or the question
runs, which it cuts short), maxMinutes (10), maxTokens (20000) and maxActionsPerRound (10). Each action is an audit
line (tool "idle-work") and is listed in the day's report; a tool failing a held-out example goes to the webhook and
Telegram once (kind idle). Without a model server, (a) and (b) still run and (c) says it was skipped.
Team offers (share.pullEvery, confirmed with 'org config trust'): once that long has passed, a round runs 'org share
pull' (the offers judged on this machine's gate, a recalled one rolled back; docs/share.md); each recall goes to the
webhook and Telegram (kind share).

  --once         one round (and the heartbeat's due work), then exit
  --json         each round's summary as one JSON line on stdout
  --idle-work    idle work on for this run (supervise.idleWork's numbers when the file sets them, else the defaults)
  status         each check's state, the open incidents and their fixes, this week's fixes, the last backup
  apply ID       applies a proposed (or failed) fix, verifies it, records each step
  mute PATTERN   silences a check (current, disk, …, novel), an incident id, a novel error's signature id, or a part
                 of an error's text as the webhook showed it (shown back with the incidents and errors it matches):
                 still recorded, no webhook message and no diagnosis; --for DURATION (e.g. 2h), else for ever
  unmute PATTERN lifts a mute
  release NAME   lets the supervisor's hold on an MCP server go (it restarts again at its next failure)
  --workspace DIR  whose .org/ is watched (default: current directory); --repo DIR the checkout current runs from
                 (default: the one org runs from); --config FILE (default: org.config.json in the workspace),
                 given on to the org commands a round starts (org schedule run, org backup, org share pull)

Examples:
  org supervise --once
  org supervise --idle-work
  ops/supervise.sh
  org supervise status
  org supervise apply f3a9c2e1b0
  org supervise mute disk --for 2h
  org supervise mute "render step failed"

Exit status: 0 done; 1 it could not run (another supervisor holds the workspace, a fix cannot apply); 2 wrong command line.`;

const SUBCOMMANDS = new Set(["status", "apply", "mute", "unmute", "release"]);
const FOLDER_FLAGS = { workspace: { type: "string" }, repo: { type: "string" }, config: { type: "string" } } as const;

const out = (line: string) => console.log(sanitizeForTerminal(line));
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${sanitizeForTerminal(line)}\n`);

function repoOf(value: string | undefined): string {
  const directory = value ?? CHECKOUT_DIR;
  return RepoGit.openCheckout(directory, "give --repo the checkout current runs from").repoDir;
}

/** The workspace, the checkout and the config file a supervisor's command works on (the config said once, here). */
function foldersOf(values: { workspace?: string; repo?: string; config?: string }) {
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const repoDir = repoOf(values.repo);
  // Absolute once: the org commands a round starts (a backup, a schedule's run, a team pull) run in the workspace.
  const configPath = values.config === undefined ? undefined : resolve(values.config);
  loadCommandConfig(configPath, workspaceDir);
  // Each round reads the file again.
  return {
    workspaceDir,
    repoDir,
    ...(configPath !== undefined ? { configPath } : {}),
    loadConfig: () => loadCommandConfig(configPath, workspaceDir, undefined, { announce: false }),
  };
}

async function setupOf(
  values: { workspace?: string; repo?: string; config?: string; "idle-work"?: boolean },
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<SupervisorSetup> {
  const folders = foldersOf(values);
  const [{ diagnosisModel }, { Sandbox }] = await Promise.all([import("../supervise/diagnose-incident.ts"), import("../sandbox/run-sandboxed.ts")]);
  const settings = instanceSettings();
  return {
    ...folders,
    sandbox: new Sandbox(),
    instance: { port: settings.currentPort, tmuxSession: settings.tmuxSession, startTimeoutMs: settings.startTimeoutS * 1000 },
    say,
    diagnosisModel,
    ...(values["idle-work"] ? { idleWork: true } : {}),
    signal,
  };
}

async function run(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("supervise", args, {
    once: { type: "boolean" },
    json: { type: "boolean" },
    "idle-work": { type: "boolean" },
    ...FOLDER_FLAGS,
  });
  const say = values.json ? (line: string) => process.stderr.write(`${sanitizeForTerminal(line)}\n`) : log;
  const setup = await setupOf(values, signal, say);
  const { superviseEvery, superviseOnce } = await import("../supervise/supervisor.ts");
  const { SupervisorState } = await import("../supervise/supervisor-state.ts");
  const report = (summary: RoundSummary) => {
    if (values.json) console.log(terminalSafeJson(summary));
  };
  if (values.once) {
    const state = SupervisorState.open(setup.workspaceDir);
    try {
      for (const notice of state.notices) say(notice);
      const summary = await superviseOnce(setup, state);
      // The supervisor stops after this round: today's report as things stand.
      const { writeTodaysReport } = await import("../supervise/daily-report.ts");
      writeTodaysReport({ state, workspaceDir: setup.workspaceDir, repoDir: setup.repoDir, now: Date.now });
      report(summary);
      if (!values.json) for (const check of summary.checks) out(`${check.state.padEnd(5)} ${check.name.padEnd(12)} ${check.detail}`);
      if (!values.json && summary.idle) out(`idle  ${"idle-work".padEnd(12)} ${summary.idle.detail}`);
      return 0;
    } finally {
      state.close();
    }
  }
  const every = setup.loadConfig().supervise.every;
  say(
    `org supervise: watching ${setup.workspaceDir} (checkout ${setup.repoDir}): a round now, then every ` +
      `${formatDuration(every)} (supervise.every) until stopped`,
  );
  await superviseEvery(setup, { onRound: report });
  say("org supervise: stopped");
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("supervise status", args, { json: { type: "boolean" }, ...FOLDER_FLAGS });
  // Status reads the state: no sandbox, no model, none of the checks' code.
  const setup = foldersOf(values);
  const [{ SupervisorState }, { superviseStatus, statusLines }] = await Promise.all([
    import("../supervise/supervisor-state.ts"),
    import("../supervise/supervise-status.ts"),
  ]);
  const state = SupervisorState.open(setup.workspaceDir);
  try {
    const found = superviseStatus({ ...setup, config: setup.loadConfig() }, state, Date.now());
    if (values.json) console.log(terminalSafeJson(found));
    else for (const line of statusLines(found)) out(line);
    return 0;
  } finally {
    state.close();
  }
}

async function apply(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs("supervise apply", args, { json: { type: "boolean" }, ...FOLDER_FLAGS }, { positionals: true });
  const [id, ...more] = positionals;
  if (id === undefined || more.length > 0)
    throw new UsageError("supervise apply takes one fix id, e.g. org supervise apply f3a9c2e1b0 ('org supervise status' lists them)", "supervise");
  const setup = await setupOf(values, signal, (line) => process.stderr.write(`${sanitizeForTerminal(line)}\n`));
  const { applyFixNow } = await import("../supervise/apply-fix-now.ts");
  const { fix, incident, steps } = await applyFixNow(setup, id, "org supervise apply");
  if (values.json) console.log(terminalSafeJson({ fix, incident, steps }));
  else
    out(
      `${fix.id} ${fix.action} ${fix.target}: ${fix.state} — ${fix.detail}${
        incident.state === "resolved" ? ` ` + `(incident ${incident.id} is over)` : ""
      }`,
    );
  return fix.state === "failed" ? 1 : 0;
}

async function muteOrUnmute(args: string[], unmute: boolean): Promise<number> {
  const name = unmute ? "supervise unmute" : "supervise mute";
  const { values, positionals } = parseCommandArgs(name, args, { workspace: FOLDER_FLAGS.workspace, for: { type: "string" } }, { positionals: true });
  const [pattern, ...more] = positionals;
  if (pattern === undefined || more.length > 0)
    throw new UsageError(
      `${name} takes one pattern: a check's name, an incident id, a signature id, or a part of an error's text in quotes`,
      "supervise",
    );
  if (unmute && values.for !== undefined) throw new UsageError("supervise unmute takes no --for", "supervise");
  const parsed = values.for === undefined ? undefined : Duration.safeParse(values.for);
  if (parsed?.success === false) throw new UsageError(`--for needs a duration such as 30m, 2h or 1d, not '${values.for}'`, "supervise");
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const [{ SupervisorState }, mutes, { chooseMute }] = await Promise.all([
    import("../supervise/supervisor-state.ts"),
    import("../supervise/mutes.ts"),
    import("../supervise/mute-patterns.ts"),
  ]);
  const state = SupervisorState.open(workspaceDir);
  try {
    if (unmute) {
      out(mutes.unmutePattern(state, pattern) ? `unmuted ${pattern}` : `${pattern} was not muted ('org supervise status' lists the mutes)`);
      return 0;
    }
    const choice = chooseMute(state, pattern);
    if ("problem" in choice) throw new UsageError(choice.problem, "supervise");
    const until = parsed?.success ? Date.now() + parsed.data : undefined;
    mutes.mutePattern(state, choice.pattern, until, Date.now());
    const what = choice.kind === "text" ? `the text ${JSON.stringify(pattern)}` : pattern;
    out(
      `muted ${what}${
        until
          ? ` for ${formatDuration(until - Date.now())}, until ` + `${new Date(until).toISOString()}`
          : " for ever ('org supervise unmute' lifts it)"
      }`,
    );
    if (choice.kind === "text") {
      out("it matches now (and whatever else comes to hold it):");
      for (const match of choice.matches) out(`  ${match}`);
    }
    return 0;
  } finally {
    state.close();
  }
}

async function release(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "supervise release",
    args,
    { workspace: FOLDER_FLAGS.workspace, repo: FOLDER_FLAGS.repo },
    { positionals: true },
  );
  const [name, ...more] = positionals;
  if (name === undefined || more.length > 0) throw new UsageError("supervise release takes one MCP server's name", "supervise");
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const { releaseMcpServer } = await import("../mcp-client/mcp-restarts.ts");
  const released = [...new Set([workspaceDir, repoOf(values.repo)])].filter((dir) => releaseMcpServer(dir, name));
  out(released.length > 0 ? `released ${name} in ${released.join(", ")}: it restarts again when it next fails` : `${name} was not held`);
  return 0;
}

/** `org supervise`: the supervisor; `status`, `apply ID`, `mute PATTERN`, `unmute PATTERN`, `release NAME`. */
export const superviseCommand: Command = {
  ...nameAndSummary("supervise"),
  help: HELP,
  async run(args, signal) {
    const [first, ...rest] = args;
    if (first !== undefined && SUBCOMMANDS.has(first)) {
      if (first === "status") return status(rest);
      if (first === "apply") return apply(rest, signal);
      if (first === "release") return release(rest);
      return muteOrUnmute(rest, first === "unmute");
    }
    if (first !== undefined && !first.startsWith("-"))
      throw new UsageError(
        `unknown supervise subcommand '${first}': give status, apply ID, mute PATTERN, unmute PATTERN or release NAME, or options for a run`,
        "supervise",
      );
    return run(args, signal);
  },
};
