import { join } from "node:path";
import type { IdleWorkSettings } from "../config/supervise-settings.ts";
import { AUDIT_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { newestMessageSince } from "../room/person-activity.ts";
import { AuditLog } from "../security/audit-log.ts";
import { redactValue } from "../security/redact.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { failureLine } from "../tools/failure-line.ts";
import { IDLE_EVENT } from "./daily-report.ts";
import { readScheduleStates } from "./schedule-state.ts";
import { dataLine, secretsOf, type SuperviseContext } from "./supervise-check.ts";
import { workflowRunTurnText } from "./workflow-run-session.ts";

// One round's idle work as it runs (idle-work.ts runs its steps): its bounds checked before every step and action, a
// watch for a person's message while one runs, and the one place an action is recorded (audit line, event, list).

/** The audit log's tool, session and persona of idle work's lines. */
export const IDLE_AUDIT = "idle-work";

export type IdleStep = "examples" | "workflows" | "ask";
/** Why idle work ended before it was done. */
export type IdleStop = "person" | "time" | "tokens" | "actions" | "aborted";
export type IdleAction = { step: IdleStep | "proposed"; name: string; ok: boolean; detail: string };
/** What one round's idle work did, for the round's summary. */
export type IdleOutcome = { ran: boolean; detail: string; actions: IdleAction[]; tokens: number; stopped?: IdleStop };

/** What idle work is given beside the round's context. */
export type IdleWorkParts = {
  settings: IdleWorkSettings;
  /** The model asked "what next?"; undefined: that step is skipped, and said so. */
  model: LanguageModel | undefined;
  /** Called before each step and each action, before the stops are checked: where a test makes a person write or time pass. */
  beforeStep?: (step: IdleStep, name: string) => Promise<void> | void;
  /** How often a person's message is looked for while an action runs (default WATCH_EVERY_MS). */
  watchEveryMs?: number;
};

/** While a tool, a workflow or the question runs, a person's message is looked for this often; it ends the action. */
const WATCH_EVERY_MS = 2_000;

/**
 * The newest person's message since `since`, or undefined. A schedule's session is one a person may open and go on in:
 * there only the messages its schedules send (as written, and as the room keeps them, redacted) and the turns its
 * workflow runs are recorded in are not a person's.
 */
export function personSince(context: SuperviseContext, since: number): number | undefined {
  const { sessions } = readScheduleStates(context.workspaceDir);
  const notPersons = new Map<string, Set<string>>();
  for (const [name, entry] of Object.entries(context.config.schedules)) {
    const sessionId = Object.hasOwn(sessions, entry.session ?? name) ? sessions[entry.session ?? name] : undefined;
    if (sessionId === undefined) continue;
    const texts = notPersons.get(sessionId) ?? new Set<string>();
    if (entry.message !== undefined) texts.add(entry.message).add(scanForSecrets(entry.message, context.config.secrets).redacted);
    if (entry.workflow !== undefined)
      texts.add(
        workflowRunTurnText({ schedule: name, cron: entry.cron, workflow: entry.workflow, inputs: entry.inputs ?? {} }, context.config.secrets),
      );
    notPersons.set(sessionId, texts);
  }
  return newestMessageSince(join(context.workspaceDir, SESSIONS_DIR), since, { now: context.now(), notPersons });
}

/** One round's run of idle work: its bounds, what it did, and the one place each action is recorded. */
export class IdleRun {
  readonly actions: IdleAction[] = [];
  tokens = 0;
  stopped: IdleStop | undefined;
  readonly #startedAt: number;
  readonly #audit: AuditLog;

  constructor(
    readonly context: SuperviseContext,
    readonly parts: IdleWorkParts,
  ) {
    this.#startedAt = context.now();
    this.#audit = new AuditLog(join(context.workspaceDir, AUDIT_DIR));
  }

  /** Whether the run must end before `step` (`name`): a person wrote, or a bound is reached. Says it once. */
  async mustStop(step: IdleStep, name: string): Promise<boolean> {
    if (this.stopped !== undefined) return true;
    await this.parts.beforeStep?.(step, name);
    const { context, parts } = this;
    const now = context.now();
    const person = personSince(context, now - parts.settings.afterMinutes * 60_000);
    if (context.signal.aborted) this.stopped = "aborted";
    else if (person !== undefined) this.stopped = "person";
    else if (now - this.#startedAt >= parts.settings.maxMinutes * 60_000) this.stopped = "time";
    else if (this.tokens >= parts.settings.maxTokens) this.stopped = "tokens";
    else if (this.actions.length >= parts.settings.maxActionsPerRound) this.stopped = "actions";
    if (this.stopped === undefined) return false;
    const why = {
      aborted: "the supervisor is stopping",
      person: `a person wrote at ${new Date(person ?? now).toISOString()}`,
      time: `supervise.idleWork.maxMinutes (${parts.settings.maxMinutes}) is reached`,
      tokens: `supervise.idleWork.maxTokens (${parts.settings.maxTokens}) is reached (${this.tokens} spent)`,
      actions: `supervise.idleWork.maxActionsPerRound (${parts.settings.maxActionsPerRound}) is reached`,
    }[this.stopped];
    this.event(`stopped before ${step} ${name}: ${why}`);
    return true;
  }

  /**
   * Runs one action with a signal that ends it when a person writes (looked for every `watchEveryMs`), at the time cap,
   * or when the supervisor stops; the first two stop the run too, and that is said.
   */
  async during<T>(what: string, act: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { context, parts } = this;
    const person = new AbortController();
    let wrote: number | undefined;
    const watch = setInterval(() => {
      try {
        wrote ??= personSince(context, context.now() - parts.settings.afterMinutes * 60_000);
      } catch {
        // A session folder or schedules' state unreadable now: looked at again at the next beat.
      }
      if (wrote !== undefined) person.abort(new Error(`a person wrote at ${new Date(wrote).toISOString()}`));
    }, parts.watchEveryMs ?? WATCH_EVERY_MS);
    const left = this.#startedAt + parts.settings.maxMinutes * 60_000 - context.now();
    const time = AbortSignal.timeout(Math.max(1, left));
    try {
      return await act(AbortSignal.any([context.signal, person.signal, time]));
    } finally {
      clearInterval(watch);
      if (this.stopped === undefined && !context.signal.aborted && (person.signal.aborted || time.aborted)) {
        this.stopped = person.signal.aborted ? "person" : "time";
        const why = wrote !== undefined ? `a person wrote at ${new Date(wrote).toISOString()}` : "supervise.idleWork.maxMinutes is reached";
        this.event(`stopped during ${what}: ${why}`);
      }
    }
  }

  event(text: string): void {
    const line = dataLine(this.context, `idle work: ${text}`, 2000);
    this.context.state.event(IDLE_EVENT, line, this.context.now());
    this.context.say(line);
  }

  /** Records one action: the audit line, the event, the round's list. */
  record(action: IdleAction, started: number, input: unknown): void {
    const secrets = secretsOf(this.context);
    const detail = dataLine(this.context, action.detail, 1000);
    this.actions.push({ ...action, detail });
    this.#audit.record({
      time: new Date(started).toISOString(),
      sessionId: IDLE_AUDIT,
      persona: "supervisor",
      requestId: `${IDLE_AUDIT}:${action.step}`,
      tool: IDLE_AUDIT,
      arguments: redactValue({ step: action.step, name: action.name, input }, secrets),
      ok: action.ok,
      ...(action.ok ? {} : { error: failureLine(detail) }),
      durationMs: Math.max(0, this.context.now() - started),
      bytes: Buffer.byteLength(detail),
    });
    this.event(`${action.step} ${action.name}: ${action.ok ? "ok" : "FAILED"}: ${detail}`);
  }
}
