import { isInvisible, invisibleFreeView, originOf } from "./invisible-free-view.ts";
import { type FormStarts, knownSecrets, type Secrets } from "./known-secrets.ts";
import { CUT_MARKER, SHORTEST_PIECE } from "./secret-spans.ts";

// What a stream that ends in the middle of a cut marker may be about to show: the marker's words, one piece at a time.
const CUT_MARKER_PARTS = ["\\n", "\\[", "…", " ", "\\d+", " bytes of ", "\\w+", " cut ", "…", "\\]"];
// A text's end that is a cut marker begun but not finished (any start of it, the whole marker but its last line break).
const CUT_MARKER_BEGUN = new RegExp(
  `${CUT_MARKER_PARTS.reduceRight((rest, part) => {
    const pieces = part.startsWith("\\") ? [part] : [...part].map((character) => character.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return pieces.reduceRight((inner, piece) => `${piece}(?:${inner})?`, rest);
  }, "")}$`,
);
/** How far back from a text's end a stream looks for a form spread over invisible characters, per character of the longest form. */
const SPREAD_PER_CHARACTER = 8;

/** Where the longest end of `text` that starts a form begins, read as written and without invisible characters (with and without escape sequences).
 *
 */
function formStartAtEnd(text: string, starts: FormStarts): number {
  // Only the end that holds the longest form's characters matters: walked back over what a view leaves out.
  let from = text.length;
  for (let visible = 0; from > 0 && visible < starts.longest; from -= 1) if (!isInvisible(text.charCodeAt(from - 1))) visible += 1;
  const lastEscape = text.lastIndexOf("\x1b");
  // An escape sequence (at most 260 characters) whose body the walk counted as visible.
  if (lastEscape !== -1 && lastEscape > from - 260) from = Math.max(0, Math.min(from, lastEscape) - starts.longest - 260);
  const region = text.slice(from);
  const views = [undefined, invisibleFreeView(region, true), lastEscape === -1 ? undefined : invisibleFreeView(region, false)];
  let start = text.length;
  for (const [index, view] of views.entries()) {
    if (index > 0 && !view) continue;
    const visible = view?.text ?? region;
    for (let length = Math.min(starts.longest - 1, visible.length); length > 0; length -= 1) {
      const at = visible.length - length;
      if (!starts.first.has(visible.charCodeAt(at)) || !starts.set.has(visible.slice(at))) continue;
      start = Math.min(start, from + (view ? originOf(view, at) : at));
      break;
    }
  }
  return start;
}

/**
 * Where a known secret's form may have begun in `text` that more text could still finish, as the whole-text redactor
 * reads forms: as written, spread over invisible characters and escape sequences (a start of a form at the end of the
 * text read without them), an escape sequence still open at the end (it may swallow what follows), and the pieces on
 * either side of an output cut (a form's start before a cut marker that is still arriving, a form's end after a whole
 * one). The index from which a stream holds its text back; `text.length` when there is none.
 */
export function unfinishedFormStart(text: string, secrets: Secrets = []): number {
  const known = knownSecrets(secrets);
  if (known.forms.length === 0 || text === "") return text.length;
  const starts = known.starts;
  const { set, longest } = starts;
  const from = Math.max(0, text.length - (SPREAD_PER_CHARACTER * longest + 512));
  const tail = text.slice(from);
  let hold = from + formStartAtEnd(tail, starts);
  // An escape sequence begun near the end may yet swallow what follows it: held, with a form's start just before it.
  const lastEscape = tail.lastIndexOf("\x1b");
  if (lastEscape !== -1 && tail.length - lastEscape < 260 && !tail.includes("\n", lastEscape))
    hold = Math.min(hold, from + lastEscape, from + formStartAtEnd(tail.slice(0, lastEscape), starts));
  // A piece of a form before a cut marker still arriving is hidden once the marker is whole.
  const marker = CUT_MARKER_BEGUN.exec(tail);
  for (let length = Math.min(longest - 1, marker?.index ?? 0); marker && length >= SHORTEST_PIECE; length -= 1) {
    if (!set.has(tail.slice(marker.index - length, marker.index))) continue;
    hold = Math.min(hold, from + marker.index - length);
    break;
  }
  // A piece of a form's end after a whole cut marker is hidden as it reads after the marker: held with the marker.
  const last = [...tail.matchAll(CUT_MARKER)].at(-1);
  const piece = last ? tail.slice(last.index + last[0].length) : undefined;
  if (last && piece !== undefined && piece.length < longest && known.forms.some((form) => form.indexOf(piece, 1) !== -1))
    hold = Math.min(hold, from + last.index);
  return hold;
}
