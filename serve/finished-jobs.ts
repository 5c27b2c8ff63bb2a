// Serve's finished jobs read from outside serve (`org grow`): the result files under `.org/serve/results/`, listed
// without serve's log open, each read without following a link, bounded, and checked against what serve writes.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { canonicalJson } from "../config/canonical-json.ts";
import { valueSealHolds } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { roomEventSchemas } from "../room/room-event.ts";
import { readFileNoFollow } from "../workspace/change-set.ts";
import { JOB_ID, type JobResult, RESULT_SEAL_LABEL, SERVE_STATE_DIR } from "./jobs-log.ts";

/** A result larger than this is not read. */
const MAX_RESULT_BYTES = 4 * 1024 * 1024;

const ResultFile = z.object({
  id: z.string().regex(JOB_ID),
  state: z.enum(["done", "failed"]),
  sessionId: z.string().optional(),
  events: z.array(z.unknown()),
  finishedAt: z.number(),
  seal: z.string().optional(),
});

/**
 * One finished job: its id, when it finished (its result file's mtime, ms: written once, atomically, as it ended), and its
 * result read on demand, `sealed` when serve wrote it here (its seal holds under the user's key, for this job's id).
 */
export type FinishedJob = { id: string; finishedAt: number; result(): (JobResult & { sealed: boolean }) | undefined };

/**
 * The jobs of `workspaceDir` that finished from `since` to `until` (ms, both included), oldest first (ties by id):
 * regular result files only, none over 4 MiB. A result is read when asked; undefined when it is not what serve
 * writes. Its events are the room's events it holds (any other is passed over).
 */
export function finishedJobs(
  workspaceDir: string,
  window: { since: number; until: number },
  seals: { home: string | undefined } = { home: userOrgDir() },
): FinishedJob[] {
  const resultsDir = join(workspaceDir, SERVE_STATE_DIR, "results");
  let names: string[];
  try {
    names = readdirSync(resultsDir);
  } catch {
    return [];
  }
  const jobs: FinishedJob[] = [];
  for (const name of names) {
    const id = name.endsWith(".json") ? name.slice(0, -".json".length) : "";
    if (!JOB_ID.test(id)) continue;
    const path = join(resultsDir, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size > MAX_RESULT_BYTES) continue;
    const finishedAt = Math.floor(stat.mtimeMs);
    if (finishedAt < window.since || finishedAt > window.until) continue;
    jobs.push({ id, finishedAt, result: () => readResult(path, id, seals.home) });
  }
  return jobs.sort((a, b) => a.finishedAt - b.finishedAt || a.id.localeCompare(b.id));
}

function readResult(path: string, id: string, home: string | undefined): (JobResult & { sealed: boolean }) | undefined {
  const bytes = readFileNoFollow(path, MAX_RESULT_BYTES);
  if (!bytes) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = ResultFile.safeParse(value);
  if (!parsed.success) return undefined;
  const { seal, ...held } = z.looseObject({ seal: z.unknown().optional() }).parse(value);
  const sealed = parsed.data.id === id && typeof seal === "string" && valueSealHolds(home, RESULT_SEAL_LABEL, canonicalJson(held), seal);
  const events = parsed.data.events.flatMap((event) => {
    const read = roomEventSchemas().RoomEvent.safeParse(event);
    return read.success ? [read.data] : [];
  });
  const { seal: _seal, ...result } = parsed.data;
  return { ...result, events, sealed };
}
