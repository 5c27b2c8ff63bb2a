import { afterAll, expect, test } from "bun:test";
import { carriesSecret, databaseText, superviseFixture, webhookSink, writeFailedGrowReport } from "../testing/supervise-fixture.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deadPid } from "../testing/supervise-fixture.ts";
import { locksCheck } from "./locks-check.ts";
import { novelCheck } from "./novel-errors.ts";
import { superviseRound } from "./supervise-round.ts";
import { flushNotices } from "./webhook.ts";

// What the supervisor keeps (state.db, which goes into backups), says (its log) and sends (the webhook) holds no
// secret of the room's set, in any form it makes of a line: the novel errors' signatures lowercase a line and mask its
// digits, after which the redactor would no longer know the secret, so the line is redacted first.

const sink = webhookSink();
afterAll(() => sink.stop());

const HOOK_KEY = "hooksecret-abc123";
const SERVER_PASSWORD = "Sup3rS3cretPw";
const API_KEY = "tok-SUPERSECRET-9f8e7d6c5b4a";
const SECRETS = [
  HOOK_KEY,
  SERVER_PASSWORD,
  API_KEY,
  "AKIAIOSFODNN7EXAMPLE",
  "abcdefSECRETbearer123456",
  `ghp_${"Zx9Yw8Vu7".repeat(4)}`,
  `sk-proj-${"Qa1Ws2Ed3Rf4".repeat(3)}`,
];

test("a novel error carrying secrets: its signature, incident, events, the log and the webhook hold none of them", async () => {
  using fixture = superviseFixture({ server: `http://supervisor:${SERVER_PASSWORD}@127.0.0.1:9`, env: { OPENAI_API_KEY: API_KEY } });
  fixture.configure({ supervise: { webhook: sink.url, webhookSecret: "ORG_TEST_HOOK_SECRET", quietMinutes: 0, incidentRepeats: 3 } });
  fixture.context.webhookSecret = HOOK_KEY;
  const now = fixture.context.now();
  for (const ago of [3, 2, 1]) {
    writeFailedGrowReport(
      fixture.dir,
      new Date(now - ago * 60_000),
      `uploader crashed: hook ${HOOK_KEY} pw ${SERVER_PASSWORD} aws ${SECRETS[3]} tok ${API_KEY} Authorization: Bearer ${SECRETS[4]} gh ${SECRETS[5]} key ${SECRETS[6]}`,
    );
  }
  // A lock of a dead run whose command line carried them too.
  mkdirSync(join(fixture.dir, ".org", "grow"), { recursive: true });
  const command = `org grow --key ${API_KEY} --hook ${HOOK_KEY} (${SECRETS[5]})`;
  writeFileSync(join(fixture.dir, ".org", "grow", "grow.lock"), JSON.stringify({ pid: deadPid(), start: "", since: "x", command }), { mode: 0o600 });
  const summary = await superviseRound(fixture.context, [novelCheck, locksCheck]);
  await flushNotices(fixture.context);
  expect(summary.opened).toHaveLength(2);
  const said = [
    JSON.stringify(summary),
    fixture.lines.join("\n"),
    databaseText(fixture.context.state.db),
    sink.received.map((message) => message.body).join("\n"),
  ];
  expect(sink.received.length).toBeGreaterThan(0);
  for (const secret of SECRETS) for (const text of said) expect({ secret, leaked: carriesSecret(text, secret) }).toEqual({ secret, leaked: false });
  // The same line three times is still one signature: redaction does not make each occurrence differ.
  expect(fixture.context.state.db.query("SELECT count(*) AS n FROM signatures").get()).toEqual({ n: 1 });
  expect(fixture.context.state.openIncidents("novel")[0]?.detail).toContain("[redacted]");
});
