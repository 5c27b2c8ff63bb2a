import { join } from "node:path";

/** A running `link-swapper.ts` child process; `stop` kills it by its pid and waits for it to end. */
export type LinkSwapper = { stop(): Promise<void>; [Symbol.asyncDispose](): Promise<void> };

/**
 * Starts a child process that swaps `path` between a plain file (or directory) and a link to `linkTarget`
 * until stopped. Resolves once it has begun (at most 10 s).
 */
export async function startLinkSwapper(path: string, linkTarget: string, kind: "file" | "directory" = "file"): Promise<LinkSwapper> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "link-swapper.ts"), path, linkTarget, kind], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const started = await Promise.race([reader.read().then(() => true), Bun.sleep(10_000).then(() => false)]);
  reader.releaseLock();
  if (!started) {
    child.kill("SIGKILL");
    throw new Error("the link swapper did not start within 10 s");
  }
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      child.kill("SIGKILL");
      await child.exited;
    })();
    return stopped;
  };
  return { stop, [Symbol.asyncDispose]: stop };
}
