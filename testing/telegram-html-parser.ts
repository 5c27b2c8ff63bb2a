// Telegram's HTML parse mode as the Bot API documents it, for the Bot API stand-in: the tags it takes, the four
// named entities and numeric ones, balance required; anything else is the Bot API's 400 "can't parse entities".

/** Tags Telegram's HTML mode takes (`span` and `tg-emoji` need their attribute; `a` its href). */
const TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "a",
  "tg-emoji",
  "code",
  "pre",
  "blockquote",
]);
const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

/** HTML Telegram would refuse; the message is the description's tail. */
export class TelegramParseError extends Error {
  override name = "TelegramParseError";
}

/** A message's text after entity parsing (what Telegram counts and shows), and the tags it used, in order. */
export type ParsedHtml = { text: string; tags: string[] };

function entity(html: string, at: number): { text: string; end: number } {
  const end = html.indexOf(";", at);
  const name = end === -1 ? "" : html.slice(at + 1, end);
  if (end !== -1 && end - at <= 10) {
    const named = NAMED[name];
    if (named !== undefined) return { text: named, end: end + 1 };
    const code = /^#(\d{1,7})$/.exec(name)?.[1] ?? /^#x([0-9a-f]{1,6})$/i.exec(name)?.[1];
    if (code !== undefined) {
      const value = name.startsWith("#x") ? Number.parseInt(code, 16) : Number(code);
      if (value > 0 && value <= 0x10ffff) return { text: String.fromCodePoint(value), end: end + 1 };
    }
  }
  throw new TelegramParseError(`Can't parse entities: unsupported HTML entity at byte offset ${Buffer.byteLength(html.slice(0, at))}`);
}

/** Parses `html` as Telegram's HTML parse mode does; throws TelegramParseError for what Telegram refuses. */
export function parseTelegramHtml(html: string): ParsedHtml {
  let text = "";
  const stack: string[] = [];
  const tags: string[] = [];
  let index = 0;
  while (index < html.length) {
    const char = html[index];
    if (char === "&") {
      const found = entity(html, index);
      text += found.text;
      index = found.end;
      continue;
    }
    if (char !== "<") {
      text += char;
      index += 1;
      continue;
    }
    const close = html.indexOf(">", index);
    const offset = Buffer.byteLength(html.slice(0, index));
    if (close === -1) throw new TelegramParseError(`Can't parse entities: can't find end of the entity starting at byte offset ${offset}`);
    const inside = html.slice(index + 1, close);
    index = close + 1;
    if (inside.startsWith("/")) {
      const name = inside.slice(1).trim().toLowerCase();
      if (stack.at(-1) !== name)
        throw new TelegramParseError(
          `Can't parse entities: unmatched end tag at byte offset ${offset}, expected "</${stack.at(-1) ?? ""}>", found "</${name}>"`,
        );
      stack.pop();
      continue;
    }
    const name = (/^[a-z-]+/i.exec(inside)?.[0] ?? "").toLowerCase();
    if (!TAGS.has(name))
      throw new TelegramParseError(`Can't parse entities: unsupported start tag "${name || inside.slice(0, 20)}" at byte offset ${offset}`);
    const attributes = inside.slice(name.length);
    if (name === "a" && !/^\s+href\s*=\s*"[^"]*"\s*$/i.test(attributes))
      throw new TelegramParseError(`Can't parse entities: expected href in <a> at byte offset ${offset}`);
    if (name === "code" && attributes.trim() !== "" && !/^\s+class\s*=\s*"language-[A-Za-z0-9_+-]{1,32}"\s*$/.test(attributes))
      throw new TelegramParseError(`Can't parse entities: unexpected attribute of <code> at byte offset ${offset}`);
    if (!["a", "code", "span", "tg-emoji", "blockquote"].includes(name) && attributes.trim() !== "")
      throw new TelegramParseError(`Can't parse entities: unexpected attribute of <${name}> at byte offset ${offset}`);
    if (stack.includes("pre") && name !== "code")
      throw new TelegramParseError(`Can't parse entities: <${name}> inside <pre> at byte offset ${offset}`);
    stack.push(name);
    tags.push(name);
  }
  if (stack.length > 0) throw new TelegramParseError(`Can't parse entities: can't find end tag corresponding to start tag "${stack.at(-1)}"`);
  return { text, tags };
}
