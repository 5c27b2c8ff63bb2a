import { join } from "node:path";
import { isoWeek } from "../backup/backup-retention.ts";
import { promotionTagsBetween } from "../git/last-promotion.ts";
import { RepoGit } from "../git/repo-git.ts";
import { ensurePrivateDir, writePrivateFile } from "../security/private-state.ts";
import { readToolCalls } from "../usage/tool-calls.ts";
import { dayStart } from "./daily-report.ts";
import { SUPERVISOR_DIR, type SupervisorState } from "./supervisor-state.ts";

/** The weekly digests: `.org/supervisor/digests/<YYYY-Www>.md` and the chart beside it, `<YYYY-Www>.svg`. */
export const DIGESTS_DIR = join(SUPERVISOR_DIR, "digests");

const DAY_MS = 86_400_000;

/** The Monday (00:00 UTC) of the ISO week of `at`. */
export function weekStart(at: number): number {
  const weekday = new Date(at).getUTCDay() || 7;
  return dayStart(at) - (weekday - 1) * DAY_MS;
}

/** One day of the week: its promotions and rollbacks, and the generated tools' calls. */
export type DigestDay = { date: string; promotions: number; rollbacks: number; calls: number; ok: number };

/** What the digest says, as values. */
export type WeekFacts = {
  week: string;
  days: DigestDay[];
  promotions: { tag: string; at: Date }[];
  rollbacks: { tag: string; at: Date; undoes?: string }[];
  tools: { tool: string; calls: number; ok: number }[];
  incidents: { pattern: string; count: number }[];
  fixes: { verified: number; failed: number; waiting: number };
};

/** Gathers the week that begins at `start`: the tags of the checkout, the tools' calls, the supervisor's incidents and fixes. */
export async function weekFacts(state: SupervisorState, repoDir: string, start: number, signal?: AbortSignal): Promise<WeekFacts> {
  const end = start + 7 * DAY_MS;
  const { promotions, rollbacks } = await promotionTagsBetween(new RepoGit(repoDir), start, end, signal);
  const calls = readToolCalls(repoDir).filter((call) => call.t >= start && call.t < end);
  const days: DigestDay[] = Array.from({ length: 7 }, (_, index) => ({
    date: new Date(start + index * DAY_MS).toISOString().slice(0, 10),
    promotions: 0,
    rollbacks: 0,
    calls: 0,
    ok: 0,
  }));
  const dayOf = (at: number) => days[Math.floor((at - start) / DAY_MS)];
  for (const promotion of promotions) {
    const day = dayOf(promotion.at.getTime());
    if (day) day.promotions += 1;
  }
  for (const rollback of rollbacks) {
    const day = dayOf(rollback.at.getTime());
    if (day) day.rollbacks += 1;
  }
  const tools = new Map<string, { tool: string; calls: number; ok: number }>();
  for (const call of calls) {
    const day = dayOf(call.t);
    if (!day) continue;
    day.calls += 1;
    const tool = tools.get(call.tool) ?? { tool: call.tool, calls: 0, ok: 0 };
    tool.calls += 1;
    if (call.ok) {
      day.ok += 1;
      tool.ok += 1;
    }
    tools.set(call.tool, tool);
  }
  const incidents = new Map<string, number>();
  for (const incident of state.incidentsDuring(start, end)) incidents.set(incident.pattern, (incidents.get(incident.pattern) ?? 0) + 1);
  const fixes = state.recentFixes(start, 10_000).filter((fix) => fix.proposedAt < end);
  return {
    week: isoWeek(new Date(start)),
    days,
    promotions,
    rollbacks,
    tools: [...tools.values()].sort((a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool)),
    incidents: [...incidents].map(([pattern, count]) => ({ pattern, count })),
    fixes: {
      verified: fixes.filter((fix) => fix.state === "verified").length,
      failed: fixes.filter((fix) => fix.state === "failed").length,
      waiting: fixes.filter((fix) => fix.state === "proposed" || fix.state === "applied").length,
    },
  };
}

