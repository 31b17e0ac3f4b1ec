// Regex values from resources run on every request, so a pattern must compile and must not be an obvious
// catastrophic-backtracking shape. The safety check is deliberately cheap: it rejects a group that contains
// an unbounded quantifier and is itself repeated without bound — "(a+)+", "(x*y)*", "(?:.*,){2,}" — which
// is how most ReDoS patterns look. It does not prove a pattern safe.

/** A problem with `pattern`, or undefined when it is usable. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
  } catch (err) {
    // V8 repeats the pattern ("Invalid regular expression: /(/: Unterminated group"); keep only the reason.
    return `is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`;
  }
  return nestedQuantifier(pattern)
    ? 'is not allowed: a repeated group contains a repeated part (nested quantifiers backtrack catastrophically)'
    : undefined;
}

function nestedQuantifier(pattern: string): boolean {
  // Each open group records whether an unbounded quantifier occurs inside it.
  const stack: boolean[] = [false];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      i = skipClass(pattern, i);
      continue;
    }
    if (c === '(') {
      stack.push(false);
      i += 1;
      continue;
    }
    if (c === ')') {
      const inner = stack.length > 1 ? (stack.pop() as boolean) : false;
      const q = unboundedQuantifierAt(pattern, i + 1);
      if (inner && q) return true;
      stack[stack.length - 1] = (stack[stack.length - 1] as boolean) || inner || q;
      i += 1;
      continue;
    }
    if (unboundedQuantifierAt(pattern, i)) stack[stack.length - 1] = true;
    i += 1;
  }
  return false;
}

function unboundedQuantifierAt(pattern: string, i: number): boolean {
  const c = pattern[i];
  if (c === '+' || c === '*') return true;
  if (c === '{') return /^\{\d+,\}/.test(pattern.slice(i));
  return false;
}

/** Index just after the character class starting at `start`. */
function skipClass(pattern: string, start: number): number {
  let i = start + 1;
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}
