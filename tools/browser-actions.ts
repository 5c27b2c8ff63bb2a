import { EGRESS_REFUSAL_HEADER, EGRESS_REFUSED } from "../sandbox/egress-refusal-header.ts";
import type { Locator, Page } from "playwright-core";
import type { BrowserSettings } from "../config/browser-settings.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { writeScratchFile } from "../sandbox/write-scratch-file.ts";
import { type ActionClock, ActionTimeoutError } from "./action-clock.ts";
import { BrowserCallError } from "./browser-call-error.ts";
import { answeredWithin, unlessUnresponsive } from "./page-unresponsive-error.ts";
import { isTimeout, timeoutAsUnresponsive } from "./playwright-timeout.ts";
import { adoptOpened, type RunningBrowser } from "./browser-session.ts";
import { countsSummary, type RefNames, type ShapedSnapshot, shapeSnapshot, snapshotText } from "./browser-snapshot.ts";
import type { BrowserArgs } from "./browser.ts";
import type { ToolContext, ToolResult } from "./define-tool.ts";

/**
 * Runs one action on the page in front, then answers with a fresh snapshot. Every wait on the page is bounded by
 * `actionTimeoutS`: Playwright's own timeouts where it has them, org's timer around the reads it has none for (title,
 * evaluate, a key pressed on the page); a page that does not answer a read in that time (a script looping forever) is a
 * PageUnresponsiveError, and the caller kills the browser.
 */
export async function act(
  args: BrowserArgs,
  running: RunningBrowser,
  context: ToolContext,
  settings: BrowserSettings,
  clock: ActionClock,
): Promise<ToolResult> {
  const timeout = settings.actionTimeoutS * 1000;
  const loading = onClock(clock, settings);
  adoptOpened(running);
  let page = running.page;
  let timedOut: string | undefined;
  try {
    switch (args.action) {
      case "open":
        await loading((noLimit) => open(page, args.url ?? "", noLimit));
        break;
      case "click": {
        const element = await target(running, args.ref ?? "", timeout);
        // A link that opens a window: its window is waited for, so the answer shows it.
        const opens = await answeredWithin(element.evaluate(opensWindow), timeout).catch(unlessUnresponsive(false));
        const opened = opens ? running.context.waitForEvent("page", { timeout }).catch(() => undefined) : undefined;
        await element.click({ timeout });
        await opened;
        break;
      }
      case "type": {
        const field = await target(running, args.ref ?? "", timeout);
        await field.fill(args.text ?? "", { timeout });
        if (args.submit) await field.press("Enter", { timeout });
        break;
      }
      case "press":
        if (args.ref !== undefined) await (await target(running, args.ref, timeout)).press(args.key ?? "", { timeout });
        else await answeredWithin(page.keyboard.press(args.key ?? ""), timeout);
        break;
      case "select":
        await (await target(running, args.ref ?? "", timeout)).selectOption(args.values ?? [], { timeout });
        break;
      case "back":
        if ((await loading((noLimit) => page.goBack({ ...noLimit, waitUntil: "load" }))) === null)
          running.notices.push("there is no earlier page in this window");
        break;
      default:
        break;
    }
    page = running.page;
    // What the action set off (a form's submit, a link) is given the rest of the action's time to load.
    if (args.action !== "snapshot" && args.action !== "screenshot") await loading((noLimit) => page.waitForLoadState("load", noLimit));
  } catch (error) {
    if (!isTimeout(error)) throw error;
    timedOut =
      `the ${args.action} did not finish within ${settings.actionTimeoutS} s (the page may never finish loading); ` +
      "its loading was stopped, and what it shows so far is below";
    // As a person presses Stop: the parser adding to a page that never ends would outgrow any snapshot taken of it.
    // A page that does not answer even this is busy in a script of its own, not loading: it is lost.
    await answeredWithin(running.page.evaluate("window.stop()"), timeout).catch(unlessUnresponsive(undefined));
  }
  adoptOpened(running);
  page = running.page;
  const screenshot = args.action === "screenshot" ? await saveScreenshot(page, context, timeout) : undefined;
  let snapshot = await takeSnapshot(page, running.refNames, timeout);
  adoptOpened(running);
  if (running.page !== page) {
    // A window the action opened came up while the snapshot was taken: the model reads that one.
    page = running.page;
    await page.waitForLoadState("load", { timeout }).catch(() => undefined);
    snapshot = await takeSnapshot(page, running.refNames, timeout);
  }
  const url = page.url();
  running.shown = { url, refs: snapshot.refs };
  const title = snapshot.title;
  const notices = [...running.notices.splice(0), ...pageNotices(snapshot.asks), ...snapshotNotices(snapshot, page, screenshot)];
  const output = snapshotText({ url, title, notices, lines: snapshot.lines, offset: args.action === "snapshot" ? (args.offset ?? 0) : 0 });
  return {
    ok: timedOut === undefined,
    output: timedOut === undefined ? output : `Error: ${timedOut}\n${output}`,
    data: { url, title, counts: snapshot.counts, summary: countsSummary(snapshot.counts), ...(screenshot ? { screenshot } : {}) },
  };
}

