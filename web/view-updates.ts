import { type EventFollower, followWorkspaceEvents } from "../workspace-events/follow-workspace-events.ts";
import { readWorkspaceEvents } from "../workspace-events/event-journal.ts";
import type { WorkspaceEvent, WorkspaceEventRecord } from "../workspace-events/workspace-event.ts";
import { sseData, sseStream } from "../serve/sse-stream.ts";
import { type Route, route } from "../serve/router.ts";
import { StreamSlots } from "../serve/stream-slots.ts";
import { type ViewChanged, VIEW_NAMES } from "./web-api.ts";

type View = ViewChanged["view"];

/** The views whose data a workspace event changes. */
export function viewsOf(event: WorkspaceEvent): readonly View[] {
  switch (event.type) {
    case "change-recorded":
      return ["changes"];
    case "tool-called":
      return ["tools"];
    case "main-promoted":
    case "main-rolled-back":
      return ["tools", "candidates"];
    case "candidate-made":
    case "candidate-removed":
    case "gate-started":
    case "gate-finished":
      return ["candidates"];
    case "proposals-changed":
      return ["growth"];
    case "incident-changed":
      return ["supervisor"];
    case "memory-changed":
      return ["memory"];
  }
}

/**
 * Where a page is in the journals it follows, as the SSE id it was last sent: the workspace's sequence number, then
 * the checkout's when it is another folder (`12.40`). Undefined when the header is absent or not one of ours.
 */
function placesOf(header: string | null, count: number): number[] | undefined {
  if (header === null || !/^\d{1,15}(\.\d{1,15})?$/.test(header)) return undefined;
  const places = header.split(".").map(Number);
  return places.length === count ? places : undefined;
}

/**
 * Tells the pages that listen (`GET /v1/web/updates`) which view's data changed, so each view reads its route again
 * without a reload. It follows the workspace's event stream (and the checkout's, when org runs from another folder)
 * while a page listens: nothing here reads the views' files on a clock. Each frame's SSE id is where the streams
 * were, so a page that reconnects (its `Last-Event-ID`) is told each view changed since, or every view when its place
 * rotated away. An action taken here says so at once (`changed`). Made once per server.
 */
export class ViewUpdates {
  readonly #listeners = new Set<(view: View, id: string) => void>();
  readonly #dirs: readonly string[];
  #followers: EventFollower[] = [];
  readonly #streams = new StreamSlots();

  /** `maxStreams`: the pages' streams open at once across the server (`serve.streamsPerSession`); the next is a 429. */
  constructor(private readonly sources: { workspaceDir: string; checkoutDir: string; maxStreams: number }) {
    this.#dirs = [...new Set([sources.workspaceDir, sources.checkoutDir])];
  }

  /** How many pages listen now. */
  get streams(): number {
    return this.#streams.open;
  }

  /** Says `view` changed, now. */
  changed(view: View): void {
    this.#tell([view]);
  }

  /** Where the followed streams are now: the SSE id of the next frame. */
  #id(): string {
    const places =
      this.#followers.length > 0 ? this.#followers.map((follower) => follower.last) : this.#dirs.map((dir) => readWorkspaceEvents(dir, 0).last);
    return places.join(".");
  }

  #tell(views: Iterable<View>): void {
    if (this.#listeners.size === 0) return;
    const id = this.#id();
    for (const view of new Set(views)) for (const listener of this.#listeners) listener(view, id);
  }

  #follow(): void {
    const onEvents = (records: WorkspaceEventRecord[]) => this.#tell(records.flatMap((record) => viewsOf(record.event)));
    this.#followers = this.#dirs.map((dir) => followWorkspaceEvents(dir, { onEvents, onResync: () => this.#tell(VIEW_NAMES) }));
  }

  /** The views changed since `places` (every view when a place is gone); none for a page that never had a place. */
  #missed(places: number[] | undefined): Set<View> {
    const views = new Set<View>();
    places?.forEach((after, index) => {
      const dir = this.#dirs[index];
      if (dir === undefined) return;
      const read = readWorkspaceEvents(dir, after);
      for (const view of read.resync ? VIEW_NAMES : read.records.flatMap((record) => viewsOf(record.event))) views.add(view);
    });
    return views;
  }

  #listen(listener: (view: View, id: string) => void): () => void {
    if (this.#listeners.size === 0) this.#follow();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#unfollow();
    };
  }

  #unfollow(): void {
    for (const follower of this.#followers) follower.stop();
    this.#followers = [];
  }

  /**
   * `GET /v1/web/updates` (`?after=ID` or `Last-Event-ID`: the id last seen): one `data: {"view": …}` frame each time a
   * view's data changed, its id where the streams were.
   */
  routes(): Route[] {
    return [
      route(
        "GET",
        "/v1/web/updates",
        ({ request }) => {
          const { maxStreams } = this.sources;
          const release = this.#streams.take(
            maxStreams,
            () =>
              `the web room's views have ${maxStreams} update streams open already, the most one server takes ` +
              "(serve.streamsPerSession); close another tab of the web room and try again.",
          );
          let stop = release;
          const body = sseStream({
            run: (write) =>
              new Promise<void>((resolve) => {
                const frame = (view: View, id: string) => write(`id: ${id}\n${sseData({ view })}`);
                const unlisten = this.#listen(frame);
                write(": listening\n\n");
                // The browser's own reconnection sends Last-Event-ID; a stream the page opens anew says `after`.
                const lastId = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("after");
                const missed = this.#missed(placesOf(lastId, this.#dirs.length));
                if (missed.size > 0) {
                  const id = this.#id();
                  for (const view of missed) frame(view, id);
                }
                stop = () => {
                  release();
                  unlisten();
                  resolve();
                };
                if (request.signal.aborted) stop();
                else request.signal.addEventListener("abort", stop, { once: true });
              }),
            cancel: () => stop(),
          });
          return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
        },
        { stream: true },
      ),
    ];
  }

  close(): void {
    this.#unfollow();
    this.#listeners.clear();
  }
}
