/** Rows of cells as lines whose columns line up (two spaces apart; the last column is not padded). */
export function alignColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, Bun.stringWidth(cell));
  }
  return rows.map((row) =>
    row.map((cell, index) => (index === row.length - 1 ? cell : cell + " ".repeat((widths[index] ?? 0) - Bun.stringWidth(cell)))).join("  "),
  );
}
