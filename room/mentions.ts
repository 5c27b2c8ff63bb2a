// `@name` not preceded by a word character, so `me@example.com` mentions no one.
const MENTION = /(?<![\w@.])@([A-Za-z][\w-]*)/g;

/** Every `@name` in a text, lower-cased, in order of first mention, without repeats. */
function mentionedNames(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(MENTION)) {
    // A trailing '-' belongs to the sentence ("@agent-"), not the name.
    const candidate = (match[1] ?? "").replace(/-+$/, "").toLowerCase();
    if (candidate !== "" && !found.includes(candidate)) found.push(candidate);
  }
  return found;
}

/** The known persona names a text addresses with `@name`, in order of first mention, without repeats. */
export function findMentions(text: string, personaNames: readonly string[]): string[] {
  const byLowerName = new Map(personaNames.map((name) => [name.toLowerCase(), name]));
  return mentionedNames(text).flatMap((candidate) => {
    const name = byLowerName.get(candidate);
    return name === undefined ? [] : [name];
  });
}

/** Edit distance with adjacent swaps counted as one edit ("pyhton" is one from "python"). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = rows[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The `@names` in a text that are no persona, each with the persona it most likely meant: the closest
 * within two edits (one for names of four letters or fewer), if any.
 */
export function unknownMentions(text: string, personaNames: readonly string[]): { name: string; closest?: string }[] {
  const known = new Set(personaNames.map((name) => name.toLowerCase()));
  return mentionedNames(text)
    .filter((name) => !known.has(name))
    .map((name) => {
      const limit = name.length <= 4 ? 1 : 2;
      const ranked = personaNames
        .map((persona) => ({ persona, distance: editDistance(name, persona.toLowerCase()) }))
        .filter((entry) => entry.distance <= limit)
        .sort((a, b) => a.distance - b.distance);
      const closest = ranked[0]?.persona;
      return closest === undefined ? { name } : { name, closest };
    });
}
