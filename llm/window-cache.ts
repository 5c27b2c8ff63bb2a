import type { ServerWindow } from "./discover-window.ts";

/** How long a window org could not learn stands before it asks again (a server that was down may be up). */
export const SILENT_WINDOW_RETRY_MS = 60_000;

/** One model value's discovery, asked once and shared; a caller's abort gives it the fallback, never an error. */
export type WindowCache = {
  get(signal?: AbortSignal): Promise<ServerWindow>;
  /** What discovery found, once it has: the API completions take goes by it. */
  settled(): ServerWindow | undefined;
};

/**
 * `discover` run once and kept; an answer where no server said a window (`config` or `default`) is kept only for
 * `SILENT_WINDOW_RETRY_MS`, then asked again. `now` is the clock (ms).
 */
export function windowCache(discover: () => Promise<ServerWindow>, fallback: () => ServerWindow, now: () => number = Date.now): WindowCache {
  let pending: Promise<ServerWindow> | undefined;
  let found: { value: ServerWindow; at: number } | undefined;
  const stale = () => {
    if (!found) return false;
    const silent = found.value.window.source === "config" || found.value.window.source === "default";
    return silent && now() - found.at > SILENT_WINDOW_RETRY_MS;
  };
  const start = () => {
    const run = discover()
      .catch(fallback)
      .then((value) => {
        found = { value, at: now() };
        return value;
      });
    pending = run;
    return run;
  };
  return {
    get(signal) {
      if (stale()) {
        found = undefined;
        pending = undefined;
      }
      const run = pending ?? start();
      if (!signal) return run;
      if (signal.aborted) return Promise.resolve(found?.value ?? fallback());
      return new Promise((resolve) => {
        const onAbort = () => resolve(found?.value ?? fallback());
        signal.addEventListener("abort", onAbort, { once: true });
        void run.then((value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        });
      });
    },
    settled: () => found?.value,
  };
}
