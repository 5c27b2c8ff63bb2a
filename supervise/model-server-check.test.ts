import { expect, test } from "bun:test";
import { growPause } from "../grow/grow-pause.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { superviseFixture } from "../testing/supervise-fixture.ts";
import { modelServerCheck } from "./model-server-check.ts";
import { superviseRound } from "./supervise-round.ts";

test("pattern 2: a model server that goes away is one incident (URL and personas named), grow paused; back, it recovers and grow resumes", async () => {
  const first = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } } });
  const port = first.port;
  using fixture = superviseFixture({ server: first.url });
  const ok = await superviseRound(fixture.context, [modelServerCheck]);
  expect(ok.checks[0]).toMatchObject({ name: "model-server", state: "ok" });
  await first.stop();

  const down = await superviseRound(fixture.context, [modelServerCheck]);
  expect(down.opened).toHaveLength(1);
  expect(down.opened[0]?.title).toBe(`model server ${first.url} unreachable`);
  expect(down.fixes.map((fix) => `${fix.action} ${fix.state}`)).toEqual(["pause-grow verified"]);
  expect(growPause(fixture.dir)).toMatchObject({ by: "org supervise" });
  // Still down: no second incident, no second pause.
  const still = await superviseRound(fixture.context, [modelServerCheck]);
  expect(still.opened).toEqual([]);
  expect(still.fixes).toEqual([]);
  expect(fixture.context.state.openIncidents("model-server")[0]?.seen).toBe(2);

  await using back = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } }, port });
  const recovered = await superviseRound(fixture.context, [modelServerCheck]);
  expect(recovered.resolved.map((incident) => incident.title)).toEqual([`model server ${back.url} unreachable`]);
  expect(growPause(fixture.dir)).toBeUndefined();
  const notices = fixture.context.state.eventsBetween(0, Number.MAX_SAFE_INTEGER).filter((event) => event.kind === "notice");
  // One report of the outage, one of the recovery.
  expect(notices).toHaveLength(2);
  expect(notices[0]?.text).toStartWith(`[org supervise] incident ${down.opened[0]?.id}: model server`);
  expect(notices[1]?.text).toStartWith(`[org supervise] recovered ${down.opened[0]?.id}:`);
  expect(notices[1]?.text).toContain("unattended grow runs resumed");
});

test("pattern 2: a persona's model the server does not have is reported with what it has", async () => {
  await using server = await startScriptedServer({ script: { models: ["other:7b", "tiny:1b"], rules: [], fallback: { text: "hi" } } });
  using fixture = superviseFixture({ server: server.url });
  const summary = await superviseRound(fixture.context, [modelServerCheck]);
  expect(summary.opened.map((incident) => incident.title)).toEqual([`a model missing on ${server.url}`]);
  const incident = fixture.context.state.openIncidents("model-server")[0];
  expect(incident?.detail).toContain('agent\'s model "scripted"');
  expect(incident?.detail).toContain("it has: other:7b, tiny:1b");
});

test("pattern 2: a model missing, then the server gone, is one outage that changed its kind: grow stays paused, no recovery until it is back", async () => {
  const first = await startScriptedServer({ script: { models: ["other:7b"], rules: [], fallback: { text: "hi" } } });
  const port = first.port;
  using fixture = superviseFixture({ server: first.url });
  const missing = await superviseRound(fixture.context, [modelServerCheck]);
  const id = missing.opened[0]?.id ?? "";
  expect(missing.opened.map((incident) => incident.title)).toEqual([`a model missing on ${first.url}`]);
  expect(growPause(fixture.dir)).toMatchObject({ by: "org supervise" });
  await first.stop();

  const gone = await superviseRound(fixture.context, [modelServerCheck]);
  expect(gone.opened).toEqual([]);
  expect(gone.resolved).toEqual([]);
  expect(growPause(fixture.dir)).toMatchObject({ by: "org supervise" });
  const incident = fixture.context.state.openIncidents("model-server");
  expect(incident.map((row) => [row.id, row.title])).toEqual([[id, `model server ${first.url} unreachable`]]);
  const said = () =>
    fixture.context.state
      .eventsBetween(0, Number.MAX_SAFE_INTEGER)
      .filter((event) => event.kind === "notice")
      .map((event) => event.text);
  expect(said()).toEqual([
    expect.stringContaining(`incident ${id}: a model missing on ${first.url}`),
    expect.stringContaining(`incident ${id} now: model server ${first.url} unreachable`),
  ]);
  expect(said().join("\n")).not.toContain("resumed");

  await using back = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } }, port });
  const recovered = await superviseRound(fixture.context, [modelServerCheck]);
  expect(recovered.resolved.map((row) => row.id)).toEqual([id]);
  expect(growPause(fixture.dir)).toBeUndefined();
  expect(said().at(-1)).toContain(`recovered ${id}: model server ${back.url} unreachable`);
});

test("pattern 2: a server that answers only with server errors (a proxy's 502 for a server that is gone, a 500) is an outage; back, it recovers", async () => {
  let status = 502;
  // A proxy in front of a model server that is gone: something listens, nothing serves.
  await using model = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } } });
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) =>
      status === 200 ? await fetch(`${model.url}${new URL(request.url).pathname}`) : new Response("<h1>Bad Gateway</h1>", { status }),
  });
  try {
    const url = `http://127.0.0.1:${proxy.port}`;
    using fixture = superviseFixture({ server: url });
    const down = await superviseRound(fixture.context, [modelServerCheck]);
    expect(down.opened.map((incident) => incident.title)).toEqual([`model server ${url} failing`]);
    expect(fixture.context.state.openIncidents("model-server")[0]?.detail).toContain(`${url}/v1/models answered HTTP 502`);
    expect(growPause(fixture.dir)).toMatchObject({ by: "org supervise" });
    status = 500;
    const still = await superviseRound(fixture.context, [modelServerCheck]);
    expect(still.opened).toEqual([]);
    status = 200;
    const back = await superviseRound(fixture.context, [modelServerCheck]);
    expect(back.resolved.map((incident) => incident.id)).toEqual([down.opened[0]?.id ?? "?"]);
    expect(growPause(fixture.dir)).toBeUndefined();
  } finally {
    proxy.stop(true);
  }
});
