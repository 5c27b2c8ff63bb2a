// Words that say little about which tool is meant; dropped unless the query is nothing else.
const STOP_WORDS = new Set(
  (
    "a an and are as at be by can could do does for from how i in is it its me my of on or please should that " +
    "the this to use was what which with would you your there many much some"
  ).split(" "),
);
const MAX_WORDS = 32;

/**
 * The words of what a person typed that a search looks for: NFKC, lower case, letters and digits, each at most
 * 64 characters, once each, stop words dropped unless the query is nothing else, at most 32.
 */
export function ftsWords(text: string): string[] {
  const words = [
    ...new Set(
      (
        text
          .normalize("NFKC")
          .toLowerCase()
          .match(/[\p{L}\p{N}]+/gu) ?? []
      ).map((word) => word.slice(0, 64)),
    ),
  ];
  const telling = words.filter((word) => !STOP_WORDS.has(word));
  return (telling.length > 0 ? telling : words).slice(0, MAX_WORDS);
}

/**
 * An FTS5 MATCH expression for what a person typed: each word becomes a quoted string (so `"`, `*`, `NEAR(`,
 * `-`, `AND`, unbalanced quotes are only text), joined with OR so a tool matching some words is found and
 * BM25 ranks those matching more and rarer words first. Undefined when the query has no word at all.
 */
export function ftsQuery(text: string): string | undefined {
  const chosen = ftsWords(text);
  if (chosen.length === 0) return undefined;
  return chosen.map((word) => `"${word}"`).join(" OR ");
}
