// `@name` not preceded by a word character, so `me@example.com` mentions no one.
const MENTION = /(?<![\w@.])@([A-Za-z][\w-]*)/g;

/** The known persona names a text addresses with `@name`, in order of first mention, without repeats. */
export function findMentions(text: string, personaNames: readonly string[]): string[] {
  const byLowerName = new Map(personaNames.map((name) => [name.toLowerCase(), name]));
  const found: string[] = [];
  for (const match of text.matchAll(MENTION)) {
    // A trailing '-' belongs to the sentence ("@agent-"), not the name.
    const candidate = (match[1] ?? "").replace(/-+$/, "").toLowerCase();
    const name = byLowerName.get(candidate);
    if (name !== undefined && !found.includes(name)) found.push(name);
  }
  return found;
}
