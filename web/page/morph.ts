/**
 * Makes `target`'s children what `source`'s are, touching only what differs: a text that grew gets the new end
 * appended (the browser then lays out and shapes only that much again, not the whole paragraph), an element of the same
 * name keeps its node and takes the new attributes, anything else is replaced by the source's node. `source` is
 * emptied: its nodes move into `target`. Both hold only sanitized nodes (what DOMPurify gave).
 */
export function morphChildren(target: Node, source: Node): void {
  const wanted = Array.from(source.childNodes);
  wanted.forEach((want, index) => {
    const have = target.childNodes[index];
    if (have === undefined) target.appendChild(want);
    else if (have instanceof Text && want instanceof Text) {
      if (have.data === want.data) return;
      if (want.data.startsWith(have.data)) have.appendData(want.data.slice(have.data.length));
      else have.data = want.data;
    } else if (have instanceof Element && want instanceof Element && have.nodeName === want.nodeName) {
      for (const attribute of Array.from(have.attributes)) if (!want.hasAttribute(attribute.name)) have.removeAttribute(attribute.name);
      for (const attribute of Array.from(want.attributes))
        if (have.getAttribute(attribute.name) !== attribute.value) have.setAttribute(attribute.name, attribute.value);
      morphChildren(have, want);
    } else target.replaceChild(want, have);
  });
  while (target.childNodes.length > wanted.length) target.lastChild?.remove();
}
