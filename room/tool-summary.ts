// What a person sees of a tool call and its result where the tool says more than its arguments' JSON and its output's
// first lines: the browser's `⚙ browser open https://…` and `✓ 14 links, 3 inputs`. One place the terminal, the web
// room and Telegram read, so the three say the same. Every value read here came from a tool that read a web page: it
// is checked field by field, never trusted to have the shape the tool promised; the caller sanitizes for its screen.

/** A screenshot's path as the browser gives it (relative to the session's folder): plain names, `.png`, no way out. */
const SCREENSHOT_PATH = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\/){0,3}[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.png$/;

/** What the browser tool's `data` holds after an action: the page, what it offers, and a screenshot's path. */
export type BrowserData = {
  url: string;
  title: string;
  counts: { links: number; inputs: number; buttons: number };
  screenshot?: string;
};

/** A result's summary line and, when it made one, its screenshot (a path inside the session's folder). */
export type ToolSummary = { text: string; screenshot?: string };

const count = (value: unknown): number | undefined => (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined);

/** Whether `path` is a screenshot path the browser may hand back: relative, `.png`, with no `..` or hidden part. */
export function isScreenshotPath(path: string): boolean {
  return SCREENSHOT_PATH.test(path) && !path.split("/").some((part) => part.startsWith(".") || part.includes(".."));
}

/** The browser's `data` when it has the contract's shape (a screenshot path kept only when it is one); else undefined. */
export function browserData(data: unknown): BrowserData | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  // Own fields only: a value's prototype is not the tool's word.
  const { url, title, counts, screenshot }: Record<string, unknown> = Object.fromEntries(Object.entries(data));
  if (typeof url !== "string" || typeof title !== "string" || typeof counts !== "object" || counts === null) return undefined;
  const { links, inputs, buttons }: Record<string, unknown> = Object.fromEntries(Object.entries(counts));
  const [linkCount, inputCount, buttonCount] = [count(links), count(inputs), count(buttons)];
  if (linkCount === undefined || inputCount === undefined || buttonCount === undefined) return undefined;
  return {
    url,
    title,
    counts: { links: linkCount, inputs: inputCount, buttons: buttonCount },
    ...(typeof screenshot === "string" && isScreenshotPath(screenshot) ? { screenshot } : {}),
  };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** `14 links, 3 inputs`: what a page offers, from the browser's counts, each only when there is one (as the tool says it). */
export function browserCountsText(counts: BrowserData["counts"]): string {
  const offered: [number, string][] = [
    [counts.links, "link"],
    [counts.inputs, "input"],
    [counts.buttons, "button"],
  ];
  const said = offered.filter(([n]) => n > 0).map(([n, noun]) => plural(n, noun));
  return said.length > 0 ? said.join(", ") : "no links or inputs";
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** `open https://…`, `click e3`, `type e4 "ada"`: a browser call as a person reads it, from its arguments. */
function browserCallText(args: Record<string, unknown>): string | undefined {
  const action = text(args.action);
  if (action === undefined) return undefined;
  const quoted = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : undefined);
  const values = Array.isArray(args.values) ? args.values.filter((value) => typeof value === "string") : [];
  const parts = [
    action,
    text(args.url),
    text(args.ref),
    action === "type" ? quoted(args.text) : undefined,
    text(args.key),
    values.length > 0 ? values.map((value) => JSON.stringify(value)).join(", ") : undefined,
    args.submit === true ? "and submit" : undefined,
  ];
  return parts.filter((part) => part !== undefined).join(" ");
}

/**
 * A call as its `⚙` line shows it after the tool's name, for a tool that has a way of its own (the browser: its
 * action and target); undefined for the rest, which show their arguments' JSON.
 */
export function toolCallSummary(call: { name: string; arguments: Record<string, unknown> }): string | undefined {
  return call.name === "browser" ? browserCallText(call.arguments) : undefined;
}

/**
 * A successful result's summary, for a tool whose `data` says more than its output's length (the browser: what the
 * page offers, or the screenshot it saved); undefined for the rest.
 */
export function toolResultSummary(name: string, data: unknown): ToolSummary | undefined {
  if (name !== "browser") return undefined;
  const page = browserData(data);
  if (page === undefined) return undefined;
  if (page.screenshot !== undefined) return { text: `screenshot ${page.screenshot}`, screenshot: page.screenshot };
  return { text: browserCountsText(page.counts) };
}
