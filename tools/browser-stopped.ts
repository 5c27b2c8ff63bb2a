/** The turn a browser call serves was stopped (Ctrl-C, /stop, a client gone) while the browser worked. */
export class BrowserStoppedError extends Error {
  override name = "BrowserStoppedError";
}

/**
 * A promise that rejects with BrowserStoppedError once `signal` aborts (at once if it has), to race the browser's work
 * against: Playwright's waits know nothing of the turn. `dispose` lets go of the signal.
 */
export function whenStopped(signal: AbortSignal): { stopped: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(new BrowserStoppedError("the turn was stopped"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  return { stopped, dispose: () => signal.removeEventListener("abort", onAbort) };
}
