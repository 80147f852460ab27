/** Reading the commands a document tells an operator to run: its `sh` blocks, split as a shell would. */

/** Splits a command line as a POSIX shell would (quotes and backslashes; no expansion is used). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] ?? '';
    if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new Error(`Unclosed quote in: ${line}`);
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (char === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) word += line[j] === '\\' ? (line[++j] ?? '') : line[j];
      i = j;
      inWord = true;
    } else if (char === ' ') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char === '\\' ? (line[++i] ?? '') : char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Every command line of the document's `sh` blocks. */
export function documentedCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const command = line.trim();
      if (command !== '' && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}
