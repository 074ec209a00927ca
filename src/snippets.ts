/**
 * Code that opens a DID's local files, for the kernel language of a notebook.
 */

export interface ISnippetOptions {
  /** The DID the files belong to. */
  did: string;
  /** Absolute local paths of the files at the notebook, in order. */
  paths: string[];
  /** File DIDs not (yet) at the notebook. */
  missing: string[];
  /** The kernel's language (`language_info.name`); Python when unknown. */
  language?: string;
  /** Comment lines, already translated. */
  comments: {
    header: string;
    missing?: string;
  };
}

/** A string literal every supported language reads back as the same text. */
function literal(text: string): string {
  // JSON string escapes are valid in Python, R and Julia string literals
  // (Julia would interpolate `$`: escape it).
  return JSON.stringify(text);
}

/** A code cell's source defining `paths`, the list of the DID's local file paths. */
export function pathsSnippet(options: ISnippetOptions): string {
  const language = (options.language ?? 'python').toLowerCase();
  // Python, R and Julia all comment with '#'.
  const lines = [`# ${options.comments.header}`];
  if (options.missing.length > 0 && options.comments.missing) {
    lines.push(`# ${options.comments.missing}`);
  }
  const items = options.paths.map(path =>
    language === 'julia' ? literal(path).replace(/\$/g, '\\$') : literal(path)
  );
  if (language === 'r') {
    lines.push(
      items.length === 0
        ? 'paths <- c()'
        : ['paths <- c(', items.map(item => `  ${item}`).join(',\n'), ')'].join(
            '\n'
          )
    );
  } else if (language === 'julia') {
    lines.push(
      items.length === 0
        ? 'paths = String[]'
        : ['paths = [', items.map(item => `    ${item},`).join('\n'), ']'].join(
            '\n'
          )
    );
  } else {
    lines.push(
      items.length === 0
        ? 'paths = []'
        : ['paths = [', items.map(item => `    ${item},`).join('\n'), ']'].join(
            '\n'
          )
    );
  }
  return lines.join('\n');
}
