// Debian's Chromium for the web room's tests and bench: started by this process (its own process group, a fresh
// profile, HOME in a temporary folder), driven by playwright-core over CDP, killed by its pid's group when done.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** Where Debian's chromium package puts the browser (`.ci/run` installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** A running Chromium: the browser to drive, its pid (the leader of its process group) and how to end it. */
export type RunningChromium = { browser: Browser; pid: number } & AsyncDisposable;

// Quiet on a closed network: no background requests, no updates, no sync, no first-run pages.
const FLAGS = [
  "--headless",
  "--disable-gpu",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-dev-shm-usage",
  // Each new window (a browser context is one) would otherwise load the address bar's popups (the suggestions and the AI
  // mode's, each a page of its own) in a renderer beside the page under test: on two cores they take a good share of the
  // CPU while that page loads.
  "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
  "--remote-debugging-port=0",
  "--remote-debugging-address=127.0.0.1",
];

/** Starts Chromium and connects to it, within `timeoutMs`; killed when it does not answer in time. */
export async function startChromium(timeoutMs = 30_000): Promise<RunningChromium> {
  const home = mkdtempSync(join(tmpdir(), "org-chromium-"));
  const root = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
  const child = Bun.spawn([CHROMIUM, ...FLAGS, ...root, `--user-data-dir=${join(home, "profile")}`, "about:blank"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_CACHE_HOME: join(home, "cache") },
    stdout: "ignore",
    stderr: "pipe",
    stdin: "ignore",
    detached: true,
  });
  const kill = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  };
  const end = async () => {
    kill();
    await Promise.race([child.exited, Bun.sleep(5_000)]);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const endpoint = await devToolsEndpoint(child.stderr as ReadableStream<Uint8Array>, timeoutMs);
    const browser = await chromium.connectOverCDP(endpoint, { timeout: timeoutMs });
    return {
      browser,
      pid: child.pid,
      async [Symbol.asyncDispose]() {
        await Promise.race([browser.close().catch(() => undefined), Bun.sleep(5_000)]);
        await end();
      },
    };
  } catch (error) {
    await end();
    throw error;
  }
}

/** The `DevTools listening on ws://…` line Chromium prints on stderr once it is up. */
async function devToolsEndpoint(stderr: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  let text = "";
  try {
    for (;;) {
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(text)?.[1];
      if (found) return found;
      const read = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
      if (read === undefined) throw new Error(`chromium did not start within ${timeoutMs} ms: ${text.slice(-2000)}`);
      if (read.done) throw new Error(`chromium exited before it listened: ${text.slice(-2000)}`);
      text += decoder.decode(read.value, { stream: true });
    }
  } finally {
    // Chromium keeps writing to stderr; drain it so it never blocks on a full pipe.
    reader.releaseLock();
    stderr.pipeTo(new WritableStream()).catch(() => undefined);
  }
}
