// A page as the model reads it: Playwright's accessibility snapshot in its "ai" mode (roles, accessible names, states,
// refs; taken in Playwright's own script world, so a page's scripts cannot rewrite how it is read), with what a person
// could not see taken out, refs kept only where the model can act, and the whole bounded.

/** Roles a model acts on: their lines keep their `[ref=eN]`. */
const ACTIONABLE = new Set([
  "link",
  "button",
  "textbox",
  "searchbox",
  "checkbox",
  "radio",
  "combobox",
  "listbox",
  "slider",
  "spinbutton",
  "switch",
  "tab",
  "menuitem",
  "menuitemcheckbox",
  "menuitemradio",
  "treeitem",
]);

const INPUTS = new Set(["textbox", "searchbox", "checkbox", "radio", "combobox", "listbox", "slider", "spinbutton", "switch"]);

/** How many links, inputs and buttons a snapshot shows: the terminal's one-line summary is made from it. */
export type SnapshotCounts = { links: number; inputs: number; buttons: number };

/** A snapshot shaped for the model: its lines (each `- role "name" [state] [ref=eN]`), what it counts, and what was hidden. */
export type ShapedSnapshot = { lines: string[]; counts: SnapshotCounts; hidden: number; refs: Map<string, string> };

type Node = { line: string; children: Node[] };

const BOX = / \[box=(-?[\d.]+),(-?[\d.]+),([\d.]+),([\d.]+)\]/;
const REF = / \[ref=(e\d+)\]/;
/** A ref as Playwright writes it: `e5`, or `f2e5` for an element of another frame or document. */
const PAGE_REF = / \[ref=((?:f\d+)?e\d+)\]/g;

/**
 * The model's names of Playwright's refs: `e` and a number, the same for an element as long as Playwright keeps its ref
 * (it gives a changed element a new one), whatever frame or document Playwright's ref names.
 */
export class RefNames {
  readonly #toModel = new Map<string, string>();
  readonly #toPage = new Map<string, string>();
  #next = 1;
  /** The model's name of Playwright's ref. */
  name(pageRef: string): string {
    let name = this.#toModel.get(pageRef);
    if (name === undefined) {
      name = `e${this.#next}`;
      this.#next += 1;
      this.#toModel.set(pageRef, name);
      this.#toPage.set(name, pageRef);
    }
    return name;
  }
  /** Playwright's ref for the model's name, if it gave one. */
  pageRef(name: string): string | undefined {
    return this.#toPage.get(name);
  }
}

/** Parses the indented lines of a snapshot into a tree (two spaces a level). */
function parse(text: string): Node[] {
  const root: Node = { line: "", children: [] };
  const stack: { depth: number; node: Node }[] = [{ depth: -1, node: root }];
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    const depth = (raw.length - raw.trimStart().length) / 2;
    const node: Node = { line: raw.trimStart(), children: [] };
    while ((stack.at(-1)?.depth ?? -1) >= depth) stack.pop();
    stack.at(-1)?.node.children.push(node);
    stack.push({ depth, node });
  }
  return root.children;
}

