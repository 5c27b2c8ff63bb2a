// `org web` started as a user starts it (a real process, its own workspace and config, org's code copied so the
// checkout's promoted tools and HEAD play no part), a scripted model server, and Chromium; each stopped by its pid.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { writeConfirmedConfig } from "./confirmed-config.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import type { ScriptInput } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { startChromium } from "./chromium.ts";
import { orgClone, orgCodeCopy } from "./org-clone.ts";
import { startOrgServe } from "./org-serve-process.ts";

export type WebRoomFixture = {
  /** The origin org web listens on, and the URL it printed (with its login token). */
  origin: string;
  loginUrl: string;
  /** What org web printed on stdout. */
  stdout: string;
  workspace: string;
  checkoutDir: string;
  modelUrl: string;
  browser: Awaited<ReturnType<typeof startChromium>>["browser"];
  /** A new browser context (its own cookies) with a page, logged in unless `login` is false. */
  open(options?: { width?: number; height?: number; login?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  /** Stops the model server (the pid of its listener stays bound to this process): an incident for a supervisor. */
  stopModel(): Promise<void>;
  /** What org web wrote on stderr, once it stopped. */
  stop(): Promise<string>;
} & AsyncDisposable;

/** Where screenshots go: ORG_WEB_SCREENSHOTS (set by `npm run web:screenshots`) or a folder of the test's own. */
export function screenshotsDir(): string {
  const dir = process.env.ORG_WEB_SCREENSHOTS ?? join(tmpdir(), "org-web-screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Starts the model server with `script`, `org web --port 0` on a workspace with `config`, and Chromium. */
export async function startWebRoom(options: {
  script: ScriptInput;
  config: unknown;
  args?: string[];
  env?: Record<string, string>;
  /**
   * `clone`: org runs from a git clone of its code (its candidates and promotions), without its test files (the gate
   * would run the core tests a tool change can reach, minutes of a test's time); default a plain copy.
   */
  checkout?: "copy" | "clone";
}): Promise<WebRoomFixture> {
  const workspace = mkdtempSync(join(tmpdir(), "org-web-room-"));
  // The test is the person who wrote the config: what of it waits for 'org config trust' is confirmed.
  writeConfirmedConfig(workspace, options.config);
  const model = await startScriptedServer({ script: options.script });
  const code =
    options.checkout === "clone" ? orgClone("org-web-clone-", { withoutGeneratedTools: true, onlyTests: [] }) : orgCodeCopy("org-web-code-");
  const cleanup: (() => unknown)[] = [() => rmSync(workspace, { recursive: true, force: true }), () => code[Symbol.dispose]()];
  let modelUp = true;
  const stopModel = async () => {
    if (modelUp) await model[Symbol.asyncDispose]();
    modelUp = false;
  };
  cleanup.push(stopModel);
  try {
    const web = await startOrgServe({
      workspace,
      modelUrl: model.url,
      command: "web",
      checkoutDir: code.dir,
      ...(options.args ? { args: options.args } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    let stderr: string | undefined;
    const stop = async () => {
      if (stderr === undefined) {
        await web.stop();
        stderr = await new Response(web.child.stderr as ReadableStream).text();
      }
      return stderr;
    };
    cleanup.push(stop);
    const chrome = await startChromium();
    cleanup.push(() => chrome[Symbol.asyncDispose]());
    return {
      origin: web.url,
      loginUrl: web.loginUrl,
      stdout: web.stdout,
      workspace,
      checkoutDir: code.dir,
      modelUrl: model.url,
      browser: chrome.browser,
      async open(view = {}) {
        const context = await chrome.browser.newContext({ viewport: { width: view.width ?? 1280, height: view.height ?? 900 } });
        context.setDefaultTimeout(20_000);
        const page = await context.newPage();
        if (view.login !== false) await page.goto(web.loginUrl);
        return { context, page };
      },
      stopModel,
      stop,
      async [Symbol.asyncDispose]() {
        for (const step of cleanup.reverse()) await step();
      },
    };
  } catch (error) {
    for (const step of cleanup.reverse()) await step();
    throw error;
  }
}
