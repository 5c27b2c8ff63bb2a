import { describe, expect, test } from "bun:test";
import { EventRedactor } from "./event-redactor.ts";
import { REDACTED, redact } from "./redact.ts";
import { MAX_SECRET_NAME } from "./secret-patterns.ts";
import { StreamRedactor } from "./stream-redactor.ts";
import { streamedRedaction } from "../testing/streamed-redaction.ts";

const key = "k1-Zq9xWv7Ut5Sr3Po1Nm";
const texts = [
  `Your key is ${key} — keep it safe.\nNext line.`,
  `header: Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345 and more words after it`,
  `config:\n  api_key = Xk9q8Zr7Tw2Lm0Pv8Hs3 # set\nok`,
  `-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu\nQ0buMIIEowIBAAKCAQEA1c7\n-----END RSA PRIVATE KEY-----\nafter the block`,
  `github ghp_${"a1B2c3D4e5F6".repeat(3)} and http://user:pa55w0rd-long@host:1/ then ${key}`,
];

describe("StreamRedactor", () => {
  test("however the text is cut into pieces, what comes out is the whole text redacted", () => {
    for (const text of texts) {
      for (let size = 1; size <= 12; size += 1) expect(streamedRedaction(text, [size], [key])).toBe(redact(text, [key]));
    }
  });

  test("prose is released as it comes; only what could begin a secret is held", () => {
    const redactor = new StreamRedactor([key]);
    expect(redactor.push("the cat sat.")).toBe("the cat sat.");
    // `key: sk…` may be a named secret (the name `key`) and an sk- key: held from the name on.
    expect(redactor.push(" My key: sk")).toBe(" My ");
    let out = redactor.push(`-proj-${"Zq9x".repeat(6)}`);
    expect(out).not.toContain("Zq9x");
    out += redactor.push(" and then k1-Zq9");
    expect(out).not.toContain("k1-Zq9");
    out += redactor.push("xWv7Ut5Sr3Po1Nm.");
    out += redactor.flush();
    expect(out).toBe("key: [REDACTED] and then [REDACTED].");
  });

  test("a name is held while it may become a secret's name, and only then: the redactor judges it whole", () => {
    const value = "Q7w8e9r0T1y2U3i4";
    const run = (pieces: string[]) => {
      const redactor = new StreamRedactor();
      return { shown: pieces.map((piece) => redactor.push(piece)), rest: redactor.flush() };
    };
    // No stem, nor the start of one: each piece is shown as it comes, mid-word too (a `-` waits: it may open `-----BEGIN`).
    expect(run(["ALPHA-", "BRAVO-", "CHARLI"]).shown).toEqual(["ALPHA", "-BRAVO", "-CHARLI"]);
    // `A_cred` may go on to `A_credentials`: held whole, so the value after it is hidden as the whole text hides it.
    const credentials = run(["say A_cred", "entials", `=${value} ok`]);
    expect(credentials.shown.slice(0, 2)).toEqual(["say ", ""]);
    expect(credentials.shown.join("") + credentials.rest).toBe(redact(`say A_credentials=${value} ok`));
    // `don` holds no stem and is let go; `key=…` is then read after it, as `donkey=…`, which names no secret.
    const donkey = run(["a don", `key=${value} ok`]);
    expect(donkey.shown.join("") + donkey.rest).toBe(`a donkey=${value} ok`);
    expect(redact(`a donkey=${value} ok`)).toBe(`a donkey=${value} ok`);
  });

  test("a name let go before its stem came is read whole: API0, then compass=… hides the value (fast-check seed 633550740)", () => {
    // Issue 52: `compass` alone is a plain word, `API0compass` names a secret; in 2-character pieces `API0` was let go
    // and the value was judged after `compass` alone, and shown.
    const text = `said: API0compass=${"Q7w8e9r0T1y2U3i4"} and more`;
    expect(redact(text)).toBe(`said: API0compass=${REDACTED} and more`);
    for (let size = 1; size <= 8; size += 1) expect(streamedRedaction(text, [size])).toBe(redact(text));
    for (const glued of ["xbypass", "aovercompass", "my_keyboardpwd", "dbpass"]) {
      const named = `said: ${glued}=Q7w8e9r0T1y2U3i4 and more`;
      for (let size = 1; size <= 8; size += 1)
        expect({ named, size, out: streamedRedaction(named, [size]) }).toEqual({ named, size, out: redact(named) });
    }
  });

  test("a known secret's rendering still arriving is held until it is whole, and hidden as the whole text hides it (the bench's counterexamples)", () => {
    // Each streamed a character at a time let the secret (or its bytes) through where the whole-text redactor hides it.
    const secret = "a0:0@a0-./=";
    const gzip = "H4sIAAAAAAAAAwvx93b1s01MTHRM1OYCAPmw8bcNAAAA\n";
    const cases: [string, string][] = [
      // Hex wrapped across lines, and characters spread by an escape sequence or opened by one.
      ["0.:.A/", "302e3a2e\n412f"],
      ["aa__aa", "aa_\x1b[0m_aa"],
      ["A0:0A+", "\x1bA0:\x1b[0m0A+"],
      // `gzip -c .env | base64`, alone and after a token's opening whose run it extends.
      ["aaaAa+", gzip],
      ["a-@_A0", "ghp_H4sIAAAAAAAAAwvx93b1s03UdYh3NOACAIzRdxINAAAA\nBear"],
      // Dumps whose lines hold the secret's bytes: every such line goes, the earlier ones too.
      [secret, `ab00000000  54 4f 4b 45 4e 3d 61 30  3a 30 40 61 30 2d 2e 2f  |TOKEN=a0:0@a0-./|\n00000010  3d 0a${" ".repeat(45)}|=.|\n00000012\n`],
      [secret, "0000000 4f54 454b 3d4e 3061 303a 6140 2d30 2f2e 0a3d\n0000022\n"],
      // The pieces of a secret on either side of an output cut.
      ["Zq9xWv7Ut5Sr3Po1Nm", "out: Zq9xWv7Ut5\n[… 12 bytes of stdout cut …]\nt5Sr3Po1Nm done"],
    ];
    for (const [known, text] of cases)
      for (let size = 1; size <= 7; size += 1)
        expect({ text, size, out: streamedRedaction(text, [size], [known]) }).toEqual({ text, size, out: redact(text, [known]) });
    // Prose with known secrets still streams as it comes.
    const redactor = new StreamRedactor([secret]);
    expect(redactor.push("The quick brown fox jumps.")).toBe("The quick brown fox jumps.");
  });

  test("a long run without spaces streams on: at most its last 64 characters are held, all of a name the redactor reads", () => {
    const redactor = new StreamRedactor([key]);
    const long = Array.from({ length: 100 }, (_, index) => `w${String(index).padStart(3, "0")}-abc`).join("");
    let out = "";
    for (let at = 0; at < long.length; at += 3) out += redactor.push(long.slice(at, at + 3));
    expect(out.length).toBeGreaterThanOrEqual(long.length - MAX_SECRET_NAME);
    expect(out + redactor.flush()).toBe(long);
  });
});

