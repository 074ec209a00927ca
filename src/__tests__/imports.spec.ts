/**
 * The modules of src/ import one another one way only. eslint's
 * import-x/no-cycle checks this at each lint but skips `import type`; this
 * test reads every import, type-only ones included, so that no cycle of any
 * kind comes back (one such cycle tied actions.ts to MakeAvailableForm.tsx).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.resolve(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return entry.name === '__tests__' ? [] : sources(full);
    }
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')
      ? [full]
      : [];
  });
}

/** The files of src/ a file imports (relative imports, type-only included). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(
    fs.readFileSync(file, 'utf8'),
    true,
    true
  );
  return importedFiles
    .map(imported => imported.fileName)
    .filter(name => name.startsWith('.'))
    .map(name => path.resolve(path.dirname(file), name))
    .flatMap(base =>
      [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')].filter(
        candidate => fs.existsSync(candidate)
      )
    );
}

/** Every cycle found by a depth-first walk, as the files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const walk = (file: string, trail: string[]): void => {
    const at = trail.indexOf(file);
    if (at !== -1) {
      found.push([...trail.slice(at), file]);
      return;
    }
    if (done.has(file)) {
      return;
    }
    for (const next of graph.get(file) ?? []) {
      walk(next, [...trail, file]);
    }
    done.add(file);
  };
  for (const file of graph.keys()) {
    walk(file, []);
  }
  return found.map(cycle => cycle.map(file => path.relative(SRC, file)));
}

describe('imports between the modules of src/', () => {
  const graph = new Map(sources(SRC).map(file => [file, importsOf(file)]));

  it('are read from every source file', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(
      graph
        .get(path.join(SRC, 'actions.ts'))
        ?.map(file => path.relative(SRC, file))
    ).toContain(path.join('components', 'MakeAvailableForm.tsx'));
  });

  it('form no cycle, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('would be caught: a cycle through a type-only import is found', () => {
    const a = path.join(SRC, 'a.ts');
    const b = path.join(SRC, 'b.ts');
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, [a]]
        ])
      )
    ).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });
});
