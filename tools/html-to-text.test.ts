import { describe, expect, test } from "bun:test";
import { hostileHtmlCorpus, ordinaryHtml } from "../testing/hostile-html.ts";
import { htmlToText, htmlToTextAsync, htmlToTextRun } from "./html-to-text.ts";

describe("htmlToText on ordinary pages", () => {
  const cases: [string, string][] = [
    [
      "<html><head><title>A &amp; B</title><script>alert('x')</script></head><body><p>First&nbsp;para</p><style>p{}</style><div>Second &lt;b&gt;</div><!-- hidden --></body></html>",
      "A & B\n\nFirst para\n\nSecond <b>",
    ],
    [
      "<!DOCTYPE html><html><head><title> Hello &#x41;&#66; </title></head><body><h1>Title</h1><ul><li>one</li><li>two &mdash; three</li></ul><table><tr><td>a</td><td>b</td></tr></table><p>x<br>y<hr>z</p>\n\n\n\n<pre>  code   here\t\tx</pre></body></html>",
      "Hello AB\n\nTitle\n\none\n\ntwo — three\n\na b\n\nx\ny\nz\n\ncode here x",
    ],
    [
      "<body><p>a &unknown; &amp &#0; &#xD800; &#1234567; &#x110000; &valueOf;</p><SCRIPT>bad</SCRIPT ><Style>s</style><p>end</p></body>",
      "a &unknown; &amp &valueOf;\n\nend",
    ],
    ["plain text no tags\r\nline two   with   spaces", "plain text no tags\nline two with spaces"],
    [
      "<div><span>hi</span><b>bold</b> <i>it</i></div><noscript>ns</noscript><template>t</template><svg><text>s</text></svg>after",
      "hibold it\nafter",
    ],
    ["<p>unclosed script <script>var x = '</div>'; done", "unclosed script"],
    ["<p>x</p><!-- unclosed comment <p>y</p>", "x"],
    ["<title>t</title><p>body</p><header>h</header><headx>hh</headx>", "t\n\nt\nbody\n\nh\nhh"],
    ["<p>1 < 2 and 3 > 2</p><p>a <<b>> c</p>", "1 < 2 and 3 > 2\n\na <> c"],
    ["<p>x<![CDATA[hidden]]>y<?php echo 1 ?>z</p>", "xyz"],
    ["<p>cut <a href='x", "cut"],
  ];
  for (const [html, text] of cases) test(JSON.stringify(html).slice(0, 60), () => expect(htmlToText(html)).toBe(text));

  test("a long ordinary page keeps its text", () => {
    const text = htmlToText(ordinaryHtml(200_000));
    expect(text.startsWith("A page\n\nInstall & run\n\nThe build failed")).toBe(true);
    expect(text).toContain("dev package fixed it — see below.");
    expect(text).toContain("two <three>");
    expect(text).not.toContain("color: red");
    expect(text).not.toContain("note");
  });
});

describe("htmlToText on hostile pages", () => {
  // 256 K characters of `<p` took the regex conversion over a minute; each page here converts in one scan.
  const size = 256 * 1024;
  const doubled = new Map(hostileHtmlCorpus(2 * size));
  for (const [name, html] of hostileHtmlCorpus(size)) {
    test(`${name}: converts, looking at each character a bounded number of times`, () => {
      const run = htmlToTextRun(html);
      expect(run.text.length).toBeLessThanOrEqual(html.length);
      expect(run.steps).toBeLessThanOrEqual(12 * html.length + 64);
      // Twice the page is twice the work (give or take), never four times.
      const double = htmlToTextRun(doubled.get(name) ?? "");
      expect(double.steps).toBeLessThanOrEqual(2.2 * run.steps + 64);
    }, 30_000);
  }

  test("what hostile pages turn into", () => {
    const corpus = new Map(hostileHtmlCorpus(4096));
    expect(htmlToText(corpus.get("unclosed <p") ?? "")).toBe("");
    expect(htmlToText(corpus.get("<script> without end, </scrip inside") ?? "")).toBe("");
    expect(htmlToText(corpus.get("entity flood &amp;") ?? "")).toBe("&".repeat(820));
    expect(htmlToText(corpus.get("many < without >") ?? "")).toBe("<".repeat(4096));
    expect(htmlToText(corpus.get("megabyte attribute") ?? "")).toBe("link");
    expect(htmlToText(corpus.get("deep nesting") ?? "")).toBe("");
  });
});

describe("htmlToTextAsync", () => {
  const page = hostileHtmlCorpus(2 * 1024 * 1024).find(([name]) => name === "deep nesting")?.[1] ?? "";

  test("gives the event loop turns while it converts, and ends with htmlToText's text", async () => {
    let turns = 0;
    let converting = true;
    const tick = () => {
      if (!converting) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const text = await htmlToTextAsync(page, AbortSignal.timeout(60_000));
    converting = false;
    expect(text).toBe(htmlToText(page));
    // 2 MiB of tags is many slices: other work ran between them.
    expect(turns).toBeGreaterThan(4);
  }, 60_000);

  test("stops with the signal's reason once it is aborted, mid-way", async () => {
    const controller = new AbortController();
    const conversion = htmlToTextAsync(page, controller.signal);
    setImmediate(() => controller.abort(new Error("deadline")));
    await expect(conversion).rejects.toThrow("deadline");
  }, 60_000);
});
