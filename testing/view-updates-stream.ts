import type { RouteContext } from "../serve/router.ts";
import type { ViewUpdates } from "../web/view-updates.ts";

/** One open `GET /v1/web/updates`, read frame by frame, each read bounded. */
export async function openUpdates(updates: ViewUpdates, last: { header?: string; after?: string } = {}) {
  const [updatesRoute] = updates.routes();
  const abort = new AbortController();
  const request = new Request(`http://org.test/v1/web/updates${last.after ? `?after=${last.after}` : ""}`, {
    signal: abort.signal,
    headers: last.header ? { "last-event-id": last.header } : {},
  });
  const context = {
    request,
    requestId: "",
    path: "/v1/web/updates",
    match: { route: undefined, onPath: [], params: {} },
    params: {},
    client: undefined,
  };
  const answer = await updatesRoute?.handler(context as RouteContext);
  const reader = answer?.body?.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const next = async (): Promise<string> => {
    while (!buffered.includes("\n\n")) {
      const read = await Promise.race([reader?.read(), Bun.sleep(5_000).then(() => "timeout" as const)]);
      if (read === "timeout" || !read || read.done) throw new Error(`no frame within 5 s (have ${JSON.stringify(buffered)})`);
      buffered += decoder.decode(read.value);
    }
    const end = buffered.indexOf("\n\n");
    const frame = buffered.slice(0, end);
    buffered = buffered.slice(end + 2);
    return frame;
  };
  return {
    next,
    /** The view a frame names, with its id. */
    async view(): Promise<string> {
      const frame = await next();
      const id = /^id: (.*)$/m.exec(frame)?.[1];
      const view = (JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "{}") as { view?: string }).view;
      return `${view} @${id}`;
    },
    close: async () => {
      abort.abort();
      await reader?.cancel().catch(() => {});
    },
  };
}
