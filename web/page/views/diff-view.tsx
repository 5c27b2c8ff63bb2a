/** One line of a unified diff, with its line numbers in the old and new file. */
type DiffRow = { kind: "file" | "hunk" | "add" | "del" | "same" | "meta"; old?: number; new?: number; text: string };

/** A unified diff read into rows, each numbered as `git diff` would show it. */
export function diffRows(diff: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let oldLine = 0;
  let newLine = 0;
  for (const line of diff.split("\n")) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      rows.push({ kind: "hunk", text: line });
    } else if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) rows.push({ kind: "file", text: line });
    else if (line.startsWith("+")) rows.push({ kind: "add", new: newLine++, text: line });
    else if (line.startsWith("-")) rows.push({ kind: "del", old: oldLine++, text: line });
    else if (line.startsWith(" ")) rows.push({ kind: "same", old: oldLine++, new: newLine++, text: line });
    else if (line !== "") rows.push({ kind: "meta", text: line });
  }
  return rows;
}

/** A unified diff with line numbers; its text is shown as text, never as markup. */
export function DiffView({ diff, label }: { diff: string; label: string }) {
  return (
    <table class="diff-view" aria-label={label}>
      <tbody>
        {diffRows(diff).map((row, index) => (
          <tr key={`${index}`} class={`diff-row ${row.kind}`}>
            <td class="ln">{row.old ?? ""}</td>
            <td class="ln">{row.new ?? ""}</td>
            <td>
              <code>{row.text}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
