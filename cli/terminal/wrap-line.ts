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

/**
 * Sanitized `text` with each line longer than `columns` broken between words (a word longer than a line is
 * cut); a continued line keeps the indentation its line began with. No `columns` (a pipe): unchanged.
 */
export function wrapText(text: string, columns: number | undefined): string {
  if (!columns || columns < 10) return text;
  return text
    .split("\n")
    .map((line) => {
      // A table row ("  /use <persona> <model>  switch …") continues under its last column, other lines under
      // their own indentation; one as wide as half the line leaves no room: the leading indentation, or none.
      const indent = /^\s*/.exec(line)?.[0] ?? "";
      const column = /^(\s*\S.*?\s{2,})\S/.exec(line)?.[1];
      const hanging = column !== undefined ? " ".repeat(Bun.stringWidth(column)) : indent;
      const carry = Bun.stringWidth(hanging) < columns / 2 ? hanging : Bun.stringWidth(indent) < columns / 2 ? indent : "";
      const pieces: string[] = [];
      let rest = line;
      let first = true;
      while (rest !== "") {
        const lead = first ? "" : carry;
        const [head, tail] = wrapAt(rest, columns - Bun.stringWidth(lead), false);
        pieces.push(lead + head);
        rest = first ? tail : tail.replace(/^\s+/, "");
        if (!first && tail === rest && head === "") break;
        first = false;
      }
      return pieces.length > 0 ? pieces.join("\n") : line;
    })
    .join("\n");
}
