import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { openPrivateCopy, type PrivateCopy, refreshPrivateCopy } from "./private-copy.ts";
import { SecretFileScan } from "./secret-files.ts";
import { releaseAsSpare, takeSpare } from "./spare-copy.ts";

// Secret scans kept at once (one per workspace and list of secret paths).
const REMEMBERED_SCANS = 8;

/** Where each session's private copy lives: `.org/workspaces/<session>`. */
export const COPIES_DIR = join(ORG_DIR, "workspaces");

/**
 * The sessions' private copies of the workspace (the write view), made where an entry point is assembled (the room
 * assembly, serve's handler, `org patch`) and carried on the tool context. One copy per session folder, kept between
 * calls so a refresh copies again only what changed; and one lock per folder, so two commands of a session (two
 * personas at once) never run on, or compare, the same copy together. The read view's scans of secret files are kept
 * here too, per workspace and list, so a repeated call reads only changed folders.
 */
export class WorkspaceCopies {
  readonly #copies = new Map<string, PrivateCopy>();
  readonly #locks = new Map<string, FifoSemaphore>();
  readonly #secretScans = new Map<string, SecretFileScan>();

  /**
   * The session's private copy, made or brought level with the workspace. A session's first call takes the
   * workspace's spare copy (one a closed session left, `spare-copy.ts`) when there is one, so it too copies only
   * what changed since.
   */
  sessionCopy(workspaceDir: string, sessionId: string | undefined, secretPaths: readonly string[]): PrivateCopy {
    const { root, copyDir } = copyPlace(workspaceDir, sessionId);
    ensurePrivateDir(root);
    // As root the sandbox runs as its own uid, which must own what it may write.
    const owner = process.getuid?.() === 0 ? SANDBOX_HOST_UID : undefined;
    const known = this.#copies.get(copyDir);
    if (known) {
      refreshPrivateCopy(known);
      return known;
    }
    const baselines = takeSpare(root, copyDir);
    const copy = openPrivateCopy({
      workspaceDir: resolve(workspaceDir),
      copyDir,
      secretPaths,
      ...(owner !== undefined ? { owner } : {}),
      ...(baselines ? { baselines } : {}),
    });
    this.#copies.set(copyDir, copy);
    return copy;
  }

  /** Waits until no other command of this session works on its copy; the release function lets the next one in. */
  lock(workspaceDir: string, sessionId: string | undefined, signal?: AbortSignal): Promise<() => void> {
    const { copyDir } = copyPlace(workspaceDir, sessionId);
    let lock = this.#locks.get(copyDir);
    if (!lock) {
      lock = new FifoSemaphore(1);
      this.#locks.set(copyDir, lock);
    }
    return lock.acquire(signal ? { signal } : {});
  }

  /**
   * A session is over: its copy becomes the workspace's spare (or is removed when there is one), so copies do not
   * pile up under `.org/workspaces/`, one per session (`keepSpare: false`: it is removed). Nothing happens for a
   * session that made none.
   */
  release(workspaceDir: string, sessionId: string | undefined, options: { keepSpare?: boolean } = {}): void {
    const { root, copyDir } = copyPlace(workspaceDir, sessionId);
    const copy = this.#copies.get(copyDir);
    if (!copy) return;
    this.#copies.delete(copyDir);
    this.#locks.delete(copyDir);
    if (options.keepSpare !== false && levelled(copy)) releaseAsSpare(copy, root);
    else rmSync(copyDir, { recursive: true, force: true });
  }

  /** The scan of `root`'s secret files under `secretPaths`, kept from the last call when there was one. */
  secretScan(root: string, secretPaths: readonly string[]): SecretFileScan {
    const key = `${root}\0${secretPaths.join("\0")}`;
    const scan = this.#secretScans.get(key) ?? new SecretFileScan(root, secretPaths);
    this.#secretScans.delete(key);
    this.#secretScans.set(key, scan);
    for (const stale of [...this.#secretScans.keys()].slice(0, -REMEMBERED_SCANS)) this.#secretScans.delete(stale);
    return scan;
  }

  /** Every session's copy removed (`org patch`, whose workspace is thrown away): none is kept as a spare. */
  discardAll(): void {
    for (const copy of this.#copies.values()) rmSync(copy.copyDir, { recursive: true, force: true });
    this.#copies.clear();
    this.#locks.clear();
  }
}

/** Brings a closing session's copy level, so what its last command left there unapplied is not kept; false when it cannot be. */
function levelled(copy: PrivateCopy): boolean {
  try {
    refreshPrivateCopy(copy);
    return true;
  } catch {
    return false;
  }
}

/** Where a session's copy lives: `root`, the workspace's copies folder, and `copyDir`, the session's own in it. */
function copyPlace(workspaceDir: string, sessionId: string | undefined): { root: string; copyDir: string } {
  const root = join(resolve(workspaceDir), COPIES_DIR);
  return { root, copyDir: join(root, safeName(sessionId ?? "default")) };
}

function safeName(session: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(session) ? session : new Bun.CryptoHasher("sha256").update(session).digest("hex").slice(0, 16);
}
