import type { BrowserContext, Page, Request } from "playwright-core";
import type { BrowserSettings } from "../config/browser-settings.ts";
import { egressAuditEntry } from "../sandbox/egress-audit-entry.ts";
import type { EgressRequest } from "../sandbox/egress-run.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import { BROWSER_DOWNLOADS, BrowserUnavailableError } from "./browser-binary.ts";
import { shownUrl } from "./browser-call-error.ts";
import { launchSandboxedBrowser, type SandboxedBrowser } from "./browser-launch.ts";
import { RefNames } from "./browser-snapshot.ts";
import type { ActionClock } from "./action-clock.ts";
import { sleep } from "../concurrency/sleep.ts";
import { answeredWithin, PageUnresponsiveError } from "./page-unresponsive-error.ts";
import type { Capabilities, ToolContext } from "./define-tool.ts";

/** What the browser uses beside every tool's context: the person to ask about a new host, and the secrets no page gets. */
export type BrowserCallContext = ToolContext & Pick<Capabilities, "askPerson" | "outboundSecrets">;

/** One running browser of a session: its sandboxed process, its context (fresh, in memory) and the page in front. */
export type RunningBrowser = {
  sandboxed: SandboxedBrowser;
  context: BrowserContext;
  page: Page;
  /** What happened since the last answer that the model should hear (a popup, a download, a dialog, a refusal). */
  notices: string[];
  /** The refs and their lines of the last snapshot the model was given, and the page's address then. */
  shown: { url: string; refs: Map<string, string> } | undefined;
  /** Windows the page opened that the model has not been shown yet (the newest is shown at the next answer). */
  opened: Page[];
  /** The model's names of the page's refs. */
  refNames: RefNames;
  /** Set when the browser ended without being closed (killed, crashed, out of memory). */
  ended: boolean;
};

/** Shows the newest window a page opened, if one did since the last answer; says so. */
export function adoptOpened(running: RunningBrowser): void {
  const popup = running.opened.at(-1);
  if (!popup) return;
  running.opened = [];
  if (popup.isClosed()) return;
  running.page = popup;
  running.notices.push(`the page opened a new window (${popup.url() || "loading"}); it is now the page shown`);
}

/** How long a killed browser's process tree is waited for before org goes on (SIGKILL ends it in milliseconds). */
const ABANDON_WAIT_MS = 5_000;

/** The page Chromium shows when a navigation fails. */
const CHROME_ERROR_PAGE = "chrome-error://chromewebdata/";

/** Test seams only: the guard's DNS table and addresses taken as public (servers the test runs on 127.0.0.1). */
export type BrowserSeams = Pick<EgressRequest, "resolver" | "treatAsPublic">;

/**
 * The browsers of one assembled tool set: one per room session (keyed on its scratch folder), started at its first
 * action, closed on `close`, after `idleSeconds` unused, or with org (the sandbox's lifeline). A browser that ended on
 * its own is noticed at the next action, which starts a new one and says the page was lost.
 */
export class BrowserSessions {
  readonly #sessions = new Map<string, BrowserSession>();
  constructor(
    readonly settings: BrowserSettings,
    readonly seams: BrowserSeams = {},
  ) {}

