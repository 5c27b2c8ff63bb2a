import { describe, expect, test } from "bun:test";
import { terminalLines } from "../cli/chat/command-lines.ts";
import type { CommandContext } from "./command-context.ts";
import type { FrontEnd } from "./command-spec.ts";
import { commandHelp, completeCommand, interpretCommand, readLine } from "./interpret-command.ts";
import { roomCommands } from "./room-commands.ts";

/** A line read in `frontEnd`, in the shape these tests state: a message, nothing, a command and its arguments, or what was wrong. */
function parseInput(line: string, frontEnd: FrontEnd = "terminal") {
  const read = readLine(line, frontEnd);
  if (read.type === "command") return { type: "command", command: { name: read.command.name, args: read.command.args } };
  if (read.type === "answer") return { type: "invalid", message: read.answer.lines.join("\n") };
  return read;
}

const completeSlashCommand = (before: string) => completeCommand(before, "terminal");

describe("parseInput", () => {
  test("plain text and @mentions are messages; blank lines are empty", () => {
    expect(parseInput("hello @python")).toEqual({ type: "message", text: "hello @python" });
    expect(parseInput("   ")).toEqual({ type: "empty" });
    expect(parseInput("//etc/hosts is a path")).toEqual({ type: "message", text: "/etc/hosts is a path" });
  });

  test("each command with its arguments", () => {
    expect(parseInput("/mode")).toEqual({ type: "command", command: { name: "mode", args: undefined } });
    expect(parseInput("/mode direct:python")).toEqual({ type: "command", command: { name: "mode", args: "direct:python" } });
    expect(parseInput(" /MODE file:out.md ")).toEqual({ type: "command", command: { name: "mode", args: "file:out.md" } });
    expect(parseInput("/use agent qwen3:8b")).toEqual({
      type: "command",
      command: { name: "use", args: ["agent", "qwen3:8b"] },
    });
    expect(parseInput("/history 5")).toEqual({ type: "command", command: { name: "history", args: 5 } });
    expect(parseInput("/save")).toEqual({ type: "command", command: { name: "save", args: undefined } });
    expect(parseInput("/save notes.md")).toEqual({ type: "command", command: { name: "save", args: "notes.md" } });
    expect(parseInput('/recall staging "NEAR( port')).toEqual({ type: "command", command: { name: "recall", args: 'staging "NEAR( port' } });
    expect(parseInput("/recall")).toMatchObject({ type: "invalid", message: expect.stringContaining("/recall needs words to look for") });
    for (const name of ["models", "tools", "clear", "help", "quit"]) {
      expect(parseInput(`/${name}`)).toEqual({ type: "command", command: { name, args: [] } });
    }
    expect(parseInput("/exit")).toEqual({ type: "command", command: { name: "quit", args: [] } });
  });

  test("unknown commands suggest the closest one and say how to send a literal slash", () => {
    const parsed = parseInput("/mdoe group");
    expect(parsed.type).toBe("invalid");
    if (parsed.type !== "invalid") throw new Error("unreachable");
    expect(parsed.message).toContain("unknown command /mdoe");
    expect(parsed.message).toContain("Did you mean /mode?");
    expect(parsed.message).toContain("//");
    expect(parseInput("/zzzzzz")).toMatchObject({ type: "invalid" });
    expect((parseInput("/zzzzzz") as { message: string }).message).not.toContain("Did you mean");
  });

  test("wrong arguments name the command and show its usage", () => {
    expect(parseInput("/use agent")).toEqual({
      type: "invalid",
      message: "/use needs a persona and a model, e.g. /use agent qwen3:8b. Usage: /use <persona> <model>",
    });
    expect((parseInput("/mode sideways") as { message: string }).message).toContain("'sideways' is not a mode");
    expect((parseInput("/history lots") as { message: string }).message).toContain("positive number");
    expect((parseInput("/quit now") as { message: string }).message).toBe("/quit takes no arguments. Usage: /quit");
    expect(parseInput("/__proto__")).toMatchObject({ type: "invalid" });
  });
});

