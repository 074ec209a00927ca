/**
 * Local paths: from the absolute server paths the API gives to what the
 * Jupyter file browser and a notebook's code can use. Pure functions.
 */

/** Normalise a POSIX path: one slash between parts, no trailing slash, `.`/`..` resolved. */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..') {
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return (absolute ? '/' : '') + parts.join('/');
}

/**
 * The path relative to the Jupyter server's root directory, as the file
 * browser and the contents API name it; null when the path is outside the root
 * (the file browser cannot show it) or the root is unknown.
 *
 * @param serverRoot - `PageConfig.getOption('serverRoot')`, an absolute path.
 */
export function relativeToServerRoot(
  absolutePath: string,
  serverRoot: string
): string | null {
  if (
    !serverRoot ||
    !serverRoot.startsWith('/') ||
    !absolutePath.startsWith('/')
  ) {
    return null;
  }
  const root = normalizePath(serverRoot);
  const path = normalizePath(absolutePath);
  if (root === '/') {
    return path.slice(1);
  }
  if (path === root) {
    return '';
  }
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : null;
}

/** The directory of a file path. */
export function dirname(path: string): string {
  const normalized = normalizePath(path);
  const index = normalized.lastIndexOf('/');
  if (index <= 0) {
    return index === 0 ? '/' : '';
  }
  return normalized.slice(0, index);
}
