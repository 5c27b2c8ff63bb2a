import { orgCommand } from "../config/org-bun-command.ts";

/** `org scripted-server --script playground` as a newcomer starts it: a real process, its URL, and how to stop it. */
export type PlaygroundServer = { url: string; stop(): Promise<void> } & AsyncDisposable;

/**
 * Starts `org scripted-server --port 0 --script playground --no-delays` (plus `scripts`, given the same way) in `cwd`
 * and waits at most 30 s for its listening line; the process is killed when it does not get there. Without the
 * playground's pacing (a person's view of a reply streaming): it added seconds of waiting to every walk of a page.
 */
export async function startPlaygroundServer(cwd: string, scripts: readonly string[] = ["playground"]): Promise<PlaygroundServer> {
  const child = Bun.spawn(orgCommand(["scripted-server", "--port", "0", "--no-delays", ...scripts.flatMap((script) => ["--script", script])]), {
    cwd,
    stdout: "pipe",
    stderr: "ignore",
    stdin: "ignore",
  });
  const reader = child.stdout.getReader();
  let first = "";
  const deadline = Date.now() + 30_000;
  while (!first.includes("\n") && Date.now() < deadline) {
    const read = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
    if (read === undefined || read.done) break;
    first += new TextDecoder().decode(read.value);
  }
  reader.releaseLock();
  const url = /listening on (http:\/\/\S+) /.exec(first)?.[1];
  if (!url) {
    child.kill("SIGKILL");
    throw new Error(`the playground's scripted server did not start: ${first}`);
  }
  const stop = async () => {
    child.kill();
    await child.exited;
  };
  return { url, stop, [Symbol.asyncDispose]: stop };
}
