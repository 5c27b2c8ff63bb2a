import { z } from "zod";
import { orgCommand } from "../config/org-bun-command.ts";
import { configArguments, dataLine, type SuperviseContext } from "./supervise-check.ts";
import { notify } from "./webhook.ts";

/** When the supervisor last started a pull (milliseconds since the epoch). */
export const SHARE_PULL_KEY = "share:pulled";
/** The supervisor's event kind of a pull, listed in the day's report. */
export const SHARE_EVENT = "share";
/** How long one pull may take (fetching, and judging each new offer on the gate). */
const PULL_BOUND_MS = 3_600_000;

// What `org share pull --json` prints (cycle/land-offers.ts's SharePullReport), read as a model's output would be:
// bounded, and only what the supervisor says.
const PullReport = z.object({
  remote: z.string().max(2000),
  offers: z.array(z.object({ id: z.string().max(200), tool: z.string().max(200), state: z.string().max(40) }).loose()).max(1000),
  recalls: z
    .array(
      z.object({
        tool: z.string().max(200),
        offer: z.string().max(200),
        reason: z.string().max(2000),
        rolledBack: z.string().max(200).optional(),
        problem: z.string().max(2000).optional(),
      }),
    )
    .max(1000),
  ignored: z.array(z.string().max(2000)).max(1000),
});
export type SharePullOutcome = z.infer<typeof PullReport>;

/** What the round's summary keeps of a pull: how many offers moved to each state, each recall, or why it failed. */
export type SharePullSummary = { remote?: string; states: Record<string, number>; recalls: SharePullOutcome["recalls"]; failed?: string };

/** `org share pull --json` for the checkout, as a process of its own (it runs the gate, and a recall's rollback restarts current). */
async function runSharePull(context: SuperviseContext): Promise<SharePullOutcome> {
  const child = Bun.spawn(
    orgCommand(["share", "pull", "--json", "--workspace", context.workspaceDir, "--repo", context.repoDir, ...configArguments(context)]),
    {
      cwd: context.workspaceDir,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: PULL_BOUND_MS,
      signal: context.signal,
    },
  );
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(err.trim().split("\n").slice(-3).join(" / ") || `org share pull exited with ${code}`);
  return PullReport.parse(JSON.parse(out.trim().split("\n").at(-1) ?? ""));
}

/** A recall as the supervisor says it: the tool, the offer, the teammate's reason (quoted data), what happened here. */
function recallText(context: SuperviseContext, recall: SharePullOutcome["recalls"][number]): string {
  const done = recall.rolledBack
    ? `rolled back here (${dataLine(context, recall.rolledBack, 60)})`
    : recall.problem
      ? `NOT rolled back: ${dataLine(context, recall.problem, 300)}`
      : "it had not been promoted here";
  return (
    `share: ${dataLine(context, recall.tool, 80)} recalled by the team (offer ${dataLine(context, recall.offer, 60)}): ` +
    `${JSON.stringify(dataLine(context, recall.reason, 300))}; ${done}`
  );
}

/**
 * `share.pullEvery`: when that long has passed since the last pull, `org share pull` (the offers judged on this
 * machine's gate, a recall rolled back) runs, and what it did is said, kept among the day's events and returned for the
 * round's summary; each recall is also a `share` notice (webhook, Telegram), once per offer. A pull that fails is said
 * and tried again at the next due time. Undefined when no pull was due.
 */
export async function sharePullWhenDue(context: SuperviseContext): Promise<SharePullSummary | undefined> {
  const every = context.config.share.pullEvery;
  if (every === undefined) return undefined;
  const now = context.now();
  if (now - Number(context.state.get(SHARE_PULL_KEY) ?? 0) < every) return undefined;
  context.state.set(SHARE_PULL_KEY, String(now));
  let report: SharePullOutcome;
  try {
    report = PullReport.parse(await (context.pullShare ?? runSharePull)(context));
  } catch (error) {
    if (context.signal.aborted) throw error;
    const failed = dataLine(context, error instanceof Error ? error.message : String(error), 400);
    const text = `share: the pull failed: ${failed}; tried again in ${Math.round(every / 60_000)} min`;
    context.state.event(SHARE_EVENT, text, context.now());
    context.say(text);
    return { states: {}, recalls: [], failed };
  }
  const states: Record<string, number> = {};
  for (const offer of report.offers) states[offer.state] = (states[offer.state] ?? 0) + 1;
  const counted = Object.entries(states).map(([state, count]) => `${count} ${dataLine(context, state, 20)}`);
  const text =
    `share: pulled ${dataLine(context, report.remote, 200)}: ` +
    `${counted.length > 0 ? counted.join(", ") : "no new offers"}; ${report.recalls.length} recall(s)`;
  context.state.event(SHARE_EVENT, text, context.now());
  context.say(text);
  for (const recall of report.recalls) {
    const said = recallText(context, recall);
    context.state.event(SHARE_EVENT, said, context.now());
    context.say(said);
    await notify(context, { incident: `share:${recall.tool}`, kind: "share", once: recall.offer, text: said });
  }
  return { remote: report.remote, states, recalls: report.recalls };
}
