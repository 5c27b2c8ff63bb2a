import { join } from "node:path";
import { sleep } from "../concurrency/sleep.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import { takePidLock } from "../security/pid-lock.ts";
import { redact } from "../security/redact.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { diagnoseOpenIncidents } from "./diagnose-incident.ts";
import { heartbeat } from "./heartbeat.ts";
import type { IdleWorkParts } from "./idle-run.ts";
import { idleWork, idleWorkSettings } from "./idle-work.ts";
import { isMuted } from "./mutes.ts";
import { SUPERVISE_CHECKS } from "./supervise-checks.ts";
import { type Check, dataLine, type InstancePlace, quotedData, secretsOf, type SuperviseContext, workspaceSecretsOf } from "./supervise-check.ts";
import { sharePullWhenDue } from "./share-pull.ts";
import { type RoundSummary, runCheck, superviseRound } from "./supervise-round.ts";
import { StateHeldError } from "./state-file.ts";
import { LAST_ROUND_KEY, SUPERVISOR_DIR, SupervisorState } from "./supervisor-state.ts";
import { writeTodaysReport } from "./daily-report.ts";
import { flushNotices, notify, webhookSigningKey } from "./webhook.ts";
import { telegramTokenOf } from "./telegram-notices.ts";
import { OrgError } from "../errors/org-error.ts";

/** What a supervisor is given: its folders, how to read the config (again each round), and the parts a test replaces. */
export type SupervisorSetup = {
  workspaceDir: string;
  repoDir: string;
  /** The file `--config` named, made absolute where the flag is read; undefined when none was (the workspace's file). */
  configPath?: string;
  /** The entry point's sandbox: the sandbox check starts its probe there. */
  sandbox: Sandbox;
  loadConfig: () => OrgConfig;
  instance: InstancePlace;
  say: (line: string) => void;
  now?: () => number;
  freeBytes?: (dir: string) => number;
  /** The model novel incidents are diagnosed with; undefined: they wait for a person. */
  diagnosisModel?: (config: OrgConfig) => LanguageModel | undefined;
  /** The checks of a round (default: the ten and the novel errors). */
  checks?: readonly Check[];
  /** How long the model server check waits for a server's answer (default: the probe's own 3 s). */
  probeTimeoutMs?: number;
  /** `--idle-work`: idle work on, with `supervise.idleWork`'s numbers when the file sets them, else their defaults. */
  idleWork?: boolean;
  /** Called before each step of idle work (tests make a person write or time pass there). */
  beforeIdleStep?: IdleWorkParts["beforeStep"];
  signal: AbortSignal;
};

/** Another supervisor holds the workspace, or a round runs and did not end in time; the message says which. */
export class SuperviseBusyError extends OrgError {
  override name = "SuperviseBusyError";
}

/** Waits (at most ten minutes) for `.org/supervisor/round.lock`, under which a round or an apply acts; returns what releases it. */
export async function waitForRoundLock(workspaceDir: string, command: string, signal: AbortSignal): Promise<() => void> {
  const path = join(workspaceDir, SUPERVISOR_DIR, "round.lock");
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const lock = takePidLock(path, command);
    if (lock.kind === "taken") return lock.release;
    if (lock.kind === "stuck") throw new SuperviseBusyError(`could not take ${path}; remove it if no org supervise runs`);
    if (Date.now() >= deadline || signal.aborted)
      throw new SuperviseBusyError(
        `${path} is held by pid ${lock.holder.pid} (${lock.holder.command}, since ${lock.holder.since}); try again when it is done`,
      );
    await sleep(100, signal);
  }
}

/** How often a check that watches for its incident's end (`watchWhileOpen`) looks between rounds. */
export const WATCH_EVERY_MS = 5_000;

/** How long a line of the supervisor's log may be. */
const MAX_SAID = 4000;

/**
 * The context of one round (or one apply), with the room's whole secret set read now (the workspace's secret files
 * too): every line it says is scrubbed with it first, and is one line.
 */
