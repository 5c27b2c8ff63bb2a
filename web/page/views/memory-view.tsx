import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { type MemorySearchAnswer, webApiSchemas } from "../../web-api.ts";
import { getJson, postJson } from "../api.ts";
import { SaidLine } from "./said-line.tsx";
import { UpdatesContext, useAction } from "./use-view.ts";

/** Search the workspace's memory; forget a session or a fact (what `org memory search|forget` do). */
export function MemoryView() {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<MemorySearchAnswer | undefined>(undefined);
  const { said, run } = useAction();
  // The query the results are of: searched again when memory changes (a forget here or elsewhere, new words indexed).
  const searched = useRef<string | undefined>(undefined);
  const hits = async (asked: string) => {
    const answer = await getJson(`/v1/memory/search?q=${encodeURIComponent(asked)}&limit=20`, webApiSchemas().MemorySearchAnswer);
    searched.current = asked;
    setFound(answer);
    return answer;
  };
  const again = () => (searched.current === undefined ? Promise.resolve() : hits(searched.current).then(() => undefined, () => undefined));
  const search = () =>
    run(async () => {
      const answer = await hits(query);
      return { said: `${answer.hits.length} result${answer.hits.length === 1 ? "" : "s"} (${answer.method})` };
    });
  const updates = useContext(UpdatesContext);
  useEffect(() => updates.subscribe("memory", () => void again()), [updates]);
  const forget = (body: { session: string } | { fact: string }, what: string) =>
    run(async () => {
      const answer = await postJson("/v1/memory/forget", body, webApiSchemas().ActionAnswer);
      await again();
      return answer;
    }, `Forget ${what} for good? (the transcript stays)`);
  return (
    <div class="view">
      <h1>Memory</h1>
      <p class="muted">
        Every session's messages, tool calls and short tool results, indexed as the transcript is written, and the facts personas keep with
        memory_save: search them by their words, or forget a session or a fact.
      </p>
      <form
        class="search"
        onSubmit={(event) => {
          event.preventDefault();
          void search();
        }}
      >
        <input
          type="search"
          aria-label="Search memory"
          value={query}
          onInput={(event) => setQuery(event.currentTarget.value)}
          placeholder="staging database port"
        />
        <button type="submit">Search</button>
      </form>
      <SaidLine said={said} />
      {found && found.hits.length === 0 && (
        <p class="muted">Nothing found: memory fills as the room talks (each session in this workspace, from its first message).</p>
      )}
      <ol class="hits">
        {found?.hits.map((hit, index) => (
          <li key={`${index}`} class="card">
            <div class="muted">
              {hit.kind} · {hit.persona} · {hit.time} · {hit.sessionId ?? hit.factId}
            </div>
            <div class="snippet">{hit.snippet}</div>
            <div class="buttons">
              {hit.sessionId && (
                <button type="button" onClick={() => forget({ session: hit.sessionId ?? "" }, `session ${hit.sessionId}`)}>
                  Forget session
                </button>
              )}
              {hit.factId && (
                <button type="button" onClick={() => forget({ fact: hit.factId ?? "" }, `fact ${hit.factId}`)}>
                  Forget fact
                </button>
              )}
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}