/** A small room stand-in: the commands' own logic is what these tests check. */
function host(): CommandContext & { calls: string[] } {
  let mode = "group";
  const calls: string[] = [];
  return {
    calls,
    mode: () => mode,
    setMode: (next) => {
      if (next === "direct:nobody") throw new Error("no persona named nobody; the room has agent, python");
      mode = next;
    },
    personas: () => [
      { name: "agent", model: "qwen3:8b", server: "http://127.0.0.1:1", tools: [{ name: "sh", approval: "ask" }] },
      { name: "python", model: "qwen3:8b", server: "http://127.0.0.1:1", tools: [{ name: "python_run", approval: "allow" }] },
    ],
    serverModels: async () => [{ server: "http://127.0.0.1:1", models: ["qwen3:8b", "llama3.2"] }],
    windows: async () => [
      { persona: "agent", window: { tokens: 8192, source: "ollama", detail: "num_ctx set per request, up to org's cap of 8192" }, fixedTokens: 738 },
      { persona: "python", window: { tokens: 512, source: "config", detail: "contextTokens 512 in org.config.json" }, fixedTokens: 309 },
    ],
    useModel: async (persona, model) => {
      if (model === "missing") throw new Error(`model 'missing' is not on the server; it has qwen3:8b, llama3.2`);
      calls.push(`use ${persona} ${model}`);
    },
    history: (count) => ["you: hi", "agent: hello"].slice(-count),
    clear: () => calls.push("clear"),
    save: async (file) => file ?? ".org/transcripts/s1.md",
    diff: () => undefined,
    undo: (force) => {
      if (!force) throw new Error('the undo of change c1 was not applied: this file was changed in the workspace meanwhile: "a.txt"');
      return "undid change c1: 1 file restored";
    },
    wish: (text) => {
      calls.push(`wish ${text}`);
    },
    output: (number) => {
      if (number !== undefined && number !== 1) throw new Error(`there is no result ${number}: give a number from 1 to 1, or none for the newest`);
      return "── sh for agent, result 1 ──\nline one";
    },
    compact: async (focus) => {
      calls.push(`compact ${focus ?? ""}`.trim());
      return ["python: nothing compacted (python has no earlier messages to summarise)"];
    },
    context: async (persona) => [`${persona ?? "agent"} (qwen3:8b): next prompt 812 of a 4.1 k-token window (default)`],
    modelRoutes: () => [],
    budget: () => ["this session: 0 tokens used"],
  };
}

async function run(line: string, room = host()) {
  const read = await interpretCommand(line, "terminal", room, new AbortController().signal);
  if (read.type !== "answer") throw new Error(`not a command: ${line}`);
  const { answer } = read;
  const outcome = answer.effect ?? (answer.ok ? "continue" : "failed");
  return { outcome, output: terminalLines(answer).join("\n"), room, answer };
}

