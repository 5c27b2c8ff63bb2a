import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";
import { useLayoutEffect, useMemo, useRef } from "preact/hooks";
import { onFirstUse } from "../../concurrency/on-first-use.ts";
import { markdownBlocks } from "../markdown-blocks.ts";
import { morphChildren } from "./morph.ts";

// Text a model, a tool or a page wrote is hostile. Markdown is rendered with raw HTML off (markup is shown as text),
// no images (a remote image is a way to send data out: it becomes its alt text and address, as text), and the HTML
// that comes out is sanitized again by DOMPurify with a short allow-list: no script, handler, style, form, frame or
// image can come through, and links only to http(s) or mail addresses, opened without a referrer.
/** The renderer, set up the first time a reply is drawn (the same for every draw: a constant made late). */
const markdown = onFirstUse(() => {
  const renderer = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });
  renderer.renderer.rules.image = (tokens, index) => {
    const token = tokens[index];
    const alt = token?.children?.map((child) => child.content).join("") ?? "";
    return renderer.utils.escapeHtml(`[image: ${alt}] (${token?.attrGet("src") ?? ""})`);
  };
  return renderer;
});

const ALLOWED_TAGS = [
  "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
  "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
];
const SAFE_LINK = /^(https?:|mailto:)/i;

const purifier = DOMPurify(window);
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName !== "A") return;
  const href = node.getAttribute("href") ?? "";
  if (!SAFE_LINK.test(href)) node.removeAttribute("href");
  node.setAttribute("rel", "noopener noreferrer nofollow");
  node.setAttribute("target", "_blank");
});

// Set once rather than given to each call, which would read it again each time (a reply is sanitized a block at a time).
purifier.setConfig({
  ALLOWED_TAGS,
  ALLOWED_ATTR: ["href", "title", "start"],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOWED_URI_REGEXP: SAFE_LINK,
  RETURN_DOM_FRAGMENT: true,
});

/** Markdown as sanitized nodes of this document: what a model wrote, safe to put into the page (never parsed again). */
export function safeMarkdown(text: string): DocumentFragment {
  // With a config set, the one given here is not read: it names what comes back, as the set one says.
  return purifier.sanitize(markdown().render(text), { RETURN_DOM_FRAGMENT: true });
}

/**
 * One block of Markdown (no blank line outside code), rendered again only when its text changes, and then put into the
 * page by changing only what differs (`morphChildren`): a paragraph that grows by a word gets that word appended.
 */
function MarkdownBlock({ text }: { text: string }) {
  const element = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (element.current) morphChildren(element.current, safeMarkdown(text));
  }, [text]);
  return <div class="md-block" ref={element} />;
}

/**
 * Markdown from outside org, rendered safely a block at a time: as a reply streams in, the blocks before its last are
 * left as they are, and only the last is rendered again, so a long reply costs each frame its last paragraph alone.
 */
export function Markdown({ text }: { text: string }) {
  const blocks = useMemo(() => markdownBlocks(text), [text]);
  return (
    <div class="md">
      {blocks.map((block, index) => (
        <MarkdownBlock key={`${index}`} text={block} />
      ))}
    </div>
  );
}
