// The scripted server playing a browsing agent (a reply's `browse`), as a small local model does it with the `browser`
// tool: it opens the address the person's message gives, then does what the message asks in order (`click "Sign in"`,
// `type "ada@example.org" into "Email"`, `select "Red" in "Colour"`, `press Enter`, `back`, `screenshot`), each on the
// ref of the first element of the newest snapshot whose name holds the words asked for, and answers with what it read.
// It reads only the request: the person's last message and the browser's results after it. Asked to `do what the page
// says`, it is the gullible model a page's words steer: it runs the first command the page shows in backticks (run
// `…`) with `sh`, as the proof that such a call is put to the person (docs/browser.md, "A page's words").

/** One message of the request as the browse reply reads it. */
export type BrowseMessage = { role: string; text: string };

/** The browser call the next step makes, or the words that end the reply. */
export type BrowseStep = { call: { name: "browser" | "sh"; arguments: Record<string, unknown> } } | { text: string };

type Action =
  | { action: "click"; name: string }
  | { action: "type"; text: string; name: string; submit: boolean }
  | { action: "select"; value: string; name: string }
  | { action: "press"; key: string }
  | { action: "back" }
  | { action: "screenshot" }
  | { action: "obey" };

const ADDRESS = /https?:\/\/[^\s"'<>`]+/i;
// Each step as a person writes it, in the order written; quotes straight or curly.
const STEPS = new RegExp(
  [
    String.raw`\bclick (?:on )?["“](?<click>[^"”]+)["”]`,
    String.raw`\btype ["“](?<text>[^"”]*)["”] (?:in|into) ["“](?<field>[^"”]+)["”](?<submit> and submit)?`,
    String.raw`\b(?:select|choose|pick) ["“](?<value>[^"”]+)["”] (?:in|from) ["“](?<list>[^"”]+)["”]`,
    String.raw`\bpress (?<key>[A-Za-z]+)\b`,
    String.raw`\b(?<back>go back)\b`,
    String.raw`\b(?<shot>screenshot)\b`,
    String.raw`\b(?<obey>do what (?:the page|it) says)\b`,
  ].join("|"),
  "gi",
);

/** The steps the person's message asks for after opening its address, in order. */
export function browseActions(ask: string): Action[] {
  const actions: Action[] = [];
  for (const match of ask.matchAll(STEPS)) {
    const groups = match.groups ?? {};
    if (groups.click !== undefined) actions.push({ action: "click", name: groups.click });
    else if (groups.field !== undefined)
      actions.push({ action: "type", text: groups.text ?? "", name: groups.field, submit: groups.submit !== undefined });
    else if (groups.list !== undefined) actions.push({ action: "select", value: groups.value ?? "", name: groups.list });
    else if (groups.key !== undefined) actions.push({ action: "press", key: groups.key });
    else if (groups.back !== undefined) actions.push({ action: "back" });
    else if (groups.shot !== undefined) actions.push({ action: "screenshot" });
    else if (groups.obey !== undefined) actions.push({ action: "obey" });
  }
  return actions;
}

/** The ref of the first line of a snapshot whose quoted name holds `name` (any case), as a small model picks it. */
export function refNamed(snapshot: string, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const line of snapshot.split("\n")) {
    const found = /^\s*- [\w-]+ "(?<label>[^"\n]*)".*\[ref=(?<ref>e\d+)\]/.exec(line);
    if (found?.groups?.label?.toLowerCase().includes(wanted)) return found.groups.ref;
  }
  return undefined;
}

/** The most of one of a page's words (its title, a heading, a line of text) the answer quotes: a page may be huge. */
const QUOTED_CHARS = 200;
const quoted = (text: string) => (text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS - 1)}…` : text);

/** What a snapshot says, as the agent answers it: the page, its title, its headings and its first lines of text. */
export function readSnapshot(snapshot: string): string {
  const field = (name: string) => quoted(new RegExp(`^${name}: (.*)$`, "m").exec(snapshot)?.[1]?.trim() ?? "");
  const headings = [...snapshot.matchAll(/^\s*- heading "([^"\n]*)"/gm)].map((match) => quoted(match[1] ?? "")).filter((text) => text !== "");
  // A line of words: `- text: …`, `- paragraph: …`, a list item's, a cell's (a `/url:` line is a link's address).
  const texts = [...snapshot.matchAll(/^\s*- (?:text|paragraph|listitem|cell|generic): (.+)$/gm)]
    .slice(0, 3)
    .map((match) => quoted(match[1]?.trim() ?? ""));
  const parts = [`I read ${field("page")}${field("title") ? `, titled "${field("title")}"` : ""}.`];
  if (headings.length > 0) parts.push(`Its headings: ${headings.slice(0, 5).join("; ")}.`);
  if (texts.length > 0) parts.push(`It says: ${texts.join(" ")}`);
  return parts.join(" ");
}

const call = (args: Record<string, unknown>): BrowseStep => ({ call: { name: "browser", arguments: args } });

/** The next step of the browsing the person's last message asks for, read off the browser's results since. */
export function browseStep(messages: readonly BrowseMessage[]): BrowseStep {
  const askedAt = messages.findLastIndex((message) => message.role === "user");
  const ask = messages[askedAt]?.text ?? "";
  const address = ADDRESS.exec(ask)?.[0]?.replace(/[.,;:!?)\]]+$/, "");
  if (address === undefined) return { text: "Give me an address to open (https://…) and I open it in the browser and tell you what it says." };
  const results = messages.slice(askedAt + 1).filter((message) => message.role === "tool");
  const last = results.at(-1);
  if (last === undefined) return call({ action: "open", url: address });
  const firstLine = last.text.split("\n")[0]?.replace(/^Error:\s*/, "");
  const actions = browseActions(ask);
  const done = actions[results.length - 2];
  if (done?.action === "obey")
    return { text: /^Error\b/.test(last.text) ? `I did not run it: ${firstLine}` : `I ran what the page said: ${firstLine}` };
  if (/^Error\b/.test(last.text)) return { text: `The browser could not do it: ${firstLine}` };
  const snapshot = results.findLast((result) => result.text.startsWith("page: "))?.text ?? "";
  const action = actions[results.length - 1];
  if (action === undefined) return { text: readSnapshot(snapshot) };
  switch (action.action) {
    case "obey": {
      const command = /\brun `([^`\n]+)`/i.exec(snapshot)?.[1];
      return command === undefined
        ? { text: `The page asks nothing to be run. ${readSnapshot(snapshot)}` }
        : { call: { name: "sh", arguments: { cmd: command } } };
    }
    case "back":
    case "screenshot":
      return call({ action: action.action });
    case "press":
      return call({ action: "press", key: action.key });
    default: {
      const ref = refNamed(snapshot, action.name);
      if (ref === undefined) return { text: `I found nothing named "${action.name}" on the page. ${readSnapshot(snapshot)}` };
      if (action.action === "click") return call({ action: "click", ref });
      if (action.action === "select") return call({ action: "select", ref, values: [action.value] });
      return call({ action: "type", ref, text: action.text, ...(action.submit ? { submit: true } : {}) });
    }
  }
}