/** The role a line names (`link`, `text`, `/url`, …). */
function roleOf(line: string): string {
  return /^- ([^\s:"[]+)/.exec(line)?.[1] ?? "";
}

/**
 * A line split where Playwright writes it: `- role "name"` (the page's words), its attributes (` [level=1] [ref=e3]`),
 * then `: text` (the page's words). Attributes are read from their own place only: a page that puts ` [ref=e1]` or
 * ` [box=…]` into an element's name or text cannot pass it off as Playwright's.
 */
const PARTS = /^(- [^\s:"[]+(?: "(?:[^"\\]|\\.)*")?)((?: \[[^\]]*\])*)(.*)$/s;

type Parts = { head: string; attributes: string; rest: string };

function partsOf(line: string): Parts {
  const found = PARTS.exec(line);
  return found ? { head: found[1] ?? "", attributes: found[2] ?? "", rest: found[3] ?? "" } : { head: line, attributes: "", rest: "" };
}

/** The page's words with the marks of org's lines made inert: `[ref=e1]` in a name reads `[ref:e1]`. */
function inert(words: string): string {
  return words.replace(/\[(ref|box)=/g, "[$1:");
}

/**
 * Whether a line shows something no person sees: marked `aria-hidden` (by the page, or by org's pass over what CSS
 * hides: opacity 0, a font too small to read, a clip, text the colour of its background), no size, or placed wholly
 * off the page's top or left edge.
 */
function hiddenLine(line: string): boolean {
  const { head, attributes } = partsOf(line);
  if (/ \[aria-hidden\]/.test(attributes)) return true;
  const box = BOX.exec(attributes);
  if (!box) return false;
  const [x = 0, y = 0, width = 0, height = 0] = box.slice(1).map(Number);
  // A closed select's options have no box: they are what it offers, not hidden text.
  if (roleOf(head) === "option") return false;
  return width <= 1 || height <= 1 || x + width <= 0 || y + height <= 0;
}

/** The line as the model reads it: no box, no cursor or focus marks, a ref only where it can act, the page's words inert. */
function cleanLine(line: string): string {
  const { head, attributes, rest } = partsOf(line);
  const role = roleOf(head);
  let clean = attributes.replace(BOX, "").replace(" [cursor=pointer]", "").replace(" [active]", "");
  if (!ACTIONABLE.has(role) && !/\[cursor=pointer\]/.test(attributes)) clean = clean.replace(PAGE_REF, "");
  return `${inert(head)}${clean}${inert(rest)}`;
}

/** Takes hidden subtrees out and lifts a nameless `generic` wrapper's children to its place; counts what it dropped. */
function shape(nodes: Node[], counter: { hidden: number }): Node[] {
  const out: Node[] = [];
  for (const node of nodes) {
    if (hiddenLine(node.line)) {
      counter.hidden += 1;
      continue;
    }
    const children = shape(node.children, counter);
    const line = cleanLine(node.line);
    if (line === "- generic" || line === "- generic:") {
      out.push(...children);
      continue;
    }
    const text = /^- generic: (.*)$/.exec(line)?.[1];
    out.push({ line: text !== undefined ? `- text: ${text}` : line, children });
  }
  return out;
}

function render(nodes: Node[], depth: number, lines: string[]): void {
  for (const node of nodes) {
    lines.push(`${"  ".repeat(depth)}${node.line}`);
    render(node.children, depth + 1, lines);
  }
}

/** Shapes Playwright's "ai" snapshot taken with `boxes: true`. */
export function shapeSnapshot(raw: string, names: RefNames): ShapedSnapshot {
  const counter = { hidden: 0 };
  const lines: string[] = [];
  const shown: string[] = [];
  render(shape(parse(raw), counter), 0, shown);
  // Named after shaping, so the model's refs count only what it can act on.
  for (const line of shown) lines.push(line.replace(PAGE_REF, (_whole, pageRef: string) => ` [ref=${names.name(pageRef)}]`));
  const counts: SnapshotCounts = { links: 0, inputs: 0, buttons: 0 };
  const refs = new Map<string, string>();
  for (const line of lines) {
    const role = roleOf(line.trimStart());
    if (role === "link") counts.links += 1;
    else if (role === "button") counts.buttons += 1;
    else if (INPUTS.has(role)) counts.inputs += 1;
    const ref = REF.exec(line)?.[1];
    if (ref !== undefined) refs.set(ref, line.trimStart().replace(/:( .*)?$/, ""));
  }
  return { lines, counts, hidden: counter.hidden, refs };
}

/** The one-line summary the terminal shows after an action (`14 links, 3 inputs`). */
export function countsSummary(counts: SnapshotCounts): string {
  const parts = [
    [counts.links, "link"],
    [counts.inputs, "input"],
    [counts.buttons, "button"],
  ] as const;
  const said = parts.filter(([count]) => count > 0).map(([count, noun]) => `${count} ${noun}${count === 1 ? "" : "s"}`);
  return said.length > 0 ? said.join(", ") : "no links or inputs";
}

/** What a snapshot shows at most: lines and characters. */
export const SNAPSHOT_MAX_LINES = 400;
export const SNAPSHOT_MAX_CHARS = 24_000;

/**
 * The result text: the page's address, its title and origin (its words, not the person's), notices (`! …`), then the
 * tree from line `offset`, cut at the bounds with a last line saying how to see the rest.
 */
export function snapshotText(page: { url: string; title: string; notices: readonly string[]; lines: readonly string[]; offset: number }): string {
  let origin = "(none)";
  try {
    const parsed = new URL(page.url);
    origin = parsed.origin === "null" ? `${parsed.protocol}` : parsed.origin;
  } catch {
    // about:blank and the like have no origin worth naming.
  }
  const head = [
    `page: ${page.url}`,
    `title: ${oneLine(page.title)}`,
    `from: ${origin} (the page's words, not the person's)`,
    ...page.notices.slice(0, MAX_NOTICES).map((notice) => `! ${oneLine(notice, 600)}`),
    ...(page.notices.length > MAX_NOTICES ? [`! and ${page.notices.length - MAX_NOTICES} more notices like these, left out`] : []),
  ];
  const body: string[] = [];
  let chars = 0;
  const start = Math.min(page.offset, page.lines.length);
  let index = start;
  for (; index < page.lines.length && body.length < SNAPSHOT_MAX_LINES; index += 1) {
    const line = page.lines[index] ?? "";
    const cut = line.length > 1_000 ? `${line.slice(0, 1_000)}…` : line;
    if (chars + cut.length > SNAPSHOT_MAX_CHARS) break;
    body.push(cut);
    chars += cut.length + 1;
  }
  if (start > 0) head.push(`(lines ${start + 1}-${index} of ${page.lines.length})`);
  if (index < page.lines.length) {
    body.push(`[snapshot cut at line ${index} of ${page.lines.length}: call browser with action "snapshot" and offset ${index} to see more]`);
  }
  if (page.lines.length === 0) body.push("(the page shows nothing)");
  return [...head, ...body].join("\n").replace(BIDI_CONTROLS, "");
}

/** The notices an answer shows at most: a page that raises a thousand dialogs gets one line for the rest. */
export const MAX_NOTICES = 12;

/** Characters that reorder how a terminal shows the text around them: a page's words could run into org's. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A page's words on one line (a title, a dialog's message in a notice), cut at `max` characters. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/[\s\u2028\u2029]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
