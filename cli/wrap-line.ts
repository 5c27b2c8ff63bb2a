/** Splits sanitized `text` after at most `columns` terminal columns (at least one character). */
export function splitAtWidth(text: string, columns: number): [string, string] {
  let used = 0;
  let end = 0;
  for (const character of text) {
    const width = Bun.stringWidth(character);
    if (used + width > columns && end > 0) break;
    used += width;
    end += character.length;
  }
  return [text.slice(0, end), text.slice(end)];
}

/**
 * Where a line of sanitized `text` breaks with `room` columns left: after the last whole word that fits
 * (the space at the break is dropped); a word longer than a line is cut. An empty head asks for a new
 * line first, when the word fits there (`midLine`).
 */
export function wrapAt(text: string, room: number, midLine: boolean): [string, string] {
  if (!Number.isFinite(room) || Bun.stringWidth(text) <= room) return [text, ""];
  const [head, tail] = splitAtWidth(text, Math.max(room, 1));
  if (/^\s/.test(tail)) return [head, tail.slice(1)];
  const space = head.search(/\s\S*$/);
  if (space > 0) return [head.slice(0, space), text.slice(space + 1)];
  if (space === 0) return midLine ? ["", text.slice(1)] : [head, tail];
  return midLine ? ["", text] : [head, tail];
}
