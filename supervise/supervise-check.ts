import type { OrgConfig } from "../config/org-config.ts";
import type { FixAction } from "../config/supervise-settings.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import { redact } from "../security/redact.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { workspaceSecretValues } from "../workspace/secret-values.ts";
import type { CheckState, IncidentRow, SupervisorState } from "./supervisor-state.ts";
import type { ScheduleOutcome } from "./scheduled-run.ts";
import type { SharePullOutcome } from "./share-pull.ts";

/** Where the current instance runs, as `org instance` starts it: its port, tmux session and start bound. */
export type InstancePlace = { port: number; tmuxSession: string; startTimeoutMs: number };

/** What a round of checks works with; the clock and the probes a test replaces are here. */
export type SuperviseContext = {
  workspaceDir: string;
  repoDir: string;
  /** The file `--config` named (absolute), when one was: every org command the supervisor starts is given it too. */
  configPath?: string;
  /** The entry point's sandbox (serve's, with --supervise): the sandbox check's probe runs there. */
  sandbox: Sandbox;
  config: OrgConfig;
  state: SupervisorState;
  /** Milliseconds since the epoch: the supervisor's clock. */
  now: () => number;
  instance: InstancePlace;
  /** A line for the supervisor's log. */
  say: (line: string) => void;
  /** Where org's runs keep their temporary folders ($TMPDIR by default): the leftovers check looks there. */
  tempDir?: string;
  /** Free bytes on the disk of `dir` (statfs by default). */
  freeBytes?: (dir: string) => number;
  /** The value of the variable `supervise.webhookSecret` names, when it is set: the key of the webhook's signature. */
  webhookSecret?: string;
  /** TELEGRAM_BOT_TOKEN, read when `supervise.telegram` is on: the bot the incidents go to the allowed chats through. */
  telegramToken?: string;
  /** The values of the workspace's secret files and its git configs' credentials (`workspaceSecretsOf`), as the room has them. */
  workspaceSecrets?: readonly string[];
  /** How the heartbeat takes its daily backup (default: `org backup --json` as a process of its own). */
  takeBackup?: (context: SuperviseContext) => Promise<{ path: string; bytes: number; entries: number; skipped: unknown[]; dropped: string[] }>;
  /** How the heartbeat runs a due schedule (default: `org schedule run NAME --json` as a process of its own). */
  runSchedule?: (context: SuperviseContext, name: string) => Promise<ScheduleOutcome>;
  /** How the supervisor pulls the team's offers when `share.pullEvery` is due (default: `org share pull --json` as a process of its own). */
  pullShare?: (context: SuperviseContext) => Promise<SharePullOutcome>;
  /** How long the model server check waits for a server's answer (default: the probe's own 3 s). */
  probeTimeoutMs?: number;
  signal: AbortSignal;
};

/** A fix a finding asks for: one of the known actions, on a target the action knows (a path, a server, a tag). */
export type FixPlan = { action: FixAction; target: string; detail: string };

/**
 * One problem a check found: its key (stable while the problem lasts, whatever its kind becomes), what to call it, the
 * fix it asks for, and `person`: why no fix is left to try and a person must look (said once per incident).
 */
export type Finding = { key: string; title: string; detail: string; fix?: FixPlan; excerpt?: string; person?: string };

/**
 * A check's answer: its state for `org supervise status`, and what it found. `undecided`: it could not judge this round
 * (it failed, or what it watches is starting or in another's hands), so an open incident of it is not over.
 */
export type CheckResult = { state: CheckState; detail: string; findings: Finding[]; undecided?: true };

/**
 * One known failure pattern, in a file of its own and one entry of `SUPERVISE_CHECKS` (`supervise-checks.ts`): its name
 * (what incidents and mutes name), its detection, the fixes its findings ask for, and what happens once an incident of
 * it is over.
 */
export type Check = {
  name: string;
  run(context: SuperviseContext): Promise<CheckResult>;
  /** The fixes this check's findings ask for, by action; each action is one check's, and that check verifies it. */
  fixes?: Partial<Record<FixAction, Fix>>;
  /**
   * Whether what the check sees is out of reach of every fix a round applies (the machine's sandbox support): it then
   * runs from the round's start, beside the checks before it, and its findings are settled in turn with theirs.
   */
  independent?: boolean;
  /**
   * Whether the check may run between rounds, touching nothing (a probe): while one of its incidents is open, the
   * supervisor runs it every few seconds and starts the next round as soon as it no longer finds one, so the recovery
   * is said at once rather than a `supervise.every` later.
   */
  watchWhileOpen?: boolean;
  /** Called when an incident of this check is over; what it did, for the record. */
  resolved?(incident: IncidentRow, context: SuperviseContext): Promise<string | undefined>;
};