export function contextOf(setup: SupervisorSetup, state: SupervisorState, config: OrgConfig): SuperviseContext {
  const secret = webhookSigningKey(config);
  const context: SuperviseContext = {
    workspaceDir: setup.workspaceDir,
    repoDir: setup.repoDir,
    ...(setup.configPath !== undefined ? { configPath: setup.configPath } : {}),
    sandbox: setup.sandbox,
    config,
    state,
    now: setup.now ?? Date.now,
    instance: setup.instance,
    say: (line) => setup.say(dataLine(context, line, MAX_SAID)),
    ...(setup.freeBytes ? { freeBytes: setup.freeBytes } : {}),
    ...(setup.probeTimeoutMs !== undefined ? { probeTimeoutMs: setup.probeTimeoutMs } : {}),
    ...secret,
    ...telegramTokenOf({ config }),
    workspaceSecrets: workspaceSecretsOf(setup.workspaceDir, config),
    signal: setup.signal,
  };
  state.useSecrets(secretsOf(context));
  return context;
}

/**
 * The state file this process holds, read afresh before a round: when it is damaged, or was moved or replaced under it,
 * it is opened again (a damaged file kept aside and begun anew, unless another process holds it too), and that is said,
 * recorded in the new file and reported.
 */
async function repairOwnState(context: SuperviseContext): Promise<void> {
  const problem = context.state.problem();
  if (problem === undefined) return;
  let text: string;
  try {
    const notice = context.state.reopen(context.now());
    text = notice ?? `the supervisor's state ${context.state.path}: ${problem}; opened the file now there`;
  } catch (error) {
    if (!(error instanceof StateHeldError)) throw error;
    context.say(error.message);
    return;
  }
  context.state.event("state", text, context.now());
  context.say(text);
  await notify(context, { incident: "supervisor", kind: "state", text });
}

/**
 * One round: under the round lock every check, a diagnosis of one novel incident, the heartbeat and the held notices;
 * then, with the lock released (they may take long, and `org supervise apply` waits for that lock), the team's pull
 * when `share.pullEvery` makes one due, and idle work when it is on.
 */
export async function superviseOnce(setup: SupervisorSetup, state: SupervisorState): Promise<RoundSummary> {
  const { summary, context } = await checksUnderLock(setup, state);
  const share = await sharePullWhenDue(context);
  if (share) {
    summary.share = share;
    await flushNotices(context);
  }
  const idle = idleWorkSettings(context.config.supervise.idleWork, setup.idleWork === true);
  if (idle) {
    summary.idle = await idleWork(context, {
      settings: idle,
      model: setup.diagnosisModel?.(context.config),
      ...(setup.beforeIdleStep ? { beforeStep: setup.beforeIdleStep } : {}),
    });
    await flushNotices(context);
  }
  return summary;
}

async function checksUnderLock(setup: SupervisorSetup, state: SupervisorState): Promise<{ summary: RoundSummary; context: SuperviseContext }> {
  const release = await waitForRoundLock(setup.workspaceDir, `org supervise round (pid ${process.pid})`, setup.signal);
  try {
    const config = setup.loadConfig();
    const context = contextOf(setup, state, config);
    await repairOwnState(context);
    const summary = await superviseRound(context, setup.checks ?? SUPERVISE_CHECKS);
    const fixId = await diagnoseOpenIncidents(context, setup.diagnosisModel?.(config), (incident) => isMuted(state, incident, context.now()));
    const fix = fixId ? state.fix(fixId) : undefined;
    if (fix) {
      const incident = state.incident(fix.incident);
      summary.fixes.push({ id: fix.id, incident: fix.incident, action: fix.action, target: fix.target, state: fix.state, detail: fix.detail });
      // The model's words are data: quoted, one line, bounded.
      const text =
        `diagnosis of ${fix.incident} (${dataLine(context, fix.by, 100)}): ` +
        `${quotedData(context, fix.detail, 600)} — proposed ${fix.id}: ${fix.action} ` +
        `${quotedData(context, fix.target, 200)}; 'org supervise apply ${fix.id}' applies it`;
      context.say(text);
      if (incident && !isMuted(state, incident, context.now()))
        await notify(context, { incident: incident.id, kind: "diagnosis", once: fix.id, text });
      writeTodaysReport(context);
    }
    await heartbeat(context, summary);
    await flushNotices(context);
    state.set(
      LAST_ROUND_KEY,
      JSON.stringify({
        at: summary.at,
        ms: summary.ms,
        opened: summary.opened.length,
        resolved: summary.resolved.length,
        fixes: summary.fixes.length,
      }),
    );
    return { summary, context };
  } finally {
    release();
  }
}

/**
 * The wait before the next round: `every`, or less while an incident of a check that watches for its end is open (a
 * model server away): that check runs every `WATCH_EVERY_MS` meanwhile, and once it no longer finds one of them the
 * round starts at once, which closes the incident and says the recovery on every channel.
 */
