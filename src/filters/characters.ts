/**
 * Characters nobody can see in what a person typed: found, named in words,
 * and never echoed as they are (a right-to-left override in a message would
 * turn the rest of the message around). The same rules and words as
 * escape_dlaas/domain/characters.py, for the filter messages the panel shows
 * before sending.
 *
 * Pure functions only: no DOM, no JupyterLab.
 */

/** Unicode's explicit text-direction controls, and which way each one pushes the text. */
const DIRECTION_CONTROLS: Record<string, string> = {
  '\u061c': 'right-to-left',
  '\u200e': 'left-to-right',
  '\u200f': 'right-to-left',
  '\u202a': 'left-to-right',
  '\u202b': 'right-to-left',
  '\u202c': 'text-direction',
  '\u202d': 'left-to-right',
  '\u202e': 'right-to-left',
  '\u2066': 'left-to-right',
  '\u2067': 'right-to-left',
  '\u2068': 'text-direction',
  '\u2069': 'text-direction'
};
const NAMED_CONTROLS: Record<string, string> = {
  '\t': 'a tab',
  '\n': 'a line break',
  '\r': 'a carriage return'
};
/** Invisible or layout-controlling: control, format, surrogate, private, unassigned, line/paragraph separators. */
const HIDDEN_RE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]$/u;

/** `U+202E` for a character. */
export function codePoint(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether `char` (one code point) is invisible or controls the layout. */
export function isHidden(char: string): boolean {
  return HIDDEN_RE.test(char) || char in DIRECTION_CONTROLS;
}

/** The first invisible or control character of `text`, if any. */
export function firstHidden(text: string): string | null {
  for (const char of text) {
    if (isHidden(char)) {
      return char;
    }
  }
  return null;
}

/**
 * A hidden character in words for a message, e.g. 'an invisible
 * right-to-left control character (U+202E)'.
 */
export function describeHidden(char: string): string {
  const code = codePoint(char);
  if (char in DIRECTION_CONTROLS) {
    return `an invisible ${DIRECTION_CONTROLS[char]} control character (${code})`;
  }
  if (char in NAMED_CONTROLS) {
    return `${NAMED_CONTROLS[char]} (${code})`;
  }
  if (/^\p{Cc}$/u.test(char)) {
    return `a control character (${code})`;
  }
  if (char === '\u2028') {
    return `a line separator (${code})`;
  }
  if (char === '\u2029') {
    return `a paragraph separator (${code})`;
  }
  return `an invisible character (${code})`;
}

/** `text` for a message: at most `limit` characters, hidden ones written as `<U+XXXX>`. */
export function shown(text: string, limit = 80): string {
  const chars = [...text];
  const safe = chars
    .slice(0, limit)
    .map(char => (isHidden(char) ? `<${codePoint(char)}>` : char))
    .join('');
  return safe + (chars.length > limit ? '…' : '');
}

/** The length of `text` in characters (code points), as Python counts it. */
export function characterCount(text: string): number {
  return [...text].length;
}
