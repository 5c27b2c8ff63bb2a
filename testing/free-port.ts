/**
 * A loopback port nobody listens on, for a server a test must start on a port fixed in advance (an instance
 * that promote restarts at the same address). It is drawn below the kernel's ephemeral range (32768–60999 on
 * Linux), so a socket some other test binds to port 0 can never be handed the same port before ours binds it.
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      const probe = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("") });
      probe.stop(true);
      return port;
    } catch {
      // taken: draw again
    }
  }
  throw new Error("no free loopback port between 20000 and 32000 after 200 tries");
}
