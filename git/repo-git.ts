import { realpathSync } from "node:fs";
import type { SimpleGit } from "simple-git";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";

// One git process at a time per repository (its worktrees included): parallel git commands collide on
// index.lock and ref locks. Keyed by the real path of the main repository folder.
const locks = new Map<string, FifoSemaphore>();

// simple-git writes no stdin for an empty string and never closes it, so git would wait for ever: empty input
// goes as an empty Buffer, which it writes and closes.
const EMPTY_INPUT = Buffer.alloc(0);
// A full object id: SHA-1 (40 hex digits) or SHA-256 (64).
const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** A git command failed; the message carries git's own words. */
export class GitCommandError extends Error {
  override name = "GitCommandError";
}

/**
 * git for one repository through simple-git (≥ 4.0.2): one process at a time, hooks off, no signing, a fixed
 * identity, and stdin for `update-ref --stdin` ref transactions and `mktree`.
 */
export class RepoGit {
  readonly repoDir: string;
  readonly #lock: FifoSemaphore;
  readonly #instances = new Map<string, SimpleGit>();
  #stdin: string | undefined;

  constructor(repoDir: string) {
    this.repoDir = realpathSync(repoDir);
    let lock = locks.get(this.repoDir);
    if (!lock) {
      lock = new FifoSemaphore(1);
      locks.set(this.repoDir, lock);
    }
    this.#lock = lock;
  }

  async #git(directory: string): Promise<SimpleGit> {
    let git = this.#instances.get(directory);
    if (!git) {
      // Loaded at the first git command: most runs of `org chat` never run one (simple-git and its logger cost start-up).
      const { simpleGit } = await import("simple-git");
      git = simpleGit({
        baseDir: directory,
        maxConcurrentProcesses: 1,
        trimmed: false,
        // A user's core.autocrlf would check promoted tools out with CRLF, and their metadata hashes would no longer match.
        config: [
          "core.hooksPath=/dev/null",
          "core.autocrlf=false",
          "commit.gpgSign=false",
          "tag.gpgSign=false",
          "user.name=org toolsmith",
          "user.email=toolsmith@org.invalid",
        ],
        // Pointing hooks at /dev/null turns them off; simple-git asks to be told that this -c is meant.
        unsafe: { allowUnsafeHooksPath: true },
        input: () => (this.#stdin === "" ? EMPTY_INPUT : this.#stdin),
      });
      // simple-git waits a further 50 ms after a command that printed nothing on stdout or stderr, in case output
      // comes late; it cannot, since simple-git already waits for the process's 'close' (its streams ended). Most
      // ref and worktree commands print nothing, so that wait was most of a promote's or `tool list`'s git time.
      // Marking stdout as having spoken once it ends skips it (the empty chunk adds nothing to the output).
      git.outputHandler((_command, stdout) => {
        stdout.once("end", () => stdout.emit("data", Buffer.alloc(0)));
      });
      this.#instances.set(directory, git);
    }
    return git;
  }

  /** Runs `git <args>` in `directory` (the repository by default), after every earlier command of this repo. */
  async run(args: string[], options: { directory?: string; stdin?: string; signal?: AbortSignal } = {}): Promise<string> {
    const release = await this.#lock.acquire({ signal: options.signal });
    try {
      this.#stdin = options.stdin;
      return await (await this.#git(options.directory ?? this.repoDir)).raw(args);
    } catch (error) {
      const message = error instanceof Error ? error.message.trim() : String(error);
      throw new GitCommandError(`git ${args[0]} failed: ${message}`, { cause: error });
    } finally {
      this.#stdin = undefined;
      release();
    }
  }

  /**
   * The contents of blobs by object id, read with one `git cat-file --batch` (after every earlier command of this
   * repo) rather than a process each; throws when an id is no object id, or names no blob git has.
   */
  async readBlobs(ids: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Map<string, Buffer>> {
    const wanted = [...new Set(ids)];
    const bad = wanted.find((id) => !OBJECT_ID.test(id));
    if (bad !== undefined) throw new GitCommandError(`git cat-file failed: ${JSON.stringify(bad.slice(0, 80))} is no object id`);
    const blobs = new Map<string, Buffer>();
    if (wanted.length === 0) return blobs;
    const release = await this.#lock.acquire({ signal: options.signal });
    try {
      const child = Bun.spawn(["git", "-c", "core.hooksPath=/dev/null", "cat-file", "--batch"], {
        cwd: this.repoDir,
        stdin: new TextEncoder().encode(`${wanted.join("\n")}\n`),
        stdout: "pipe",
        stderr: "pipe",
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const [out, err, code] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited]);
      if (code !== 0) throw new GitCommandError(`git cat-file failed: ${err.trim()}`);
      const bytes = Buffer.from(out);
      let at = 0;
      for (const id of wanted) {
        const end = bytes.indexOf(0x0a, at);
        const header = bytes.toString("utf8", at, end < 0 ? bytes.length : end).split(" ");
        if (end < 0 || header[0] !== id || header[1] !== "blob" || !/^\d+$/.test(header[2] ?? ""))
          throw new GitCommandError(`git cat-file failed: ${id} is no blob git has (${header.join(" ").slice(0, 120)})`);
        const size = Number(header[2]);
        blobs.set(id, bytes.subarray(end + 1, end + 1 + size));
        at = end + 1 + size + 1;
      }
      return blobs;
    } finally {
      release();
    }
  }

  /** The commit a revision names, or undefined when it names none. */
  async resolveCommit(revision: string): Promise<string | undefined> {
    try {
      return (await this.run(["rev-parse", "--verify", "--quiet", "--end-of-options", `${revision}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}