/** The chart: promotions (green) and rollbacks (red) per day as bars, the tools' success per day as a line (0–100 %). */
export function digestChart(facts: WeekFacts): string {
  const width = 560;
  const height = 240;
  const left = 40;
  const bottom = 200;
  const top = 20;
  const column = (width - left - 20) / 7;
  const most = Math.max(1, ...facts.days.map((day) => Math.max(day.promotions, day.rollbacks)));
  const barHeight = (count: number) => ((bottom - top) * count) / most;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ` +
      `${height}" font-family="sans-serif" font-size="11">`,
    `<title>org ${facts.week}: promotions, rollbacks and tool success per day</title>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 20}" y2="${bottom}" stroke="#888"/>`,
    `<text x="4" y="${top + 4}" fill="#555">${most}</text><text x="4" y="${bottom}" fill="#555">0</text>`,
  ];
  const points: string[] = [];
  for (const [index, day] of facts.days.entries()) {
    const x = left + index * column;
    parts.push(
      `<rect x="${(x + 6).toFixed(1)}" y="${(bottom - barHeight(day.promotions)).toFixed(1)}" ` +
        `width="${(column / 2 - 8).toFixed(1)}" height="${barHeight(day.promotions).toFixed(1)}" ` +
        `fill="#3a9d5d"><title>${day.date}: ${day.promotions} promoted</title></rect>`,
    );
    parts.push(
      `<rect x="${(x + column / 2).toFixed(1)}" y="${(bottom - barHeight(day.rollbacks)).toFixed(1)}" ` +
        `width="${(column / 2 - 8).toFixed(1)}" height="${barHeight(day.rollbacks).toFixed(1)}" ` +
        `fill="#c0392b"><title>${day.date}: ${day.rollbacks} rolled back</title></rect>`,
    );
    parts.push(`<text x="${(x + column / 2).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" fill="#333">${day.date.slice(5)}</text>`);
    if (day.calls > 0) points.push(`${(x + column / 2).toFixed(1)},${(bottom - ((bottom - top) * day.ok) / day.calls).toFixed(1)}`);
  }
  if (points.length > 0)
    parts.push(
      `<polyline points="${points.join(" ")}" fill="none" stroke="#2c6fbb" stroke-width="2"><title>tool success per day (0–100 %)</title></polyline>`,
    );
  parts.push(
    `<text x="${left}" y="${height - 8}" fill="#3a9d5d">■ promoted</text><text x="${left + 90}" ` +
      `y="${height - 8}" fill="#c0392b">■ rolled back</text><text x="${left + 200}" y="${height - 8}" fill="#2c6fbb">— tool success (0–100 %)</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}

/** The digest as Markdown, with the chart beside it. */
export function digestMarkdown(facts: WeekFacts): string {
  const rate = (ok: number, calls: number) => (calls === 0 ? "–" : `${((100 * ok) / calls).toFixed(1)} %`);
  const lines = [
    `# org — week ${facts.week} (${facts.days[0]?.date} to ${facts.days[6]?.date})`,
    "",
    `![promotions, rollbacks and tool success per day](${facts.week}.svg)`,
    "",
  ];
  lines.push(
    `## What grew (${facts.promotions.length})`,
    "",
    ...(facts.promotions.length > 0 ? facts.promotions.map((promotion) => `- ${promotion.tag}`) : ["Nothing was promoted."]),
    "",
  );
  lines.push(
    `## What was rolled back (${facts.rollbacks.length})`,
    "",
    ...(facts.rollbacks.length > 0
      ? facts.rollbacks.map((rollback) => `- ${rollback.tag}${rollback.undoes ? ` undid ${rollback.undoes}` : ""}`)
      : ["Nothing was rolled back."]),
    "",
  );
  lines.push(
    "## Tools",
    "",
    "| tool | calls | ok | success |",
    "| --- | --- | --- | --- |",
    ...facts.tools.map((tool) => `| ${tool.tool} | ${tool.calls} | ${tool.ok} | ${rate(tool.ok, tool.calls)} |`),
  );
  if (facts.tools.length === 0) lines.push("| (no calls of generated tools) | 0 | 0 | – |");
  lines.push(
    "",
    "| day | promoted | rolled back | calls | success |",
    "| --- | --- | --- | --- | --- |",
    ...facts.days.map((day) => `| ${day.date} | ${day.promotions} | ${day.rollbacks} | ${day.calls} | ${rate(day.ok, day.calls)} |`),
  );
  const incidents = facts.incidents.map((incident) => `${incident.pattern} ${incident.count}`).join(", ") || "none";
  lines.push(
    "",
    "## The supervisor",
    "",
    `Incidents: ${incidents}. Fixes: ${facts.fixes.verified} verified, ${facts.fixes.failed} failed, ${facts.fixes.waiting} waiting.`,
    "",
  );
  return lines.join("\n");
}

/** Writes the digest of the week that begins at `start`: the Markdown and its SVG chart; returns the Markdown's path. */
export async function writeWeeklyDigest(
  state: SupervisorState,
  context: { workspaceDir: string; repoDir: string; signal?: AbortSignal },
  start: number,
): Promise<string> {
  const facts = await weekFacts(state, context.repoDir, start, context.signal);
  const dir = ensurePrivateDir(join(context.workspaceDir, DIGESTS_DIR));
  writePrivateFile(join(dir, `${facts.week}.svg`), digestChart(facts));
  const path = join(dir, `${facts.week}.md`);
  writePrivateFile(path, digestMarkdown(facts));
  return path;
}
