// bench/web.ts — the web room in Chromium, through `org web` as a user starts it, against the scripted model server:
// first load to a usable room; four personas streaming 50 tokens/s each for 30 s (the longest main-thread task, and
// how long the DOM lags each event of the stream); a 10 000-message session opened; the page's JS+CSS gzipped.
// Targets (issue 53): load ≤ 300 ms, no task over 50 ms, the DOM within 100 ms of each event, the session ≤ 1 s.
import { availableParallelism, cpus, loadavg } from "node:os";
import type { BrowserContext } from "playwright-core";
import { pageAssets } from "../web/page-assets.ts";
import { writeLongSession } from "../testing/long-session.ts";
import { startWebRoom } from "../testing/web-room-fixture.ts";

const STREAMERS = ["ada", "bo", "cy", "di"];
const TOKENS_PER_SECOND = 50;
const SECONDS = Number(process.env.BENCH_WEB_SECONDS ?? 30);
const LOADS = Number(process.env.BENCH_WEB_LOADS ?? 5);
const MESSAGES = 10_000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const quantile = (values: number[], share: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(share * values.length))] ?? 0;

// Recorded in the page before its own code runs: each stream event's arrival, each change of the DOM, each long task.
const PROBE = `
  window.__bench = { arrivals: [], mutations: [], longTasks: [] };
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.__bench.longTasks.push(entry.duration); })
    .observe({ type: "longtask", buffered: true });
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(...args) {
      super(...args);
      if (String(args[0]).includes("/events")) this.addEventListener("message", () => window.__bench.arrivals.push(performance.now()));
    }
  };
  addEventListener("DOMContentLoaded", () => new MutationObserver(() => window.__bench.mutations.push(performance.now()))
    .observe(document.body, { subtree: true, childList: true, characterData: true }));
`;

/** What the predicates below see of the page (this file is typed without the DOM's names). */
type PageGlobal = { document: { querySelector(selector: string): { textContent: string | null } | null; body: { textContent: string | null } } };

/**
 * Whether the room is usable (the message box there, the stream live) and the page's text holds `text`, each name
 * of `lanes` with a reply's figures: run in the page as a function (the page's CSP forbids evaluating strings).
 */
function ready(arg: { text: string; lanes: string[] }): boolean {
  const { document } = globalThis as unknown as PageGlobal;
  const body = document.body.textContent ?? "";
  const lanesDone = arg.lanes.every((name) => (document.querySelector(`[aria-label="${name}"]`)?.textContent ?? "").includes("tokens/s"));
  return document.querySelector('textarea[aria-label="Message"]') !== null && body.includes("· live ·") && body.includes(arg.text) && lanesDone;
}

const USABLE = { text: "", lanes: [] };

/** The last 200 characters of each lane named: run in the page as a function, when the replies did not all end. */
function laneEnds(names: string[]): Record<string, string> {
  const { document } = globalThis as unknown as PageGlobal;
  return Object.fromEntries(names.map((name) => [name, (document.querySelector(`[aria-label="${name}"]`)?.textContent ?? "(no lane)").slice(-200)]));
}

/**
 * The console line the probe writes once it has its figure and the first contentful paint is reported (a frame's pixels
 * are, a little after the frame).
 */
const PROBED = "org-bench: usable and painted";

/**
 * Put in the page before its own code: checks at each frame, from the first, whether the room is usable (the message
 * box there, the room's stream joined: "· live ·", and `text`, the newest turn, drawn from the room's state: the text
 * of the page's view), and keeps the time that frame has been drawn (a message posted from the
 * frame's callback runs once the frame is done; its pixels come a little later). The page keeps the figure itself, so
 * nothing of the bench (its script, a round trip to ask the time) runs in the page while it loads; once it has the figure
 * and the first contentful paint, it says so on the console. It notes when the room's stream was asked for and opened
 * too, for the stages.
 */
