import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { sealValue, valueSealHolds } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { ORG_DIR, TELEGRAM_DIR } from "../config/workspace-paths.ts";
import { BASELINE_FILE } from "../fitness/fitness-baseline.ts";
import { GATE_KEY_FILE } from "../fitness/gate-key.ts";
import { type BackupManifest, type ManifestEntry, REPO_STATE_PREFIX, WORKSPACE_STATE_PREFIX } from "./backup-manifest.ts";

// Some of org's state grants something when it is read back: the gate's key signs what the gate vouches for (fitness
// reports, the baseline, the records of checks that passed); the promotion journal is finished by the next promote or
// rollback, moving main to the commit it names; serve's job log runs again, as the person's turns, the jobs it accepted
// and never finished; the Telegram bot's state runs, as its chats' turns, the messages it took and never began. A
// backup nobody of this user's took could bring its own of each (a key that signed a passing report for a candidate no
// gate judged; a journal "interrupted" on the way to the attacker's commit; a job, or a chat's message, whose text is
// the attacker's). So a backup carries the user's seal of each such entry's SHA-256 (made with the key that stays in the
// user's org folder), and a restore keeps one only when its seal holds, as it does MCP confirmations.

/** The entry, beside the checkout's state, holding the user's seals of the granting entries' digests, by entry name. */
export const STATE_SEALS_FILE = join(ORG_DIR, "backup-seals.json");
const StateSeals = z.record(z.string().max(4096), z.string().max(200));

/** What grants something, under `.org/`, and what a restore says when it leaves one out. */
const GRANTING = [
  {
    path: GATE_KEY_FILE,
    where: "checkout",
    said:
      "the gate's key in the backup is not sealed by your org's key (the backup was made elsewhere, altered, or by an older org): " +
      "it and the baseline it signed were left out, so no fitness report or passed check of the backup counts; the gate judges each candidate anew",
  },
  {
    path: join(ORG_DIR, "promotion-journal.json"),
    where: "checkout",
    said:
      "the promotion journal in the backup is not sealed by your org's key: it was left out, " +
      "so no promote or rollback finishes what it names; main is as the backup's bundle has it",
  },
  {
    path: join(ORG_DIR, "serve", "jobs.wal"),
    where: "workspace",
    said: "serve's job log in the backup is not sealed by your org's key: it was left out, so no job it accepted runs again as your turn",
  },
  {
    path: join(TELEGRAM_DIR, "state.json"),
    where: "workspace",
    said:
      "the Telegram bot's state in the backup is not sealed by your org's key: it was left out, so no " +
      "message it took runs as a chat's turn; org telegram starts afresh",
  },
] as const;

const label = (name: string) => `backup entry ${name}`;

/** A granting file's entry name in a backup of a checkout and workspace (one folder when `same`). */
function entryName(grant: (typeof GRANTING)[number], same: boolean): string {
  const prefix = grant.where === "checkout" || same ? REPO_STATE_PREFIX : WORKSPACE_STATE_PREFIX;
  return `${prefix}${grant.path.slice(ORG_DIR.length + 1)}`;
}

/**
 * The user's seals of the granting entries among `entries` (each over its SHA-256), as the seals file's text; undefined
 * when there is none, or nowhere to keep the user's key (the restore will not believe them then, and says so).
 */
export function stateSeals(entries: readonly ManifestEntry[], same: boolean, env?: NodeJS.ProcessEnv): string | undefined {
  const names = new Set(GRANTING.map((grant) => entryName(grant, same)));
  const granting = entries.filter((entry) => names.has(entry.name));
  if (granting.length === 0) return undefined;
  try {
    const seals = granting.map((entry) => [entry.name, sealValue(userOrgDir(env), label(entry.name), entry.sha256)]);
    return `${JSON.stringify(Object.fromEntries(seals), null, 2)}\n`;
  } catch {
    return undefined;
  }
}

/** What a restore did with the granting files it put back: which it kept (this user sealed them), and what it said of the others. */
export type RestoredGrants = { kept: string[]; said: string[]; journalKept: boolean };

/**
 * Keeps each granting file a restore wrote only when the backup carried this user's seal of its entry's digest (the
 * restore checked the file against that digest as it wrote it); otherwise removes it (with the gate key, the baseline
 * it signed: its reports stay, shown as not this gate's), and says so. The seals file is removed either way.
 */
export function checkRestoredGrants(
  places: { checkoutDir: string; workspaceDir: string },
  manifest: BackupManifest,
  env?: NodeJS.ProcessEnv,
): RestoredGrants {
  const sealsPath = join(places.checkoutDir, STATE_SEALS_FILE);
  let seals: Record<string, string> = {};
  try {
    seals = existsSync(sealsPath) ? StateSeals.parse(JSON.parse(readFileSync(sealsPath, "utf8"))) : {};
  } catch {
    seals = {};
  }
  rmSync(sealsPath, { force: true });
  const home = userOrgDir(env);
  const outcome: RestoredGrants = { kept: [], said: [], journalKept: false };
  for (const grant of GRANTING) {
    const name = entryName(grant, manifest.workspace.same);
    const entry = manifest.entries.find((candidate) => candidate.name === name);
    if (entry === undefined) continue;
    const seal = seals[name];
    if (seal !== undefined && valueSealHolds(home, label(name), entry.sha256, seal)) {
      outcome.kept.push(grant.path);
      if (grant.path.endsWith("promotion-journal.json")) outcome.journalKept = true;
      continue;
    }
    const dir = grant.where === "checkout" ? places.checkoutDir : places.workspaceDir;
    rmSync(join(dir, grant.path), { force: true });
    if (grant.path === GATE_KEY_FILE) rmSync(join(dir, BASELINE_FILE), { force: true });
    outcome.said.push(grant.said);
  }
  return outcome;
}
