import { oneLine } from "../security/terminal-sanitizer.ts";
import type { SavedFact } from "./fact-log.ts";
import { MemoryStore } from "./memory-store.ts";
import { factKey, rejectionDigest, type StagedFact, StagedFacts } from "./staged-facts.ts";

// `/facts`: the person's answer to the observer's proposals, one function for every front end (the terminal's room, the
// web room, Telegram): it reads the words after the command, acts on the workspace's memory and returns the text to show.

/** The persona name facts the observer learned are saved under. */
export const OBSERVER = "observer";

const USAGE = "/facts lists what the observer proposed about you; /facts accept N or /facts reject N answers one (N from the list)";

/** Makes a staged proposal an active fact: saved in memory with its quote and its source, tagged `observed` and its kind. */
export function activateFact(store: MemoryStore, fact: StagedFact, secrets: readonly string[] = []): SavedFact {
  return store.save({
    text: fact.text,
    tags: ["observed", fact.kind],
    persona: OBSERVER,
    sessionId: fact.sessionId,
    quote: fact.quote,
    messageId: fact.messageId,
    secrets,
  });
}

function listed(pending: readonly StagedFact[]): string {
  if (pending.length === 0) return "no facts wait for you: the observer has proposed nothing new about you.";
  return [
    `the observer proposes ${pending.length} fact${pending.length === 1 ? "" : "s"} about you, each from your own words:`,
    ...pending.map(
      (fact, index) =>
        `${index + 1}. ${oneLine(fact.text, 200)} (${fact.kind}) — you said "${oneLine(fact.quote, 160)}" (session ${oneLine(fact.sessionId, 40)})`,
    ),
    "Answer with /facts accept N or /facts reject N.",
  ].join("\n");
}

/** What still waits after an answer, numbered anew (the numbers move up as answered ones leave). */
function stillWaiting(staged: StagedFacts): string {
  const pending = staged.read().pending;
  return pending.length === 0 ? "" : `\n${listed(pending)}`;
}

/**
 * Runs `/facts [accept N | reject N]` on the memory of `workspaceDir` (with `store` when the caller has it open, else one
 * opened and closed here) and returns what to show. Never throws for what the person typed: the answer says what to type.
 */
export function runFactsCommand(argument: string, context: { workspaceDir: string; store?: MemoryStore; secrets?: readonly string[] }): string {
  const words = argument.trim().split(/\s+/).filter(Boolean);
  const staged = StagedFacts.of(context.workspaceDir);
  const [verb, number] = words;
  if (words.length === 0 || (verb === "list" && words.length === 1)) return listed(staged.read().pending);
  if ((verb !== "accept" && verb !== "reject") || words.length !== 2) return USAGE;
  const index = Number(number);
  const pending = staged.read().pending;
  const chosen = Number.isInteger(index) && index >= 1 ? pending[index - 1] : undefined;
  if (!chosen)
    return pending.length === 0
      ? "no facts wait for you; /facts lists them when the observer proposes some."
      : `there is no fact ${oneLine(number ?? "", 20)}; /facts lists ${pending.length} (1 to ${pending.length}).`;
  if (verb === "reject") {
    staged.update((file) => {
      file.pending = file.pending.filter((fact) => fact.id !== chosen.id);
      file.rejected = [...new Set([...file.rejected, rejectionDigest(chosen.text)])];
    });
    return `rejected: ${oneLine(chosen.text, 200)} (the observer will not propose it again).${stillWaiting(staged)}`;
  }
  const store = context.store ?? MemoryStore.open(context.workspaceDir, { secrets: context.secrets ?? [] }).store;
  try {
    // Accepted in another room meanwhile (or proposed twice across processes): one fact, not two.
    const known = store.facts().find((fact) => factKey(fact.text) === factKey(chosen.text));
    const saved = known ?? activateFact(store, chosen, context.secrets);
    staged.update((file) => {
      file.pending = file.pending.filter((fact) => fact.id !== chosen.id);
    });
    return (
      `accepted: ${oneLine(saved.text, 200)} is fact ${saved.id}; it joins your profile at the next weekly digest ` +
      `('org memory profile --rebuild' writes it now).${stillWaiting(staged)}`
    );
  } finally {
    if (!context.store) store.close();
  }
}
