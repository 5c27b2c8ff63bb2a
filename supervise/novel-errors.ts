import { formatDuration } from "../config/duration.ts";
import { readGrowReport, reportIds } from "../grow/grow-report.ts";
import { TmuxWindow } from "../instances/tmux-window.ts";
import { type Check, type CheckResult, dataLine, type Finding, scrub, type SuperviseContext } from "./supervise-check.ts";
import { auditErrors, type ErrorLine, jobErrors, knownToolNames } from "./unattended-errors.ts";

// Pattern "novel": an error that none of the ten checks knows, repeating in the logs org writes and in work nobody
// watches (serve's jobs, runs over serve's HTTP: unattended-errors.ts). Each error line is redacted with the room's
// secret set first (a signature lowercases and masks digits, after which no secret would be recognised, and it is
// stored, shown and sent) and made one bounded line, then reduced to a signature (numbers, ids, paths, quoted text and
// times taken out), each occurrence counted once, and a signature seen `supervise.incidentRepeats` times within
// `supervise.window` is an incident. What a line says is quoted wherever the supervisor shows it: it is data.

const ERROR_WORDS = /\b(error|errors|failed|failure|exception|fatal|panic|cannot|could not|refused|timed out|unhandled|crash(ed)?)\b/i;
/** What the ten checks already watch: such lines are theirs, not novel. */
const KNOWN = [
  /\bmcp: /,
  /HEAD moved; not reloaded/,
  /^memory: /,
  /no model server answers/i,
  /\bENOSPC\b|no space left/i,
  /database is locked|disk image is malformed/i,
  /^grow: (skipped|paused|resumed|next run)/,
  /^supervise: /,
];
const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) (.*)$/;
const EXCERPT_LINES = 6;

/** An error line as a signature: what stays the same each time it happens. */
export function signatureOf(text: string): string {
  return text
    .toLowerCase()
    .replace(/https?:\/\/\S+/g, "<url>")
    .replace(/\d{4}-\d{2}-\d{2}t[\d:.]+z?/g, "<time>")
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, "<text>")
    .replace(/(?:\/[\w.@+-]+){2,}\/?/g, "<path>")
    .replace(/\b[0-9a-f]{7,}\b/g, "<id>")
    .replace(/\d+(\.\d+)?/g, "#")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);
}

/** The short id of a signature, as `org supervise mute` and status show it. */
export function signatureId(signature: string): string {
  return `n${new Bun.CryptoHasher("sha256").update(signature).digest("hex").slice(0, 10)}`;
}

/** Whether a log line is an error none of the known checks covers. */
export function isNovelError(text: string): boolean {
  return ERROR_WORDS.test(text) && !KNOWN.some((pattern) => pattern.test(text));
}

/** serve's log in the instances' tmux windows: lines that start with their time. */
async function paneErrors(context: SuperviseContext): Promise<ErrorLine[]> {
  if (!Bun.which("tmux")) return [];
  const lines: ErrorLine[] = [];
  for (const role of ["current", "candidate"]) {
    const text = await new TmuxWindow(context.instance.tmuxSession, role).lastLines(200).catch(() => "");
    for (const line of text.split("\n")) {
      const stamped = STAMP.exec(line.trim());
      if (!stamped?.[1] || !stamped[2] || !isNovelError(stamped[2])) continue;
      lines.push({ source: `tmux window ${role}`, id: `pane:${role}:${stamped[1]}:${stamped[2]}`, at: Date.parse(stamped[1]), text: stamped[2] });
    }
  }
  return lines;
}

/** grow's run reports since the last read: a run that failed, and builds that failed. */
function growErrors(context: SuperviseContext): ErrorLine[] {
  const lines: ErrorLine[] = [];
  const since = context.state.get("novel:grow") ?? "";
  const ids = reportIds(context.workspaceDir).filter((id) => id > since);
  for (const id of ids) {
    const report = readGrowReport(context.workspaceDir, id);
    if (!report || report.state === "running") continue;
    const at = Date.parse(report.endedAt ?? report.startedAt);
    if (report.error && isNovelError(`failed: ${report.error}`))
      lines.push({ source: "grow reports", id: `grow:${id}`, at, text: `grow run failed: ${report.error}` });
    for (const [index, build] of report.builds.entries()) {
      if (!build.ok && build.failure && isNovelError(`failed: ${build.failure}`))
        lines.push({
          source: "grow reports",
          id: `grow:${id}:${index}`,
          at,
          text: `grow build failed at ${build.stoppedAt ?? "?"}: ${build.failure}`,
        });
    }
    context.state.set("novel:grow", id);
  }
  return lines;
}

/** How much of one error line is kept. */
const MAX_LINE = 400;

/**
 * Counts each line once (seen before: skipped) under its signature; the line redacted and made one bounded line before
 * anything else is done with it, and kept as `<source>: "<line>"`.
 */