describe("EventRedactor", () => {
  test("deltas of one reply are held and released in order; another event of the reply releases what is held", () => {
    const redactor = new EventRedactor([key]);
    const delta = (text: string, type: "text-delta" | "reasoning-delta" = "text-delta") => ({ type, replyId: "r1", persona: "agent", text });
    const out = [
      ...redactor.pass(delta("the key is k1-Zq9x", "reasoning-delta")),
      ...redactor.pass(delta("Wv7Ut5Sr3Po1Nm ok", "reasoning-delta")),
      ...redactor.pass(delta("Here: k1-Zq9xWv7")),
      ...redactor.pass(delta("Ut5Sr3Po1Nm done")),
      ...redactor.pass({ type: "tool-call", replyId: "r1", persona: "agent", call: { id: "c", name: "echo", arguments: { text: key } } }),
    ];
    expect(JSON.stringify(out)).not.toContain("Zq9x");
    const types = out.map((event) => event.type);
    expect(types.lastIndexOf("reasoning-delta")).toBeLessThan(types.indexOf("text-delta"));
    expect(types.at(-1)).toBe("tool-call");
    const joined = (type: string) => out.flatMap((event) => (event.type === type && "text" in event ? [event.text] : [])).join("");
    expect(joined("reasoning-delta")).toBe("the key is [REDACTED] ok");
    expect(joined("text-delta")).toBe("Here: [REDACTED] done");
    expect(out.at(-1)).toMatchObject({ call: { arguments: { text: "[REDACTED]" } } });
  });
});
