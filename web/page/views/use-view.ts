import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import { type ViewChanged, webApiSchemas } from "../../web-api.ts";
import { getJson } from "../api.ts";
import { streamAddress } from "../page-key.ts";

type View = ViewChanged["view"];

/** The page's one listener on `/v1/web/updates`: each view subscribes to the name of its own data. */
export type ViewUpdates = { subscribe(view: View, listener: () => void): () => void };

export const UpdatesContext = createContext<ViewUpdates>({ subscribe: () => () => {} });

/**
 * Opens `/v1/web/updates` once for the page (with a ticket: the cookie alone opens no stream); the browser reconnects it
 * by itself (with `Last-Event-ID`), and a stream the server ended for good after it was live (its ticket too old by
 * then) is opened again with a new ticket and the last id it had (`after`), so the views hear what changed meanwhile.
 */
export function openViewUpdates(): ViewUpdates & { close(): void } {
  const listeners = new Map<View, Set<() => void>>();
  let source: EventSource | undefined;
  let closed = false;
  let lastId = "";
  const open = async () => {
    const address = await streamAddress(`/v1/web/updates${lastId ? `?after=${encodeURIComponent(lastId)}` : ""}`);
    if (closed) return;
    const opened = new EventSource(address);
    source = opened;
    let live = false;
    opened.onopen = () => {
      live = true;
    };
    opened.onerror = () => {
      if (opened.readyState === EventSource.CLOSED && live && !closed) open().catch(() => {});
    };
    opened.onmessage = (message) => {
      if (message.lastEventId) lastId = message.lastEventId;
      const view = webApiSchemas().ViewChanged.safeParse(JSON.parse(message.data)).data?.view;
      if (view) for (const listener of listeners.get(view) ?? []) listener();
    };
  };
  // A page whose key the server refuses says so in each view's own read.
  open().catch(() => {});
  return {
    subscribe(view, listener) {
      const set = listeners.get(view) ?? new Set();
      set.add(listener);
      listeners.set(view, set);
      return () => set.delete(listener);
    },
    close: () => {
      closed = true;
      source?.close();
    },
  };
}

/** A view's data from its route, read again whenever the server says it changed (or `reload` is called). */
export function useView<Schema extends z.ZodType>(view: View, path: string, schema: Schema) {
  const updates = useContext(UpdatesContext);
  const [data, setData] = useState<z.infer<Schema> | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => updates.subscribe(view, () => setTick((count) => count + 1)), [updates, view]);
  useEffect(() => {
    const controller = new AbortController();
    getJson(path, schema, controller.signal).then(
      (value) => {
        setData(value);
        setProblem(undefined);
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setProblem(error instanceof Error ? error.message : String(error));
      },
    );
    return () => controller.abort();
  }, [path, tick]);
  return { data, problem, reload: () => setTick((count) => count + 1) };
}

/** Runs an action and shows what it said (or why it failed); `confirm` first asks the person, when given. */
export function useAction() {
  const [said, setSaid] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const run = async (action: () => Promise<{ said: string; ok?: boolean }>, confirm?: string) => {
    if (confirm !== undefined && !window.confirm(confirm)) return;
    try {
      const answer = await action();
      setSaid({ ok: answer.ok ?? true, text: answer.said });
    } catch (error) {
      setSaid({ ok: false, text: error instanceof Error ? error.message : String(error) });
    }
  };
  return { said, run };
}