function recordLines(context: SuperviseContext, lines: readonly ErrorLine[]): void {
  const { db } = context.state;
  const seen = db.query<{ hash: string }, [string]>("SELECT hash FROM seen_lines WHERE hash = ?");
  context.state.transaction(() => {
    for (const line of lines) {
      const text = dataLine(context, line.text, MAX_LINE);
      // Not even a hash of a secret is kept: the line's id is hashed as redacted.
      const hash = new Bun.CryptoHasher("sha256").update(scrub(context, line.id)).digest("hex").slice(0, 32);
      if (seen.get(hash)) continue;
      db.query("INSERT INTO seen_lines (hash, at) VALUES (?, ?)").run(hash, context.now());
      const signature = signatureOf(text);
      const id = signatureId(signature);
      const example = `${line.source}: ${JSON.stringify(text)}`;
      db.query(
        "INSERT INTO signatures (id, signature, source, example, first_seen, last_seen, total) VALUES (?1, " +
          "?2, ?3, ?4, ?5, ?5, 1) ON CONFLICT (id) DO UPDATE SET last_seen = max(last_seen, ?5), total = total + 1, example = ?4",
      ).run(id, signature, line.source, example, line.at);
      db.query("INSERT INTO occurrences (signature, at, line) VALUES (?, ?, ?)").run(id, line.at, example);
    }
  });
}

/** How far back repeats are counted: work that runs on a schedule (an hourly grow run) repeats slower than the window. */
const REPEATS_WITHIN_MS = 24 * 3_600_000;

/** A signature's occurrences counted for an incident: since the day began, or its last incident ended, whichever is later. */
type Repeats = { id: string; signature: string; count: number; first: number; last: number };

/**
 * Pattern `novel`: a signature seen `supervise.incidentRepeats` times within a day (since its last incident ended) is an
 * incident; it stays one until it has not been seen for its beat: twice its usual gap between occurrences, and at least
 * `supervise.window`. So an error every four minutes is one incident, not one a window, and an hourly run that fails the
 * same way is one too.
 */
async function runNovelCheck(context: SuperviseContext): Promise<CheckResult> {
  const known = knownToolNames(context);
  recordLines(context, [...(await paneErrors(context)), ...growErrors(context), ...jobErrors(context, known), ...auditErrors(context, known)]);
  const { incidentRepeats, window } = context.config.supervise;
  const now = context.now();
  const counted = context.state.db
    .query<Repeats, [number, number]>(
      `SELECT o.signature AS id, s.signature AS signature, count(*) AS count, min(o.at) AS first, max(o.at) AS last
       FROM occurrences o JOIN signatures s ON s.id = o.signature
       WHERE o.at >= ?1 AND o.at <= ?2
         AND o.at > coalesce((SELECT max(resolved_at) FROM incidents i WHERE i.pattern = 'novel' AND i.key = o.signature AND i.state = 'resolved'), 0)
       GROUP BY o.signature`,
    )
    // A line stamped a little ahead (another process's clock) counts; one far ahead would keep its incident open.
    .all(now - REPEATS_WITHIN_MS, now + window);
  const repeated = counted.filter((row) => {
    if (context.state.openIncidentOf("novel", row.id) === undefined) return row.count >= incidentRepeats;
    const beat = Math.max(window, row.count > 1 ? (2 * (row.last - row.first)) / (row.count - 1) : 0);
    return now - Math.min(row.last, now) <= beat;
  });
  const findings: Finding[] = repeated.map((row) => {
    const excerpt = context.state.db
      .query<{ line: string; at: number }, [string, number, number, number]>(
        "SELECT line, at FROM occurrences WHERE signature = ? AND at >= ? AND at <= ? ORDER BY at DESC LIMIT ?",
      )
      .all(row.id, row.first, now + window, EXCERPT_LINES)
      .reverse()
      .map((occurrence) => `${new Date(occurrence.at).toISOString()} ${occurrence.line}`)
      .join("\n");
    const latest = excerpt.split("\n").at(-1)?.replace(/^\S+ /, "") ?? row.signature;
    // An open incident keeps its title: the latest line varies (numbers, names), and a new title would be news.
    const title = context.state.openIncidentOf("novel", row.id)?.title ?? `repeated error: ${latest}`;
    return {
      key: row.id,
      title,
      detail: `${row.count} times within ${formatDuration(Math.max(window, now - row.first))} (signature ${row.id}: ${row.signature})`,
      excerpt,
    };
  });
  if (findings.length === 0) return { state: "ok", detail: "no error outside the known patterns repeats", findings };
  return { state: "warn", detail: findings.map((finding) => finding.title).join("; "), findings };
}

export const novelCheck: Check = { name: "novel", run: runNovelCheck };
