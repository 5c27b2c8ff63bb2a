import { rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { testKillPoint } from "../config/environment.ts";
import { takePidLock } from "../security/pid-lock.ts";
import { ensureOrgDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { CANDIDATE_REF_PATTERN, OBJECT_ID_PATTERN, PROMOTION_TAG_PATTERN } from "../git/ref-names.ts";
import { OrgError } from "../errors/org-error.ts";

const Sha = z.string().regex(OBJECT_ID_PATTERN, "must be a full commit id");

/** How far a promotion or rollback got; each step is done (and recorded) before the next starts. */
export const JOURNAL_STEPS = ["planned", "ref-moved", "baseline-followed", "checkout-synced", "restarted"] as const;

/** `.org/promotion-journal.json`: the ref change under way, written before each step is left behind. */
export const JournalEntry = z.strictObject({
  op: z.enum(["promote", "rollback"]),
  step: z.enum(JOURNAL_STEPS),
  /** main before the change; the transaction moves it from here only. */
  mainBefore: Sha,
  /** The commit main moves to (the merge, or the revert). */
  newMain: Sha,
  /** Created in the same transaction as main's move. */
  tag: z.string().regex(PROMOTION_TAG_PATTERN),
  /** A ref that must still name this commit when main moves (the candidate branch a promotion merges). */
  verify: z.strictObject({ ref: z.string().regex(CANDIDATE_REF_PATTERN), commit: Sha }).optional(),
  /** For a rollback: the promotion tag it undoes. */
  undoes: z.string().regex(PROMOTION_TAG_PATTERN).optional(),
  /** For a promotion: the counts of the passing report it merges, which the baseline takes once main has moved. */
  passes: z.record(z.string().max(300), z.number().int().min(0)).optional(),
  /** Whether current is restarted and must come back healthy at newMain. */
  restart: z.boolean(),
  startedAt: z.iso.datetime(),
});
export type JournalEntry = z.infer<typeof JournalEntry>;

/** Another promote or rollback holds the lock, or org's own state files are damaged; the message says what to do. */
export class PromotionBlockedError extends OrgError {
  override name = "PromotionBlockedError";
}

/**
 * The promotion lock and journal of one repository, under `.org/`. One holder at a time (a lock file naming
 * its pid, taken with O_EXCL; a dead holder's lock is taken over). Each journal write is atomic (write, fsync,
 * rename), so a kill -9 leaves either the old entry or the new one.
 */
export class PromotionJournal {
  readonly #lockPath: string;
  #release: (() => void) | undefined;
  readonly #journalPath: string;
  #points = 0;
  readonly #killAt = testKillPoint();
  /** Whether the lock was taken over from a holder that died (its git commands may have left lock files). */
  tookOverStaleLock = false;

  constructor(readonly repoDir: string) {
    const orgDir = ensureOrgDir(repoDir);
    this.#lockPath = join(orgDir, "promotion.lock");
    this.#journalPath = join(orgDir, "promotion-journal.json");
  }

  /** Takes the lock, or throws PromotionBlockedError naming the live holder. */
  lock(): void {
    const lock = takePidLock(this.#lockPath, "promote or rollback");
    if (lock.kind === "busy") {
      throw new PromotionBlockedError(
        `another promote or rollback (pid ${lock.holder.pid}, since ${lock.holder.since}) is running in this repository; wait for it to finish`,
      );
    }
    if (lock.kind === "stuck") throw new PromotionBlockedError(`could not take ${this.#lockPath}; remove it if no promote or rollback is running`);
    this.#release = lock.release;
    this.tookOverStaleLock = lock.tookOver;
    this.point();
  }

  unlock(): void {
    this.#release?.();
    this.#release = undefined;
  }

  /** The interrupted change, if a run died before finishing one. */
  read(): JournalEntry | undefined {
    let text: string;
    try {
      text = readPrivateFile(this.#journalPath);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw error;
    }
    try {
      return JournalEntry.parse(JSON.parse(text));
    } catch (error) {
      throw new PromotionBlockedError(
        `${this.#journalPath} is damaged ` +
          `(${error instanceof Error ? error.message.split("\n")[0] : String(error)}); compare main with the ` +
          `promote/ and rollback/ tags, then delete it`,
      );
    }
  }

  write(entry: JournalEntry): void {
    writePrivateFile(this.#journalPath, `${JSON.stringify(JournalEntry.parse(entry), null, 2)}\n`, { durable: true });
    this.point();
  }

  clear(): void {
    rmSync(this.#journalPath, { force: true });
    this.point();
  }

  /** A point a test may kill this process at (ORG_TEST_KILL_AT=N: the N-th point). */
  point(): void {
    this.#points += 1;
    if (this.#killAt === this.#points) process.kill(process.pid, "SIGKILL");
  }
}
