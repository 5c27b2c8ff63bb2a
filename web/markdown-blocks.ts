/** A fence line: three or more backticks or tildes, indented at most three spaces. */
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Markdown text cut into blocks at blank lines outside fenced code, so a streaming reply is rendered a block at a time:
 * the blocks before the last never change again, and only the last is rendered anew as text arrives. Blank lines
 * between blocks are dropped; a block never begins or ends with one.
 */
export function markdownBlocks(text: string): string[] {
  const blocks: string[] = [];
  let block: string[] = [];
  let fence: string | undefined;
  const end = () => {
    if (block.length > 0) blocks.push(block.join("\n"));
    block = [];
  };
  for (const line of text.split("\n")) {
    const marker = FENCE.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) fence = marker;
    else if (fence !== undefined && marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
      fence = undefined;
    else if (fence === undefined && line.trim() === "") {
      end();
      continue;
    }
    block.push(line);
  }
  end();
  return blocks;
}