async function untilNextRound(
  setup: SupervisorSetup,
  state: SupervisorState,
  every: number,
  wait: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  let left = every;
  while (left > 0 && !setup.signal.aborted) {
    const watched = watchedNow(setup, state);
    // The state could not be read (damaged under us): the round starts now, and it is the round that sets that aside.
    if (watched === undefined) return;
    if (watched.length === 0) {
      await wait(left, setup.signal);
      return;
    }
    const step = Math.min(WATCH_EVERY_MS, left);
    await wait(step, setup.signal);
    left -= step;
    if (setup.signal.aborted || (await anyIncidentOver(setup, state, watched))) return;
  }
}

/** `check`'s open incidents; undefined when the state cannot be read (the round then starts, and sets it aside). */
function watchedOpen(state: SupervisorState, check: Check): { key: string }[] | undefined {
  try {
    return state.openIncidents(check.name);
  } catch {
    return undefined;
  }
}

/** The checks watching an open incident of theirs now; undefined when the state cannot be read. */
function watchedNow(setup: SupervisorSetup, state: SupervisorState): Check[] | undefined {
  try {
    return (setup.checks ?? SUPERVISE_CHECKS).filter((check) => check.watchWhileOpen && state.openIncidents(check.name).length > 0);
  } catch {
    return undefined;
  }
}

/** Whether one of `checks`, run now, no longer finds an incident of its that is open (a check that cannot judge finds it still). */
async function anyIncidentOver(setup: SupervisorSetup, state: SupervisorState, checks: readonly Check[]): Promise<boolean> {
  let context: SuperviseContext;
  try {
    context = contextOf(setup, state, setup.loadConfig());
  } catch {
    // A config that does not load now: the round says why, when it comes.
    return false;
  }
  for (const check of checks) {
    const result = await runCheck(check, context);
    if (result.undecided) continue;
    const found = new Set(result.findings.map((finding) => finding.key));
    const open = watchedOpen(state, check);
    if (open === undefined || open.some((incident) => !found.has(incident.key))) return true;
  }
  return false;
}

/**
 * `org supervise` without --once: a round now and then every `supervise.every` (from the end of one to the start of the
 * next; the config is read again for each; sooner when a watched incident is over, `untilNextRound`) until
 * `setup.signal` aborts. One supervisor per workspace
 * (`.org/supervisor/supervise.lock`); a round that fails is said and the next one tried.
 */
export async function superviseEvery(
  setup: SupervisorSetup,
  options: { onRound?: (summary: RoundSummary) => void; wait?: (ms: number, signal: AbortSignal) => Promise<void> } = {},
): Promise<void> {
  const lockPath = join(ensurePrivateDir(join(setup.workspaceDir, SUPERVISOR_DIR)), "supervise.lock");
  // The lock first: a second supervisor touches nothing of the state the first one holds open.
  const lock = takePidLock(lockPath, `org supervise (pid ${process.pid})`);
  if (lock.kind !== "taken") {
    throw new SuperviseBusyError(
      lock.kind === "busy"
        ? `another org supervise (pid ${lock.holder.pid}, since ${lock.holder.since}) watches ` +
            `${setup.workspaceDir}; 'org supervise status' shows what it found`
        : `could not take ${lockPath}`,
    );
  }
  let state: SupervisorState;
  try {
    state = SupervisorState.open(setup.workspaceDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  for (const notice of state.notices) setup.say(notice);
  const wait = options.wait ?? sleep;
  try {
    while (!setup.signal.aborted) {
      let every = 60_000;
      try {
        every = setup.loadConfig().supervise.every;
        // Awaited first: `onRound?.(await …)` would skip the round itself whenever no onRound is given.
        const summary = await superviseOnce(setup, state);
        options.onRound?.(summary);
      } catch (error) {
        if (setup.signal.aborted) break;
        // No round context here (the config may be what failed): the environment's secrets and the redactor's patterns.
        setup.say(redact(`the round failed: ${error instanceof Error ? error.message : String(error)}`));
      }
      if (setup.signal.aborted) break;
      await untilNextRound(setup, state, every, wait);
    }
  } finally {
    // Today's report as things stand when the supervisor stops.
    try {
      writeTodaysReport({ state, workspaceDir: setup.workspaceDir, repoDir: setup.repoDir, now: setup.now ?? Date.now });
    } catch (error) {
      setup.say(redact(`today's report was not written as the supervisor stopped: ${error instanceof Error ? error.message : String(error)}`));
    }
    lock.release();
    state.close();
  }
}