describe("runCommand", () => {
  test("/compact takes an optional focus, /context an optional persona; each writes what the room answers", async () => {
    expect(parseInput("/compact")).toEqual({ type: "command", command: { name: "compact", args: undefined } });
    expect(parseInput("/compact  the  deploy")).toEqual({ type: "command", command: { name: "compact", args: "the deploy" } });
    expect(parseInput("/context python")).toEqual({ type: "command", command: { name: "context", args: "python" } });
    expect(parseInput("/context a b")).toEqual({ type: "invalid", message: expect.stringContaining("/context takes one persona") });
    const compacted = await run("/compact the deploy");
    expect(compacted.room.calls).toEqual(["compact the deploy"]);
    expect(compacted.output).toContain("nothing compacted");
    expect((await run("/context python")).output).toBe("python (qwen3:8b): next prompt 812 of a 4.1 k-token window (default)");
  });

  test("/facts hands its words to the observer's one command (memory/facts-command.ts); accept is never run from --once", async () => {
    expect(parseInput("/facts accept 2")).toEqual({ type: "command", command: { name: "facts", args: "accept 2" } });
    const asked: string[] = [];
    const answered = await run("/facts reject 1", {
      ...host(),
      facts: (argument) => {
        asked.push(argument);
        return "rejected";
      },
    });
    expect(asked).toEqual(["reject 1"]);
    expect(answered.output).toBe("rejected");
    expect((await run("/facts")).output).toContain("memory is off");
    expect(parseInput("/facts accept 1", "once")).toEqual({ type: "invalid", message: expect.stringContaining("never run from --once") });
    expect(parseInput("/facts", "once")).toEqual({ type: "command", command: { name: "facts", args: "" } });
    expect(parseInput("/facts reject 1", "once")).toEqual({ type: "command", command: { name: "facts", args: "reject 1" } });
    expect(parseInput("/facts accept 1", "web")).toEqual({ type: "command", command: { name: "facts", args: "accept 1" } });
  });

  test("/wish hands its words to the room, which notes it for org grow; no words is refused with an example", async () => {
    expect(parseInput("/wish  a tool that converts   currencies")).toEqual({
      type: "command",
      command: { name: "wish", args: "a tool that converts currencies" },
    });
    expect(parseInput("/wish")).toEqual({
      type: "invalid",
      message: expect.stringContaining("/wish needs words, e.g. /wish a tool that converts currencies"),
    });
    const wished = await run("/wish convert euros to dollars");
    expect(wished.outcome).toBe("continue");
    expect(wished.room.calls).toEqual(["wish convert euros to dollars"]);
  });

  test("/diff with no change says so; /undo refused names the file, --force goes on; a stray argument is refused", async () => {
    expect((await run("/diff")).output).toBe("(no workspace change in this session yet)");
    expect((await run("/undo")).output).toContain(
      '/undo: the undo of change c1 was not applied: this file was changed in the workspace meanwhile: "a.txt"',
    );
    expect((await run("/undo --force")).output).toBe("undid change c1: 1 file restored");
    expect(parseInput("/undo now")).toEqual({ type: "invalid", message: expect.stringContaining("takes only --force") });
  });

  test("/mode shows and switches; a refused mode prints the room's reason and keeps going", async () => {
    expect((await run("/mode")).output).toBe("mode: group  (others: group, direct:agent, direct:python, file:<path>)");
    const switched = await run("/mode direct:python");
    expect(switched.output).toBe("");
    expect(switched.room.mode()).toBe("direct:python");
    const refused = await run("/mode direct:nobody");
    // The command failed and said why; the room goes on (the chat loop reads the next line).
    expect(refused.outcome).toBe("failed");
    expect(refused.output).toBe("/mode: no persona named nobody; the room has agent, python");
  });

  test("/output shows a result's whole output, the newest without a number; a wrong number is refused with the range", async () => {
    expect(parseInput("/output")).toEqual({ type: "command", command: { name: "output", args: undefined } });
    expect(parseInput("/output 3")).toEqual({ type: "command", command: { name: "output", args: 3 } });
    expect((parseInput("/output last") as { message: string }).message).toBe(
      "/output takes a result's number, e.g. /output 3 (its ✓ line names it). Usage: /output [N]",
    );
    expect(await run("/output")).toMatchObject({ outcome: "continue", output: "── sh for agent, result 1 ──\nline one" });
    expect(await run("/output 7")).toMatchObject({
      outcome: "failed",
      output: "/output: there is no result 7: give a number from 1 to 1, or none for the newest",
    });
  });

  test("/models, /tools, /use, /history, /save, /clear, /help, /quit", async () => {
    expect((await run("/models")).output).toContain("http://127.0.0.1:1 has: qwen3:8b, llama3.2");
    // Each persona's window and where it came from; a warning where the system prompt and tools take more than half.
    expect((await run("/models")).output.split("\n").slice(3, 6)).toEqual([
      "  agent's window: 8192 tokens (ollama: num_ctx set per request, up to org's cap of 8192); system prompt and tools about 738 tokens",
      "  python's window: 512 tokens (config: contextTokens 512 in org.config.json); system prompt and tools about 309 tokens",
      "  ! python's system prompt and tools take more than half its window: give the model a larger one, or python fewer tools",
    ]);
    // Columns line up however long the names and model ids are.
    const table = (
      await run("/models", {
        ...host(),
        personas: () => [
          { name: "a", model: "qwen3:8b", server: "http://127.0.0.1:1", tools: [] },
          { name: "toolsmith", model: "m", server: "http://127.0.0.1:22", tools: [] },
        ],
      })
    ).output
      .split("\n")
      .slice(0, 3);
    expect(table).toEqual([
      "  persona    model     server",
      "  a          qwen3:8b  http://127.0.0.1:1",
      "  toolsmith  m         http://127.0.0.1:22",
    ]);
    expect((await run("/tools")).output).toBe("  agent: sh (asks first)\n  python: python_run");
    const used = await run("/use agent llama3.2");
    expect(used.output).toBe("");
    expect(used.room.calls).toEqual(["use agent llama3.2"]);
    expect((await run("/use agent missing")).output).toContain("/use: model 'missing' is not on the server");
    expect((await run("/history 1")).output).toBe("agent: hello");
    expect((await run("/save")).output).toBe("saved the conversation to .org/transcripts/s1.md");
    expect((await run("/clear")).outcome).toBe("cleared");
    expect((await run("/help")).output).toBe(commandHelp("terminal").join("\n"));
    expect((await run("/quit")).outcome).toBe("quit");
  });
});

