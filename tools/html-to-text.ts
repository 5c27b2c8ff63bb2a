const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  copy: "©",
  reg: "®",
  laquo: "«",
  raquo: "»",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code = name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : "";
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/**
 * The readable text of an HTML page: scripts, styles and comments dropped, block elements on their own
 * lines, tags removed, entities decoded, blank runs collapsed. Linear passes only (a page is hostile input).
 */
export function htmlToText(html: string): string {
  const title = /<title[^>]*>([^<]{0,500})/i.exec(html)?.[1]?.trim();
  const text = html
    .replace(/<!--[\s\S]*?(-->|$)/g, " ")
    .replace(/<(script|style|noscript|template|svg|head)\b[\s\S]*?(<\/\1\s*>|$)/gi, " ")
    .replace(/<(br|hr)\b[^>]*>/gi, "\n")
    .replace(/<\/?(p|div|section|article|header|footer|main|nav|aside|li|ul|ol|tr|table|h[1-6]|pre|blockquote|dd|dt|dl|form|figure|figcaption)\b[^>]*>/gi, "\n")
    .replace(/<(td|th)\b[^>]*>/gi, "\t")
    .replace(/<[^>]*>?/g, "");
  const lines = decodeEntities(text)
    .split("\n")
    .map((line) => line.replace(/[ \t\u00a0]+/g, " ").trim());
  const body = lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return title ? `${decodeEntities(title)}\n\n${body}` : body;
}