/**
 * What applying a fix did, and how it is verified: `check` (default) runs its check again at once and the problem must
 * be gone; `self`: the fix checked its own effect (a pause written); `later`: a later round sees the problem gone.
 */
export type FixOutcome = { ok: boolean; detail: string; verify?: "check" | "self" | "later" };

/** A known fix: what it takes as a target, whether a target is one it takes now (the reason when not), how it is applied. */
export type Fix = {
  /** What a target of this fix is, as the diagnosis prompt lists it for a model. */
  target: string;
  /** Why `target` is not one this fix can be applied to now (a model's proposal is checked against this), or undefined. */
  refuse(target: string, context: SuperviseContext): Promise<string | undefined>;
  apply(target: string, context: SuperviseContext): Promise<FixOutcome>;
  /** The check paces tries of this fix itself (restarts of current back off by their own count): no retry backoff on top. */
  ownBackoff?: true;
  /**
   * What it changes a person finds changed, not just mended (main moved by a rollback, a database replaced): said in a
   * webhook message of its own when applied, whatever the quiet time. Other fixes are said with the opening ("applying
   * …") and the recovery ("fixed by …").
   */
  announce?: true;
};

/**
 * `--config PATH` for an org command the supervisor starts (a backup, a schedule's run, a team pull) when the supervisor
 * was given a file; nothing otherwise, and the child reads the workspace's org.config.json as the supervisor does. The
 * child reads the file through the same gate, for the same workspace, so what waits for `org config trust` waits there too.
 */
export function configArguments(context: Pick<SuperviseContext, "configPath">): string[] {
  return context.configPath === undefined ? [] : ["--config", context.configPath];
}

/** The values the workspace's secret files hold (`sandbox.secretPaths`), which the room redacts with as well. */
export function workspaceSecretsOf(workspaceDir: string, config: OrgConfig): string[] {
  return workspaceSecretValues(workspaceDir, config.sandbox.secretPaths);
}

type SecretsKnown = Pick<SuperviseContext, "config" | "webhookSecret" | "workspaceSecrets" | "telegramToken">;

/** The room's whole secret set as the supervisor knows it: the config's secrets, the workspace's secret files' values, the webhook's signing key. */
export function secretsOf(context: SecretsKnown): string[] {
  return [
    ...context.config.secrets,
    ...(context.workspaceSecrets ?? []),
    ...(context.webhookSecret ? [context.webhookSecret] : []),
    ...(context.telegramToken ? [context.telegramToken] : []),
  ];
}

/**
 * Text from outside the supervisor (a pane's lines, a report's error, a lock's command, a model's answer) as it may be
 * kept, logged or sent: redacted with the room's secret set. Done first, before any other change to the text (lowercased,
 * digits masked, spaces joined, cut short), after which a secret would no longer be recognised.
 */
export function scrub(context: SecretsKnown, text: string): string {
  return redact(text, secretsOf(context));
}

/**
 * Text from outside as one line of data: scrubbed, then every line break a space and every control or bidi character
 * a visible escape, cut to `max` characters. A tool's output, a model's name or words, a log line: none can start a
 * line of its own in the log, a title, a webhook message or a prompt.
 */
export function dataLine(context: SecretsKnown, text: string, max: number): string {
  return oneLine(scrub(context, text), max);
}

/** `dataLine`, in double quotes (as JSON writes a string): where outside text stands inside the supervisor's own words. */
export function quotedData(context: SecretsKnown, text: string, max: number): string {
  return JSON.stringify(dataLine(context, text, max));
}

/** How long a finding's texts may be: a title is one short line, the rest one line each. */
const MAX_TITLE = 300;
const MAX_DETAIL = 2000;
const MAX_EXCERPT_LINE = 500;

/** A check's answer with every text in it scrubbed and made lines of data (`dataLine`): what the rest of a round works with. */
export function scrubResult<Result extends CheckResult>(context: SuperviseContext, result: Result): Result {
  const line = (text: string, max = MAX_DETAIL) => dataLine(context, text, max);
  const findings = result.findings.map((finding) => ({
    ...finding,
    key: line(finding.key, 1000),
    title: line(finding.title, MAX_TITLE),
    detail: line(finding.detail),
    ...(finding.excerpt !== undefined
      ? {
          excerpt: finding.excerpt
            .split("\n")
            .map((text) => line(text, MAX_EXCERPT_LINE))
            .join("\n"),
        }
      : {}),
    ...(finding.fix ? { fix: { ...finding.fix, target: line(finding.fix.target, 1000), detail: line(finding.fix.detail) } } : {}),
    ...(finding.person !== undefined ? { person: line(finding.person) } : {}),
  }));
  return { ...result, detail: line(result.detail), findings };
}

/** A check's answer when it has nothing to say. */
export function fine(detail: string): CheckResult {
  return { state: "ok", detail, findings: [] };
}

/** Mebibytes, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
}
