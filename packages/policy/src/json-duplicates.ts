/**
 * Finding a repeated key in a JSON object. `JSON.parse` silently keeps the last value while other
 * readers keep the first or refuse (Veracruz's serde does), so a policy with a repeated key could
 * mean different things to different parties: it is refused.
 */

/** Where a key repeats: the JSON path of the repeated member (`identities[0].id`). */
export interface DuplicateKey {
  path: string;
  key: string;
}

function member(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * The first repeated object key in `text`, which must already be valid JSON (checked by
 * `JSON.parse`), or undefined when every object's keys are distinct.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  let index = 0;
  const skipSpace = () => {
    while (index < text.length && ' \t\n\r'.includes(text[index]!)) index++;
  };
  const readString = (): string => {
    const start = index;
    index++;
    while (text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
    index++;
    return JSON.parse(text.slice(start, index)) as string;
  };
  // An explicit stack instead of recursion, so deep nesting cannot overflow.
  type Frame = { kind: 'object'; path: string; keys: Set<string> } | { kind: 'array'; path: string; count: number };
  const stack: Frame[] = [];
  let path = '';
  for (;;) {
    skipSpace();
    // A value starts here.
    const char = text[index];
    if (char === '{' || char === '[') {
      index++;
      skipSpace();
      const empty = text[index] === (char === '{' ? '}' : ']');
      if (empty) index++;
      else if (char === '[') {
        stack.push({ kind: 'array', path, count: 0 });
        path = `${path}[0]`;
        continue;
      } else {
        const frame: Frame = { kind: 'object', path, keys: new Set() };
        stack.push(frame);
        const key = readString();
        frame.keys.add(key);
        skipSpace();
        index++; // ':'
        path = member(frame.path, key);
        continue;
      }
    } else if (char === '"') {
      readString();
    } else {
      while (index < text.length && !',]} \t\n\r'.includes(text[index]!)) index++;
    }
    // A value ended: continue its container.
    for (;;) {
      const frame = stack[stack.length - 1];
      if (frame === undefined) return undefined;
      skipSpace();
      const next = text[index++];
      if (next === ']' || next === '}') {
        stack.pop();
        continue;
      }
      // ','
      if (frame.kind === 'array') {
        frame.count++;
        path = `${frame.path}[${frame.count}]`;
      } else {
        skipSpace();
        const key = readString();
        if (frame.keys.has(key)) return { path: member(frame.path, key), key };
        frame.keys.add(key);
        skipSpace();
        index++; // ':'
        path = member(frame.path, key);
      }
      break;
    }
  }
}
