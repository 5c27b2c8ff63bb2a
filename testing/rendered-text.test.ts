import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { RENDERINGS } from "./rendered-text.ts";

// Files as a repository holds them: an .env, a line of every printable kind, and (for the renderings of bytes) bytes
// od and hexdump print as escapes and octal.
const TEXT = ["STRIPE_LIVE=mystripelivekeyvalue\nADMIN_LOGIN=CorrectHorse\nNODE_ENV=production\n", "x = {a: 'b', c: [1, 2]} ~!@#$%^&*()_+|\n"];
const BYTES = [...TEXT, "a\tb\u0000c d\r\né ∑ x\u007f".repeat(3)];

describe("the renderings the redactor's tests use print what the real commands print", () => {
  test.each(RENDERINGS.map((rendering) => [rendering.name, rendering] as const))("%s", (_name, rendering) => {
    const ofBytes = /^(?:od|hexdump|xxd|base|gzip)/.test(rendering.command);
    for (const file of ofBytes ? BYTES : TEXT) {
      const real = spawnSync("sh", ["-c", rendering.command], { input: file, env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } });
      expect(real.status).toBe(0);
      const printed = real.stdout.toString("latin1");
      const bytes = Buffer.from(file).toString("latin1");
      // gzip's own deflate is not zlib's: the same bytes come back out of either.
      if (rendering.command.startsWith("gzip")) expect(rendering.readBack(printed)).toContain(bytes);
      else expect(Buffer.from(rendering.render(file)).toString("latin1")).toBe(printed);
      // What the rendering shows can be read back: every line of the file (renderings by line lose the breaks).
      const read = rendering.readBack(rendering.render(file)).join("\u0000");
      for (const line of bytes.split("\n").filter(Boolean)) expect(read).toContain(line);
    }
  });
});
