// The fixed runner of generated tools. It runs ONLY inside the sandbox (run-generated-tool.ts starts it):
// reads one request from stdin, imports the tool, validates the input, calls it with a timeout and prints
// the result after a marker line the host chose, so nothing the tool prints can pass for its result.
import { z } from "zod";
import { withholdGlobals } from "./withhold-globals.ts";

const Request = z.strictObject({
  marker: z.string().regex(/^[A-Za-z0-9-]{16,64}$/),
  toolPath: z.string().startsWith("/"),
  inputSchema: z.record(z.string(), z.unknown()),
  input: z.unknown(),
  timeoutMs: z.number().int().positive(),
});

// Kept before the tool loads, so a tool that replaces console.log or stdout.write cannot forge the result, and
// so the runner can still read its request and answer once the globals below are gone. The result goes out through
// Bun.write on Bun.stdout, not process.stdout: the first touch of process.stdout builds node's stream for it, about
// 9 ms of CPU, a third of what a call takes without it (measured in the sandbox: 31 ms against 21).
const bun = Bun;
const writeFile = bun.write;
const stdout = bun.stdout;
const exit = process.exit.bind(process);
const stringify = JSON.stringify;
const parse = JSON.parse;

async function main(): Promise<void> {
  const request = Request.parse(parse(await bun.stdin.text()));
  const finish = async (result: { ok: true; output: unknown } | { ok: false; error: string }) => {
    await writeFile(stdout, `\n${request.marker}\n${stringify(result)}\n`);
  };
  const input = z.fromJSONSchema(request.inputSchema).safeParse(request.input);
  if (!input.success) {
    const issues = input.error.issues.map((issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`).join("; ");
    return finish({ ok: false, error: `the input does not match the tool's input schema: ${issues}` });
  }
  let module: { default?: unknown };
  try {
    withholdGlobals(request.toolPath, (path) => bun.file(path).text(), { deleteGlobals: true });
    module = await import(request.toolPath);
  } catch (error) {
    return finish({ ok: false, error: `tool.ts did not load: ${error instanceof Error ? error.message : String(error)}` });
  }
  const tool = module.default;
  if (typeof tool !== "function") return finish({ ok: false, error: "tool.ts has no default export function" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the tool did not finish within ${request.timeoutMs} ms`)), request.timeoutMs);
  });
  try {
    const output = await Promise.race([Promise.resolve(tool(input.data)), timeout]);
    const text = stringify(output);
    if (text === undefined) return finish({ ok: false, error: "the tool returned nothing JSON can carry (undefined or a function)" });
    await finish({ ok: true, output: parse(text) });
  } catch (error) {
    await finish({ ok: false, error: `the tool threw: ${error instanceof Error ? error.message : String(error)}` });
  } finally {
    clearTimeout(timer);
  }
}

await main();
// A timer or handle the tool left open must not keep the sandbox alive until its wall clock.
exit(0);