test("Tab completes a command name only when one command fits", () => {
  expect(completeSlashCommand("/mo")).toBeUndefined(); // mode, models
  expect(completeSlashCommand("/mod")).toBeUndefined();
  expect(completeSlashCommand("/he")).toBe("lp ");
  expect(completeSlashCommand("/q")).toBe("uit ");
  expect(completeSlashCommand("/quit")).toBe(" ");
  expect(completeSlashCommand("hello /he")).toBeUndefined();
  expect(completeSlashCommand("/use agent")).toBeUndefined();
});

describe("the room's one list of commands", () => {
  // A word list each command refuses, or null for one that takes any words; a command added without a row fails here.
  const BAD: Record<string, string[] | null> = {
    start: ["now"],
    status: ["all"],
    stop: ["all"],
    budget: ["today"],
    mode: ["sideways"],
    models: ["all"],
    use: ["agent"],
    tools: ["all"],
    history: ["lots"],
    clear: ["all"],
    save: ["a", "b"],
    recall: [],
    facts: ["accept"],
    diff: ["all"],
    undo: ["now"],
    wish: [],
    mcp: ["trust"],
    output: ["last"],
    compact: null,
    context: ["a", "b"],
    help: ["me"],
    quit: ["now"],
  };

  test("each command's arguments typed wrong are answered with what was wrong and its usage, in every front end that offers it", () => {
    expect(roomCommands().map((entry) => entry.name)).toEqual(Object.keys(BAD));
    for (const entry of roomCommands()) {
      expect(entry.usage.startsWith(`/${entry.name}`)).toBe(true);
      expect(entry.offeredIn.length).toBeGreaterThan(0);
      const words = BAD[entry.name];
      if (words === null || words === undefined) continue;
      for (const frontEnd of entry.offeredIn.filter((where) => where !== "once")) {
        const read = readLine([`/${entry.name}`, ...words].join(" "), frontEnd);
        expect(read).toMatchObject({ type: "answer", answer: { command: entry.name, ok: false } });
        if (read.type !== "answer") continue;
        expect(read.answer.lines).toEqual([expect.stringMatching(new RegExp(`^/${entry.name} .+\\. Usage: ${RegExp.escape(entry.usage)}$`))]);
      }
    }
    // Under --once, a line typed wrong also says that nothing was sent.
    expect(parseInput("/history lots", "once")).toEqual({
      type: "invalid",
      message: "/history takes a positive number, e.g. /history 50. Usage: /history [N] Nothing was sent.",
    });
  });

  test("a front end runs only what it offers; what needs a person at the room is refused from a script, and trust from Telegram", () => {
    expect(parseInput("/quit", "web")).toEqual({
      type: "invalid",
      message: "/quit is not a command of the web room. Type /help for the list, or // to send a message starting with /.",
    });
    expect(parseInput("/budget", "terminal")).toMatchObject({
      type: "invalid",
      message: expect.stringContaining("not a command of the terminal's room"),
    });
    expect(parseInput("/budget", "telegram")).toEqual({ type: "command", command: { name: "budget", args: [] } });
    // Suggestions come from the front end's own commands only.
    expect(parseInput("/histroy", "terminal")).toMatchObject({ message: expect.stringContaining("Did you mean /history?") });
    expect(parseInput("/histroy", "web")).toMatchObject({ message: expect.not.stringContaining("Did you mean") });
    expect(parseInput("/mcp trust files", "terminal")).toEqual({ type: "command", command: { name: "mcp", args: "files" } });
    expect(parseInput("/mcp trust files", "telegram")).toEqual({
      type: "invalid",
      message: "/mcp trust is for the terminal: run 'org chat' there and type /mcp trust files.",
    });
    expect(parseInput("/mcp", "telegram")).toEqual({ type: "command", command: { name: "mcp", args: undefined } });
    for (const [frontEnd, from] of [
      ["once", "--once"],
      ["piped", "a room whose input is not a terminal"],
    ] as const) {
      for (const line of ["/mcp trust files", "/undo --force", "/save notes.md", "/facts accept 1"]) {
        expect(parseInput(line, frontEnd)).toMatchObject({ message: expect.stringContaining(`so it is never run from ${from}: `) });
        expect(parseInput(line, frontEnd)).toMatchObject({ message: expect.stringMatching(/Nothing was done\.$/) });
      }
      expect(parseInput("/save", frontEnd)).toEqual({ type: "command", command: { name: "save", args: undefined } });
    }
    expect(parseInput("/undo --force", "telegram")).toMatchObject({ message: expect.stringContaining("never run from Telegram") });
    expect(parseInput("/undo --force", "web")).toEqual({ type: "command", command: { name: "undo", args: true } });
    expect(parseInput("/quit", "once")).toMatchObject({ message: expect.stringContaining("--once leaves by itself") });
    // Telegram names the bot after the command in a group; elsewhere that is no command.
    expect(parseInput("/mode@org_test_bot group", "telegram")).toEqual({ type: "command", command: { name: "mode", args: "group" } });
    expect(parseInput("/mode@org_test_bot group", "terminal")).toMatchObject({ type: "invalid" });
    expect(parseInput("/memory staging", "telegram")).toEqual({ type: "command", command: { name: "recall", args: "staging" } });
  });

  test("/help in each front end lists what it offers; an answer the stream says too is marked so, and the terminal leaves it out", async () => {
    const web = commandHelp("web").join("\n");
    expect(web).toContain("/output [N]");
    expect(web).not.toContain("/quit");
    expect(web).not.toContain("Ctrl-C");
    expect(commandHelp("telegram")).toContain("/budget — Tokens used and left: this session, and today");
    const room = host();
    const help = await interpretCommand("/help", "web", room, new AbortController().signal);
    expect(help).toMatchObject({ type: "answer", answer: { ok: true, lines: commandHelp("web") } });
    const mode = await interpretCommand("/mode direct:python", "web", room, new AbortController().signal);
    expect(mode).toEqual({ type: "answer", answer: { command: "mode", ok: true, lines: ["mode: direct:python"], echoed: true } });
    if (mode.type === "answer") expect(terminalLines(mode.answer)).toEqual([]);
    expect(await interpretCommand("//help", "web", room, new AbortController().signal)).toEqual({ type: "message", text: "/help" });
  });
});