  /** The session a call belongs to. */
  of(context: ToolContext): BrowserSession {
    const key = scratchDirFor(context);
    let session = this.#sessions.get(key);
    if (!session) {
      const created = new BrowserSession(this, key, () => {
        // A closed session's late idle timer must not forget the session that took its place.
        if (this.#sessions.get(key) === created) this.#sessions.delete(key);
      });
      session = created;
      this.#sessions.set(key, session);
    }
    return session;
  }

  /** Closes the browser of the session at `place`, if one runs (its room closed). */
  async closeSession(place: { workspaceDir: string; sessionId?: string }): Promise<void> {
    await this.#sessions.get(scratchDirFor(place))?.close();
  }

  /** Closes every browser (tests, and an entry point that ends its sessions). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((session) => session.close()));
  }
}

/** One session's browser: started when first needed, the call it serves now (whose person answers a new host). */
export class BrowserSession {
  #running: RunningBrowser | undefined;
  #starting: Promise<RunningBrowser> | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;
  /** The call being served: a page's connection to a host on neither list asks its person, and is audited as its. */
  #current: BrowserCallContext | undefined;
  /** The last call served: what a page does between calls is audited as its (a script's navigation, a late download). */
  #last: BrowserCallContext | undefined;
  /** The address the call being served opens; its host is asked about even before a page is shown. */
  #openingUrl: string | undefined;
  /** The hosts the main frame's navigations of the call being served went to (a redirect's too). */
  readonly #navigationHosts = new Set<string>();
  /** Whether the main frame committed a navigation during the call being served: until then it shows the page before. */
  #committed = false;
  /** The clock of the call being served, stopped while one of its questions waits for the person. */
  #clock: ActionClock | undefined;

  constructor(
    readonly owner: BrowserSessions,
    readonly scratchDir: string,
    readonly forget: () => void,
  ) {}

  /**
   * The running browser for this call, started if there is none; `lost` names the page a browser that ended on its own
   * had open; `call` is the call's clock and the address an `open` goes to. The browser stays up until idle for
   * `idleSeconds`.
   */
  async running(
    context: BrowserCallContext,
    call: { clock?: ActionClock; opening?: string } = {},
  ): Promise<{ running: RunningBrowser; lost?: string; why?: string }> {
    this.#current = context;
    this.#openingUrl = call.opening;
    this.#navigationHosts.clear();
    this.#committed = false;
    this.#clock = call.clock;
    this.#last = context;
    if (this.#idle) clearTimeout(this.#idle);
    let lost: string | undefined;
    let why: string | undefined;
    const before = this.#running;
    if (before?.ended) {
      lost = before.page.url();
      why = before.sandboxed.process.killedFor;
      this.#running = undefined;
      await before.sandboxed.close().catch(() => undefined);
    }
    if (!this.#running) {
      this.#starting ??= this.start(context).finally(() => {
        this.#starting = undefined;
      });
      this.#running = await this.#starting;
    }
    return { running: this.#running, ...(lost !== undefined ? { lost } : {}), ...(why !== undefined ? { why } : {}) };
  }

  /** The running browser's sandboxed process, if one runs (`org doctor`'s check ends it; tests kill it). */
  get process(): RunningBrowser["sandboxed"]["process"] | undefined {
    return this.#running?.sandboxed.process;
  }

  /** Called after each action: the call is over, and the idle clock starts. */
  done(): void {
    this.#current = undefined;
    this.#openingUrl = undefined;
    this.#navigationHosts.clear();
    this.#committed = false;
    this.#clock = undefined;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => void this.close(), this.owner.settings.idleSeconds * 1000);
    this.#idle.unref();
  }

  /**
   * Ends a browser whose page stopped answering: its process tree is killed by pid at once (a polite close would wait
   * on the busy renderer), and what is left is closed within a bound. The session stays; its next action starts a new
   * browser. A browser still starting (a turn stopped during its start) is waited for, its start being bounded, and
   * killed as it comes up: else it would run on unused until `idleSeconds`.
   */
  async abandon(reason: string): Promise<void> {
    const running = this.#running ?? (await this.#starting?.catch(() => undefined));
    this.#running = undefined;
    if (!running) return;
    running.ended = true;
    running.sandboxed.process.kill(reason);
    await Promise.race([running.sandboxed.process.exited, Bun.sleep(ABANDON_WAIT_MS)]);
    await running.sandboxed.close().catch(() => undefined);
  }

  /** Ends the browser; the next action starts a new one. */
  async close(): Promise<boolean> {
    if (this.#idle) clearTimeout(this.#idle);
    const running = this.#running ?? (await this.#starting?.catch(() => undefined));
    this.#running = undefined;
    this.forget();
    if (!running) return false;
    running.ended = true;
    await running.sandboxed.close().catch(() => undefined);
    return true;
  }

  private async start(context: BrowserCallContext): Promise<RunningBrowser> {
    makeScratchRootPrivate(context.workspaceDir);
    const policy = context.sandboxPolicy;
    // Starting takes longer than an action on a busy machine: never less than 30 s.
    const timeoutMs = Math.max(30_000, this.owner.settings.actionTimeoutS * 1000);
    const sandboxed = await launchSandboxedBrowser({
      sandbox: context.sandbox,
      policy,
      executable: this.owner.settings.executable,
      scratchDir: this.scratchDir,
      timeoutMs,
      ...(policy.egress ? { egress: { rules: policy.egress, request: this.egressRequest() } } : {}),
    });
    try {
      // Playwright's set-up calls have no time limit of their own: a browser that connected and then stopped answering
      // would hold the call.
      return await answeredWithin(this.setUp(sandboxed), timeoutMs);
    } catch (error) {
      await sandboxed.close();
      if (error instanceof PageUnresponsiveError) throw new BrowserUnavailableError(`it started but did not answer within ${error.seconds} s`);
      throw error;
    }
  }

  /** The fresh context and page of a browser just connected to, watched. */
  private async setUp(sandboxed: SandboxedBrowser): Promise<RunningBrowser> {
    const browserContext = await sandboxed.browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    browserContext.setDefaultTimeout(this.owner.settings.actionTimeoutS * 1000);
    const page = await browserContext.newPage();
    const running: RunningBrowser = {
      sandboxed,
      context: browserContext,
      page,
      notices: [],
      opened: [],
      shown: undefined,
      refNames: new RefNames(),
      ended: false,
    };
    void sandboxed.process.exited.then(() => {
      running.ended = true;
    });
    await downloadsIntoScratch(sandboxed, page);
    this.watch(running, page);
    browserContext.on("page", (popup) => {
      this.watch(running, popup);
      running.opened.push(popup);
    });
    return running;
  }

  /** Audits each navigation of a page's main frame, dismisses its dialogs and notes its downloads. */
  private watch(running: RunningBrowser, page: Page): void {
    page.on("request", (request) => {
      // Only an open's navigations are looked up (`pageAsked`): a page navigating in a loop between calls adds nothing.
      if (this.#openingUrl === undefined || this.#navigationHosts.size >= 256 || !request.isNavigationRequest()) return;
      const host = hostOf(request.url());
      if (host !== undefined && mainFrameOf(request, page)) this.#navigationHosts.add(host);
    });
    page.on("framenavigated", (frame) => {
      if (frame !== page.mainFrame()) return;
      if (this.#openingUrl !== undefined) this.#committed = true;
      const url = frame.url();
      this.audit({ navigated: url });
      // Chromium's own page for a navigation that failed (a host the guard refused, a redirect to file:) shows nothing
      // of elsewhere; leaving it for about:blank would race the next action's navigation.
      if (!shownUrl(url) && url !== CHROME_ERROR_PAGE) {
        running.notices.push(`a navigation to ${url.slice(0, 200)} was refused: the browser shows only http and https pages`);
        void page.goto("about:blank").catch(() => undefined);
      }
    });
    page.on("dialog", (dialog) => {
      // A page raising dialogs in a loop: each is dismissed, and what is said of them stays bounded.
      if (running.notices.length < 100)
        running.notices.push(`the page showed a ${dialog.type()} dialog ("${dialog.message().slice(0, 200)}"); it was dismissed`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on("download", (download) => {
      const name = download.suggestedFilename().slice(0, 200);
      running.notices.push(`the page started a download: ${name} (from ${download.url().slice(0, 200)}), saved into ${BROWSER_DOWNLOADS}/`);
      this.audit({ download: download.url(), name });
    });
    page.on("close", () => {
      if (running.page !== page) return;
      const other = running.context.pages().at(-1);
      if (other) {
        running.page = other;
        running.notices.push("the page's window closed; the window before it is shown");
      }
    });
  }

  /** One audit line of the browser's own (a navigation, a download), as the call being served. */
  audit(details: Record<string, string>): void {
    const context = this.#current ?? this.#last;
    context?.audit?.record({
      time: new Date().toISOString(),
      ...(context.sessionId !== undefined ? { sessionId: context.sessionId } : {}),
      ...(context.persona !== undefined ? { persona: context.persona } : {}),
      ...(context.requestId !== undefined ? { requestId: context.requestId } : {}),
      tool: "browser",
      arguments: details,
      ok: true,
      durationMs: 0,
      bytes: 0,
    });
  }

  /**
   * The page a connection to `host` comes from. During an `open` a page's first connections to other hosts (its
   * pictures and scripts, a redirect to another host) can reach the guard before Playwright has heard of them (the page
   * still reads `about:blank`): then they are waited for, until the open ends or within the action's own bound, so they
   * are asked as the page's and not refused as Chromium's own. A fixed short wait is one a loaded machine outlasts:
   * Playwright hears of the commit through more hops than the guard hears of the connection. Until the open commits,
   * the page shown is the one before it: a redirect of the page being opened is named as that page's, not the old one's.
   */
  private async pageAsked(host: string, signal: AbortSignal): Promise<string> {
    const page = this.#running?.page;
    if (!page) return "";
    const opening = this.#openingUrl;
    // Before the open's navigation started nothing is the page's yet: Chromium's own connections at its start.
    if (this.#navigationHosts.size === 0) return page.url();
    const until = performance.now() + this.owner.settings.actionTimeoutS * 1000;
    for (;;) {
      const shown = page.url();
      if (opening === undefined || (this.#committed && /^https?:/.test(shown))) return shown;
      if (host === hostOf(opening) || this.#navigationHosts.has(host)) return this.#committed ? shown : opening;
      const over = this.#openingUrl !== opening || this.#running?.page !== page;
      if (over || performance.now() > until || signal.aborted) return page.url();
      await sleep(20, signal);
    }
  }

  /**
   * The browser's egress: its persona, and a new host asked of the person of the call being served (refused when no
   * call is, or nobody can answer); each connection an audit line.
   */
  private egressRequest(): EgressRequest {
    const command = "browser";
    return {
      command,
      ...this.owner.seams,
      onConnection: (connection) => {
        const context = this.#current ?? this.#last;
        context?.audit?.record(
          egressAuditEntry(connection, {
            command,
            ...(context.sessionId !== undefined ? { sessionId: context.sessionId } : {}),
            ...(context.persona !== undefined ? { persona: context.persona } : {}),
            ...(context.requestId !== undefined ? { requestId: context.requestId } : {}),
            ...(context.callId !== undefined ? { callId: context.callId } : {}),
          }),
        );
      },
      ask: async (question, signal) => {
        const context = this.#current;
        if (!context) return "nobody";
        const page = await this.pageAsked(question.host, signal);
        // No page shown and not the host being opened: Chromium's own connection (an update check), which no page and
        // no person asked for. Refused unasked, and audited as the browser's.
        if (!/^https?:/.test(page) && (this.#openingUrl === undefined || question.host !== hostOf(this.#openingUrl))) {
          this.audit({ refused: `${question.host}:${question.port}`, why: "the browser's own connection: no page asked for it" });
          return "nobody";
        }
        const clock = this.#clock;
        const asking = () =>
          context.askPerson({
            signal,
            call: {
              ...(context.callId !== undefined ? { id: context.callId } : {}),
              name: "browser",
              arguments: { connect: `${question.host}:${question.port}`, page },
            },
            preview: `the browser's page (${page.slice(0, 200)}) wants to load from ${question.host}:${question.port} (not on sandbox.egress.allow)`,
            always: {
              key: `egress\u0000${question.host}:${question.port}`,
              label: `sandboxed commands connecting to ${question.host}:${question.port}`,
            },
          });
        // The person's time to answer is not the action's: its clock stops meanwhile.
        const answer = await (clock ? clock.whileWaiting(asking) : asking());
        return answer === true ? "once" : answer === false ? "deny" : "nobody";
      },
    };
  }
}

/** Whether the request is the page's main frame's (`frame()` throws for a service worker's). */
function mainFrameOf(request: Request, page: Page): boolean {
  try {
    return request.frame() === page.mainFrame();
  } catch {
    return false;
  }
}

/** The host name of an address, as the guard is asked about it (a bracketed IPv6 address without its brackets). */
function hostOf(address: string): string | undefined {
  try {
    return new URL(address).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return undefined;
  }
}

/** Sends the context's downloads into scratch (`/scratch/downloads`), where the session's commands read them. */
async function downloadsIntoScratch(sandboxed: SandboxedBrowser, page: Page): Promise<void> {
  const pageSession = await page.context().newCDPSession(page);
  const { targetInfo } = await pageSession.send("Target.getTargetInfo");
  await pageSession.detach();
  const browserSession = await sandboxed.browser.newBrowserCDPSession();
  await browserSession.send("Browser.setDownloadBehavior", {
    behavior: "allow",
    downloadPath: BROWSER_DOWNLOADS,
    eventsEnabled: true,
    ...(targetInfo.browserContextId ? { browserContextId: targetInfo.browserContextId } : {}),
  });
}