function usableProbe(text: string): string {
  return `
    window.__load = { text: ${JSON.stringify(text)} };
    const Original = window.EventSource;
    window.EventSource = class extends Original {
      constructor(...args) {
        super(...args);
        if (!String(args[0]).includes("/events")) return;
        window.__load.streamAsked ??= performance.now();
        this.addEventListener("open", () => { window.__load.streamOpen ??= performance.now(); });
      }
    };
    // Once the figure and the first contentful paint are both in, the bench is told by a console line.
    let painted = false;
    const told = () => { if (painted && window.__load.usable !== undefined) console.debug(${JSON.stringify(PROBED)}); };
    new PerformanceObserver((list) => {
      if (list.getEntriesByName("first-contentful-paint").length > 0) { painted = true; told(); }
    }).observe({ type: "paint", buffered: true });
    const check = () => {
      const shown = document.getElementById("app")?.textContent ?? "";
      if (document.querySelector('textarea[aria-label="Message"]') !== null && shown.includes("· live ·") && shown.includes(window.__load.text)) {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => { window.__load.usable = performance.now(); told(); };
        channel.port2.postMessage(null);
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  `;
}

/** What a load took, in ms from the navigation's start: each stage, when the room was usable, and what it fetched before. */
type LoadStages = Record<"redirect" | "page" | "css" | "js" | "painted" | "streamAsked" | "streamOpen" | "usable", number> & { fetched: string };

/** The stages of the page's load, read from the page once it was usable (navigation and resource timing, the probe). */
const READ_STAGES = `(() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const end = (kind) => resources.find((entry) => new URL(entry.name).pathname.endsWith(kind))?.responseEnd ?? NaN;
  return {
    redirect: navigation.redirectEnd, page: navigation.responseEnd, css: end(".css"), js: end(".js"),
    painted: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
    streamAsked: window.__load.streamAsked ?? NaN, streamOpen: window.__load.streamOpen ?? NaN, usable: window.__load.usable,
    fetched: resources.filter((entry) => entry.startTime < window.__load.usable && !entry.name.endsWith("/favicon.ico"))
      .map((entry) => new URL(entry.name)).map((url) => url.pathname + url.search).join(", "),
  };
})()`;

/** Loads `url` in a new page of `context` (the probe put in first); the stages of the load once the room is usable with `text` on screen. */
async function timedLoad(context: BrowserContext, url: string, text: string, timeoutMs = 30_000): Promise<LoadStages> {
  await context.addInitScript(usableProbe(text));
  const page = await context.newPage();
  // The page notes the times itself and says so on its console: nothing of Playwright's (its injected script, a poll)
  // runs in the page while it loads.
  const probed = page.waitForEvent("console", { predicate: (message) => message.text() === PROBED, timeout: timeoutMs });
  await page.goto(url);
  await probed;
  const stages = (await page.evaluate(READ_STAGES)) as LoadStages;
  stages.fetched = stages.fetched.replace(/app-[0-9a-f]+/g, "app-…").replace(/\/\d{8}-[\w-]+/g, "/:id");
  return stages;
}

const STAGES: [Exclude<keyof LoadStages, "fetched">, string][] = [
  ["redirect", "login redirect"],
  ["page", "page"],
  ["css", "CSS"],
  ["js", "JS"],
  ["painted", "first contentful paint"],
  ["streamAsked", "stream asked"],
  ["streamOpen", "stream open"],
  ["usable", "usable, drawn"],
];