/** A navigation's wait, timed by the call's clock rather than Playwright's: it stops while the person is asked about a host. */
function onClock(clock: ActionClock, settings: BrowserSettings): <T>(work: (noLimit: { timeout: 0 }) => Promise<T>) => Promise<T> {
  const late = () => new ActionTimeoutError(`the action took more than ${settings.actionTimeoutS} s`);
  return (work) => clock.within(work({ timeout: 0 }), settings.actionTimeoutS * 1000, late);
}

/** What the answer says of the snapshot itself: a cut, frames from elsewhere, hidden parts, a screenshot saved. */
function snapshotNotices(snapshot: Taken, page: Page, screenshot: string | undefined): string[] {
  const notices: string[] = [];
  if (snapshot.cut > 0) {
    notices.push(
      `the page is too large to read whole: the snapshot reads its first ${SNAPSHOT_MAX_ELEMENTS} elements ` +
        `and leaves out the ${snapshot.cut} after them`,
    );
  }
  const framed = otherOrigins(page);
  if (framed.length > 0) {
    notices.push(
      `the page shows frames from other origins (${framed.join(", ")}): the lines under "- iframe" are their words, ` +
        `not ${page.url().slice(0, 200)}'s`,
    );
  }
  if (snapshot.hidden > 0) notices.push(`${snapshot.hidden} parts of the page hidden from view (invisible, off-screen or aria-hidden) are left out`);
  if (screenshot) notices.push(`screenshot saved: ${screenshot} in the session's folder (/scratch/${screenshot} in the sandbox)`);
  return notices;
}

/**
 * Opens `url`. Chromium commits its error page for a navigation that failed (a refused host, a redirect to file:) after
 * Playwright has reported the failure, where it would cut the next action's navigation short: it is waited for here.
 */
