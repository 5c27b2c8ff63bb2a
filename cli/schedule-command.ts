import { sandboxAccessFrom } from "../assembly/sandbox-policy-from.ts";
import { sleep } from "../concurrency/sleep.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ScheduleEntry } from "../config/schedule-settings.ts";
import { CHECKOUT_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { workflowEntries } from "../mcp-server/mcp-tool-catalog.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { servedSessions } from "../serve/serve-handler.ts";
import { nextRunOf } from "../supervise/due-schedules.ts";
import { readScheduleStates, recordOutcome, updateScheduleStates } from "../supervise/schedule-state.ts";
import { runSchedule, type ScheduleOutcome } from "../supervise/scheduled-run.ts";
import { type Command, UsageError } from "./command/command.ts";
import { loadCommandConfig } from "./command/command-config.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { checkSandboxOffConsent } from "./command/sandbox-off-consent.ts";
import { prepareWorkspace } from "./command/workspace-dir.ts";
import { servedParts } from "./serve/served-parts.ts";
import { OrgError } from "../errors/org-error.ts";
import { join } from "node:path";

const HELP = `Usage:
  org schedule list [--json] [--workspace DIR] [--config FILE]
  org schedule run NAME [--json] [--workspace DIR] [--config FILE] [--unsafe-no-sandbox]
  org schedule pause NAME [--workspace DIR] [--config FILE]
  org schedule resume NAME [--workspace DIR] [--config FILE]

Prompts and workflows that run on a cron schedule, unattended: the schedules of org.config.json, run by org supervise's
heartbeat (and serve --supervise) when their minute comes. A message runs as a turn in direct mode to its persona, in
a room session (the schedule's own, or the one "session" names) that org chat --resume ID and the web room open; a
persona's "ask" tools are denied there, as in serve's jobs, since nobody is there to answer. A workflow runs with its
inputs, each run (its inputs, its result or why it failed) recorded in the schedule's session the same way. Each run is
audited (tool "schedule" in .org/audit/) and kept in .org/schedules/state.json; after downtime a schedule runs once for
the newest minute it missed, not once per minute. A workspace's schedules run only once you confirm them with
'org config trust'.

  list     each schedule: its cron, what it runs, its next and last run, paused or waiting for trust
  run      run NAME now (paused or not); exit 1 when the run failed
  pause    the heartbeat leaves NAME alone until resume
  resume   NAME runs again at its next minute (minutes missed while paused are not owed)

Settings (org.config.json):
  "schedules": {
    "morning-news": { "cron": "0 8 * * mon-fri", "to": "agent", "message": "What changed in the repo since yesterday?",
                      "session": "mornings", "notify": true },
    "nightly-sums": { "cron": "30 2 * * *", "workflow": "checksum-report", "inputs": { "dir": "data" } }
  }
  cron     five fields, local time: minute hour day-of-month month day-of-week, with *, lists (1,15), ranges (1-5),
           steps (*/15, 0-30/10) and names (jan-dec, sun-sat); when both day fields are restricted, either matches
  notify   true: each run's outcome also goes to the supervisor's channels (supervise.webhook, supervise.telegram)

Example:
  $ org schedule list
  morning-news  0 8 * * mon-fri  to agent: "What changed in the repo since yesterday?"  next 2026-11-30 08:00  last —

See docs/schedules.md.`;

function log(line: string): void {
  process.stderr.write(`org: ${sanitizeForTerminal(line)}\n`);
}

const localTime = (ms: number | undefined) => {
  if (ms === undefined) return "—";
  const date = new Date(ms);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
};

const whatOf = (entry: ScheduleEntry) =>
  entry.workflow !== undefined ? `workflow ${entry.workflow}` : `to ${entry.to}: ${JSON.stringify((entry.message ?? "").slice(0, 60))}`;

/** The schedules waiting for `org config trust`, by name. */
const waitingOf = (config: OrgConfig) =>
  config.unconfirmed.flatMap((setting) => (setting.setting.startsWith("schedules.") ? [setting.setting.slice("schedules.".length)] : []));

function list(config: OrgConfig, workspaceDir: string, json: boolean): number {
  const states = readScheduleStates(workspaceDir);
  const now = Date.now();
  const rows = Object.entries(config.schedules).map(([name, entry]) => {
    const record = states.schedules[name];
    return {
      name,
      cron: entry.cron,
      what: whatOf(entry),
      paused: record?.paused === true,
      next: record?.paused ? undefined : nextRunOf(entry, now),
      last: record?.finishedAt,
      ok: record?.ok,
      session: record?.sessionId,
      summary: record?.summary,
    };
  });
  const waiting = waitingOf(config);
  if (json) {
    process.stdout.write(`${terminalSafeJson({ schedules: rows, waitingForTrust: waiting })}\n`);
    return 0;
  }
  if (rows.length === 0 && waiting.length === 0)
    process.stdout.write('no schedules: add them under "schedules" in org.config.json (org schedule --help)\n');
  for (const row of rows) {
    const last = row.last === undefined ? "—" : `${localTime(row.last)} ${row.ok ? "ok" : "failed"}${row.session ? ` (session ${row.session})` : ""}`;
    const next = row.paused ? "paused" : `next ${localTime(row.next)}`;
    process.stdout.write(`${sanitizeForTerminal(`${row.name}  ${row.cron}  ${row.what}  ${next}  last ${last}`)}\n`);
  }
  for (const name of waiting)
    process.stdout.write(`${sanitizeForTerminal(`${name}  waiting for 'org config trust' (it does not run until then)`)}\n`);
  return 0;
}

function nameOf(name: string | undefined, verb: string): string {
  if (name === undefined) throw new UsageError(`org schedule ${verb} needs a schedule's name (org schedule list names them)`, "schedule");
  return name;
}

function scheduleOf(config: OrgConfig, name: string): ScheduleEntry {
  const entry = Object.hasOwn(config.schedules, name) ? config.schedules[name] : undefined;
  if (entry !== undefined) return entry;
  if (waitingOf(config).includes(name)) throw new OrgError(`schedule ${name} waits for your confirmation: run 'org config trust' first.`);
  throw new OrgError(`there is no schedule ${JSON.stringify(name)} in org.config.json; 'org schedule list' names them.`);
}

/** Runs one schedule now in a room of serve's kind (unattended), records it, and prints its outcome. */
async function runNow(config: OrgConfig, workspaceDir: string, name: string, entry: ScheduleEntry, options: { json: boolean; signal: AbortSignal }) {
  const access = sandboxAccessFrom({ config });
  const parts = await servedParts(workspaceDir, config, access, log);
  const pool = servedSessions({ ...parts.rooms, logError: log });
  const sessionName = entry.session ?? name;
  const sessionId = readScheduleStates(workspaceDir).sessions[sessionName];
  const startedAt = Date.now();
  let outcome: ScheduleOutcome;
  try {
    outcome = await runSchedule(
      name,
      entry,
      sessionId,
      {
        sessions: pool.sessions,
        sessionsDir: join(workspaceDir, SESSIONS_DIR),
        ...(parts.memory ? { memory: parts.memory } : {}),
        workflow: (workflow) => workflowEntries(workspaceDir, [CHECKOUT_DIR], access).find((candidate) => candidate.name === workflow),
        audit: parts.rooms.audit,
        secrets: config.secrets,
      },
      options.signal,
    );
  } finally {
    parts.tools.stop();
    await Promise.race([pool.close(), sleep(2_000)]);
    await parts.mcp?.close();
    parts.memory?.close();
  }
  updateScheduleStates(workspaceDir, (states) => recordOutcome(states, { ...outcome, sessionName }, { startedAt, finishedAt: Date.now() }));
  if (options.json) process.stdout.write(`${terminalSafeJson(outcome)}\n`);
  else
    process.stdout.write(
      `${sanitizeForTerminal(
        `${name}: ${outcome.ok ? "ok" : "failed"}${outcome.sessionId ? ` (session ${outcome.sessionId})` : ""}: ${outcome.summary}`,
      )}\n`,
    );
  return outcome.ok ? 0 : 1;
}

function setPaused(config: OrgConfig, workspaceDir: string, name: string | undefined, paused: boolean): number {
  const verb = paused ? "pause" : "resume";
  const key = nameOf(name, verb);
  scheduleOf(config, key);
  updateScheduleStates(workspaceDir, (states) => {
    const now = Date.now();
    const record = states.schedules[key] ?? { seenAt: now };
    // Resumed: the minutes missed while paused are not owed.
    states.schedules[key] = paused ? { ...record, paused: true } : { ...record, paused: false, seenAt: now };
  });
  process.stdout.write(`${key}: ${paused ? `paused; org schedule resume ${key} runs it again` : "resumed"}\n`);
  return 0;
}

/** `org schedule list | run NAME | pause NAME | resume NAME`. */
export const scheduleCommand: Command = {
  ...nameAndSummary("schedule"),
  help: HELP,
  async run(args, signal) {
    const { values, positionals } = parseCommandArgs(
      "schedule",
      args,
      {
        json: { type: "boolean" },
        workspace: { type: "string" },
        config: { type: "string" },
        "unsafe-no-sandbox": { type: "boolean" },
      },
      { positionals: true },
    );
    const [verb = "list", name, ...rest] = positionals;
    if (rest.length > 0) throw new UsageError(`org schedule ${verb} takes one name, not ${positionals.length - 1}`, "schedule");
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const config = loadCommandConfig(values.config, workspaceDir);
    switch (verb) {
      case "list":
        return list(config, workspaceDir, values.json ?? false);
      case "run": {
        const key = nameOf(name, "run");
        const entry = scheduleOf(config, key);
        checkSandboxOffConsent("schedule", values["unsafe-no-sandbox"] ?? false);
        return runNow(config, workspaceDir, key, entry, { json: values.json ?? false, signal });
      }
      case "pause":
      case "resume":
        return setPaused(config, workspaceDir, name, verb === "pause");
      default:
        throw new UsageError(`org schedule has no ${JSON.stringify(verb)}: list, run NAME, pause NAME or resume NAME`, "schedule");
    }
  },
};