async function main(): Promise<void> {
  const assets = await pageAssets();
  const words = Array.from({ length: TOKENS_PER_SECOND * SECONDS }, (_, index) => `w${index % 10} `).join("");
  await using room = await startWebRoom({
    script: {
      rules: STREAMERS.map((name) => ({
        when: { persona: name, lastMessage: "stream" },
        reply: { text: words, chunkSize: 3, delayMs: 1000 / TOKENS_PER_SECOND },
      })),
      fallback: { text: "ok" },
    },
    config: {
      personas: STREAMERS.map((name) => ({ name, kind: "simple" })),
      limits: { concurrencyPerServer: STREAMERS.length, replyChars: 1_000_000 },
    },
  });
  const session = writeLongSession(room.workspace, MESSAGES / 2);

  // First load to a usable room, each in a fresh context (the login included): the newest session is the long one (a
  // room that has run for days), so usable means its newest turn drawn as well.
  const newest = `Answer ${MESSAGES / 2 - 1}.`;
  const loads: LoadStages[] = [];
  for (let run = 0; run < LOADS; run += 1) {
    const { context } = await room.open({ login: false });
    loads.push(await timedLoad(context, room.loginUrl, newest));
    await context.close();
  }

  // A session of 10 000 messages opened: the newest turn's reply on screen and the stream live.
  const opens: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const { context, page } = await room.open();
    await page.close();
    opens.push((await timedLoad(context, `${room.origin}/?session=${session}`, newest)).usable);
    await context.close();
  }

  // Four personas at 50 tokens/s each.
  const { context, page } = await room.open({ login: false });
  await context.addInitScript(PROBE);
  await page.goto(room.loginUrl);
  await page.waitForFunction(ready, USABLE, { timeout: 30_000 });
  await page.getByRole("button", { name: "New session" }).click();
  await page.waitForFunction(ready, USABLE, { timeout: 30_000 });
  await page.evaluate("window.__bench.longTasks.length = 0");
  await page.getByRole("textbox", { name: "Message" }).fill("stream, all of you");
  await page.getByRole("button", { name: "Send" }).click();
  await page.waitForFunction(ready, { text: "", lanes: STREAMERS }, { timeout: (SECONDS * 4 + 60) * 1000 }).catch(async (error: unknown) => {
    // Which lanes never ended, and how each looks now: what to look at when a run stops here.
    const lanes = await page.evaluate(laneEnds, STREAMERS).catch(() => "(the page could not be read)");
    throw new Error(`the four replies did not all end with their figures (${String(error)}); each lane's last words: ${JSON.stringify(lanes)}`);
  });
  const probe = (await page.evaluate("window.__bench")) as { arrivals: number[]; mutations: number[]; longTasks: number[] };
  await context.close();
  const lags = probe.arrivals.map((arrival) => {
    const after = probe.mutations.find((at) => at >= arrival);
    return after === undefined ? Number.POSITIVE_INFINITY : after - arrival;
  });

  const cores = `${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg()[0]?.toFixed(1) ?? "?"}`;
  const usable = loads.map((load) => load.usable);
  const stages = STAGES.map(([key, name]) => `${name} ${median(loads.map((load) => load[key])).toFixed(0)}`).join(", ");
  const rows: [string, string, string][] = [
    [
      `first load to a usable room (median of ${LOADS})`,
      `${median(usable).toFixed(0)} ms (runs ${usable.map((ms) => ms.toFixed(0)).join(", ")})`,
      "≤ 300 ms",
    ],
    ["  its stages, ms from the navigation's start (medians)", stages, ""],
    ["  fetched before it was usable (besides the page and its streams)", loads.at(-1)?.fetched ?? "", ""],
    [
      `${MESSAGES} messages opened (median of 3)`,
      `${median(opens).toFixed(0)} ms (runs ${opens.map((ms) => ms.toFixed(0)).join(", ")})`,
      "≤ 1000 ms",
    ],
    [
      `${STREAMERS.length} × ${TOKENS_PER_SECOND} tokens/s for ${SECONDS} s: longest main-thread task`,
      `${Math.max(0, ...probe.longTasks).toFixed(0)} ms (${probe.longTasks.length} tasks over 50 ms)`,
      "≤ 50 ms",
    ],
    [
      "  the DOM after each stream event (p50 / p99 / max)",
      `${quantile(lags, 0.5).toFixed(1)} / ${quantile(lags, 0.99).toFixed(1)} / ${Math.max(...lags).toFixed(1)} ms over ${lags.length} events`,
      "≤ 100 ms",
    ],
    ["JS+CSS gzipped", `${(assets.bytes.gzip / 1024).toFixed(1)} KB (${(assets.bytes.raw / 1024).toFixed(1)} KB raw)`, "≤ 150 KB"],
  ];
  console.log(`bench:web on ${cores}, Chromium headless`);
  for (const [what, figure, target] of rows) console.log(`${what.padEnd(66)} ${figure.padEnd(52)} ${target}`);
}

await main();