async function open(page: Page, url: string, noLimit: { timeout: 0 }): Promise<void> {
  try {
    const response = await page.goto(url, { ...noLimit, waitUntil: "load" });
    // A plain http:// page the guard refused: its answer, not the page; said as org's, quoting none of the page's words.
    if (response && response.status() >= 400 && response.headers()[EGRESS_REFUSAL_HEADER] === EGRESS_REFUSED) {
      throw new BrowserCallError(
        `org's egress guard refused ${new URL(response.url()).origin} (HTTP ${response.status()}): its host, address or port ` +
          "is not one sandbox.egress lets pages load from, or the person said no. Tell the person; sandbox.egress.allow lists the hosts allowed",
      );
    }
  } catch (error) {
    if (error instanceof Error && /net::ERR_/.test(error.message)) {
      await page.waitForURL((shown) => shown.protocol === "chrome-error:", { timeout: 2_000 }).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * The element `ref` names, if it is still the element the model was shown: the page is snapshotted again and the ref
 * must name the same role, name and states as in the last snapshot the model got; otherwise the ref is stale.
 */
async function target(running: RunningBrowser, ref: string, timeout: number): Promise<Locator> {
  const shown = running.shown?.refs.get(ref);
  if (shown === undefined) {
    throw new BrowserCallError(
      `ref ${ref} is stale or unknown: the last snapshot does not show it (the page changed since, or it never had it). ` +
        'Take a new snapshot (action "snapshot") and use its refs',
    );
  }
  const page = running.page;
  const now = await takeSnapshot(page, running.refNames, timeout);
  if (running.shown?.url !== page.url() || now.refs.get(ref) !== shown) {
    running.shown = undefined;
    throw new BrowserCallError(
      `ref ${ref} is stale: the page changed since the snapshot that showed it. Take a new snapshot (action "snapshot") and use its refs`,
    );
  }
  return page.getByRef(running.refNames.pageRef(ref) ?? ref);
}

type Taken = ShapedSnapshot & { cut: number; title: string; asks: Asks };

/**
 * The page's snapshot, with what CSS hides from a person (opacity 0, unreadably small text) marked hidden first, and its
 * title and what it asks for, read before the cut is put back: a large page's renderer then lays the whole document out
 * again for seconds, which a later read would wait for.
 */
async function takeSnapshot(page: Page, names: RefNames, timeout: number): Promise<Taken> {
  const title = await answeredWithin(page.title(), timeout).catch(unlessUnresponsive(""));
  const asks = await answeredWithin(page.evaluate<Asks>(ASKS_FOR), timeout).catch(unlessUnresponsive({ password: false, payment: false }));
  const cut = await answeredWithin(page.evaluate<number>(PREPARE), timeout).catch(unlessUnresponsive(0));
  try {
    const raw = await answeredWithin(page.ariaSnapshot({ mode: "ai", boxes: true, timeout }), timeout + PLAYWRIGHT_FIRST_MS).catch(
      // The page answered the reads before it but not this one within the action's time: it is as lost.
      timeoutAsUnresponsive(timeout / 1000),
    );
    return { ...shapeSnapshot(raw, names), cut, title, asks };
  } finally {
    if (cut > 0) await answeredWithin(page.evaluate(UNCUT), timeout).catch(() => undefined);
  }
}

/** Time given to Playwright's own timeout to fire before org's timer around the same call does. */
const PLAYWRIGHT_FIRST_MS = 1_000;

/** The elements a snapshot reads at most: Playwright's snapshot of 50 000 took 15 s on two cores. */
const SNAPSHOT_MAX_ELEMENTS = 3_000;

/**
 * Runs in the page before a snapshot: marks `aria-hidden` (and `data-org-hidden`, so the next pass can take its own
 * marks back) the elements CSS makes invisible that the accessibility tree still shows (opacity 0, text in a font
 * under 2 px, clipped away, text the colour of what is behind it), and past the first SNAPSHOT_MAX_ELEMENTS elements
 * takes the rest out of the document until UNCUT puts them back (each parent's tail moved whole into a fragment: hiding
 * them with CSS made the snapshot slower still). The cut is made before any style is read, so the page's styles are
 * computed for the elements kept only. A string, since org's code is not typed for the DOM. Says how many elements it
 * took out.
 */
export const PREPARE = `(() => {
  for (const element of Array.from(document.querySelectorAll("[data-org-hidden]"))) {
    element.removeAttribute("aria-hidden");
    element.removeAttribute("data-org-hidden");
  }
  if (!document.body) return 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT);
  const cuts = [];
  let seen = 0;
  let cut = 0;
  let element = walker.nextNode();
  while (element) {
    if (seen >= ${SNAPSHOT_MAX_ELEMENTS}) {
      const parent = element.parentNode;
      const range = document.createRange();
      range.setStartBefore(element);
      range.setEnd(parent, parent.childNodes.length);
      const fragment = range.extractContents();
      cut += fragment.querySelectorAll("*").length;
      cuts.push([parent, fragment]);
      let next = null;
      for (let at = parent; at && at !== document.body && !(next = at.nextElementSibling); at = at.parentElement);
      if (!next || !document.body.contains(next)) break;
      walker.currentNode = next;
      element = next;
      continue;
    }
    seen += 1;
    element = walker.nextNode();
  }
  globalThis[Symbol.for("org.cut")] = cuts;
  const ownText = (element) => Array.from(element.childNodes).some((node) => node.nodeType === 3 && node.textContent.trim() !== "");
  // The colour drawn behind an element: the first ancestor's background that is not transparent, else the page's white.
  const backgroundOf = (element) => {
    for (let at = element; at; at = at.parentElement) {
      const colour = getComputedStyle(at).backgroundColor;
      if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
    }
    return "rgb(255, 255, 255)";
  };
  // Styles are read only once the document is cut: the first getComputedStyle computes every element's style.
  for (const kept of Array.from(document.body.querySelectorAll("*"))) {
    if (kept.hasAttribute("aria-hidden")) continue;
    const style = getComputedStyle(kept);
    const tiny = kept.children.length === 0 && Number.parseFloat(style.fontSize) < 2 && (kept.textContent || "").trim() !== "";
    const clipped = /^inset\\((5\\d|[6-9]\\d|100)%/.test(style.clipPath) || style.clip === "rect(0px, 0px, 0px, 0px)";
    if (style.opacity === "0" || tiny || clipped || (ownText(kept) && style.color === backgroundOf(kept))) {
      kept.setAttribute("aria-hidden", "true");
      kept.setAttribute("data-org-hidden", "");
    }
  }
  return cut;
})()`;

/** Runs in the page after a snapshot: puts back what PREPARE took out, deepest first. */
export const UNCUT = `(() => {
  const cuts = globalThis[Symbol.for("org.cut")] || [];
  for (const [parent, fragment] of cuts.reverse()) parent.append(fragment);
  globalThis[Symbol.for("org.cut")] = [];
})()`;

/** Runs in the page on a clicked element (passed as source, so it uses nothing outside): is it in a link to another window? */
function opensWindow(element: { closest(selector: string): { target: string } | null }): boolean {
  const link = element.closest("a[href], area[href]");
  return link !== null && link.target !== "" && !["_self", "_parent", "_top"].includes(link.target.toLowerCase());
}

/** Runs in the page: whether it has a password field, and a field for a card's number or code. */
const ASKS_FOR = `({
  password: document.querySelector("input[type=password]") !== null,
  payment: document.querySelector('input[autocomplete^="cc-"], input[name*="card" i], input[name*="cvc" i], input[name*="cvv" i]') !== null,
})`;

type Asks = { password: boolean; payment: boolean };

/** What the page asks for that a person should know of before anything is typed: a password, a payment. */
function pageNotices(found: Asks): string[] {
  return [
    ...(found.password ? ["the page asks for a password: only the person may give it (type refuses the room's secrets)"] : []),
    ...(found.payment ? ["the page asks for payment details: ask the person before going on"] : []),
  ];
}

/** The origins of the page's frames that are not the page's own, at most five. */
function otherOrigins(page: Page): string[] {
  const origin = (url: string) => {
    try {
      return new URL(url).origin;
    } catch {
      return "null";
    }
  };
  const own = origin(page.url());
  const others = new Set(
    page
      .frames()
      .map((frame) => origin(frame.url()))
      .filter((each) => each !== own && each !== "null"),
  );
  return [...others].slice(0, 5);
}

/** Saves a PNG of the page into the session's folder; its path relative to that folder. */
async function saveScreenshot(page: Page, context: ToolContext, timeout: number): Promise<string> {
  const bytes = await answeredWithin(page.screenshot({ type: "png", timeout }), timeout + PLAYWRIGHT_FIRST_MS).catch(
    timeoutAsUnresponsive(timeout / 1000),
  );
  const name = `screenshots/browser-${new Date().toISOString().replace(/[:.]/g, "-")}.png`;
  writeScratchFile(scratchDirFor(context), name, bytes);
  return name;
}
