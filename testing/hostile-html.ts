// Pages built to make an HTML-to-text conversion slow or wrong: unclosed tags of every kind, endless
// comments and raw-text elements, deep nesting, huge attributes, entity floods. Shared by the test and the bench.

function repeatTo(unit: string, length: number): string {
  return unit.repeat(Math.max(1, Math.ceil(length / unit.length))).slice(0, length);
}

/** Each hostile page of about `length` characters, by name. */
export function hostileHtmlCorpus(length: number): [string, string][] {
  const half = Math.floor(length / 2);
  return [
    ["unclosed <p", repeatTo("<p", length)],
    ["unclosed <div class=", repeatTo('<div class="a', length)],
    ["unclosed </p", repeatTo("</p", length)],
    ["unclosed <br", repeatTo("<br", length)],
    ["unclosed <td", repeatTo("<td", length)],
    ["unclosed <title", repeatTo("<title", length)],
    ["unclosed <script", repeatTo("<script", length)],
    ["unclosed <style", repeatTo("<style", length)],
    ["<script> without end, </scrip inside", `<script>${repeatTo("</scrip", length)}`],
    ["<style> with </style but no >", `<style>${repeatTo("</style ", length)}`],
    ["unclosed <!--", repeatTo("<!--", length)],
    ["one <!-- without end", `<!--${repeatTo("- -> -", length)}`],
    ["unclosed <!DOCTYPE", repeatTo("<!DOCTYPE", length)],
    ["CDATA without end", repeatTo("<![CDATA[x", length)],
    ["CDATA closed", repeatTo("<![CDATA[x<y]]>", length)],
    ["<? without end", repeatTo("<?xml", length)],
    ["deep nesting", repeatTo("<div><span>", half) + repeatTo("</span></div>", half)],
    ["megabyte attribute", `<a href="${repeatTo("x", length)}">link</a>`],
    ["megabyte attribute, unclosed", `<a title="${repeatTo("y", length)}`],
    ["entity flood &amp;", repeatTo("&amp;", length)],
    ["numeric entity flood &#", repeatTo("&#", length)],
    ["numeric entity flood &#65;", repeatTo("&#65;&#x42;", length)],
    ["unknown entity flood", repeatTo("&abcdefg", length)],
    ["many < without >", repeatTo("<", length)],
    ["< then letter without >", repeatTo("<a<b", length)],
    ["whitespace flood", repeatTo(" \t\u00a0", length)],
    ["newline flood", repeatTo("\n \n", length)],
  ];
}

/** An ordinary page of about `length` characters: headings, paragraphs, lists, tables, a script and a style. */
export function ordinaryHtml(length: number): string {
  const section =
    "<h2>Install &amp; run</h2>\n<p>The build failed because the linker could not find <code>libssl</code>; " +
    'installing the <a href="https://example.com/dev">dev package</a> fixed it &mdash; see below.</p>\n' +
    "<ul><li>one</li><li>two &lt;three&gt;</li></ul>\n<table><tr><td>a</td><td>b</td></tr></table>\n" +
    "<script>var x = 1 < 2;</script><style>p { color: red }</style><!-- note -->\n";
  return `<!DOCTYPE html><html><head><title>A page</title></head><body>${repeatTo(section, length)}</body></html>`;
}