test("the web room's message box reads the terminal's commands it offers, and anything else as a message", () => {
  const web = (line: string) => parseInput(line, "web");
  expect(web("hello @agent")).toEqual({ type: "message", text: "hello @agent" });
  expect(web("  ")).toEqual({ type: "empty" });
  expect(web("//etc/hosts is a path")).toEqual({ type: "message", text: "/etc/hosts is a path" });
  expect(web("/mode")).toEqual({ type: "command", command: { name: "mode", args: undefined } });
  expect(web("/mode direct:python")).toEqual({ type: "command", command: { name: "mode", args: "direct:python" } });
  expect(web("/mode sideways").type).toBe("invalid");
  expect(web("/wish convert CSV to JSON")).toEqual({ type: "command", command: { name: "wish", args: "convert CSV to JSON" } });
  expect(web("/wish").type).toBe("invalid");
  expect(web("/undo --force")).toEqual({ type: "command", command: { name: "undo", args: true } });
  expect(web("/diff")).toEqual({ type: "command", command: { name: "diff", args: [] } });
  expect(web("/output 2")).toEqual({ type: "command", command: { name: "output", args: 2 } });
  expect(web("/output zero").type).toBe("invalid");
  expect(web("/compact")).toEqual({ type: "command", command: { name: "compact", args: undefined } });
  expect(web("/compact the deploy plan")).toEqual({ type: "command", command: { name: "compact", args: "the deploy plan" } });
  expect(web("/context")).toEqual({ type: "command", command: { name: "context", args: undefined } });
  expect(web("/context python")).toEqual({ type: "command", command: { name: "context", args: "python" } });
  expect(web("/context a b").type).toBe("invalid");
  expect(web("/rm -rf")).toMatchObject({ type: "invalid", message: expect.stringContaining("unknown command /rm. Type /help for the list") });
});
