/**
 * A page that did not answer within the action's time (a script looping forever keeps its renderer busy, and
 * Playwright's reads of it have no time limit of their own): the browser is lost and is killed.
 */
export class PageUnresponsiveError extends Error {
  override name = "PageUnresponsiveError";
  constructor(readonly seconds: number) {
    super(`the page stopped answering within ${seconds} s`);
  }
}

/**
 * `work`, or a PageUnresponsiveError once `ms` have passed without it settling. The timer is org's own, so it fires
 * whatever the browser does; `work`'s later failure (the browser killed under it) is swallowed.
 */
export async function answeredWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  work.catch(() => undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PageUnresponsiveError(Math.round(ms / 100) / 10)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A `.catch` handler that gives `fallback` for a read that failed, and lets a page that stopped answering through. */
export function unlessUnresponsive<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof PageUnresponsiveError) throw error;
    return fallback;
  };
}
