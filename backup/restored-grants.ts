import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { sealValue, valueSealHolds } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { BASELINE_FILE } from "../git/fitness-baseline.ts";
import { GATE_KEY_FILE, readRegularFile } from "../git/gate-key.ts";

// Two files of a checkout's `.org/` grant a promotion: the gate's key signs what the gate vouches for (fitness reports,
// the baseline, the records of checks that passed), and the promotion journal is finished by the next promote or
// rollback, moving main to the commit it names. A backup nobody of this user's took could bring its own of either (a key
// that signed a passing report for a candidate no gate judged; a journal "interrupted" on the way to the attacker's
// commit). So a backup carries the user's seal of each (made with the key that stays in the user's org folder), and a
// restore keeps one only when its seal holds, as it does MCP confirmations.

/** The entry beside a checkout's state in a backup: the user's seal of each granting file, by its path under the checkout. */
export const STATE_SEALS_FILE = join(ORG_DIR, "backup-seals.json");
const JOURNAL_FILE = join(ORG_DIR, "promotion-journal.json");
const StateSeals = z.record(z.string().max(200), z.string().max(200));

const label = (path: string) => `restored ${path}`;

/** The user's seals of the granting files of a checkout as a backup holds them (by path), as the seals file's text; undefined when there is nothing to seal or nowhere to keep the user's key. */
export function stateSeals(files: ReadonlyMap<string, string>, env?: NodeJS.ProcessEnv): string | undefined {
  if (files.size === 0) return undefined;
  try {
    const seals = Object.fromEntries([...files].map(([path, text]) => [path, sealValue(userOrgDir(env), label(path), text)]));
    return `${JSON.stringify(seals, null, 2)}\n`;
  } catch {
    // No folder of the user's: the restore will not believe these files, and says so.
    return undefined;
  }
}

/** A granting file's text, read without following a link (at most 1 MiB); undefined when there is no such regular file. */
function grantingText(path: string): string | undefined {
  const read = readRegularFile(path, 1024 * 1024);
  return read.ok ? read.text : undefined;
}

/** The gate's key of `repoDir` as a backup seals it (the promotion journal is sealed as the backup reads it). */
export function gateKeyText(repoDir: string): string | undefined {
  return grantingText(join(repoDir, GATE_KEY_FILE));
}

/** The backup-relative path of the gate's key and of the journal, as `stateSeals` takes them. */
export const SEALED_PATHS = { gateKey: GATE_KEY_FILE, journal: JOURNAL_FILE } as const;

/** What a restore did with the granting files it put back: which it kept (this user sealed them) and what it said of the others. */
export type RestoredGrants = { gateKey: boolean; journal: boolean; said: string[] };

/**
 * Keeps the restored checkout's gate key and promotion journal only when the backup carried this user's seal of each;
 * otherwise removes it (with the gate key, the baseline it signed: its reports stay, shown as not this gate's, and its
 * records of passed checks are not believed), and says so. The seals file is removed either way.
 */
export function checkRestoredGrants(checkoutDir: string, env?: NodeJS.ProcessEnv): RestoredGrants {
  const sealsPath = join(checkoutDir, STATE_SEALS_FILE);
  let seals: Record<string, string> = {};
  try {
    seals = existsSync(sealsPath) ? StateSeals.parse(JSON.parse(readFileSync(sealsPath, "utf8"))) : {};
  } catch {
    seals = {};
  }
  rmSync(sealsPath, { force: true });
  const home = userOrgDir(env);
  const kept = (path: string): boolean | undefined => {
    const full = join(checkoutDir, path);
    if (!existsSync(full)) return undefined;
    const seal = seals[path];
    const text = grantingText(full);
    if (seal !== undefined && text !== undefined && valueSealHolds(home, label(path), text, seal)) return true;
    rmSync(full, { force: true });
    return false;
  };
  const said: string[] = [];
  const gateKey = kept(GATE_KEY_FILE);
  if (gateKey === false) {
    rmSync(join(checkoutDir, BASELINE_FILE), { force: true });
    said.push(
      "the gate's key in the backup is not sealed by your org's key (the backup was made elsewhere, altered, or by an older org): it and the baseline it signed were left out, so no fitness report or passed check of the backup counts; the gate judges each candidate anew",
    );
  }
  const journal = kept(JOURNAL_FILE);
  if (journal === false)
    said.push(
      "the promotion journal in the backup is not sealed by your org's key: it was left out, so no promote or rollback finishes what it names; main is as the backup's bundle has it",
    );
  return { gateKey: gateKey === true, journal: journal === true, said };
}
