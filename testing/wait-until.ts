/**
 * Polls `check` every `intervalMs` until it holds, at most `timeoutMs`; fails saying what it waited for. A check that is
 * a round trip to a browser's page costs both ends CPU each time: such a caller polls less often.
 */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
