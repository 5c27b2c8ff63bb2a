import { describe, expect, test } from "bun:test";
import { REDACTED, redact } from "./redact.ts";
import { fromBase32, separatedRenderings, toBase32 } from "./secret-renderings.ts";

describe("renderings of a known secret", () => {
  test("separated characters, the same separator throughout; a digit after the separator is the secret's (the property's 0-Aa.0)", () => {
    expect(redact("said 0 - A a . 0 then", ["0-Aa.0"])).toBe(`said ${REDACTED} then`);
    expect(redact("h-u-n-t-e-r-2-2 and h_u_n", ["hunter22"])).toBe(`${REDACTED} and h_u_n`);
    expect(redact("hunter 22 and h u n t e r 2 2", ["hunter22"])).toBe(`hunter 22 and ${REDACTED}`);
    // Separators that change, or are missing, are ordinary text.
    expect(redact("h-u n-t-e-r-2-2", ["hunter22"])).toBe("h-u n-t-e-r-2-2");
  });

  test("a stream holds a separated rendering that more text could finish, and lets go of one that broke", () => {
    expect(separatedRenderings("ok h-u-n-t", ["hunter22"])).toEqual({ whole: 10, cutShort: 3 });
    expect(separatedRenderings("ok h-u-n-t-", ["hunter22"])).toEqual({ whole: 11, cutShort: 3 });
    expect(separatedRenderings("ok h-u-x and more", ["hunter22"])).toEqual({ whole: 17, cutShort: 17 });
    expect(separatedRenderings("ok h-u-n-t-e-r-2-2 done h", ["hunter22"])).toEqual({ whole: 3, cutShort: 25 });
  });

  test("a gzip stream too large to inflate whole is read as far as the bound, and a damaged one is left alone", () => {
    const secret = "Zq9xWv7Ut5Sr3Po1";
    expect(redact(`H4sI${"A".repeat(40)}`, [secret])).toBe(`H4sI${"A".repeat(40)}`);
  });

  test("knowing a secret a text does not hold hides nothing more in it (bench:redact, seed 830162392)", () => {
    // Base32 of a secret file: `A3TBFMWV6YJQBJJVIUSJ` has an AWS key id's shape, hidden whatever is known.
    const shown = "INAUYTCCIFBUWPKBFYVWCQJPFNPWCXZPIEFEIRKCKVDT25DSOVSQUU2UKJEVARK7JREVMRJ5GBAU\nA3TBFMWV6YJQBJJVIUSJKBCV6TCJKZCT2YLBGAWS6XYK\n";
    expect(redact(shown, ["Aa-__/"])).toBe(redact(shown));
  });

  // Issue 51 item 9, the spellings beyond the review's: each made by the tool a command would use, and hidden whole.
  test("bytes as numbers, bits, entities and escapes, a zlib stream in base64, one case: each hides the secret", () => {
    const secret = "sk_live_9fQ2xR7tLmZ4pW8n";
    // One bash runs every tool and one python3 every rendering of python's, each output followed by a line of its own.
    const end = "--rendering-ends--";
    const tools = { "od -An -tu1": "od -An -tu1", "xxd -b": "xxd -b", "upper case": "tr a-z A-Z", "lower case": "tr A-Z a-z" };
    const python = {
      "a list of the bytes": "print(list(b))",
      "each byte's bits": "print(' '.join(format(x,'08b') for x in b))",
      "HTML entities": "print(''.join('&#%d;'%x for x in b))",
      "hex entities": "print(''.join('&#x%x;'%x for x in b))",
      "\\u escapes": "print(''.join('\\\\u%04x'%x for x in b))",
      "\\x escapes": "print(''.join('\\\\x%02x'%x for x in b))",
      "zlib in base64": "print(base64.b64encode(zlib.compress(b)).decode())",
    };
    const code = ["import sys,zlib,base64", "b=sys.stdin.buffer.read()", ...Object.values(python).map((line) => `${line};print('${end}')`)].join(";");
    const script = [
      ...Object.values(tools).map((tool) => `printf %s ${secret} | ${tool}; echo; echo ${end}`),
      `printf %s ${secret} | python3 -c ${JSON.stringify(code)}`,
    ].join("\n");
    const outputs = Bun.spawnSync(["bash", "-c", script]).stdout.toString().split(`\n${end}\n`);
    const names = [...Object.keys(tools), ...Object.keys(python)];
    expect(outputs).toHaveLength(names.length + 1);
    for (const [index, name] of names.entries()) {
      const shown = outputs[index] ?? "";
      expect([name, shown.length > 0, redact(shown, [secret]).includes(REDACTED)]).toEqual([name, true, true]);
    }
    // Numbers that are no rendering of it stay.
    expect(redact("ports 115 107 95 108 105 118 and 3000", [secret])).toBe("ports 115 107 95 108 105 118 and 3000");
  });

  test("base32 both ways", () => {
    for (const text of ["", "f", "fo", "foo", "foob", "fooba", "foobar"]) expect(fromBase32(toBase32(Buffer.from(text))).toString()).toBe(text);
    expect(toBase32(Buffer.from("foobar"))).toBe("MZXW6YTBOI");
  });
});
